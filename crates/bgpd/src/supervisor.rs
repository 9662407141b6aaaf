//! The driver: runs the state machine of `machine.rs` against real processes, sockets and timers.

use std::collections::VecDeque;
use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::process::Child;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::Instrument;

use crate::error::BgpdError;
use crate::events::{BgpdEvent, ExitInfo, StartFailure};
use crate::files;
use crate::launch::{launch, LaunchRequest, OutputTail};
use crate::machine::{Command, Input, Machine};
use crate::procfs::{self, NsId};
use crate::readiness::{Origin, ReadinessCheck};
use crate::spec::{BgpdSpec, VtyReach};

/// Capacity of the event channel. Events are rare (a handful per restart, restarts are at least
/// the initial backoff apart); when the embedder does not read them, the oldest unread ones are
/// kept and new ones are dropped with a warning — supervision never waits for the embedder.
pub const EVENT_CAPACITY: usize = 256;

/// Lines of bgpd's log in a crash report.
const TAIL_LINES: usize = 20;

/// State shared by the handle and the supervision task.
#[derive(Debug)]
struct Shared {
    pid: AtomicU32,
    restarts: AtomicU32,
}

/// Supervises one bgpd: launches it in its namespace, checks readiness, restarts it with backoff,
/// and stops it. Dropping the handle kills bgpd (SIGKILL) and everything in its namespace; call
/// [`Supervisor::stop`] for a graceful stop.
#[derive(Debug)]
pub struct Supervisor {
    netns: String,
    shared: Arc<Shared>,
    stop_tx: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<Result<(), BgpdError>>>,
    cleanup: Cleanup,
}

/// What `Drop` needs to clean up synchronously.
#[derive(Debug, Clone)]
struct Cleanup {
    ns_id: NsId,
    pid_file: PathBuf,
}

impl Supervisor {
    /// Validates `spec`, prepares files and directories, and starts supervising bgpd in a tokio
    /// task (call inside a tokio runtime). A stale bgpd left in the namespace by an earlier run
    /// (found through the pid file or by scanning the namespace) is killed before the first
    /// launch — only after checking that it runs the bgpd binary *and* lives in that namespace.
    ///
    /// Events arrive on the returned channel; see [`BgpdEvent`].
    pub fn start(spec: BgpdSpec) -> Result<(Supervisor, mpsc::Receiver<BgpdEvent>), BgpdError> {
        spec.validate()?;
        let binary = spec.resolve_binary()?;
        tokio::runtime::Handle::try_current().map_err(|_| BgpdError::NoRuntime)?;
        let ns_err = |name: &str| {
            let name = name.to_string();
            move |source| BgpdError::Namespace { name, source }
        };
        let ns = netns::NetNs::open(&spec.netns).map_err(ns_err(&spec.netns))?;
        let ns_id = ns.id().map_err(ns_err(&spec.netns))?;
        if procfs::is_shared_namespace(ns_id) {
            return Err(BgpdError::OwnNamespace {
                name: spec.netns.clone(),
            });
        }
        let origin = match &spec.vty_reach {
            VtyReach::BgpdNamespace => {
                Origin::Namespace(ns.try_clone().map_err(ns_err(&spec.netns))?)
            }
            VtyReach::CurrentNamespace => Origin::Current,
            VtyReach::Namespace(n) => Origin::Namespace(netns::NetNs::open(n).map_err(ns_err(n))?),
        };
        files::prepare(&spec)?;

        let (tx, rx) = mpsc::channel(EVENT_CAPACITY);
        let (stop_tx, stop_rx) = oneshot::channel();
        let shared = Arc::new(Shared {
            pid: AtomicU32::new(0),
            restarts: AtomicU32::new(0),
        });
        let cleanup = Cleanup {
            ns_id,
            pid_file: spec.pid_file.clone(),
        };
        let netns = spec.netns.clone();
        let span = tracing::info_span!("bgpd", netns = %spec.netns);
        tracing::debug!(parent: &span, ?spec, binary = %binary.display(), "bgpd supervisor starting");
        let driver = Driver {
            spec,
            binary,
            ns,
            ns_id,
            origin,
            events: tx,
            shared: shared.clone(),
            output_tail: OutputTail::default(),
        };
        let task = tokio::spawn(driver.run(stop_rx).instrument(span));
        Ok((
            Supervisor {
                netns,
                shared,
                stop_tx: Some(stop_tx),
                task: Some(task),
                cleanup,
            },
            rx,
        ))
    }

