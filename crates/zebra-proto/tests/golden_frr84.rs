//! Golden vectors for FRR 8.4.
//!
//! * "bgpd" vectors are frames captured from Debian 12's real bgpd 8.4.4 by
//!   `tests/live_bgpd.rs` (raw capture: tests/golden/frr84_bgpd_capture.txt), annotated field
//!   by field.
//! * "server" vectors are what a zebra sends, written by hand from FRR 8.4's layouts
//!   (zebra/zapi_msg.c `zserv_encode_interface`, `zsend_interface_address`,
//!   `zsend_router_id_update`, `zsend_capabilities`; zebra/zebra_rnh.c
//!   `zebra_send_rnh_update`).
//!
//! Each vector is checked both ways: decode(bytes) == expected and encode(expected) == bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::BytesMut;
use support::fixture::{hex, host_u32, unhex};
use zebra_proto::*;

fn check(vrf: u32, bytes: &[u8], expected: &Message) {
    let (header, msg) =
        decode(Profile::Frr84, bytes).unwrap_or_else(|e| panic!("decode {}: {e}", hex(bytes)));
    assert_eq!(&msg, expected, "decoded {}", hex(bytes));
    assert_eq!(header.vrf_id, vrf);
    assert_eq!(usize::from(header.length), bytes.len());
    let mut out = BytesMut::new();
    encode(Profile::Frr84, vrf, expected, &mut out).unwrap();
    assert_eq!(hex(&out), hex(bytes), "encoded {expected:?}");
}

fn v4(s: &str) -> Ipv4Addr {
    s.parse().unwrap()
}
fn v6(s: &str) -> Ipv6Addr {
    s.parse().unwrap()
}
fn net(s: &str) -> ipnetwork::IpNetwork {
    s.parse().unwrap()
}

// ---------------------------------------------------------------- bgpd 8.4.4 captures

#[test]
fn bgpd_hello_main_connection() {
    let bytes = unhex(
        "0013 fe 06 00000000 0012  # len 19 | marker 254 | version 6 | vrf 0 | cmd 18 HELLO
         09                        # redist_default: ZEBRA_ROUTE_BGP
         0000                      # instance
         00000000                  # session_id
         00                        # receive_notify
         00                        # synchronous",
    );
    check(
        0,
        &bytes,
        &Message::Hello(Hello {
            route_type: 9,
            ..Hello::default()
        }),
    );
}

#[test]
fn bgpd_hello_second_connection() {
    // bgpd's second (synchronous helper) connection announces route type 17.
    let bytes = unhex("0013 fe 06 00000000 0012 | 11 | 0000 | 00000000 | 00 | 00");
    check(
        0,
        &bytes,
        &Message::Hello(Hello {
            route_type: 17,
            ..Hello::default()
        }),
    );
}

#[test]
fn bgpd_interface_add_request() {
    let bytes = unhex("000a fe 06 00000000 0000  # INTERFACE_ADD (0) with an empty body");
    check(0, &bytes, &Message::InterfaceAddRequest);
}

/// bgpd's deregistration (`zclient_send_dereg_requests`, sent when it shuts down) carries
/// INTERFACE_DELETE with no body: "stop sending interface updates".
#[test]
fn bgpd_interface_delete_request() {
    let bytes = unhex("000a fe 06 00000000 0001  # INTERFACE_DELETE (1) with an empty body");
    check(0, &bytes, &Message::InterfaceDeleteRequest);
}

#[test]
fn bgpd_bfd_client_register() {
    let bytes = unhex("000e fe 06 00000000 0025 | 0000052d  # BFD_CLIENT_REGISTER (37) | pid 1325");
    check(0, &bytes, &Message::BfdClientRegister { pid: 1325 });
}

#[test]
fn bgpd_router_id_add() {
    let bytes = unhex("000c fe 06 00000000 000f | 0001  # ROUTER_ID_ADD (15) | afi 1 (IPv4)");
    check(
        0,
        &bytes,
        &Message::RouterIdAdd(RouterIdRequest { afi: Some(1) }),
    );
}

