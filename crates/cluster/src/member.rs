//! A host's membership in the cluster: its liveness znode, its candidacy in the elections of
//! the ports that list it, fencing when its session is in doubt, the [`Assignment`] of ports it
//! must run, their status, and the publication of their learned routes.
//!
//! Rules (see `docs/cluster.md` for the timeline):
//! * A host runs a port only while it holds the lowest sequence number in the port's election
//!   and is not fenced.
//! * Fencing: the session's state is followed by a task of its own. `Disconnected` for longer
//!   than `fence_after` (default 2/5 of the negotiated session timeout), or the session ending,
//!   fences the host: the assignment becomes empty at once, so the embedder stops every port
//!   before the servers can expire the session and let a standby start them.
//! * Reconnected within the same session: everything is re-read and reconciled; ports whose
//!   leadership survived come back unchanged (a port that was not fenced is not touched at all).
//! * A new session (after expiry): the host registers again and re-enters every election at the
//!   back of the queue.

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ipnetwork::IpNetwork;
use serde_json::{Map, Value};
use tokio::sync::{mpsc, watch};
use tokio::task::JoinHandle;
use tokio::time::{sleep, sleep_until, Instant};
use tracing::{debug, info, warn};

use crate::doc::{
    decode, encode, now_ms, AnnouncementDoc, HostDoc, HostState, PortDoc, StatusDoc, SCHEMA,
};
use crate::error::ClusterError;
use crate::fence::{fence_task, AbortOnDrop};
use crate::layout::{check_host_id, StoreUrl};
use crate::runs::Runs;
use crate::session::{State, Zk};
use crate::store::{foreign_chunks, sequence_of};
use crate::table::{ChunkedTable, FlushPacer, TableChange, DEFAULT_MAX_CHUNK_BYTES};

/// Validates one port's configuration (the `[[port]]` keys) with the embedder's rules; returns
/// every problem found.
pub type Validator =
    Arc<dyn Fn(&str, &Map<String, Value>) -> Result<(), Vec<String>> + Send + Sync>;

/// How a host joins the cluster.
#[derive(Debug, Clone)]
pub struct MemberConfig {
    /// The store.
    pub url: StoreUrl,
    /// This host's id (1–64 of `[A-Za-z0-9_-]`), unique in the cluster.
    pub host_id: String,
    /// Requested session timeout (the servers may clamp it).
    pub session_timeout: Duration,
    /// How long `Disconnected` may last before the host fences itself; default 2/5 of the
    /// negotiated session timeout. Must stay well below it (see `docs/cluster.md`).
    pub fence_after: Option<Duration>,
    /// Route changes are gathered this long before a publication.
    pub flush_interval: Duration,
    /// Upper bound of a route chunk's size.
    pub max_chunk_bytes: usize,
    /// Full re-read of the store even without events (a safety net).
    pub resync_interval: Duration,
}

impl MemberConfig {
    /// Defaults: session timeout 10 s, fencing after 2/5 of it, 50 ms route batching,
    /// 256 KiB chunks, a full re-read every 30 s.
    pub fn new(url: StoreUrl, host_id: &str) -> MemberConfig {
        MemberConfig {
            url,
            host_id: host_id.to_string(),
            session_timeout: Duration::from_secs(10),
            fence_after: None,
            flush_interval: Duration::from_millis(50),
            max_chunk_bytes: DEFAULT_MAX_CHUNK_BYTES,
            resync_interval: Duration::from_secs(30),
        }
    }
}

/// A port this host leads and must run.
#[derive(Debug, Clone, PartialEq)]
pub struct AssignedPort {
    /// The last valid configuration (a refused update leaves it unchanged).
    pub config: Map<String, Value>,
    /// Version of `ROOT/ports/PORT` it comes from.
    pub config_version: i32,
    /// Networks announced by an SDN controller (the last valid list).
    pub announcements: Vec<IpNetwork>,
    /// The port's previous run (on any host, or an earlier run here) did not stop cleanly
    /// (see [`crate::runs`]): start its first bgpd as a restart (graceful restart's F bit), so
    /// the providers keep the routes they hold for it. False on a first start or after a clean
    /// stop.
    pub restart: bool,
}

/// What this host must run now.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Assignment {
    /// True while the host is fenced: `ports` is empty, stop everything.
    pub fenced: bool,
    /// Ports this host leads.
    pub ports: BTreeMap<String, AssignedPort>,
}

enum Cmd {
    Released(String),
    Publish(String, Vec<TableChange>),
    Report(String, Value),
    Shutdown(tokio::sync::oneshot::Sender<()>),
}