    /// The namespace bgpd runs in.
    pub fn netns(&self) -> &str {
        &self.netns
    }

    /// Pid of the current bgpd process (launched, ready or not), if one is running.
    pub fn pid(&self) -> Option<u32> {
        Some(self.shared.pid.load(Ordering::Acquire)).filter(|&p| p != 0)
    }

    /// How many times bgpd was launched again after the first launch.
    pub fn restarts(&self) -> u32 {
        self.shared.restarts.load(Ordering::Acquire)
    }

    /// Stops bgpd: SIGTERM to its process group, up to `stop_timeout` of grace, SIGKILL; then
    /// kills anything still running in the namespace and removes the pid file. Supervision ends.
    pub async fn stop(mut self) -> Result<(), BgpdError> {
        if let Some(tx) = self.stop_tx.take() {
            let _ = tx.send(());
        }
        let Some(task) = self.task.take() else {
            return Ok(());
        };
        match task.await {
            Ok(r) => r,
            Err(e) => {
                // The task is gone without cleaning up: do it here.
                self.cleanup.kill_everything();
                Err(BgpdError::Task {
                    name: self.netns.clone(),
                    detail: e.to_string(),
                })
            }
        }
    }
}

impl Cleanup {
    /// Synchronous, best-effort: SIGKILL the verified bgpd and everything in the namespace,
    /// remove the pid file.
    fn kill_everything(&self) {
        if procfs::is_shared_namespace(self.ns_id) {
            return;
        }
        let killed = netns::process::kill_all_in_ns(self.ns_id, Duration::from_millis(500))
            .unwrap_or_default();
        if !killed.is_empty() {
            tracing::debug!(?killed, "bgpd: killed the processes left in the namespace");
        }
        let _ = files::remove_if_exists(&self.pid_file);
    }
}

impl Drop for Supervisor {
    fn drop(&mut self) {
        if self.task.is_none() {
            return;
        }
        // Not stopped: tell the task first (so it does not take the coming death for a crash
        // and restart), then kill right now (the task may never run again if the runtime is
        // going down); the task reaps the child and finishes its own cleanup.
        if let Some(tx) = self.stop_tx.take() {
            let _ = tx.send(());
        }
        self.cleanup.kill_everything();
    }
}

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

struct Driver {
    spec: BgpdSpec,
    binary: PathBuf,
    ns: netns::NetNs,
    ns_id: NsId,
    origin: Origin,
    events: mpsc::Sender<BgpdEvent>,
    shared: Arc<Shared>,
    output_tail: OutputTail,
}

/// The running process, if any.
struct Proc {
    child: Child,
    pid: u32,
    /// The tasks forwarding its stdout and stderr.
    output: Vec<tokio::task::JoinHandle<()>>,
}

/// How long, after bgpd exited, its output forwarders may take to read what is left in the
/// pipes (the last lines are what a crash report quotes).
const OUTPUT_DRAIN: Duration = Duration::from_millis(250);

/// Waits (at most [`OUTPUT_DRAIN`]) until the output forwarders of an exited bgpd have read
/// everything it wrote; a descendant still holding the pipes cannot hold this up for longer.
async fn drain_output(forwarders: Vec<tokio::task::JoinHandle<()>>) {
    let all = async {
        for f in forwarders {
            let _ = f.await;
        }
    };
    let _ = tokio::time::timeout(OUTPUT_DRAIN, all).await;
}

