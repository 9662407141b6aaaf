//! Named network namespaces, compatible with iproute2's `ip netns`.
//!
//! A named namespace is a file `/run/netns/NAME` onto which a namespace's `/proc/.../ns/net` is
//! bind-mounted, so the namespace lives on without processes in it. `/run/netns` itself is made a
//! shared mount point (bind-mounted onto itself first when it is a plain directory), as iproute2
//! does, so namespace mounts propagate into other mount namespaces.

use std::fs::File;
use std::os::fd::{AsFd, BorrowedFd};
use std::os::unix::fs::MetadataExt;
use std::path::{Path, PathBuf};

use nix::mount::{mount, umount2, MntFlags, MsFlags};
use nix::sched::{setns, unshare, CloneFlags};

use crate::error::{NetnsError, Result};
use crate::sys;

/// Directory holding the named namespaces (the one iproute2 uses; `/var/run` is `/run` here).
pub const NETNS_RUN_DIR: &str = "/run/netns";

/// `statfs` magic of nsfs, the file system of namespace files.
const NSFS_MAGIC: i64 = 0x6e73_6673;

/// An open handle to a named network namespace (`/run/netns/NAME`).
///
/// The handle keeps the namespace file open, so the namespace stays valid for this handle even if
/// somebody deletes the name meanwhile.
#[derive(Debug)]
pub struct NetNs {
    name: String,
    path: PathBuf,
    file: File,
}