/// A host's membership (see the module docs). Dropping it without [`Member::shutdown`] leaves
/// the session to expire.
#[derive(Debug)]
pub struct Member {
    tx: mpsc::UnboundedSender<Cmd>,
    assignment: watch::Receiver<Assignment>,
    task: JoinHandle<()>,
    host: String,
}

impl std::fmt::Debug for Cmd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Cmd::Publish(p, c) => write!(f, "Publish({p}, {} changes)", c.len()),
            Cmd::Report(p, _) => write!(f, "Report({p})"),
            Cmd::Released(p) => write!(f, "Released({p})"),
            Cmd::Shutdown(_) => write!(f, "Shutdown"),
        }
    }
}

impl Member {
    /// Connects (the first session must succeed), registers the host and starts following the
    /// store. `validator` checks each port configuration before it is assigned.
    pub async fn start(cfg: MemberConfig, validator: Validator) -> Result<Member, ClusterError> {
        check_host_id(&cfg.host_id)?;
        let zk = Zk::connect(&cfg.url, cfg.session_timeout).await?;
        zk.ensure_layout().await?;
        let (assign_tx, assign_rx) = watch::channel(Assignment::default());
        let (tx, rx) = mpsc::unbounded_channel();
        let host = cfg.host_id.clone();
        let task = Task {
            cfg,
            validator,
            assign_tx: Arc::new(assign_tx),
            fenced: Arc::new(AtomicBool::new(false)),
            my_nodes: HashMap::new(),
            assigned: BTreeMap::new(),
            written_status: HashMap::new(),
            desired_status: HashMap::new(),
            details: HashMap::new(),
            tables: HashMap::new(),
            releasing: std::collections::HashSet::new(),
            host_doc: None,
            runs: Runs::new(&host),
        };
        let task = tokio::spawn(task.run(zk, rx));
        Ok(Member {
            tx,
            assignment: assign_rx,
            task,
            host,
        })
    }

    /// This host's id.
    pub fn host_id(&self) -> &str {
        &self.host
    }

    /// The assignment, updated whenever it changes.
    pub fn assignment(&self) -> watch::Receiver<Assignment> {
        self.assignment.clone()
    }

    /// Publishes route changes of a port this host runs (ignored for a port it does not lead).
    /// Never blocks; changes are batched.
    pub fn publish(&self, port: &str, changes: Vec<TableChange>) -> Result<(), ClusterError> {
        self.publisher().publish(port, changes)
    }

    /// Reports the running port's state (any JSON; written to `ROOT/status/PORT` when changed).
    pub fn report(&self, port: &str, detail: Value) -> Result<(), ClusterError> {
        self.publisher().report(port, detail)
    }

    /// Confirms that a port which left the assignment while this host ran it (removed, or
    /// this host no longer a candidate) is stopped. Only then does the host leave the port's
    /// election, so the next candidate cannot start it while this copy still runs. (Losing the
    /// session needs no confirmation: fencing has stopped the port before the session can
    /// expire.)
    pub fn released(&self, port: &str) -> Result<(), ClusterError> {
        self.publisher().released(port)
    }

    /// A cloneable handle for [`Member::publish`] and [`Member::report`] (e.g. for a route
    /// sink called from other tasks).
    pub fn publisher(&self) -> Publisher {
        Publisher {
            tx: self.tx.clone(),
        }
    }

    /// Leaves the cluster: marks the run records of its ports stopped (call it after stopping
    /// every port: a clean stop; see [`crate::runs`]), deletes its published routes, resigns from
    /// every election, removes its liveness znode and closes the session.
    pub async fn shutdown(self) {
        let (done_tx, done_rx) = tokio::sync::oneshot::channel();
        if self.tx.send(Cmd::Shutdown(done_tx)).is_ok() {
            let _ = tokio::time::timeout(Duration::from_secs(10), done_rx).await;
        }
        self.task.abort();
    }
}

/// Publishes routes and status through a [`Member`] (see [`Member::publisher`]).
#[derive(Debug, Clone)]
pub struct Publisher {
    tx: mpsc::UnboundedSender<Cmd>,
}

impl Publisher {
    /// See [`Member::publish`].
    pub fn publish(&self, port: &str, changes: Vec<TableChange>) -> Result<(), ClusterError> {
        self.tx
            .send(Cmd::Publish(port.to_string(), changes))
            .map_err(|_| ClusterError::Stopped)
    }

