//! Netlink encoding of route operations and decoding of the kernel's answers, without sockets.
//! Every netlink type stays inside this crate.

use std::net::IpAddr;

use ipnetwork::IpNetwork;
use netlink_packet_core::{
    NetlinkHeader, NetlinkMessage, NetlinkPayload, NLM_F_ACK, NLM_F_CREATE, NLM_F_DUMP,
    NLM_F_DUMP_INTR, NLM_F_EXCL, NLM_F_REPLACE, NLM_F_REQUEST,
};
use netlink_packet_route::link::{InfoData, InfoVrf, LinkAttribute, LinkInfo, LinkMessage};
use netlink_packet_route::route::{
    RouteAddress, RouteAttribute, RouteFlags, RouteHeader, RouteMessage, RouteNextHop,
    RouteNextHopFlags, RouteProtocol, RouteScope, RouteType, RouteVia,
};
use netlink_packet_route::{AddressFamily, RouteNetlinkMessage};

use crate::plan::{Op, OpKind};
use crate::types::{canonical, next_hops, FibRoute, NextHop};

/// Which routes are ours and how ours are written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Marking {
    /// Table id.
    pub table: u32,
    /// Protocol number.
    pub protocol: u8,
    /// Metric.
    pub metric: u32,
}

/// One message of the kernel's answer, reduced to what the writer needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reply {
    /// An acknowledgement (`errno` 0) or an error for request `seq`.
    Ack {
        /// Sequence number of the request.
        seq: u32,
        /// 0 on success, else the positive errno.
        errno: i32,
    },
    /// A route of a dump (any table, any protocol: filter with [`Marking`]).
    Route {
        /// Sequence number of the dump request.
        seq: u32,
        /// Its table.
        table: u32,
        /// Its protocol.
        protocol: u8,
        /// Its metric.
        metric: u32,
        /// The route, if it is a unicast route this crate can represent.
        route: Option<FibRoute>,
        /// The nexthop object it points at (`RTA_NH_ID`), if any; its next hops are in `route`
        /// too (the kernel expands them in dumps).
        object: Option<u32>,
        /// `NLM_F_DUMP_INTR`: the table changed during the dump (dump again).
        interrupted: bool,
    },
    /// A link (answer to a link request, or a change the kernel announces: sequence 0).
    Link {
        /// Sequence number.
        seq: u32,
        /// Its index.
        index: u32,
        /// Its `IFF_*` flags (`IFF_UP`, `IFF_LOWER_UP`, `IFF_RUNNING`, …).
        flags: u32,
        /// The table of a VRF device.
        vrf_table: Option<u32>,
    },
    /// A link was deleted (`RTM_DELLINK`, announced by the kernel).
    LinkGone {
        /// Its index.
        index: u32,
    },
    /// A nexthop object (of a nexthop dump).
    Nexthop {
        /// Sequence number of the dump request.
        seq: u32,
        /// Its id.
        id: u32,
        /// Its protocol.
        protocol: u8,
        /// `NLM_F_DUMP_INTR`: the objects changed during the dump.
        interrupted: bool,
    },
    /// The end of a dump; `interrupted` when the table changed during it (dump again).
    Done {
        /// Sequence number of the dump request.
        seq: u32,
        /// `NLM_F_DUMP_INTR` was seen.
        interrupted: bool,
    },
    /// Anything else (ignored).
    Other,
}

/// A message the writer could not decode.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("undecodable netlink message: {0}")]
pub struct WireError(pub String);

fn family(prefix: &IpNetwork) -> AddressFamily {
    match prefix {
        IpNetwork::V4(_) => AddressFamily::Inet,
        IpNetwork::V6(_) => AddressFamily::Inet6,
    }
}

fn address(a: IpAddr) -> RouteAddress {
    match a {
        IpAddr::V4(v4) => RouteAddress::Inet(v4),
        IpAddr::V6(v6) => RouteAddress::Inet6(v6),
    }
}

