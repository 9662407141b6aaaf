//! Cluster mode end to end: three `midonet-bgp run --store` controllers, each with its own host
//! namespace and uplinks to a provider bridge where a real FRR bgpd peers with every port; two
//! ports with two candidates each on a real ZooKeeper. Every port runs on exactly one host, its
//! learned routes reach a `RouteWatcher` in this (another) process, and when the active host of
//! a port dies (`kill -9` of the controller and of everything it ran, its links gone) a standby
//! is Established within the session timeout + 5 s; sampled every 100 ms, no port ever has two
//! bgpds at once.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../routing/tests/common/mod.rs"]
mod common;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use cluster::{PortDoc, RouteWatcher, Store, StoreUrl};
use common::*;
use testkit::lab::{veth_between, TestNs};

const SESSION: Duration = Duration::from_secs(4);

struct Host {
    ns: TestNs,
    prefix: String,
    _guard: PrefixGuard,
    run: PathBuf,
    child: Option<Child>,
    log: PathBuf,
}

impl Host {
    fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The host dies: its controller and every process in its namespaces (bgpd) get SIGKILL.
    fn die(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
        let want = format!("{}-", self.prefix);
        let list = testkit::lab::ip(&["netns", "list"]).unwrap_or_default();
        for name in list.lines().filter_map(|l| l.split_whitespace().next()) {
            if name.starts_with(&want) || name == self.ns.name() {
                let pids = testkit::lab::ip(&["netns", "pids", name]).unwrap_or_default();
                for p in pids
                    .split_whitespace()
                    .filter_map(|p| p.parse::<i32>().ok())
                {
                    // SAFETY: kill(2) on pids listed in namespaces this test created.
                    unsafe {
                        libc::kill(p, libc::SIGKILL);
                    }
                }
            }
        }
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Hosts (by index) that run a bgpd of `port` now.
fn bgpd_hosts(runs: &[PathBuf], port: &str) -> Vec<usize> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    let cmdlines: Vec<String> = rd
        .flatten()
        .filter(|e| {
            e.file_name()
                .to_string_lossy()
                .chars()
                .all(|c| c.is_ascii_digit())
        })
        .filter_map(|e| std::fs::read(e.path().join("cmdline")).ok())
        .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
        .filter(|c| c.contains("bgpd"))
        .collect();
    for (i, run) in runs.iter().enumerate() {
        let needle = format!("{}/bgpd-{port}.", run.display());
        if cmdlines.iter().any(|c| c.contains(&needle)) {
            out.push(i);
        }
    }
    out
}

fn local_config(prefix: &str, run: &Path, host_ns: &str) -> String {
    format!(
        "[controller]\nprefix = \"{prefix}\"\nrun_dir = \"{run}\"\nhost_namespace = \"{host_ns}\"\n\
         status_interval = 1\nrestart_backoff_initial_ms = 200\nrestart_backoff_max_ms = 2000\n",
        run = run.display()
    )
}

fn port(candidates: &[&str], uplink: &str, address: &str, mac: &str, asn: u32) -> PortDoc {
    let serde_json::Value::Object(config) = serde_json::json!({
        "uplink": uplink,
        "address": address,
        "mac": mac,
        "local_as": asn,
        "networks": [format!("203.0.113.{}/32", asn - 65000)],
        "peer": [{"address": "192.0.2.2", "remote_as": 65002, "keepalive": 5, "hold_time": 15, "connect_retry": 5}],
    }) else {
        unreachable!()
    };
    PortDoc::new(candidates.iter().map(|s| s.to_string()).collect(), config)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_hosts_two_ports_failover_without_two_bgpds() {
    let Some(bgpd) = testkit::require_bgpd("three_hosts_two_ports_failover_without_two_bgpds")
    else {
        return;
    };
    let Some(zk) = testkit::zookeeper::Ensemble::start_or_skip("cluster_hosts", 1) else {
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

    // The provider: one bridge, one bgpd peering with both ports' addresses.
    let prov_ns = TestNs::new("cprov").unwrap();
    prov_ns
        .ip(&["link", "add", "br0", "type", "bridge"])
        .unwrap();
    prov_ns.ip(&["link", "set", "br0", "up"]).unwrap();
    prov_ns.add_addr("br0", "192.0.2.2/24").unwrap();
    let mut hosts = Vec::new();
    for i in 0..3 {
        let ns = TestNs::new("chost").unwrap();
        for up in ["up1", "up2"] {
            let far = format!("h{i}{up}");
            veth_between(&ns, up, &prov_ns, &far).unwrap();
            prov_ns.ip(&["link", "set", &far, "master", "br0"]).unwrap();
            prov_ns.ip(&["link", "set", &far, "up"]).unwrap();
        }
        let prefix = unique_prefix();
        let run = tmp.path().join(format!("h{i}"));
        std::fs::create_dir_all(&run).unwrap();
        let cfg = tmp.path().join(format!("h{i}.toml"));
        std::fs::write(&cfg, local_config(&prefix, &run.join("run"), ns.name())).unwrap();
        hosts.push((ns, prefix, run, cfg));
    }
    let provider = Provider::start(
        &bgpd,
        prov_ns,
        "br0",
        &provider_config(
            65002,
            "192.0.2.2",
            &[("192.0.2.1", 65001), ("192.0.2.11", 65003)],
            &["198.51.100.0/24".into()],
        ),
    )
    .await;

    let store = Store::connect(&url, SESSION).await.unwrap();
    store
        .put_port(
            "p1",
            &port(
                &["h0", "h1"],
                "up1",
                "192.0.2.1/24",
                "02:00:00:00:00:01",
                65001,
            ),
        )
        .await
        .unwrap();
    store
        .put_port(
            "p2",
            &port(
                &["h1", "h2"],
                "up2",
                "192.0.2.11/24",
                "02:00:00:00:00:02",
                65003,
            ),
        )
        .await
        .unwrap();
    let store_arg = format!("zk://{}{}", url.servers, url.root);
    let mut running: Vec<Host> = Vec::new();
    for (i, (ns, prefix, run, cfg)) in hosts.into_iter().enumerate() {
        let log = run.join("controller.log");
        let child = Command::new(env!("CARGO_BIN_EXE_midonet-bgp"))
            .args([
                "--log",
                "info",
                "run",
                "--store",
                &store_arg,
                "--host-id",
                &format!("h{i}"),
            ])
            .args([
                "--session-timeout-ms",
                &SESSION.as_millis().to_string(),
                "--config",
            ])
            .arg(&cfg)
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(&log).unwrap())
            .spawn()
            .unwrap();
        running.push(Host {
            ns,
            _guard: PrefixGuard(prefix.clone()),
            prefix,
            run: run.join("run"),
            child: Some(child),
            log,
        });
    }
    let runs: Vec<PathBuf> = running.iter().map(|h| h.run.clone()).collect();

    // Sample every 100 ms: never two bgpds of one port.
    let stop = Arc::new(AtomicBool::new(false));
    let worst = Arc::new([AtomicUsize::new(0), AtomicUsize::new(0)]);
    let sampler = {
        let (stop, worst, runs) = (stop.clone(), worst.clone(), runs.clone());
        std::thread::spawn(move || {
            while !stop.load(Ordering::SeqCst) {
                for (k, p) in ["p1", "p2"].iter().enumerate() {
                    worst[k].fetch_max(bgpd_hosts(&runs, p).len(), Ordering::SeqCst);
                }
                std::thread::sleep(Duration::from_millis(100));
            }
        })
    };

    let logs = |hs: &[Host]| {
        hs.iter()
            .map(|h| h.log())
            .collect::<Vec<_>>()
            .join("\n-----\n")
    };
    let mut watcher = RouteWatcher::start(&url, SESSION).await.unwrap();
    let both_up = |provider: &Provider| {
        provider.neighbor("192.0.2.1")["bgpState"] == "Established"
            && provider.neighbor("192.0.2.11")["bgpState"] == "Established"
    };
    assert!(
        wait_blocking(90, || both_up(&provider)).await,
        "ports not Established:\n{}",
        logs(&running)
    );
    // Routes learned on each port reach this process through the store.
    let t = Instant::now();
    while watcher.count("p1") == 0 || watcher.count("p2") == 0 {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "routes not published:\n{}",
            logs(&running)
        );
        let _ = tokio::time::timeout(Duration::from_secs(1), watcher.next()).await;
    }
    let (_, t1) = watcher.routes("p1").unwrap();
    assert!(t1.contains_key(&"198.51.100.0/24".parse().unwrap()));
    assert!(
        wait_blocking(30, || provider
            .learned_from("192.0.2.1")
            .contains("203.0.113.1/32"))
        .await
    );
    for p in ["p1", "p2"] {
        assert_eq!(
            bgpd_hosts(&runs, p).len(),
            1,
            "{p} runs on {:?}",
            bgpd_hosts(&runs, p)
        );
    }

    // The active host of p1 dies.
    let active: usize = store.election("p1").await.unwrap()[0][1..].parse().unwrap();
    let standby = 1 - active;
    assert_eq!(bgpd_hosts(&runs, "p1"), vec![active]);
    running[active].die();
    let killed = Instant::now();
    for up in ["up1", "up2"] {
        let _ = running[active].ns.ip(&["link", "del", up]);
    }
    let deadline = SESSION + Duration::from_secs(5);
    while !(bgpd_hosts(&runs, "p1") == vec![standby]
        && provider.neighbor("192.0.2.1")["bgpState"] == "Established")
    {
        assert!(
            killed.elapsed() < deadline,
            "standby h{standby} not Established within {deadline:?}:\n{}",
            logs(&running)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let took = killed.elapsed();
    eprintln!(
        "p1: standby Established {took:?} after kill -9 of h{active} (session timeout {SESSION:?})"
    );
    // The standby announced the port's address from the same MAC (ARP request to the peer).
    assert!(
        wait_blocking(10, || running[standby]
            .log()
            .contains("announced the port's addresses"))
        .await,
        "no takeover announcement:\n{}",
        running[standby].log()
    );
    let neigh = provider.ns.ip(&["neigh", "show", "192.0.2.1"]).unwrap();
    assert!(neigh.contains("02:00:00:00:00:01"), "{neigh}");
    // p2 stays up wherever it runs (unless its host was the one that died).
    assert!(
        wait_blocking(60, || both_up(&provider)).await,
        "{}",
        logs(&running)
    );
    stop.store(true, Ordering::SeqCst);
    sampler.join().unwrap();
    assert!(
        worst[0].load(Ordering::SeqCst) <= 1,
        "two bgpds of p1 at once"
    );
    assert!(
        worst[1].load(Ordering::SeqCst) <= 1,
        "two bgpds of p2 at once"
    );
    let status = store.statuses().await.unwrap();
    assert!(status
        .iter()
        .any(|(p, s)| p == "p1" && s.as_ref().is_ok_and(|s| s.host == format!("h{standby}"))));
    for h in running.iter_mut() {
        if let Some(c) = h.child.as_ref() {
            // SAFETY: SIGTERM to our own child.
            unsafe {
                libc::kill(c.id() as i32, libc::SIGTERM);
            }
        }
    }
    for h in running.iter_mut() {
        if let Some(mut c) = h.child.take() {
            let t = Instant::now();
            while t.elapsed() < Duration::from_secs(20) && matches!(c.try_wait(), Ok(None)) {
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}