    /// See [`Member::released`].
    pub fn released(&self, port: &str) -> Result<(), ClusterError> {
        self.tx
            .send(Cmd::Released(port.to_string()))
            .map_err(|_| ClusterError::Stopped)
    }

    /// See [`Member::report`].
    pub fn report(&self, port: &str, detail: Value) -> Result<(), ClusterError> {
        self.tx
            .send(Cmd::Report(port.to_string(), detail))
            .map_err(|_| ClusterError::Stopped)
    }
}

impl Drop for Member {
    fn drop(&mut self) {
        self.task.abort();
    }
}

enum Exit {
    Shutdown(tokio::sync::oneshot::Sender<()>),
    SessionEnded,
}

#[derive(PartialEq)]
struct WrittenStatus {
    state: String,
    error: Option<String>,
    config_version: Option<i32>,
    detail: Value,
}

struct Task {
    cfg: MemberConfig,
    validator: Validator,
    assign_tx: Arc<watch::Sender<Assignment>>,
    fenced: Arc<AtomicBool>,
    /// Our election znode (name) per port, in the current session.
    my_nodes: HashMap<String, String>,
    /// Ports we lead with their last valid configuration.
    assigned: BTreeMap<String, AssignedPort>,
    written_status: HashMap<String, WrittenStatus>,
    desired_status: HashMap<String, WrittenStatus>,
    details: HashMap<String, Value>,
    tables: HashMap<String, (ChunkedTable, bool)>,
    /// Ports we ran and must leave: our election znode stays until the embedder releases them.
    releasing: std::collections::HashSet<String>,
    host_doc: Option<Vec<String>>,
    /// Run records of the ports we claimed.
    runs: Runs,
}

impl Task {
    async fn run(mut self, first: Zk, mut rx: mpsc::UnboundedReceiver<Cmd>) {
        let mut zk = Some(first);
        let mut delay = Duration::from_millis(200);
        loop {
            let session = match zk.take() {
                Some(z) => z,
                None => {
                    tokio::select! {
                        r = Zk::connect(&self.cfg.url, self.cfg.session_timeout) => match r {
                            Ok(z) => { delay = Duration::from_millis(200); z }
                            Err(e) => {
                                warn!(error = %e, "cluster: cannot open a session; retrying");
                                sleep(delay).await;
                                delay = (delay * 2).min(Duration::from_secs(5));
                                continue;
                            }
                        },
                        cmd = rx.recv() => {
                            match cmd {
                                None => return,
                                Some(Cmd::Shutdown(done)) => { let _ = done.send(()); return; }
                                Some(c) => self.command(c),
                            }
                            continue;
                        }
                    }
                }
            };
            info!(host = %self.cfg.host_id, session = format!("{:#x}", session.session_id()), "cluster: session open");
            match self.serve(session, &mut rx).await {
                Exit::Shutdown(done) => {
                    let _ = done.send(());
                    return;
                }
                Exit::SessionEnded => {
                    warn!(host = %self.cfg.host_id, "cluster: session ended; fenced until a new one is established");
                    self.fence();
                    self.my_nodes.clear();
                    self.releasing.clear();
                    self.written_status.clear();
                    self.host_doc = None;
                    for (t, _) in self.tables.values_mut() {
                        t.forget_written();
                    }
                }
            }
        }
    }

    fn fence(&self) {
        self.fenced.store(true, Ordering::SeqCst);
        self.assign_tx.send_if_modified(|a| {
            let changed = !a.fenced || !a.ports.is_empty();
            a.fenced = true;
            a.ports.clear();
            changed
        });
    }

    fn command(&mut self, c: Cmd) {
        match c {
            Cmd::Publish(port, changes) => {
                if !self.assigned.contains_key(&port) || self.fenced.load(Ordering::SeqCst) {
                    debug!(%port, "cluster: route changes for a port this host does not run; dropped");
                    return;
                }
                let host = self.cfg.host_id.clone();
                let max = self.cfg.max_chunk_bytes;
                let (t, _) = self
                    .tables
                    .entry(port)
                    .or_insert_with(|| (ChunkedTable::new(&host, max), true));
                for c in changes {
                    t.apply(c);
                }
            }
            Cmd::Report(port, detail) => {
                self.details.insert(port, detail);
            }
            Cmd::Shutdown(_) | Cmd::Released(_) => {}
        }
    }

