//! The control socket's server side: binding (mode, group, never replacing anything but a stale
//! socket), accepting (a connection limit), per-request deadlines, and who may ask what
//! (`SO_PEERCRED`).

use std::os::unix::fs::{FileTypeExt, MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use tokio::io::AsyncWriteExt;
use tokio::net::unix::OwnedWriteHalf;
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot, Semaphore};
use tokio_util::codec::FramedRead;
use tracing::{debug, warn};

use super::codec::{parse_request, Line, LineCodec, MAX_REQUEST_LINE};
use super::{ControlError, Pending, Reply, Request};

/// Most connections served at once; further ones get an error line and are closed.
pub const MAX_CONNECTIONS: usize = 32;
/// How long a client may take to send a complete request line.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the controller may take to answer one request.
pub const ANSWER_TIMEOUT: Duration = Duration::from_secs(25);
/// How long writing one reply may take.
const WRITE_TIMEOUT: Duration = Duration::from_secs(5);

/// Who may use the socket.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Access {
    /// Group whose members may send read requests: the socket becomes 0660 owned by this
    /// group. `None`: root only, mode 0600.
    pub group: Option<u32>,
}

impl Access {
    /// The socket file's permission bits.
    pub fn mode(&self) -> u32 {
        if self.group.is_some() {
            0o660
        } else {
            0o600
        }
    }
}

/// The credentials of a connected client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Peer {
    /// Effective user id (`SO_PEERCRED`).
    pub uid: u32,
    /// Effective group id (`SO_PEERCRED`).
    pub gid: u32,
    /// Supplementary groups (from `/proc/PID/status`; empty when unreadable).
    pub groups: Vec<u32>,
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum Denied {
    /// Only root may change the controller's state.
    #[error("permission denied: `{0}` changes the controller's state and needs root")]
    NeedsRoot(&'static str),
    /// Neither root nor in the control group.
    #[error("permission denied: uid {uid} is neither root nor in the control group")]
    NotAllowed {
        /// The client's uid.
        uid: u32,
    },
}

/// Root may ask anything; members of the configured group may ask what changes nothing.
pub fn authorize(access: &Access, peer: &Peer, request: &Request) -> Result<(), Denied> {
    if peer.uid == 0 {
        return Ok(());
    }
    let member = access
        .group
        .is_some_and(|g| peer.gid == g || peer.groups.contains(&g));
    if !member {
        return Err(Denied::NotAllowed { uid: peer.uid });
    }
    if request.changes_state() {
        return Err(Denied::NeedsRoot(request.name()));
    }
    Ok(())
}

/// Supplementary groups of `pid` from `/proc/PID/status` (`Groups:` line).
fn supplementary_groups(pid: Option<i32>) -> Vec<u32> {
    let Some(pid) = pid else { return Vec::new() };
    let Ok(status) = std::fs::read_to_string(format!("/proc/{pid}/status")) else {
        return Vec::new();
    };
    status
        .lines()
        .find_map(|l| l.strip_prefix("Groups:"))
        .map(|g| {
            g.split_whitespace()
                .filter_map(|x| x.parse().ok())
                .collect()
        })
        .unwrap_or_default()
}

/// The bound socket; removes its file on drop (if it is still ours).
pub struct ControlServer {
    path: PathBuf,
    inode: (u64, u64),
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.task.abort();
        if let Ok(md) = std::fs::symlink_metadata(&self.path) {
            if (md.dev(), md.ino()) == self.inode {
                let _ = std::fs::remove_file(&self.path);
            }
        }
    }
}

fn io_error(path: &Path) -> impl Fn(std::io::Error) -> ControlError + '_ {
    move |source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// Moves `from` to `to` unless something exists at `to`.
