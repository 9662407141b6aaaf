//! The FIB writer's planning logic, without sockets: what the kernel holds of ours, what is
//! wanted, and which netlink operations bring one to the other.
//!
//! The [`Planner`] keeps two maps. *Installed* is what the kernel holds of ours (learned from
//! acknowledgements, or found at start by a dump); *pending* is the latest wanted state of every
//! prefix changed since the last [`Planner::plan`], so a prefix that flaps ten times between two
//! flushes costs one operation. [`Planner::plan`] turns pending changes into [`Op`]s and
//! [`Planner::complete`] records each operation's outcome.
//!
//! A prefix we never installed is only ever *created* (`NLM_F_EXCL`), so a route of another
//! protocol with the same key makes the creation fail instead of being overwritten; *replace*
//! is used only for routes we installed or found as ours.
//!
//! Reconciliation after a crash: [`Planner::begin_reconcile`] records the routes found in the
//! kernel as installed but *stale*; a route re-learned with the same next hops becomes fresh
//! without any kernel operation, one re-learned with other next hops is replaced, and
//! [`Planner::end_reconcile`] queues the deletion of every route still stale.

use std::collections::{HashMap, HashSet};

use ipnetwork::IpNetwork;

use crate::types::{canonical, FibRoute, NextHop, NextHops};

/// What an operation does to the kernel table.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// Install a route for a prefix we hold nothing for (fails if the key is taken).
    Create,
    /// Replace our route in place.
    Replace,
    /// Delete our route.
    Delete,
}

impl std::fmt::Display for OpKind {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            OpKind::Create => "create",
            OpKind::Replace => "replace",
            OpKind::Delete => "delete",
        })
    }
}

/// One netlink route operation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Op {
    /// What it does.
    pub kind: OpKind,
    /// The prefix.
    pub prefix: IpNetwork,
    /// The next hops installed (create/replace) or being removed (delete).
    pub next_hops: NextHops,
}

/// An operation the kernel refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{kind} {prefix}: {message} (errno {errno})")]
pub struct RouteFailure {
    /// The operation.
    pub kind: OpKind,
    /// The route it was for.
    pub prefix: IpNetwork,
    /// The kernel's errno.
    pub errno: i32,
    /// What it means.
    pub message: String,
}

impl RouteFailure {
    fn new(op: &Op, errno: i32) -> RouteFailure {
        let message = if op.kind == OpKind::Create && errno == libc::EEXIST {
            "the table already holds a route for this prefix and metric that we did not install"
                .to_string()
        } else {
            std::io::Error::from_raw_os_error(errno).to_string()
        };
        RouteFailure {
            kind: op.kind,
            prefix: op.prefix,
            errno,
            message,
        }
    }
}

/// What a flush did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Routes created.
    pub created: usize,
    /// Routes replaced in place.
    pub replaced: usize,
    /// Routes deleted.
    pub deleted: usize,
    /// Stale routes re-learned with the same next hops (kept without a kernel operation).
    pub kept: usize,
    /// Operations the kernel refused.
    pub failures: Vec<RouteFailure>,
}

impl FlushReport {
    /// Adds `other` to this report.
    pub fn merge(&mut self, other: FlushReport) {
        self.created += other.created;
        self.replaced += other.replaced;
        self.deleted += other.deleted;
        self.kept += other.kept;
        self.failures.extend(other.failures);
    }

    /// Number of successful kernel operations.
    pub fn operations(&self) -> usize {
        self.created + self.replaced + self.deleted
    }
}

#[derive(Debug, Clone)]
struct Installed {
    hops: NextHops,
    stale: bool,
}

/// Sans-I/O planner of the FIB writer (see the module documentation).
#[derive(Debug, Default)]
pub struct Planner {
    installed: HashMap<IpNetwork, Installed>,
    pending: HashMap<IpNetwork, Option<NextHops>>,
    order: Vec<IpNetwork>,
    next: usize,
    failed: HashMap<IpNetwork, NextHops>,
    interned: HashSet<NextHops>,
    reconciling: bool,
}

impl Planner {
    /// An empty planner: nothing installed, nothing pending.
    pub fn new() -> Planner {
        Planner::default()
    }

