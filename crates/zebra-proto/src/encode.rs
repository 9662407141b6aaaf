//! Encoders: one frame per message into a `BytesMut`.

use std::net::IpAddr;

use bytes::{BufMut, BytesMut};
use ipnetwork::IpNetwork;

use crate::command::Command;
use crate::encode_route::{old_nexthop, old_route, zapi_nexthop, zapi_route};
use crate::error::EncodeError;
use crate::header::Header;
use crate::message::*;
use crate::profile::Profile;

/// Append one frame (header + body) for `message` to `dst`.
///
/// `vrf_id` goes in the header (must be 0 for Quagga v2 and fit 16 bits for v3). On error
/// nothing is appended. Errors: the command or one of its fields does not exist in the profile,
/// a field is out of range, or the frame would exceed the profile's maximum size.
pub fn encode(
    profile: Profile,
    vrf_id: u32,
    message: &Message,
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    let start = dst.len();
    let result = encode_inner(profile, vrf_id, message, dst, start);
    if result.is_err() {
        dst.truncate(start);
    }
    result
}

fn encode_inner(
    profile: Profile,
    vrf_id: u32,
    message: &Message,
    dst: &mut BytesMut,
    start: usize,
) -> Result<(), EncodeError> {
    let name = message.name();
    let number = match (message, message.command()) {
        (Message::Unknown { command, .. }, _) => {
            // A number the profile types would decode as that command, not as `Unknown`.
            if let Some(typed) = profile.command(*command) {
                return Err(EncodeError::UnknownIsTyped {
                    number: *command,
                    command: typed.name(),
                    profile,
                });
            }
            *command
        }
        (_, Some(cmd)) => {
            check_variant(profile, message, cmd)?;
            profile
                .command_number(cmd)
                .ok_or(EncodeError::CommandNotInProfile {
                    command: cmd.name(),
                    profile,
                })?
        }
        (_, None) => {
            return Err(EncodeError::CommandNotInProfile {
                command: name,
                profile,
            })
        }
    };
    Header::put(profile, vrf_id, number, dst)?;
    body(profile, message, dst)?;
    let length = dst.len() - start;
    let max = profile.max_frame_size();
    if length > max {
        return Err(EncodeError::FrameTooLarge {
            command: name,
            length,
            max,
            profile,
        });
    }
    let len16 = u16::try_from(length).map_err(|_| EncodeError::FrameTooLarge {
        command: name,
        length,
        max,
        profile,
    })?;
    if let Some(slot) = dst.get_mut(start..start + 2) {
        slot.copy_from_slice(&len16.to_be_bytes());
    }
    Ok(())
}

/// Reject variants whose layout belongs to another profile family.
fn check_variant(profile: Profile, message: &Message, cmd: Command) -> Result<(), EncodeError> {
    let frr_only = matches!(message, Message::NexthopUpdate(_));
    let quagga_only = matches!(message, Message::OldNexthopUpdate(_));
    if (frr_only && !profile.is_frr()) || (quagga_only && profile.is_frr()) {
        return Err(EncodeError::FieldNotInProfile {
            command: cmd.name(),
            field: "layout",
            profile,
        });
    }
    Ok(())
}

fn not_in(command: &'static str, field: &'static str, profile: Profile) -> EncodeError {
    EncodeError::FieldNotInProfile {
        command,
        field,
        profile,
    }
}

