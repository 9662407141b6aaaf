//! A minimal HTTP/1.x responder for `GET /metrics`: one request per connection (answered with
//! `Connection: close`), a bounded request head, deadlines on reading and writing, a bounded
//! number of connections, and 400/404/405/408/431/503/505 for everything else. Request heads
//! are parsed by [`parse_head`], without I/O.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinHandle;
use tracing::{debug, warn};

use super::{Metrics, Source, SNAPSHOT_TIMEOUT};

/// Largest request head (request line and headers) read.
pub const MAX_HEAD: usize = 8 * 1024;
/// How long a client has to send its whole request head.
pub const READ_TIMEOUT: Duration = Duration::from_secs(5);
/// How long a client has to take the answer.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// Connections served at once; more are closed at once.
pub const MAX_CONNECTIONS: usize = 16;
/// The content type of the answer.
pub const CONTENT_TYPE: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Why the metrics endpoint could not be served.
#[derive(Debug, thiserror::Error)]
pub enum MetricsError {
    /// The address could not be bound.
    #[error("metrics endpoint {addr}: {source}")]
    Bind {
        /// The configured address.
        addr: SocketAddr,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
}

/// A request head that is not a plain `GET /metrics`, as the status to answer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// 400: not an HTTP/1.x request line.
    BadRequest,
    /// 404: another path.
    NotFound,
    /// 405: another method.
    MethodNotAllowed,
    /// 408: the head did not arrive in time.
    Timeout,
    /// 431: the head is longer than [`MAX_HEAD`].
    TooLarge,
    /// 503: the controller did not answer.
    Unavailable,
    /// 505: an HTTP version other than 1.0 or 1.1.
    VersionNotSupported,
}

impl Refusal {
    /// The status line's code and reason.
    pub fn status(self) -> (u16, &'static str) {
        match self {
            Refusal::BadRequest => (400, "Bad Request"),
            Refusal::NotFound => (404, "Not Found"),
            Refusal::MethodNotAllowed => (405, "Method Not Allowed"),
            Refusal::Timeout => (408, "Request Timeout"),
            Refusal::TooLarge => (431, "Request Header Fields Too Large"),
            Refusal::Unavailable => (503, "Service Unavailable"),
            Refusal::VersionNotSupported => (505, "HTTP Version Not Supported"),
        }
    }
}

/// Where the request head ends (the index after its blank line), if it is complete.
pub fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4)
        .position(|w| w == b"\r\n\r\n")
        .map(|i| i + 4)
        .or_else(|| buf.windows(2).position(|w| w == b"\n\n").map(|i| i + 2))
}

/// Checks a complete request head: `Ok` for `GET /metrics` (any query string) over HTTP/1.0
/// or 1.1, the refusal otherwise. Header lines are not interpreted (the answer closes the
/// connection, so a body or keep-alive the client announces does not matter).
pub fn parse_head(head: &[u8]) -> Result<(), Refusal> {
    let line_end = head
        .iter()
        .position(|&b| b == b'\n')
        .ok_or(Refusal::BadRequest)?;
    let line = std::str::from_utf8(&head[..line_end]).map_err(|_| Refusal::BadRequest)?;
    let line = line.strip_suffix('\r').unwrap_or(line);
    let mut parts = line.split(' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(Refusal::BadRequest);
    };
    if method.is_empty()
        || !method.bytes().all(|b| b.is_ascii_uppercase())
        || target.is_empty()
        || !target.bytes().all(|b| b.is_ascii_graphic())
    {
        return Err(Refusal::BadRequest);
    }
    let Some(v) = version.strip_prefix("HTTP/") else {
        return Err(Refusal::BadRequest);
    };
    if v != "1.0" && v != "1.1" {
        return Err(Refusal::VersionNotSupported);
    }
    let path = target.split('?').next().unwrap_or(target);
    if path != "/metrics" {
        return Err(Refusal::NotFound);
    }
    if method != "GET" {
        return Err(Refusal::MethodNotAllowed);
    }
    Ok(())
}

