//! Message generation shared by the round-trip, framing and allocation tests.

#![allow(dead_code)]

use std::collections::BTreeMap;

use arbitrary::Unstructured;
use bytes::BytesMut;
use ipnetwork::IpNetwork;
use zebra_proto::*;

/// The variant name of a message (`RouteAdd`, `InterfaceAddRequest`, …).
pub fn variant(m: &Message) -> String {
    let d = format!("{m:?}");
    d.split(|c: char| !c.is_alphanumeric())
        .next()
        .unwrap_or("")
        .to_string()
}

fn swap_family(p: IpNetwork) -> IpNetwork {
    match p {
        IpNetwork::V4(v) => IpNetwork::new(v.ip().to_ipv6_mapped().into(), v.prefix()).unwrap(),
        IpNetwork::V6(v) => {
            let o = v.ip().octets();
            let a = std::net::Ipv4Addr::new(o[0], o[1], o[2], o[3]);
            IpNetwork::new(a.into(), v.prefix().min(32)).unwrap()
        }
    }
}

/// Mask bytes past ceil(plen/8) (route prefixes carry only those).
fn wire_prefix(p: IpNetwork) -> IpNetwork {
    let n = usize::from(p.prefix()).div_ceil(8);
    let ip = match p.ip() {
        std::net::IpAddr::V4(a) => {
            let mut o = a.octets();
            o.iter_mut().skip(n).for_each(|b| *b = 0);
            std::net::IpAddr::from(o)
        }
        std::net::IpAddr::V6(a) => {
            let mut o = a.octets();
            o.iter_mut().skip(n).for_each(|b| *b = 0);
            std::net::IpAddr::from(o)
        }
    };
    IpNetwork::new(ip, p.prefix()).unwrap()
}

/// Clear what the profile's nexthop layout cannot carry.
fn fit_nexthop(profile: Profile, nh: &mut ZapiNexthop) {
    if let Some(l) = nh.labels.as_mut() {
        l.truncate(16);
    }
    if nh.labels.is_none() || !profile.nexthop_has_label_type() {
        nh.label_type = 0;
    }
    if profile.nexthop_weight_size() == 4 {
        nh.weight = nh.weight.map(|w| w & u64::from(u32::MAX));
    }
    if let Some(x) = nh.extras.as_mut() {
        if let Some(b) = x.backup_indexes.as_mut() {
            b.truncate(8);
        }
        if let Some(s) = x.seg6local.as_mut() {
            let ctx = profile.seg6local_context();
            if ctx == Seg6LocalContext::Plain {
                s.flv_ops = 0;
                s.lcblock_len = 0;
                s.lcnode_func_len = 0;
            }
            if ctx != Seg6LocalContext::FlavorsAndStructure {
                s.sid_structure = [0; 4];
            }
        }
        if let Some(segs) = x.seg6_segs.as_mut() {
            segs.truncate(if profile.nexthop_seg6_is_list() {
                16
            } else {
                1
            });
            if segs.is_empty() && !profile.nexthop_seg6_is_list() {
                x.seg6_segs = None;
            }
        }
        if x.is_empty() {
            nh.extras = None;
        }
    }
}

fn fit_route(profile: Profile, r: &mut ZapiRoute) {
    let fix_nh = |nh: &mut ZapiNexthop| fit_nexthop(profile, nh);
    r.nexthops.iter_mut().flatten().for_each(fix_nh);
    r.backup_nexthops.iter_mut().flatten().for_each(fix_nh);
    if let Some(o) = r.opaque.as_mut() {
        o.truncate(1024);
    }
}

