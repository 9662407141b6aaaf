//! Finding, verifying and killing processes by what `/proc` says about them, with pidfds so a
//! recycled pid is never signalled by mistake.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

/// A namespace identity: (device, inode) of its nsfs file.
pub(crate) type NsId = (u64, u64);

/// The network namespace of `pid`, if it can be read.
pub(crate) fn ns_of(pid: u32) -> Option<NsId> {
    std::fs::metadata(format!("/proc/{pid}/ns/net"))
        .ok()
        .map(|m| (m.dev(), m.ino()))
}

/// Whether `ns` is the network namespace of this process or of init: killing "everything in"
/// such a namespace would hit unrelated processes.
pub(crate) fn is_shared_namespace(ns: NsId) -> bool {
    let mine = std::fs::metadata("/proc/self/ns/net")
        .ok()
        .map(|m| (m.dev(), m.ino()));
    let init = std::fs::metadata("/proc/1/ns/net")
        .ok()
        .map(|m| (m.dev(), m.ino()));
    mine == Some(ns) || init == Some(ns)
}

/// The executable of `pid`, without the " (deleted)" suffix the kernel adds after an upgrade.
fn exe_of(pid: u32) -> Option<PathBuf> {
    let p = std::fs::read_link(format!("/proc/{pid}/exe")).ok()?;
    let s = p.to_string_lossy();
    Some(match s.strip_suffix(" (deleted)") {
        Some(stripped) => PathBuf::from(stripped),
        None => p,
    })
}

/// Whether `pid` runs the bgpd `binary`: its executable is `binary` (or a file of the same name,
/// e.g. after a package upgrade or via a symlink), or, when the executable cannot be read, its
/// command name is the binary's name.
pub(crate) fn is_bgpd(pid: u32, binary: &Path) -> bool {
    let Some(want_name) = binary.file_name() else {
        return false;
    };
    if let Some(exe) = exe_of(pid) {
        if exe == binary {
            return true;
        }
        if let Ok(canon) = std::fs::canonicalize(binary) {
            if exe == canon {
                return true;
            }
        }
        return exe.file_name() == Some(want_name);
    }
    // The kernel truncates comm to 15 bytes.
    let comm = std::fs::read_to_string(format!("/proc/{pid}/comm")).unwrap_or_default();
    let want: String = want_name.to_string_lossy().chars().take(15).collect();
    !comm.trim_end().is_empty() && comm.trim_end() == want
}

/// A process handle that stays bound to one process even if its pid is recycled.
#[derive(Debug)]
pub(crate) struct Pidfd {
    pid: u32,
    fd: OwnedFd,
}

impl Pidfd {
    /// Opens `pid`; `None` if it does not exist (or pidfds are unavailable).
    pub(crate) fn open(pid: u32) -> Option<Pidfd> {
        let raw_pid = libc::pid_t::try_from(pid).ok().filter(|&p| p > 1)?;
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, raw_pid, 0) };
        let fd = i32::try_from(fd).ok().filter(|&fd| fd >= 0)?;
        // SAFETY: `fd` is a freshly opened descriptor that nothing else owns.
        Some(Pidfd {
            pid,
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    pub(crate) fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends `signal`; false if the process is gone.
    pub(crate) fn signal(&self, signal: i32) -> bool {
        // SAFETY: the fd is a valid pidfd; info is NULL as allowed; flags 0.
        let r = unsafe {
            libc::syscall(
                libc::SYS_pidfd_send_signal,
                self.fd.as_raw_fd(),
                signal,
                std::ptr::null::<libc::siginfo_t>(),
                0,
            )
        };
        r == 0
    }

    /// Waits until the process has exited (it may remain a zombie of its parent), at most
    /// `timeout`. True when it exited.
    pub(crate) fn wait_exit(&self, timeout: Duration) -> bool {
        let deadline = Instant::now() + timeout;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: one valid pollfd.
            let r = unsafe { libc::poll(&mut pfd, 1, ms) };
            if r > 0 {
                return true;
            }
            if r == 0 || left.is_zero() {
                return false;
            }
            // EINTR: retry until the deadline.
        }
    }
}

