//! What one bgpd should be configured with, as Vty commands: the full bootstrap, and the minimal
//! change between two settings (timers and passwords are changed in place, never by removing the
//! neighbor).
//!
//! Every value placed in a command is a typed address/number or a [`VtyText`] validated by the
//! configuration, so no command can carry a newline, a `?` or a second command.

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;

use ipnetwork::IpNetwork;

use crate::config::{
    PeerConfig, PortConfig, VtyText, DEFAULT_CONNECT_RETRY, DEFAULT_HOLD_TIME, DEFAULT_KEEPALIVE,
};

/// Settings of one neighbor, as configured in bgpd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NeighborSettings {
    /// Peer AS.
    pub remote_as: u32,
    /// Keepalive and hold time, seconds.
    pub timers: (u32, u32),
    /// Connect-retry, seconds.
    pub connect_retry: u32,
    /// MD5 password.
    pub password: Option<VtyText>,
    /// eBGP multihop TTL.
    pub multihop: Option<u8>,
    /// Description.
    pub description: Option<VtyText>,
    /// Administratively down.
    pub shutdown: bool,
}

/// Settings of one bgpd (`router bgp` and around it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpdSettings {
    /// Local AS (`router bgp AS`); changing it needs a restart.
    pub local_as: u32,
    /// Router id.
    pub router_id: Ipv4Addr,
    /// ECMP width for both address families.
    pub maximum_paths: u8,
    /// Neighbors by address.
    pub neighbors: BTreeMap<IpAddr, NeighborSettings>,
    /// Advertised prefixes.
    pub networks: BTreeSet<IpNetwork>,
    /// `log file`.
    pub log_file: PathBuf,
    /// `debug bgp updates` / `neighbor-events`.
    pub debug: bool,
}

impl From<&PeerConfig> for NeighborSettings {
    fn from(p: &PeerConfig) -> Self {
        NeighborSettings {
            remote_as: p.remote_as,
            timers: (p.keepalive, p.hold_time),
            connect_retry: p.connect_retry,
            password: p.password.clone(),
            multihop: p.multihop,
            description: p.description.clone(),
            shutdown: p.shutdown,
        }
    }
}

impl From<&PortConfig> for BgpdSettings {
    fn from(p: &PortConfig) -> Self {
        BgpdSettings {
            local_as: p.local_as,
            router_id: p.router_id,
            maximum_paths: p.maximum_paths,
            neighbors: p.peers.iter().map(|n| (n.address, n.into())).collect(),
            networks: p.networks.clone(),
            log_file: p.log_file.clone(),
            debug: p.debug,
        }
    }
}

fn family(a: IpAddr) -> &'static str {
    if a.is_ipv4() {
        "ipv4"
    } else {
        "ipv6"
    }
}

fn net_family(n: &IpNetwork) -> &'static str {
    if n.is_ipv4() {
        "ipv4"
    } else {
        "ipv6"
    }
}

/// Commands (inside `router bgp`) setting every attribute of a new neighbor.
fn neighbor_add(addr: IpAddr, n: &NeighborSettings, out: &mut Vec<String>) {
    out.push(format!("neighbor {addr} remote-as {}", n.remote_as));
    neighbor_attrs(addr, None, n, out);
}

