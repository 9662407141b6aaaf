//! Encoders for route bodies: FRR `zapi_route`/`zapi_nexthop` and Quagga's old-style routes.

use bytes::{BufMut, BytesMut};

use crate::decode_route::SRV6_MAX_SIDS;
use crate::encode::put_family_u8;
use crate::error::EncodeError;
use crate::profile::{Profile, Seg6LocalContext};
use crate::route::{
    NexthopTarget, OldNexthop, OldRoute, Seg6Local, ZapiNexthop, ZapiRoute, MPLS_MAX_LABELS,
    NEXTHOP_MAX_BACKUPS, ZAPI_OPAQUE_MAX,
};

/// The first `ceil(plen/8)` bytes of the address.
fn put_short_prefix(addr: std::net::IpAddr, plen: u8, dst: &mut BytesMut) {
    let n = usize::from(plen).div_ceil(8);
    match addr {
        std::net::IpAddr::V4(a) => dst.put_slice(a.octets().get(..n).unwrap_or(&[])),
        std::net::IpAddr::V6(a) => dst.put_slice(a.octets().get(..n).unwrap_or(&[])),
    }
}

fn not_in(command: &'static str, field: &'static str, profile: Profile) -> EncodeError {
    EncodeError::FieldNotInProfile {
        command,
        field,
        profile,
    }
}

fn invalid(command: &'static str, field: &'static str, reason: &'static str) -> EncodeError {
    EncodeError::InvalidField {
        command,
        field,
        reason,
    }
}

pub(crate) fn zapi_nexthop(
    profile: Profile,
    cmd: &'static str,
    nh: &ZapiNexthop,
    srte: bool,
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    dst.put_u32(nh.vrf_id);
    dst.put_u8(nh.target.type_number());
    dst.put_u8(nh.wire_flags());
    match nh.target {
        NexthopTarget::Ifindex(i) => dst.put_u32(i),
        NexthopTarget::Ipv4 { gate, ifindex } | NexthopTarget::Ipv4Ifindex { gate, ifindex } => {
            dst.put_slice(&gate.octets());
            dst.put_u32(ifindex);
        }
        NexthopTarget::Ipv6 { gate, ifindex } | NexthopTarget::Ipv6Ifindex { gate, ifindex } => {
            dst.put_slice(&gate.octets());
            dst.put_u32(ifindex);
        }
        NexthopTarget::Blackhole(t) => dst.put_u8(t),
    }
    if let Some(labels) = &nh.labels {
        if labels.len() > MPLS_MAX_LABELS {
            return Err(invalid(
                cmd,
                "nexthop.labels",
                "more than MPLS_MAX_LABELS (16)",
            ));
        }
        dst.put_u8(labels.len() as u8);
        if profile.nexthop_has_label_type() {
            dst.put_u8(nh.label_type);
        } else if nh.label_type != 0 {
            return Err(not_in(cmd, "nexthop.label_type", profile));
        }
        for l in labels {
            dst.put_u32_ne(*l);
        }
    } else if nh.label_type != 0 {
        return Err(invalid(
            cmd,
            "nexthop.label_type",
            "label type without labels",
        ));
    }
    if let Some(w) = nh.weight {
        if profile.nexthop_weight_size() == 8 {
            dst.put_u64(w);
        } else {
            let w = u32::try_from(w)
                .map_err(|_| invalid(cmd, "nexthop.weight", "more than 32 bits in this profile"))?;
            dst.put_u32(w);
        }
    }
    let extras = nh.extras.as_deref();
    if let Some(mac) = extras.and_then(|x| x.rmac) {
        dst.put_slice(&mac);
    }
    match (srte, nh.srte_color) {
        (true, Some(c)) => dst.put_u32(c),
        (false, None) => {}
        (true, None) => {
            return Err(invalid(
                cmd,
                "nexthop.srte_color",
                "route has SRTE but the nexthop no colour",
            ))
        }
        (false, Some(_)) => {
            return Err(invalid(
                cmd,
                "nexthop.srte_color",
                "colour without the route's SRTE bit",
            ))
        }
    }
    if let Some(b) = extras.and_then(|x| x.backup_indexes.as_ref()) {
        if b.len() > NEXTHOP_MAX_BACKUPS {
            return Err(invalid(
                cmd,
                "nexthop.backup_indexes",
                "more than NEXTHOP_MAX_BACKUPS (8)",
            ));
        }
        dst.put_u8(b.len() as u8);
        dst.put_slice(b);
    }
    if let Some(s) = extras.and_then(|x| x.seg6local.as_ref()) {
        seg6local(profile, cmd, s, dst)?;
    }
    if let Some(segs) = extras.and_then(|x| x.seg6_segs.as_ref()) {
        if profile.nexthop_seg6_is_list() {
            if segs.len() > SRV6_MAX_SIDS {
                return Err(invalid(
                    cmd,
                    "nexthop.seg6_segs",
                    "more than SRV6_MAX_SIDS (16)",
                ));
            }
            dst.put_u8(segs.len() as u8);
        } else if segs.len() != 1 {
            return Err(invalid(
                cmd,
                "nexthop.seg6_segs",
                "exactly one segment in this profile",
            ));
        }
        for seg in segs {
            dst.put_slice(&seg.octets());
        }
    }
    Ok(())
}

