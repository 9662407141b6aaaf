//! Public data types: interfaces, extra routes, learned routes and server events.

use std::net::{IpAddr, Ipv4Addr};

use ipnetwork::IpNetwork;
use zebra_proto::Profile;

use crate::gr::{Family, SweepCause};

/// Linux interface flag bits (`IFF_*` from `<net/if.h>`), as carried in ZAPI interface messages.
pub mod iff {
    /// Interface is administratively up.
    pub const UP: u64 = 0x1;
    /// Broadcast address valid.
    pub const BROADCAST: u64 = 0x2;
    /// Loopback interface.
    pub const LOOPBACK: u64 = 0x8;
    /// Resources allocated, carrier present (operationally up).
    pub const RUNNING: u64 = 0x40;
    /// Supports multicast.
    pub const MULTICAST: u64 = 0x1000;
    /// Driver signals L1 up.
    pub const LOWER_UP: u64 = 0x10000;
}

/// An interface bgpd should see, as zebra would describe it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Interface {
    /// Interface name (at most 15 bytes; longer names are cut on the wire).
    pub name: String,
    /// Kernel interface index inside bgpd's network namespace.
    pub ifindex: u32,
    /// Hardware address (all zeros for `lo`).
    pub mac: [u8; 6],
    /// MTU in bytes (used for IPv4 and IPv6).
    pub mtu: u32,
    /// `IFF_*` flags (see [`iff`]); bgpd needs [`iff::UP`] | [`iff::RUNNING`].
    pub flags: u64,
    /// Addresses with their real prefix lengths, IPv4 and IPv6. Include the IPv6 link-local
    /// address (`fe80::…/64`) of every link bgpd peers over: FRR 8.4 bgpd resets an IPv6
    /// session ("nexthop_set failed") when the local interface has no link-local address.
    pub addresses: Vec<IpNetwork>,
}

impl Interface {
    /// The loopback interface `lo` (ifindex 1 in a fresh namespace) with the given addresses.
    pub fn loopback(ifindex: u32, addresses: Vec<IpNetwork>) -> Interface {
        Interface {
            name: "lo".to_string(),
            ifindex,
            mac: [0; 6],
            mtu: 65536,
            flags: iff::UP | iff::LOOPBACK | iff::RUNNING | iff::LOWER_UP,
            addresses,
        }
    }

    /// An Ethernet-like interface (veth, tap) that is up and running.
    pub fn ethernet(
        name: &str,
        ifindex: u32,
        mac: [u8; 6],
        mtu: u32,
        addresses: Vec<IpNetwork>,
    ) -> Interface {
        Interface {
            name: name.to_string(),
            ifindex,
            mac,
            mtu,
            flags: iff::UP | iff::BROADCAST | iff::RUNNING | iff::MULTICAST | iff::LOWER_UP,
            addresses,
        }
    }

    /// Whether the interface is up and running, so that its connected subnets are usable
    /// (zebra installs connected routes only for operative interfaces).
    pub fn is_operative(&self) -> bool {
        self.flags & (iff::UP | iff::RUNNING) == (iff::UP | iff::RUNNING)
    }

    /// Whether the interface is a loopback.
    pub fn is_loopback(&self) -> bool {
        self.flags & iff::LOOPBACK != 0
    }
}

/// Where an [`ExtraRoute`] points.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ExtraNexthop {
    /// Via a gateway; with `ifindex: None` the gateway must lie in a connected subnet.
    Gateway {
        /// Gateway address.
        addr: IpAddr,
        /// Outgoing interface, if known.
        ifindex: Option<u32>,
    },
    /// Directly out of an interface.
    Interface(u32),
    /// Discard (like `ip route add blackhole`): always usable; lets `network` statements pass
    /// bgpd's import check for aggregates the embedder owns.
    Blackhole,
}

