//! Finding, verifying and killing processes by what `/proc` says about them, with pidfds so a
//! recycled pid is never signalled by mistake.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

pub(crate) use netns::process::{is_shared as is_shared_namespace, ns_of, NsId, Pidfd};

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

/// SIGTERM, wait up to `grace`, then SIGKILL and wait up to 2 s more. True when it is gone.
pub(crate) fn terminate(p: &Pidfd, grace: Duration) -> bool {
    if !p.signal(libc::SIGTERM) {
        return true;
    }
    if p.wait_exit(Instant::now() + grace) {
        return true;
    }
    tracing::warn!(
        pid = p.pid(),
        "bgpd: still alive {grace:?} after SIGTERM; sending SIGKILL"
    );
    p.signal(libc::SIGKILL);
    p.wait_exit(Instant::now() + Duration::from_secs(2))
}

/// Opens `pid` and keeps it only if it is a bgpd running `binary` inside namespace `ns`.
pub(crate) fn open_verified_bgpd(pid: u32, binary: &Path, ns: NsId) -> Option<Pidfd> {
    let p = Pidfd::open(pid)?;
    // Checked after opening: if the pid was recycled in between, the pidfd refers to the old,
    // dead process and signals sent through it fail harmlessly.
    (ns_of(pid) == Some(ns) && is_bgpd(pid, binary)).then_some(p)
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
        assert!(!p.wait_exit(Instant::now() + Duration::from_millis(20)));
        assert!(terminate(&p, Duration::from_secs(5)));
        let status = child.wait().unwrap();
        use std::os::unix::process::ExitStatusExt;
        assert_eq!(status.signal(), Some(libc::SIGTERM));
        // Gone: signals fail, no panic.
        assert!(!p.signal(0));
    }
}
