//! Property test: the tc u32 encoding of a flow, run by a small model of the kernel's u32
//! classifier (keys, variable offset from the IPv4 IHL, `eat`), decides exactly like the
//! backend-neutral matcher used by the memory backend — for IPv4 with and without options and
//! fragments, IPv6 and ARP frames.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::IpAddr;

use datapath::tc::{decode_match, encode_match, ETH_P_ALL};
use datapath::{EtherType, Flow, Packet, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6};
use ipnetwork::IpNetwork;
use proptest::prelude::*;

/// What u32 at the ingress hook does with `frame` (Ethernet header first, network header at 14).
fn u32_matches(flow: &Flow, frame: &[u8]) -> bool {
    let enc = encode_match(flow);
    let ethertype = u16::from_be_bytes([frame[12], frame[13]]);
    if enc.protocol != ETH_P_ALL && enc.protocol != ethertype {
        return false;
    }
    let nh = &frame[14..];
    let word = |at: usize| -> Option<u32> {
        nh.get(at..at + 4)
            .map(|b| u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    };
    let keys_match = |base: usize, keys: &[rtnetlink::packet_route::tc::TcU32Key]| {
        keys.iter().all(|k| match word(base + k.off as usize) {
            Some(w) => (w ^ k.val) & k.mask == 0,
            None => false,
        })
    };
    if !keys_match(0, &enc.keys) {
        return false;
    }
    match &enc.l4_keys {
        None => true,
        Some(l4) => {
            // off2 = (sel.off + 3 + (ntohs(offmask & data) >> offshift)) & ~3, then `eat`.
            let data = u16::from_be_bytes([nh[0], nh[1]]);
            let off2 = (3 + usize::from((data & 0x0f00) >> 6)) & !3;
            keys_match(off2, l4)
        }
    }
}

fn addr_pool() -> impl Strategy<Value = IpAddr> {
    prop_oneof![
        Just("192.0.2.1".parse().unwrap()),
        Just("192.0.2.2".parse().unwrap()),
        Just("198.51.100.7".parse().unwrap()),
        Just("2001:db8::1".parse().unwrap()),
        Just("2001:db8::2".parse().unwrap()),
        Just("2001:db8:1::9".parse().unwrap()),
    ]
}

fn prefix(addr: IpAddr, len: u8) -> IpNetwork {
    let max = if addr.is_ipv4() { 32 } else { 128 };
    IpNetwork::new(addr, len.min(max)).unwrap()
}

prop_compose! {
    fn flow()(
        et in prop_oneof![Just(None), Just(Some(EtherType::Ipv4)), Just(Some(EtherType::Ipv6)), Just(Some(EtherType::Arp))],
        proto in prop_oneof![Just(None), Just(Some(6u8)), Just(Some(17u8)), Just(Some(1u8)), Just(Some(58u8))],
        src in proptest::option::of((addr_pool(), prop_oneof![Just(0u8), Just(16u8), Just(24u8), Just(32u8), Just(64u8), Just(128u8)])),
        dst in proptest::option::of((addr_pool(), prop_oneof![Just(0u8), Just(23u8), Just(32u8), Just(120u8), Just(128u8)])),
        sport in proptest::option::of(prop_oneof![Just(179u16), Just(40000u16)]),
        dport in proptest::option::of(prop_oneof![Just(179u16), Just(8179u16)]),
        icmp in proptest::option::of(prop_oneof![Just(0u8), Just(8u8), Just(128u8), Just(135u8)]),
    ) -> Flow {
        let mut f = Flow::redirect("in0", "out0");
        f.matches.ethertype = et;
        f.matches.ip_proto = proto;
        f.matches.src = src.map(|(a, l)| prefix(a, l));
        f.matches.dst = dst.map(|(a, l)| prefix(a, l));
        f.matches.src_port = sport;
        f.matches.dst_port = dport;
        f.matches.icmp_type = icmp;
        // Drop the fields the ethertype/protocol do not allow, so every generated flow is valid.
        let m = &mut f.matches;
        let fits = |n: &IpNetwork| match m.ethertype {
            Some(EtherType::Ipv4 | EtherType::Arp) => n.is_ipv4(),
            Some(EtherType::Ipv6) => n.is_ipv6(),
            _ => false,
        };
        if !m.src.as_ref().is_some_and(fits) { m.src = None; }
        if !m.dst.as_ref().is_some_and(fits) { m.dst = None; }
        if !matches!(m.ethertype, Some(EtherType::Ipv4 | EtherType::Ipv6)) { m.ip_proto = None; }
        if !matches!(m.ip_proto, Some(6 | 17)) { m.src_port = None; m.dst_port = None; }
        if !matches!((m.ethertype, m.ip_proto), (Some(EtherType::Ipv4), Some(1)) | (Some(EtherType::Ipv6), Some(58))) {
            m.icmp_type = None;
        }
        // Canonical prefixes, as the builder stores them.
        if let Some(n) = f.matches.src { f = f.src(n); }
        if let Some(n) = f.matches.dst { f = f.dst(n); }
        f
    }
}

fn ipv4_frame(
    src: [u8; 4],
    dst: [u8; 4],
    proto: u8,
    options_words: usize,
    frag: u16,
    l4: &[u8],
) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&ETH_P_IP.to_be_bytes());
    let ihl = 5 + options_words;
    f.push(0x40 | ihl as u8);
    f.push(0);
    f.extend_from_slice(&((ihl * 4 + l4.len()) as u16).to_be_bytes());
    f.extend_from_slice(&[0, 0]);
    f.extend_from_slice(&frag.to_be_bytes());
    f.extend_from_slice(&[64, proto, 0, 0]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend(std::iter::repeat_n(1u8, options_words * 4));
    f.extend_from_slice(l4);
    f
}

