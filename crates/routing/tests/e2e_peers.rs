//! End to end with external peers we did not write: GoBGP (`gobgpd`) and BIRD 2 as the provider of a port,
//! over IPv4 and IPv6 — sessions up, the provider's routes learned into the port's table, our
//! networks learned by the provider, a withdrawal followed — and GoBGP as the graceful-restart
//! helper of a bgpd `kill -9`. The port's bgpd is the host's FRR.
//! Needs root, FRR, GoBGP and BIRD (skipped elsewhere, never under CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::ports::dual_stack_port;
use common::*;
use testkit::gobgp::{GobgpConfig, TestGobgp};

/// GoBGP's configuration: AS 65002, one neighbor per family; with `gr`, graceful restart on
/// for each neighbor and its family, so it is the helper of our restarting bgpd.
fn gobgp_conf(gr: bool) -> String {
    let ip = |s: &str| s.parse::<IpAddr>().unwrap();
    GobgpConfig::new(65002, "192.0.2.2".parse().unwrap())
        .local_address(ip("192.0.2.2"))
        .local_address(ip("2001:db8::2"))
        .neighbor(ip("192.0.2.1"), 65001)
        .neighbor(ip("2001:db8::1"), 65001)
        .graceful_restart(gr)
        .render()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_peer_ipv4_and_ipv6_routes_both_ways() {
    let test = "gobgp_peer_ipv4_and_ipv6_routes_both_ways";
    let Some(gobgpd) = testkit::gobgp::require_gobgpd(test) else {
        return;
    };
    let Some(_bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let lab = Lab::new();
    let ns = lab.provider_ns("up1", &["192.0.2.2/24", "2001:db8::2/64"]);
    let gobgp =
        tokio::task::block_in_place(|| TestGobgp::start(&gobgpd, &ns, &gobgp_conf(false))).unwrap();
    let nets = ["198.51.100.0/24", "2001:db8:1000::/48"];
    tokio::task::block_in_place(|| {
        gobgp
            .gobgp(&["global", "rib", "add", "-a", "ipv4", nets[0]])
            .unwrap();
        gobgp
            .gobgp(&["global", "rib", "add", "-a", "ipv6", nets[1]])
            .unwrap();
    });

    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    let cfg = config(&format!("{}{}", lab.controller(), dual_stack_port("")));
    h.sweep(&cfg).await.unwrap();
    h.apply(&cfg).await;

    let s = wait_port(&h, "p1", 90, "both GoBGP sessions up and its routes", |s| {
        established(s, 2) && has_routes(&sink.table, "p1", &nets)
    })
    .await;
    let r4 = &sink.table.routes("p1")[&nets[0].parse().unwrap()];
    assert_eq!(r4[0].gateway.unwrap().to_string(), "192.0.2.2");
    let r6 = &sink.table.routes("p1")[&nets[1].parse().unwrap()];
    assert!(r6[0].gateway.unwrap().is_ipv6(), "{r6:?}");
    assert_eq!(sink.table.routes("p1").len(), nets.len());
    assert_eq!(s.routes.installed, Some(nets.len() as u64));

    // GoBGP learns our networks over both families.
    let learned = |afi: &str, prefix: &str| {
        gobgp
            .gobgp(&["global", "rib", "-a", afi])
            .is_ok_and(|t| t.contains(prefix))
    };
    assert!(
        wait_blocking(60, || learned("ipv4", "203.0.113.0/24")
            && learned("ipv6", "2001:db8:100::/48"))
        .await,
        "GoBGP did not learn our networks: {:?} {:?}\n{}",
        gobgp.gobgp(&["global", "rib", "-a", "ipv4"]),
        gobgp.gobgp(&["global", "rib", "-a", "ipv6"]),
        gobgp.log()
    );

    // GoBGP withdraws its IPv6 prefix: it leaves the port's table.
    tokio::task::block_in_place(|| {
        gobgp
            .gobgp(&["global", "rib", "del", "-a", "ipv6", nets[1]])
            .unwrap();
    });
    wait_port(&h, "p1", 60, "the withdrawn prefix gone", |_| {
        !has_routes(&sink.table, "p1", &nets[1..]) && has_routes(&sink.table, "p1", &nets[..1])
    })
    .await;

    h.shutdown().await;
    assert!(sink.table.is_empty());
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
}

/// bgpd `kill -9` with graceful restart (the port's default) and GoBGP 3.10 as the helper, over
/// IPv4 and IPv6: GoBGP keeps both our networks through the restart (its RIB sampled every
/// 100 ms, never without them), marks them stale while our bgpd is away, and clears the marks
/// once the restarted bgpd has sent them again with its End-of-RIB; the sessions are
/// Established again within 8 s (GoBGP itself refuses connections for its fixed 5 s idle hold
/// after a session loss); the port's sink sees no withdraw of GoBGP's routes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_gr_helper_keeps_our_networks_over_bgpd_kill_9() {
    let test = "gobgp_gr_helper_keeps_our_networks_over_bgpd_kill_9";
    let Some(gobgpd) = testkit::gobgp::require_gobgpd(test) else {
        return;
    };
    let Some(_bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let lab = Lab::new();
    let ns = lab.provider_ns("up1", &["192.0.2.2/24", "2001:db8::2/64"]);
    let gobgp = Arc::new(
        tokio::task::block_in_place(|| TestGobgp::start(&gobgpd, &ns, &gobgp_conf(true))).unwrap(),
    );
    let theirs = ["198.51.100.0/24", "2001:db8:1000::/48"];
    let ours = ["203.0.113.0/24", "2001:db8:100::/48"];
    tokio::task::block_in_place(|| {
        for n in theirs {
            let afi = if n.contains(':') { "ipv6" } else { "ipv4" };
            gobgp
                .gobgp(&["global", "rib", "add", "-a", afi, n])
                .unwrap();
        }
    });

    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    // After a session drops GoBGP's FSM idles for a fixed 5 s (its idle hold time, not
    // configurable) and closes every connection it accepts meanwhile — the restarted bgpd's
    // first attempts, ~2 s after the kill. Our bgpd retries every second instead of every 5 s,
    // so the session is back as soon as GoBGP listens again (~6 s after the kill, not 5).
    let port = dual_stack_port("").replace("connect_retry = 5", "connect_retry = 1");
    let cfg = config(&format!("{}{port}", lab.controller()));
    h.sweep(&cfg).await.unwrap();
    h.apply(&cfg).await;
    let s = wait_port(&h, "p1", 90, "both GoBGP sessions up and its routes", |s| {
        established(s, 2) && has_routes(&sink.table, "p1", &theirs)
    })
    .await;
    let fresh = |g: &TestGobgp| {
        ours.iter().all(|n| {
            let paths = g.stale_marks(n);
            !paths.is_empty() && paths.iter().all(|stale| !stale)
        })
    };
    assert!(
        wait_blocking(60, || fresh(&gobgp)).await,
        "GoBGP did not learn our networks:\n{}",
        gobgp.log()
    );
    // GoBGP negotiated graceful restart with our bgpd (its view of the remote capability).
    for peer in ["192.0.2.1", "2001:db8::1"] {
        let n = gobgp.gobgp(&["neighbor", peer]).unwrap();
        assert!(
            n.lines()
                .any(|l| l.contains("graceful-restart:") && l.contains("advertised and received")),
            "{n}"
        );
    }

    let pid = s.bgpd_pid.unwrap();
    let withdrawn = sink.withdrawals.load(Ordering::SeqCst);
    let stale_seen = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (g, stale_seen) = (gobgp.clone(), stale_seen.clone());
        Sampler::start(move || {
            ours.iter().all(|n| {
                let paths = g.stale_marks(n);
                if paths.iter().any(|stale| *stale) {
                    stale_seen.store(true, Ordering::Relaxed);
                }
                !paths.is_empty()
            })
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let killed = Instant::now();
    // SAFETY: kill(2) on the pid of the bgpd this test's controller started; no memory is touched.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    // Established again, as GoBGP sees it (it notices the drop at once: the kernel resets the
    // dead bgpd's connections).
    let gobgp_up = |g: &TestGobgp| {
        ["192.0.2.1", "2001:db8::1"].iter().all(|peer| {
            g.gobgp(&["neighbor", peer])
                .is_ok_and(|n| n.contains("BGP state = ESTABLISHED"))
        })
    };
    assert!(
        wait_blocking(10, || !gobgp_up(&gobgp)).await,
        "GoBGP never saw the sessions drop"
    );
    assert!(
        wait_blocking(60, || gobgp_up(&gobgp)).await,
        "the sessions did not come back:\n{}",
        gobgp.log()
    );
    let up_after = killed.elapsed();
    wait_port(&h, "p1", 60, "Established again", |s| {
        s.bgpd_pid.is_some_and(|p| p != pid) && established(s, 2)
    })
    .await;
    // The helper's sweep: after the restarted bgpd's End-of-RIB nothing of ours is stale.
    assert!(
        wait_blocking(60, || fresh(&gobgp)).await,
        "GoBGP's copies of our networks stayed stale: {:?}\n{}",
        ours.map(|n| gobgp.stale_marks(n)),
        gobgp.log()
    );
    tokio::time::sleep(Duration::from_secs(3)).await;
    let enough = sampler.samples.clone();
    wait_blocking(30, || enough.load(Ordering::Relaxed) >= 10).await;
    let (misses, samples) = sampler.finish();
    let withdrawals = sink.withdrawals.load(Ordering::SeqCst) - withdrawn;

    assert_eq!(
        misses, 0,
        "GoBGP lacked our networks in {misses} of {samples} samples"
    );
    assert!(samples >= 10, "only {samples} samples");
    assert!(
        stale_seen.load(Ordering::Relaxed),
        "GoBGP never marked our networks stale: the helper procedure did not run"
    );
    assert_eq!(withdrawals, 0, "the sink saw {withdrawals} withdraw(s)");
    assert!(has_routes(&sink.table, "p1", &theirs));
    assert!(
        up_after <= Duration::from_secs(8),
        "Established again {up_after:?} after the kill (GoBGP's idle hold is 5 s); GoBGP's log:\n{}",
        gobgp.log()
    );
    eprintln!(
        "GoBGP helper: Established again {up_after:?} after kill -9; {samples} samples, 0 misses, 0 withdraws"
    );
    h.shutdown().await;
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
}

/// BIRD 2's configuration: AS 65002, one session per family, a static route each to announce.
const BIRD_CONF: &str = r#"
router id 192.0.2.2;
protocol device {}
protocol static s4 { ipv4; route 198.51.100.0/24 unreachable; }
protocol static s6 { ipv6; route 2001:db8:1000::/48 unreachable; }
protocol bgp p4 {
  local 192.0.2.2 as 65002;
  neighbor 192.0.2.1 as 65001;
  ipv4 { import all; export all; };
}
protocol bgp p6 {
  local 2001:db8::2 as 65002;
  neighbor 2001:db8::1 as 65001;
  ipv6 { import all; export all; };
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bird_peer_ipv4_and_ipv6_routes_both_ways() {
    let test = "bird_peer_ipv4_and_ipv6_routes_both_ways";
    let Some(bird) = testkit::bird::require_bird(test) else {
        return;
    };
    let Some(_bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let lab = Lab::new();
    let ns = lab.provider_ns("up1", &["192.0.2.2/24", "2001:db8::2/64"]);
    let b = tokio::task::block_in_place(|| testkit::bird::TestBird::start(&bird, &ns, BIRD_CONF))
        .unwrap();
    let nets = ["198.51.100.0/24", "2001:db8:1000::/48"];

    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    let cfg = config(&format!("{}{}", lab.controller(), dual_stack_port("")));
    h.sweep(&cfg).await.unwrap();
    h.apply(&cfg).await;

    let s = wait_port(&h, "p1", 90, "both BIRD sessions up and its routes", |s| {
        established(s, 2) && has_routes(&sink.table, "p1", &nets)
    })
    .await;
    let r4 = &sink.table.routes("p1")[&nets[0].parse().unwrap()];
    assert_eq!(r4[0].gateway.unwrap().to_string(), "192.0.2.2");
    let r6 = &sink.table.routes("p1")[&nets[1].parse().unwrap()];
    assert!(r6[0].gateway.unwrap().is_ipv6(), "{r6:?}");
    assert_eq!(s.routes.installed, Some(nets.len() as u64));

    // BIRD learns our networks over both families.
    let learned = |proto: &str, prefix: &str| {
        b.birdc(&format!("show route protocol {proto}"))
            .is_ok_and(|t| t.contains(prefix))
    };
    assert!(
        wait_blocking(60, || learned("p4", "203.0.113.0/24")
            && learned("p6", "2001:db8:100::/48"))
        .await,
        "BIRD did not learn our networks: {:?}\n{}",
        b.birdc("show route all"),
        b.log()
    );

    // BIRD withdraws its IPv4 prefix: it leaves the port's table.
    tokio::task::block_in_place(|| b.birdc("disable s4")).unwrap();
    wait_port(&h, "p1", 60, "the withdrawn prefix gone", |_| {
        !has_routes(&sink.table, "p1", &nets[..1]) && has_routes(&sink.table, "p1", &nets[1..])
    })
    .await;

    h.shutdown().await;
    assert!(sink.table.is_empty());
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
}
