//! The one place a port's names, addresses and files are derived: [`PortPlan`].
//!
//! From the controller settings, the port's name and its slot, the plan names the namespace and
//! every link (`B`, `B_m`, `B_v`, `B_vm`, `B_br` from the base name `B`, see [`base_name`]),
//! cuts the slot's /30 out of the Vty range for the Vty link, and names the zebra socket, pid
//! file and bgpd config. The container is built from [`PortPlan::container_spec`]; the `netns`
//! crate takes those names and addresses as given and knows nothing of Vty links.

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use ipnetwork::{IpNetwork, Ipv4Network};

use vty::config::PolicyName;

use crate::config::{ControllerConfig, MacAddr, PolicyNames, PortConfig, Prefix};

/// Longest base name of a port's namespace and links (the `_br`/`_vm` suffixes bring it to the
/// kernel's 15-byte limit on interface names).
pub const MAX_BASE_NAME: usize = 12;

/// The base name of a port's namespace and links: `<prefix>-` and the port name's ASCII letters
/// and digits, cut to [`MAX_BASE_NAME`] bytes.
pub fn base_name(prefix: &str, port_name: &str) -> String {
    let room = MAX_BASE_NAME.saturating_sub(prefix.len() + 1);
    let id: String = port_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(room)
        .collect();
    format!("{prefix}-{id}")
}

/// The name of the route-map of a runtime announcement of `prefix` in its port's bgpd:
/// `ANNOUNCE-<address>-<length>`, `:` written as `_` (`ANNOUNCE-2001_db8__-48`); at most 52
/// bytes of letters, digits, `.`, `_` and `-`.
pub fn announcement_route_map(prefix: Prefix) -> Result<PolicyName, vty::ConfigError> {
    PolicyName::new(&format!(
        "ANNOUNCE-{}-{}",
        prefix.addr().to_string().replace(':', "_"),
        prefix.prefix_len()
    ))
}

/// The names of a peer's prefix-lists and route-maps in its port's bgpd:
/// `<base name>-<peer address>-in|out`, the address with `:` spelled `-` (an IPv6 address has
/// no `-`, so names stay distinct); at most 12 + 1 + 39 + 4 bytes, within
/// [`PolicyName::MAX_LEN`](vty::config::PolicyName::MAX_LEN). The port's AS-path list of
/// its own routes is `<base name>-own`.
pub fn policy_names(base: &str, peer: IpAddr) -> Result<PolicyNames, vty::ConfigError> {
    let addr = peer.to_string().replace(':', "-");
    Ok(PolicyNames {
        import: PolicyName::new(&format!("{base}-{addr}-in"))?,
        export: PolicyName::new(&format!("{base}-{addr}-out"))?,
        own_routes: PolicyName::new(&format!("{base}-own"))?,
    })
}

/// How many ports (one /30 each) the Vty range holds.
pub fn vty_slots(range: Ipv4Network) -> u64 {
    u64::from(range.size()) / 4
}

/// The /30 of `slot` in the Vty range, if the range has that many.
pub fn vty_subnet(range: Ipv4Network, slot: u32) -> Option<Ipv4Network> {
    if u64::from(slot) >= vty_slots(range) {
        return None;
    }
    let base = u32::from(range.network()).checked_add(slot.checked_mul(4)?)?;
    Ipv4Network::new(Ipv4Addr::from(base), 30).ok()
}

/// Names of the links of one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkNames {
    /// Host side of the datapath veth (`NAME`).
    pub datapath_host: String,
    /// Namespace side of the datapath veth (`NAME_m`).
    pub datapath_inside: String,
    /// Host side of the Vty veth (`NAME_v`).
    pub vty_host: String,
    /// Namespace side of the Vty veth (`NAME_vm`).
    pub vty_inside: String,
    /// Bridge of the Vty veth (`NAME_br`).
    pub bridge: String,
}

impl LinkNames {
    /// Names derived from a base name (≤ [`MAX_BASE_NAME`] bytes).
    pub fn from_base(base: &str) -> LinkNames {
        LinkNames {
            datapath_host: base.to_string(),
            datapath_inside: format!("{base}_m"),
            vty_host: format!("{base}_v"),
            vty_inside: format!("{base}_vm"),
            bridge: format!("{base}_br"),
        }
    }
}

/// Everything needed to build and run one port: its configuration plus the names, addresses and
/// files derived from the controller settings and the port's slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortPlan {
    /// The port's configuration.
    pub port: PortConfig,
    /// The controller's configuration.
    pub controller: ControllerConfig,
    /// Slot number (index of its /30 in the Vty range).
    pub slot: u32,
    /// Namespace name.
    pub namespace: String,
    /// Link names.
    pub links: LinkNames,
    /// Bridge address (host side of the Vty link), a /30.
    pub vty_host_addr: Ipv4Network,
    /// Namespace address of the Vty link, a /30.
    pub vty_ns_addr: Ipv4Network,
    /// Zebra Unix socket.
    pub zebra_socket: PathBuf,
    /// bgpd pid file.
    pub pid_file: PathBuf,
    /// bgpd's almost-empty startup configuration file.
    pub bgpd_config: PathBuf,
}

