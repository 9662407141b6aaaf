//! Nexthop resolution, as zebra's `zebra_rnh.c` does it, over the routes this server knows:
//! the connected subnets of operative interfaces and the embedder's extra routes.
//!
//! Rules (FRR 8.4 zebra):
//! - longest-prefix match, walking to shorter prefixes when the best route at a prefix is not
//!   usable for this registration;
//! - reaching the default route (`/0`) ends the walk unresolved unless the registration asked
//!   for `resolve_via_default` (or the server resolves via default for everyone);
//! - a registration with the `connected` flag resolves only over connected and static routes;
//! - the answer names the prefix that matched; bgpd's import check for `network` statements
//!   accepts it only when that prefix equals the statement's prefix exactly.

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use crate::types::{ExtraNexthop, ExtraRoute, ExtraRouteKind, Interface};

/// Zebra route type numbers used in NEXTHOP_UPDATE.
pub mod route_type {
    /// Kernel route.
    pub const KERNEL: u8 = 1;
    /// Connected subnet.
    pub const CONNECT: u8 = 2;
    /// Static route.
    pub const STATIC: u8 = 3;
    /// BGP route.
    pub const BGP: u8 = 9;
}

/// One nexthop of a resolving route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ResolvedNexthop {
    /// Directly connected out of an interface.
    Interface(u32),
    /// Via a gateway, out of an interface when known.
    Gateway {
        /// Gateway address.
        addr: IpAddr,
        /// Outgoing interface.
        ifindex: Option<u32>,
    },
    /// Discard.
    Blackhole,
}

/// The route that resolves a tracked nexthop.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ResolvedRoute {
    /// The prefix of the resolving route.
    pub prefix: IpNetwork,
    /// Zebra route type ([`route_type`]).
    pub route_type: u8,
    /// Administrative distance.
    pub distance: u8,
    /// Metric.
    pub metric: u32,
    /// Usable nexthops (at least one).
    pub nexthops: Vec<ResolvedNexthop>,
}

/// What to resolve and how.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NhtQuery {
    /// The registered prefix (usually a host route for a nexthop or peer address; the
    /// statement's prefix for `network` import checks).
    pub target: IpNetwork,
    /// Resolve only over connected and static routes.
    pub connected: bool,
    /// Allow resolution over the default route.
    pub resolve_via_default: bool,
}

/// A route candidate for resolution.
#[derive(Debug, Clone, Copy)]
struct Candidate {
    prefix: IpNetwork,
    route_type: u8,
    distance: u8,
    metric: u32,
    nexthop: ResolvedNexthop,
}

/// Normalises a prefix: clears host bits.
pub fn normalize(p: IpNetwork) -> IpNetwork {
    IpNetwork::new(p.network(), p.prefix()).unwrap_or(p)
}

fn same_family(a: &IpNetwork, b: &IpNetwork) -> bool {
    a.is_ipv4() == b.is_ipv4()
}

fn covers(outer: &IpNetwork, inner: &IpNetwork) -> bool {
    same_family(outer, inner) && outer.prefix() <= inner.prefix() && outer.contains(inner.network())
}

/// The routes resolution runs over: a borrowed view of the server's state.
#[derive(Debug, Clone, Copy)]
pub struct Rib<'a> {
    /// Interfaces (connected subnets of the operative ones).
    pub interfaces: &'a [Interface],
    /// Embedder-provided routes.
    pub extra_routes: &'a [ExtraRoute],
    /// Resolve over the default route even when the registration did not ask
    /// (zebra's `ip nht resolve-via-default`).
    pub resolve_via_default_always: bool,
}

