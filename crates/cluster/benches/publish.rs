//! Cluster benchmark (harness, not criterion: each figure is one end-to-end run against a real
//! ZooKeeper server started here):
//!
//! 1. publish N learned routes of one port (one `Member::publish` batch, as a burst from bgpd)
//!    and time until a `RouteWatcher` in **another process** holds all N;
//! 2. then change 1% of them and time until the watcher has the change;
//! 3. ZooKeeper's data size (`mntr` approximate_data_size, znode count, data directory bytes);
//! 4. failover: a leader process killed with SIGKILL, time until the standby is assigned the
//!    port (session timeout 4 s).
//!
//! `cargo bench -p cluster --bench publish -- [--rate R] [--no-failover] [N ...]` (default
//! 10000 100000 1000000). With `--rate R` the N routes are not one burst but stream in as bgpd
//! delivers a table: batches of R/100 routes every 10 ms; the harness then also prints the
//! *tail* (last batch sent → the watcher holds all N), how many publications the watcher saw,
//! and the CPU seconds of the publisher (this process), the watcher's process and ZooKeeper
//! during the run. `RUST_LOG=cluster=debug` prints the publisher's (`encode_ms`, `write_ms`) and
//! the watcher process's (`read_ms`, `decode_ms`, `merge_ms`) timings on stderr.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::io::{BufRead, BufReader};
use std::net::Ipv4Addr;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cluster::{
    Member, MemberConfig, PortDoc, PublishedPath, RouteWatcher, Store, StoreUrl, TableChange,
};
use ipnetwork::IpNetwork;
use serde_json::{json, Map, Value};

const SESSION: Duration = Duration::from_secs(4);

fn prefix(i: u32) -> IpNetwork {
    // Distinct /24s and /32s walking the IPv4 space from 1.0.0.0 (a full table's shape).
    if i < 1 << 23 {
        IpNetwork::new(Ipv4Addr::from(0x0100_0000u32 + (i << 8)).into(), 24).unwrap()
    } else {
        IpNetwork::new(Ipv4Addr::from(0x8000_0000u32 + i).into(), 32).unwrap()
    }
}

fn path(gw: &str) -> PublishedPath {
    PublishedPath {
        gateway: Some(gw.parse().unwrap()),
        distance: 20,
        metric: 0,
        weight: None,
    }
}

fn validator() -> cluster::Validator {
    std::sync::Arc::new(|_: &str, _: &Map<String, Value>| Ok(()))
}

fn port_doc(candidates: &[&str]) -> PortDoc {
    let Value::Object(config) = json!({"local_as": 65001}) else {
        unreachable!()
    };
    PortDoc::new(candidates.iter().map(|s| s.to_string()).collect(), config)
}

/// Child: follow the routes; print "count N" whenever p1's count changes, "version V" too.
async fn watcher_child(url: StoreUrl) {
    let mut w = RouteWatcher::start(&url, SESSION).await.unwrap();
    println!("ready");
    while let Some(ev) = w.next().await {
        println!(
            "event {} {} {} {}",
            w.count(&ev.port),
            ev.version,
            ev.replaced.len(),
            ev.withdrawn.len()
        );
    }
}

/// Child: lead p1 until killed.
async fn leader_child(url: StoreUrl) {
    let mut c = MemberConfig::new(url, "leader");
    c.session_timeout = SESSION;
    let m = Member::start(c, validator()).await.unwrap();
    let mut rx = m.assignment();
    while !rx.borrow_and_update().ports.contains_key("p1") {
        rx.changed().await.unwrap();
    }
    println!("leading");
    tokio::time::sleep(Duration::from_secs(600)).await;
}

fn child(
    role: &str,
    url: &StoreUrl,
) -> (
    std::process::Child,
    std::sync::mpsc::Receiver<(Instant, String)>,
) {
    let mut c = Command::new(std::env::current_exe().unwrap())
        .env("CLUSTER_BENCH_ROLE", role)
        .env("CLUSTER_BENCH_ZK", &url.servers)
        .env("CLUSTER_BENCH_ROOT", &url.root)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let out = c.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send((Instant::now(), line)).is_err() {
                break;
            }
        }
    });
    (c, rx)
}

