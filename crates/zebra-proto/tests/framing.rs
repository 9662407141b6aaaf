//! Framing through `ZebraCodec` and `decode`: several frames per read, a frame split at every
//! byte, bad lengths, markers and versions, and a truncated body for every message type.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use bytes::{BufMut, BytesMut};
use support::fixture::unhex;
use support::gen::{samples, variant};
use tokio_util::codec::{Decoder, Encoder};
use zebra_proto::*;

fn bgpd_frames() -> Vec<Vec<u8>> {
    include_str!("golden/frr84_bgpd_capture.txt")
        .lines()
        .filter(|l| l.contains("->"))
        .map(|l| unhex(l.split_whitespace().last().unwrap()))
        .collect()
}

#[test]
fn several_frames_in_one_read() {
    let frames = bgpd_frames();
    let mut buf = BytesMut::new();
    for f in &frames {
        buf.extend_from_slice(f);
    }
    let mut codec = ZebraCodec::new(Profile::Frr84);
    let mut got = Vec::new();
    while let Some(frame) = codec.decode(&mut buf).unwrap() {
        got.push(frame);
    }
    assert!(buf.is_empty());
    assert_eq!(got.len(), frames.len());
    for (f, bytes) in got.iter().zip(&frames) {
        assert_eq!(f.message, decode(Profile::Frr84, bytes).unwrap().1);
    }
    // decode_eof on an empty buffer is a clean end.
    assert!(codec.decode_eof(&mut buf).unwrap().is_none());
}

#[test]
fn one_frame_split_at_every_byte() {
    for profile in Profile::ALL {
        for (msg, bytes) in samples(profile, 7, 1) {
            for cut in 0..bytes.len() {
                let mut codec = ZebraCodec::new(profile);
                let mut buf = BytesMut::from(&bytes[..cut]);
                assert!(
                    codec.decode(&mut buf).unwrap().is_none(),
                    "{profile} {msg:?} cut at {cut}"
                );
                assert_eq!(buf.len(), cut, "an incomplete frame must not be consumed");
                buf.extend_from_slice(&bytes[cut..]);
                let frame = codec.decode(&mut buf).unwrap().unwrap();
                assert_eq!(frame.message, msg);
                assert!(buf.is_empty());
            }
        }
    }
}

#[test]
fn byte_by_byte_stream_of_many_frames() {
    let frames = bgpd_frames();
    let mut codec = ZebraCodec::new(Profile::Frr84);
    let mut buf = BytesMut::new();
    let mut n = 0;
    for f in &frames {
        for &b in f {
            buf.put_u8(b);
            if codec.decode(&mut buf).unwrap().is_some() {
                n += 1;
            }
        }
    }
    assert_eq!(n, frames.len());
}

#[test]
fn length_smaller_than_header() {
    for (profile, hdr) in [
        (Profile::QuaggaV2, "0005 ff 02 0017"),
        (Profile::QuaggaV3, "0007 ff 03 0000 0017"),
        (Profile::Frr84, "0009 fe 06 00000000 0012"),
        (Profile::Frr84, "0000 fe 06 00000000 0012"),
    ] {
        let bytes = unhex(hdr);
        let mut buf = BytesMut::from(&bytes[..]);
        let err = ZebraCodec::new(profile).decode(&mut buf).unwrap_err();
        assert!(
            matches!(err, CodecError::Decode(DecodeError::LengthTooSmall { .. })),
            "{profile}: {err}"
        );
        assert!(matches!(
            decode(profile, &bytes),
            Err(DecodeError::LengthTooSmall { .. })
        ));
    }
}

