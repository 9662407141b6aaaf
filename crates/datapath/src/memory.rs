//! The in-memory backend: keeps flow groups in a map and evaluates packets against them, so the
//! routing logic can be tested without a kernel.

use std::collections::BTreeMap;
use std::sync::{Mutex, MutexGuard};

use crate::flow::{Action, Flow, PortRef};
use crate::packet::{Packet, PacketError};
use crate::{check_flows, Datapath, DatapathError, DatapathFuture, FlowStats, InstallReport};

#[derive(Debug, Clone)]
struct Entry {
    flow: Flow,
    packets: u64,
    bytes: u64,
}

/// What the datapath does with a packet.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// A flow redirected the packet to this port.
    Redirect {
        /// The port.
        to: PortRef,
        /// The group of the flow that matched.
        group: String,
    },
    /// A flow dropped the packet.
    Drop {
        /// The group of the flow that matched.
        group: String,
    },
    /// No flow matched: the packet continues on its normal path.
    Continue,
}

/// An in-memory [`Datapath`]: groups are evaluated in name order, flows within a group in the
/// order they were installed, and the first match wins (tc evaluates lower priorities first, and
/// this backend's flows never overlap in `bgp_flows`, so the order only matters for hand-made
/// overlapping sets).
#[derive(Debug, Default)]
pub struct MemoryDatapath {
    groups: Mutex<BTreeMap<String, Vec<Entry>>>,
}

impl MemoryDatapath {
    /// An empty datapath.
    pub fn new() -> MemoryDatapath {
        MemoryDatapath::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, Vec<Entry>>> {
        // A poisoned lock only means a panic elsewhere; the map itself is always consistent.
        self.groups.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Names of the groups that hold at least one flow.
    pub fn groups(&self) -> Vec<String> {
        self.lock().keys().cloned().collect()
    }

    /// Replaces a group's flows, keeping the counters of flows that stay. Synchronous form of
    /// [`Datapath::install`].
    pub fn install_sync(
        &self,
        group: &str,
        flows: &[Flow],
    ) -> Result<InstallReport, DatapathError> {
        let flows = check_flows(flows)?;
        let mut groups = self.lock();
        let old = groups.remove(group).unwrap_or_default();
        let mut report = InstallReport::default();
        let mut new = Vec::with_capacity(flows.len());
        for flow in flows {
            match old.iter().find(|e| e.flow == flow) {
                Some(e) => {
                    report.unchanged += 1;
                    new.push(e.clone());
                }
                None => {
                    report.added += 1;
                    new.push(Entry {
                        flow,
                        packets: 0,
                        bytes: 0,
                    });
                }
            }
        }
        report.removed = old
            .iter()
            .filter(|e| !new.iter().any(|n| n.flow == e.flow))
            .count();
        if !new.is_empty() {
            groups.insert(group.to_string(), new);
        }
        Ok(report)
    }

    /// Runs a packet through the flows, counting it on the flow that matches.
    pub fn process(&self, packet: &Packet) -> Verdict {
        let mut groups = self.lock();
        for (name, entries) in groups.iter_mut() {
            for e in entries.iter_mut() {
                if e.flow.in_port == packet.in_port && e.flow.matches.matches(packet) {
                    e.packets += 1;
                    e.bytes += packet.len as u64;
                    return match &e.flow.action {
                        Action::Redirect { to } => Verdict::Redirect {
                            to: to.clone(),
                            group: name.clone(),
                        },
                        Action::Drop => Verdict::Drop {
                            group: name.clone(),
                        },
                    };
                }
            }
        }
        Verdict::Continue
    }

    /// Parses an Ethernet frame arriving on `in_port` and runs it through the flows.
    pub fn process_frame(&self, in_port: &str, frame: &[u8]) -> Result<Verdict, PacketError> {
        Ok(self.process(&Packet::parse_ethernet(in_port, frame)?))
    }

    fn stats(&self, group: &str) -> Vec<FlowStats> {
        self.lock()
            .get(group)
            .map(|v| {
                v.iter()
                    .map(|e| FlowStats {
                        flow: e.flow.clone(),
                        packets: e.packets,
                        bytes: e.bytes,
                    })
                    .collect()
            })
            .unwrap_or_default()
    }
}

impl Datapath for MemoryDatapath {
    fn install<'a>(
        &'a self,
        group: &'a str,
        flows: &'a [Flow],
    ) -> DatapathFuture<'a, InstallReport> {
        Box::pin(async move { self.install_sync(group, flows) })
    }