    async fn serve(&mut self, zk: Zk, rx: &mut mpsc::UnboundedReceiver<Cmd>) -> Exit {
        let l = zk.layout.clone();
        let session_timeout = zk.session_timeout();
        let fence_after = self
            .cfg
            .fence_after
            .unwrap_or(session_timeout * 2 / 5)
            .min(session_timeout);
        // Fencing runs on its own so a long publication never delays it.
        let fencer = tokio::spawn(fence_task(
            zk.state_watch(),
            fence_after,
            self.fenced.clone(),
            self.assign_tx.clone(),
        ));
        let _abort = AbortOnDrop(fencer);
        if let Err(e) = self.register(&zk).await {
            warn!(error = %e, "cluster: cannot register the host");
            if zk.state() == State::Ended || !e.is_transient() {
                return Exit::SessionEnded;
            }
        }
        let mut watches = Vec::new();
        for p in [l.ports(), l.elections(), l.announcements(), l.hosts()] {
            match zk.watch_tree(&p).await {
                Ok(w) => watches.push(w),
                Err(e) => {
                    warn!(error = %e, "cluster: cannot watch the store");
                    return Exit::SessionEnded;
                }
            }
        }
        let [mut w_ports, mut w_elect, mut w_ann, mut w_hosts] = match <[_; 4]>::try_from(watches) {
            Ok(w) => w,
            Err(_) => return Exit::SessionEnded,
        };
        let mut state = zk.state_watch();
        let mut resync_at = Some(Instant::now());
        let mut next_full = Instant::now() + self.cfg.resync_interval;
        let mut flush_at: Option<Instant> = None;
        let mut pacer = FlushPacer::new(self.cfg.flush_interval);
        let far = Duration::from_secs(3600);
        loop {
            let connected = zk.state() == State::Connected;
            if self.tables.values().any(|(t, _)| t.is_dirty()) && flush_at.is_none() {
                flush_at = Some(Instant::from_std(pacer.due(std::time::Instant::now())));
            }
            tokio::select! {
                biased;
                s = state.changed() => match s {
                    State::Ended => return Exit::SessionEnded,
                    State::Connected => {
                        info!(host = %self.cfg.host_id, "cluster: reconnected; re-reading the store");
                        resync_at = Some(Instant::now());
                    }
                    State::Disconnected => {
                        warn!(host = %self.cfg.host_id, ?fence_after, "cluster: disconnected from the store; fencing if it lasts");
                    }
                },
                // Before commands: with the pacer's rests, a steady stream of route batches can
                // neither starve publication nor be published batch by batch.
                _ = sleep_until(flush_at.unwrap_or(Instant::now() + far)), if flush_at.is_some() && connected => {
                    flush_at = None;
                    let started = std::time::Instant::now();
                    self.flush(&zk).await;
                    pacer.published(started, std::time::Instant::now());
                    self.write_statuses(&zk).await;
                }
                cmd = rx.recv() => match cmd {
                    None => return Exit::SessionEnded,
                    Some(Cmd::Shutdown(done)) => {
                        self.leave(&zk).await;
                        return Exit::Shutdown(done);
                    }
                    Some(Cmd::Released(port)) => {
                        if self.releasing.remove(&port) {
                            // Stopped by the embedder while connected: a clean stop (after a
                            // fence the record stays `running`).
                            if !self.fenced.load(Ordering::SeqCst) {
                                self.runs.release(&zk, &port).await;
                            }
                            if let Err(e) = self.resign(&zk, &port).await {
                                warn!(%port, error = %e, "cluster: cannot resign; retrying at the next re-read");
                                self.releasing.insert(port);
                            }
                            resync_at.get_or_insert(Instant::now());
                        }
                    }
                    Some(c) => self.command(c),
                },
                (path, ended) = w_ports.changed() => { if ended { return Exit::SessionEnded; } self.on_event(&path, &mut resync_at); }
                (path, ended) = w_elect.changed() => { if ended { return Exit::SessionEnded; } self.on_event(&path, &mut resync_at); }
                (path, ended) = w_ann.changed() => { if ended { return Exit::SessionEnded; } self.on_event(&path, &mut resync_at); }
                (path, ended) = w_hosts.changed() => { if ended { return Exit::SessionEnded; } self.on_event(&path, &mut resync_at); }
                _ = sleep_until(resync_at.unwrap_or(Instant::now() + far)), if resync_at.is_some() && connected => {
                    resync_at = None;
                    match self.resync(&zk).await {
                        Ok(()) => {}
                        Err(e) => {
                            warn!(error = %e, "cluster: re-reading the store failed; keeping the current assignment");
                            if zk.state() == State::Ended { return Exit::SessionEnded; }
                            resync_at = Some(Instant::now() + Duration::from_millis(500));
                        }
                    }
                    self.write_statuses(&zk).await;
                }
                _ = sleep_until(next_full) => {
                    next_full = Instant::now() + self.cfg.resync_interval;
                    resync_at.get_or_insert(Instant::now());
                }
            }
        }
    }

