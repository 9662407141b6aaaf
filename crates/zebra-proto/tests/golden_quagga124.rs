//! Golden vectors captured from a live Quagga 1.2.4 bgpd (built by `scripts/quagga-build.sh`),
//! profile [`Profile::QuaggaV3`].
//!
//! `tests/live_bgpd.rs` `quagga_bgpd_frames_decode_and_reencode_exactly` ran bgpd against the
//! capturing zebra of `tests/support/responder.rs` with an FRR 8.4 eBGP peer; with
//! `ZEBRA_PROTO_CAPTURE_QUAGGA=FILE` it wrote tests/golden/quagga124_bgpd_capture.txt. The
//! "bgpd" vectors below are frames of that capture annotated field by field (layouts: Quagga
//! 1.2.4 lib/zclient.c `zapi_ipv4_route`, `zapi_ipv6_route`, bgpd/bgp_nht.c
//! `register_zebra_rnh`); the "server" vectors are what the responder sent and bgpd accepted
//! (the session came up, the nexthops were valid, routes flowed). Each vector is checked both
//! ways: decode(bytes) == expected and encode(expected) == bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use bytes::BytesMut;
use support::fixture::{hex, unhex};
use zebra_proto::*;

const P: Profile = Profile::QuaggaV3;

fn check(bytes: &[u8], expected: &Message) {
    let (header, msg) = decode(P, bytes).unwrap_or_else(|e| panic!("decode {}: {e}", hex(bytes)));
    assert_eq!(&msg, expected, "decoded {}", hex(bytes));
    assert_eq!(header.vrf_id, 0);
    assert_eq!(usize::from(header.length), bytes.len());
    let mut out = BytesMut::new();
    encode(P, 0, expected, &mut out).unwrap();
    assert_eq!(hex(&out), hex(bytes), "encoded {expected:?}");
}

fn net(s: &str) -> ipnetwork::IpNetwork {
    s.parse().unwrap()
}

/// The hex of the capture's first frame named `name` in direction `dir`.
fn captured(dir: &str, name: &str) -> Vec<u8> {
    let text = include_str!("golden/quagga124_bgpd_capture.txt");
    let needle = format!(" {dir} {name} ");
    let line = text
        .lines()
        .find(|l| l.contains(&needle))
        .unwrap_or_else(|| panic!("no {dir} {name} in the capture"));
    unhex(line.split_whitespace().last().unwrap())
}

#[test]
fn bgpd_hello_router_id_and_interface_requests() {
    let hello = unhex(
        "0009 ff 03 0000 0017  # len 9 | marker 255 | version 3 | vrf 0 | HELLO (23)
         09                    # route type BGP (9)",
    );
    assert_eq!(hello, captured("bgpd->zebra", "HELLO"));
    check(
        &hello,
        &Message::Hello(Hello {
            route_type: 9,
            ..Hello::default()
        }),
    );
    assert_eq!(detect_profile(&hello).unwrap(), P);
    let router_id = unhex("0008 ff 03 0000 0014  # ROUTER_ID_ADD (20), no body");
    assert_eq!(router_id, captured("bgpd->zebra", "ROUTER_ID_ADD"));
    check(
        &router_id,
        &Message::RouterIdAdd(RouterIdRequest { afi: None }),
    );
    let ifs = unhex("0008 ff 03 0000 0001  # INTERFACE_ADD (1) request, no body");
    assert_eq!(ifs, captured("bgpd->zebra", "INTERFACE_ADD"));
    check(&ifs, &Message::InterfaceAddRequest);
}

#[test]
fn bgpd_nexthop_registration_and_our_update() {
    let reg = unhex(
        "0010 ff 03 0000 001b  # NEXTHOP_REGISTER (27)
         01                    # connected (eBGP peer on a shared subnet)
         0002 20 c0000202      # AF_INET | /32 | 192.0.2.2",
    );
    assert_eq!(reg, captured("bgpd->zebra", "NEXTHOP_REGISTER"));
    check(
        &reg,
        &Message::NexthopRegister(vec![NexthopRegistration {
            connected: true,
            resolve_via_default: false,
            safi: 0,
            prefix: net("192.0.2.2/32"),
        }]),
    );
    // Quagga's NEXTHOP_UPDATE has no SAFI and no resolving prefix: family, length, prefix,
    // metric, count (u8) and old-style nexthops.
    let update = unhex(
        "0019 ff 03 0000 001d  # NEXTHOP_UPDATE (29)
         0002 20 c0000202      # AF_INET | /32 | 192.0.2.2
         00000000              # metric 0
         01                    # one nexthop
         01 00000002           # ZEBRA_NEXTHOP_IFINDEX | ifindex 2",
    );
    assert_eq!(update, captured("zebra->bgpd", "NEXTHOP_UPDATE"));
    check(
        &update,
        &Message::OldNexthopUpdate(OldNexthopUpdate {
            prefix: net("192.0.2.2/32"),
            metric: 0,
            nexthops: old_nexthops([OldNexthop::Ifindex(2)]),
        }),
    );
}

