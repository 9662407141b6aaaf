//! Golden vectors for FRR 10.3 (Debian 13's `frr`), profile [`Profile::Frr103`].
//!
//! * "bgpd" vectors are frames captured from bgpd 10.3 run from the Debian 13 chroot of
//!   `scripts/frr10-chroot.sh` by `tests/live_bgpd.rs` (raw capture:
//!   tests/golden/frr103_bgpd_capture.txt), annotated field by field.
//! * "server" vectors are what our zebra sent in that capture and bgpd 10.3 accepted (the
//!   session came up and routes flowed), annotated from FRR 10.3's layouts (zebra/zapi_msg.c
//!   `zserv_encode_interface`, `zsend_capabilities`; lib/zclient.c
//!   `zapi_nexthop_update_decode`).
//!
//! Each vector is checked both ways: decode(bytes) == expected and encode(expected) == bytes.

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use bytes::BytesMut;
use support::fixture::{hex, unhex};
use zebra_proto::*;

const P: Profile = Profile::Frr103;

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

// ---------------------------------------------------------------- bgpd 10.3 captures

#[test]
fn bgpd_hello_main_vnc_and_label_manager() {
    // Main connection: route type BGP is 10 in FRR 10 (ZEBRA_ROUTE_LOCAL was inserted at 3).
    let main = unhex(
        "0012 fe 06 00000000 0013  # HELLO (19)
         0a                        # route type BGP (10)
         0000                      # instance
         00000000                  # session id
         00                        # synchronous (no receive_notify byte any more)",
    );
    let hello = |route_type, session_id, synchronous| {
        Message::Hello(Hello {
            route_type,
            session_id,
            synchronous,
            ..Hello::default()
        })
    };
    check(&main, &hello(10, 0, false));
    // VNC connection (route type 18).
    check(
        &unhex("0012fe060000000000131200000000000000"),
        &hello(18, 0, false),
    );
    // The label manager's synchronous connection: session 1, synchronous.
    let lm_hello = unhex(
        "0012 fe 06 00000000 0013 0a 0000
         00000001                  # session id 1
         01                        # synchronous",
    );
    check(&lm_hello, &hello(10, 1, true));
    // HELLO with receive_notify cannot be expressed in FRR 10.
    let mut out = BytesMut::new();
    let notify = Message::Hello(Hello {
        route_type: 10,
        receive_notify: true,
        ..Hello::default()
    });
    assert!(matches!(
        encode(P, 0, &notify, &mut out),
        Err(EncodeError::FieldNotInProfile {
            field: "receive_notify",
            ..
        })
    ));
}

#[test]
fn bgpd_label_manager_connect_and_our_reply() {
    let req = unhex(
        "000d fe 06 00000000 0031  # LABEL_MANAGER_CONNECT (49)
         0a                        # proto BGP
         0000                      # instance",
    );
    check(
        &req,
        &Message::LabelManagerConnect(LabelManagerConnect {
            proto: 10,
            instance: 0,
        }),
    );
    // The reply bgpd's synchronous zclient waits for (same command, one more byte).
    let reply = unhex(
        "000e fe 06 00000000 0031  # LABEL_MANAGER_CONNECT (49), zebra -> bgpd
         0a 0000                   # proto, instance
         00                        # result: success",
    );
    let (_, msg) = decode(P, &reply).unwrap();
    assert_eq!(
        msg,
        Message::LabelManagerConnectReply(LabelManagerConnectReply {
            proto: 10,
            instance: 0,
            result: 0
        })
    );
    let mut out = BytesMut::new();
    encode(P, 0, &msg, &mut out).unwrap();
    assert_eq!(hex(&out), hex(&reply));
}

