//! Where learned routes go: the [`RouteSink`] contract the embedder implements, a sink that
//! forwards batches into a channel, and [`TableSink`], the controller's one table of learned
//! routes.
//!
//! # The contract
//!
//! A route crosses one model from bgpd to the sink: the zebra server turns bgpd's ROUTE_ADD /
//! ROUTE_DELETE into [`RouteChange`]s (the server's `RouteEvent`) and hands them over in
//! batches; each port actor takes a batch and calls [`RouteSink::apply`] once with every route
//! change of it, in order, for its port. Nobody between the server and the sink keeps the
//! routes: the server keeps a fingerprint per prefix (to drop repeats and to withdraw a
//! client's routes), the sink keeps whatever its purpose needs.
//!
//! - `apply(port, changes)`: `Replace` sets the prefix's full ECMP path set (a prefix the sink
//!   does not know is added), `Withdraw` removes it (a prefix it does not know is ignored).
//!   A batch holds at most a few thousand changes; a prefix may appear in it more than once,
//!   the last change wins.
//! - `withdraw_all(port)`: every route of the port is gone (bgpd exited, its zebra session
//!   ended, the port stopped or is rebuilt). Cheaper than a withdrawal per route for a sink
//!   that can drop a whole port at once (a kernel table, a ZooKeeper subtree).
//! - `installed(port)`: what the sink holds for the port, for `status`; `None` when it does
//!   not keep count.
//!
//! Sinks are called from the port actors (one task per port, several ports at once), so they
//! must not block: a sink that writes a kernel FIB (`kernel::KernelSink`: one batch becomes
//! one FIB write), streams to watchers or publishes to ZooKeeper queues the batch to its own
//! task. [`TeeSink`] feeds several sinks the same batches.
//!
//! Graceful restart needs nothing of a sink: when a bgpd that declared GR goes away, the zebra
//! server keeps its routes (stale) and the actor does not call `withdraw_all`; the routes the
//! restarted bgpd sends again are unchanged (no change reaches the sink), and those it does
//! not are withdrawn, in batches, when the zebra server's GR timer sweeps them.

use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::ops::Bound;
use std::sync::{Arc, Mutex, MutexGuard};

use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;

use crate::types::{RouteChange, RoutePath};

/// What a sink holds for one port.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Installed {
    /// Routes held.
    pub routes: u64,
    /// Routes held per gateway (a route with paths through several gateways counts once for
    /// each), in gateway order.
    pub by_gateway: Vec<(IpAddr, u64)>,
}

/// Where learned routes go: the embedder's virtual router, a kernel table, watchers. See the
/// module documentation for the contract.
pub trait RouteSink: Send + Sync + 'static {
    /// Applies a batch of `port`'s route changes, in order.
    fn apply(&self, port: &str, changes: &[RouteChange]);
    /// Every route of `port` is gone.
    fn withdraw_all(&self, port: &str);
    /// What the sink holds for `port`, if it keeps count.
    fn installed(&self, _port: &str) -> Option<Installed> {
        None
    }
}

/// What a [`ChannelSink`] forwards.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum SinkEvent {
    /// A batch of route changes of one port.
    Apply {
        /// The port.
        port: String,
        /// Its changes, in order.
        changes: Vec<RouteChange>,
    },
    /// Every route of the port is gone.
    WithdrawAll {
        /// The port.
        port: String,
    },
}

/// A [`RouteSink`] that forwards every batch into a channel (for printing, tests, or a separate
/// consumer task).
#[derive(Debug, Clone)]
pub struct ChannelSink {
    tx: mpsc::UnboundedSender<SinkEvent>,
}

impl ChannelSink {
    /// A sink and the receiving end of its batches.
    pub fn new() -> (ChannelSink, mpsc::UnboundedReceiver<SinkEvent>) {
        let (tx, rx) = mpsc::unbounded_channel();
        (ChannelSink { tx }, rx)
    }
}

impl RouteSink for ChannelSink {
    fn apply(&self, port: &str, changes: &[RouteChange]) {
        let _ = self.tx.send(SinkEvent::Apply {
            port: port.to_string(),
            changes: changes.to_vec(),
        });
    }
    fn withdraw_all(&self, port: &str) {
        let _ = self.tx.send(SinkEvent::WithdrawAll {
            port: port.to_string(),
        });
    }
}

/// A [`RouteSink`] handing every batch to several sinks, in order (the controller's table,
/// then a kernel FIB writer, ...). `installed` is the first sink's answer that has one.
pub struct TeeSink {
    sinks: Vec<Arc<dyn RouteSink>>,
}

