//! Prometheus metrics (OpenMetrics text) of the controller, served on `[controller] metrics`.
//!
//! Every value has one owner where its event happens: the port actors count Vty batches and
//! configuration applies ([`routing::PortCounters`]), the zebra server the messages bgpd sends
//! and the frames that do not decode, the bgpd supervisor its restarts, the
//! actor its rebuilds and held routes, bgpd's own status read its peers; the main loop counts
//! reloads in [`Metrics`]. A scrape asks the main loop for the same structured status
//! `midonet-bgp status` shows (never its text) through a [`Source`], and renders it here with
//! the `prometheus-client` crate; the HTTP side is in [`http`].

pub mod cluster;
pub mod http;
#[cfg(test)]
mod tests;

use std::fmt::Write;
use std::future::Future;
use std::path::{Path, PathBuf};
use std::time::Duration;

use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::counter::{ConstCounter, Counter};
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::MetricType;
use prometheus_client::registry::{Registry, Unit};
use routing::kernel::TableStats;
use routing::PortStatus;
use serde::{Deserialize, Serialize};
use tokio::sync::{mpsc, oneshot};

use crate::control::{Pending, Request};

pub use cluster::{ClusterCounters, ClusterStatus};
pub use http::{MetricsError, MetricsServer};

/// Every metric name starts with this.
pub const PREFIX: &str = "midonet_bgp";

/// The BGP FSM states (RFC 4271 §8.2.2) every peer gets a `peer_state` sample for (1 for the
/// current one); a state bgpd names otherwise is added with 1.
pub const PEER_STATES: [&str; 6] = [
    "Idle",
    "Connect",
    "Active",
    "OpenSent",
    "OpenConfirm",
    "Established",
];

/// The port phases every port gets a `port_phase` sample for (1 for the current one).
pub const PORT_PHASES: [&str; 4] = ["starting", "running", "backoff", "stopped"];

/// The configured bgpd binary as `bgpd --version` describes it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct BgpdInfo {
    /// The binary (`[controller] bgpd_path`).
    pub path: PathBuf,
    /// `FRR` or `Quagga`, when detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suite: Option<String>,
    /// The version as printed (`8.4.4`), when detected.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// The Zebra protocol profile the controller serves it with, when supported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub profile: Option<String>,
    /// Why the version is unknown or unsupported.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
}

impl BgpdInfo {
    /// Runs `path --version` (off the runtime) and maps it to a profile; a failure is kept as
    /// the error text, with the version when one was found.
    pub async fn detect(path: &Path) -> BgpdInfo {
        let mut info = BgpdInfo {
            path: path.to_path_buf(),
            suite: None,
            version: None,
            profile: None,
            error: None,
        };
        match bgpd::version::detect(path).await {
            Ok(d) => {
                info.set_version(&d.version);
                info.profile = Some(d.profile.to_string());
            }
            Err(e) => {
                if let bgpd::version::VersionError::Unsupported { found, .. } = &e {
                    info.set_version(found);
                }
                info.error = Some(e.to_string());
            }
        }
        info
    }

    fn set_version(&mut self, v: &bgpd::version::DaemonVersion) {
        self.suite = Some(
            match v.suite {
                bgpd::version::Suite::Frr => "FRR",
                bgpd::version::Suite::Quagga => "Quagga",
            }
            .to_string(),
        );
        self.version = Some(v.text.clone());
    }

    /// One line for `status`: `bgpd /usr/lib/frr/bgpd: FRR 8.4.4, zebra profile frr-8`.
    pub fn line(&self) -> String {
        let mut out = format!("bgpd {}: ", self.path.display());
        match (&self.suite, &self.version) {
            (Some(s), Some(v)) => {
                let _ = write!(out, "{s} {v}");
            }
            _ => out.push_str("version unknown"),
        }
        if let Some(p) = &self.profile {
            let _ = write!(out, ", zebra profile {p}");
        }
        if let Some(e) = &self.error {
            let _ = write!(out, " ({e})");
        }
        out
    }
}

/// What one scrape shows: the status of every port and the bgpd version.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Snapshot {
    /// Every port, as `status` reports it.
    pub ports: Vec<PortStatus>,
    /// The configured bgpd, if detected yet.
    pub bgpd: Option<BgpdInfo>,
    /// The host's cluster membership (cluster mode only).
    pub cluster: Option<ClusterStatus>,
    /// The kernel sink's tables (with `[sink] kind = "kernel"`).
    pub fib: Vec<TableStats>,
}

