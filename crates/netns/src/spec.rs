//! What one BGP port's container should look like: [`ContainerSpec`] and the names and Vty
//! addresses derived from it.

use std::net::{Ipv4Addr, SocketAddr, SocketAddrV4};

use ipnetwork::{IpNetwork, Ipv4Network};

use crate::error::{NetnsError, Result};
use crate::types::{validate_ifname, MacAddr};

/// Default name prefix of everything a container creates.
pub const DEFAULT_PREFIX: &str = "mnb";
/// Default TCP port of bgpd's Vty.
pub const DEFAULT_VTY_PORT: u16 = 2605;
/// Longest accepted prefix: leaves room for `-` and at least four characters of the port id.
pub const MAX_PREFIX_LEN: usize = 7;
/// Longest base name: the longest suffix (`_br`, `_vm`) must still fit in 15 bytes.
const MAX_BASE_LEN: usize = 12;

/// The default private range the Vty /30s are cut from: the lower half of 169.254.0.0/16, which
/// keeps clear of 169.254.169.254 (cloud metadata services).
pub fn default_vty_range() -> Ipv4Network {
    match Ipv4Network::new_checked(Ipv4Addr::new(169, 254, 0, 0), 17) {
        Some(n) => n,
        None => Ipv4Network::from(Ipv4Addr::UNSPECIFIED),
    }
}

/// Desired state of the container of one BGP port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// Name prefix (1–7 lowercase ASCII letters or digits, default `mnb`). [`crate::sweep`] finds
    /// leftovers by it.
    pub prefix: String,
    /// The router port's id (e.g. a UUID); its letters and digits name the container.
    pub port_id: String,
    /// The port's index on this host: selects the Vty /30 within [`ContainerSpec::vty_range`].
    pub index: u32,
    /// Namespace of the host side (datapath veth host end, Vty bridge); `None`: the namespace of
    /// the calling process.
    pub host_netns: Option<String>,
    /// MAC of the datapath veth inside the namespace (the router port's MAC).
    pub mac: MacAddr,
    /// MTU of the datapath veth (both ends).
    pub mtu: u32,
    /// Addresses of the datapath veth inside the namespace, with their real prefix lengths
    /// (the router port's IPv4/IPv6 addresses).
    pub addresses: Vec<IpNetwork>,
    /// Private range the Vty /30s are cut from (default [`default_vty_range`]).
    pub vty_range: Ipv4Network,
    /// TCP port of bgpd's Vty inside the namespace (default 2605).
    pub vty_port: u16,
}

impl ContainerSpec {
    /// A spec with the defaults: prefix `mnb`, host side in the current namespace, MTU 1500,
    /// Vty range [`default_vty_range`], Vty port 2605.
    pub fn new(
        port_id: impl Into<String>,
        index: u32,
        mac: MacAddr,
        addresses: Vec<IpNetwork>,
    ) -> ContainerSpec {
        ContainerSpec {
            prefix: DEFAULT_PREFIX.to_string(),
            port_id: port_id.into(),
            index,
            host_netns: None,
            mac,
            mtu: 1500,
            addresses,
            vty_range: default_vty_range(),
            vty_port: DEFAULT_VTY_PORT,
        }
    }

    /// The names of every object of this container.
    pub fn names(&self) -> Result<ContainerNames> {
        ContainerNames::derive(&self.prefix, &self.port_id)
    }

    /// The Vty /30 of this container's index.
    pub fn vty_subnet(&self) -> Result<Ipv4Network> {
        vty_subnet(self.vty_range, self.index)
    }

    /// Checks the whole spec (names, Vty /30, MAC, MTU, addresses).
    pub fn validate(&self) -> Result<()> {
        self.names()?;
        self.vty_subnet()?;
        if !self.mac.is_unicast() {
            return Err(NetnsError::InvalidSpec {
                field: "mac",
                reason: format!("{} is not a unicast MAC", self.mac),
            });
        }
        if !(68..=65535).contains(&self.mtu) {
            return Err(NetnsError::InvalidSpec {
                field: "mtu",
                reason: format!("{} is outside 68..=65535", self.mtu),
            });
        }
        if let Some(ns) = &self.host_netns {
            crate::ns::validate_ns_name(ns)?;
        }
        for (i, a) in self.addresses.iter().enumerate() {
            if self.addresses[..i].iter().any(|b| b.ip() == a.ip()) {
                return Err(NetnsError::InvalidSpec {
                    field: "addresses",
                    reason: format!("{} listed twice", a.ip()),
                });
            }
            let bad = match a {
                IpNetwork::V4(n) => {
                    n.ip().is_unspecified() || n.ip().is_multicast() || n.ip().is_broadcast()
                }
                IpNetwork::V6(n) => n.ip().is_unspecified() || n.ip().is_multicast(),
            };
            if bad {
                return Err(NetnsError::InvalidSpec {
                    field: "addresses",
                    reason: format!("{a} is not a unicast address"),
                });
            }
        }
        Ok(())
    }
}

