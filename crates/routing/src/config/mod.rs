//! The controller's configuration: the TOML schema (documented key by key in `docs/config.md`),
//! parsed and validated as a whole before anything is applied.
//!
//! [`Config::parse`] either returns a fully validated [`Config`] or every problem found, each
//! naming its key path (`port[0].peer[1].keepalive`) and why it is wrong. Every value that later
//! reaches bgpd's Vty is built here with the `vty` crate's own constructors
//! ([`vty::config::values`]), the same typed values the Vty commands are rendered from: whatever
//! validation accepts renders, and whatever could not render is a validation error with its key
//! path. Values bgpd accepts but adjusts (a keepalive above a third of the hold time) are
//! reported as [`ConfigWarning`]s.

mod builder;
mod policy;
mod raw;
mod secrets;
mod sink;
mod text;
mod validate;
mod vty_range;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::time::Duration;

use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};
use serde::{Serialize, Serializer};

pub use crate::plan::{base_name, MAX_BASE_NAME};
pub use builder::{ConfigBuilder, PeerBuilder, PortBuilder};
pub use netns::MacAddr;
pub use policy::{AsClass, ExportPolicy, ImportPolicy, PeerPolicy, PolicyNames};
pub use sink::{
    SinkConfig, SinkKind, DEFAULT_RECONCILE_SECS, DEFAULT_SINK_METRIC, MAX_RECONCILE_SECS,
};
pub use text::{TextError, VtyText};
pub(crate) use validate::network;
pub use vty::config::{
    Asn, ConnectRetry, Description, GracefulRestart, LogFile, MaximumPaths, Multihop, Password,
    PeerGrMode, Prefix, Timers,
};
pub use vty_range::{check_vty_range_form, check_vty_range_overlap, HostAddress, PRIVATE_RANGES};

/// Default keepalive, seconds (bgpd's own default, so it is not sent).
pub const DEFAULT_KEEPALIVE: u16 = Timers::BGPD_DEFAULT.keepalive();
/// Default hold time, seconds (bgpd's own default, so it is not sent).
pub const DEFAULT_HOLD_TIME: u16 = Timers::BGPD_DEFAULT.hold();
/// Default connect-retry, seconds (bgpd's own default, so it is not sent).
pub const DEFAULT_CONNECT_RETRY: u16 = ConnectRetry::BGPD_DEFAULT.get();
/// Default `maximum-paths` (ECMP width).
pub const DEFAULT_MAXIMUM_PATHS: u16 = 8;

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    /// Settings of the controller itself.
    pub controller: ControllerConfig,
    /// The BGP ports, in file order (names are unique).
    pub ports: Vec<PortConfig>,
    /// `[sink]`: where learned routes go, for ports without their own `[port.sink]`.
    pub sink: SinkConfig,
    /// Values that are valid but that bgpd will adjust (see [`ConfigWarning`]).
    pub warnings: Vec<ConfigWarning>,
}

/// A value bgpd accepts but does not use as written, e.g. a keepalive above a third of the hold
/// time (bgpd then sends keepalives every third of the hold time).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ConfigWarning {
    /// Key path of the value, e.g. `port[0].peer[1].keepalive`.
    pub path: String,
    /// What bgpd will do instead.
    pub reason: String,
}

fn serialize_mac<S: Serializer>(mac: &Option<MacAddr>, s: S) -> Result<S::Ok, S::Error> {
    match mac {
        Some(m) => s.collect_str(m),
        None => s.serialize_none(),
    }
}

