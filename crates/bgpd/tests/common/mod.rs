//! Shared fixtures of the bgpd integration tests: a namespace + temp dir per test, event helpers,
//! zombie and leftover checks.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use bgpd::{BgpdEvent, BgpdSpec, ConfigFile};
use tokio::sync::mpsc::Receiver;

pub const PASSWORD: &str = "test-vty-pw";

/// The tests of one binary run one at a time: they are heavy (real bgpd processes on a loaded
/// 2-core machine) and the zombie check looks at all children of the test process.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|p| p.into_inner())
}

/// A namespace (killed and deleted on drop) and a private directory for config, pid, socket, log.
pub struct Lab {
    pub ns: netns::NetNsGuard,
    pub dir: tempfile::TempDir,
    pub bgpd: PathBuf,
}

impl Lab {
    pub fn new(bgpd: PathBuf) -> Lab {
        let name = testkit::unique_name("bgpd");
        let ns = netns::NetNsGuard::create(&name).expect("create namespace");
        let dir = tempfile::Builder::new()
            .prefix("bgpd-test")
            .tempdir()
            .expect("tempdir");
        Lab { ns, dir, bgpd }
    }

    pub fn name(&self) -> &str {
        self.ns.name()
    }

    pub fn run_dir(&self) -> PathBuf {
        self.dir.path().join("run")
    }

    pub fn pid_file(&self) -> PathBuf {
        self.run_dir().join("bgpd.pid")
    }

    /// A spec: managed config (hostname + password), no zebra, no BGP listener, Vty on
    /// 127.0.0.1:2605 inside the namespace.
    pub fn spec(&self) -> BgpdSpec {
        let config = ConfigFile::Managed {
            path: self.dir.path().join("etc/bgpd.conf"),
            hostname: "bgpdtest".into(),
            log_file: None,
        };
        let mut spec = BgpdSpec::new(self.name(), self.run_dir(), config, PASSWORD);
        spec.binary = Some(self.bgpd.clone());
        spec.extra_args = vec!["-p".into(), "0".into()];
        spec
    }

    /// A TCP connection to bgpd's Vty made inside the namespace, logged in.
    pub async fn vty(&self, spec: &BgpdSpec) -> vty::Vty {
        let addr = spec.vty_addr;
        let std_stream = self
            .ns
            .run(move || {
                let s = std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
                s.set_nonblocking(true)?;
                Ok::<_, std::io::Error>(s)
            })
            .expect("enter namespace")
            .expect("connect to the Vty");
        let stream = tokio::net::TcpStream::from_std(std_stream).unwrap();
        vty::Vty::login(stream, &spec.vty_options())
            .await
            .expect("Vty login")
    }

    /// Processes inside the namespace.
    pub fn pids_in_ns(&self) -> Vec<u32> {
        netns::pids_in(&self.ns).unwrap()
    }
}

/// The next event, or panic after `timeout`.
pub async fn next_event(rx: &mut Receiver<BgpdEvent>, timeout: Duration) -> BgpdEvent {
    match tokio::time::timeout(timeout, rx.recv()).await {
        Ok(Some(ev)) => ev,
        Ok(None) => panic!("event channel closed"),
        Err(_) => panic!("no event within {timeout:?}"),
    }
}

/// Events until one matches `pred` (returned last), or panic after `timeout`.
pub async fn events_until(
    rx: &mut Receiver<BgpdEvent>,
    timeout: Duration,
    pred: impl Fn(&BgpdEvent) -> bool,
) -> Vec<(Instant, BgpdEvent)> {
    let deadline = Instant::now() + timeout;
    let mut seen = Vec::new();
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let ev = match tokio::time::timeout(left, rx.recv()).await {
            Ok(Some(ev)) => ev,
            Ok(None) => panic!("event channel closed; seen {seen:?}"),
            Err(_) => panic!("no matching event within {timeout:?}; seen {seen:?}"),
        };
        let done = pred(&ev);
        seen.push((Instant::now(), ev));
        if done {
            return seen;
        }
    }
}

/// Waits for `Ready` and returns its pid.
pub async fn wait_ready(rx: &mut Receiver<BgpdEvent>, timeout: Duration) -> u32 {
    let seen = events_until(rx, timeout, |e| {
        matches!(e, BgpdEvent::Ready { .. } | BgpdEvent::GaveUp { .. })
    })
    .await;
    match seen.last() {
        Some((_, BgpdEvent::Ready { pid })) => *pid,
        other => panic!("expected Ready, got {other:?} after {seen:?}"),
    }
}

pub fn alive(pid: u32) -> bool {
    // A zombie is dead for our purposes.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(s) => !stat_state(&s).is_some_and(|c| c == 'Z' || c == 'X'),
        Err(_) => false,
    }
}

fn stat_state(stat: &str) -> Option<char> {
    // "pid (comm) S ppid ..." — comm may contain spaces or parentheses.
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.trim_start().chars().next())
}

fn stat_ppid(stat: &str) -> Option<u32> {
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().nth(1))
        .and_then(|p| p.parse().ok())
}

/// Zombie children of this process.
pub fn zombie_children() -> Vec<u32> {
    let me = std::process::id();
    let mut z = Vec::new();
    for e in std::fs::read_dir("/proc").unwrap().flatten() {
        let Some(pid) = e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()) else {
            continue;
        };
        let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
            continue;
        };
        if stat_ppid(&stat) == Some(me) && stat_state(&stat) == Some('Z') {
            z.push(pid);
        }
    }
    z
}

/// Polls (a child may be between its death and its reaping) until no zombie child remains.
pub async fn assert_no_zombies() {
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        let z = zombie_children();
        if z.is_empty() {
            return;
        }
        assert!(
            Instant::now() < deadline,
            "zombie children of the test process: {z:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Polls until `cond` holds, or panics with `what` after `timeout`.
pub async fn eventually(timeout: Duration, what: &str, mut cond: impl FnMut() -> bool) {
    let deadline = Instant::now() + timeout;
    while !cond() {
        assert!(Instant::now() < deadline, "timed out waiting for: {what}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// Starts a bgpd in `lab`'s namespace by hand (as an earlier run of ours would have), writing
/// `pid_file`, and waits until the pid file names it.
// The caller waits for the child.
#[allow(clippy::zombie_processes)]
pub fn spawn_stray_bgpd(lab: &Lab, spec: &BgpdSpec, pid_file: &Path) -> std::process::Child {
    let mut args = spec.args();
    // Same command line, but the pid file given.
    let i = args.iter().position(|a| a == "-i").unwrap();
    args[i + 1] = pid_file.as_os_str().to_owned();
    let child = std::process::Command::new("ip")
        .args(["netns", "exec", lab.name()])
        .arg(&lab.bgpd)
        .args(&args)
        .stdin(std::process::Stdio::null())
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("spawn stray bgpd");
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(s) = std::fs::read_to_string(pid_file) {
            if s.trim().parse::<u32>().ok() == Some(child.id()) {
                return child;
            }
        }
        assert!(
            Instant::now() < deadline,
            "stray bgpd did not write its pid file"
        );
        std::thread::sleep(Duration::from_millis(10));
    }
}