/// The gateway attribute of `gw` for a route of `prefix`'s family (`RTA_VIA` across families).
fn gateway_attr(prefix: &IpNetwork, gw: IpAddr) -> RouteAttribute {
    match (prefix, gw) {
        (IpNetwork::V4(_), IpAddr::V6(v6)) => RouteAttribute::Via(RouteVia::Inet6(v6)),
        (IpNetwork::V6(_), IpAddr::V4(v4)) => RouteAttribute::Via(RouteVia::Inet(v4)),
        _ => RouteAttribute::Gateway(address(gw)),
    }
}

fn base_message(prefix: &IpNetwork, mark: &Marking) -> RouteMessage {
    let mut msg = RouteMessage::default();
    msg.header.address_family = family(prefix);
    msg.header.destination_prefix_length = prefix.prefix();
    msg.header.table = u8::try_from(mark.table).unwrap_or(RouteHeader::RT_TABLE_UNSPEC);
    msg.header.protocol = RouteProtocol::from(mark.protocol);
    msg.header.scope = RouteScope::Universe;
    msg.header.kind = RouteType::Unicast;
    msg.attributes
        .push(RouteAttribute::Destination(address(prefix.network())));
    msg.attributes.push(RouteAttribute::Table(mark.table));
    msg.attributes.push(RouteAttribute::Priority(mark.metric));
    msg
}

/// The route message of `op` (without the netlink header).
///
/// A delete names our key — prefix, table, protocol, metric — which the kernel matches in
/// full, so it never removes another protocol's route, or one of another metric or table. An
/// IPv4 delete carries nothing more (the kernel keeps routes others add for the same key as
/// separate entries). An IPv6 delete also names our next hops: the kernel makes a route
/// another protocol appends with our metric (`ip -6 route append`) an ECMP sibling of ours,
/// and a delete without a gateway removes the route with every sibling, while one with
/// gateways removes only those hops.
pub fn route_message(op: &Op, mark: &Marking) -> RouteMessage {
    let mut msg = base_message(&op.prefix, mark);
    if op.kind == OpKind::Delete && matches!(op.prefix, IpNetwork::V4(_)) {
        return msg;
    }
    if let (Some(id), OpKind::Create | OpKind::Replace) = (op.object, op.kind) {
        // The object carries gateway, interface and `onlink`.
        msg.attributes.push(RouteAttribute::NhId(id));
        return msg;
    }
    match &op.next_hops[..] {
        [one] => {
            if let Some(gw) = one.gateway {
                msg.attributes.push(gateway_attr(&op.prefix, gw));
            }
            if let Some(oif) = one.ifindex {
                msg.attributes.push(RouteAttribute::Oif(oif));
            }
            if one.onlink {
                msg.header.flags |= RouteFlags::Onlink;
            }
        }
        hops => {
            let list = hops
                .iter()
                .map(|h| {
                    let mut nh = RouteNextHop::default();
                    nh.interface_index = h.ifindex.unwrap_or(0);
                    if h.onlink {
                        nh.flags |= RouteNextHopFlags::Onlink;
                    }
                    if let Some(gw) = h.gateway {
                        nh.attributes.push(gateway_attr(&op.prefix, gw));
                    }
                    nh
                })
                .collect();
            msg.attributes.push(RouteAttribute::MultiPath(list));
        }
    }
    msg
}

fn flags_of(kind: OpKind) -> u16 {
    match kind {
        OpKind::Create => NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL,
        OpKind::Replace => NLM_F_REQUEST | NLM_F_CREATE | NLM_F_REPLACE,
        OpKind::Delete => NLM_F_REQUEST,
    }
}

fn append(buf: &mut Vec<u8>, flags: u16, seq: u32, inner: RouteNetlinkMessage) {
    let mut header = NetlinkHeader::default();
    header.flags = flags;
    header.sequence_number = seq;
    let mut msg = NetlinkMessage::new(header, NetlinkPayload::InnerMessage(inner));
    msg.finalize();
    let start = buf.len();
    buf.resize(start + msg.buffer_len(), 0);
    msg.serialize(&mut buf[start..]);
}