/// `[controller]`: where things live and how they are named.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct ControllerConfig {
    /// Name prefix (1–7 lowercase letters or digits) of every namespace and link the controller
    /// creates: base name `<prefix>-<letters and digits of the port name>` (≤ 12 bytes).
    pub prefix: String,
    /// Private IPv4 range cut into one /30 per port for the Vty link.
    pub vty_range: Ipv4Network,
    /// TCP port of bgpd's Vty inside each namespace.
    pub vty_port: u16,
    /// Password of bgpd's Vty (written to bgpd's 0600 start-up config file). `None`: the
    /// controller generates a random one per port at start (kept in memory only).
    pub vty_password: Option<vty::config::Password>,
    /// bgpd's `enable password`, like `vty_password` (`None`: random per port).
    pub enable_password: Option<vty::config::Password>,
    /// Directory for zebra sockets, pid files, bgpd configs and logs.
    pub run_dir: PathBuf,
    /// Unix socket of the control interface (`midonet-bgp status` / `routes`).
    pub control_socket: PathBuf,
    /// Group (name or number) whose members may read `status`/`routes` over the control socket
    /// (the socket becomes 0660 with this group); `None`: root only (0600).
    pub control_group: Option<String>,
    /// Address of the Prometheus metrics endpoint (`GET /metrics`); `None`: not served.
    pub metrics: Option<SocketAddr>,
    /// Namespace playing the host side (labs and tests); `None` is the current namespace.
    pub host_namespace: Option<String>,
    /// Path of FRR's bgpd binary.
    pub bgpd_path: PathBuf,
    /// How often per-peer status is read from each bgpd.
    pub status_interval: Duration,
    /// First delay before restarting a failed port or bgpd.
    pub restart_backoff_initial: Duration,
    /// Largest delay between restarts.
    pub restart_backoff_max: Duration,
}

/// The default per-port cap on learned routes: a full IPv4 and IPv6 Internet table (about
/// 1.0 M + 0.2 M routes today) with room to grow.
pub const DEFAULT_MAX_ROUTES: usize = 2_000_000;

/// The largest per-port cap accepted.
pub const MAX_MAX_ROUTES: usize = 50_000_000;

/// One BGP-enabled router port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PortConfig {
    /// The port's id (letters, digits, `-`, `_`).
    pub name: String,
    /// The host interface facing the peers.
    pub uplink: String,
    /// Base name of the port's namespace and links (`B`, `B_m`, `B_v`, `B_vm`, `B_br`).
    pub ifname: String,
    /// Router port IPv4 address with its real prefix length.
    pub address: Option<Ipv4Network>,
    /// Router port IPv6 address with its real prefix length.
    pub address6: Option<Ipv6Network>,
    /// Router port MAC address; `None`: one derived from the port name.
    #[serde(serialize_with = "serialize_mac")]
    pub mac: Option<MacAddr>,
    /// MTU of the datapath link given to bgpd.
    pub mtu: u32,
    /// The local AS number.
    pub local_as: Asn,
    /// BGP router id.
    pub router_id: Ipv4Addr,
    /// Prefixes advertised to every peer.
    pub networks: BTreeSet<Prefix>,
    /// ECMP width (`maximum-paths`).
    pub maximum_paths: MaximumPaths,
    /// Most learned routes the port's zebra server holds (default
    /// [`DEFAULT_MAX_ROUTES`]); further new prefixes are refused, counted and never stored.
    pub max_routes: usize,
    /// bgpd log file (`log file PATH`).
    pub log_file: LogFile,
    /// Turns on `debug bgp` logging.
    pub debug: bool,
    /// Graceful restart (`bgp graceful-restart`, restart and stale-path times, forwarding state
    /// preserved); `None` when `graceful_restart = false` (bgpd's default: helper only).
    #[serde(skip)]
    pub graceful_restart: Option<GracefulRestart>,
    /// The peers, in file order (addresses are unique).
    pub peers: Vec<PeerConfig>,
    /// Where this port's learned routes go (`[port.sink]` over `[sink]`).
    pub sink: SinkConfig,
}

/// One BGP neighbor of a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerConfig {
    /// Peer address (IPv4 or IPv6).
    pub address: IpAddr,
    /// Peer AS number.
    pub remote_as: Asn,
    /// Keepalive interval and hold time (0: none), seconds.
    pub timers: Timers,
    /// Connect-retry interval, seconds.
    pub connect_retry: ConnectRetry,
    /// TCP MD5 password.
    pub password: Option<Password>,
    /// eBGP multihop TTL; `None` means directly connected.
    pub multihop: Option<Multihop>,
    /// Free-text description.
    pub description: Option<Description>,
    /// Administratively shut down.
    pub shutdown: bool,
    /// Passive: bgpd only accepts the peer's TCP connection and never opens one itself
    /// (`neighbor A passive`).
    pub passive: bool,
    /// The peer's own graceful-restart mode; `None` follows the port's.
    #[serde(skip)]
    pub graceful_restart: Option<PeerGrMode>,
    /// Import and export policy and the prefix limit (by default: only the port's own routes
    /// are exported, everything is imported, no limit).
    pub policy: PeerPolicy,
}

