//! Body decoders for every typed command (route bodies live in `decode_route`).

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use crate::command::Command;
use crate::decode_route::{nexthop, old_nexthop, old_route, zapi_route_into};
use crate::error::DecodeError;
use crate::header::Header;
use crate::message::*;
use crate::profile::Profile;
use crate::route::ZapiRoute;
use crate::route::{Nexthops, OldNexthops};
use crate::wire::Reader;

/// Linux AF_INET.
pub(crate) const AF_INET: u16 = 2;
/// Linux AF_INET6.
pub(crate) const AF_INET6: u16 = 10;

/// Decode exactly one complete frame (header + body) of `profile`.
///
/// `frame` must hold exactly the number of bytes the header's length field announces; use
/// [`frame_length`](crate::frame_length) or the `codec` feature's `ZebraCodec` to cut a stream
/// into frames. Never panics and never allocates more than the frame's size.
#[inline]
pub fn decode(profile: Profile, frame: &[u8]) -> Result<(Header, Message), DecodeError> {
    let header = Header::decode(profile, frame)?;
    if usize::from(header.length) != frame.len() {
        return Err(DecodeError::LengthMismatch {
            length: header.length.into(),
            available: frame.len(),
        });
    }
    let hsize = profile.header_size();
    let body = frame.get(hsize..).unwrap_or(&[]);
    // Built in place in the value returned, so a route's inline nexthops are never copied
    // while decoding.
    let mut out = (header, route_shell(profile, header.command));
    match &mut out.1 {
        Message::RouteAdd(route)
        | Message::RouteDelete(route)
        | Message::RedistributeRouteAdd(route)
        | Message::RedistributeRouteDel(route) => {
            fill_route(profile, header.command, body, hsize, route)?
        }
        other => *other = decode_body(profile, header.command, body, hsize)?,
    }
    Ok(out)
}

/// Like [`decode`], but decodes into a caller-owned message and returns the header.
///
/// When `out` already holds a route of the same command (ROUTE_ADD after ROUTE_ADD, …) the route
/// is overwritten in place, so a loop that reuses one `Message` never copies the route's inline
/// nexthop storage. On error `out` holds some valid but unspecified message.
pub fn decode_into(
    profile: Profile,
    frame: &[u8],
    out: &mut Message,
) -> Result<Header, DecodeError> {
    let header = Header::decode(profile, frame)?;
    if usize::from(header.length) != frame.len() {
        return Err(DecodeError::LengthMismatch {
            length: header.length.into(),
            available: frame.len(),
        });
    }
    let hsize = profile.header_size();
    let body = frame.get(hsize..).unwrap_or(&[]);
    let command = profile.command(header.command);
    match (command, &mut *out) {
        (Some(Command::RouteAdd), Message::RouteAdd(route))
        | (Some(Command::RouteDelete), Message::RouteDelete(route))
        | (Some(Command::RedistributeRouteAdd), Message::RedistributeRouteAdd(route))
        | (Some(Command::RedistributeRouteDel), Message::RedistributeRouteDel(route)) => {
            route.reset_keeping_nexthops();
            fill_route_named(
                profile,
                command.map_or("ROUTE", Command::name),
                body,
                hsize,
                route,
            )?;
        }
        _ => *out = decode_message(profile, header.command, body, hsize)?,
    }
    Ok(header)
}

/// An empty route message of the right variant for a route command, else a placeholder.
#[inline]
fn route_shell(profile: Profile, number: u16) -> Message {
    let empty = || {
        ZapiRoute::new(
            0,
            IpNetwork::V4(ipnetwork::Ipv4Network::from(
                std::net::Ipv4Addr::UNSPECIFIED,
            )),
        )
    };
    match profile.command(number) {
        Some(Command::RouteAdd) => Message::RouteAdd(empty()),
        Some(Command::RouteDelete) => Message::RouteDelete(empty()),
        Some(Command::RedistributeRouteAdd) => Message::RedistributeRouteAdd(empty()),
        Some(Command::RedistributeRouteDel) => Message::RedistributeRouteDel(empty()),
        _ => Message::InterfaceAddRequest,
    }
}

