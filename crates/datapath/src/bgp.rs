//! The standard flow set that lets bgpd talk to its peers across the datapath.

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv6Addr};

use crate::flow::{host_prefix, EtherType, Flow, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP};

/// The BGP TCP port.
pub const BGP_PORT: u16 = 179;
/// ICMP echo request type.
pub const ICMP_ECHO_REQUEST: u8 = 8;
/// ICMP echo reply type.
pub const ICMP_ECHO_REPLY: u8 = 0;
/// ICMPv6 echo request type.
pub const ICMPV6_ECHO_REQUEST: u8 = 128;
/// ICMPv6 echo reply type.
pub const ICMPV6_ECHO_REPLY: u8 = 129;
/// ICMPv6 neighbour solicitation type.
pub const ICMPV6_NEIGHBOR_SOLICIT: u8 = 135;
/// ICMPv6 neighbour advertisement type.
pub const ICMPV6_NEIGHBOR_ADVERT: u8 = 136;

/// The solicited-node multicast address of `addr` (ff02::1:ffXX:XXXX, RFC 4291 section 2.7.1).
pub fn solicited_node(addr: Ipv6Addr) -> Ipv6Addr {
    let o = addr.octets();
    Ipv6Addr::new(
        0xff02,
        0,
        0,
        0,
        0,
        1,
        0xff00 | u16::from(o[13]),
        (u16::from(o[14]) << 8) | u16::from(o[15]),
    )
}

/// Flows for one direction: frames on `from` sent by `src` to `dst` go to `to`.
fn one_way(out: &mut Vec<Flow>, from: &str, to: &str, src: IpAddr, dst: IpAddr) {
    let s = host_prefix(src);
    let d = host_prefix(dst);
    let base = |et: EtherType| Flow::redirect(from, to).ethertype(et).src(s);
    match (src, dst) {
        (IpAddr::V4(_), IpAddr::V4(_)) => {
            let tcp = base(EtherType::Ipv4).dst(d).ip_proto(IPPROTO_TCP);
            out.push(tcp.clone().dst_port(crate::BGP_PORT));
            out.push(tcp.src_port(crate::BGP_PORT));
            out.push(base(EtherType::Arp).dst(d));
            let icmp = base(EtherType::Ipv4).dst(d).ip_proto(IPPROTO_ICMP);
            out.push(icmp.clone().icmp_type(ICMP_ECHO_REQUEST));
            out.push(icmp.icmp_type(ICMP_ECHO_REPLY));
        }
        (IpAddr::V6(_), IpAddr::V6(dst6)) => {
            let tcp = base(EtherType::Ipv6).dst(d).ip_proto(IPPROTO_TCP);
            out.push(tcp.clone().dst_port(BGP_PORT));
            out.push(tcp.src_port(BGP_PORT));
            let icmp = base(EtherType::Ipv6).ip_proto(IPPROTO_ICMPV6);
            for t in [
                ICMPV6_ECHO_REQUEST,
                ICMPV6_ECHO_REPLY,
                ICMPV6_NEIGHBOR_SOLICIT,
                ICMPV6_NEIGHBOR_ADVERT,
            ] {
                out.push(icmp.clone().dst(d).icmp_type(t));
            }
            // Address resolution sends the solicitation to the target's solicited-node group.
            out.push(
                icmp.dst(host_prefix(IpAddr::V6(solicited_node(dst6))))
                    .icmp_type(ICMPV6_NEIGHBOR_SOLICIT),
            );
        }
        _ => {}
    }
}

/// The standard BGP flow set between `uplink` and the host side of bgpd's datapath veth
/// (`bgpd_port`), for every pair (local address, peer) of the same family:
///
/// - TCP with destination port 179 and TCP with source port 179, peer → local and local → peer;
/// - IPv4: ARP with sender = peer, target = local (and the reverse); ICMP echo request and reply;
/// - IPv6: ICMPv6 echo request and reply, neighbour solicitations (to the address and to its
///   solicited-node group) and neighbour advertisements.
///
/// Frames from `uplink` go to `bgpd_port` and frames from `bgpd_port` go to `uplink`. Nothing else
/// is redirected: other TCP ports, UDP, other ICMP types, router solicitations/advertisements and
/// traffic from or to any other address (including link-local addresses) stay on their normal path.
/// The result is sorted and free of duplicates, so the same inputs give the same list.
pub fn bgp_flows(
    uplink: &str,
    bgpd_port: &str,
    local_addrs: &[IpAddr],
    peers: &[IpAddr],
) -> Vec<Flow> {
    let mut out = Vec::new();
    for &local in local_addrs {
        for &peer in peers {
            if local.is_ipv4() != peer.is_ipv4() || local == peer {
                continue;
            }
            one_way(&mut out, uplink, bgpd_port, peer, local);
            one_way(&mut out, bgpd_port, uplink, local, peer);
        }
    }
    let mut seen = BTreeSet::new();
    out.retain(|f| seen.insert(f.to_string()));
    out.sort_by_key(|f| f.to_string());
    out
}

