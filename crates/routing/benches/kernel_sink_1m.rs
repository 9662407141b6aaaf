//! The kernel route sink's memory and speed with a full table, without bgpd or BIRD (issue #16's
//! memory target).
//!
//! Part 1, through the kernel: a [`KernelSink`] writes into table 200 of a namespace this
//! harness creates (a veth `up1` with 192.0.2.10/24, the port's peer 192.0.2.1 onlink on it).
//! It is fed `ROUTES` (default 1,048,576) IPv4 /24s from 16.0.0.0 up, in batches of 1,024 changes
//! (the port actor hands the sink at most one zebra batch of 1,024 events per call) as fast as
//! `apply` returns, then a 1 % change (every 100th prefix moves to gateway 192.0.2.2), then the
//! withdrawal of every route; between the last two, the uplink's carrier is lost and comes
//! back, then the uplink is set down and up, and the harness prints how long until every route
//! the kernel dropped with it is in the table again. For each phase it prints the time until the writer has written
//! everything (`sync`; the table's own count is checked against `stats`), and after the feed
//! the process's peak RSS (`VmHWM`) and the heap bytes live at the allocation peak (a counting
//! global allocator).
//!
//! Part 2, without the kernel: the heap bytes each structure holds with every route in it —
//! the merge of the ports' contributions, the planner's installed routes and its pending
//! changes, and the changes as `apply` receives them — measured one at a time with the same
//! allocator.
//!
//! Each phase prints its wall time and the process's CPU time (user, system: the writer's
//! system time is the kernel's work), which a loaded machine disturbs less.
//!
//! Root only (namespace, veth). Run in release:
//! `nice -n 10 cargo bench -p routing --bench kernel_sink_1m` (`ROUTES=n` for fewer routes;
//! `NEXTHOP_OBJECTS=0` writes every route inline instead of on a shared nexthop object;
//! `SYNC_EVERY=k` waits for the writer after every k batches, so it writes each phase in
//! small flushes as if the changes arrived at the pace it writes them, instead of a backlog
//! of the whole phase).
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use fib::plan::Planner;
use fib::watch::{LinkEvent, LinkWatch};
use fib::{FlushReport, NextHop};
use ipnetwork::{IpNetwork, Ipv4Network};
use routing::config::Config;
use routing::kernel::{KernelSink, Merge, PortFacts};
use routing::{RouteChange, RoutePath, RouteSink, TableSink};
use testkit::lab::TestNs;

/// Counts the heap bytes live now and at the peak.
struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is forwarded to the system allocator with the caller's layout; the counters
// are only statistics.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `alloc`'s contract.
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            let now = LIVE.fetch_add(layout.size(), Ordering::Relaxed) + layout.size();
            PEAK.fetch_max(now, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: forwarded unchanged; `ptr` was allocated by `System` with `layout`.
        unsafe { System.dealloc(ptr, layout) };
        LIVE.fetch_sub(layout.size(), Ordering::Relaxed);
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: forwarded unchanged; the caller upholds `realloc`'s contract.
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            if new_size >= layout.size() {
                let grow = new_size - layout.size();
                let now = LIVE.fetch_add(grow, Ordering::Relaxed) + grow;
                PEAK.fetch_max(now, Ordering::Relaxed);
            } else {
                LIVE.fetch_sub(layout.size() - new_size, Ordering::Relaxed);
            }
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

fn live() -> usize {
    LIVE.load(Ordering::Relaxed)
}

fn mib(bytes: usize) -> String {
    format!("{:.1} MiB", bytes as f64 / (1024.0 * 1024.0))
}

fn per_route(bytes: usize, n: usize) -> String {
    format!("{:.0} B/route", bytes as f64 / n.max(1) as f64)
}

/// `VmHWM` and `VmRSS` of this process, in bytes.
fn rss() -> (usize, usize) {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| {
        text.lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<usize>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("VmHWM:"), field("VmRSS:"))
}

const BATCH: usize = 1024;
const TABLE: u32 = 200;

fn prefix(i: usize) -> IpNetwork {
    let a = (16u32 << 24) + ((i as u32) << 8);
    IpNetwork::V4(Ipv4Network::new(Ipv4Addr::from(a), 24).unwrap())
}

fn path(gw: Ipv4Addr) -> RoutePath {
    RoutePath {
        gateway: Some(IpAddr::V4(gw)),
        ifindex: Some(77), // bgpd's namespace index, never used in the table's namespace
        distance: 20,
        metric: 0,
        weight: 1,
    }
}

const PEER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 1);
const OTHER: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);

