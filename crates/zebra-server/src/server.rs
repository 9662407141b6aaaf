//! The tokio layer: a Unix-socket listener, one reader and one writer task per connection, and
//! one loop that owns the [`ServerCore`] and everything it decides.

use std::collections::HashMap;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use ipnetwork::IpNetwork;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::unix::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{UnixListener, UnixStream};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;
use zebra_proto::Profile;

use crate::coalesce::{starts_pause, Pause, COALESCE_STEP};
use crate::core::{CoreConfig, Output, Request, ServerCore};
use crate::counters::{MessageStats, SharedStats};
use crate::error::ServerError;
use crate::events::{EventReceiver, MAX_EVENT_BATCH};
use crate::reader::{FrameReader, RouteSummary, READ_TRACE_TARGET};
use crate::socket::{bind, queued_bytes, SocketFile};
use crate::types::{
    ClientId, CloseReason, ExtraRoute, Interface, RoutePath, RouteStats, ServerEvent,
};

/// How to run a [`ZebraServer`].
#[derive(Debug, Clone)]
pub struct ServerConfig {
    /// Path of the Unix socket bgpd connects to (`bgpd -z PATH`). Its directory is created
    /// (0700, or 0750 with `socket_group`) if missing and must otherwise be owned by us and
    /// writable by nobody else.
    pub socket_path: PathBuf,
    /// Group allowed to connect: the socket becomes 0660 owned by this gid (else 0600).
    pub socket_group: Option<u32>,
    /// Interfaces bgpd sees.
    pub interfaces: Vec<Interface>,
    /// Router id (`None`: derived from the interfaces as zebra does).
    pub router_id: Option<Ipv4Addr>,
    /// Routes besides the connected subnets, used to answer nexthop tracking.
    pub extra_routes: Vec<ExtraRoute>,
    /// Keep routes of a closed connection this long (graceful restart); `None` withdraws at
    /// once.
    pub withdraw_grace: Option<Duration>,
    /// Resolve all tracked nexthops over the default route (`ip nht resolve-via-default`).
    pub nht_resolve_via_default: bool,
    /// Most learned routes held (the per-port cap): adds of new prefixes beyond it are refused,
    /// never stored, and counted in [`ZebraServer::route_stats`].
    pub max_routes: usize,
    /// Most nexthop registrations per connection.
    pub max_nht_per_client: usize,
    /// Most simultaneous connections (bgpd opens two).
    pub max_clients: usize,
    /// Events in flight to the embedder before the server waits for it (rounded up to whole
    /// batches of up to 1,024 events; at least two batches).
    pub event_capacity: usize,
    /// The protocol profile of the daemon that connects, when known (e.g. from
    /// `bgpd::version`). The frame header tells only the family (Quagga v2, v3 or FRR), not
    /// FRR 8.4 from 10.x: `None` detects per connection and takes FRR 8.4 for an FRR header;
    /// `Some(p)` uses `p` and refuses a client whose header belongs to another family.
    pub profile: Option<Profile>,
    /// Read coalescing for route streams (`Duration::ZERO`, the default, reads whenever data
    /// arrives). When one read finds a client streaming routes (at least
    /// [`COALESCE_MIN_ROUTES`](crate::COALESCE_MIN_ROUTES) route messages waiting at once)
    /// and empties the socket, that connection's next read waits up to this long — while the client keeps writing, and no
    /// longer: a look every millisecond ends the pause when the queue stops growing (the
    /// burst is over, or the client's socket is full) or grows by 64 KiB at once. The
    /// client's socket fills meanwhile, and bgpd (FRR's and Quagga's zclient alike) then
    /// appends to its own write buffer and sends it in a few large `writev`s instead of one
    /// `write` — and one wake-up of this server — per route: the cost bgpd pays to feed a
    /// zebra drops with it (docs/benchmarks.md, #16). A lone change never starts a pause; a
    /// change that follows a burst waits at most this long. A client that blocks on a full
    /// socket (not bgpd) waits about a millisecond each time it fills it.
    /// [`BGPD_READ_COALESCE`](crate::BGPD_READ_COALESCE) is the window the controller uses
    /// for bgpd.
    pub read_coalesce: Duration,
}

