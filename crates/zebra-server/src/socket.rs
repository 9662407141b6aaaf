//! Creating the listening Unix socket safely.

use std::fs;
use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::error::ServerError;

/// The socket file we created, identified by device, inode and change time so that we never remove a file
/// someone else put in its place.
#[derive(Debug, Clone)]
pub(crate) struct SocketFile {
    pub(crate) path: PathBuf,
    dev: u64,
    ino: u64,
    ctime: (i64, i64),
}

impl SocketFile {
    /// Removes the socket file if it is still ours.
    pub(crate) fn remove(&self) {
        if let Ok(m) = fs::symlink_metadata(&self.path) {
            if m.dev() == self.dev
                && m.ino() == self.ino
                && (m.ctime(), m.ctime_nsec()) == self.ctime
            {
                let _ = fs::remove_file(&self.path);
            }
        }
    }
}

fn io_err<'a>(path: &'a Path, op: &'static str) -> impl FnOnce(std::io::Error) -> ServerError + 'a {
    move |source| ServerError::Io {
        op,
        path: path.to_path_buf(),
        source,
    }
}

/// Bytes waiting in the receive queue of the stream socket `fd` (`FIONREAD`), `None` when the
/// kernel does not say.
pub(crate) fn queued_bytes(fd: &impl std::os::fd::AsRawFd) -> Option<usize> {
    let mut n: libc::c_int = 0;
    // SAFETY: FIONREAD writes one c_int through the pointer, which points at `n`, alive and
    // writable for the whole call; the descriptor is borrowed from an open socket.
    let rc = unsafe { libc::ioctl(fd.as_raw_fd(), libc::FIONREAD, &mut n) };
    if rc == 0 {
        usize::try_from(n).ok()
    } else {
        None
    }
}

fn euid() -> u32 {
    // SAFETY: geteuid has no preconditions and cannot fail.
    unsafe { libc::geteuid() }
}

/// Checks (creating it if missing) that `dir` is a directory owned by us that nobody else can
/// write to.
fn check_directory(dir: &Path, group: Option<u32>) -> Result<(), ServerError> {
    if !dir.exists() {
        fs::create_dir_all(dir).map_err(io_err(dir, "create directory"))?;
        let mode = if group.is_some() { 0o750 } else { 0o700 };
        fs::set_permissions(dir, fs::Permissions::from_mode(mode))
            .map_err(io_err(dir, "chmod directory"))?;
        if let Some(gid) = group {
            std::os::unix::fs::chown(dir, None, Some(gid))
                .map_err(io_err(dir, "chown directory"))?;
        }
    }
    let m = fs::metadata(dir).map_err(io_err(dir, "stat directory"))?;
    if !m.is_dir() {
        return Err(ServerError::NotADirectory {
            path: dir.to_path_buf(),
        });
    }
    let mode = m.mode() & 0o7777;
    if m.uid() != euid() || mode & 0o022 != 0 {
        return Err(ServerError::InsecureDirectory {
            path: dir.to_path_buf(),
            uid: m.uid(),
            mode,
        });
    }
    Ok(())
}

/// Binds a listening socket at `path`: removes a stale socket file, refuses to replace any
/// other kind of file, and leaves the socket mode 0600 (0660 owned by `group` when given).
pub(crate) fn bind(
    path: &Path,
    group: Option<u32>,
) -> Result<(std::os::unix::net::UnixListener, SocketFile), ServerError> {
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => PathBuf::from("."),
    };
    check_directory(&dir, group)?;
    match fs::symlink_metadata(path) {
        Ok(m) if m.file_type().is_socket() => {
            fs::remove_file(path).map_err(io_err(path, "remove stale socket"))?;
        }
        Ok(_) => {
            return Err(ServerError::NotASocket {
                path: path.to_path_buf(),
            })
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => return Err(io_err(path, "stat socket")(e)),
    }
    let listener = std::os::unix::net::UnixListener::bind(path).map_err(io_err(path, "bind"))?;
    let mode = if group.is_some() { 0o660 } else { 0o600 };
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).map_err(io_err(path, "chmod"))?;
    if let Some(gid) = group {
        std::os::unix::fs::chown(path, None, Some(gid)).map_err(io_err(path, "chown"))?;
    }
    listener
        .set_nonblocking(true)
        .map_err(io_err(path, "set non-blocking"))?;
    let m = fs::symlink_metadata(path).map_err(io_err(path, "stat socket"))?;
    Ok((
        listener,
        SocketFile {
            path: path.to_path_buf(),
            dev: m.dev(),
            ino: m.ino(),
            ctime: (m.ctime(), m.ctime_nsec()),
        },
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn queued_bytes_counts_what_waits_unread_on_a_stream_socket() {
        use std::io::{Read, Write};
        let (mut a, mut b) = std::os::unix::net::UnixStream::pair().unwrap();
        assert_eq!(queued_bytes(&b), Some(0));
        a.write_all(&[7; 100]).unwrap();
        a.write_all(&[8; 50]).unwrap();
        // Across writes: the whole stream waiting, not only the next write's bytes.
        assert_eq!(queued_bytes(&b), Some(150));
        let mut buf = [0u8; 120];
        b.read_exact(&mut buf).unwrap();
        assert_eq!(queued_bytes(&b), Some(30));
    }

    #[test]
    fn creates_0600_socket_and_replaces_stale_one() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zserv.api");
        let (l1, f1) = bind(&path, None).unwrap();
        assert_eq!(fs::metadata(&path).unwrap().mode() & 0o777, 0o600);
        drop(l1);
        // The file is left behind by a dead server: a new bind removes it.
        let (_l2, f2) = bind(&path, None).unwrap();
        // The old handle no longer owns the file and must not remove it.
        f1.remove();
        assert!(path.exists());
        f2.remove();
        assert!(!path.exists());
    }

    #[test]
    fn group_socket_is_0660() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("sub").join("zserv.api");
        // SAFETY: getegid has no preconditions.
        let gid = unsafe { libc::getegid() };
        let (_l, f) = bind(&path, Some(gid)).unwrap();
        let m = fs::metadata(&path).unwrap();
        assert_eq!(m.mode() & 0o777, 0o660);
        assert_eq!(m.gid(), gid);
        assert_eq!(
            fs::metadata(path.parent().unwrap()).unwrap().mode() & 0o777,
            0o750
        );
        f.remove();
    }

    #[test]
    fn refuses_regular_files_and_world_writable_directories() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zserv.api");
        fs::write(&path, b"not a socket").unwrap();
        assert!(matches!(
            bind(&path, None),
            Err(ServerError::NotASocket { .. })
        ));
        let open = dir.path().join("open");
        fs::create_dir(&open).unwrap();
        fs::set_permissions(&open, fs::Permissions::from_mode(0o777)).unwrap();
        assert!(matches!(
            bind(&open.join("zserv.api"), None),
            Err(ServerError::InsecureDirectory { .. })
        ));
    }
}
