//! Cluster mode end to end, in the shape: three `midonet-bgp run --store` controllers,
//! each in its own host namespace with uplinks to a provider bridge; four ports with two
//! candidate hosts each on a real ZooKeeper; the providers are a real FRR bgpd (ports p1, p2) and
//! a real BIRD 2 (ports p3, p4). Every port runs on exactly one host, its learned routes reach a
//! `RouteWatcher` in this (another) process, and when an active host dies (`kill -9` of the
//! controller and of everything it ran, its links gone) each of its ports is Established on its
//! standby within the session timeout + 5 s; sampled every 100 ms, no port ever has two bgpds at
//! once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cluster_common;
#[path = "../../routing/tests/common/mod.rs"]
mod common;

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cluster::{RouteWatcher, Store, StoreUrl};
use cluster_common::*;
use common::*;
use testkit::bird::TestBird;
use testkit::lab::{veth_between, TestNs};

const SESSION: Duration = Duration::from_secs(4);

/// (name, candidates, uplink, address, MAC, local AS, peer address, peer AS, route it learns).
type PortSpec = (
    &'static str,
    [&'static str; 2],
    &'static str,
    &'static str,
    &'static str,
    u32,
    &'static str,
    u32,
    &'static str,
);

const PORTS: [PortSpec; 4] = [
    (
        "p1",
        ["h0", "h1"],
        "up1",
        "192.0.2.1",
        "02:00:00:00:00:01",
        65001,
        "192.0.2.2",
        65002,
        "198.51.100.0/24",
    ),
    (
        "p2",
        ["h1", "h2"],
        "up2",
        "192.0.2.11",
        "02:00:00:00:00:02",
        65003,
        "192.0.2.2",
        65002,
        "198.51.100.0/24",
    ),
    (
        "p3",
        ["h2", "h0"],
        "up3",
        "192.0.2.21",
        "02:00:00:00:00:03",
        65005,
        "192.0.2.3",
        65004,
        "198.51.100.128/25",
    ),
    (
        "p4",
        ["h0", "h2"],
        "up4",
        "192.0.2.31",
        "02:00:00:00:00:04",
        65006,
        "192.0.2.3",
        65004,
        "198.51.100.128/25",
    ),
];

/// BIRD 2 as the provider of p3 and p4: short hold time and retries, so it notices the dead
/// host and accepts the standby's connection at once.
fn bird_config() -> String {
    let mut s = String::from(
        "router id 192.0.2.3;\nprotocol device {}\nprotocol static {\n  ipv4;\n  route 198.51.100.128/25 blackhole;\n}\n",
    );
    for (name, _, _, addr, _, asn, peer, _, _) in PORTS.iter().filter(|p| p.6 == "192.0.2.3") {
        s.push_str(&format!(
            "protocol bgp {name} {{\n  local 192.0.2.3 as 65004;\n  neighbor {addr} as {asn};\n  \
             hold time 3;\n  keepalive time 1;\n  connect delay time 1;\n  connect retry time 1;\n  \
             error wait time 1, 2;\n  ipv4 {{ import all; export where source = RTS_STATIC; }};\n}}\n"
        ));
        let _ = peer;
    }
    s
}

fn bird_established(bird: &TestBird, port: &str) -> bool {
    bird.birdc(&format!("show protocols {port}"))
        .is_ok_and(|o| o.contains("Established"))
}

/// The first value of `key` anywhere in `v`.
fn find_key<'a>(v: &'a serde_json::Value, key: &str) -> Option<&'a serde_json::Value> {
    match v {
        serde_json::Value::Object(o) => o
            .get(key)
            .or_else(|| o.values().find_map(|x| find_key(x, key))),
        serde_json::Value::Array(a) => a.iter().find_map(|x| find_key(x, key)),
        _ => None,
    }
}

