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

use std::collections::HashMap;

use ipnetwork::IpNetwork;

use crate::intern::{Interner, SetId};
use crate::objects::Objects;
use crate::prefix_list::PrefixList;
use crate::prefix_map::PrefixMap;
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
    /// The nexthop object the route is written with (`RTA_NH_ID`; see [`crate::objects`]);
    /// `None`: the next hops are written inline.
    pub object: Option<u32>,
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
    pub refused: usize,
    /// The first [`FlushReport::KEPT_FAILURES`] of them, each with its route and the kernel's
    /// answer (a full table refused through a link that is down is a million failures: their
    /// count is kept, not a message for each).
    pub failures: Vec<RouteFailure>,
}

impl FlushReport {
    /// Most failures kept in [`FlushReport::failures`].
    pub const KEPT_FAILURES: usize = 64;

    /// Counts a refused operation (and keeps it if fewer than
    /// [`FlushReport::KEPT_FAILURES`] are kept).
    pub fn refuse(&mut self, failure: RouteFailure) {
        self.refused += 1;
        if self.failures.len() < FlushReport::KEPT_FAILURES {
            self.failures.push(failure);
        }
    }

    /// Adds `other` to this report.
    pub fn merge(&mut self, other: FlushReport) {
        self.created += other.created;
        self.replaced += other.replaced;
        self.deleted += other.deleted;
        self.kept += other.kept;
        self.refused += other.refused;
        let room = FlushReport::KEPT_FAILURES.saturating_sub(self.failures.len());
        self.failures.extend(other.failures.into_iter().take(room));
    }

    /// Number of successful kernel operations.
    pub fn operations(&self) -> usize {
        self.created + self.replaced + self.deleted
    }
}

/// The prefix is in the kernel from before a reconciliation and not re-learned yet.
const STALE: u8 = 1;
/// The prefix has a change not planned yet (in `Entry::wanted`).
const PENDING: u8 = 2;
/// Found by the dump of a [`Planner::resync`] (only during it).
const FOUND: u8 = 4;
/// The installed route points at the nexthop object of its set (counted in its refs).
const OBJECT: u8 = 8;

/// Order buffers larger than this are given back once drained.
const ORDER_KEEP: usize = 1 << 14;

/// What the planner holds of one prefix: the next hops of ours in the kernel, the pending
/// change, and flags — 12 bytes (20 with an IPv4 key), one entry for both the installed and
/// the wanted state.
#[derive(Debug, Clone, Copy, Default)]
struct Entry {
    installed: Option<SetId>,
    wanted: Option<SetId>,
    flags: u8,
}

impl Entry {
    fn pending(&self) -> bool {
        self.flags & PENDING != 0
    }

    fn stale(&self) -> bool {
        self.flags & STALE != 0
    }

    /// Holds nothing (neither installed nor pending): the prefix can be forgotten.
    fn empty(&self) -> bool {
        self.installed.is_none() && !self.pending()
    }
}

/// Sans-I/O planner of the FIB writer (see the module documentation).
#[derive(Debug, Default)]
pub struct Planner {
    routes: PrefixMap<Entry>,
    sets: Interner<NextHop>,
    order: PrefixList,
    next: usize,
    failed: HashMap<IpNetwork, NextHops>,
    installed: usize,
    pending: usize,
    reconciling: bool,
    objects: Objects,
}

/// Makes `e`, the entry of `prefix`, want `want`: a change already pending is superseded (its
/// wanted set released), otherwise the prefix joins the queue (`order`, counted in `pending`).
/// The body shared by every way of queueing a change (the planner's fields are borrowed
/// separately, so callers may hold `e` from an iteration over the routes).
fn mark_pending(
    e: &mut Entry,
    prefix: IpNetwork,
    want: Option<SetId>,
    sets: &mut Interner<NextHop>,
    pending: &mut usize,
    order: &mut PrefixList,
) {
    if e.pending() {
        if let Some(old) = e.wanted.take() {
            sets.release(old);
        }
    } else {
        e.flags |= PENDING;
        *pending += 1;
        order.push(prefix);
    }
    e.wanted = want;
}

