//! The route stream: every change of the learned routes, as JSON lines, to any number of control
//! socket clients (`midonet-bgp routes --watch`).
//!
//! [`WatchSink`] wraps the controller's route sink: it passes every batch on, and publishes it
//! (one message per batch) on a bounded broadcast channel when someone watches (nothing is
//! built otherwise). Publishing never waits: a watcher that falls more than [`WATCH_BACKLOG`]
//! batches behind is dropped with a message line, so a slow reader never slows route
//! processing. A watcher first gets the current table (one `replace` per route, read from the
//! controller's `TableSink` a page at a time), then `{"op":"synced"}`, then every change in the
//! order the ports made them (`withdraw_all` when every route of a port went at once).

use std::future::Future;
use std::sync::{Arc, OnceLock};

use ipnetwork::IpNetwork;
use routing::{RouteChange, RoutePage, RoutePath, RouteQuery, RouteSink};
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::broadcast;

/// Batches a watcher may fall behind before it is dropped.
pub const WATCH_BACKLOG: usize = 65_536;

/// Routes asked for per page of the current table.
pub const SNAPSHOT_PAGE: usize = 10_000;

/// One line of the route stream.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(tag = "op", rename_all = "snake_case")]
pub enum RouteEvent {
    /// `prefix` is reachable from `port` through exactly `paths`.
    Replace {
        /// The port.
        port: String,
        /// The prefix.
        prefix: IpNetwork,
        /// Its ECMP paths.
        paths: Vec<RoutePath>,
    },
    /// `prefix` is no longer reachable from `port`.
    Withdraw {
        /// The port.
        port: String,
        /// The prefix.
        prefix: IpNetwork,
    },
    /// Every route of `port` is gone (bgpd gone without graceful restart, the port stopped).
    WithdrawAll {
        /// The port.
        port: String,
    },
    /// The current table has been sent; changes follow.
    Synced,
    /// The watcher fell too far behind and is disconnected.
    Dropped {
        /// Why.
        error: String,
    },
}

/// One sink call as published to watchers.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Published {
    /// A batch of one port's changes, in order.
    Apply {
        /// The port.
        port: String,
        /// Its changes.
        changes: Vec<RouteChange>,
    },
    /// Every route of the port is gone.
    WithdrawAll {
        /// The port.
        port: String,
    },
}

impl Published {
    fn port(&self) -> &str {
        match self {
            Published::Apply { port, .. } | Published::WithdrawAll { port } => port,
        }
    }

    /// The stream lines of this batch.
    fn events(&self) -> Vec<RouteEvent> {
        match self {
            Published::Apply { port, changes } => changes
                .iter()
                .map(|c| match c {
                    RouteChange::Replace { prefix, paths } => RouteEvent::Replace {
                        port: port.clone(),
                        prefix: *prefix,
                        paths: paths.clone(),
                    },
                    RouteChange::Withdraw { prefix } => RouteEvent::Withdraw {
                        port: port.clone(),
                        prefix: *prefix,
                    },
                })
                .collect(),
            Published::WithdrawAll { port } => vec![RouteEvent::WithdrawAll { port: port.clone() }],
        }
    }
}

/// The process's route change hub (one controller per process).
fn hub() -> &'static broadcast::Sender<Arc<Published>> {
    static HUB: OnceLock<broadcast::Sender<Arc<Published>>> = OnceLock::new();
    HUB.get_or_init(|| broadcast::channel(WATCH_BACKLOG).0)
}

/// A new watcher of every later batch.
pub fn subscribe() -> broadcast::Receiver<Arc<Published>> {
    hub().subscribe()
}

/// A [`RouteSink`] passing changes to `inner` and publishing them to watchers.
pub struct WatchSink {
    inner: Arc<dyn RouteSink>,
}

impl WatchSink {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn RouteSink>) -> WatchSink {
        WatchSink { inner }
    }
}