    fn intern(&mut self, mut hops: Vec<NextHop>) -> NextHops {
        // Canonical order first, so that a known set is found without allocating.
        hops.sort_unstable();
        hops.dedup();
        if let Some(known) = self.interned.get(hops.as_slice()) {
            return known.clone();
        }
        let set = crate::types::next_hops(hops);
        if self.interned.len() > 4096 {
            // Forget sets no route uses any more.
            self.interned
                .retain(|s| std::sync::Arc::strong_count(s) > 1);
        }
        self.interned.insert(set.clone());
        set
    }

    fn queue(&mut self, prefix: IpNetwork, want: Option<NextHops>) {
        if self.pending.insert(prefix, want).is_none() {
            self.order.push(prefix);
        }
    }

    /// Wants `prefix` routed through exactly `hops` (an empty set withdraws it).
    pub fn replace(&mut self, prefix: IpNetwork, hops: Vec<NextHop>) {
        let prefix = canonical(prefix);
        if hops.is_empty() {
            return self.withdraw(prefix);
        }
        let set = self.intern(hops);
        self.queue(prefix, Some(set));
    }

    /// Wants no route of ours for `prefix`.
    pub fn withdraw(&mut self, prefix: IpNetwork) {
        let prefix = canonical(prefix);
        self.failed.remove(&prefix);
        self.queue(prefix, None);
    }

    /// Wants none of our routes any more (every installed one is deleted by the next flushes).
    pub fn withdraw_all(&mut self) {
        let all: Vec<IpNetwork> = self.installed.keys().copied().collect();
        for prefix in all {
            self.queue(prefix, None);
        }
        self.failed.clear();
    }

    /// Starts a reconciliation: `found` are the routes of ours the kernel holds (from a dump).
    /// They, and every route already installed, are stale until re-learned or until
    /// [`Planner::end_reconcile`].
    pub fn begin_reconcile(&mut self, found: impl IntoIterator<Item = FibRoute>) {
        self.reconciling = true;
        for entry in self.installed.values_mut() {
            entry.stale = true;
        }
        for route in found {
            let hops = self.intern(route.next_hops.to_vec());
            self.installed
                .insert(canonical(route.prefix), Installed { hops, stale: true });
        }
    }

    /// Whether a reconciliation is under way.
    pub fn reconciling(&self) -> bool {
        self.reconciling
    }

    /// Ends the reconciliation: every route still stale (not re-learned since
    /// [`Planner::begin_reconcile`], and not wanted by a pending change) is queued for deletion.
    /// Returns how many were queued.
    pub fn end_reconcile(&mut self) -> usize {
        self.reconciling = false;
        let stale: Vec<IpNetwork> = self
            .installed
            .iter()
            .filter(|(p, e)| e.stale && !matches!(self.pending.get(*p), Some(Some(_))))
            .map(|(p, _)| *p)
            .collect();
        for entry in self.installed.values_mut() {
            entry.stale = false;
        }
        let n = stale.len();
        for prefix in stale {
            self.queue(prefix, None);
        }
        n
    }

    /// Number of installed routes still stale.
    pub fn stale(&self) -> usize {
        // Only a reconciliation marks routes stale, and its end clears every mark: outside one
        // there is nothing to count (the writer asks after every flush).
        if !self.reconciling {
            return 0;
        }
        self.installed.values().filter(|e| e.stale).count()
    }

    /// Number of prefixes with a change not yet planned.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Number of routes of ours in the kernel.
    pub fn installed_len(&self) -> usize {
        self.installed.len()
    }

    /// The next hops installed for `prefix`.
    pub fn installed(&self, prefix: &IpNetwork) -> Option<&NextHops> {
        self.installed.get(&canonical(*prefix)).map(|e| &e.hops)
    }