/// Makes `set` the installed set of `e`, the route pointing at its set's nexthop object when
/// `object`. The route's reference to the object of the set it replaces is dropped; the
/// replaced set is returned with its reference, for the caller to release or reuse.
fn put_installed(
    e: &mut Entry,
    set: SetId,
    object: bool,
    sets: &Interner<NextHop>,
    objects: &mut Objects,
    installed: &mut usize,
) -> Option<SetId> {
    let had_object = e.flags & OBJECT != 0;
    if object {
        e.flags |= OBJECT;
    } else {
        e.flags &= !OBJECT;
    }
    let old = e.installed.replace(set);
    match old {
        Some(old) if had_object => {
            if let Some(hops) = sets.get(old) {
                objects.release(hops);
            }
        }
        Some(_) => {}
        None => *installed += 1,
    }
    old
}

/// `hops` sorted and without duplicates.
fn canonical_hops(mut hops: Vec<NextHop>) -> Vec<NextHop> {
    hops.sort_unstable();
    hops.dedup();
    hops
}

impl Planner {
    /// An empty planner: nothing installed, nothing pending, every route written inline.
    pub fn new() -> Planner {
        Planner::default()
    }

    /// An empty planner whose routes are written with the nexthop objects of `objects` where
    /// the kernel can hold their sets as objects.
    pub fn with_objects(objects: Objects) -> Planner {
        Planner {
            objects,
            ..Planner::default()
        }
    }

    /// The nexthop objects (see [`crate::objects`]).
    pub fn objects(&self) -> &Objects {
        &self.objects
    }

    /// The nexthop objects, for the writer that creates and deletes them.
    pub fn objects_mut(&mut self) -> &mut Objects {
        &mut self.objects
    }

    fn queue(&mut self, prefix: IpNetwork, want: Option<SetId>) {
        let e = self.routes.get_or_insert_with(prefix, Entry::default);
        mark_pending(
            e,
            prefix,
            want,
            &mut self.sets,
            &mut self.pending,
            &mut self.order,
        );
    }

    fn is_pending(&self, prefix: &IpNetwork) -> bool {
        self.routes.get(prefix).is_some_and(Entry::pending)
    }

    /// Wants `prefix` routed through exactly `hops` (an empty set withdraws it).
    pub fn replace(&mut self, prefix: IpNetwork, hops: Vec<NextHop>) {
        let prefix = canonical(prefix);
        if hops.is_empty() {
            return self.withdraw(prefix);
        }
        // (`None` only with 2^32 - 1 distinct next-hop sets live at once.)
        if let Some(set) = self.sets.acquire(&canonical_hops(hops)) {
            self.queue(prefix, Some(set));
        }
    }

    /// Wants no route of ours for `prefix`.
    pub fn withdraw(&mut self, prefix: IpNetwork) {
        let prefix = canonical(prefix);
        self.failed.remove(&prefix);
        self.queue(prefix, None);
    }

    /// Wants none of our routes any more (every installed one is deleted by the next flushes).
    pub fn withdraw_all(&mut self) {
        for (prefix, e) in self.routes.iter_mut() {
            if e.installed.is_some() {
                mark_pending(
                    e,
                    prefix,
                    None,
                    &mut self.sets,
                    &mut self.pending,
                    &mut self.order,
                );
            }
        }
        self.failed.clear();
    }

    /// Sets `prefix`'s installed next hops to `hops` (as found in the kernel, pointing at
    /// nexthop object `object` if any); returns its entry.
    fn set_found(
        &mut self,
        prefix: IpNetwork,
        hops: &[NextHop],
        object: Option<u32>,
    ) -> Option<&mut Entry> {
        let set = self.sets.acquire(&canonical_hops(hops.to_vec()))?;
        let uses_object = match (object, self.sets.get(set)) {
            (Some(id), Some(shared)) => self.objects.adopt(shared, id),
            _ => false,
        };
        let e = self.routes.get_or_insert_with(prefix, Entry::default);
        let old = put_installed(
            e,
            set,
            uses_object,
            &self.sets,
            &mut self.objects,
            &mut self.installed,
        );
        if let Some(old) = old {
            self.sets.release(old);
        }
        Some(e)
    }

    /// Starts a reconciliation: `found` are the routes of ours the kernel holds (from a dump).
    /// They, and every route already installed, are stale until re-learned or until
    /// [`Planner::end_reconcile`].
    pub fn begin_reconcile(&mut self, found: impl IntoIterator<Item = FibRoute>) {
        self.begin_reconcile_found(found.into_iter().map(|r| (r, None)));
    }

