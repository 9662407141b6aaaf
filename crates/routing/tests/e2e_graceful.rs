//! End to end with real FRR, through the whole controller (real effects: namespace, flows, our
//! zebra server, supervised bgpd, Vty bootstrap): hitless restarts and changes.
//!
//! * bgpd `kill -9` with graceful restart (the default): the provider never drops our network
//!   (its own table sampled every 100 ms), the sink sees no withdraw for the route that comes
//!   back, the session is Established again within 5 s;
//! * the same with `graceful_restart = false`: the route is withdrawn at once (today's
//!   behaviour);
//! * live changes (status interval, a peer's description, password and timers, the networks)
//!   reset no session;
//! * a new `prefix` and `run_dir` leave no namespace, link, filter or file of the old names, in
//!   the kernel.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::*;

fn port(extra: &str, peer_extra: &str) -> String {
    format!(
        r#"
[[port]]
name = "p1"
uplink = "up1"
address = "192.0.2.1/24"
local_as = 65001
networks = ["203.0.113.0/24"]
{extra}
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 5
{peer_extra}
"#
    )
}

async fn provider(bgpd: &std::path::Path, lab: &Lab) -> Provider {
    let ns = lab.provider_ns("up1", &["192.0.2.2/24"]);
    let conf = provider_config(
        65002,
        "192.0.2.2",
        &[("192.0.2.1", 65001)],
        &["198.51.100.0/24".into()],
    );
    Provider::start(bgpd, ns, "prov", &conf).await
}

