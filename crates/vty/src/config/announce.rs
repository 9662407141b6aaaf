//! Locally originated networks with attributes: `network PREFIX route-map NAME`, the route-map
//! setting BGP communities (RFC 1997) and the MED (`set community …`, `set metric N`).
//!
//! A route-map is rendered as one self-contained group of lines run from the `configure
//! terminal` node — `route-map NAME permit 10`, its `set` lines, `exit` — so the session is back
//! in the `configure terminal` node after it. Definitions come before the `router bgp` section
//! (a `network … route-map` naming an undefined map would be denied by bgpd), removals after it.
//! A network whose route-map or attributes change is re-announced (`no network P`, then
//! `network P route-map NAME`) so the new attributes apply at once rather than after bgpd's
//! route-map delay timer.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use super::values::ConfigError;
use super::{Command, Node, Prefix};

/// A BGP community (RFC 1997): `AA:NN` or one of the well-known names bgpd accepts in
/// `set community`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub enum Community {
    /// `AA:NN`: the AS part and the local part, each 0..=65535.
    Value(u16, u16),
    /// `internet` (0:0).
    Internet,
    /// `no-export` (RFC 1997 NO_EXPORT).
    NoExport,
    /// `no-advertise` (RFC 1997 NO_ADVERTISE).
    NoAdvertise,
    /// `local-AS` (RFC 1997 NO_EXPORT_SUBCONFED).
    LocalAs,
    /// `graceful-shutdown` (RFC 8326 GRACEFUL_SHUTDOWN).
    GracefulShutdown,
    /// `blackhole` (RFC 7999 BLACKHOLE).
    Blackhole,
    /// `no-peer` (RFC 3765 NOPEER).
    NoPeer,
}

impl Community {
    const NAMED: [(&'static str, Community); 7] = [
        ("internet", Community::Internet),
        ("no-export", Community::NoExport),
        ("no-advertise", Community::NoAdvertise),
        ("local-AS", Community::LocalAs),
        ("graceful-shutdown", Community::GracefulShutdown),
        ("blackhole", Community::Blackhole),
        ("no-peer", Community::NoPeer),
    ];
}

impl fmt::Display for Community {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Community::Value(a, n) = self {
            return write!(f, "{a}:{n}");
        }
        let name = Community::NAMED
            .iter()
            .find(|(_, c)| c == self)
            .map_or("internet", |(n, _)| n);
        f.write_str(name)
    }
}

impl FromStr for Community {
    type Err = ConfigError;

    /// `AA:NN` (each 0..=65535), a 32-bit number (written back as `AA:NN`), or a well-known
    /// name as bgpd spells it (`no-export`, `no-advertise`, `local-AS`, `internet`,
    /// `graceful-shutdown`, `blackhole`, `no-peer`).
    fn from_str(s: &str) -> Result<Community, ConfigError> {
        let bad = || ConfigError::BadCommunity { text: s.to_owned() };
        if let Some((_, c)) = Community::NAMED.iter().find(|(n, _)| *n == s) {
            return Ok(*c);
        }
        let digits =
            |t: &str| !t.is_empty() && t.len() <= 10 && t.bytes().all(|b| b.is_ascii_digit());
        match s.split_once(':') {
            Some((a, n)) if digits(a) && digits(n) => {
                let a = a.parse::<u16>().map_err(|_| bad())?;
                let n = n.parse::<u16>().map_err(|_| bad())?;
                Ok(Community::Value(a, n))
            }
            None if digits(s) => {
                let v = s.parse::<u32>().map_err(|_| bad())?;
                let hi = u16::try_from(v >> 16).map_err(|_| bad())?;
                let lo = u16::try_from(v & 0xffff).map_err(|_| bad())?;
                Ok(Community::Value(hi, lo))
            }
            _ => Err(bad()),
        }
    }
}

impl TryFrom<String> for Community {
    type Error = ConfigError;
    fn try_from(s: String) -> Result<Community, ConfigError> {
        s.parse()
    }
}

impl From<Community> for String {
    fn from(c: Community) -> String {
        c.to_string()
    }
}

/// A route-map name: 1..=63 bytes of ASCII letters, digits, `-`, `_` and `.`.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
#[serde(transparent)]
pub struct RouteMapName(String);

impl RouteMapName {
    /// Longest name accepted (the project's bound; bgpd has none).
    pub const MAX_LEN: usize = 63;

    /// Validates a route-map name.
    pub fn new(name: &str) -> Result<RouteMapName, ConfigError> {
        if name.is_empty() || name.len() > Self::MAX_LEN {
            return Err(ConfigError::BadLength {
                field: "route-map name",
                len: name.len(),
                min: 1,
                max: Self::MAX_LEN,
            });
        }
        if let Some((offset, ch)) = name
            .char_indices()
            .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(ConfigError::BadCharacter {
                field: "route-map name",
                ch,
                offset,
            });
        }
        Ok(RouteMapName(name.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for RouteMapName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a network's route-map sets on the route it originates.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize)]
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
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct NetworkRouteMap {
    /// Name of the route-map (unique among the configuration's network route-maps).
    pub name: RouteMapName,
    /// What it sets.
    pub attributes: NetworkAttributes,
}

/// Route-maps of `network` lines, by prefix (every prefix must also be in its family's
/// [`AddressFamily::networks`](super::AddressFamily::networks)).
pub type NetworkRouteMaps = BTreeMap<Prefix, NetworkRouteMap>;

/// Checks that every route-map belongs to a configured network and that names are unique.
pub(super) fn validate(
    maps: &NetworkRouteMaps,
    is_network: impl Fn(&Prefix) -> bool,
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
    let old_by_name: BTreeMap<&RouteMapName, &NetworkRouteMap> =
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
    let kept: BTreeSet<&RouteMapName> = new.values().map(|m| &m.name).collect();
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
    let cfg = |line: String| Command::new(Node::Config, line);
    out.push(cfg(format!("route-map {} permit 10", m.name)));
    if !m.attributes.communities.is_empty() {
        let list: Vec<String> = m
            .attributes
            .communities
            .iter()
            .map(Community::to_string)
            .collect();
        out.push(cfg(format!("set community {}", list.join(" "))));
    }
    if let Some(med) = m.attributes.med {
        out.push(cfg(format!("set metric {med}")));
    }
    out.push(cfg("exit".into()));
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
            ("4259905636", "65001:100"),
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
            "NO-EXPORT",
            "local-as",
            "1:2:3",
            "65001:100 no-export",
            "-1",
        ] {
            assert!(
                matches!(
                    bad.parse::<Community>(),
                    Err(ConfigError::BadCommunity { .. })
                ),
                "{bad:?} accepted"
            );
        }
        let json = serde_json::to_string(&Community::Value(65001, 7)).unwrap();
        assert_eq!(json, "\"65001:7\"");
        let back: Community = serde_json::from_str(&json).unwrap();
        assert_eq!(back, Community::Value(65001, 7));
        assert!(serde_json::from_str::<Community>("\"70000:1\"").is_err());
    }

    #[test]
    fn route_map_names_are_one_safe_word() {
        RouteMapName::new("mnb-ann-198.51.100.0_24").unwrap();
        for bad in ["", "a b", "a\nb", "x?", "a/b", &"a".repeat(64)] {
            assert!(RouteMapName::new(bad).is_err(), "{bad:?} accepted");
        }
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
                name: RouteMapName::new(&format!("ann-{}", p.prefix_len())).unwrap(),
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
    }
}