/// Where a scrape gets its [`Snapshot`].
pub trait Source: Send + Sync + 'static {
    /// The current snapshot, or `None` when the controller cannot answer (stopping).
    fn snapshot(&self) -> impl Future<Output = Option<Snapshot>> + Send;
}

/// The main loop's request channel as a [`Source`]: a scrape is a `status` request, answered
/// between the loop's other work (the port actors answer between their events, so route
/// processing never waits for a scrape).
#[derive(Debug, Clone)]
pub struct ControlSource {
    tx: mpsc::Sender<Pending>,
}

impl ControlSource {
    /// A source asking over `tx` (the channel the control socket uses).
    pub fn new(tx: mpsc::Sender<Pending>) -> ControlSource {
        ControlSource { tx }
    }
}

impl Source for ControlSource {
    async fn snapshot(&self) -> Option<Snapshot> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(Pending {
                request: Request::Status,
                reply,
            })
            .await
            .ok()?;
        let r = rx.await.ok()?;
        r.ok.then_some(Snapshot {
            ports: r.ports,
            bgpd: r.bgpd,
            cluster: r.cluster,
            fib: r.fib,
        })
    }
}

/// The controller's own counters (the main loop owns them) and the rendering of a scrape.
/// Cheap to clone: clones share the counters.
#[derive(Debug, Clone, Default)]
pub struct Metrics {
    reloads: Family<[(&'static str, &'static str); 1], Counter>,
}

impl Metrics {
    /// Fresh counters.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// A new configuration was applied (SIGHUP, `reload`, or the file changed).
    pub fn reload_applied(&self) {
        self.reloads.get_or_create(&[("result", "ok")]).inc();
    }

    /// A configuration was rejected (the running state is unchanged).
    pub fn reload_rejected(&self) {
        self.reloads.get_or_create(&[("result", "rejected")]).inc();
    }

    /// The OpenMetrics text of `snapshot` and the controller's counters.
    pub fn render(&self, snapshot: Snapshot) -> Result<String, std::fmt::Error> {
        // Both results exist from the start, so a rate() sees the first rejection.
        let _ = self.reloads.get_or_create(&[("result", "ok")]);
        let _ = self.reloads.get_or_create(&[("result", "rejected")]);
        let mut registry = Registry::with_prefix(PREFIX);
        registry.register(
            "reloads",
            "Configuration reloads by result: ok (applied) or rejected (running state unchanged)",
            self.reloads.clone(),
        );
        registry.register_collector(Box::new(SnapshotCollector(snapshot)));
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &registry)?;
        Ok(out)
    }
}

/// Encodes one scrape's snapshot.
#[derive(Debug)]
struct SnapshotCollector(Snapshot);