async fn kill_9_round(graceful: bool) {
    let name = if graceful {
        "bgpd_kill_9_with_graceful_restart_is_hitless"
    } else {
        "bgpd_kill_9_without_graceful_restart_withdraws"
    };
    let Some(bgpd) = testkit::require_bgpd(name) else {
        return;
    };
    let lab = Lab::new();
    let provider = Arc::new(provider(&bgpd, &lab).await);
    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    let extra = if graceful {
        ""
    } else {
        "graceful_restart = false"
    };
    h.apply(&config(&format!("{}{}", lab.controller(), port(extra, ""))))
        .await;
    let s = wait_port(&h, "p1", 90, "session up", |s| {
        established(s, 1) && has_routes(&sink.table, "p1", &["198.51.100.0/24"])
    })
    .await;
    assert!(
        wait_blocking(60, || provider
            .learned_from("192.0.2.1")
            .contains("203.0.113.0/24"))
        .await
    );
    let pid = s.bgpd_pid.unwrap();
    let withdrawn = sink.withdrawals.load(Ordering::SeqCst);
    let rib_before = provider.rib_len();
    let sampler = {
        let p = provider.clone();
        Sampler::start(move || p.holds("203.0.113.0/24"))
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = Instant::now();
    // SAFETY: kill(2) on the pid of the bgpd this test's controller started.
    unsafe {
        libc::kill(pid as i32, libc::SIGKILL);
    }
    // Established again, as the provider sees it (its count of established connections
    // grows; the helper never left Established's routes, but the session itself restarts).
    let conns = provider.neighbor("192.0.2.1")["connectionsEstablished"]
        .as_u64()
        .unwrap_or(0);
    assert!(
        wait_blocking(60, || {
            let n = provider.neighbor("192.0.2.1");
            n["bgpState"] == "Established"
                && n["connectionsEstablished"].as_u64().unwrap_or(0) > conns
        })
        .await,
        "the session did not come back"
    );
    let up_after = killed.elapsed();
    let s = wait_port(&h, "p1", 60, "Established again", |s| {
        s.bgpd_pid.is_some_and(|p| p != pid) && established(s, 1)
    })
    .await;
    let s = if graceful {
        s
    } else {
        wait_port(&h, "p1", 60, "route back", |_| {
            has_routes(&sink.table, "p1", &["198.51.100.0/24"])
        })
        .await
    };
    assert!(
        has_routes(&sink.table, "p1", &["198.51.100.0/24"]),
        "{s:#?}"
    );
    // Let bgpd finish its restart (End-of-RIB both ways, its update-complete to zebra).
    tokio::time::sleep(Duration::from_secs(3)).await;
    // At least ten samples over the whole restart, however slowly vtysh answers under load.
    let enough = sampler.samples.clone();
    wait_blocking(30, || enough.load(Ordering::Relaxed) >= 10).await;
    let (misses, samples) = sampler.finish();
    let withdrawals = sink.withdrawals.load(Ordering::SeqCst) - withdrawn;
    // The provider's own RIB, change by change (continuous, unlike sampling): did its bgpd ever
    // remove our network?
    let removed = provider.removals_since(rib_before, "203.0.113.0/24");
    if graceful {
        assert_eq!(withdrawals, 0, "the sink saw {withdrawals} withdraw(s)");
        assert_eq!(
            misses, 0,
            "the provider lacked our network in {misses} of {samples} samples"
        );
        assert_eq!(removed, 0, "the provider's bgpd removed our network");
        assert!(
            up_after <= Duration::from_secs(5),
            "Established again {up_after:?} after the kill"
        );
        eprintln!("GR: Established again {up_after:?} after kill -9; {samples} samples, 0 misses, 0 withdraws");
    } else {
        assert!(withdrawals >= 1, "no withdraw without graceful restart");
        assert!(misses >= 1, "the provider kept our network without GR");
        assert!(
            removed >= 1,
            "the provider's bgpd never removed our network"
        );
    }
    assert!(samples >= 10, "only {samples} samples");
    h.shutdown().await;
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bgpd_kill_9_with_graceful_restart_is_hitless() {
    kill_9_round(true).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bgpd_kill_9_without_graceful_restart_withdraws() {
    kill_9_round(false).await;
}

fn uptime(p: &Provider) -> (u64, u64) {
    let n = p.neighbor("192.0.2.1");
    (
        n["connectionsEstablished"].as_u64().unwrap_or(0),
        n["bgpTimerUpMsec"].as_u64().unwrap_or(0),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_changes_reset_no_session() {
    let Some(bgpd) = testkit::require_bgpd("live_changes_reset_no_session") else {
        return;
    };
    let lab = Lab::new();
    let provider = provider(&bgpd, &lab).await;
    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    h.apply(&config(&format!("{}{}", lab.controller(), port("", ""))))
        .await;
    let s = wait_port(&h, "p1", 90, "session up", |s| established(s, 1)).await;
    let pid = s.bgpd_pid;
    let (conns, up0) = uptime(&provider);
    assert_eq!(conns, 1);
    let changed = format!(
        "{}{}",
        lab.controller()
            .replace("status_interval = 1", "status_interval = 2"),
        port(
            "networks = [\"203.0.113.0/24\", \"198.51.100.128/25\"]",
            "description = \"provider\"\npassword = \"s3cret\"",
        )
        .replace("keepalive = 5", "keepalive = 7")
        .replace("networks = [\"203.0.113.0/24\"]\n", ""),
    );
    let r = h.apply(&config(&changed)).await;
    assert_eq!(r.updated, ["p1"]);
    wait_port(&h, "p1", 30, "applied", |s| s.config_applied).await;
    // The provider must learn the new network over the same session. A new MD5 password makes
    // bgpd reset that TCP session (as MD5 requires), so the provider is given it too.
    provider.configure(&["router bgp 65002", "neighbor 192.0.2.1 password s3cret"]);
    assert!(
        wait_blocking(60, || provider
            .learned_from("192.0.2.1")
            .contains("198.51.100.128/25"))
        .await
    );
    let s = h.status().await.remove(0);
    assert_eq!(s.bgpd_pid, pid, "bgpd restarted");
    assert_eq!(s.port_restarts, 0, "port rebuilt");
    let (conns_after, up1) = uptime(&provider);
    // Only the password may reset the session (bgpd does, for MD5); nothing else may.
    assert!(conns_after <= 2, "{conns_after} connections");
    if conns_after == 1 {
        assert!(up1 > up0, "uptime did not grow: {up0} -> {up1}");
    }
    // Without the password: status interval, description, timers and networks only.
    let (c0, u0) = uptime(&provider);
    let calm = changed
        .replace("status_interval = 2", "status_interval = 3")
        .replace("description = \"provider\"", "description = \"provider A\"")
        .replace("keepalive = 7", "keepalive = 9")
        .replace(", \"198.51.100.128/25\"", "");
    h.apply(&config(&calm)).await;
    wait_port(&h, "p1", 30, "applied", |s| s.config_applied).await;
    assert!(
        wait_blocking(60, || !provider
            .learned_from("192.0.2.1")
            .contains("198.51.100.128/25"))
        .await
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let (c1, u1) = uptime(&provider);
    assert_eq!(c1, c0, "a live change reset the session");
    assert!(u1 > u0, "uptime did not grow: {u0} -> {u1}");
    assert_eq!(h.status().await[0].port_restarts, 0);
    h.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_prefix_leaves_nothing_of_the_old_names_in_the_kernel() {
    let Some(bgpd) =
        testkit::require_bgpd("a_new_prefix_leaves_nothing_of_the_old_names_in_the_kernel")
    else {
        return;
    };
    let lab = Lab::new();
    let _provider = provider(&bgpd, &lab).await;
    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    h.apply(&config(&format!("{}{}", lab.controller(), port("", ""))))
        .await;
    wait_port(&h, "p1", 90, "session up", |s| established(s, 1)).await;
    let old_ns = format!("{}-p1", lab.prefix);
    assert!(
        tc_filters(&lab, "up1").contains(&old_ns),
        "{}",
        tc_filters(&lab, "up1")
    );

    let new_prefix = unique_prefix();
    let _guard = PrefixGuard(new_prefix.clone());
    let new_run = tempfile::Builder::new()
        .prefix("mbgp-e2e2")
        .tempdir_in("/tmp")
        .unwrap();
    let moved = lab
        .controller()
        .replace(
            &format!("prefix = \"{}\"", lab.prefix),
            &format!("prefix = \"{new_prefix}\""),
        )
        .replace(
            &lab.run_dir.path().display().to_string(),
            &new_run.path().display().to_string(),
        );
    h.apply(&config(&format!("{moved}{}", port("", "")))).await;
    let s = wait_port(&h, "p1", 90, "session up again", |s| established(s, 1)).await;
    assert_eq!(s.namespace, format!("{new_prefix}-p1"));
    // In the kernel: no namespace or host link of the old prefix, no filter naming it.
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
    let filters = tc_filters(&lab, "up1");
    assert!(!filters.contains(&old_ns), "old filters left: {filters}");
    assert!(filters.contains(&format!("{new_prefix}-p1")), "{filters}");
    h.shutdown().await;
}
