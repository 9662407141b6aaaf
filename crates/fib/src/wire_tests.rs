use std::num::NonZeroI32;

use netlink_packet_core::{DoneMessage, ErrorMessage};

use super::*;
use crate::types::NextHops;

const MARK: Marking = Marking {
    table: 1000,
    protocol: 186,
    metric: 20,
};

fn p(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn op(kind: OpKind, prefix: &str, hops: Vec<NextHop>) -> Op {
    Op {
        kind,
        prefix: p(prefix),
        next_hops: NextHops::from(hops),
        object: None,
    }
}

fn parse_one(buf: &[u8]) -> NetlinkMessage<RouteNetlinkMessage> {
    NetlinkMessage::deserialize(buf).unwrap()
}

fn route_of(m: NetlinkMessage<RouteNetlinkMessage>) -> RouteMessage {
    match m.payload {
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r))
        | NetlinkPayload::InnerMessage(RouteNetlinkMessage::DelRoute(r)) => r,
        other => panic!("not a route message: {other:?}"),
    }
}

#[test]
fn create_is_exclusive_and_carries_table_protocol_metric_and_onlink() {
    let mut buf = Vec::new();
    let o = op(
        OpKind::Create,
        "192.0.2.0/24",
        vec![NextHop::onlink(ip("198.51.100.1"), 5)],
    );
    encode_op(&mut buf, &o, &MARK, 42, false);
    let m = parse_one(&buf);
    assert_eq!(m.header.sequence_number, 42);
    assert_eq!(m.header.flags, NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL);
    let r = route_of(m);
    assert_eq!(r.header.address_family, AddressFamily::Inet);
    assert_eq!(r.header.destination_prefix_length, 24);
    assert_eq!(u8::from(r.header.protocol), 186);
    // 1000 does not fit the 8-bit field: RTA_TABLE carries it.
    assert_eq!(r.header.table, 0);
    assert!(r.header.flags.contains(RouteFlags::Onlink));
    assert!(r.attributes.contains(&RouteAttribute::Table(1000)));
    assert!(r.attributes.contains(&RouteAttribute::Priority(20)));
    assert!(r.attributes.contains(&RouteAttribute::Oif(5)));
    assert!(r
        .attributes
        .contains(&RouteAttribute::Gateway(RouteAddress::Inet(
            "198.51.100.1".parse().unwrap()
        ))));
    assert!(r
        .attributes
        .contains(&RouteAttribute::Destination(RouteAddress::Inet(
            "192.0.2.0".parse().unwrap()
        ))));
}

