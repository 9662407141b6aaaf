//! Pure encoding of flows into u32 classifier keys (no I/O), and the tags that mark our filters.
//!
//! u32 on an ingress qdisc sees the packet from the network header on; the ethertype is the
//! filter's protocol. Offsets below are relative to the network header:
//! - IPv4: protocol byte 9, source 12..16, destination 16..20, flags/fragment offset 6..8. The
//!   transport header starts at IHL*4, which varies with IP options, so transport fields are
//!   matched in a second hash table reached through a link whose selector computes the offset from
//!   the IHL nibble (`offoff 0`, `offmask 0x0f00`, `offshift 6`, `eat`).
//! - IPv6: Next Header byte 6, source 8..24, destination 24..40, transport header at 40 (no
//!   extension headers are walked).
//! - ARP: hardware/protocol type and lengths 0..6, sender protocol address 14..18, target 24..28.

use std::collections::BTreeMap;
use std::net::IpAddr;

use ipnetwork::IpNetwork;
use rtnetlink::packet_route::tc::TcU32Key;

use crate::flow::{EtherType, Flow, FlowMatch, Fnv, IPPROTO_ICMP, IPPROTO_ICMPV6};

/// The first tc priority this crate uses for flows.
pub const FLOW_PRIO_MIN: u16 = 0xD000;
/// The last tc priority this crate uses for flows (the child table id is derived from the
/// priority and must stay below the kernel's automatic table ids, 0x800 and up).
pub const FLOW_PRIO_MAX: u16 = 0xD6FF;
/// The priority of the marker filter that records "this crate created the ingress qdisc".
pub const MARKER_PRIO: u16 = 0xD7FF;
/// Ethertype of the marker filter (IEEE local experimental 2; the filter has no action).
pub const MARKER_PROTOCOL: u16 = 0x88B6;
/// `ETH_P_ALL`, the filter protocol of flows without an ethertype.
pub const ETH_P_ALL: u16 = 0x0003;

/// First four bytes of every action cookie this crate writes.
pub const COOKIE_MAGIC: [u8; 4] = *b"MNB1";
/// The class id of the marker filter (`4d4e:4247`, "MNBG").
pub const MARKER_CLASSID: u32 = 0x4D4E_4247;

/// The u32 hash table id (already shifted into handle position) of a flow's transport table.
pub fn child_htid(prio: u16) -> u32 {
    (0x100 + u32::from(prio.saturating_sub(FLOW_PRIO_MIN))) << 20
}

/// 48 bits of a 64-bit hash, big-endian.
fn six(v: u64) -> [u8; 6] {
    let b = v.to_be_bytes();
    [b[2], b[3], b[4], b[5], b[6], b[7]]
}

/// Hash of a group name as stored in cookies.
pub fn group_tag(group: &str) -> [u8; 6] {
    let mut h = Fnv::new();
    h.bytes(b"group1");
    h.str(group);
    six(h.finish())
}

/// Tag of a flow as encoded for given interface indexes (a recreated target device gets a new
/// tag, so its filters are replaced).
pub fn flow_tag(flow: &Flow, in_ifindex: u32, target_ifindex: Option<u32>) -> [u8; 6] {
    let mut h = Fnv::new();
    h.bytes(&flow.fingerprint().to_be_bytes());
    h.bytes(&in_ifindex.to_be_bytes());
    h.bytes(&target_ifindex.unwrap_or(0).to_be_bytes());
    six(h.finish())
}

/// The 16-byte action cookie: magic, group tag, flow tag.
pub fn cookie(group: [u8; 6], flow: [u8; 6]) -> Vec<u8> {
    let mut c = Vec::with_capacity(16);
    c.extend_from_slice(&COOKIE_MAGIC);
    c.extend_from_slice(&group);
    c.extend_from_slice(&flow);
    c
}

/// Splits one of our cookies into (group tag, flow tag).
pub fn parse_cookie(c: &[u8]) -> Option<([u8; 6], [u8; 6])> {
    if c.len() != 16 || c[..4] != COOKIE_MAGIC {
        return None;
    }
    let mut g = [0u8; 6];
    let mut f = [0u8; 6];
    g.copy_from_slice(&c[4..10]);
    f.copy_from_slice(&c[10..16]);
    Some((g, f))
}

/// Builds 32-bit aligned keys from byte-granular value/mask pieces.
#[derive(Debug, Default)]
struct Keys(BTreeMap<usize, (u32, u32)>);

impl Keys {
    fn put(&mut self, offset: usize, value: &[u8], mask: &[u8]) {
        for (i, (v, m)) in value.iter().zip(mask).enumerate() {
            if *m == 0 {
                continue;
            }
            let at = offset + i;
            let word = at & !3;
            let shift = 8 * (3 - (at & 3));
            let e = self.0.entry(word).or_insert((0, 0));
            e.0 |= u32::from(v & m) << shift;
            e.1 |= u32::from(*m) << shift;
        }
    }