fn rename_noreplace(from: &Path, to: &Path) -> std::io::Result<()> {
    use std::os::unix::ffi::OsStrExt;
    let c = |p: &Path| {
        std::ffi::CString::new(p.as_os_str().as_bytes())
            .map_err(|_| std::io::Error::from_raw_os_error(libc::EINVAL))
    };
    let (from, to) = (c(from)?, c(to)?);
    // SAFETY: two valid NUL-terminated paths that outlive the call; AT_FDCWD for both.
    let r = unsafe {
        libc::renameat2(
            libc::AT_FDCWD,
            from.as_ptr(),
            libc::AT_FDCWD,
            to.as_ptr(),
            libc::RENAME_NOREPLACE,
        )
    };
    if r == 0 {
        Ok(())
    } else {
        Err(std::io::Error::last_os_error())
    }
}

impl ControlServer {
    /// [`ControlServer::bind_with`] for root only (mode 0600).
    pub async fn bind(
        path: &Path,
        tx: mpsc::Sender<Pending>,
    ) -> Result<ControlServer, ControlError> {
        ControlServer::bind_with(path, Access::default(), tx).await
    }

    /// Binds `path` and forwards the requests `access` allows to `tx`.
    ///
    /// A socket left by a crashed run (nobody answers on it) is replaced; a live one is
    /// [`ControlError::InUse`], and anything that is not a socket is [`ControlError::NotASocket`]
    /// and left alone. The socket is made under a temporary name, given its mode and group,
    /// then moved into place, so it is never reachable with looser permissions.
    pub async fn bind_with(
        path: &Path,
        access: Access,
        tx: mpsc::Sender<Pending>,
    ) -> Result<ControlServer, ControlError> {
        let io = io_error(path);
        if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
            std::fs::create_dir_all(dir).map_err(&io)?;
        }
        match std::fs::symlink_metadata(path) {
            Ok(md) if md.file_type().is_socket() => {
                if UnixStream::connect(path).await.is_ok() {
                    return Err(ControlError::InUse(path.to_path_buf()));
                }
                std::fs::remove_file(path).map_err(&io)?;
            }
            Ok(_) => return Err(ControlError::NotASocket(path.to_path_buf())),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => return Err(io(e)),
        }
        let name = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let tmp = path.with_file_name(format!(".{name}.{}.new", std::process::id()));
        // A leftover of an earlier process with our pid: only ever a socket of ours.
        if std::fs::symlink_metadata(&tmp).is_ok_and(|m| m.file_type().is_socket()) {
            std::fs::remove_file(&tmp).map_err(&io)?;
        }
        let listener = std::os::unix::net::UnixListener::bind(&tmp).map_err(&io)?;
        let placed = (|| {
            std::fs::set_permissions(&tmp, std::fs::Permissions::from_mode(access.mode()))?;
            if let Some(gid) = access.group {
                std::os::unix::fs::chown(&tmp, None, Some(gid))?;
            }
            rename_noreplace(&tmp, path)?;
            listener.set_nonblocking(true)?;
            std::fs::symlink_metadata(path)
        })();
        let md = match placed {
            Ok(md) => md,
            Err(e) => {
                let _ = std::fs::remove_file(&tmp);
                return Err(io(e));
            }
        };
        let listener = UnixListener::from_std(listener).map_err(&io)?;
        let task = tokio::spawn(accept_loop(listener, access, tx));
        Ok(ControlServer {
            path: path.to_path_buf(),
            inode: (md.dev(), md.ino()),
            task,
        })
    }
}

