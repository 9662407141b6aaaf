//! Fixtures of the end-to-end tests: a host-side namespace, provider namespaces with real FRR
//! bgpds (each with a zebra server of ours, so they know their interfaces and accept IPv6
//! updates with link-local next hops), and a guard that removes everything on drop.
#![allow(clippy::unwrap_used, clippy::expect_used, dead_code)]

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ipnetwork::IpNetwork;
use routing::config::Config;
use routing::real::RealEffects;
use routing::{Installed, PortStatus, RouteChange, RouteSink, RoutingHandler, TableSink};
use testkit::lab::{veth_between, BgpdOptions, TestBgpd, TestNs};

pub mod fake;
pub mod policy;
pub mod port;
pub mod ports;

/// A name prefix (7 lowercase letters/digits) unique to this process and call, so the
/// controller's sweep never touches anything but this test's objects.
pub fn unique_prefix() -> String {
    let n = testkit::unique_name("");
    // 4 pid characters + 3 counter characters; keep 3 + 3.
    format!("e{}", &n[1..])
}

/// Removes every namespace `<prefix>-…` (killing what runs inside) on drop, so a failing test
/// leaves nothing behind.
pub struct PrefixGuard(pub String);

impl Drop for PrefixGuard {
    fn drop(&mut self) {
        let want = format!("{}-", self.0);
        if let Ok(list) = testkit::lab::ip(&["netns", "list"]) {
            for line in list.lines() {
                let name = line.split_whitespace().next().unwrap_or("");
                if name.starts_with(&want) {
                    if let Ok(pids) = testkit::lab::ip(&["netns", "pids", name]) {
                        for p in pids
                            .split_whitespace()
                            .filter_map(|p| p.parse::<i32>().ok())
                        {
                            unsafe {
                                libc::kill(p, libc::SIGKILL);
                            }
                        }
                    }
                    let _ = testkit::lab::ip(&["netns", "del", name]);
                }
            }
        }
    }
}

/// A sink that keeps the table and counts withdrawals (single routes and whole ports).
#[derive(Default)]
pub struct CountingSink {
    pub table: TableSink,
    pub withdrawals: AtomicUsize,
}

impl RouteSink for CountingSink {
    fn apply(&self, port: &str, changes: &[RouteChange]) {
        let withdrawn = changes
            .iter()
            .filter(|c| matches!(c, RouteChange::Withdraw { .. }))
            .count();
        self.withdrawals.fetch_add(withdrawn, Ordering::SeqCst);
        self.table.apply(port, changes);
    }
    fn withdraw_all(&self, port: &str) {
        self.withdrawals.fetch_add(1, Ordering::SeqCst);
        self.table.withdraw_all(port);
    }
    fn installed(&self, port: &str) -> Option<Installed> {
        self.table.installed(port)
    }
}

/// A provider: namespace, zebra server, FRR bgpd.
pub struct Provider {
    pub bgpd: TestBgpd,
    /// Every route change the provider's bgpd gave its zebra (its selected routes), in order.
    pub rib: Arc<std::sync::Mutex<Vec<zebra_server::RouteEvent>>>,
    zebra: Option<zebra_server::ZebraServer>,
    pub ns: TestNs,
    _dir: tempfile::TempDir,
}

/// The interface `ifname` in `ns` as a zebra server describes it (with its link-local address).
pub fn zebra_interface(ns: &TestNs, ifname: &str) -> zebra_server::Interface {
    assert!(
        testkit::lab::wait_until(Duration::from_secs(10), || {
            ns.ip(&["-6", "addr", "show", "dev", ifname, "scope", "link"])
                .map(|o| o.contains("fe80") && !o.contains("tentative"))
                .unwrap_or(false)
        }),
        "no link-local address on {ifname}"
    );
    let text = ns.ip(&["-j", "addr", "show", "dev", ifname]).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let link = &v[0];
    let mut mac = [0u8; 6];
    for (slot, part) in mac
        .iter_mut()
        .zip(link["address"].as_str().unwrap().split(':'))
    {
        *slot = u8::from_str_radix(part, 16).unwrap();
    }
    let addresses = link["addr_info"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| {
            IpNetwork::new(
                a["local"].as_str().unwrap().parse().unwrap(),
                a["prefixlen"].as_u64().unwrap() as u8,
            )
            .unwrap()
        })
        .collect();
    zebra_server::Interface::ethernet(
        ifname,
        link["ifindex"].as_u64().unwrap() as u32,
        mac,
        link["mtu"].as_u64().unwrap() as u32,
        addresses,
    )
}

