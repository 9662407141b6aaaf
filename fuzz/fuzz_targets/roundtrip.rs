//! encode → decode round trip of arbitrary messages for every profile: whatever encodes must
//! decode to the same message (and the same VRF id).
#![no_main]

use arbitrary::Unstructured;
use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use zebra_proto::{arb, decode, encode, Profile};

fuzz_target!(|data: &[u8]| {
    let mut u = Unstructured::new(data);
    let Ok(sel) = u.arbitrary::<u8>() else { return };
    let profile = Profile::ALL[usize::from(sel) % Profile::ALL.len()];
    let Ok(vrf) = u.arbitrary::<u16>() else { return };
    // A VRF id the header can carry (none in Quagga v2, 16 bits in v3).
    let vrf = if profile.vrf_id_size() == 0 { 0 } else { u32::from(vrf) };
    let Ok(msg) = arb::wire_message(&mut u) else { return };
    let mut out = BytesMut::new();
    if encode(profile, vrf, &msg, &mut out).is_err() {
        assert!(out.is_empty(), "a failed encode must not leave bytes behind");
        return;
    }
    let (header, back) = decode(profile, &out).expect("an encoded message decodes");
    assert_eq!(back, msg);
    assert_eq!(header.vrf_id, vrf);
    assert_eq!(usize::from(header.length), out.len());
});