/// Commands changing a neighbor's attributes from `old` (None: defaults) to `new`.
fn neighbor_attrs(
    addr: IpAddr,
    old: Option<&NeighborSettings>,
    new: &NeighborSettings,
    out: &mut Vec<String>,
) {
    let default_timers = (DEFAULT_KEEPALIVE, DEFAULT_HOLD_TIME);
    let old_timers = old.map(|o| o.timers);
    if old_timers != Some(new.timers) && !(old.is_none() && new.timers == default_timers) {
        out.push(format!(
            "neighbor {addr} timers {} {}",
            new.timers.0, new.timers.1
        ));
    }
    let old_cr = old.map(|o| o.connect_retry);
    if old_cr != Some(new.connect_retry)
        && !(old.is_none() && new.connect_retry == DEFAULT_CONNECT_RETRY)
    {
        out.push(format!(
            "neighbor {addr} timers connect {}",
            new.connect_retry
        ));
    }
    if old.map(|o| &o.password) != Some(&new.password) {
        match &new.password {
            Some(p) => out.push(format!("neighbor {addr} password {p}")),
            None if old.is_some() => out.push(format!("no neighbor {addr} password")),
            None => {}
        }
    }
    if old.map(|o| o.multihop) != Some(new.multihop) {
        match new.multihop {
            Some(ttl) => out.push(format!("neighbor {addr} ebgp-multihop {ttl}")),
            None if old.is_some() => out.push(format!("no neighbor {addr} ebgp-multihop")),
            None => {}
        }
    }
    if old.map(|o| &o.description) != Some(&new.description) {
        match &new.description {
            Some(d) => out.push(format!("neighbor {addr} description {d}")),
            None if old.is_some() => out.push(format!("no neighbor {addr} description")),
            None => {}
        }
    }
    if old.map(|o| o.shutdown) != Some(new.shutdown) {
        if new.shutdown {
            out.push(format!("neighbor {addr} shutdown"));
        } else if old.is_some() {
            out.push(format!("no neighbor {addr} shutdown"));
        }
    }
}

/// Commands inside one `address-family X unicast` block.
fn af_block(fam: &str, body: Vec<String>, out: &mut Vec<String>) {
    if body.is_empty() {
        return;
    }
    out.push(format!("address-family {fam} unicast"));
    out.extend(body);
    out.push("exit-address-family".into());
}

impl BgpdSettings {
    /// The full configuration for a freshly started bgpd, from `configure terminal` to `end`.
    pub fn bootstrap(&self) -> Vec<String> {
        let mut out = vec!["configure terminal".to_string()];
        out.push(format!("log file {}", self.log_file.display()));
        if self.debug {
            out.push("debug bgp neighbor-events".into());
            out.push("debug bgp updates".into());
            out.push("debug bgp zebra".into());
        }
        out.push(format!("router bgp {}", self.local_as));
        out.push(format!("bgp router-id {}", self.router_id));
        out.push("no bgp ebgp-requires-policy".into());
        out.push("no bgp network import-check".into());
        for (addr, n) in &self.neighbors {
            neighbor_add(*addr, n, &mut out);
        }
        for fam in ["ipv4", "ipv6"] {
            let mut body = vec![format!("maximum-paths {}", self.maximum_paths)];
            body.push(format!("maximum-paths ibgp {}", self.maximum_paths));
            for n in self.networks.iter().filter(|n| net_family(n) == fam) {
                body.push(format!("network {n}"));
            }
            for addr in self.neighbors.keys() {
                if fam == "ipv6" && addr.is_ipv6() {
                    body.push(format!("neighbor {addr} activate"));
                }
            }
            af_block(fam, body, &mut out);
        }
        out.push("end".into());
        out
    }

    /// Whether going from `self` to `new` needs bgpd restarted (a new `router bgp AS`).
    pub fn needs_restart(&self, new: &BgpdSettings) -> bool {
        self.local_as != new.local_as
    }

