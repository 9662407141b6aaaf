//! Decode arbitrary bytes as a frame and as a stream, for the profile chosen by the first byte
//! (0 Quagga v2, 1 Quagga v3, 2 FRR 8.4, modulo 3). Must never panic; whatever decodes must
//! re-encode and decode to the same message.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;
use zebra_proto::{decode, encode, Profile, ZebraCodec};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let profile = Profile::ALL[usize::from(sel) % Profile::ALL.len()];

    // As one frame.
    if let Ok((header, msg)) = decode(profile, rest) {
        let mut out = BytesMut::new();
        encode(profile, header.vrf_id, &msg, &mut out).expect("a decoded message re-encodes");
        let (_, again) = decode(profile, &out).expect("a re-encoded message decodes");
        assert_eq!(again, msg);
    }

    // As a stream, fed in two pieces.
    let cut = rest.len() / 2;
    let mut codec = ZebraCodec::new(profile);
    let mut buf = BytesMut::from(&rest[..cut]);
    let mut fed_all = false;
    loop {
        match codec.decode(&mut buf) {
            Ok(Some(_)) => continue,
            Ok(None) if !fed_all => {
                buf.extend_from_slice(&rest[cut..]);
                fed_all = true;
            }
            Ok(None) | Err(_) => break,
        }
    }
});
