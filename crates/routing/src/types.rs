//! Events the port actor consumes, the route model it passes on, and the status it reports.

use std::net::IpAddr;

use serde::{Deserialize, Serialize};

use crate::metrics::{FlowCounters, PortCounters};

/// One ECMP path of a learned route: the zebra server's type, the only one in the project.
pub use zebra_server::RoutePath;

/// A change of one port's learned routes: the zebra server's route event, handed on unchanged
/// (`Replace` carries the prefix's full ECMP path set, `Withdraw` removes the prefix).
pub use zebra_server::RouteEvent as RouteChange;

/// The zebra server's route counters (received, held, refused by the cap).
pub use zebra_server::RouteStats;

/// What the zebra server reports to the port actor.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ZebraEvent {
    /// bgpd connected to the zebra socket.
    SessionUp,
    /// A learned-route change.
    Route(RouteChange),
    /// bgpd's zebra session ended: every route it gave is void.
    SessionDown,
}

/// Where a port is in its lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum PortPhase {
    /// Building container, zebra server, flows and bgpd.
    Starting,
    /// Everything is built; bgpd is (re)starting or running.
    Running,
    /// Setup failed or bgpd could not be kept running; retrying after a delay.
    Backoff,
    /// Torn down.
    Stopped,
}

/// One BGP neighbor as bgpd reports it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PeerStatus {
    /// Neighbor address.
    pub address: IpAddr,
    /// Its AS, if known.
    pub remote_as: Option<u32>,
    /// FSM state (`Established`, `Active`, `Connect`, …).
    pub state: String,
    /// Time in the current state (Established: session uptime), if known.
    pub uptime_secs: Option<u64>,
    /// Prefixes received (accepted).
    pub prefixes_received: Option<u64>,
    /// Prefixes sent.
    pub prefixes_sent: Option<u64>,
    /// While the session is not Established: why bgpd last reset it, as bgpd words it
    /// (`lastResetDueTo` of `show bgp neighbors json`, with the NOTIFICATION's
    /// `lastNotificationReason` when one ended it: `BGP Notification send: Cease/Maximum
    /// Number of Prefixes Reached` after a `maximum_prefix` teardown; `Admin. shutdown`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_reset: Option<String>,
    /// Routes the sink holds whose paths go through this peer (its address is a path's
    /// gateway), when the sink keeps count. IPv6 routes whose nexthop is the peer's link-local
    /// address are not matched.
    #[serde(default)]
    pub routes_installed: Option<u64>,
    /// Routes through this peer the zebra server refused because the port's cap was reached.
    #[serde(default)]
    pub routes_refused: u64,
    /// Resets of the peer's BGP session (Established, then not) the port actor saw since the
    /// port started (see [`crate::SessionResets`]).
    #[serde(default)]
    pub session_resets: u64,
}

/// The learned-route counters of one port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteCounts {
    /// Route adds bgpd sent to the port's zebra server since it started.
    pub received: u64,
    /// Route deletes bgpd sent.
    pub deleted: u64,
    /// Routes the zebra server holds now (accepted under the cap and handed to the sink).
    pub accepted: u64,
    /// Routes the sink holds for the port, when it keeps count.
    pub installed: Option<u64>,
    /// Route adds refused because the port held `max_routes` routes (never stored).
    pub refused: u64,
    /// The port's cap (`max_routes`).
    pub max_routes: u64,
}

/// Everything known about one port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PortStatus {
    /// Port name.
    pub name: String,
    /// Lifecycle phase.
    pub phase: PortPhase,
    /// Namespace of its bgpd.
    pub namespace: String,
    /// Current bgpd pid.
    pub bgpd_pid: Option<u32>,
    /// How many times bgpd was restarted (crashes, kills) since the port started.
    pub bgpd_restarts: u32,
    /// How many times the whole port was rebuilt (config needing restart, supervisor gave up).
    pub port_restarts: u32,
    /// Whether bgpd has the whole current configuration.
    pub config_applied: bool,
    /// Whether bgpd's zebra session is up.
    pub zebra_connected: bool,
    /// Last error, if the port is not healthy.
    pub last_error: Option<String>,
    /// Neighbors (from the last status poll).
    pub peers: Vec<PeerStatus>,
    /// Runtime announcements, in prefix order.
    #[serde(default)]
    pub announced: Vec<crate::announce::Announcement>,
    /// Learned-route counters (the routes themselves are paged from the sink's table).
    pub routes: RouteCounts,
    /// What the port actor counted (Vty batches, configuration applies, zebra messages).
    #[serde(default)]
    pub counters: PortCounters,
    /// The packet and byte counters of the port's datapath flows, by kind and direction (read
    /// from the datapath for each status request; empty while the port has no flows).
    #[serde(default)]
    pub flows: Vec<FlowCounters>,
}
