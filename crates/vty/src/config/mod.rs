//! Typed BGP configuration for bgpd, rendered to Vty commands, and minimal diffs.
//!
//! Every value is validated when it is constructed (see [`values`]), so a rendered command can
//! never carry a newline, a second command, a `?` or a control character. A [`Command`] knows the
//! configuration node it runs in; [`render_lines`] adds the `router bgp` / `address-family`
//! navigation between commands.

pub mod announce;
pub mod aspath;
mod diff;
pub mod gr;
pub mod policy;
mod refresh;
pub mod values;

use std::collections::{BTreeMap, BTreeSet};
use std::net::{IpAddr, Ipv4Addr};

pub use announce::{NetworkAttributes, NetworkRouteMap, NetworkRouteMaps};
pub use aspath::{AsPathList, AsPathRegex};
pub use diff::{diff, diff_for};
pub use gr::{GracefulRestart, PeerGrMode};
pub use policy::{
    Action, Community, LargeCommunity, MaxPrefixAction, MaximumPrefix, NeighborPolicy, Policies,
    PolicyName, PrefixEntry, PrefixList, RouteMap, RouteMapEntry, SetCommunities,
};
pub use values::{
    AdvertisementInterval, Asn, ConfigError, ConnectRetry, DebugFlag, Description, LogFile,
    MaximumPaths, Multihop, Password, Prefix, Timers,
};

/// An address family with unicast routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Afi {
    /// `address-family ipv4 unicast`.
    Ipv4,
    /// `address-family ipv6 unicast`.
    Ipv6,
}

impl Afi {
    /// `ipv4` or `ipv6`.
    pub fn keyword(self) -> &'static str {
        match self {
            Afi::Ipv4 => "ipv4",
            Afi::Ipv6 => "ipv6",
        }
    }
}

/// The configuration node a command runs in.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Node {
    /// `configure terminal` level.
    Config,
    /// Inside `router bgp AS`.
    Router(Asn),
    /// Inside `router bgp AS` / `address-family … unicast`.
    AddressFamily(Asn, Afi),
    /// Inside `route-map NAME ACTION SEQ`.
    RouteMap(PolicyName, Action, u16),
}

/// One configuration command line with the node it must run in. [`Command::line`] is what is
/// sent; its `Display` and `Debug` forms are redacted (see [`crate::Redacted`]), so a command
/// that sets a password can be logged.
#[derive(Clone, PartialEq, Eq, Hash)]
pub struct Command {
    node: Node,
    line: String,
    enters: Option<Node>,
}

impl Command {
    pub(crate) fn new(node: Node, line: String) -> Command {
        Command {
            node,
            line,
            enters: None,
        }
    }

    /// A command that moves the session into another node (`router bgp AS`).
    pub(crate) fn entering(node: Node, line: String, enters: Node) -> Command {
        Command {
            node,
            line,
            enters: Some(enters),
        }
    }

    /// The node the command runs in.
    pub fn node(&self) -> Node {
        self.node.clone()
    }

    /// The command line (without newline).
    pub fn line(&self) -> &str {
        &self.line
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&crate::redact(&self.line))
    }
}

impl std::fmt::Debug for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Command")
            .field("node", &self.node)
            .field("line", &crate::Redacted::new(&self.line))
            .field("enters", &self.enters)
            .finish()
    }
}

/// One BGP neighbor.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Neighbor {
    /// Peer address (IPv4 or IPv6).
    pub address: IpAddr,
    /// `neighbor X remote-as AS`.
    pub remote_as: Asn,
    /// `neighbor X timers KA HOLD`.
    pub timers: Option<Timers>,
    /// `neighbor X timers connect N`.
    pub connect_retry: Option<ConnectRetry>,
    /// `neighbor X password PW` (TCP MD5).
    pub password: Option<Password>,
    /// `neighbor X ebgp-multihop N`.
    pub ebgp_multihop: Option<Multihop>,
    /// `neighbor X description TEXT`.
    pub description: Option<Description>,
    /// `neighbor X shutdown`.
    pub shutdown: bool,
    /// `neighbor X passive`: bgpd never opens the TCP connection to this neighbor, it only
    /// accepts the neighbor's.
    pub passive: bool,
    /// `neighbor X advertisement-interval N`.
    pub advertisement_interval: Option<AdvertisementInterval>,
    /// `neighbor X graceful-restart[-helper|-disable]` (`None`: the router-wide mode).
    pub graceful_restart: Option<PeerGrMode>,
}