impl Rib<'_> {
    fn connected_interface_for(&self, addr: IpAddr) -> Option<u32> {
        self.interfaces
            .iter()
            .filter(|i| i.is_operative())
            .find(|i| {
                i.addresses
                    .iter()
                    .any(|a| a.contains(addr) && a.is_ipv4() == addr.is_ipv4())
            })
            .map(|i| i.ifindex)
    }

    fn interface_operative(&self, ifindex: u32) -> bool {
        self.interfaces
            .iter()
            .any(|i| i.ifindex == ifindex && i.is_operative())
    }

    fn candidates_for(&self, target: &IpNetwork) -> Vec<Candidate> {
        let mut out = Vec::new();
        for ifc in self.interfaces.iter().filter(|i| i.is_operative()) {
            for a in &ifc.addresses {
                let prefix = normalize(*a);
                if covers(&prefix, target) {
                    out.push(Candidate {
                        prefix,
                        route_type: route_type::CONNECT,
                        distance: 0,
                        metric: 0,
                        nexthop: ResolvedNexthop::Interface(ifc.ifindex),
                    });
                }
            }
        }
        for r in self.extra_routes {
            let prefix = normalize(r.prefix);
            if !covers(&prefix, target) {
                continue;
            }
            let nexthop = match r.nexthop {
                ExtraNexthop::Blackhole => Some(ResolvedNexthop::Blackhole),
                ExtraNexthop::Interface(i) => self
                    .interface_operative(i)
                    .then_some(ResolvedNexthop::Interface(i)),
                ExtraNexthop::Gateway {
                    addr,
                    ifindex: Some(i),
                } => self
                    .interface_operative(i)
                    .then_some(ResolvedNexthop::Gateway {
                        addr,
                        ifindex: Some(i),
                    }),
                ExtraNexthop::Gateway {
                    addr,
                    ifindex: None,
                } => self
                    .connected_interface_for(addr)
                    .map(|i| ResolvedNexthop::Gateway {
                        addr,
                        ifindex: Some(i),
                    }),
            };
            if let Some(nexthop) = nexthop {
                out.push(Candidate {
                    prefix,
                    route_type: match r.kind {
                        ExtraRouteKind::Static => route_type::STATIC,
                        ExtraRouteKind::Kernel => route_type::KERNEL,
                    },
                    distance: r.distance,
                    metric: r.metric,
                    nexthop,
                });
            }
        }
        out
    }

    /// Resolves `q` as zebra would; `None` means unresolved.
    pub fn resolve(&self, q: &NhtQuery) -> Option<ResolvedRoute> {
        let target = normalize(q.target);
        let mut cands = self.candidates_for(&target);
        // Most specific first; within a prefix the selected route is the lowest distance, then
        // connected before static before kernel, then the lowest interface index.
        let type_rank = |t: u8| match t {
            route_type::CONNECT => 0u8,
            route_type::STATIC => 1,
            _ => 2,
        };
        cands.sort_by(|a, b| {
            b.prefix
                .prefix()
                .cmp(&a.prefix.prefix())
                .then(a.distance.cmp(&b.distance))
                .then(type_rank(a.route_type).cmp(&type_rank(b.route_type)))
                .then(nexthop_order(&a.nexthop).cmp(&nexthop_order(&b.nexthop)))
        });
        let allow_default = q.resolve_via_default || self.resolve_via_default_always;
        let mut i = 0;
        while i < cands.len() {
            let plen = cands[i].prefix.prefix();
            let end = cands[i..]
                .iter()
                .position(|c| c.prefix.prefix() != plen)
                .map_or(cands.len(), |n| i + n);
            let group = &cands[i..end];
            i = end;
            if plen == 0 && !allow_default {
                return None;
            }
            let best = group[0];
            if q.connected
                && best.route_type != route_type::CONNECT
                && best.route_type != route_type::STATIC
            {
                continue;
            }
            let mut nexthops = vec![best.nexthop];
            if best.route_type != route_type::CONNECT {
                // Static/kernel routes to one prefix at one distance form one ECMP route.
                for c in &group[1..] {
                    if c.distance == best.distance
                        && c.route_type == best.route_type
                        && !nexthops.contains(&c.nexthop)
                    {
                        nexthops.push(c.nexthop);
                    }
                }
            }
            return Some(ResolvedRoute {
                prefix: best.prefix,
                route_type: best.route_type,
                distance: best.distance,
                metric: best.metric,
                nexthops,
            });
        }
        None
    }
}

