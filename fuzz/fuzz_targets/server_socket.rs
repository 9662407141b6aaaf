//! The zebra server over its real Unix socket, fed arbitrary byte streams: a connection may be
//! dropped, never the server.
//!
//! Design (cheap per input, so that 10 M inputs take minutes, not hours):
//!
//! * One server for the process, on a current-thread runtime, started on first use with one
//!   *probe* connection that stays open: a well-behaved FRR 8.4 client.
//! * Per input, one connection: it writes the arbitrary bytes, ends its side and reads until the
//!   server closes. The server closes the connection only from its loop (the connection's
//!   writer stops when the loop drops it), so the close itself shows the loop took the input.
//! * Then the probe asks for the router id (ROUTER_ID_ADD) and must get the same
//!   ROUTER_ID_UPDATE frame as at the start: the server still serves a client, over the
//!   connection it already had (no second connect/accept per input, which halved the rate).
//! * The events handed to the embedder must show the input's connection as connected and gone
//!   (a server that accepted and dropped it unseen, e.g. at its connection limit because
//!   connections leak, fails here).
//!
//! No fixed sleep anywhere: every wait is on the socket, bounded by `STUCK` (of time the process
//! ran: see [`patient`]) only to turn a hung server into a failure. The probe says no HELLO, so the route type 9 (bgpd) identity — and the
//! graceful-restart state an input sets up for it — stays the inputs' own. The withdraw grace is
//! short (1 s) so that the routes of closed inputs expire on the server's real timer instead of
//! filling the route table. The in-process `server_stream` target covers the read path itself
//! faster and with the clock under its control; this one keeps the socket, the reader/writer
//! tasks, the accept loop and the timers under the fuzzer.
#![no_main]

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::runtime::Runtime;
use zebra_server::{EventReceiver, Interface, ServerConfig, ServerEvent, ZebraServer};

/// Generous: only a server that neither answers nor closes reaches it.
const STUCK: Duration = Duration::from_secs(30);

/// The waits are measured in slices of this length.
const SLICE: Duration = Duration::from_millis(250);

/// Waits for `fut` for at most [`STUCK`] of time during which this process ran: a slice that
/// took more than four times its length (the process was stopped with SIGSTOP, or starved by
/// the scheduler, e.g. in the idle class next to a benchmark) does not count. With a plain
/// timeout the timer fired first on resuming after a stop longer than `STUCK`, before the
/// server's task (on the same thread) got to close the connection: a false "stuck server".
async fn patient<F: std::future::Future>(fut: F) -> Result<F::Output, Duration> {
    tokio::pin!(fut);
    let mut counted = Duration::ZERO;
    loop {
        let start = std::time::Instant::now();
        match tokio::time::timeout(SLICE, &mut fut).await {
            Ok(v) => return Ok(v),
            Err(_) if start.elapsed() > SLICE * 4 => {}
            Err(_) => counted += SLICE,
        }
        if counted >= STUCK {
            return Err(counted);
        }
    }
}

struct Probe {
    stream: UnixStream,
    /// ROUTER_ID_ADD (IPv4), FRR 8.4 framing.
    request: Vec<u8>,
    /// The server's answer to the first request.
    reply: Vec<u8>,
}

struct Fixture {
    rt: Runtime,
    path: PathBuf,
    // Kept alive for the whole process; the server stops when it is dropped.
    _server: ZebraServer,
    state: Mutex<(EventReceiver, Probe)>,
}

