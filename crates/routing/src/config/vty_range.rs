//! Address safety of `controller.vty_range`: the Vty /30s live on bridges in the host's network
//! stack, so the range must be private (never someone else's public addresses) and overlap no
//! address the host already has (its own subnets would become unreachable, or the Vty would).
//!
//! [`check_vty_range_form`] needs only the configuration; [`check_vty_range_overlap`] takes the
//! host's addresses as input (the binary reads them with `netns`'s rtnetlink helpers), so both
//! are tested without root.

use std::net::Ipv4Addr;

use ipnetwork::{IpNetwork, Ipv4Network};

use super::{ConfigError, ControllerConfig};

/// The configuration key both checks report under.
const KEY: &str = "controller.vty_range";

/// The ranges a Vty range may be taken from: link-local first (the default), then RFC 1918,
/// shared address space (RFC 6598) and the benchmarking range (RFC 2544).
pub const PRIVATE_RANGES: [(Ipv4Addr, u8, &str); 6] = [
    (Ipv4Addr::new(169, 254, 0, 0), 16, "link-local, RFC 3927"),
    (Ipv4Addr::new(10, 0, 0, 0), 8, "RFC 1918"),
    (Ipv4Addr::new(172, 16, 0, 0), 12, "RFC 1918"),
    (Ipv4Addr::new(192, 168, 0, 0), 16, "RFC 1918"),
    (
        Ipv4Addr::new(100, 64, 0, 0),
        10,
        "shared address space, RFC 6598",
    ),
    (Ipv4Addr::new(198, 18, 0, 0), 15, "benchmarking, RFC 2544"),
];

/// One address configured on the host, with the interface carrying it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostAddress {
    /// Name of the interface.
    pub interface: String,
    /// Address and prefix length, as configured.
    pub network: IpNetwork,
}

/// Whether `outer` contains all of `inner`.
fn contains(outer: Ipv4Network, inner: Ipv4Network) -> bool {
    outer.prefix() <= inner.prefix() && outer.contains(inner.network())
}

/// Whether two IPv4 prefixes share an address (then one contains the other).
fn overlap(a: Ipv4Network, b: Ipv4Network) -> bool {
    a.contains(b.network()) || b.contains(a.network())
}

/// Checks that `range` lies entirely inside one of [`PRIVATE_RANGES`]; the reason names them.
pub fn check_vty_range_form(range: Ipv4Network) -> Result<(), String> {
    let inside = PRIVATE_RANGES.iter().any(|(a, len, _)| {
        Ipv4Network::new(*a, *len).is_ok_and(|allowed| contains(allowed, range))
    });
    if inside {
        return Ok(());
    }
    let allowed: Vec<String> = PRIVATE_RANGES
        .iter()
        .map(|(a, len, what)| format!("{a}/{len} ({what})"))
        .collect();
    Err(format!(
        "{range} is not inside a link-local or private range; use one inside {}",
        allowed.join(", ")
    ))
}

