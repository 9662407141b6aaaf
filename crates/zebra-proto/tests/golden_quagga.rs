//! Quagga v2 (0.99.x) and v3 (1.x) vectors built from the documented layouts (Quagga
//! lib/zclient.c `zapi_ipv4_route`/`zapi_ipv6_route`, zebra/zserv.c, bgpd/bgp_nht.c,
//! zebra/zebra_rnh.c), checked both ways.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::IpAddr;

use bytes::BytesMut;
use support::fixture::{hex, unhex};
use zebra_proto::*;

fn check(profile: Profile, vrf: u32, bytes: &[u8], expected: &Message) {
    let (header, msg) =
        decode(profile, bytes).unwrap_or_else(|e| panic!("decode {}: {e}", hex(bytes)));
    assert_eq!(&msg, expected, "decoded {}", hex(bytes));
    assert_eq!(header.vrf_id, vrf);
    let mut out = BytesMut::new();
    encode(profile, vrf, expected, &mut out).unwrap();
    assert_eq!(hex(&out), hex(bytes), "encoded {expected:?}");
}

fn net(s: &str) -> ipnetwork::IpNetwork {
    s.parse().unwrap()
}
fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

#[test]
fn v2_hello_and_header() {
    let bytes = unhex(
        "0007 ff 02 0017 | 09  # len 7 | marker 255 | version 2 | HELLO (23) | route type BGP",
    );
    check(
        Profile::QuaggaV2,
        0,
        &bytes,
        &Message::Hello(Hello {
            route_type: 9,
            ..Hello::default()
        }),
    );
    assert_eq!(detect_profile(&bytes).unwrap(), Profile::QuaggaV2);
}

#[test]
fn v2_ipv4_route_add() {
    let bytes = unhex(
        "0019 ff 02 0007     # IPV4_ROUTE_ADD (7)
         09                  # type BGP
         00                  # flags
         09                  # message NEXTHOP|METRIC
         0001                # safi
         18 c63364           # /24 198.51.100
         01                  # 1 nexthop entry
         03 c0000202         #   ZEBRA_NEXTHOP_IPV4 192.0.2.2
         00000000            # metric",
    );
    let route = OldRoute {
        route_type: 9,
        flags: 0,
        extra_message_bits: 0,
        safi: 1,
        prefix: net("198.51.100.0/24"),
        nexthops: Some(old_nexthops([OldNexthop::Ipv4(
            "192.0.2.2".parse().unwrap(),
        )])),
        distance: None,
        metric: Some(0),
        mtu: None,
        tag: None,
    };
    check(
        Profile::QuaggaV2,
        0,
        &bytes,
        &Message::Ipv4RouteAdd(route.clone()),
    );
    assert_eq!(
        route.paths(),
        vec![OldPath {
            gateway: Some(ip("192.0.2.2")),
            ifindex: None,
            blackhole: false
        }]
    );
}

#[test]
fn v2_ipv6_route_gates_first_then_ifindexes_paired_by_position() {
    let bytes = unhex(
        "0044 ff 02 0009                          # IPV6_ROUTE_ADD (9)
         09 00 0f 0001                            # BGP | flags | NEXTHOP|IFINDEX|DISTANCE|METRIC | safi
         30 20010db80100                          # /48
         04                                       # 4 entries: all gates, then all ifindexes
         06 fe800000000000000000000000000001      #   IPV6 fe80::1
         06 fe800000000000000000000000000002      #   IPV6 fe80::2
         01 00000002                              #   IFINDEX 2 (pairs with fe80::1)
         01 00000003                              #   IFINDEX 3 (pairs with fe80::2)
         14                                       # distance 20
         00000000                                 # metric",
    );
    let route = OldRoute {
        route_type: 9,
        flags: 0,
        extra_message_bits: 0x02,
        safi: 1,
        prefix: net("2001:db8:100::/48"),
        nexthops: Some(old_nexthops([
            OldNexthop::Ipv6("fe80::1".parse().unwrap()),
            OldNexthop::Ipv6("fe80::2".parse().unwrap()),
            OldNexthop::Ifindex(2),
            OldNexthop::Ifindex(3),
        ])),
        distance: Some(20),
        metric: Some(0),
        mtu: None,
        tag: None,
    };
    check(
        Profile::QuaggaV2,
        0,
        &bytes,
        &Message::Ipv6RouteAdd(route.clone()),
    );
    assert_eq!(
        route.paths(),
        vec![
            OldPath {
                gateway: Some(ip("fe80::1")),
                ifindex: Some(2),
                blackhole: false
            },
            OldPath {
                gateway: Some(ip("fe80::2")),
                ifindex: Some(3),
                blackhole: false
            },
        ]
    );
}