/// SIGTERM, wait up to `grace`, then SIGKILL and wait up to 2 s more. True when it is gone.
pub(crate) fn terminate(p: &Pidfd, grace: Duration) -> bool {
    if !p.signal(libc::SIGTERM) {
        return true;
    }
    if p.wait_exit(grace) {
        return true;
    }
    tracing::warn!(
        pid = p.pid(),
        "bgpd: still alive {grace:?} after SIGTERM; sending SIGKILL"
    );
    p.signal(libc::SIGKILL);
    p.wait_exit(Duration::from_secs(2))
}

/// Opens `pid` and keeps it only if it is a bgpd running `binary` inside namespace `ns`.
pub(crate) fn open_verified_bgpd(pid: u32, binary: &Path, ns: NsId) -> Option<Pidfd> {
    let p = Pidfd::open(pid)?;
    // Checked after opening: if the pid was recycled in between, the pidfd refers to the old,
    // dead process and signals sent through it fail harmlessly.
    (ns_of(pid) == Some(ns) && is_bgpd(pid, binary)).then_some(p)
}

/// Pids (other than ours) in namespace `ns`.
pub(crate) fn pids_in(ns: NsId) -> Vec<u32> {
    let me = std::process::id();
    let Ok(dir) = std::fs::read_dir("/proc") else {
        return Vec::new();
    };
    let mut pids: Vec<u32> = dir
        .flatten()
        .filter_map(|e| e.file_name().to_str().and_then(|s| s.parse::<u32>().ok()))
        .filter(|&pid| pid != me && ns_of(pid) == Some(ns))
        .collect();
    pids.sort_unstable();
    pids
}

/// SIGKILLs every process in `ns` (never this process) and waits up to `timeout` for them to be
/// gone. Returns the pids killed. The caller must have checked [`is_shared_namespace`].
pub(crate) fn kill_all_in(ns: NsId, timeout: Duration) -> Vec<u32> {
    let mut killed = Vec::new();
    let mut handles = Vec::new();
    for pid in pids_in(ns) {
        let Some(p) = Pidfd::open(pid) else { continue };
        if ns_of(pid) != Some(ns) {
            continue;
        }
        if p.signal(libc::SIGKILL) {
            killed.push(pid);
            handles.push(p);
        }
    }
    let deadline = Instant::now() + timeout;
    for p in &handles {
        if !p.wait_exit(deadline.saturating_duration_since(Instant::now())) {
            tracing::warn!(
                pid = p.pid(),
                "process in the bgpd namespace did not die after SIGKILL"
            );
        }
    }
    killed
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn our_own_namespace_is_shared() {
        let me = ns_of(std::process::id()).expect("own ns");
        assert!(is_shared_namespace(me));
        assert!(!is_shared_namespace((0, 1)));
    }

    #[test]
    fn a_sleep_is_not_bgpd_and_pidfd_signals_it() {
        let mut child = std::process::Command::new("sleep")
            .arg("30")
            .spawn()
            .unwrap();
        let pid = child.id();
        assert!(!is_bgpd(pid, Path::new("/usr/lib/frr/bgpd")));
        assert!(is_bgpd(pid, &exe_of(pid).unwrap()), "exe match");
        let me = ns_of(std::process::id()).unwrap();
        assert!(open_verified_bgpd(pid, Path::new("/usr/lib/frr/bgpd"), me).is_none());
        let p = Pidfd::open(pid).unwrap();
        assert!(!p.wait_exit(Duration::from_millis(20)));
        assert!(terminate(&p, Duration::from_secs(5)));
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        // Gone: signals fail, no panic.
        assert!(!p.signal(0));
    }

    #[test]
    fn pidfd_of_missing_or_reserved_pids_is_none() {
        assert!(Pidfd::open(0).is_none());
        assert!(Pidfd::open(1).is_none());
        assert!(Pidfd::open(u32::MAX).is_none());
    }
}