fn nexthop_order(n: &ResolvedNexthop) -> (u8, u32) {
    match n {
        ResolvedNexthop::Interface(i) => (0, *i),
        ResolvedNexthop::Gateway { ifindex, .. } => (1, ifindex.unwrap_or(0)),
        ResolvedNexthop::Blackhole => (2, 0),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::types::Interface;

    fn net(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    fn host(s: &str) -> IpNetwork {
        let ip: IpAddr = s.parse().unwrap();
        IpNetwork::from(ip)
    }

    fn ifs() -> Vec<Interface> {
        vec![
            Interface::loopback(1, vec![net("127.0.0.1/8"), net("::1/128")]),
            Interface::ethernet(
                "veth0",
                7,
                [2, 0, 0, 0, 0, 1],
                1500,
                vec![
                    net("192.0.2.1/24"),
                    net("2001:db8::1/64"),
                    net("fe80::1/64"),
                ],
            ),
        ]
    }

    fn q(t: IpNetwork, connected: bool, rvd: bool) -> NhtQuery {
        NhtQuery {
            target: t,
            connected,
            resolve_via_default: rvd,
        }
    }

    #[test]
    fn connected_peer_resolves_over_its_subnet() {
        let ifs = ifs();
        let rib = Rib {
            interfaces: &ifs,
            extra_routes: &[],
            resolve_via_default_always: false,
        };
        let r = rib.resolve(&q(host("192.0.2.2"), true, false)).unwrap();
        assert_eq!(r.prefix, net("192.0.2.0/24"));
        assert_eq!(r.route_type, route_type::CONNECT);
        assert_eq!(r.distance, 0);
        assert_eq!(r.nexthops, vec![ResolvedNexthop::Interface(7)]);
        let r6 = rib.resolve(&q(host("2001:db8::2"), true, false)).unwrap();
        assert_eq!(r6.prefix, net("2001:db8::/64"));
        assert_eq!(r6.nexthops, vec![ResolvedNexthop::Interface(7)]);
        let ll = rib.resolve(&q(host("fe80::2"), true, false)).unwrap();
        assert_eq!(ll.prefix, net("fe80::/64"));
    }

    #[test]
    fn unknown_destination_is_unresolved() {
        let ifs = ifs();
        let rib = Rib {
            interfaces: &ifs,
            extra_routes: &[],
            resolve_via_default_always: false,
        };
        assert_eq!(rib.resolve(&q(host("198.51.100.1"), false, true)), None);
        assert_eq!(rib.resolve(&q(host("2001:db8:1::1"), false, true)), None);
    }

    #[test]
    fn down_interface_gives_no_connected_route() {
        let mut ifs = ifs();
        ifs[1].flags &= !crate::types::iff::RUNNING;
        let rib = Rib {
            interfaces: &ifs,
            extra_routes: &[],
            resolve_via_default_always: false,
        };
        assert_eq!(rib.resolve(&q(host("192.0.2.2"), true, false)), None);
    }

    #[test]
    fn default_route_needs_resolve_via_default() {
        let ifs = ifs();
        let extra = [ExtraRoute::via(
            net("0.0.0.0/0"),
            "192.0.2.254".parse().unwrap(),
        )];
        let rib = Rib {
            interfaces: &ifs,
            extra_routes: &extra,
            resolve_via_default_always: false,
        };
        assert_eq!(rib.resolve(&q(host("198.51.100.1"), false, false)), None);
        let r = rib.resolve(&q(host("198.51.100.1"), false, true)).unwrap();
        assert_eq!(r.prefix, net("0.0.0.0/0"));
        assert_eq!(r.route_type, route_type::STATIC);
        assert_eq!(
            r.nexthops,
            vec![ResolvedNexthop::Gateway {
                addr: "192.0.2.254".parse().unwrap(),
                ifindex: Some(7)
            }]
        );
        let always = Rib {
            resolve_via_default_always: true,
            ..rib
        };
        assert!(always
            .resolve(&q(host("198.51.100.1"), false, false))
            .is_some());
    }

    #[test]
    fn connected_flag_skips_kernel_routes_and_walks_up() {
        let ifs = ifs();
        let mut kernel = ExtraRoute::via(net("192.0.2.128/25"), "192.0.2.254".parse().unwrap());
        kernel.kind = ExtraRouteKind::Kernel;
        let extra = [kernel];
        let rib = Rib {
            interfaces: &ifs,
            extra_routes: &extra,
            resolve_via_default_always: false,
        };
        // Without the flag the more specific kernel route wins.
        let r = rib.resolve(&q(host("192.0.2.200"), false, false)).unwrap();
        assert_eq!(r.prefix, net("192.0.2.128/25"));
        assert_eq!(r.route_type, route_type::KERNEL);
        // With it the walk continues to the connected /24.
        let r = rib.resolve(&q(host("192.0.2.200"), true, false)).unwrap();
        assert_eq!(r.prefix, net("192.0.2.0/24"));
    }

    #[test]
    fn import_check_answers_name_the_matching_prefix() {
        let ifs = ifs();
        let extra = [
            ExtraRoute::blackhole(net("203.0.113.0/24")),
            ExtraRoute::via(net("0.0.0.0/0"), "192.0.2.254".parse().unwrap()),
        ];
        let rib = Rib {
            interfaces: &ifs,
            extra_routes: &extra,
            resolve_via_default_always: false,
        };
        // bgpd registers `network` prefixes with resolve_via_default set.
        let r = rib.resolve(&q(net("203.0.113.0/24"), false, true)).unwrap();
        assert_eq!(r.prefix, net("203.0.113.0/24"));
        assert_eq!(r.nexthops, vec![ResolvedNexthop::Blackhole]);
        let r = rib.resolve(&q(net("192.0.2.0/24"), false, true)).unwrap();
        assert_eq!(r.prefix, net("192.0.2.0/24"));
        // A network nothing covers except the default: resolved, but not exactly (bgpd rejects).
        let r = rib
            .resolve(&q(net("198.51.100.0/24"), false, true))
            .unwrap();
        assert_eq!(r.prefix, net("0.0.0.0/0"));
        // A longer registered prefix is covered by a shorter route; a shorter one is not.
        assert_eq!(
            rib.resolve(&q(net("203.0.113.0/25"), false, true))
                .unwrap()
                .prefix,
            net("203.0.113.0/24")
        );
        assert_eq!(
            rib.resolve(&q(net("203.0.112.0/23"), false, true))
                .unwrap()
                .prefix,
            net("0.0.0.0/0")
        );
    }

    #[test]
    fn static_routes_at_one_distance_form_ecmp_and_lower_distance_wins() {
        let ifs = ifs();
        let mut far = ExtraRoute::via(net("198.51.100.0/24"), "192.0.2.252".parse().unwrap());
        far.distance = 5;
        let extra = [
            ExtraRoute::via(net("198.51.100.0/24"), "192.0.2.254".parse().unwrap()),
            ExtraRoute::via(net("198.51.100.0/24"), "192.0.2.253".parse().unwrap()),
            far,
            // Unreachable gateway: inactive.
            ExtraRoute::via(net("198.51.100.0/24"), "203.0.113.1".parse().unwrap()),
        ];
        let rib = Rib {
            interfaces: &ifs,
            extra_routes: &extra,
            resolve_via_default_always: false,
        };
        let r = rib.resolve(&q(host("198.51.100.9"), false, false)).unwrap();
        assert_eq!(r.distance, 1);
        assert_eq!(r.nexthops.len(), 2);
    }

    #[test]
    fn families_do_not_mix() {
        let ifs = ifs();
        let extra = [ExtraRoute::blackhole(net("::/0"))];
        let rib = Rib {
            interfaces: &ifs,
            extra_routes: &extra,
            resolve_via_default_always: true,
        };
        assert_eq!(rib.resolve(&q(host("198.51.100.1"), false, true)), None);
        assert!(rib
            .resolve(&q(host("2001:db8:5::1"), false, true))
            .is_some());
    }
}
