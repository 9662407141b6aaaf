//! [`KernelSink`]: a [`RouteSink`] installing learned routes into Linux
//! routing tables through the `fib` crate.
//!
//! Every distinct (namespace, table, metric) of the ports' `[sink]` sections gets one writer: a
//! dedicated OS thread owning a [`fib::Fib`]. The sink only queues changes to it (route
//! processing never waits for the kernel); the thread coalesces whatever arrived since its last
//! write and writes it in batches. At start each writer finds the routes left in its table by
//! an earlier run and keeps them until they are re-learned or the configured grace
//! (`reconcile_secs`) ends, or [`KernelSink::end_reconcile`] is called.

mod merge;
mod recount;

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, RecvTimeoutError};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

use fib::prefix_list::PrefixList;
use fib::watch::{LinkEvent, LinkWatch};
use fib::{Fib, FibConfig, TableSpec};
use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};
use tracing::{debug, info, warn};

pub use merge::{Merge, PortFacts};

use crate::config::{Config, SinkConfig};
use crate::sink::RouteSink;
use crate::types::{RouteChange, RoutePath};

/// How soon routes the kernel refused are tried again; the pause doubles, up to
/// `RETRY_MAX`, while they keep being refused (a million routes through a link left down
/// would otherwise keep the writer and the kernel busy), and a link coming up retries at once.
const RETRY_EVERY: Duration = Duration::from_secs(5);
/// The longest pause between retries of refused routes.
const RETRY_MAX: Duration = Duration::from_secs(80);
/// How long the link watcher waits for an announcement before checking its writer is alive.
const WATCH_POLL: Duration = Duration::from_secs(1);
/// How long after a link our routes use went down its routes are looked for (the kernel
/// announces the change first, then removes them).
const RESTORE_SETTLE: Duration = Duration::from_millis(300);
/// When they are looked for once more (routes the kernel removed after the first look).
const RESTORE_AGAIN: Duration = Duration::from_secs(2);
/// Most queued changes taken in before a write.
const DRAIN_MAX: usize = 1 << 16;

/// Identifies one writer.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct TableKey {
    /// Namespace (`None`: the process's own).
    pub namespace: Option<String>,
    /// Table id.
    pub table: u32,
    /// Metric of our routes.
    pub metric: u32,
}

impl std::fmt::Display for TableKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "table {} metric {} in {}",
            self.table,
            self.metric,
            self.namespace.as_deref().unwrap_or("the host namespace")
        )
    }
}

/// What a writer reports about its table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TableStats {
    /// Which table.
    pub key: TableKey,
    /// Routes of ours in the table.
    pub installed: usize,
    /// Routes found at start, not re-learned yet (during a reconciliation recounted at most
    /// once a second, and before every `KernelSink::sync` answer).
    pub stale: usize,
    /// Wanted routes the kernel refused (retried after 5 s, then after longer pauses up to
    /// 80 s while they keep being refused, and at once when a link comes up).
    pub refused: usize,
    /// Whether the reconciliation of routes from an earlier run is still under way.
    pub reconciling: bool,
    /// Times the table was read again because a link our routes use went down or away, since
    /// the writer started.
    #[serde(default)]
    pub link_rereads: u64,
    /// Routes those reads found dropped (or changed) by the kernel and queued again.
    #[serde(default)]
    pub restored: u64,
    /// The last failure, if any.
    pub last_error: Option<String>,
}

/// A kernel sink problem found while (re)configuring.
#[derive(Debug, thiserror::Error)]
#[error("route sink {key}: {source}")]
pub struct SinkError {
    /// The table.
    pub key: TableKey,
    /// Why it cannot be written.
    #[source]
    pub source: fib::FibError,
}

enum Msg {
    Port(u16, PortSpec),
    RemovePort(u16),
    /// One batch of a port's route changes (one `RouteSink::apply`), written together.
    Apply(u16, Batch),
    /// Every route of the port is gone (the port itself stays).
    WithdrawAll(u16),
    EndReconcile,
    Sync(mpsc::SyncSender<()>),
    /// Link announcements of the table's namespace (see `fib::watch`).
    Links(Vec<LinkEvent>),
}

/// Marks a withdrawal in [`Batch::changes`].
const WITHDRAW: u32 = u32::MAX;

