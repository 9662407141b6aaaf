//! Sans-I/O part of the kernel sink: learned paths → FIB next hops, and the merge of the routes
//! of several ports sharing one table.
//!
//! A path's gateway goes out of the port's uplink (its interface in the table's namespace),
//! `onlink` when the gateway is one of the port's peers or inside one of its subnets (the peer
//! is directly on the uplink even though the uplink has no address there). Other gateways are
//! left to the kernel to resolve. When several ports learn one prefix, the paths of the ports
//! with the lowest administrative distance are installed together as one multipath route.

use std::collections::{HashMap, HashSet};
use std::net::IpAddr;

use fib::intern::{Interner, SetId};
use fib::prefix_map::PrefixMap;
use fib::NextHop;
use ipnetwork::IpNetwork;

use crate::types::RoutePath;

/// What the sink knows of one port.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PortFacts {
    /// Index of the port's uplink in the table's namespace, if it exists there.
    pub uplink: Option<u32>,
    /// The peers' addresses.
    pub peers: HashSet<IpAddr>,
    /// The port's own subnets (router port addresses with their prefix lengths).
    pub subnets: Vec<IpNetwork>,
}

impl PortFacts {
    /// The FIB next hop of `path` learned on this port, if it can be installed.
    pub fn next_hop(&self, path: &RoutePath) -> Option<NextHop> {
        match (path.gateway, self.uplink) {
            (Some(gw), Some(uplink)) => {
                let onlink =
                    self.peers.contains(&gw) || self.subnets.iter().any(|s| s.contains(gw));
                let link_local = matches!(gw, IpAddr::V6(v6) if v6.is_unicast_link_local());
                if onlink || link_local {
                    Some(NextHop {
                        gateway: Some(gw),
                        ifindex: Some(uplink),
                        onlink: onlink && !link_local,
                    })
                } else {
                    Some(NextHop::via(gw))
                }
            }
            // A link-local gateway means nothing without its interface.
            (Some(IpAddr::V6(v6)), None) if v6.is_unicast_link_local() => None,
            (Some(gw), None) => Some(NextHop::via(gw)),
            // Directly connected through the uplink.
            (None, Some(uplink)) => Some(NextHop {
                gateway: None,
                ifindex: Some(uplink),
                onlink: false,
            }),
            (None, None) => None,
        }
    }
}

/// One port's contribution to a prefix: its id, its paths' distance, its paths (an interned
/// set: a full table from one peer shares a handful) — 8 bytes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Contribution {
    port: u16,
    distance: u8,
    /// In the table of routes: several ports contribute, listed in `Merge::multi` (the other
    /// fields are then meaningless).
    many: bool,
    paths: SetId,
}

/// The routes of every port of one table, merged per prefix.
///
/// Almost every prefix has one port's contribution, held inline in `routes` (8 bytes and an
/// 8-byte key per IPv4 prefix); prefixes several ports contribute to are marked there and
/// listed in `multi`.
#[derive(Debug, Default)]
pub struct Merge {
    ports: HashMap<u16, PortFacts>,
    routes: PrefixMap<Contribution>,
    multi: PrefixMap<Vec<Contribution>>,
    paths: Interner<RoutePath>,
}

impl Merge {
    /// An empty merge.
    pub fn new() -> Merge {
        Merge::default()
    }

    /// The contributions to `prefix`.
    fn contributions(&self, prefix: &IpNetwork) -> &[Contribution] {
        match self.routes.get(prefix) {
            Some(c) if c.many => self.multi.get(prefix).map_or(&[], Vec::as_slice),
            Some(c) => std::slice::from_ref(c),
            None => &[],
        }
    }

    /// The prefixes port `id` contributes to.
    fn port_prefixes(&self, id: u16) -> Vec<IpNetwork> {
        let single = self
            .routes
            .iter()
            .filter(|(_, c)| !c.many && c.port == id)
            .map(|(p, _)| p);
        let shared = self
            .multi
            .iter()
            .filter(|(_, list)| list.iter().any(|c| c.port == id))
            .map(|(p, _)| p);
        single.chain(shared).collect()
    }