    fn on_event(&mut self, path: &str, resync_at: &mut Option<Instant>) {
        debug!(path, "cluster: store changed");
        resync_at.get_or_insert(Instant::now() + Duration::from_millis(20));
    }

    async fn register(&mut self, zk: &Zk) -> Result<(), ClusterError> {
        let path = zk.layout.host(&self.cfg.host_id);
        let data = encode(&self.host_doc_value(HostState::Running));
        let deadline = Instant::now() + zk.session_timeout() * 2;
        loop {
            match zk.get(&path).await? {
                Some(n) if n.ephemeral_owner == zk.session_id() => {
                    zk.set(&path, &data, None).await?;
                    return Ok(());
                }
                Some(_) if Instant::now() < deadline => {
                    // An earlier session of this host (or another host with the same id): wait for
                    // it to expire.
                    warn!(host = %self.cfg.host_id, "cluster: host id registered by another session; waiting for it to expire");
                    sleep(Duration::from_millis(500)).await;
                }
                Some(_) => return Err(ClusterError::HostInUse(self.cfg.host_id.clone())),
                None => {
                    if zk.create(&path, &data, true).await? {
                        self.host_doc = Some(Vec::new());
                        return Ok(());
                    }
                }
            }
        }
    }

    fn host_doc_value(&self, state: HostState) -> HostDoc {
        HostDoc {
            schema: SCHEMA,
            host: self.cfg.host_id.clone(),
            pid: std::process::id(),
            state,
            active: if self.fenced.load(Ordering::SeqCst) {
                Vec::new()
            } else {
                self.assigned.keys().cloned().collect()
            },
            updated_ms: now_ms(),
        }
    }

