//! End-to-end throughput of learned routes: a synthetic FRR 8.4 client streams ROUTE_ADDs
//! (IPv4 /24s, alternately 1 and 2 nexthops) through the Unix socket; the time runs until the
//! embedder has received the matching `Replace` events.
//!
//! First a one-shot run with 1,000,000 routes prints routes/s and the process's peak RSS
//! (`VmHWM`: server, client thread and event consumer together, holding the 1 M-route table),
//! then criterion measures 100,000-route rounds that change every route's path set.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{criterion_group, Criterion, Throughput};
use tokio::sync::{mpsc, Notify};
use zebra_proto::{Message, NexthopTarget, Profile, ZapiNexthop, ZapiRoute};
use zebra_server::{RouteEvent, ServerConfig, ServerEvent, ZebraServer};

/// Offset of the 3 prefix bytes of a /24 in an FRR 8.4 ROUTE_ADD frame:
/// header 10 | type 1 | instance 2 | flags 4 | message 4 | safi 1 | family 1 | plen 1.
const PREFIX_AT: usize = 24;

fn template(nexthops: usize, variant: u8) -> Vec<u8> {
    let mut r = ZapiRoute::new(9, "16.0.0.0/24".parse().unwrap());
    r.flags = 0x01;
    r.nexthops = Some(
        (0..nexthops)
            .map(|i| {
                ZapiNexthop::new(NexthopTarget::Ipv4 {
                    gate: std::net::Ipv4Addr::new(192, 0, 2, 2 + i as u8 + 2 * variant),
                    ifindex: 0,
                })
            })
            .collect(),
    );
    r.distance = Some(20);
    r.metric = Some(0);
    let mut b = BytesMut::new();
    zebra_proto::encode(Profile::Frr84, 0, &Message::RouteAdd(r), &mut b).unwrap();
    assert_eq!(&b[PREFIX_AT..PREFIX_AT + 3], &[16, 0, 0]);
    b.to_vec()
}

/// Writes `n` ROUTE_ADDs for 16.0.0.0/24 + i (i < n) on `stream`, path sets per `variant`.
fn stream_routes(stream: &mut UnixStream, n: u32, variant: u8) {
    let t = [template(1, variant), template(2, variant)];
    let mut buf = Vec::with_capacity(64 * 1024);
    for i in 0..n {
        let f = &t[(i & 1) as usize];
        let start = buf.len();
        buf.extend_from_slice(f);
        let net = (16u32 << 16) + i;
        buf[start + PREFIX_AT..start + PREFIX_AT + 3].copy_from_slice(&[
            (net >> 16) as u8,
            (net >> 8) as u8,
            net as u8,
        ]);
        if buf.len() > 60 * 1024 {
            stream.write_all(&buf).unwrap();
            buf.clear();
        }
    }
    stream.write_all(&buf).unwrap();
}

struct Harness {
    rt: tokio::runtime::Runtime,
    _server: ZebraServer,
    client: UnixStream,
    replaces: Arc<AtomicU32>,
    notify: Arc<Notify>,
    _dir: tempfile::TempDir,
}

impl Harness {
    fn new() -> Harness {
        let rt = tokio::runtime::Runtime::new().unwrap();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("zserv.api");
        let replaces = Arc::new(AtomicU32::new(0));
        let notify = Arc::new(Notify::new());
        let server = rt.block_on(async {
            let (server, rx) = ZebraServer::start(ServerConfig::new(&path)).await.unwrap();
            tokio::spawn(consume(rx, replaces.clone(), notify.clone()));
            server
        });
        let client = UnixStream::connect(&path).unwrap();
        Harness {
            rt,
            _server: server,
            client,
            replaces,
            notify,
            _dir: dir,
        }
    }

    /// Streams `n` routes and waits for their `n` Replace events; returns the elapsed time.
    fn round(&mut self, n: u32, variant: u8) -> Duration {
        let target = self.replaces.load(Ordering::Relaxed) + n;
        let start = Instant::now();
        let mut c = self.client.try_clone().unwrap();
        let writer = std::thread::spawn(move || stream_routes(&mut c, n, variant));
        let replaces = self.replaces.clone();
        let notify = self.notify.clone();
        self.rt.block_on(async move {
            while replaces.load(Ordering::Acquire) < target {
                let _ = tokio::time::timeout(Duration::from_millis(20), notify.notified()).await;
            }
        });
        let elapsed = start.elapsed();
        writer.join().unwrap();
        elapsed
    }
}

async fn consume(
    mut rx: mpsc::Receiver<ServerEvent>,
    replaces: Arc<AtomicU32>,
    notify: Arc<Notify>,
) {
    let mut n = 0u32;
    while let Some(ev) = rx.recv().await {
        if let ServerEvent::Route(RouteEvent::Replace { paths, .. }) = ev {
            debug_assert!(!paths.is_empty());
            n += 1;
            if n % 4096 == 0 {
                replaces.store(n, Ordering::Release);
                notify.notify_one();
            }
        }
    }
}

fn vm_hwm_kib() -> u64 {
    std::fs::read_to_string(Path::new("/proc/self/status"))
        .unwrap_or_default()
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap_or(0)
}

/// CPU time (user + system) used by the whole process so far.
fn cpu_time() -> Duration {
    // SAFETY: getrusage writes into the zeroed struct we pass.
    let ru = unsafe {
        let mut ru: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut ru);
        ru
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(ru.ru_utime) + tv(ru.ru_stime)
}

fn one_million() {
    const N: u32 = 1 << 20; // 1,048,576 (a multiple of the consumer's 4096 report step)
    let before = vm_hwm_kib();
    let mut h = Harness::new();
    let cpu0 = cpu_time();
    let t = h.round(N, 0);
    let cpu = cpu_time() - cpu0;
    let after = vm_hwm_kib();
    println!(
        "route_stream/1M: {N} ROUTE_ADDs end to end in {:.3} s = {:.2} M routes/s; \
         CPU {:.3} s (client, server and consumer together: {:.0} ns/route); \
         peak RSS {:.1} MiB (before {:.1} MiB)",
        t.as_secs_f64(),
        f64::from(N) / t.as_secs_f64() / 1e6,
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e9 / f64::from(N),
        after as f64 / 1024.0,
        before as f64 / 1024.0,
    );
}

fn bench(c: &mut Criterion) {
    const ROUND: u32 = 100 * 1024;
    let mut h = Harness::new();
    let mut g = c.benchmark_group("route_stream");
    g.throughput(Throughput::Elements(u64::from(ROUND)));
    g.sample_size(10);
    let mut variant = 0u8;
    g.bench_function("route_add_100k_unix_socket", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                // Alternate gateways so every route changes and yields a Replace.
                variant ^= 1;
                total += h.round(ROUND, variant);
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    one_million();
    benches();
    Criterion::default().configure_from_args().final_summary();
}