/// Whether the OPEN of port `p`'s bgpd, as its provider received it, had graceful restart's F
/// bit (forwarding state preserved) for IPv4 unicast: FRR's `fBit` of the neighbour, BIRD's
/// "AF preserved" among the neighbour's capabilities. `None`: the provider does not show it (no
/// session).
fn f_bit(provider: &Provider, bird: &TestBird, p: &PortSpec) -> Option<bool> {
    if p.6 == "192.0.2.2" {
        let n = provider.neighbor(p.3);
        return find_key(&n["gracefulRestartInfo"], "fBit").and_then(|v| v.as_bool());
    }
    let out = bird.birdc(&format!("show protocols all {}", p.0)).ok()?;
    let caps = out.split("Neighbor capabilities").nth(1)?;
    let graceful = caps.split("Graceful restart").nth(1)?;
    Some(
        graceful
            .lines()
            .take_while(|l| l.starts_with("        ") || l.trim().is_empty())
            .any(|l| l.trim().starts_with("AF preserved:") && l.contains("ipv4")),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_four_ports_frr_and_bird_failover_without_two_bgpds() {
    let test = "three_hosts_four_ports_frr_and_bird_failover_without_two_bgpds";
    let Some(bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let Some(bird) = testkit::bird::require_bird(test) else {
        return;
    };
    let Some(zk) = testkit::zookeeper::Ensemble::start_or_skip(test, 1) else {
        return;
    };
    let url = StoreUrl {
        servers: zk.connect_string(),
        root: format!("/{}", testkit::unique_name("e2e")),
    };
    let tmp = tempfile::Builder::new()
        .prefix("mbgp-cluster")
        .tempdir_in("/tmp")
        .unwrap();

    // The providers: one bridge; FRR on it, BIRD in its own namespace linked to it.
    let prov_ns = TestNs::new("cprov").unwrap();
    prov_ns
        .ip(&["link", "add", "br0", "type", "bridge"])
        .unwrap();
    prov_ns.ip(&["link", "set", "br0", "up"]).unwrap();
    prov_ns.add_addr("br0", "192.0.2.2/24").unwrap();
    let bird_ns = TestNs::new("cbird").unwrap();
    veth_between(&bird_ns, "eth0", &prov_ns, "birdp").unwrap();
    prov_ns
        .ip(&["link", "set", "birdp", "master", "br0"])
        .unwrap();
    prov_ns.ip(&["link", "set", "birdp", "up"]).unwrap();
    bird_ns.add_addr("eth0", "192.0.2.3/24").unwrap();
    bird_ns.ip(&["link", "set", "eth0", "up"]).unwrap();
    let uplinks: Vec<&str> = PORTS.iter().map(|p| p.2).collect();
    let hosts = make_hosts(tmp.path(), 3, &uplinks, &prov_ns, "br0");
    let frr_peers: Vec<(&str, u32)> = PORTS
        .iter()
        .filter(|p| p.6 == "192.0.2.2")
        .map(|p| (p.3, p.5))
        .collect();
    let provider = Provider::start(
        &bgpd,
        prov_ns,
        "br0",
        &provider_config(65002, "192.0.2.2", &frr_peers, &["198.51.100.0/24".into()]),
    )
    .await;
    let bird =
        tokio::task::block_in_place(|| TestBird::start(&bird, &bird_ns, &bird_config())).unwrap();

    let store = Store::connect(&url, SESSION).await.unwrap();
    for (name, cand, up, addr, mac, asn, peer, peer_as, _) in PORTS {
        let doc = port(&cand, up, &format!("{addr}/24"), mac, asn, (peer, peer_as));
        store.put_port(name, &doc).await.unwrap();
    }
    let mut running = spawn_hosts(hosts, &url, SESSION);
    let runs: Vec<PathBuf> = running.iter().map(|h| h.run.clone()).collect();

    // Sample every 100 ms: never two bgpds of one port.
    let stop = Arc::new(AtomicBool::new(false));
    let worst: Arc<[AtomicUsize; 4]> = Arc::new(Default::default());
    let sampler = {
        let (stop, worst, runs) = (stop.clone(), worst.clone(), runs.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                for (k, p) in PORTS.iter().enumerate() {
                    worst[k].fetch_max(bgpd_hosts(&runs, p.0).len(), Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    let established = |port: &str| -> bool {
        let Some(p) = PORTS.iter().find(|p| p.0 == port) else {
            return false;
        };
        if p.6 == "192.0.2.2" {
            provider.neighbor(p.3)["bgpState"] == "Established"
        } else {
            bird_established(&bird, port)
        }
    };
    let all_up = || PORTS.iter().all(|p| established(p.0));
    let mut watcher = RouteWatcher::start(&url, SESSION).await.unwrap();
    assert!(
        wait_blocking(120, all_up).await,
        "ports not Established:\n{}\nBIRD:\n{}",
        logs(&running),
        bird.birdc("show protocols").unwrap_or_default()
    );
    // First starts in cluster mode: no run record said a run died, so no F bit (no best-path
    // deferral) — the providers see OPENs without it.
    for p in &PORTS {
        let f = tokio::task::block_in_place(|| f_bit(&provider, &bird, p));
        assert_eq!(
            f,
            Some(false),
            "{}: F bit on a first start\n{}\n{}",
            p.0,
            provider.neighbor(p.3),
            bird.birdc(&format!("show protocols all {}", p.0))
                .unwrap_or_default()
        );
    }
    // Every port runs on exactly one host, one of its candidates.
    let mut active: BTreeMap<&str, usize> = BTreeMap::new();
    for (name, cand, ..) in PORTS {
        let on = bgpd_hosts(&runs, name);
        assert_eq!(on.len(), 1, "{name} runs on {on:?}");
        assert!(
            cand.contains(&format!("h{}", on[0]).as_str()),
            "{name} on h{}",
            on[0]
        );
        active.insert(name, on[0]);
    }
    // Routes learned on each port reach this process through the store, from the active host.
    let published = |w: &RouteWatcher, port: &str, host: usize, route: &str| {
        w.routes(port).is_some_and(|(meta, t)| {
            meta.host == format!("h{host}") && t.contains_key(&route.parse().unwrap())
        })
    };
    let t = Instant::now();
    while !PORTS
        .iter()
        .all(|p| published(&watcher, p.0, active[p.0], p.8))
    {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "routes not published: {:?}\n{}",
            watcher.ports(),
            logs(&running)
        );
        let _ = tokio::time::timeout(Duration::from_secs(1), watcher.next()).await;
    }
    // The providers learned every port's network.
    for (name, _, _, addr, _, asn, peer, ..) in PORTS {
        let net = format!("203.0.113.{}/32", asn - 65000);
        let ok = if peer == "192.0.2.2" {
            wait_blocking(30, || provider.learned_from(addr).contains(&net)).await
        } else {
            wait_blocking(30, || {
                bird.birdc(&format!("show route {net} protocol {name}"))
                    .is_ok_and(|o| o.contains(&net))
            })
            .await
        };
        assert!(ok, "{name}'s network {net} not at its provider");
    }

    // `midonet-bgp routes` against any host's control socket: the host running the port
    // answers from its own table, another host from the port's publication in the store.
    for (name, .., route) in PORTS {
        let on = active[name];
        let other = (on + 1) % running.len();
        for host in [on, other] {
            let socket = running[host].run.join("control.sock");
            let out = std::process::Command::new(env!("CARGO_BIN_EXE_midonet-bgp"))
                .args([
                    "routes",
                    "--json",
                    "--page-size",
                    "1",
                    "--port",
                    name,
                    "--socket",
                ])
                .arg(&socket)
                .output()
                .unwrap();
            let text = String::from_utf8_lossy(&out.stdout);
            assert!(
                out.status.success(),
                "routes --port {name} on h{host}: {}",
                String::from_utf8_lossy(&out.stderr)
            );
            let rows: Vec<serde_json::Value> = text
                .lines()
                .map(|l| serde_json::from_str(l).unwrap())
                .collect();
            assert!(
                rows.iter()
                    .any(|r| r["port"] == name && r["prefix"] == route),
                "routes --port {name} on h{host} (runs it: {}): {text}",
                host == on
            );
            assert!(rows.iter().all(|r| r["port"] == name), "{text}");
        }
        // The route stream of the host running the port starts with its current routes.
        let socket = running[on].run.join("control.sock");
        let mut watch = std::process::Command::new(env!("CARGO_BIN_EXE_midonet-bgp"))
            .args(["routes", "--watch", "--json", "--port", name, "--socket"])
            .arg(&socket)
            .stdout(std::process::Stdio::piped())
            .spawn()
            .unwrap();
        let stdout = watch.stdout.take().unwrap();
        let lines = tokio::task::spawn_blocking(move || {
            use std::io::BufRead;
            let mut seen = Vec::new();
            for l in std::io::BufReader::new(stdout)
                .lines()
                .map_while(Result::ok)
            {
                let synced = l.contains("synced");
                seen.push(l);
                if synced {
                    break;
                }
            }
            seen
        });
        let lines = tokio::time::timeout(Duration::from_secs(20), lines).await;
        let _ = watch.kill();
        let _ = watch.wait();
        let lines = lines.expect("route stream: no synced line").unwrap();
        assert!(
            lines
                .iter()
                .any(|l| l.contains(route) && l.contains("replace")),
            "routes --watch --port {name} on h{on}: {lines:?}"
        );
    }

    // The host that runs the most ports dies.
    let mut per_host = [0usize; 3];
    for h in active.values() {
        per_host[*h] += 1;
    }
    let victim = (0..3).max_by_key(|h| per_host[*h]).unwrap();
    let moved: Vec<PortSpec> = PORTS
        .iter()
        .filter(|p| active[p.0] == victim)
        .copied()
        .collect();
    eprintln!("active hosts: {active:?}; killing h{victim}");
    running[victim].die();
    let killed = Instant::now();
    for up in &uplinks {
        let _ = running[victim].ns.ip(&["link", "del", up]);
    }
    let deadline = SESSION + Duration::from_secs(5);
    let mut took = BTreeMap::new();
    while took.len() < moved.len() {
        for p in &moved {
            if took.contains_key(p.0) {
                continue;
            }
            let standby: usize = p.1.iter().find(|c| **c != format!("h{victim}")).unwrap()[1..]
                .parse()
                .unwrap();
            let on = bgpd_hosts(&runs, p.0);
            if on == vec![standby] && tokio::task::block_in_place(|| established(p.0)) {
                took.insert(p.0, (standby, killed.elapsed()));
            }
        }
        assert!(
            killed.elapsed() < deadline || took.len() == moved.len(),
            "not every port of h{victim} Established on its standby within {deadline:?}: {took:?}\n{}\nBIRD:\n{}",
            logs(&running),
            bird.birdc("show protocols").unwrap_or_default()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!("failover after kill -9 of h{victim} (session timeout {SESSION:?}): {took:?}");
    // The dead host's run records still said "running": each standby took its port over as a
    // restart, and the providers saw the F bit in the new OPEN (so they kept our routes).
    for p in &moved {
        let standby = took[p.0].0;
        let on = wait_blocking(10, || f_bit(&provider, &bird, p) == Some(true)).await;
        assert!(
            on,
            "{}: no F bit after the takeover\n{}\n{}\n{}",
            p.0,
            provider.neighbor(p.3),
            bird.birdc(&format!("show protocols all {}", p.0))
                .unwrap_or_default(),
            running[standby].log()
        );
        assert!(
            running[standby]
                .log()
                .contains("taking the port over from a run that did not stop cleanly"),
            "{}: {}",
            p.0,
            running[standby].log()
        );
    }
    // Each standby announced its port's address from the same MAC.
    for (name, (standby, _)) in &took {
        let p = PORTS.iter().find(|p| p.0 == *name).unwrap();
        assert!(
            wait_blocking(10, || running[*standby]
                .log()
                .contains("announced the port's addresses"))
            .await,
            "no takeover announcement for {name}:\n{}",
            running[*standby].log()
        );
        let ns = if p.6 == "192.0.2.2" {
            &provider.ns
        } else {
            &bird_ns
        };
        let neigh = ns.ip(&["neigh", "show", p.3]).unwrap();
        assert!(neigh.contains(p.4), "{name}: {neigh}");
    }
    // The new hosts publish the moved ports' routes; the ports that stayed keep running.
    let t = Instant::now();
    while !moved
        .iter()
        .all(|p| published(&watcher, p.0, took[p.0].0, p.8))
    {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "moved routes not republished: {:?}\n{}",
            watcher.ports(),
            logs(&running)
        );
        let _ = tokio::time::timeout(Duration::from_secs(1), watcher.next()).await;
    }
    assert!(wait_blocking(60, all_up).await, "{}", logs(&running));
    stop.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    for (k, p) in PORTS.iter().enumerate() {
        assert!(
            worst[k].load(Ordering::SeqCst) <= 1,
            "two bgpds of {} at once",
            p.0
        );
    }
    let status = store.statuses().await.unwrap();
    for (name, (standby, _)) in &took {
        assert!(
            status.iter().any(
                |(p, s)| p == name && s.as_ref().is_ok_and(|s| s.host == format!("h{standby}"))
            ),
            "{name}: {status:?}"
        );
    }
    stop_hosts(&mut running).await;
}
