//! Processes by namespace: which processes live in a network namespace, and handles that stay
//! bound to one process even if its pid is recycled (pidfds), so killing what is left inside a
//! namespace never signals an unrelated process that happens to get a freed pid.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::os::unix::fs::MetadataExt;
use std::time::{Duration, Instant};

use crate::error::{NetnsError, Result};

/// A network namespace's identity: the (device, inode) of its nsfs file (what
/// [`crate::NetNs::id`] returns).
pub type NsId = (u64, u64);

/// The network namespace of process `pid`, if it is readable.
pub fn ns_of(pid: u32) -> Option<NsId> {
    std::fs::metadata(format!("/proc/{pid}/ns/net"))
        .ok()
        .map(|md| (md.dev(), md.ino()))
}

/// Whether `ns` is the network namespace of this process or of init: "everything in" such a
/// namespace includes unrelated processes, so nothing should ever kill it all.
pub fn is_shared(ns: NsId) -> bool {
    ns_of(std::process::id()) == Some(ns) || ns_of(1) == Some(ns)
}

/// Process ids (other than this process) whose network namespace is `ns`, sorted.
pub fn pids_in_ns(ns: NsId) -> Result<Vec<u32>> {
    let me = std::process::id();
    let dir = std::fs::read_dir("/proc").map_err(|e| NetnsError::os("read", "/proc", e))?;
    let mut pids = Vec::new();
    for entry in dir.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|s| s.parse::<u32>().ok())
        else {
            continue;
        };
        // Processes may vanish or be unreadable meanwhile: skip them.
        if pid != me && ns_of(pid) == Some(ns) {
            pids.push(pid);
        }
    }
    pids.sort_unstable();
    Ok(pids)
}

/// Sends SIGKILL to every process in namespace `ns` (never this one) and waits, at most
/// `timeout`, until they are gone; processes forked meanwhile are found by the next scan.
/// Returns the pids killed. Blocks the calling thread. The caller must have checked
/// [`is_shared`].
///
/// Each process is signalled through a pidfd opened before its namespace is checked again, so a
/// pid recycled between the scan of `/proc` and the signal is never hit.
pub fn kill_all_in_ns(ns: NsId, timeout: Duration) -> Result<Vec<u32>> {
    let deadline = Instant::now() + timeout;
    let mut killed = Vec::new();
    loop {
        let mut handles = Vec::new();
        for pid in pids_in_ns(ns)? {
            let Some(p) = Pidfd::open(pid) else { continue };
            // Checked after opening: if the pid was recycled in between, the pidfd refers to
            // a process outside `ns` and is skipped.
            if ns_of(pid) != Some(ns) {
                continue;
            }
            if p.signal(libc::SIGKILL) {
                if !killed.contains(&pid) {
                    killed.push(pid);
                }
                handles.push(p);
            }
        }
        if handles.is_empty() {
            return Ok(killed);
        }
        for p in &handles {
            p.wait_exit(deadline);
        }
        if Instant::now() >= deadline {
            tracing::warn!(
                pids = ?killed,
                "processes in the namespace were still there {timeout:?} after SIGKILL"
            );
            return Ok(killed);
        }
    }
}

/// An open pidfd: a handle on one process that a recycled pid cannot redirect.
#[derive(Debug)]
pub struct Pidfd {
    pid: u32,
    fd: OwnedFd,
}

impl Pidfd {
    /// Opens `pid`; `None` if it does not exist (or pidfds are unavailable). Pids 0 and 1 are
    /// never opened.
    pub fn open(pid: u32) -> Option<Pidfd> {
        let raw_pid = libc::pid_t::try_from(pid).ok().filter(|&p| p > 1)?;
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1; no memory is
        // passed.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, raw_pid, 0) };
        let fd = i32::try_from(fd).ok().filter(|&fd| fd >= 0)?;
        // SAFETY: `fd` is a freshly opened descriptor that nothing else owns.
        Some(Pidfd {
            pid,
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// The pid this handle was opened for.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// Sends `signal`; false if the process is gone.
    pub fn signal(&self, signal: i32) -> bool {
        // SAFETY: the fd is a valid pidfd; info may be NULL; flags must be 0.
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

    /// Waits until the process has exited (it may remain a zombie of its parent) or `deadline`
    /// passes. True when it exited.
    pub fn wait_exit(&self, deadline: Instant) -> bool {
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let ms = i32::try_from(left.as_millis()).unwrap_or(i32::MAX);
            let mut pfd = libc::pollfd {
                fd: self.fd.as_raw_fd(),
                events: libc::POLLIN,
                revents: 0,
            };
            // SAFETY: `pfd` is one valid pollfd that lives across the call.
            let r = unsafe { libc::poll(&mut pfd, 1, ms) };
            if r > 0 {
                return true;
            }
            if r == 0 || left == Duration::ZERO {
                return false;
            }
            // EINTR: retry until the deadline.
        }
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn signals_and_waits_for_a_child() {
        let mut child = std::process::Command::new("sleep")
            .arg("60")
            .spawn()
            .unwrap();
        let p = Pidfd::open(child.id()).unwrap();
        assert!(!p.wait_exit(Instant::now() + Duration::from_millis(20)));
        assert!(p.signal(libc::SIGKILL));
        assert!(p.wait_exit(Instant::now() + Duration::from_secs(5)));
        child.wait().unwrap();
        // Reaped: signals through the handle fail instead of reaching a recycled pid.
        assert!(!p.signal(libc::SIGKILL));
    }

    #[test]
    fn reserved_and_missing_pids_are_none() {
        assert!(Pidfd::open(0).is_none());
        assert!(Pidfd::open(1).is_none());
        assert!(Pidfd::open(u32::MAX).is_none());
    }
}