fn body(profile: Profile, message: &Message, dst: &mut BytesMut) -> Result<(), EncodeError> {
    let cmd = message.name();
    match message {
        Message::Hello(h) => {
            dst.put_u8(h.route_type);
            if profile.is_frr() {
                dst.put_u16(h.instance);
                dst.put_u32(h.session_id);
                if profile.hello_has_receive_notify() {
                    dst.put_u8(h.receive_notify.into());
                } else if h.receive_notify {
                    return Err(not_in(cmd, "receive_notify", profile));
                }
                dst.put_u8(h.synchronous.into());
            } else if h.instance != 0 || h.session_id != 0 || h.receive_notify || h.synchronous {
                return Err(not_in(
                    cmd,
                    "instance/session_id/receive_notify/synchronous",
                    profile,
                ));
            }
        }
        Message::InterfaceAddRequest | Message::InterfaceDeleteRequest => {}
        Message::InterfaceAdd(i)
        | Message::InterfaceDelete(i)
        | Message::InterfaceUp(i)
        | Message::InterfaceDown(i) => interface(profile, cmd, i, dst)?,
        Message::InterfaceAddressAdd(a) | Message::InterfaceAddressDelete(a) => {
            interface_address(cmd, a, dst)?
        }
        Message::RouterIdAdd(req) | Message::RouterIdDelete(req) => {
            if let Some(afi) = req.afi {
                dst.put_u16(afi);
            }
        }
        Message::RouterIdUpdate(u) => {
            put_family_u8(u.prefix, dst);
            put_addr(u.prefix.ip(), dst);
            dst.put_u8(u.prefix.prefix());
        }
        Message::Capabilities(c) => {
            dst.put_u32(c.vrf_backend);
            dst.put_u8(c.mpls.into());
            dst.put_u32(c.multipath);
            dst.put_u8(c.mlag_role);
            if profile.capabilities_has_v6_with_v4_nexthop() {
                dst.put_u8(c.v6_with_v4_nexthop.into());
            } else if c.v6_with_v4_nexthop {
                return Err(not_in(cmd, "v6_with_v4_nexthop", profile));
            }
            if profile.capabilities_has_graceful_restart() {
                dst.put_u8(c.graceful_restart.into());
            } else if c.graceful_restart {
                return Err(not_in(cmd, "graceful_restart", profile));
            }
        }
        Message::NexthopRegister(list) | Message::NexthopUnregister(list) => {
            for e in list {
                dst.put_u8(e.connected.into());
                if profile.is_frr() {
                    dst.put_u8(e.resolve_via_default.into());
                    dst.put_u16(e.safi);
                } else if e.resolve_via_default || e.safi != 0 {
                    return Err(not_in(cmd, "resolve_via_default/safi", profile));
                }
                put_nht_prefix(Some(e.prefix), dst);
            }
        }
        Message::NexthopUpdate(u) => {
            dst.put_u32(if u.srte_color.is_some() {
                crate::route::route_message::SRTE
            } else {
                0
            });
            dst.put_u16(u.safi);
            put_nht_prefix(Some(u.prefix), dst);
            put_nht_prefix(u.resolved, dst);
            if let Some(c) = u.srte_color {
                dst.put_u32(c);
            }
            dst.put_u8(u.route_type);
            dst.put_u16(u.instance);
            dst.put_u8(u.distance);
            dst.put_u32(u.metric);
            if profile.nexthop_update_count_size() == 2 {
                let n = u16::try_from(u.nexthops.len()).map_err(|_| EncodeError::InvalidField {
                    command: cmd,
                    field: "nexthops",
                    reason: "more than 65535",
                })?;
                dst.put_u16(n);
            } else {
                let n = u8::try_from(u.nexthops.len()).map_err(|_| EncodeError::InvalidField {
                    command: cmd,
                    field: "nexthops",
                    reason: "more than 255",
                })?;
                dst.put_u8(n);
            }
            for nh in &u.nexthops {
                if nh.srte_color.is_some() {
                    return Err(EncodeError::InvalidField {
                        command: cmd,
                        field: "nexthop.srte_color",
                        reason: "NHT nexthops carry no colour",
                    });
                }
                zapi_nexthop(profile, cmd, nh, false, dst)?;
            }
        }
        Message::OldNexthopUpdate(u) => {
            put_nht_prefix(Some(u.prefix), dst);
            dst.put_u32(u.metric);
            put_old_nexthops(cmd, &u.nexthops, dst)?;
        }
        Message::RouteAdd(rt)
        | Message::RouteDelete(rt)
        | Message::RedistributeRouteAdd(rt)
        | Message::RedistributeRouteDel(rt) => zapi_route(profile, cmd, rt, dst)?,
        Message::Ipv4RouteAdd(rt) | Message::Ipv4RouteDelete(rt) => {
            old_route(profile, cmd, false, rt, dst)?
        }
        Message::Ipv6RouteAdd(rt) | Message::Ipv6RouteDelete(rt) => {
            old_route(profile, cmd, true, rt, dst)?
        }
        Message::Ipv4NexthopLookup(addr) => dst.put_slice(&addr.octets()),
        Message::Ipv4NexthopLookupReply(rep) => {
            dst.put_slice(&rep.addr.octets());
            dst.put_u32(rep.metric);
            put_old_nexthops(cmd, &rep.nexthops, dst)?;
        }
        Message::RedistributeAdd(rd) | Message::RedistributeDelete(rd) => {
            if profile.is_frr() {
                let afi = rd.afi.ok_or(EncodeError::InvalidField {
                    command: cmd,
                    field: "afi",
                    reason: "FRR needs an AFI",
                })?;
                dst.put_u8(afi);
                dst.put_u8(rd.route_type);
                dst.put_u16(rd.instance);
            } else {
                if rd.afi.is_some() || rd.instance != 0 {
                    return Err(not_in(cmd, "afi/instance", profile));
                }
                dst.put_u8(rd.route_type);
            }
        }
        Message::RedistributeDefaultAdd(rd) | Message::RedistributeDefaultDelete(rd) => {
            if let Some(afi) = rd.afi {
                dst.put_u8(afi);
            }
        }
        Message::BfdClientRegister { pid } => dst.put_u32(*pid),
        Message::LabelManagerConnect(c) | Message::LabelManagerConnectAsync(c) => {
            dst.put_u8(c.proto);
            dst.put_u16(c.instance);
        }
        Message::LabelManagerConnectReply(c) => {
            dst.put_u8(c.proto);
            dst.put_u16(c.instance);
            dst.put_u8(c.result);
        }
        Message::GetLabelChunk(c) => {
            dst.put_u8(c.proto);
            dst.put_u16(c.instance);
            dst.put_u32(c.session_id);
            dst.put_u8(c.keep);
            dst.put_u32(c.size_or_start);
            dst.put_u32(c.base_or_end);
        }
        Message::VrfAdd(v) | Message::VrfDelete(v) => {
            dst.put_u32_ne(v.table_id);
            put_fixed_name(cmd, "netns_name", &v.netns_name, 36, dst)?;
            put_fixed_name(cmd, "name", &v.name, 36, dst)?;
        }
        Message::Error(code) => dst.put_u32_ne(code.0),
        Message::ClientCapabilities(c) => client_capabilities(cmd, c, dst)?,
        Message::RouteNotifyRequest { request } => dst.put_u8(*request),
        Message::RouteNotifyOwner(n) => {
            dst.put_u32_ne(n.note);
            put_family_u8(n.prefix, dst);
            dst.put_u8(n.prefix.prefix());
            put_addr(n.prefix.ip(), dst);
            dst.put_u32(n.table_id);
            dst.put_u8(n.afi);
            dst.put_u8(n.safi);
        }
        Message::Unknown { body, .. } => dst.put_slice(body),
    }
    Ok(())
}

