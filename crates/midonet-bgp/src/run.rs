//! `midonet-bgp run`: the controller's main loop — apply the configuration, serve the control
//! socket, reload on SIGHUP or when the file changes, tear everything down on SIGINT/SIGTERM.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use routing::config::{Config, ConfigErrors};
use routing::kernel::KernelSink;
use routing::{Effects, RouteSink, RoutingHandler, TableSink};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::control::{Access, ControlError, ControlServer, Pending, Reply, Request};
use crate::notify;
use midonet_bgp::lock::{LockError, PrefixLock, LOCK_DIR};
use midonet_bgp::metrics::{BgpdInfo, ControlSource, Metrics, MetricsError, MetricsServer};

/// Tells systemd (`Type=notify`) about a state change; a failure is logged, never fatal.
fn tell_systemd(state: &str) {
    if let Err(e) = notify::notify(state) {
        warn!(error = %e, "cannot notify systemd");
    }
}

/// Why `run` stopped with an error.
#[derive(Debug, thiserror::Error)]
pub enum RunError {
    /// The control socket could not be served.
    #[error(transparent)]
    Control(#[from] ControlError),
    /// The metrics endpoint could not be served.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// Signal handlers could not be installed.
    #[error("installing signal handlers: {0}")]
    Signals(std::io::Error),
    /// Another controller uses the same name prefix (or the lock could not be taken).
    #[error(transparent)]
    Lock(#[from] LockError),
    /// `control_group` names no group of this host.
    #[error("controller.control_group {name:?}: {reason}")]
    Group {
        /// The configured group.
        name: String,
        /// Why it cannot be used.
        reason: String,
    },
}

/// The gid of `name` (a group name, or a number taken as it is).
fn resolve_group(name: &str) -> Result<u32, RunError> {
    if let Ok(gid) = name.parse::<u32>() {
        return Ok(gid);
    }
    match nix::unistd::Group::from_name(name) {
        Ok(Some(g)) => Ok(g.gid.as_raw()),
        Ok(None) => Err(RunError::Group {
            name: name.to_string(),
            reason: "no such group on this host".into(),
        }),
        Err(e) => Err(RunError::Group {
            name: name.to_string(),
            reason: e.to_string(),
        }),
    }
}

/// The configuration file being followed.
pub struct Followed {
    path: PathBuf,
    text: Option<String>,
}

impl Followed {
    /// Starts following `path`, whose text `text` is already applied.
    pub fn new(path: &Path, text: Option<String>) -> Followed {
        Followed {
            path: path.to_path_buf(),
            text,
        }
    }

    /// If the file's text differs from the last one seen (or `force`), validates it: `Some(Ok)`
    /// for a new valid configuration, `Some(Err)` for a rejected one, `None` when unchanged.
    pub fn check(&mut self, force: bool) -> Option<Result<Config, ConfigErrors>> {
        let text = match std::fs::read_to_string(&self.path) {
            Ok(t) => t,
            Err(e) => {
                if force {
                    return Some(Err(ConfigErrors::Read {
                        path: self.path.clone(),
                        message: e.to_string(),
                    }));
                }
                return None;
            }
        };
        if !force && self.text.as_deref() == Some(text.as_str()) {
            return None;
        }
        self.text = Some(text.clone());
        Some(Config::parse(&text))
    }
}

/// A new valid configuration whose `vty_range` changed is checked against the host's addresses
/// (see [`midonet_bgp::hostaddr`]) before it is applied; an overlap rejects it.
async fn screen(
    outcome: Option<Result<Config, ConfigErrors>>,
    current: &Config,
) -> Option<Result<Config, ConfigErrors>> {
    match outcome {
        Some(Ok(new)) if new.controller.vty_range != current.controller.vty_range => {
            let problems = midonet_bgp::hostaddr::vty_range_problems(&new.controller).await;
            if problems.is_empty() {
                Some(Ok(new))
            } else {
                Some(Err(ConfigErrors::Invalid(problems)))
            }
        }
        other => other,
    }
}

/// Attaches the ports of `config` to their kernel tables (blocking work, off the runtime).
async fn configure_kernel(kernel: Option<&Arc<KernelSink>>, config: &Config) {
    let Some(kernel) = kernel else { return };
    let (k, c) = (kernel.clone(), config.clone());
    match tokio::task::spawn_blocking(move || k.configure(&c)).await {
        Ok(errors) => {
            for e in errors {
                error!("{e}");
            }
        }
        Err(e) => error!("configuring the kernel route sink: {e}"),
    }
}

/// Runs the controller until SIGINT or SIGTERM; returns after everything is torn down.
/// Learned routes go to `sink`, which includes `table`; `table` answers `routes` requests
/// (and the route stream's first pages) page by page. `kernel`, when given, is (re)configured
/// with every configuration applied; it is usually also part of `sink`.
pub async fn run<E: Effects>(
    mut followed: Followed,
    config: Config,
    env: E,
    table: Arc<TableSink>,
    sink: Arc<dyn RouteSink>,
    kernel: Option<Arc<KernelSink>>,
    ready: Option<tokio::sync::oneshot::Sender<()>>,
) -> Result<(), RunError> {
    // First of all: a second controller with our prefix would sweep our namespaces (and we
    // theirs), so only one may run.
    let _lock = PrefixLock::acquire(std::path::Path::new(LOCK_DIR), &config.controller.prefix)?;
    let access = Access {
        group: config
            .controller
            .control_group
            .as_deref()
            .map(resolve_group)
            .transpose()?,
    };
    let mut hup = signal(SignalKind::hangup()).map_err(RunError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(RunError::Signals)?;
    let mut term = signal(SignalKind::terminate()).map_err(RunError::Signals)?;
    let mut handler = RoutingHandler::new(env, sink);
    let (tx, mut requests) = mpsc::channel::<Pending>(16);
    let metrics = Metrics::new();
    let _metrics_server = match config.controller.metrics {
        Some(addr) => {
            let source = ControlSource::new(tx.clone());
            let s = MetricsServer::bind(addr, source, metrics.clone()).await?;
            info!(addr = %s.local_addr(), "serving metrics");
            Some(s)
        }
        None => None,
    };
    let server = ControlServer::bind_with(&config.controller.control_socket, access, tx).await?;
    let mut bgpd_info = BgpdInfo::detect(&config.controller.bgpd_path).await;
    match handler.sweep(&config).await {
        Ok(gone) if !gone.is_empty() => info!(?gone, "removed leftovers of an earlier run"),
        Ok(_) => {}
        Err(e) => warn!(error = %e, "sweeping leftovers"),
    }
    configure_kernel(kernel.as_ref(), &config).await;
    let report = handler.apply(&config).await;
    info!(ports = ?report.added, "started");
    tell_systemd(notify::READY);
    if let Some(r) = ready {
        let _ = r.send(());
    }
    let mut current = config;
    let mut poll = tokio::time::interval(Duration::from_secs(1));
    poll.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        let outcome = tokio::select! {
            _ = hup.recv() => { info!("SIGHUP: reloading"); screen(followed.check(true), &current).await }
            _ = poll.tick() => screen(followed.check(false), &current).await,
            req = requests.recv() => {
                let Some(p) = req else { continue };
                match p.request {
                    Request::Status => {
                        let ports = handler.status().await;
                        let fib = kernel.as_ref().map(|k| k.stats()).unwrap_or_default();
                        let _ = p.reply.send(Reply::status(ports).with_bgpd(bgpd_info.clone()).with_fib(fib));
                        None
                    }
                    Request::Routes(query) => {
                        let _ = p.reply.send(Reply::page(table.page(&query)));
                        None
                    }
                    Request::Watch { .. } => {
                        let _ = p.reply.send(Reply::error("watch is served by the connection"));
                        None
                    }
                    Request::Announce { port, announcement } => {
                        let _ = p.reply.send(Reply::outcome(handler.announce(&port, announcement).await));
                        None
                    }
                    Request::Withdraw { port, prefix } => {
                        let _ = p.reply.send(Reply::outcome(handler.withdraw(&port, prefix).await));
                        None
                    }
                    Request::Reload => {
                        let r = screen(followed.check(true), &current).await;
                        let reply = match &r {
                            Some(Err(e)) => Reply::error(e.to_string()),
                            _ => Reply::done(),
                        };
                        let _ = p.reply.send(reply);
                        r
                    }
                }
            }
            _ = int.recv() => break,
            _ = term.recv() => break,
        };
        match outcome {
            None => {}
            Some(Err(e)) => {
                metrics.reload_rejected();
                // One log event (no extra stderr text: `--log-format json` stays one object per line).
                error!("configuration rejected, running state unchanged:\n{e}");
            }
            Some(Ok(new)) => {
                for w in &new.warnings {
                    warn!("configuration: {w}");
                }
                if new.controller.control_socket != current.controller.control_socket
                    || new.controller.control_group != current.controller.control_group
                    || new.controller.metrics != current.controller.metrics
                {
                    warn!("control_socket, control_group and metrics changes take effect at the next start");
                }
                tell_systemd(&notify::reloading());
                configure_kernel(kernel.as_ref(), &new).await;
                let report = handler.apply(&new).await;
                info!(added = ?report.added, removed = ?report.removed, updated = ?report.updated, "configuration reloaded");
                metrics.reload_applied();
                // bgpd_path may have changed, or the package been upgraded.
                bgpd_info = BgpdInfo::detect(&new.controller.bgpd_path).await;
                tell_systemd(notify::READY);
                current = new;
            }
        }
    }
    info!("shutting down");
    tell_systemd(notify::STOPPING);
    handler.shutdown().await;
    drop(server);
    Ok(())
}