impl Neighbor {
    /// A neighbor with only its address and AS set.
    pub fn new(address: IpAddr, remote_as: Asn) -> Neighbor {
        Neighbor {
            address,
            remote_as,
            timers: None,
            connect_retry: None,
            password: None,
            ebgp_multihop: None,
            description: None,
            shutdown: false,
            passive: false,
            advertisement_interval: None,
            graceful_restart: None,
        }
    }
}

/// `address-family ipv4|ipv6 unicast` settings.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct AddressFamily {
    /// `network PREFIX` lines (prefixes of this family only).
    pub networks: BTreeSet<Prefix>,
    /// `neighbor X activate` lines (neighbors must exist in [`BgpConfig::neighbors`]).
    pub activate: BTreeSet<IpAddr>,
    /// `maximum-paths N`.
    pub maximum_paths: Option<MaximumPaths>,
    /// Per-neighbor `route-map … in|out` and `maximum-prefix` (neighbors must exist in
    /// [`BgpConfig::neighbors`], route-maps in [`BgpConfig::policies`]).
    pub policy: BTreeMap<IpAddr, NeighborPolicy>,
}

/// The BGP configuration of one bgpd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BgpConfig {
    /// `router bgp AS`.
    pub asn: Asn,
    /// `bgp router-id X`.
    pub router_id: Option<Ipv4Addr>,
    /// `bgp ebgp-requires-policy` (FRR 8.4 turns it on by default; MidoNet peers have no
    /// policies, so [`BgpConfig::new`] turns it off).
    pub ebgp_requires_policy: bool,
    /// `bgp default ipv4-unicast` (on by default in bgpd: every new neighbor is activated in
    /// IPv4 unicast). Off means only the neighbors in [`AddressFamily::activate`] are active in
    /// each family, which is what IPv6-only peers need. Toggling it affects only neighbors
    /// created afterwards (a bgpd rule).
    pub default_ipv4_unicast: bool,
    /// `bgp network import-check` (on by default in bgpd; off lets `network` lines be announced
    /// without a matching route in the RIB).
    pub network_import_check: bool,
    /// `bgp graceful-restart` and its timers (`None`: bgpd's default, GR helper only).
    pub graceful_restart: Option<GracefulRestart>,
    /// Neighbors by address.
    pub neighbors: BTreeMap<IpAddr, Neighbor>,
    /// `address-family ipv4 unicast`.
    pub ipv4: AddressFamily,
    /// `address-family ipv6 unicast`.
    pub ipv6: AddressFamily,
    /// Route-maps of `network` lines (`network P route-map NAME`), see [`announce`].
    pub network_route_maps: NetworkRouteMaps,
    /// Prefix-lists and route-maps (outside `router bgp`).
    pub policies: Policies,
    /// `log file PATH`.
    pub log_file: Option<LogFile>,
    /// `debug bgp …` flags.
    pub debug: BTreeSet<DebugFlag>,
}

impl BgpConfig {
    /// An empty configuration for `asn`: no router-id, `no bgp ebgp-requires-policy`, bgpd's
    /// defaults for `bgp default ipv4-unicast` and the import check, nothing else.
    pub fn new(asn: Asn) -> BgpConfig {
        BgpConfig {
            asn,
            router_id: None,
            ebgp_requires_policy: false,
            default_ipv4_unicast: true,
            network_import_check: true,
            graceful_restart: None,
            neighbors: BTreeMap::new(),
            ipv4: AddressFamily::default(),
            ipv6: AddressFamily::default(),
            network_route_maps: NetworkRouteMaps::new(),
            policies: Policies::default(),
            log_file: None,
            debug: BTreeSet::new(),
        }
    }

    /// Adds or replaces a neighbor (keyed by its address).
    pub fn add_neighbor(&mut self, n: Neighbor) {
        self.neighbors.insert(n.address, n);
    }

    /// Adds a `network` line to the address family of `prefix`.
    pub fn add_network(&mut self, prefix: Prefix) {
        match prefix.addr() {
            IpAddr::V4(_) => self.ipv4.networks.insert(prefix),
            IpAddr::V6(_) => self.ipv6.networks.insert(prefix),
        };
    }

    /// The address family section for `afi`.
    pub fn family(&self, afi: Afi) -> &AddressFamily {
        match afi {
            Afi::Ipv4 => &self.ipv4,
            Afi::Ipv6 => &self.ipv6,
        }
    }

