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

/// The address family name (`ipv4`/`ipv6`) of an address, as FRR spells it.
pub fn family_of(a: IpAddr) -> &'static str {
    if a.is_ipv4() {
        "ipv4"
    } else {
        "ipv6"
    }
}

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

/// A value the vty crate's typed configuration refused (the port configuration is validated
/// with the same types, so this only happens on a bug).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("cannot express the bgpd configuration: {0}")]
pub struct RenderError(pub String);

fn render_err(e: impl std::fmt::Display) -> RenderError {
    RenderError(e.to_string())
}

fn wrap(lines: Vec<String>) -> Vec<String> {
    if lines.is_empty() {
        return lines;
    }
    let mut out = Vec::with_capacity(lines.len() + 2);
    out.push("configure terminal".to_string());
    out.extend(lines);
    out.push("end".to_string());
    out
}

impl BgpdSettings {
    /// The same settings in the vty crate's typed model (timers and connect-retry at bgpd's
    /// defaults are left unset, so no redundant commands are sent).
    pub fn to_vty(&self) -> Result<vty::BgpConfig, RenderError> {
        use vty::config::{
            Asn, ConnectRetry, DebugFlag, Description, LogFile, MaximumPaths, Multihop, Password,
            Prefix, Timers,
        };
        let mut c = vty::BgpConfig::new(Asn::new(self.local_as).map_err(render_err)?);
        c.router_id = Some(self.router_id);
        c.ebgp_requires_policy = false;
        c.network_import_check = false;
        let log = self
            .log_file
            .to_str()
            .ok_or_else(|| RenderError("log file path is not UTF-8".into()))?;
        c.log_file = Some(LogFile::new(log).map_err(render_err)?);
        if self.debug {
            c.debug = [
                DebugFlag::NeighborEvents,
                DebugFlag::Updates,
                DebugFlag::Zebra,
            ]
            .into_iter()
            .collect();
        }
        for (addr, n) in &self.neighbors {
            let mut v = vty::Neighbor::new(*addr, Asn::new(n.remote_as).map_err(render_err)?);
            if n.timers != (DEFAULT_KEEPALIVE, DEFAULT_HOLD_TIME) {
                let ka = u16::try_from(n.timers.0).map_err(render_err)?;
                let hold = u16::try_from(n.timers.1).map_err(render_err)?;
                v.timers = Some(Timers::new(ka, hold).map_err(render_err)?);
            }
            if n.connect_retry != DEFAULT_CONNECT_RETRY {
                let cr = u16::try_from(n.connect_retry).map_err(render_err)?;
                v.connect_retry = Some(ConnectRetry::new(cr).map_err(render_err)?);
            }
            v.password = match &n.password {
                Some(p) => Some(Password::new(p.as_str()).map_err(render_err)?),
                None => None,
            };
            v.ebgp_multihop = match n.multihop {
                Some(t) => Some(Multihop::new(t).map_err(render_err)?),
                None => None,
            };
            v.description = match &n.description {
                Some(d) => Some(Description::new(d.as_str()).map_err(render_err)?),
                None => None,
            };
            v.shutdown = n.shutdown;
            if addr.is_ipv6() {
                c.ipv6.activate.insert(*addr);
            }
            c.add_neighbor(v);
        }
        let paths = MaximumPaths::new(u16::from(self.maximum_paths)).map_err(render_err)?;
        c.ipv4.maximum_paths = Some(paths);
        c.ipv6.maximum_paths = Some(paths);
        for n in &self.networks {
            c.add_network(Prefix::new(n.network(), n.prefix()).map_err(render_err)?);
        }
        c.validate().map_err(render_err)?;
        Ok(c)
    }

    /// The full configuration for a freshly started bgpd, from `configure terminal` to `end`.
    pub fn bootstrap(&self) -> Result<Vec<String>, RenderError> {
        let c = self.to_vty()?;
        Ok(wrap(vty::render_lines(&c.commands())))
    }

    /// Whether going from `self` to `new` needs bgpd restarted (a new `router bgp AS`).
    pub fn needs_restart(&self, new: &BgpdSettings) -> bool {
        self.local_as != new.local_as
    }

    /// The minimal commands turning `self` into `new` (the vty crate's diff: timers, passwords
    /// and descriptions change in place, the neighbor is never removed for them), from
    /// `configure terminal` to `end`; empty when nothing changed.
    pub fn diff(&self, new: &BgpdSettings) -> Result<Vec<String>, RenderError> {
        let old = self.to_vty()?;
        let new = new.to_vty()?;
        Ok(wrap(vty::render_lines(&vty::diff(&old, &new))))
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

    fn has(cmds: &[String], line: &str) -> bool {
        cmds.iter().any(|c| c == line)
    }

    #[test]
    fn bootstrap_has_everything() {
        let cmds = settings(BASE).bootstrap().unwrap();
        assert_eq!(cmds.first().unwrap(), "configure terminal");
        assert_eq!(cmds.last().unwrap(), "end");
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
    fn no_change_no_commands() {
        let a = settings(BASE);
        assert!(a.diff(&a.clone()).unwrap().is_empty());
    }

    #[test]
    fn timer_and_password_change_keep_the_neighbor() {
        let a = settings(BASE);
        let b = settings(
            &BASE
                .replace("keepalive = 10", "keepalive = 20\npassword = \"pw\"")
                .replace("hold_time = 30", "hold_time = 60\nconnect_retry = 9"),
        );
        let d = a.diff(&b).unwrap();
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
        let back = b.diff(&a).unwrap();
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
        let d = a.diff(&settings(&text)).unwrap();
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
        let d = a.diff(&b).unwrap();
        assert!(has(&d, "neighbor 2001:db8::2 remote-as 65009"), "{d:#?}");
        assert!(!d.iter().any(|c| c.contains("192.0.2.2")), "{d:#?}");
        assert!(!a.needs_restart(&b));
        let c = settings(&BASE.replace("local_as = 65001", "local_as = 65010"));
        assert!(a.needs_restart(&c));
    }
}
