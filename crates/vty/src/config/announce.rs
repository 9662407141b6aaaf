//! Locally originated networks with attributes: `network PREFIX route-map NAME`, the route-map
//! setting BGP communities (RFC 1997) and the MED (`set community …`, `set metric N`).
//!
//! A route-map is one entry, `route-map NAME permit 10` with its `set` lines (commands in the
//! [`Node::RouteMap`] node; [`super::render_lines`] enters and leaves it). Its name shares
//! bgpd's one namespace of route-maps with the policy ones ([`super::Policies`]); the
//! communities are [`Community`]s, spelled as bgpd spells them. Definitions come before the
//! `router bgp` section (a `network … route-map` naming an undefined map would be denied by
//! bgpd), removals after it.
//! A network whose route-map or attributes change is re-announced (`no network P`, then
//! `network P route-map NAME`) so the new attributes apply at once rather than after bgpd's
//! route-map delay timer.

use std::collections::{BTreeMap, BTreeSet};

use super::policy::{Action, Community, PolicyName};
use super::values::ConfigError;
use super::{Command, Node, Prefix};

/// What a network's route-map sets on the route it originates.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NetworkAttributes {
    /// `set community …` (replacing any; empty: none set).
    pub communities: BTreeSet<Community>,
    /// `set metric N` (the MED).
    pub med: Option<u32>,
}

impl NetworkAttributes {
    /// Whether nothing is set (a plain `network` line needs no route-map).
    pub fn is_empty(&self) -> bool {
        self.communities.is_empty() && self.med.is_none()
    }
}

/// The route-map of one `network` line: its name and what it sets.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkRouteMap {
    /// Name of the route-map (unique among the configuration's route-maps, network ones and
    /// [`Policies::route_maps`](super::Policies::route_maps) alike).
    pub name: PolicyName,
    /// What it sets.
    pub attributes: NetworkAttributes,
}

/// Route-maps of `network` lines, by prefix (every prefix must also be in its family's
/// [`AddressFamily::networks`](super::AddressFamily::networks)).
pub type NetworkRouteMaps = BTreeMap<Prefix, NetworkRouteMap>;

/// Checks that every route-map belongs to a configured network and that names are unique,
/// also against the policy route-maps (`taken`): bgpd has one namespace of route-maps.
pub(super) fn validate(
    maps: &NetworkRouteMaps,
    is_network: impl Fn(&Prefix) -> bool,
    taken: impl Fn(&PolicyName) -> bool,
) -> Result<(), ConfigError> {
    let mut names = BTreeSet::new();
    for (p, m) in maps {
        if !is_network(p) {
            return Err(ConfigError::RouteMap {
                name: m.name.as_str().to_owned(),
                problem: format!("is for {p}, which is not a network"),
            });
        }
        if !names.insert(&m.name) {
            return Err(ConfigError::RouteMap {
                name: m.name.as_str().to_owned(),
                problem: "is used by two networks".into(),
            });
        }
        if taken(&m.name) {
            return Err(ConfigError::RouteMap {
                name: m.name.as_str().to_owned(),
                problem: "is also the name of a policy route-map".into(),
            });
        }
    }
    Ok(())
}

/// The `network` line of `p` (with its route-map, if it has one).
pub(super) fn network_line(p: &Prefix, maps: &NetworkRouteMaps) -> String {
    match maps.get(p) {
        Some(m) => format!("network {p} route-map {}", m.name),
        None => format!("network {p}"),
    }
}

/// Route-maps to (re)define before the `router bgp` section: new ones and changed ones (a
/// changed one is removed first, so no `set` line of the old definition survives).
pub(super) fn define(old: &NetworkRouteMaps, new: &NetworkRouteMaps, out: &mut Vec<Command>) {
    let old_by_name: BTreeMap<&PolicyName, &NetworkRouteMap> =
        old.values().map(|m| (&m.name, m)).collect();
    for m in new.values() {
        match old_by_name.get(&m.name) {
            Some(o) if o.attributes == m.attributes => {}
            Some(_) => {
                out.push(Command::new(
                    Node::Config,
                    format!("no route-map {}", m.name),
                ));
                route_map_full(m, out);
            }
            None => route_map_full(m, out),
        }
    }
}