fn fill_route(
    profile: Profile,
    number: u16,
    body: &[u8],
    offset: usize,
    route: &mut ZapiRoute,
) -> Result<(), DecodeError> {
    fill_route_named(
        profile,
        profile.command(number).map_or("ROUTE", Command::name),
        body,
        offset,
        route,
    )
}

/// Decode a `zapi_route` body into `route` (reset beforehand) and check it is fully consumed.
#[inline(never)]
fn fill_route_named(
    profile: Profile,
    name: &'static str,
    body: &[u8],
    offset: usize,
    route: &mut ZapiRoute,
) -> Result<(), DecodeError> {
    let mut r = Reader::new(body, offset, name);
    zapi_route_into(profile, &mut r, route)?;
    r.finish()
}

/// Decode a body whose header was already parsed (`offset` = the body's frame offset).
#[inline]
pub(crate) fn decode_message(
    profile: Profile,
    number: u16,
    body: &[u8],
    offset: usize,
) -> Result<Message, DecodeError> {
    let mut message = route_shell(profile, number);
    match &mut message {
        Message::RouteAdd(route)
        | Message::RouteDelete(route)
        | Message::RedistributeRouteAdd(route)
        | Message::RedistributeRouteDel(route) => fill_route(profile, number, body, offset, route)?,
        other => *other = decode_body(profile, number, body, offset)?,
    }
    Ok(message)
}

