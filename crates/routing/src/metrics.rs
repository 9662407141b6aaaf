//! The per-port counters a port actor keeps where its events happen (Vty batches sent and
//! failed, the last successful configuration apply, BGP session resets), reported with its
//! [`PortStatus`] and exported as metrics by the controller; and the per-kind sums of the
//! port's datapath flow counters.
//!
//! [`PortStatus`]: crate::PortStatus

use std::collections::BTreeMap;
use std::net::IpAddr;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};
use tokio::time::Instant;

use crate::types::PeerStatus;

/// What the port actor counted since the port started (counters reset when the port is
/// removed from the configuration; a rebuild keeps them).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct PortCounters {
    /// Configuration commands handed to bgpd's Vty (every command of every batch).
    pub vty_config_commands: u64,
    /// Configuration batches that failed (bgpd refused a command, or the session broke).
    pub vty_config_failures: u64,
    /// Status reads (`show bgp summary json`) sent to bgpd's Vty.
    pub vty_status_reads: u64,
    /// Status reads that failed.
    pub vty_status_failures: u64,
    /// Successful configuration applies (bootstraps and diffs).
    pub config_applies: u64,
    /// When bgpd last accepted a whole configuration batch, in seconds since the Unix epoch.
    pub config_applied_at: Option<u64>,
    /// Zebra messages received from bgpd, by command name (counted by the port's zebra
    /// server; the counts of the servers of earlier builds of the port are included).
    pub zebra_messages: BTreeMap<String, u64>,
    /// Zebra frames from bgpd that did not decode (same owner and scope).
    pub zebra_decode_errors: u64,
}

impl PortCounters {
    /// A batch of `commands` configuration commands went to bgpd and `ok` tells whether it
    /// was accepted whole.
    pub fn config_batch(&mut self, commands: usize, ok: bool) {
        self.vty_config_commands = self
            .vty_config_commands
            .saturating_add(u64::try_from(commands).unwrap_or(u64::MAX));
        if ok {
            self.config_applies = self.config_applies.saturating_add(1);
            self.config_applied_at = Some(unix_now());
        } else {
            self.vty_config_failures = self.vty_config_failures.saturating_add(1);
        }
    }

    /// Adds a zebra server's message counts (`before` + `now`, as the port's totals).
    pub fn add_zebra(&mut self, stats: &zebra_server::MessageStats) {
        for (command, n) in &stats.by_command {
            let slot = self
                .zebra_messages
                .entry((*command).to_string())
                .or_insert(0);
            *slot = slot.saturating_add(*n);
        }
        self.zebra_decode_errors = self.zebra_decode_errors.saturating_add(stats.decode_errors);
    }

    /// A status read was sent; `ok` tells whether it was answered and understood.
    pub fn status_read(&mut self, ok: bool) {
        self.vty_status_reads = self.vty_status_reads.saturating_add(1);
        if !ok {
            self.vty_status_failures = self.vty_status_failures.saturating_add(1);
        }
    }
}

/// Which way a datapath flow carries frames.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FlowDirection {
    /// From the uplink to bgpd.
    ToBgpd,
    /// From bgpd to the uplink.
    FromBgpd,
}

impl FlowDirection {
    /// Its label value (`to_bgpd`, `from_bgpd`).
    pub fn as_str(self) -> &'static str {
        match self {
            FlowDirection::ToBgpd => "to_bgpd",
            FlowDirection::FromBgpd => "from_bgpd",
        }
    }
}

/// The packet and byte counters of a port's datapath flows of one kind and direction, summed
/// (a port has one flow set per local address and peer; the kinds are few).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct FlowCounters {
    /// What the flows carry ([`datapath::FlowKind`] as text: `bgp`, `arp`, `echo`, `nd`).
    pub kind: String,
    /// Which way.
    pub direction: FlowDirection,
    /// How many flows were summed.
    pub flows: u64,
    /// Packets they matched (and redirected).
    pub packets: u64,
    /// Bytes of those packets, from the network header on (as tc counts on ingress).
    pub bytes: u64,
}