fn wait_line(
    rx: &std::sync::mpsc::Receiver<(Instant, String)>,
    timeout: Duration,
    mut f: impl FnMut(&str) -> bool,
) -> Instant {
    let deadline = Instant::now() + timeout;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        match rx.recv_timeout(left) {
            Ok((t, l)) if f(&l) => return t,
            Ok(_) => {}
            Err(_) => panic!("child did not report in {timeout:?}"),
        }
    }
}

fn mntr_field(m: &str, key: &str) -> String {
    m.lines()
        .find_map(|l| l.strip_prefix(key).map(|v| v.trim().to_string()))
        .unwrap_or_default()
}

/// CPU seconds (user + system) of process `pid` so far, 0 if unknown.
fn cpu_secs(pid: u32) -> f64 {
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return 0.0;
    };
    // Fields after the command name (which may hold spaces): state is field 3, utime 14, stime 15.
    let rest = stat.rsplit_once(')').map(|r| r.1).unwrap_or("");
    let f: Vec<&str> = rest.split_whitespace().collect();
    let ticks: f64 = [11, 12]
        .iter()
        .filter_map(|&i| f.get(i).and_then(|v| v.parse::<f64>().ok()))
        .sum();
    ticks / clock_ticks()
}

fn clock_ticks() -> f64 {
    Command::new("getconf")
        .arg("CLK_TCK")
        .output()
        .ok()
        .and_then(|o| String::from_utf8_lossy(&o.stdout).trim().parse().ok())
        .unwrap_or(100.0)
}

async fn publish_run(n: u32, rate: Option<u32>) {
    let zk = testkit::zookeeper::Ensemble::start(1).unwrap();
    let url = StoreUrl {
        servers: zk.connect_string(),
        root: "/bench".into(),
    };
    let store = Store::connect(&url, SESSION).await.unwrap();
    store.put_port("p1", &port_doc(&["h1"])).await.unwrap();
    let mut c = MemberConfig::new(url.clone(), "h1");
    c.session_timeout = Duration::from_secs(30);
    let m = Member::start(c, validator()).await.unwrap();
    let mut rx = m.assignment();
    while !rx.borrow_and_update().ports.contains_key("p1") {
        rx.changed().await.unwrap();
    }
    let (mut w, lines) = child("watcher", &url);
    wait_line(&lines, Duration::from_secs(30), |l| l == "ready");
    let route =
        |i: u32| TableChange::Replace(prefix(i), vec![path("192.0.2.2"), path("192.0.2.3")]);
    let me = std::process::id();
    let (cpu_me, cpu_w, cpu_zk) = (
        cpu_secs(me),
        cpu_secs(w.id()),
        zk.pid(0).map(cpu_secs).unwrap_or(0.0),
    );
    let t0 = Instant::now();
    let mut last_batch = t0;
    match rate {
        None => m.publish("p1", (0..n).map(route).collect()).unwrap(),
        Some(r) => {
            let batch = (r / 100).max(1);
            let mut tick = tokio::time::interval(Duration::from_millis(10));
            let mut next = 0;
            while next < n {
                tick.tick().await;
                let end = next.saturating_add(batch).min(n);
                m.publish("p1", (next..end).map(route).collect()).unwrap();
                next = end;
            }
            last_batch = Instant::now();
        }
    }
    let want = format!("event {n} ");
    let mut events = 0u32;
    let t1 = wait_line(&lines, Duration::from_secs(600), |l| {
        // Counted here (the predicate sees every line until the one it waits for).
        events += u32::from(l.starts_with("event "));
        l.starts_with(&want)
    });
    let full = t1 - t0;
    let cpu = (
        cpu_secs(me) - cpu_me,
        cpu_secs(w.id()) - cpu_w,
        zk.pid(0).map(cpu_secs).unwrap_or(0.0) - cpu_zk,
    );
    if rate.is_some() {
        println!(
            "routes {n} streamed in {:.3} s; the watcher held all N {:.3} s after the last batch; \
             {events} watcher events; CPU s: publisher {:.2}, watcher {:.2}, ZooKeeper {:.2}",
            (last_batch - t0).as_secs_f64(),
            t1.saturating_duration_since(last_batch).as_secs_f64(),
            cpu.0,
            cpu.1,
            cpu.2
        );
    }
    // 1% changed.
    let k = (n / 100).max(1);
    let t0 = Instant::now();
    m.publish(
        "p1",
        (0..k)
            .map(|i| TableChange::Replace(prefix(i * 97 % n), vec![path("192.0.2.4")]))
            .collect(),
    )
    .unwrap();
    let t2 = wait_line(&lines, Duration::from_secs(120), |l| {
        l.split_whitespace()
            .nth(3)
            .and_then(|x| x.parse::<u32>().ok())
            .is_some_and(|r| r > 0)
    });
    let delta = t2 - t0;
    let chunks = match store.routes().await {
        Ok(meta) => meta.get("p1").map(|m| m.0.chunks.len()).unwrap_or(0),
        Err(e) => {
            eprintln!("reading the chunk count failed: {e}");
            0
        }
    };
    let mntr = zk.mntr(0).unwrap();
    println!(
        "routes {n}: published and seen by a RouteWatcher in another process in {:.3} s ({:.0} routes/s); \
         {k} changed in {:.3} s; {chunks} chunks; ZooKeeper approximate_data_size {} bytes, znodes {}, data dir {} bytes",
        full.as_secs_f64(),
        f64::from(n) / full.as_secs_f64(),
        delta.as_secs_f64(),
        mntr_field(&mntr, "zk_approximate_data_size"),
        mntr_field(&mntr, "zk_znode_count"),
        zk.data_bytes(0),
    );
    let _ = w.kill();
    let _ = w.wait();
    m.shutdown().await;
}

