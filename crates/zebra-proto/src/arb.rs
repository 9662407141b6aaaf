//! `arbitrary` helpers producing values the wire can carry exactly (feature `arbitrary`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use arbitrary::{Arbitrary, Result, Unstructured};
use ipnetwork::IpNetwork;

use crate::message::InterfaceAddress;
use crate::route::{Nexthops, ZapiNexthop, ZapiRoute};

fn addr(u: &mut Unstructured<'_>, v6: bool) -> Result<IpAddr> {
    Ok(if v6 {
        IpAddr::V6(Ipv6Addr::from(u.arbitrary::<[u8; 16]>()?))
    } else {
        IpAddr::V4(Ipv4Addr::from(u.arbitrary::<[u8; 4]>()?))
    })
}

fn prefix_of(u: &mut Unstructured<'_>, v6: bool) -> Result<IpNetwork> {
    let a = addr(u, v6)?;
    let plen = u.int_in_range(0..=if v6 { 128 } else { 32 })?;
    IpNetwork::new(a, plen).map_err(|_| arbitrary::Error::IncorrectFormat)
}

/// Any prefix whose whole address travels on the wire.
pub(crate) fn any_prefix(u: &mut Unstructured<'_>) -> Result<IpNetwork> {
    let v6 = u.arbitrary()?;
    prefix_of(u, v6)
}

/// An optional [`any_prefix`].
pub(crate) fn opt_prefix(u: &mut Unstructured<'_>) -> Result<Option<IpNetwork>> {
    if u.arbitrary()? {
        Ok(Some(any_prefix(u)?))
    } else {
        Ok(None)
    }
}

fn mask_tail(a: IpAddr, plen: u8) -> IpAddr {
    let n = usize::from(plen).div_ceil(8);
    match a {
        IpAddr::V4(a) => {
            let mut o = a.octets();
            o.iter_mut().skip(n).for_each(|b| *b = 0);
            IpAddr::V4(o.into())
        }
        IpAddr::V6(a) => {
            let mut o = a.octets();
            o.iter_mut().skip(n).for_each(|b| *b = 0);
            IpAddr::V6(o.into())
        }
    }
}

/// A prefix as `zapi_route` carries it: bytes past `ceil(plen/8)` are zero.
pub(crate) fn wire_prefix(u: &mut Unstructured<'_>) -> Result<IpNetwork> {
    let p = any_prefix(u)?;
    IpNetwork::new(mask_tail(p.ip(), p.prefix()), p.prefix())
        .map_err(|_| arbitrary::Error::IncorrectFormat)
}

/// An optional IPv6 source prefix with only `ceil(plen/8)` address bytes.
pub(crate) fn src_prefix(u: &mut Unstructured<'_>) -> Result<Option<(u8, Ipv6Addr)>> {
    if !u.arbitrary::<bool>()? {
        return Ok(None);
    }
    let plen: u8 = u.int_in_range(0..=128)?;
    match mask_tail(addr(u, true)?, plen) {
        IpAddr::V6(a) => Ok(Some((plen, a))),
        IpAddr::V4(_) => Err(arbitrary::Error::IncorrectFormat),
    }
}

fn name(u: &mut Unstructured<'_>, max: usize) -> Result<String> {
    let len = u.int_in_range(0..=max)?;
    let mut s = String::with_capacity(len);
    for _ in 0..len {
        let c: u8 = u.int_in_range(0x21..=0x7e)?;
        s.push(char::from(c));
    }
    Ok(s)
}

/// An interface name that fits every profile (≤ 15 bytes, printable ASCII).
pub(crate) fn ifname(u: &mut Unstructured<'_>) -> Result<String> {
    name(u, 15)
}

/// A VRF / netns name (≤ 35 bytes).
pub(crate) fn vrfname(u: &mut Unstructured<'_>) -> Result<String> {
    name(u, 35)
}

/// A hardware address of at most 20 bytes.
pub(crate) fn hw_addr(u: &mut Unstructured<'_>) -> Result<Vec<u8>> {
    let len = u.int_in_range(0..=20)?;
    (0..len).map(|_| u.arbitrary::<u8>()).collect()
}

/// A capability code without a typed variant.
pub(crate) fn other_cap(u: &mut Unstructured<'_>) -> Result<u32> {
    let c: u32 = u.arbitrary()?;
    Ok(if (1..=5).contains(&c) { c + 5 } else { c })
}