/// Clear what the profile's layout cannot carry (the codec rejects it instead of dropping it).
pub fn fit(profile: Profile, m: &mut Message) {
    let quagga = !profile.is_frr();
    match m {
        Message::Hello(h) if quagga => {
            *h = Hello {
                route_type: h.route_type,
                ..Hello::default()
            }
        }
        Message::Hello(h) if !profile.hello_has_receive_notify() => h.receive_notify = false,
        Message::Capabilities(c) => {
            c.v6_with_v4_nexthop &= profile.capabilities_has_v6_with_v4_nexthop();
            c.graceful_restart &= profile.capabilities_has_graceful_restart();
        }
        Message::InterfaceAdd(i)
        | Message::InterfaceDelete(i)
        | Message::InterfaceUp(i)
        | Message::InterfaceDown(i) => {
            if quagga {
                i.ptm_enable = 0;
                i.ptm_status = 0;
                i.speed = 0;
                i.link_ifindex = 0;
            }
            if !profile.interface_has_link_layer() {
                i.ll_type = 0;
                i.link_params = None;
            }
            if !profile.interface_has_txqlen() {
                i.txqlen = 0;
            }
        }
        Message::NexthopRegister(list) | Message::NexthopUnregister(list) if quagga => {
            for e in list {
                e.resolve_via_default = false;
                e.safi = 0;
            }
        }
        Message::RedistributeAdd(r) | Message::RedistributeDelete(r) => {
            if quagga {
                r.afi = None;
                r.instance = 0;
            } else if r.afi.is_none() {
                r.afi = Some(0);
            }
        }
        Message::RouteAdd(r)
        | Message::RouteDelete(r)
        | Message::RedistributeRouteAdd(r)
        | Message::RedistributeRouteDel(r) => fit_route(profile, r),
        _ => {}
    }
    // Old-style routes: family follows the command; v2 has no MTU/TAG; ≤ 255 entries.
    let v6 = matches!(m, Message::Ipv6RouteAdd(_) | Message::Ipv6RouteDelete(_));
    if let Message::Ipv4RouteAdd(r)
    | Message::Ipv4RouteDelete(r)
    | Message::Ipv6RouteAdd(r)
    | Message::Ipv6RouteDelete(r) = m
    {
        if r.prefix.is_ipv6() != v6 {
            r.prefix = wire_prefix(swap_family(r.prefix));
        }
        if !profile.old_route_has_mtu_tag() {
            r.mtu = None;
            r.tag = None;
        }
        if let Some(n) = r.nexthops.as_mut() {
            n.truncate(255);
        }
    }
    match m {
        Message::NexthopUpdate(u) => {
            for nh in u.nexthops.iter_mut() {
                fit_nexthop(profile, nh);
            }
        }
        Message::OldNexthopUpdate(u) => u.nexthops.truncate(255),
        Message::Ipv4NexthopLookupReply(u) => u.nexthops.truncate(255),
        _ => {}
    }
}

/// Variants every profile must have round-tripped at least once.
pub fn expected_variants(profile: Profile) -> Vec<&'static str> {
    let mut v = vec![
        "Hello",
        "InterfaceAddRequest",
        "InterfaceDeleteRequest",
        "InterfaceAdd",
        "InterfaceDelete",
        "InterfaceUp",
        "InterfaceDown",
        "InterfaceAddressAdd",
        "InterfaceAddressDelete",
        "RouterIdAdd",
        "RouterIdDelete",
        "RouterIdUpdate",
        "RedistributeAdd",
        "RedistributeDelete",
        "RedistributeDefaultAdd",
        "RedistributeDefaultDelete",
        "Unknown",
    ];
    match profile {
        p if p.is_frr() => v.extend([
            "Capabilities",
            "NexthopRegister",
            "NexthopUnregister",
            "NexthopUpdate",
            "RouteAdd",
            "RouteDelete",
            "RedistributeRouteAdd",
            "RedistributeRouteDel",
            "BfdClientRegister",
            "LabelManagerConnect",
            "LabelManagerConnectAsync",
            "LabelManagerConnectReply",
            "GetLabelChunk",
            "VrfAdd",
            "VrfDelete",
            "Error",
            "ClientCapabilities",
            "RouteNotifyRequest",
            "RouteNotifyOwner",
        ]),
        _ => {
            v.extend([
                "Ipv4RouteAdd",
                "Ipv4RouteDelete",
                "Ipv6RouteAdd",
                "Ipv6RouteDelete",
                "Ipv4NexthopLookup",
                "Ipv4NexthopLookupReply",
            ]);
            if profile == Profile::QuaggaV3 {
                v.extend(["NexthopRegister", "NexthopUnregister", "OldNexthopUpdate"]);
            }
        }
    }
    v
}

/// Encoded samples for `profile`: at least `per_variant` of every expected variant.
pub fn samples(profile: Profile, seed: u64, per_variant: usize) -> Vec<(Message, Vec<u8>)> {
    let mut rng = fastrand::Rng::with_seed(seed);
    let mut count: BTreeMap<String, usize> = BTreeMap::new();
    let mut out = Vec::new();
    let mut raw = vec![0u8; 2048];
    let want = expected_variants(profile);
    for _ in 0..200_000 {
        if want
            .iter()
            .all(|v| count.get(*v).copied().unwrap_or(0) >= per_variant)
        {
            break;
        }
        let len = rng.usize(16..raw.len());
        raw[..len].iter_mut().for_each(|b| *b = rng.u8(..));
        let mut u = Unstructured::new(&raw[..len]);
        let Ok(mut m) = zebra_proto::arb::wire_message(&mut u) else {
            continue;
        };
        fit(profile, &mut m);
        let v = variant(&m);
        if count.get(&v).copied().unwrap_or(0) >= per_variant {
            continue;
        }
        let mut buf = BytesMut::new();
        if encode(profile, 0, &m, &mut buf).is_ok() {
            *count.entry(v).or_default() += 1;
            out.push((m, buf.to_vec()));
        }
    }
    out
}