/// Cuts the `index`-th /30 out of `range`.
pub fn vty_subnet(range: Ipv4Network, index: u32) -> Result<Ipv4Network> {
    let count = range.size() / 4;
    if index >= count {
        return Err(NetnsError::InvalidSpec {
            field: "index",
            reason: format!("index {index} is beyond the {count} /30s of Vty range {range}"),
        });
    }
    let base = u32::from(range.network()) + index * 4;
    Ipv4Network::new(Ipv4Addr::from(base), 30).map_err(|e| NetnsError::InvalidSpec {
        field: "vty_range",
        reason: e.to_string(),
    })
}

/// The names of one container's objects, all derived from a prefix and a port id.
///
/// Base name `B` = `<prefix>-<first letters/digits of the port id>` (at most 12 bytes); namespace
/// `B`; datapath veth `B` (host side) / `B_m` (inside); Vty veth `B_v` (host side, enslaved to
/// bridge `B_br`) / `B_vm` (inside).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct ContainerNames {
    /// The namespace (`/run/netns/<namespace>`).
    pub namespace: String,
    /// Datapath veth, host side.
    pub datapath_host: String,
    /// Datapath veth, inside the namespace.
    pub datapath_inside: String,
    /// Vty veth, host side (a port of the bridge).
    pub vty_host: String,
    /// Vty veth, inside the namespace.
    pub vty_inside: String,
    /// The Vty bridge on the host side.
    pub bridge: String,
}

/// Checks a container name prefix: 1–7 lowercase ASCII letters or digits.
pub fn validate_prefix(prefix: &str) -> Result<()> {
    let bad = |reason| {
        Err(NetnsError::InvalidName {
            name: prefix.to_string(),
            reason,
        })
    };
    if prefix.is_empty() || prefix.len() > MAX_PREFIX_LEN {
        return bad("a prefix has 1 to 7 characters");
    }
    if !prefix
        .bytes()
        .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit())
    {
        return bad("a prefix has only lowercase ASCII letters and digits");
    }
    Ok(())
}

impl ContainerNames {
    /// Derives the names; errors when the prefix is invalid or the port id has no letter or digit.
    pub fn derive(prefix: &str, port_id: &str) -> Result<ContainerNames> {
        validate_prefix(prefix)?;
        let room = MAX_BASE_LEN - prefix.len() - 1;
        let id: String = port_id
            .chars()
            .filter(|c| c.is_ascii_alphanumeric())
            .take(room)
            .collect();
        if id.is_empty() {
            return Err(NetnsError::InvalidSpec {
                field: "port_id",
                reason: format!("{port_id:?} has no ASCII letter or digit to name the container"),
            });
        }
        let base = format!("{prefix}-{id}");
        let names = ContainerNames {
            namespace: base.clone(),
            datapath_host: base.clone(),
            datapath_inside: format!("{base}_m"),
            vty_host: format!("{base}_v"),
            vty_inside: format!("{base}_vm"),
            bridge: format!("{base}_br"),
        };
        for n in [
            &names.datapath_inside,
            &names.vty_host,
            &names.vty_inside,
            &names.bridge,
            &names.datapath_host,
        ] {
            validate_ifname(n)?;
        }
        Ok(names)
    }
}

/// The Vty addressing of one container.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VtyAddressing {
    /// The /30.
    pub subnet: Ipv4Network,
    /// The bridge's address (`.1/30`), the host's end.
    pub host: Ipv4Network,
    /// The namespace's address (`.2/30`), where bgpd's Vty listens.
    pub namespace: Ipv4Network,
    /// bgpd's Vty: namespace address and Vty port.
    pub vty: SocketAddr,
}

