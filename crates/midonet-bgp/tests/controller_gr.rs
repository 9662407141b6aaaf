//! `kill -9` of the `midonet-bgp` process itself, then a new one, with graceful restart on (the
//! default) and a real FRR provider as GR helper: the provider never drops our network (its own
//! table sampled every 100 ms, and its RIB change by change), the session is Established again
//! within 5 s of the kill, and a clean stop afterwards leaves nothing behind. The same with a
//! BIRD 2 provider (`graceful restart on`).
//!
//! What happens underneath: bgpd dies with the controller (PR_SET_PDEATHSIG), its TCP session
//! closes without a NOTIFICATION, so the provider keeps our routes as stale for the restart time
//! we advertised (RFC 4724); the new controller sweeps the old namespace and flows, builds the port
//! again, and its bgpd re-advertises our networks before the provider's stale timer runs out.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../routing/tests/common/mod.rs"]
mod common;
mod support;

use std::path::Path;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;
use support::{bin, Controller};

const OURS: &str = "203.0.113.0/24";

/// Whether every peer in `status --json` is Established (and, if given, bgpd is not `old_pid`).
fn established_after(socket: &Path, old_pid: Option<u64>) -> bool {
    let Ok(o) = bin()
        .args(["status", "--json", "--socket"])
        .arg(socket)
        .output()
    else {
        return false;
    };
    let Ok(v) = serde_json::from_slice::<serde_json::Value>(&o.stdout) else {
        return false;
    };
    // `{"bgpd": {...}, "ports": [...]}`.
    let port = &v["ports"][0];
    port["peers"]
        .as_array()
        .is_some_and(|ps| !ps.is_empty() && ps.iter().all(|p| p["state"] == "Established"))
        && (old_pid.is_none() || port["bgpd_pid"].as_u64() != old_pid)
}

fn established(socket: &Path) -> bool {
    established_after(socket, None)
}

/// The pid of the port's bgpd in `status --json`.
fn bgpd_pid(socket: &Path) -> Option<u64> {
    let o = bin()
        .args(["status", "--json", "--socket"])
        .arg(socket)
        .output()
        .ok()?;
    let v: serde_json::Value = serde_json::from_slice(&o.stdout).ok()?;
    v["ports"][0]["bgpd_pid"].as_u64()
}