fn replace(i: usize, gw: Ipv4Addr) -> RouteChange {
    RouteChange::Replace {
        prefix: prefix(i),
        paths: vec![path(gw)],
    }
}

fn config(ns: &str) -> Config {
    // NEXTHOP_OBJECTS=0: every route carries its own next hop (the `[sink]` key).
    let objects = std::env::var("NEXTHOP_OBJECTS").map_or(true, |v| v != "0");
    Config::parse(&format!(
        r#"
[controller]
host_namespace = "{ns}"
[sink]
kind = "kernel"
table = {TABLE}
reconcile_secs = 0
nexthop_objects = {objects}
[[port]]
name = "p1"
uplink = "up1"
address = "192.0.2.10/24"
local_as = 65001
[[port.peer]]
address = "192.0.2.1"
remote_as = 65002
"#
    ))
    .unwrap()
}

/// User and system CPU seconds of this process so far (every thread: the writer's system
/// time is the kernel's work on its requests).
fn cpu() -> (f64, f64) {
    // SAFETY: `getrusage` only writes the `rusage` it is given, a live local.
    let usage = unsafe {
        let mut u: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut u);
        u
    };
    let secs = |t: libc::timeval| t.tv_sec as f64 + t.tv_usec as f64 / 1e6;
    (secs(usage.ru_utime), secs(usage.ru_stime))
}

/// Wall time and CPU time (user, system) of one phase.
struct Took {
    wall: Duration,
    user: f64,
    sys: f64,
}

impl std::fmt::Display for Took {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{:.2} s (CPU: user {:.2} s, system {:.2} s)",
            self.wall.as_secs_f64(),
            self.user,
            self.sys
        )
    }
}

/// Batches handed over between two waits for the writer (`SYNC_EVERY`; 0: never, the whole
/// phase is queued at once).
fn sync_every() -> usize {
    std::env::var("SYNC_EVERY")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(0)
}

/// Feeds `changes(i)` for every `i` in `items` in batches, then waits until written.
fn feed(
    sink: &KernelSink,
    items: impl Iterator<Item = usize>,
    change: impl Fn(usize) -> RouteChange,
) -> Took {
    let start = Instant::now();
    let (user0, sys0) = cpu();
    let every = sync_every();
    let mut batches = 0;
    let mut batch = Vec::with_capacity(BATCH);
    for i in items {
        batch.push(change(i));
        if batch.len() == BATCH {
            sink.apply("p1", &batch);
            batch.clear();
            batches += 1;
            if every > 0 && batches % every == 0 {
                assert!(sink.sync(Duration::from_secs(900)), "the writer stalled");
            }
        }
    }
    if !batch.is_empty() {
        sink.apply("p1", &batch);
    }
    drop(batch);
    assert!(
        sink.sync(Duration::from_secs(900)),
        "the writer did not finish"
    );
    let (user, sys) = cpu();
    Took {
        wall: start.elapsed(),
        user: user - user0,
        sys: sys - sys0,
    }
}

fn kernel_count(ns: &TestNs) -> usize {
    let out = std::process::Command::new("ip")
        .args(["-n", ns.name(), "-4", "route", "show", "table"])
        .arg(TABLE.to_string())
        .args(["proto", "bgp"])
        .output()
        .unwrap();
    out.stdout.iter().filter(|&&b| b == b'\n').count()
}