/// A directory per process under the temporary directory; those of processes that are gone
/// (a fuzzer exits without running destructors) are removed first.
fn socket_dir() -> PathBuf {
    let base = std::env::temp_dir();
    if let Ok(entries) = std::fs::read_dir(&base) {
        for e in entries.flatten() {
            let name = e.file_name();
            let Some(pid) = name.to_str().and_then(|n| n.strip_prefix("zebra-fuzz-")) else {
                continue;
            };
            if !PathBuf::from("/proc").join(pid).exists() {
                let _ = std::fs::remove_dir_all(e.path());
            }
        }
    }
    let dir = base.join(format!("zebra-fuzz-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("a socket directory");
    dir
}

/// Reads one zebra frame (header and body) whole.
async fn read_frame(s: &mut UnixStream) -> Vec<u8> {
    let mut frame = vec![0u8; 10];
    patient(s.read_exact(&mut frame))
        .await
        .expect("the server answers the probe")
        .expect("a reply header");
    let len = usize::from(u16::from_be_bytes([frame[0], frame[1]]));
    assert!(len >= 10, "a frame length that covers its header");
    frame.resize(len, 0);
    patient(s.read_exact(&mut frame[10..]))
        .await
        .expect("the server sends the whole reply")
        .expect("a reply body");
    frame
}

fn fixture() -> &'static Fixture {
    static F: OnceLock<Fixture> = OnceLock::new();
    F.get_or_init(|| {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("a runtime");
        let path = socket_dir().join("zserv.api");
        let net = |s: &str| s.parse().expect("a valid prefix");
        let mut cfg = ServerConfig::new(&path);
        cfg.interfaces = vec![Interface::ethernet(
            "veth0",
            5,
            [2, 0, 0, 0, 0, 5],
            1500,
            vec![net("192.0.2.1/24"), net("2001:db8::1/64")],
        )];
        cfg.withdraw_grace = Some(Duration::from_secs(1));
        cfg.max_routes = 10_000;
        // Room for every event an input can cause: the harness drains them after each input,
        // and a server waiting for the embedder would otherwise stall the input's close.
        cfg.event_capacity = 1 << 20;
        let (server, mut events, probe) = rt.block_on(async {
            let (server, events) = ZebraServer::start(cfg).await.expect("the server starts");
            let mut stream = UnixStream::connect(&path)
                .await
                .expect("the server accepts");
            let mut request = bytes::BytesMut::new();
            zebra_proto::encode(
                zebra_proto::Profile::Frr84,
                0,
                &zebra_proto::Message::RouterIdAdd(zebra_proto::RouterIdRequest { afi: Some(1) }),
                &mut request,
            )
            .expect("encodes");
            stream.write_all(&request).await.expect("the server reads");
            let reply = read_frame(&mut stream).await;
            assert_eq!(&reply[2..4], &[254, 6], "an FRR 8.4 frame");
            let probe = Probe {
                stream,
                request: request.to_vec(),
                reply,
            };
            (server, events, probe)
        });
        while events.try_recv().is_ok() {}
        Fixture {
            rt,
            path,
            _server: server,
            state: Mutex::new((events, probe)),
        }
    })
}

/// Reads until the server closes the connection (or resets it).
async fn read_to_close(s: &mut UnixStream) {
    let mut buf = [0u8; 4096];
    loop {
        match s.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let f = fixture();
    let mut state = f.state.lock().expect("one input at a time");
    let (events, probe) = &mut *state;
    f.rt.block_on(async {
        let mut s = UnixStream::connect(&f.path)
            .await
            .expect("the server accepts");
        // The server may close before taking everything: a refused write is fine.
        let _ = s.write_all(data).await;
        let _ = s.shutdown().await;
        patient(read_to_close(&mut s))
            .await
            .expect("the server closes a connection whose client ended");
        drop(s);

        // The server still serves: the probe's request gets the same answer as at the start.
        probe
            .stream
            .write_all(&probe.request)
            .await
            .expect("the server reads the probe");
        let reply = read_frame(&mut probe.stream).await;
        assert_eq!(reply, probe.reply, "the probe's answer changed");
    });
    // The input's connection was seen to come and go (its events precede its close).
    let (mut connected, mut gone) = (None, None);
    while let Ok(ev) = events.try_recv() {
        match ev {
            ServerEvent::ClientConnected { client } => {
                assert!(
                    connected.replace(client).is_none(),
                    "one connection per input"
                );
            }
            ServerEvent::ClientGone { client, .. } => {
                assert!(
                    gone.replace(client).is_none(),
                    "one connection gone per input"
                );
            }
            _ => {}
        }
    }
    assert!(connected.is_some(), "the input's connection was not taken");
    assert_eq!(
        connected, gone,
        "the input's connection did not end in the server"
    );
});