    fn prefix(&mut self, offset: usize, net: IpNetwork) {
        let (bytes, len): (Vec<u8>, usize) = match net.network() {
            IpAddr::V4(a) => (a.octets().to_vec(), 4),
            IpAddr::V6(a) => (a.octets().to_vec(), 16),
        };
        let mut mask = vec![0u8; len];
        let mut left = usize::from(net.prefix());
        for m in mask.iter_mut() {
            let take = left.min(8);
            *m = if take == 0 { 0 } else { 0xffu8 << (8 - take) };
            left -= take;
        }
        self.put(offset, &bytes, &mask);
    }

    fn into_keys(self) -> Vec<TcU32Key> {
        self.0
            .into_iter()
            .map(|(off, (val, mask))| {
                let mut k = TcU32Key::default();
                k.off = off as i32;
                k.val = val;
                k.mask = mask;
                k.offmask = 0;
                k
            })
            .collect()
    }
}

/// The u32 encoding of one flow's match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct U32Match {
    /// The filter protocol (ethertype, or `ETH_P_ALL`).
    pub protocol: u16,
    /// Keys relative to the network header.
    pub keys: Vec<TcU32Key>,
    /// IPv4 transport keys, relative to the transport header (matched in a linked table).
    pub l4_keys: Option<Vec<TcU32Key>>,
}

fn l4_keys(keys: &mut Keys, base: usize, flow: &Flow) {
    let m = &flow.matches;
    if let Some(p) = m.src_port {
        keys.put(base, &p.to_be_bytes(), &[0xff, 0xff]);
    }
    if let Some(p) = m.dst_port {
        keys.put(base + 2, &p.to_be_bytes(), &[0xff, 0xff]);
    }
    if let Some(t) = m.icmp_type {
        keys.put(base, &[t], &[0xff]);
    }
}

/// Encodes a (validated) flow's match.
pub fn encode_match(flow: &Flow) -> U32Match {
    let m = &flow.matches;
    let mut keys = Keys::default();
    let mut l4 = None;
    let protocol = m.ethertype.map(EtherType::value).unwrap_or(ETH_P_ALL);
    match m.ethertype {
        Some(EtherType::Ipv4) => {
            if let Some(p) = m.ip_proto {
                keys.put(9, &[p], &[0xff]);
            }
            if let Some(n) = m.src {
                keys.prefix(12, n);
            }
            if let Some(n) = m.dst {
                keys.prefix(16, n);
            }
            if flow.matches_l4() {
                // Only first fragments carry the transport header.
                keys.put(6, &[0, 0], &[0x1f, 0xff]);
                let mut k = Keys::default();
                l4_keys(&mut k, 0, flow);
                l4 = Some(k.into_keys());
            }
        }
        Some(EtherType::Ipv6) => {
            if let Some(p) = m.ip_proto {
                keys.put(6, &[p], &[0xff]);
            }
            if let Some(n) = m.src {
                keys.prefix(8, n);
            }
            if let Some(n) = m.dst {
                keys.prefix(24, n);
            }
            l4_keys(&mut keys, 40, flow);
        }
        Some(EtherType::Arp) => {
            // Ethernet (1) / IPv4 (0x0800), 6-byte hardware and 4-byte protocol addresses.
            if m.src.is_some() || m.dst.is_some() {
                keys.put(0, &[0, 1, 0x08, 0x00, 6, 4], &[0xff; 6]);
            }
            if let Some(n) = m.src {
                keys.prefix(14, n);
            }
            if let Some(n) = m.dst {
                keys.prefix(24, n);
            }
        }
        None => {}
    }
    let mut keys = keys.into_keys();
    if keys.is_empty() {
        // u32 needs at least one key; this one matches every packet.
        keys.push(TcU32Key::default());
    }
    U32Match {
        protocol,
        keys,
        l4_keys: l4,
    }
}

/// Byte-wise view of keys: offset -> (value, mask); `None` for keys this crate never writes.
fn key_bytes(keys: &[TcU32Key]) -> Option<BTreeMap<usize, (u8, u8)>> {
    let mut out = BTreeMap::new();
    for k in keys {
        if k.offmask != 0 || k.off < 0 || k.off % 4 != 0 {
            return None;
        }
        let (v, m) = (k.val.to_be_bytes(), k.mask.to_be_bytes());
        for i in 0..4 {
            if m[i] != 0 {
                out.insert(k.off as usize + i, (v[i] & m[i], m[i]));
            }
        }
    }
    Some(out)
}

