//! [`Fib`]: the planner driven over a netlink socket.

use ipnetwork::IpNetwork;

use crate::error::{FibError, Result};
use crate::objects::Objects;
use crate::plan::{FlushReport, Op, Planner};
use crate::socket::NlSocket;
use crate::types::{FibConfig, FibRoute, NextHop, NextHops, TableSpec};
use crate::watch::{LinkEvent, LinkStates, LinkWatch};
use crate::wire::{self, Marking, Reply};

/// Largest datagram of requests sent at once (well under the send buffer).
const MAX_BATCH_BYTES: usize = 256 << 10;
/// Dumps interrupted by concurrent changes are retried this many times.
const DUMP_ATTEMPTS: usize = 5;
/// Ids tried for one nexthop object before its set is written inline.
const OBJECT_ATTEMPTS: usize = 4;

/// One route of ours found in the kernel: its metric, the route, its nexthop object.
type Found = (u32, FibRoute, Option<u32>);

/// A kernel FIB writer for one routing table in one namespace.
///
/// Changes are queued with [`Fib::replace`] / [`Fib::withdraw`] and written by [`Fib::flush`],
/// many routes per `sendmsg`. Every call blocks on the kernel: drive a `Fib` from a dedicated
/// thread (or `spawn_blocking`), not from an async worker.
#[derive(Debug)]
pub struct Fib {
    sock: NlSocket,
    mark: Marking,
    batch: usize,
    planner: Planner,
    buf: Vec<u8>,
    /// Nexthop object ids the last route dump saw used by any route (any table, any protocol).
    used_objects: std::collections::BTreeSet<u32>,
    /// The namespace's name (`None`: the process's own), for [`Fib::watch_links`].
    namespace: Option<String>,
    /// What the link announcements said so far ([`Fib::link_events`]).
    links: LinkStates,
}

/// What [`Fib::link_events`] found.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct LinkOutcome {
    /// A link our routes may use went down or away: call [`Fib::restore`] once the kernel has
    /// settled. It announces a link change *before* removing the routes that go with it, and
    /// goes on removing them (a full table takes a while) while a dump may already run: restore
    /// a few hundred milliseconds after the last announcement, and once more a couple of
    /// seconds later to catch what the kernel removed after the first read.
    pub restore_due: bool,
    /// Refused routes queued again (a link came up).
    pub retried: usize,
}

impl Fib {
    /// Opens a writer: the namespace's netlink socket, and the table id (a VRF device's table is
    /// looked up). Nothing is read or written yet; see [`Fib::begin_reconcile`].
    pub fn open(config: &FibConfig) -> Result<Fib> {
        let mut sock = NlSocket::open(config.namespace.as_deref())?;
        let table = match &config.table {
            TableSpec::Id(0) => return Err(FibError::BadTable),
            TableSpec::Id(id) => *id,
            TableSpec::Vrf(device) => match link(&mut sock, device)? {
                Some((_, Some(table))) => table,
                _ => {
                    return Err(FibError::NotVrf {
                        device: device.clone(),
                        namespace: sock.namespace().to_string(),
                    })
                }
            },
        };
        let planner = if config.nexthop_objects && nexthop_objects_supported(&mut sock)? {
            Planner::with_objects(Objects::new(table, config.metric))
        } else {
            Planner::new()
        };
        Ok(Fib {
            sock,
            mark: Marking {
                table,
                protocol: config.protocol,
                metric: config.metric,
            },
            batch: config.batch_routes.max(1),
            planner,
            buf: Vec::with_capacity(MAX_BATCH_BYTES + 4096),
            used_objects: std::collections::BTreeSet::new(),
            namespace: config.namespace.clone(),
            links: LinkStates::new(),
        })
    }

    /// Subscribes to the link announcements of the writer's namespace; hand what
    /// [`LinkWatch::read`] reads to [`Fib::link_events`]. Open it before
    /// [`Fib::begin_reconcile`] so no change between the two goes unheard. Its reads block up
    /// to `timeout`: read it from a thread of its own.
    pub fn watch_links(&self, timeout: std::time::Duration) -> Result<LinkWatch> {
        LinkWatch::open(self.namespace.as_deref(), timeout)
    }