/// Decode a body whose header was already parsed. `offset` is the body's frame offset.
/// Kept out of line so the inlined route fast path stays small.
#[inline(never)]
pub(crate) fn decode_body(
    profile: Profile,
    number: u16,
    body: &[u8],
    offset: usize,
) -> Result<Message, DecodeError> {
    let Some(command) = profile.command(number) else {
        return Ok(Message::Unknown {
            command: number,
            body: body.to_vec(),
        });
    };
    let mut r = Reader::new(body, offset, command.name());
    let msg = match command {
        Command::Hello => Message::Hello(hello(profile, &mut r)?),
        Command::InterfaceAdd => {
            if r.is_empty() {
                Message::InterfaceAddRequest
            } else {
                Message::InterfaceAdd(interface(profile, &mut r)?)
            }
        }
        Command::InterfaceDelete => {
            if r.is_empty() {
                Message::InterfaceDeleteRequest
            } else {
                Message::InterfaceDelete(interface(profile, &mut r)?)
            }
        }
        Command::InterfaceUp => Message::InterfaceUp(interface(profile, &mut r)?),
        Command::InterfaceDown => Message::InterfaceDown(interface(profile, &mut r)?),
        Command::InterfaceAddressAdd => Message::InterfaceAddressAdd(interface_address(&mut r)?),
        Command::InterfaceAddressDelete => {
            Message::InterfaceAddressDelete(interface_address(&mut r)?)
        }
        Command::RouterIdAdd => Message::RouterIdAdd(router_id_request(&mut r)?),
        Command::RouterIdDelete => Message::RouterIdDelete(router_id_request(&mut r)?),
        Command::RouterIdUpdate => Message::RouterIdUpdate(RouterIdUpdate {
            prefix: family_addr_plen(&mut r)?,
        }),
        Command::Capabilities => Message::Capabilities(Capabilities {
            vrf_backend: r.u32("vrf_backend")?,
            mpls: r.bool("mpls")?,
            multipath: r.u32("multipath")?,
            mlag_role: r.u8("mlag_role")?,
            v6_with_v4_nexthop: if profile.capabilities_has_v6_with_v4_nexthop() {
                r.bool("v6_with_v4_nexthop")?
            } else {
                false
            },
            graceful_restart: if profile.capabilities_has_graceful_restart() {
                r.bool("graceful_restart")?
            } else {
                false
            },
        }),
        Command::NexthopRegister => Message::NexthopRegister(registrations(profile, &mut r)?),
        Command::NexthopUnregister => Message::NexthopUnregister(registrations(profile, &mut r)?),
        Command::NexthopUpdate => {
            if profile.is_frr() {
                Message::NexthopUpdate(nexthop_update(profile, &mut r)?)
            } else {
                Message::OldNexthopUpdate(old_nexthop_update(&mut r)?)
            }
        }
        Command::RouteAdd
        | Command::RouteDelete
        | Command::RedistributeRouteAdd
        | Command::RedistributeRouteDel => {
            return decode_message(profile, number, body, offset);
        }
        Command::Ipv4RouteAdd => Message::Ipv4RouteAdd(old_route(profile, false, &mut r)?),
        Command::Ipv4RouteDelete => Message::Ipv4RouteDelete(old_route(profile, false, &mut r)?),
        Command::Ipv6RouteAdd => Message::Ipv6RouteAdd(old_route(profile, true, &mut r)?),
        Command::Ipv6RouteDelete => Message::Ipv6RouteDelete(old_route(profile, true, &mut r)?),
        Command::Ipv4NexthopLookup => {
            if r.remaining() == 4 {
                Message::Ipv4NexthopLookup(r.ipv4("addr")?)
            } else {
                let addr = r.ipv4("addr")?;
                let metric = r.u32("metric")?;
                let nexthops = old_nexthop_list(&mut r)?;
                Message::Ipv4NexthopLookupReply(NexthopLookupReply {
                    addr,
                    metric,
                    nexthops,
                })
            }
        }
        Command::RedistributeAdd => Message::RedistributeAdd(redistribute(profile, &mut r)?),
        Command::RedistributeDelete => Message::RedistributeDelete(redistribute(profile, &mut r)?),
        Command::RedistributeDefaultAdd => {
            Message::RedistributeDefaultAdd(redistribute_default(&mut r)?)
        }
        Command::RedistributeDefaultDelete => {
            Message::RedistributeDefaultDelete(redistribute_default(&mut r)?)
        }
        Command::BfdClientRegister => Message::BfdClientRegister { pid: r.u32("pid")? },
        Command::LabelManagerConnect => {
            let proto = r.u8("proto")?;
            let instance = r.u16("instance")?;
            if r.is_empty() {
                Message::LabelManagerConnect(LabelManagerConnect { proto, instance })
            } else {
                let result = r.u8("result")?;
                Message::LabelManagerConnectReply(LabelManagerConnectReply {
                    proto,
                    instance,
                    result,
                })
            }
        }
        Command::LabelManagerConnectAsync => {
            Message::LabelManagerConnectAsync(LabelManagerConnect {
                proto: r.u8("proto")?,
                instance: r.u16("instance")?,
            })
        }
        Command::GetLabelChunk => Message::GetLabelChunk(LabelChunk {
            proto: r.u8("proto")?,
            instance: r.u16("instance")?,
            session_id: r.u32("session_id")?,
            keep: r.u8("keep")?,
            size_or_start: r.u32("size_or_start")?,
            base_or_end: r.u32("base_or_end")?,
        }),
        Command::VrfAdd => Message::VrfAdd(vrf(&mut r)?),
        Command::VrfDelete => Message::VrfDelete(vrf(&mut r)?),
        Command::Error => Message::Error(ZebraErrorCode(r.u32_host("error")?)),
        Command::ClientCapabilities => Message::ClientCapabilities(client_capabilities(&mut r)?),
        Command::RouteNotifyRequest => Message::RouteNotifyRequest {
            request: r.u8("request")?,
        },
        Command::RouteNotifyOwner => Message::RouteNotifyOwner(route_notify_owner(&mut r)?),
    };
    r.finish()?;
    Ok(msg)
}

fn hello(profile: Profile, r: &mut Reader<'_>) -> Result<Hello, DecodeError> {
    let route_type = r.u8("route_type")?;
    if !profile.is_frr() {
        return Ok(Hello {
            route_type,
            ..Hello::default()
        });
    }
    Ok(Hello {
        route_type,
        instance: r.u16("instance")?,
        session_id: r.u32("session_id")?,
        receive_notify: profile.hello_has_receive_notify() && r.bool("receive_notify")?,
        synchronous: r.bool("synchronous")?,
    })
}