#[test]
fn bgpd_route_add_v4_v6_and_delete() {
    let v4 = unhex(
        "001c ff 03 0000 0007  # IPV4_ROUTE_ADD (7)
         09 00 0d 0001         # type BGP | flags 0 | message NEXTHOP|DISTANCE|METRIC | safi 1
         18 c63364             # /24 198.51.100
         01 03 c0000202        # one nexthop: ZEBRA_NEXTHOP_IPV4 192.0.2.2
         14                    # distance 20 (eBGP)
         00000000              # metric 0",
    );
    assert_eq!(v4, captured("bgpd->zebra", "IPV4_ROUTE_ADD"));
    check(
        &v4,
        &Message::Ipv4RouteAdd(OldRoute {
            route_type: 9,
            flags: 0,
            extra_message_bits: 0,
            safi: 1,
            prefix: net("198.51.100.0/24"),
            nexthops: Some(old_nexthops([OldNexthop::Ipv4(
                "192.0.2.2".parse().unwrap(),
            )])),
            distance: Some(20),
            metric: Some(0),
            mtu: None,
            tag: None,
        }),
    );
    let v6 = unhex(
        "0030 ff 03 0000 0009  # IPV6_ROUTE_ADD (9)
         09 00 0f 0001         # type BGP | flags 0 | NEXTHOP|IFINDEX|DISTANCE|METRIC | safi 1
         30 20010db80100       # /48 2001:db8:100
         02                    # two entries: the gateways first, then the ifindexes
         06 20010db8000000000000000000000002  # ZEBRA_NEXTHOP_IPV6 2001:db8::2
         01 00000002           # ZEBRA_NEXTHOP_IFINDEX 2 (the veth our zebra announced)
         14 00000000           # distance 20 | metric 0",
    );
    assert_eq!(v6, captured("bgpd->zebra", "IPV6_ROUTE_ADD"));
    check(
        &v6,
        &Message::Ipv6RouteAdd(OldRoute {
            route_type: 9,
            flags: 0,
            extra_message_bits: 2,
            safi: 1,
            prefix: net("2001:db8:100::/48"),
            nexthops: Some(old_nexthops([
                OldNexthop::Ipv6("2001:db8::2".parse().unwrap()),
                OldNexthop::Ifindex(2),
            ])),
            distance: Some(20),
            metric: Some(0),
            mtu: None,
            tag: None,
        }),
    );
    let del = unhex(
        "0015 ff 03 0000 0008  # IPV4_ROUTE_DELETE (8)
         09 00 08 0001         # type BGP | flags 0 | message METRIC | safi 1
         18 c63364             # /24 198.51.100
         00000000              # metric 0",
    );
    assert_eq!(del, captured("bgpd->zebra", "IPV4_ROUTE_DELETE"));
    check(
        &del,
        &Message::Ipv4RouteDelete(OldRoute {
            route_type: 9,
            flags: 0,
            extra_message_bits: 0,
            safi: 1,
            prefix: net("198.51.100.0/24"),
            nexthops: None,
            distance: None,
            metric: Some(0),
            mtu: None,
            tag: None,
        }),
    );
}

#[test]
fn server_interface_add_has_no_ptm_or_speed_but_a_link_layer_type() {
    let lo = unhex(
        "0042 ff 03 0000 0001  # INTERFACE_ADD (1)
         6c6f0000000000000000000000000000000000 00  # name \"lo\", 20 bytes
         00000001              # ifindex 1
         04                    # status ZEBRA_INTERFACE_ACTIVE
         0000000000000049      # flags UP|LOOPBACK|RUNNING
         00000000              # metric (no PTM bytes, no speed in Quagga)
         00010000 00010000     # mtu, mtu6 65536
         00000000              # bandwidth
         00000304              # ll_type ARPHRD_LOOPBACK (772)
         00000000              # hw_addr length 0
         00                    # no link params",
    );
    assert_eq!(lo, captured("zebra->bgpd", "INTERFACE_ADD"));
    check(
        &lo,
        &Message::InterfaceAdd(InterfaceInfo {
            name: "lo".into(),
            ifindex: 1,
            status: 4,
            flags: 0x49,
            ptm_enable: 0,
            ptm_status: 0,
            metric: 0,
            speed: 0,
            txqlen: 0,
            mtu: 65536,
            mtu6: 65536,
            bandwidth: 0,
            link_ifindex: 0,
            ll_type: 772,
            hw_addr: Vec::new(),
            link_params: None,
        }),
    );
}

#[test]
fn capture_file_frames_all_decode_and_reencode() {
    // Every frame of the checked-in capture, both directions, decodes and re-encodes byte for
    // byte (zebra -> bgpd frames are what bgpd 1.2.4 accepted from the responder).
    let text = include_str!("golden/quagga124_bgpd_capture.txt");
    let mut n = 0;
    let mut from_server = 0;
    for line in text.lines().filter(|l| l.starts_with("conn=")) {
        let bytes = unhex(line.split_whitespace().last().unwrap());
        let (h, msg) = decode(P, &bytes).unwrap();
        assert_eq!(h.marker, 0xff);
        assert_eq!(h.version, 3);
        let mut out = BytesMut::new();
        encode(P, h.vrf_id, &msg, &mut out).unwrap();
        assert_eq!(hex(&out), hex(&bytes));
        n += 1;
        from_server += usize::from(line.contains("zebra->bgpd"));
    }
    assert!(n >= 18, "capture has only {n} frames");
    assert!(
        from_server >= 10,
        "capture has only {from_server} server frames"
    );
}
