//! What one bgpd should be configured with, as typed Vty commands: the full bootstrap, and the
//! minimal change between two settings (timers and passwords are changed in place, never by
//! removing the neighbor).
//!
//! The port configuration already holds the `vty` crate's validated values (see
//! [`crate::config`]), so turning it into a [`vty::BgpConfig`] cannot fail: whatever validation
//! accepted renders. The commands stay typed until the Vty session renders them.

use std::net::IpAddr;

use vty::config::{
    Afi, ConnectRetry, DebugFlag, NeighborPolicy, RouteMap, RouteMapEntry, SetCommunities, Timers,
};
use vty::{BgpConfig, Command};

use std::collections::BTreeMap;

use ipnetwork::IpNetwork;
use vty::config::{NetworkAttributes, NetworkRouteMap};

use crate::announce::Announcement;
use crate::config::{PeerConfig, PortConfig};

/// Sequence number of the one entry of each generated route-map.
const ENTRY: u16 = 10;

/// Sequence number of the import route-map's `deny` entry for `reject_as`, before [`ENTRY`].
const REJECT_ENTRY: u16 = 5;

/// Adds a peer's prefix-lists and route-maps to `c` and hooks them to the neighbor in its
/// family. The export route-map always exists: without `transit` it matches only routes this
/// this AS originates (an empty AS path), so nothing learned from one peer reaches another,
/// whether `ebgp-requires-policy` is on or off. The import route-map exists only when an
/// import policy is configured; with `reject_as` it starts with a `deny` entry matching the
/// peer's AS-path list of rejected paths (named like the route-map).
fn peer_policy(c: &mut BgpConfig, p: &PeerConfig) {
    let pol = &p.policy;
    let afi = if p.address.is_ipv4() {
        Afi::Ipv4
    } else {
        Afi::Ipv6
    };
    let mut np = NeighborPolicy {
        maximum_prefix: pol.maximum_prefix,
        ..NeighborPolicy::default()
    };
    let i = &pol.import;
    if !i.is_empty() {
        let name = pol.names.import.clone();
        if let Some(f) = &i.filter {
            c.policies
                .prefix_lists
                .insert((afi, name.clone()), f.clone());
        }
        let additive = !i.replace_communities;
        let entry = RouteMapEntry {
            match_prefix_list: i.filter.as_ref().map(|_| (afi, name.clone())),
            local_preference: i.local_preference,
            communities: Some(&i.communities)
                .filter(|v| !v.is_empty())
                .map(|v| SetCommunities {
                    values: v.clone(),
                    additive,
                }),
            large_communities: Some(&i.large_communities)
                .filter(|v| !v.is_empty())
                .map(|v| SetCommunities {
                    values: v.clone(),
                    additive,
                }),
            ..RouteMapEntry::default()
        };
        let mut map = RouteMap::from([(ENTRY, entry)]);
        if let Some(list) = i.rejected_paths(p.remote_as.get()) {
            c.policies.as_path_lists.insert(name.clone(), list);
            let reject = RouteMapEntry {
                deny: true,
                match_as_path: Some(name.clone()),
                ..RouteMapEntry::default()
            };
            map.insert(REJECT_ENTRY, reject);
        }
        c.policies.route_maps.insert(name.clone(), map);
        np.route_map_in = Some(name);
    }
    let e = &pol.export;
    let name = pol.names.export.clone();
    let own = pol.names.own_routes.clone();
    if !e.transit {
        c.policies.own_routes.insert(own.clone());
    }
    if let Some(f) = &e.filter {
        c.policies
            .prefix_lists
            .insert((afi, name.clone()), f.clone());
    }
    let entry = RouteMapEntry {
        match_own: (!e.transit).then(|| own.clone()),
        match_prefix_list: e.filter.as_ref().map(|_| (afi, name.clone())),
        metric: e.med,
        communities: Some(&e.communities)
            .filter(|v| !v.is_empty())
            .map(|v| SetCommunities {
                values: v.clone(),
                additive: true,
            }),
        large_communities: Some(&e.large_communities)
            .filter(|v| !v.is_empty())
            .map(|v| SetCommunities {
                values: v.clone(),
                additive: true,
            }),
        prepend: e.prepend.map(|n| (c.asn, n)),
        ..RouteMapEntry::default()
    };
    c.policies
        .route_maps
        .insert(name.clone(), RouteMap::from([(ENTRY, entry)]));
    np.route_map_out = Some(name.clone());
    match afi {
        Afi::Ipv4 => c.ipv4.policy.insert(p.address, np),
        Afi::Ipv6 => {
            // `bgp default ipv4-unicast` also activates an IPv6 neighbor in IPv4 unicast: the
            // export route-map guards that family too (its prefix filter, if any, is IPv6 and
            // so lets no IPv4 route through).
            if c.default_ipv4_unicast {
                let guard = NeighborPolicy {
                    route_map_out: Some(name),
                    ..NeighborPolicy::default()
                };
                c.ipv4.policy.insert(p.address, guard);
            }
            c.ipv6.policy.insert(p.address, np)
        }
    };
}