/// Appends the request of `op` with sequence number `seq` to `buf`. With `ack` the kernel
/// acknowledges success too; without, it answers only errors.
pub fn encode_op(buf: &mut Vec<u8>, op: &Op, mark: &Marking, seq: u32, ack: bool) {
    let msg = route_message(op, mark);
    let mut flags = flags_of(op.kind);
    if ack {
        flags |= NLM_F_ACK;
    }
    let inner = match op.kind {
        OpKind::Delete => RouteNetlinkMessage::DelRoute(msg),
        OpKind::Create | OpKind::Replace => RouteNetlinkMessage::NewRoute(msg),
    };
    append(buf, flags, seq, inner);
}

/// Sets `NLM_F_ACK` on the request starting at `offset` in `buf`.
pub fn request_ack(buf: &mut [u8], offset: usize) {
    if let Some(flags) = buf.get_mut(offset + 6..offset + 8) {
        let v = u16::from_ne_bytes([flags[0], flags[1]]) | NLM_F_ACK;
        flags.copy_from_slice(&v.to_ne_bytes());
    }
}

/// Appends a route dump request for `family` (IPv4 or IPv6).
pub fn encode_route_dump(buf: &mut Vec<u8>, v6: bool, seq: u32) {
    let mut msg = RouteMessage::default();
    msg.header.address_family = if v6 {
        AddressFamily::Inet6
    } else {
        AddressFamily::Inet
    };
    append(
        buf,
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        RouteNetlinkMessage::GetRoute(msg),
    );
}

/// Appends a request for the link named `name`.
pub fn encode_link_get(buf: &mut Vec<u8>, name: &str, seq: u32) {
    let mut msg = LinkMessage::default();
    msg.attributes.push(LinkAttribute::IfName(name.to_string()));
    append(
        buf,
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
        RouteNetlinkMessage::GetLink(msg),
    );
}

/// `RTM_NEWNEXTHOP` (`linux/rtnetlink.h`).
pub const RTM_NEWNEXTHOP: u16 = 104;
/// `RTM_DELNEXTHOP`.
pub const RTM_DELNEXTHOP: u16 = 105;
/// `RTM_GETNEXTHOP`.
pub const RTM_GETNEXTHOP: u16 = 106;
const NHA_ID: u16 = 1;
const NHA_OIF: u16 = 5;
const NHA_GATEWAY: u16 = 6;
/// `RTNH_F_ONLINK` in `nhmsg.nh_flags`.
const RTNH_F_ONLINK: u32 = 4;
const AF_UNSPEC: u8 = 0;
const AF_INET: u8 = 2;
const AF_INET6: u8 = 10;

/// Appends one netlink message: header, `body`, then `attrs` (type, payload), each padded to
/// 4 bytes.
fn append_raw(
    buf: &mut Vec<u8>,
    kind: u16,
    flags: u16,
    seq: u32,
    body: &[u8],
    attrs: &[(u16, &[u8])],
) {
    let start = buf.len();
    buf.extend_from_slice(&[0; 16]);
    buf.extend_from_slice(body);
    for (t, payload) in attrs {
        let len = 4 + payload.len();
        buf.extend_from_slice(&(len as u16).to_ne_bytes());
        buf.extend_from_slice(&t.to_ne_bytes());
        buf.extend_from_slice(payload);
        buf.resize(buf.len() + ((4 - len % 4) % 4), 0);
    }
    let total = (buf.len() - start) as u32;
    let mut header = [0u8; 16];
    header[0..4].copy_from_slice(&total.to_ne_bytes());
    header[4..6].copy_from_slice(&kind.to_ne_bytes());
    header[6..8].copy_from_slice(&flags.to_ne_bytes());
    header[8..12].copy_from_slice(&seq.to_ne_bytes());
    if let Some(h) = buf.get_mut(start..start + 16) {
        h.copy_from_slice(&header);
    }
}

/// `struct nhmsg`: family, scope, protocol, reserved, flags.
fn nhmsg(family: u8, protocol: u8, flags: u32) -> [u8; 8] {
    let mut m = [0u8; 8];
    m[0] = family;
    m[2] = protocol;
    m[4..8].copy_from_slice(&flags.to_ne_bytes());
    m
}

