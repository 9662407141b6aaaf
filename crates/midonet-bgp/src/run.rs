//! `midonet-bgp run`: the controller's main loop — apply the configuration, serve the control
//! socket, reload on SIGHUP or when the file changes, tear everything down on SIGINT/SIGTERM.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use routing::config::{Config, ConfigErrors};
use routing::{Effects, RoutingHandler, TableSink};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;
use tracing::{error, info, warn};

use crate::control::{ControlError, ControlServer, Pending, Reply, Request};
use crate::notify;

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
    /// Signal handlers could not be installed.
    #[error("installing signal handlers: {0}")]
    Signals(std::io::Error),
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

/// Runs the controller until SIGINT or SIGTERM; returns after everything is torn down. Learned
/// routes go to `table`, which answers `routes` requests page by page.
pub async fn run<E: Effects>(
    mut followed: Followed,
    config: Config,
    env: E,
    table: Arc<TableSink>,
    ready: Option<tokio::sync::oneshot::Sender<()>>,
) -> Result<(), RunError> {
    let mut hup = signal(SignalKind::hangup()).map_err(RunError::Signals)?;
    let mut int = signal(SignalKind::interrupt()).map_err(RunError::Signals)?;
    let mut term = signal(SignalKind::terminate()).map_err(RunError::Signals)?;
    let mut handler = RoutingHandler::new(env, table.clone());
    let (tx, mut requests) = mpsc::channel::<Pending>(16);
    let server = ControlServer::bind(&config.controller.control_socket, tx).await?;
    match handler.sweep(&config).await {
        Ok(gone) if !gone.is_empty() => info!(?gone, "removed leftovers of an earlier run"),
        Ok(_) => {}
        Err(e) => warn!(error = %e, "sweeping leftovers"),
    }
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
            _ = hup.recv() => { info!("SIGHUP: reloading"); followed.check(true) }
            _ = poll.tick() => followed.check(false),
            req = requests.recv() => {
                let Some(p) = req else { continue };
                match p.request {
                    Request::Status => {
                        let ports = handler.status().await;
                        let _ = p.reply.send(Reply::status(ports));
                        None
                    }
                    Request::Routes(query) => {
                        let _ = p.reply.send(Reply::page(table.page(&query)));
                        None
                    }
                    Request::Reload => {
                        let r = followed.check(true);
                        let reply = match &r {
                            Some(Err(e)) => Reply::error(e.to_string()),
                            _ => Reply::status(Vec::new()),
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
                // One log event (no extra stderr text: `--log-format json` stays one object per line).
                error!("configuration rejected, running state unchanged:\n{e}");
            }
            Some(Ok(new)) => {
                for w in &new.warnings {
                    warn!("configuration: {w}");
                }
                if new.controller.control_socket != current.controller.control_socket {
                    warn!("control_socket changes take effect at the next start");
                }
                tell_systemd(&notify::reloading());
                let report = handler.apply(&new).await;
                info!(added = ?report.added, removed = ?report.removed, updated = ?report.updated, "configuration reloaded");
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