impl ServerConfig {
    /// Defaults for a socket at `socket_path`: no interfaces, derived router id, no extra
    /// routes, immediate withdrawal, 4 M routes, 16 connections, 16 Ki events in flight,
    /// every read as soon as data arrives (no read coalescing).
    pub fn new(socket_path: impl Into<PathBuf>) -> ServerConfig {
        let core = CoreConfig::default();
        ServerConfig {
            socket_path: socket_path.into(),
            socket_group: None,
            interfaces: core.interfaces,
            router_id: core.router_id,
            extra_routes: core.extra_routes,
            withdraw_grace: core.withdraw_grace,
            nht_resolve_via_default: core.nht_resolve_via_default,
            max_routes: core.max_routes,
            max_nht_per_client: core.max_nht_per_client,
            max_clients: 16,
            event_capacity: 16 * 1024,
            profile: None,
            read_coalesce: Duration::ZERO,
        }
    }

    fn core_config(&self) -> CoreConfig {
        CoreConfig {
            interfaces: self.interfaces.clone(),
            router_id: self.router_id,
            extra_routes: self.extra_routes.clone(),
            withdraw_grace: self.withdraw_grace,
            nht_resolve_via_default: self.nht_resolve_via_default,
            max_routes: self.max_routes,
            max_nht_per_client: self.max_nht_per_client,
        }
    }
}

/// bgpd's route type (`ZEBRA_ROUTE_BGP`).
const ROUTE_BGP: u8 = 9;

/// The longest withdraw grace a [`ZebraServer`] accepts: 4,095 s, the most bgpd's own graceful
/// restart timers (`bgp graceful-restart restart-time`, `stalepath-time`) accept.
pub const MAX_WITHDRAW_GRACE: Duration = Duration::from_secs(4095);

fn check_grace(grace: Option<Duration>) -> Result<(), ServerError> {
    match grace {
        Some(grace) if grace > MAX_WITHDRAW_GRACE => Err(ServerError::GraceTooLong {
            grace,
            max: MAX_WITHDRAW_GRACE,
        }),
        _ => Ok(()),
    }
}

/// Run-time changes from the handle.
#[derive(Debug)]
enum Control {
    Interfaces(Vec<Interface>),
    RouterId(Option<Ipv4Addr>),
    ExtraRoutes(Vec<ExtraRoute>),
    Grace(Option<Duration>),
    Recover {
        routes: Vec<(IpNetwork, Vec<RoutePath>)>,
        stale_time: Duration,
    },
}

/// What connection tasks tell the loop.
#[derive(Debug)]
enum Cmd {
    Profile {
        client: ClientId,
        profile: Profile,
    },
    Requests {
        client: ClientId,
        batch: Vec<Request>,
    },
    Closed {
        client: ClientId,
        reason: CloseReason,
    },
}

/// Capacity (in batches) of the channel from readers to the loop.
const CMD_CAPACITY: usize = 64;
/// Capacity (in chunks) of each connection's output queue; a client this far behind is dropped.
const OUTPUT_CAPACITY: usize = 1024;
/// Read buffer growth step.
const READ_CHUNK: usize = 64 * 1024;

/// A running Zebra server. Dropping it (or [`ZebraServer::shutdown`]) closes every connection
/// and removes the socket file.
#[derive(Debug)]
pub struct ZebraServer {
    control: mpsc::UnboundedSender<Control>,
    cancel: CancellationToken,
    task: Option<JoinHandle<()>>,
    socket: SocketFile,
    messages: SharedStats,
    stats: Arc<Mutex<RouteStats>>,
}

impl ZebraServer {
    /// Binds the socket and starts serving. Events arrive on the returned receiver; if it is
    /// not read the server eventually stops reading from bgpd (bounded buffers everywhere).
    /// A withdraw grace longer than [`MAX_WITHDRAW_GRACE`] is refused.
    pub async fn start(cfg: ServerConfig) -> Result<(ZebraServer, EventReceiver), ServerError> {
        check_grace(cfg.withdraw_grace)?;
        let (std_listener, socket) = bind(&cfg.socket_path, cfg.socket_group)?;
        let listener = UnixListener::from_std(std_listener).map_err(|source| ServerError::Io {
            op: "register listener",
            path: cfg.socket_path.clone(),
            source,
        })?;
        let batches = cfg.event_capacity.div_ceil(MAX_EVENT_BATCH).max(2);
        let (event_tx, event_rx) = mpsc::channel(batches);
        let (control, control_rx) = mpsc::unbounded_channel();
        let cancel = CancellationToken::new();
        let core = ServerCore::new(cfg.core_config());
        let published = core.route_stats();
        let stats = Arc::new(Mutex::new(published.clone()));
        let messages = SharedStats::default();
        let state = Loop {
            messages: messages.clone(),
            core,
            stats: stats.clone(),
            published,
            conns: HashMap::new(),
            events: event_tx,
            cancel: cancel.clone(),
            max_clients: cfg.max_clients.max(1),
            profile: cfg.profile,
            read_coalesce: cfg.read_coalesce,
            out: Vec::new(),
            spare: Vec::new(),
            batch: Vec::new(),
        };
        let task = tokio::spawn(state.run(listener, control_rx));
        tracing::info!(socket = %cfg.socket_path.display(), "zebra server listening");
        Ok((
            ZebraServer {
                control,
                cancel,
                task: Some(task),
                socket,
                messages,
                stats,
            },
            EventReceiver::new(event_rx),
        ))
    }

