//! Process handles that stay bound to one process even if its pid is recycled (pidfds), used to
//! kill what is left inside a namespace without signalling an unrelated process that happens to
//! get a freed pid.

use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::time::{Duration, Instant};

/// An open pidfd.
#[derive(Debug)]
pub(crate) struct Pidfd {
    fd: OwnedFd,
}

impl Pidfd {
    /// Opens `pid`; `None` if it does not exist (or pidfds are unavailable).
    pub(crate) fn open(pid: u32) -> Option<Pidfd> {
        let raw_pid = libc::pid_t::try_from(pid).ok().filter(|&p| p > 1)?;
        // SAFETY: pidfd_open takes a pid and flags and returns a new fd or -1; no memory is
        // passed.
        let fd = unsafe { libc::syscall(libc::SYS_pidfd_open, raw_pid, 0) };
        let fd = i32::try_from(fd).ok().filter(|&fd| fd >= 0)?;
        // SAFETY: `fd` is a freshly opened descriptor that nothing else owns.
        Some(Pidfd {
            fd: unsafe { OwnedFd::from_raw_fd(fd) },
        })
    }

    /// Sends `signal`; false if the process is gone.
    pub(crate) fn signal(&self, signal: i32) -> bool {
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
    pub(crate) fn wait_exit(&self, deadline: Instant) -> bool {
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