/// The address family name (`ipv4`/`ipv6`) of an address, as FRR spells it.
pub fn family_of(a: IpAddr) -> &'static str {
    if a.is_ipv4() {
        "ipv4"
    } else {
        "ipv6"
    }
}

/// The configuration one bgpd should have (`router bgp` and around it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpdSettings {
    config: BgpConfig,
}

fn neighbor(p: &PeerConfig) -> vty::Neighbor {
    let mut n = vty::Neighbor::new(p.address, p.remote_as);
    // bgpd's defaults are left unset, so no redundant commands are sent.
    n.timers = Some(p.timers).filter(|t| *t != Timers::BGPD_DEFAULT);
    n.connect_retry = Some(p.connect_retry).filter(|c| *c != ConnectRetry::BGPD_DEFAULT);
    n.password = p.password.clone();
    n.ebgp_multihop = p.multihop;
    n.description = p.description.clone();
    n.shutdown = p.shutdown;
    n.passive = p.passive;
    n.graceful_restart = p.graceful_restart;
    n
}

impl From<&PortConfig> for BgpdSettings {
    fn from(p: &PortConfig) -> Self {
        let mut c = BgpConfig::new(p.local_as);
        c.router_id = Some(p.router_id);
        c.ebgp_requires_policy = false;
        c.network_import_check = false;
        c.graceful_restart = p.graceful_restart;
        c.log_file = Some(p.log_file.clone());
        if p.debug {
            c.debug = [
                DebugFlag::NeighborEvents,
                DebugFlag::Updates,
                DebugFlag::Zebra,
            ]
            .into_iter()
            .collect();
        }
        for peer in &p.peers {
            if peer.address.is_ipv6() {
                c.ipv6.activate.insert(peer.address);
            }
            c.add_neighbor(neighbor(peer));
            peer_policy(&mut c, peer);
        }
        c.ipv4.maximum_paths = Some(p.maximum_paths);
        c.ipv6.maximum_paths = Some(p.maximum_paths);
        for n in &p.networks {
            c.add_network(*n);
        }
        BgpdSettings { config: c }
    }
}

impl BgpdSettings {
    /// The settings of `port` with its runtime announcements (each already accepted by
    /// [`crate::announce::check`]): a `network` line each, with a route-map setting its
    /// communities and MED when it has any. One that is also a configured network takes the
    /// announcement's attributes.
    pub fn new(port: &PortConfig, announced: &BTreeMap<IpNetwork, Announcement>) -> BgpdSettings {
        let mut s = BgpdSettings::from(port);
        for a in announced.values() {
            // `check` accepted both the prefix and its route-map name: neither fails here.
            let Ok(prefix) = crate::config::network(a.prefix) else {
                continue;
            };
            s.config.add_network(prefix);
            if !a.has_attributes() {
                continue;
            }
            if let Ok(name) = crate::plan::announcement_route_map(prefix) {
                s.config.network_route_maps.insert(
                    prefix,
                    NetworkRouteMap {
                        name,
                        attributes: NetworkAttributes {
                            communities: a.communities.iter().copied().collect(),
                            med: a.med,
                        },
                    },
                );
            }
        }
        s
    }

