//! What a host in cluster mode (`run --store`) reports of its membership, kept by the cluster
//! main loop where each event happens and rendered with the other metrics.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, MutexGuard};

use prometheus_client::encoding::{DescriptorEncoder, EncodeMetric};
use prometheus_client::metrics::info::Info;
use prometheus_client::metrics::MetricType;
use serde::{Deserialize, Serialize};

use super::{counter, family, gauge, label_value};

/// A cluster host's membership as `status` and the metrics show it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ClusterStatus {
    /// This host's id (`--host-id`).
    pub host_id: String,
    /// Whether the host is fenced now: its store session is in doubt (disconnected longer than
    /// the fencing delay) or ended, and it runs no port until a session is back.
    pub fenced: bool,
    /// The ports this host leads (and runs), by name.
    pub ports_led: Vec<String>,
    /// Assignments received from the store (leadership gained or lost, configuration or
    /// announcement changes, fencing and its end).
    pub assignment_changes: u64,
    /// Times the host became fenced.
    pub fencings: u64,
    /// Route changes (a prefix replaced or withdrawn, or a port's whole table cleared) handed
    /// to the store publisher, by port.
    pub route_changes_published: BTreeMap<String, u64>,
    /// Publications refused because the cluster member had stopped.
    pub publish_failures: u64,
}

/// The [`ClusterStatus`] shared by the main loop and the route sink (which publishes from the
/// port actors). Cheap to clone.
#[derive(Debug, Clone, Default)]
pub struct ClusterCounters(Arc<Mutex<ClusterStatus>>);

impl ClusterCounters {
    /// The counters of host `host_id`, nothing counted yet.
    pub fn new(host_id: &str) -> ClusterCounters {
        ClusterCounters(Arc::new(Mutex::new(ClusterStatus {
            host_id: host_id.to_string(),
            ..ClusterStatus::default()
        })))
    }

    fn lock(&self) -> MutexGuard<'_, ClusterStatus> {
        self.0.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// An assignment arrived: the host is `fenced` (or not) and leads `ports`.
    pub fn assignment(&self, fenced: bool, ports: Vec<String>) {
        let mut s = self.lock();
        s.assignment_changes = s.assignment_changes.saturating_add(1);
        if fenced && !s.fenced {
            s.fencings = s.fencings.saturating_add(1);
        }
        s.fenced = fenced;
        s.ports_led = ports;
    }

    /// `n` route changes of `port` went to the publisher (`ok`) or were refused.
    pub fn published(&self, port: &str, n: usize, ok: bool) {
        let mut s = self.lock();
        if ok {
            let c = s
                .route_changes_published
                .entry(port.to_string())
                .or_insert(0);
            *c = c.saturating_add(u64::try_from(n).unwrap_or(u64::MAX));
        } else {
            s.publish_failures = s.publish_failures.saturating_add(1);
        }
    }

    /// The current values.
    pub fn status(&self) -> ClusterStatus {
        self.lock().clone()
    }
}

/// Writes one family with a single sample without labels.
fn single<M>(
    e: &mut DescriptorEncoder,
    name: &str,
    help: &str,
    metric: M,
) -> Result<(), std::fmt::Error>
where
    M: EncodeMetric + prometheus_client::metrics::TypedMetric,
{
    metric.encode(e.encode_descriptor(name, help, None, M::TYPE)?)
}

/// Writes the cluster families of `s`.
pub(super) fn encode(s: &ClusterStatus, e: &mut DescriptorEncoder) -> Result<(), std::fmt::Error> {
    let m = e.encode_descriptor(
        "cluster_member",
        "This controller runs in cluster mode (run --store) as the host named by the label",
        None,
        MetricType::Info,
    )?;
    Info::new([("host", label_value(&s.host_id))]).encode(m)?;
    single(
        e,
        "cluster_fenced",
        "1 while the host is fenced: its store session is in doubt or ended, and it runs no port",
        gauge(u64::from(s.fenced)),
    )?;
    single(
        e,
        "cluster_fencings",
        "Times the host became fenced",
        counter(s.fencings),
    )?;
    single(
        e,
        "cluster_assignment_changes",
        "Assignments received from the store (leadership gained or lost, configuration changes, fencing and its end)",
        counter(s.assignment_changes),
    )?;
    single(
        e,
        "cluster_ports_led",
        "Ports this host leads (and runs)",
        gauge(u64::try_from(s.ports_led.len()).unwrap_or(u64::MAX)),
    )?;
    family(
        e,
        "cluster_port_leader",
        "1 for each port this host leads",
        None,
        s.ports_led
            .iter()
            .map(|p| ([("port", label_value(p))], gauge(1))),
    )?;
    family(
        e,
        "cluster_route_changes_published",
        "Learned-route changes (prefix replaced or withdrawn, table cleared) handed to the store publisher",
        None,
        s.route_changes_published
            .iter()
            .map(|(p, n)| ([("port", label_value(p))], counter(*n))),
    )?;
    single(
        e,
        "cluster_publish_failures",
        "Route publications refused because the cluster member had stopped",
        counter(s.publish_failures),
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn fencing_is_counted_once_per_episode() {
        let c = ClusterCounters::new("h0");
        c.assignment(false, vec!["p1".into()]);
        c.assignment(true, Vec::new());
        c.assignment(true, Vec::new());
        c.assignment(false, vec!["p1".into(), "p2".into()]);
        c.published("p1", 3, true);
        c.published("p1", 2, true);
        c.published("p2", 1, false);
        let s = c.status();
        assert_eq!(s.host_id, "h0");
        assert!(!s.fenced);
        assert_eq!(s.fencings, 1);
        assert_eq!(s.assignment_changes, 4);
        assert_eq!(s.ports_led, ["p1", "p2"]);
        assert_eq!(s.route_changes_published.get("p1"), Some(&5));
        assert_eq!(s.route_changes_published.get("p2"), None);
        assert_eq!(s.publish_failures, 1);
        let back: ClusterStatus =
            serde_json::from_value(serde_json::to_value(&s).unwrap()).unwrap();
        assert_eq!(back, s);
    }
}