    /// The messages received from bgpd by command, and the frames that did not decode, since
    /// the server started. Cheap, and never waits for the server's loop.
    pub fn message_stats(&self) -> MessageStats {
        self.messages.get()
    }

    /// The learned-route counters as of the last batch the server handled. Cheap (a copy of a
    /// few counters) and never waits for the server's loop, so it may be called from the task
    /// that consumes the events.
    pub fn route_stats(&self) -> RouteStats {
        match self.stats.lock() {
            Ok(s) => s.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// The socket path.
    pub fn socket_path(&self) -> &Path {
        &self.socket.path
    }

    /// Replaces the interface list; differences are announced to bgpd, the router id and
    /// nexthop answers are re-evaluated.
    pub fn set_interfaces(&self, interfaces: Vec<Interface>) {
        let _ = self.control.send(Control::Interfaces(interfaces));
    }

    /// Sets the router id (`None` derives it from the interfaces) and announces a change.
    pub fn set_router_id(&self, router_id: Option<Ipv4Addr>) {
        let _ = self.control.send(Control::RouterId(router_id));
    }

    /// Replaces the extra routes used for nexthop tracking; changed answers are re-sent.
    pub fn set_extra_routes(&self, routes: Vec<ExtraRoute>) {
        let _ = self.control.send(Control::ExtraRoutes(routes));
    }

    /// Changes the grace period for routes of connections that close from now on; a grace
    /// longer than [`MAX_WITHDRAW_GRACE`] is refused and the current one kept.
    pub fn set_withdraw_grace(&self, grace: Option<Duration>) -> Result<(), ServerError> {
        check_grace(grace)?;
        let _ = self.control.send(Control::Grace(grace));
        Ok(())
    }

    /// Hands over routes recovered from an earlier run of the embedder (a controller restart
    /// while the datapath kept forwarding): they are held as the stale routes of a restarted
    /// bgpd (route type BGP, instance 0), so the next bgpd takes them over — routes it learns
    /// again with the same paths produce no event, changed ones one `Replace`, and the rest are
    /// withdrawn at its ROUTE_UPDATE_COMPLETE for a pending family or after `stale_time` (at
    /// most [`MAX_STALE_TIME`](crate::MAX_STALE_TIME)). Call it before bgpd connects. See
    /// [`ServerCore::recover_routes`].
    pub fn recover_routes(&self, routes: Vec<(IpNetwork, Vec<RoutePath>)>, stale_time: Duration) {
        let _ = self.control.send(Control::Recover { routes, stale_time });
    }

    /// Stops serving, closes every connection and removes the socket file.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        if let Some(task) = self.task.take() {
            let _ = task.await;
        }
        self.socket.remove();
    }
}

impl Drop for ZebraServer {
    fn drop(&mut self) {
        self.cancel.cancel();
        self.socket.remove();
    }
}

struct Conn {
    profile: Option<Profile>,
    output: mpsc::Sender<Bytes>,
    pending: BytesMut,
    token: CancellationToken,
}

struct Loop {
    core: ServerCore,
    /// Where the readers add their message counts.
    messages: SharedStats,
    /// Where [`ZebraServer::route_stats`] reads the counters.
    stats: Arc<Mutex<RouteStats>>,
    /// The counters last written there.
    published: RouteStats,
    /// The configured profile, if any (see [`ServerConfig::profile`]).
    profile: Option<Profile>,
    /// See [`ServerConfig::read_coalesce`].
    read_coalesce: Duration,
    conns: HashMap<ClientId, Conn>,
    events: mpsc::Sender<Vec<ServerEvent>>,
    cancel: CancellationToken,
    max_clients: usize,
    out: Vec<Output>,
    /// An empty buffer with capacity, swapped with `out` while outputs are carried out.
    spare: Vec<Output>,
    /// Events not yet handed to the embedder (sent when full and at the end of each flush).
    batch: Vec<ServerEvent>,
}

