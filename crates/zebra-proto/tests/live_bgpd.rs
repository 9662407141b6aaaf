//! Runs the real FRR bgpd against a capturing zebra (tests/support/responder.rs) with an eBGP
//! peer (a second bgpd without zebra) and checks that every frame bgpd sends decodes and
//! re-encodes to the same bytes.
//!
//! Runs against FRR 8.4 (the host's bgpd), FRR 10.3 (the Debian 13 chroot of
//! `scripts/frr10-chroot.sh`) and Quagga 1.2.4 (built by `scripts/quagga-build.sh`, Zebra v3),
//! the peer being the host's bgpd.
//!
//! With `ZEBRA_PROTO_CAPTURE=FILE` (8.4), `ZEBRA_PROTO_CAPTURE_FRR10=FILE` (10.3) or
//! `ZEBRA_PROTO_CAPTURE_QUAGGA=FILE` (Quagga 1.2.4) the frames are also written to FILE (one
//! line per frame: connection, direction, command, hex) — this is how
//! tests/golden/frr84_bgpd_capture.txt, frr103_bgpd_capture.txt and
//! quagga124_bgpd_capture.txt were made.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::path::{Path, PathBuf};
use std::time::Duration;

use bytes::BytesMut;
use support::responder::{
    hex, iface, CaptureServer, Dir, Record, Responder, ETHER_FLAGS, LOOPBACK_FLAGS,
};
use testkit::lab::{veth_between, wait_until, BgpdOptions, TestBgpd, TestNs};
use testkit::quagga::{QuaggaOptions, TestQuagga};
use zebra_proto::{encode, Message, NexthopTarget, OldNexthop, Profile};

const CONF_A: &str = "hostname zpa
router bgp 65001
 no bgp ebgp-requires-policy
 no bgp default ipv4-unicast
 neighbor 192.0.2.2 remote-as 65002
 neighbor 192.0.2.2 timers connect 2
 neighbor 2001:db8::2 remote-as 65002
 neighbor 2001:db8::2 timers connect 2
 address-family ipv4 unicast
  network 203.0.113.0/24
  neighbor 192.0.2.2 activate
 exit-address-family
 address-family ipv6 unicast
  neighbor 2001:db8::2 activate
 exit-address-family
";

const CONF_B: &str = "hostname zpb
router bgp 65002
 bgp router-id 192.0.2.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 no bgp default ipv4-unicast
 neighbor 192.0.2.1 remote-as 65001
 neighbor 192.0.2.1 timers connect 2
 neighbor 2001:db8::1 remote-as 65001
 neighbor 2001:db8::1 timers connect 2
 address-family ipv4 unicast
  network 198.51.100.0/24
  neighbor 192.0.2.1 activate
 exit-address-family
 address-family ipv6 unicast
  network 2001:db8:100::/48
  neighbor 2001:db8::1 activate
 exit-address-family
";

/// The same session as `CONF_A` in Quagga 1.2's syntax: no `ebgp-requires-policy` (Quagga has
/// no such default), a Vty password for the TCP login.
const CONF_A_QUAGGA: &str = "hostname zpq
password zebra
router bgp 65001
 no bgp default ipv4-unicast
 neighbor 192.0.2.2 remote-as 65002
 neighbor 192.0.2.2 timers connect 2
 neighbor 2001:db8::2 remote-as 65002
 neighbor 2001:db8::2 timers connect 2
 address-family ipv4 unicast
  network 203.0.113.0/24
  neighbor 192.0.2.2 activate
 exit-address-family
 address-family ipv6 unicast
  neighbor 2001:db8::2 activate
 exit-address-family
";

/// Which bgpd runs against the capturing zebra.
enum Local {
    Frr {
        bgpd: PathBuf,
        chroot: Option<PathBuf>,
    },
    Quagga(PathBuf),
}

/// A running local bgpd of either suite.
enum Running {
    Frr(TestBgpd),
    Quagga(TestQuagga),
}

impl Running {
    fn log(&self) -> String {
        match self {
            Running::Frr(b) => b.log(),
            Running::Quagga(q) => q.log(),
        }
    }