/// A NUL-padded fixed-size name field.
fn fixed_name(r: &mut Reader<'_>, field: &'static str, size: usize) -> Result<String, DecodeError> {
    let at = r.offset();
    let raw = r.bytes(field, size)?;
    let end = raw.iter().position(|&b| b == 0).unwrap_or(raw.len());
    if end == raw.len() {
        return Err(r.invalid(field, at, size as u64, "name is not NUL-terminated"));
    }
    let name = raw.get(..end).unwrap_or(&[]);
    match std::str::from_utf8(name) {
        Ok(s) => Ok(s.to_owned()),
        Err(e) => Err(r.invalid(field, at + e.valid_up_to(), 0, "name is not UTF-8")),
    }
}

fn interface(profile: Profile, r: &mut Reader<'_>) -> Result<InterfaceInfo, DecodeError> {
    let name = fixed_name(r, "name", profile.interface_name_size())?;
    let ifindex = r.u32("ifindex")?;
    let status = r.u8("status")?;
    let flags = r.u64("flags")?;
    let frr = profile.is_frr();
    let (ptm_enable, ptm_status) = if frr {
        (r.u8("ptm_enable")?, r.u8("ptm_status")?)
    } else {
        (0, 0)
    };
    let metric = r.u32("metric")?;
    let speed = if frr { r.u32("speed")? } else { 0 };
    let txqlen = if profile.interface_has_txqlen() {
        r.u32("txqlen")?
    } else {
        0
    };
    let mtu = r.u32("mtu")?;
    let mtu6 = r.u32("mtu6")?;
    let bandwidth = r.u32("bandwidth")?;
    let link_ifindex = if frr { r.u32("link_ifindex")? } else { 0 };
    let ll_type = if profile.interface_has_link_layer() {
        r.u32("ll_type")?
    } else {
        0
    };
    let at = r.offset();
    let hw_len = r.u32("hw_addr_len")?;
    if hw_len > 20 {
        return Err(r.invalid(
            "hw_addr_len",
            at,
            hw_len.into(),
            "more than INTERFACE_HWADDR_MAX (20)",
        ));
    }
    let hw_addr = r.bytes("hw_addr", hw_len as usize)?.to_vec();
    let link_params = if !profile.interface_has_link_layer() {
        None
    } else {
        let at = r.offset();
        match r.u8("link_params_present")? {
            0 => None,
            1 => Some(r.take_rest().to_vec()),
            v => return Err(r.invalid("link_params_present", at, v.into(), "must be 0 or 1")),
        }
    };
    Ok(InterfaceInfo {
        name,
        ifindex,
        status,
        flags,
        ptm_enable,
        ptm_status,
        metric,
        speed,
        txqlen,
        mtu,
        mtu6,
        bandwidth,
        link_ifindex,
        ll_type,
        hw_addr,
        link_params,
    })
}

/// `family u8` as used by address, router-id and route messages.
pub(crate) fn family_u8(r: &mut Reader<'_>) -> Result<bool, DecodeError> {
    let at = r.offset();
    match r.u8("family")? {
        2 => Ok(false),
        10 => Ok(true),
        v => Err(r.invalid("family", at, v.into(), "not AF_INET (2) or AF_INET6 (10)")),
    }
}

pub(crate) fn full_addr(
    r: &mut Reader<'_>,
    v6: bool,
    field: &'static str,
) -> Result<IpAddr, DecodeError> {
    Ok(if v6 {
        IpAddr::V6(r.ipv6(field)?)
    } else {
        IpAddr::V4(r.ipv4(field)?)
    })
}

pub(crate) fn make_prefix(
    r: &Reader<'_>,
    addr: IpAddr,
    plen: u8,
    at: usize,
) -> Result<IpNetwork, DecodeError> {
    IpNetwork::new(addr, plen)
        .map_err(|_| r.invalid("prefixlen", at, plen.into(), "longer than the address"))
}