    /// Sets (or updates) what is known of port `id`. Returns the prefixes whose next hops
    /// change because of it, with their new merged next hops.
    pub fn set_port(&mut self, id: u16, facts: PortFacts) -> Vec<(IpNetwork, Vec<NextHop>)> {
        let changed = self.ports.get(&id) != Some(&facts);
        self.ports.insert(id, facts);
        if !changed {
            return Vec::new();
        }
        // The uplink index or onlink rules changed: re-derive the port's routes.
        self.port_prefixes(id)
            .into_iter()
            .map(|prefix| (prefix, self.merged(&prefix)))
            .collect()
    }

    /// Forgets port `id` and its routes; returns the prefixes that change.
    pub fn remove_port(&mut self, id: u16) -> Vec<(IpNetwork, Vec<NextHop>)> {
        self.ports.remove(&id);
        self.withdraw_port_routes(id)
    }

    /// Withdraws every route of port `id` (the port stays known); returns the prefixes that
    /// change.
    pub fn withdraw_port_routes(&mut self, id: u16) -> Vec<(IpNetwork, Vec<NextHop>)> {
        self.port_prefixes(id)
            .into_iter()
            .map(|prefix| (prefix, self.withdraw(id, prefix)))
            .collect()
    }

    /// Sets port `c.port`'s contribution to `prefix`.
    fn upsert(&mut self, prefix: IpNetwork, c: Contribution) {
        let Some(cell) = self.routes.get_mut(&prefix) else {
            self.routes.insert(prefix, c);
            return;
        };
        if !cell.many {
            if cell.port == c.port {
                self.paths.release(cell.paths);
                *cell = c;
            } else {
                self.multi.insert(prefix, vec![*cell, c]);
                cell.many = true;
            }
            return;
        }
        let list = self.multi.get_or_insert_with(prefix, Vec::new);
        match list.iter_mut().find(|old| old.port == c.port) {
            Some(old) => {
                self.paths.release(old.paths);
                *old = c;
            }
            None => list.push(c),
        }
    }

    /// Port `id` reaches `prefix` through exactly `paths`; returns the merged next hops to
    /// install (empty: none).
    pub fn replace(&mut self, id: u16, prefix: IpNetwork, paths: &[RoutePath]) -> Vec<NextHop> {
        if !self.ports.contains_key(&id) {
            return self.merged(&prefix);
        }
        if paths.is_empty() {
            return self.withdraw(id, prefix);
        }
        let distance = paths.iter().map(|p| p.distance).min().unwrap_or(u8::MAX);
        // (`None` only with 2^32 - 1 distinct path sets live at once.)
        if let Some(set) = self.paths.acquire(paths) {
            let c = Contribution {
                port: id,
                distance,
                many: false,
                paths: set,
            };
            self.upsert(prefix, c);
        }
        self.merged(&prefix)
    }

    /// Port `id` no longer reaches `prefix`; returns the merged next hops left (empty: none).
    pub fn withdraw(&mut self, id: u16, prefix: IpNetwork) -> Vec<NextHop> {
        let Some(cell) = self.routes.get_mut(&prefix) else {
            return Vec::new();
        };
        if !cell.many {
            if cell.port == id {
                self.paths.release(cell.paths);
                self.routes.remove(&prefix);
            }
            return self.merged(&prefix);
        }
        let list = self.multi.get_or_insert_with(prefix, Vec::new);
        let paths = &mut self.paths;
        list.retain(|c| {
            if c.port == id {
                paths.release(c.paths);
            }
            c.port != id
        });
        match list.as_slice() {
            [] => {
                self.routes.remove(&prefix);
                self.multi.remove(&prefix);
            }
            [last] => {
                *cell = *last;
                self.multi.remove(&prefix);
            }
            _ => {}
        }
        self.merged(&prefix)
    }

