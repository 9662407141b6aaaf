//! The route stream: every change of the learned routes, as JSON lines, to any number of control
//! socket clients (`midonet-bgp routes --watch`).
//!
//! [`WatchSink`] wraps the controller's route sink: it passes every change on, and publishes it
//! on a bounded broadcast channel when someone watches (nothing is built otherwise). Publishing
//! never waits: a watcher that falls more than [`WATCH_BACKLOG`] changes behind is dropped with a
//! message line, so a slow reader never slows route processing. A watcher first gets the current
//! table (one `replace` per route), then `{"op":"synced"}`, then every change in the order the
//! ports made them.

use std::sync::{Arc, OnceLock};

use ipnetwork::IpNetwork;
use routing::{PortStatus, RoutePath, RouteSink};
use serde::Serialize;
use tokio::io::AsyncWriteExt;
use tokio::sync::broadcast;

/// Changes a watcher may fall behind before it is dropped.
pub const WATCH_BACKLOG: usize = 65_536;

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
    /// The current table has been sent; changes follow.
    Synced,
    /// The watcher fell too far behind and is disconnected.
    Dropped {
        /// Why.
        error: String,
    },
}

impl RouteEvent {
    fn port(&self) -> Option<&str> {
        match self {
            RouteEvent::Replace { port, .. } | RouteEvent::Withdraw { port, .. } => Some(port),
            RouteEvent::Synced | RouteEvent::Dropped { .. } => None,
        }
    }
}

/// The process's route change hub (one controller per process).
fn hub() -> &'static broadcast::Sender<Arc<RouteEvent>> {
    static HUB: OnceLock<broadcast::Sender<Arc<RouteEvent>>> = OnceLock::new();
    HUB.get_or_init(|| broadcast::channel(WATCH_BACKLOG).0)
}

/// A new watcher of every later change.
pub fn subscribe() -> broadcast::Receiver<Arc<RouteEvent>> {
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
    fn replace(&self, port: &str, prefix: IpNetwork, paths: &[RoutePath]) {
        self.inner.replace(port, prefix, paths);
        let hub = hub();
        if hub.receiver_count() > 0 {
            let _ = hub.send(Arc::new(RouteEvent::Replace {
                port: port.to_string(),
                prefix,
                paths: paths.to_vec(),
            }));
        }
    }

    fn withdraw(&self, port: &str, prefix: IpNetwork) {
        self.inner.withdraw(port, prefix);
        let hub = hub();
        if hub.receiver_count() > 0 {
            let _ = hub.send(Arc::new(RouteEvent::Withdraw {
                port: port.to_string(),
                prefix,
            }));
        }
    }
}

async fn line<W: AsyncWriteExt + Unpin>(w: &mut W, event: &RouteEvent) -> std::io::Result<()> {
    let mut text = serde_json::to_string(event).map_err(std::io::Error::other)?;
    text.push('\n');
    w.write_all(text.as_bytes()).await
}

