//! What a container should look like: [`ContainerSpec`], a namespace with veth pairs from the
//! host side into it, optional bridges on the host side and a default route inside.
//!
//! The spec is generic: every name and address is the caller's. Naming schemes (a prefix and a
//! port id, one private /30 per port, …) belong to the caller, which knows what the links are
//! for; this crate only builds, checks and removes what it is told. [`crate::sweep`] finds
//! leftovers by a name prefix, so callers that want it name everything `<prefix>-…`.

use std::net::IpAddr;

use ipnetwork::IpNetwork;

use crate::error::{NetnsError, Result};
use crate::types::{validate_ifname, MacAddr};

/// Longest accepted [`crate::sweep`] prefix.
pub const MAX_PREFIX_LEN: usize = 7;

/// Desired state of one container.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerSpec {
    /// The namespace (`/run/netns/<namespace>`), created when missing.
    pub namespace: String,
    /// Namespace of the host side (host ends of the veths, bridges); `None`: the namespace of
    /// the calling process.
    pub host_netns: Option<String>,
    /// The veth pairs, each with one end on the host side and one in the namespace.
    pub veths: Vec<VethSpec>,
    /// The namespace's default route, if any.
    pub default_route: Option<DefaultRoute>,
}

/// One veth pair between the host side and the container's namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VethSpec {
    /// Name of the host-side end.
    pub host: String,
    /// Name of the end inside the namespace.
    pub inside: String,
    /// MAC of the inside end; `None`: the kernel's choice, left as it is.
    pub mac: Option<MacAddr>,
    /// MTU of both ends; `None`: the kernel's default, left as it is.
    pub mtu: Option<u32>,
    /// Addresses of the inside end with their real prefix lengths. They are the only ones kept
    /// there, apart from the IPv6 link-local address the kernel adds.
    pub addresses: Vec<IpNetwork>,
    /// A bridge on the host side the host end is enslaved to.
    pub bridge: Option<BridgeSpec>,
}

/// A bridge on the host side.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BridgeSpec {
    /// Its name.
    pub name: String,
    /// Its addresses (the only ones kept, apart from the kernel's IPv6 link-local address).
    pub addresses: Vec<IpNetwork>,
}

/// A default route inside the namespace.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DefaultRoute {
    /// The gateway (its family selects `0.0.0.0/0` or `::/0`).
    pub gateway: IpAddr,
    /// The inside end of the veth it goes out of (one of [`VethSpec::inside`]).
    pub via: String,
}

impl VethSpec {
    /// A veth pair `host` / `inside` with nothing else set.
    pub fn new(host: impl Into<String>, inside: impl Into<String>) -> VethSpec {
        VethSpec {
            host: host.into(),
            inside: inside.into(),
            mac: None,
            mtu: None,
            addresses: Vec::new(),
            bridge: None,
        }
    }
}

impl ContainerSpec {
    /// A namespace with no links yet, its host side in the caller's namespace.
    pub fn new(namespace: impl Into<String>) -> ContainerSpec {
        ContainerSpec {
            namespace: namespace.into(),
            host_netns: None,
            veths: Vec::new(),
            default_route: None,
        }
    }

    /// The veth whose host end is named `host`.
    pub fn veth(&self, host: &str) -> Option<&VethSpec> {
        self.veths.iter().find(|v| v.host == host)
    }

    /// The names of the host-side objects (veth host ends and bridges) with their link kinds.
    pub(crate) fn host_links(&self) -> Vec<(&str, &'static str)> {
        let mut out = Vec::new();
        for v in &self.veths {
            out.push((v.host.as_str(), "veth"));
        }
        for v in &self.veths {
            if let Some(b) = &v.bridge {
                out.push((b.name.as_str(), "bridge"));
            }
        }
        out
    }

    /// Checks the whole spec: names, that no name is used twice on one side, MACs, MTUs,
    /// addresses, the default route's link and family.
    pub fn validate(&self) -> Result<()> {
        crate::ns::validate_ns_name(&self.namespace)?;
        if let Some(ns) = &self.host_netns {
            crate::ns::validate_ns_name(ns)?;
        }
        let mut host_names: Vec<&str> = Vec::new();
        let mut inside_names: Vec<&str> = vec!["lo"];
        for v in &self.veths {
            validate_ifname(&v.host)?;
            validate_ifname(&v.inside)?;
            unique(&mut host_names, &v.host, "veths")?;
            unique(&mut inside_names, &v.inside, "veths")?;
            if let Some(mac) = v.mac {
                if !mac.is_unicast() {
                    return Err(invalid("mac", format!("{mac} is not a unicast MAC")));
                }
            }
            if let Some(mtu) = v.mtu {
                if !(68..=65535).contains(&mtu) {
                    return Err(invalid("mtu", format!("{mtu} is outside 68..=65535")));
                }
            }
            check_addresses(&v.addresses)?;
            if let Some(b) = &v.bridge {
                validate_ifname(&b.name)?;
                check_addresses(&b.addresses)?;
            }
        }
        // A bridge may serve several veths, but its name may not be a veth's.
        let mut bridges: Vec<&str> = Vec::new();
        for b in self.veths.iter().filter_map(|v| v.bridge.as_ref()) {
            if host_names.contains(&b.name.as_str()) {
                return Err(invalid(
                    "veths",
                    format!("{} is both a veth and a bridge", b.name),
                ));
            }
            if !bridges.contains(&b.name.as_str()) {
                bridges.push(&b.name);
            }
        }
        for name in bridges {
            let specs: Vec<&BridgeSpec> = self
                .veths
                .iter()
                .filter_map(|v| v.bridge.as_ref())
                .filter(|b| b.name == name)
                .collect();
            if specs.windows(2).any(|w| w[0] != w[1]) {
                return Err(invalid(
                    "veths",
                    format!("bridge {name} is given different addresses"),
                ));
            }
        }
        if let Some(r) = &self.default_route {
            if !self.veths.iter().any(|v| v.inside == r.via) {
                return Err(invalid(
                    "default_route",
                    format!("{} is not the inside end of a veth", r.via),
                ));
            }
            if r.gateway.is_unspecified() || r.gateway.is_multicast() {
                return Err(invalid(
                    "default_route",
                    format!("{} is not a unicast gateway", r.gateway),
                ));
            }
        }
        Ok(())
    }
}

