//! Shared fixtures of the cluster end-to-end tests: controllers (`midonet-bgp run --store`) in
//! their own host namespaces, the bgpds they run (found through `/proc`), and port documents.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cluster::{PortDoc, Store, StoreUrl};
use testkit::lab::{veth_between, TestNs};
use testkit::zookeeper::Ensemble;

use crate::common::{provider_config, unique_prefix, PrefixGuard, Provider};

/// One host: its namespace, the controller running there and that controller's files.
pub struct Host {
    pub ns: TestNs,
    pub prefix: String,
    _guard: PrefixGuard,
    pub run: PathBuf,
    pub child: Option<Child>,
    pub log: PathBuf,
}

impl Host {
    /// The controller's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The host dies: its controller and every process in its namespaces (bgpd) get SIGKILL.
    pub fn die(&mut self) {
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

/// The bgpds of `port` running now, as (host index, pid).
pub fn bgpd_pids(runs: &[PathBuf], port: &str) -> Vec<(usize, u32)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir("/proc") else {
        return out;
    };
    let procs: Vec<(u32, String)> = rd
        .flatten()
        .filter_map(|e| {
            let pid = e.file_name().to_string_lossy().parse::<u32>().ok()?;
            let b = std::fs::read(e.path().join("cmdline")).ok()?;
            Some((pid, String::from_utf8_lossy(&b).replace('\0', " ")))
        })
        .filter(|(_, c)| c.contains("bgpd"))
        .collect();
    for (i, run) in runs.iter().enumerate() {
        let needle = format!("{}/bgpd-{port}.", run.display());
        for (pid, c) in &procs {
            if c.contains(&needle) {
                out.push((i, *pid));
            }
        }
    }
    out
}

/// Hosts (by index) that run a bgpd of `port` now.
pub fn bgpd_hosts(runs: &[PathBuf], port: &str) -> Vec<usize> {
    let mut h: Vec<usize> = bgpd_pids(runs, port).into_iter().map(|(i, _)| i).collect();
    h.dedup();
    h
}

/// The host-local configuration of a cluster controller.
pub fn local_config(prefix: &str, run: &Path, host_ns: &str) -> String {
    format!(
        "[controller]\nprefix = \"{prefix}\"\nrun_dir = \"{run}\"\nhost_namespace = \"{host_ns}\"\n\
         status_interval = 1\nrestart_backoff_initial_ms = 200\nrestart_backoff_max_ms = 2000\n",
        run = run.display()
    )
}

/// A port on `uplink` with `address`/`mac`, AS `asn`, announcing 203.0.113.(asn-65000)/32 to
/// one peer.
pub fn port(
    candidates: &[&str],
    uplink: &str,
    address: &str,
    mac: &str,
    asn: u32,
    peer: (&str, u32),
) -> PortDoc {
    let serde_json::Value::Object(config) = serde_json::json!({
        "uplink": uplink,
        "address": address,
        "mac": mac,
        "local_as": asn,
        "networks": [format!("203.0.113.{}/32", asn - 65000)],
        "peer": [{"address": peer.0, "remote_as": peer.1, "keepalive": 5, "hold_time": 15, "connect_retry": 2}],
    }) else {
        unreachable!()
    };
    PortDoc::new(candidates.iter().map(|s| s.to_string()).collect(), config)
}

/// `n` host namespaces, each with one veth per name in `uplinks` whose far end is enslaved to
/// `bridge` in `prov_ns`; returns (namespace, prefix, run dir, config path) per host.
pub fn make_hosts(
    tmp: &Path,
    n: usize,
    uplinks: &[&str],
    prov_ns: &TestNs,
    bridge: &str,
) -> Vec<(TestNs, String, PathBuf, PathBuf)> {
    let mut hosts = Vec::new();
    for i in 0..n {
        let ns = TestNs::new("chost").unwrap();
        for (k, up) in uplinks.iter().enumerate() {
            let far = format!("h{i}u{k}");
            veth_between(&ns, up, prov_ns, &far).unwrap();
            prov_ns
                .ip(&["link", "set", &far, "master", bridge])
                .unwrap();
            prov_ns.ip(&["link", "set", &far, "up"]).unwrap();
        }
        let prefix = unique_prefix();
        let run = tmp.join(format!("h{i}"));
        std::fs::create_dir_all(&run).unwrap();
        let cfg = tmp.join(format!("h{i}.toml"));
        std::fs::write(&cfg, local_config(&prefix, &run.join("run"), ns.name())).unwrap();
        hosts.push((ns, prefix, run, cfg));
    }
    hosts
}

/// Starts `midonet-bgp run --store` as host `h<i>` for each prepared host.
pub fn spawn_hosts(
    hosts: Vec<(TestNs, String, PathBuf, PathBuf)>,
    url: &StoreUrl,
    session: Duration,
) -> Vec<Host> {
    let store_arg = format!("zk://{}{}", url.servers, url.root);
    let mut running = Vec::new();
    for (i, (ns, prefix, run, cfg)) in hosts.into_iter().enumerate() {
        let log = run.join("controller.log");
        let child = Command::new(env!("CARGO_BIN_EXE_midonet-bgp"))
            .args(["--log", "info", "run", "--store", &store_arg])
            .args(["--host-id", &format!("h{i}")])
            .args(["--session-timeout-ms", &session.as_millis().to_string()])
            .arg("--config")
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
    running
}

/// Every host's log, for failure messages.
pub fn logs(hs: &[Host]) -> String {
    hs.iter()
        .enumerate()
        .map(|(i, h)| format!("----- h{i}\n{}", h.log()))
        .collect::<Vec<_>>()
        .join("\n")
}

/// SIGTERM to every controller still running, then waits up to 20 s for each to stop.
pub async fn stop_hosts(running: &mut [Host]) {
    for h in running.iter_mut() {
        if let Some(c) = h.child.as_ref() {
            if let Ok(pid) = i32::try_from(c.id()) {
                // SAFETY: SIGTERM to our own child, not yet reaped.
                unsafe {
                    libc::kill(pid, libc::SIGTERM);
                }
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

/// A provider namespace (`<prefix>…`) with a bridge `br0` (up, 192.0.2.2/24) the hosts'
/// uplinks are enslaved to and the provider's FRR bgpd listens on.
pub fn provider_bridge(prefix: &str) -> TestNs {
    let prov_ns = TestNs::new(prefix).unwrap();
    prov_ns
        .ip(&["link", "add", "br0", "type", "bridge"])
        .unwrap();
    prov_ns.ip(&["link", "set", "br0", "up"]).unwrap();
    prov_ns.add_addr("br0", "192.0.2.2/24").unwrap();
    prov_ns
}

/// Starts the provider's FRR bgpd (AS 65002 at 192.0.2.2, announcing 198.51.100.0/24) on the
/// bridge of [`provider_bridge`], with one neighbor per (address, AS) of `peers`.
pub async fn start_provider(bgpd: &Path, prov_ns: TestNs, peers: &[(&str, u32)]) -> Provider {
    Provider::start(
        bgpd,
        prov_ns,
        "br0",
        &provider_config(65002, "192.0.2.2", peers, &["198.51.100.0/24".into()]),
    )
    .await
}

/// A port of a [`ClusterSpec`]: (name, candidate hosts, uplink, address with prefix length,
/// MAC, local AS); its one peer is the provider.
pub type ClusterPort<'a> = (&'a str, &'a [&'a str], &'a str, &'a str, &'a str, u32);

/// What [`Cluster::start`] sets up.
pub struct ClusterSpec<'a> {
    /// The test's name (for skips).
    pub test: &'a str,
    /// A short tag naming the store root, the temporary directory and the provider namespace.
    pub tag: &'a str,
    /// ZooKeeper servers in the ensemble.
    pub servers: usize,
    /// Host namespaces (`h0`, `h1`, …).
    pub hosts: usize,
    /// The uplinks every host has on the provider bridge.
    pub uplinks: &'a [&'a str],
    /// The ports written to the store before any controller starts, each peering with the
    /// provider (FRR, AS 65002 at 192.0.2.2, announcing 198.51.100.0/24).
    pub ports: &'a [ClusterPort<'a>],
    /// The store session timeout (the ports are written with it, the controllers run with it).
    pub session: Duration,
}

/// A cluster ready to run: ZooKeeper with the ports written, the provider bridge with a real
/// FRR bgpd on it, and the hosts' namespaces and configurations (in `hosts`, for
/// [`Cluster::spawn`]; a test may add to the configurations first).
pub struct Cluster {
    /// The provider bgpd (dropped before the rest).
    pub provider: Provider,
    /// Per host: namespace, prefix, directory, configuration path.
    pub hosts: Vec<(TestNs, String, PathBuf, PathBuf)>,
    /// Holds the hosts' directories.
    pub tmp: tempfile::TempDir,
    /// Where the store is.
    pub url: StoreUrl,
    /// The ZooKeeper ensemble.
    pub zk: Ensemble,
    session: Duration,
}

impl Cluster {
    /// Starts ZooKeeper, the provider and the hosts' namespaces, and writes `spec.ports`; `None`
    /// when the test is skipped (no FRR or ZooKeeper, outside CI).
    pub async fn start(spec: ClusterSpec<'_>) -> Option<Cluster> {
        let bgpd = testkit::require_bgpd(spec.test)?;
        let zk = Ensemble::start_or_skip(spec.test, spec.servers)?;
        let url = StoreUrl {
            servers: zk.connect_string(),
            root: format!("/{}", testkit::unique_name(spec.tag)),
        };
        let tmp = tempfile::Builder::new()
            .prefix(&format!("mbgp-{}", spec.tag))
            .tempdir_in("/tmp")
            .unwrap();
        let prov_ns = provider_bridge(&format!("{}p", spec.tag));
        let hosts = make_hosts(tmp.path(), spec.hosts, spec.uplinks, &prov_ns, "br0");
        let peers: Vec<(&str, u32)> = spec
            .ports
            .iter()
            .map(|&(_, _, _, address, _, asn)| {
                (address.split_once('/').map_or(address, |(a, _)| a), asn)
            })
            .collect();
        let provider = start_provider(&bgpd, prov_ns, &peers).await;
        let store = Store::connect(&url, spec.session).await.unwrap();
        for &(name, candidates, uplink, address, mac, asn) in spec.ports {
            let doc = port(candidates, uplink, address, mac, asn, ("192.0.2.2", 65002));
            store.put_port(name, &doc).await.unwrap();
        }
        drop(store);
        Some(Cluster {
            provider,
            hosts,
            tmp,
            url,
            zk,
            session: spec.session,
        })
    }

    /// Starts the controllers of the prepared hosts; returns them and their run directories.
    pub fn spawn(&mut self) -> (Vec<Host>, Vec<PathBuf>) {
        let running = spawn_hosts(std::mem::take(&mut self.hosts), &self.url, self.session);
        let runs = running.iter().map(|h| h.run.clone()).collect();
        (running, runs)
    }
}