/// An exact field of `len` bytes at `off`: `Some(None)` when not matched, `None` when only
/// partly masked.
fn exact(b: &BTreeMap<usize, (u8, u8)>, off: usize, len: usize) -> Option<Option<u64>> {
    let bytes: Vec<Option<&(u8, u8)>> = (off..off + len).map(|i| b.get(&i)).collect();
    if bytes.iter().all(Option::is_none) {
        return Some(None);
    }
    let mut v = 0u64;
    for x in bytes {
        let (val, mask) = x?;
        if *mask != 0xff {
            return None;
        }
        v = (v << 8) | u64::from(*val);
    }
    Some(Some(v))
}

/// A prefix of `len` (4 or 16) bytes at `off`; `None` when the mask is not a prefix mask.
fn prefix(b: &BTreeMap<usize, (u8, u8)>, off: usize, len: usize) -> Option<Option<IpNetwork>> {
    let mut addr = vec![0u8; len];
    let mut plen = 0u8;
    let mut ended = false;
    for (i, byte) in addr.iter_mut().enumerate() {
        let (val, mask) = b.get(&(off + i)).copied().unwrap_or((0, 0));
        let is_prefix_byte = mask.leading_ones() + mask.trailing_zeros() == 8;
        if mask != 0 && (ended || !is_prefix_byte) {
            return None;
        }
        if mask != 0xff {
            ended = true;
        }
        plen += mask.leading_ones() as u8;
        *byte = val;
    }
    if plen == 0 {
        return Some(None);
    }
    let ip: IpAddr = if len == 4 {
        IpAddr::from([addr[0], addr[1], addr[2], addr[3]])
    } else {
        let mut a = [0u8; 16];
        a.copy_from_slice(&addr);
        IpAddr::from(a)
    };
    IpNetwork::new(ip, plen).ok().map(Some)
}

fn decode_l4(m: &mut FlowMatch, b: &BTreeMap<usize, (u8, u8)>, base: usize) -> Option<()> {
    if matches!(m.ip_proto, Some(IPPROTO_ICMP | IPPROTO_ICMPV6)) {
        m.icmp_type = exact(b, base, 1)?.map(|v| v as u8);
    } else {
        m.src_port = exact(b, base, 2)?.map(|v| v as u16);
        m.dst_port = exact(b, base + 2, 2)?.map(|v| v as u16);
    }
    Some(())
}