fn config_text(lab: &Lab, run: &Path) -> String {
    format!(
        r#"[controller]
prefix = "{prefix}"
run_dir = "{run}"
host_namespace = "{host}"
status_interval = 1
restart_backoff_initial_ms = 100
restart_backoff_max_ms = 1000

[[port]]
name = "p1"
uplink = "up1"
address = "192.0.2.1/24"
local_as = 65001
networks = ["{OURS}"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 1
"#,
        prefix = lab.prefix,
        run = run.display(),
        host = lab.host.name(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_kill_9_with_graceful_restart_is_hitless() {
    let Some(bgpd) = testkit::require_bgpd("controller_kill_9_with_graceful_restart_is_hitless")
    else {
        return;
    };
    let lab = Lab::new();
    let ns = lab.provider_ns("up1", &["192.0.2.2/24"]);
    // The provider retries its side of the session every second, like ours.
    let conf = provider_config(
        65002,
        "192.0.2.2",
        &[("192.0.2.1", 65001)],
        &["198.51.100.0/24".into()],
    )
    .replace(
        "neighbor 192.0.2.1 timers connect 5",
        "neighbor 192.0.2.1 timers connect 1",
    );
    let provider = Arc::new(Provider::start(&bgpd, ns, "prov", &conf).await);
    let run = lab.run_path().join("run");
    let socket = run.join("control.sock");
    let file = lab.run_path().join("midonet-bgp.toml");
    std::fs::write(&file, config_text(&lab, &run)).unwrap();

    let ctl = Controller::start(&file, &lab.run_path().join("controller1.log"));
    assert!(
        wait_blocking(90, || established(&socket)).await,
        "controller did not converge:\n{}",
        ctl.log()
    );
    assert!(
        wait_blocking(60, || provider.holds(OURS)).await,
        "the provider never learned our network"
    );
    // The provider is a GR helper for us (it saw our capability with the restart time).
    let n = provider.neighbor("192.0.2.1");
    assert!(
        n.to_string().contains("gracefulRestart") || n.to_string().contains("GracefulRestart"),
        "{n:#}"
    );
    let conns = n["connectionsEstablished"].as_u64().unwrap_or(0);
    let rib_before = provider.rib_len();
    let sampler = {
        let p = provider.clone();
        Sampler::start(move || p.holds(OURS))
    };
    tokio::time::sleep(Duration::from_millis(300)).await;

    let killed = Instant::now();
    ctl.signal(libc::SIGKILL);
    drop(ctl);
    let mut ctl = Controller::start(&file, &lab.run_path().join("controller2.log"));
    assert!(
        wait_blocking(60, || {
            let n = provider.neighbor("192.0.2.1");
            n["bgpState"] == "Established"
                && n["connectionsEstablished"].as_u64().unwrap_or(0) > conns
        })
        .await,
        "the session did not come back:\n{}",
        ctl.log()
    );
    let up_after = killed.elapsed();
    assert!(
        wait_blocking(60, || established(&socket)).await,
        "{}",
        ctl.log()
    );
    // Let both bgpds finish the restart (End-of-RIB both ways, the stale sweep on the provider).
    tokio::time::sleep(Duration::from_secs(3)).await;
    let enough = sampler.samples.clone();
    wait_blocking(30, || enough.load(Ordering::Relaxed) >= 10).await;
    let (misses, samples) = sampler.finish();
    let removed = provider.removals_since(rib_before, OURS);
    assert!(samples >= 10, "only {samples} samples");
    assert_eq!(
        misses, 0,
        "the provider lacked our network in {misses} of {samples} samples"
    );
    assert_eq!(removed, 0, "the provider's bgpd removed our network");
    assert!(provider.holds(OURS));
    assert!(
        up_after <= Duration::from_secs(5),
        "Established again {up_after:?} after the kill:\n{}",
        ctl.log()
    );
    eprintln!("controller kill -9: Established again {up_after:?}; {samples} samples, 0 misses");

    // A clean stop leaves nothing of either run.
    ctl.signal(libc::SIGTERM);
    assert_eq!(ctl.wait_exit(60).await, Some(0), "{}", ctl.log());
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
}

const BIRD_PEER: &str = "router id 192.0.2.2;
protocol device {}
protocol static { ipv4; route 198.51.100.0/24 blackhole; }
protocol bgp up {
  local 192.0.2.2 as 65002;
  neighbor 192.0.2.1 as 65001;
  graceful restart on;
  connect retry time 1;
  hold time 15;
  ipv4 { import all; export all; };
}
";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_kill_9_with_graceful_restart_is_hitless_bird_peer() {
    let test = "controller_kill_9_with_graceful_restart_is_hitless_bird_peer";
    let Some(_bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let Some(bird) = testkit::bird::require_bird(test) else {
        return;
    };
    let lab = Lab::new();
    let ns = lab.provider_ns("up1", &["192.0.2.2/24"]);
    let peer = Arc::new(testkit::bird::TestBird::start(&bird, &ns, BIRD_PEER).unwrap());
    let run = lab.run_path().join("run");
    let socket = run.join("control.sock");
    let file = lab.run_path().join("midonet-bgp.toml");
    std::fs::write(&file, config_text(&lab, &run)).unwrap();
    let bird_holds = {
        let peer = peer.clone();
        move || {
            peer.birdc(&format!("show route for {OURS} table master4"))
                .is_ok_and(|o| o.contains(OURS))
        }
    };

    let ctl = Controller::start(&file, &lab.run_path().join("controller1.log"));
    assert!(
        wait_blocking(90, || established(&socket)).await,
        "controller did not converge:\n{}\nbird:\n{}",
        ctl.log(),
        peer.log()
    );
    assert!(
        wait_blocking(60, &bird_holds).await,
        "BIRD never learned our network"
    );
    // BIRD negotiated graceful restart with us (it will be our helper).
    let proto = peer.birdc("show protocols all up").unwrap();
    assert!(proto.contains("graceful restart"), "{proto}");
    let pid = bgpd_pid(&socket);
    assert!(pid.is_some());
    let sampler = Sampler::start(bird_holds.clone());
    tokio::time::sleep(Duration::from_millis(300)).await;

    let killed = Instant::now();
    ctl.signal(libc::SIGKILL);
    drop(ctl);
    let mut ctl = Controller::start(&file, &lab.run_path().join("controller2.log"));
    assert!(
        wait_blocking(60, || established_after(&socket, pid)).await,
        "the session did not come back:\n{}\nbird:\n{}",
        ctl.log(),
        peer.log()
    );
    let up_after = killed.elapsed();
    tokio::time::sleep(Duration::from_secs(3)).await;
    let enough = sampler.samples.clone();
    wait_blocking(30, || enough.load(Ordering::Relaxed) >= 10).await;
    let (misses, samples) = sampler.finish();
    assert!(samples >= 10, "only {samples} samples");
    assert_eq!(
        misses, 0,
        "BIRD lacked our network in {misses} of {samples} samples"
    );
    // After the restart BIRD's copy is fresh again (its stale mark cleared by our End-of-RIB).
    assert!(
        wait_blocking(30, || peer
            .birdc(&format!("show route for {OURS} table master4 all"))
            .is_ok_and(|o| o.contains(OURS) && !o.contains("stale")))
        .await,
        "{}",
        peer.birdc(&format!("show route for {OURS} table master4 all"))
            .unwrap_or_default()
    );
    assert!(
        up_after <= Duration::from_secs(5),
        "Established again {up_after:?} after the kill:\n{}",
        ctl.log()
    );
    eprintln!("controller kill -9 (BIRD helper): Established again {up_after:?}; {samples} samples, 0 misses");
    ctl.signal(libc::SIGTERM);
    assert_eq!(ctl.wait_exit(60).await, Some(0), "{}", ctl.log());
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
}