    /// These settings for bgpd's first start on a port, when no forwarding state survives from
    /// an earlier bgpd: graceful restart stays on (capability, timers, helper), without
    /// `preserve-fw-state`. With the F bit configured bgpd defers best-path selection at start
    /// until every GR peer sent End-of-RIB, then works through the deferred prefixes 10,000 a
    /// second — minutes for a full table. A restart (bgpd restarted by the supervisor, a
    /// controller that found leftovers of its crashed predecessor, a cluster takeover) keeps it:
    /// there the F bit is what lets helpers keep our routes.
    pub fn first_start(mut self) -> BgpdSettings {
        self.config.graceful_restart = self
            .config
            .graceful_restart
            .map(|gr| gr.without_preserved_forwarding());
        self
    }

    /// The settings as the `vty` crate's typed configuration.
    pub fn config(&self) -> &BgpConfig {
        &self.config
    }

    /// The full configuration for a freshly started FRR bgpd.
    pub fn bootstrap(&self) -> Vec<Command> {
        self.config.commands()
    }

    /// [`BgpdSettings::bootstrap`] for a bgpd of flavour `fl` (settings it cannot take are
    /// left out; `check-config` names them, see [`BgpdSettings::unsupported`]).
    pub fn bootstrap_for(&self, fl: &vty::Flavour) -> Vec<Command> {
        self.config.commands_for(fl)
    }

    /// The settings a bgpd of flavour `fl` cannot take.
    pub fn unsupported(&self, fl: &vty::Flavour) -> Vec<vty::Unsupported> {
        fl.unsupported(&self.config)
    }

    /// Whether going from `self` to `new` needs bgpd restarted (a new `router bgp AS`).
    pub fn needs_restart(&self, new: &BgpdSettings) -> bool {
        self.config.asn != new.config.asn
    }

    /// The minimal commands turning `self` into `new` (the vty crate's diff: timers, passwords
    /// and descriptions change in place, the neighbor is never removed for them); empty when
    /// nothing changed.
    pub fn diff(&self, new: &BgpdSettings) -> Vec<Command> {
        vty::diff(&self.config, &new.config)
    }