impl PortPlan {
    /// Derives the plan of `port` in `slot`. The configuration has been validated, so the slot's
    /// /30 fits in the Vty range when `slot` is below [`vty_slots`] (the handler never hands
    /// out more; a slot beyond would get the unspecified address and fail to build).
    pub fn new(controller: &ControllerConfig, port: &PortConfig, slot: u32) -> PortPlan {
        let subnet = vty_subnet(controller.vty_range, slot);
        let host_of = |n: u32| {
            subnet
                .and_then(|s| {
                    let a = Ipv4Addr::from(u32::from(s.network()) + n);
                    Ipv4Network::new(a, 30).ok()
                })
                .unwrap_or_else(|| Ipv4Network::from(Ipv4Addr::UNSPECIFIED))
        };
        let run = &controller.run_dir;
        PortPlan {
            port: port.clone(),
            controller: controller.clone(),
            slot,
            namespace: port.ifname.clone(),
            links: LinkNames::from_base(&port.ifname),
            vty_host_addr: host_of(1),
            vty_ns_addr: host_of(2),
            zebra_socket: run.join(format!("zebra-{}.sock", port.name)),
            pid_file: run.join(format!("bgpd-{}.pid", port.name)),
            bgpd_config: run.join(format!("bgpd-{}.conf", port.name)),
        }
    }

    /// Where bgpd's Vty listens (namespace address, Vty port).
    pub fn vty_addr(&self) -> SocketAddr {
        SocketAddr::new(self.vty_ns_addr.ip().into(), self.controller.vty_port)
    }

    /// The MAC of the datapath link bgpd sees: the configured one, or a stable locally
    /// administered one derived from the port name.
    pub fn mac(&self) -> MacAddr {
        self.port
            .mac
            .unwrap_or_else(|| derived_mac(&self.port.name))
    }

    /// The container to build: the namespace; the datapath veth with the port's MAC, MTU and
    /// addresses; the Vty veth with the namespace's /30 address, its host end on the bridge
    /// holding the host's /30 address; the namespace's default route through the bridge.
    pub fn container_spec(&self) -> netns::ContainerSpec {
        let l = &self.links;
        let mut spec = netns::ContainerSpec::new(self.namespace.clone());
        spec.host_netns = self.controller.host_namespace.clone();
        let mut datapath = netns::VethSpec::new(&l.datapath_host, &l.datapath_inside);
        datapath.mac = Some(self.mac());
        datapath.mtu = Some(self.port.mtu);
        datapath.addresses = self.port.addresses();
        let mut vty = netns::VethSpec::new(&l.vty_host, &l.vty_inside);
        vty.addresses = vec![IpNetwork::V4(self.vty_ns_addr)];
        vty.bridge = Some(netns::BridgeSpec {
            name: l.bridge.clone(),
            addresses: vec![IpNetwork::V4(self.vty_host_addr)],
        });
        spec.veths = vec![datapath, vty];
        spec.default_route = Some(netns::DefaultRoute {
            gateway: IpAddr::V4(self.vty_host_addr.ip()),
            via: l.vty_inside.clone(),
        });
        spec
    }

    /// Whether going from `self` to `new` needs the port rebuilt (container, zebra, bgpd), as
    /// opposed to a Vty diff and maybe new flows. See [`PortPlan::rebuild_reasons`].
    pub fn needs_rebuild(&self, new: &PortPlan) -> bool {
        !self.rebuild_reasons(new).is_empty()
    }

    /// The configuration keys whose change from `self` to `new` rebuilds the port, by key name
    /// (empty: the change is applied live).
    ///
    /// A port is rebuilt only for what its container, zebra server or bgpd process were built
    /// from: its names (`prefix`, the port name), its Vty link (`vty_range` through its slot's
    /// /30, `vty_port`, `vty_password` in bgpd's start-up file), where its files live
    /// (`run_dir`), the host side (`host_namespace`), the bgpd binary (`bgpd_path`), its
    /// datapath link (`uplink`, `address`, `address6`, `mac`, `mtu`), the zebra server's route
    /// cap (`max_routes`) and its AS (`local_as`:
    /// bgpd cannot rename an instance). `status_interval` and `restart_backoff_*` are read
    /// when used and `control_socket` belongs to the process, so they never rebuild a port;
    /// every other port and peer key is a Vty diff.
    pub fn rebuild_reasons(&self, new: &PortPlan) -> Vec<&'static str> {
        let (c, d) = (&self.controller, &new.controller);
        let (a, b) = (&self.port, &new.port);
        let mut why = Vec::new();
        let mut check = |changed: bool, key: &'static str| {
            if changed {
                why.push(key);
            }
        };
        check(c.prefix != d.prefix, "prefix");
        check(
            self.namespace != new.namespace || self.links != new.links,
            "namespace and link names",
        );
        check(c.vty_range != d.vty_range, "vty_range");
        check(
            self.vty_host_addr != new.vty_host_addr || self.vty_ns_addr != new.vty_ns_addr,
            "vty link address (slot)",
        );
        check(c.vty_port != d.vty_port, "vty_port");
        check(c.vty_password != d.vty_password, "vty_password");
        check(c.enable_password != d.enable_password, "enable_password");
        check(
            c.run_dir != d.run_dir
                || self.zebra_socket != new.zebra_socket
                || self.pid_file != new.pid_file
                || self.bgpd_config != new.bgpd_config,
            "run_dir",
        );
        check(c.host_namespace != d.host_namespace, "host_namespace");
        check(c.bgpd_path != d.bgpd_path, "bgpd_path");
        check(a.uplink != b.uplink, "uplink");
        check(a.address != b.address, "address");
        check(a.address6 != b.address6, "address6");
        check(a.mac != b.mac, "mac");
        check(a.mtu != b.mtu, "mtu");
        check(a.max_routes != b.max_routes, "max_routes");
        check(a.local_as != b.local_as, "local_as");
        why
    }
}