    /// Takes in link announcements (see [`crate::watch`]): when a link came up, the routes the
    /// kernel refused are queued again (the next [`Fib::flush`] writes them); when a link our
    /// routes may use went down or away, the outcome asks for a [`Fib::restore`] (see
    /// [`LinkOutcome::restore_due`] for when).
    pub fn link_events(&mut self, events: &[LinkEvent]) -> LinkOutcome {
        let planner = &self.planner;
        let reaction = self.links.update(events, |i| planner.may_use_ifindex(i));
        LinkOutcome {
            restore_due: reaction.restore,
            retried: if reaction.retry {
                self.retry_failed()
            } else {
                0
            },
        }
    }

    /// Reads the routes of ours and the nexthop objects the kernel holds and queues again every
    /// route it no longer holds as written (see [`Planner::restore_found`]); objects it removed
    /// are forgotten, so the routes' next write makes new ones. Returns how many routes were
    /// queued.
    pub fn restore(&mut self) -> Result<usize> {
        let found = self.dump_all()?;
        if self.planner.objects().enabled() {
            let existing: std::collections::HashSet<u32> =
                self.dump_objects()?.into_iter().map(|(id, _)| id).collect();
            let forgotten = self
                .planner
                .objects_mut()
                .forget_missing(|id| existing.contains(&id));
            if forgotten > 0 {
                tracing::info!(
                    forgotten,
                    namespace = self.namespace(),
                    "nexthop objects of ours removed by the kernel; their routes get new ones"
                );
            }
        }
        let metric = self.mark.metric;
        Ok(self.planner.restore_found(
            found
                .into_iter()
                .filter(|(m, _, _)| *m == metric)
                .map(|(_, r, o)| (r, o)),
        ))
    }

    /// Whether routes are written with kernel nexthop objects (configured, and the kernel has
    /// them).
    pub fn uses_nexthop_objects(&self) -> bool {
        self.planner.objects().enabled()
    }

    /// Number of nexthop objects of ours in use.
    pub fn nexthop_objects(&self) -> usize {
        self.planner.objects().len()
    }

    /// The table id routes go to.
    pub fn table(&self) -> u32 {
        self.mark.table
    }

    /// The namespace, for messages.
    pub fn namespace(&self) -> &str {
        self.sock.namespace()
    }

    /// The index of interface `name` in the writer's namespace, if it exists.
    pub fn ifindex(&mut self, name: &str) -> Result<Option<u32>> {
        Ok(link(&mut self.sock, name)?.map(|(index, _)| index))
    }

    /// Queues: `prefix` through exactly `hops` (an empty set withdraws it).
    pub fn replace(&mut self, prefix: IpNetwork, hops: Vec<NextHop>) {
        self.planner.replace(prefix, hops);
    }

    /// Queues: no route of ours for `prefix`.
    pub fn withdraw(&mut self, prefix: IpNetwork) {
        self.planner.withdraw(prefix);
    }

    /// Queues the deletion of every route of ours.
    pub fn withdraw_all(&mut self) {
        self.planner.withdraw_all();
    }

    /// Number of prefixes with a queued change.
    pub fn pending(&self) -> usize {
        self.planner.pending()
    }

