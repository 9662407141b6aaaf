//! Graceful restart with Quagga 1.2.4's bgpd as the port's daemon and an FRR 8.4 provider as
//! the helper: what a `kill -9` of Quagga's bgpd really does. It is **not hitless**, on both
//! sides, and this test pins down exactly how:
//!
//! * Quagga advertises the graceful-restart capability (restart time 120 s, the R bit during
//!   its start-up period) and sends End-of-RIB, so the FRR helper keeps our networks, marked
//!   stale, while Quagga's bgpd is down.
//! * But Quagga clears the per-family forwarding-state (F) bit in every OPEN (its
//!   `bgp_open.c`: "Forwarding is not retained as of now"; there is no `preserve-fw-state`).
//!   When the restarted bgpd's session comes up, the helper must therefore drop the stale
//!   routes at once (RFC 4724 §4.2) and learns them again only from Quagga's UPDATEs moments
//!   later: the provider's own RIB removes and re-adds each of our networks.
//! * Quagga speaks Zebra v3, which has no ZEBRA_CLIENT_CAPABILITIES: the zebra server cannot
//!   tell a restart from a shutdown and withdraws the routes bgpd had learned as soon as its
//!   connection closes; the sink sees one withdraw per route and the routes again after the
//!   restarted bgpd re-learns them.
//!
//! Needs root, FRR and the Quagga build (skipped elsewhere, never under CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use common::ports::dual_stack_port;
use common::*;

/// The provider's paths for `prefix`, as their `stale` marks (empty: no path).
fn provider_paths(p: &Provider, prefix: &str) -> Vec<bool> {
    let afi = if prefix.contains(':') { "ipv6" } else { "ipv4" };
    p.bgpd
        .vtysh(&[&format!("show bgp {afi} unicast {prefix} json")])
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .and_then(|v| {
            v["paths"]
                .as_array()
                .map(|a| a.iter().map(|p| p["stale"] == true).collect())
        })
        .unwrap_or_default()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quagga_bgpd_kill_9_with_graceful_restart_is_not_hitless() {
    let test = "quagga_bgpd_kill_9_with_graceful_restart_is_not_hitless";
    let Some(bgpd) = testkit::require_quagga(test) else {
        return;
    };
    let Some(host_bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let lab = Lab::new();
    let ns = lab.provider_ns("up1", &["192.0.2.2/24", "2001:db8::2/64"]);
    let theirs = ["198.51.100.0/24", "2001:db8:1000::/48"];
    let ours = ["203.0.113.0/24", "2001:db8:100::/48"];
    // FRR 8.4 is a graceful-restart helper by default.
    let conf = provider_config(
        65002,
        "192.0.2.2",
        &[("192.0.2.1", 65001), ("2001:db8::1", 65001)],
        &theirs.map(String::from),
    );
    let provider = Arc::new(Provider::start(&host_bgpd, ns, "prov", &conf).await);

    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    // Graceful restart stays at the port's default (on).
    let text = format!(
        "{}bgpd_path = \"{}\"\n{}",
        lab.controller(),
        bgpd.display(),
        dual_stack_port("")
    );
    let cfg = config(&text);
    h.sweep(&cfg).await.unwrap();
    h.apply(&cfg).await;
    let s = wait_port(&h, "p1", 90, "both sessions up and routes", |s| {
        established(s, 2) && has_routes(&sink.table, "p1", &theirs)
    })
    .await;
    let fresh = |p: &Provider| {
        ours.iter().all(|n| {
            let paths = provider_paths(p, n);
            !paths.is_empty() && paths.iter().all(|stale| !stale)
        })
    };
    assert!(
        wait_blocking(60, || fresh(&provider)).await,
        "the provider did not learn our networks"
    );
    // What the helper negotiated with Quagga, per family: Quagga restarts gracefully, has
    // sent End-of-RIB, and its F bit is clear.
    for (peer, family) in [("192.0.2.1", "ipv4Unicast"), ("2001:db8::1", "ipv6Unicast")] {
        let gr = provider.neighbor(peer)["gracefulRestartInfo"].clone();
        assert_eq!(gr["remoteGrMode"], "Restart", "{peer}: {gr}");
        assert_eq!(gr["localGrMode"], "Helper*", "{peer}: {gr}");
        assert_eq!(gr[family]["fBit"], false, "{peer}: {gr}");
        assert_eq!(gr["endOfRibRecv"][family], true, "{peer}: {gr}");
    }

    let pid = s.bgpd_pid.unwrap();
    let withdrawn = sink.withdrawals.load(Ordering::SeqCst);
    let rib_before = provider.rib_len();
    let stale_seen = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (p, stale_seen) = (provider.clone(), stale_seen.clone());
        Sampler::start(move || {
            ours.iter().all(|n| {
                let paths = provider_paths(&p, n);
                if paths.iter().any(|stale| *stale) {
                    stale_seen.store(true, Ordering::Relaxed);
                }
                !paths.is_empty()
            })
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    // SAFETY: kill(2) with a pid read from our own supervisor's status; no memory is touched.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    wait_port(&h, "p1", 60, "Established again with routes", |s| {
        s.bgpd_pid.is_some_and(|p| p != pid)
            && established(s, 2)
            && has_routes(&sink.table, "p1", &theirs)
    })
    .await;
    assert!(
        wait_blocking(60, || fresh(&provider)).await,
        "the provider did not learn our networks again"
    );
    tokio::time::sleep(Duration::from_secs(2)).await;
    let enough = sampler.samples.clone();
    wait_blocking(30, || enough.load(Ordering::Relaxed) >= 10).await;
    let (misses, samples) = sampler.finish();
    let withdrawals = sink.withdrawals.load(Ordering::SeqCst) - withdrawn;
    let rib: Vec<_> = provider.rib.lock().unwrap()[rib_before..].to_vec();

    // The helper engaged: it kept our networks, stale, while Quagga's bgpd was down ...
    assert!(
        stale_seen.load(Ordering::Relaxed),
        "the provider never held our networks as stale ({misses} of {samples} samples missed)"
    );
    // ... and dropped them when the new session came up with the F bit clear: its own RIB
    // removed and then re-added each of our networks.
    for n in ours {
        let prefix: ipnetwork::IpNetwork = n.parse().unwrap();
        let removed = rib
            .iter()
            .position(|e| *e == zebra_server::RouteEvent::Withdraw { prefix });
        let readded = rib.iter().rposition(
            |e| matches!(e, zebra_server::RouteEvent::Replace { prefix: p, .. } if *p == prefix),
        );
        assert!(
            matches!((removed, readded), (Some(r), Some(a)) if r < a),
            "{n}: the provider's RIB did not drop and re-add it: {rib:?}"
        );
    }
    // The zebra server withdrew every route Quagga's bgpd had learned (no GR on Zebra v3).
    assert!(
        withdrawals >= theirs.len(),
        "the sink saw {withdrawals} withdraw(s)"
    );
    assert!(has_routes(&sink.table, "p1", &theirs));
    eprintln!(
        "Quagga kill -9: provider dropped and re-added our networks ({misses} of {samples} \
         samples without them), sink saw {withdrawals} withdraws"
    );
    h.shutdown().await;
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
}