/// Streams to `w`: the routes of `ports` (only `port` when given), `synced`, then every change
/// from `rx` (subscribed before `ports` was taken, so nothing is missed), until the client goes
/// away or falls behind.
pub async fn stream<W: AsyncWriteExt + Unpin>(
    mut w: W,
    mut rx: broadcast::Receiver<Arc<RouteEvent>>,
    ports: Vec<PortStatus>,
    port: Option<String>,
) {
    let wanted = |p: &str| port.as_deref().is_none_or(|want| want == p);
    for status in ports.iter().filter(|s| wanted(&s.name)) {
        for route in &status.routes {
            let event = RouteEvent::Replace {
                port: status.name.clone(),
                prefix: route.prefix,
                paths: route.paths.clone(),
            };
            if line(&mut w, &event).await.is_err() {
                return;
            }
        }
    }
    if line(&mut w, &RouteEvent::Synced).await.is_err() {
        return;
    }
    loop {
        match rx.recv().await {
            Ok(event) => {
                if event.port().is_some_and(|p| !wanted(p)) {
                    continue;
                }
                if line(&mut w, &event).await.is_err() {
                    return;
                }
            }
            Err(broadcast::error::RecvError::Lagged(missed)) => {
                let error = format!(
                    "reader too slow: {missed} route changes missed (more than {WATCH_BACKLOG} \
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
    use routing::{PortPhase, RouteEntry, TableSink};

    fn path(gw: &str) -> RoutePath {
        RoutePath {
            gateway: Some(gw.parse().unwrap()),
            ifindex: Some(2),
            distance: 20,
            metric: 0,
        }
    }

    fn status(name: &str, routes: &[&str]) -> PortStatus {
        PortStatus {
            name: name.into(),
            phase: PortPhase::Running,
            namespace: String::new(),
            bgpd_pid: None,
            bgpd_restarts: 0,
            port_restarts: 0,
            config_applied: true,
            zebra_connected: true,
            last_error: None,
            peers: Vec::new(),
            announced: Vec::new(),
            routes: routes
                .iter()
                .map(|r| RouteEntry {
                    prefix: r.parse().unwrap(),
                    paths: vec![path("192.0.2.2")],
                })
                .collect(),
        }
    }

    // One test only: the hub is process-wide.
    #[tokio::test]
    async fn snapshot_then_every_change_in_order_and_slow_readers_are_dropped() {
        let inner = Arc::new(TableSink::new());
        let sink = WatchSink::new(inner.clone());
        let rx = subscribe();
        let (client, server) = tokio::io::duplex(1 << 20);
        let ports = vec![
            status("p1", &["203.0.113.0/24"]),
            status("p2", &["198.51.100.0/24"]),
        ];
        let task = tokio::spawn(stream(server, rx, ports, Some("p1".into())));
        for i in 0..100u8 {
            let prefix: IpNetwork = format!("198.18.{i}.0/24").parse().unwrap();
            sink.replace("p1", prefix, &[path("192.0.2.2")]);
            sink.replace("p2", prefix, &[path("192.0.2.3")]);
            if i % 2 == 0 {
                sink.withdraw("p1", prefix);
            }
        }
        // The inner sink got everything.
        assert_eq!(inner.routes("p1").len(), 50);
        let mut reader = tokio::io::BufReader::new(client);
        let mut lines = Vec::new();
        use tokio::io::AsyncBufReadExt;
        while lines.len() < 1 + 1 + 150 {
            let mut l = String::new();
            reader.read_line(&mut l).await.unwrap();
            lines.push(serde_json::from_str::<serde_json::Value>(&l).unwrap());
        }
        assert_eq!(lines[0]["op"], "replace");
        assert_eq!(lines[0]["port"], "p1");
        assert_eq!(lines[0]["prefix"], "203.0.113.0/24");
        assert_eq!(lines[0]["paths"][0]["gateway"], "192.0.2.2");
        assert_eq!(lines[1]["op"], "synced");
        let mut expect = Vec::new();
        for i in 0..100u8 {
            expect.push(("replace", format!("198.18.{i}.0/24")));
            if i % 2 == 0 {
                expect.push(("withdraw", format!("198.18.{i}.0/24")));
            }
        }
        let got: Vec<(String, String)> = lines[2..]
            .iter()
            .map(|l| {
                assert_eq!(l["port"], "p1", "the port filter holds");
                (
                    l["op"].as_str().unwrap().to_string(),
                    l["prefix"].as_str().unwrap().to_string(),
                )
            })
            .collect();
        let expect: Vec<(String, String)> = expect
            .into_iter()
            .map(|(o, p)| (o.to_string(), p))
            .collect();
        assert_eq!(got, expect);

        // A reader that never reads: route processing goes on, the reader is dropped.
        let rx = subscribe();
        let (slow_client, slow_server) = tokio::io::duplex(64);
        let slow = tokio::spawn(stream(slow_server, rx, Vec::new(), None));
        let started = std::time::Instant::now();
        for i in 0..(WATCH_BACKLOG as u32 + 10_000) {
            let prefix =
                IpNetwork::new(std::net::Ipv4Addr::from(0xC612_0000 | i).into(), 32).unwrap();
            sink.replace("p1", prefix, &[path("192.0.2.2")]);
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
