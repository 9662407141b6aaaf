//! Plain route types of the FIB API (no netlink types).

use std::net::IpAddr;
use std::sync::Arc;

use ipnetwork::IpNetwork;

/// `RTPROT_BGP`: the protocol number `ip route show proto bgp` selects.
pub const RTPROT_BGP: u8 = 186;

/// Default route metric (`RTA_PRIORITY`), the one FRR's zebra gives eBGP routes.
pub const DEFAULT_METRIC: u32 = 20;

/// One next hop of a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct NextHop {
    /// The gateway, if any (a route with no gateway is on-link through `ifindex`).
    pub gateway: Option<IpAddr>,
    /// Outgoing interface index in the FIB's namespace.
    pub ifindex: Option<u32>,
    /// Gateway is reachable on `ifindex` even without a covering connected route (`onlink`).
    pub onlink: bool,
}

impl NextHop {
    /// A next hop through `gateway` on interface `ifindex`, marked `onlink`.
    pub fn onlink(gateway: IpAddr, ifindex: u32) -> NextHop {
        NextHop {
            gateway: Some(gateway),
            ifindex: Some(ifindex),
            onlink: true,
        }
    }

    /// A next hop through `gateway`, resolved by the kernel from its own routes.
    pub fn via(gateway: IpAddr) -> NextHop {
        NextHop {
            gateway: Some(gateway),
            ifindex: None,
            onlink: false,
        }
    }
}

/// A route's next-hop set: sorted, deduplicated, shared between routes with the same set.
pub type NextHops = Arc<[NextHop]>;

/// Builds a canonical next-hop set (sorted, without duplicates).
pub fn next_hops(mut hops: Vec<NextHop>) -> NextHops {
    hops.sort_unstable();
    hops.dedup();
    Arc::from(hops)
}

/// A route as installed (or found) in the FIB.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FibRoute {
    /// Destination prefix (host bits cleared).
    pub prefix: IpNetwork,
    /// Its next hops (one: a plain route; several: a multipath route).
    pub next_hops: NextHops,
}

/// Which routing table the routes go to.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum TableSpec {
    /// A table id (1..=2^32-1; 254 is `main`).
    Id(u32),
    /// The table of a VRF device, by device name.
    Vrf(String),
}

impl Default for TableSpec {
    fn default() -> TableSpec {
        TableSpec::Id(254)
    }
}

impl std::fmt::Display for TableSpec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TableSpec::Id(id) => write!(f, "table {id}"),
            TableSpec::Vrf(name) => write!(f, "vrf {name}"),
        }
    }
}

/// Where and how the FIB writer installs routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FibConfig {
    /// The routing table.
    pub table: TableSpec,
    /// Named namespace (`/run/netns/NAME`); `None`: the namespace of the process.
    pub namespace: Option<String>,
    /// Protocol number marking our routes (default [`RTPROT_BGP`]); only routes with it, in our
    /// table, are ever replaced or deleted.
    pub protocol: u8,
    /// Route metric (`RTA_PRIORITY`).
    pub metric: u32,
    /// Most route requests sent in one `sendmsg`.
    pub batch_routes: usize,
    /// Write routes with kernel nexthop objects shared per next-hop set where the kernel has
    /// them (Linux 5.3+; see [`crate::objects`]); `false`: every route carries its own next
    /// hops. Either way the table holds the same routes.
    pub nexthop_objects: bool,
}

impl Default for FibConfig {
    fn default() -> FibConfig {
        FibConfig {
            table: TableSpec::default(),
            namespace: None,
            protocol: RTPROT_BGP,
            metric: DEFAULT_METRIC,
            batch_routes: 1024,
            nexthop_objects: true,
        }
    }
}

/// Clears the host bits of `prefix` (`192.0.2.7/24` → `192.0.2.0/24`).
pub fn canonical(prefix: IpNetwork) -> IpNetwork {
    IpNetwork::new(prefix.network(), prefix.prefix()).unwrap_or(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn next_hop_sets_are_canonical() {
        let a = NextHop::via("192.0.2.1".parse().unwrap());
        let b = NextHop::onlink("192.0.2.2".parse().unwrap(), 3);
        assert_eq!(next_hops(vec![b, a, b]), next_hops(vec![a, b]));
        assert_eq!(next_hops(vec![b, a]).len(), 2);
    }

    #[test]
    fn canonical_clears_host_bits() {
        let p: IpNetwork = "192.0.2.7/24".parse().unwrap();
        assert_eq!(canonical(p).to_string(), "192.0.2.0/24");
        let p6: IpNetwork = "2001:db8::1/32".parse().unwrap();
        assert_eq!(canonical(p6).to_string(), "2001:db8::/32");
    }
}
