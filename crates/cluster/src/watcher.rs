//! [`RouteWatcher`]: follows every port's published routes with one persistent recursive watch
//! on `ROOT/routes`. A publication is committed by its `meta` document; on each meta change the
//! watcher fetches only the chunks whose version moved (all of them when the generation
//! changed), and reports the per-prefix differences.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use ipnetwork::IpNetwork;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, Instant};
use tracing::{debug, warn};

use crate::doc::{decode, decode_chunk, PublishedPath, RouteChunk, RouteTable, RoutesMeta};
use crate::error::ClusterError;
use crate::layout::StoreUrl;
use crate::session::{State, Zk};

/// A change of one port's published routes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteEvent {
    /// The port.
    pub port: String,
    /// The publishing host, `None` when the publication is gone (its leader stopped or died).
    pub host: Option<String>,
    /// The publication's version (0 when gone).
    pub version: u64,
    /// Prefixes now reachable through exactly these paths.
    pub replaced: Vec<(IpNetwork, Vec<PublishedPath>)>,
    /// Prefixes no longer reachable.
    pub withdrawn: Vec<IpNetwork>,
}

#[derive(Debug, Default)]
struct PortState {
    host: String,
    version: u64,
    generation: u64,
    chunk_versions: Vec<u64>,
    chunk_prefixes: Vec<Vec<IpNetwork>>,
}

type View = Arc<Mutex<BTreeMap<String, (RoutesMeta, RouteTable)>>>;

/// Follows every port's published routes (see the module docs). Runs its own session, so any
/// process can embed one.
#[derive(Debug)]
pub struct RouteWatcher {
    rx: mpsc::UnboundedReceiver<RouteEvent>,
    view: View,
    task: JoinHandle<()>,
}

impl RouteWatcher {
    /// Connects (the first session must succeed) and starts following; the current routes of
    /// every port arrive as the first events.
    pub async fn start(
        url: &StoreUrl,
        session_timeout: Duration,
    ) -> Result<RouteWatcher, ClusterError> {
        let zk = Zk::connect(url, session_timeout).await?;
        zk.ensure_layout().await?;
        let (tx, rx) = mpsc::unbounded_channel();
        let view: View = Arc::new(Mutex::new(BTreeMap::new()));
        let task = tokio::spawn(run(zk, url.clone(), session_timeout, tx, view.clone()));
        Ok(RouteWatcher { rx, view, task })
    }

    /// The next change (`None` once the watcher stopped).
    pub async fn next(&mut self) -> Option<RouteEvent> {
        self.rx.recv().await
    }

    /// Ports with a publication: (port, meta).
    pub fn ports(&self) -> Vec<(String, RoutesMeta)> {
        match self.view.lock() {
            Ok(v) => v.iter().map(|(p, (m, _))| (p.clone(), m.clone())).collect(),
            Err(_) => Vec::new(),
        }
    }

    /// Number of prefixes currently published by `port`.
    pub fn count(&self, port: &str) -> usize {
        match self.view.lock() {
            Ok(v) => v.get(port).map(|(_, t)| t.len()).unwrap_or(0),
            Err(_) => 0,
        }
    }

    /// A copy of `port`'s current routes with its meta.
    pub fn routes(&self, port: &str) -> Option<(RoutesMeta, RouteTable)> {
        self.view.lock().ok()?.get(port).cloned()
    }
}