async fn accept_loop(listener: UnixListener, access: Access, tx: mpsc::Sender<Pending>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        match listener.accept().await {
            Ok((stream, _)) => match slots.clone().try_acquire_owned() {
                Ok(slot) => {
                    let tx = tx.clone();
                    tokio::spawn(async move {
                        serve(stream, access, tx).await;
                        drop(slot);
                    });
                }
                Err(_) => {
                    tokio::spawn(async move {
                        let (_, mut w) = stream.into_split();
                        let text = format!(
                            "too many control connections (at most {MAX_CONNECTIONS}); try again"
                        );
                        let _ = write_reply(&mut w, &Reply::error(text)).await;
                    });
                }
            },
            Err(e) => {
                warn!(error = %e, "control socket accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

async fn write_reply(w: &mut OwnedWriteHalf, reply: &Reply) -> Result<(), ()> {
    let Ok(mut text) = serde_json::to_string(reply) else {
        return Err(());
    };
    text.push('\n');
    match tokio::time::timeout(WRITE_TIMEOUT, w.write_all(text.as_bytes())).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

async fn serve(stream: UnixStream, access: Access, tx: mpsc::Sender<Pending>) {
    let cred = stream.peer_cred();
    let (r, mut w) = stream.into_split();
    let peer = match cred {
        Ok(c) => Peer {
            uid: c.uid(),
            gid: c.gid(),
            groups: if c.uid() == 0 {
                Vec::new()
            } else {
                supplementary_groups(c.pid())
            },
        },
        Err(e) => {
            let _ = write_reply(&mut w, &Reply::error(format!("peer credentials: {e}"))).await;
            return;
        }
    };
    let mut lines = FramedRead::new(r, LineCodec::new(MAX_REQUEST_LINE));
    loop {
        let reply = match tokio::time::timeout(REQUEST_TIMEOUT, lines.next()).await {
            Err(_) => {
                let text = format!("no complete request within {REQUEST_TIMEOUT:?}; closing");
                let _ = write_reply(&mut w, &Reply::error(text)).await;
                return;
            }
            Ok(None) | Ok(Some(Err(_))) => return,
            Ok(Some(Ok(Line::TooLong))) => {
                Reply::error(format!("bad request: longer than {MAX_REQUEST_LINE} bytes"))
            }
            Ok(Some(Ok(Line::Request(line)))) => match parse_request(&line) {
                Err(e) => Reply::error(e.to_string()),
                Ok(request) => match authorize(&access, &peer, &request) {
                    Err(denied) => {
                        debug!(uid = peer.uid, %denied, "control request refused");
                        Reply::error(denied.to_string())
                    }
                    Ok(()) => {
                        if let Some(port) = request.stream_port() {
                            // Subscribe first, then read the current table a page at a time:
                            // no change is missed. The stream owns the connection until the
                            // client goes.
                            let port = port.map(str::to_string);
                            let rx = crate::watch::subscribe();
                            let pages = |query| table_page(&tx, query);
                            return crate::watch::stream(w, rx, pages, port).await;
                        }
                        match forward(&tx, request).await {
                            Some(reply) => reply,
                            None => return,
                        }
                    }
                },
            },
        };
        if write_reply(&mut w, &reply).await.is_err() {
            debug!("control client went away");
            return;
        }
    }
}

/// One page of the controller's route table, asked of the main loop like a `routes` request.
async fn table_page(
    tx: &mpsc::Sender<Pending>,
    query: routing::RouteQuery,
) -> Result<routing::RoutePage, String> {
    match forward(tx, Request::Routes(query)).await {
        None => Err("the controller is shutting down".into()),
        Some(Reply {
            ok: false, error, ..
        }) => Err(error.unwrap_or_else(|| "routes not available".into())),
        Some(reply) => Ok(reply.page.unwrap_or_default()),
    }
}

/// Hands `request` to the main loop and waits for its answer; `None` when the controller is
/// shutting down.
async fn forward(tx: &mpsc::Sender<Pending>, request: Request) -> Option<Reply> {
    let name = request.name();
    let (rtx, rrx) = oneshot::channel();
    let handed = tokio::time::timeout(
        ANSWER_TIMEOUT,
        tx.send(Pending {
            request,
            reply: rtx,
        }),
    )
    .await;
    match handed {
        Ok(Ok(())) => {}
        Ok(Err(_)) => return None,
        Err(_) => {
            return Some(Reply::error(format!(
                "the controller is busy: `{}` not taken within {ANSWER_TIMEOUT:?}",
                name
            )))
        }
    }
    match tokio::time::timeout(ANSWER_TIMEOUT, rrx).await {
        Ok(Ok(reply)) => Some(reply),
        Ok(Err(_)) => None,
        Err(_) => Some(Reply::error(format!(
            "no answer to `{}` within {ANSWER_TIMEOUT:?}",
            name
        ))),
    }
}