    /// Re-reads ports, elections and announcements; joins or leaves elections; recomputes and
    /// publishes the assignment; records errors. A store error leaves everything as it was.
    async fn resync(&mut self, zk: &Zk) -> Result<(), ClusterError> {
        let l = zk.layout.clone();
        let me = self.cfg.host_id.clone();
        let names = zk.children(&l.ports()).await?;
        let hosts = zk.children(&l.hosts()).await?;
        let paths: Vec<String> = names.iter().map(|n| l.port(n)).collect();
        let mut docs: BTreeMap<String, (Result<PortDoc, String>, i32)> = BTreeMap::new();
        for (name, r) in names.iter().zip(zk.get_many(&paths).await) {
            if let Some(node) = r? {
                let doc = decode::<PortDoc>(&node.data)
                    .and_then(|d| d.check(name).map(|()| d))
                    .map_err(|e| e.to_string());
                docs.insert(name.clone(), (doc, node.version));
            }
        }
        // Join the elections of ports that list us; leave those that are gone or no longer do.
        // A port whose value cannot be read keeps our candidacy (the running port stays).
        for (name, (doc, _)) in &docs {
            let wanted = doc.as_ref().is_ok_and(|d| d.candidates.contains(&me));
            if wanted && !self.my_nodes.contains_key(name) {
                zk.mkdir(&l.election(name)).await?;
                let node = zk
                    .create_sequential(&l.election_prefix(name), me.as_bytes())
                    .await?;
                info!(port = %name, %node, "cluster: candidate");
                self.my_nodes.insert(name.clone(), node);
            }
        }
        let leaving: Vec<String> = self
            .my_nodes
            .keys()
            .filter(|p| match docs.get(*p) {
                None => true,
                Some((Ok(d), _)) => !d.candidates.contains(&me),
                Some((Err(_), _)) => false,
            })
            .cloned()
            .collect();
        for port in leaving {
            if self.assigned.contains_key(&port) || self.releasing.contains(&port) {
                // We run it: stop first (the embedder confirms with `released`), resign after.
                self.releasing.insert(port);
            } else {
                self.resign(zk, &port).await?;
            }
        }
        // Leadership of every port (also of ports we are not a candidate of, to find ports
        // without a leader).
        let mut leaders: BTreeMap<String, Option<String>> = BTreeMap::new();
        let mut lead: Vec<String> = Vec::new();
        for name in docs.keys() {
            let dir = l.election(name);
            let mut nodes = zk.children(&dir).await?;
            nodes.sort_by_key(|n| sequence_of(n));
            if let Some(mine) = self.my_nodes.get(name) {
                if !nodes.contains(mine) {
                    // Deleted by someone else: enter again on the next pass.
                    warn!(port = %name, "cluster: our election znode vanished; re-entering");
                    self.my_nodes.remove(name);
                } else if nodes.first() == Some(mine) && !self.releasing.contains(name) {
                    lead.push(name.clone());
                }
            }
            let leader = match nodes.first() {
                None => None,
                Some(n) => zk
                    .get(&format!("{dir}/{n}"))
                    .await?
                    .map(|x| String::from_utf8_lossy(&x.data).into_owned()),
            };
            leaders.insert(name.clone(), leader);
        }
        // Announcements of the ports we lead.
        let ann_paths: Vec<String> = lead.iter().map(|p| l.announcement(p)).collect();
        let mut anns: HashMap<String, Result<Vec<IpNetwork>, String>> = HashMap::new();
        for (port, r) in lead.iter().zip(zk.get_many(&ann_paths).await) {
            let v = match r? {
                None => Ok(Vec::new()),
                Some(n) => decode::<AnnouncementDoc>(&n.data)
                    .and_then(|d| d.check().map(|()| d.networks))
                    .map_err(|e| format!("announcements: {e}")),
            };
            anns.insert(port.clone(), v);
        }
        // The assignment: the last valid configuration of every port we lead.
        let mut assigned = BTreeMap::new();
        let mut statuses: Vec<(String, WrittenStatus)> = Vec::new();
        for port in &lead {
            let (doc, version) = &docs[port];
            let previous = self.assigned.get(port);
            let mut errors = Vec::new();
            let config = match doc {
                Ok(d) => match (self.validator)(port, &d.config) {
                    Ok(()) => Some((d.config.clone(), *version)),
                    Err(problems) => {
                        errors.push(format!(
                            "configuration version {version} refused: {}",
                            problems.join("; ")
                        ));
                        None
                    }
                },
                Err(e) => {
                    errors.push(format!("port value version {version} refused: {e}"));
                    None
                }
            };
            let announcements = match anns.remove(port) {
                Some(Ok(v)) => Some(v),
                Some(Err(e)) => {
                    errors.push(e);
                    None
                }
                None => None,
            };
            let entry = match (config, previous) {
                (Some((config, config_version)), prev) => Some(AssignedPort {
                    config,
                    config_version,
                    announcements: announcements
                        .or_else(|| prev.map(|p| p.announcements.clone()))
                        .unwrap_or_default(),
                    restart: true,
                }),
                (None, Some(prev)) => Some(AssignedPort {
                    announcements: announcements.unwrap_or_else(|| prev.announcements.clone()),
                    ..prev.clone()
                }),
                (None, None) => None,
            };
            let error = (!errors.is_empty()).then(|| errors.join("; "));
            if let Some(e) = &error {
                warn!(%port, error = %e, "cluster: refused a stored value; the running port is unchanged");
            }
            statuses.push((
                port.clone(),
                WrittenStatus {
                    state: if entry.is_some() { "active" } else { "invalid" }.into(),
                    error,
                    config_version: entry.as_ref().map(|e| e.config_version),
                    detail: self.details.get(port).cloned().unwrap_or(Value::Null),
                },
            ));
            if let Some(e) = entry {
                assigned.insert(port.clone(), e);
            }
        }
        // Run records: read (takeover or first start?) and claimed before the embedder may start
        // a port; after a fence every claim is judged afresh.
        if self.fenced.load(Ordering::SeqCst) {
            self.runs.forget();
        }
        let guarded: Vec<(String, i32)> = assigned
            .keys()
            .filter_map(|p| docs.get(p).map(|(_, v)| (p.clone(), *v)))
            .collect();
        self.runs.claim(zk, &guarded).await?;
        let releasing = &self.releasing;
        self.runs
            .retain(|p| assigned.contains_key(p) || releasing.contains(p));
        for (port, e) in assigned.iter_mut() {
            e.restart = self.runs.restart(port).unwrap_or(true);
        }
        for (port, st) in statuses.iter_mut() {
            if let Some(problem) = self.runs.problem(port) {
                st.error = Some(match st.error.take() {
                    Some(e) => format!("{e}; {problem}"),
                    None => problem,
                });
            }
        }
        // Ports without a leader: the first live host records why.
        if hosts.first() == Some(&me) {
            for (port, leader) in &leaders {
                if leader.is_some() {
                    continue;
                }
                let (doc, _) = &docs[port];
                let error = match doc {
                    Err(e) => format!("port value refused: {e}"),
                    Ok(d) => format!(
                        "no live candidate host (candidates: {}; live hosts: {})",
                        d.candidates.join(", "),
                        hosts.join(", ")
                    ),
                };
                statuses.push((
                    port.clone(),
                    WrittenStatus {
                        state: "no_leader".into(),
                        error: Some(error),
                        config_version: None,
                        detail: Value::Null,
                    },
                ));
            }
        }
        // Tables of ports we no longer lead: their routes are void.
        let gone: Vec<String> = self
            .tables
            .keys()
            .filter(|p| !assigned.contains_key(*p))
            .cloned()
            .collect();
        for port in gone {
            self.tables.remove(&port);
            self.delete_routes(zk, &port).await;
        }
        self.details.retain(|p, _| assigned.contains_key(p));
        self.assigned = assigned;
        // Connected and re-read: no longer fenced.
        self.fenced.store(false, Ordering::SeqCst);
        let computed = self.assigned.clone();
        let fenced = self.fenced.clone();
        self.assign_tx.send_if_modified(|a| {
            let next = if fenced.load(Ordering::SeqCst) {
                Assignment {
                    fenced: true,
                    ports: BTreeMap::new(),
                }
            } else {
                Assignment {
                    fenced: false,
                    ports: computed,
                }
            };
            let changed = *a != next;
            *a = next;
            changed
        });
        self.desired_status = statuses.into_iter().collect();
        self.update_host_doc(zk).await?;
        Ok(())
    }