impl TeeSink {
    /// A sink feeding `sinks`, in this order.
    pub fn new(sinks: Vec<Arc<dyn RouteSink>>) -> TeeSink {
        TeeSink { sinks }
    }
}

impl std::fmt::Debug for TeeSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TeeSink")
            .field("sinks", &self.sinks.len())
            .finish()
    }
}

impl RouteSink for TeeSink {
    fn apply(&self, port: &str, changes: &[RouteChange]) {
        for s in &self.sinks {
            s.apply(port, changes);
        }
    }

    fn withdraw_all(&self, port: &str) {
        for s in &self.sinks {
            s.withdraw_all(port);
        }
    }

    fn installed(&self, port: &str) -> Option<Installed> {
        self.sinks.iter().find_map(|s| s.installed(port))
    }
}

/// One learned route of one port, as listed.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteRow {
    /// The port that learned it.
    pub port: String,
    /// The prefix.
    pub prefix: IpNetwork,
    /// Its ECMP paths.
    pub paths: Vec<RoutePath>,
}

/// Where a listing continues: after this route of this port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteCursor {
    /// The port of the last route listed.
    pub port: String,
    /// The last route listed.
    pub prefix: IpNetwork,
}

/// Which routes to list, and how many at most.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RouteQuery {
    /// Only this port's routes.
    #[serde(default)]
    pub port: Option<String>,
    /// Only routes inside this prefix (the prefix itself and its more-specifics).
    #[serde(default)]
    pub within: Option<IpNetwork>,
    /// Continue after this route (the previous page's `next`).
    #[serde(default)]
    pub after: Option<RouteCursor>,
    /// Most routes in the page (at least 1, at most [`TableSink::MAX_PAGE`]).
    #[serde(default)]
    pub limit: usize,
}

/// One page of a listing.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RoutePage {
    /// Routes in port order, then IPv4 before IPv6, by address, then by prefix length.
    pub routes: Vec<RouteRow>,
    /// Where the next page starts; `None` on the last page.
    pub next: Option<RouteCursor>,
}

/// Interned path sets of one port: routes with the same paths (most of a full table) share one.
#[derive(Debug, Default)]
struct PathSets {
    slots: Vec<Option<(Arc<[RoutePath]>, u64)>>,
    index: HashMap<Arc<[RoutePath]>, u32>,
    free: Vec<u32>,
}

impl PathSets {
    /// The id of `paths` (in a canonical order), with one more reference.
    fn acquire(&mut self, paths: &[RoutePath]) -> u32 {
        let mut sorted = paths.to_vec();
        sorted.sort_unstable();
        sorted.dedup();
        if let Some(&id) = self.index.get(sorted.as_slice()) {
            if let Some(Some((_, refs))) = self.slots.get_mut(id as usize) {
                *refs += 1;
            }
            return id;
        }
        let set: Arc<[RoutePath]> = sorted.into();
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                self.slots.push(None);
                (self.slots.len() - 1) as u32
            }
        };
        if let Some(slot) = self.slots.get_mut(id as usize) {
            *slot = Some((set.clone(), 1));
        }
        self.index.insert(set, id);
        id
    }

    /// Drops one reference to `id`; the set goes when the last one does.
    fn release(&mut self, id: u32) {
        let Some(slot) = self.slots.get_mut(id as usize) else {
            return;
        };
        let gone = match slot {
            Some((_, refs)) if *refs > 1 => {
                *refs -= 1;
                None
            }
            Some(_) => slot.take(),
            None => None,
        };
        if let Some((set, _)) = gone {
            self.index.remove(&set);
            self.free.push(id);
        }
    }

    fn get(&self, id: u32) -> &[RoutePath] {
        match self.slots.get(id as usize) {
            Some(Some((set, _))) => set,
            _ => &[],
        }
    }
}

/// IPv4 key: address then prefix length, so that the map's order is the listing order.
fn key4(p: &Ipv4Network) -> u64 {
    (u64::from(u32::from(p.network())) << 8) | u64::from(p.prefix())
}

fn prefix4(key: u64) -> IpNetwork {
    let addr = Ipv4Addr::from((key >> 8) as u32);
    let len = (key & 0xff) as u8;
    Ipv4Network::new(addr, len).map_or(IpNetwork::V4(Ipv4Network::from(addr)), IpNetwork::V4)
}

fn key6(p: &Ipv6Network) -> (u128, u8) {
    (u128::from(p.network()), p.prefix())
}