impl PortConfig {
    /// The port's addresses (IPv4 then IPv6) with their prefix lengths.
    pub fn addresses(&self) -> Vec<IpNetwork> {
        let mut out = Vec::new();
        if let Some(a) = self.address {
            out.push(IpNetwork::V4(a));
        }
        if let Some(a) = self.address6 {
            out.push(IpNetwork::V6(a));
        }
        out
    }

    /// The peers' addresses.
    pub fn peer_addresses(&self) -> Vec<IpAddr> {
        self.peers.iter().map(|p| p.address).collect()
    }
}

/// One problem found in a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{path}: {reason}")]
pub struct ConfigError {
    /// Key path of the offending value, e.g. `port[0].peer[1].keepalive`.
    pub path: String,
    /// Why it is wrong.
    pub reason: String,
}

/// Everything wrong with a configuration.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigErrors {
    /// The file could not be read.
    #[error("cannot read {path}: {message}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The I/O error.
        message: String,
    },
    /// The text is not valid TOML, or a value has the wrong type, or a key is unknown.
    #[error("invalid TOML: {message}")]
    Syntax {
        /// The parser's message (with line and column).
        message: String,
    },
    /// The file parsed but some values are invalid; all of them are listed.
    #[error("{} invalid value(s):\n{}", .0.len(), list(.0))]
    Invalid(Vec<ConfigError>),
}

fn list(errors: &[ConfigError]) -> String {
    errors
        .iter()
        .map(|e| format!("  {e}"))
        .collect::<Vec<_>>()
        .join("\n")
}

impl ConfigErrors {
    /// The individual problems (one for a syntax or read error).
    pub fn problems(&self) -> Vec<ConfigError> {
        match self {
            ConfigErrors::Read { path, message } => vec![ConfigError {
                path: path.display().to_string(),
                reason: message.clone(),
            }],
            ConfigErrors::Syntax { message } => vec![ConfigError {
                path: String::new(),
                reason: message.clone(),
            }],
            ConfigErrors::Invalid(v) => v.clone(),
        }
    }
}

impl Config {
    /// Parses and validates a whole configuration text.
    pub fn parse(text: &str) -> Result<Config, ConfigErrors> {
        let raw: raw::RawConfig = toml::from_str(text).map_err(|e| ConfigErrors::Syntax {
            message: e.to_string().trim_end().to_string(),
        })?;
        validate::validate(raw)
    }

    /// Reads, parses and validates a configuration file.
    pub fn load(path: &std::path::Path) -> Result<Config, ConfigErrors> {
        let text = std::fs::read_to_string(path).map_err(|e| ConfigErrors::Read {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
        Config::parse(&text)
    }

    /// Checks what the file alone cannot tell (the sinks' namespaces exist); `check-config`
    /// and the controller run it before applying a configuration.
    pub fn check_environment(&self) -> Result<(), ConfigErrors> {
        let host = self.controller.host_namespace.as_deref();
        let mut errors: Vec<ConfigError> = Vec::new();
        if let Err(e) = self.sink.check_environment("sink", host) {
            errors.push(e);
        }
        for (i, port) in self.ports.iter().enumerate() {
            if port.sink != self.sink {
                if let Err(e) = port
                    .sink
                    .check_environment(&format!("port[{i}].sink"), host)
                {
                    errors.push(e);
                }
            }
        }
        if errors.is_empty() {
            Ok(())
        } else {
            Err(ConfigErrors::Invalid(errors))
        }
    }

    /// The port named `name`.
    pub fn port(&self, name: &str) -> Option<&PortConfig> {
        self.ports.iter().find(|p| p.name == name)
    }
}

#[cfg(test)]
mod tests;
