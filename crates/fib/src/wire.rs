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
        /// `NLM_F_DUMP_INTR`: the table changed during the dump (dump again).
        interrupted: bool,
    },
    /// A link (answer to a link request).
    Link {
        /// Sequence number.
        seq: u32,
        /// Its index.
        index: u32,
        /// The table of a VRF device.
        vrf_table: Option<u32>,
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

/// Decodes a dumped route message: its table, protocol, metric and (for unicast routes) the
/// route.
fn decode_route(msg: &RouteMessage) -> (u32, u8, u32, Option<FibRoute>) {
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
                let (table, protocol, metric, route) = decode_route(&r);
                Reply::Route {
                    seq,
                    table,
                    protocol,
                    metric,
                    route,
                    interrupted,
                }
            }
            NetlinkPayload::InnerMessage(RouteNetlinkMessage::NewLink(l)) => Reply::Link {
                seq,
                index: l.header.index,
                vrf_table: decode_link(&l),
            },
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