fn prefix6(key: (u128, u8)) -> IpNetwork {
    let addr = Ipv6Addr::from(key.0);
    Ipv6Network::new(addr, key.1).map_or(IpNetwork::V6(Ipv6Network::from(addr)), IpNetwork::V6)
}

/// The routes of one port: prefix → interned path set (about 25 bytes per IPv4 route).
#[derive(Debug, Default)]
struct PortTable {
    v4: BTreeMap<u64, u32>,
    v6: BTreeMap<(u128, u8), u32>,
    sets: PathSets,
}

impl PortTable {
    fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    fn replace(&mut self, prefix: &IpNetwork, paths: &[RoutePath]) {
        if paths.is_empty() {
            return self.withdraw(prefix);
        }
        let id = self.sets.acquire(paths);
        let old = match normalize(prefix) {
            IpNetwork::V4(p) => self.v4.insert(key4(&p), id),
            IpNetwork::V6(p) => self.v6.insert(key6(&p), id),
        };
        if let Some(old) = old {
            self.sets.release(old);
        }
    }

    fn withdraw(&mut self, prefix: &IpNetwork) {
        let old = match normalize(prefix) {
            IpNetwork::V4(p) => self.v4.remove(&key4(&p)),
            IpNetwork::V6(p) => self.v6.remove(&key6(&p)),
        };
        if let Some(old) = old {
            self.sets.release(old);
        }
    }

    fn installed(&self) -> Installed {
        let mut by_gateway: BTreeMap<IpAddr, u64> = BTreeMap::new();
        for (set, refs) in self.sets.slots.iter().flatten() {
            let mut gateways: Vec<IpAddr> = set.iter().filter_map(|p| p.gateway).collect();
            gateways.dedup();
            for g in gateways {
                *by_gateway.entry(g).or_insert(0) += refs;
            }
        }
        Installed {
            routes: self.len() as u64,
            by_gateway: by_gateway.into_iter().collect(),
        }
    }

    /// Appends to `out` the routes after `after` (in this port) inside `within` until `out`
    /// holds `cap` routes; returns whether it stopped there with more to list.
    fn list(
        &self,
        port: &str,
        within: Option<&IpNetwork>,
        after: Option<&IpNetwork>,
        cap: usize,
        out: &mut Vec<RouteRow>,
    ) -> bool {
        let want_v4 = !matches!(within, Some(IpNetwork::V6(_)));
        let want_v6 = !matches!(within, Some(IpNetwork::V4(_)));
        let after_v6 = matches!(after, Some(IpNetwork::V6(_)));
        let push = |prefix: IpNetwork, id: u32, out: &mut Vec<RouteRow>| -> bool {
            if out.len() >= cap {
                return false;
            }
            out.push(RouteRow {
                port: port.to_string(),
                prefix,
                paths: self.sets.get(id).to_vec(),
            });
            true
        };
        if want_v4 && !after_v6 {
            let (lo, hi, min_len) = match within {
                Some(IpNetwork::V4(w)) => {
                    let w = normalize4(w);
                    let hi = (u64::from(u32::from(w.broadcast())) << 8) | 32;
                    (key4(&w), hi, w.prefix())
                }
                _ => (0, u64::MAX, 0),
            };
            let start = match after {
                Some(IpNetwork::V4(a)) if key4(&normalize4(a)) >= lo => {
                    Bound::Excluded(key4(&normalize4(a)))
                }
                _ => Bound::Included(lo),
            };
            for (&k, &id) in self.v4.range((start, Bound::Included(hi))) {
                if (k & 0xff) as u8 >= min_len && !push(prefix4(k), id, out) {
                    return true;
                }
            }
        }
        if want_v6 {
            let (lo, hi, min_len) = match within {
                Some(IpNetwork::V6(w)) => {
                    let w = normalize6(w);
                    let bcast = u128::from(w.network())
                        | (u128::MAX.checked_shr(u32::from(w.prefix())).unwrap_or(0));
                    (key6(&w), (bcast, 128), w.prefix())
                }
                _ => ((0, 0), (u128::MAX, u8::MAX), 0),
            };
            let start = match after {
                Some(IpNetwork::V6(a)) if key6(&normalize6(a)) >= lo => {
                    Bound::Excluded(key6(&normalize6(a)))
                }
                _ => Bound::Included(lo),
            };
            for (&k, &id) in self.v6.range((start, Bound::Included(hi))) {
                if k.1 >= min_len && !push(prefix6(k), id, out) {
                    return true;
                }
            }
        }
        false
    }
}

