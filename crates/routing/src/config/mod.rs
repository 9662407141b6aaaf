//! The controller's configuration: the TOML schema (documented key by key in `docs/config.md`),
//! parsed and validated as a whole before anything is applied.
//!
//! [`Config::parse`] either returns a fully validated [`Config`] or every problem found, each
//! naming its key path (`port[0].peer[1].keepalive`) and why it is wrong. Every string that later
//! reaches bgpd's Vty is checked here against command injection (see [`VtyText`]).

mod raw;
mod text;
mod validate;

use std::collections::BTreeSet;
use std::net::{IpAddr, Ipv4Addr};
use std::path::PathBuf;
use std::time::Duration;

use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};
use serde::Serialize;

pub use text::{MacAddr, TextError, VtyText};

/// Keepalive range MidoNet accepted, in seconds.
pub const KEEPALIVE_RANGE: (u32, u32) = (5, 3600);
/// Hold-time range MidoNet accepted, in seconds (0 also allowed: no hold timer).
pub const HOLD_TIME_RANGE: (u32, u32) = (5, 7200);
/// Connect-retry range MidoNet accepted, in seconds.
pub const CONNECT_RETRY_RANGE: (u32, u32) = (5, 3600);
/// Default keepalive, seconds.
pub const DEFAULT_KEEPALIVE: u32 = 60;
/// Default hold time, seconds.
pub const DEFAULT_HOLD_TIME: u32 = 180;
/// Default connect-retry, seconds.
pub const DEFAULT_CONNECT_RETRY: u32 = 120;
/// Default `maximum-paths` (ECMP width).
pub const DEFAULT_MAXIMUM_PATHS: u8 = 8;
/// Largest `maximum-paths` accepted (FRR's compile-time limit on Debian is at least 64).
pub const MAX_MAXIMUM_PATHS: u8 = 64;
/// Longest base name of a port's namespace and links (the `_br`/`_vm` suffixes bring it to 15).
pub const MAX_BASE_NAME: usize = 12;

/// The base name of a port's namespace and links: `<prefix>-` and the port name's ASCII letters
/// and digits, cut to [`MAX_BASE_NAME`] bytes (the netns crate's naming rule).
pub fn base_name(prefix: &str, port_name: &str) -> String {
    let room = MAX_BASE_NAME.saturating_sub(prefix.len() + 1);
    let id: String = port_name
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .take(room)
        .collect();
    format!("{prefix}-{id}")
}

/// A validated configuration.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Config {
    /// Settings of the controller itself.
    pub controller: ControllerConfig,
    /// The BGP ports, in file order (names are unique).
    pub ports: Vec<PortConfig>,
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
    /// Password of bgpd's Vty (written to bgpd's almost-empty config file).
    pub vty_password: VtyText,
    /// Directory for zebra sockets, pid files, bgpd configs and logs.
    pub run_dir: PathBuf,
    /// Unix socket of the control interface (`midonet-bgp status` / `routes`).
    pub control_socket: PathBuf,
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
    /// Router port MAC address; `None` lets the kernel choose.
    pub mac: Option<MacAddr>,
    /// MTU of the datapath link given to bgpd.
    pub mtu: u32,
    /// The local AS number.
    pub local_as: u32,
    /// BGP router id.
    pub router_id: Ipv4Addr,
    /// Prefixes advertised to every peer.
    pub networks: BTreeSet<IpNetwork>,
    /// ECMP width (`maximum-paths`).
    pub maximum_paths: u8,
    /// Most learned routes the port's zebra server holds (default
    /// [`DEFAULT_MAX_ROUTES`]); further new prefixes are refused, counted and never stored.
    pub max_routes: usize,
    /// bgpd log file (`log file PATH`).
    pub log_file: PathBuf,
    /// Turns on `debug bgp` logging.
    pub debug: bool,
    /// The peers, in file order (addresses are unique).
    pub peers: Vec<PeerConfig>,
}

/// One BGP neighbor of a port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerConfig {
    /// Peer address (IPv4 or IPv6).
    pub address: IpAddr,
    /// Peer AS number.
    pub remote_as: u32,
    /// Keepalive interval, seconds.
    pub keepalive: u32,
    /// Hold time, seconds (0: none).
    pub hold_time: u32,
    /// Connect-retry interval, seconds.
    pub connect_retry: u32,
    /// TCP MD5 password.
    pub password: Option<VtyText>,
    /// eBGP multihop TTL; `None` means directly connected.
    pub multihop: Option<u8>,
    /// Free-text description.
    pub description: Option<VtyText>,
    /// Administratively shut down.
    pub shutdown: bool,
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

    /// The port named `name`.
    pub fn port(&self, name: &str) -> Option<&PortConfig> {
        self.ports.iter().find(|p| p.name == name)
    }
}

#[cfg(test)]
mod tests;