impl RouteSink for WatchSink {
    fn apply(&self, port: &str, changes: &[RouteChange]) {
        self.inner.apply(port, changes);
        let hub = hub();
        if hub.receiver_count() > 0 && !changes.is_empty() {
            let _ = hub.send(Arc::new(Published::Apply {
                port: port.to_string(),
                changes: changes.to_vec(),
            }));
        }
    }

    fn withdraw_all(&self, port: &str) {
        self.inner.withdraw_all(port);
        let hub = hub();
        if hub.receiver_count() > 0 {
            let _ = hub.send(Arc::new(Published::WithdrawAll {
                port: port.to_string(),
            }));
        }
    }

    fn installed(&self, port: &str) -> Option<routing::Installed> {
        self.inner.installed(port)
    }
}

async fn line<W: AsyncWriteExt + Unpin>(w: &mut W, event: &RouteEvent) -> std::io::Result<()> {
    let mut text = serde_json::to_string(event).map_err(std::io::Error::other)?;
    text.push('\n');
    w.write_all(text.as_bytes()).await
}

/// Streams to `w`: the current routes (only `port`'s when given), read a page at a time with
/// `page` (the controller's `TableSink` behind the control socket; `Err` ends the stream with
/// that error), `synced`, then every change from `rx` (subscribed before the first page was
/// read, so nothing is missed: a change already in a page is sent again, which a reader applies
/// as a no-op), until the client goes away or falls behind.
pub async fn stream<W, P, F>(
    mut w: W,
    mut rx: broadcast::Receiver<Arc<Published>>,
    mut page: P,
    port: Option<String>,
) where
    W: AsyncWriteExt + Unpin,
    P: FnMut(RouteQuery) -> F,
    F: Future<Output = Result<RoutePage, String>>,
{
    let wanted = |p: &str| port.as_deref().is_none_or(|want| want == p);
    let mut query = RouteQuery {
        port: port.clone(),
        within: None,
        after: None,
        limit: SNAPSHOT_PAGE,
    };
    loop {
        let current = match page(query.clone()).await {
            Ok(p) => p,
            Err(error) => {
                let _ = line(&mut w, &RouteEvent::Dropped { error }).await;
                return;
            }
        };
        for route in current.routes {
            let event = RouteEvent::Replace {
                port: route.port,
                prefix: route.prefix,
                paths: route.paths,
            };
            if line(&mut w, &event).await.is_err() {
                return;
            }
        }
        match current.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    if line(&mut w, &RouteEvent::Synced).await.is_err() {
        return;
    }
    loop {
        match rx.recv().await {
            Ok(batch) => {
                if !wanted(batch.port()) {
                    continue;
                }
                for event in batch.events() {
                    if line(&mut w, &event).await.is_err() {
                        return;
                    }
                }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                let error = format!(
                    "reader too slow: {missed} route batches missed (more than {WATCH_BACKLOG} \
                     behind); reconnect to get the current table again"
                );
                tracing::warn!("route watcher dropped: {error}");
                let _ = line(&mut w, &RouteEvent::Dropped { error }).await;
                return;
            }
            Err(broadcast::error::RecvError::Closed) => return,
        }
    }
}

/// Text form of one stream line (`None`: not a line of the stream).
pub fn text_line(value: &serde_json::Value) -> Option<String> {
    let s = |k: &str| value[k].as_str().unwrap_or("?").to_string();
    match value["op"].as_str()? {
        "replace" => {
            let gws: Vec<String> = value["paths"]
                .as_array()
                .map(|ps| {
                    ps.iter()
                        .map(|p| p["gateway"].as_str().unwrap_or("direct").to_string())
                        .collect()
                })
                .unwrap_or_default();
            Some(format!(
                "replace {} {} via {}",
                s("port"),
                s("prefix"),
                gws.join(", ")
            ))
        }
        "withdraw" => Some(format!("withdraw {} {}", s("port"), s("prefix"))),
        "withdraw_all" => Some(format!("withdraw_all {}", s("port"))),
        "synced" => Some("-- current routes above; changes follow --".to_string()),
        "dropped" => Some(format!("dropped: {}", s("error"))),
        _ => None,
    }
}

/// `midonet-bgp routes --watch`: prints the stream from the controller at `path` until it ends.
/// Returns an error when the controller cannot be reached or dropped this reader.
pub async fn watch_client(
    path: &std::path::Path,
    port: Option<String>,
    json: bool,
) -> Result<(), crate::control::ControlError> {
    use crate::control::{ControlError, Request};
    use tokio::io::AsyncBufReadExt;
    let io = |source| ControlError::Io {
        path: path.to_path_buf(),
        source,
    };
    let mut stream = tokio::net::UnixStream::connect(path).await.map_err(io)?;
    let mut req =
        serde_json::to_string(&Request::Watch { port }).map_err(|e| ControlError::BadReply {
            path: path.to_path_buf(),
            message: e.to_string(),
        })?;
    req.push('\n');
    stream.write_all(req.as_bytes()).await.map_err(io)?;
    let mut lines = tokio::io::BufReader::new(stream).lines();
    let mut out = tokio::io::stdout();
    while let Some(l) = lines.next_line().await.map_err(io)? {
        let value: serde_json::Value =
            serde_json::from_str(&l).map_err(|e| ControlError::BadReply {
                path: path.to_path_buf(),
                message: e.to_string(),
            })?;
        if value.get("ok").is_some_and(|ok| ok == false) {
            return Err(ControlError::Server(
                value["error"].as_str().unwrap_or("request failed").into(),
            ));
        }
        let printed = if json { Some(l) } else { text_line(&value) };
        if let Some(mut p) = printed {
            p.push('\n');
            // stdout closed (e.g. `| head`): stop quietly.
            if out.write_all(p.as_bytes()).await.is_err() || out.flush().await.is_err() {
                return Ok(());
            }
        }
        if value["op"] == "dropped" {
            return Err(ControlError::Server(
                value["error"].as_str().unwrap_or("dropped").into(),
            ));
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use routing::TableSink;
    use tokio::io::AsyncBufReadExt;

    fn path(gw: &str) -> RoutePath {
        RoutePath {
            gateway: Some(gw.parse().unwrap()),
            ifindex: Some(2),
            distance: 20,
            metric: 0,
            weight: 1,
        }
    }

    fn replace(prefix: IpNetwork, gw: &str) -> RouteChange {
        RouteChange::Replace {
            prefix,
            paths: vec![path(gw)],
        }
    }

    fn pages(
        table: &Arc<TableSink>,
    ) -> impl FnMut(RouteQuery) -> std::future::Ready<Result<RoutePage, String>> {
        let table = table.clone();
        move |q| std::future::ready(Ok(table.page(&q)))
    }

    async fn next_line<R: AsyncBufReadExt + Unpin>(r: &mut R) -> serde_json::Value {
        let mut l = String::new();
        r.read_line(&mut l).await.unwrap();
        serde_json::from_str(&l).unwrap()
    }

    // One test only: the hub is process-wide.
    #[tokio::test]
    async fn table_pages_then_every_batch_in_order_and_slow_readers_are_dropped() {
        let inner = Arc::new(TableSink::new());
        // The current table: more than two snapshot pages of p1, one route of p2.
        let many: Vec<RouteChange> = (0..25_000u32)
            .map(|i| {
                let net =
                    IpNetwork::new(std::net::Ipv4Addr::from(0x0a00_0000 + (i << 8)).into(), 24);
                replace(net.unwrap(), "192.0.2.2")
            })
            .collect();
        inner.apply("p1", &many);
        inner.apply(
            "p2",
            &[replace("198.51.100.0/24".parse().unwrap(), "192.0.2.3")],
        );
        let sink = WatchSink::new(inner.clone());
        let rx = subscribe();
        let (client, server) = tokio::io::duplex(1 << 20);
        let task = tokio::spawn(stream(server, rx, pages(&inner), Some("p1".into())));
        let mut reader = tokio::io::BufReader::new(client);
        for i in 0..25_000u32 {
            let l = next_line(&mut reader).await;
            assert_eq!(l["op"], "replace");
            assert_eq!(l["port"], "p1", "the port filter holds for the table");
            let want = std::net::Ipv4Addr::from(0x0a00_0000 + (i << 8));
            assert_eq!(l["prefix"], format!("{want}/24"), "table order, every page");
            assert_eq!(l["paths"][0]["gateway"], "192.0.2.2");
        }
        assert_eq!(next_line(&mut reader).await["op"], "synced");

        // Changes, a batch per port and step; p2's are filtered out.
        for i in 0..100u8 {
            let prefix: IpNetwork = format!("198.18.{i}.0/24").parse().unwrap();
            let mut batch = vec![replace(prefix, "192.0.2.2")];
            if i % 2 == 0 {
                batch.push(RouteChange::Withdraw { prefix });
            }
            sink.apply("p1", &batch);
            sink.apply("p2", &[replace(prefix, "192.0.2.3")]);
        }
        sink.withdraw_all("p1");
        // The inner sink got everything.
        assert_eq!(inner.routes("p1").len(), 0);
        assert_eq!(inner.routes("p2").len(), 101);
        let mut expect = Vec::new();
        for i in 0..100u8 {
            expect.push(("replace".to_string(), format!("198.18.{i}.0/24")));
            if i % 2 == 0 {
                expect.push(("withdraw".to_string(), format!("198.18.{i}.0/24")));
            }
        }
        let mut got = Vec::new();
        while got.len() < expect.len() {
            let l = next_line(&mut reader).await;
            assert_eq!(l["port"], "p1", "the port filter holds for changes");
            got.push((
                l["op"].as_str().unwrap().to_string(),
                l["prefix"].as_str().unwrap().to_string(),
            ));
        }
        assert_eq!(got, expect);
        let last = next_line(&mut reader).await;
        assert_eq!(last["op"], "withdraw_all");
        assert_eq!(last["port"], "p1");
        assert_eq!(text_line(&last).unwrap(), "withdraw_all p1");

        // A page that cannot be read ends the stream with the reason.
        let (client, server) = tokio::io::duplex(4096);
        let failing = |_q: RouteQuery| std::future::ready(Err("no table here".to_string()));
        stream(server, subscribe(), failing, None).await;
        let mut reader = tokio::io::BufReader::new(client);
        let l = next_line(&mut reader).await;
        assert_eq!(l["op"], "dropped");
        assert_eq!(l["error"], "no table here");

        // A reader that never reads: route processing goes on, the reader is dropped.
        let empty = Arc::new(TableSink::new());
        let rx = subscribe();
        let (slow_client, slow_server) = tokio::io::duplex(64);
        let slow = tokio::spawn(stream(slow_server, rx, pages(&empty), None));
        let started = std::time::Instant::now();
        for i in 0..(WATCH_BACKLOG as u32 + 10_000) {
            let prefix =
                IpNetwork::new(std::net::Ipv4Addr::from(0xC612_0000 | i).into(), 32).unwrap();
            sink.apply("p1", &[replace(prefix, "192.0.2.2")]);
        }
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        let mut reader = tokio::io::BufReader::new(slow_client);
        let mut last = String::new();
        loop {
            let mut l = String::new();
            if reader.read_line(&mut l).await.unwrap() == 0 {
                break;
            }
            last = l;
        }
        assert!(last.contains("\"op\":\"dropped\""), "{last}");
        assert!(last.contains("reader too slow"), "{last}");
        slow.await.unwrap();
        drop(sink);
        task.abort();
    }
}