#[test]
fn bgpd_duplicate_addr_detection_is_unknown_and_byte_exact() {
    // DUPLICATE_ADDR_DETECTION (79) is not typed: it stays Unknown and re-encodes byte for byte.
    let bytes = unhex(
        "001e fe 06 00000000 004f
         00000001 000000b4 00000005 00000000 00000000  # enable, detect time 180, max moves 5, freeze, freeze time",
    );
    check(
        0,
        &bytes,
        &Message::Unknown {
            command: 79,
            body: bytes[10..].to_vec(),
        },
    );
}

#[test]
fn bgpd_nexthop_register_network_import_check() {
    let bytes = unhex(
        "0015 fe 06 00000000 0014  # NEXTHOP_REGISTER (20)
         00                        # connected: no
         01                        # resolve_via_default: yes
         0001                      # safi 1
         0002                      # family AF_INET (u16)
         18                        # prefixlen 24
         cb007100                  # 203.0.113.0",
    );
    check(
        0,
        &bytes,
        &Message::NexthopRegister(vec![NexthopRegistration {
            connected: false,
            resolve_via_default: true,
            safi: 1,
            prefix: net("203.0.113.0/24"),
        }]),
    );
}

#[test]
fn bgpd_nexthop_register_peer_v4() {
    let bytes = unhex("0015 fe 06 00000000 0014 | 01 | 00 | 0001 | 0002 | 20 | c0000202  # connected, 192.0.2.2/32");
    check(
        0,
        &bytes,
        &Message::NexthopRegister(vec![NexthopRegistration {
            connected: true,
            resolve_via_default: false,
            safi: 1,
            prefix: net("192.0.2.2/32"),
        }]),
    );
}

#[test]
fn bgpd_nexthop_register_peer_v6() {
    let bytes = unhex(
        "0021 fe 06 00000000 0014 | 01 | 00 | 0001
         000a                              # family AF_INET6
         80                                # prefixlen 128
         20010db8000000000000000000000002  # 2001:db8::2",
    );
    check(
        0,
        &bytes,
        &Message::NexthopRegister(vec![NexthopRegistration {
            connected: true,
            resolve_via_default: false,
            safi: 1,
            prefix: net("2001:db8::2/128"),
        }]),
    );
}

#[test]
fn bgpd_client_capabilities_route_update_complete() {
    let bytes = unhex(
        "001a fe 06 00000000 0077  # CLIENT_CAPABILITIES (119)
         00000002                  # ZEBRA_CLIENT_ROUTE_UPDATE_COMPLETE
         00000001                  # afi 1
         00000001                  # safi 1
         00000000                  # vrf 0",
    );
    check(
        0,
        &bytes,
        &Message::ClientCapabilities(ClientCapabilities::RouteUpdateComplete {
            afi: 1,
            safi: 1,
            vrf_id: 0,
        }),
    );
}

#[test]
fn bgpd_route_add_ipv4() {
    let bytes = unhex(
        "0030 fe 06 00000000 0008  # ROUTE_ADD (8)
         09                        # type BGP
         0000                      # instance
         00000000                  # flags
         00000007                  # message: NEXTHOP|DISTANCE|METRIC
         01                        # safi unicast
         02                        # family AF_INET (u8)
         18                        # prefixlen 24
         c63364                    # 198.51.100 (ceil(24/8) bytes)
         0001                      # nexthop_num
         00000000 02 00            #   vrf 0 | type IPV4 | flags 0
         c0000202 00000000         #   192.0.2.2 | ifindex 0
         14                        # distance 20
         00000000                  # metric 0",
    );
    let mut route = ZapiRoute::new(9, net("198.51.100.0/24"));
    route.nexthops = Some(nexthops([ZapiNexthop::new(NexthopTarget::Ipv4 {
        gate: v4("192.0.2.2"),
        ifindex: 0,
    })]));
    route.distance = Some(20);
    route.metric = Some(0);
    check(0, &bytes, &Message::RouteAdd(route));
}