#[test]
fn bgpd_route_add_v4_and_v6() {
    let v4 = unhex(
        "0030 fe 06 00000000 0009  # ROUTE_ADD (9)
         0a 0000                   # type BGP (10), instance
         00000000                  # flags
         00000007                  # message: NEXTHOP | DISTANCE | METRIC
         01                        # safi unicast
         02 18 c63364              # AF_INET 198.51.100.0/24
         0001                      # one nexthop
         00000000 02 00            # vrf 0, NEXTHOP_TYPE_IPV4, flags
         c0000202 00000000         # 192.0.2.2, ifindex 0
         14                        # distance 20
         00000000                  # metric",
    );
    let mut r = ZapiRoute::new(10, net("198.51.100.0/24"));
    r.nexthops = Some(nexthops([ZapiNexthop::new(NexthopTarget::Ipv4 {
        gate: "192.0.2.2".parse().unwrap(),
        ifindex: 0,
    })]));
    r.distance = Some(20);
    r.metric = Some(0);
    check(&v4, &Message::RouteAdd(r));

    let v6 = unhex(
        "003f fe 06 00000000 0009 0a 0000 00000000 00000007 01
         0a 30 20010db80100        # AF_INET6 2001:db8:100::/48
         0001
         00000000 04 00            # NEXTHOP_TYPE_IPV6
         20010db8000000000000000000000002 00000000
         14 00000000",
    );
    let mut r = ZapiRoute::new(10, net("2001:db8:100::/48"));
    r.nexthops = Some(nexthops([ZapiNexthop::new(NexthopTarget::Ipv6 {
        gate: "2001:db8::2".parse().unwrap(),
        ifindex: 0,
    })]));
    r.distance = Some(20);
    r.metric = Some(0);
    check(&v6, &Message::RouteAdd(r));
}

#[test]
fn bgpd_registrations_router_id_bfd_and_untyped() {
    check(
        &unhex("000c fe 06 00000000 0010  0001  # ROUTER_ID_ADD (16), AFI IPv4"),
        &Message::RouterIdAdd(RouterIdRequest { afi: Some(1) }),
    );
    check(
        &unhex(
            "0015 fe 06 00000000 0015  # NEXTHOP_REGISTER (21)
             01 00 0001                # connected, no resolve-via-default, safi 1
             0002 20 c0000202          # AF_INET /32 192.0.2.2",
        ),
        &Message::NexthopRegister(vec![NexthopRegistration {
            connected: true,
            resolve_via_default: false,
            safi: 1,
            prefix: net("192.0.2.2/32"),
        }]),
    );
    let (_, bfd) = decode(P, &unhex("000efe0600000000002400007a97")).unwrap();
    assert_eq!(bfd, Message::BfdClientRegister { pid: 0x7a97 });
    // VRF_LABEL (35) and DUPLICATE_ADDR_DETECTION (78) stay untyped and are ignorable.
    for (frame, cmd) in [
        ("0010fe06000000000023ffffffff0103", 35u16),
        (
            "001efe0600000000004e00000001000000b4000000050000000000000000",
            78,
        ),
    ] {
        let (_, m) = decode(P, &unhex(frame)).unwrap();
        assert!(matches!(m, Message::Unknown { command, .. } if command == cmd));
        assert!(P.ignorable_untyped().contains(&cmd));
    }
}

#[test]
fn capture_file_frames_all_decode_and_reencode() {
    // Every frame of the checked-in capture, both directions, decodes and re-encodes byte for
    // byte (zebra -> bgpd frames are what bgpd 10.3 accepted from us).
    let text = include_str!("golden/frr103_bgpd_capture.txt");
    let mut n = 0;
    let mut from_server = 0;
    for line in text.lines().filter(|l| l.starts_with("conn=")) {
        let hexs = line.split_whitespace().last().unwrap();
        let bytes = unhex(hexs);
        let (h, msg) = decode(P, &bytes).unwrap();
        let mut out = BytesMut::new();
        encode(P, h.vrf_id, &msg, &mut out).unwrap();
        assert_eq!(hex(&out), hex(&bytes));
        n += 1;
        from_server += usize::from(line.contains("zebra->bgpd"));
    }
    assert!(n >= 60, "capture has only {n} frames");
    assert!(
        from_server >= 20,
        "capture has only {from_server} server frames"
    );
}

// ---------------------------------------------------------------- server vectors