fn seg6local(
    profile: Profile,
    cmd: &'static str,
    s: &Seg6Local,
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    let ctx = profile.seg6local_context();
    if ctx == Seg6LocalContext::Plain
        && (s.flv_ops != 0 || s.lcblock_len != 0 || s.lcnode_func_len != 0)
    {
        return Err(not_in(cmd, "nexthop.seg6local.flavors", profile));
    }
    if ctx != Seg6LocalContext::FlavorsAndStructure && s.sid_structure != [0; 4] {
        return Err(not_in(cmd, "nexthop.seg6local.sid_structure", profile));
    }
    dst.put_u32(s.action);
    dst.put_slice(&s.nh4.octets());
    dst.put_slice(&s.nh6.octets());
    dst.put_u32_ne(s.table);
    if ctx != Seg6LocalContext::Plain {
        dst.put_u32_ne(s.flv_ops);
        dst.put_u8(s.lcblock_len);
        dst.put_u8(s.lcnode_func_len);
        dst.put_bytes(0, 2);
    }
    if ctx == Seg6LocalContext::FlavorsAndStructure {
        dst.put_slice(&s.sid_structure);
    }
    Ok(())
}

pub(crate) fn zapi_route(
    profile: Profile,
    cmd: &'static str,
    rt: &ZapiRoute,
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    dst.put_u8(rt.route_type);
    dst.put_u16(rt.instance);
    dst.put_u32(rt.flags);
    dst.put_u32(rt.wire_message());
    dst.put_u8(rt.safi);
    put_family_u8(rt.prefix, dst);
    dst.put_u8(rt.prefix.prefix());
    put_short_prefix(rt.prefix.ip(), rt.prefix.prefix(), dst);
    if let Some((plen, addr)) = rt.src_prefix {
        if plen > 128 {
            return Err(invalid(cmd, "src_prefix", "prefix length above 128"));
        }
        dst.put_u8(plen);
        put_short_prefix(addr.into(), plen, dst);
    }
    if let Some(id) = rt.nhg_id {
        dst.put_u32(id);
    }
    if let Some(nhs) = &rt.nexthops {
        let n =
            u16::try_from(nhs.len()).map_err(|_| invalid(cmd, "nexthops", "more than 65535"))?;
        dst.put_u16(n);
        for nh in nhs {
            zapi_nexthop(profile, cmd, nh, rt.srte, dst)?;
        }
    }
    if let Some(nhs) = &rt.backup_nexthops {
        let n = u16::try_from(nhs.len())
            .map_err(|_| invalid(cmd, "backup_nexthops", "more than 65535"))?;
        dst.put_u16(n);
        for nh in nhs {
            zapi_nexthop(profile, cmd, nh, rt.srte, dst)?;
        }
    }
    if let Some(d) = rt.distance {
        dst.put_u8(d);
    }
    if let Some(m) = rt.metric {
        dst.put_u32(m);
    }
    if let Some(t) = rt.tag {
        dst.put_u32(t);
    }
    if let Some(m) = rt.mtu {
        dst.put_u32(m);
    }
    if let Some(t) = rt.table_id {
        dst.put_u32(t);
    }
    if let Some(o) = &rt.opaque {
        if o.len() > ZAPI_OPAQUE_MAX {
            return Err(invalid(
                cmd,
                "opaque",
                "longer than ZAPI_MESSAGE_OPAQUE_LENGTH (1024)",
            ));
        }
        dst.put_u16(o.len() as u16);
        dst.put_slice(o);
    }
    Ok(())
}

pub(crate) fn old_nexthop(nh: &OldNexthop, dst: &mut BytesMut) {
    dst.put_u8(nh.type_number());
    match *nh {
        OldNexthop::Ifindex(i) => dst.put_u32(i),
        OldNexthop::Ipv4(a) => dst.put_slice(&a.octets()),
        OldNexthop::Ipv4Ifindex(a, i) => {
            dst.put_slice(&a.octets());
            dst.put_u32(i);
        }
        OldNexthop::Ipv6(a) => dst.put_slice(&a.octets()),
        OldNexthop::Ipv6Ifindex(a, i) => {
            dst.put_slice(&a.octets());
            dst.put_u32(i);
        }
        OldNexthop::Blackhole => {}
    }
}

pub(crate) fn old_route(
    profile: Profile,
    cmd: &'static str,
    v6: bool,
    rt: &OldRoute,
    dst: &mut BytesMut,
) -> Result<(), EncodeError> {
    if rt.prefix.is_ipv6() != v6 {
        return Err(invalid(cmd, "prefix", "family does not match the command"));
    }
    if !profile.old_route_has_mtu_tag() && (rt.mtu.is_some() || rt.tag.is_some()) {
        return Err(EncodeError::FieldNotInProfile {
            command: cmd,
            field: "mtu/tag",
            profile,
        });
    }
    dst.put_u8(rt.route_type);
    dst.put_u8(rt.flags);
    dst.put_u8(rt.wire_message());
    dst.put_u16(rt.safi);
    dst.put_u8(rt.prefix.prefix());
    put_short_prefix(rt.prefix.ip(), rt.prefix.prefix(), dst);
    if let Some(nhs) = &rt.nexthops {
        let n = u8::try_from(nhs.len()).map_err(|_| invalid(cmd, "nexthops", "more than 255"))?;
        dst.put_u8(n);
        for nh in nhs {
            old_nexthop(nh, dst);
        }
    }
    if let Some(d) = rt.distance {
        dst.put_u8(d);
    }
    if let Some(m) = rt.metric {
        dst.put_u32(m);
    }
    // Quagga 1.x order: MTU before TAG.
    if let Some(m) = rt.mtu {
        dst.put_u32(m);
    }
    if let Some(t) = rt.tag {
        dst.put_u32(t);
    }
    Ok(())
}