/// Appends the exclusive creation of nexthop object `id`: gateway `gw` on interface `oif`
/// (`onlink` if so; see [`crate::objects::Objects::supports`]), marked with `protocol`.
///
/// ```text
///  struct nhmsg { u8 family; u8 scope; u8 protocol; u8 resvd; u32 flags (RTNH_F_ONLINK) }
///  NHA_ID u32 | NHA_GATEWAY 4 or 16 bytes | NHA_OIF u32
/// ```
pub fn encode_nexthop_new(
    buf: &mut Vec<u8>,
    id: u32,
    gw: IpAddr,
    oif: u32,
    onlink: bool,
    protocol: u8,
    seq: u32,
) {
    let flags = if onlink { RTNH_F_ONLINK } else { 0 };
    let (family, gw_bytes): (u8, Vec<u8>) = match gw {
        IpAddr::V4(a) => (AF_INET, a.octets().to_vec()),
        IpAddr::V6(a) => (AF_INET6, a.octets().to_vec()),
    };
    append_raw(
        buf,
        RTM_NEWNEXTHOP,
        NLM_F_REQUEST | NLM_F_CREATE | NLM_F_EXCL,
        seq,
        &nhmsg(family, protocol, flags),
        &[
            (NHA_ID, &id.to_ne_bytes()),
            (NHA_GATEWAY, &gw_bytes),
            (NHA_OIF, &oif.to_ne_bytes()),
        ],
    );
}

/// Appends the deletion of nexthop object `id`.
pub fn encode_nexthop_del(buf: &mut Vec<u8>, id: u32, seq: u32) {
    append_raw(
        buf,
        RTM_DELNEXTHOP,
        NLM_F_REQUEST,
        seq,
        &nhmsg(AF_UNSPEC, 0, 0),
        &[(NHA_ID, &id.to_ne_bytes())],
    );
}

/// Appends a dump request for every nexthop object of the namespace.
pub fn encode_nexthop_dump(buf: &mut Vec<u8>, seq: u32) {
    append_raw(
        buf,
        RTM_GETNEXTHOP,
        NLM_F_REQUEST | NLM_F_DUMP,
        seq,
        &nhmsg(AF_UNSPEC, 0, 0),
        &[],
    );
}

/// The id and protocol of a nexthop object message (`msg`: one whole netlink message), if it
/// has an id.
fn decode_nexthop(msg: &[u8]) -> Option<(u32, u8)> {
    let protocol = *msg.get(16 + 2)?;
    let mut attrs = msg.get(16 + 8..)?;
    while attrs.len() >= 4 {
        let len = usize::from(u16::from_ne_bytes([*attrs.first()?, *attrs.get(1)?]));
        let kind = u16::from_ne_bytes([*attrs.get(2)?, *attrs.get(3)?]) & 0x3fff;
        if len < 4 {
            return None;
        }
        let payload = attrs.get(4..len)?;
        if kind == NHA_ID {
            let id: [u8; 4] = payload.try_into().ok()?;
            return Some((u32::from_ne_bytes(id), protocol));
        }
        attrs = attrs.get((len + 3) & !3..).unwrap_or(&[]);
    }
    None
}

/// Appends a request for nexthop object `id` (answered with the object or `ENOENT`; a kernel
/// without nexthop objects answers `EOPNOTSUPP` or `EINVAL`).
pub fn encode_nexthop_get(buf: &mut Vec<u8>, id: u32, seq: u32) {
    append_raw(
        buf,
        RTM_GETNEXTHOP,
        NLM_F_REQUEST | NLM_F_ACK,
        seq,
        &nhmsg(AF_UNSPEC, 0, 0),
        &[(NHA_ID, &id.to_ne_bytes())],
    );
}