/// NHT nexthops (never coloured).
pub(crate) fn nht_nexthops(u: &mut Unstructured<'_>) -> Result<Nexthops> {
    let n = u.int_in_range(0..=12)?;
    let mut out = Nexthops::new();
    for _ in 0..n {
        let mut nh: ZapiNexthop = u.arbitrary()?;
        nh.srte_color = None;
        fix_extras(&mut nh);
        out.push(nh);
    }
    Ok(out)
}

/// A destination matching the prefix's family, never the all-zero address.
pub(crate) fn destination(u: &mut Unstructured<'_>) -> Result<Option<IpAddr>> {
    // Family fixed up in `InterfaceAddress::arbitrary_fixed`; here any.
    if u.arbitrary()? {
        let v6 = u.arbitrary()?;
        Ok(Some(addr(u, v6)?))
    } else {
        Ok(None)
    }
}

impl InterfaceAddress {
    /// Make `destination` consistent with `prefix` (same family, not all zeros).
    pub(crate) fn fix_for_wire(&mut self) {
        if let Some(d) = self.destination {
            let v6 = self.prefix.is_ipv6();
            let fixed = match (d, v6) {
                (IpAddr::V4(a), true) => IpAddr::V6(a.to_ipv6_mapped()),
                (IpAddr::V6(a), false) => IpAddr::V4(Ipv4Addr::from(
                    a.octets()[12..16].try_into().unwrap_or([0; 4]),
                )),
                (d, _) => d,
            };
            self.destination = (!fixed.is_unspecified()).then_some(fixed);
        }
    }
}

impl ZapiRoute {
    /// Make every nexthop's `srte_color` agree with `srte`.
    pub(crate) fn fix_for_wire(&mut self) {
        let srte = self.srte;
        let fix = |nh: &mut ZapiNexthop| {
            match (srte, nh.srte_color) {
                (true, None) => nh.srte_color = Some(0),
                (false, Some(_)) => nh.srte_color = None,
                _ => {}
            }
            fix_extras(nh);
        };
        if let Some(n) = self.nexthops.as_mut() {
            n.iter_mut().for_each(fix);
        }
        if let Some(n) = self.backup_nexthops.as_mut() {
            n.iter_mut().for_each(fix);
        }
    }
}

/// A command number, mostly above every profile's typed range; a number some profile types is
/// refused by `encode` for that profile ([`EncodeError::UnknownIsTyped`]).
///
/// [`EncodeError::UnknownIsTyped`]: crate::EncodeError::UnknownIsTyped
pub(crate) fn unknown_command(u: &mut Unstructured<'_>) -> Result<u16> {
    if u.ratio(1, 8)? {
        u.arbitrary()
    } else {
        u.int_in_range(200..=u16::MAX)
    }
}

/// Arbitrary message fixed up to be encodable exactly (family/colour consistency).
pub fn wire_message(u: &mut Unstructured<'_>) -> Result<crate::Message> {
    let mut m = crate::Message::arbitrary(u)?;
    m.fix_for_wire();
    Ok(m)
}

impl crate::Message {
    /// Fix cross-field constraints the derive cannot express (address families, SR-TE colours).
    pub fn fix_for_wire(&mut self) {
        use crate::Message as M;
        match self {
            M::InterfaceAddressAdd(a) | M::InterfaceAddressDelete(a) => a.fix_for_wire(),
            M::RouteAdd(r)
            | M::RouteDelete(r)
            | M::RedistributeRouteAdd(r)
            | M::RedistributeRouteDel(r) => r.fix_for_wire(),
            _ => {}
        }
    }
}

/// Nexthop flag bits that select no field.
pub(crate) fn nexthop_pure_flags(u: &mut Unstructured<'_>) -> Result<u8> {
    Ok(u.arbitrary::<u8>()? & !crate::route::nexthop_flags::FIELD_BITS)
}

/// `zapi_route.message` bits that select no field.
pub(crate) fn route_extra_bits(u: &mut Unstructured<'_>) -> Result<u32> {
    Ok(u.arbitrary::<u32>()? & !crate::route::route_message::FIELD_BITS)
}

/// Quagga route message bits that select no field.
pub(crate) fn old_extra_bits(u: &mut Unstructured<'_>) -> Result<u8> {
    Ok(u.arbitrary::<u8>()? & !crate::route::old_message::FIELD_BITS)
}

/// An empty extras box encodes like none: normalise it.
fn fix_extras(nh: &mut ZapiNexthop) {
    if nh.extras.as_ref().is_some_and(|x| x.is_empty()) {
        nh.extras = None;
    }
}