pub(crate) fn put_family_u8(p: IpNetwork, dst: &mut BytesMut) {
    dst.put_u8(if p.is_ipv6() { 10 } else { 2 });
}

pub(crate) fn put_addr(a: IpAddr, dst: &mut BytesMut) {
    match a {
        IpAddr::V4(a) => dst.put_slice(&a.octets()),
        IpAddr::V6(a) => dst.put_slice(&a.octets()),
    }
}

/// `family u16 | plen u8 | full address`, or AF_UNSPEC /0 for `None`.
fn put_nht_prefix(p: Option<IpNetwork>, dst: &mut BytesMut) {
    match p {
        Some(p) => {
            dst.put_u16(if p.is_ipv6() { 10 } else { 2 });
            dst.put_u8(p.prefix());
            put_addr(p.ip(), dst);
        }
        None => {
            dst.put_u16(0);
            dst.put_u8(0);
        }
    }
}

fn put_old_nexthops(
    cmd: &'static str,
    list: &[crate::route::OldNexthop],
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    let n = u8::try_from(list.len()).map_err(|_| EncodeError::InvalidField {
        command: cmd,
        field: "nexthops",
        reason: "more than 255",
    })?;
    dst.put_u8(n);
    for nh in list {
        old_nexthop(nh, dst);
    }
    Ok(())
}

fn put_fixed_name(
    cmd: &'static str,
    field: &'static str,
    name: &str,
    size: usize,
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    let b = name.as_bytes();
    if b.len() >= size {
        return Err(EncodeError::InvalidField {
            command: cmd,
            field,
            reason: "name too long for its fixed-size field",
        });
    }
    if b.contains(&0) {
        return Err(EncodeError::InvalidField {
            command: cmd,
            field,
            reason: "name contains NUL",
        });
    }
    dst.put_slice(b);
    dst.put_bytes(0, size - b.len());
    Ok(())
}