async fn wait_child(p: &mut Option<Proc>) -> std::io::Result<std::process::ExitStatus> {
    match p {
        Some(p) => p.child.wait().await,
        None => std::future::pending().await,
    }
}

async fn poll_opt<T>(f: &mut Option<BoxFuture<T>>) -> T {
    match f {
        Some(f) => f.as_mut().await,
        None => std::future::pending().await,
    }
}

/// Sends `sig` to process group `pgid`. Only called while the leader is not yet reaped, so the
/// group id cannot have been recycled.
fn signal_group(pgid: u32, sig: i32) {
    if let Ok(p) = libc::pid_t::try_from(pgid) {
        if p > 1 {
            // SAFETY: kill with a negative pid signals that process group; no memory involved.
            unsafe {
                libc::kill(-p, sig);
            }
        }
    }
}

impl Driver {
    fn emit(&self, ev: BgpdEvent) {
        match &ev {
            BgpdEvent::Ready { pid } => tracing::info!(pid, "bgpd ready"),
            BgpdEvent::Exited {
                status: status @ ExitInfo::Code(0),
            } => tracing::info!(%status, "bgpd exited"),
            BgpdEvent::Exited { status } => tracing::warn!(%status, "bgpd exited"),
            BgpdEvent::StartFailed { cause } => tracing::warn!(%cause, "bgpd did not start"),
            BgpdEvent::Restarting { attempt, delay } => {
                tracing::info!(attempt, ?delay, "bgpd restarting")
            }
            BgpdEvent::GaveUp { reason } => {
                tracing::error!(%reason, log_tail = ?reason.log_tail, "bgpd: giving up")
            }
            BgpdEvent::Starting => tracing::debug!("bgpd starting"),
        }
        match self.events.try_send(ev) {
            Ok(()) | Err(mpsc::error::TrySendError::Closed(_)) => {}
            Err(mpsc::error::TrySendError::Full(ev)) => {
                tracing::warn!(
                    ?ev,
                    "bgpd: event channel full (embedder not reading); event dropped"
                );
            }
        }
    }

    fn log_tail(&self) -> Vec<String> {
        if let Some(l) = &self.spec.log_file {
            let t = files::tail(l, TAIL_LINES, &self.spec.vty_password);
            if !t.is_empty() {
                return t;
            }
        }
        self.output_tail
            .lock()
            .map(|t| t.iter().cloned().collect())
            .unwrap_or_default()
    }

    /// Kills bgpds left over in the namespace (by an earlier run of ours, found through the pid
    /// file or by scanning the namespace). Never touches a process that is not bgpd or not in
    /// the namespace.
    async fn clear_stale(&self) -> Result<(), BgpdError> {
        let pid_file = self.spec.pid_file.clone();
        let binary = self.binary.clone();
        let ns_id = self.ns_id;
        let grace = self.spec.stop_timeout;
        let span = tracing::Span::current();
        let r = tokio::task::spawn_blocking(move || -> Result<(), BgpdError> {
            let _entered = span.enter();
            let mut candidates = netns::process::pids_in_ns(ns_id).unwrap_or_default();
            if let Some(pid) = files::read_pid_file(&pid_file)? {
                if procfs::open_verified_bgpd(pid, &binary, ns_id).is_none() && procfs::ns_of(pid).is_some() {
                    tracing::warn!(pid, pid_file = %pid_file.display(), "bgpd: stale pid file names a process that is not our bgpd; leaving it alone");
                }
                candidates.push(pid);
            }
            candidates.sort_unstable();
            candidates.dedup();
            for pid in candidates {
                if let Some(p) = procfs::open_verified_bgpd(pid, &binary, ns_id) {
                    tracing::warn!(pid, "bgpd: adopting a stale bgpd in the namespace: stopping it");
                    if !procfs::terminate(&p, grace) {
                        tracing::error!(pid, "bgpd: stale bgpd survived SIGKILL");
                    }
                }
            }
            files::remove_if_exists(&pid_file)
        })
        .await;
        r.unwrap_or_else(|e| {
            Err(BgpdError::Task {
                name: self.spec.netns.clone(),
                detail: e.to_string(),
            })
        })
    }