impl Loop {
    async fn run(mut self, listener: UnixListener, mut control: mpsc::UnboundedReceiver<Control>) {
        let (cmd_tx, mut cmd_rx) = mpsc::channel::<Cmd>(CMD_CAPACITY);
        loop {
            let deadline = self
                .core
                .next_deadline()
                .map(tokio::time::Instant::from_std);
            tokio::select! {
                _ = self.cancel.cancelled() => break,
                accepted = listener.accept() => match accepted {
                    Ok((stream, _)) => self.accept(stream, &cmd_tx),
                    Err(e) => {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                },
                Some(cmd) = cmd_rx.recv() => self.command(cmd),
                Some(ctl) = control.recv() => self.control(ctl),
                _ = sleep_until_opt(deadline) => {
                    self.core.handle_timeout(Instant::now(), &mut self.out);
                }
            }
            if !self.flush().await {
                break;
            }
            self.publish_stats();
        }
        for (_, c) in self.conns.drain() {
            c.token.cancel();
        }
    }

    /// Writes the route counters where the handle reads them, when they changed.
    fn publish_stats(&mut self) {
        if !self.core.route_stats_changed(&self.published) {
            return;
        }
        self.published = self.core.route_stats();
        let mut shared = match self.stats.lock() {
            Ok(s) => s,
            Err(poisoned) => poisoned.into_inner(),
        };
        shared.clone_from(&self.published);
    }

    fn accept(&mut self, stream: UnixStream, cmd_tx: &mpsc::Sender<Cmd>) {
        if self.conns.len() >= self.max_clients {
            tracing::warn!(
                limit = self.max_clients,
                "too many zebra connections; refusing one"
            );
            return;
        }
        let client = self.core.client_connected(&mut self.out);
        let (read, write) = stream.into_split();
        let token = self.cancel.child_token();
        let (output, output_rx) = mpsc::channel(OUTPUT_CAPACITY);
        let reader = Reader {
            client,
            cmd_tx: cmd_tx.clone(),
            configured: self.profile,
            messages: self.messages.clone(),
            coalesce: self.read_coalesce,
        };
        tokio::spawn(read_loop(reader, read, token.clone()));
        tokio::spawn(write_loop(write, output_rx, token.clone()));
        tracing::debug!(%client, "zebra client connected");
        self.conns.insert(
            client,
            Conn {
                profile: None,
                output,
                pending: BytesMut::new(),
                token,
            },
        );
    }

    fn command(&mut self, cmd: Cmd) {
        let now = Instant::now();
        match cmd {
            Cmd::Profile { client, profile } => {
                if let Some(c) = self.conns.get_mut(&client) {
                    c.profile = Some(profile);
                }
                self.core.set_client_profile(client, profile);
                tracing::debug!(%client, %profile, "zebra client profile");
            }
            Cmd::Requests { client, batch } => {
                for r in batch {
                    self.core.handle_request(client, r, now, &mut self.out);
                }
            }
            Cmd::Closed { client, reason } => {
                match &reason {
                    CloseReason::PeerClosed => tracing::info!(%client, "zebra client closed"),
                    r => tracing::warn!(%client, reason = %r, "zebra client dropped"),
                }
                self.drop_conn(client);
                self.core.client_closed(client, reason, now, &mut self.out);
            }
        }
    }

    fn control(&mut self, ctl: Control) {
        match ctl {
            Control::Interfaces(i) => self.core.set_interfaces(i, &mut self.out),
            Control::RouterId(id) => self.core.set_router_id(id, &mut self.out),
            Control::ExtraRoutes(r) => self.core.set_extra_routes(r, &mut self.out),
            Control::Grace(g) => self.core.set_withdraw_grace(g),
            Control::Recover { routes, stale_time } => {
                let held =
                    self.core
                        .recover_routes(ROUTE_BGP, 0, routes, stale_time, Instant::now());
                tracing::info!(held, ?stale_time, "recovered routes held for the next bgpd");
            }
        }
    }

    fn drop_conn(&mut self, client: ClientId) {
        if let Some(c) = self.conns.remove(&client) {
            c.token.cancel();
        }
    }

    /// Carries out pending outputs; false when the server is shutting down.
    async fn flush(&mut self) -> bool {
        while !self.out.is_empty() {
            let mut outputs = std::mem::replace(&mut self.out, std::mem::take(&mut self.spare));
            self.batch.reserve(outputs.len().min(MAX_EVENT_BATCH));
            for o in outputs.drain(..) {
                match o {
                    Output::Send { client, reply } => self.encode(client, &reply),
                    Output::Event(ev) => {
                        self.batch.push(ev);
                        if self.batch.len() >= MAX_EVENT_BATCH && !self.deliver().await {
                            return false;
                        }
                    }
                    Output::Close { client, reason } => {
                        tracing::warn!(%client, reason = %reason, "closing zebra client");
                        self.drop_conn(client);
                    }
                }
            }
            self.spare = outputs;
            if !self.batch.is_empty() && !self.deliver().await {
                return false;
            }
            let mut overflow = Vec::new();
            for (id, c) in &mut self.conns {
                if c.pending.is_empty() {
                    continue;
                }
                let chunk = c.pending.split().freeze();
                if c.output.try_send(chunk).is_err() {
                    overflow.push(*id);
                }
            }
            for id in overflow {
                tracing::warn!(client = %id, "zebra client output queue overflow; closing");
                self.drop_conn(id);
                self.core.client_closed(
                    id,
                    CloseReason::OutputOverflow,
                    Instant::now(),
                    &mut self.out,
                );
            }
        }
        true
    }

    fn encode(&mut self, client: ClientId, reply: &crate::core::Reply) {
        let Some(c) = self.conns.get_mut(&client) else {
            return;
        };
        crate::reader::encode_reply(client, c.profile, reply, &mut c.pending);
    }

    /// Hands the pending batch of events to the embedder, waiting while its channel is full;
    /// false when the server is shutting down meanwhile.
    async fn deliver(&mut self) -> bool {
        let batch = std::mem::take(&mut self.batch);
        match self.events.try_send(batch) {
            Ok(()) => true,
            // Nobody listens any more: the events are dropped, serving bgpd goes on.
            Err(mpsc::error::TrySendError::Closed(_)) => true,
            Err(mpsc::error::TrySendError::Full(batch)) => tokio::select! {
                _ = self.events.send(batch) => true,
                _ = self.cancel.cancelled() => false,
            },
        }
    }
}

async fn sleep_until_opt(deadline: Option<tokio::time::Instant>) {
    match deadline {
        Some(d) => tokio::time::sleep_until(d).await,
        None => std::future::pending().await,
    }
}

async fn write_loop(
    mut w: OwnedWriteHalf,
    mut rx: mpsc::Receiver<Bytes>,
    token: CancellationToken,
) {
    loop {
        let chunk = tokio::select! {
            _ = token.cancelled() => break,
            c = rx.recv() => match c { Some(c) => c, None => break },
        };
        let res = tokio::select! {
            _ = token.cancelled() => break,
            r = w.write_all(&chunk) => r,
        };
        if res.is_err() {
            break;
        }
    }
    let _ = w.shutdown().await;
}

/// What a connection's reader needs besides its socket.
struct Reader {
    client: ClientId,
    cmd_tx: mpsc::Sender<Cmd>,
    /// The configured profile, if any.
    configured: Option<Profile>,
    /// Where the reader adds its message counts.
    messages: SharedStats,
    /// See [`ServerConfig::read_coalesce`].
    coalesce: Duration,
}

async fn read_loop(reader: Reader, mut r: OwnedReadHalf, token: CancellationToken) {
    let reason = tokio::select! {
        _ = token.cancelled() => return,
        res = read_frames(&reader, &mut r) => match res {
            Ok(()) => CloseReason::PeerClosed,
            Err(reason) => reason,
        },
    };
    let client = reader.client;
    let _ = reader.cmd_tx.send(Cmd::Closed { client, reason }).await;
}

/// The profile of a client from its first bytes: the detected family, refined to the
/// configured profile when their headers agree.
pub(crate) fn client_profile(
    first_bytes: &[u8],
    configured: Option<Profile>,
) -> Result<Option<Profile>, CloseReason> {
    match zebra_proto::detect_profile(first_bytes) {
        Ok(p) => match configured {
            None => Ok(Some(p)),
            Some(c) if c.shares_header_with(p) => Ok(Some(c)),
            Some(c) => Err(CloseReason::ProfileMismatch {
                configured: c,
                detected: p,
            }),
        },
        Err(zebra_proto::DecodeError::IncompleteHeader { .. }) => Ok(None),
        Err(_) => Err(CloseReason::UnknownProfile),
    }
}

async fn read_frames(reader: &Reader, r: &mut OwnedReadHalf) -> Result<(), CloseReason> {
    let Reader {
        client,
        ref cmd_tx,
        configured,
        ref messages,
        coalesce,
    } = *reader;
    let mut buf = BytesMut::with_capacity(READ_CHUNK);
    let mut frames = FrameReader::with_configured(client, configured);
    let closed = || CloseReason::Shutdown;
    loop {
        if buf.capacity() - buf.len() < READ_CHUNK / 4 {
            buf.reserve(READ_CHUNK);
        }
        let room = buf.capacity() - buf.len();
        let n = r
            .read_buf(&mut buf)
            .await
            .map_err(|e| CloseReason::Io(e.to_string()))?;
        // The opt-in read trace point (see `READ_TRACE_TARGET`): the instant is taken only
        // when it is enabled.
        let read_at = tracing::enabled!(target: READ_TRACE_TARGET, tracing::Level::TRACE)
            .then(std::time::SystemTime::now);
        if n == 0 {
            return match frames.finish(&buf) {
                CloseReason::PeerClosed => Ok(()),
                reason => Err(reason),
            };
        }
        let mut batch = Vec::with_capacity(buf.len() / 32 + 1);
        let found = frames.decode(&mut buf, &mut batch);
        messages.add(frames.tally());
        let pause = !coalesce.is_zero() && starts_pause(n, room, &batch);
        if let Some(at) = read_at {
            trace_read(client, at, n, &batch);
        }
        if found.profile_detected {
            if let Some(profile) = frames.profile() {
                cmd_tx
                    .send(Cmd::Profile { client, profile })
                    .await
                    .map_err(|_| closed())?;
            }
        }
        if !batch.is_empty() {
            cmd_tx
                .send(Cmd::Requests { client, batch })
                .await
                .map_err(|_| closed())?;
            // Sending woke the loop into this worker's next-task slot, which no other worker
            // can take: yielding lets another worker take this reader instead, so the next
            // batch is read and decoded while the loop works through this one.
            tokio::task::yield_now().await;
        }
        if let Some(f) = found.failure {
            return Err(f);
        }
        if pause {
            coalesce_wait(r, coalesce).await;
        }
    }
}

/// A pause of [`ServerConfig::read_coalesce`]: looks at the socket's queue every
/// [`COALESCE_STEP`] until the window is over or [`Pause::keep_waiting`] says the client stopped,
/// filled its socket or writes fast.
async fn coalesce_wait(r: &OwnedReadHalf, window: Duration) {
    let stream: &UnixStream = r.as_ref();
    let end = Instant::now() + window;
    let mut pause = Pause::new(queued_bytes(stream));
    loop {
        let left = end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return;
        }
        tokio::time::sleep(left.min(COALESCE_STEP)).await;
        if !pause.keep_waiting(queued_bytes(stream)) {
            return;
        }
    }
}