/// The whole answer for `status` with `body` and its content type.
pub fn response(status: (u16, &str), content_type: &str, body: &str) -> Vec<u8> {
    let (code, reason) = status;
    let mut out = format!(
        "HTTP/1.1 {code} {reason}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n",
        body.len()
    );
    if code == 405 {
        out.push_str("Allow: GET\r\n");
    }
    out.push_str("\r\n");
    let mut bytes = out.into_bytes();
    bytes.extend_from_slice(body.as_bytes());
    bytes
}

fn refusal(r: Refusal) -> Vec<u8> {
    let (code, reason) = r.status();
    let body = match r {
        Refusal::NotFound | Refusal::MethodNotAllowed => {
            format!("{code} {reason}: only GET /metrics is served\n")
        }
        _ => format!("{code} {reason}\n"),
    };
    response(r.status(), "text/plain; charset=utf-8", &body)
}

/// The metrics endpoint: a task accepting connections until dropped.
#[derive(Debug)]
pub struct MetricsServer {
    addr: SocketAddr,
    task: JoinHandle<()>,
}

impl MetricsServer {
    /// Binds `addr` and serves `GET /metrics` from `source` and `metrics` on the current
    /// runtime.
    pub async fn bind<S: Source>(
        addr: SocketAddr,
        source: S,
        metrics: Metrics,
    ) -> Result<MetricsServer, MetricsError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| MetricsError::Bind { addr, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| MetricsError::Bind { addr, source })?;
        let task = tokio::spawn(accept_loop(listener, Arc::new(source), metrics));
        Ok(MetricsServer { addr, task })
    }

    /// The bound address (the real port when 0 was asked, as tests do).
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn accept_loop<S: Source>(listener: TcpListener, source: Arc<S>, metrics: Metrics) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(c) => c,
            Err(e) => {
                // Out of file descriptors and the like: wait instead of spinning.
                warn!(error = %e, "metrics endpoint: accept failed");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(permit) = slots.clone().try_acquire_owned() else {
            debug!(%peer, "metrics endpoint: too many connections; closing");
            continue;
        };
        let (source, metrics) = (source.clone(), metrics.clone());
        tokio::spawn(async move {
            serve(stream, source.as_ref(), &metrics).await;
            drop(permit);
        });
    }
}

/// Reads the request head (bounded in size and time).
async fn read_head(stream: &mut TcpStream) -> Result<(), Refusal> {
    let mut buf = Vec::with_capacity(1024);
    let mut chunk = [0u8; 1024];
    let read = async {
        loop {
            if let Some(end) = head_end(&buf) {
                if end > MAX_HEAD {
                    return Err(Refusal::TooLarge);
                }
                return parse_head(&buf[..end]);
            }
            if buf.len() > MAX_HEAD {
                return Err(Refusal::TooLarge);
            }
            match stream.read(&mut chunk).await {
                Ok(0) | Err(_) => return Err(Refusal::BadRequest),
                Ok(n) => buf.extend_from_slice(&chunk[..n]),
            }
        }
    };
    tokio::time::timeout(READ_TIMEOUT, read)
        .await
        .unwrap_or(Err(Refusal::Timeout))
}

async fn serve<S: Source>(mut stream: TcpStream, source: &S, metrics: &Metrics) {
    let answer = match read_head(&mut stream).await {
        Err(r) => refusal(r),
        Ok(()) => match tokio::time::timeout(SNAPSHOT_TIMEOUT, source.snapshot()).await {
            Ok(Some(snapshot)) => match metrics.render(snapshot) {
                Ok(text) => response((200, "OK"), CONTENT_TYPE, &text),
                Err(_) => refusal(Refusal::Unavailable),
            },
            _ => refusal(Refusal::Unavailable),
        },
    };
    let write = async {
        stream.write_all(&answer).await?;
        stream.shutdown().await
    };
    if let Ok(Err(e)) | Err(e) = tokio::time::timeout(WRITE_TIMEOUT, write)
        .await
        .map_err(std::io::Error::other)
    {
        debug!(error = %e, "metrics endpoint: answer not delivered");
    }
}
