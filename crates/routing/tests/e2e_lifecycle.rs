//! End to end with real FRR: live configuration changes with minimal disruption, bgpd killed
//! again and again, two ports on one host.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::atomic::Ordering;
use std::sync::Arc;

use common::*;
use routing::real::RealEffects;
use routing::RoutingHandler;

fn port(networks: &str, peers: &str) -> String {
    format!(
        r#"
[[port]]
name = "p1"
uplink = "up1"
address = "192.0.2.1/24"
local_as = 65001
networks = [{networks}]
{peers}"#
    )
}

fn peer(addr: &str, keepalive: u32) -> String {
    format!(
        "[[port.peer]]\naddress = \"{addr}\"\nremote_as = 65002\nkeepalive = {keepalive}\nhold_time = 30\nconnect_retry = 5\n"
    )
}

/// The controller's section and port `p1` with `networks` and `peers`.
fn one_port(lab: &Lab, networks: &str, peers: &str) -> String {
    format!("{}{}", lab.controller(), port(networks, peers))
}

/// A provider bgpd (AS 65002, 192.0.2.2 on up1) peering with 192.0.2.1 (AS 65001) and
/// announcing 198.51.100.0/24.
async fn provider_on_up1(lab: &Lab, bgpd: &std::path::Path) -> Provider {
    let ns = lab.provider_ns("up1", &["192.0.2.2/24"]);
    let conf = provider_config(
        65002,
        "192.0.2.2",
        &[("192.0.2.1", 65001)],
        &["198.51.100.0/24".into()],
    );
    Provider::start(bgpd, ns, "prov", &conf).await
}

/// Whether `provider` learns `prefix` from `from` within `secs`.
async fn learns(provider: &Provider, from: &str, prefix: &str, secs: u64) -> bool {
    wait_blocking(secs, || provider.learned_from(from).contains(prefix)).await
}

/// Shuts the handler down; nothing of the lab's controller is left.
async fn shutdown_leaves_nothing(h: RoutingHandler<RealEffects>, lab: &Lab) {
    h.shutdown().await;
    assert!(leftovers(lab).is_empty(), "{:?}", leftovers(lab));
}

/// A runtime of its own (two workers), for a controller that runs, and "crashes", on it.
fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap()
}

fn connections(p: &Provider, addr: &str) -> u64 {
    p.neighbor(addr)["connectionsEstablished"]
        .as_u64()
        .unwrap_or(0)
}