    /// Routes of ours in the kernel, as the writer knows them.
    pub fn routes(&self) -> impl Iterator<Item = FibRoute> + '_ {
        self.planner.routes()
    }

    /// Number of routes of ours in the kernel.
    pub fn len(&self) -> usize {
        self.planner.installed_len()
    }

    /// Whether the kernel holds no route of ours.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next hops installed for `prefix`.
    pub fn installed(&self, prefix: &IpNetwork) -> Option<&NextHops> {
        self.planner.installed(prefix)
    }

    /// Number of routes found at reconciliation and not re-learned yet.
    pub fn stale(&self) -> usize {
        self.planner.stale()
    }

    /// Number of wanted routes the kernel refused (not retried yet).
    pub fn refused(&self) -> usize {
        self.planner.failed().count()
    }

    /// Queues every route the kernel refused again; returns how many.
    pub fn retry_failed(&mut self) -> usize {
        self.planner.retry_failed()
    }

    /// Starts a reconciliation: reads the routes of ours the kernel holds (left by an earlier
    /// run) and keeps them, stale, until they are re-learned or [`Fib::end_reconcile`] sweeps
    /// them. Routes with our table and protocol but another metric (an earlier configuration)
    /// are deleted at once. Returns how many routes were found.
    pub fn begin_reconcile(&mut self) -> Result<usize> {
        let mut found = Vec::new();
        let mut other_metric = Vec::new();
        for (metric, route, object) in self.dump_all()? {
            if metric == self.mark.metric {
                found.push((route, object));
            } else {
                other_metric.push((metric, route));
            }
        }
        for (metric, route) in other_metric {
            let mark = Marking {
                metric,
                ..self.mark
            };
            let op = Op {
                kind: crate::plan::OpKind::Delete,
                prefix: route.prefix,
                next_hops: route.next_hops,
                object: None,
            };
            let results = self.exchange(std::slice::from_ref(&op), &mark)?;
            if let Some(Err(errno)) = results.first() {
                tracing::warn!(prefix = %op.prefix, metric, errno, "deleting our route of an earlier metric");
            }
        }
        let n = found.len();
        self.planner.begin_reconcile_found(found);
        if let Err(e) = self.sweep_orphan_objects() {
            // Only tidiness is lost: such objects hold no route.
            tracing::warn!(error = %e, namespace = self.namespace(), "could not sweep nexthop objects left by an earlier run");
        }
        Ok(n)
    }

    /// Ends the reconciliation: deletes every route still stale, and flushes.
    pub fn end_reconcile(&mut self) -> Result<FlushReport> {
        let swept = self.planner.end_reconcile();
        tracing::debug!(swept, namespace = self.namespace(), "reconciliation ended");
        self.flush()
    }

    /// Whether a reconciliation is under way.
    pub fn reconciling(&self) -> bool {
        self.planner.reconciling()
    }

    /// Writes every queued change, in batches; routes the kernel refuses are listed in the
    /// report (and kept out of [`Fib::routes`]). An error means the socket failed: the changes
    /// of the batch in flight are queued again after the writer re-read the table.
    pub fn flush(&mut self) -> Result<FlushReport> {
        let mut report = FlushReport::default();
        loop {
            let mut ops = self.planner.plan(self.batch, &mut report);
            if ops.is_empty() {
                if self.planner.pending() == 0 {
                    self.delete_unused_objects()?;
                    self.planner.trim();
                    return Ok(report);
                }
                continue;
            }
            let mark = self.mark;
            let created = self.create_objects(&mut ops);
            match created.and_then(|()| self.exchange(&ops, &mark)) {
                Ok(results) => {
                    let mut suspects = Vec::new();
                    for (op, result) in ops.into_iter().zip(results) {
                        if let (Some(id), Err(libc::EINVAL)) = (op.object, result) {
                            // "Nexthop id does not exist", or another invalid argument.
                            suspects.push((id, op.next_hops.clone()));
                        }
                        if let Some(f) = self.planner.complete(op, result, &mut report) {
                            report.refuse(f);
                        }
                    }
                    self.check_objects(suspects)?;
                }
                Err(e) => {
                    // Outcome unknown: learn what the kernel holds, then try again later.
                    if let Ok(found) = self.dump_all() {
                        self.planner.resync_found(
                            found
                                .into_iter()
                                .filter(|(m, _, _)| *m == mark.metric)
                                .map(|(_, r, o)| (r, o)),
                        );
                    }
                    self.planner.requeue(ops);
                    return Err(e);
                }
            }
        }
    }

    /// Reads the routes of ours (table and protocol) the kernel holds now, with their metrics.
    pub fn dump(&mut self) -> Result<Vec<FibRoute>> {
        Ok(self
            .dump_all()?
            .into_iter()
            .filter(|(m, _, _)| *m == self.mark.metric)
            .map(|(_, r, _)| r)
            .collect())
    }

    /// Creates the nexthop objects `ops` point at that the kernel does not hold yet, before
    /// the routes are sent. An id someone else holds is replaced by another; a set whose object
    /// the kernel refuses is written inline (the routes then get the kernel's own answer).
    fn create_objects(&mut self, ops: &mut [Op]) -> Result<()> {
        let protocol = self.mark.protocol;
        for attempt in 1..=OBJECT_ATTEMPTS {
            let creates = self.planner.objects_mut().take_creates();
            if creates.is_empty() {
                return Ok(());
            }
            let mut sendable = Vec::with_capacity(creates.len());
            for (id, hops) in creates {
                match hops
                    .first()
                    .and_then(|h| Some((h.gateway?, h.ifindex?, h.onlink)))
                {
                    Some(hop) if hops.len() == 1 => sendable.push((id, hops, hop)),
                    _ => self.refuse_object(ops, id, &hops, libc::EINVAL),
                }
            }
            let results = self.exchange_with(sendable.len(), |buf, i, seq| {
                if let Some((id, _, (gw, oif, onlink))) = sendable.get(i) {
                    wire::encode_nexthop_new(buf, *id, *gw, *oif, *onlink, protocol, seq);
                }
            })?;
            for ((id, hops, _), result) in sendable.into_iter().zip(results) {
                match result {
                    Ok(()) => self.planner.objects_mut().created(&hops),
                    Err(e) if e == libc::EEXIST && attempt < OBJECT_ATTEMPTS => {
                        let new = self.planner.objects_mut().reallocate(&hops);
                        for op in ops.iter_mut().filter(|o| o.object == Some(id)) {
                            op.object = new;
                        }
                    }
                    Err(errno) => self.refuse_object(ops, id, &hops, errno),
                }
            }
        }
        Ok(())
    }

    fn refuse_object(&mut self, ops: &mut [Op], id: u32, hops: &NextHops, errno: i32) {
        tracing::warn!(
            id,
            ?hops,
            errno,
            namespace = self.namespace(),
            "the kernel refused a nexthop object: its routes are written inline"
        );
        self.planner.objects_mut().refuse(hops, errno);
        for op in ops.iter_mut().filter(|o| o.object == Some(id)) {
            op.object = None;
        }
    }

    /// Asks the kernel whether the objects routes were refused with still exist; one that does
    /// not (the kernel removes an object with its device) is forgotten, so the routes' retry
    /// creates a new one.
    fn check_objects(&mut self, mut suspects: Vec<(u32, NextHops)>) -> Result<()> {
        suspects.sort_unstable_by_key(|(id, _)| *id);
        suspects.dedup_by_key(|(id, _)| *id);
        for (id, hops) in suspects {
            if self.planner.objects().id_of(&hops) != Some(id) {
                continue;
            }
            let seq = self.sock.next_seqs(1);
            self.buf.clear();
            wire::encode_nexthop_get(&mut self.buf, id, seq);
            self.sock.send(&self.buf)?;
            let errno = 'recv: loop {
                for reply in self.sock.recv()? {
                    if let Reply::Ack { seq: s, errno } = reply {
                        if s == seq {
                            break 'recv errno;
                        }
                    }
                }
            };
            if errno == libc::ENOENT {
                tracing::info!(
                    id,
                    namespace = self.namespace(),
                    "a nexthop object of ours is gone; the next route through it makes a new one"
                );
                self.planner.objects_mut().vanished(&hops);
            }
        }
        Ok(())
    }

    /// Deletes the objects an earlier run of this writer left without any route (created, then
    /// the run ended before its routes were written): objects of our protocol, in this
    /// writer's id range, that no route of any table uses. (An object no route uses can be
    /// deleted without removing any route.)
    fn sweep_orphan_objects(&mut self) -> Result<()> {
        if !self.planner.objects().enabled() {
            return Ok(());
        }
        let protocol = self.mark.protocol;
        let mut orphans = Vec::new();
        for (id, p) in self.dump_objects()? {
            let ours = p == protocol && self.planner.objects().in_range(id);
            if ours && !self.used_objects.contains(&id) {
                orphans.push(id);
            }
        }
        if orphans.is_empty() {
            return Ok(());
        }
        tracing::info!(
            count = orphans.len(),
            namespace = self.namespace(),
            "deleting nexthop objects an earlier run left without routes"
        );
        let results = self.exchange_with(orphans.len(), |buf, i, seq| {
            if let Some(id) = orphans.get(i) {
                wire::encode_nexthop_del(buf, *id, seq);
            }
        })?;
        for (id, result) in orphans.iter().zip(results) {
            if let Err(errno) = result {
                if errno != libc::ENOENT {
                    tracing::warn!(
                        id,
                        errno,
                        namespace = self.namespace(),
                        "deleting a nexthop object left by an earlier run"
                    );
                }
            }
        }
        Ok(())
    }

    /// Every nexthop object of the namespace: id and protocol.
    fn dump_objects(&mut self) -> Result<Vec<(u32, u8)>> {
        let mut out = Vec::new();
        self.dump_replies(
            ["nexthop dump", "nexthop dump (objects kept changing)"],
            wire::encode_nexthop_dump,
            |reply| match reply {
                Some(Reply::Nexthop { id, protocol, .. }) => out.push((id, protocol)),
                Some(_) => {}
                None => out.clear(),
            },
        )?;
        Ok(out)
    }

    /// Sends the dump request `encode` appends (given its sequence number) and hands each
    /// route and nexthop object of the answer to `take` as it arrives (a full table is not
    /// held twice), dumping again while the kernel says the dump was interrupted by a change:
    /// `take(None)` then says to forget what the interrupted dump gave. `ops` names the
    /// request in errors: refused, interrupted every time.
    fn dump_replies(
        &mut self,
        ops: [&'static str; 2],
        encode: impl Fn(&mut Vec<u8>, u32),
        mut take: impl FnMut(Option<Reply>),
    ) -> Result<()> {
        for attempt in 0..DUMP_ATTEMPTS {
            if attempt > 0 {
                take(None);
            }
            let seq = self.sock.next_seqs(1);
            self.buf.clear();
            encode(&mut self.buf, seq);
            self.sock.send(&self.buf)?;
            let mut interrupted = false;
            'recv: loop {
                for reply in self.sock.recv()? {
                    match reply {
                        Reply::Route {
                            seq: s,
                            interrupted: i,
                            ..
                        }
                        | Reply::Nexthop {
                            seq: s,
                            interrupted: i,
                            ..
                        } if s == seq => {
                            interrupted |= i;
                            take(Some(reply));
                        }
                        Reply::Done {
                            seq: s,
                            interrupted: i,
                        } if s == seq => {
                            interrupted |= i;
                            break 'recv;
                        }
                        Reply::Ack { seq: s, errno } if s == seq && errno != 0 => {
                            return Err(FibError::Refused {
                                op: ops[0],
                                namespace: self.namespace().to_string(),
                                errno,
                            });
                        }
                        _ => {}
                    }
                }
            }
            if !interrupted {
                return Ok(());
            }
        }
        Err(FibError::Refused {
            op: ops[1],
            namespace: self.namespace().to_string(),
            errno: libc::EINTR,
        })
    }

    /// Deletes the nexthop objects no route of ours uses any more.
    fn delete_unused_objects(&mut self) -> Result<()> {
        let gone = self.planner.objects_mut().take_unused();
        if gone.is_empty() {
            return Ok(());
        }
        let results = self.exchange_with(gone.len(), |buf, i, seq| {
            if let Some(id) = gone.get(i) {
                wire::encode_nexthop_del(buf, *id, seq);
            }
        })?;
        for (id, result) in gone.iter().zip(results) {
            if let Err(errno) = result {
                if errno != libc::ENOENT {
                    tracing::warn!(
                        id,
                        errno,
                        namespace = self.namespace(),
                        "deleting an unused nexthop object"
                    );
                }
            }
        }
        Ok(())
    }

    fn dump_all(&mut self) -> Result<Vec<Found>> {
        self.used_objects.clear();
        // Room for what the writer believes installed (a full table is read without regrowing).
        let mut out = Vec::with_capacity(self.planner.installed_len().saturating_add(1024));
        for v6 in [false, true] {
            self.dump_family(v6, &mut out)?;
        }
        Ok(out)
    }

    /// Appends the routes of ours of one family to `out` (and notes every object any route
    /// uses).
    fn dump_family(&mut self, v6: bool, out: &mut Vec<Found>) -> Result<()> {
        let mark = self.mark;
        let start = out.len();
        let mut used = std::mem::take(&mut self.used_objects);
        let result = self.dump_replies(
            ["route dump", "route dump (table kept changing)"],
            |buf, seq| wire::encode_route_dump(buf, v6, seq),
            |reply| match reply {
                Some(Reply::Route {
                    table,
                    protocol,
                    metric,
                    route,
                    object,
                    ..
                }) => {
                    if let Some(id) = object {
                        used.insert(id);
                    }
                    if table == mark.table && protocol == mark.protocol {
                        if let Some(r) = route {
                            out.push((metric, r, object));
                        }
                    }
                }
                Some(_) => {}
                // An interrupted dump: what it gave is read again.
                None => out.truncate(start),
            },
        );
        self.used_objects = used;
        result
    }

    /// Sends `ops` in as few datagrams as fit, each asking an acknowledgement only for its last
    /// request (the kernel answers every failed request with an error and handles requests in
    /// order, so the last acknowledgement proves every silent request succeeded). Returns each
    /// op's outcome, in order.
    fn exchange(
        &mut self,
        ops: &[Op],
        mark: &Marking,
    ) -> Result<Vec<std::result::Result<(), i32>>> {
        self.exchange_with(ops.len(), |buf, i, seq| {
            if let Some(op) = ops.get(i) {
                wire::encode_op(buf, op, mark, seq, false);
            }
        })
    }

    /// [`Fib::exchange`] of `count` requests, the `i`-th appended by `encode(buf, i, seq)`
    /// (exactly one message, without `NLM_F_ACK`).
    fn exchange_with(
        &mut self,
        count: usize,
        mut encode: impl FnMut(&mut Vec<u8>, usize, u32),
    ) -> Result<Vec<std::result::Result<(), i32>>> {
        let mut results = vec![Ok(()); count];
        let mut start = 0;
        while start < count {
            self.buf.clear();
            let first = self.sock.next_seqs(0);
            let mut end = start;
            let mut offsets = Vec::new();
            while end < count && self.buf.len() < MAX_BATCH_BYTES {
                offsets.push(self.buf.len());
                let seq = first.wrapping_add((end - start) as u32);
                encode(&mut self.buf, end, seq);
                end += 1;
            }
            let count = (end - start) as u32;
            self.sock.next_seqs(count);
            if let Some(last) = offsets.last() {
                wire::request_ack(&mut self.buf, *last);
            }
            self.sock.send(&self.buf)?;
            let last_seq = first.wrapping_add(count - 1);
            'recv: loop {
                for reply in self.sock.recv()? {
                    if let Reply::Ack { seq, errno } = reply {
                        let idx = seq.wrapping_sub(first);
                        if idx >= count {
                            continue; // an answer to an earlier, abandoned exchange
                        }
                        if errno != 0 {
                            results[start + idx as usize] = Err(errno);
                        }
                        if seq == last_seq {
                            break 'recv;
                        }
                    }
                }
            }
            start = end;
        }
        Ok(results)
    }
}