#[test]
fn replace_and_delete_flags_and_ack_request() {
    let mut buf = Vec::new();
    let o = op(
        OpKind::Replace,
        "2001:db8:1::/48",
        vec![NextHop::via(ip("2001:db8::1"))],
    );
    encode_op(&mut buf, &o, &MARK, 1, true);
    let m = parse_one(&buf);
    assert_eq!(
        m.header.flags,
        NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE | NLM_F_ACK
    );
    let r = route_of(m);
    assert_eq!(r.header.address_family, AddressFamily::Inet6);
    assert!(!r.header.flags.contains(RouteFlags::Onlink));

    let mut buf = Vec::new();
    let d = op(
        OpKind::Delete,
        "192.0.2.0/24",
        vec![NextHop::via(ip("198.51.100.1"))],
    );
    encode_op(&mut buf, &d, &MARK, 2, false);
    let m = parse_one(&buf);
    assert_eq!(m.header.flags, NLM_F_REQUEST);
    let r = route_of(m);
    // A delete names exactly our key: prefix, table, protocol, metric; no next hops.
    assert_eq!(u8::from(r.header.protocol), 186);
    assert!(r.attributes.contains(&RouteAttribute::Priority(20)));
    assert!(!r
        .attributes
        .iter()
        .any(|a| matches!(a, RouteAttribute::Gateway(_) | RouteAttribute::MultiPath(_))));

    // An IPv6 delete names our next hops too (only they are removed, not siblings others
    // appended); a multipath one lists them all.
    let mut buf = Vec::new();
    let d6 = op(
        OpKind::Delete,
        "2001:db8:77::/48",
        vec![NextHop::onlink(ip("2001:db8::1"), 4)],
    );
    encode_op(&mut buf, &d6, &MARK, 3, false);
    let m = parse_one(&buf);
    assert_eq!(m.header.flags, NLM_F_REQUEST);
    let r = route_of(m);
    assert_eq!(u8::from(r.header.protocol), 186);
    assert!(r.attributes.contains(&RouteAttribute::Priority(20)));
    assert!(r.attributes.contains(&RouteAttribute::Gateway(
        netlink_packet_route::route::RouteAddress::Inet6("2001:db8::1".parse().unwrap())
    )));
    assert!(r.attributes.contains(&RouteAttribute::Oif(4)));
    let mut buf = Vec::new();
    let d6 = op(
        OpKind::Delete,
        "2001:db8:77::/48",
        vec![
            NextHop::onlink(ip("2001:db8::1"), 4),
            NextHop::onlink(ip("2001:db8::2"), 4),
        ],
    );
    encode_op(&mut buf, &d6, &MARK, 4, false);
    let r = route_of(parse_one(&buf));
    assert!(r
        .attributes
        .iter()
        .any(|a| matches!(a, RouteAttribute::MultiPath(list) if list.len() == 2)));
}

#[test]
fn several_next_hops_make_one_multipath_route() {
    let mut buf = Vec::new();
    let o = op(
        OpKind::Create,
        "203.0.113.0/24",
        vec![
            NextHop::onlink(ip("198.51.100.1"), 5),
            NextHop::onlink(ip("198.51.100.2"), 6),
        ],
    );
    encode_op(&mut buf, &o, &MARK, 3, false);
    let r = route_of(parse_one(&buf));
    let Some(RouteAttribute::MultiPath(list)) = r
        .attributes
        .iter()
        .find(|a| matches!(a, RouteAttribute::MultiPath(_)))
    else {
        panic!("no multipath attribute");
    };
    assert_eq!(list.len(), 2);
    assert_eq!(list[1].interface_index, 6);
    assert!(list[1].flags.contains(RouteNextHopFlags::Onlink));
    assert_eq!(hop_gateway(&list[1].attributes), Some(ip("198.51.100.2")));
    assert!(!r
        .attributes
        .iter()
        .any(|a| matches!(a, RouteAttribute::Gateway(_))));
}

#[test]
fn a_gateway_of_the_other_family_is_sent_as_via() {
    let mut buf = Vec::new();
    let o = op(
        OpKind::Create,
        "192.0.2.0/24",
        vec![NextHop::onlink(ip("fe80::1"), 5)],
    );
    encode_op(&mut buf, &o, &MARK, 4, false);
    let r = route_of(parse_one(&buf));
    assert!(r.attributes.contains(&RouteAttribute::Via(RouteVia::Inet6(
        "fe80::1".parse().unwrap()
    ))));
}

#[test]
fn batches_are_concatenated_aligned_messages() {
    let mut buf = Vec::new();
    for i in 0..50u32 {
        let o = op(
            OpKind::Create,
            &format!("198.18.{i}.0/24"),
            vec![NextHop::onlink(ip("192.0.2.1"), 2)],
        );
        encode_op(&mut buf, &o, &MARK, 100 + i, i == 49);
    }
    assert_eq!(buf.len() % 4, 0);
    // Walk the buffer as the kernel does.
    let mut rest = &buf[..];
    let mut seqs = Vec::new();
    while !rest.is_empty() {
        let len = u32::from_ne_bytes(rest[..4].try_into().unwrap()) as usize;
        seqs.push(parse_one(&rest[..len]).header.sequence_number);
        rest = &rest[(len + 3) & !3..];
    }
    assert_eq!(seqs, (100..150).collect::<Vec<_>>());
}