fn interface(
    profile: Profile,
    cmd: &'static str,
    i: &InterfaceInfo,
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    let frr = profile.is_frr();
    if !frr && (i.ptm_enable != 0 || i.ptm_status != 0 || i.speed != 0 || i.link_ifindex != 0) {
        return Err(not_in(
            cmd,
            "ptm_enable/ptm_status/speed/link_ifindex",
            profile,
        ));
    }
    if !profile.interface_has_link_layer() && (i.ll_type != 0 || i.link_params.is_some()) {
        return Err(not_in(cmd, "ll_type/link_params", profile));
    }
    if i.hw_addr.len() > 20 {
        return Err(EncodeError::InvalidField {
            command: cmd,
            field: "hw_addr",
            reason: "longer than 20 bytes",
        });
    }
    put_fixed_name(cmd, "name", &i.name, profile.interface_name_size(), dst)?;
    dst.put_u32(i.ifindex);
    dst.put_u8(i.status);
    dst.put_u64(i.flags);
    if frr {
        dst.put_u8(i.ptm_enable);
        dst.put_u8(i.ptm_status);
    }
    dst.put_u32(i.metric);
    if frr {
        dst.put_u32(i.speed);
    }
    if profile.interface_has_txqlen() {
        dst.put_u32(i.txqlen);
    } else if i.txqlen != 0 {
        return Err(not_in(cmd, "txqlen", profile));
    }
    dst.put_u32(i.mtu);
    dst.put_u32(i.mtu6);
    dst.put_u32(i.bandwidth);
    if frr {
        dst.put_u32(i.link_ifindex);
    }
    if profile.interface_has_link_layer() {
        dst.put_u32(i.ll_type);
    }
    dst.put_u32(i.hw_addr.len() as u32);
    dst.put_slice(&i.hw_addr);
    if profile.interface_has_link_layer() {
        match &i.link_params {
            None => dst.put_u8(0),
            Some(lp) => {
                dst.put_u8(1);
                dst.put_slice(lp);
            }
        }
    }
    Ok(())
}

fn interface_address(
    cmd: &'static str,
    a: &InterfaceAddress,
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    dst.put_u32(a.ifindex);
    dst.put_u8(a.flags);
    put_family_u8(a.prefix, dst);
    put_addr(a.prefix.ip(), dst);
    dst.put_u8(a.prefix.prefix());
    match a.destination {
        None => dst.put_bytes(0, if a.prefix.is_ipv6() { 16 } else { 4 }),
        Some(d) => {
            if d.is_ipv6() != a.prefix.is_ipv6() {
                return Err(EncodeError::InvalidField {
                    command: cmd,
                    field: "destination",
                    reason: "family differs from the prefix's",
                });
            }
            put_addr(d, dst);
        }
    }
    Ok(())
}

fn client_capabilities(
    cmd: &'static str,
    c: &ClientCapabilities,
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    match *c {
        ClientCapabilities::GrCapabilities {
            stale_removal_time,
            vrf_id,
        } => {
            dst.put_u32(1);
            dst.put_u32(stale_removal_time);
            dst.put_u32(vrf_id);
        }
        ClientCapabilities::RouteUpdateComplete { afi, safi, vrf_id } => {
            dst.put_u32(2);
            dst.put_u32(afi);
            dst.put_u32(safi);
            dst.put_u32(vrf_id);
        }
        ClientCapabilities::RouteUpdatePending { afi, safi, vrf_id } => {
            dst.put_u32(3);
            dst.put_u32(afi);
            dst.put_u32(safi);
            dst.put_u32(vrf_id);
        }
        ClientCapabilities::GrDisable { vrf_id } => {
            dst.put_u32(4);
            dst.put_u32(vrf_id);
        }
        ClientCapabilities::RibStaleTime {
            stale_removal_time,
            vrf_id,
        } => {
            dst.put_u32(5);
            dst.put_u32(stale_removal_time);
            dst.put_u32(vrf_id);
        }
        ClientCapabilities::Other { cap, ref rest } => {
            if (1..=5).contains(&cap) {
                return Err(EncodeError::InvalidField {
                    command: cmd,
                    field: "cap",
                    reason: "codes 1-5 have typed variants",
                });
            }
            dst.put_u32(cap);
            dst.put_slice(rest);
        }
    }
    Ok(())
}
