//! `midonet-bgp run --store zk://…/ROOT --host-id ID`: cluster mode. The host joins the store
//! (crate `cluster`), runs the ports it is elected for through the same
//! `RoutingHandler::apply` (minimal diffs) as a file reload, publishes their learned routes and
//! status, and stops everything when it is fenced.
//!
//! Host-local settings (`[controller]`, `[defaults]`) come from an optional `--config` file,
//! which must not list ports; the ports come from the store, each validated by the same
//! [`Config::parse`] as a file (with the local settings around it).

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use cluster::{
    Assignment, Member, MemberConfig, PublishedPath, Publisher, StoreUrl, TableChange, Validator,
};
use ipnetwork::IpNetwork;
use routing::config::Config;
use routing::{
    Effects, RouteChange, RoutePage, RoutePath, RouteQuery, RouteSink, RoutingHandler, TableSink,
    TeeSink,
};
use serde_json::{Map, Value};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::control::{ControlServer, Pending, Reply, Request};
use midonet_bgp::metrics::ClusterCounters;

/// Why cluster mode stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum ClusterRunError {
    /// The host-local settings file is unusable.
    #[error("{0}")]
    Local(String),
    /// The store could not be joined.
    #[error(transparent)]
    Store(#[from] cluster::ClusterError),
    /// The control socket could not be served.
    #[error(transparent)]
    Control(#[from] crate::control::ControlError),
    /// The metrics endpoint could not be served.
    #[error(transparent)]
    Metrics(#[from] midonet_bgp::metrics::MetricsError),
    /// Signal handlers could not be installed.
    #[error("installing signal handlers: {0}")]
    Signals(std::io::Error),
}

/// The host-local part of the configuration (`[controller]`, `[defaults]`), as TOML.
#[derive(Debug, Clone)]
pub struct LocalSettings {
    table: toml::Table,
    /// The settings validated alone (no ports).
    pub config: Config,
}

impl LocalSettings {
    /// Reads `path` (or uses the defaults): it must validate and list no `[[port]]`.
    pub fn load(path: Option<&Path>) -> Result<LocalSettings, String> {
        let text = match path {
            None => String::new(),
            Some(p) => std::fs::read_to_string(p)
                .map_err(|e| format!("{}: cannot read: {e}", p.display()))?,
        };
        let shown = path.map(|p| p.display().to_string()).unwrap_or_default();
        let table: toml::Table = text
            .parse()
            .map_err(|e| format!("{shown}: invalid TOML: {e}"))?;
        if table.contains_key("port") {
            return Err(format!(
                "{shown}: in --store mode ports come from the store; remove the [[port]] tables"
            ));
        }
        let config = Config::parse(&text).map_err(|e| format!("{shown}: {e}"))?;
        Ok(LocalSettings { table, config })
    }

    /// The full configuration of `ports` (name, `[[port]]` keys as JSON) with these settings
    /// around them: the exact validation `check-config` does on a file.
    pub fn config_for(
        &self,
        ports: &[(String, Map<String, Value>)],
    ) -> Result<Config, Vec<String>> {
        let mut table = self.table.clone();
        let mut list = Vec::new();
        for (name, config) in ports {
            let mut config = config.clone();
            config.insert("name".into(), Value::String(name.clone()));
            let v = toml::Value::try_from(Value::Object(config)).map_err(|e| {
                vec![format!(
                    "port {name:?}: not representable as a [[port]] table: {e}"
                )]
            })?;
            list.push(v);
        }
        table.insert("port".into(), toml::Value::Array(list));
        let text = toml::to_string(&table).map_err(|e| vec![format!("cannot render TOML: {e}")])?;
        Config::parse(&text).map_err(|e| {
            e.problems()
                .into_iter()
                .map(|p| {
                    if p.path.is_empty() {
                        p.reason
                    } else {
                        format!("{}: {}", p.path, p.reason)
                    }
                })
                .collect()
        })
    }

    /// The validator handed to the cluster member: one port alone with these settings.
    pub fn validator(self: &Arc<Self>) -> Validator {
        let me = self.clone();
        Arc::new(move |port: &str, config: &Map<String, Value>| {
            me.config_for(&[(port.to_string(), config.clone())])
                .map(|_| ())
        })
    }
}

/// The port configuration with the SDN controller's announcements merged into `networks`.
fn with_announcements(config: &Map<String, Value>, announced: &[IpNetwork]) -> Map<String, Value> {
    let mut config = config.clone();
    if announced.is_empty() {
        return config;
    }
    let mut networks: Vec<Value> = match config.get("networks") {
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    };
    for n in announced {
        let s = Value::String(n.to_string());
        if !networks.contains(&s) {
            networks.push(s);
        }
    }
    config.insert("networks".into(), Value::Array(networks));
    config
}

/// The configuration of an assignment (fenced: no port).
pub fn assignment_config(local: &LocalSettings, a: &Assignment) -> Result<Config, Vec<String>> {
    let ports: Vec<(String, Map<String, Value>)> = a
        .ports
        .iter()
        .map(|(name, p)| {
            (
                name.clone(),
                with_announcements(&p.config, &p.announcements),
            )
        })
        .collect();
    local.config_for(&ports)
}

/// Forwards learned routes to the store, a batch per publish, and counts them.
struct StoreSink(Publisher, ClusterCounters);

fn published(paths: &[RoutePath]) -> Vec<PublishedPath> {
    paths
        .iter()
        .map(|p| PublishedPath {
            gateway: p.gateway,
            distance: p.distance,
            metric: p.metric,
            // 1 is what bgpd's routes carry when it gave no weight.
            weight: (p.weight != 1).then(|| u32::try_from(p.weight).unwrap_or(u32::MAX)),
        })
        .collect()
}

impl RouteSink for StoreSink {
    fn apply(&self, port: &str, changes: &[RouteChange]) {
        let changes = changes
            .iter()
            .map(|c| match c {
                RouteChange::Replace { prefix, paths } => {
                    TableChange::Replace(*prefix, published(paths))
                }
                RouteChange::Withdraw { prefix } => TableChange::Withdraw(*prefix),
            })
            .collect::<Vec<_>>();
        let n = changes.len();
        let ok = self.0.publish(port, changes).is_ok();
        self.1.published(port, n, ok);
        if !ok {
            warn!(%port, "cluster member stopped; routes not published");
        }
    }
    fn withdraw_all(&self, port: &str) {
        let ok = self.0.publish(port, vec![TableChange::Clear]).is_ok();
        self.1.published(port, 1, ok);
        if !ok {
            warn!(%port, "cluster member stopped; withdrawal not published");
        }
    }
}

/// `routes --port P` for a port this host does not run: P's publication in the store (the
/// routes its leader published), read with a one-shot session. A listing's first page reads the
/// store; its next pages (a cursor) page through that same snapshot, so a listing is one
/// consistent publication however many pages it takes.
/// One port's routes read from the store: (port, table).
type Snapshot = (String, Arc<TableSink>);

#[derive(Clone)]
struct RemoteRoutes {
    url: StoreUrl,
    session_timeout: Duration,
    snapshot: Arc<tokio::sync::Mutex<Option<Snapshot>>>,
}

impl RemoteRoutes {
    fn new(url: StoreUrl, session_timeout: Duration) -> RemoteRoutes {
        RemoteRoutes {
            url,
            session_timeout,
            snapshot: Arc::default(),
        }
    }

    async fn page(&self, query: &RouteQuery) -> Reply {
        let Some(port) = query.port.as_deref() else {
            return Reply::error("no port given");
        };
        let mut snap = self.snapshot.lock().await;
        let fresh = query.after.is_none() || snap.as_ref().is_none_or(|(p, _)| p != port);
        if fresh {
            match self.read(port).await {
                Ok(t) => *snap = Some((port.to_string(), t)),
                Err(e) => {
                    return Reply::error(format!(
                        "reading port {port}'s routes from the store: {e}"
                    ))
                }
            }
        }
        match snap.as_ref() {
            Some((_, t)) => Reply::page(t.page(query)),
            None => Reply::page(RoutePage::default()),
        }
    }

    async fn read(&self, port: &str) -> Result<Arc<TableSink>, cluster::ClusterError> {
        let store = cluster::Store::connect(&self.url, self.session_timeout).await?;
        let table = Arc::new(TableSink::new());
        if let Some((_, routes)) = store.port_routes(port).await? {
            let changes: Vec<RouteChange> = routes
                .into_iter()
                .map(|(prefix, paths)| RouteChange::Replace {
                    prefix,
                    paths: route_paths(&paths),
                })
                .collect();
            table.apply(port, &changes);
        }
        Ok(table)
    }
}

/// The inverse of [`published`].
fn route_paths(paths: &[PublishedPath]) -> Vec<RoutePath> {
    paths
        .iter()
        .map(|p| RoutePath {
            gateway: p.gateway,
            ifindex: None,
            distance: p.distance,
            metric: p.metric,
            weight: p.weight.map(u64::from).unwrap_or(1),
        })
        .collect()
}

/// Options of `run --store`.
#[derive(Debug, Clone)]
pub struct ClusterRunOptions {
    /// The store.
    pub url: StoreUrl,
    /// This host's id.
    pub host_id: String,
    /// Host-local settings file.
    pub config: Option<PathBuf>,
    /// Requested ZooKeeper session timeout.
    pub session_timeout: Duration,
}

/// Runs cluster mode until SIGINT or SIGTERM; leaves the cluster and tears everything down.
pub async fn run<E: Effects>(opts: ClusterRunOptions, env: E) -> Result<(), ClusterRunError> {
    let local =
        Arc::new(LocalSettings::load(opts.config.as_deref()).map_err(ClusterRunError::Local)?);
    // The Vty range is a local setting: checked against the host's addresses once, at start.
    let overlaps = midonet_bgp::hostaddr::vty_range_problems(&local.config.controller).await;
    if !overlaps.is_empty() {
        let shown = opts
            .config
            .as_deref()
            .map(|p| format!("{}: ", p.display()))
            .unwrap_or_default();
        let lines: Vec<String> = overlaps
            .iter()
            .map(|p| format!("{shown}{}: {}", p.path, p.reason))
            .collect();
        return Err(ClusterRunError::Local(lines.join("\n")));
    }
    let mut int = signal(SignalKind::interrupt()).map_err(ClusterRunError::Signals)?;
    let mut term = signal(SignalKind::terminate()).map_err(ClusterRunError::Signals)?;
    let mut mc = MemberConfig::new(opts.url.clone(), &opts.host_id);
    mc.session_timeout = opts.session_timeout;
    let member = Member::start(mc, local.validator()).await?;
    let publisher = member.publisher();
    // Learned routes go to the store and to a local table (which answers `routes` and the
    // route stream's first pages for the ports this host runs), then to route-stream watchers.
    let counters = ClusterCounters::new(&opts.host_id);
    let table = Arc::new(TableSink::new());
    let chain: Vec<Arc<dyn RouteSink>> = vec![
        table.clone(),
        Arc::new(StoreSink(publisher.clone(), counters.clone())),
    ];
    let sink = Arc::new(crate::watch::WatchSink::new(Arc::new(TeeSink::new(chain))));
    let mut handler = RoutingHandler::new(env, sink);
    let remote = RemoteRoutes::new(opts.url.clone(), opts.session_timeout);
    let (tx, mut requests) = mpsc::channel::<Pending>(16);
    // Served like `run` does (reloads do not exist here: the store drives the ports).
    let _metrics_server = match local.config.controller.metrics {
        Some(addr) => {
            let source = midonet_bgp::metrics::ControlSource::new(tx.clone());
            let metrics = midonet_bgp::metrics::Metrics::new();
            let s = midonet_bgp::metrics::MetricsServer::bind(addr, source, metrics).await?;
            info!(addr = %s.local_addr(), "serving metrics");
            Some(s)
        }
        None => None,
    };
    let server = ControlServer::bind(&local.config.controller.control_socket, tx).await?;
    let bgpd_info =
        midonet_bgp::metrics::BgpdInfo::detect(&local.config.controller.bgpd_path).await;
    match handler.sweep(&local.config).await {
        Ok(gone) if !gone.is_empty() => info!(?gone, "removed leftovers of an earlier run"),
        Ok(_) => {}
        Err(e) => warn!(error = %e, "sweeping leftovers"),
    }
    let mut assignment = member.assignment();
    let mut running: Vec<String> = Vec::new();
    let mut current = local.config.clone();
    // Ports started here that still have to announce themselves (ARP / unsolicited NA) once
    // their container is up, with a deadline.
    let mut announce: std::collections::BTreeMap<String, tokio::time::Instant> = Default::default();
    let mut status = tokio::time::interval(local.config.controller.status_interval);
    status.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    info!(host = %opts.host_id, store = %opts.url.servers, root = %opts.url.root, "cluster mode started");
    loop {
        tokio::select! {
            biased;
            r = assignment.changed() => {
                if r.is_err() { break; }
                let a = assignment.borrow_and_update().clone();
                counters.assignment(a.fenced, a.ports.keys().cloned().collect());
                if a.fenced {
                    warn!("fenced: stopping every port");
                }
                match assignment_config(&local, &a) {
                    Ok(config) => {
                        // A port whose previous run (another host, or an earlier process here)
                        // did not stop cleanly is taken over: its providers may hold our routes
                        // as a restarting speaker's, and only the F bit lets them keep them. A
                        // first start leaves it out (no best-path deferral).
                        for (port, p) in &a.ports {
                            if p.restart && !running.contains(port) {
                                info!(%port, "taking the port over from a run that did not stop cleanly: its first bgpd restarts (F bit)");
                                handler.assume_restart(Some(port));
                            }
                        }
                        let report = handler.apply(&config).await;
                        info!(added = ?report.added, removed = ?report.removed, updated = ?report.updated, fenced = a.fenced, "assignment applied");
                        // Stopped ports may now be started elsewhere.
                        for port in running.iter().filter(|p| !a.ports.contains_key(*p)) {
                            let _ = publisher.released(port);
                        }
                        running = a.ports.keys().cloned().collect();
                        for port in &report.added {
                            announce.insert(port.clone(), tokio::time::Instant::now() + Duration::from_secs(60));
                        }
                        announce.retain(|p, _| a.ports.contains_key(p));
                        current = config;
                    }
                    Err(problems) => {
                        // Every port validated alone; together they conflict (e.g. names that
                        // give the same namespace). The running ports stay.
                        error!(?problems, "assigned ports refused together; running state unchanged");
                        for port in a.ports.keys() {
                            let _ = publisher.report(port, serde_json::json!({ "error": problems.join("; ") }));
                        }
                    }
                }
            }
            _ = status.tick() => {
                let statuses = handler.status().await;
                announce.retain(|_, deadline| *deadline > tokio::time::Instant::now());
                for p in &statuses {
                    if p.phase != routing::PortPhase::Running || !announce.contains_key(&p.name) {
                        continue;
                    }
                    let Some(cfg) = current.port(&p.name) else { continue };
                    announce.remove(&p.name);
                    let addresses = cfg.addresses().iter().map(|n| n.ip()).collect();
                    let peers = cfg.peer_addresses();
                    let (ns, ifname, port) = (p.namespace.clone(), format!("{}_m", p.namespace), p.name.clone());
                    tokio::spawn(async move {
                        match crate::takeover::send(&ns, &ifname, addresses, peers).await {
                            Ok(n) => info!(%port, frames = n, "announced the port's addresses (ARP / unsolicited NA)"),
                            Err(e) => warn!(%port, error = %e, "cannot announce the port's addresses"),
                        }
                    });
                }
                for p in statuses {
                    let mut v = serde_json::to_value(&p).unwrap_or(Value::Null);
                    if let Value::Object(o) = &mut v {
                        // Routes are published in their own chunked znodes; the status has counts.
                        o.insert("route_count".into(), Value::from(p.routes.accepted));
                    }
                    let _ = publisher.report(&p.name, v);
                }
            }
            req = requests.recv() => {
                let Some(p) = req else { continue };
                let reply = match p.request {
                    Request::Status => Reply::status(handler.status().await)
                        .with_bgpd(bgpd_info.clone())
                        .with_cluster(counters.status()),
                    Request::Routes(query) => match query.port.as_deref() {
                        // A port run elsewhere: its publication in the store, read off the loop.
                        Some(port) if !running.iter().any(|r| r == port) => {
                            let (remote, reply) = (remote.clone(), p.reply);
                            tokio::spawn(async move {
                                let _ = reply.send(remote.page(&query).await);
                            });
                            continue;
                        }
                        _ => Reply::page(table.page(&query)),
                    },
                    Request::Watch { .. } => Reply::error("watch is served by the connection"),
                    Request::Reload => Reply::error("in --store mode the configuration comes from the store; use `midonet-bgp cluster put-port`"),
                    Request::Announce { .. } | Request::Withdraw { .. } => Reply::error(
                        "in --store mode announcements are kept in the store; use `midonet-bgp cluster announce` / `cluster withdraw`",
                    ),
                };
                let _ = p.reply.send(reply);
            }
            _ = int.recv() => break,
            _ = term.recv() => break,
        }
    }
    info!("shutting down: leaving the cluster");
    handler.shutdown().await;
    member.shutdown().await;
    drop(server);
    Ok(())
}
