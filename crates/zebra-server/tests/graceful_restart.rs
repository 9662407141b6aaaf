//! Graceful restart end to end with real daemons: FRR 8.4 bgpd A on our zebra server, peered
//! with a GR helper — an FRR bgpd or BIRD 2 — that advertises 198.51.100.0/24 and learns A's
//! network 203.0.113.0/24.
//!
//! With GR on, bgpd A is killed (SIGKILL) under a steady session and started again:
//! * the peer never drops A's network (its own table sampled every 100 ms),
//! * the server emits no Withdraw (and no Replace: the paths are the same) for the route that
//!   comes back,
//! * the session is Established again within 5 s of the restart.
//!
//! With GR off, the server withdraws at once (and so does the peer).
//!
//! With GoBGP 3.10 as the helper, a network the restarted bgpd no longer has is swept by the
//! helper after bgpd's End-of-RIB, while the one it re-sends is never missing.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::Path;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use common::{interfaces_in, net, Events};
use testkit::bird::TestBird;
use testkit::gobgp::{GobgpConfig, TestGobgp};
use testkit::lab::{veth_between, wait_until, BgpdOptions, TestBgpd, TestNs};
use testkit::sampler::Sampler;
use zebra_server::{ExtraRoute, RouteEvent, ServerConfig, ServerEvent, ZebraServer};

const LONG: Duration = Duration::from_secs(60);

fn config_a(gr: bool) -> String {
    let gr = if gr {
        " bgp graceful-restart\n bgp graceful-restart preserve-fw-state\n bgp graceful-restart rib-stale-time 30\n"
    } else {
        ""
    };
    format!(
        "hostname a\npassword zebra\nrouter bgp 65001\n no bgp ebgp-requires-policy\n{gr}\
         neighbor 192.0.2.2 remote-as 65002\n neighbor 192.0.2.2 timers 3 9\n neighbor 192.0.2.2 timers connect 1\n\
         address-family ipv4 unicast\n  network 203.0.113.0/24\n exit-address-family\n"
    )
}

const CONF_FRR_PEER: &str = "hostname b\npassword zebra\nrouter bgp 65002\n bgp router-id 192.0.2.2\n\
 no bgp ebgp-requires-policy\n no bgp network import-check\n bgp graceful-restart\n\
 neighbor 192.0.2.1 remote-as 65001\n neighbor 192.0.2.1 timers 3 9\n neighbor 192.0.2.1 timers connect 1\n\
 address-family ipv4 unicast\n  network 198.51.100.0/24\n exit-address-family\n";

const CONF_BIRD_PEER: &str = "router id 192.0.2.2;
protocol device {}
protocol static { ipv4; route 198.51.100.0/24 blackhole; }
protocol bgp a {
  local 192.0.2.2 as 65002;
  neighbor 192.0.2.1 as 65001;
  graceful restart on;
  connect retry time 1;
  hold time 9;
  ipv4 { import all; export all; };
}
";

enum Peer {
    Frr(TestBgpd),
    Bird(TestBird),
}

impl Peer {
    /// Whether the peer's own table has A's network (stale or not).
    fn holds_network(&self) -> bool {
        match self {
            Peer::Frr(p) => p
                .vtysh(&["show bgp ipv4 unicast 203.0.113.0/24 json"])
                .ok()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
                .and_then(|v| v["paths"].as_array().map(|a| !a.is_empty()))
                .unwrap_or(false),
            Peer::Bird(p) => p
                .birdc("show route for 203.0.113.0/24 table master4")
                .is_ok_and(|o| o.contains("203.0.113.0/24")),
        }
    }

    /// Whether A's network at the peer is fresh (not marked stale by the helper).
    fn network_fresh(&self) -> bool {
        match self {
            Peer::Frr(p) => p
                .vtysh(&["show bgp ipv4 unicast 203.0.113.0/24 json"])
                .ok()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
                .and_then(|v| {
                    v["paths"]
                        .as_array()
                        .map(|a| !a.is_empty() && a.iter().all(|p| p["stale"].is_null()))
                })
                .unwrap_or(false),
            Peer::Bird(p) => p
                .birdc("show route for 203.0.113.0/24 table master4 all")
                .is_ok_and(|o| o.contains("203.0.113.0/24") && !o.contains("stale")),
        }
    }
}

fn established(a: &TestBgpd) -> bool {
    a.vtysh(&["show bgp summary json"])
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .is_some_and(|v| v["ipv4Unicast"]["peers"]["192.0.2.2"]["state"] == "Established")
}

struct Lab {
    a: TestNs,
    b: TestNs,
    _dir: tempfile::TempDir,
    sock: std::path::PathBuf,
}