/// A stable locally administered MAC for a port without a configured one.
fn derived_mac(name: &str) -> MacAddr {
    // FNV-1a: stable across runs and platforms.
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in name.bytes() {
        h ^= u64::from(b);
        h = h.wrapping_mul(0x0100_0000_01b3);
    }
    MacAddr::local_from_seed(h)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::config::Config;

    const CFG: &str = r#"
[controller]
prefix = "abcdefg"
vty_range = "169.254.0.0/28"
vty_port = 2700
host_namespace = "hostside"
[[port]]
name = "1f2e3d4c-5b6a"
uplink = "eth1"
address = "192.0.2.1/24"
local_as = 65001
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
"#;

    #[test]
    fn names_follow_the_midonet_scheme_and_fit() {
        assert_eq!(base_name("mnb", "1f2e3d4c-5b6a-7988"), "mnb-1f2e3d4c");
        assert_eq!(base_name("abcdefg", "123456789"), "abcdefg-1234");
        let l = LinkNames::from_base("abcdefg-1234");
        assert_eq!(l.bridge, "abcdefg-1234_br");
        assert_eq!(l.bridge.len(), 15);
        assert_eq!(l.vty_inside.len(), 15);
        for n in [&l.datapath_host, &l.datapath_inside, &l.vty_host] {
            netns::validate_ifname(n).unwrap();
        }
    }

    #[test]
    fn vty_slash30_per_slot() {
        let r: Ipv4Network = "169.254.0.0/17".parse().unwrap();
        assert_eq!(vty_slots(r), 8192);
        assert_eq!(vty_subnet(r, 0).unwrap().to_string(), "169.254.0.0/30");
        assert_eq!(vty_subnet(r, 1).unwrap().to_string(), "169.254.0.4/30");
        assert_eq!(
            vty_subnet(r, 8191).unwrap().to_string(),
            "169.254.127.252/30"
        );
        assert_eq!(vty_subnet(r, 8192), None);
    }

    #[test]
    fn the_container_spec_is_the_plan() {
        let c = Config::parse(CFG).unwrap();
        let plan = PortPlan::new(&c.controller, &c.ports[0], 3);
        assert_eq!(plan.namespace, "abcdefg-1f2e");
        assert_eq!(plan.vty_host_addr.to_string(), "169.254.0.13/30");
        assert_eq!(plan.vty_ns_addr.to_string(), "169.254.0.14/30");
        assert_eq!(plan.vty_addr().to_string(), "169.254.0.14:2700");
        let spec = plan.container_spec();
        spec.validate().unwrap();
        assert_eq!(spec.namespace, plan.namespace);
        assert_eq!(spec.host_netns.as_deref(), Some("hostside"));
        let dp = spec.veth(&plan.links.datapath_host).unwrap();
        assert_eq!(dp.inside, plan.links.datapath_inside);
        assert_eq!(dp.mac, Some(plan.mac()));
        assert_eq!(dp.mtu, Some(1500));
        assert_eq!(dp.addresses, c.ports[0].addresses());
        assert!(dp.bridge.is_none());
        let vty = spec.veth(&plan.links.vty_host).unwrap();
        assert_eq!(vty.inside, plan.links.vty_inside);
        assert_eq!(vty.addresses, vec![IpNetwork::V4(plan.vty_ns_addr)]);
        let br = vty.bridge.as_ref().unwrap();
        assert_eq!(br.name, plan.links.bridge);
        assert_eq!(br.addresses, vec![IpNetwork::V4(plan.vty_host_addr)]);
        let r = spec.default_route.as_ref().unwrap();
        assert_eq!(r.gateway.to_string(), "169.254.0.13");
        assert_eq!(r.via, plan.links.vty_inside);
        // No MAC configured: a stable locally administered one.
        assert!(plan.mac().is_unicast());
        assert_eq!(plan.mac().octets()[0], 0x02);
        assert_eq!(
            PortPlan::new(&c.controller, &c.ports[0], 3).mac(),
            plan.mac()
        );
        // A slot beyond the range gets no usable address (the handler never hands one out).
        let beyond = PortPlan::new(&c.controller, &c.ports[0], 4);
        assert!(beyond.vty_ns_addr.ip().is_unspecified());
    }
}
