//! When the kernel writer recounts its stale-route gauge.
//!
//! While a reconciliation is under way (the first `reconcile_secs` after a writer opens its
//! table, 120 s by default), counting the routes found at start and not re-learned yet walks
//! every installed route. Done after every write, that is O(table) per route change: 1 ms
//! behind each change with 100,000 routes installed, and most of a full table's load again when
//! the table fills up during the window. The gauge is therefore recounted at most once per
//! [`RECOUNT_EVERY`], and always when someone waits for exact figures (`KernelSink::sync`).
//! Outside a reconciliation the count is free and taken after every write.

use std::time::{Duration, Instant};

/// Most time between two recounts of the stale gauge during a reconciliation.
pub(super) const RECOUNT_EVERY: Duration = Duration::from_secs(1);

/// The recount schedule (sans-I/O: the writer passes the clock in).
#[derive(Debug, Default)]
pub(super) struct Recount {
    /// No recount before this instant unless forced.
    next: Option<Instant>,
    /// A write happened since the last recount (the gauge may be behind).
    behind: bool,
}

impl Recount {
    /// Whether to recount after a write at `now`; `forced` when exact figures are awaited.
    pub(super) fn due(&mut self, now: Instant, forced: bool) -> bool {
        if forced || self.next.is_none_or(|next| now >= next) {
            self.next = now.checked_add(RECOUNT_EVERY);
            self.behind = false;
            true
        } else {
            self.behind = true;
            false
        }
    }

    /// When the writer must wake to bring a gauge that is behind up to date, if it is.
    pub(super) fn wake(&self) -> Option<Instant> {
        if self.behind {
            self.next
        } else {
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn recounts_at_most_once_per_period_unless_forced() {
        let t0 = Instant::now();
        let mut r = Recount::default();
        assert!(r.due(t0, false), "the first write recounts");
        assert_eq!(r.wake(), None, "nothing is behind after a recount");
        let soon = t0 + Duration::from_millis(10);
        assert!(
            !r.due(soon, false),
            "a second write within the period waits"
        );
        assert_eq!(
            r.wake(),
            Some(t0 + RECOUNT_EVERY),
            "the writer wakes to catch up"
        );
        assert!(!r.due(t0 + RECOUNT_EVERY / 2, false));
        assert!(
            r.due(t0 + RECOUNT_EVERY, false),
            "due once the period is over"
        );
        assert_eq!(r.wake(), None);
        let later = t0 + RECOUNT_EVERY + Duration::from_millis(1);
        assert!(r.due(later, true), "a waiting sync forces a recount");
        assert_eq!(r.wake(), None);
        assert!(
            !r.due(later + Duration::from_millis(1), false),
            "the period restarts"
        );
        assert_eq!(r.wake(), Some(later + RECOUNT_EVERY));
    }
}