/// `family u8 | addr (4/16) | plen u8` (ROUTER_ID_UPDATE).
fn family_addr_plen(r: &mut Reader<'_>) -> Result<IpNetwork, DecodeError> {
    let v6 = family_u8(r)?;
    let addr = full_addr(r, v6, "prefix")?;
    let at = r.offset();
    let plen = r.u8("prefixlen")?;
    make_prefix(r, addr, plen, at)
}

fn interface_address(r: &mut Reader<'_>) -> Result<InterfaceAddress, DecodeError> {
    let ifindex = r.u32("ifindex")?;
    let flags = r.u8("flags")?;
    let prefix = family_addr_plen(r)?;
    let dest = full_addr(r, prefix.is_ipv6(), "destination")?;
    let destination = (!dest.is_unspecified()).then_some(dest);
    Ok(InterfaceAddress {
        ifindex,
        flags,
        prefix,
        destination,
    })
}

fn router_id_request(r: &mut Reader<'_>) -> Result<RouterIdRequest, DecodeError> {
    let afi = if r.is_empty() {
        None
    } else {
        Some(r.u16("afi")?)
    };
    Ok(RouterIdRequest { afi })
}

/// `family u16 | plen u8 | full address`, as in NHT messages. `None` for family 0.
fn nht_prefix(r: &mut Reader<'_>, allow_unspec: bool) -> Result<Option<IpNetwork>, DecodeError> {
    let at = r.offset();
    let family = r.u16("family")?;
    let plen_at = r.offset();
    let plen = r.u8("prefixlen")?;
    let v6 = match family {
        AF_INET => false,
        AF_INET6 => true,
        0 if allow_unspec => {
            if plen != 0 {
                return Err(r.invalid(
                    "prefixlen",
                    plen_at,
                    plen.into(),
                    "AF_UNSPEC prefix must be /0",
                ));
            }
            return Ok(None);
        }
        v => return Err(r.invalid("family", at, v.into(), "not AF_INET (2) or AF_INET6 (10)")),
    };
    let addr = full_addr(r, v6, "prefix")?;
    make_prefix(r, addr, plen, plen_at).map(Some)
}

fn registrations(
    profile: Profile,
    r: &mut Reader<'_>,
) -> Result<Vec<NexthopRegistration>, DecodeError> {
    // Smallest entry: FRR 1+1+2+2+1+4 = 11 bytes, Quagga 1+2+1+4 = 8 bytes.
    let min = if profile.is_frr() { 11 } else { 8 };
    let mut out = Vec::with_capacity(r.remaining() / min);
    while !r.is_empty() {
        let connected = r.bool("connected")?;
        let (resolve_via_default, safi) = if profile.is_frr() {
            (r.bool("resolve_via_default")?, r.u16("safi")?)
        } else {
            (false, 0)
        };
        let prefix = match nht_prefix(r, false)? {
            Some(p) => p,
            None => return Err(r.invalid("family", r.offset(), 0, "AF_UNSPEC registration")),
        };
        out.push(NexthopRegistration {
            connected,
            resolve_via_default,
            safi,
            prefix,
        });
    }
    Ok(out)
}

fn nexthop_update(profile: Profile, r: &mut Reader<'_>) -> Result<NexthopUpdate, DecodeError> {
    let at = r.offset();
    let message = r.u32("message")?;
    if message & !crate::route::route_message::SRTE != 0 {
        return Err(r.invalid(
            "message",
            at,
            message.into(),
            "only ZAPI_MESSAGE_SRTE is defined here",
        ));
    }
    let safi = r.u16("safi")?;
    let prefix = match nht_prefix(r, false)? {
        Some(p) => p,
        None => return Err(r.invalid("family", at, 0, "AF_UNSPEC match prefix")),
    };
    let resolved = nht_prefix(r, true)?;
    let srte_color = if message & crate::route::route_message::SRTE != 0 {
        Some(r.u32("srte_color")?)
    } else {
        None
    };
    let route_type = r.u8("route_type")?;
    let instance = r.u16("instance")?;
    let distance = r.u8("distance")?;
    let metric = r.u32("metric")?;
    let count = if profile.nexthop_update_count_size() == 2 {
        r.u16("nexthop_num")?
    } else {
        r.u8("nexthop_num")?.into()
    };
    r.check_count("nexthops", count.into(), 7)?;
    let mut nexthops = Nexthops::new();
    for _ in 0..count {
        nexthops.push(nexthop(profile, r, false)?);
    }
    Ok(NexthopUpdate {
        safi,
        prefix,
        resolved,
        srte_color,
        route_type,
        instance,
        distance,
        metric,
        nexthops,
    })
}

