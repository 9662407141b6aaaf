//! The local control socket: a Unix socket speaking JSON lines. A client writes one request per
//! line (`{"request":"status"}`), the server answers one line per request. `status` carries
//! counts only; the learned routes are listed a page at a time
//! (`{"request":"routes","port":"p1","within":"198.51.100.0/24","limit":1000}`, then again with
//! `"after"` set to the reply's `next`), so no reply grows with the table.

use std::path::{Path, PathBuf};
use std::time::Duration;

use routing::{PortStatus, RoutePage, RouteQuery};
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::{mpsc, oneshot};
use tracing::{debug, warn};

/// A request on the control socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "request", rename_all = "snake_case")]
pub enum Request {
    /// Every port's status (peers, route counts, bgpd pid and restarts).
    Status,
    /// Re-read the configuration file now.
    Reload,
    /// One page of learned routes.
    Routes(RouteQuery),
}

/// A reply on the control socket.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Reply {
    /// Whether the request succeeded.
    pub ok: bool,
    /// Error text when not ok.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Port status (for `status`).
    #[serde(default)]
    pub ports: Vec<PortStatus>,
    /// One page of routes (for `routes`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub page: Option<RoutePage>,
}

impl Reply {
    /// A successful reply carrying `ports`.
    pub fn status(ports: Vec<PortStatus>) -> Reply {
        Reply {
            ok: true,
            error: None,
            ports,
            page: None,
        }
    }

    /// A successful reply carrying a page of routes.
    pub fn page(page: RoutePage) -> Reply {
        Reply {
            ok: true,
            error: None,
            ports: Vec::new(),
            page: Some(page),
        }
    }

    /// A failed reply.
    pub fn error(message: String) -> Reply {
        Reply {
            ok: false,
            error: Some(message),
            ports: Vec::new(),
            page: None,
        }
    }
}

/// A request handed to the main loop, with the way back.
pub struct Pending {
    /// What was asked.
    pub request: Request,
    /// Where the answer goes.
    pub reply: oneshot::Sender<Reply>,
}

/// Errors of the control socket.
#[derive(Debug, thiserror::Error)]
pub enum ControlError {
    /// Socket could not be bound or reached.
    #[error("control socket {path}: {source}")]
    Io {
        /// The socket path.
        path: PathBuf,
        /// The cause.
        source: std::io::Error,
    },
    /// Another process already serves this socket.
    #[error("control socket {0} is in use: is another midonet-bgp running?")]
    InUse(PathBuf),
    /// The server answered something unreadable.
    #[error("bad reply from {path}: {message}")]
    BadReply {
        /// The socket path.
        path: PathBuf,
        /// What was wrong.
        message: String,
    },
    /// The server reported an error.
    #[error("{0}")]
    Server(String),
}

/// The bound socket; removes its file on drop.
pub struct ControlServer {
    path: PathBuf,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for ControlServer {
    fn drop(&mut self) {
        self.task.abort();
        let _ = std::fs::remove_file(&self.path);
    }
}

impl ControlServer {
    /// Binds `path` (replacing a stale socket file left by a crash) and forwards requests to
    /// `tx`.
    pub async fn bind(
        path: &Path,
        tx: mpsc::Sender<Pending>,
    ) -> Result<ControlServer, ControlError> {
        let io = |source| ControlError::Io {
            path: path.to_path_buf(),
            source,
        };
        if let Some(dir) = path.parent() {
            std::fs::create_dir_all(dir).map_err(io)?;
        }
        if path.exists() {
            if UnixStream::connect(path).await.is_ok() {
                return Err(ControlError::InUse(path.to_path_buf()));
            }
            std::fs::remove_file(path).map_err(io)?;
        }
        let listener = UnixListener::bind(path).map_err(io)?;
        let task = tokio::spawn(async move {
            loop {
                match listener.accept().await {
                    Ok((stream, _)) => {
                        tokio::spawn(serve(stream, tx.clone()));
                    }
                    Err(e) => {
                        warn!(error = %e, "control socket accept failed");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        });
        Ok(ControlServer {
            path: path.to_path_buf(),
            task,
        })
    }
}

async fn serve(stream: UnixStream, tx: mpsc::Sender<Pending>) {
    let (r, mut w) = stream.into_split();
    let mut lines = BufReader::new(r).lines();
    while let Ok(Some(line)) = lines.next_line().await {
        let reply = match serde_json::from_str::<Request>(&line) {
            Err(e) => Reply::error(format!("bad request: {e}")),
            Ok(request) => {
                let (rtx, rrx) = oneshot::channel();
                if tx
                    .send(Pending {
                        request,
                        reply: rtx,
                    })
                    .await
                    .is_err()
                {
                    return;
                }
                match rrx.await {
                    Ok(r) => r,
                    Err(_) => return,
                }
            }
        };
        let Ok(mut text) = serde_json::to_string(&reply) else {
            return;
        };
        text.push('\n');
        if w.write_all(text.as_bytes()).await.is_err() {
            debug!("control client went away");
            return;
        }
    }
}

/// Sends one request to the server at `path` and returns its reply.
pub async fn ask(path: &Path, request: Request) -> Result<Reply, ControlError> {
    let io = |source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut stream = UnixStream::connect(path).await.map_err(io)?;
    let mut line = serde_json::to_string(&request).map_err(|e| ControlError::BadReply {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    line.push('\n');
    stream.write_all(line.as_bytes()).await.map_err(io)?;
    let mut reader = BufReader::new(stream);
    let mut answer = String::new();
    let read = tokio::time::timeout(Duration::from_secs(30), reader.read_line(&mut answer))
        .await
        .map_err(|_| ControlError::BadReply {
            path: path.to_path_buf(),
            message: "no answer within 30 s".into(),
        })?
        .map_err(io)?;
    if read == 0 {
        return Err(ControlError::BadReply {
            path: path.to_path_buf(),
            message: "connection closed without an answer".into(),
        });
    }
    let reply: Reply = serde_json::from_str(&answer).map_err(|e| ControlError::BadReply {
        path: path.to_path_buf(),
        message: e.to_string(),
    })?;
    if !reply.ok {
        return Err(ControlError::Server(
            reply.error.unwrap_or_else(|| "request failed".into()),
        ));
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[tokio::test]
    async fn round_trip_and_bad_requests() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("c.sock");
        let (tx, mut rx) = mpsc::channel(4);
        let server = ControlServer::bind(&path, tx.clone()).await.unwrap();
        tokio::spawn(async move {
            while let Some(p) = rx.recv().await {
                let _ = p.reply.send(Reply::status(Vec::new()));
            }
        });
        let r = ask(&path, Request::Status).await.unwrap();
        assert!(r.ok);
        // A second server on the same live socket is refused.
        assert!(matches!(
            ControlServer::bind(&path, tx.clone()).await,
            Err(ControlError::InUse(_))
        ));
        // Garbage gets an error line, not a hang or a crash.
        let mut s = UnixStream::connect(&path).await.unwrap();
        s.write_all(b"{nonsense\n").await.unwrap();
        let mut line = String::new();
        BufReader::new(s).read_line(&mut line).await.unwrap();
        let reply: Reply = serde_json::from_str(&line).unwrap();
        assert!(!reply.ok);
        assert!(reply.error.unwrap().contains("bad request"));
        drop(server);
        assert!(!path.exists(), "socket file removed on drop");
        // A stale socket file (crashed server) is replaced.
        std::fs::write(&path, b"").unwrap();
        let _again = ControlServer::bind(&path, tx).await.unwrap();
    }
}