#[test]
fn bgpd_route_add_ipv6() {
    let bytes = unhex(
        "003f fe 06 00000000 0008  # ROUTE_ADD (8)
         09 0000 00000000 00000007 01
         0a                        # family AF_INET6
         30                        # prefixlen 48
         20010db80100              # 2001:db8:100:: (6 bytes)
         0001                      # nexthop_num
         00000000 04 00            #   vrf 0 | type IPV6 | flags 0
         20010db8000000000000000000000002 00000000  # 2001:db8::2 | ifindex 0
         14 00000000               # distance 20 | metric 0",
    );
    let mut route = ZapiRoute::new(9, net("2001:db8:100::/48"));
    route.nexthops = Some(nexthops([ZapiNexthop::new(NexthopTarget::Ipv6 {
        gate: v6("2001:db8::2"),
        ifindex: 0,
    })]));
    route.distance = Some(20);
    route.metric = Some(0);
    check(0, &bytes, &Message::RouteAdd(route));
}

#[test]
fn bgpd_route_delete_has_no_nexthops() {
    let bytes = unhex(
        "001b fe 06 00000000 0009  # ROUTE_DELETE (9)
         09 0000 00000000
         00000000                  # message: nothing
         01 02 18 c63364           # safi 1 | AF_INET | /24 | 198.51.100",
    );
    check(
        0,
        &bytes,
        &Message::RouteDelete(ZapiRoute::new(9, net("198.51.100.0/24"))),
    );
}

#[test]
fn capture_file_frames_all_decode_and_reencode() {
    // Every bgpd frame of the checked-in capture decodes and re-encodes byte for byte.
    let text = include_str!("golden/frr84_bgpd_capture.txt");
    let mut n = 0;
    for line in text.lines().filter(|l| l.contains("bgpd->zebra")) {
        let hexs = line.split_whitespace().last().unwrap();
        let bytes = unhex(hexs);
        let (h, msg) = decode(Profile::Frr84, &bytes).unwrap();
        let mut out = BytesMut::new();
        encode(Profile::Frr84, h.vrf_id, &msg, &mut out).unwrap();
        assert_eq!(hex(&out), hex(&bytes));
        n += 1;
    }
    assert!(n >= 20, "capture has only {n} bgpd frames");
}

// ---------------------------------------------------------------- server vectors (by layout)

#[test]
fn server_capabilities() {
    let bytes = unhex(
        "0014 fe 06 00000000 0013  # CAPABILITIES (19)
         00000000                  # vrf_backend: VRF_BACKEND_VRF_LITE
         00                        # mpls off
         00000040                  # multipath 64
         00                        # mlag role none",
    );
    check(
        0,
        &bytes,
        &Message::Capabilities(Capabilities {
            vrf_backend: 0,
            mpls: false,
            multipath: 64,
            mlag_role: 0,
            v6_with_v4_nexthop: false,
            graceful_restart: false,
        }),
    );
}

fn za() -> InterfaceInfo {
    InterfaceInfo {
        name: "za".into(),
        ifindex: 2,
        status: 0x04,
        flags: 0x1043,
        ptm_enable: 0,
        ptm_status: 2,
        metric: 0,
        speed: 10000,
        txqlen: 0,
        mtu: 1500,
        mtu6: 1500,
        bandwidth: 0,
        link_ifindex: 0,
        ll_type: 1,
        hw_addr: vec![0x02, 0, 0, 0, 0, 0x01],
        link_params: None,
    }
}

