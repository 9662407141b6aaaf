//! The zebra server over its real Unix socket: one server per process (on a current-thread
//! runtime, started on first use), and per input one connection that writes the arbitrary
//! bytes, ends its side and reads until the server closes. A connection may be dropped, never
//! the server: after every input a well-behaved FRR client still gets its INTERFACE_ADD. The
//! in-process `server_stream` target covers the same read path many times faster; this one
//! keeps the socket, the reader/writer tasks and the accept loop under the fuzzer.
#![no_main]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use libfuzzer_sys::fuzz_target;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use tokio::runtime::Runtime;
use zebra_server::{EventReceiver, Interface, ServerConfig, ZebraServer};

/// Generous: only a server that neither answers nor closes reaches it.
const STUCK: Duration = Duration::from_secs(30);

struct Fixture {
    rt: Runtime,
    path: PathBuf,
    // Kept alive for the whole process; the server stops when it is dropped.
    _server: ZebraServer,
    events: std::sync::Mutex<EventReceiver>,
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
        cfg.withdraw_grace = Some(Duration::from_secs(30));
        cfg.max_routes = 10_000;
        let (server, events) = rt
            .block_on(ZebraServer::start(cfg))
            .expect("the server starts");
        Fixture {
            rt,
            path,
            _server: server,
            events: std::sync::Mutex::new(events),
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
    f.rt.block_on(async {
        let mut s = UnixStream::connect(&f.path)
            .await
            .expect("the server accepts");
        // The server may close before taking everything: a refused write is fine.
        let _ = s.write_all(data).await;
        let _ = s.shutdown().await;
        tokio::time::timeout(STUCK, read_to_close(&mut s))
            .await
            .expect("the server closes a connection whose client ended");
        drop(s);

        // The server still serves: HELLO (route type bgp) and INTERFACE_ADD in FRR 8.4 framing.
        let mut ok = UnixStream::connect(&f.path)
            .await
            .expect("the server still accepts");
        let mut req = bytes::BytesMut::new();
        let hello = zebra_proto::Message::Hello(zebra_proto::Hello {
            route_type: 9,
            ..zebra_proto::Hello::default()
        });
        zebra_proto::encode(zebra_proto::Profile::Frr84, 0, &hello, &mut req).expect("encodes");
        zebra_proto::encode(
            zebra_proto::Profile::Frr84,
            0,
            &zebra_proto::Message::InterfaceAddRequest,
            &mut req,
        )
        .expect("encodes");
        ok.write_all(&req).await.expect("the server reads");
        let mut head = [0u8; 10];
        tokio::time::timeout(STUCK, ok.read_exact(&mut head))
            .await
            .expect("the server answers")
            .expect("a reply header");
        assert_eq!(&head[2..4], &[254, 6], "an FRR 8.4 frame");
        drop(ok);
    });
    // Events (connections, routes) are not what is tested; drain them so none pile up.
    if let Ok(mut ev) = f.events.lock() {
        while ev.try_recv().is_ok() {}
    }
});
