//! Golden vectors for FRR 10.3's graceful-restart messages on the zebra protocol
//! (ZEBRA_CLIENT_CAPABILITIES, command 121 from FRR 10.2 on), captured from bgpd 10.3 (Debian
//! 13 chroot of `scripts/frr10-chroot.sh`) by `tests/live_bgpd_gr.rs`
//! (`frr10_bgpd_graceful_restart_capabilities_frr_peer`; raw capture:
//! tests/golden/frr103_bgpd_gr_frr_peer.txt). The body is FRR 8.4's (lib/zclient.c
//! `zclient_capabilities_send` is unchanged in 10.3): `cap u32` then, by cap,
//! `stale_removal_time u32 | vrf u32` (1 GR_CAPABILITIES, 5 RIB_STALE_TIME),
//! `afi u32 | safi u32 | vrf u32` (2 ROUTE_UPDATE_COMPLETE, 3 ROUTE_UPDATE_PENDING) or `vrf u32`
//! (4 GR_DISABLE); only the command number differs from 8.4's 119.
//!
//! Each vector is checked both ways: decode(bytes) == expected and encode(expected) == bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use bytes::BytesMut;
use support::fixture::{hex, unhex};
use zebra_proto::*;

const P: Profile = Profile::Frr103;

fn check(bytes: &[u8], expected: ClientCapabilities) {
    let expected = Message::ClientCapabilities(expected);
    let (header, msg) = decode(P, bytes).unwrap_or_else(|e| panic!("decode {}: {e}", hex(bytes)));
    assert_eq!(msg, expected, "decoded {}", hex(bytes));
    assert_eq!(header.vrf_id, 0);
    assert_eq!(usize::from(header.length), bytes.len());
    let mut out = BytesMut::new();
    encode(P, 0, &expected, &mut out).unwrap();
    assert_eq!(hex(&out), hex(bytes), "encoded {expected:?}");
}