    async fn run(mut self, mut stop_rx: oneshot::Receiver<()>) -> Result<(), BgpdError> {
        let mut machine = Machine::new(self.spec.backoff.clone(), fastrand::u64(..));
        let mut queue: VecDeque<Command> = machine.start().into();
        let mut proc: Option<Proc> = None;
        let mut readiness: Option<BoxFuture<Result<Duration, StartFailure>>> = None;
        let mut timer: Option<Pin<Box<tokio::time::Sleep>>> = None;
        let mut launched_at = Instant::now();

        loop {
            while let Some(cmd) = queue.pop_front() {
                match cmd {
                    Command::Emit(ev) => {
                        if let BgpdEvent::Restarting { attempt, .. } = &ev {
                            if *attempt >= 3 {
                                tracing::warn!(attempt, log_tail = ?self.log_tail(), "bgpd: crash loop");
                            }
                        }
                        self.emit(ev);
                    }
                    Command::Launch => {
                        let input = self.launch_once(&mut proc, &mut launched_at).await?;
                        queue.extend(machine.handle(input, Instant::now()));
                    }
                    Command::CheckReadiness { pid } => {
                        let check = self.readiness_check();
                        readiness = Some(Box::pin(async move {
                            let r = check?.run().await;
                            tracing::debug!(pid, ?r, "bgpd readiness check finished");
                            r
                        }));
                    }
                    Command::Kill { pid } => {
                        if proc.as_ref().is_some_and(|p| p.pid == pid) {
                            signal_group(pid, libc::SIGKILL);
                        }
                    }
                    Command::ArmTimer { delay } => {
                        timer = Some(Box::pin(tokio::time::sleep(delay)))
                    }
                    Command::GiveUp(mut report) => {
                        report.log_tail = self.log_tail();
                        self.emit(BgpdEvent::GaveUp { reason: report });
                    }
                }
            }
            self.shared
                .restarts
                .store(machine.restarts(), Ordering::Release);

            let input = tokio::select! {
                // A stop request wins over everything else that is ready at the same time.
                biased;
                _ = &mut stop_rx => break,
                status = wait_child(&mut proc) => {
                    let info = match status {
                        Ok(s) => ExitInfo::from_status(s),
                        Err(e) => {
                            tracing::error!(error = %e, "bgpd: waiting for the process failed; killing it");
                            if let Some(p) = &mut proc {
                                signal_group(p.pid, libc::SIGKILL);
                                let _ = p.child.wait().await;
                            }
                            ExitInfo::Unknown
                        }
                    };
                    tracing::debug!(ran_for = ?launched_at.elapsed(), "bgpd process reaped");
                    if let Some(p) = proc.take() {
                        drain_output(p.output).await;
                    }
                    readiness = None;
                    self.shared.pid.store(0, Ordering::Release);
                    Input::Exited(info)
                }
                r = poll_opt(&mut readiness) => {
                    readiness = None;
                    match r {
                        Ok(took) => {
                            tracing::debug!(?took, since_launch = ?launched_at.elapsed(), "bgpd Vty accepted a login");
                            Input::ReadinessOk
                        }
                        Err(f) => Input::ReadinessFailed(f),
                    }
                }
                _ = async { match &mut timer { Some(t) => t.as_mut().await, None => std::future::pending().await } } => {
                    timer = None;
                    Input::TimerFired
                }
            };
            queue.extend(machine.handle(input, Instant::now()));
        }
        self.shutdown(proc).await
    }

