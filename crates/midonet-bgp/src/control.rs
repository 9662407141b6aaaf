//! The local control socket: a Unix socket speaking JSON lines. A client writes one request per
//! line (`{"request":"status"}`), the server answers one line per request. `status` carries
//! counts only; the learned routes are listed a page at a time
//! (`{"request":"routes","port":"p1","within":"198.51.100.0/24","limit":1000}`, then again with
//! `"after"` set to the reply's `next`), so no reply grows with the table; `watch` streams them
//! (the current table page by page, then every change).
//!
//! The connection layer (binding, permissions, limits, deadlines) is in [`server`], the wire
//! format (line splitting, request parsing) in [`codec`].

pub mod codec;
pub mod server;
#[cfg(test)]
mod tests;

use std::path::{Path, PathBuf};
use std::time::Duration;

use ipnetwork::IpNetwork;
use routing::kernel::TableStats;
use routing::{Announcement, PortStatus, RoutePage, RouteQuery};

use crate::metrics::BgpdInfo;
use serde::{Deserialize, Serialize};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::oneshot;

pub use codec::{parse_request, LineCodec, RequestError, MAX_REQUEST_LINE};
pub use server::{authorize, Access, ControlServer, Denied, Peer};

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
    /// The route stream: the current routes (of `port`, or of every port), then every change,
    /// one JSON line each, until the client closes (see `watch.rs`). Served by the connection
    /// itself; the main loop only answers the `routes` pages it asks for the current table.
    Watch {
        /// Only this port's routes.
        #[serde(default)]
        port: Option<String>,
    },
    /// Announce a prefix from a port at run time (`RoutingHandler::announce`).
    Announce {
        /// The port.
        port: String,
        /// The prefix and its communities and MED.
        announcement: Announcement,
    },
    /// Withdraw a runtime announcement (`RoutingHandler::withdraw`).
    Withdraw {
        /// The port.
        port: String,
        /// The announced prefix.
        prefix: IpNetwork,
    },
}

impl Request {
    /// Whether the request changes the controller's state (then only root may send it).
    pub fn changes_state(&self) -> bool {
        match self {
            Request::Status | Request::Routes(_) | Request::Watch { .. } => false,
            Request::Reload | Request::Announce { .. } | Request::Withdraw { .. } => true,
        }
    }

    /// The request's name on the wire.
    pub fn name(&self) -> &'static str {
        match self {
            Request::Status => "status",
            Request::Reload => "reload",
            Request::Routes(_) => "routes",
            Request::Watch { .. } => "watch",
            Request::Announce { .. } => "announce",
            Request::Withdraw { .. } => "withdraw",
        }
    }

    /// When the request opens the route stream (served by the connection, not answered by
    /// one reply): `Some` with its port filter (`Some(None)`: every port).
    pub fn stream_port(&self) -> Option<Option<&str>> {
        match self {
            Request::Watch { port } => Some(port.as_deref()),
            Request::Status
            | Request::Reload
            | Request::Routes(_)
            | Request::Announce { .. }
            | Request::Withdraw { .. } => None,
        }
    }
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
    /// The configured bgpd's version and Zebra profile (for `status`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bgpd: Option<BgpdInfo>,
    /// The host's cluster membership (for `status` in cluster mode).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cluster: Option<crate::metrics::ClusterStatus>,
    /// The kernel sink's tables (for `status` with `[sink] kind = "kernel"`): routes the
    /// kernel acknowledged, stale ones of an earlier run, refused ones, the last error.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub fib: Vec<TableStats>,
}

impl Reply {
    /// A successful reply carrying `ports`.
    pub fn status(ports: Vec<PortStatus>) -> Reply {
        Reply {
            ok: true,
            error: None,
            ports,
            page: None,
            bgpd: None,
            cluster: None,
            fib: Vec::new(),
        }
    }

    /// This reply with the configured bgpd's version and profile (for `status`).
    pub fn with_bgpd(mut self, bgpd: BgpdInfo) -> Reply {
        self.bgpd = Some(bgpd);
        self
    }

    /// This reply with the host's cluster membership (for `status` in cluster mode).
    pub fn with_cluster(mut self, cluster: crate::metrics::ClusterStatus) -> Reply {
        self.cluster = Some(cluster);
        self
    }

    /// This reply with the kernel sink's tables (for `status`).
    pub fn with_fib(mut self, fib: Vec<TableStats>) -> Reply {
        self.fib = fib;
        self
    }

    /// A successful reply carrying a page of routes.
    pub fn page(page: RoutePage) -> Reply {
        Reply {
            ok: true,
            error: None,
            ports: Vec::new(),
            page: Some(page),
            bgpd: None,
            cluster: None,
            fib: Vec::new(),
        }
    }

    /// A successful reply carrying nothing (a done `reload`).
    pub fn done() -> Reply {
        Reply::status(Vec::new())
    }

    /// The reply to a request that only succeeds or fails (`announce`, `withdraw`).
    pub fn outcome<T, E: std::fmt::Display>(result: Result<T, E>) -> Reply {
        match result {
            Ok(_) => Reply::done(),
            Err(e) => Reply::error(e.to_string()),
        }
    }

    /// A failed reply with `error`.
    pub fn error(error: impl Into<String>) -> Reply {
        Reply {
            ok: false,
            error: Some(error.into()),
            ports: Vec::new(),
            page: None,
            bgpd: None,
            cluster: None,
            fib: Vec::new(),
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
    /// Something other than a socket is at the socket path; it is left alone.
    #[error("control socket {0} exists and is not a socket; refusing to replace it")]
    NotASocket(PathBuf),
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