/// Changes link `up1` with `ip -n NS ARGS` and waits until the kernel has announced it
/// `usable` or not (it applies carrier changes up to a second later), the writer has acted on
/// it (for a link gone down: read its table again), and the sink holds `want` routes with
/// nothing refused (or, `refused`, every route refused). Returns the time from the change to
/// then.
fn after_link_change(
    sink: &KernelSink,
    ns: &TestNs,
    args: &str,
    usable: bool,
    want: usize,
    refused: bool,
) -> Duration {
    let mut watch = LinkWatch::open(Some(ns.name()), Duration::from_millis(100)).unwrap();
    let index: u32 = ns
        .ip(&["-o", "link", "show", "up1"])
        .unwrap()
        .split(':')
        .next()
        .and_then(|i| i.trim().parse().ok())
        .unwrap();
    let rereads = |sink: &KernelSink| sink.stats().first().map_or(0, |s| s.link_rereads);
    let rereads_before = rereads(sink);
    let start = Instant::now();
    ns.ip(&args.split_whitespace().collect::<Vec<_>>()).unwrap();
    while !watch
        .read()
        .unwrap()
        .contains(&LinkEvent::Changed { index, usable })
    {
        assert!(
            start.elapsed() < Duration::from_secs(30),
            "no announcement after {args}"
        );
    }
    // The writer's watcher heard the same announcement: let it reach the writer before asking.
    std::thread::sleep(Duration::from_millis(50));
    loop {
        assert!(sink.sync(Duration::from_secs(900)), "the writer stalled");
        let stats = sink.stats();
        let (installed, refused_now) = stats.first().map_or((0, 0), |s| (s.installed, s.refused));
        // A link gone down: only once the writer has read the table again.
        let reread = usable || rereads(sink) > rereads_before;
        let done = reread
            && if refused {
                refused_now == want
            } else {
                installed == want && refused_now == 0
            };
        if done {
            return start.elapsed();
        }
        assert!(
            start.elapsed() < Duration::from_secs(900),
            "routes not back after {args}: {installed} installed, {refused_now} refused"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
}

/// The uplink's carrier lost and back, then the uplink set down and up: how long until every
/// route the kernel dropped with it is in the table again.
fn link_flaps(sink: &KernelSink, ns: &TestNs, n: usize) {
    // Carrier loss: the kernel drops the nexthop objects through up1 and every route on them
    // (inline routes stay, `linkdown`); the writer re-reads the table and writes them again.
    let lost = after_link_change(sink, ns, "link set up1p down", false, n, false);
    assert_eq!(kernel_count(ns), n);
    after_link_change(sink, ns, "link set up1p up", true, n, false);
    println!(
        "carrier lost: {n} routes in the table again {:.2} s after the loss",
        lost.as_secs_f64(),
    );
    // Set down: every route through up1 goes, inline or not; refused while down.
    let down = after_link_change(sink, ns, "link set up1 down", false, n, true);
    assert_eq!(kernel_count(ns), 0);
    let up = after_link_change(sink, ns, "link set up1 up", true, n, false);
    assert_eq!(kernel_count(ns), n);
    println!(
        "uplink set down: {n} routes dropped and refused after {:.2} s; set up: all {n} back {:.2} s after",
        down.as_secs_f64(),
        up.as_secs_f64()
    );
}

fn through_the_kernel(n: usize) {
    let ns = testkit::lab::uplink_ns("ksink1m", &[("up1", Some("192.0.2.10/24"))]).unwrap();

    let sink = KernelSink::new();
    let errors = sink.configure(&config(ns.name()));
    assert!(errors.is_empty(), "{errors:?}");
    sink.end_reconcile();
    assert!(sink.sync(Duration::from_secs(30)));
    let base = live();
    PEAK.store(base, Ordering::Relaxed);
    let (hwm0, _) = rss();

    let t = feed(&sink, 0..n, |i| replace(i, PEER));
    let installed = sink.stats().first().map(|s| s.installed).unwrap_or(0);
    let peak = PEAK.load(Ordering::Relaxed);
    let held = live();
    let (hwm, vmrss) = rss();
    let in_kernel = kernel_count(&ns);
    println!(
        "full feed: {n} routes in the FIB after {t} ({:.0} routes/s, {:.1} µs/route); writer reports {installed}, table holds {in_kernel}",
        n as f64 / t.wall.as_secs_f64(),
        t.wall.as_secs_f64() * 1e6 / n as f64,
    );
    assert_eq!(installed, n);
    assert_eq!(in_kernel, n);
    println!(
        "  heap: peak {} above the idle sink ({}), live after {} ({}); VmHWM {} (before the feed {}), VmRSS {}",
        mib(peak - base),
        per_route(peak - base, n),
        mib(held - base),
        per_route(held - base, n),
        mib(hwm),
        mib(hwm0),
        mib(vmrss),
    );

    PEAK.store(live(), Ordering::Relaxed);
    let before = live();
    let changed = (0..n).step_by(100);
    let moved = changed.len();
    let t = feed(&sink, changed, |i| replace(i, OTHER));
    let via_other = std::process::Command::new("ip")
        .args(["-n", ns.name(), "-4", "route", "show", "table"])
        .arg(TABLE.to_string())
        .args(["via", "192.0.2.2"])
        .output()
        .unwrap()
        .stdout
        .iter()
        .filter(|&&b| b == b'\n')
        .count();
    println!(
        "1 % change: {moved} routes replaced in {t}; table has {via_other} via 192.0.2.2; heap peak +{}",
        mib(PEAK.load(Ordering::Relaxed).saturating_sub(before)),
    );
    assert_eq!(via_other, moved);

    link_flaps(&sink, &ns, n);

    PEAK.store(live(), Ordering::Relaxed);
    let before = live();
    let t = feed(&sink, 0..n, |i| RouteChange::Withdraw { prefix: prefix(i) });
    let left = kernel_count(&ns);
    println!(
        "full withdraw: {n} routes deleted in {t} ({:.1} µs/route); table holds {left}; heap peak +{}, live after {} above the idle sink",
        t.wall.as_secs_f64() * 1e6 / n as f64,
        mib(PEAK.load(Ordering::Relaxed).saturating_sub(before)),
        mib(live().saturating_sub(base)),
    );
    assert_eq!(left, 0);
    let (hwm, _) = rss();
    println!("process peak RSS (VmHWM) after every phase: {}", mib(hwm));
    drop(sink);
    // The writer thread frees its tables as it ends: wait for that before measuring more.
    let mut last = live();
    loop {
        std::thread::sleep(Duration::from_millis(200));
        let now = live();
        if now == last {
            break;
        }
        last = now;
    }
}

/// Heap bytes `build` leaves live, with the value it built.
fn measure<T>(build: impl FnOnce() -> T) -> (usize, T) {
    let before = live();
    let value = build();
    (live().saturating_sub(before), value)
}

fn structures(n: usize) {
    println!("structures with {n} routes (heap bytes live):");
    let facts = PortFacts {
        uplink: Some(4),
        peers: [IpAddr::V4(PEER)].into_iter().collect(),
        subnets: vec!["192.0.2.10/24".parse().unwrap()],
    };
    let paths = [path(PEER)];
    let (bytes, merge) = measure(|| {
        let mut m = Merge::new();
        m.set_port(1, facts.clone());
        for i in 0..n {
            m.replace(1, prefix(i), &paths);
        }
        m
    });
    assert_eq!(merge.len(), n);
    println!(
        "  merge (ports' contributions): {} ({})",
        mib(bytes),
        per_route(bytes, n)
    );
    drop(merge);

    let hop = NextHop::onlink(IpAddr::V4(PEER), 4);
    let (pending, mut planner) = measure(|| {
        let mut p = Planner::new();
        for i in 0..n {
            p.replace(prefix(i), vec![hop]);
        }
        p
    });
    assert_eq!(planner.pending(), n);
    println!(
        "  planner, every route pending: {} ({})",
        mib(pending),
        per_route(pending, n)
    );
    let before = live();
    let mut report = FlushReport::default();
    loop {
        let ops = planner.plan(1024, &mut report);
        if ops.is_empty() {
            break;
        }
        for op in ops {
            planner.complete(op, Ok(()), &mut report);
        }
    }
    let installed = pending + live().saturating_sub(before);
    assert_eq!(planner.installed_len(), n);
    println!(
        "  planner, every route installed, nothing pending: {} ({})",
        mib(installed),
        per_route(installed, n)
    );
    drop(planner);

    let (queued, q) = measure(|| {
        (0..n)
            .step_by(BATCH)
            .map(|s| (s..(s + BATCH).min(n)).map(|i| replace(i, PEER)).collect())
            .collect::<Vec<Vec<RouteChange>>>()
    });
    println!(
        "  the changes as handed to `apply` (batches of {BATCH}; the writer's queue held a copy of these until the sink queued compact batches): {} ({})",
        mib(queued),
        per_route(queued, n)
    );
    drop(q);

    // Outside the kernel sink, the controller's own table of learned routes (the one `routes`
    // lists and `status` counts) holds the same prefixes again.
    let (table, t) = measure(|| {
        let t = TableSink::new();
        let mut batch = Vec::with_capacity(BATCH);
        for i in 0..n {
            batch.push(replace(i, PEER));
            if batch.len() == BATCH {
                t.apply("p1", &batch);
                batch.clear();
            }
        }
        t.apply("p1", &batch);
        t
    });
    assert_eq!(t.len(), n);
    println!(
        "  the controller's table of learned routes (`TableSink`, outside the kernel sink): {} ({})",
        mib(table),
        per_route(table, n)
    );
    drop(t);
}

fn main() {
    // `cargo bench` passes `--bench`; `cargo test --benches` runs it without: nothing to do then.
    if !std::env::args().any(|a| a == "--bench") {
        return;
    }
    let n: usize = std::env::var("ROUTES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1 << 20)
        .min(1 << 20);
    println!(
        "kernel sink, {n} IPv4 /24s, batches of {BATCH}; machine: {} cores",
        std::thread::available_parallelism().map_or(0, |c| c.get())
    );
    if testkit::require_root("kernel_sink_1m").is_some() {
        through_the_kernel(n);
    }
    structures(n);
}