/// One `RouteSink::apply` as queued to the writer, compactly: 12 bytes per IPv4 change (its
/// prefix in a [`PrefixList`], the index of its path set) and one copy of each distinct path set
/// of the batch (a full table arrives in batches whose routes share a handful of path sets),
/// instead of a copy of every change with its own path vector. Changes wait here while the
/// writer is busy with the kernel, so a backlog of a full table stays small.
#[derive(Debug, Default)]
struct Batch {
    /// The distinct path sets of the batch.
    paths: Vec<Arc<[RoutePath]>>,
    /// Each change's prefix.
    prefixes: PrefixList,
    /// Each change's path set: its index in `paths` ([`WITHDRAW`]: none).
    sets: Vec<u32>,
}

/// Path sets looked back at for a match when a batch is built (consecutive routes of a full
/// table mostly share the last one).
const BATCH_LOOKBACK: usize = 8;

impl Batch {
    fn new(changes: &[RouteChange]) -> Batch {
        let mut b = Batch {
            paths: Vec::new(),
            prefixes: PrefixList::with_capacity(changes.len()),
            sets: Vec::with_capacity(changes.len()),
        };
        for change in changes {
            let (prefix, set) = match change {
                RouteChange::Replace { prefix, paths } => (*prefix, b.path_index(paths)),
                RouteChange::Withdraw { prefix } => (*prefix, WITHDRAW),
            };
            b.prefixes.push(prefix);
            b.sets.push(set);
        }
        b
    }

    /// Every change: the prefix and its path set (`None`: withdrawn).
    fn changes(&self) -> impl Iterator<Item = (IpNetwork, Option<&Arc<[RoutePath]>>)> + '_ {
        self.prefixes.iter().zip(&self.sets).map(|(prefix, set)| {
            let paths = usize::try_from(*set).ok().and_then(|i| self.paths.get(i));
            (prefix, paths)
        })
    }

    /// The index of `paths` in `self.paths`, added if it is not among the last few.
    fn path_index(&mut self, paths: &[RoutePath]) -> u32 {
        let n = self.paths.len();
        let recent = self
            .paths
            .iter()
            .enumerate()
            .skip(n.saturating_sub(BATCH_LOOKBACK));
        for (i, known) in recent.rev() {
            if known.as_ref() == paths {
                return u32::try_from(i).unwrap_or(WITHDRAW);
            }
        }
        match u32::try_from(n) {
            Ok(i) if i != WITHDRAW => {
                self.paths.push(Arc::from(paths));
                i
            }
            // More than 2^32 - 1 distinct path sets in one call: cannot happen (each needs a
            // change of its own, and a batch is a zebra batch).
            _ => WITHDRAW,
        }
    }
}

/// A port as the writer thread needs it (names resolved there, in its namespace).
#[derive(Debug, Clone)]
struct PortSpec {
    uplink: String,
    peers: Vec<IpAddr>,
    subnets: Vec<IpNetwork>,
}

#[derive(Debug, Default)]
struct Shared {
    installed: AtomicUsize,
    stale: AtomicUsize,
    refused: AtomicUsize,
    reconciling: AtomicBool,
    link_rereads: AtomicU64,
    restored: AtomicU64,
    last_error: Mutex<Option<String>>,
}

struct Writer {
    tx: mpsc::Sender<Msg>,
    shared: Arc<Shared>,
    /// The sender the link watcher reaches the writer with: the watcher holds it weakly, so
    /// it stops once the writer is dropped (and never keeps the writer's queue open).
    _watch_tx: Arc<mpsc::Sender<Msg>>,
}

#[derive(Clone)]
struct PortRoute {
    id: u16,
    tx: mpsc::Sender<Msg>,
}

#[derive(Default)]
struct State {
    writers: HashMap<TableKey, Writer>,
    ports: HashMap<String, (TableKey, u16)>,
    next_id: u16,
}

/// The kernel route sink (see the module documentation).
#[derive(Default)]
pub struct KernelSink {
    routes: RwLock<HashMap<String, PortRoute>>,
    state: Mutex<State>,
}

impl std::fmt::Debug for KernelSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KernelSink").finish_non_exhaustive()
    }
}

impl KernelSink {
    /// A sink with no table yet; [`KernelSink::configure`] attaches ports.
    pub fn new() -> KernelSink {
        KernelSink::default()
    }