#[test]
fn server_interface_add() {
    let bytes = unhex(
        "0050 fe 06 00000000 0000             # len 80 | INTERFACE_ADD (0)
         7a610000000000000000000000000000     # name[16] \"za\" (IFNAMSIZ 16 since FRR 8.3)
         00000002                             # ifindex 2
         04                                   # status ZEBRA_INTERFACE_ACTIVE
         0000000000001043                     # flags UP|BROADCAST|RUNNING|MULTICAST (u64)
         00                                   # ptm_enable
         02                                   # ptm_status unknown
         00000000                             # metric
         00002710                             # speed 10000
         000005dc                             # mtu 1500
         000005dc                             # mtu6 1500
         00000000                             # bandwidth
         00000000                             # link_ifindex
         00000001                             # ll_type ARPHRD_ETHER
         00000006                             # hw_addr_len
         020000000001                         # hw_addr
         00                                   # no link params",
    );
    check(0, &bytes, &Message::InterfaceAdd(za()));
    // UP / DOWN / DELETE share the body.
    let mut up = bytes.clone();
    up[9] = 4;
    check(0, &up, &Message::InterfaceUp(za()));
    let mut down = bytes.clone();
    down[9] = 5;
    check(0, &down, &Message::InterfaceDown(za()));
    let mut del = bytes;
    del[9] = 1;
    check(0, &del, &Message::InterfaceDelete(za()));
}

#[test]
fn server_interface_add_with_link_params_kept_raw() {
    let mut info = za();
    info.link_params = Some(vec![0, 0, 0, 10, 0x3f, 0x80, 0, 0]);
    let mut bytes = unhex("0058 fe 06 00000000 0000");
    bytes.extend(unhex(
        "7a610000000000000000000000000000 00000002 04 0000000000001043 00 02 00000000 00002710",
    ));
    bytes.extend(unhex(
        "000005dc 000005dc 00000000 00000000 00000001 00000006 020000000001",
    ));
    bytes.extend(unhex(
        "01 0000000a 3f800000  # link params present | raw TE block",
    ));
    check(0, &bytes, &Message::InterfaceAdd(info));
}

#[test]
fn server_interface_address_add_v4() {
    let bytes = unhex(
        "0019 fe 06 00000000 0002  # INTERFACE_ADDRESS_ADD (2)
         00000002                  # ifindex 2
         00                        # flags
         02                        # family AF_INET (u8)
         c0000201                  # 192.0.2.1
         18                        # prefixlen 24
         00000000                  # destination: none",
    );
    check(
        0,
        &bytes,
        &Message::InterfaceAddressAdd(InterfaceAddress {
            ifindex: 2,
            flags: 0,
            prefix: net("192.0.2.1/24"),
            destination: None,
        }),
    );
}

#[test]
fn server_interface_address_delete_v6_with_peer() {
    let bytes = unhex(
        "0031 fe 06 00000000 0003             # INTERFACE_ADDRESS_DELETE (3)
         00000002 02 0a                       # ifindex 2 | flags PEER | AF_INET6
         20010db8000000000000000000000001     # 2001:db8::1
         40                                   # /64
         20010db8000000000000000000000002     # peer 2001:db8::2",
    );
    check(
        0,
        &bytes,
        &Message::InterfaceAddressDelete(InterfaceAddress {
            ifindex: 2,
            flags: 2,
            prefix: net("2001:db8::1/64"),
            destination: Some("2001:db8::2".parse().unwrap()),
        }),
    );
}

#[test]
fn server_router_id_update() {
    let bytes = unhex(
        "0010 fe 06 00000000 0011  # ROUTER_ID_UPDATE (17)
         02                        # family AF_INET (u8)
         c0000201                  # 192.0.2.1
         20                        # prefixlen 32",
    );
    check(
        0,
        &bytes,
        &Message::RouterIdUpdate(RouterIdUpdate {
            prefix: net("192.0.2.1/32"),
        }),
    );
}