fn route_addr(a: &RouteAddress) -> Option<IpAddr> {
    match a {
        RouteAddress::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteAddress::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn via_addr(v: &RouteVia) -> Option<IpAddr> {
    match v {
        RouteVia::Inet(v4) => Some(IpAddr::V4(*v4)),
        RouteVia::Inet6(v6) => Some(IpAddr::V6(*v6)),
        _ => None,
    }
}

fn hop_gateway(attrs: &[RouteAttribute]) -> Option<IpAddr> {
    attrs.iter().find_map(|a| match a {
        RouteAttribute::Gateway(g) => route_addr(g),
        RouteAttribute::Via(v) => via_addr(v),
        _ => None,
    })
}

/// A dumped route, reduced to what the writer needs.
struct Decoded {
    table: u32,
    protocol: u8,
    metric: u32,
    route: Option<FibRoute>,
    object: Option<u32>,
}

/// Decodes a dumped route message: its table, protocol, metric, nexthop object and (for
/// unicast routes) the route.
fn decode_route(msg: &RouteMessage) -> Decoded {
    let (table, protocol, metric, route) = decode_route_parts(msg);
    let object = msg.attributes.iter().find_map(|a| match a {
        RouteAttribute::NhId(id) => Some(*id),
        _ => None,
    });
    Decoded {
        table,
        protocol,
        metric,
        route,
        object,
    }
}

fn decode_route_parts(msg: &RouteMessage) -> (u32, u8, u32, Option<FibRoute>) {
    let mut table = u32::from(msg.header.table);
    let mut metric = 0;
    let mut dest = None;
    let mut oif = None;
    let mut multipath = None;
    for attr in &msg.attributes {
        match attr {
            RouteAttribute::Table(t) => table = *t,
            RouteAttribute::Priority(m) => metric = *m,
            RouteAttribute::Destination(a) => dest = route_addr(a),
            RouteAttribute::Oif(i) => oif = Some(*i),
            RouteAttribute::MultiPath(list) => multipath = Some(list),
            _ => {}
        }
    }
    let protocol = u8::from(msg.header.protocol);
    if msg.header.kind != RouteType::Unicast {
        return (table, protocol, metric, None);
    }
    let dest = match (dest, msg.header.address_family) {
        (Some(d), _) => d,
        (None, AddressFamily::Inet) => IpAddr::V4(std::net::Ipv4Addr::UNSPECIFIED),
        (None, AddressFamily::Inet6) => IpAddr::V6(std::net::Ipv6Addr::UNSPECIFIED),
        (None, _) => return (table, protocol, metric, None),
    };
    let Ok(prefix) = IpNetwork::new(dest, msg.header.destination_prefix_length) else {
        return (table, protocol, metric, None);
    };
    let hops = match multipath {
        Some(list) => list
            .iter()
            .map(|nh| NextHop {
                gateway: hop_gateway(&nh.attributes),
                ifindex: (nh.interface_index != 0).then_some(nh.interface_index),
                onlink: nh.flags.contains(RouteNextHopFlags::Onlink),
            })
            .collect(),
        None => vec![NextHop {
            gateway: hop_gateway(&msg.attributes),
            ifindex: oif,
            onlink: msg.header.flags.contains(RouteFlags::Onlink),
        }],
    };
    let route = FibRoute {
        prefix: canonical(prefix),
        next_hops: next_hops(hops),
    };
    (table, protocol, metric, Some(route))
}

fn decode_link(msg: &LinkMessage) -> Option<u32> {
    msg.attributes.iter().find_map(|a| match a {
        LinkAttribute::LinkInfo(infos) => infos.iter().find_map(|i| match i {
            LinkInfo::Data(InfoData::Vrf(vrf)) => vrf.iter().find_map(|v| match v {
                InfoVrf::TableId(t) => Some(*t),
                _ => None,
            }),
            _ => None,
        }),
        _ => None,
    })
}

/// `RTM_NEWLINK` (`linux/rtnetlink.h`).
const RTM_NEWLINK: u16 = 16;
/// `RTM_DELLINK`.
const RTM_DELLINK: u16 = 17;

/// One `RTM_NEWLINK` / `RTM_DELLINK` message (`kind`): the `ifinfomsg` header after the 16-byte
/// netlink header — family (1), pad (1), type (2), index (4), flags (4), change (4) — read by
/// hand; the VRF table from the attributes when they parse. A message too short for its
/// header is [`Reply::Other`].
fn decode_link_message(kind: u16, msg: &[u8]) -> Reply {
    let word = |at: usize| -> Option<u32> {
        Some(u32::from_ne_bytes(msg.get(at..at + 4)?.try_into().ok()?))
    };
    let (Some(seq), Some(index), Some(flags)) = (word(8), word(20), word(24)) else {
        return Reply::Other;
    };
    if kind == RTM_DELLINK {
        return Reply::LinkGone { index };
    }
    let vrf_table = match NetlinkMessage::<RouteNetlinkMessage>::deserialize(msg) {
        Ok(NetlinkMessage {
            payload: NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)),
            ..
        }) => decode_link(&l),
        _ => None,
    };
    Reply::Link {
        seq,
        index,
        flags,
        vrf_table,
    }
}