    /// Writes every status document that differs from what this session wrote.
    async fn write_statuses(&mut self, zk: &Zk) {
        for (port, detail) in &self.details {
            if let Some(st) = self.desired_status.get_mut(port) {
                st.detail = detail.clone();
            }
        }
        let due: Vec<String> = self
            .desired_status
            .iter()
            .filter(|(p, st)| self.written_status.get(*p) != Some(*st))
            .map(|(p, _)| p.clone())
            .collect();
        for port in due {
            let Some(st) = self.desired_status.get(&port) else {
                continue;
            };
            let doc = StatusDoc {
                schema: SCHEMA,
                host: self.cfg.host_id.clone(),
                state: st.state.clone(),
                error: st.error.clone(),
                config_version: st.config_version,
                detail: st.detail.clone(),
                updated_ms: now_ms(),
            };
            match zk.put(&zk.layout.status(&port), &encode(&doc), false).await {
                Ok(()) => {
                    let copy = WrittenStatus {
                        state: st.state.clone(),
                        error: st.error.clone(),
                        config_version: st.config_version,
                        detail: st.detail.clone(),
                    };
                    self.written_status.insert(port, copy);
                }
                Err(e) => {
                    warn!(%port, error = %e, "cluster: cannot write the port's status");
                    return;
                }
            }
        }
    }

    async fn update_host_doc(&mut self, zk: &Zk) -> Result<(), ClusterError> {
        let active: Vec<String> = self.assigned.keys().cloned().collect();
        if self.host_doc.as_ref() == Some(&active) {
            return Ok(());
        }
        let doc = self.host_doc_value(HostState::Running);
        let path = zk.layout.host(&self.cfg.host_id);
        if zk.set(&path, &encode(&doc), None).await?.is_none() {
            // Our liveness znode is gone although the session lives (deleted by hand): recreate.
            zk.create(&path, &encode(&doc), true).await?;
        }
        self.host_doc = Some(active);
        Ok(())
    }

    /// Leaves a port's election (and deletes what we published for it).
    async fn resign(&mut self, zk: &Zk, port: &str) -> Result<(), ClusterError> {
        if let Some(node) = self.my_nodes.get(port) {
            self.tables.remove(port);
            self.delete_routes(zk, port).await;
            let path = format!("{}/{node}", zk.layout.election(port));
            zk.delete(&path, None).await?;
            info!(%port, "cluster: resigned");
            self.my_nodes.remove(port);
        }
        Ok(())
    }