    fn show(&self) -> String {
        let res = match self {
            Running::Frr(b) => b.vtysh(&[
                "show bgp summary",
                "show bgp ipv6 unicast",
                "show bgp ipv4 unicast",
                "show bgp nexthop",
            ]),
            Running::Quagga(q) => q.vty(&[
                "show ip bgp summary",
                "show bgp ipv6 unicast",
                "show ip bgp",
                "show ip bgp nexthop",
            ]),
        };
        res.unwrap_or_else(|e| e.to_string())
    }
}

fn client_msgs(records: &[Record]) -> Vec<Message> {
    records
        .iter()
        .filter(|r| r.dir == Dir::FromClient)
        .filter_map(|r| r.decoded.clone().ok())
        .collect()
}

fn has_route(records: &[Record], pred: impl Fn(&Message) -> bool) -> bool {
    client_msgs(records).iter().any(pred)
}

/// The prefix of a route add (FRR's ROUTE_ADD or Quagga's IPV4/IPV6_ROUTE_ADD).
fn added(m: &Message) -> Option<String> {
    match m {
        Message::RouteAdd(r) => Some(r.prefix.to_string()),
        Message::Ipv4RouteAdd(r) | Message::Ipv6RouteAdd(r) => Some(r.prefix.to_string()),
        _ => None,
    }
}

/// The prefix of a route delete (FRR's or Quagga's).
fn deleted(m: &Message) -> Option<String> {
    match m {
        Message::RouteDelete(r) => Some(r.prefix.to_string()),
        Message::Ipv4RouteDelete(r) | Message::Ipv6RouteDelete(r) => Some(r.prefix.to_string()),
        _ => None,
    }
}

#[test]
fn bgpd_frames_decode_and_reencode_exactly() {
    let Some(bgpd) = testkit::require_bgpd("bgpd_frames_decode_and_reencode_exactly") else {
        return;
    };
    let local = Local::Frr {
        bgpd: bgpd.clone(),
        chroot: None,
    };
    capture(Profile::Frr84, local, &bgpd, "ZEBRA_PROTO_CAPTURE");
}

#[test]
fn frr10_bgpd_frames_decode_and_reencode_exactly() {
    let test = "frr10_bgpd_frames_decode_and_reencode_exactly";
    let Some(root) = testkit::require_frr10(test) else {
        return;
    };
    let Some(peer) = testkit::require_bgpd(test) else {
        return;
    };
    let local = Local::Frr {
        bgpd: PathBuf::from(testkit::FRR10_BGPD),
        chroot: Some(root),
    };
    let records = capture(Profile::Frr103, local, &peer, "ZEBRA_PROTO_CAPTURE_FRR10");
    // bgpd 10.3 opens three connections: main (BGP), VNC and the synchronous label manager,
    // which gets its LABEL_MANAGER_CONNECT answered.
    let hellos: Vec<_> = records
        .iter()
        .filter_map(|r| match &r.decoded {
            Ok(Message::Hello(h)) if r.dir == Dir::FromClient => Some(*h),
            _ => None,
        })
        .collect();
    assert!(hellos.iter().any(|h| h.route_type == 10 && !h.synchronous));
    assert!(hellos.iter().any(|h| h.route_type == 18), "{hellos:?}");
    assert!(hellos.iter().any(|h| h.synchronous), "{hellos:?}");
    assert!(records
        .iter()
        .any(|r| r.dir == Dir::ToClient
            && matches!(r.decoded, Ok(Message::LabelManagerConnectReply(_)))));
}

#[test]
fn quagga_bgpd_frames_decode_and_reencode_exactly() {
    let test = "quagga_bgpd_frames_decode_and_reencode_exactly";
    let Some(quagga) = testkit::require_quagga(test) else {
        return;
    };
    let Some(peer) = testkit::require_bgpd(test) else {
        return;
    };
    let records = capture(
        Profile::QuaggaV3,
        Local::Quagga(quagga),
        &peer,
        "ZEBRA_PROTO_CAPTURE_QUAGGA",
    );
    // Quagga speaks Zebra v3 (marker 255) on one connection.
    assert!(
        records.iter().all(|r| r.conn == 0),
        "more than one connection"
    );
    assert!(records
        .iter()
        .filter(|r| r.dir == Dir::FromClient)
        .all(|r| r.bytes[2] == 0xff && r.bytes[3] == 3));
}