fn kernel_reply(seq: u32, flags: u16, payload: NetlinkPayload<RouteNetlinkMessage>) -> Vec<u8> {
    let mut header = NetlinkHeader::default();
    header.sequence_number = seq;
    header.flags = flags;
    let mut msg = NetlinkMessage::new(header, payload);
    msg.finalize();
    let mut buf = vec![0; msg.buffer_len()];
    msg.serialize(&mut buf);
    buf
}

fn error(code: i32) -> NetlinkPayload<RouteNetlinkMessage> {
    let mut e = ErrorMessage::default();
    e.code = NonZeroI32::new(code);
    e.header = vec![0; 16];
    NetlinkPayload::Error(e)
}

#[test]
fn acks_and_errors_decode_to_their_sequence_numbers() {
    let mut dgram = kernel_reply(7, 0, error(-libc::EEXIST));
    dgram.extend(kernel_reply(9, 0, error(0)));
    let replies = decode(&dgram).unwrap();
    assert_eq!(
        replies,
        vec![
            Reply::Ack {
                seq: 7,
                errno: libc::EEXIST
            },
            Reply::Ack { seq: 9, errno: 0 },
        ]
    );
}

#[test]
fn dumped_routes_decode_with_their_marks_and_next_hops() {
    let mark = Marking {
        table: 100,
        protocol: 186,
        metric: 20,
    };
    let o = op(
        OpKind::Create,
        "2001:db8:7::/48",
        vec![
            NextHop::onlink(ip("2001:db8::1"), 3),
            NextHop::onlink(ip("2001:db8::2"), 3),
        ],
    );
    let msg = route_message(&o, &mark);
    let mut dgram = kernel_reply(
        5,
        netlink_packet_core::NLM_F_MULTIPART,
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(msg)),
    );
    let mut done = DoneMessage::default();
    done.code = 0;
    dgram.extend(kernel_reply(5, NLM_F_DUMP_INTR, NetlinkPayload::Done(done)));
    let replies = decode(&dgram).unwrap();
    assert_eq!(replies.len(), 2);
    match &replies[0] {
        Reply::Route {
            seq,
            table,
            protocol,
            metric,
            route: Some(route),
            object: None,
            interrupted,
        } => {
            assert_eq!((*seq, *table, *protocol, *metric), (5, 100, 186, 20));
            assert!(!interrupted);
            assert_eq!(route.prefix, p("2001:db8:7::/48"));
            assert_eq!(route.next_hops, o.next_hops);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        replies[1],
        Reply::Done {
            seq: 5,
            interrupted: true
        }
    );
}

#[test]
fn a_single_path_route_decodes_back_to_its_op() {
    let o = op(
        OpKind::Create,
        "192.0.2.0/24",
        vec![NextHop::onlink(ip("198.51.100.1"), 5)],
    );
    let d = decode_route(&route_message(&o, &MARK));
    assert_eq!(
        (d.table, d.protocol, d.metric, d.object),
        (1000, 186, 20, None)
    );
    assert_eq!(d.route.map(|r| r.next_hops), Some(o.next_hops));
}

/// `ip nexthop add id 1073741825 via 192.0.2.1 dev up1 onlink proto bgp` (ifindex 3), as
/// iproute2 6.1 sent it to Linux 6.18 (strace, sequence 0x6b11217c).
const IP_NEXTHOP_ADD_V4: [u8; 48] = [
    0x30, 0x00, 0x00, 0x00, 0x68, 0x00, 0x05, 0x06, 0x7c, 0x21, 0x11, 0x6b, 0x00, 0x00, 0x00, 0x00,
    0x02, 0x00, 0xba, 0x00, 0x04, 0x00, 0x00, 0x00, 0x08, 0x00, 0x01, 0x00, 0x01, 0x00, 0x00, 0x40,
    0x08, 0x00, 0x06, 0x00, 0xc0, 0x00, 0x02, 0x01, 0x08, 0x00, 0x05, 0x00, 0x03, 0x00, 0x00, 0x00,
];

