//! Decoders for route bodies: FRR `zapi_route`/`zapi_nexthop` and Quagga's old-style routes.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::decode::{family_u8, make_prefix, old_nexthop_list};
use crate::error::DecodeError;
use crate::profile::{Profile, Seg6LocalContext};
use crate::route::{
    nexthop_flags as nf, old_message as om, route_message as rm, BackupIndexes, Labels,
    NexthopExtras, NexthopTarget, Nexthops, OldNexthop, OldRoute, Seg6Local, ZapiNexthop,
    ZapiRoute, MPLS_MAX_LABELS, NEXTHOP_MAX_BACKUPS, ZAPI_OPAQUE_MAX,
};
use crate::wire::Reader;

/// Smallest encoded `zapi_nexthop`: vrf 4 + type 1 + flags 1 + blackhole type 1.
const MIN_NEXTHOP: usize = 7;

/// `plen` then `ceil(plen/8)` address bytes, the rest zero.
fn short_prefix_addr(r: &mut Reader<'_>, v6: bool, plen: u8) -> Result<IpAddr, DecodeError> {
    let n = usize::from(plen).div_ceil(8);
    let bytes = r.bytes("prefix", n)?;
    Ok(if v6 {
        let mut a = [0u8; 16];
        if let Some(dst) = a.get_mut(..n) {
            dst.copy_from_slice(bytes);
        }
        IpAddr::V6(Ipv6Addr::from(a))
    } else {
        let mut a = [0u8; 4];
        if let Some(dst) = a.get_mut(..n) {
            dst.copy_from_slice(bytes);
        }
        IpAddr::V4(Ipv4Addr::from(a))
    })
}

fn check_plen(r: &Reader<'_>, plen: u8, v6: bool, at: usize) -> Result<(), DecodeError> {
    let max = if v6 { 128 } else { 32 };
    if plen > max {
        Err(r.invalid("prefixlen", at, plen.into(), "longer than the address"))
    } else {
        Ok(())
    }
}

/// One FRR `zapi_nexthop`; `srte` says whether the route carries ZAPI_MESSAGE_SRTE.
pub(crate) fn nexthop(
    profile: Profile,
    r: &mut Reader<'_>,
    srte: bool,
) -> Result<ZapiNexthop, DecodeError> {
    let vrf_id = r.u32("nexthop.vrf_id")?;
    let type_at = r.offset();
    let kind = r.u8("nexthop.type")?;
    let wire_flags = r.u8("nexthop.flags")?;
    let target = match kind {
        1 => NexthopTarget::Ifindex(r.u32("nexthop.ifindex")?),
        2 => NexthopTarget::Ipv4 {
            gate: r.ipv4("nexthop.gate")?,
            ifindex: r.u32("nexthop.ifindex")?,
        },
        3 => NexthopTarget::Ipv4Ifindex {
            gate: r.ipv4("nexthop.gate")?,
            ifindex: r.u32("nexthop.ifindex")?,
        },
        4 => NexthopTarget::Ipv6 {
            gate: r.ipv6("nexthop.gate")?,
            ifindex: r.u32("nexthop.ifindex")?,
        },
        5 => NexthopTarget::Ipv6Ifindex {
            gate: r.ipv6("nexthop.gate")?,
            ifindex: r.u32("nexthop.ifindex")?,
        },
        6 => NexthopTarget::Blackhole(r.u8("nexthop.bh_type")?),
        v => return Err(r.invalid("nexthop.type", type_at, v.into(), "unknown nexthop type")),
    };
    let mut label_type = 0;
    let labels = if wire_flags & nf::LABEL != 0 {
        let at = r.offset();
        let n = r.u8("nexthop.label_num")?;
        if usize::from(n) > MPLS_MAX_LABELS {
            return Err(r.invalid(
                "nexthop.label_num",
                at,
                n.into(),
                "more than MPLS_MAX_LABELS (16)",
            ));
        }
        if profile.nexthop_has_label_type() {
            label_type = r.u8("nexthop.label_type")?;
        }
        let mut labels = Labels::new();
        for _ in 0..n {
            labels.push(r.u32_host("nexthop.labels")?);
        }
        Some(labels)
    } else {
        None
    };
    let weight = if wire_flags & nf::WEIGHT == 0 {
        None
    } else if profile.nexthop_weight_size() == 8 {
        Some(r.u64("nexthop.weight")?)
    } else {
        Some(r.u32("nexthop.weight")?.into())
    };
    let mut extras: Option<Box<NexthopExtras>> = None;
    if wire_flags & nf::EVPN != 0 {
        extras.get_or_insert_with(Default::default).rmac = Some(r.array::<6>("nexthop.rmac")?);
    }
    let srte_color = if srte {
        Some(r.u32("nexthop.srte_color")?)
    } else {
        None
    };
    if wire_flags & nf::HAS_BACKUP != 0 {
        let at = r.offset();
        let n = r.u8("nexthop.backup_num")?;
        if usize::from(n) > NEXTHOP_MAX_BACKUPS {
            return Err(r.invalid(
                "nexthop.backup_num",
                at,
                n.into(),
                "more than NEXTHOP_MAX_BACKUPS (8)",
            ));
        }
        let idx = r.bytes("nexthop.backup_idx", n.into())?;
        extras.get_or_insert_with(Default::default).backup_indexes =
            Some(BackupIndexes::from_slice(idx));
    }
    if wire_flags & nf::SEG6LOCAL != 0 {
        extras.get_or_insert_with(Default::default).seg6local = Some(seg6local(profile, r)?);
    }
    if wire_flags & nf::SEG6 != 0 {
        let segs = if profile.nexthop_seg6_is_list() {
            let at = r.offset();
            let n = r.u8("nexthop.seg_num")?;
            if usize::from(n) > SRV6_MAX_SIDS {
                return Err(r.invalid(
                    "nexthop.seg_num",
                    at,
                    n.into(),
                    "more than SRV6_MAX_SIDS (16)",
                ));
            }
            r.check_count("nexthop.seg6_segs", n.into(), 16)?;
            let mut segs = Vec::with_capacity(n.into());
            for _ in 0..n {
                segs.push(r.ipv6("nexthop.seg6_segs")?);
            }
            segs
        } else {
            vec![r.ipv6("nexthop.seg6_segs")?]
        };
        extras.get_or_insert_with(Default::default).seg6_segs = Some(segs);
    }
    Ok(ZapiNexthop {
        vrf_id,
        target,
        flags: wire_flags & !nf::FIELD_BITS,
        labels,
        label_type,
        weight,
        srte_color,
        extras,
    })
}

