//! The per-port counters a port actor keeps where its events happen (Vty batches sent and
//! failed, the last successful configuration apply), reported with its [`PortStatus`] and
//! exported as metrics by the controller.
//!
//! [`PortStatus`]: crate::PortStatus

use std::collections::BTreeMap;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::{Deserialize, Serialize};

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
}
