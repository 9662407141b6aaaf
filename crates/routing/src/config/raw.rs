//! The configuration file as written: every key optional where the schema allows, unknown keys
//! rejected. [`super::Config::parse`] turns it into the validated model.

use serde::Deserialize;

/// The whole file.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawConfig {
    #[serde(default)]
    pub controller: RawController,
    #[serde(default)]
    pub defaults: RawDefaults,
    #[serde(default)]
    pub port: Vec<RawPort>,
    #[serde(default)]
    pub sink: super::sink::RawSink,
}

/// `[controller]`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawController {
    pub prefix: Option<String>,
    pub vty_range: Option<String>,
    pub vty_port: Option<u16>,
    pub vty_password: Option<String>,
    pub enable_password: Option<String>,
    pub run_dir: Option<String>,
    pub control_socket: Option<String>,
    pub control_group: Option<String>,
    pub metrics: Option<String>,
    pub host_namespace: Option<String>,
    pub bgpd_path: Option<String>,
    pub status_interval: Option<u64>,
    pub restart_backoff_initial_ms: Option<u64>,
    pub restart_backoff_max_ms: Option<u64>,
}

/// `[defaults]`: timer defaults for every peer.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDefaults {
    pub keepalive: Option<i64>,
    pub hold_time: Option<i64>,
    pub connect_retry: Option<i64>,
}

/// `[[port]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPort {
    pub name: Option<String>,
    pub uplink: Option<String>,
    pub address: Option<String>,
    pub address6: Option<String>,
    pub mac: Option<String>,
    pub mtu: Option<u32>,
    pub local_as: Option<i64>,
    pub router_id: Option<String>,
    #[serde(default)]
    pub networks: Vec<String>,
    pub maximum_paths: Option<i64>,
    pub max_routes: Option<i64>,
    pub keepalive: Option<i64>,
    pub hold_time: Option<i64>,
    pub connect_retry: Option<i64>,
    pub log_file: Option<String>,
    #[serde(default)]
    pub debug: bool,
    pub graceful_restart: Option<bool>,
    pub restart_time: Option<i64>,
    pub stalepath_time: Option<i64>,
    #[serde(default)]
    pub peer: Vec<RawPeer>,
    pub sink: Option<super::sink::RawSink>,
}

/// `[[port.peer]]`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPeer {
    pub address: Option<String>,
    pub remote_as: Option<i64>,
    pub keepalive: Option<i64>,
    pub hold_time: Option<i64>,
    pub connect_retry: Option<i64>,
    pub password: Option<String>,
    pub multihop: Option<RawMultihop>,
    pub description: Option<String>,
    #[serde(default)]
    pub shutdown: bool,
    #[serde(default)]
    pub passive: bool,
    pub graceful_restart: Option<String>,
    pub import: Option<super::policy::RawImport>,
    pub export: Option<super::policy::RawExport>,
    pub maximum_prefix: Option<super::policy::RawMaximumPrefix>,
}

/// `multihop = true` or `multihop = TTL`.
#[derive(Debug, Deserialize)]
#[serde(untagged)]
pub(crate) enum RawMultihop {
    Flag(bool),
    Ttl(i64),
}