    /// The merged next hops of `prefix`: those of the ports with the lowest distance.
    pub fn merged(&self, prefix: &IpNetwork) -> Vec<NextHop> {
        let list = self.contributions(prefix);
        let Some(best) = list.iter().map(|c| c.distance).min() else {
            return Vec::new();
        };
        let mut out: Vec<NextHop> = list
            .iter()
            .filter(|c| c.distance == best)
            .filter_map(|c| Some((self.ports.get(&c.port)?, self.paths.get(c.paths)?)))
            .flat_map(|(facts, paths)| paths.iter().filter_map(|p| facts.next_hop(p)))
            .collect();
        out.sort_unstable();
        out.dedup();
        out
    }

    /// Number of prefixes with at least one port's route.
    pub fn len(&self) -> usize {
        self.routes.len()
    }

    /// Whether no port has any route.
    pub fn is_empty(&self) -> bool {
        self.routes.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    fn path(gw: &str, distance: u8) -> RoutePath {
        RoutePath {
            gateway: Some(gw.parse().unwrap()),
            ifindex: Some(99), // bgpd's namespace index: never used in the host FIB
            distance,
            metric: 0,
            weight: 1,
        }
    }

    fn facts(uplink: u32, peers: &[&str], subnets: &[&str]) -> PortFacts {
        PortFacts {
            uplink: Some(uplink),
            peers: peers.iter().map(|a| a.parse().unwrap()).collect(),
            subnets: subnets.iter().map(|s| p(s)).collect(),
        }
    }

    #[test]
    fn peers_and_subnet_gateways_are_onlink_on_the_uplink_others_resolved_by_the_kernel() {
        let f = facts(4, &["198.51.100.1"], &["192.0.2.10/24", "2001:db8::10/64"]);
        let peer = f.next_hop(&path("198.51.100.1", 20)).unwrap();
        assert_eq!(peer, NextHop::onlink("198.51.100.1".parse().unwrap(), 4));
        let in_subnet = f.next_hop(&path("192.0.2.77", 20)).unwrap();
        assert!(in_subnet.onlink);
        assert_eq!(in_subnet.ifindex, Some(4));
        let v6 = f.next_hop(&path("2001:db8::1", 20)).unwrap();
        assert!(v6.onlink);
        let far = f.next_hop(&path("203.0.113.5", 20)).unwrap();
        assert_eq!(far, NextHop::via("203.0.113.5".parse().unwrap()));
        let ll = f.next_hop(&path("fe80::1", 20)).unwrap();
        assert_eq!((ll.ifindex, ll.onlink), (Some(4), false));
        let no_uplink = PortFacts {
            uplink: None,
            ..f.clone()
        };
        assert!(no_uplink.next_hop(&path("fe80::1", 20)).is_none());
        assert_eq!(
            no_uplink.next_hop(&path("198.51.100.1", 20)),
            Some(NextHop::via("198.51.100.1".parse().unwrap()))
        );
    }

    #[test]
    fn one_port_replace_and_withdraw() {
        let mut m = Merge::new();
        m.set_port(1, facts(4, &["192.0.2.1", "192.0.2.2"], &[]));
        let hops = m.replace(
            1,
            p("203.0.113.0/24"),
            &[path("192.0.2.2", 20), path("192.0.2.1", 20)],
        );
        assert_eq!(hops.len(), 2);
        assert!(hops.iter().all(|h| h.onlink && h.ifindex == Some(4)));
        assert!(m.withdraw(1, p("203.0.113.0/24")).is_empty());
        assert!(m.is_empty());
    }

    #[test]
    fn ports_of_one_table_merge_by_distance() {
        let mut m = Merge::new();
        m.set_port(1, facts(4, &["192.0.2.1"], &[]));
        m.set_port(2, facts(5, &["198.51.100.1"], &[]));
        let prefix = p("203.0.113.0/24");
        m.replace(1, prefix, &[path("192.0.2.1", 20)]);
        let both = m.replace(2, prefix, &[path("198.51.100.1", 20)]);
        assert_eq!(both.len(), 2, "equal distance: multipath over both uplinks");
        let better = m.replace(2, prefix, &[path("198.51.100.1", 1)]);
        assert_eq!(better.len(), 1);
        assert_eq!(better[0].ifindex, Some(5));
        let left = m.withdraw(2, prefix);
        assert_eq!(left.len(), 1);
        assert_eq!(left[0].ifindex, Some(4));
    }

    #[test]
    fn new_port_facts_re_derive_its_routes() {
        let mut m = Merge::new();
        m.set_port(1, facts(4, &["192.0.2.1"], &[]));
        m.replace(1, p("203.0.113.0/24"), &[path("192.0.2.1", 20)]);
        assert!(m.set_port(1, facts(4, &["192.0.2.1"], &[])).is_empty());
        let changed = m.set_port(1, facts(7, &["192.0.2.1"], &[]));
        assert_eq!(changed.len(), 1);
        assert_eq!(changed[0].1[0].ifindex, Some(7));
    }

    #[test]
    fn removing_a_port_reports_every_prefix_it_changed() {
        let mut m = Merge::new();
        m.set_port(1, facts(4, &["192.0.2.1"], &[]));
        m.set_port(2, facts(5, &["198.51.100.1"], &[]));
        m.replace(1, p("203.0.113.0/24"), &[path("192.0.2.1", 20)]);
        m.replace(2, p("203.0.113.0/24"), &[path("198.51.100.1", 20)]);
        m.replace(1, p("198.18.0.0/24"), &[path("192.0.2.1", 20)]);
        let mut changed = m.remove_port(1);
        changed.sort();
        assert_eq!(changed.len(), 2);
        assert_eq!(changed[0].0, p("198.18.0.0/24"));
        assert!(changed[0].1.is_empty());
        assert_eq!(changed[1].1.len(), 1);
        assert_eq!(m.len(), 1);
    }

    #[test]
    fn paths_without_usable_next_hops_withdraw() {
        let mut m = Merge::new();
        m.set_port(1, PortFacts::default());
        let none = RoutePath {
            gateway: None,
            ifindex: None,
            distance: 20,
            metric: 0,
            weight: 1,
        };
        assert!(m.replace(1, p("203.0.113.0/24"), &[none]).is_empty());
        assert!(m.replace(1, p("203.0.113.0/24"), &[]).is_empty());
        assert!(m.is_empty());
        // Routes of a port the sink does not know are ignored.
        assert!(m
            .replace(9, p("203.0.113.0/24"), &[path("192.0.2.1", 20)])
            .is_empty());
    }

    #[test]
    fn path_sets_are_shared_and_contributions_shrink_back_to_one() {
        let mut m = Merge::new();
        m.set_port(1, facts(7, &["192.0.2.2"], &[]));
        m.set_port(2, facts(8, &["198.51.100.2"], &[]));
        let a = [path("192.0.2.2", 20)];
        let b = [path("198.51.100.2", 20)];
        for i in 0..1000u32 {
            let prefix = IpNetwork::V4(
                ipnetwork::Ipv4Network::new(std::net::Ipv4Addr::from((10 << 24) | (i << 8)), 24)
                    .unwrap(),
            );
            m.replace(1, prefix, &a);
            m.replace(2, prefix, &b);
        }
        // One shared copy per distinct path set, not one per prefix.
        assert_eq!(m.paths.len(), 2);
        let x = p("10.0.5.0/24");
        assert_eq!(m.merged(&x).len(), 2, "both ports' paths at equal distance");
        // Port 2 leaves: every prefix is back to port 1's single path.
        let changed = m.remove_port(2);
        assert_eq!(changed.len(), 1000);
        assert!(changed.iter().all(|(_, hops)| hops.len() == 1));
        assert!(matches!(
            m.routes.get(&x),
            Some(Contribution {
                port: 1,
                distance: 20,
                many: false,
                ..
            })
        ));
        assert!(m.multi.is_empty(), "no prefix lists several ports any more");
        assert_eq!(
            m.paths.len(),
            1,
            "port 2's path set is forgotten with its last route"
        );
        // Withdrawing the last contribution removes the prefix.
        assert!(m.withdraw(1, x).is_empty());
        assert!(!m.routes.contains_key(&x));
        assert_eq!(m.len(), 999);
    }
}