fn lab() -> Lab {
    let a = TestNs::new("zga").unwrap();
    let b = TestNs::new("zgb").unwrap();
    veth_between(&a, "va", &b, "vb").unwrap();
    a.add_addr("va", "192.0.2.1/24").unwrap();
    b.add_addr("vb", "192.0.2.2/24").unwrap();
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("zserv.api");
    Lab {
        a,
        b,
        _dir: dir,
        sock,
    }
}

async fn start_server(lab: &Lab) -> (ZebraServer, Events) {
    let mut cfg = ServerConfig::new(&lab.sock);
    cfg.interfaces = interfaces_in(&lab.a);
    cfg.router_id = Some("192.0.2.1".parse().unwrap());
    cfg.extra_routes = vec![ExtraRoute::blackhole(net("203.0.113.0/24"))];
    let (server, rx) = ZebraServer::start(cfg).await.unwrap();
    (server, Events::new(rx))
}

fn start_a(bgpd: &Path, lab: &Lab, gr: bool) -> TestBgpd {
    let opts = BgpdOptions {
        zebra_socket: Some(lab.sock.clone()),
        ..BgpdOptions::default()
    };
    TestBgpd::start(bgpd, &lab.a, &config_a(gr), &opts).unwrap()
}

async fn bgpd_kill_9_is_hitless(bgpd: &Path, lab: &Lab, peer: Peer) {
    let peer = Arc::new(peer);
    let (server, mut events) = start_server(lab).await;
    let mut a = start_a(bgpd, lab, true);
    let v4 = net("198.51.100.0/24");
    assert!(
        events.wait_table(LONG, |t| t.contains_key(&v4)).await,
        "route not learned; log:\n{}",
        a.log()
    );
    assert!(
        wait_until(LONG, || peer.network_fresh()),
        "peer never learned A's network"
    );
    events.drain_for(Duration::from_secs(1)).await;
    let before = events.seen.len();

    let sampler = {
        let p = peer.clone();
        Sampler::start(move || p.holds_network())
    };
    std::thread::sleep(Duration::from_millis(300));
    a.kill();
    assert!(
        events
            .wait_for(LONG, |e| *e == ServerEvent::AllClientsGone)
            .await
    );
    let restarted = Instant::now();
    let a2 = start_a(bgpd, lab, true);
    assert!(
        wait_until(Duration::from_secs(15), || established(&a2)),
        "not Established again; log:\n{}",
        a2.log()
    );
    let up_after = restarted.elapsed();
    // The peer gets A's network again (fresh, End-of-RIB seen) and the server has seen the
    // route's refresh.
    assert!(
        wait_until(LONG, || peer.network_fresh()),
        "peer's copy of A's network stayed stale"
    );
    events.drain_for(Duration::from_secs(3)).await;
    // At least ten samples over the whole restart, however slowly the peer answers under load.
    wait_until(Duration::from_secs(30), || {
        sampler.samples.load(Ordering::Relaxed) >= 10
    });
    let (misses, samples) = sampler.finish();

    let after = &events.seen[before..];
    let routes: Vec<&ServerEvent> = after
        .iter()
        .filter(|e| matches!(e, ServerEvent::Route(_)))
        .collect();
    assert!(
        routes.is_empty(),
        "route events across the restart: {routes:?}\nall: {after:?}"
    );
    assert!(events.table().contains_key(&v4));
    assert_eq!(
        misses, 0,
        "peer lost A's network in {misses} of {samples} samples"
    );
    assert!(samples >= 10, "only {samples} samples");
    assert!(
        up_after <= Duration::from_secs(5),
        "Established again only after {up_after:?}"
    );
    eprintln!(
        "bgpd restart: Established again {:?} after start; {samples} samples, 0 misses",
        up_after
    );
    drop(a2);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bgpd_kill_9_with_gr_is_hitless_frr_peer() {
    let Some(bgpd) = testkit::require_bgpd("bgpd_kill_9_with_gr_is_hitless_frr_peer") else {
        return;
    };
    let lab = lab();
    let peer = TestBgpd::start(&bgpd, &lab.b, CONF_FRR_PEER, &BgpdOptions::default()).unwrap();
    bgpd_kill_9_is_hitless(&bgpd, &lab, Peer::Frr(peer)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bgpd_kill_9_with_gr_is_hitless_bird_peer() {
    let Some(bgpd) = testkit::require_bgpd("bgpd_kill_9_with_gr_is_hitless_bird_peer") else {
        return;
    };
    let Some(bird) = testkit::bird::require_bird("bgpd_kill_9_with_gr_is_hitless_bird_peer") else {
        return;
    };
    let lab = lab();
    let peer = TestBird::start(&bird, &lab.b, CONF_BIRD_PEER).unwrap();
    bgpd_kill_9_is_hitless(&bgpd, &lab, Peer::Bird(peer)).await;
}

/// GoBGP as B: AS 65002, bgpd A its IPv4 neighbor, graceful restart on (A's helper).
fn conf_gobgp_peer() -> String {
    GobgpConfig::new(65002, "192.0.2.2".parse().unwrap())
        .local_address("192.0.2.2".parse().unwrap())
        .neighbor("192.0.2.1".parse().unwrap(), 65001)
        .graceful_restart(true)
        .render()
}

/// bgpd A announces 203.0.113.0/24 and 198.18.0.0/15 to GoBGP (GR helper); it is killed and
/// started again with only 203.0.113.0/24. GoBGP never lacks 203.0.113.0/24 (sampled every
/// 100 ms) and keeps 198.18.0.0/15 as stale while A is away; after A's End-of-RIB the first is
/// fresh and the second is swept. The server sees no route event for the provider's route.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bgpd_kill_9_with_gr_gobgp_peer_keeps_and_sweeps() {
    let test = "bgpd_kill_9_with_gr_gobgp_peer_keeps_and_sweeps";
    let Some(bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let Some(gobgpd) = testkit::gobgp::require_gobgpd(test) else {
        return;
    };
    let lab = lab();
    let gobgp = Arc::new(TestGobgp::start(&gobgpd, &lab.b, &conf_gobgp_peer()).unwrap());
    gobgp
        .gobgp(&["global", "rib", "add", "-a", "ipv4", "198.51.100.0/24"])
        .unwrap();
    let (kept, dropped) = ("203.0.113.0/24", "198.18.0.0/15");
    let mut cfg = ServerConfig::new(&lab.sock);
    cfg.interfaces = interfaces_in(&lab.a);
    cfg.router_id = Some("192.0.2.1".parse().unwrap());
    cfg.extra_routes = vec![
        ExtraRoute::blackhole(net(kept)),
        ExtraRoute::blackhole(net(dropped)),
    ];
    let (server, rx) = ZebraServer::start(cfg).await.unwrap();
    let mut events = Events::new(rx);
    let opts = BgpdOptions {
        zebra_socket: Some(lab.sock.clone()),
        ..BgpdOptions::default()
    };
    let both = config_a(true).replace(
        "  network 203.0.113.0/24\n",
        "  network 203.0.113.0/24\n  network 198.18.0.0/15\n",
    );
    let mut a = TestBgpd::start(&bgpd, &lab.a, &both, &opts).unwrap();
    let v4 = net("198.51.100.0/24");
    assert!(
        events.wait_table(LONG, |t| t.contains_key(&v4)).await,
        "route not learned; log:\n{}",
        a.log()
    );
    let fresh = |g: &TestGobgp, n: &str| {
        let p = g.stale_marks(n);
        !p.is_empty() && p.iter().all(|stale| !stale)
    };
    assert!(
        wait_until(LONG, || fresh(&gobgp, kept) && fresh(&gobgp, dropped)),
        "GoBGP did not learn A's networks:\n{}",
        gobgp.log()
    );
    events.drain_for(Duration::from_secs(1)).await;
    let before = events.seen.len();

    let dropped_stale = Arc::new(AtomicBool::new(false));
    let sampler = {
        let (g, d) = (gobgp.clone(), dropped_stale.clone());
        Sampler::start(move || {
            if g.stale_marks(dropped).iter().any(|stale| *stale) {
                d.store(true, Ordering::Relaxed);
            }
            !g.stale_marks(kept).is_empty()
        })
    };
    std::thread::sleep(Duration::from_millis(300));
    a.kill();
    assert!(
        events
            .wait_for(LONG, |e| *e == ServerEvent::AllClientsGone)
            .await
    );
    let a2 = start_a(&bgpd, &lab, true);
    assert!(
        wait_until(Duration::from_secs(20), || established(&a2)),
        "not Established again; log:\n{}",
        a2.log()
    );
    // After A's End-of-RIB: the network it re-sent is fresh, the one it no longer has is gone.
    assert!(
        wait_until(LONG, || fresh(&gobgp, kept)
            && gobgp.stale_marks(dropped).is_empty()),
        "GoBGP did not sweep: {kept} {:?}, {dropped} {:?}\n{}",
        gobgp.stale_marks(kept),
        gobgp.stale_marks(dropped),
        gobgp.log()
    );
    events.drain_for(Duration::from_secs(2)).await;
    wait_until(Duration::from_secs(30), || {
        sampler.samples.load(Ordering::Relaxed) >= 10
    });
    let (misses, samples) = sampler.finish();
    assert_eq!(
        misses, 0,
        "GoBGP lacked {kept} in {misses} of {samples} samples"
    );
    assert!(samples >= 10, "only {samples} samples");
    assert!(
        dropped_stale.load(Ordering::Relaxed),
        "GoBGP never held {dropped} as stale during the restart"
    );
    let routes: Vec<&ServerEvent> = events.seen[before..]
        .iter()
        .filter(|e| matches!(e, ServerEvent::Route(_)))
        .collect();
    assert!(
        routes.is_empty(),
        "route events across the restart: {routes:?}"
    );
    drop(a2);
    server.shutdown().await;
}

/// The controller dies with its bgpd (kill -9; bgpd follows through its parent-death signal)
/// and a new controller starts a new zebra server and bgpd. The embedder recovered the routes
/// it held (its sink kept them) and hands them to the new server: the route that comes back
/// produces no event, and the peer keeps A's network throughout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn controller_restart_with_recovered_routes_is_hitless() {
    let Some(bgpd) = testkit::require_bgpd("controller_restart_with_recovered_routes_is_hitless")
    else {
        return;
    };
    let Some(bird) =
        testkit::bird::require_bird("controller_restart_with_recovered_routes_is_hitless")
    else {
        return;
    };
    let lab = lab();
    let peer = Arc::new(Peer::Bird(
        TestBird::start(&bird, &lab.b, CONF_BIRD_PEER).unwrap(),
    ));
    let (server, mut events) = start_server(&lab).await;
    let mut a = start_a(&bgpd, &lab, true);
    let v4 = net("198.51.100.0/24");
    assert!(events.wait_table(LONG, |t| t.contains_key(&v4)).await);
    assert!(wait_until(LONG, || peer.network_fresh()));
    events.drain_for(Duration::from_secs(1)).await;
    let held = events.table();

    let sampler = {
        let p = peer.clone();
        Sampler::start(move || p.holds_network())
    };
    std::thread::sleep(Duration::from_millis(300));
    // The controller process dies: its server and its bgpd go at once.
    a.kill();
    drop(server);
    drop(events);
    let restarted = Instant::now();
    let (server, mut events) = start_server(&lab).await;
    server.recover_routes(held.into_iter().collect(), Duration::from_secs(30));
    let a2 = start_a(&bgpd, &lab, true);
    assert!(
        wait_until(Duration::from_secs(15), || established(&a2)),
        "not Established again; log:\n{}",
        a2.log()
    );
    let up_after = restarted.elapsed();
    assert!(wait_until(LONG, || peer.network_fresh()));
    // The route is learned again: the sweep at its UPDATE_COMPLETE finds nothing to withdraw.
    assert!(
        events
            .wait_for(LONG, |e| matches!(
                e,
                ServerEvent::StaleRoutesSwept { withdrawn: 0, .. }
            ))
            .await,
        "no sweep; events: {:?}",
        events.seen
    );
    events.drain_for(Duration::from_secs(2)).await;
    let (misses, samples) = sampler.finish();
    let routes = events.routes();
    assert!(routes.is_empty(), "route events after recovery: {routes:?}");
    assert_eq!(
        misses, 0,
        "peer lost A's network in {misses} of {samples} samples"
    );
    assert!(
        up_after <= Duration::from_secs(5),
        "Established after {up_after:?}"
    );
    drop(a2);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bgpd_kill_9_without_gr_withdraws_at_once() {
    let Some(bgpd) = testkit::require_bgpd("bgpd_kill_9_without_gr_withdraws_at_once") else {
        return;
    };
    let lab = lab();
    let peer = TestBgpd::start(&bgpd, &lab.b, CONF_FRR_PEER, &BgpdOptions::default()).unwrap();
    let peer = Peer::Frr(peer);
    let (server, mut events) = start_server(&lab).await;
    let mut a = start_a(&bgpd, &lab, false);
    let v4 = net("198.51.100.0/24");
    assert!(events.wait_table(LONG, |t| t.contains_key(&v4)).await);
    assert!(wait_until(LONG, || peer.network_fresh()));
    a.kill();
    // The withdraw comes with the close, before AllClientsGone.
    let mut withdrawn = false;
    assert!(
        events
            .wait_for(LONG, |e| {
                withdrawn |= *e == ServerEvent::Route(RouteEvent::Withdraw { prefix: v4 });
                *e == ServerEvent::AllClientsGone
            })
            .await
    );
    assert!(
        withdrawn,
        "no withdraw before AllClientsGone: {:?}",
        events.seen
    );
    // Without GR the peer drops A's network too.
    assert!(
        wait_until(Duration::from_secs(15), || !peer.holds_network()),
        "the peer kept A's network without GR"
    );
    server.shutdown().await;
}
