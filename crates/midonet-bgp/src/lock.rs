//! One controller per name prefix: an exclusive `flock` on a lock file named after the prefix.
//!
//! Everything a controller creates (namespaces, veths, bridges) is named `<prefix>-…` and it
//! sweeps every such name at start, so a second controller with the same prefix would tear
//! down the first one's ports. Namespace and link names are host-wide, so the lock file lives
//! in one host-wide directory whatever each controller's `run_dir` says. The lock goes with the
//! process (the kernel drops it when the descriptor closes, also on a crash), so a stale file
//! never blocks a restart; a clean exit removes the file.

use std::fs::File;
use std::os::fd::AsRawFd;
use std::path::{Path, PathBuf};

/// Where the prefix locks live.
pub const LOCK_DIR: &str = "/run/lock/midonet-bgp";

/// Why the lock could not be taken.
#[derive(Debug, thiserror::Error)]
pub enum LockError {
    /// Another process holds the lock.
    #[error(
        "another midonet-bgp controller already uses the name prefix `{prefix}` (it holds {path}); \
         two controllers with one prefix would sweep each other's namespaces: stop it or choose \
         another [controller] prefix"
    )]
    Held {
        /// The prefix.
        prefix: String,
        /// The lock file.
        path: PathBuf,
    },
    /// The lock file could not be created or locked.
    #[error("lock file {path}: {source}")]
    Io {
        /// The lock file.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
}

/// A held prefix lock; released (and its file removed) when dropped, released by the kernel
/// when the process ends.
#[derive(Debug)]
pub struct PrefixLock {
    _file: File,
    path: PathBuf,
}

impl Drop for PrefixLock {
    fn drop(&mut self) {
        // Removed while still locked (the descriptor closes after this), so nothing is left
        // behind; an acquirer that opened the old file notices it was removed and starts again.
        let _ = std::fs::remove_file(&self.path);
    }
}

impl PrefixLock {
    /// Takes the lock for `prefix` in `dir` (created 0755 if missing) without waiting.
    pub fn acquire(dir: &Path, prefix: &str) -> Result<PrefixLock, LockError> {
        use std::os::unix::fs::{DirBuilderExt, MetadataExt, OpenOptionsExt};
        let path = dir.join(format!("{prefix}.lock"));
        let io = |source| LockError::Io {
            path: path.clone(),
            source,
        };
        std::fs::DirBuilder::new()
            .recursive(true)
            .mode(0o755)
            .create(dir)
            .map_err(io)?;
        loop {
            let file = std::fs::OpenOptions::new()
                .read(true)
                .write(true)
                .create(true)
                .truncate(false)
                .mode(0o600)
                .custom_flags(libc::O_NOFOLLOW | libc::O_CLOEXEC)
                .open(&path)
                .map_err(io)?;
            // SAFETY: flock on a descriptor we own; no memory is passed.
            let r = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
            if r != 0 {
                let e = std::io::Error::last_os_error();
                if e.raw_os_error() == Some(libc::EWOULDBLOCK) {
                    return Err(LockError::Held {
                        prefix: prefix.to_string(),
                        path,
                    });
                }
                return Err(io(e));
            }
            // The holder before us removes the file while still holding the lock: if the path
            // no longer names the file we locked, we locked a removed file; start again.
            let ours = file.metadata().map_err(io)?;
            match std::fs::symlink_metadata(&path) {
                Ok(now) if (now.dev(), now.ino()) == (ours.dev(), ours.ino()) => {
                    return Ok(PrefixLock { _file: file, path });
                }
                Ok(_) => continue,
                Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
                Err(e) => return Err(io(e)),
            }
        }
    }

    /// The lock file.
    pub fn path(&self) -> &Path {
        &self.path
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn a_second_holder_is_refused_until_the_first_lets_go() {
        let dir = tempfile::tempdir().unwrap();
        let locks = dir.path().join("locks");
        let first = PrefixLock::acquire(&locks, "mnbx").unwrap();
        let err = PrefixLock::acquire(&locks, "mnbx").unwrap_err();
        assert!(matches!(&err, LockError::Held { prefix, .. } if prefix == "mnbx"));
        assert!(err
            .to_string()
            .contains("already uses the name prefix `mnbx`"));
        // Another prefix is independent.
        let _other = PrefixLock::acquire(&locks, "mnby").unwrap();
        drop(first);
        assert!(!locks.join("mnbx.lock").exists(), "removed when released");
        let again = PrefixLock::acquire(&locks, "mnbx").unwrap();
        assert_eq!(again.path(), locks.join("mnbx.lock"));
        // A file left by a crash (nobody holds a lock on it) does not block.
        drop(again);
        std::fs::write(locks.join("mnbx.lock"), b"").unwrap();
        let _third = PrefixLock::acquire(&locks, "mnbx").unwrap();
    }
}