/// Logs one read at the read trace point, when it carried route messages.
fn trace_read(client: ClientId, at: std::time::SystemTime, bytes: usize, batch: &[Request]) {
    let routes = RouteSummary::of(batch);
    if routes.is_empty() {
        return;
    }
    let at_us = at
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_micros());
    let first = routes.first.map(|p| p.to_string()).unwrap_or_default();
    tracing::trace!(
        target: READ_TRACE_TARGET,
        %client,
        at_us,
        bytes,
        adds = routes.adds,
        deletes = routes.deletes,
        first = %first,
        "zebra read"
    );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_configured_profile_refines_the_header_family_or_refuses() {
        let frr = [0x00, 0x12, 0xfe, 0x06];
        let quagga = [0x00, 0x08, 0xff, 0x03];
        assert_eq!(client_profile(&frr, None), Ok(Some(Profile::Frr84)));
        assert_eq!(
            client_profile(&frr, Some(Profile::Frr103)),
            Ok(Some(Profile::Frr103))
        );
        assert_eq!(
            client_profile(&quagga, Some(Profile::Frr103)),
            Err(CloseReason::ProfileMismatch {
                configured: Profile::Frr103,
                detected: Profile::QuaggaV3
            })
        );
        assert_eq!(client_profile(&frr[..3], Some(Profile::Frr103)), Ok(None));
        assert_eq!(
            client_profile(&[0, 8, 0xfe, 4], None),
            Err(CloseReason::UnknownProfile)
        );
    }
}