#[test]
fn length_larger_than_profile_maximum() {
    // 4097 for Quagga and 16385 for FRR are rejected from the header alone.
    for (profile, hdr) in [
        (Profile::QuaggaV2, "1001 ff 02 0017"),
        (Profile::QuaggaV3, "1001 ff 03 0000 0017"),
        (Profile::Frr84, "4001 fe 06 00000000 0012"),
    ] {
        let mut buf = BytesMut::from(&unhex(hdr)[..]);
        let err = ZebraCodec::new(profile).decode(&mut buf).unwrap_err();
        assert!(
            matches!(err, CodecError::Decode(DecodeError::LengthTooLarge { .. })),
            "{profile}: {err}"
        );
    }
    // Exactly the maximum is fine (an Unknown command with a full body).
    let mut big = BytesMut::new();
    encode(
        Profile::Frr84,
        0,
        &Message::Unknown {
            command: 200,
            body: vec![7; 16384 - 10],
        },
        &mut big,
    )
    .unwrap();
    assert_eq!(big.len(), 16384);
    assert!(ZebraCodec::new(Profile::Frr84)
        .decode(&mut big)
        .unwrap()
        .is_some());
    // One more byte cannot be encoded.
    let mut out = BytesMut::new();
    let err = encode(
        Profile::Frr84,
        0,
        &Message::Unknown {
            command: 200,
            body: vec![7; 16384 - 9],
        },
        &mut out,
    );
    assert!(matches!(
        err,
        Err(EncodeError::FrameTooLarge { length: 16385, .. })
    ));
    assert!(out.is_empty());
    let err = encode(
        Profile::QuaggaV2,
        0,
        &Message::Unknown {
            command: 200,
            body: vec![7; 4096 - 5],
        },
        &mut out,
    );
    assert!(matches!(
        err,
        Err(EncodeError::FrameTooLarge { length: 4097, .. })
    ));
}

#[test]
fn wrong_marker_and_version_rejected_from_four_bytes() {
    for (profile, bad, what) in [
        (Profile::Frr84, "000a ff 06", "marker"),
        (Profile::Frr84, "000a fe 05", "version"),
        (Profile::QuaggaV2, "0006 fe 02", "marker"),
        (Profile::QuaggaV2, "0006 ff 03", "version"),
        (Profile::QuaggaV3, "0008 ff 02", "version"),
    ] {
        let mut buf = BytesMut::from(&unhex(bad)[..]);
        let err = ZebraCodec::new(profile).decode(&mut buf).unwrap_err();
        match (what, &err) {
            ("marker", CodecError::Decode(DecodeError::BadMarker { .. })) => {}
            ("version", CodecError::Decode(DecodeError::BadVersion { .. })) => {}
            _ => panic!("{profile} {bad}: {err}"),
        }
    }
    // A detecting codec refuses unknown marker/version pairs.
    let mut buf = BytesMut::from(&unhex("000a fe 05 00000000 0012")[..]);
    assert!(ZebraCodec::detecting().decode(&mut buf).is_err());
}

#[test]
fn detecting_codec_learns_the_profile_from_the_first_frame() {
    let mut codec = ZebraCodec::detecting();
    let mut out = BytesMut::new();
    assert!(
        codec
            .encode(Message::InterfaceAddRequest, &mut out)
            .is_err(),
        "no profile yet"
    );
    let mut buf = BytesMut::from(&unhex("0007 ff 02 0017 09")[..2]);
    assert!(codec.decode(&mut buf).unwrap().is_none());
    assert_eq!(codec.profile(), None);
    buf.extend_from_slice(&unhex("ff 02 0017 09"));
    let frame = codec.decode(&mut buf).unwrap().unwrap();
    assert_eq!(codec.profile(), Some(Profile::QuaggaV2));
    assert_eq!(
        frame.message,
        Message::Hello(Hello {
            route_type: 9,
            ..Hello::default()
        })
    );
    codec
        .encode(
            Message::RouterIdUpdate(RouterIdUpdate {
                prefix: "192.0.2.1/32".parse().unwrap(),
            }),
            &mut out,
        )
        .unwrap();
    assert_eq!(
        out.as_ref(),
        unhex("000c ff 02 0016 02 c0000201 20").as_slice()
    );
}