    /// The minimal commands turning `self` into `new` (same AS), from `configure terminal` to
    /// `end`; empty when nothing changed.
    pub fn diff(&self, new: &BgpdSettings) -> Vec<String> {
        let mut out = Vec::new();
        if self.log_file != new.log_file {
            out.push(format!("log file {}", new.log_file.display()));
        }
        if self.debug != new.debug {
            let no = if new.debug { "" } else { "no " };
            for what in ["neighbor-events", "updates", "zebra"] {
                out.push(format!("{no}debug bgp {what}"));
            }
        }
        let mut router = Vec::new();
        if self.router_id != new.router_id {
            router.push(format!("bgp router-id {}", new.router_id));
        }
        for addr in self.neighbors.keys() {
            if !new.neighbors.contains_key(addr) {
                router.push(format!("no neighbor {addr}"));
            }
        }
        let mut readded = BTreeSet::new();
        for (addr, n) in &new.neighbors {
            match self.neighbors.get(addr) {
                None => neighbor_add(*addr, n, &mut router),
                Some(o) if o.remote_as != n.remote_as => {
                    // A new AS is a new neighbor: FRR cannot change it in place.
                    router.push(format!("no neighbor {addr}"));
                    neighbor_add(*addr, n, &mut router);
                    readded.insert(*addr);
                }
                Some(o) => neighbor_attrs(*addr, Some(o), n, &mut router),
            }
        }
        for fam in ["ipv4", "ipv6"] {
            let mut body = Vec::new();
            if self.maximum_paths != new.maximum_paths {
                body.push(format!("maximum-paths {}", new.maximum_paths));
                body.push(format!("maximum-paths ibgp {}", new.maximum_paths));
            }
            for n in self.networks.difference(&new.networks) {
                if net_family(n) == fam {
                    body.push(format!("no network {n}"));
                }
            }
            for n in new.networks.difference(&self.networks) {
                if net_family(n) == fam {
                    body.push(format!("network {n}"));
                }
            }
            if fam == "ipv6" {
                for addr in new.neighbors.keys() {
                    let fresh = !self.neighbors.contains_key(addr) || readded.contains(addr);
                    if addr.is_ipv6() && fresh {
                        body.push(format!("neighbor {addr} activate"));
                    }
                }
            }
            af_block(fam, body, &mut router);
        }
        if !router.is_empty() {
            out.push(format!("router bgp {}", new.local_as));
            out.extend(router);
        }
        if out.is_empty() {
            return out;
        }
        out.insert(0, "configure terminal".into());
        out.push("end".into());
        out
    }
}

/// The address family name (`ipv4`/`ipv6`) of an address, as FRR spells it.
pub fn family_of(a: IpAddr) -> &'static str {
    family(a)
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

    #[test]
    fn bootstrap_has_everything_in_order() {
        let cmds = settings(BASE).bootstrap();
        let expected = [
            "configure terminal",
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
            "maximum-paths ibgp 8",
            "network 203.0.113.0/24",
            "exit-address-family",
            "address-family ipv6 unicast",
            "maximum-paths 8",
            "maximum-paths ibgp 8",
            "network 2001:db8:100::/48",
            "neighbor 2001:db8::2 activate",
            "exit-address-family",
            "end",
        ];
        assert_eq!(cmds, expected);
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
        let d = a.diff(&b);
        assert_eq!(
            d,
            [
                "configure terminal",
                "router bgp 65001",
                "neighbor 192.0.2.2 timers 20 60",
                "neighbor 192.0.2.2 timers connect 9",
                "neighbor 192.0.2.2 password pw",
                "end"
            ]
        );
        assert!(!d.iter().any(|c| c.starts_with("no neighbor")));
        let back = b.diff(&a);
        assert!(back.contains(&"no neighbor 192.0.2.2 password".to_string()));
        assert!(back.contains(&"neighbor 192.0.2.2 timers connect 120".to_string()));
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
        let d = a.diff(&settings(&text));
        assert_eq!(
            d,
            [
                "configure terminal",
                "router bgp 65001",
                "no neighbor 2001:db8::2",
                "neighbor 2001:db8::3 remote-as 65003",
                "address-family ipv4 unicast",
                "no network 203.0.113.0/24",
                "network 198.51.100.0/24",
                "exit-address-family",
                "address-family ipv6 unicast",
                "neighbor 2001:db8::3 activate",
                "exit-address-family",
                "end"
            ]
        );
    }

    #[test]
    fn remote_as_change_re_adds_only_that_neighbor_and_local_as_needs_restart() {
        let a = settings(BASE);
        let b = settings(&BASE.replace("remote_as = 65003", "remote_as = 65009"));
        let d = a.diff(&b);
        assert!(d.contains(&"no neighbor 2001:db8::2".to_string()));
        assert!(d.contains(&"neighbor 2001:db8::2 remote-as 65009".to_string()));
        assert!(d.contains(&"neighbor 2001:db8::2 activate".to_string()));
        assert!(!d.contains(&"no neighbor 192.0.2.2".to_string()));
        assert!(!a.needs_restart(&b));
        let c = settings(&BASE.replace("local_as = 65001", "local_as = 65010"));
        assert!(a.needs_restart(&c));
    }
}