/// What kind of route an [`ExtraRoute`] is to NHT: registrations with the `connected` flag resolve
/// only over connected and static routes (as in zebra).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum ExtraRouteKind {
    /// A static route (zebra route type 3).
    #[default]
    Static,
    /// A kernel route (zebra route type 1).
    Kernel,
}

/// A route the embedder knows besides the connected subnets (for example a default route, or
/// the prefixes it wants bgpd's `network` statements to find). Used only to answer nexthop
/// tracking; never sent to bgpd as a route.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ExtraRoute {
    /// Destination prefix (host bits are ignored).
    pub prefix: IpNetwork,
    /// Where it points.
    pub nexthop: ExtraNexthop,
    /// Static or kernel.
    pub kind: ExtraRouteKind,
    /// Administrative distance (lower wins between routes to the same prefix).
    pub distance: u8,
    /// Metric reported in NEXTHOP_UPDATE.
    pub metric: u32,
}

impl ExtraRoute {
    /// A static route via a gateway (distance 1, metric 0).
    pub fn via(prefix: IpNetwork, gateway: IpAddr) -> ExtraRoute {
        ExtraRoute {
            prefix,
            nexthop: ExtraNexthop::Gateway {
                addr: gateway,
                ifindex: None,
            },
            kind: ExtraRouteKind::Static,
            distance: 1,
            metric: 0,
        }
    }

    /// A static blackhole route (distance 1, metric 0).
    pub fn blackhole(prefix: IpNetwork) -> ExtraRoute {
        ExtraRoute {
            prefix,
            nexthop: ExtraNexthop::Blackhole,
            kind: ExtraRouteKind::Static,
            distance: 1,
            metric: 0,
        }
    }
}

/// One path of a learned route (one ECMP member): the one route-path type of the whole project
/// (the `routing` crate and the controller re-export it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[cfg_attr(feature = "serde", derive(serde::Serialize, serde::Deserialize))]
pub struct RoutePath {
    /// Gateway (the BGP nexthop; for IPv6 often the peer's link-local address). `None` for
    /// interface-only and blackhole nexthops.
    pub gateway: Option<IpAddr>,
    /// Outgoing interface index, when bgpd gave one.
    pub ifindex: Option<u32>,
    /// Administrative distance bgpd gave the route (20 eBGP, 200 iBGP by default).
    pub distance: u8,
    /// Route metric (MED).
    pub metric: u32,
    /// ECMP weight (1 when bgpd gave none).
    pub weight: u64,
}

/// A change to the set of routes bgpd gave us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum RouteEvent {
    /// `prefix` now has exactly these paths (replacing any earlier set).
    Replace {
        /// Destination prefix (host bits cleared).
        prefix: IpNetwork,
        /// The full ECMP path set.
        paths: Vec<RoutePath>,
    },
    /// `prefix` is gone.
    Withdraw {
        /// Destination prefix (host bits cleared).
        prefix: IpNetwork,
    },
}

impl RouteEvent {
    /// The prefix the event is about.
    pub fn prefix(&self) -> IpNetwork {
        match self {
            RouteEvent::Replace { prefix, .. } | RouteEvent::Withdraw { prefix } => *prefix,
        }
    }
}

/// Counters of the learned-route table: what bgpd sent, what is held, what the cap refused.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteStats {
    /// Route adds (with at least one nexthop) received from bgpd since the server started.
    pub received: u64,
    /// Route deletes received.
    pub deletes: u64,
    /// Routes held now (each one was handed to the embedder; stale ones included).
    pub held: u64,
    /// The cap on held routes ([`ServerConfig::max_routes`](crate::ServerConfig::max_routes)).
    pub limit: u64,
    /// Route adds of new prefixes refused because the table was full (never stored).
    pub refused: u64,
    /// The refused adds by the gateway of their first path (at most
    /// [`RouteStats::MAX_GATEWAYS`] gateways are told apart; `None` collects paths without a
    /// gateway and the overflow), in gateway order.
    pub refused_by_gateway: Vec<(Option<IpAddr>, u64)>,
    /// Heap bytes of the table (prefixes, owners, fingerprints).
    pub table_bytes: u64,
}