/// Decodes every netlink message in `buf` (one datagram from the kernel).
pub fn decode(buf: &[u8]) -> Result<Vec<Reply>, WireError> {
    let mut out = Vec::new();
    let mut rest = buf;
    while rest.len() >= 16 {
        let len = u32::from_ne_bytes([rest[0], rest[1], rest[2], rest[3]]) as usize;
        if len < 16 || len > rest.len() {
            return Err(WireError(format!(
                "message length {len} with {} bytes left",
                rest.len()
            )));
        }
        // Nexthop objects: their id and protocol (netlink-packet-route has no nexthop messages).
        let kind = match rest.get(4..6) {
            Some(&[a, b]) => u16::from_ne_bytes([a, b]),
            _ => 0,
        };
        if (RTM_NEWNEXTHOP..=RTM_GETNEXTHOP).contains(&kind) {
            let flags = match rest.get(6..8) {
                Some(&[a, b]) => u16::from_ne_bytes([a, b]),
                _ => 0,
            };
            let seq = match rest.get(8..12) {
                Some(&[a, b, c, d]) => u32::from_ne_bytes([a, b, c, d]),
                _ => 0,
            };
            out.push(match rest.get(..len).and_then(decode_nexthop) {
                Some((id, protocol)) if kind == RTM_NEWNEXTHOP => Reply::Nexthop {
                    seq,
                    id,
                    protocol,
                    interrupted: flags & NLM_F_DUMP_INTR != 0,
                },
                _ => Reply::Other,
            });
            rest = rest.get((len + 3) & !3..).unwrap_or(&[]);
            continue;
        }
        // Links: index and flags from the fixed header, read by hand (an attribute the parser
        // does not take must not lose a link change); a VRF device's table if it parses.
        if kind == RTM_NEWLINK || kind == RTM_DELLINK {
            out.push(decode_link_message(kind, rest.get(..len).unwrap_or(&[])));
            rest = rest.get((len + 3) & !3..).unwrap_or(&[]);
            continue;
        }
        let msg = NetlinkMessage::<RouteNetlinkMessage>::deserialize(&rest[..len])
            .map_err(|e| WireError(e.to_string()))?;
        let seq = msg.header.sequence_number;
        let interrupted = msg.header.flags & NLM_F_DUMP_INTR != 0;
        out.push(match msg.payload {
            NetlinkPayload::Error(e) => Reply::Ack {
                seq,
                errno: e.code.map(|c| c.get().saturating_abs()).unwrap_or(0),
            },
            NetlinkPayload::Done(_) => Reply::Done { seq, interrupted },
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewRoute(r)) => {
                let d = decode_route(&r);
                Reply::Route {
                    seq,
                    table: d.table,
                    protocol: d.protocol,
                    metric: d.metric,
                    route: d.route,
                    object: d.object,
                    interrupted,
                }
            }

            _ => Reply::Other,
        });
        // Messages are 4-byte aligned.
        let step = (len + 3) & !3;
        rest = rest.get(step..).unwrap_or(&[]);
    }
    Ok(out)
}

#[cfg(test)]
#[path = "wire_tests.rs"]
mod tests;