/// What a flow of the BGP flow set carries, as a bounded metric label (`bgp`, `arp`, `echo`,
/// `nd`, `other`): a port's flows are many (one set per local address and peer) but their
/// kinds are few.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum FlowKind {
    /// TCP to or from port 179.
    Bgp,
    /// ARP.
    Arp,
    /// ICMP or ICMPv6 echo request or reply.
    Echo,
    /// ICMPv6 neighbour solicitation or advertisement.
    NeighborDiscovery,
    /// Anything else (a flow [`bgp_flows`] does not make).
    Other,
}

impl FlowKind {
    /// What `flow` carries, read from its match.
    pub fn of(flow: &Flow) -> FlowKind {
        let m = &flow.matches;
        if m.ethertype == Some(EtherType::Arp) {
            return FlowKind::Arp;
        }
        match (m.ip_proto, m.icmp_type) {
            (Some(IPPROTO_TCP), _)
                if m.src_port == Some(BGP_PORT) || m.dst_port == Some(BGP_PORT) =>
            {
                FlowKind::Bgp
            }
            (Some(IPPROTO_ICMP), Some(ICMP_ECHO_REQUEST | ICMP_ECHO_REPLY))
            | (Some(IPPROTO_ICMPV6), Some(ICMPV6_ECHO_REQUEST | ICMPV6_ECHO_REPLY)) => {
                FlowKind::Echo
            }
            (Some(IPPROTO_ICMPV6), Some(ICMPV6_NEIGHBOR_SOLICIT | ICMPV6_NEIGHBOR_ADVERT)) => {
                FlowKind::NeighborDiscovery
            }
            _ => FlowKind::Other,
        }
    }

    /// Its label value.
    pub fn as_str(self) -> &'static str {
        match self {
            FlowKind::Bgp => "bgp",
            FlowKind::Arp => "arp",
            FlowKind::Echo => "echo",
            FlowKind::NeighborDiscovery => "nd",
            FlowKind::Other => "other",
        }
    }
}