#[test]
fn v2_rejects_mtu_and_tag() {
    let mut route = OldRoute {
        route_type: 9,
        flags: 0,
        extra_message_bits: 0,
        safi: 1,
        prefix: net("198.51.100.0/24"),
        nexthops: None,
        distance: None,
        metric: None,
        mtu: Some(1500),
        tag: None,
    };
    let mut out = BytesMut::new();
    assert!(matches!(
        encode(
            Profile::QuaggaV2,
            0,
            &Message::Ipv4RouteAdd(route.clone()),
            &mut out
        ),
        Err(EncodeError::FieldNotInProfile { .. })
    ));
    assert!(out.is_empty());
    route.mtu = None;
    encode(
        Profile::QuaggaV2,
        0,
        &Message::Ipv4RouteDelete(route),
        &mut out,
    )
    .unwrap();
    // The same bytes with the MTU bit set are rejected by the v2 decoder.
    out[8] |= 0x10;
    assert!(matches!(
        decode(Profile::QuaggaV2, &out),
        Err(DecodeError::InvalidField {
            field: "message",
            offset: 8,
            ..
        })
    ));
}

#[test]
fn v3_ipv4_route_mtu_then_tag() {
    let bytes = unhex(
        "0027 ff 03 0000 0007  # len 39 | marker 255 | version 3 | vrf 0 (u16) | IPV4_ROUTE_ADD
         09 00                 # BGP | flags
         39                    # NEXTHOP|METRIC|MTU|TAG
         0001                  # safi
         18 c63364             # /24
         01 04 c0000202 00000002  # 1 entry: IPV4_IFINDEX 192.0.2.2 ifindex 2
         00000064              # metric 100
         000005dc              # MTU 1500 (before the tag)
         0000002a              # TAG 42",
    );
    let route = OldRoute {
        route_type: 9,
        flags: 0,
        extra_message_bits: 0,
        safi: 1,
        prefix: net("198.51.100.0/24"),
        nexthops: Some(old_nexthops([OldNexthop::Ipv4Ifindex(
            "192.0.2.2".parse().unwrap(),
            2,
        )])),
        distance: None,
        metric: Some(100),
        mtu: Some(1500),
        tag: Some(42),
    };
    check(Profile::QuaggaV3, 0, &bytes, &Message::Ipv4RouteAdd(route));
}

#[test]
fn v3_ipv6_route_delete_with_vrf_and_blackhole() {
    let bytes = unhex(
        "0016 ff 03 0007 000a | 09 04 01 0001 | 30 20010db80100 | 01 09  # vrf 7 | blackhole entry",
    );
    let route = OldRoute {
        route_type: 9,
        flags: 4,
        extra_message_bits: 0,
        safi: 1,
        prefix: net("2001:db8:100::/48"),
        nexthops: Some(old_nexthops([OldNexthop::Blackhole])),
        distance: None,
        metric: None,
        mtu: None,
        tag: None,
    };
    check(
        Profile::QuaggaV3,
        7,
        &bytes,
        &Message::Ipv6RouteDelete(route.clone()),
    );
    assert!(route.paths()[0].blackhole);
}

#[test]
fn v3_nexthop_register_and_update() {
    let reg = unhex(
        "0010 ff 03 0000 001b  # NEXTHOP_REGISTER (27)
         01                    # connected
         0002 20 c0000202      # AF_INET (u16) /32 192.0.2.2",
    );
    check(
        Profile::QuaggaV3,
        0,
        &reg,
        &Message::NexthopRegister(vec![NexthopRegistration {
            connected: true,
            resolve_via_default: false,
            safi: 0,
            prefix: net("192.0.2.2/32"),
        }]),
    );
    let upd = unhex(
        "0019 ff 03 0000 001d  # NEXTHOP_UPDATE (29)
         0002 20 c0000202      # AF_INET /32 192.0.2.2
         00000000              # metric
         01 01 00000002        # 1 nexthop: IFINDEX 2",
    );
    check(
        Profile::QuaggaV3,
        0,
        &upd,
        &Message::OldNexthopUpdate(OldNexthopUpdate {
            prefix: net("192.0.2.2/32"),
            metric: 0,
            nexthops: old_nexthops([OldNexthop::Ifindex(2)]),
        }),
    );
    // The FRR layout cannot be sent to a Quagga peer, nor the Quagga one to FRR.
    let mut out = BytesMut::new();
    let frr = Message::NexthopUpdate(NexthopUpdate::unresolved(1, net("192.0.2.2/32")));
    assert!(encode(Profile::QuaggaV3, 0, &frr, &mut out).is_err());
    let (_, old) = decode(Profile::QuaggaV3, &upd).unwrap();
    assert!(encode(Profile::Frr84, 0, &old, &mut out).is_err());
    // v2 has no NHT at all.
    assert!(matches!(
        encode(Profile::QuaggaV2, 0, &old, &mut out),
        Err(EncodeError::CommandNotInProfile { .. })
    ));
}

