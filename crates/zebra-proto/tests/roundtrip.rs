//! decode(encode(m)) == m for every message type and profile, over messages generated with
//! `arbitrary` from a fixed-seed random stream.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::collections::BTreeMap;

use arbitrary::Unstructured;
use bytes::BytesMut;
use support::gen::{expected_variants, fit, variant};
use zebra_proto::*;

fn roundtrip_profile(profile: Profile, seed: u64, iterations: usize) {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut ok: BTreeMap<String, usize> = BTreeMap::new();
    let mut raw = vec![0u8; 4096];
    let mut buf = BytesMut::new();
    for i in 0..iterations {
        // Vary the input length so small and large messages both appear.
        let len = rng.usize(16..raw.len());
        raw[..len].iter_mut().for_each(|b| *b = rng.u8(..));
        let mut u = Unstructured::new(&raw[..len]);
        let Ok(mut m) = zebra_proto::arb::wire_message(&mut u) else {
            continue;
        };
        fit(profile, &mut m);
        buf.clear();
        let vrf = if profile == Profile::QuaggaV2 {
            0
        } else {
            rng.u32(..u16::MAX as u32)
        };
        match encode(profile, vrf, &m, &mut buf) {
            Ok(()) => {}
            Err(EncodeError::CommandNotInProfile { .. }) => continue,
            Err(EncodeError::FieldNotInProfile {
                field: "layout", ..
            }) => continue,
            Err(EncodeError::FrameTooLarge { .. }) => {
                assert!(buf.is_empty(), "failed encode left bytes behind");
                continue;
            }
            Err(e) => panic!("iteration {i}: encode {m:?} for {profile}: {e}"),
        }
        let (header, back) =
            decode(profile, &buf).unwrap_or_else(|e| panic!("iteration {i}: decode {m:?}: {e}"));
        assert_eq!(back, m, "iteration {i} ({profile})");
        assert_eq!(header.vrf_id, vrf);
        *ok.entry(variant(&m)).or_default() += 1;
    }
    for v in expected_variants(profile) {
        assert!(
            ok.get(v).copied().unwrap_or(0) > 0,
            "{profile}: no {v} round-tripped; got {ok:?}"
        );
    }
}

#[test]
fn roundtrip_frr84() {
    roundtrip_profile(Profile::Frr84, 0x5eed_0001, 30_000);
}

#[test]
fn roundtrip_quagga_v3() {
    roundtrip_profile(Profile::QuaggaV3, 0x5eed_0002, 30_000);
}

#[test]
fn roundtrip_quagga_v2() {
    roundtrip_profile(Profile::QuaggaV2, 0x5eed_0003, 30_000);
}