impl Drop for RouteWatcher {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn run(
    first: Zk,
    url: StoreUrl,
    session_timeout: Duration,
    tx: mpsc::UnboundedSender<RouteEvent>,
    view: View,
) {
    let mut ports: HashMap<String, PortState> = HashMap::new();
    let mut zk = Some(first);
    loop {
        let session = match zk.take() {
            Some(z) => z,
            None => match Zk::connect(&url, session_timeout).await {
                Ok(z) => z,
                Err(e) => {
                    warn!(error = %e, "route watcher: cannot open a session; retrying");
                    sleep(Duration::from_millis(500)).await;
                    continue;
                }
            },
        };
        if follow(&session, &mut ports, &tx, &view).await.is_err() {
            return; // the receiver is gone
        }
    }
}

/// Follows one session until it ends (`Ok`) or the receiver is dropped (`Err`).
async fn follow(
    zk: &Zk,
    ports: &mut HashMap<String, PortState>,
    tx: &mpsc::UnboundedSender<RouteEvent>,
    view: &View,
) -> Result<(), ()> {
    let root = zk.layout.routes();
    let mut watch = match zk.watch_tree(&root).await {
        Ok(w) => w,
        Err(e) => {
            warn!(error = %e, "route watcher: cannot watch");
            sleep(Duration::from_millis(500)).await;
            return Ok(());
        }
    };
    let mut state = zk.state_watch();
    let mut full = true;
    let mut dirty: BTreeSet<String> = BTreeSet::new();
    let mut sync_at = Some(Instant::now());
    loop {
        let far = Instant::now() + Duration::from_secs(3600);
        tokio::select! {
            biased;
            s = state.changed() => match s {
                State::Ended => return Ok(()),
                State::Connected => { full = true; sync_at = Some(Instant::now()); }
                State::Disconnected => {}
            },
            (path, ended) = watch.changed() => {
                if ended { return Ok(()); }
                // ROOT/routes/PORT/meta (or the port's directory itself).
                if let Some(rest) = path.strip_prefix(&format!("{root}/")) {
                    let mut parts = rest.split('/');
                    if let (Some(port), next) = (parts.next(), parts.next()) {
                        if next.is_none() || next == Some("meta") {
                            dirty.insert(port.to_string());
                            sync_at.get_or_insert(Instant::now() + Duration::from_millis(5));
                        }
                    }
                }
            },
            _ = sleep_until(sync_at.unwrap_or(far)), if sync_at.is_some() && zk.state() == State::Connected => {
                sync_at = None;
                let targets: Vec<String> = if full {
                    match zk.children(&root).await {
                        Ok(mut c) => { c.extend(ports.keys().cloned()); c.sort(); c.dedup(); c }
                        Err(e) => {
                            warn!(error = %e, "route watcher: cannot list ports");
                            sync_at = Some(Instant::now() + Duration::from_millis(200));
                            continue;
                        }
                    }
                } else {
                    std::mem::take(&mut dirty).into_iter().collect()
                };
                full = false;
                for port in targets {
                    match sync_port(zk, &port, ports, view).await {
                        Ok(Some(ev)) => tx.send(ev).map_err(|_| ())?,
                        Ok(None) => {}
                        Err(e) => {
                            debug!(%port, error = %e, "route watcher: port not read; retrying");
                            dirty.insert(port);
                            sync_at = Some(Instant::now() + Duration::from_millis(100));
                        }
                    }
                }
            }
        }
    }
}

/// Brings one port up to date; returns the change, if any.
async fn sync_port(
    zk: &Zk,
    port: &str,
    ports: &mut HashMap<String, PortState>,
    view: &View,
) -> Result<Option<RouteEvent>, ClusterError> {
    let meta_path = zk.layout.routes_meta(port);
    let Some(node) = zk.get(&meta_path).await? else {
        // The publication is gone.
        if ports.remove(port).is_none() {
            return Ok(None);
        }
        let old = view.lock().ok().and_then(|mut v| v.remove(port));
        let withdrawn = old
            .map(|(_, t)| t.into_keys().collect())
            .unwrap_or_default();
        return Ok(Some(RouteEvent {
            port: port.to_string(),
            host: None,
            version: 0,
            replaced: Vec::new(),
            withdrawn,
        }));
    };
    let meta: RoutesMeta = decode(&node.data).map_err(|source| ClusterError::Document {
        path: meta_path.clone(),
        source,
    })?;
    let st = ports.entry(port.to_string()).or_default();
    let whole = st.generation != meta.generation
        || st.chunk_versions.len() != meta.chunks.len()
        || st.host != meta.host
        || meta.version < st.version;
    let wanted: Vec<usize> = meta
        .chunks
        .iter()
        .enumerate()
        .filter(|&(i, v)| whole || st.chunk_versions.get(i).is_none_or(|old| v > old))
        .map(|(i, _)| i)
        .collect();
    if wanted.is_empty() && !whole {
        st.version = meta.version;
        if let Ok(mut v) = view.lock() {
            if let Some(e) = v.get_mut(port) {
                e.0 = meta;
            }
        }
        return Ok(None);
    }
    let paths = paths_of(&wanted, zk, port, meta.generation);
    let started = std::time::Instant::now();
    // Every read is sent at once; chunks are decoded (CPU work: off the runtime) in batches as
    // they arrive, while the rest are still on their way.
    let mut decoding = Vec::new();
    let mut batch: Vec<(usize, String, Vec<u8>)> = Vec::new();
    let (mut bytes, mut batch_bytes) = (0usize, 0usize);
    for ((i, path), answer) in wanted.iter().zip(&paths).zip(zk.get_started(&paths)) {
        let Some(node) = answer.await? else {
            // A newer publication replaced this generation: its meta event follows.
            return Err(ClusterError::Contended(path.clone()));
        };
        bytes += node.data.len();
        batch_bytes += node.data.len();
        batch.push((*i, path.clone(), node.data));
        if batch_bytes >= DECODE_BATCH_BYTES {
            decoding.push(tokio::task::spawn_blocking(decode_batch(std::mem::take(
                &mut batch,
            ))));
            batch_bytes = 0;
        }
    }
    let read = started.elapsed();
    if !batch.is_empty() {
        decoding.push(tokio::task::spawn_blocking(decode_batch(batch)));
    }
    let mut fetched: Vec<(usize, RouteChunk)> = Vec::with_capacity(wanted.len());
    for d in decoding {
        fetched.extend(d.await.map_err(|_| ClusterError::Stopped)??);
    }
    let decoded = started.elapsed();
    // Merging a large table is CPU work too: off the runtime, with the port's state moved there
    // and back.
    let mut state = std::mem::take(st);
    let (view2, port2) = (view.clone(), port.to_string());
    let (state, event) = tokio::task::spawn_blocking(move || {
        let ev = merge(&mut state, &view2, &port2, meta, fetched, whole);
        (state, ev)
    })
    .await
    .map_err(|_| ClusterError::Stopped)?;
    let version = state.version;
    ports.insert(port.to_string(), state);
    debug!(
        %port,
        version,
        chunks = wanted.len(),
        bytes,
        read_ms = read.as_millis() as u64,
        // Decoding overlaps the reads: this is what it took after the last chunk arrived.
        decode_ms = decoded.saturating_sub(read).as_millis() as u64,
        merge_ms = started.elapsed().saturating_sub(decoded).as_millis() as u64,
        "route watcher: chunks read"
    );
    Ok(event)
}

/// Applies the chunks read for `meta` to the port's state and the view; returns the change.
fn merge(
    st: &mut PortState,
    view: &View,
    port: &str,
    meta: RoutesMeta,
    fetched: Vec<(usize, RouteChunk)>,
    whole: bool,
) -> Option<RouteEvent> {
    let mut replaced = Vec::new();
    let mut withdrawn = Vec::new();
    let Ok(mut v) = view.lock() else {
        return None;
    };
    let entry = v
        .entry(port.to_string())
        .or_insert_with(|| (meta.clone(), RouteTable::new()));
    let table = &mut entry.1;
    if whole {
        let mut prefixes = vec![Vec::new(); meta.chunks.len()];
        let total = fetched.iter().map(|(_, c)| c.routes.len()).sum();
        let mut all: Vec<(IpNetwork, Vec<PublishedPath>)> = Vec::with_capacity(total);
        for (i, chunk) in fetched {
            if let Some(slot) = prefixes.get_mut(i) {
                *slot = chunk.routes.iter().map(|(p, _)| *p).collect();
            }
            all.extend(chunk.routes);
        }
        // Sorted once, then compared with the old table in one merge pass (both in prefix
        // order) and turned into the new table in bulk: no lookup per route.
        all.sort_unstable_by_key(|a| a.0);
        all.dedup_by(|later, earlier| later.0 == earlier.0);
        let mut old = std::mem::take(table).into_iter().peekable();
        for (p, paths) in &all {
            while let Some((gone, _)) = old.next_if(|(o, _)| o < p) {
                withdrawn.push(gone);
            }
            match old.next_if(|(o, _)| o == p) {
                Some((_, before)) if before == *paths => {}
                _ => replaced.push((*p, paths.clone())),
            }
        }
        withdrawn.extend(old.map(|(p, _)| p));
        *table = all.into_iter().collect();
        st.chunk_prefixes = prefixes;
        st.chunk_versions = meta.chunks.clone();
    } else {
        for (i, chunk) in fetched {
            let new: HashMap<IpNetwork, Vec<PublishedPath>> = chunk.routes.into_iter().collect();
            // `i` indexes both lists (they have the meta's chunk count when `whole` is false).
            let (Some(old_prefixes), Some(old_version)) =
                (st.chunk_prefixes.get_mut(i), st.chunk_versions.get_mut(i))
            else {
                continue;
            };
            for p in old_prefixes.iter() {
                if !new.contains_key(p) && table.remove(p).is_some() {
                    withdrawn.push(*p);
                }
            }
            *old_prefixes = new.keys().copied().collect();
            for (p, paths) in new {
                if table.get(&p) != Some(&paths) {
                    table.insert(p, paths.clone());
                    replaced.push((p, paths));
                }
            }
            *old_version = chunk
                .version
                .max(meta.chunks.get(i).copied().unwrap_or_default());
        }
    }
    st.generation = meta.generation;
    st.version = meta.version;
    st.host = meta.host.clone();
    entry.0 = meta.clone();
    Some(RouteEvent {
        port: port.to_string(),
        host: Some(meta.host),
        version: meta.version,
        replaced,
        withdrawn,
    })
}

/// Encoded chunks handed to one decoding job (a few dozen chunks of a large table).
const DECODE_BATCH_BYTES: usize = 1 << 20;

/// Decodes a batch of chunks: `(index, path, data)` → `(index, chunk)`.
fn decode_batch(
    batch: Vec<(usize, String, Vec<u8>)>,
) -> impl FnOnce() -> Result<Vec<(usize, RouteChunk)>, ClusterError> {
    move || {
        batch
            .into_iter()
            .map(|(i, path, data)| {
                decode_chunk(&data)
                    .map(|c| (i, c))
                    .map_err(|source| ClusterError::Document { path, source })
            })
            .collect()
    }
}

fn paths_of(wanted: &[usize], zk: &Zk, port: &str, generation: u64) -> Vec<String> {
    wanted
        .iter()
        .map(|&i| zk.layout.chunk(port, generation, i))
        .collect()
}