    fn readiness_check(&self) -> Result<ReadinessCheck, StartFailure> {
        let origin = match &self.origin {
            Origin::Current => Origin::Current,
            Origin::Namespace(ns) => {
                Origin::Namespace(ns.try_clone().map_err(|e| StartFailure::NotReady {
                    waited: Duration::ZERO,
                    last_error: e.to_string(),
                })?)
            }
        };
        Ok(ReadinessCheck {
            addr: self.spec.vty_addr,
            origin,
            options: self.spec.vty_options(),
            policy: self.spec.readiness.clone(),
        })
    }

    async fn launch_once(
        &mut self,
        proc: &mut Option<Proc>,
        launched_at: &mut Instant,
    ) -> Result<Input, BgpdError> {
        // A bgpd still holding the pid file lock or the Vty port would make this launch fail, or
        // worse, answer our readiness check in its place.
        if let Err(e) = self.clear_stale().await {
            tracing::warn!(error = %e, "bgpd: clearing stale processes failed");
        }
        let ns = match self.ns.try_clone() {
            Ok(ns) => ns,
            Err(e) => {
                return Ok(Input::LaunchFailed(StartFailure::Spawn {
                    binary: self.binary.clone(),
                    kind: std::io::ErrorKind::Other,
                    message: e.to_string(),
                }))
            }
        };
        if let Ok(mut t) = self.output_tail.lock() {
            t.clear();
        }
        let req = LaunchRequest {
            binary: self.binary.clone(),
            args: self.spec.args(),
            ns,
        };
        *launched_at = Instant::now();
        match launch(
            req,
            self.spec.vty_password.clone(),
            self.output_tail.clone(),
        )
        .await
        {
            Ok(l) => {
                let pid = l.pid;
                tracing::info!(pid, binary = %self.binary.display(), "bgpd launched");
                self.shared.pid.store(pid, Ordering::Release);
                *proc = Some(Proc {
                    child: l.child,
                    pid,
                    output: l.output,
                });
                Ok(Input::Launched { pid })
            }
            Err(e) => Ok(Input::LaunchFailed(StartFailure::Spawn {
                binary: self.binary.clone(),
                kind: e.kind(),
                message: e.to_string(),
            })),
        }
    }

    async fn shutdown(self, proc: Option<Proc>) -> Result<(), BgpdError> {
        if let Some(mut p) = proc {
            signal_group(p.pid, libc::SIGTERM);
            let status = match tokio::time::timeout(self.spec.stop_timeout, p.child.wait()).await {
                Ok(s) => s,
                Err(_) => {
                    tracing::warn!(pid = p.pid, timeout = ?self.spec.stop_timeout, "bgpd ignored SIGTERM; sending SIGKILL");
                    signal_group(p.pid, libc::SIGKILL);
                    p.child.wait().await
                }
            };
            self.shared.pid.store(0, Ordering::Release);
            let status = status
                .map(ExitInfo::from_status)
                .unwrap_or(ExitInfo::Unknown);
            tracing::info!(%status, "bgpd stopped");
            self.emit(BgpdEvent::Exited { status });
        }
        let ns_id = self.ns_id;
        let name = self.spec.netns.clone();
        let swept = tokio::task::spawn_blocking(move || {
            if procfs::is_shared_namespace(ns_id) {
                return Err(BgpdError::OwnNamespace { name });
            }
            netns::process::kill_all_in_ns(ns_id, Duration::from_secs(2))
                .map_err(|source| BgpdError::Namespace { name, source })
        })
        .await
        .map_err(|e| BgpdError::Task {
            name: self.spec.netns.clone(),
            detail: e.to_string(),
        })??;
        if !swept.is_empty() {
            tracing::warn!(pids = ?swept, "bgpd: killed processes left in the namespace");
        }
        files::remove_if_exists(&self.spec.pid_file)
    }
}
