//! End-to-end throughput of learned routes: a synthetic FRR 8.4 client streams ROUTE_ADDs
//! (IPv4, alternately 1 and 2 nexthops) through the Unix socket; the time runs until the
//! embedder has received the matching `Replace` events.
//!
//! First three one-shot runs of new routes into a fresh server print routes/s and the
//! process's peak RSS (`VmHWM`: server, client thread and event consumer together, holding
//! the table): 1,048,576 consecutive /24s (a peer's table walk, bgpd's usual order), the same
//! /24s in a scrambled order, and 589,824 /24–/32s that share no block of the route table
//! (its worst case). Then criterion measures 102,400-route rounds of consecutive /24s that
//! change every route's path set. `ONLY=<label>` (`1M`, `1M-shuffled`, `576K-sparse`) runs
//! one of the one-shot runs alone.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::io::Write;
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use bytes::BytesMut;
use criterion::{criterion_group, Criterion, Throughput};
use tokio::sync::Notify;
use zebra_proto::{Message, NexthopTarget, Profile, ZapiNexthop, ZapiRoute};
use zebra_server::{EventReceiver, RouteEvent, ServerConfig, ServerEvent, ZebraServer};

/// Offset of the prefix bytes in an FRR 8.4 ROUTE_ADD frame:
/// header 10 | type 1 | instance 2 | flags 4 | message 4 | safi 1 | family 1 | plen 1.
const PREFIX_AT: usize = 24;

/// The order and shape of the routes a run streams.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Order {
    /// Consecutive /24s from 16.0.0.0 (a peer's table walk: bgpd's usual order).
    Sequential,
    /// The same /24s in a scrambled order (a bijection of the first 2^20; needs n = 2^20).
    Shuffled,
    /// /24 to /32 prefixes chosen so that no two share a block of the route table (its worst
    /// case for memory): 65,536 per length (needs n ≤ 9 × 2^16).
    Sparse,
}

/// The prefix (network address, length) of route `i` of a run.
fn prefix_of(order: Order, i: u32) -> (u32, u8) {
    match order {
        Order::Sequential => (((16 << 16) + i) << 8, 24),
        Order::Shuffled => {
            const MASK: u32 = (1 << 20) - 1;
            let mut x = i.wrapping_mul(0x9e3b5) & MASK;
            x ^= x >> 10;
            x = x.wrapping_mul(0x5bd1d) & MASK;
            (((16 << 16) + x) << 8, 24)
        }
        Order::Sparse => {
            let len = 24 + (i >> 16) as u8;
            // index = (i << 8): the index's low 8 bits (the slot) are 0, so every route of a
            // length has a block of its own.
            ((i & 0xffff) << (40 - u32::from(len)), len)
        }
    }
}

/// FRR 8.4 ROUTE_ADD frames for a prefix of each length 0..=32 (index = length), with
/// `nexthops` IPv4 nexthops whose addresses depend on `variant`.
fn templates(nexthops: usize, variant: u8) -> Vec<Vec<u8>> {
    (0..=32u8)
        .map(|len| {
            let prefix = ipnetwork::Ipv4Network::new(std::net::Ipv4Addr::new(16, 0, 0, 0), len)
                .unwrap()
                .into();
            let mut r = ZapiRoute::new(9, prefix);
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
            assert_eq!(b[PREFIX_AT - 1], len);
            b.to_vec()
        })
        .collect()
}

/// Writes `n` ROUTE_ADDs (routes 0..n of `order`, alternately 1 and 2 nexthops, path sets per
/// `variant`) on `stream`.
fn stream_routes(stream: &mut UnixStream, n: u32, order: Order, variant: u8) {
    let t = [templates(1, variant), templates(2, variant)];
    let mut buf = Vec::with_capacity(64 * 1024);
    for i in 0..n {
        let (addr, len) = prefix_of(order, i);
        let f = &t[(i & 1) as usize][usize::from(len)];
        let start = buf.len();
        buf.extend_from_slice(f);
        let bytes = usize::from(len).div_ceil(8);
        let at = start + PREFIX_AT;
        buf[at..at + bytes].copy_from_slice(&addr.to_be_bytes()[..bytes]);
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
    fn round(&mut self, n: u32, order: Order, variant: u8) -> Duration {
        let target = self.replaces.load(Ordering::Relaxed) + n;
        let start = Instant::now();
        let mut c = self.client.try_clone().unwrap();
        let writer = std::thread::spawn(move || stream_routes(&mut c, n, order, variant));
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

async fn consume(mut rx: EventReceiver, replaces: Arc<AtomicU32>, notify: Arc<Notify>) {
    let mut n = 0u32;
    let mut batch = Vec::new();
    while rx.recv_batch(&mut batch).await > 0 {
        for ev in batch.drain(..) {
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

/// Resets the process's peak RSS (`VmHWM`) to its current RSS.
fn reset_peak_rss() {
    let _ = std::fs::write("/proc/self/clear_refs", "5");
}

/// One run of `n` new routes in `order` into a fresh server; prints the figures.
fn one_shot(label: &str, n: u32, order: Order) {
    if std::env::var("ONLY").is_ok_and(|o| o != label) {
        return;
    }
    reset_peak_rss();
    let before = vm_hwm_kib();
    let mut h = Harness::new();
    let cpu0 = cpu_time();
    let t = h.round(n, order, 0);
    let cpu = cpu_time() - cpu0;
    let after = vm_hwm_kib();
    println!(
        "route_stream/{label}: {n} ROUTE_ADDs end to end in {:.3} s = {:.2} M routes/s; \
         CPU {:.3} s (client, server and consumer together: {:.0} ns/route); \
         peak RSS {:.1} MiB (before {:.1} MiB)",
        t.as_secs_f64(),
        f64::from(n) / t.as_secs_f64() / 1e6,
        cpu.as_secs_f64(),
        cpu.as_secs_f64() * 1e9 / f64::from(n),
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
                total += h.round(ROUND, Order::Sequential, variant);
            }
            total
        })
    });
    g.finish();
}

criterion_group!(benches, bench);

fn main() {
    // Sizes are multiples of the consumer's 4096-event report step.
    one_shot("1M", 1 << 20, Order::Sequential);
    one_shot("1M-shuffled", 1 << 20, Order::Shuffled);
    one_shot("576K-sparse", 9 << 16, Order::Sparse);
    benches();
    Criterion::default().configure_from_args().final_summary();
}