/// `SRV6_MAX_SIDS` (lib/srv6.h, FRR 10).
pub(crate) const SRV6_MAX_SIDS: usize = 16;

/// `seg6local_action` and the raw `struct seg6local_context` of the profile.
fn seg6local(profile: Profile, r: &mut Reader<'_>) -> Result<Seg6Local, DecodeError> {
    let mut s = Seg6Local {
        action: r.u32("nexthop.seg6local_action")?,
        nh4: r.ipv4("nexthop.seg6local_ctx.nh4")?,
        nh6: r.ipv6("nexthop.seg6local_ctx.nh6")?,
        table: r.u32_host("nexthop.seg6local_ctx.table")?,
        flv_ops: 0,
        lcblock_len: 0,
        lcnode_func_len: 0,
        sid_structure: [0; 4],
    };
    let ctx = profile.seg6local_context();
    if ctx != Seg6LocalContext::Plain {
        s.flv_ops = r.u32_host("nexthop.seg6local_ctx.flv.flv_ops")?;
        s.lcblock_len = r.u8("nexthop.seg6local_ctx.flv.lcblock_len")?;
        s.lcnode_func_len = r.u8("nexthop.seg6local_ctx.flv.lcnode_func_len")?;
        // Struct padding: FRR copies it raw, so its content is whatever was in memory.
        r.bytes("nexthop.seg6local_ctx.flv.padding", 2)?;
    }
    if ctx == Seg6LocalContext::FlavorsAndStructure {
        s.sid_structure = r.array::<4>("nexthop.seg6local_ctx.sid_structure")?;
    }
    Ok(s)
}