type Labels2 = [(&'static str, String); 2];
type Labels3 = [(&'static str, String); 3];

fn port_label(p: &PortStatus) -> [(&'static str, String); 1] {
    [("port", p.name.clone())]
}

/// Writes one metric family: its descriptor, then one sample per label set.
fn family<L, M>(
    encoder: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    unit: Option<&Unit>,
    samples: impl IntoIterator<Item = (L, M)>,
) -> Result<(), std::fmt::Error>
where
    L: prometheus_client::encoding::EncodeLabelSet,
    M: EncodeMetric + prometheus_client::metrics::TypedMetric,
{
    let mut samples = samples.into_iter().peekable();
    if samples.peek().is_none() {
        return Ok(());
    }
    let mut m = encoder.encode_descriptor(name, help, unit, M::TYPE)?;
    for (labels, metric) in samples {
        metric.encode(m.encode_family(&labels)?)?;
    }
    Ok(())
}

fn counter(v: u64) -> ConstCounter<u64> {
    ConstCounter::new(v)
}

fn gauge(v: u64) -> ConstGauge<u64> {
    ConstGauge::new(v)
}

/// The name a port phase has on the wire (`running`, …).
fn phase_name(p: &PortStatus) -> String {
    match serde_json::to_value(p.phase) {
        Ok(serde_json::Value::String(s)) => s,
        _ => format!("{:?}", p.phase).to_lowercase(),
    }
}

/// Longest label value taken from outside (bgpd's state text, paths, versions), in bytes.
pub const MAX_LABEL: usize = 128;

/// A label value from outside as OpenMetrics text needs it: `\`, `"` and newlines escaped
/// (`prometheus-client` writes label values as given), cut to [`MAX_LABEL`] bytes.
pub fn label_value(s: &str) -> String {
    let mut end = s.len().min(MAX_LABEL);
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    let mut out = String::with_capacity(end + 8);
    for c in s[..end].chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c if c.is_control() => out.push(' '),
            c => out.push(c),
        }
    }
    out
}

/// The FSM state of a peer as a label: bgpd's word before any detail (`Idle (Admin)` → `Idle`).
fn state_name(state: &str) -> String {
    label_value(
        state
            .split(|c: char| c.is_whitespace() || c == '(')
            .next()
            .unwrap_or(state),
    )
}

impl Collector for SnapshotCollector {
    fn encode(&self, mut e: DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let ports = &self.0.ports;
        if let Some(b) = &self.0.bgpd {
            if let (Some(suite), Some(version)) = (&b.suite, &b.version) {
                let info = Info::new([
                    ("path", label_value(&b.path.display().to_string())),
                    ("suite", label_value(suite)),
                    ("version", label_value(version)),
                    (
                        "profile",
                        label_value(b.profile.as_deref().unwrap_or_default()),
                    ),
                ]);
                let m = e.encode_descriptor(
                    "bgpd",
                    "The configured bgpd binary: its suite and version (bgpd --version) and the Zebra profile served to it (empty when unsupported)",
                    None,
                    MetricType::Info,
                )?;
                info.encode(m)?;
            }
        }
        let phases = ports.iter().flat_map(|p| {
            let now = phase_name(p);
            let mut names: Vec<String> = PORT_PHASES.iter().map(|s| s.to_string()).collect();
            if !names.contains(&now) {
                names.push(now.clone());
            }
            names.into_iter().map(move |ph| {
                let v = u64::from(ph == now);
                ([("port", p.name.clone()), ("phase", ph)], gauge(v))
            })
        });
        family::<Labels2, _>(
            &mut e,
            "port_phase",
            "Lifecycle phase of the port (1 for the current phase)",
            None,
            phases,
        )?;
        family(
            &mut e,
            "port_config_applied",
            "1 when bgpd has the port's whole current configuration",
            None,
            ports
                .iter()
                .map(|p| (port_label(p), gauge(u64::from(p.config_applied)))),
        )?;
        family(
            &mut e,
            "port_zebra_connected",
            "1 when bgpd's Zebra session to the controller is up",
            None,
            ports
                .iter()
                .map(|p| (port_label(p), gauge(u64::from(p.zebra_connected)))),
        )?;
        family(
            &mut e,
            "bgpd_restarts",
            "bgpd restarts (crashes, kills) by the port's supervisor",
            None,
            ports
                .iter()
                .map(|p| (port_label(p), counter(u64::from(p.bgpd_restarts)))),
        )?;
        family(
            &mut e,
            "port_rebuilds",
            "Rebuilds of the whole port (setup failures, changes needing a rebuild, supervisor giving up)",
            None,
            ports
                .iter()
                .map(|p| (port_label(p), counter(u64::from(p.port_restarts)))),
        )?;
        family(
            &mut e,
            "routes_held",
            "Learned routes the port's zebra server holds (handed to the route sink)",
            None,
            ports
                .iter()
                .map(|p| (port_label(p), gauge(p.routes.accepted))),
        )?;
        family(
            &mut e,
            "routes_max",
            "The port's cap on held routes (max_routes)",
            None,
            ports
                .iter()
                .map(|p| (port_label(p), gauge(p.routes.max_routes))),
        )?;
        family(
            &mut e,
            "routes_received",
            "Route adds received from bgpd by the port's zebra server",
            None,
            ports
                .iter()
                .map(|p| (port_label(p), counter(p.routes.received))),
        )?;
        family(
            &mut e,
            "routes_refused",
            "Route adds of new prefixes the port's zebra server refused because the cap was reached",
            None,
            ports
                .iter()
                .map(|p| (port_label(p), counter(p.routes.refused))),
        )?;
        family(
            &mut e,
            "routes_installed",
            "Routes of the port the route sink (FIB) holds, when the sink keeps count",
            None,
            ports
                .iter()
                .filter_map(|p| p.routes.installed.map(|n| (port_label(p), gauge(n)))),
        )?;
        family(
            &mut e,
            "vty_config_commands",
            "Configuration commands sent to bgpd over the Vty",
            None,
            ports
                .iter()
                .map(|p| (port_label(p), counter(p.counters.vty_config_commands))),
        )?;
        family(
            &mut e,
            "vty_config_failures",
            "Configuration batches that failed (bgpd refused a command or the Vty session broke)",
            None,
            ports
                .iter()
                .map(|p| (port_label(p), counter(p.counters.vty_config_failures))),
        )?;
        family(
            &mut e,
            "vty_status_reads",
            "Peer status reads (show bgp summary json) sent to bgpd over the Vty",
            None,
            ports
                .iter()
                .map(|p| (port_label(p), counter(p.counters.vty_status_reads))),
        )?;
        family(
            &mut e,
            "vty_status_failures",
            "Peer status reads that failed",
            None,
            ports
                .iter()
                .map(|p| (port_label(p), counter(p.counters.vty_status_failures))),
        )?;
        family(
            &mut e,
            "config_applies",
            "Configuration batches bgpd accepted whole (bootstraps after every bgpd start, and diffs)",
            None,
            ports
                .iter()
                .map(|p| (port_label(p), counter(p.counters.config_applies))),
        )?;
        family(
            &mut e,
            "config_last_applied_timestamp",
            "When bgpd last accepted a whole configuration batch (Unix time)",
            Some(&Unit::Seconds),
            ports.iter().filter_map(|p| {
                p.counters
                    .config_applied_at
                    .map(|t| (port_label(p), gauge(t)))
            }),
        )?;
        let messages = ports.iter().flat_map(|p| {
            p.counters.zebra_messages.iter().map(move |(command, n)| {
                (
                    [("port", p.name.clone()), ("type", label_value(command))],
                    counter(*n),
                )
            })
        });
        family::<Labels2, _>(
            &mut e,
            "zebra_messages_received",
            "Zebra messages received from bgpd, by command (UNKNOWN: a number the session's profile does not type)",
            None,
            messages,
        )?;
        family(
            &mut e,
            "zebra_decode_errors",
            "Zebra frames from bgpd that did not decode (a command the server acts on also closes the session)",
            None,
            ports
                .iter()
                .map(|p| (port_label(p), counter(p.counters.zebra_decode_errors))),
        )?;
        if let Some(c) = &self.0.cluster {
            cluster::encode(c, &mut e)?;
        }
        self.encode_flows(&mut e)?;
        self.encode_fib(&mut e)?;
        self.encode_peers(&mut e)
    }
}

impl SnapshotCollector {
    fn encode_fib(&self, e: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let tables = || {
            self.0.fib.iter().map(|t| {
                let labels: Labels2 = [
                    ("table", t.key.table.to_string()),
                    (
                        "namespace",
                        label_value(t.key.namespace.as_deref().unwrap_or_default()),
                    ),
                ];
                (labels, t)
            })
        };
        let n = |v: usize| gauge(u64::try_from(v).unwrap_or(u64::MAX));
        family(
            e,
            "fib_routes",
            "Routes of ours the kernel acknowledged in this routing table (namespace empty: the controller's own)",
            None,
            tables().map(|(l, t)| (l, n(t.installed))),
        )?;
        family(
            e,
            "fib_routes_stale",
            "Routes of an earlier run found in the table and not re-learned yet",
            None,
            tables().map(|(l, t)| (l, n(t.stale))),
        )?;
        family(
            e,
            "fib_routes_refused",
            "Wanted routes the kernel refused (retried after 5 s, backing off to 80 s, and when a link comes up)",
            None,
            tables().map(|(l, t)| (l, n(t.refused))),
        )?;
        family(
            e,
            "fib_link_rereads",
            "Times the table was read again because a link our routes use went down or away",
            None,
            tables().map(|(l, t)| (l, counter(t.link_rereads))),
        )?;
        family(
            e,
            "fib_routes_restored",
            "Routes the kernel dropped with a link (or changed) that the writer queued again",
            None,
            tables().map(|(l, t)| (l, counter(t.restored))),
        )?;
        family(
            e,
            "fib_reconciling",
            "1 while the routes of an earlier run are being reconciled with what bgpd re-learns",
            None,
            tables().map(|(l, t)| (l, gauge(u64::from(t.reconciling)))),
        )
    }

    fn encode_flows(&self, e: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let flows = || {
            self.0.ports.iter().flat_map(|p| {
                p.flows.iter().map(move |f| {
                    let labels: Labels3 = [
                        ("port", p.name.clone()),
                        ("kind", label_value(&f.kind)),
                        ("direction", f.direction.as_str().to_string()),
                    ];
                    (labels, f)
                })
            })
        };
        family(
            e,
            "flow_packets",
            "Packets the port's datapath flows matched and redirected (tc action counters), by flow kind (bgp, arp, echo, nd) and direction (to_bgpd, from_bgpd)",
            None,
            flows().map(|(l, f)| (l, counter(f.packets))),
        )?;
        family(
            e,
            "flow",
            "Bytes of those packets, from the network header on (tc counts on ingress without the Ethernet header)",
            Some(&Unit::Bytes),
            flows().map(|(l, f)| (l, counter(f.bytes))),
        )?;
        family(
            e,
            "flows_installed",
            "Datapath flows of the port of this kind and direction",
            None,
            flows().map(|(l, f)| (l, gauge(f.flows))),
        )
    }

    fn encode_peers(&self, e: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
        let peers = || {
            self.0.ports.iter().flat_map(|p| {
                p.peers
                    .iter()
                    .map(move |peer| (p.name.clone(), peer.address.to_string(), peer))
            })
        };
        let states = peers().flat_map(|(port, addr, peer)| {
            let now = state_name(&peer.state);
            let mut names: Vec<String> = PEER_STATES.iter().map(|s| s.to_string()).collect();
            if !names.contains(&now) {
                names.push(now.clone());
            }
            names.into_iter().map(move |st| {
                let v = u64::from(st == now);
                (
                    [
                        ("port", port.clone()),
                        ("peer", addr.clone()),
                        ("state", st),
                    ],
                    gauge(v),
                )
            })
        });
        family::<Labels3, _>(
            e,
            "peer_state",
            "BGP session state of the peer as bgpd reports it (1 for the current state)",
            None,
            states,
        )?;
        let pair = |port: String, addr: String| -> Labels2 { [("port", port), ("peer", addr)] };
        family(
            e,
            "peer_uptime",
            "How long the established BGP session has been up",
            Some(&Unit::Seconds),
            peers().filter_map(|(port, addr, peer)| {
                let up = state_name(&peer.state) == "Established";
                peer.uptime_secs
                    .filter(|_| up)
                    .map(|s| (pair(port, addr), gauge(s)))
            }),
        )?;
        family(
            e,
            "peer_prefixes_accepted",
            "Prefixes received from the peer and accepted (bgpd's pfxRcd, all address families)",
            None,
            peers().filter_map(|(port, addr, peer)| {
                peer.prefixes_received.map(|n| (pair(port, addr), gauge(n)))
            }),
        )?;
        family(
            e,
            "peer_prefixes_sent",
            "Prefixes advertised to the peer (bgpd's pfxSnt, all address families)",
            None,
            peers().filter_map(|(port, addr, peer)| {
                peer.prefixes_sent.map(|n| (pair(port, addr), gauge(n)))
            }),
        )?;
        family(
            e,
            "peer_routes_refused",
            "Route adds through the peer the zebra server refused because the port's cap was reached",
            None,
            peers().map(|(port, addr, peer)| (pair(port, addr), counter(peer.routes_refused))),
        )?;
        family(
            e,
            "peer_session_resets",
            "Resets of the peer's BGP session (Established, then not: seen at a status read, as an uptime shorter than the time since the last read, or when bgpd went away)",
            None,
            peers().map(|(port, addr, peer)| (pair(port, addr), counter(peer.session_resets))),
        )?;
        Ok(())
    }
}

/// How long a scrape waits for the controller's status before answering 503.
pub const SNAPSHOT_TIMEOUT: Duration = Duration::from_secs(10);