/// Checks a namespace name the way iproute2 accepts it: a single, non-empty path component.
pub fn validate_ns_name(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(NetnsError::InvalidName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > 255 {
        return bad("longer than 255 bytes");
    }
    if name == "." || name == ".." {
        return bad("`.` and `..` are not names");
    }
    if name.contains('/') || name.contains('\0') {
        return bad("contains `/` or NUL");
    }
    Ok(())
}

fn ns_path(name: &str) -> PathBuf {
    Path::new(NETNS_RUN_DIR).join(name)
}

/// Makes sure `/run/netns` exists and is a shared mount point.
fn prepare_run_dir() -> Result<()> {
    use std::os::unix::fs::DirBuilderExt;
    match std::fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(NETNS_RUN_DIR)
    {
        Ok(()) => {}
        Err(e) => return Err(NetnsError::os("mkdir", NETNS_RUN_DIR, e)),
    }
    let mut bound = false;
    loop {
        match mount(
            None::<&str>,
            NETNS_RUN_DIR,
            Some("none"),
            MsFlags::MS_SHARED | MsFlags::MS_REC,
            None::<&str>,
        ) {
            Ok(()) => return Ok(()),
            // EINVAL: not a mount point yet. Make it one by binding it onto itself, once.
            Err(nix::errno::Errno::EINVAL) if !bound => {
                mount(
                    Some(NETNS_RUN_DIR),
                    NETNS_RUN_DIR,
                    Some("none"),
                    MsFlags::MS_BIND | MsFlags::MS_REC,
                    None::<&str>,
                )
                .map_err(|e| NetnsError::errno("bind mount", NETNS_RUN_DIR, e))?;
                bound = true;
            }
            Err(e) => return Err(NetnsError::errno("make shared", NETNS_RUN_DIR, e)),
        }
    }
}

/// Runs `f` on a fresh OS thread and waits for it; a panic in `f` is resumed in the caller.
fn on_thread<F, R>(label: &str, f: F) -> Result<R>
where
    F: FnOnce() -> R + Send,
    R: Send,
{
    std::thread::scope(|s| {
        let handle = std::thread::Builder::new()
            .name(format!(
                "netns-{}",
                label.chars().take(9).collect::<String>()
            ))
            .spawn_scoped(s, f)
            .map_err(|e| NetnsError::os("spawn thread for", label, e))?;
        match handle.join() {
            Ok(r) => Ok(r),
            Err(payload) => std::panic::resume_unwind(payload),
        }
    })
}

impl NetNs {
    /// Creates the named namespace (error if it exists) and brings its `lo` up.
    ///
    /// The calling thread's namespace is not changed: the new namespace is made on a short-lived
    /// helper thread.
    pub fn create(name: &str) -> Result<NetNs> {
        validate_ns_name(name)?;
        prepare_run_dir()?;
        let path = ns_path(name);
        match std::fs::OpenOptions::new()
            .read(true)
            .write(true)
            .create_new(true)
            .open(&path)
        {
            Ok(f) => drop(f),
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                return Err(NetnsError::AlreadyExists {
                    name: name.to_string(),
                })
            }
            Err(e) => return Err(NetnsError::os("create", path.display(), e)),
        }
        let made = on_thread(name, || -> Result<()> {
            unshare(CloneFlags::CLONE_NEWNET).map_err(|e| NetnsError::errno("unshare", name, e))?;
            mount(
                Some("/proc/thread-self/ns/net"),
                &path,
                Some("none"),
                MsFlags::MS_BIND,
                None::<&str>,
            )
            .map_err(|e| NetnsError::errno("bind mount namespace onto", path.display(), e))?;
            sys::set_link_up_ioctl("lo")
                .map_err(|e| NetnsError::os("bring up", format!("lo in {name}"), e))
        })
        .and_then(|r| r);
        if let Err(e) = made {
            let _ = umount2(&path, MntFlags::MNT_DETACH);
            let _ = std::fs::remove_file(&path);
            return Err(e);
        }
        NetNs::open(name)
    }

    /// [`NetNs::create`] on a helper thread, awaited without blocking the caller's executor
    /// thread.
    pub async fn create_async(name: &str) -> Result<NetNs> {
        let owned = name.to_string();
        off_thread(name, move || NetNs::create(&owned)).await
    }

    /// Opens an existing named namespace.
    pub fn open(name: &str) -> Result<NetNs> {
        validate_ns_name(name)?;
        let path = ns_path(name);
        let file = match File::open(&path) {
            Ok(f) => f,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Err(NetnsError::NotFound {
                    name: name.to_string(),
                })
            }
            Err(e) => return Err(NetnsError::os("open", path.display(), e)),
        };
        let fs = nix::sys::statfs::fstatfs(&file)
            .map_err(|e| NetnsError::errno("statfs", path.display(), e))?;
        if fs.filesystem_type().0 as i64 != NSFS_MAGIC {
            return Err(NetnsError::NotANamespace { path });
        }
        Ok(NetNs {
            name: name.to_string(),
            path,
            file,
        })
    }

    /// Opens the named namespace, creating it (with `lo` up) when absent.
    pub fn open_or_create(name: &str) -> Result<NetNs> {
        match NetNs::open(name) {
            Err(NetnsError::NotFound { .. }) => match NetNs::create(name) {
                // Lost a race with another creator: open theirs.
                Err(NetnsError::AlreadyExists { .. }) => NetNs::open(name),
                other => other,
            },
            other => other,
        }
    }

    /// The namespace's name (the file name under `/run/netns`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The namespace file, `/run/netns/NAME`.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The open namespace file, e.g. for `setns(fd, CLONE_NEWNET)` in a child's `pre_exec`.
    pub fn as_fd(&self) -> BorrowedFd<'_> {
        self.file.as_fd()
    }

    /// The namespace's identity: (device, inode) of its nsfs file, equal for every handle to the
    /// same namespace, whatever the name.
    pub fn id(&self) -> Result<(u64, u64)> {
        let md = self
            .file
            .metadata()
            .map_err(|e| NetnsError::os("stat", self.path.display(), e))?;
        Ok((md.dev(), md.ino()))
    }

    /// Another handle to the same namespace (duplicates the file descriptor).
    pub fn try_clone(&self) -> Result<NetNs> {
        let file = self
            .file
            .try_clone()
            .map_err(|e| NetnsError::os("dup", self.path.display(), e))?;
        Ok(NetNs {
            name: self.name.clone(),
            path: self.path.clone(),
            file,
        })
    }

    /// Runs `f` on a dedicated OS thread that has entered this namespace, and returns its result.
    ///
    /// Blocks the caller until `f` returns; a panic in `f` is resumed in the caller. Sockets `f`
    /// creates belong to this namespace for their whole life, even after the thread ends.
    pub fn run<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let fd = self.as_fd();
        on_thread(&self.name, move || -> Result<R> {
            setns(fd, CloneFlags::CLONE_NEWNET)
                .map_err(|e| NetnsError::errno("setns into", &self.name, e))?;
            Ok(f())
        })?
    }

    /// Like [`NetNs::run`] but awaits the helper thread instead of blocking.
    pub async fn run_async<F, R>(&self, f: F) -> Result<R>
    where
        F: FnOnce() -> R + Send + 'static,
        R: Send + 'static,
    {
        let file = self
            .file
            .try_clone()
            .map_err(|e| NetnsError::os("dup", self.path.display(), e))?;
        let name = self.name.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        let thread_name = format!("netns-{}", name.chars().take(9).collect::<String>());
        let name_in = name.clone();
        std::thread::Builder::new()
            .name(thread_name)
            .spawn(move || {
                let r = setns(&file, CloneFlags::CLONE_NEWNET)
                    .map_err(|e| NetnsError::errno("setns into", &name_in, e))
                    .map(|()| std::panic::catch_unwind(std::panic::AssertUnwindSafe(f)));
                let _ = tx.send(r);
            })
            .map_err(|e| NetnsError::os("spawn thread for", &name, e))?;
        match rx.await {
            Ok(Ok(Ok(r))) => Ok(r),
            Ok(Ok(Err(payload))) => std::panic::resume_unwind(payload),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(NetnsError::Thread {
                object: name,
                reason: "exited without answering",
            }),
        }
    }

    /// Deletes the namespace's name (unmount and remove `/run/netns/NAME`). The namespace itself
    /// disappears once no process, socket or handle uses it any more.
    pub fn delete(self) -> Result<()> {
        let name = self.name.clone();
        drop(self);
        delete(&name)
    }
}