    /// Attaches the ports of `config` whose sink is `kernel` to their tables (opening writers,
    /// which start reconciling), updates ports already attached, and detaches the others (their
    /// routes are withdrawn from the table). Returns the tables that could not be opened; their
    /// ports' routes are not installed until a later `configure` succeeds.
    pub fn configure(&self, config: &Config) -> Vec<SinkError> {
        let mut errors = Vec::new();
        let Ok(mut state) = self.state.lock() else {
            return errors;
        };
        let host = config.controller.host_namespace.as_deref();
        let mut wanted: HashMap<String, (TableKey, PortSpec, &SinkConfig)> = HashMap::new();
        for port in &config.ports {
            if !port.sink.is_kernel() {
                continue;
            }
            let key = TableKey {
                namespace: port.sink.effective_namespace(host).map(str::to_string),
                table: port.sink.table,
                metric: port.sink.metric,
            };
            let spec = PortSpec {
                uplink: port.uplink.clone(),
                peers: port.peer_addresses(),
                subnets: port.addresses(),
            };
            wanted.insert(port.name.clone(), (key, spec, &port.sink));
        }
        // Detach ports gone, moved to another table, or no longer kernel.
        let stale: Vec<String> = state
            .ports
            .iter()
            .filter(|(name, (key, _))| wanted.get(*name).map(|w| &w.0) != Some(key))
            .map(|(name, _)| name.clone())
            .collect();
        let mut routes = match self.routes.write() {
            Ok(r) => r,
            Err(_) => return errors,
        };
        for name in stale {
            if let Some((key, id)) = state.ports.remove(&name) {
                routes.remove(&name);
                if let Some(w) = state.writers.get(&key) {
                    let _ = w.tx.send(Msg::RemovePort(id));
                }
            }
        }
        let mut failed = std::collections::HashSet::new();
        for (name, (key, spec, sink)) in wanted {
            if failed.contains(&key) {
                continue;
            }
            if !state.writers.contains_key(&key) {
                match spawn_writer(&key, sink) {
                    Ok(w) => {
                        state.writers.insert(key.clone(), w);
                    }
                    Err(source) => {
                        failed.insert(key.clone());
                        errors.push(SinkError {
                            key: key.clone(),
                            source,
                        });
                        continue;
                    }
                }
            }
            let Some(tx) = state.writers.get(&key).map(|w| w.tx.clone()) else {
                continue;
            };
            let id = match state.ports.get(&name) {
                Some((_, id)) => *id,
                None => {
                    let id = state.next_id;
                    state.next_id = state.next_id.wrapping_add(1);
                    state.ports.insert(name.clone(), (key.clone(), id));
                    id
                }
            };
            let _ = tx.send(Msg::Port(id, spec));
            routes.insert(name, PortRoute { id, tx });
        }
        errors
    }

    /// Ends the reconciliation of every table now: routes found at start and not re-learned
    /// are removed.
    pub fn end_reconcile(&self) {
        if let Ok(state) = self.state.lock() {
            for w in state.writers.values() {
                let _ = w.tx.send(Msg::EndReconcile);
            }
        }
    }

    /// Waits until every change queued so far is written (or `timeout` passes); returns whether
    /// every writer answered.
    pub fn sync(&self, timeout: Duration) -> bool {
        let txs: Vec<mpsc::Sender<Msg>> = match self.state.lock() {
            Ok(s) => s.writers.values().map(|w| w.tx.clone()).collect(),
            Err(_) => return false,
        };
        let deadline = Instant::now() + timeout;
        txs.into_iter().all(|tx| {
            let (done_tx, done_rx) = mpsc::sync_channel(1);
            tx.send(Msg::Sync(done_tx)).is_ok()
                && done_rx
                    .recv_timeout(deadline.saturating_duration_since(Instant::now()))
                    .is_ok()
        })
    }

    /// What each table holds.
    pub fn stats(&self) -> Vec<TableStats> {
        let Ok(state) = self.state.lock() else {
            return Vec::new();
        };
        let mut out: Vec<TableStats> = state
            .writers
            .iter()
            .map(|(key, w)| TableStats {
                key: key.clone(),
                installed: w.shared.installed.load(Ordering::Relaxed),
                stale: w.shared.stale.load(Ordering::Relaxed),
                refused: w.shared.refused.load(Ordering::Relaxed),
                reconciling: w.shared.reconciling.load(Ordering::Relaxed),
                link_rereads: w.shared.link_rereads.load(Ordering::Relaxed),
                restored: w.shared.restored.load(Ordering::Relaxed),
                last_error: w.shared.last_error.lock().ok().and_then(|e| e.clone()),
            })
            .collect();
        out.sort_by(|a, b| a.key.cmp(&b.key));
        out
    }

    fn port(&self, port: &str) -> Option<PortRoute> {
        self.routes.read().ok()?.get(port).cloned()
    }
}