    /// [`BgpdSettings::diff`] for a bgpd of flavour `fl`.
    pub fn diff_for(&self, new: &BgpdSettings, fl: &vty::Flavour) -> Vec<Command> {
        vty::diff_for(&self.config, &new.config, fl)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::config::Config;

    fn settings(text: &str) -> BgpdSettings {
        let c = Config::parse(text).unwrap();
        BgpdSettings::from(&c.ports[0])
    }

    const BASE: &str = r#"
[controller]
run_dir = "/run/t"
[[port]]
name = "p1"
uplink = "eth1"
address = "192.0.2.1/24"
address6 = "2001:db8::1/64"
local_as = 65001
networks = ["203.0.113.0/24", "2001:db8:100::/48"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
keepalive = 10
hold_time = 30
[[port.peer]]
address = "2001:db8::2"
remote_as = 65003
"#;

    /// The command lines as the Vty session sends them (navigation included).
    fn lines(cmds: &[Command]) -> Vec<String> {
        vty::render_lines(cmds)
    }

    fn has(cmds: &[String], line: &str) -> bool {
        cmds.iter().any(|c| c == line)
    }

    #[test]
    fn bootstrap_has_everything() {
        let s = settings(BASE);
        s.config().validate().unwrap();
        let cmds = lines(&s.bootstrap());
        for c in &cmds {
            vty::validate_line(c).unwrap();
        }
        for line in [
            "log file /run/t/bgpd-p1.log",
            "router bgp 65001",
            "bgp router-id 192.0.2.1",
            "no bgp ebgp-requires-policy",
            "no bgp network import-check",
            "neighbor 192.0.2.2 remote-as 65002",
            "neighbor 192.0.2.2 timers 10 30",
            "neighbor 2001:db8::2 remote-as 65003",
            "address-family ipv4 unicast",
            "maximum-paths 8",
            "network 203.0.113.0/24",
            "address-family ipv6 unicast",
            "network 2001:db8:100::/48",
            "neighbor 2001:db8::2 activate",
        ] {
            assert!(has(&cmds, line), "{line} missing from {cmds:#?}");
        }
        // Default timers are not sent.
        assert!(!cmds
            .iter()
            .any(|c| c.starts_with("neighbor 2001:db8::2 timers")));
        // IPv4 networks come after the IPv4 address family is entered.
        let af4 = cmds
            .iter()
            .position(|c| c == "address-family ipv4 unicast")
            .unwrap();
        let net4 = cmds
            .iter()
            .position(|c| c == "network 203.0.113.0/24")
            .unwrap();
        assert!(af4 < net4);
    }

    #[test]
    fn every_peer_exports_only_local_routes_by_default() {
        let s = settings(BASE);
        s.config().validate().unwrap();
        let cmds = lines(&s.bootstrap());
        for line in [
            "route-map mnb-p1-192.0.2.2-out permit 10",
            "route-map mnb-p1-2001-db8--2-out permit 10",
            "bgp as-path access-list mnb-p1-own seq 5 permit ^$",
            "match as-path mnb-p1-own",
            "neighbor 192.0.2.2 route-map mnb-p1-192.0.2.2-out out",
            "neighbor 2001:db8::2 route-map mnb-p1-2001-db8--2-out out",
        ] {
            assert!(has(&cmds, line), "{line} missing from {cmds:#?}");
        }
        assert_eq!(
            cmds.iter()
                .filter(|c| *c == "match as-path mnb-p1-own")
                .count(),
            2,
            "{cmds:#?}"
        );
        // The IPv6 peer is guarded in IPv4 unicast too (bgpd activates it there by default).
        let n = cmds
            .iter()
            .filter(|c| *c == "neighbor 2001:db8::2 route-map mnb-p1-2001-db8--2-out out")
            .count();
        assert_eq!(n, 2, "{cmds:#?}");
        // No import policy configured: no import route-map.
        assert!(!cmds.iter().any(|c| c.ends_with("-in in")), "{cmds:#?}");
    }

    #[test]
    fn transit_and_filters_change_in_place() {
        let a = settings(BASE);
        let b = settings(&BASE.replacen(
            "hold_time = 30",
            "hold_time = 30\n[port.peer.export]\ntransit = true\nmed = 20\nprepend = 2\n\
             prefixes = [{ action = \"permit\", prefix = \"198.51.100.0/24\", le = 32 }]\n\
             [port.peer.import]\nlocal_preference = 300\ncommunities = [\"65001:9\"]\n\
             [port.peer.maximum_prefix]\nlimit = 100\nwarning_threshold = 90\naction = \"warn\"",
            1,
        ));
        let d = lines(&a.diff(&b));
        // No import prefix filter (no `prefixes`): no import prefix-list.
        let want = [
            "ip prefix-list mnb-p1-192.0.2.2-out seq 5 permit 198.51.100.0/24 le 32",
            "ip prefix-list mnb-p1-192.0.2.2-out seq 4294967295 deny any",
            "route-map mnb-p1-192.0.2.2-in permit 10",
            "set community 65001:9 additive",
            "set local-preference 300",
            "exit",
            "route-map mnb-p1-192.0.2.2-out permit 10",
            "no match as-path",
            "match ip address prefix-list mnb-p1-192.0.2.2-out",
            "set as-path prepend 65001 65001",
            "set metric 20",
            "exit",
            "router bgp 65001",
            "address-family ipv4 unicast",
            "neighbor 192.0.2.2 route-map mnb-p1-192.0.2.2-in in",
            "neighbor 192.0.2.2 maximum-prefix 100 90 warning-only",
            "exit-address-family",
            "exit",
        ];
        assert_eq!(d, want, "{d:#?}");
        assert!(!d.iter().any(|c| c.starts_with("no neighbor")), "{d:#?}");
        let back = lines(&b.diff(&a));
        for line in [
            "match as-path mnb-p1-own",
            "no neighbor 192.0.2.2 route-map mnb-p1-192.0.2.2-in in",
            "no neighbor 192.0.2.2 maximum-prefix",
            "no route-map mnb-p1-192.0.2.2-in",
            "no ip prefix-list mnb-p1-192.0.2.2-out",
        ] {
            assert!(has(&back, line), "{line} missing from {back:#?}");
        }
    }

    #[test]
    fn no_change_no_commands() {
        let a = settings(BASE);
        assert!(a.diff(&a.clone()).is_empty());
    }

    #[test]
    fn timer_and_password_change_keep_the_neighbor() {
        let a = settings(BASE);
        let b = settings(
            &BASE
                .replace("keepalive = 10", "keepalive = 20\npassword = \"pw\"")
                .replace("hold_time = 30", "hold_time = 60\nconnect_retry = 9"),
        );
        let d = lines(&a.diff(&b));
        for line in [
            "router bgp 65001",
            "neighbor 192.0.2.2 timers 20 60",
            "neighbor 192.0.2.2 timers connect 9",
            "neighbor 192.0.2.2 password pw",
        ] {
            assert!(has(&d, line), "{line} missing from {d:#?}");
        }
        assert!(!d.iter().any(|c| c.starts_with("no neighbor")), "{d:#?}");
        assert!(!d.iter().any(|c| c.contains("remote-as")), "{d:#?}");
        let back = lines(&b.diff(&a));
        assert!(has(&back, "no neighbor 192.0.2.2 password"), "{back:#?}");
        assert!(
            !back.iter().any(|c| c == "no neighbor 192.0.2.2"),
            "{back:#?}"
        );
    }

    #[test]
    fn peers_and_networks_added_and_removed() {
        let a = settings(BASE);
        let text = BASE
            .replace(
                "networks = [\"203.0.113.0/24\", \"2001:db8:100::/48\"]",
                "networks = [\"198.51.100.0/24\", \"2001:db8:100::/48\"]",
            )
            .replace(
                "[[port.peer]]\naddress = \"2001:db8::2\"\nremote_as = 65003\n",
                "[[port.peer]]\naddress = \"2001:db8::3\"\nremote_as = 65003\n",
            );
        let d = lines(&a.diff(&settings(&text)));
        for line in [
            "no neighbor 2001:db8::2",
            "neighbor 2001:db8::3 remote-as 65003",
            "no network 203.0.113.0/24",
            "network 198.51.100.0/24",
            "neighbor 2001:db8::3 activate",
        ] {
            assert!(has(&d, line), "{line} missing from {d:#?}");
        }
        assert!(!has(&d, "no neighbor 192.0.2.2"));
        assert!(!d.iter().any(|c| c.contains("2001:db8:100::/48")), "{d:#?}");
    }

    #[test]
    fn remote_as_change_touches_only_that_neighbor_and_local_as_needs_restart() {
        let a = settings(BASE);
        let b = settings(&BASE.replace("remote_as = 65003", "remote_as = 65009"));
        let d = lines(&a.diff(&b));
        assert!(has(&d, "neighbor 2001:db8::2 remote-as 65009"), "{d:#?}");
        assert!(!d.iter().any(|c| c.contains("192.0.2.2")), "{d:#?}");
        assert!(!a.needs_restart(&b));
        let c = settings(&BASE.replace("local_as = 65001", "local_as = 65010"));
        assert!(a.needs_restart(&c));
    }

    #[test]
    fn quagga_bootstrap_leaves_out_what_quagga_lacks_and_says_so() {
        let s = settings(BASE);
        let q = lines(&s.bootstrap_for(&vty::Flavour::QUAGGA));
        assert!(
            !q.iter().any(|c| c.contains("ebgp-requires-policy")),
            "{q:#?}"
        );
        assert!(!q.iter().any(|c| c.contains("preserve-fw-state")), "{q:#?}");
        assert!(has(&q, "bgp graceful-restart"), "{q:#?}");
        assert!(has(&q, "neighbor 192.0.2.2 timers 10 30"), "{q:#?}");
        let names: Vec<String> = s
            .unsupported(&vty::Flavour::QUAGGA)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert!(
            names.iter().any(|n| n.contains("preserve-fw-state")),
            "{names:?}"
        );
        assert!(s.unsupported(&vty::Flavour::FRR).is_empty());
        // The FRR rendering is unchanged.
        assert_eq!(s.bootstrap_for(&vty::Flavour::FRR), s.bootstrap());
    }

    #[test]
    fn graceful_restart_is_on_by_default_and_configurable() {
        let cmds = lines(&settings(BASE).bootstrap());
        let gr = cmds
            .iter()
            .position(|c| c == "bgp graceful-restart")
            .unwrap();
        assert!(has(&cmds, "bgp graceful-restart preserve-fw-state"));
        // Before the neighbors, so that they take the router-wide mode.
        let first_neighbor = cmds
            .iter()
            .position(|c| c.starts_with("neighbor "))
            .unwrap();
        assert!(gr < first_neighbor, "{cmds:#?}");
        // bgpd's default timers are not sent.
        assert!(
            !cmds.iter().any(|c| c.contains("restart-time")),
            "{cmds:#?}"
        );

        let tuned = BASE.replace(
            "local_as = 65001",
            "local_as = 65001\nrestart_time = 30\nstalepath_time = 90",
        );
        let tuned = tuned.replacen(
            "remote_as = 65003",
            "remote_as = 65003\ngraceful_restart = \"helper\"",
            1,
        );
        let b = settings(&tuned);
        let cmds = lines(&b.bootstrap());
        for line in [
            "bgp graceful-restart restart-time 30",
            "bgp graceful-restart stalepath-time 90",
            "neighbor 2001:db8::2 graceful-restart-helper",
        ] {
            assert!(has(&cmds, line), "{line} missing from {cmds:#?}");
        }
        // Turning it off is a live diff, not a restart.
        let off = settings(&tuned.replace(
            "local_as = 65001",
            "local_as = 65001\ngraceful_restart = false",
        ));
        assert!(!b.needs_restart(&off));
        let d = lines(&b.diff(&off));
        for line in [
            "no bgp graceful-restart",
            "no bgp graceful-restart preserve-fw-state",
            "no bgp graceful-restart restart-time",
            "no bgp graceful-restart stalepath-time",
        ] {
            assert!(has(&d, line), "{line} missing from {d:#?}");
        }
        assert!(!lines(&off.bootstrap())
            .iter()
            .any(|c| c.starts_with("bgp graceful-restart")));
    }

    #[test]
    fn graceful_restart_values_are_checked() {
        let bad = BASE
            .replace(
                "local_as = 65001",
                "local_as = 65001\nrestart_time = 4096\nstalepath_time = 0",
            )
            .replacen(
                "remote_as = 65003",
                "remote_as = 65003\ngraceful_restart = \"sometimes\"",
                1,
            );
        let problems = Config::parse(&bad).unwrap_err().problems();
        let paths: Vec<&str> = problems.iter().map(|p| p.path.as_str()).collect();
        assert_eq!(
            paths,
            [
                "port[0].restart_time",
                "port[0].stalepath_time",
                "port[0].peer[1].graceful_restart"
            ],
            "{problems:?}"
        );
        assert!(
            problems[0].reason.contains("4096 is outside 0–4095"),
            "{problems:?}"
        );
    }

    /// The private class without AS 65002 (the peer's own), as the generator spells it.
    const PRIVATE_BUT_65002: &str = "_(6451[2-9]|645[2-9][0-9]|64[6-9][0-9][0-9]|6500[0-1]|\
        6500[3-9]|650[1-9][0-9]|65[1-4][0-9][0-9]|655[0-2][0-9]|6553[0-4]|\
        42[0-8][0-9][0-9][0-9][0-9][0-9][0-9][0-9]|429[0-3][0-9][0-9][0-9][0-9][0-9][0-9]|\
        4294[0-8][0-9][0-9][0-9][0-9][0-9]|42949[0-5][0-9][0-9][0-9][0-9]|\
        429496[0-6][0-9][0-9][0-9]|4294967[0-1][0-9][0-9]|42949672[0-8][0-9]|429496729[0-4])_";
    const RESERVED: &str = "_(0|23456|6449[6-9]|6450[0-9]|6451[0-1]|6553[5-9]|655[4-9][0-9]|\
        65[6-9][0-9][0-9]|6[6-9][0-9][0-9][0-9]|[7-9][0-9][0-9][0-9][0-9]|\
        1[0-2][0-9][0-9][0-9][0-9]|130[0-9][0-9][0-9]|1310[0-6][0-9]|13107[0-1]|4294967295)_";

    fn rejecting(classes: &str) -> String {
        BASE.replacen(
            "hold_time = 30",
            &format!("hold_time = 30\n[port.peer.import]\nreject_as = [{classes}]"),
            1,
        )
    }

    #[test]
    fn reject_as_is_a_deny_entry_matching_the_peers_as_path_list_in_every_flavour() {
        let a = settings(BASE);
        let b = settings(&rejecting("\"private\", \"reserved\""));
        b.config().validate().unwrap();
        let name = "mnb-p1-192.0.2.2-in";
        let tail = [
            format!("route-map {name} deny 5"),
            format!("match as-path {name}"),
            "exit".into(),
            format!("route-map {name} permit 10"),
            "exit".into(),
            "router bgp 65001".into(),
            "address-family ipv4 unicast".into(),
            format!("neighbor 192.0.2.2 route-map {name} in"),
            "exit-address-family".into(),
            "exit".into(),
        ];
        for (fl, kw) in [
            (vty::Flavour::FRR, "bgp as-path access-list"),
            (vty::Flavour::QUAGGA, "ip as-path access-list"),
        ] {
            let d = lines(&a.diff_for(&b, &fl));
            let mut want = vec![
                format!("{kw} {name} permit {RESERVED}"),
                format!("{kw} {name} permit {PRIVATE_BUT_65002}"),
            ];
            want.extend(tail.iter().cloned());
            // A bgpd that does not re-apply changed policy itself is asked to (Quagga).
            want.extend(fl.soft_refresh("192.0.2.2".parse().unwrap(), vty::config::Afi::Ipv4));
            assert_eq!(d, want, "{fl}");
            for l in &d {
                vty::validate_line(l).unwrap();
            }
            // Nothing the flavour lacks: the option adds no `check-config` warning.
            assert_eq!(b.unsupported(&fl), a.unsupported(&fl), "{fl}");
            // Off again: the neighbor's route-map, the route-map, then the list go (and the
            // soft clear where bgpd needs it).
            let mut off = vec![
                "router bgp 65001".to_string(),
                "address-family ipv4 unicast".into(),
                format!("no neighbor 192.0.2.2 route-map {name} in"),
                "exit-address-family".into(),
                "exit".into(),
                format!("no route-map {name}"),
                format!("no {kw} {name}"),
            ];
            off.extend(fl.soft_refresh("192.0.2.2".parse().unwrap(), vty::config::Afi::Ipv4));
            assert_eq!(lines(&b.diff_for(&a, &fl)), off, "{fl}");
        }
        // One class less: one entry removed, the route-map untouched.
        let c = settings(&rejecting("\"private\""));
        assert_eq!(
            lines(&b.diff(&c)),
            [format!(
                "no bgp as-path access-list {name} permit {RESERVED}"
            )]
        );
        // The peer moves to AS 65010: its own AS is exempt instead of 65002's, in place.
        let moved = settings(&rejecting("\"private\"").replacen(
            "remote_as = 65002",
            "remote_as = 65010",
            1,
        ));
        let d = lines(&c.diff(&moved));
        assert_eq!(d.len(), 5, "{d:#?}");
        assert!(d[0].starts_with(&format!("bgp as-path access-list {name} permit ")));
        assert!(d[0].contains("6500[0-9]|6501[1-9]"), "{d:#?}");
        assert_eq!(
            d[1],
            format!("no bgp as-path access-list {name} permit {PRIVATE_BUT_65002}")
        );
        assert_eq!(
            d[2..],
            [
                "router bgp 65001",
                "neighbor 192.0.2.2 remote-as 65010",
                "exit"
            ]
        );
    }
}