    fn remove<'a>(&'a self, group: &'a str) -> DatapathFuture<'a, ()> {
        Box::pin(async move {
            self.lock().remove(group);
            Ok(())
        })
    }

    fn list<'a>(&'a self, group: &'a str) -> DatapathFuture<'a, Vec<Flow>> {
        Box::pin(async move { Ok(self.stats(group).into_iter().map(|s| s.flow).collect()) })
    }

    fn counters<'a>(&'a self, group: &'a str) -> DatapathFuture<'a, Vec<FlowStats>> {
        Box::pin(async move { Ok(self.stats(group)) })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bgp_flows;
    use std::net::IpAddr;

    fn ip(s: &str) -> IpAddr {
        s.parse().unwrap()
    }

    #[test]
    fn totals_of_absurd_kernel_counters_saturate() {
        let flows = bgp_flows("up", "bgp", &[ip("192.0.2.1")], &[ip("192.0.2.2")]);
        let stats: Vec<crate::FlowStats> = flows
            .iter()
            .take(2)
            .map(|f| crate::FlowStats {
                flow: f.clone(),
                packets: u64::MAX,
                bytes: u64::MAX - 1,
            })
            .collect();
        assert_eq!(crate::total(&stats), (u64::MAX, u64::MAX));
        assert_eq!(crate::total(&stats[..1]), (u64::MAX, u64::MAX - 1));
    }

    #[tokio::test]
    async fn install_diff_counters_and_remove() {
        let dp = MemoryDatapath::new();
        let flows = bgp_flows("up", "bgp", &[ip("192.0.2.1")], &[ip("192.0.2.2")]);
        let r = dp.install("port1", &flows).await.unwrap();
        assert_eq!(
            r,
            InstallReport {
                added: 10,
                removed: 0,
                unchanged: 0
            }
        );
        // Idempotent.
        let r = dp.install("port1", &flows).await.unwrap();
        assert_eq!(
            r,
            InstallReport {
                added: 0,
                removed: 0,
                unchanged: 10
            }
        );

        let syn = Packet::tcp("up", (ip("192.0.2.2"), 40000), (ip("192.0.2.1"), 179), 74);
        assert_eq!(
            dp.process(&syn),
            Verdict::Redirect {
                to: "bgp".into(),
                group: "port1".into()
            }
        );
        let other = Packet::tcp("up", (ip("192.0.2.2"), 40000), (ip("192.0.2.1"), 80), 74);
        assert_eq!(dp.process(&other), Verdict::Continue);
        let c = dp.counters("port1").await.unwrap();
        assert_eq!(c.iter().map(|s| s.packets).sum::<u64>(), 1);
        assert_eq!(c.iter().map(|s| s.bytes).sum::<u64>(), 74);

        // Adding a peer adds only its flows; counters of kept flows survive.
        let more = bgp_flows(
            "up",
            "bgp",
            &[ip("192.0.2.1")],
            &[ip("192.0.2.2"), ip("192.0.2.3")],
        );
        let r = dp.install("port1", &more).await.unwrap();
        assert_eq!(
            r,
            InstallReport {
                added: 10,
                removed: 0,
                unchanged: 10
            }
        );
        assert_eq!(
            dp.counters("port1")
                .await
                .unwrap()
                .iter()
                .map(|s| s.packets)
                .sum::<u64>(),
            1
        );
        let r = dp.install("port1", &flows).await.unwrap();
        assert_eq!(
            r,
            InstallReport {
                added: 0,
                removed: 10,
                unchanged: 10
            }
        );

        dp.remove("port1").await.unwrap();
        assert!(dp.list("port1").await.unwrap().is_empty());
        assert_eq!(dp.process(&syn), Verdict::Continue);
        assert!(dp.groups().is_empty());
    }

    #[tokio::test]
    async fn invalid_flows_are_rejected_with_their_index() {
        let dp = MemoryDatapath::new();
        let good = Flow::new("up", Action::Drop);
        let bad = Flow::redirect("up", "bgp").dst_port(179);
        let err = dp.install("g", &[good, bad]).await.unwrap_err();
        assert!(
            matches!(err, DatapathError::InvalidFlow { index: 1, .. }),
            "{err}"
        );
    }

    #[test]
    fn drop_flows_drop() {
        let dp = MemoryDatapath::new();
        dp.install_sync("g", &[Flow::new("up", Action::Drop)])
            .unwrap();
        let p = Packet::new("up", 0x88b5, 60);
        assert_eq!(dp.process(&p), Verdict::Drop { group: "g".into() });
        assert_eq!(
            dp.process(&Packet::new("other", 0x88b5, 60)),
            Verdict::Continue
        );
    }
}
