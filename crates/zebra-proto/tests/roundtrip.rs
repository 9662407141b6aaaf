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
        let vrf = if profile.vrf_id_size() == 0 {
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
            Err(EncodeError::FrameTooLarge { .. } | EncodeError::UnknownIsTyped { .. }) => {
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

#[test]
fn roundtrip_frr100() {
    roundtrip_profile(Profile::Frr100, 0x5eed_0100, 30_000);
}

#[test]
fn roundtrip_frr101() {
    roundtrip_profile(Profile::Frr101, 0x5eed_0101, 30_000);
}

#[test]
fn roundtrip_frr102() {
    roundtrip_profile(Profile::Frr102, 0x5eed_0102, 30_000);
}

#[test]
fn roundtrip_frr103() {
    roundtrip_profile(Profile::Frr103, 0x5eed_0103, 30_000);
}

/// Every profile is covered by a round-trip test above.
#[test]
fn every_profile_has_a_roundtrip_test() {
    assert_eq!(
        Profile::ALL.len(),
        7,
        "add a roundtrip_* test for the new profile"
    );
}

/// `decode_into` reuses the caller's route: decoding routes with different nexthop sets (and
/// none at all) one after the other into the same message must give exactly what `decode` gives.
#[test]
fn decode_into_a_reused_route_matches_decode_for_every_nexthop_shape() {
    use std::net::Ipv4Addr;
    let route = |nh: usize, distance: Option<u8>| {
        let mut r = ZapiRoute::new(9, "198.51.100.0/24".parse().unwrap());
        if nh > 0 {
            r.nexthops = Some(nexthops((0..nh).map(|i| {
                ZapiNexthop::new(NexthopTarget::Ipv4 {
                    gate: Ipv4Addr::new(192, 0, 2, 2 + i as u8),
                    ifindex: i as u32,
                })
            })));
        }
        r.distance = distance;
        Message::RouteAdd(r)
    };
    let shapes = [
        route(8, Some(20)),
        route(0, None),
        route(1, Some(20)),
        route(3, None),
        route(0, Some(1)),
        route(2, Some(20)),
    ];
    let mut reused = Message::InterfaceAddRequest;
    for m in shapes.iter().chain(shapes.iter().rev()) {
        let mut frame = BytesMut::new();
        encode(Profile::Frr84, 0, m, &mut frame).unwrap();
        let header = decode_into(Profile::Frr84, &frame, &mut reused).unwrap();
        let (h2, by_value) = decode(Profile::Frr84, &frame).unwrap();
        assert_eq!(header, h2);
        assert_eq!(&reused, m);
        assert_eq!(by_value, *m);
    }
}