/// Gap 7: a timer change keeps the session up; peers and networks are added and removed live.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn live_config_changes() {
    let Some(bgpd) = testkit::require_bgpd("live_config_changes") else {
        return;
    };
    let lab = Lab::new();
    let provider = provider_on_up1(&lab, &bgpd).await;
    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    let base = one_port(&lab, "\"203.0.113.0/24\"", &peer("192.0.2.2", 10));
    h.apply(&config(&base)).await;
    wait_port(&h, "p1", 90, "session up", |s| {
        established(s, 1) && installed(s) > 0
    })
    .await;
    assert!(learns(&provider, "192.0.2.1", "203.0.113.0/24", 60).await);
    let before = connections(&provider, "192.0.2.1");
    assert_eq!(before, 1);
    let pid = h.status().await[0].bgpd_pid;

    // Timer change: applied in place, the session stays Established (no new connection).
    let timers = one_port(&lab, "\"203.0.113.0/24\"", &peer("192.0.2.2", 7));
    let r = h.apply(&config(&timers)).await;
    assert_eq!(r.updated, ["p1"]);
    assert!(wait_blocking(30, || provider.bgpd.vtysh(&["show running-config"]).is_ok()).await);
    wait_port(&h, "p1", 30, "timer change applied", |s| s.config_applied).await;
    let ours = testkit::lab::ip(&["netns", "pids", &format!("{}-p1", lab.prefix)]).unwrap();
    assert!(!ours.trim().is_empty());
    // The new keepalive is what our bgpd has configured for the neighbor.
    let s = h.status().await.remove(0);
    assert_eq!(s.bgpd_pid, pid, "bgpd was not restarted");
    // The change is applied (config_applied above); a reset it caused would show as a new
    // connection or a non-Established state right away. Watched over 3 s (the old fixed
    // sleep's length), so a reset and quick re-establishment is caught too.
    let unchanged = tokio::task::block_in_place(|| {
        testkit::lab::holds_for(std::time::Duration::from_secs(3), || {
            connections(&provider, "192.0.2.1") == before
                && provider.neighbor("192.0.2.1")["bgpState"] == "Established"
        })
    });
    assert!(unchanged, "session was reset by a timer change");

    // Network added and removed: the provider sees it come and go.
    let nets = one_port(&lab, "\"198.51.100.128/25\"", &peer("192.0.2.2", 7));
    h.apply(&config(&nets)).await;
    assert!(
        wait_blocking(60, || {
            let l = provider.learned_from("192.0.2.1");
            l.contains("198.51.100.128/25") && !l.contains("203.0.113.0/24")
        })
        .await,
        "{:?}",
        provider.learned_from("192.0.2.1")
    );
    assert_eq!(
        connections(&provider, "192.0.2.1"),
        before,
        "network change reset the session"
    );

    // Peer added (nobody answers at 192.0.2.3: it stays in Connect/Active) and removed.
    let two = one_port(
        &lab,
        "\"198.51.100.128/25\"",
        &format!("{}{}", peer("192.0.2.2", 7), peer("192.0.2.3", 7)),
    );
    h.apply(&config(&two)).await;
    let s = wait_port(&h, "p1", 30, "second peer configured", |s| {
        s.config_applied && s.peers.len() == 2
    })
    .await;
    assert!(s.peers.iter().any(|p| p.address.to_string() == "192.0.2.3"));
    // Removing it leaves the first session alone.
    h.apply(&config(&nets)).await;
    wait_port(&h, "p1", 30, "second peer removed", |s| {
        s.config_applied && s.peers.len() == 1
    })
    .await;
    assert_eq!(connections(&provider, "192.0.2.1"), before);
    assert_eq!(provider.neighbor("192.0.2.1")["bgpState"], "Established");
    shutdown_leaves_nothing(h, &lab).await;
}

/// Gaps 1 and 6: bgpd killed with SIGKILL again and again is restarted, reconfigured, and its
/// routes are withdrawn (zebra session gone) and learned again every time.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bgpd_kill_9_repeatedly_recovers() {
    let Some(bgpd) = testkit::require_bgpd("bgpd_kill_9_repeatedly_recovers") else {
        return;
    };
    let lab = Lab::new();
    let provider = provider_on_up1(&lab, &bgpd).await;
    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    // Without graceful restart (with it, see e2e_graceful.rs: nothing is withdrawn).
    h.apply(&config(
        &one_port(&lab, "\"203.0.113.0/24\"", &peer("192.0.2.2", 5)).replace(
            "local_as = 65001",
            "local_as = 65001\ngraceful_restart = false",
        ),
    ))
    .await;
    let mut s = wait_port(&h, "p1", 90, "first session", |s| {
        established(s, 1) && installed(s) == 1
    })
    .await;
    for round in 1..=3u32 {
        let pid = s.bgpd_pid.unwrap();
        let withdrawn = sink.withdrawals.load(Ordering::SeqCst);
        unsafe {
            libc::kill(pid as i32, libc::SIGKILL);
        }
        s = wait_port(&h, "p1", 120, "recovered after kill", |s| {
            s.bgpd_pid.is_some_and(|p| p != pid)
                && s.config_applied
                && established(s, 1)
                && installed(s) == 1
        })
        .await;
        assert!(
            sink.withdrawals.load(Ordering::SeqCst) > withdrawn,
            "round {round}: routes were not withdrawn when bgpd died"
        );
        assert!(s.bgpd_restarts >= round, "{s:#?}");
        assert!(
            learns(&provider, "192.0.2.1", "203.0.113.0/24", 60).await,
            "round {round}: our network did not come back"
        );
    }
    shutdown_leaves_nothing(h, &lab).await;
}