#[test]
fn server_capabilities_carry_the_frr10_bytes() {
    let bytes = unhex(
        "0016 fe 06 00000000 0014  # CAPABILITIES (20)
         00000000 00 00000040 00   # vrf backend, mpls, multipath 64, mlag role
         00                        # v6_with_v4_nexthop (FRR 10)
         00                        # graceful_restart (FRR 10.2+)",
    );
    check(
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

#[test]
fn server_interface_add_carries_txqlen() {
    let bytes = unhex(
        "004e fe 06 00000000 0000  # INTERFACE_ADD (0)
         6c6f0000000000000000000000000000  # \"lo\" (IFNAMSIZ 16)
         00000001 04               # ifindex 1, status ACTIVE
         0000000000000049          # IFF_UP|LOOPBACK|RUNNING
         00 02                     # ptm enable, ptm status unknown
         00000000 00000000         # metric, speed
         00000000                  # txqlen (FRR 10)
         00010000 00010000         # mtu, mtu6 65536
         00000000 00000000         # bandwidth, link ifindex
         00000304                  # ll_type ARPHRD_LOOPBACK
         00000000                  # hw addr length
         00                        # no link params",
    );
    check(
        &bytes,
        &Message::InterfaceAdd(InterfaceInfo {
            name: "lo".into(),
            ifindex: 1,
            status: 0x04,
            flags: 0x49,
            ptm_status: 2,
            mtu: 65536,
            mtu6: 65536,
            ll_type: 772,
            ..InterfaceInfo::default()
        }),
    );
}

#[test]
fn server_nexthop_update_has_a_16_bit_count() {
    let bytes = unhex(
        "0032 fe 06 00000000 0017  # NEXTHOP_UPDATE (23)
         00000000 0001             # message, safi
         0002 20 c0000202          # match 192.0.2.2/32
         0002 18 c0000200          # resolved via 192.0.2.0/24
         02 0000 00 00000000       # type connected, instance, distance, metric
         0001                      # one nexthop (u16 since FRR 10.3)
         00000000 01 00 00000002   # vrf 0, NEXTHOP_TYPE_IFINDEX 2",
    );
    check(
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
    // FRR 10.2 has the same message with a one-byte count.
    let (_, m) = decode(P, &bytes).unwrap();
    let mut old = BytesMut::new();
    encode(Profile::Frr102, 0, &m, &mut old).unwrap();
    assert_eq!(old.len(), bytes.len() - 1);
}

#[test]
fn labelled_weighted_nexthop_layout_differs_from_frr84() {
    // FRR 10: label count, then a label type byte; the weight is 64 bits from 10.1 on.
    let mut nh = ZapiNexthop::new(NexthopTarget::Ifindex(5));
    nh.labels = Some(Labels::from_slice(&[100]));
    nh.label_type = 2;
    nh.weight = Some(1 << 40);
    let mut r = ZapiRoute::new(10, net("198.51.100.0/24"));
    r.nexthops = Some(nexthops([nh.clone()]));
    let label = hex(&100u32.to_ne_bytes());
    let bytes = unhex(&format!(
        "0035 fe 06 00000000 0009 0a 0000 00000000 00000001 01 02 18 c63364 0001
         00000000 01 06 00000005   # vrf, IFINDEX, flags LABEL|WEIGHT, ifindex 5
         01 02 {label}             # one label, label type 2, label (host order)
         0000010000000000          # weight 2^40 (u64)"
    ));
    check(&bytes, &Message::RouteAdd(r.clone()));
    // FRR 8.4 has neither the label type nor a 64-bit weight.
    let mut out = BytesMut::new();
    assert!(encode(Profile::Frr84, 0, &Message::RouteAdd(r.clone()), &mut out).is_err());
    // FRR 10.0 has the label type but a 32-bit weight.
    nh.weight = Some(7);
    r.nexthops = Some(nexthops([nh]));
    let mut ten = BytesMut::new();
    encode(Profile::Frr100, 0, &Message::RouteAdd(r.clone()), &mut ten).unwrap();
    let mut ten3 = BytesMut::new();
    encode(P, 0, &Message::RouteAdd(r), &mut ten3).unwrap();
    assert_eq!(ten.len() + 4, ten3.len());
}