#[test]
fn server_nexthop_update_connected() {
    let bytes = unhex(
        "0031 fe 06 00000000 0016  # NEXTHOP_UPDATE (22)
         00000000                  # message (no SRTE)
         0001                      # safi 1
         0002 20 c0000202          # match: AF_INET (u16) /32 192.0.2.2
         0002 18 c0000200          # resolved: AF_INET /24 192.0.2.0
         02                        # type CONNECT
         0000                      # instance
         00                        # distance
         00000000                  # metric
         01                        # nexthop_num
         00000000 01 00 00000002   #   vrf 0 | IFINDEX | flags 0 | ifindex 2",
    );
    check(
        0,
        &bytes,
        &Message::NexthopUpdate(NexthopUpdate {
            safi: 1,
            prefix: net("192.0.2.2/32"),
            resolved: Some(net("192.0.2.0/24")),
            srte_color: None,
            route_type: 2,
            instance: 0,
            distance: 0,
            metric: 0,
            nexthops: nexthops([ZapiNexthop::new(NexthopTarget::Ifindex(2))]),
        }),
    );
}

#[test]
fn server_nexthop_update_unresolved() {
    let bytes = unhex(
        "0023 fe 06 00000000 0016
         00000000 0001
         0002 18 cb007100          # match 203.0.113.0/24
         0000 00                   # resolved: AF_UNSPEC /0, no address
         00 0000 00 00000000 00    # type, instance, distance, metric, nexthop_num all zero",
    );
    check(
        0,
        &bytes,
        &Message::NexthopUpdate(NexthopUpdate::unresolved(1, net("203.0.113.0/24"))),
    );
}

#[test]
fn server_nexthop_update_labels_in_host_order_and_weight() {
    // Labels are copied from memory by FRR: host byte order (little-endian on x86_64).
    let text = format!(
        "0056 fe 06 00000000 0016
         00000000 0001
         000a 80 20010db8000000000000000000000002   # match 2001:db8::2/128
         000a 40 20010db8000000000000000000000000   # resolved 2001:db8::/64
         09 0000 14 00000000 01                     # BGP, inst 0, distance 20, metric 0, 1 nexthop
         00000000 03 06                             # vrf 0 | IPV4_IFINDEX | flags LABEL|WEIGHT
         c0000202 00000002                          # 192.0.2.2 ifindex 2
         01 {label}                                 # 1 label: 16 in host order
         00000064                                   # weight 100 (big-endian)",
        label = host_u32(16)
    );
    let bytes = unhex(&text);
    let mut nh = ZapiNexthop::new(NexthopTarget::Ipv4Ifindex {
        gate: v4("192.0.2.2"),
        ifindex: 2,
    });
    nh.labels = Some(Labels::from_slice(&[16]));
    nh.weight = Some(100);
    check(
        0,
        &bytes,
        &Message::NexthopUpdate(NexthopUpdate {
            safi: 1,
            prefix: net("2001:db8::2/128"),
            resolved: Some(net("2001:db8::/64")),
            srte_color: None,
            route_type: 9,
            instance: 0,
            distance: 20,
            metric: 0,
            nexthops: nexthops([nh]),
        }),
    );
    if cfg!(target_endian = "little") {
        assert_eq!(&bytes[bytes.len() - 8..bytes.len() - 4], &[0x10, 0, 0, 0]);
    }
}

#[test]
fn route_add_ipv6_four_nexthops_from_layout() {
    // Built from zapi-facts §6 / lib/zclient.c zapi_route_encode: 4 link-local ECMP paths.
    let bytes = unhex(
        "008d fe 06 00000000 0008
         09 0000 00000001          # BGP | instance | flags ALLOW_RECURSION
         00000007 01 0a 30         # NEXTHOP|DISTANCE|METRIC | safi 1 | AF_INET6 | /48
         20010db80100
         0004                      # 4 nexthops, IPV6_IFINDEX each
         00000000 05 00 fe800000000000000000000000000001 00000002
         00000000 05 00 fe800000000000000000000000000002 00000002
         00000000 05 00 fe800000000000000000000000000003 00000003
         00000000 05 00 fe800000000000000000000000000004 00000003
         14 00000000",
    );
    let mut route = ZapiRoute::new(9, net("2001:db8:100::/48"));
    route.flags = 1;
    route.nexthops = Some(nexthops((1..=4u16).map(|i| {
        ZapiNexthop::new(NexthopTarget::Ipv6Ifindex {
            gate: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, i),
            ifindex: if i <= 2 { 2 } else { 3 },
        })
    })));
    route.distance = Some(20);
    route.metric = Some(0);
    check(0, &bytes, &Message::RouteAdd(route));
}