#[test]
fn encoder_with_vrf() {
    let mut codec = ZebraCodec::new(Profile::Frr84).with_vrf(3);
    let mut out = BytesMut::new();
    codec
        .encode(&Message::InterfaceAddRequest, &mut out)
        .unwrap();
    codec
        .encode((9u32, &Message::InterfaceAddRequest), &mut out)
        .unwrap();
    assert_eq!(
        out.as_ref(),
        unhex("000a fe 06 00000003 0000 000a fe 06 00000009 0000").as_slice()
    );
    let mut v3 = ZebraCodec::new(Profile::QuaggaV3);
    assert!(
        v3.encode((70_000u32, &Message::InterfaceAddRequest), &mut out)
            .is_err(),
        "vrf > u16 in v3"
    );
}

/// Patch the length field so the frame is "complete" but its body is cut.
fn cut_frame(bytes: &[u8], len: usize) -> Vec<u8> {
    let mut f = bytes[..len].to_vec();
    f[..2].copy_from_slice(&(len as u16).to_be_bytes());
    f
}

#[test]
fn truncated_body_of_every_message_type() {
    for profile in Profile::ALL {
        let hsize = profile.header_size();
        let mut errors = 0usize;
        let mut variants_with_error = std::collections::BTreeSet::new();
        for (msg, bytes) in samples(profile, 11, 3) {
            for len in hsize..bytes.len() {
                let f = cut_frame(&bytes, len);
                match decode(profile, &f) {
                    Err(e) => {
                        errors += 1;
                        variants_with_error.insert(variant(&msg));
                        // The error points inside the frame.
                        let offset = match e {
                            DecodeError::Truncated {
                                offset, missing, ..
                            } => {
                                assert!(missing > 0);
                                offset
                            }
                            DecodeError::InvalidField { offset, .. }
                            | DecodeError::TrailingBytes { offset, .. } => offset,
                            other => panic!("{profile} {msg:?}: unexpected {other}"),
                        };
                        assert!(
                            offset <= len,
                            "{profile}: offset {offset} beyond frame of {len}: {e}"
                        );
                        let mut codec = ZebraCodec::new(profile);
                        let mut buf = BytesMut::from(&f[..]);
                        assert!(
                            codec.decode(&mut buf).is_err(),
                            "codec accepted a corrupt frame"
                        );
                    }
                    // A shorter body can itself be a valid message (e.g. a list cut at an entry
                    // boundary, or a reply cut to the request's size): it must then re-encode
                    // to exactly those bytes.
                    Ok((_, m)) => {
                        let mut out = BytesMut::new();
                        encode(profile, 0, &m, &mut out).unwrap();
                        assert_eq!(
                            out.as_ref(),
                            &f[..],
                            "{profile}: {msg:?} cut to {len} decoded as {m:?}"
                        );
                    }
                }
            }
        }
        // Every variant with a non-empty fixed part must have failed somewhere.
        for v in support::gen::expected_variants(profile) {
            // Empty or optional-only bodies: every prefix of them is itself valid.
            if matches!(
                v,
                "InterfaceAddRequest"
                    | "InterfaceDeleteRequest"
                    | "Unknown"
                    | "RouterIdAdd"
                    | "RouterIdDelete"
                    | "RedistributeDefaultAdd"
                    | "RedistributeDefaultDelete"
            ) {
                continue;
            }
            assert!(
                variants_with_error.contains(v),
                "{profile}: truncating {v} never failed"
            );
        }
        assert!(errors > 100, "{profile}: only {errors} truncation errors");
    }
}

#[test]
fn decode_rejects_buffer_longer_or_shorter_than_length() {
    let mut bytes = unhex("000a fe 06 00000000 0000");
    bytes.push(0);
    assert!(matches!(
        decode(Profile::Frr84, &bytes),
        Err(DecodeError::LengthMismatch {
            length: 10,
            available: 11
        })
    ));
    assert!(matches!(
        decode(Profile::Frr84, &bytes[..9]),
        Err(DecodeError::IncompleteHeader { .. })
    ));
    assert_eq!(frame_length(Profile::Frr84, &bytes[..9]).unwrap(), None);
    assert_eq!(frame_length(Profile::Frr84, &bytes).unwrap(), Some(10));
}