impl RouteStats {
    /// How many gateways the refused counts tell apart.
    pub const MAX_GATEWAYS: usize = 256;
}

/// Identifies one client connection for the life of a server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct ClientId(pub u64);

impl std::fmt::Display for ClientId {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "client#{}", self.0)
    }
}

/// Why a client connection ended.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CloseReason {
    /// The client closed the connection.
    PeerClosed,
    /// The client sent a frame we could not decode; the text names the field/offset.
    Malformed(String),
    /// The first frame matched no supported protocol profile.
    UnknownProfile,
    /// The first frame's header belongs to another family than the configured profile
    /// (e.g. a Quagga header while FRR 10.3 was configured).
    ProfileMismatch {
        /// The configured profile.
        configured: Profile,
        /// The family detected from the header.
        detected: Profile,
    },
    /// The client did not read its replies fast enough and its output queue overflowed.
    OutputOverflow,
    /// A socket error (kind as text).
    Io(String),
    /// The server is shutting down.
    Shutdown,
}

impl std::fmt::Display for CloseReason {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CloseReason::PeerClosed => f.write_str("peer closed the connection"),
            CloseReason::Malformed(e) => write!(f, "malformed frame: {e}"),
            CloseReason::UnknownProfile => f.write_str("first frame matches no known ZAPI profile"),
            CloseReason::ProfileMismatch {
                configured,
                detected,
            } => write!(
                f,
                "first frame is {detected} (marker {}, version {}) but {configured} was configured",
                detected.marker(),
                detected.version()
            ),
            CloseReason::OutputOverflow => f.write_str("output queue overflow"),
            CloseReason::Io(e) => write!(f, "socket error: {e}"),
            CloseReason::Shutdown => f.write_str("server shutting down"),
        }
    }
}

/// What the server tells its embedder.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ServerEvent {
    /// A learned-route change.
    Route(RouteEvent),
    /// A client connected.
    ClientConnected {
        /// The new connection.
        client: ClientId,
    },
    /// A client said HELLO.
    ClientHello {
        /// The connection.
        client: ClientId,
        /// Route type the client announces (9 = BGP).
        proto: u8,
        /// Protocol instance.
        instance: u16,
        /// Protocol profile detected from its first frame.
        profile: Profile,
    },
    /// A client connection ended.
    ClientGone {
        /// The connection.
        client: ClientId,
        /// Why.
        reason: CloseReason,
    },
    /// The last client connection ended (bgpd is gone). Its routes are withdrawn now, or after
    /// the grace period if one is configured.
    AllClientsGone,
    /// The grace period ended; routes not refreshed in it were withdrawn.
    GraceExpired {
        /// How many routes were withdrawn.
        withdrawn: usize,
    },
    /// Graceful restart: the stale routes of a restarted client that it did not send again
    /// were withdrawn (the `Withdraw` events precede this one).
    StaleRoutesSwept {
        /// The family swept (`None`: both).
        family: Option<Family>,
        /// How many routes were withdrawn.
        withdrawn: usize,
        /// Why now.
        cause: SweepCause,
    },
}

/// The router id to announce, or how to choose it.
pub(crate) fn derive_router_id(
    configured: Option<Ipv4Addr>,
    interfaces: &[Interface],
) -> Option<Ipv4Addr> {
    if let Some(id) = configured {
        return (!id.is_unspecified()).then_some(id);
    }
    // Like zebra: the highest loopback address (outside 127/8), else the highest address on
    // any other interface.
    let pick = |want_loopback: bool| {
        interfaces
            .iter()
            .filter(|i| i.is_loopback() == want_loopback)
            .flat_map(|i| i.addresses.iter())
            .filter_map(|a| match a.ip() {
                IpAddr::V4(v4) if !v4.is_loopback() && !v4.is_unspecified() => Some(v4),
                _ => None,
            })
            .max()
    };
    pick(true).or_else(|| pick(false))
}
