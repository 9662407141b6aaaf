//! Launching bgpd: a child that enters the namespace, leads its own process group and dies with
//! us, its output forwarded to `tracing`.

use std::collections::VecDeque;
use std::ffi::OsString;
use std::os::fd::AsRawFd;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::{mpsc as std_mpsc, Arc, Mutex, OnceLock};

use tokio::io::{AsyncBufReadExt, AsyncRead, AsyncReadExt, BufReader};
use tokio::process::Child;
use tokio::task::JoinHandle;

use crate::files::redact;
use crate::secret::Secret;

/// Lines of captured stdout/stderr kept for crash reports.
pub(crate) const OUTPUT_TAIL_LINES: usize = 20;
/// Longest output line forwarded; longer lines are cut.
const MAX_LINE: u64 = 4096;

/// The last lines bgpd printed on stdout/stderr.
pub(crate) type OutputTail = Arc<Mutex<VecDeque<String>>>;

type Job = Box<dyn FnOnce() + Send>;

/// The one thread that forks every bgpd of this process.
///
/// `PR_SET_PDEATHSIG` fires when the *thread* that forked the child exits, not the process: a
/// tokio blocking-pool thread, for example, ends after some idle time and would take bgpd with
/// it. This thread lives as long as the process, so bgpd dies exactly when we do.
fn launcher() -> Option<std_mpsc::Sender<Job>> {
    static LAUNCHER: OnceLock<Option<std_mpsc::Sender<Job>>> = OnceLock::new();
    LAUNCHER
        .get_or_init(|| {
            let (tx, rx) = std_mpsc::channel::<Job>();
            std::thread::Builder::new()
                .name("bgpd-launcher".into())
                .spawn(move || {
                    // A thread starts in its creator's network namespace, which may be a
                    // short-lived one (a caller running inside `NetNs::run`): keeping it would
                    // keep that namespace and its links alive. Move to the process's own
                    // (the main thread's) namespace; children setns into theirs anyway.
                    if let Ok(f) = std::fs::File::open("/proc/self/ns/net") {
                        // SAFETY: setns on a valid namespace fd; affects this thread only.
                        unsafe { libc::setns(f.as_raw_fd(), libc::CLONE_NEWNET) };
                    }
                    while let Ok(job) = rx.recv() {
                        job();
                    }
                })
                .ok()
                .map(|_| tx)
        })
        .clone()
}

/// What to launch.
pub(crate) struct LaunchRequest {
    pub binary: PathBuf,
    pub args: Vec<OsString>,
    /// The namespace to enter (owned by the request, so it stays open until the fork is done).
    pub ns: netns::NetNs,
}

/// A launched bgpd: the child (to await and reap), its pid, and the tasks forwarding its
/// stdout and stderr (they end at the pipes' end of file).
pub(crate) struct Launched {
    pub child: Child,
    pub pid: u32,
    pub output: Vec<JoinHandle<()>>,
}

/// Launches bgpd.
pub(crate) async fn launch(
    req: LaunchRequest,
    password: Secret,
    tail: OutputTail,
) -> std::io::Result<Launched> {
    let handle = tokio::runtime::Handle::current();
    let (tx, rx) = tokio::sync::oneshot::channel();
    let job: Job = Box::new(move || {
        let _guard = handle.enter();
        let _ = tx.send(spawn_in_namespace(&req));
    });
    let launcher =
        launcher().ok_or_else(|| std::io::Error::other("cannot start the bgpd launcher thread"))?;
    launcher
        .send(job)
        .map_err(|_| std::io::Error::other("the bgpd launcher thread is gone"))?;
    let mut child = rx
        .await
        .map_err(|_| std::io::Error::other("the bgpd launcher thread dropped the request"))??;
    let pid = child
        .id()
        .ok_or_else(|| std::io::Error::other("bgpd exited before its pid was read"))?;
    let mut output = Vec::new();
    if let Some(out) = child.stdout.take() {
        output.push(tokio::spawn(forward_output(
            out,
            "stdout",
            pid,
            password.clone(),
            tail.clone(),
        )));
    }
    if let Some(err) = child.stderr.take() {
        output.push(tokio::spawn(forward_output(
            err, "stderr", pid, password, tail,
        )));
    }
    Ok(Launched { child, pid, output })
}

fn spawn_in_namespace(req: &LaunchRequest) -> std::io::Result<Child> {
    let ns_fd = req.ns.as_fd().as_raw_fd();
    // SAFETY: getpid has no preconditions.
    let parent = unsafe { libc::getpid() };
    let mut cmd = tokio::process::Command::new(&req.binary);
    cmd.args(&req.args)
        .env_clear()
        .env("PATH", "/usr/sbin:/usr/bin:/sbin:/bin")
        .env("LANG", "C")
        .current_dir("/")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .process_group(0)
        .kill_on_drop(false);
    // SAFETY: the closure runs in the forked child before exec and only makes async-signal-safe
    // system calls (setns, prctl, getppid) and builds io::Errors from raw errno values, which
    // does not allocate.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setns(ns_fd, libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            if libc::prctl(
                libc::PR_SET_PDEATHSIG,
                libc::SIGKILL as libc::c_ulong,
                0,
                0,
                0,
            ) != 0
            {
                return Err(std::io::Error::last_os_error());
            }
            // We may have died between fork and prctl: then nobody would ever kill bgpd.
            if libc::getppid() != parent {
                return Err(std::io::Error::from_raw_os_error(libc::ESRCH));
            }
            Ok(())
        });
    }
    cmd.spawn()
}

/// Forwards one output stream of bgpd, line by line, to `tracing` and the tail buffer.
async fn forward_output<R: AsyncRead + Unpin>(
    stream: R,
    name: &'static str,
    pid: u32,
    password: Secret,
    tail: OutputTail,
) {
    let mut reader = BufReader::new(stream);
    let mut buf = Vec::new();
    loop {
        buf.clear();
        match (&mut reader)
            .take(MAX_LINE)
            .read_until(b'\n', &mut buf)
            .await
        {
            Ok(0) | Err(_) => break,
            Ok(_) => {}
        }
        let line = String::from_utf8_lossy(&buf);
        let line = redact(line.trim_end(), &password);
        if line.is_empty() {
            continue;
        }
        tracing::info!(target: "bgpd::output", pid, stream = name, "{line}");
        if let Ok(mut t) = tail.lock() {
            if t.len() >= OUTPUT_TAIL_LINES {
                t.pop_front();
            }
            t.push_back(format!("[{name}] {line}"));
        }
    }
}