#[test]
fn errors_name_command_field_and_offset() {
    // ROUTE_ADD with nexthop_num 2 but only one nexthop: the distance and metric bytes are
    // read as the second nexthop's vrf_id and type, then its flags are missing.
    let bytes = unhex(
        "0030 fe 06 00000000 0008 09 0000 00000000 00000007 01 02 18 c63364
         0002 00000000 02 00 c0000202 00000000 14 00000000",
    );
    let err = decode(Profile::Frr84, &bytes).unwrap_err();
    assert_eq!(
        err,
        DecodeError::Truncated {
            command: "ROUTE_ADD",
            field: "nexthop.flags",
            offset: 48,
            missing: 1
        }
    );
    assert_eq!(
        err.to_string(),
        "ROUTE_ADD: truncated nexthop.flags at offset 48: 1 more byte(s) needed"
    );
    // An unknown nexthop type.
    let bytes = with_len("0027 fe 06 00000000 0008 09 0000 00000000 00000001 01 02 18 c63364 0001 00000000 07 00 c0000202 00000000");
    let err = decode(Profile::Frr84, &bytes).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::InvalidField {
                command: "ROUTE_ADD",
                field: "nexthop.type",
                offset: 33,
                value: 7,
                ..
            }
        ),
        "{err:?}"
    );
    // A nexthop count far beyond the frame is refused before looping.
    let bytes = with_len("001c fe 06 00000000 0008 09 0000 00000000 00000001 01 02 18 c63364 ffff");
    assert!(matches!(
        decode(Profile::Frr84, &bytes),
        Err(DecodeError::Truncated { field: "nexthops", missing, .. }) if missing == 65535 * 7
    ));
    // Too many labels.
    let bytes = with_len("0028 fe 06 00000000 0008 09 0000 00000000 00000001 01 02 18 c63364 0001 00000000 01 02 00000002 11 00000000");
    assert!(matches!(
        decode(Profile::Frr84, &bytes),
        Err(DecodeError::InvalidField {
            field: "nexthop.label_num",
            value: 17,
            ..
        })
    ));
}

/// Fixture bytes with the length field set to their real length.
fn with_len(text: &str) -> Vec<u8> {
    let mut b = unhex(text);
    let n = b.len() as u16;
    b[..2].copy_from_slice(&n.to_be_bytes());
    b
}

#[test]
fn unknown_with_a_typed_number_is_refused_for_that_profile() {
    // Found by the roundtrip fuzz target: FRR 10's ROUTE_NOTIFY_REQUEST is 126, so an `Unknown`
    // numbered 126 decoded as a truncated ROUTE_NOTIFY_REQUEST. Every profile refuses to encode
    // an `Unknown` under a number it types, names the command, and leaves no bytes behind.
    for profile in Profile::ALL {
        let mut refused = 0;
        for number in 0..=300u16 {
            let msg = Message::Unknown {
                command: number,
                body: vec![],
            };
            let mut out = BytesMut::new();
            let result = encode(profile, 0, &msg, &mut out);
            match profile.command(number) {
                Some(typed) => {
                    refused += 1;
                    match result {
                        Err(EncodeError::UnknownIsTyped {
                            number: n, command, ..
                        }) => {
                            assert_eq!((n, command), (number, typed.name()), "{profile}");
                        }
                        other => panic!("{profile} {number}: {other:?}"),
                    }
                    assert!(out.is_empty());
                }
                None => {
                    result.unwrap();
                    let (_, back) = decode(profile, &out).unwrap();
                    assert_eq!(back, msg, "{profile} {number}");
                }
            }
        }
        assert!(refused >= 15, "{profile} types only {refused} numbers");
    }
}