impl VtyAddressing {
    /// The addressing of `spec`.
    pub fn of(spec: &ContainerSpec) -> Result<VtyAddressing> {
        let subnet = spec.vty_subnet()?;
        let base = u32::from(subnet.network());
        let net = |host: u32| {
            Ipv4Network::new(Ipv4Addr::from(base + host), 30).map_err(|e| NetnsError::InvalidSpec {
                field: "vty_range",
                reason: e.to_string(),
            })
        };
        let namespace = net(2)?;
        Ok(VtyAddressing {
            subnet,
            host: net(1)?,
            namespace,
            vty: SocketAddr::V4(SocketAddrV4::new(namespace.ip(), spec.vty_port)),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_midonet_scheme_and_fit() {
        let n = ContainerNames::derive("mnb", "1f2e3d4c-5b6a-7988-aabb-ccddeeff0011").unwrap();
        assert_eq!(n.namespace, "mnb-1f2e3d4c");
        assert_eq!(n.datapath_host, "mnb-1f2e3d4c");
        assert_eq!(n.datapath_inside, "mnb-1f2e3d4c_m");
        assert_eq!(n.vty_host, "mnb-1f2e3d4c_v");
        assert_eq!(n.vty_inside, "mnb-1f2e3d4c_vm");
        assert_eq!(n.bridge, "mnb-1f2e3d4c_br");
        let long = ContainerNames::derive("abcdefg", "123456789").unwrap();
        assert_eq!(long.bridge.len(), 15);
        assert_eq!(long.namespace, "abcdefg-1234");
    }

    #[test]
    fn bad_prefixes_and_ids_are_rejected() {
        for p in ["", "abcdefgh", "MNB", "m-b", "m_b"] {
            assert!(ContainerNames::derive(p, "abc").is_err(), "{p:?}");
        }
        assert!(matches!(
            ContainerNames::derive("mnb", "--//"),
            Err(NetnsError::InvalidSpec {
                field: "port_id",
                ..
            })
        ));
    }

    #[test]
    fn vty_slash30_per_index() {
        let r: Ipv4Network = "169.254.0.0/17".parse().unwrap();
        assert_eq!(vty_subnet(r, 0).unwrap().to_string(), "169.254.0.0/30");
        assert_eq!(vty_subnet(r, 1).unwrap().to_string(), "169.254.0.4/30");
        assert_eq!(
            vty_subnet(r, 8191).unwrap().to_string(),
            "169.254.127.252/30"
        );
        assert!(vty_subnet(r, 8192).is_err());
        let mut spec = ContainerSpec::new("p", 3, MacAddr([2, 0, 0, 0, 0, 1]), vec![]);
        spec.vty_port = 2700;
        let v = VtyAddressing::of(&spec).unwrap();
        assert_eq!(v.host.to_string(), "169.254.0.13/30");
        assert_eq!(v.namespace.to_string(), "169.254.0.14/30");
        assert_eq!(v.vty.to_string(), "169.254.0.14:2700");
        assert_eq!(default_vty_range().to_string(), "169.254.0.0/17");
    }

    #[test]
    fn spec_validation_names_the_field() {
        let ok = ContainerSpec::new(
            "p1",
            0,
            MacAddr([2, 0, 0, 0, 0, 1]),
            vec!["192.0.2.1/24".parse().unwrap()],
        );
        ok.validate().unwrap();
        let mut s = ok.clone();
        s.mac = MacAddr([1, 0, 0, 0, 0, 1]);
        assert!(matches!(
            s.validate(),
            Err(NetnsError::InvalidSpec { field: "mac", .. })
        ));
        let mut s = ok.clone();
        s.mtu = 10;
        assert!(matches!(
            s.validate(),
            Err(NetnsError::InvalidSpec { field: "mtu", .. })
        ));
        let mut s = ok.clone();
        s.addresses.push("192.0.2.1/32".parse().unwrap());
        assert!(matches!(
            s.validate(),
            Err(NetnsError::InvalidSpec {
                field: "addresses",
                ..
            })
        ));
        let mut s = ok.clone();
        s.addresses = vec!["224.0.0.1/4".parse().unwrap()];
        assert!(matches!(
            s.validate(),
            Err(NetnsError::InvalidSpec {
                field: "addresses",
                ..
            })
        ));
        let mut s = ok;
        s.index = 1 << 20;
        assert!(matches!(
            s.validate(),
            Err(NetnsError::InvalidSpec { field: "index", .. })
        ));
    }
}