    /// Checks the cross-field rules: networks in the right family, activations of known
    /// neighbors only, network route-maps of configured networks with unique names.
    pub fn validate(&self) -> Result<(), ConfigError> {
        for (afi, fam, name) in [
            (Afi::Ipv4, &self.ipv4, "ipv4"),
            (Afi::Ipv6, &self.ipv6, "ipv6"),
        ] {
            for p in &fam.networks {
                if p.addr().is_ipv4() != (afi == Afi::Ipv4) {
                    return Err(ConfigError::WrongFamily {
                        prefix: *p,
                        family: name,
                    });
                }
            }
            for a in &fam.activate {
                if !self.neighbors.contains_key(a) {
                    return Err(ConfigError::Neighbor {
                        address: *a,
                        problem: "activated but not configured",
                    });
                }
            }
            for (a, p) in &fam.policy {
                if !self.neighbors.contains_key(a) {
                    return Err(ConfigError::Neighbor {
                        address: *a,
                        problem: "has a policy but is not configured",
                    });
                }
                for m in [&p.route_map_in, &p.route_map_out].into_iter().flatten() {
                    if !self.policies.has_route_map(m) {
                        return Err(ConfigError::Neighbor {
                            address: *a,
                            problem: "uses a route-map that is not configured",
                        });
                    }
                }
            }
        }
        self.policies.validate()?;
        announce::validate(
            &self.network_route_maps,
            |p| self.ipv4.networks.contains(p) || self.ipv6.networks.contains(p),
            |n| self.policies.has_route_map(n),
        )?;
        for (k, n) in &self.neighbors {
            if *k != n.address {
                return Err(ConfigError::Neighbor {
                    address: n.address,
                    problem: "stored under another address",
                });
            }
        }
        Ok(())
    }

    /// The commands that build this configuration on an FRR bgpd without BGP configuration.
    pub fn commands(&self) -> Vec<Command> {
        diff::full(self, &crate::flavour::Flavour::FRR)
    }

    /// [`BgpConfig::commands`] for a bgpd of flavour `fl` (see [`diff_for`]).
    pub fn commands_for(&self, fl: &crate::flavour::Flavour) -> Vec<Command> {
        diff::full(self, fl)
    }
}

/// Turns commands into command lines to run from the `configure terminal` node, with
/// `router bgp` / `address-family` / `exit-address-family` / `exit` navigation inserted, ending
/// back in the `configure terminal` node. The lines do not include `configure terminal` or `end`.
pub fn render_lines(commands: &[Command]) -> Vec<String> {
    let mut out = Vec::with_capacity(commands.len() + 8);
    let mut at = Node::Config;
    for c in commands {
        navigate(&mut out, &mut at, &c.node);
        out.push(c.line.clone());
        if let Some(e) = &c.enters {
            at = e.clone();
        }
    }
    navigate(&mut out, &mut at, &Node::Config);
    out
}

fn navigate(out: &mut Vec<String>, at: &mut Node, to: &Node) {
    if at == to {
        return;
    }
    if let Node::RouteMap(..) = at {
        out.push("exit".into());
        *at = Node::Config;
    }
    // Climb up as far as needed.
    if let Node::AddressFamily(asn, _) = *at {
        let stay_in_router = matches!(to, Node::Router(a) | Node::AddressFamily(a, _) if *a == asn);
        out.push("exit-address-family".into());
        *at = Node::Router(asn);
        if stay_in_router && at == to {
            return;
        }
        if !stay_in_router {
            out.push("exit".into());
            *at = Node::Config;
        }
    }
    if let Node::Router(asn) = *at {
        let same = matches!(to, Node::Router(a) | Node::AddressFamily(a, _) if *a == asn);
        if !same {
            out.push("exit".into());
            *at = Node::Config;
        }
    }
    // Descend.
    if *at == Node::Config {
        match to {
            Node::Config => return,
            Node::Router(asn) | Node::AddressFamily(asn, _) => {
                out.push(format!("router bgp {asn}"));
                *at = Node::Router(*asn);
            }
            Node::RouteMap(name, action, seq) => {
                out.push(format!("route-map {name} {} {seq}", action.keyword()));
                *at = to.clone();
                return;
            }
        }
    }
    if let Node::AddressFamily(asn, afi) = to {
        out.push(format!("address-family {} unicast", afi.keyword()));
        *at = Node::AddressFamily(*asn, *afi);
    }
}

#[cfg(test)]
mod tests;