/// `ip -6 nexthop add id 1073741826 via 2001:db8::1 dev up1 proto bgp`, same capture.
const IP_NEXTHOP_ADD_V6: [u8; 60] = [
    0x3c, 0x00, 0x00, 0x00, 0x68, 0x00, 0x05, 0x06, 0x7c, 0x21, 0x11, 0x6b, 0x00, 0x00, 0x00, 0x00,
    0x0a, 0x00, 0xba, 0x00, 0x00, 0x00, 0x00, 0x00, 0x08, 0x00, 0x01, 0x00, 0x02, 0x00, 0x00, 0x40,
    0x14, 0x00, 0x06, 0x00, 0x20, 0x01, 0x0d, 0xb8, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
    0x00, 0x00, 0x00, 0x01, 0x08, 0x00, 0x05, 0x00, 0x03, 0x00, 0x00, 0x00,
];

/// The kernel's dump of `203.0.113.0/24 nhid 1073741825 proto bgp metric 20 table 100`
/// (Linux 6.18, answering `ip route show table 100`; the object is 192.0.2.1 onlink on
/// ifindex 3, which the kernel expands next to `RTA_NH_ID`).
const KERNEL_ROUTE_WITH_NHID: [u8; 76] = [
    0x4c, 0x00, 0x00, 0x00, 0x18, 0x00, 0x22, 0x00, 0x8e, 0x21, 0x11, 0x6b, 0x2f, 0x60, 0x00, 0x00,
    0x02, 0x18, 0x00, 0x00, 0x64, 0xba, 0x00, 0x01, 0x04, 0x00, 0x00, 0x00, 0x08, 0x00, 0x0f, 0x00,
    0x64, 0x00, 0x00, 0x00, 0x08, 0x00, 0x01, 0x00, 0xcb, 0x00, 0x71, 0x00, 0x08, 0x00, 0x06, 0x00,
    0x14, 0x00, 0x00, 0x00, 0x08, 0x00, 0x1e, 0x00, 0x01, 0x00, 0x00, 0x40, 0x08, 0x00, 0x05, 0x00,
    0xc0, 0x00, 0x02, 0x01, 0x08, 0x00, 0x04, 0x00, 0x03, 0x00, 0x00, 0x00,
];

#[test]
fn nexthop_objects_encode_as_iproute2_sends_them() {
    let seq = 0x6b11_217c;
    let mut buf = Vec::new();
    encode_nexthop_new(&mut buf, 0x4000_0001, ip("192.0.2.1"), 3, true, 186, seq);
    request_ack(&mut buf, 0);
    assert_eq!(buf, IP_NEXTHOP_ADD_V4);
    let mut buf = Vec::new();
    encode_nexthop_new(&mut buf, 0x4000_0002, ip("2001:db8::1"), 3, false, 186, seq);
    request_ack(&mut buf, 0);
    assert_eq!(buf, IP_NEXTHOP_ADD_V6);
}

#[test]
fn nexthop_deletion_and_lookup_name_only_the_id() {
    let mut buf = Vec::new();
    encode_nexthop_del(&mut buf, 0x4000_0001, 9);
    assert_eq!(
        buf,
        [
            0x20, 0, 0, 0, 105, 0, 0x01, 0, 9, 0, 0, 0, 0, 0, 0, 0, // header: RTM_DELNEXTHOP
            0, 0, 0, 0, 0, 0, 0, 0, // nhmsg: AF_UNSPEC
            8, 0, 1, 0, 0x01, 0, 0, 0x40, // NHA_ID
        ]
    );
    let mut buf = Vec::new();
    encode_nexthop_get(&mut buf, 7, 10);
    assert_eq!(buf.len(), 0x20);
    assert_eq!(&buf[4..8], &[106, 0, 0x05, 0]); // RTM_GETNEXTHOP, REQUEST | ACK
}