/// Whether the namespace's kernel has nexthop objects (Linux 5.3+): a lookup of an id is
/// answered (found, or `ENOENT`) instead of refused as an unknown request.
fn nexthop_objects_supported(sock: &mut NlSocket) -> Result<bool> {
    let seq = sock.next_seqs(1);
    let mut buf = Vec::new();
    wire::encode_nexthop_get(&mut buf, 0x7FFF_FFFF, seq);
    sock.send(&buf)?;
    loop {
        for reply in sock.recv()? {
            if let Reply::Ack { seq: s, errno } = reply {
                if s == seq {
                    return Ok(errno == 0 || errno == libc::ENOENT);
                }
            }
        }
    }
}

/// Looks up a link by name: its index and, for a VRF device, its table.
fn link(sock: &mut NlSocket, name: &str) -> Result<Option<(u32, Option<u32>)>> {
    let seq = sock.next_seqs(1);
    let mut buf = Vec::new();
    wire::encode_link_get(&mut buf, name, seq);
    sock.send(&buf)?;
    let mut found = None;
    loop {
        for reply in sock.recv()? {
            match reply {
                Reply::Link {
                    seq: s,
                    index,
                    vrf_table,
                    ..
                } if s == seq => found = Some((index, vrf_table)),
                Reply::Ack { seq: s, errno } if s == seq => {
                    return match errno {
                        0 => Ok(found),
                        e if e == libc::ENODEV => Ok(None),
                        e => Err(FibError::Refused {
                            op: "link lookup",
                            namespace: sock.namespace().to_string(),
                            errno: e,
                        }),
                    };
                }
                _ => {}
            }
        }
    }
}