#[test]
fn route_add_every_optional_field() {
    // SRCPFX, NHG, NEXTHOP (every type, all nexthop flags), BACKUP_NH, DISTANCE, METRIC, TAG,
    // MTU, TABLEID, SRTE, OPAQUE — in FRR's order.
    let text = format!(
        "{len} fe 06 0000002a 001e           # vrf 42 | REDISTRIBUTE_ROUTE_ADD (30)
         09 0001 00000001                    # BGP | instance 1 | flags
         000007ff                            # every message bit
         01 0a 40 20010db800000001           # safi 1 | AF_INET6 /64
         38 20010db8000000                   # SRCPFX /56, 7 bytes
         00000063                            # NHG 99
         0002                                # 2 nexthops
         00000000 01 7f 00000005             #  IFINDEX 5, flags ONLINK|LABEL|WEIGHT|BACKUP|SEG6|SEG6LOCAL|EVPN
         02 {l1} {l2}                        #   2 labels (host order)
         00000007                            #   weight 7
         020000000002                        #   rmac
         00000001                            #   srte colour 1
         02 00 01                            #   2 backups: 0, 1
         00000003 c0000201 20010db8000000000000000000000009 {tbl}  # seg6local action 3, ctx (table host order)
         20010db80000000000000000000000aa    #   seg6 segs
         00000000 06 00 02                   #  BLACKHOLE reject
         00000002                            #   srte colour 2
         0001                                # 1 backup nexthop
         00000000 02 00 c0000203 00000000    #  IPV4 192.0.2.3
         00000003                            #   srte colour 3
         c8 00000064 0000000b 00000578 00000fa0  # distance 200 | metric 100 | tag 11 | mtu 1400 | table 4000
         0003 aabbcc                         # opaque",
        len = "00b3",
        l1 = host_u32(100),
        l2 = host_u32(200),
        tbl = host_u32(254),
    );
    let bytes = unhex(&text);
    assert_eq!(bytes.len(), 0xb3);
    let mut nh1 = ZapiNexthop::new(NexthopTarget::Ifindex(5));
    nh1.flags = 0x01;
    nh1.labels = Some(Labels::from_slice(&[100, 200]));
    nh1.weight = Some(7);
    nh1.srte_color = Some(1);
    nh1.extras = Some(Box::new(NexthopExtras {
        rmac: Some([2, 0, 0, 0, 0, 2]),
        backup_indexes: Some(BackupIndexes::from_slice(&[0, 1])),
        seg6local: Some(Seg6Local {
            action: 3,
            nh4: v4("192.0.2.1"),
            nh6: v6("2001:db8::9"),
            table: 254,
            flv_ops: 0,
            lcblock_len: 0,
            lcnode_func_len: 0,
            sid_structure: [0; 4],
        }),
        seg6_segs: Some(vec![v6("2001:db8::aa")]),
    }));
    let mut nh2 = ZapiNexthop::new(NexthopTarget::Blackhole(2));
    nh2.srte_color = Some(2);
    let mut b1 = ZapiNexthop::new(NexthopTarget::Ipv4 {
        gate: v4("192.0.2.3"),
        ifindex: 0,
    });
    b1.srte_color = Some(3);
    let route = ZapiRoute {
        route_type: 9,
        instance: 1,
        flags: 1,
        extra_message_bits: 0,
        safi: 1,
        prefix: net("2001:db8:0:1::/64"),
        src_prefix: Some((56, v6("2001:db8::"))),
        nhg_id: Some(99),
        nexthops: Some(nexthops([nh1, nh2])),
        backup_nexthops: Some(vec![b1]),
        distance: Some(200),
        metric: Some(100),
        tag: Some(11),
        mtu: Some(1400),
        table_id: Some(4000),
        srte: true,
        opaque: Some(vec![0xaa, 0xbb, 0xcc]),
    };
    check(42, &bytes, &Message::RedistributeRouteAdd(route));
}