impl std::fmt::Display for FlowKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Action;
    use crate::packet::Packet;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn solicited_node_address() {
        let a: Ipv6Addr = "2001:db8::1:2345:6789".parse().unwrap();
        assert_eq!(
            solicited_node(a),
            "ff02::1:ff45:6789".parse::<Ipv6Addr>().unwrap()
        );
    }

    #[test]
    fn flow_set_size_and_directions() {
        let flows = bgp_flows(
            "up",
            "bgp",
            &[ip("192.0.2.1"), ip("2001:db8::1")],
            &[ip("192.0.2.2"), ip("2001:db8::2")],
        );
        // IPv4: 5 per direction; IPv6: 7 per direction.
        assert_eq!(flows.len(), 2 * 5 + 2 * 7);
        for f in &flows {
            f.validate().unwrap();
            let Action::Redirect { to } = &f.action else {
                panic!("not a redirect: {f}")
            };
            assert_ne!(&f.in_port, to);
            assert!(f.in_port == "up" || f.in_port == "bgp");
        }
        // Deterministic.
        let again = bgp_flows(
            "up",
            "bgp",
            &[ip("2001:db8::1"), ip("192.0.2.1")],
            &[ip("2001:db8::2"), ip("192.0.2.2")],
        );
        assert_eq!(flows, again);
    }

    #[test]
    fn only_bgp_between_peer_and_local_matches() {
        let flows = bgp_flows("up", "bgp", &[ip("192.0.2.1")], &[ip("192.0.2.2")]);
        let hit = |p: &Packet| {
            flows
                .iter()
                .any(|f| f.in_port == p.in_port && f.matches.matches(p))
        };
        assert!(hit(&Packet::tcp(
            "up",
            (ip("192.0.2.2"), 40000),
            (ip("192.0.2.1"), 179),
            60
        )));
        assert!(hit(&Packet::tcp(
            "up",
            (ip("192.0.2.2"), 179),
            (ip("192.0.2.1"), 40000),
            60
        )));
        assert!(hit(&Packet::tcp(
            "bgp",
            (ip("192.0.2.1"), 40000),
            (ip("192.0.2.2"), 179),
            60
        )));
        assert!(hit(&Packet::icmp(
            "up",
            ip("192.0.2.2"),
            ip("192.0.2.1"),
            ICMP_ECHO_REQUEST,
            98
        )));
        assert!(hit(&Packet::arp(
            "bgp",
            "192.0.2.1".parse().unwrap(),
            "192.0.2.2".parse().unwrap()
        )));
        assert!(!hit(&Packet::tcp(
            "up",
            (ip("192.0.2.2"), 40000),
            (ip("192.0.2.1"), 22),
            60
        )));
        assert!(!hit(&Packet::udp(
            "up",
            (ip("192.0.2.2"), 179),
            (ip("192.0.2.1"), 179),
            60
        )));
        assert!(!hit(&Packet::tcp(
            "up",
            (ip("192.0.2.3"), 40000),
            (ip("192.0.2.1"), 179),
            60
        )));
        assert!(!hit(&Packet::icmp(
            "up",
            ip("192.0.2.2"),
            ip("192.0.2.1"),
            3,
            98
        )));
        // Direction matters: a peer-sourced packet arriving on the bgpd port is not redirected.
        assert!(!hit(&Packet::tcp(
            "bgp",
            (ip("192.0.2.2"), 40000),
            (ip("192.0.2.1"), 179),
            60
        )));
    }

    #[test]
    fn ipv6_neighbour_discovery_is_covered() {
        let flows = bgp_flows("up", "bgp", &[ip("2001:db8::1")], &[ip("2001:db8::2")]);
        let hit = |p: &Packet| {
            flows
                .iter()
                .any(|f| f.in_port == p.in_port && f.matches.matches(p))
        };
        let sol = IpAddr::V6(solicited_node("2001:db8::1".parse().unwrap()));
        assert!(hit(&Packet::icmp(
            "up",
            ip("2001:db8::2"),
            sol,
            ICMPV6_NEIGHBOR_SOLICIT,
            86
        )));
        assert!(hit(&Packet::icmp(
            "up",
            ip("2001:db8::2"),
            ip("2001:db8::1"),
            ICMPV6_NEIGHBOR_ADVERT,
            86
        )));
        assert!(hit(&Packet::icmp(
            "bgp",
            ip("2001:db8::1"),
            ip("2001:db8::2"),
            ICMPV6_ECHO_REPLY,
            86
        )));
        // Router advertisements are not redirected.
        assert!(!hit(&Packet::icmp(
            "up",
            ip("2001:db8::2"),
            ip("2001:db8::1"),
            134,
            86
        )));
    }

    #[test]
    fn mixed_families_pair_only_within_a_family() {
        let flows = bgp_flows("up", "bgp", &[ip("192.0.2.1")], &[ip("2001:db8::2")]);
        assert!(flows.is_empty());
    }

    #[test]
    fn every_flow_of_the_set_has_a_known_kind() {
        let flows = bgp_flows(
            "up",
            "bgp",
            &[ip("192.0.2.1"), ip("2001:db8::1")],
            &[ip("192.0.2.2"), ip("2001:db8::2")],
        );
        let count = |k: FlowKind| flows.iter().filter(|f| FlowKind::of(f) == k).count();
        // Per direction and family: two TCP flows; IPv4 one ARP and two echo; IPv6 two echo
        // and three neighbour discovery flows.
        assert_eq!(count(FlowKind::Bgp), 8);
        assert_eq!(count(FlowKind::Arp), 2);
        assert_eq!(count(FlowKind::Echo), 8);
        assert_eq!(count(FlowKind::NeighborDiscovery), 6);
        assert_eq!(count(FlowKind::Other), 0);
        let udp = Flow::redirect("up", "bgp")
            .ethertype(EtherType::Ipv4)
            .ip_proto(crate::IPPROTO_UDP)
            .dst_port(BGP_PORT);
        assert_eq!(FlowKind::of(&udp), FlowKind::Other);
        let tcp = Flow::redirect("up", "bgp")
            .ethertype(EtherType::Ipv4)
            .ip_proto(IPPROTO_TCP)
            .dst_port(22);
        assert_eq!(FlowKind::of(&tcp), FlowKind::Other);
        let rs = Flow::redirect("up", "bgp")
            .ethertype(EtherType::Ipv6)
            .ip_proto(IPPROTO_ICMPV6)
            .icmp_type(133);
        assert_eq!(FlowKind::of(&rs).to_string(), "other");
    }
}