/// Runs the `local` bgpd against the capturing zebra with a peer running the host's
/// `peer_bgpd`; checks every frame and returns the records.
fn capture(profile: Profile, local: Local, peer_bgpd: &Path, capture_env: &str) -> Vec<Record> {
    let a = TestNs::new("zpa").unwrap();
    let b = TestNs::new("zpb").unwrap();
    veth_between(&a, "za", &b, "zb").unwrap();
    a.add_addr("za", "192.0.2.1/24").unwrap();
    a.add_addr("za", "2001:db8::1/64").unwrap();
    b.add_addr("zb", "192.0.2.2/24").unwrap();
    b.add_addr("zb", "2001:db8::2/64").unwrap();
    let za = a.ifindex("za").unwrap();
    let mac_text = a.ip(&["-br", "link", "show", "dev", "za"]).unwrap();
    let mac: Vec<u8> = mac_text
        .split_whitespace()
        .nth(2)
        .unwrap()
        .split(':')
        .map(|h| u8::from_str_radix(h, 16).unwrap())
        .collect();

    // The kernel's link-local address of `za` (bgpd needs it for IPv6 nexthops).
    let mut ll = String::new();
    wait_until(Duration::from_secs(10), || {
        let out = a
            .ip(&["-6", "-o", "addr", "show", "dev", "za", "scope", "link"])
            .unwrap_or_default();
        ll = out
            .split_whitespace()
            .skip_while(|w| *w != "inet6")
            .nth(1)
            .unwrap_or("")
            .to_string();
        !ll.is_empty() && !out.contains("tentative")
    });
    assert!(
        ll.starts_with("fe80:"),
        "no link-local address on za: {ll:?}"
    );

    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("zserv.api");
    let responder = Responder {
        profile,
        interfaces: vec![
            iface(
                "lo",
                1,
                LOOPBACK_FLAGS,
                65536,
                772,
                &[],
                &["127.0.0.1/8", "::1/128"],
            ),
            iface(
                "za",
                za,
                ETHER_FLAGS,
                1500,
                1,
                &mac,
                &["192.0.2.1/24", "2001:db8::1/64", &ll],
            ),
        ],
        router_id: "192.0.2.1".parse().unwrap(),
    };
    let server = CaptureServer::start(&sock, responder).unwrap();

    let peer = TestBgpd::start(peer_bgpd, &b, CONF_B, &BgpdOptions::default()).unwrap();
    let opts = BgpdOptions {
        zebra_socket: Some(sock.clone()),
        ..BgpdOptions::default()
    };
    let me = match &local {
        Local::Frr {
            bgpd,
            chroot: Some(root),
        } => Running::Frr(TestBgpd::start_in_chroot(root, bgpd, &a, CONF_A, &opts).unwrap()),
        Local::Frr { bgpd, chroot: None } => {
            Running::Frr(TestBgpd::start(bgpd, &a, CONF_A, &opts).unwrap())
        }
        Local::Quagga(bgpd) => {
            let qopts = QuaggaOptions {
                zebra_socket: Some(sock.clone()),
                ..QuaggaOptions::default()
            };
            Running::Quagga(TestQuagga::start(bgpd, &a, CONF_A_QUAGGA, &qopts).unwrap())
        }
    };

    let v4 = |m: &Message| added(m).as_deref() == Some("198.51.100.0/24");
    let v6 = |m: &Message| added(m).as_deref() == Some("2001:db8:100::/48");
    let got = wait_until(Duration::from_secs(60), || {
        let recs = server.snapshot();
        has_route(&recs, v4) && has_route(&recs, v6)
    });
    if !got {
        let show_peer = peer
            .vtysh(&[
                "show bgp summary",
                "show bgp ipv6 unicast",
                "show bgp ipv4 unicast",
            ])
            .unwrap_or_else(|e| e.to_string());
        panic!(
            "bgpd sent no ROUTE_ADD for both prefixes; records: {:#?}\nbgpd:\n{}{}\npeer:\n{}{}",
            client_msgs(&server.snapshot()),
            me.log(),
            me.show(),
            peer.log(),
            show_peer
        );
    }
    // Withdraw the IPv4 prefix at the peer: bgpd must send ROUTE_DELETE.
    peer.vtysh(&[
        "configure terminal",
        "router bgp 65002",
        "address-family ipv4 unicast",
        "no network 198.51.100.0/24",
    ])
    .unwrap();
    let deleted = wait_until(Duration::from_secs(60), || {
        has_route(&server.snapshot(), |m| {
            deleted(m).as_deref() == Some("198.51.100.0/24")
        })
    });
    assert!(
        deleted,
        "no ROUTE_DELETE after the withdraw; bgpd log:\n{}",
        me.log()
    );

    drop(me);
    drop(peer);
    let records = server.snapshot();
    drop(server);

    // Every frame from bgpd decodes, and re-encodes to exactly the same bytes.
    let mut frames = 0;
    for r in records.iter().filter(|r| r.dir == Dir::FromClient) {
        let msg = r
            .decoded
            .as_ref()
            .unwrap_or_else(|e| panic!("bgpd frame {} failed: {e}", hex(&r.bytes)));
        // The header's VRF field (u32 in FRR, u16 in Zebra v3).
        let vrf = zebra_proto::decode(profile, &r.bytes).unwrap().0.vrf_id;
        let mut out = BytesMut::new();
        encode(profile, vrf, msg, &mut out).unwrap();
        assert_eq!(hex(&out), hex(&r.bytes), "re-encoding {msg:?}");
        frames += 1;
    }
    // Quagga sends no VNC or per-connection extras: HELLO, ROUTER_ID_ADD, INTERFACE_ADD, two
    // NEXTHOP_REGISTERs, two route adds and a delete are the least a working session gives.
    let least = if profile.is_frr() { 10 } else { 8 };
    assert!(frames >= least, "only {frames} frames captured");
    let msgs = client_msgs(&records);
    // Each connection starts with HELLO; the main one as route type BGP.
    for conn in 0..=records.iter().map(|r| r.conn).max().unwrap_or(0) {
        let first = records
            .iter()
            .find(|r| r.conn == conn && r.dir == Dir::FromClient);
        if let Some(first) = first {
            assert!(
                matches!(first.decoded, Ok(Message::Hello(_))),
                "connection {conn} began with {:?}",
                first.decoded
            );
        }
    }
    assert!(msgs
        .iter()
        .any(|m| matches!(m, Message::Hello(h) if h.route_type == profile.route_type_bgp())));
    assert!(msgs
        .iter()
        .any(|m| matches!(m, Message::NexthopRegister(_))));
    assert!(msgs
        .iter()
        .any(|m| matches!(m, Message::InterfaceAddRequest)));
    // The IPv4 route goes via the peer's address.
    let route = msgs
        .iter()
        .find(|m| added(m).as_deref() == Some("198.51.100.0/24"))
        .unwrap();
    match route {
        Message::RouteAdd(route) => {
            assert_eq!(route.route_type, profile.route_type_bgp());
            let gw = route
                .nexthop_slice()
                .first()
                .and_then(|n| n.target.gateway())
                .map(|g| g.to_string());
            assert_eq!(gw.as_deref(), Some("192.0.2.2"));
            assert!(matches!(
                route.nexthop_slice()[0].target,
                NexthopTarget::Ipv4 { .. } | NexthopTarget::Ipv4Ifindex { .. }
            ));
        }
        Message::Ipv4RouteAdd(route) => {
            assert_eq!(route.route_type, profile.route_type_bgp());
            let first = route.nexthops.as_ref().and_then(|n| n.first().copied());
            assert!(
                matches!(
                    first,
                    Some(OldNexthop::Ipv4(a) | OldNexthop::Ipv4Ifindex(a, _))
                        if a.to_string() == "192.0.2.2"
                ),
                "{route:?}"
            );
        }
        other => panic!("not an IPv4 route add: {other:?}"),
    }

    if let Ok(path) = std::env::var(capture_env) {
        let mut f = std::fs::File::create(path).unwrap();
        for r in &records {
            let name = r.decoded.as_ref().map(|m| m.name()).unwrap_or("ERROR");
            let dir = if r.dir == Dir::FromClient {
                "bgpd->zebra"
            } else {
                "zebra->bgpd"
            };
            writeln!(f, "conn={} {dir} {name} {}", r.conn, hex(&r.bytes)).unwrap();
            writeln!(f, "  # {:?}", r.decoded).unwrap();
        }
    }
    records
}