impl RouteSink for KernelSink {
    fn apply(&self, port: &str, changes: &[RouteChange]) {
        if changes.is_empty() {
            return;
        }
        if let Some(p) = self.port(port) {
            let _ = p.tx.send(Msg::Apply(p.id, Batch::new(changes)));
        }
    }

    fn withdraw_all(&self, port: &str) {
        if let Some(p) = self.port(port) {
            let _ = p.tx.send(Msg::WithdrawAll(p.id));
        }
    }
}

fn spawn_writer(key: &TableKey, sink: &SinkConfig) -> Result<Writer, fib::FibError> {
    let mut fib = Fib::open(&FibConfig {
        table: TableSpec::Id(key.table),
        namespace: key.namespace.clone(),
        metric: key.metric,
        nexthop_objects: sink.nexthop_objects,
        ..FibConfig::default()
    })?;
    // Subscribed before the table is first read, so no link change in between goes unheard.
    let watch = match fib.watch_links(WATCH_POLL) {
        Ok(w) => Some(w),
        Err(e) => {
            warn!(%key, error = %e, "cannot follow link changes: routes the kernel drops with a link are restored only when re-learned");
            None
        }
    };
    let found = fib.begin_reconcile()?;
    let shared = Arc::new(Shared::default());
    if found > 0 {
        info!(%key, found, grace = ?sink.reconcile, "routes of an earlier run kept until re-learned");
        shared.reconciling.store(true, Ordering::Relaxed);
    } else {
        // Nothing of an earlier run to keep: no grace period (during one, every flush counts
        // the stale routes, which a full table arriving at start would pay for each batch).
        fib.end_reconcile()?;
    }
    let (tx, rx) = mpsc::channel();
    let thread_shared = shared.clone();
    let thread_key = key.clone();
    let deadline = Instant::now() + sink.reconcile;
    let spawn_error = |source| fib::FibError::Io {
        op: "spawn writer thread",
        namespace: key.namespace.clone().unwrap_or_default(),
        source,
    };
    std::thread::Builder::new()
        .name(format!("fib-{}", key.table))
        .spawn(move || writer_loop(fib, rx, thread_shared, thread_key, deadline))
        .map_err(spawn_error)?;
    let watch_tx = Arc::new(tx.clone());
    if let Some(watch) = watch {
        let weak = Arc::downgrade(&watch_tx);
        let watch_key = key.clone();
        if let Err(e) = std::thread::Builder::new()
            .name(format!("fib-{}-links", key.table))
            .spawn(move || watch_loop(watch, weak, watch_key))
        {
            warn!(%key, error = %e, "cannot follow link changes");
        }
    }
    Ok(Writer {
        tx,
        shared,
        _watch_tx: watch_tx,
    })
}

/// Hands the link announcements of the writer's namespace to the writer until the writer is
/// gone.
fn watch_loop(mut watch: LinkWatch, tx: std::sync::Weak<mpsc::Sender<Msg>>, key: TableKey) {
    loop {
        let events = match watch.read() {
            Ok(events) => events,
            Err(e) => {
                warn!(%key, error = %e, "link watch failed: routes the kernel drops with a link are restored only when re-learned");
                return;
            }
        };
        let Some(tx) = tx.upgrade() else {
            return;
        };
        if !events.is_empty() && tx.send(Msg::Links(events)).is_err() {
            return;
        }
    }
}

struct Worker {
    fib: Fib,
    merge: Merge,
    shared: Arc<Shared>,
    key: TableKey,
    /// When the stale gauge is recounted (see `recount`).
    recount: recount::Recount,
    /// Link announcements not acted on yet.
    links: Vec<LinkEvent>,
    /// When the table is to be re-read after a link went down.
    restore_at: Option<Instant>,
    /// Whether it is to be re-read once more after that.
    restore_again: bool,
    /// The pause before the next retry of refused routes after this one.
    retry_pause: Duration,
}

impl Worker {
    fn set(&mut self, prefix: IpNetwork, hops: Vec<fib::NextHop>) {
        if hops.is_empty() {
            self.fib.withdraw(prefix);
        } else {
            self.fib.replace(prefix, hops);
        }
    }