/// Every host address whose subnet overlaps the controller's Vty range, as one error each naming
/// the address and its interface. Addresses on links of this controller (named
/// `<prefix>-…`: its own Vty bridges, or leftovers of an earlier run it sweeps at start) are
/// not conflicts; IPv6 addresses cannot overlap an IPv4 range.
pub fn check_vty_range_overlap(
    controller: &ControllerConfig,
    host: &[HostAddress],
) -> Vec<ConfigError> {
    let own = format!("{}-", controller.prefix);
    let range = controller.vty_range;
    let where_ = controller
        .host_namespace
        .as_deref()
        .map_or_else(|| "the host".to_string(), |ns| format!("namespace {ns:?}"));
    host.iter()
        .filter(|h| !h.interface.starts_with(&own))
        .filter_map(|h| match h.network {
            IpNetwork::V4(n) => {
                // The subnet the address is on, not only the address: a host on 10.0.0.0/8
                // would lose its neighbours inside a Vty range in 10.0.0.0/8.
                overlap(range, n).then(|| ConfigError {
                    path: KEY.to_string(),
                    reason: format!(
                        "{range} overlaps address {} on interface {:?} of {where_}; pick a range \
                         no host address is in",
                        n, h.interface
                    ),
                })
            }
            IpNetwork::V6(_) => None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::config::Config;

    fn net(s: &str) -> Ipv4Network {
        s.parse().unwrap()
    }

    fn host(interface: &str, network: &str) -> HostAddress {
        HostAddress {
            interface: interface.into(),
            network: network.parse().unwrap(),
        }
    }

    fn controller(extra: &str) -> ControllerConfig {
        Config::parse(&format!("[controller]\nprefix = \"mnb\"\n{extra}"))
            .unwrap()
            .controller
    }

    #[test]
    fn private_ranges_are_accepted_public_ones_refused() {
        for ok in [
            "169.254.0.0/17",
            "169.254.0.0/16",
            "169.254.255.252/30",
            "10.0.0.0/8",
            "10.200.0.0/24",
            "172.16.0.0/12",
            "172.31.255.252/30",
            "192.168.77.0/24",
            "100.64.0.0/10",
            "100.127.255.0/24",
            "198.18.0.0/15",
            "198.19.0.0/30",
        ] {
            assert_eq!(check_vty_range_form(net(ok)), Ok(()), "{ok}");
        }
        for bad in [
            "192.0.2.0/24",   // documentation, routable in tests, not private
            "8.8.8.0/30",     // public
            "172.32.0.0/30",  // just past 172.16.0.0/12
            "169.254.0.0/15", // wider than link-local
            "100.128.0.0/30", // just past 100.64.0.0/10
            "198.20.0.0/30",  // just past 198.18.0.0/15
            "0.0.0.0/0",      // everything
            "127.0.0.0/30",   // loopback
            "224.0.0.0/30",   // multicast
            "192.168.0.0/15", // covers 192.169.0.0 too
        ] {
            let e = check_vty_range_form(net(bad)).unwrap_err();
            assert!(e.starts_with(bad), "{e}");
            assert!(e.contains("169.254.0.0/16"), "{e}");
        }
    }

    #[test]
    fn the_default_range_is_accepted_by_parse() {
        let c = controller("");
        assert_eq!(c.vty_range, net("169.254.0.0/17"));
    }

    #[test]
    fn parse_refuses_a_public_range_with_its_key() {
        let e = Config::parse("[controller]\nvty_range = \"203.0.113.0/24\"\n").unwrap_err();
        let p = e.problems();
        assert!(
            p.iter().any(|p| p.path == KEY
                && p.reason
                    .contains("203.0.113.0/24 is not inside a link-local or private")),
            "{p:?}"
        );
    }

    #[test]
    fn overlapping_host_addresses_are_named_with_their_interface() {
        let c = controller("vty_range = \"10.20.0.0/16\"\n");
        let found = check_vty_range_overlap(
            &c,
            &[
                host("lo", "127.0.0.1/8"),
                host("eth0", "10.20.3.4/24"), // inside the range
                host("eth1", "10.0.0.9/8"),   // its subnet contains the range
                host("eth2", "10.21.0.1/16"), // next to it: fine
                host("eth3", "2001:db8::1/64"),
                host("docker0", "172.17.0.1/16"),
            ],
        );
        assert_eq!(found.len(), 2, "{found:?}");
        assert!(found.iter().all(|e| e.path == KEY));
        assert!(
            found[0].reason.contains("10.20.3.4/24") && found[0].reason.contains("\"eth0\""),
            "{}",
            found[0].reason
        );
        assert!(
            found[1].reason.contains("10.0.0.9/8") && found[1].reason.contains("\"eth1\""),
            "{}",
            found[1].reason
        );
        assert!(
            found[0].reason.contains("of the host"),
            "{}",
            found[0].reason
        );
    }

    #[test]
    fn a_link_local_host_address_overlaps_the_default_range() {
        let c = controller("host_namespace = \"lab\"\n");
        let found = check_vty_range_overlap(&c, &[host("ens3", "169.254.12.7/16")]);
        assert_eq!(found.len(), 1);
        assert!(
            found[0]
                .reason
                .contains("169.254.0.0/17 overlaps address 169.254.12.7/16")
                && found[0].reason.contains("namespace \"lab\""),
            "{}",
            found[0].reason
        );
        // A /32 outside the /17 (a cloud metadata address) is no conflict.
        assert!(check_vty_range_overlap(&c, &[host("ens3", "169.254.169.254/32")]).is_empty());
    }

    #[test]
    fn the_controllers_own_links_are_not_conflicts() {
        let c = controller("");
        let own = [
            host("mnb-p1_br", "169.254.0.1/30"),
            host("mnb-uplink1_br", "169.254.0.5/30"),
        ];
        assert!(check_vty_range_overlap(&c, &own).is_empty());
        // Another controller's bridge (another prefix) in the same range is one.
        let other = check_vty_range_overlap(&c, &[host("mnc-p1_br", "169.254.0.1/30")]);
        assert_eq!(other.len(), 1);
        assert!(other[0].reason.contains("\"mnc-p1_br\""));
    }
}