impl Provider {
    /// Starts a provider bgpd in `ns` whose peering interface is `ifname`.
    pub async fn start(bgpd: &Path, ns: TestNs, ifname: &str, config: &str) -> Provider {
        let dir = tempfile::tempdir().unwrap();
        let sock = dir.path().join("z").join("zebra.sock");
        let iface = tokio::task::block_in_place(|| zebra_interface(&ns, ifname));
        let mut cfg = zebra_server::ServerConfig::new(&sock);
        cfg.interfaces = vec![zebra_server::Interface::loopback(1, Vec::new()), iface];
        let (zebra, mut events) = zebra_server::ZebraServer::start(cfg).await.unwrap();
        // What the provider's bgpd installs and removes: its own best routes, event by event.
        let rib = Arc::new(std::sync::Mutex::new(Vec::new()));
        let log = rib.clone();
        tokio::spawn(async move {
            while let Some(ev) = events.recv().await {
                if let zebra_server::ServerEvent::Route(r) = ev {
                    if let Ok(mut l) = log.lock() {
                        l.push(r);
                    }
                }
            }
        });
        let opts = BgpdOptions {
            zebra_socket: Some(sock),
            ..BgpdOptions::default()
        };
        let b = tokio::task::block_in_place(|| TestBgpd::start(bgpd, &ns, config, &opts)).unwrap();
        Provider {
            bgpd: b,
            rib,
            zebra: Some(zebra),
            ns,
            _dir: dir,
        }
    }

    /// Prefixes in the provider's tables that were learned from `peer`.
    pub fn learned_from(&self, peer: &str) -> BTreeSet<String> {
        let mut out = BTreeSet::new();
        for afi in ["ipv4", "ipv6"] {
            let Ok(text) = self.bgpd.vtysh(&[&format!("show bgp {afi} unicast json")]) else {
                continue;
            };
            let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
                continue;
            };
            if let Some(routes) = v["routes"].as_object() {
                for (prefix, paths) in routes {
                    if paths
                        .as_array()
                        .is_some_and(|ps| ps.iter().any(|p| p["peerId"] == peer))
                    {
                        out.insert(prefix.clone());
                    }
                }
            }
        }
        out
    }

    /// `show bgp neighbors ADDR json` for one neighbor.
    pub fn neighbor(&self, addr: &str) -> serde_json::Value {
        let text = self
            .bgpd
            .vtysh(&[&format!("show bgp neighbors {addr} json")])
            .unwrap_or_default();
        let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
        v[addr].clone()
    }

    /// Runs configuration commands on the provider.
    pub fn configure(&self, cmds: &[&str]) {
        let mut all = vec!["configure terminal"];
        all.extend_from_slice(cmds);
        self.bgpd.vtysh(&all).unwrap();
    }
}

impl Drop for Provider {
    fn drop(&mut self) {
        self.bgpd.kill();
        drop(self.zebra.take());
    }
}

/// A provider configuration: `router bgp ASN` with the given neighbors (IPv6 ones activated for
/// IPv6 only) and networks.
pub fn provider_config(
    asn: u32,
    router_id: &str,
    neighbors: &[(&str, u32)],
    networks: &[String],
) -> String {
    let mut s = format!(
        "hostname prov{asn}\npassword test\n!\nrouter bgp {asn}\n bgp router-id {router_id}\n no bgp ebgp-requires-policy\n no bgp network import-check\n"
    );
    for (addr, remote) in neighbors {
        s.push_str(&format!(
            " neighbor {addr} remote-as {remote}\n neighbor {addr} timers 5 15\n neighbor {addr} timers connect 5\n"
        ));
    }
    s.push_str(" address-family ipv4 unicast\n");
    for n in networks.iter().filter(|n| !n.contains(':')) {
        s.push_str(&format!("  network {n}\n"));
    }
    for (addr, _) in neighbors.iter().filter(|(a, _)| a.contains(':')) {
        s.push_str(&format!("  no neighbor {addr} activate\n"));
    }
    s.push_str(" exit-address-family\n address-family ipv6 unicast\n");
    for n in networks.iter().filter(|n| n.contains(':')) {
        s.push_str(&format!("  network {n}\n"));
    }
    for (addr, _) in neighbors.iter().filter(|(a, _)| a.contains(':')) {
        s.push_str(&format!("  neighbor {addr} activate\n"));
    }
    s.push_str(" exit-address-family\n!\n");
    s
}

/// The host-side namespace and one provider per uplink, directly connected.
pub struct Lab {
    pub host: TestNs,
    pub prefix: String,
    pub run_dir: tempfile::TempDir,
    pub guard: PrefixGuard,
}

impl Lab {
    pub fn new() -> Lab {
        let prefix = unique_prefix();
        Lab {
            host: TestNs::new("ehost").unwrap(),
            guard: PrefixGuard(prefix.clone()),
            prefix,
            run_dir: tempfile::Builder::new()
                .prefix("mbgp-e2e")
                .tempdir_in("/tmp")
                .unwrap(),
        }
    }

    /// Connects a new namespace to the host side: `uplink` in the host namespace, `prov` in the
    /// new one with `addrs`.
    pub fn provider_ns(&self, uplink: &str, addrs: &[&str]) -> TestNs {
        let ns = TestNs::new("eprov").unwrap();
        veth_between(&self.host, uplink, &ns, "prov").unwrap();
        for a in addrs {
            ns.add_addr("prov", a).unwrap();
        }
        ns
    }