/// FRR `zapi_route` (ROUTE_ADD/DELETE, REDISTRIBUTE_ROUTE_ADD/DEL), decoded in place into `out`
/// (which starts as `ZapiRoute::new`): the nexthops go straight into their inline storage, so a
/// route is never copied while it is built.
pub(crate) fn zapi_route_into(
    profile: Profile,
    r: &mut Reader<'_>,
    out: &mut ZapiRoute,
) -> Result<(), DecodeError> {
    out.route_type = r.u8("type")?;
    out.instance = r.u16("instance")?;
    out.flags = r.u32("flags")?;
    let message = r.u32("message")?;
    out.extra_message_bits = message & !rm::FIELD_BITS;
    out.safi = r.u8("safi")?;
    let v6 = family_u8(r)?;
    let plen_at = r.offset();
    let plen = r.u8("prefixlen")?;
    check_plen(r, plen, v6, plen_at)?;
    let addr = short_prefix_addr(r, v6, plen)?;
    out.prefix = make_prefix(r, addr, plen, plen_at)?;
    if message & rm::SRCPFX != 0 {
        let at = r.offset();
        let splen = r.u8("src_prefixlen")?;
        check_plen(r, splen, true, at)?;
        if let IpAddr::V6(a) = short_prefix_addr(r, true, splen)? {
            out.src_prefix = Some((splen, a));
        }
    }
    if message & rm::NHG != 0 {
        out.nhg_id = Some(r.u32("nhg_id")?);
    }
    let srte = message & rm::SRTE != 0;
    out.srte = srte;
    if message & rm::NEXTHOP != 0 {
        let count = r.u16("nexthop_num")?;
        r.check_count("nexthops", count.into(), MIN_NEXTHOP)?;
        // Refill the list in place when the caller's route already has one (decode_into).
        let nhs = out.nexthops.get_or_insert_with(Nexthops::new);
        nhs.clear();
        for _ in 0..count {
            nhs.push(nexthop(profile, r, srte)?);
        }
    } else {
        out.nexthops = None;
    }
    if message & rm::BACKUP_NEXTHOPS != 0 {
        let count = r.u16("backup_nexthop_num")?;
        r.check_count("backup_nexthops", count.into(), MIN_NEXTHOP)?;
        let nhs = out.backup_nexthops.insert(Vec::with_capacity(count.into()));
        for _ in 0..count {
            nhs.push(nexthop(profile, r, srte)?);
        }
    }
    if message & rm::DISTANCE != 0 {
        out.distance = Some(r.u8("distance")?);
    }
    if message & rm::METRIC != 0 {
        out.metric = Some(r.u32("metric")?);
    }
    if message & rm::TAG != 0 {
        out.tag = Some(r.u32("tag")?);
    }
    if message & rm::MTU != 0 {
        out.mtu = Some(r.u32("mtu")?);
    }
    if message & rm::TABLEID != 0 {
        out.table_id = Some(r.u32("table_id")?);
    }
    if message & rm::OPAQUE != 0 {
        let at = r.offset();
        let len = r.u16("opaque.length")?;
        if usize::from(len) > ZAPI_OPAQUE_MAX {
            return Err(r.invalid(
                "opaque.length",
                at,
                len.into(),
                "more than ZAPI_MESSAGE_OPAQUE_LENGTH (1024)",
            ));
        }
        out.opaque = Some(r.bytes("opaque.data", len.into())?.to_vec());
    }
    Ok(())
}

/// One Quagga nexthop entry: type byte then its value.
pub(crate) fn old_nexthop(r: &mut Reader<'_>) -> Result<OldNexthop, DecodeError> {
    let at = r.offset();
    Ok(match r.u8("nexthop.type")? {
        1 => OldNexthop::Ifindex(r.u32("nexthop.ifindex")?),
        3 => OldNexthop::Ipv4(r.ipv4("nexthop.gate")?),
        4 => OldNexthop::Ipv4Ifindex(r.ipv4("nexthop.gate")?, r.u32("nexthop.ifindex")?),
        6 => OldNexthop::Ipv6(r.ipv6("nexthop.gate")?),
        7 => OldNexthop::Ipv6Ifindex(r.ipv6("nexthop.gate")?, r.u32("nexthop.ifindex")?),
        9 => OldNexthop::Blackhole,
        v => {
            return Err(r.invalid(
                "nexthop.type",
                at,
                v.into(),
                "unsupported Quagga nexthop type",
            ))
        }
    })
}

/// Quagga IPV4/IPV6_ROUTE_ADD/DELETE.
pub(crate) fn old_route(
    profile: Profile,
    v6: bool,
    r: &mut Reader<'_>,
) -> Result<OldRoute, DecodeError> {
    let route_type = r.u8("type")?;
    let flags = r.u8("flags")?;
    let msg_at = r.offset();
    let message = r.u8("message")?;
    if !profile.old_route_has_mtu_tag() && message & (om::MTU | om::TAG) != 0 {
        return Err(r.invalid(
            "message",
            msg_at,
            message.into(),
            "MTU/TAG bits do not exist in Quagga v2",
        ));
    }
    let safi = r.u16("safi")?;
    let plen_at = r.offset();
    let plen = r.u8("prefixlen")?;
    check_plen(r, plen, v6, plen_at)?;
    let addr = short_prefix_addr(r, v6, plen)?;
    let prefix = make_prefix(r, addr, plen, plen_at)?;
    let nexthops = if message & om::NEXTHOP != 0 {
        Some(old_nexthop_list(r)?)
    } else {
        None
    };
    let distance = if message & om::DISTANCE != 0 {
        Some(r.u8("distance")?)
    } else {
        None
    };
    let metric = if message & om::METRIC != 0 {
        Some(r.u32("metric")?)
    } else {
        None
    };
    let mtu = if message & om::MTU != 0 {
        Some(r.u32("mtu")?)
    } else {
        None
    };
    let tag = if message & om::TAG != 0 {
        Some(r.u32("tag")?)
    } else {
        None
    };
    Ok(OldRoute {
        route_type,
        flags,
        extra_message_bits: message & !om::FIELD_BITS,
        safi,
        prefix,
        nexthops,
        distance,
        metric,
        mtu,
        tag,
    })
}