/// The inverse of [`encode_match`]: the match a filter's keys express, or `None` when the keys
/// are not ones this crate writes. Used to report flows another handle installed.
pub fn decode_match(
    protocol: u16,
    keys: &[TcU32Key],
    l4_keys: Option<&[TcU32Key]>,
) -> Option<FlowMatch> {
    let root = key_bytes(keys)?;
    let mut m = FlowMatch {
        ethertype: if protocol == ETH_P_ALL {
            None
        } else {
            Some(EtherType::from_value(protocol)?)
        },
        ..FlowMatch::default()
    };
    match m.ethertype {
        Some(EtherType::Ipv4) => {
            m.ip_proto = exact(&root, 9, 1)?.map(|v| v as u8);
            m.src = prefix(&root, 12, 4)?;
            m.dst = prefix(&root, 16, 4)?;
            if let Some(l4) = l4_keys {
                decode_l4(&mut m, &key_bytes(l4)?, 0)?;
            }
        }
        Some(EtherType::Ipv6) => {
            m.ip_proto = exact(&root, 6, 1)?.map(|v| v as u8);
            m.src = prefix(&root, 8, 16)?;
            m.dst = prefix(&root, 24, 16)?;
            decode_l4(&mut m, &root, 40)?;
        }
        Some(EtherType::Arp) => {
            m.src = prefix(&root, 14, 4)?;
            m.dst = prefix(&root, 24, 4)?;
            // The hardware/protocol check without addresses comes from a /0 address prefix.
            if m.src.is_none() && m.dst.is_none() && root.contains_key(&0) {
                m.src = IpNetwork::new(IpAddr::from([0u8; 4]), 0).ok();
            }
        }
        None => {}
    }
    Some(m)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::{IPPROTO_ICMP, IPPROTO_TCP};

    fn key(off: i32, val: u32, mask: u32) -> TcU32Key {
        let mut k = TcU32Key::default();
        k.off = off;
        k.val = val;
        k.mask = mask;
        k
    }

    #[test]
    fn ipv4_tcp_port_uses_linked_table() {
        let f = Flow::redirect("a", "b")
            .ethertype(EtherType::Ipv4)
            .ip_proto(IPPROTO_TCP)
            .src("192.0.2.2/32".parse().unwrap())
            .dst("198.51.100.0/24".parse().unwrap())
            .dst_port(179);
        let e = encode_match(&f);
        assert_eq!(e.protocol, 0x0800);
        assert_eq!(
            e.keys,
            vec![
                key(4, 0, 0x0000_1fff),
                key(8, 0x0006_0000, 0x00ff_0000),
                key(12, 0xc000_0202, 0xffff_ffff),
                key(16, 0xc633_6400, 0xffff_ff00),
            ]
        );
        assert_eq!(e.l4_keys, Some(vec![key(0, 179, 0x0000_ffff)]));
    }

    #[test]
    fn ipv6_keys_are_at_fixed_offsets() {
        let f = Flow::redirect("a", "b")
            .ethertype(EtherType::Ipv6)
            .ip_proto(IPPROTO_TCP)
            .src("2001:db8::2/128".parse().unwrap())
            .src_port(179);
        let e = encode_match(&f);
        assert_eq!(e.protocol, 0x86dd);
        assert_eq!(e.l4_keys, None);
        assert_eq!(e.keys[0], key(4, 0x0000_0600, 0x0000_ff00));
        assert_eq!(e.keys[1], key(8, 0x2001_0db8, 0xffff_ffff));
        assert_eq!(e.keys[4], key(20, 2, 0xffff_ffff));
        assert_eq!(e.keys[5], key(40, 179 << 16, 0xffff_0000));
        assert_eq!(e.keys.len(), 6);
    }

    #[test]
    fn arp_sender_address_spans_two_words() {
        let f = Flow::redirect("a", "b")
            .ethertype(EtherType::Arp)
            .src("192.0.2.2/32".parse().unwrap())
            .dst("192.0.2.1/32".parse().unwrap());
        let e = encode_match(&f);
        assert_eq!(e.protocol, 0x0806);
        assert_eq!(
            e.keys,
            vec![
                key(0, 0x0001_0800, 0xffff_ffff),
                key(4, 0x0604_0000, 0xffff_0000),
                key(12, 0x0000_c000, 0x0000_ffff),
                key(16, 0x0202_0000, 0xffff_0000),
                key(24, 0xc000_0201, 0xffff_ffff),
            ]
        );
    }

    #[test]
    fn icmp_type_and_catch_all() {
        let f = Flow::redirect("a", "b")
            .ethertype(EtherType::Ipv4)
            .ip_proto(IPPROTO_ICMP)
            .icmp_type(8);
        assert_eq!(
            encode_match(&f).l4_keys,
            Some(vec![key(0, 0x0800_0000, 0xff00_0000)])
        );
        let all = encode_match(&Flow::redirect("a", "b"));
        assert_eq!(all.protocol, ETH_P_ALL);
        assert_eq!(all.keys, vec![key(0, 0, 0)]);
    }

    #[test]
    fn decode_inverts_encode() {
        let flows = crate::bgp_flows(
            "a",
            "b",
            &["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()],
            &["192.0.2.2".parse().unwrap(), "2001:db8::2".parse().unwrap()],
        );
        let odd = Flow::redirect("a", "b")
            .ethertype(EtherType::Ipv4)
            .src("10.128.0.0/9".parse().unwrap());
        for f in flows.iter().chain([&odd, &Flow::redirect("a", "b")]) {
            let e = encode_match(f);
            assert_eq!(
                decode_match(e.protocol, &e.keys, e.l4_keys.as_deref()),
                Some(f.matches.clone()),
                "{f}"
            );
        }
        let mut bad = TcU32Key::default();
        bad.mask = 0x00f0_0000;
        bad.off = 12;
        assert_eq!(decode_match(0x0800, &[bad], None), None);
    }

    #[test]
    fn prefix_masks_partial_bytes() {
        let f = Flow::redirect("a", "b")
            .ethertype(EtherType::Ipv4)
            .src("10.128.0.0/9".parse().unwrap());
        assert_eq!(
            encode_match(&f).keys,
            vec![key(12, 0x0a80_0000, 0xff80_0000)]
        );
    }

    #[test]
    fn cookies_round_trip_and_tags_depend_on_ifindex() {
        let f = Flow::redirect("a", "b");
        let g = group_tag("port-1");
        let t = flow_tag(&f, 3, Some(4));
        assert_eq!(parse_cookie(&cookie(g, t)), Some((g, t)));
        assert_ne!(t, flow_tag(&f, 3, Some(5)));
        assert_ne!(g, group_tag("port-2"));
        assert_eq!(parse_cookie(b"short"), None);
        assert_eq!(child_htid(FLOW_PRIO_MIN), 0x1000_0000);
        assert!(child_htid(FLOW_PRIO_MAX) < 0x8000_0000);
    }
}