/// Route-maps to remove after the `router bgp` section (no network uses them any more).
pub(super) fn remove(old: &NetworkRouteMaps, new: &NetworkRouteMaps, out: &mut Vec<Command>) {
    let kept: BTreeSet<&PolicyName> = new.values().map(|m| &m.name).collect();
    let mut gone = BTreeSet::new();
    for m in old.values() {
        if !kept.contains(&m.name) && gone.insert(&m.name) {
            out.push(Command::new(
                Node::Config,
                format!("no route-map {}", m.name),
            ));
        }
    }
}

/// Whether the `network` line of `p` must be sent again: its route-map is new, gone, renamed or
/// sets something else.
pub(super) fn changed(p: &Prefix, old: &NetworkRouteMaps, new: &NetworkRouteMaps) -> bool {
    old.get(p) != new.get(p)
}

fn route_map_full(m: &NetworkRouteMap, out: &mut Vec<Command>) {
    let node = Node::RouteMap(m.name.clone(), Action::Permit, 10);
    let mut sets = Vec::new();
    if !m.attributes.communities.is_empty() {
        let list: Vec<String> = m
            .attributes
            .communities
            .iter()
            .map(Community::to_string)
            .collect();
        sets.push(format!("set community {}", list.join(" ")));
    }
    if let Some(med) = m.attributes.med {
        sets.push(format!("set metric {med}"));
    }
    if sets.is_empty() {
        // A route-map that sets nothing still has to exist for its `network` line.
        out.push(Command::entering(
            Node::Config,
            format!("route-map {} permit 10", m.name),
            node.clone(),
        ));
    }
    for line in sets {
        out.push(Command::new(node.clone(), line));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn communities_parse_and_render_as_bgpd_spells_them() {
        for (text, shown) in [
            ("65001:100", "65001:100"),
            ("0:0", "0:0"),
            ("65535:65535", "65535:65535"),
            ("internet", "internet"),
            ("no-export", "no-export"),
            ("local-AS", "local-AS"),
            ("graceful-shutdown", "graceful-shutdown"),
            ("blackhole", "blackhole"),
        ] {
            let c: Community = text.parse().unwrap();
            assert_eq!(c.to_string(), shown, "{text}");
            assert_eq!(shown.parse::<Community>().unwrap(), c);
        }
        for bad in [
            "",
            "65536:1",
            "1:65536",
            "a:1",
            "1:",
            ":1",
            "4294967296",
            "4259905636",
            "100",
            "NO-EXPORT",
            "local-as",
            "1:2:3",
            "65001:100 no-export",
            "-1",
        ] {
            assert!(
                matches!(bad.parse::<Community>(), Err(ConfigError::BadWord { .. })),
                "{bad:?} accepted"
            );
        }
        let json = serde_json::to_string(&Community::Value(65001, 7)).unwrap();
        assert_eq!(json, "\"65001:7\"");
        let back: Community = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Community::Value(65001, 7));
        assert!(serde_json::from_str::<Community>("\"70000:1\"").is_err());
    }

    fn config() -> super::super::BgpConfig {
        let mut c = super::super::BgpConfig::new(super::super::Asn::new(65000).unwrap());
        c.add_network("198.51.100.0/24".parse().unwrap());
        c
    }

    fn with_map(
        mut c: super::super::BgpConfig,
        p: &str,
        med: Option<u32>,
    ) -> super::super::BgpConfig {
        let p: Prefix = p.parse().unwrap();
        c.add_network(p);
        let mut attributes = NetworkAttributes {
            med,
            ..Default::default()
        };
        attributes.communities.insert("65000:7".parse().unwrap());
        attributes.communities.insert(Community::NoExport);
        c.network_route_maps.insert(
            p,
            NetworkRouteMap {
                name: PolicyName::new(&format!("ann-{}", p.prefix_len())).unwrap(),
                attributes,
            },
        );
        c
    }

    #[test]
    fn route_maps_are_defined_before_their_network_and_removed_after() {
        let base = config();
        let c = with_map(base.clone(), "203.0.113.0/24", Some(50));
        c.validate().unwrap();
        let full = super::super::render_lines(&c.commands());
        let expect_start = [
            "route-map ann-24 permit 10",
            "set community 65000:7 no-export",
            "set metric 50",
            "exit",
            "router bgp 65000",
        ];
        assert_eq!(full[..5], expect_start, "{full:#?}");
        assert!(full
            .iter()
            .any(|l| l == "network 203.0.113.0/24 route-map ann-24"));
        assert!(full.iter().any(|l| l == "network 198.51.100.0/24"));
        for l in &full {
            crate::validate_line(l).unwrap();
        }

        // Added as a diff: the same group, then only the new network.
        let add = super::super::render_lines(&super::super::diff(&base, &c));
        assert_eq!(
            add,
            [
                "route-map ann-24 permit 10",
                "set community 65000:7 no-export",
                "set metric 50",
                "exit",
                "router bgp 65000",
                "address-family ipv4 unicast",
                "network 203.0.113.0/24 route-map ann-24",
                "exit-address-family",
                "exit",
            ]
        );
        // Removed: the network first, then its route-map, back at the config node.
        let del = super::super::render_lines(&super::super::diff(&c, &base));
        assert_eq!(
            del,
            [
                "router bgp 65000",
                "address-family ipv4 unicast",
                "no network 203.0.113.0/24",
                "exit-address-family",
                "exit",
                "no route-map ann-24",
            ]
        );
        // New attributes: the map redefined from scratch, the network sent again.
        let other = with_map(base.clone(), "203.0.113.0/24", None);
        let change = super::super::render_lines(&super::super::diff(&c, &other));
        assert_eq!(
            change,
            [
                "no route-map ann-24",
                "route-map ann-24 permit 10",
                "set community 65000:7 no-export",
                "exit",
                "router bgp 65000",
                "address-family ipv4 unicast",
                "no network 203.0.113.0/24",
                "network 203.0.113.0/24 route-map ann-24",
                "exit-address-family",
                "exit",
            ]
        );
        // A plain network gaining a route-map is sent again with it.
        let plain = {
            let mut x = base.clone();
            x.add_network("203.0.113.0/24".parse().unwrap());
            x
        };
        let gain = super::super::render_lines(&super::super::diff(&plain, &c));
        assert!(
            gain.iter().any(|l| l == "no network 203.0.113.0/24"),
            "{gain:#?}"
        );
        assert!(gain
            .iter()
            .any(|l| l == "network 203.0.113.0/24 route-map ann-24"));
        assert!(super::super::diff(&c, &c.clone()).is_empty());
    }

    #[test]
    fn a_route_map_without_its_network_or_with_a_shared_name_is_refused() {
        let mut c = with_map(config(), "203.0.113.0/24", None);
        c.ipv4.networks.remove(&"203.0.113.0/24".parse().unwrap());
        assert!(matches!(c.validate(), Err(ConfigError::RouteMap { .. })));
        let mut d = with_map(config(), "203.0.113.0/24", None);
        let p: Prefix = "192.0.2.0/24".parse().unwrap();
        d.add_network(p);
        let same = d.network_route_maps.values().next().unwrap().clone();
        d.network_route_maps.insert(p, same);
        assert!(matches!(d.validate(), Err(ConfigError::RouteMap { .. })));
        // bgpd has one namespace of route-maps: a policy route-map may not share the name.
        let mut e = with_map(config(), "203.0.113.0/24", None);
        e.validate().unwrap();
        let mut rm = super::super::RouteMap::new();
        rm.insert(10, super::super::RouteMapEntry::default());
        e.policies
            .route_maps
            .insert(PolicyName::new("ann-24").unwrap(), rm);
        assert!(matches!(e.validate(), Err(ConfigError::RouteMap { .. })));
    }
}