/// Names of the namespaces in `/run/netns`, sorted. Empty when the directory does not exist.
pub fn list() -> Result<Vec<String>> {
    let dir = match std::fs::read_dir(NETNS_RUN_DIR) {
        Ok(d) => d,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(NetnsError::os("read", NETNS_RUN_DIR, e)),
    };
    let mut names = Vec::new();
    for entry in dir {
        let entry = entry.map_err(|e| NetnsError::os("read", NETNS_RUN_DIR, e))?;
        if let Some(n) = entry.file_name().to_str() {
            names.push(n.to_string());
        }
    }
    names.sort();
    Ok(names)
}

/// Deletes the named namespace (unmount and unlink, like `ip netns delete`). `Ok` if absent.
pub fn delete(name: &str) -> Result<()> {
    validate_ns_name(name)?;
    let path = ns_path(name);
    match umount2(&path, MntFlags::MNT_DETACH) {
        Ok(()) | Err(nix::errno::Errno::EINVAL) | Err(nix::errno::Errno::ENOENT) => {}
        Err(e) => return Err(NetnsError::errno("unmount", path.display(), e)),
    }
    match std::fs::remove_file(&path) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(()),
        Err(e) => Err(NetnsError::os("remove", path.display(), e)),
    }
}

/// Process ids (other than this process) whose network namespace is `ns`.
pub fn pids_in(ns: &NetNs) -> Result<Vec<u32>> {
    crate::process::pids_in_ns(ns.id()?)
}

/// How long [`kill_processes_in`] waits for the processes to be gone.
const KILL_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(2);

/// Sends SIGKILL to every process inside `ns` and waits (up to 2 s) until they are gone.
/// Returns the pids killed; see [`crate::process::kill_all_in_ns`]. Blocks the calling thread:
/// from async code use [`kill_processes_in_async`].
pub fn kill_processes_in(ns: &NetNs) -> Result<Vec<u32>> {
    crate::process::kill_all_in_ns(ns.id()?, KILL_TIMEOUT)
}

/// [`kill_processes_in`] on a helper thread, awaited without blocking the caller's executor
/// thread (works under tokio and under `futures::executor::block_on` alike).
pub async fn kill_processes_in_async(ns: &NetNs) -> Result<Vec<u32>> {
    let id = ns.id()?;
    off_thread(ns.name(), move || {
        crate::process::kill_all_in_ns(id, KILL_TIMEOUT)
    })
    .await
}

/// Runs blocking `f` on a new OS thread and awaits its result. Unlike `spawn_blocking` it needs
/// no tokio runtime, so it also works in drop handlers that block on a future.
pub(crate) async fn off_thread<F, R>(label: &str, f: F) -> Result<R>
where
    F: FnOnce() -> Result<R> + Send + 'static,
    R: Send + 'static,
{
    let (tx, rx) = tokio::sync::oneshot::channel();
    std::thread::Builder::new()
        .name(format!(
            "netns-{}",
            label.chars().take(9).collect::<String>()
        ))
        .spawn(move || {
            let _ = tx.send(f());
        })
        .map_err(|e| NetnsError::os("spawn thread for", label, e))?;
    rx.await.map_err(|_| NetnsError::Thread {
        object: label.to_string(),
        reason: "helper thread died",
    })?
}

/// Owns a [`NetNs`] and, on drop, kills the processes still inside it and deletes it. Meant for
/// tests and scoped helpers.
#[derive(Debug)]
pub struct NetNsGuard {
    ns: NetNs,
    armed: bool,
}

impl NetNsGuard {
    /// Guards `ns`.
    pub fn new(ns: NetNs) -> NetNsGuard {
        NetNsGuard { ns, armed: true }
    }

    /// Creates a namespace named `name` and guards it.
    pub fn create(name: &str) -> Result<NetNsGuard> {
        NetNs::create(name).map(NetNsGuard::new)
    }

    /// Keeps the namespace when the guard is dropped.
    pub fn disarm(&mut self) {
        self.armed = false;
    }
}

impl std::ops::Deref for NetNsGuard {
    type Target = NetNs;
    fn deref(&self) -> &NetNs {
        &self.ns
    }
}

impl Drop for NetNsGuard {
    fn drop(&mut self) {
        if !self.armed {
            return;
        }
        if let Err(e) = kill_processes_in(&self.ns) {
            tracing::warn!(ns = self.ns.name(), error = %e, "killing processes in namespace");
        }
        if let Err(e) = delete(self.ns.name()) {
            tracing::warn!(ns = self.ns.name(), error = %e, "deleting namespace");
        }
    }
}