pub(crate) fn old_nexthop_list(r: &mut Reader<'_>) -> Result<OldNexthops, DecodeError> {
    let count = r.u8("nexthop_num")?;
    r.check_count("nexthops", count.into(), 1)?;
    let mut out = OldNexthops::new();
    for _ in 0..count {
        out.push(old_nexthop(r)?);
    }
    Ok(out)
}

fn old_nexthop_update(r: &mut Reader<'_>) -> Result<OldNexthopUpdate, DecodeError> {
    let at = r.offset();
    let Some(prefix) = nht_prefix(r, false)? else {
        return Err(r.invalid("family", at, 0, "AF_UNSPEC prefix"));
    };
    let metric = r.u32("metric")?;
    let nexthops = old_nexthop_list(r)?;
    Ok(OldNexthopUpdate {
        prefix,
        metric,
        nexthops,
    })
}

fn redistribute(profile: Profile, r: &mut Reader<'_>) -> Result<Redistribute, DecodeError> {
    if profile.is_frr() {
        Ok(Redistribute {
            afi: Some(r.u8("afi")?),
            route_type: r.u8("route_type")?,
            instance: r.u16("instance")?,
        })
    } else {
        Ok(Redistribute {
            afi: None,
            route_type: r.u8("route_type")?,
            instance: 0,
        })
    }
}

fn redistribute_default(r: &mut Reader<'_>) -> Result<RedistributeDefault, DecodeError> {
    let afi = if r.is_empty() {
        None
    } else {
        Some(r.u8("afi")?)
    };
    Ok(RedistributeDefault { afi })
}

fn vrf(r: &mut Reader<'_>) -> Result<VrfInfo, DecodeError> {
    let table_id = r.u32_host("table_id")?;
    let netns_name = fixed_name(r, "netns_name", 36)?;
    let name = fixed_name(r, "name", 36)?;
    Ok(VrfInfo {
        table_id,
        netns_name,
        name,
    })
}

fn client_capabilities(r: &mut Reader<'_>) -> Result<ClientCapabilities, DecodeError> {
    let cap = r.u32("cap")?;
    Ok(match cap {
        1 => ClientCapabilities::GrCapabilities {
            stale_removal_time: r.u32("stale_removal_time")?,
            vrf_id: r.u32("vrf_id")?,
        },
        2 => ClientCapabilities::RouteUpdateComplete {
            afi: r.u32("afi")?,
            safi: r.u32("safi")?,
            vrf_id: r.u32("vrf_id")?,
        },
        3 => ClientCapabilities::RouteUpdatePending {
            afi: r.u32("afi")?,
            safi: r.u32("safi")?,
            vrf_id: r.u32("vrf_id")?,
        },
        4 => ClientCapabilities::GrDisable {
            vrf_id: r.u32("vrf_id")?,
        },
        5 => ClientCapabilities::RibStaleTime {
            stale_removal_time: r.u32("stale_removal_time")?,
            vrf_id: r.u32("vrf_id")?,
        },
        _ => ClientCapabilities::Other {
            cap,
            rest: r.take_rest().to_vec(),
        },
    })
}

fn route_notify_owner(r: &mut Reader<'_>) -> Result<RouteNotifyOwner, DecodeError> {
    let note = r.u32_host("note")?;
    let v6 = family_u8(r)?;
    let at = r.offset();
    let plen = r.u8("prefixlen")?;
    let addr = full_addr(r, v6, "prefix")?;
    let prefix = make_prefix(r, addr, plen, at)?;
    Ok(RouteNotifyOwner {
        note,
        prefix,
        table_id: r.u32("table_id")?,
        afi: r.u8("afi")?,
        safi: r.u8("safi")?,
    })
}
