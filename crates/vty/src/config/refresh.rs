//! Soft refreshes for a bgpd that does not re-apply changed policy itself
//! ([`Flavour::soft_refresh`]): after the diff, every existing neighbor whose route-map binding
//! changed in a family, or whose bound route-map (or a prefix-list it matches) changed, is
//! soft-cleared in that family. New neighbors start their sessions with the new policy.

use std::collections::BTreeSet;

use super::policy::{Policies, PolicyName};
use super::{Afi, BgpConfig, Command, Node};
use crate::flavour::Flavour;

/// Whether route-map `name` renders differently in `new` than in `old` (itself, or a
/// prefix-list one of its entries matches).
fn route_map_changed(old: &Policies, new: &Policies, name: &PolicyName) -> bool {
    let (o, n) = (old.route_maps.get(name), new.route_maps.get(name));
    if o != n {
        return true;
    }
    let lists: BTreeSet<&(Afi, PolicyName)> = n
        .into_iter()
        .flat_map(|rm| rm.values())
        .filter_map(|e| e.match_prefix_list.as_ref())
        .collect();
    lists
        .into_iter()
        .any(|key| old.prefix_lists.get(key) != new.prefix_lists.get(key))
}

/// Appends the soft refreshes `fl` needs after turning `old` into `new` (none for a bgpd that
/// re-applies policy itself, or when the AS changed and every session restarts anyway).
pub(super) fn soft_refreshes(
    old: &BgpConfig,
    new: &BgpConfig,
    out: &mut Vec<Command>,
    fl: &Flavour,
) {
    if old.asn != new.asn {
        return;
    }
    for afi in [Afi::Ipv4, Afi::Ipv6] {
        let (of, nf) = (old.family(afi), new.family(afi));
        for (addr, np) in &nf.policy {
            if !old.neighbors.contains_key(addr) {
                continue;
            }
            let op = of.policy.get(addr).cloned().unwrap_or_default();
            let changed = op.route_map_in != np.route_map_in
                || op.route_map_out != np.route_map_out
                || [&np.route_map_in, &np.route_map_out]
                    .into_iter()
                    .flatten()
                    .any(|m| route_map_changed(&old.policies, &new.policies, m));
            if changed {
                if let Some(line) = fl.soft_refresh(*addr, afi) {
                    out.push(Command::new(Node::Config, line));
                }
            }
        }
        // A binding removed altogether (the neighbor still exists): re-advertise without it.
        for (addr, op) in &of.policy {
            let unbound = !nf.policy.contains_key(addr)
                && (op.route_map_in.is_some() || op.route_map_out.is_some());
            if unbound && new.neighbors.contains_key(addr) {
                if let Some(line) = fl.soft_refresh(*addr, afi) {
                    out.push(Command::new(Node::Config, line));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::policy::{Action, NeighborPolicy, PrefixList, RouteMap, RouteMapEntry};
    use crate::config::{diff_for, Asn, Neighbor};

    fn lines(cmds: &[Command]) -> Vec<String> {
        cmds.iter()
            .filter(|c| c.line().starts_with("do "))
            .map(|c| c.line().to_owned())
            .collect()
    }

    fn name(s: &str) -> PolicyName {
        PolicyName::new(s).unwrap()
    }

    /// Two neighbors (one per family) with an outbound route-map each.
    fn base() -> BgpConfig {
        let mut c = BgpConfig::new(Asn::new(65001).unwrap());
        for a in ["192.0.2.2", "2001:db8::2"] {
            c.add_neighbor(Neighbor::new(a.parse().unwrap(), Asn::new(65002).unwrap()));
        }
        c.ipv6.activate.insert("2001:db8::2".parse().unwrap());
        let mut rm = RouteMap::new();
        rm.insert(10, RouteMapEntry::default());
        c.policies.route_maps.insert(name("OUT"), rm);
        let np = NeighborPolicy {
            route_map_out: Some(name("OUT")),
            ..NeighborPolicy::default()
        };
        c.ipv4
            .policy
            .insert("192.0.2.2".parse().unwrap(), np.clone());
        c.ipv6.policy.insert("2001:db8::2".parse().unwrap(), np);
        c
    }

    #[test]
    fn frr_needs_no_refresh() {
        let old = base();
        let mut new = base();
        new.policies
            .route_maps
            .get_mut(&name("OUT"))
            .unwrap()
            .get_mut(&10)
            .unwrap()
            .local_preference = Some(200);
        assert!(lines(&diff_for(&old, &new, &Flavour::FRR)).is_empty());
        assert!(lines(&diff_for(&old, &new, &Flavour::QUAGGA)).len() == 2);
    }

    #[test]
    fn quagga_refreshes_the_neighbors_of_a_changed_route_map_in_each_family() {
        let old = base();
        let mut new = base();
        new.policies
            .route_maps
            .get_mut(&name("OUT"))
            .unwrap()
            .get_mut(&10)
            .unwrap()
            .metric = Some(5);
        assert_eq!(
            lines(&diff_for(&old, &new, &Flavour::QUAGGA)),
            [
                "do clear ip bgp 192.0.2.2 soft",
                "do clear bgp ipv6 2001:db8::2 soft"
            ]
        );
        // Unchanged: nothing.
        assert!(lines(&diff_for(&old, &old, &Flavour::QUAGGA)).is_empty());
    }

    #[test]
    fn quagga_refreshes_on_a_changed_prefix_list_or_binding_only_where_used() {
        let mut old = base();
        let key = (Afi::Ipv4, name("PL"));
        let pl = PrefixList::new(Afi::Ipv4, Vec::new(), Action::Permit).unwrap();
        old.policies.prefix_lists.insert(key.clone(), pl);
        old.policies.route_maps.insert(name("IN"), {
            let mut rm = RouteMap::new();
            rm.insert(
                10,
                RouteMapEntry {
                    match_prefix_list: Some(key.clone()),
                    ..RouteMapEntry::default()
                },
            );
            rm
        });
        old.ipv4
            .policy
            .get_mut(&"192.0.2.2".parse().unwrap())
            .unwrap()
            .route_map_in = Some(name("IN"));
        // The prefix-list changes: only the IPv4 neighbor (whose inbound map matches it).
        let mut new = old.clone();
        let pl = PrefixList::new(Afi::Ipv4, Vec::new(), Action::Deny).unwrap();
        new.policies.prefix_lists.insert(key, pl);
        assert_eq!(
            lines(&diff_for(&old, &new, &Flavour::QUAGGA)),
            ["do clear ip bgp 192.0.2.2 soft"]
        );
        // The IPv6 neighbor's binding goes away: only it.
        let mut new = old.clone();
        new.ipv6.policy.clear();
        assert_eq!(
            lines(&diff_for(&old, &new, &Flavour::QUAGGA)),
            ["do clear bgp ipv6 2001:db8::2 soft"]
        );
        // A new neighbor with a binding: its session starts with it, no refresh.
        let mut new = old.clone();
        let a: std::net::IpAddr = "192.0.2.3".parse().unwrap();
        new.add_neighbor(Neighbor::new(a, Asn::new(65003).unwrap()));
        new.ipv4.policy.insert(
            a,
            NeighborPolicy {
                route_map_out: Some(name("OUT")),
                ..NeighborPolicy::default()
            },
        );
        assert!(lines(&diff_for(&old, &new, &Flavour::QUAGGA)).is_empty());
    }

    #[test]
    fn an_ipv6_neighbor_in_ipv4_refreshes_every_ipv4_session() {
        let a: std::net::IpAddr = "2001:db8::2".parse().unwrap();
        assert_eq!(
            Flavour::QUAGGA.soft_refresh(a, Afi::Ipv4).unwrap(),
            "do clear ip bgp * soft"
        );
        assert_eq!(Flavour::FRR.soft_refresh(a, Afi::Ipv4), None);
    }
}
