//! Decode arbitrary bytes as a frame and as a stream, for the profile chosen by the first byte
//! (0 Quagga v2, 1 Quagga v3, 2 FRR 8.4, modulo 3). Must never panic; whatever decodes must
//! re-encode and decode to the same message.
#![no_main]

use bytes::BytesMut;
use libfuzzer_sys::fuzz_target;
use tokio_util::codec::Decoder;
use zebra_proto::{decode, decode_into, encode, Message, Profile, ZebraCodec};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, rest)) = data.split_first() else { return };
    let profile = Profile::ALL[usize::from(sel) % Profile::ALL.len()];

    // As one frame, by value and into a reused message (which must agree).
    let by_value = decode(profile, rest);
    let mut reused = Message::InterfaceAddRequest;
    let into = decode_into(profile, rest, &mut reused);
    assert_eq!(into.is_ok(), by_value.is_ok());
    if let (Ok(h), Ok((h2, m))) = (&into, &by_value) {
        assert_eq!(h, h2);
        assert_eq!(&reused, m);
        // Decoding the same frame again into the now-matching message gives the same result.
        assert_eq!(decode_into(profile, rest, &mut reused).ok(), Some(*h));
        assert_eq!(&reused, m);
    }
    if let Ok((header, msg)) = by_value {
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
