//! Runs the real FRR bgpd against a capturing zebra (tests/support/responder.rs) with an eBGP
//! peer (a second bgpd without zebra) and checks that every frame bgpd sends decodes and
//! re-encodes to the same bytes.
//!
//! With `ZEBRA_PROTO_CAPTURE=FILE` the frames are also written to FILE (one line per frame:
//! connection, direction, command, hex) — this is how tests/golden/frr84_bgpd.txt was made.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::time::Duration;

use bytes::BytesMut;
use support::responder::{
    hex, iface, CaptureServer, Dir, Record, Responder, ETHER_FLAGS, LOOPBACK_FLAGS,
};
use testkit::lab::{veth_between, wait_until, BgpdOptions, TestBgpd, TestNs};
use zebra_proto::{encode, Message, NexthopTarget, Profile};

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

#[test]
fn bgpd_frames_decode_and_reencode_exactly() {
    let Some(bgpd) = testkit::require_bgpd("bgpd_frames_decode_and_reencode_exactly") else {
        return;
    };
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

    let peer = TestBgpd::start(&bgpd, &b, CONF_B, &BgpdOptions::default()).unwrap();
    let opts = BgpdOptions {
        zebra_socket: Some(sock.clone()),
        ..BgpdOptions::default()
    };
    let me = TestBgpd::start(&bgpd, &a, CONF_A, &opts).unwrap();

    let v4 = |m: &Message| matches!(m, Message::RouteAdd(r) if r.prefix.to_string() == "198.51.100.0/24");
    let v6 = |m: &Message| matches!(m, Message::RouteAdd(r) if r.prefix.to_string() == "2001:db8:100::/48");
    let got = wait_until(Duration::from_secs(60), || {
        let recs = server.snapshot();
        has_route(&recs, v4) && has_route(&recs, v6)
    });
    if !got {
        let show = |d: &TestBgpd| {
            d.vtysh(&[
                "show bgp summary",
                "show bgp ipv6 unicast",
                "show bgp ipv4 unicast",
                "show bgp nexthop",
            ])
            .unwrap_or_else(|e| e.to_string())
        };
        panic!(
            "bgpd sent no ROUTE_ADD for both prefixes; records: {:#?}\nbgpd:\n{}{}\npeer:\n{}{}",
            client_msgs(&server.snapshot()),
            me.log(),
            show(&me),
            peer.log(),
            show(&peer)
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
        has_route(
            &server.snapshot(),
            |m| matches!(m, Message::RouteDelete(r) if r.prefix.to_string() == "198.51.100.0/24"),
        )
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
        let vrf = u32::from_be_bytes(r.bytes[4..8].try_into().unwrap());
        let mut out = BytesMut::new();
        encode(Profile::Frr84, vrf, msg, &mut out).unwrap();
        assert_eq!(hex(&out), hex(&r.bytes), "re-encoding {msg:?}");
        frames += 1;
    }
    assert!(frames >= 10, "only {frames} frames captured");
    let msgs = client_msgs(&records);
    // Each connection starts with HELLO; the main one as route type BGP (9).
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
        .any(|m| matches!(m, Message::Hello(h) if h.route_type == 9)));
    assert!(msgs
        .iter()
        .any(|m| matches!(m, Message::NexthopRegister(_))));
    assert!(msgs
        .iter()
        .any(|m| matches!(m, Message::InterfaceAddRequest)));
    // The IPv4 route goes via the peer's address.
    let route = msgs.iter().find_map(|m| match m {
        Message::RouteAdd(r) if r.prefix.to_string() == "198.51.100.0/24" => Some(r.clone()),
        _ => None,
    });
    let route = route.unwrap();
    assert_eq!(route.route_type, 9);
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

    if let Ok(path) = std::env::var("ZEBRA_PROTO_CAPTURE") {
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
}