    fn handle(&mut self, msg: Msg, syncs: &mut Vec<mpsc::SyncSender<()>>) {
        match msg {
            Msg::Apply(id, batch) => {
                for (prefix, paths) in batch.changes() {
                    let hops = match paths {
                        Some(paths) => self.merge.replace(id, prefix, paths),
                        None => self.merge.withdraw(id, prefix),
                    };
                    self.set(prefix, hops);
                }
            }
            Msg::WithdrawAll(id) => {
                for (prefix, hops) in self.merge.withdraw_port_routes(id) {
                    self.set(prefix, hops);
                }
            }
            Msg::Port(id, spec) => {
                let uplink = match self.fib.ifindex(&spec.uplink) {
                    Ok(Some(i)) => Some(i),
                    Ok(None) => {
                        warn!(key = %self.key, uplink = %spec.uplink, "uplink not found in the table's namespace: gateways resolved by the kernel");
                        None
                    }
                    Err(e) => {
                        warn!(key = %self.key, error = %e, "looking up the uplink");
                        None
                    }
                };
                let facts = PortFacts {
                    uplink,
                    peers: spec.peers.into_iter().collect(),
                    subnets: spec.subnets,
                };
                for (prefix, hops) in self.merge.set_port(id, facts) {
                    self.set(prefix, hops);
                }
            }
            Msg::RemovePort(id) => {
                for (prefix, hops) in self.merge.remove_port(id) {
                    self.set(prefix, hops);
                }
            }
            Msg::EndReconcile => self.end_reconcile(),
            Msg::Sync(done) => syncs.push(done),
            Msg::Links(events) => self.links.extend(events),
        }
    }

    /// Acts on the link announcements taken in since the last write (all at once): refused
    /// routes are retried when a link came up; when one our routes may use went down, the
    /// table is re-read shortly after (`RESTORE_SETTLE`: the kernel announces the change before
    /// it removes the routes) and once more later (`RESTORE_AGAIN`), so a flapping link costs a
    /// couple of table reads, not one per announcement.
    fn link_events(&mut self, now: Instant) {
        if self.links.is_empty() {
            return;
        }
        let events = std::mem::take(&mut self.links);
        let o = self.fib.link_events(&events);
        if o.retried > 0 {
            debug!(key = %self.key, routes = o.retried, "a link came up: refused routes tried again");
            self.retry_pause = RETRY_EVERY;
        }
        if o.restore_due {
            self.restore_at.get_or_insert(now + RESTORE_SETTLE);
            self.restore_again = true;
        }
    }

    /// Re-reads the table when a link change asked for it (see `Worker::link_events`) and
    /// queues again what the kernel dropped.
    fn restore_if_due(&mut self, now: Instant) {
        if self.restore_at.is_none_or(|at| now < at) {
            return;
        }
        let result = self.fib.restore();
        self.shared.link_rereads.fetch_add(1, Ordering::Relaxed);
        match result {
            Ok(0) => {}
            Ok(n) => {
                info!(key = %self.key, routes = n, "routes the kernel dropped with a link are written again");
                self.shared.restored.fetch_add(n as u64, Ordering::Relaxed);
            }
            Err(e) => self.error(format!("re-reading the table after a link change: {e}")),
        }
        self.restore_at = std::mem::take(&mut self.restore_again).then(|| now + RESTORE_AGAIN);
    }

    fn end_reconcile(&mut self) {
        if !self.fib.reconciling() {
            return;
        }
        match self.fib.end_reconcile() {
            Ok(r) => {
                info!(key = %self.key, removed = r.deleted, kept = r.kept, "reconciliation ended");
                self.report(r);
            }
            Err(e) => self.error(e.to_string()),
        }
        self.shared.reconciling.store(false, Ordering::Relaxed);
    }

    fn error(&self, message: String) {
        warn!(key = %self.key, "{message}");
        if let Ok(mut e) = self.shared.last_error.lock() {
            *e = Some(message);
        }
    }

    fn report(&self, r: fib::FlushReport) {
        if r.refused > 0 {
            let first = r
                .failures
                .iter()
                .take(3)
                .map(|f| f.to_string())
                .collect::<Vec<_>>();
            self.error(format!(
                "{} route(s) refused by the kernel, e.g. {}",
                r.refused,
                first.join("; ")
            ));
        }
        if r.operations() > 0 {
            debug!(key = %self.key, created = r.created, replaced = r.replaced, deleted = r.deleted, "FIB written");
        }
    }

    /// Writes what is queued and updates the gauges; `exact` when someone waits for them.
    fn flush(&mut self, exact: bool) {
        match self.fib.flush() {
            Ok(r) => self.report(r),
            Err(e) => self.error(e.to_string()),
        }
        self.shared
            .installed
            .store(self.fib.len(), Ordering::Relaxed);
        // Counting stale routes walks the table while a reconciliation is under way: not after
        // every write (it would sit between one route change and the next).
        if !self.fib.reconciling() || self.recount.due(Instant::now(), exact) {
            self.shared.stale.store(self.fib.stale(), Ordering::Relaxed);
        }
        self.shared
            .refused
            .store(self.fib.refused(), Ordering::Relaxed);
    }
}