    /// Every route of ours in the kernel.
    pub fn routes(&self) -> impl Iterator<Item = FibRoute> + '_ {
        self.installed.iter().map(|(p, e)| FibRoute {
            prefix: *p,
            next_hops: e.hops.clone(),
        })
    }

    /// Wanted routes the kernel refused (they are retried by [`Planner::retry_failed`]).
    pub fn failed(&self) -> impl Iterator<Item = (&IpNetwork, &NextHops)> {
        self.failed.iter()
    }

    /// Queues every refused route again (e.g. after an interface came up). Returns how many.
    pub fn retry_failed(&mut self) -> usize {
        let failed: Vec<(IpNetwork, NextHops)> = self.failed.drain().collect();
        let n = failed.len();
        for (prefix, hops) in failed {
            if !self.pending.contains_key(&prefix) {
                self.queue(prefix, Some(hops));
            }
        }
        n
    }

    /// Replaces what the planner believes installed by `found` (a fresh dump), after an
    /// exchange whose outcome is unknown. Stale marks of routes still found are kept.
    pub fn resync(&mut self, found: impl IntoIterator<Item = FibRoute>) {
        let old = std::mem::take(&mut self.installed);
        for route in found {
            let prefix = canonical(route.prefix);
            let stale = old.get(&prefix).is_some_and(|e| e.stale);
            let hops = self.intern(route.next_hops.to_vec());
            self.installed.insert(prefix, Installed { hops, stale });
        }
    }

    /// Queues the changes of `ops` again (their exchange failed), unless a newer change of the
    /// same prefix is already queued.
    pub fn requeue(&mut self, ops: Vec<Op>) {
        for op in ops {
            if self.pending.contains_key(&op.prefix) {
                continue;
            }
            let want = match op.kind {
                OpKind::Create | OpKind::Replace => Some(op.next_hops),
                OpKind::Delete => None,
            };
            self.queue(op.prefix, want);
        }
    }

    /// Turns up to `max` pending changes into operations, in the order the prefixes were first
    /// changed. Changes that need no kernel operation (a stale route re-learned unchanged) are
    /// applied at once and counted in `report.kept`.
    pub fn plan(&mut self, max: usize, report: &mut FlushReport) -> Vec<Op> {
        let mut ops = Vec::new();
        while ops.len() < max && self.next < self.order.len() {
            let prefix = self.order[self.next];
            self.next += 1;
            let Some(want) = self.pending.remove(&prefix) else {
                continue;
            };
            let have = self.installed.get_mut(&prefix);
            match (want, have) {
                (Some(hops), None) => ops.push(Op {
                    kind: OpKind::Create,
                    prefix,
                    next_hops: hops,
                }),
                (Some(hops), Some(entry)) if entry.hops == hops => {
                    if entry.stale {
                        entry.stale = false;
                        report.kept += 1;
                    }
                    self.failed.remove(&prefix);
                }
                (Some(hops), Some(_)) => ops.push(Op {
                    kind: OpKind::Replace,
                    prefix,
                    next_hops: hops,
                }),
                (None, Some(entry)) => ops.push(Op {
                    kind: OpKind::Delete,
                    prefix,
                    next_hops: entry.hops.clone(),
                }),
                (None, None) => {}
            }
        }
        if self.next >= self.order.len() {
            self.order.clear();
            self.next = 0;
        }
        ops
    }

    /// Records the outcome of `op`: `Ok` or the kernel's errno. Returns the failure to report,
    /// if any.
    pub fn complete(
        &mut self,
        op: Op,
        result: Result<(), i32>,
        report: &mut FlushReport,
    ) -> Option<RouteFailure> {
        match (op.kind, result) {
            (OpKind::Create, Ok(())) | (OpKind::Replace, Ok(())) => {
                if op.kind == OpKind::Create {
                    report.created += 1;
                } else {
                    report.replaced += 1;
                }
                self.failed.remove(&op.prefix);
                self.installed.insert(
                    op.prefix,
                    Installed {
                        hops: op.next_hops,
                        stale: false,
                    },
                );
                None
            }
            (OpKind::Delete, Ok(())) => {
                report.deleted += 1;
                self.installed.remove(&op.prefix);
                None
            }
            (OpKind::Delete, Err(e)) if e == libc::ESRCH || e == libc::ENOENT => {
                // Already gone (an operator deleted it): the wanted state holds.
                self.installed.remove(&op.prefix);
                None
            }
            (OpKind::Create | OpKind::Replace, Err(errno)) => {
                let failure = RouteFailure::new(&op, errno);
                self.failed.insert(op.prefix, op.next_hops);
                Some(failure)
            }
            (OpKind::Delete, Err(errno)) => Some(RouteFailure::new(&op, errno)),
        }
    }
}

#[cfg(test)]
#[path = "plan_tests.rs"]
mod tests;
