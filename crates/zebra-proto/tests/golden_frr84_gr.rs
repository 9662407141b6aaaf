//! Golden vectors for FRR 8.4's graceful-restart messages on the zebra protocol
//! (ZEBRA_CLIENT_CAPABILITIES, command 119), every one captured from Debian 12's real bgpd
//! 8.4.4 by `tests/live_bgpd_gr.rs` (raw captures: tests/golden/frr84_bgpd_gr_frr_peer.txt and
//! frr84_bgpd_gr_bird_peer.txt), annotated field by field from lib/zclient.c
//! `zclient_capabilities_send`: `cap u32` then, by cap, `stale_removal_time u32 | vrf u32`
//! (1 GR_CAPABILITIES, 5 RIB_STALE_TIME), `afi u32 | safi u32 | vrf u32` (2
//! ROUTE_UPDATE_COMPLETE, 3 ROUTE_UPDATE_PENDING) or `vrf u32` (4 GR_DISABLE). AFI and SAFI are
//! FRR's internal numbers (AFI 1 IPv4, 2 IPv6, 3 L2VPN; SAFI 1 unicast … 7 flowspec), not IANA's.
//!
//! Each vector is checked both ways: decode(bytes) == expected and encode(expected) == bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use bytes::BytesMut;
use support::fixture::{hex, unhex};
use zebra_proto::*;

fn check(bytes: &[u8], expected: ClientCapabilities) {
    let expected = Message::ClientCapabilities(expected);
    let (header, msg) =
        decode(Profile::Frr84, bytes).unwrap_or_else(|e| panic!("decode {}: {e}", hex(bytes)));
    assert_eq!(msg, expected, "decoded {}", hex(bytes));
    assert_eq!(header.vrf_id, 0);
    assert_eq!(usize::from(header.length), bytes.len());
    let mut out = BytesMut::new();
    encode(Profile::Frr84, 0, &expected, &mut out).unwrap();
    assert_eq!(hex(&out), hex(bytes), "encoded {expected:?}");
}

#[test]
fn gr_capabilities_carry_the_rib_stale_time() {
    // `bgp graceful-restart` + `bgp graceful-restart rib-stale-time 77`, sent when bgpd
    // connects to zebra (and again by the restarted bgpd).
    check(
        &unhex(
            "0016 fe 06 00000000 0077  # CLIENT_CAPABILITIES (119)
             00000001                  # ZEBRA_CLIENT_GR_CAPABILITIES
             0000004d                  # stale_removal_time 77 s (rib-stale-time)
             00000000                  # vrf 0",
        ),
        ClientCapabilities::GrCapabilities {
            stale_removal_time: 77,
            vrf_id: 0,
        },
    );
}

#[test]
fn rib_stale_time_updates() {
    // Sent once at start (config read) and on `bgp graceful-restart rib-stale-time 90`.
    check(
        &unhex(
            "0016 fe 06 00000000 0077
             00000005                  # ZEBRA_CLIENT_RIB_STALE_TIME
             0000004d                  # 77 s
             00000000",
        ),
        ClientCapabilities::RibStaleTime {
            stale_removal_time: 77,
            vrf_id: 0,
        },
    );
    check(
        &unhex("0016 fe 06 00000000 0077 00000005 0000005a 00000000"),
        ClientCapabilities::RibStaleTime {
            stale_removal_time: 90,
            vrf_id: 0,
        },
    );
}

#[test]
fn route_update_pending_and_complete_per_afi_safi() {
    // The restarted bgpd, deferring path selection for IPv4 unicast until its BIRD peer's
    // End-of-RIB: PENDING, the routes, then COMPLETE.
    check(
        &unhex(
            "001a fe 06 00000000 0077
             00000003                  # ZEBRA_CLIENT_ROUTE_UPDATE_PENDING
             00000001                  # afi 1 (IPv4)
             00000001                  # safi 1 (unicast)
             00000000                  # vrf 0",
        ),
        ClientCapabilities::RouteUpdatePending {
            afi: 1,
            safi: 1,
            vrf_id: 0,
        },
    );
    // Without deferral bgpd says COMPLETE for every AFI (1..=3) and SAFI (1..=7).
    for afi in 1u32..=3 {
        for safi in 1u32..=7 {
            let bytes = unhex(&format!(
                "001a fe 06 00000000 0077 00000002 {afi:08x} {safi:08x} 00000000"
            ));
            check(
                &bytes,
                ClientCapabilities::RouteUpdateComplete {
                    afi,
                    safi,
                    vrf_id: 0,
                },
            );
        }
    }
}

#[test]
fn gr_disable() {
    // `no bgp graceful-restart` at run time.
    check(
        &unhex(
            "0012 fe 06 00000000 0077
             00000004                  # ZEBRA_CLIENT_GR_DISABLE
             00000000                  # vrf 0",
        ),
        ClientCapabilities::GrDisable { vrf_id: 0 },
    );
}

#[test]
fn every_captured_gr_frame_is_one_of_the_vectors() {
    // The captures hold nothing this file does not cover.
    let mut seen = 0;
    for file in [
        include_str!("golden/frr84_bgpd_gr_frr_peer.txt"),
        include_str!("golden/frr84_bgpd_gr_bird_peer.txt"),
    ] {
        for line in file.lines().filter(|l| l.contains(" CLIENT_CAPABILITIES ")) {
            let bytes = unhex(line.split_whitespace().last().unwrap());
            let (_, msg) = decode(Profile::Frr84, &bytes).unwrap();
            let Message::ClientCapabilities(c) = msg else {
                panic!("{line}: {msg:?}");
            };
            assert!(
                !matches!(c, ClientCapabilities::Other { .. }),
                "{line}: unknown capability {c:?}"
            );
            seen += 1;
        }
    }
    assert!(
        seen >= 40,
        "only {seen} captured CLIENT_CAPABILITIES frames"
    );
}

#[test]
fn truncated_or_overlong_capabilities_are_refused() {
    // GR_CAPABILITIES without its vrf: a truncation naming the field and offset.
    let short = unhex("0012 fe 06 00000000 0077 00000001 0000004d");
    let err = decode(Profile::Frr84, &short).unwrap_err();
    assert!(
        matches!(
            err,
            DecodeError::Truncated {
                field: "vrf_id",
                offset: 18,
                ..
            }
        ),
        "{err}"
    );
    // COMPLETE with a byte too many.
    let long = unhex("001b fe 06 00000000 0077 00000002 00000001 00000001 00000000 00");
    let err = decode(Profile::Frr84, &long).unwrap_err();
    assert!(
        matches!(err, DecodeError::TrailingBytes { extra: 1, .. }),
        "{err}"
    );
    // An unknown capability code keeps its bytes and re-encodes exactly.
    let other = unhex("0016 fe 06 00000000 0077 00000009 01020304 05060708");
    let (_, msg) = decode(Profile::Frr84, &other).unwrap();
    assert_eq!(
        msg,
        Message::ClientCapabilities(ClientCapabilities::Other {
            cap: 9,
            rest: vec![1, 2, 3, 4, 5, 6, 7, 8]
        })
    );
    let mut out = BytesMut::new();
    encode(Profile::Frr84, 0, &msg, &mut out).unwrap();
    assert_eq!(hex(&out), hex(&other));
}