    /// Deletes the route znodes this session owns for `port` (best effort).
    async fn delete_routes(&self, zk: &Zk, port: &str) {
        let dir = zk.layout.port_routes(port);
        let children = match zk.children(&dir).await {
            Ok(c) => c,
            Err(e) => {
                warn!(%port, error = %e, "cluster: cannot list published routes to delete them");
                return;
            }
        };
        let mut ours = Vec::new();
        // The meta first, so readers drop the port before its chunks go.
        let mut ordered: Vec<&String> = children.iter().filter(|c| *c == "meta").collect();
        ordered.extend(children.iter().filter(|c| *c != "meta"));
        for c in ordered {
            let path = format!("{dir}/{c}");
            if let Ok(Some(n)) = zk.get(&path).await {
                if n.ephemeral_owner == zk.session_id() {
                    ours.push(path);
                }
            }
        }
        if let Err(e) = zk.delete_many(&ours).await {
            warn!(%port, error = %e, "cluster: cannot delete published routes");
        }
    }

    /// Publishes every dirty table.
    async fn flush(&mut self, zk: &Zk) {
        if self.fenced.load(Ordering::SeqCst) {
            return;
        }
        let ports: Vec<String> = self.tables.keys().cloned().collect();
        for port in ports {
            if !self.assigned.contains_key(&port) {
                continue;
            }
            // Encoding a large table is CPU work: off the runtime, the table moved there and back.
            let Some((mut table, first)) = self.tables.remove(&port) else {
                continue;
            };
            let started = std::time::Instant::now();
            let (table, planned) = match tokio::task::spawn_blocking(move || {
                // A panic in the plan must not lose the table: it is kept, and written whole
                // on the next publication.
                let f = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| table.plan()));
                let f = f.unwrap_or_else(|_| {
                    table.forget_written();
                    None
                });
                (table, f)
            })
            .await
            {
                Ok(r) => r,
                Err(e) => {
                    // Only a runtime shutting down cancels it: nothing is left to publish to.
                    warn!(%port, error = %e, "cluster: encoding the route table was cancelled");
                    continue;
                }
            };
            let encoded = started.elapsed();
            let (table, first) = self.tables.entry(port.clone()).or_insert((table, first));
            let Some(flush) = planned else { continue };
            let bytes: usize = flush.chunks.iter().map(|w| w.data.len()).sum();
            let l = &zk.layout;
            let chunks: Vec<(String, &[u8], bool)> = flush
                .chunks
                .iter()
                .map(|w| {
                    let path = l.chunk(&port, flush.generation, w.index);
                    (path, w.data.as_slice(), w.fresh)
                })
                .collect();
            let port_ref = &port;
            let r = async {
                zk.mkdir(&l.port_routes(&port)).await?;
                zk.put_many_ephemeral(&chunks).await?;
                zk.put_many_ephemeral(&[(l.routes_meta(&port), flush.meta.as_slice(), false)])
                    .await?;
                let mut stale: Vec<String> = flush
                    .delete
                    .iter()
                    .flat_map(|(g, n)| (0..*n).map(move |i| l.chunk(port_ref, *g, i)))
                    .collect();
                if *first {
                    // Leftovers of an earlier table of this session.
                    let children = zk.children(&l.port_routes(&port)).await?;
                    stale.extend(
                        foreign_chunks(&children, flush.generation)
                            .into_iter()
                            .map(|c| format!("{}/{c}", l.port_routes(&port))),
                    );
                }
                zk.delete_many(&stale).await
            }
            .await;
            match r {
                Ok(()) => {
                    *first = false;
                    debug!(
                        %port,
                        version = flush.version,
                        routes = table.len(),
                        chunks = flush.chunks.len(),
                        bytes,
                        encode_ms = encoded.as_millis() as u64,
                        write_ms = started.elapsed().saturating_sub(encoded).as_millis() as u64,
                        "cluster: routes published"
                    );
                }
                Err(e) => {
                    warn!(%port, error = %e, "cluster: publishing routes failed; retrying");
                    table.failed(flush);
                    return;
                }
            }
        }
    }

    /// Shutdown: routes, candidacies and the liveness znode go; the session closes when the
    /// last client handle drops.
    async fn leave(&mut self, zk: &Zk) {
        // The embedder stopped every port before shutting down: clean stops, unless a fence
        // stopped them first.
        let was_fenced = self.fenced.load(Ordering::SeqCst);
        self.fence();
        if !was_fenced {
            self.runs.release_all(zk).await;
        }
        let ports: Vec<String> = self.my_nodes.keys().cloned().collect();
        for port in ports {
            if let Err(e) = self.resign(zk, &port).await {
                warn!(%port, error = %e, "cluster: cannot resign");
            }
        }
        let _ = zk.delete(&zk.layout.host(&self.cfg.host_id), None).await;
        info!(host = %self.cfg.host_id, "cluster: left");
    }
}
