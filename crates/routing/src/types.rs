//! Events the port actor consumes, learned routes, the route sink the embedder implements, and the
//! status it reports.

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Mutex;

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

/// One ECMP path of a learned route.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub struct RoutePath {
    /// Next hop (the peer), if bgpd gave one.
    pub gateway: Option<IpAddr>,
    /// Outgoing interface index inside the namespace, if given.
    pub ifindex: Option<u32>,
    /// Administrative distance (MidoNet used it as the route weight).
    pub distance: u8,
    /// Metric (MED).
    pub metric: u32,
}

/// What the zebra server reports to the port actor.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum ZebraEvent {
    /// bgpd connected to the zebra socket.
    SessionUp,
    /// A prefix's full ECMP path set (replaces any previous set).
    Replace {
        /// The prefix.
        prefix: IpNetwork,
        /// Every path.
        paths: Vec<RoutePath>,
    },
    /// A prefix is no longer reachable.
    Withdraw {
        /// The prefix.
        prefix: IpNetwork,
    },
    /// bgpd's zebra session ended: every route it gave is void.
    SessionDown,
}

/// A change of the learned routes of one port, as given to a [`RouteSink`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub enum RouteChange {
    /// `prefix` is now reachable through exactly `paths`.
    Replace {
        /// The port that learned it.
        port: String,
        /// The prefix.
        prefix: IpNetwork,
        /// Its ECMP path set.
        paths: Vec<RoutePath>,
    },
    /// `prefix` is no longer reachable through this port.
    Withdraw {
        /// The port.
        port: String,
        /// The prefix.
        prefix: IpNetwork,
    },
}

/// Where learned routes go: the embedder's virtual router. Called from the port actors; must not
/// block for long.
pub trait RouteSink: Send + Sync + 'static {
    /// `prefix` is reachable from `port` through exactly `paths` (replaces an earlier set).
    fn replace(&self, port: &str, prefix: IpNetwork, paths: &[RoutePath]);
    /// `prefix` is no longer reachable from `port`.
    fn withdraw(&self, port: &str, prefix: IpNetwork);
}

/// A [`RouteSink`] that forwards every change into a channel (for printing, tests, or a
/// separate consumer task).
#[derive(Debug, Clone)]
pub struct ChannelSink {
    tx: mpsc::UnboundedSender<RouteChange>,
}

impl ChannelSink {
    /// A sink and the receiving end of its changes.
    pub fn new() -> (ChannelSink, mpsc::UnboundedReceiver<RouteChange>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (ChannelSink { tx }, rx)
    }
}

impl RouteSink for ChannelSink {
    fn replace(&self, port: &str, prefix: IpNetwork, paths: &[RoutePath]) {
        let _ = self.tx.send(RouteChange::Replace {
            port: port.to_string(),
            prefix,
            paths: paths.to_vec(),
        });
    }
    fn withdraw(&self, port: &str, prefix: IpNetwork) {
        let _ = self.tx.send(RouteChange::Withdraw {
            port: port.to_string(),
            prefix,
        });
    }
}

/// A [`RouteSink`] keeping the current routes of every port in memory (a stand-in for a virtual
/// router's table).
#[derive(Debug, Default)]
pub struct TableSink {
    table: Mutex<BTreeMap<String, BTreeMap<IpNetwork, Vec<RoutePath>>>>,
}

impl TableSink {
    /// An empty table.
    pub fn new() -> TableSink {
        TableSink::default()
    }

    /// The current routes of `port`.
    pub fn routes(&self, port: &str) -> BTreeMap<IpNetwork, Vec<RoutePath>> {
        self.table
            .lock()
            .map(|t| t.get(port).cloned().unwrap_or_default())
            .unwrap_or_default()
    }

    /// Number of routes over all ports.
    pub fn len(&self) -> usize {
        self.table
            .lock()
            .map(|t| t.values().map(|m| m.len()).sum())
            .unwrap_or(0)
    }

    /// Whether no port has any route.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

impl RouteSink for TableSink {
    fn replace(&self, port: &str, prefix: IpNetwork, paths: &[RoutePath]) {
        if let Ok(mut t) = self.table.lock() {
            t.entry(port.to_string())
                .or_default()
                .insert(prefix, paths.to_vec());
        }
    }
    fn withdraw(&self, port: &str, prefix: IpNetwork) {
        if let Ok(mut t) = self.table.lock() {
            if let Some(m) = t.get_mut(port) {
                m.remove(&prefix);
                if m.is_empty() {
                    t.remove(port);
                }
            }
        }
    }
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
}

/// One learned route.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteEntry {
    /// The prefix.
    pub prefix: IpNetwork,
    /// Its ECMP paths.
    pub paths: Vec<RoutePath>,
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
    /// Learned routes.
    pub routes: Vec<RouteEntry>,
}