#[test]
fn error_and_route_notify_owner_are_host_order() {
    let err = unhex(&format!(
        "000e fe 06 00000000 0076 | {}  # ERROR (118) | ZEBRA_INVALID_MSG_TYPE",
        host_u32(2)
    ));
    check(0, &err, &Message::Error(ZebraErrorCode::INVALID_MSG_TYPE));
    let own = unhex(&format!(
        "001a fe 06 00000000 000a  # ROUTE_NOTIFY_OWNER (10)
         {}                        # note ZAPI_ROUTE_INSTALLED (host order)
         02 18 c6336400            # AF_INET | /24 | full address
         000000fe 01 01            # table 254 | afi 1 | safi 1",
        host_u32(2)
    ));
    check(
        0,
        &own,
        &Message::RouteNotifyOwner(RouteNotifyOwner {
            note: 2,
            prefix: net("198.51.100.0/24"),
            table_id: 254,
            afi: 1,
            safi: 1,
        }),
    );
}

#[test]
fn label_manager_and_misc_frr_vectors() {
    check(
        0,
        &unhex("000d fe 06 00000000 0033 | 09 0000  # LABEL_MANAGER_CONNECT_ASYNC"),
        &Message::LabelManagerConnectAsync(LabelManagerConnect {
            proto: 9,
            instance: 0,
        }),
    );
    check(
        0,
        &unhex("000d fe 06 00000000 0032 | 09 0000"),
        &Message::LabelManagerConnect(LabelManagerConnect {
            proto: 9,
            instance: 0,
        }),
    );
    check(
        0,
        &unhex("000e fe 06 00000000 0032 | 09 0000 00  # reply: result 0"),
        &Message::LabelManagerConnectReply(LabelManagerConnectReply {
            proto: 9,
            instance: 0,
            result: 0,
        }),
    );
    check(
        0,
        &unhex("001a fe 06 00000000 0034 | 09 0000 00000000 00 00000040 00000000  # GET_LABEL_CHUNK size 64, base any"),
        &Message::GetLabelChunk(LabelChunk { proto: 9, instance: 0, session_id: 0, keep: 0, size_or_start: 64, base_or_end: 0 }),
    );
    check(
        0,
        &unhex("000e fe 06 00000000 000b | 01 02 0000  # REDISTRIBUTE_ADD afi 1 CONNECT"),
        &Message::RedistributeAdd(Redistribute {
            afi: Some(1),
            route_type: 2,
            instance: 0,
        }),
    );
    check(
        0,
        &unhex("000b fe 06 00000000 000d | 02  # REDISTRIBUTE_DEFAULT_ADD afi 2"),
        &Message::RedistributeDefaultAdd(RedistributeDefault { afi: Some(2) }),
    );
    check(
        0,
        &unhex("000b fe 06 00000000 007c | 01  # ROUTE_NOTIFY_REQUEST"),
        &Message::RouteNotifyRequest { request: 1 },
    );
    let vrf = unhex(&format!(
        "0056 fe 06 00000005 0021 | {} | {}{} | {}{}  # VRF_ADD vrf 5: table (host order), netns[36], name[36]",
        host_u32(1005),
        "", "00".repeat(36),
        "7265642d767266", "00".repeat(29)
    ));
    check(
        5,
        &vrf,
        &Message::VrfAdd(VrfInfo {
            table_id: 1005,
            netns_name: String::new(),
            name: "red-vrf".into(),
        }),
    );
}