async fn failover_run() {
    let zk = testkit::zookeeper::Ensemble::start(1).unwrap();
    let url = StoreUrl {
        servers: zk.connect_string(),
        root: "/bench".into(),
    };
    let store = Store::connect(&url, SESSION).await.unwrap();
    store
        .put_port("p1", &port_doc(&["leader", "standby"]))
        .await
        .unwrap();
    let (mut leader, lines) = child("leader", &url);
    wait_line(&lines, Duration::from_secs(30), |l| l == "leading");
    let mut c = MemberConfig::new(url.clone(), "standby");
    c.session_timeout = SESSION;
    let m = Member::start(c, validator()).await.unwrap();
    let mut rx = m.assignment();
    while store.election("p1").await.unwrap().len() < 2 {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    leader.kill().unwrap();
    let t0 = Instant::now();
    let _ = leader.wait();
    while !rx.borrow_and_update().ports.contains_key("p1") {
        rx.changed().await.unwrap();
    }
    println!(
        "failover: standby assigned {:.3} s after SIGKILL of the leader (session timeout {:?})",
        t0.elapsed().as_secs_f64(),
        SESSION
    );
    m.shutdown().await;
}

fn main() {
    // `RUST_LOG=cluster=debug`: the publisher's and the watcher's timings on stderr.
    if std::env::var_os("RUST_LOG").is_some() {
        tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_writer(std::io::stderr)
            .init();
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    if let Ok(role) = std::env::var("CLUSTER_BENCH_ROLE") {
        let url = StoreUrl {
            servers: std::env::var("CLUSTER_BENCH_ZK").unwrap(),
            root: std::env::var("CLUSTER_BENCH_ROOT").unwrap(),
        };
        match role.as_str() {
            "watcher" => rt.block_on(watcher_child(url)),
            _ => rt.block_on(leader_child(url)),
        }
        return;
    }
    if !testkit::zookeeper::available() {
        eprintln!("ZooKeeper is not installed (apt-get install zookeeper); nothing measured");
        return;
    }
    let args: Vec<String> = std::env::args().skip(1).collect();
    let rate: Option<u32> = args
        .iter()
        .position(|a| a == "--rate")
        .and_then(|i| args.get(i + 1))
        .and_then(|r| r.parse().ok());
    let mut sizes: Vec<u32> = args
        .iter()
        .enumerate()
        .filter(|(i, _)| *i == 0 || args[i - 1] != "--rate")
        .filter_map(|(_, a)| a.parse().ok())
        .collect();
    if sizes.is_empty() {
        sizes = vec![10_000, 100_000, 1_000_000];
    }
    println!(
        "load average {}",
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .trim()
    );
    for n in sizes {
        rt.block_on(publish_run(n, rate));
    }
    if !args.iter().any(|a| a == "--no-failover") {
        for _ in 0..3 {
            rt.block_on(failover_run());
        }
    }
}