#[test]
fn v2_ipv4_nexthop_lookup_request_and_reply() {
    let req = unhex("000a ff 02 000f | c0000202  # IPV4_NEXTHOP_LOOKUP (15) 192.0.2.2");
    check(
        Profile::QuaggaV2,
        0,
        &req,
        &Message::Ipv4NexthopLookup("192.0.2.2".parse().unwrap()),
    );
    let rep = unhex(
        "0019 ff 02 000f
         c0000202              # address looked up
         00000000              # metric
         02                    # 2 nexthops
         03 c0000201           #   IPV4 192.0.2.1
         01 00000002           #   IFINDEX 2",
    );
    check(
        Profile::QuaggaV2,
        0,
        &rep,
        &Message::Ipv4NexthopLookupReply(NexthopLookupReply {
            addr: "192.0.2.2".parse().unwrap(),
            metric: 0,
            nexthops: old_nexthops([
                OldNexthop::Ipv4("192.0.2.1".parse().unwrap()),
                OldNexthop::Ifindex(2),
            ]),
        }),
    );
}

fn eth0() -> InterfaceInfo {
    InterfaceInfo {
        name: "eth0".into(),
        ifindex: 2,
        status: 0,
        flags: 0x1043,
        metric: 1,
        mtu: 1500,
        mtu6: 1500,
        bandwidth: 0,
        hw_addr: vec![2, 0, 0, 0, 0, 1],
        ..InterfaceInfo::default()
    }
}

#[test]
fn v2_interface_add_has_no_ll_type_nor_link_params() {
    let bytes = unhex(
        "0041 ff 02 0001                             # INTERFACE_ADD (1)
         6574683000000000000000000000000000000000    # name[20] eth0
         00000002 00 0000000000001043                # ifindex | status | flags
         00000001 000005dc 000005dc 00000000         # metric | mtu | mtu6 | bandwidth
         00000006 020000000001                       # hw_addr_len | hw_addr",
    );
    check(Profile::QuaggaV2, 0, &bytes, &Message::InterfaceAdd(eth0()));
}

#[test]
fn v3_interface_add_has_ll_type_and_link_params_byte() {
    let mut info = eth0();
    info.ll_type = 1;
    let bytes = unhex(
        "0048 ff 03 0000 0001
         6574683000000000000000000000000000000000
         00000002 00 0000000000001043
         00000001 000005dc 000005dc 00000000
         00000001                                    # ll_type ARPHRD_ETHER
         00000006 020000000001
         00                                          # no link params",
    );
    check(Profile::QuaggaV3, 0, &bytes, &Message::InterfaceAdd(info));
    // FRR-only fields cannot be sent to Quagga.
    let mut frr = eth0();
    frr.speed = 1000;
    let mut out = BytesMut::new();
    assert!(matches!(
        encode(Profile::QuaggaV3, 0, &Message::InterfaceAdd(frr), &mut out),
        Err(EncodeError::FieldNotInProfile { .. })
    ));
}

#[test]
fn quagga_address_router_id_redistribute() {
    let addr =
        unhex("0015 ff 02 0003 | 00000002 00 02 c0000201 18 00000000  # INTERFACE_ADDRESS_ADD");
    check(
        Profile::QuaggaV2,
        0,
        &addr,
        &Message::InterfaceAddressAdd(InterfaceAddress {
            ifindex: 2,
            flags: 0,
            prefix: net("192.0.2.1/24"),
            destination: None,
        }),
    );
    check(
        Profile::QuaggaV3,
        0,
        &unhex("000e ff 03 0000 0016 | 02 c0000201 20  # ROUTER_ID_UPDATE"),
        &Message::RouterIdUpdate(RouterIdUpdate {
            prefix: net("192.0.2.1/32"),
        }),
    );
    check(
        Profile::QuaggaV2,
        0,
        &unhex("0006 ff 02 0014  # ROUTER_ID_ADD, empty"),
        &Message::RouterIdAdd(RouterIdRequest { afi: None }),
    );
    check(
        Profile::QuaggaV3,
        0,
        &unhex("0009 ff 03 0000 000b | 02  # REDISTRIBUTE_ADD CONNECT"),
        &Message::RedistributeAdd(Redistribute {
            afi: None,
            route_type: 2,
            instance: 0,
        }),
    );
    check(
        Profile::QuaggaV2,
        0,
        &unhex("0006 ff 02 000d  # REDISTRIBUTE_DEFAULT_ADD, empty"),
        &Message::RedistributeDefaultAdd(RedistributeDefault { afi: None }),
    );
}

#[test]
fn profile_detection() {
    assert_eq!(
        detect_profile(&unhex("0007ff02")).unwrap(),
        Profile::QuaggaV2
    );
    assert_eq!(
        detect_profile(&unhex("0008ff03")).unwrap(),
        Profile::QuaggaV3
    );
    assert_eq!(detect_profile(&unhex("000afe06")).unwrap(), Profile::Frr84);
    assert!(matches!(
        detect_profile(&unhex("000afe05")),
        Err(DecodeError::UnknownProfile {
            marker: 254,
            version: 5
        })
    ));
    assert!(matches!(
        detect_profile(&unhex("000aff")),
        Err(DecodeError::IncompleteHeader { .. })
    ));
}