#[test]
fn a_route_with_an_object_names_only_the_object() {
    let mut o = op(
        OpKind::Create,
        "203.0.113.0/24",
        vec![NextHop::onlink(ip("192.0.2.1"), 3)],
    );
    o.object = Some(0x4000_0001);
    let msg = route_message(&o, &MARK);
    assert!(msg.attributes.contains(&RouteAttribute::NhId(0x4000_0001)));
    assert!(!msg
        .attributes
        .iter()
        .any(|a| matches!(a, RouteAttribute::Gateway(_) | RouteAttribute::Oif(_))));
    assert!(!msg.header.flags.contains(RouteFlags::Onlink));
    // A delete does not need it: IPv4 deletes name the key only.
    o.kind = OpKind::Delete;
    assert!(!route_message(&o, &MARK)
        .attributes
        .iter()
        .any(|a| matches!(a, RouteAttribute::NhId(_))));
}

#[test]
fn a_dumped_route_with_an_object_decodes_with_its_expanded_next_hop() {
    let replies = decode(&KERNEL_ROUTE_WITH_NHID).unwrap();
    match &replies[..] {
        [Reply::Route {
            table: 100,
            protocol: 186,
            metric: 20,
            route: Some(route),
            object: Some(0x4000_0001),
            interrupted: false,
            ..
        }] => {
            assert_eq!(route.prefix, p("203.0.113.0/24"));
            assert_eq!(
                route.next_hops,
                next_hops(vec![NextHop::onlink(ip("192.0.2.1"), 3)])
            );
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn nexthop_objects_decode_to_their_id_and_protocol() {
    // A request has the layout of the kernel's answer (RTM_NEWNEXTHOP, nhmsg, attributes).
    let mut dgram = IP_NEXTHOP_ADD_V4.to_vec();
    dgram.extend_from_slice(&KERNEL_ROUTE_WITH_NHID);
    let replies = decode(&dgram).unwrap();
    assert_eq!(replies.len(), 2);
    assert_eq!(
        replies[0],
        Reply::Nexthop {
            seq: 0x6b11_217c,
            id: 0x4000_0001,
            protocol: 186,
            interrupted: false
        }
    );
    assert!(matches!(replies[1], Reply::Route { .. }));
    // Without an id, or cut short: nothing to report, and no panic.
    let mut no_id = IP_NEXTHOP_ADD_V4.to_vec();
    no_id[24..32].copy_from_slice(&[8, 0, 0x7f, 0, 0, 0, 0, 0]);
    assert_eq!(decode(&no_id).unwrap(), vec![Reply::Other]);
    for cut in 16..IP_NEXTHOP_ADD_V4.len() {
        let mut short = IP_NEXTHOP_ADD_V4[..cut].to_vec();
        short[0] = cut as u8;
        let _ = decode(&short);
    }
    let mut dump = Vec::new();
    encode_nexthop_dump(&mut dump, 3);
    assert_eq!(&dump[..8], &[0x18, 0, 0, 0, 106, 0, 0x01, 0x03]);
}

#[test]
fn truncated_and_garbage_input_is_an_error_not_a_panic() {
    let mut buf = Vec::new();
    let o = op(
        OpKind::Create,
        "192.0.2.0/24",
        vec![NextHop::via(ip("198.51.100.1"))],
    );
    encode_op(&mut buf, &o, &MARK, 1, false);
    for cut in 1..buf.len() {
        let _ = decode(&buf[..cut]);
    }
    assert!(decode(&[0xff; 40]).is_err());
    let mut lying = buf.clone();
    lying[0] = 8; // length below the header size
    assert!(decode(&lying).is_err());
    assert_eq!(decode(&[]).unwrap(), Vec::new());
}

#[test]
fn link_answers_give_the_vrf_table() {
    let mut link = LinkMessage::default();
    link.header.index = 12;
    link.attributes.push(LinkAttribute::LinkInfo(vec![
        LinkInfo::Kind(netlink_packet_route::link::InfoKind::Vrf),
        LinkInfo::Data(InfoData::Vrf(vec![InfoVrf::TableId(1234)])),
    ]));
    let dgram = kernel_reply(
        3,
        0,
        NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(link)),
    );
    assert_eq!(
        decode(&dgram).unwrap(),
        vec![Reply::Link {
            seq: 3,
            index: 12,
            flags: 0,
            vrf_table: Some(1234)
        }]
    );
}

/// A capture (hex, as a kernel datagram) from `crates/fib/src/captures/`.
fn capture(hex: &str) -> Vec<u8> {
    let digits: Vec<u8> = hex.bytes().filter(u8::is_ascii_hexdigit).collect();
    digits
        .chunks(2)
        .map(|pair| u8::from_str_radix(std::str::from_utf8(pair).unwrap(), 16).unwrap())
        .collect()
}

#[test]
fn link_changes_the_kernel_announces_decode_to_index_and_flags() {
    // Real `RTMGRP_LINK` datagrams (a veth pair `va`/`vb`, `va` index 3, read with a plain
    // netlink socket bound to the group): `vb` set down (`va` loses its carrier), `vb` set up
    // again, `va` set down, `va` deleted.
    const UP: u32 = libc::IFF_UP as u32;
    const RUNNING: u32 = libc::IFF_RUNNING as u32;
    const LOWER_UP: u32 = 0x1_0000;
    let link = |hex| match decode(&capture(hex)).unwrap().as_slice() {
        [Reply::Link {
            seq: 0,
            index,
            flags,
            vrf_table: None,
        }] => (*index, *flags),
        other => panic!("{other:?}"),
    };
    let (index, flags) = link(include_str!("captures/link-carrier-lost.hex"));
    assert_eq!(index, 3);
    assert_eq!(flags & (UP | RUNNING | LOWER_UP), UP);
    let (index, flags) = link(include_str!("captures/link-carrier-back.hex"));
    assert_eq!(index, 3);
    assert_eq!(flags & (UP | RUNNING | LOWER_UP), UP | RUNNING | LOWER_UP);
    let (index, flags) = link(include_str!("captures/link-admin-down.hex"));
    assert_eq!(index, 3);
    assert_eq!(flags & UP, 0);
    assert_eq!(
        decode(&capture(include_str!("captures/link-deleted.hex"))).unwrap(),
        vec![Reply::LinkGone { index: 3 }]
    );
    // An attribute the parser refuses does not lose the change: index and flags come from
    // the fixed header (the first attribute, `IFLA_IFNAME`, given a length past its end).
    let mut odd = capture(include_str!("captures/link-carrier-lost.hex"));
    odd[32..34].copy_from_slice(&2000u16.to_ne_bytes());
    assert!(matches!(
        decode(&odd).unwrap().as_slice(),
        [Reply::Link {
            index: 3,
            vrf_table: None,
            ..
        }]
    ));
    // Too short for its header: ignored, not an error.
    let mut short = capture(include_str!("captures/link-deleted.hex"))[..24].to_vec();
    short[..4].copy_from_slice(&24u32.to_ne_bytes());
    assert_eq!(decode(&short).unwrap(), vec![Reply::Other]);
    // Two announcements in one datagram.
    let mut two = capture(include_str!("captures/link-admin-down.hex"));
    two.extend(capture(include_str!("captures/link-deleted.hex")));
    assert_eq!(decode(&two).unwrap().len(), 2);
    for cut in 16..two.len() {
        let _ = decode(&two[..cut]);
    }
}