    /// The `[controller]` section for this lab.
    pub fn controller(&self) -> String {
        format!(
            "[controller]\nprefix = \"{}\"\nrun_dir = \"{}\"\nhost_namespace = \"{}\"\nstatus_interval = 1\nrestart_backoff_initial_ms = 200\nrestart_backoff_max_ms = 2000\n",
            self.prefix,
            self.run_dir.path().display(),
            self.host.name()
        )
    }

    pub fn run_path(&self) -> PathBuf {
        self.run_dir.path().to_path_buf()
    }
}

pub fn config(text: &str) -> Config {
    match Config::parse(text) {
        Ok(c) => c,
        Err(e) => panic!("{e}\n{text}"),
    }
}

pub fn handler(sink: Arc<dyn RouteSink>) -> RoutingHandler<RealEffects> {
    RoutingHandler::new(RealEffects::new(), sink)
}

/// Polls the handler until `pred` holds for port `name`; panics with the last status after
/// `secs` seconds.
pub async fn wait_port(
    h: &RoutingHandler<RealEffects>,
    name: &str,
    secs: u64,
    what: &str,
    pred: impl Fn(&PortStatus) -> bool,
) -> PortStatus {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        let s = h.status().await.into_iter().find(|s| s.name == name);
        if let Some(s) = &s {
            if pred(s) {
                return s.clone();
            }
        }
        if tokio::time::Instant::now() > deadline {
            panic!("timed out waiting for {what}; last status: {s:#?}");
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

/// Polls `cond` (blocking) until it holds or `secs` pass.
pub async fn wait_blocking(secs: u64, mut cond: impl FnMut() -> bool) -> bool {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(secs);
    loop {
        if tokio::task::block_in_place(&mut cond) {
            return true;
        }
        if tokio::time::Instant::now() > deadline {
            return false;
        }
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

pub fn established(s: &PortStatus, n: usize) -> bool {
    s.peers.len() == n && s.peers.iter().all(|p| p.state == "Established")
}

/// Whether the sink holds every one of `prefixes` for `port`.
pub fn has_routes(table: &TableSink, port: &str, prefixes: &[&str]) -> bool {
    let routes = table.routes(port);
    prefixes
        .iter()
        .all(|p| routes.keys().any(|r| r.to_string() == *p))
}

/// How many routes the status says the sink holds.
pub fn installed(s: &PortStatus) -> u64 {
    s.routes.installed.unwrap_or(0)
}

/// Namespaces and host-side objects left with this prefix (for cleanliness checks).
pub fn leftovers(lab: &Lab) -> Vec<String> {
    let want = format!("{}-", lab.prefix);
    let mut out: Vec<String> = testkit::lab::ip(&["netns", "list"])
        .unwrap_or_default()
        .lines()
        .filter_map(|l| l.split_whitespace().next())
        .filter(|n| n.starts_with(&want))
        .map(str::to_string)
        .collect();
    out.extend(
        lab.host
            .ip(&["-br", "link"])
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_whitespace().next())
            .filter(|n| n.starts_with(&want))
            .map(str::to_string),
    );
    let found = std::process::Command::new("find")
        .arg(lab.run_dir.path())
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
        .unwrap_or_default();
    for f in found.lines() {
        if f.ends_with(".sock") || f.ends_with(".pid") || f.ends_with(".vty") {
            out.push(f.to_string());
        }
    }
    out
}

/// The tc filters on `dev`'s ingress in the host namespace.
pub fn tc_filters(lab: &Lab, dev: &str) -> String {
    lab.host
        .exec_ok(&["tc", "filter", "show", "dev", dev, "ingress"])
        .unwrap_or_default()
}

impl Provider {
    /// Whether the provider's own table has a path for `prefix` (stale or not): one vtysh call,
    /// so that a sample takes well under 100 ms.
    pub fn holds(&self, prefix: &str) -> bool {
        let afi = if prefix.contains(':') { "ipv6" } else { "ipv4" };
        self.bgpd
            .vtysh(&[&format!("show bgp {afi} unicast {prefix} json")])
            .ok()
            .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
            .and_then(|v| v["paths"].as_array().map(|a| !a.is_empty()))
            .unwrap_or(false)
    }

    /// How many times the provider removed `prefix` from its RIB (its bgpd's withdraws to its
    /// zebra) among the changes recorded after the first `since`: continuous, unlike sampling.
    pub fn removals_since(&self, since: usize, prefix: &str) -> usize {
        let prefix: IpNetwork = prefix.parse().unwrap();
        self.rib.lock().unwrap()[since..]
            .iter()
            .filter(|e| **e == zebra_server::RouteEvent::Withdraw { prefix })
            .count()
    }

    /// How many RIB changes the provider recorded so far (a mark for [`Provider::removals_since`]).
    pub fn rib_len(&self) -> usize {
        self.rib.lock().unwrap().len()
    }
}

/// The graceful-restart tests' sampler (testkit's), for the tests that take their fixtures
/// from here; not every test binary uses it.
#[allow(unused_imports)]
pub use testkit::sampler::Sampler;