fn invalid(field: &'static str, reason: String) -> NetnsError {
    NetnsError::InvalidSpec { field, reason }
}

fn unique<'a>(seen: &mut Vec<&'a str>, name: &'a str, field: &'static str) -> Result<()> {
    if seen.contains(&name) {
        return Err(invalid(field, format!("{name} is used twice")));
    }
    seen.push(name);
    Ok(())
}

fn check_addresses(addresses: &[IpNetwork]) -> Result<()> {
    for (i, a) in addresses.iter().enumerate() {
        if addresses[..i].iter().any(|b| b.ip() == a.ip()) {
            return Err(invalid("addresses", format!("{} listed twice", a.ip())));
        }
        let bad = match a {
            IpNetwork::V4(n) => {
                n.ip().is_unspecified() || n.ip().is_multicast() || n.ip().is_broadcast()
            }
            IpNetwork::V6(n) => n.ip().is_unspecified() || n.ip().is_multicast(),
        };
        if bad {
            return Err(invalid(
                "addresses",
                format!("{a} is not a unicast address"),
            ));
        }
    }
    Ok(())
}

/// Checks a [`crate::sweep`] prefix: 1–7 lowercase ASCII letters or digits.
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

#[cfg(test)]
mod tests {
    use super::*;

    fn two_links() -> ContainerSpec {
        let mut s = ContainerSpec::new("t-1");
        let mut a = VethSpec::new("t-1", "t-1_m");
        a.mac = Some(MacAddr([2, 0, 0, 0, 0, 1]));
        a.mtu = Some(1500);
        a.addresses = vec!["192.0.2.1/24".parse().unwrap()];
        let mut b = VethSpec::new("t-1_v", "t-1_vm");
        b.addresses = vec!["198.51.100.2/30".parse().unwrap()];
        b.bridge = Some(BridgeSpec {
            name: "t-1_br".into(),
            addresses: vec!["198.51.100.1/30".parse().unwrap()],
        });
        s.veths = vec![a, b];
        s.default_route = Some(DefaultRoute {
            gateway: "198.51.100.1".parse().unwrap(),
            via: "t-1_vm".into(),
        });
        s
    }

    fn field(s: &ContainerSpec) -> Option<&'static str> {
        match s.validate() {
            Err(NetnsError::InvalidSpec { field, .. }) => Some(field),
            _ => None,
        }
    }

    #[test]
    fn spec_validation_names_the_field() {
        let ok = two_links();
        ok.validate().unwrap();
        assert_eq!(
            ok.host_links(),
            vec![("t-1", "veth"), ("t-1_v", "veth"), ("t-1_br", "bridge")]
        );
        assert_eq!(ok.veth("t-1_v").map(|v| v.inside.as_str()), Some("t-1_vm"));
        let mut s = ok.clone();
        s.veths[0].mac = Some(MacAddr([1, 0, 0, 0, 0, 1]));
        assert_eq!(field(&s), Some("mac"));
        let mut s = ok.clone();
        s.veths[0].mtu = Some(10);
        assert_eq!(field(&s), Some("mtu"));
        let mut s = ok.clone();
        s.veths[0].addresses.push("192.0.2.1/32".parse().unwrap());
        assert_eq!(field(&s), Some("addresses"));
        let mut s = ok.clone();
        s.veths[0].addresses = vec!["224.0.0.1/4".parse().unwrap()];
        assert_eq!(field(&s), Some("addresses"));
        let mut s = ok.clone();
        s.veths[1].inside = "t-1_m".into();
        assert_eq!(field(&s), Some("veths"));
        let mut s = ok.clone();
        s.veths[1].host = "t-1".into();
        assert_eq!(field(&s), Some("veths"));
        let mut s = ok.clone();
        if let Some(b) = s.veths[1].bridge.as_mut() {
            b.name = "t-1".into();
        }
        assert_eq!(field(&s), Some("veths"));
        let mut s = ok.clone();
        let mut third = VethSpec::new("t-1_x", "t-1_xm");
        third.bridge = Some(BridgeSpec {
            name: "t-1_br".into(),
            addresses: vec![],
        });
        s.veths.push(third);
        assert_eq!(field(&s), Some("veths"));
        let mut s = ok.clone();
        if let Some(r) = s.default_route.as_mut() {
            r.via = "t-1_v".into();
        }
        assert_eq!(field(&s), Some("default_route"));
        let mut s = ok.clone();
        s.veths[0].host = "sixteen-bytes-xx".into();
        assert!(matches!(s.validate(), Err(NetnsError::InvalidName { .. })));
        let mut s = ok;
        s.namespace = "a/b".into();
        assert!(matches!(s.validate(), Err(NetnsError::InvalidName { .. })));
    }

    #[test]
    fn bad_prefixes_are_rejected() {
        for p in ["", "abcdefgh", "MNB", "m-b", "m_b"] {
            assert!(validate_prefix(p).is_err(), "{p:?}");
        }
        validate_prefix("mnb").unwrap();
    }
}