fn writer_loop(
    fib: Fib,
    rx: mpsc::Receiver<Msg>,
    shared: Arc<Shared>,
    key: TableKey,
    deadline: Instant,
) {
    let mut w = Worker {
        fib,
        merge: Merge::new(),
        shared,
        key,
        recount: recount::Recount::default(),
        links: Vec::new(),
        restore_at: None,
        restore_again: false,
        retry_pause: RETRY_EVERY,
    };
    let mut next_retry = Instant::now() + RETRY_EVERY;
    let mut syncs = Vec::new();
    loop {
        let now = Instant::now();
        let mut wake = next_retry;
        if let Some(at) = w.restore_at {
            wake = wake.min(at);
        }
        if w.fib.reconciling() {
            wake = wake.min(deadline);
            if let Some(recount) = w.recount.wake() {
                wake = wake.min(recount);
            }
        }
        match rx.recv_timeout(wake.saturating_duration_since(now)) {
            Ok(msg) => w.handle(msg, &mut syncs),
            Err(RecvTimeoutError::Timeout) => {}
            Err(RecvTimeoutError::Disconnected) => break,
        }
        for _ in 0..DRAIN_MAX {
            match rx.try_recv() {
                Ok(msg) => w.handle(msg, &mut syncs),
                Err(_) => break,
            }
        }
        let now = Instant::now();
        w.link_events(now);
        w.restore_if_due(now);
        if w.fib.reconciling() && now >= deadline {
            w.end_reconcile();
        }
        if now >= next_retry {
            let n = w.fib.retry_failed();
            if n > 0 {
                debug!(key = %w.key, n, pause = ?w.retry_pause, "retrying refused routes");
                w.retry_pause = (w.retry_pause * 2).min(RETRY_MAX);
            } else {
                w.retry_pause = RETRY_EVERY;
            }
            next_retry = now + w.retry_pause;
        }
        w.flush(!syncs.is_empty());
        for done in syncs.drain(..) {
            let _ = done.send(());
        }
    }
    // Every sender is gone (the sink was dropped): write what is queued and stop.
    w.flush(true);
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(gw: &str) -> RoutePath {
        RoutePath {
            gateway: Some(gw.parse().unwrap()),
            ifindex: Some(9),
            distance: 20,
            metric: 0,
            weight: 1,
        }
    }

    fn replace(prefix: &str, paths: &[RoutePath]) -> RouteChange {
        RouteChange::Replace {
            prefix: prefix.parse().unwrap(),
            paths: paths.to_vec(),
        }
    }

    fn unpack(batch: &Batch) -> Vec<RouteChange> {
        batch
            .changes()
            .map(|(prefix, paths)| match paths {
                Some(paths) => RouteChange::Replace {
                    prefix,
                    paths: paths.to_vec(),
                },
                None => RouteChange::Withdraw { prefix },
            })
            .collect()
    }

    #[test]
    fn batches_share_path_sets_and_keep_every_change_in_order() {
        let a = [path("192.0.2.1")];
        let b = [path("192.0.2.2"), path("192.0.2.3")];
        let changes = vec![
            replace("203.0.113.0/24", &a),
            replace("198.51.100.0/24", &a),
            RouteChange::Withdraw {
                prefix: "198.18.0.0/24".parse().unwrap(),
            },
            replace("198.18.1.0/24", &b),
            replace("2001:db8::/48", &a),
        ];
        let batch = Batch::new(&changes);
        assert_eq!(batch.paths.len(), 2, "one copy per distinct path set");
        assert_eq!(unpack(&batch), changes);
        // Beyond the look-back a set is copied again: more copies, the same changes.
        let mut many: Vec<RouteChange> = (0..12)
            .map(|i| {
                replace(
                    &format!("198.18.{i}.0/24"),
                    &[path(&format!("192.0.2.{}", i + 10))],
                )
            })
            .collect();
        many.push(replace("198.18.99.0/24", &[path("192.0.2.10")]));
        let batch = Batch::new(&many);
        assert_eq!(batch.paths.len(), 13);
        assert_eq!(unpack(&batch), many);
        assert!(Batch::new(&[]).prefixes.is_empty());
    }
}