fn ipv6_frame(src: [u8; 16], dst: [u8; 16], next: u8, l4: &[u8]) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&ETH_P_IPV6.to_be_bytes());
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&(l4.len() as u16).to_be_bytes());
    f.extend_from_slice(&[next, 64]);
    f.extend_from_slice(&src);
    f.extend_from_slice(&dst);
    f.extend_from_slice(l4);
    f
}

fn arp_frame(sender: [u8; 4], target: [u8; 4], ipv4_over_ethernet: bool) -> Vec<u8> {
    let mut f = vec![0u8; 12];
    f.extend_from_slice(&ETH_P_ARP.to_be_bytes());
    let ptype: u16 = if ipv4_over_ethernet { 0x0800 } else { 0x86dd };
    f.extend_from_slice(&[0, 1]);
    f.extend_from_slice(&ptype.to_be_bytes());
    f.extend_from_slice(&[6, 4, 0, 1]);
    f.extend_from_slice(&[2, 0, 0, 0, 0, 1]);
    f.extend_from_slice(&sender);
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target);
    f.extend_from_slice(&[0; 18]);
    f
}

fn v4(a: IpAddr) -> [u8; 4] {
    match a {
        IpAddr::V4(a) => a.octets(),
        IpAddr::V6(a) => {
            let o = a.octets();
            [o[12], o[13], o[14], o[15]]
        }
    }
}

fn v6(a: IpAddr) -> [u8; 16] {
    match a {
        IpAddr::V6(a) => a.octets(),
        IpAddr::V4(a) => a.to_ipv6_mapped().octets(),
    }
}

prop_compose! {
    fn frame()(
        kind in 0u8..3,
        src in addr_pool(),
        dst in addr_pool(),
        proto in prop_oneof![Just(6u8), Just(17u8), Just(1u8), Just(58u8), Just(0u8)],
        options in 0usize..=10,
        frag in prop_oneof![Just(0u16), Just(0x4000u16), Just(0x0001u16), Just(0x2000u16)],
        sport in prop_oneof![Just(179u16), Just(40000u16)],
        dport in prop_oneof![Just(179u16), Just(8179u16)],
        icmp in prop_oneof![Just(0u8), Just(8u8), Just(128u8), Just(135u8)],
        arp_ok in any::<bool>(),
    ) -> Vec<u8> {
        let l4: Vec<u8> = if proto == 1 || proto == 58 {
            vec![icmp, 0, 0, 0, 0, 0, 0, 0]
        } else {
            let mut v = sport.to_be_bytes().to_vec();
            v.extend_from_slice(&dport.to_be_bytes());
            v.extend_from_slice(&[0; 16]);
            v
        };
        match kind {
            0 => ipv4_frame(v4(src), v4(dst), proto, options, frag, &l4),
            1 => ipv6_frame(v6(src), v6(dst), proto, &l4),
            _ => arp_frame(v4(src), v4(dst), arp_ok),
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(4000))]
    #[test]
    fn u32_encoding_agrees_with_the_flow_matcher(flow in flow(), frame in frame()) {
        prop_assert!(flow.validate().is_ok(), "generator made an invalid flow: {}", flow);
        let packet = Packet::parse_ethernet("in0", &frame).unwrap();
        prop_assert_eq!(u32_matches(&flow, &frame), flow.matches.matches(&packet), "flow {} frame {:02x?}", flow, frame);
    }
}

proptest! {
    #[test]
    fn decoding_the_keys_gives_back_an_equivalent_match(flow in flow()) {
        // Equivalent for the kernel: the decoded match encodes to the same filter (a /0 prefix,
        // for instance, decodes as no prefix, which the kernel cannot tell apart).
        let e = encode_match(&flow);
        let decoded = decode_match(e.protocol, &e.keys, e.l4_keys.as_deref());
        prop_assert!(decoded.is_some(), "flow {} did not decode", flow);
        let mut again = flow.clone();
        again.matches = decoded.unwrap_or_default();
        prop_assert_eq!(encode_match(&again), e, "flow {}", flow);
        // Without zero-length prefixes the decoded match is the same value.
        let zero = |n: &Option<IpNetwork>| n.is_some_and(|n| n.prefix() == 0);
        if !zero(&flow.matches.src) && !zero(&flow.matches.dst) {
            prop_assert_eq!(again.matches, flow.matches.clone(), "flow {}", flow);
        }
    }
}

#[test]
fn the_model_sees_ports_behind_ip_options() {
    let flow = Flow::redirect("in0", "out0")
        .ethertype(EtherType::Ipv4)
        .ip_proto(6)
        .dst_port(179);
    for words in 0..=10 {
        let frame = ipv4_frame(
            [192, 0, 2, 2],
            [192, 0, 2, 1],
            6,
            words,
            0,
            &[0x9c, 0x40, 0, 179, 0, 0, 0, 0],
        );
        assert!(u32_matches(&flow, &frame), "{words} option words");
        let other = ipv4_frame(
            [192, 0, 2, 2],
            [192, 0, 2, 1],
            6,
            words,
            0,
            &[0, 179, 0x1f, 0xf3, 0, 0, 0, 0],
        );
        assert!(
            !u32_matches(&flow, &other),
            "{words} option words, port 8179"
        );
    }
}
