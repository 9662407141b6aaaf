//! End to end with FRR 10.3's bgpd (the Debian 13 chroot of `scripts/frr10-chroot.sh`) as the
//! port's daemon: the controller detects its version, serves it with the FRR 10.3 profile, and
//! sessions, routes, status, kill -9 recovery and withdrawal work as with FRR 8.4. The provider
//! is the host's bgpd. Needs root, FRR and the chroot (skipped elsewhere, never under CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use common::*;

const PORT: &str = r#"
[[port]]
name = "p1"
uplink = "up1"
address = "192.0.2.1/24"
address6 = "2001:db8::1/64"
local_as = 65001
# Graceful restart on (the default): bgpd 10.3's kill -9 is hitless for the provider and the sink.
networks = ["203.0.113.0/24", "2001:db8:100::/48"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 5
[[port.peer]]
address = "2001:db8::2"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 5
"#;

/// The controller's run directory bind-mounted at the same path inside the chroot (so the
/// config, pid file, Vty socket and zebra socket paths mean the same inside); unmounted on drop.
struct BindMount(PathBuf);

impl BindMount {
    fn new(root: &Path, dir: &Path) -> BindMount {
        let target = root.join(dir.strip_prefix("/").unwrap());
        std::fs::create_dir_all(&target).unwrap();
        let st = Command::new("mount")
            .arg("--bind")
            .arg(dir)
            .arg(&target)
            .status()
            .unwrap();
        assert!(st.success(), "mount --bind {}", dir.display());
        BindMount(target)
    }
}

impl Drop for BindMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// A `bgpd` launcher that execs the chroot's bgpd (same pid, same arguments); named `bgpd` so
/// the supervisor's adoption check recognises the process by name.
fn launcher(dir: &Path, root: &Path) -> PathBuf {
    let path = dir.join("bgpd");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nexec chroot '{}' {} \"$@\"\n",
            root.display(),
            testkit::FRR10_BGPD
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr10_sessions_routes_status_kill9_and_withdraw() {
    let test = "frr10_sessions_routes_status_kill9_and_withdraw";
    // RUST_LOG=zebra_server=trace shows every request bgpd 10.3 sends (docs/interop.md).
    let _ = tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_test_writer()
        .try_init();
    let Some(root) = testkit::require_frr10(test) else {
        return;
    };
    let Some(host_bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let lab = Lab::new();
    let _mount = BindMount::new(&root, &lab.run_path());
    let bin_dir = tempfile::tempdir().unwrap();
    let bgpd = launcher(bin_dir.path(), &root);

    let ns = lab.provider_ns("up1", &["192.0.2.2/24", "2001:db8::2/64"]);
    let nets = [
        "198.51.100.0/24",
        "2001:db8:1000::/48",
        "2001:db8:2000::/48",
    ];
    let conf = provider_config(
        65002,
        "192.0.2.2",
        &[("192.0.2.1", 65001), ("2001:db8::1", 65001)],
        &nets.map(String::from),
    );
    let provider = Provider::start(&host_bgpd, ns, "prov", &conf).await;

    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    let text = format!(
        "{}bgpd_path = \"{}\"\n{PORT}",
        lab.controller(),
        bgpd.display()
    );
    let cfg = config(&text);
    h.sweep(&cfg).await.unwrap();
    h.apply(&cfg).await;

    // The per-peer status (parsed from bgpd 10.3's JSON every second) catches up with the
    // routes (which arrive over zebra at once).
    let received = |s: &routing::PortStatus, v6: bool| {
        s.peers
            .iter()
            .find(|p| p.address.is_ipv6() == v6)
            .and_then(|p| p.prefixes_received)
    };
    let s = wait_port(&h, "p1", 90, "both sessions up and all routes", |s| {
        established(s, 2)
            && has_routes(&sink.table, "p1", &nets)
            && received(s, false) == Some(1)
            && received(s, true) == Some(2)
    })
    .await;
    assert!(s.config_applied && s.zebra_connected, "{s:#?}");
    // The status is parsed from bgpd 10.3's JSON.
    let v4 = s.peers.iter().find(|p| p.address.is_ipv4()).unwrap();
    assert_eq!(v4.remote_as, Some(65002));
    assert_eq!(v4.prefixes_received, Some(1));
    let v6 = s.peers.iter().find(|p| p.address.is_ipv6()).unwrap();
    assert_eq!(v6.prefixes_received, Some(2));
    let routes = sink.table.routes("p1");
    let r4 = &routes[&"198.51.100.0/24".parse().unwrap()];
    assert_eq!(r4[0].gateway.unwrap().to_string(), "192.0.2.2");
    // bgpd 10.3 sends route type 10 for BGP: the default distance is still eBGP's.
    assert_eq!(r4[0].distance, 20);
    let r6 = &routes[&"2001:db8:1000::/48".parse().unwrap()];
    assert!(r6[0].gateway.unwrap().is_ipv6(), "{r6:?}");
    assert_eq!(s.routes.installed, Some(nets.len() as u64));
    assert_eq!(sink.table.routes("p1").len(), nets.len());

    // Our networks reach the provider over both families.
    assert!(
        wait_blocking(60, || {
            provider
                .learned_from("192.0.2.1")
                .contains("203.0.113.0/24")
                && provider
                    .learned_from("2001:db8::1")
                    .contains("2001:db8:100::/48")
        })
        .await,
        "provider did not learn our networks: {:?}",
        provider.learned_from("192.0.2.1")
    );

    // kill -9 with graceful restart: the supervisor restarts bgpd 10.3, the sessions come back,
    // the provider (GR helper) never withdraws our networks, the sink sees no withdraw.
    let pid = s.bgpd_pid.unwrap();
    let rib_before = provider.rib.lock().unwrap().len();
    let withdrawn = sink.withdrawals.load(std::sync::atomic::Ordering::SeqCst);
    // SAFETY: kill(2) with a pid read from our own supervisor's status; no memory is touched.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    let s = wait_port(
        &h,
        "p1",
        90,
        "bgpd restarted with sessions and routes",
        |s| {
            s.bgpd_pid.is_some_and(|p| p != pid)
                && established(s, 2)
                && has_routes(&sink.table, "p1", &nets)
        },
    )
    .await;
    assert!(s.zebra_connected);
    assert_eq!(sink.table.routes("p1").len(), nets.len());

    // The provider withdraws a prefix right away, possibly before the new bgpd has learned it
    // again (then bgpd never sends a delete for it): the stale copy must still leave the table,
    // swept once bgpd's undeferred ROUTE_UPDATE_COMPLETE has settled (30 s), not at the 500 s
    // stale time (it lingered before).
    provider.configure(&[
        "router bgp 65002",
        "address-family ipv4 unicast",
        "no network 198.51.100.0/24",
    ]);
    wait_port(&h, "p1", 60, "the withdrawn prefix gone", |_| {
        !has_routes(&sink.table, "p1", &["198.51.100.0/24"])
            && has_routes(&sink.table, "p1", &nets[1..])
    })
    .await;
    let withdrawals = sink.withdrawals.load(std::sync::atomic::Ordering::SeqCst) - withdrawn;
    assert_eq!(withdrawals, 1, "only the withdrawn prefix leaves the sink");
    assert_eq!(sink.table.routes("p1").len(), nets.len() - 1);
    // The provider's own RIB, change by change: its bgpd never removed our networks.
    let ours: [ipnetwork::IpNetwork; 2] = [
        "203.0.113.0/24".parse().unwrap(),
        "2001:db8:100::/48".parse().unwrap(),
    ];
    let removed = provider.rib.lock().unwrap()[rib_before..]
        .iter()
        .filter(|e| {
            ours.iter()
                .any(|p| **e == zebra_server::RouteEvent::Withdraw { prefix: *p })
        })
        .count();
    assert_eq!(
        removed, 0,
        "the provider dropped our networks across the restart"
    );

    // Shutdown: every route withdrawn, nothing left.
    h.shutdown().await;
    assert!(sink.table.is_empty());
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
}