#[test]
fn gr_capabilities_and_rib_stale_time_at_connect() {
    // `bgp graceful-restart` + `rib-stale-time 77`: bgpd 10.3 sends RIB_STALE_TIME, then
    // GR_CAPABILITIES, when it connects (and again after its kill -9 restart).
    check(
        &unhex(
            "0016 fe 06 00000000 0079  # CLIENT_CAPABILITIES (121 in FRR 10.2+)
             00000005                  # ZEBRA_CLIENT_RIB_STALE_TIME
             0000004d                  # stale_removal_time 77 s
             00000000                  # vrf 0",
        ),
        ClientCapabilities::RibStaleTime {
            stale_removal_time: 77,
            vrf_id: 0,
        },
    );
    check(
        &unhex(
            "0016 fe 06 00000000 0079  # CLIENT_CAPABILITIES
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
fn route_update_complete_for_ipv4_and_ipv6_unicast() {
    check(
        &unhex(
            "001a fe 06 00000000 0079  # CLIENT_CAPABILITIES
             00000002                  # ZEBRA_CLIENT_ROUTE_UPDATE_COMPLETE
             00000001                  # afi 1 (AFI_IP)
             00000001                  # safi 1 (SAFI_UNICAST)
             00000000                  # vrf 0",
        ),
        ClientCapabilities::RouteUpdateComplete {
            afi: 1,
            safi: 1,
            vrf_id: 0,
        },
    );
    check(
        &unhex(
            "001a fe 06 00000000 0079  # CLIENT_CAPABILITIES
             00000002                  # ZEBRA_CLIENT_ROUTE_UPDATE_COMPLETE
             00000002                  # afi 2 (AFI_IP6)
             00000001                  # safi 1
             00000000                  # vrf 0",
        ),
        ClientCapabilities::RouteUpdateComplete {
            afi: 2,
            safi: 1,
            vrf_id: 0,
        },
    );
}

#[test]
fn rib_stale_time_change_and_gr_disable_at_run_time() {
    check(
        &unhex(
            "0016 fe 06 00000000 0079  # CLIENT_CAPABILITIES
             00000005                  # ZEBRA_CLIENT_RIB_STALE_TIME
             0000005a                  # 90 s (`bgp graceful-restart rib-stale-time 90`)
             00000000                  # vrf 0",
        ),
        ClientCapabilities::RibStaleTime {
            stale_removal_time: 90,
            vrf_id: 0,
        },
    );
    check(
        &unhex(
            "0012 fe 06 00000000 0079  # CLIENT_CAPABILITIES
             00000004                  # ZEBRA_CLIENT_GR_DISABLE (`no bgp graceful-restart`)
             00000000                  # vrf 0",
        ),
        ClientCapabilities::GrDisable { vrf_id: 0 },
    );
}

#[test]
fn the_frr84_number_means_something_else_in_frr103() {
    // 8.4's CLIENT_CAPABILITIES number (119) is not CLIENT_CAPABILITIES under the 10.3 profile.
    let bytes = unhex("001a fe 06 00000000 0077 00000002 00000001 00000001 00000000");
    assert!(!matches!(
        decode(P, &bytes),
        Ok((_, Message::ClientCapabilities(_)))
    ));
}

/// Frames of the capture as (connection, decoded message).
fn capture() -> Vec<(usize, Message)> {
    include_str!("golden/frr103_bgpd_gr_frr_peer.txt")
        .lines()
        .filter(|l| l.starts_with("conn="))
        .map(|line| {
            let conn = line["conn=".len()..]
                .split_whitespace()
                .next()
                .unwrap()
                .parse()
                .unwrap();
            let bytes = unhex(line.split_whitespace().last().unwrap());
            let (h, msg) = decode(P, &bytes).unwrap_or_else(|e| panic!("{line}: {e}"));
            let mut out = BytesMut::new();
            encode(P, h.vrf_id, &msg, &mut out).unwrap();
            assert_eq!(hex(&out), hex(&bytes), "{line}");
            (conn, msg)
        })
        .collect()
}

#[test]
fn capture_decodes_and_shows_the_undeferred_restart() {
    // bgpd 10.3 killed and started again next to an FRR peer in its own start-up period (R
    // bit): no ROUTE_UPDATE_PENDING; ROUTE_UPDATE_COMPLETE for every AFI/SAFI *before* the
    // route comes back — why the zebra server sweeps such a family only after a settle
    // period (zebra-server/src/gr.rs).
    let frames = capture();
    assert!(
        frames.len() >= 50,
        "capture has only {} frames",
        frames.len()
    );
    let restarted = frames
        .iter()
        .filter(|(_, m)| matches!(m, Message::Hello(h) if !h.synchronous && h.route_type == 10))
        .map(|(c, _)| *c)
        .max()
        .unwrap();
    assert!(restarted > 0, "no second main connection");
    let later: Vec<&Message> = frames
        .iter()
        .filter(|(c, _)| *c == restarted)
        .map(|(_, m)| m)
        .collect();
    assert!(!later.iter().any(|m| matches!(
        m,
        Message::ClientCapabilities(ClientCapabilities::RouteUpdatePending { .. })
    )));
    let complete_v4 = later
        .iter()
        .position(|m| {
            **m == Message::ClientCapabilities(ClientCapabilities::RouteUpdateComplete {
                afi: 1,
                safi: 1,
                vrf_id: 0,
            })
        })
        .unwrap();
    let route_v4 = later
        .iter()
        .position(
            |m| matches!(m, Message::RouteAdd(r) if r.prefix.to_string() == "198.51.100.0/24"),
        )
        .unwrap();
    assert!(
        complete_v4 < route_v4,
        "COMPLETE {complete_v4} / route {route_v4}"
    );
    let gr_at = later
        .iter()
        .position(|m| {
            matches!(
                m,
                Message::ClientCapabilities(ClientCapabilities::GrCapabilities {
                    stale_removal_time: 77,
                    ..
                })
            )
        })
        .unwrap();
    assert!(gr_at < complete_v4);
}