    /// [`Planner::begin_reconcile`] with, for each route found, the nexthop object it points at
    /// (adopted as its set's object, see [`Objects::adopt`]).
    pub fn begin_reconcile_found(
        &mut self,
        found: impl IntoIterator<Item = (FibRoute, Option<u32>)>,
    ) {
        self.reconciling = true;
        for e in self.routes.values_mut() {
            if e.installed.is_some() {
                e.flags |= STALE;
            }
        }
        for (route, object) in found {
            if let Some(e) = self.set_found(canonical(route.prefix), &route.next_hops, object) {
                e.flags |= STALE;
            }
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
        let mut n = 0;
        for (prefix, e) in self.routes.iter_mut() {
            if !e.stale() {
                continue;
            }
            e.flags &= !STALE;
            if e.pending() && e.wanted.is_some() {
                continue;
            }
            n += 1;
            mark_pending(
                e,
                prefix,
                None,
                &mut self.sets,
                &mut self.pending,
                &mut self.order,
            );
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
        self.routes.values().filter(|e| e.stale()).count()
    }

    /// Number of prefixes with a change not yet planned.
    pub fn pending(&self) -> usize {
        self.pending
    }

    /// Number of routes of ours in the kernel.
    pub fn installed_len(&self) -> usize {
        self.installed
    }

    /// The next hops installed for `prefix`.
    pub fn installed(&self, prefix: &IpNetwork) -> Option<&NextHops> {
        let set = self.routes.get(&canonical(*prefix))?.installed?;
        self.sets.get(set)
    }

    /// Every route of ours in the kernel.
    pub fn routes(&self) -> impl Iterator<Item = FibRoute> + '_ {
        self.routes.iter().filter_map(|(prefix, e)| {
            Some(FibRoute {
                prefix,
                next_hops: self.sets.get(e.installed?)?.clone(),
            })
        })
    }

    /// Wanted routes the kernel refused (they are retried by [`Planner::retry_failed`]).
    pub fn failed(&self) -> impl Iterator<Item = (&IpNetwork, &NextHops)> {
        self.failed.iter()
    }

    /// Gives back the memory of the refused routes' map once it holds far fewer than it did (a
    /// full table refused through a link that was down, then withdrawn or installed).
    pub fn trim(&mut self) {
        let (len, capacity) = (self.failed.len(), self.failed.capacity());
        if capacity > 1024 && len < capacity / 4 {
            self.failed.shrink_to(len * 2);
        }
    }

    /// Queues every refused route again (e.g. after an interface came up). Returns how many.
    pub fn retry_failed(&mut self) -> usize {
        self.objects.retry_refused();
        let failed: Vec<(IpNetwork, NextHops)> = self.failed.drain().collect();
        let n = failed.len();
        for (prefix, hops) in failed {
            if !self.is_pending(&prefix) {
                if let Some(set) = self.sets.acquire(&hops) {
                    self.queue(prefix, Some(set));
                }
            }
        }
        n
    }

    /// Replaces what the planner believes installed by `found` (a fresh dump), after an
    /// exchange whose outcome is unknown. Stale marks of routes still found are kept.
    pub fn resync(&mut self, found: impl IntoIterator<Item = FibRoute>) {
        self.resync_found(found.into_iter().map(|r| (r, None)));
    }

    /// [`Planner::resync`] with, for each route found, the nexthop object it points at.
    pub fn resync_found(&mut self, found: impl IntoIterator<Item = (FibRoute, Option<u32>)>) {
        // Every reference is counted again from what the kernel holds.
        self.objects.clear_refs();
        for e in self.routes.values_mut() {
            e.flags &= !OBJECT;
        }
        for (route, object) in found {
            if let Some(e) = self.set_found(canonical(route.prefix), &route.next_hops, object) {
                e.flags |= FOUND;
            }
        }
        let mut installed = 0;
        for e in self.routes.values_mut() {
            if e.flags & FOUND != 0 {
                e.flags &= !FOUND;
                installed += 1;
            } else if let Some(old) = e.installed.take() {
                self.sets.release(old);
                e.flags &= !STALE;
            }
        }
        self.installed = installed;
        self.routes.retain(|e| !e.empty());
    }

    /// Brings what the planner believes installed in line with `found` (a fresh dump, with each
    /// route's nexthop object) after the kernel may have removed routes of ours on its own (a
    /// link went down, see [`crate::watch`]): every route it dropped or holds differently is
    /// queued again as it was; a route of ours it holds that nothing wants is queued for
    /// deletion (kept stale during a reconciliation). Pending changes stay pending; routes
    /// found at start and not re-learned are only forgotten when gone. Returns how many routes
    /// were queued.
    pub fn restore_found(
        &mut self,
        found: impl IntoIterator<Item = (FibRoute, Option<u32>)>,
    ) -> usize {
        self.objects.clear_refs();
        for e in self.routes.values_mut() {
            e.flags &= !OBJECT;
        }
        let mut again: Vec<(IpNetwork, Option<SetId>)> = Vec::new();
        for (route, object) in found {
            let prefix = canonical(route.prefix);
            let Some(set) = self.sets.acquire(&canonical_hops(route.next_hops.to_vec())) else {
                continue;
            };
            let uses_object = match (object, self.sets.get(set)) {
                (Some(id), Some(shared)) => self.objects.adopt(shared, id),
                _ => false,
            };
            let e = self.routes.get_or_insert_with(prefix, Entry::default);
            e.flags |= FOUND;
            let old = put_installed(
                e,
                set,
                uses_object,
                &self.sets,
                &mut self.objects,
                &mut self.installed,
            );
            let owned = !e.pending() && !e.stale();
            match old {
                Some(old) if old != set && owned => again.push((prefix, Some(old))),
                Some(old) => self.sets.release(old),
                None if e.pending() => {}
                None if self.reconciling => e.flags |= STALE,
                None => again.push((prefix, None)),
            }
        }
        for (prefix, e) in self.routes.iter_mut() {
            if e.flags & FOUND != 0 {
                e.flags &= !FOUND;
                continue;
            }
            let Some(old) = e.installed.take() else {
                continue;
            };
            self.installed = self.installed.saturating_sub(1);
            if e.pending() || e.stale() {
                self.sets.release(old);
            } else {
                again.push((prefix, Some(old)));
            }
            e.flags &= !STALE;
        }
        let n = again.len();
        for (prefix, want) in again {
            self.queue(prefix, want);
        }
        self.routes.retain(|e| !e.empty());
        n
    }

    /// Whether routes of ours may leave through interface `ifindex`: a next-hop set held
    /// names it, or has a hop whose interface the kernel chooses.
    pub fn may_use_ifindex(&self, ifindex: u32) -> bool {
        self.sets
            .sets()
            .any(|s| s.iter().any(|h| h.ifindex.is_none_or(|i| i == ifindex)))
    }

    /// Queues the changes of `ops` again (their exchange failed), unless a newer change of the
    /// same prefix is already queued.
    pub fn requeue(&mut self, ops: Vec<Op>) {
        for op in ops {
            if op.object.is_some() {
                self.objects.settle(&op.next_hops, false);
            }
            if self.is_pending(&op.prefix) {
                continue;
            }
            let want = match op.kind {
                OpKind::Create | OpKind::Replace => match self.sets.acquire(&op.next_hops) {
                    Some(set) => Some(set),
                    None => continue,
                },
                OpKind::Delete => None,
            };
            self.queue(op.prefix, want);
        }
    }

    /// Whether `e` is a pending deletion (wanted: nothing; installed: something).
    fn deleting(e: &Entry) -> bool {
        e.pending() && e.wanted.is_none() && e.installed.is_some()
    }

    /// Puts the pending deletions ahead of the other pending changes, highest prefix first
    /// (the other changes keep the order in which their prefixes were first changed).
    ///
    /// The order is the kernel's: IPv4 keeps a table's routes in a trie whose nodes, once a
    /// block of prefixes is dense, index their children one bit below the prefixes' own
    /// (every other slot empty), and after each deletion there it scans the node's children
    /// from the lowest for the longest suffix left. Deleting a block from its lowest prefix
    /// up makes every scan walk over the slots already emptied — quadratic in the block, about
    /// 400 µs a route for a full table withdrawn in the order it was learned — while deleting
    /// from the highest prefix down finds a child at once (see docs/benchmarks.md, "The kernel
    /// sink alone", and `scripts/fib-floor.sh`).
    fn arrange(&mut self) {
        let routes = &self.routes;
        self.order
            .move_to_tail_front(self.next, |p| routes.get(&p).is_some_and(Planner::deleting));
    }

    /// Turns up to `max` pending changes into operations: the deletions first, highest prefix
    /// first (the order the kernel deletes fastest, see `Planner::arrange`), then the other
    /// changes in the order their prefixes were first changed. Changes that need no kernel
    /// operation (a stale route re-learned unchanged) are applied at once and counted in
    /// `report.kept`.
    pub fn plan(&mut self, max: usize, report: &mut FlushReport) -> Vec<Op> {
        if self.next == 0 {
            // The first batch of a flush (every earlier one was planned to the end).
            self.arrange();
        }
        let mut ops = Vec::new();
        while ops.len() < max {
            let Some(prefix) = self.order.get(self.next) else {
                break;
            };
            self.next += 1;
            let Some(e) = self.routes.get_mut(&prefix) else {
                continue;
            };
            if !e.pending() {
                continue;
            }
            e.flags &= !PENDING;
            self.pending = self.pending.saturating_sub(1);
            let want = e.wanted.take();
            let objects = &mut self.objects;
            let mut op = |kind, set| {
                let next_hops = self.sets.get(set)?.clone();
                let object = match kind {
                    OpKind::Delete => None,
                    OpKind::Create | OpKind::Replace => objects.assign(&prefix, &next_hops),
                };
                Some(Op {
                    kind,
                    prefix,
                    next_hops,
                    object,
                })
            };
            match (want, e.installed) {
                (Some(w), None) => {
                    ops.extend(op(OpKind::Create, w));
                    self.sets.release(w);
                }
                (Some(w), Some(have)) if w == have => {
                    if e.stale() {
                        e.flags &= !STALE;
                        report.kept += 1;
                    }
                    self.failed.remove(&prefix);
                    self.sets.release(w);
                }
                (Some(w), Some(_)) => {
                    ops.extend(op(OpKind::Replace, w));
                    self.sets.release(w);
                }
                (None, Some(have)) => ops.extend(op(OpKind::Delete, have)),
                (None, None) => {
                    self.routes.remove(&prefix);
                }
            }
        }
        if self.next >= self.order.len() {
            self.order.clear(ORDER_KEEP);
            self.next = 0;
        }
        ops
    }

    /// Forgets the installed route of `prefix` (deleted from the kernel).
    fn uninstall(&mut self, prefix: &IpNetwork) {
        let Some(e) = self.routes.get_mut(prefix) else {
            return;
        };
        if let Some(old) = e.installed.take() {
            if e.flags & OBJECT != 0 {
                if let Some(hops) = self.sets.get(old) {
                    self.objects.release(hops);
                }
            }
            self.sets.release(old);
            self.installed = self.installed.saturating_sub(1);
        }
        e.flags &= !(STALE | OBJECT);
        if e.empty() {
            self.routes.remove(prefix);
        }
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
                if op.object.is_some() {
                    self.objects.settle(&op.next_hops, true);
                }
                let set = self.sets.acquire(&op.next_hops)?;
                let e = self.routes.get_or_insert_with(op.prefix, Entry::default);
                e.flags &= !STALE;
                let old = put_installed(
                    e,
                    set,
                    op.object.is_some(),
                    &self.sets,
                    &mut self.objects,
                    &mut self.installed,
                );
                if let Some(old) = old {
                    self.sets.release(old);
                }
                None
            }
            (OpKind::Delete, Ok(())) => {
                report.deleted += 1;
                self.uninstall(&op.prefix);
                None
            }
            (OpKind::Delete, Err(e)) if e == libc::ESRCH || e == libc::ENOENT => {
                // Already gone (an operator deleted it): the wanted state holds.
                self.uninstall(&op.prefix);
                None
            }
            (OpKind::Create | OpKind::Replace, Err(errno)) => {
                if op.object.is_some() {
                    self.objects.settle(&op.next_hops, false);
                }
                let failure = RouteFailure::new(&op, errno);
                if self.routes.get(&op.prefix).is_some_and(Entry::empty) {
                    self.routes.remove(&op.prefix);
                }
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
