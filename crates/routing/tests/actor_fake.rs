//! The port actor's lifecycle against fake side effects (no privileges needed).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::fake::FakeConfig;
use std::sync::Arc;
use std::time::Duration;

use ipnetwork::IpNetwork;
use routing::config::Config;
use routing::fake::FakeEffects;
use routing::{
    BgpdEvent, PeerStatus, PortPhase, PortStatus, RouteChange, RoutePath, RoutingHandler, Step,
    TableSink, ZebraEvent,
};
use vty::config::{Afi, Asn, Command, Node};

/// Whether a batch of typed commands holds one with this line.
fn has(batch: &[Command], line: &str) -> bool {
    batch.iter().any(|c| c.line() == line)
}

/// The batch as (node, line) pairs.
fn typed(batch: &[Command]) -> Vec<(Node, &str)> {
    batch.iter().map(|c| (c.node(), c.line())).collect()
}

/// The configuration the tests start from (see `common::fake`).
fn base_text() -> String {
    FakeConfig {
        address6: Some("2001:db8::1/64"),
        ..FakeConfig::default()
    }
    .render()
}

fn cfg(text: &str) -> Config {
    Config::parse(text).unwrap()
}

fn net(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

fn path(gw: &str) -> RoutePath {
    RoutePath {
        gateway: Some(gw.parse().unwrap()),
        ifindex: Some(2),
        distance: 20,
        metric: 0,
        weight: 1,
    }
}

async fn port_status(h: &RoutingHandler<FakeEffects>, name: &str) -> PortStatus {
    h.status()
        .await
        .into_iter()
        .find(|s| s.name == name)
        .unwrap()
}

/// Polls the handler until `cond` holds for port `name` (virtual time: cheap).
async fn wait_for(
    h: &RoutingHandler<FakeEffects>,
    name: &str,
    what: &str,
    cond: impl Fn(&PortStatus) -> bool,
) -> PortStatus {
    for _ in 0..2000 {
        let s = port_status(h, name).await;
        if cond(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: last status {:#?}", port_status(h, name).await);
}

fn started() -> (FakeEffects, Arc<TableSink>, RoutingHandler<FakeEffects>) {
    let fx = FakeEffects::new();
    let sink = Arc::new(TableSink::new());
    let h = RoutingHandler::new(fx.clone(), sink.clone());
    (fx, sink, h)
}

#[tokio::test(start_paused = true)]
async fn lifecycle_order_and_bootstrap() {
    let (fx, _sink, mut h) = started();
    let report = h.apply(&cfg(&base_text())).await;
    assert_eq!(report.added, ["p1"]);
    let s = wait_for(&h, "p1", "configured", |s| s.config_applied).await;
    assert_eq!(s.phase, PortPhase::Running);
    assert_eq!(s.namespace, "mnb-p1");
    let log = fx.log();
    let order: Vec<&str> = log.iter().map(|l| l.split(' ').next().unwrap()).collect();
    assert_eq!(
        order,
        ["container", "zebra", "flows", "bgpd", "vty"],
        "{log:?}"
    );
    let batches = fx.applied("p1");
    assert_eq!(batches.len(), 1);
    let boot = &batches[0];
    for c in [
        "router bgp 65001",
        "bgp router-id 192.0.2.1",
        "no bgp ebgp-requires-policy",
        "neighbor 192.0.2.2 remote-as 65002",
        "neighbor 192.0.2.2 timers 10 30",
        "network 203.0.113.0/24",
        "maximum-paths 8",
        "log file /run/fake/bgpd-p1.log",
    ] {
        assert!(has(boot, c), "{c} missing from {boot:?}");
    }
    // The actor counted the batch it sent, where it sent it.
    assert_eq!(s.counters.config_applies, 1);
    assert_eq!(s.counters.vty_config_commands, boot.len() as u64);
    assert_eq!(s.counters.vty_config_failures, 0);
    assert!(s.counters.config_applied_at.is_some());
    h.shutdown().await;
    assert!(fx.containers().is_empty());
    assert!(fx.flows("p1").is_none());
}

/// The base configuration without graceful restart: the actor itself withdraws when bgpd or its zebra session goes.
fn no_gr() -> String {
    base_text().replace(
        "local_as = 65001",
        "local_as = 65001\ngraceful_restart = false",
    )
}

#[tokio::test(start_paused = true)]
async fn routes_flow_to_sink_and_are_withdrawn_when_zebra_session_ends() {
    let (fx, sink, mut h) = started();
    h.apply(&cfg(&no_gr())).await;
    wait_for(&h, "p1", "configured", |s| s.config_applied).await;
    let ecmp = vec![path("192.0.2.2"), path("192.0.2.3")];
    assert!(fx.zebra("p1", ZebraEvent::SessionUp).await);
    assert!(
        fx.zebra(
            "p1",
            ZebraEvent::Route(RouteChange::Replace {
                prefix: net("198.51.100.0/24"),
                paths: ecmp.clone()
            })
        )
        .await
    );
    assert!(
        fx.zebra(
            "p1",
            ZebraEvent::Route(RouteChange::Replace {
                prefix: net("2001:db8:200::/48"),
                paths: vec![path("2001:db8::2")]
            })
        )
        .await
    );
    let s = wait_for(&h, "p1", "two routes", |s| s.routes.installed == Some(2)).await;
    assert!(s.zebra_connected);
    // The zebra server's message counts are in the port's status.
    assert_eq!(s.counters.zebra_messages.get("HELLO"), Some(&1));
    assert_eq!(s.counters.zebra_messages.get("ROUTE_ADD"), Some(&2));
    assert_eq!(s.counters.zebra_decode_errors, 0);
    assert_eq!(sink.routes("p1")[&net("198.51.100.0/24")], ecmp);
    // Gap 6: routes go when the zebra session drops, even though bgpd keeps running.
    fx.zebra("p1", ZebraEvent::SessionDown).await;
    wait_for(&h, "p1", "routes withdrawn", |s| {
        s.routes.installed == Some(0)
    })
    .await;
    assert!(sink.is_empty());
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn with_graceful_restart_the_zebra_server_settles_routes_not_the_actor() {
    let (fx, sink, mut h) = started();
    h.apply(&cfg(&base_text())).await;
    wait_for(&h, "p1", "configured", |s| s.config_applied).await;
    let boot = fx.applied_lines("p1")[0].clone();
    assert!(boot.iter().any(|l| l == "bgp graceful-restart"), "{boot:?}");
    let (kept, gone) = (net("198.51.100.0/24"), net("203.0.113.0/24"));
    for p in [kept, gone] {
        fx.zebra(
            "p1",
            ZebraEvent::Route(RouteChange::Replace {
                prefix: p,
                paths: vec![path("192.0.2.2")],
            }),
        )
        .await;
    }
    wait_for(&h, "p1", "routes", |s| s.routes.installed == Some(2)).await;
    // bgpd dies and its zebra session ends: nothing is withdrawn by the actor.
    fx.zebra("p1", ZebraEvent::SessionDown).await;
    assert!(fx.crash_bgpd("p1").await);
    wait_for(&h, "p1", "reconfigured", |s| {
        s.config_applied && fx.applied("p1").len() == 2
    })
    .await;
    assert_eq!(sink.len(), 2, "routes kept across the restart");
    // The zebra server's sweep after the restart withdraws what did not come back, once.
    fx.zebra(
        "p1",
        ZebraEvent::Route(RouteChange::Withdraw { prefix: gone }),
    )
    .await;
    wait_for(&h, "p1", "swept", |s| s.routes.installed == Some(1)).await;
    assert_eq!(sink.len(), 1);
    assert!(
        sink.routes("p1").contains_key(&kept),
        "the route bgpd sent again is kept"
    );
    h.shutdown().await;
    assert!(sink.is_empty(), "shutdown withdraws every route");
}

#[tokio::test(start_paused = true)]
async fn thousands_of_learned_routes_under_the_default_cap() {
    // Gap 8: MidoNet capped learned routes at 200 per port; the default cap is 2 M.
    let (fx, sink, mut h) = started();
    h.apply(&cfg(&base_text())).await;
    wait_for(&h, "p1", "configured", |s| s.config_applied).await;
    for i in 0..5000u32 {
        let prefix =
            IpNetwork::new(std::net::Ipv4Addr::from(0x0a00_0000 + (i << 8)).into(), 24).unwrap();
        fx.zebra(
            "p1",
            ZebraEvent::Route(RouteChange::Replace {
                prefix,
                paths: vec![path("192.0.2.2")],
            }),
        )
        .await;
    }
    wait_for(&h, "p1", "5000 routes", |s| {
        s.routes.installed == Some(5000)
    })
    .await;
    assert_eq!(sink.len(), 5000);
    h.shutdown().await;
    assert!(sink.is_empty(), "shutdown withdraws every route");
}

#[tokio::test(start_paused = true)]
async fn bgpd_restart_reapplies_full_config_and_withdraws_routes_every_time() {
    // Gap 1: the health loop keeps working after any number of restarts.
    let (fx, sink, mut h) = started();
    h.apply(&cfg(&no_gr())).await;
    wait_for(&h, "p1", "configured", |s| s.config_applied).await;
    for round in 1..=5usize {
        fx.zebra(
            "p1",
            ZebraEvent::Route(RouteChange::Replace {
                prefix: net("198.51.100.0/24"),
                paths: vec![path("192.0.2.2")],
            }),
        )
        .await;
        wait_for(&h, "p1", "route", |s| s.routes.installed == Some(1)).await;
        assert!(fx.crash_bgpd("p1").await);
        wait_for(&h, "p1", "reconfigured", |s| {
            s.config_applied && fx.applied("p1").len() == round + 1
        })
        .await;
        assert!(sink.is_empty(), "routes withdrawn when bgpd exited");
        let last = fx.applied("p1").last().unwrap().clone();
        assert!(has(&last, "router bgp 65001"));
        assert!(has(&last, "neighbor 192.0.2.2 timers 10 30"));
    }
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn live_changes_use_minimal_diffs() {
    let (fx, _sink, mut h) = started();
    h.apply(&cfg(&base_text())).await;
    wait_for(&h, "p1", "configured", |s| s.config_applied).await;
    // Timer change: one command, the neighbor is not removed (gap 7).
    let timers = base_text().replace("keepalive = 10", "keepalive = 15");
    let r = h.apply(&cfg(&timers)).await;
    assert_eq!(r.updated, ["p1"]);
    wait_for(&h, "p1", "timer diff", |_| fx.applied("p1").len() == 2).await;
    let router = Node::Router(Asn::new(65001).unwrap());
    assert_eq!(
        typed(&fx.applied("p1")[1]),
        [(router.clone(), "neighbor 192.0.2.2 timers 15 30")]
    );
    assert_eq!(
        fx.applied_lines("p1")[1],
        [
            "router bgp 65001",
            "neighbor 192.0.2.2 timers 15 30",
            "exit"
        ]
    );
    // Same config again: nothing sent, nothing rebuilt.
    let r = h.apply(&cfg(&timers)).await;
    assert_eq!(r.unchanged, ["p1"]);
    // Peer added: neighbor commands and new flows.
    let more = format!("{timers}[[port.peer]]\naddress = \"192.0.2.3\"\nremote_as = 65003\n");
    h.apply(&cfg(&more)).await;
    wait_for(&h, "p1", "peer diff", |_| fx.applied("p1").len() == 3).await;
    // With its export route-map: only the port's own routes (the AS-path list exists already).
    let out = vty::config::PolicyName::new("mnb-p1-192.0.2.3-out").unwrap();
    let entry = Node::RouteMap(out, vty::config::Action::Permit, 10);
    let v4 = Node::AddressFamily(Asn::new(65001).unwrap(), Afi::Ipv4);
    assert_eq!(
        typed(&fx.applied("p1")[2]),
        [
            (entry, "match as-path mnb-p1-own"),
            (router, "neighbor 192.0.2.3 remote-as 65003"),
            (v4, "neighbor 192.0.2.3 route-map mnb-p1-192.0.2.3-out out"),
        ]
    );
    assert_eq!(
        fx.flows("p1").unwrap(),
        vec![
            "192.0.2.2".parse::<std::net::IpAddr>().unwrap(),
            "192.0.2.3".parse().unwrap()
        ]
    );
    // Network removed and added.
    let nets = more.replace("203.0.113.0/24", "2001:db8:300::/48");
    h.apply(&cfg(&nets)).await;
    wait_for(&h, "p1", "network diff", |_| fx.applied("p1").len() == 4).await;
    let d = &fx.applied("p1")[3];
    let v4 = Node::AddressFamily(Asn::new(65001).unwrap(), Afi::Ipv4);
    let v6 = Node::AddressFamily(Asn::new(65001).unwrap(), Afi::Ipv6);
    assert_eq!(
        typed(d),
        [
            (v4, "no network 203.0.113.0/24"),
            (v6, "network 2001:db8:300::/48")
        ]
    );
    // Nothing was rebuilt along the way.
    assert_eq!(
        fx.log()
            .iter()
            .filter(|l| l.starts_with("container"))
            .count(),
        1
    );
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn as_or_address_change_rebuilds_the_port() {
    let (fx, _sink, mut h) = started();
    h.apply(&cfg(&base_text())).await;
    wait_for(&h, "p1", "configured", |s| s.config_applied).await;
    assert!(fx.zebra("p1", ZebraEvent::SessionUp).await);
    wait_for(&h, "p1", "zebra up", |s| s.zebra_connected).await;
    for (i, text) in [
        base_text().replace("local_as = 65001", "local_as = 65011"),
        base_text().replace(
            "local_as = 65001",
            "local_as = 65011\nmac = \"02:00:00:00:00:09\"",
        ),
        base_text()
            .replace(
                "local_as = 65001",
                "local_as = 65011\nmac = \"02:00:00:00:00:09\"",
            )
            .replace("192.0.2.1/24", "192.0.2.5/24"),
    ]
    .iter()
    .enumerate()
    {
        h.apply(&cfg(text)).await;
        let s = wait_for(&h, "p1", "rebuilt", |s| {
            s.config_applied && s.port_restarts == i as u32 + 1
        })
        .await;
        assert_eq!(s.phase, PortPhase::Running);
        // The first server's messages stay counted across rebuilds (new servers).
        assert_eq!(s.counters.zebra_messages.get("HELLO"), Some(&1), "{s:?}");
        let log = fx.log();
        assert_eq!(
            log.iter().filter(|l| l.starts_with("container")).count(),
            i + 2,
            "{log:?}"
        );
    }
    let last = fx.applied("p1").last().unwrap().clone();
    assert!(has(&last, "router bgp 65011"));
    assert!(has(&last, "bgp router-id 192.0.2.5"));
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn rejected_command_is_reported_and_retried() {
    // Gap 3: a command bgpd refuses is noticed, shown in status, and retried.
    let (fx, _sink, mut h) = started();
    fx.reject_commands_containing(Some("network 203.0.113.0/24"));
    h.apply(&cfg(&base_text())).await;
    let s = wait_for(&h, "p1", "error shown", |s| s.last_error.is_some()).await;
    assert!(!s.config_applied);
    assert!(s.last_error.as_ref().unwrap().contains("rejected"), "{s:?}");
    assert!(s.counters.vty_config_failures >= 1, "{:?}", s.counters);
    assert_eq!(s.counters.config_applies, 0);
    assert_eq!(s.counters.config_applied_at, None);
    fx.reject_commands_containing(None);
    let s = wait_for(&h, "p1", "applied on retry", |s| s.config_applied).await;
    assert_eq!(s.counters.config_applies, 1);
    assert!(s.counters.config_applied_at.is_some());
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn setup_failures_retry_with_backoff_until_they_succeed() {
    let (fx, _sink, mut h) = started();
    fx.fail_next(Step::Zebra, 3);
    h.apply(&cfg(&base_text())).await;
    let s = wait_for(&h, "p1", "configured", |s| s.config_applied).await;
    assert_eq!(s.port_restarts, 3);
    // Every failed attempt removed what it had built.
    let log = fx.log();
    assert_eq!(log.iter().filter(|l| l.starts_with("destroy")).count(), 3);
    assert_eq!(fx.containers().len(), 1);
    // The supervisor giving up also leads to a rebuild (the health loop never stops).
    fx.bgpd(
        "p1",
        BgpdEvent::GaveUp {
            reason: bgpd::CrashReport {
                failures: 5,
                window: Duration::from_secs(60),
                last_failure: bgpd::Failure::Exited(bgpd::ExitInfo::Code(1)),
                last_exit: Some(bgpd::ExitInfo::Code(1)),
                log_tail: Vec::new(),
            },
        },
    )
    .await;
    let s = wait_for(&h, "p1", "rebuilt after give-up", |s| {
        s.port_restarts == 4 && s.config_applied
    })
    .await;
    assert_eq!(s.phase, PortPhase::Running);
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn two_ports_and_port_removal() {
    let (fx, sink, mut h) = started();
    let base = base_text();
    let two = format!(
        "{base}\n{}",
        base[base.find("[[port]]").unwrap()..]
            .replace("\"p1\"", "\"p2\"")
            .replace("eth1", "eth2")
    );
    let r = h.apply(&cfg(&two)).await;
    assert_eq!(r.added, ["p1", "p2"]);
    wait_for(&h, "p1", "p1 up", |s| s.config_applied).await;
    wait_for(&h, "p2", "p2 up", |s| s.config_applied).await;
    assert_eq!(fx.containers().len(), 2);
    fx.zebra(
        "p2",
        ZebraEvent::Route(RouteChange::Replace {
            prefix: net("198.51.100.0/24"),
            paths: vec![path("192.0.2.2")],
        }),
    )
    .await;
    wait_for(&h, "p2", "route", |s| s.routes.installed == Some(1)).await;
    let r = h.apply(&cfg(&base_text())).await;
    assert_eq!(r.removed, ["p2"]);
    assert_eq!(r.unchanged, ["p1"]);
    assert!(sink.is_empty(), "p2's routes withdrawn");
    assert_eq!(fx.containers().into_iter().collect::<Vec<_>>(), ["mnb-p1"]);
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn peer_status_is_polled() {
    let (fx, _sink, mut h) = started();
    fx.set_peers(vec![PeerStatus {
        address: "192.0.2.2".parse().unwrap(),
        remote_as: Some(65002),
        state: "Established".into(),
        uptime_secs: Some(12),
        prefixes_received: Some(3),
        prefixes_sent: Some(1),
        last_reset: None,
        routes_installed: None,
        routes_refused: 0,
        session_resets: 0,
    }]);
    h.apply(&cfg(&base_text())).await;
    let s = wait_for(&h, "p1", "peers", |s| !s.peers.is_empty()).await;
    assert_eq!(s.peers[0].state, "Established");
    assert_eq!(s.bgpd_pid, Some(1001));
    // The status counts routes per peer from the sink's table, and per port from the server.
    for (prefix, gw) in [
        ("198.51.100.0/24", "192.0.2.2"),
        ("198.51.101.0/24", "192.0.2.2"),
        ("198.51.102.0/24", "192.0.2.9"),
    ] {
        fx.zebra(
            "p1",
            ZebraEvent::Route(RouteChange::Replace {
                prefix: net(prefix),
                paths: vec![path(gw)],
            }),
        )
        .await;
    }
    let s = wait_for(&h, "p1", "three routes", |s| s.routes.installed == Some(3)).await;
    assert_eq!(s.peers[0].routes_installed, Some(2));
    assert_eq!(s.peers[0].routes_refused, 0);
    assert_eq!(s.routes.received, 3);
    assert_eq!(s.routes.accepted, 3);
    assert_eq!(s.routes.max_routes, 2_000_000);
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn flows_steer_bgp_between_uplink_and_bgpd_and_follow_peers() {
    use datapath::{Packet, Verdict};
    let (fx, _sink, mut h) = started();
    h.apply(&cfg(&base_text())).await;
    wait_for(&h, "p1", "configured", |s| s.config_applied).await;
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let to_bgpd = |peer: &str| {
        fx.datapath().process(&Packet::tcp(
            "eth1",
            (ip(peer), 40000),
            (ip("192.0.2.1"), 179),
            60,
        ))
    };
    assert!(
        matches!(to_bgpd("192.0.2.2"), Verdict::Redirect { ref to, .. } if to == "mnb-p1"),
        "{:?}",
        to_bgpd("192.0.2.2")
    );
    // Other traffic and unknown peers stay on their normal path.
    assert_eq!(to_bgpd("192.0.2.3"), Verdict::Continue);
    let ssh = fx.datapath().process(&Packet::tcp(
        "eth1",
        (ip("192.0.2.2"), 40000),
        (ip("192.0.2.1"), 22),
        60,
    ));
    assert_eq!(ssh, Verdict::Continue);
    // bgpd's answers go out of the uplink.
    let back = fx.datapath().process(&Packet::tcp(
        "mnb-p1",
        (ip("192.0.2.1"), 179),
        (ip("192.0.2.2"), 40000),
        60,
    ));
    assert!(
        matches!(back, Verdict::Redirect { ref to, .. } if to == "eth1"),
        "{back:?}"
    );
    // A new peer gets flows; shutdown removes them all.
    let more = format!(
        "{}[[port.peer]]\naddress = \"192.0.2.3\"\nremote_as = 65003\n",
        base_text()
    );
    h.apply(&cfg(&more)).await;
    wait_for(&h, "p1", "peer added", |s| s.config_applied).await;
    assert!(matches!(to_bgpd("192.0.2.3"), Verdict::Redirect { .. }));
    h.shutdown().await;
    assert_eq!(to_bgpd("192.0.2.2"), Verdict::Continue);
    assert!(fx.datapath().groups().is_empty());
}

#[tokio::test(start_paused = true)]
async fn session_resets_and_flow_counters_reach_the_status() {
    use datapath::{Packet, Verdict};
    let (fx, _sink, mut h) = started();
    let peer = |state: &str, up: Option<u64>| PeerStatus {
        address: "192.0.2.2".parse().unwrap(),
        remote_as: Some(65002),
        state: state.into(),
        uptime_secs: up,
        prefixes_received: None,
        prefixes_sent: None,
        last_reset: None,
        routes_installed: None,
        routes_refused: 0,
        session_resets: 0,
    };
    fx.set_peers(vec![peer("Established", None)]);
    h.apply(&cfg(&base_text())).await;
    let s = wait_for(&h, "p1", "peer", |s| !s.peers.is_empty()).await;
    assert_eq!(s.peers[0].session_resets, 0);
    // Down at a read: one reset, however long it stays down.
    fx.set_peers(vec![peer("Idle", None)]);
    wait_for(&h, "p1", "one reset", |s| {
        s.peers.first().is_some_and(|p| p.session_resets == 1)
    })
    .await;
    let reads = fx.peer_reads();
    fx.set_peers(vec![peer("Established", Some(100))]);
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert!(fx.peer_reads() >= reads + 3);
    assert_eq!(port_status(&h, "p1").await.peers[0].session_resets, 1);
    // Down and back between two reads: the uptime went backwards.
    fx.set_peers(vec![peer("Established", Some(1))]);
    wait_for(&h, "p1", "a flap", |s| {
        s.peers.first().is_some_and(|p| p.session_resets == 2)
    })
    .await;
    // bgpd dies with the session Established: one more.
    fx.set_peers(vec![peer("Established", None)]);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert!(fx.crash_bgpd("p1").await);
    wait_for(&h, "p1", "bgpd gone", |s| {
        s.peers.first().is_some_and(|p| p.session_resets == 3)
    })
    .await;

    // The flow counters: one BGP segment from the peer and one ping back, by kind and way.
    let ip = |s: &str| s.parse::<std::net::IpAddr>().unwrap();
    let syn = Packet::tcp("eth1", (ip("192.0.2.2"), 40000), (ip("192.0.2.1"), 179), 74);
    assert!(matches!(
        fx.datapath().process(&syn),
        Verdict::Redirect { .. }
    ));
    let s = port_status(&h, "p1").await;
    let bgp_in = s
        .flows
        .iter()
        .find(|f| f.kind == "bgp" && f.direction == routing::FlowDirection::ToBgpd)
        .unwrap_or_else(|| panic!("{:?}", s.flows));
    assert_eq!((bgp_in.flows, bgp_in.packets, bgp_in.bytes), (2, 1, 74));
    assert!(s
        .flows
        .iter()
        .filter(|f| f.kind != "bgp" || f.direction != routing::FlowDirection::ToBgpd)
        .all(|f| f.packets == 0));
    // Kinds: IPv4 only (the peer is IPv4): bgp, arp, echo in both directions.
    assert_eq!(s.flows.len(), 6, "{:?}", s.flows);
    h.shutdown().await;
}