fn normalize4(p: &Ipv4Network) -> Ipv4Network {
    Ipv4Network::new(p.network(), p.prefix()).unwrap_or(*p)
}

fn normalize6(p: &Ipv6Network) -> Ipv6Network {
    Ipv6Network::new(p.network(), p.prefix()).unwrap_or(*p)
}

fn normalize(p: &IpNetwork) -> IpNetwork {
    match p {
        IpNetwork::V4(p) => IpNetwork::V4(normalize4(p)),
        IpNetwork::V6(p) => IpNetwork::V6(normalize6(p)),
    }
}

/// The controller's table of learned routes: the one place that keeps them, per port, ordered
/// for listing page by page. Routes with the same path set share it (a full table from one
/// peer costs about 25 bytes per IPv4 route).
#[derive(Debug, Default)]
pub struct TableSink {
    ports: Mutex<BTreeMap<String, PortTable>>,
}

impl TableSink {
    /// Most routes in one page.
    pub const MAX_PAGE: usize = 10_000;

    /// An empty table.
    pub fn new() -> TableSink {
        TableSink::default()
    }

    fn lock(&self) -> MutexGuard<'_, BTreeMap<String, PortTable>> {
        self.ports.lock().unwrap_or_else(|p| p.into_inner())
    }

    /// Every route of `port` (a copy; for tests and small tables, use [`TableSink::page`] for
    /// large ones).
    pub fn routes(&self, port: &str) -> BTreeMap<IpNetwork, Vec<RoutePath>> {
        let ports = self.lock();
        let Some(t) = ports.get(port) else {
            return BTreeMap::new();
        };
        let v4 = t.v4.iter().map(|(&k, &id)| (prefix4(k), id));
        let v6 = t.v6.iter().map(|(&k, &id)| (prefix6(k), id));
        v4.chain(v6)
            .map(|(p, id)| (p, t.sets.get(id).to_vec()))
            .collect()
    }

    /// Number of routes of `port`.
    pub fn port_len(&self, port: &str) -> usize {
        self.lock().get(port).map_or(0, PortTable::len)
    }

    /// Number of routes over all ports.
    pub fn len(&self) -> usize {
        self.lock().values().map(PortTable::len).sum()
    }

    /// Whether no port has any route.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// One page of routes matching `query` (see [`RoutePage`] for the order).
    pub fn page(&self, query: &RouteQuery) -> RoutePage {
        let limit = query.limit.clamp(1, Self::MAX_PAGE);
        let ports = self.lock();
        let mut routes = Vec::new();
        let start = match (&query.port, &query.after) {
            (Some(p), _) => Bound::Included(p.as_str()),
            (None, Some(a)) => Bound::Included(a.port.as_str()),
            (None, None) => Bound::Unbounded,
        };
        let end = match &query.port {
            Some(p) => Bound::Included(p.as_str()),
            None => Bound::Unbounded,
        };
        let mut more = false;
        for (name, table) in ports.range::<str, _>((start, end)) {
            let after = match &query.after {
                Some(a) if a.port == *name => Some(&a.prefix),
                Some(a) if a.port.as_str() > name.as_str() => continue,
                _ => None,
            };
            if table.list(name, query.within.as_ref(), after, limit + 1, &mut routes) {
                more = true;
            }
            if routes.len() > limit {
                more = true;
                break;
            }
        }
        if routes.len() > limit {
            routes.truncate(limit);
        }
        let next = match routes.last() {
            Some(last) if more => Some(RouteCursor {
                port: last.port.clone(),
                prefix: last.prefix,
            }),
            _ => None,
        };
        RoutePage { routes, next }
    }
}

impl RouteSink for TableSink {
    fn apply(&self, port: &str, changes: &[RouteChange]) {
        let mut ports = self.lock();
        let table = match ports.get_mut(port) {
            Some(t) => t,
            None => ports.entry(port.to_string()).or_default(),
        };
        for c in changes {
            match c {
                RouteChange::Replace { prefix, paths } => table.replace(prefix, paths),
                RouteChange::Withdraw { prefix } => table.withdraw(prefix),
            }
        }
        if table.len() == 0 {
            ports.remove(port);
        }
    }

    fn withdraw_all(&self, port: &str) {
        let gone = self.lock().remove(port);
        // Freed outside the lock: a full table takes a while to drop.
        drop(gone);
    }

    fn installed(&self, port: &str) -> Option<Installed> {
        Some(
            self.lock()
                .get(port)
                .map(PortTable::installed)
                .unwrap_or_default(),
        )
    }
}

#[cfg(test)]
#[path = "sink_tests.rs"]
mod tests;