/// Two BGP ports on one host, each with its own bgpd, uplink and provider.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_ports_on_one_host() {
    let Some(bgpd) = testkit::require_bgpd("two_ports_on_one_host") else {
        return;
    };
    let lab = Lab::new();
    let ns1 = lab.provider_ns("up1", &["192.0.2.2/24"]);
    let ns2 = lab.provider_ns("up2", &["198.51.100.2/24"]);
    let p1 = Provider::start(
        &bgpd,
        ns1,
        "prov",
        &provider_config(
            65002,
            "192.0.2.2",
            &[("192.0.2.1", 65001)],
            &["10.1.0.0/16".into()],
        ),
    )
    .await;
    let p2 = Provider::start(
        &bgpd,
        ns2,
        "prov",
        &provider_config(
            65003,
            "198.51.100.2",
            &[("198.51.100.1", 65001)],
            &["10.2.0.0/16".into()],
        ),
    )
    .await;
    let ports = r#"
[[port]]
name = "a"
uplink = "up1"
address = "192.0.2.1/24"
local_as = 65001
networks = ["203.0.113.0/25"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 5
[[port]]
name = "b"
uplink = "up2"
address = "198.51.100.1/24"
local_as = 65001
networks = ["203.0.113.128/25"]
[[port.peer]]
address = "198.51.100.2"
remote_as = 65003
keepalive = 5
hold_time = 15
connect_retry = 5
"#;
    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    h.apply(&config(&format!("{}{ports}", lab.controller())))
        .await;
    let a = wait_port(&h, "a", 90, "port a", |s| {
        established(s, 1) && has_routes(&sink.table, "a", &["10.1.0.0/16"])
    })
    .await;
    let b = wait_port(&h, "b", 90, "port b", |s| {
        established(s, 1) && has_routes(&sink.table, "b", &["10.2.0.0/16"])
    })
    .await;
    assert_ne!(a.bgpd_pid, b.bgpd_pid);
    assert_ne!(a.namespace, b.namespace);
    assert_eq!(
        sink.table.routes("a").len(),
        1,
        "port a only learns from its own provider"
    );
    assert!(learns(&p1, "192.0.2.1", "203.0.113.0/25", 60).await);
    assert!(learns(&p2, "198.51.100.1", "203.0.113.128/25", 60).await);
    // Removing port b leaves port a untouched.
    let only_a = &ports[..ports.find("[[port]]\nname = \"b\"").unwrap()];
    let r = h
        .apply(&config(&format!("{}{only_a}", lab.controller())))
        .await;
    assert_eq!(r.removed, ["b"]);
    assert!(sink.table.routes("b").is_empty());
    let a2 = h.status().await.remove(0);
    assert_eq!(a2.bgpd_pid, a.bgpd_pid);
    assert!(established(&a2, 1));
    shutdown_leaves_nothing(h, &lab).await;
}