/// Sums `stats` (a port's flows as the datapath reports them) by kind and direction: a flow
/// whose in-port is `uplink` carries frames to bgpd, any other from it. Sorted by kind, then
/// direction.
pub fn sum_flows(uplink: &str, stats: &[datapath::FlowStats]) -> Vec<FlowCounters> {
    let mut sums: BTreeMap<(datapath::FlowKind, FlowDirection), (u64, u64, u64)> = BTreeMap::new();
    for s in stats {
        let direction = if s.flow.in_port == uplink {
            FlowDirection::ToBgpd
        } else {
            FlowDirection::FromBgpd
        };
        let e = sums
            .entry((datapath::FlowKind::of(&s.flow), direction))
            .or_default();
        e.0 = e.0.saturating_add(1);
        e.1 = e.1.saturating_add(s.packets);
        e.2 = e.2.saturating_add(s.bytes);
    }
    let mut out: Vec<FlowCounters> = sums
        .into_iter()
        .map(
            |((kind, direction), (flows, packets, bytes))| FlowCounters {
                kind: kind.as_str().to_string(),
                direction,
                flows,
                packets,
                bytes,
            },
        )
        .collect();
    out.sort_by(|a, b| (&a.kind, a.direction).cmp(&(&b.kind, b.direction)));
    out
}

/// How far an Established session's uptime may fall behind the time between two reads before
/// the session counts as reset in between (bgpd reports whole seconds, and a read takes time).
pub const UPTIME_SLACK: Duration = Duration::from_secs(2);

/// What the last status read showed of one peer.
#[derive(Debug, Clone, Copy)]
struct Seen {
    established: bool,
    uptime_secs: Option<u64>,
    at: Instant,
}

/// Counts BGP session resets per peer from successive status reads: a session that was
/// Established at one read and is not at the next, one that is Established at both but whose
/// uptime grew by less than the time between them (it went down and came back in between),
/// and every Established session when bgpd itself goes away. A peer missing from a read (no
/// longer configured) is forgotten, not counted.
#[derive(Debug, Clone, Default)]
pub struct SessionResets {
    last: BTreeMap<IpAddr, Seen>,
    counts: BTreeMap<IpAddr, u64>,
}

impl SessionResets {
    /// No read yet.
    pub fn new() -> SessionResets {
        SessionResets::default()
    }

    /// A status read made at `now`; returns the peers whose session reset since the last one.
    pub fn observe(&mut self, peers: &[PeerStatus], now: Instant) -> Vec<IpAddr> {
        let mut reset = Vec::new();
        for p in peers {
            let established = p.state == "Established";
            if let Some(prev) = self.last.get(&p.address) {
                let dropped = prev.established && !established;
                let flapped = prev.established
                    && established
                    && match (prev.uptime_secs, p.uptime_secs) {
                        (Some(before), Some(up)) => {
                            let elapsed = now.saturating_duration_since(prev.at);
                            Duration::from_secs(up).saturating_add(UPTIME_SLACK)
                                < Duration::from_secs(before).saturating_add(elapsed)
                        }
                        _ => false,
                    };
                if dropped || flapped {
                    reset.push(p.address);
                }
            }
            self.last.insert(
                p.address,
                Seen {
                    established,
                    uptime_secs: p.uptime_secs,
                    at: now,
                },
            );
        }
        self.last
            .retain(|a, _| peers.iter().any(|p| p.address == *a));
        self.count(&reset);
        reset
    }

    /// bgpd went away (it exited, or the port is rebuilt): every session Established at the
    /// last read is gone. Returns those peers.
    pub fn bgpd_gone(&mut self) -> Vec<IpAddr> {
        let reset: Vec<IpAddr> = self
            .last
            .iter()
            .filter(|(_, s)| s.established)
            .map(|(a, _)| *a)
            .collect();
        self.last.clear();
        self.count(&reset);
        reset
    }