/// Gaps 1 and 2 with the real supervisor: a bgpd that cannot run is retried with backoff until
/// the supervisor gives up, then the port is rebuilt (the health loop never stops); once the
/// configuration names a working bgpd, BGP comes up.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn broken_bgpd_is_retried_until_fixed() {
    let Some(bgpd) = testkit::require_bgpd("broken_bgpd_is_retried_until_fixed") else {
        return;
    };
    let lab = Lab::new();
    let _provider = provider_on_up1(&lab, &bgpd).await;
    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    let good = one_port(&lab, "\"203.0.113.0/24\"", &peer("192.0.2.2", 5));
    // A bgpd that names a supported version (so the zebra profile is found) but never runs.
    let dir = tempfile::tempdir().unwrap();
    let fake = dir.path().join("bgpd");
    std::fs::write(
        &fake,
        "#!/bin/sh\ncase \"$1\" in --version) echo 'bgpd version 8.4.4'; exit 0;; esac\nexit 1\n",
    )
    .unwrap();
    std::fs::set_permissions(&fake, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    let broken = good.replace(
        "status_interval = 1",
        &format!("status_interval = 1\nbgpd_path = \"{}\"", fake.display()),
    );
    h.apply(&config(&broken)).await;
    let s = wait_port(
        &h,
        "p1",
        120,
        "supervisor gave up and the port was rebuilt",
        |s| {
            s.port_restarts >= 1
                && s.last_error
                    .as_deref()
                    .is_some_and(|e| e.contains("gave up"))
        },
    )
    .await;
    assert!(s.peers.is_empty() && installed(&s) == 0, "{s:#?}");
    assert!(
        s.last_error.as_deref().unwrap_or("").contains("gave up"),
        "{:?}",
        s.last_error
    );
    // Only this port's one namespace exists while it retries.
    let mine: Vec<String> = testkit::lab::ip(&["netns", "list"])
        .unwrap()
        .lines()
        .filter(|l| l.starts_with(&format!("{}-", lab.prefix)))
        .map(str::to_string)
        .collect();
    assert!(mine.len() <= 1, "{mine:?}");
    // Fixed configuration: the port is rebuilt with the real bgpd and comes up.
    h.apply(&config(&good)).await;
    wait_port(&h, "p1", 120, "session after the fix", |s| {
        established(s, 1) && installed(s) == 1 && s.last_error.is_none()
    })
    .await;
    shutdown_leaves_nothing(h, &lab).await;
}

/// A controller that dies (no cleanup at all) and comes back with a configuration that no longer
/// has the port: the start-up sweep removes the port's namespace, links and the flows it left on
/// the uplink, which would otherwise redirect the peers' BGP traffic to a deleted link.
#[test]
fn sweep_after_a_crash_removes_flows_of_a_port_no_longer_configured() {
    let Some(_bgpd) =
        testkit::require_bgpd("sweep_after_a_crash_removes_flows_of_a_port_no_longer_configured")
    else {
        return;
    };
    let lab = Lab::new();
    let _up1 = lab.provider_ns("up1", &["192.0.2.2/24"]);
    let _up2 = lab.provider_ns("up2", &["198.51.100.2/24"]);
    let first = one_port(&lab, "", &peer("192.0.2.2", 10));
    let second = format!(
        "{}\n[[port]]\nname = \"q\"\nuplink = \"up2\"\naddress = \"198.51.100.1/24\"\nlocal_as = 65001\n{}",
        lab.controller(),
        "[[port.peer]]\naddress = \"198.51.100.2\"\nremote_as = 65002\n"
    );

    // The "crashed" controller: its runtime is dropped with the port running, so no task gets to
    // clean up (the bgpd supervisor still kills bgpd on drop, as the kernel would via pdeathsig).
    let rt = runtime();
    rt.block_on(async {
        let mut h = handler(Arc::new(CountingSink::default()));
        h.apply(&config(&first)).await;
        assert!(
            wait_blocking(60, || tc_filters(&lab, "up1").contains("mirred")).await,
            "flows never installed on up1"
        );
        std::mem::forget(h);
    });
    rt.shutdown_background();
    assert!(
        tc_filters(&lab, "up1").contains("mirred"),
        "the crash should leave flows behind"
    );
    assert!(
        !leftovers(&lab).is_empty(),
        "the crash should leave the container behind"
    );

    let rt = runtime();
    rt.block_on(async {
        let mut h = handler(Arc::new(CountingSink::default()));
        let swept = h.sweep(&config(&second)).await.unwrap();
        assert!(!swept.is_empty(), "nothing swept");
    });
    let left = tc_filters(&lab, "up1");
    assert!(
        !left.contains("mirred"),
        "flows of the removed port left on up1:\n{left}"
    );
    let left: Vec<String> = leftovers(&lab)
        .into_iter()
        .filter(|l| l.contains("-p1"))
        .collect();
    assert!(left.is_empty(), "leftovers of the removed port: {left:?}");
}