    fn count(&mut self, peers: &[IpAddr]) {
        for a in peers {
            let n = self.counts.entry(*a).or_insert(0);
            *n = n.saturating_add(1);
        }
    }

    /// Resets of `peer`'s session counted so far.
    pub fn resets(&self, peer: &IpAddr) -> u64 {
        self.counts.get(peer).copied().unwrap_or(0)
    }
}

/// Seconds since the Unix epoch (0 if the clock is before it).
fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn batches_and_reads_are_counted_where_they_happen() {
        let mut c = PortCounters::default();
        assert_eq!(c.config_applied_at, None);
        c.config_batch(7, true);
        c.config_batch(2, false);
        c.status_read(true);
        c.status_read(false);
        c.status_read(true);
        assert_eq!(c.vty_config_commands, 9);
        assert_eq!(c.vty_config_failures, 1);
        assert_eq!(c.config_applies, 1);
        assert_eq!(c.vty_status_reads, 3);
        assert_eq!(c.vty_status_failures, 1);
        let at = c.config_applied_at.unwrap_or(0);
        assert!(at > 1_600_000_000, "a Unix time, got {at}");
    }

    #[test]
    fn zebra_counts_of_successive_servers_add_up() {
        let mut c = PortCounters::default();
        let mut s = zebra_server::MessageStats::default();
        s.by_command.insert("HELLO", 1);
        s.by_command.insert("ROUTE_ADD", 5);
        s.decode_errors = 1;
        c.add_zebra(&s);
        c.add_zebra(&s);
        assert_eq!(c.zebra_messages.get("HELLO"), Some(&2));
        assert_eq!(c.zebra_messages.get("ROUTE_ADD"), Some(&10));
        assert_eq!(c.zebra_decode_errors, 2);
    }

    #[test]
    fn counters_saturate_instead_of_wrapping() {
        let mut c = PortCounters {
            vty_config_commands: u64::MAX - 1,
            ..PortCounters::default()
        };
        c.config_batch(5, false);
        assert_eq!(c.vty_config_commands, u64::MAX);
    }

    #[test]
    fn old_status_without_counters_still_parses() {
        let c: PortCounters = serde_json::from_str("{}").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c, PortCounters::default());
    }

    fn peer(addr: &str, state: &str, up: Option<u64>) -> PeerStatus {
        PeerStatus {
            address: addr.parse().unwrap_or_else(|e| panic!("{e}")),
            remote_as: Some(65002),
            state: state.into(),
            uptime_secs: up,
            prefixes_received: None,
            prefixes_sent: None,
            last_reset: None,
            routes_installed: None,
            routes_refused: 0,
            session_resets: 0,
        }
    }

    #[test]
    fn a_session_that_drops_counts_once_until_it_is_back() {
        let a: IpAddr = "192.0.2.2".parse().unwrap_or_else(|e| panic!("{e}"));
        let t = Instant::now();
        let s = |secs| t + Duration::from_secs(secs);
        let mut r = SessionResets::new();
        // Coming up is no reset; neither is staying up with a growing uptime.
        assert!(r
            .observe(&[peer("192.0.2.2", "Active", Some(0))], s(0))
            .is_empty());
        assert!(r
            .observe(&[peer("192.0.2.2", "Established", Some(0))], s(1))
            .is_empty());
        assert!(r
            .observe(&[peer("192.0.2.2", "Established", Some(5))], s(6))
            .is_empty());
        // Down: one reset, however many reads it stays down.
        assert_eq!(
            r.observe(&[peer("192.0.2.2", "Idle", Some(0))], s(7)),
            vec![a]
        );
        assert!(r
            .observe(&[peer("192.0.2.2", "Connect", Some(1))], s(8))
            .is_empty());
        assert!(r
            .observe(&[peer("192.0.2.2", "Established", Some(0))], s(9))
            .is_empty());
        assert_eq!(r.resets(&a), 1);
        // Down and back between two reads: the uptime is shorter than the time since.
        assert!(r
            .observe(&[peer("192.0.2.2", "Established", Some(20))], s(29))
            .is_empty());
        assert_eq!(
            r.observe(&[peer("192.0.2.2", "Established", Some(3))], s(39)),
            vec![a]
        );
        // A slow read (uptime one second behind) is not a reset.
        assert!(r
            .observe(&[peer("192.0.2.2", "Established", Some(12))], s(49))
            .is_empty());
        assert_eq!(r.resets(&a), 2);
    }

    #[test]
    fn bgpd_going_away_resets_the_established_sessions_only() {
        let t = Instant::now();
        let mut r = SessionResets::new();
        let peers = [
            peer("192.0.2.2", "Established", Some(10)),
            peer("2001:db8::2", "Active", None),
        ];
        r.observe(&peers, t);
        assert_eq!(r.bgpd_gone().len(), 1);
        // Nothing is known after: the next bgpd's first read counts nothing.
        assert!(r.bgpd_gone().is_empty());
        assert!(r.observe(&[peer("192.0.2.2", "Idle", None)], t).is_empty());
        assert_eq!(r.resets(&peers[0].address), 1);
        assert_eq!(r.resets(&peers[1].address), 0);
    }

    #[test]
    fn a_peer_that_is_no_longer_configured_is_forgotten_not_reset() {
        let t = Instant::now();
        let mut r = SessionResets::new();
        r.observe(&[peer("192.0.2.2", "Established", Some(10))], t);
        assert!(r.observe(&[], t + Duration::from_secs(1)).is_empty());
        // Configured again and still down: no reset of the old session is made up.
        assert!(r
            .observe(
                &[peer("192.0.2.2", "Idle", None)],
                t + Duration::from_secs(2)
            )
            .is_empty());
        assert!(r.bgpd_gone().is_empty());
    }

    #[test]
    fn flows_sum_by_kind_and_direction() {
        use datapath::{bgp_flows, FlowStats};
        let local = ["192.0.2.1".parse().unwrap_or_else(|e| panic!("{e}"))];
        let peers = [
            "192.0.2.2".parse().unwrap_or_else(|e| panic!("{e}")),
            "192.0.2.3".parse().unwrap_or_else(|e| panic!("{e}")),
        ];
        let stats: Vec<FlowStats> = bgp_flows("up", "p1", &local, &peers)
            .into_iter()
            .enumerate()
            .map(|(i, flow)| FlowStats {
                flow,
                packets: i as u64,
                bytes: 100 * i as u64,
            })
            .collect();
        let sums = sum_flows("up", &stats);
        // bgp, arp, echo in both directions.
        assert_eq!(sums.len(), 6, "{sums:?}");
        assert_eq!(
            sums.iter().map(|s| s.flows).sum::<u64>(),
            stats.len() as u64
        );
        let (p, b) = datapath::total(&stats);
        assert_eq!(sums.iter().map(|s| s.packets).sum::<u64>(), p);
        assert_eq!(sums.iter().map(|s| s.bytes).sum::<u64>(), b);
        let bgp_in = sums
            .iter()
            .find(|s| s.kind == "bgp" && s.direction == FlowDirection::ToBgpd)
            .unwrap_or_else(|| panic!("{sums:?}"));
        // Two TCP flows (to and from port 179) per peer.
        assert_eq!(bgp_in.flows, 4);
        let want: u64 = stats
            .iter()
            .filter(|s| s.flow.in_port == "up" && datapath::FlowKind::of(&s.flow).as_str() == "bgp")
            .map(|s| s.packets)
            .sum();
        assert_eq!(bgp_in.packets, want);
        assert!(sum_flows("up", &[]).is_empty());
    }
}
