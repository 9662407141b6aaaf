//! Runtime announcements through the RoutingHandler against fake side effects: rendered into
//! bgpd, re-applied after a bgpd restart, kept across reloads, withdrawn, and refused with
//! nothing changed when invalid.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::fake::FakeConfig;
use std::sync::Arc;
use std::time::Duration;

use ipnetwork::IpNetwork;
use routing::config::Config;
use routing::fake::FakeEffects;
use routing::{AnnounceError, Announcement, Community, PortStatus, RoutingHandler, TableSink};

/// The configuration the tests start from (see `common::fake`).
fn base_text() -> String {
    FakeConfig::default().render()
}

fn net(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

async fn status(h: &RoutingHandler<FakeEffects>) -> PortStatus {
    h.status().await.into_iter().next().unwrap()
}

/// Polls until `cond` holds (virtual time: cheap).
async fn wait_for(
    h: &RoutingHandler<FakeEffects>,
    what: &str,
    cond: impl Fn(&PortStatus) -> bool,
) -> PortStatus {
    for _ in 0..2000 {
        let s = status(h).await;
        if cond(&s) {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{what}: last status {:#?}", status(h).await);
}

async fn running() -> (FakeEffects, RoutingHandler<FakeEffects>) {
    let fx = FakeEffects::new();
    let mut h = RoutingHandler::new(fx.clone(), Arc::new(TableSink::new()));
    h.apply(&Config::parse(&base_text()).unwrap()).await;
    wait_for(&h, "configured", |s| s.config_applied).await;
    (fx, h)
}

fn tagged() -> Announcement {
    let mut a = Announcement::new(net("198.51.100.0/24"));
    a.communities = vec!["65001:100".parse().unwrap(), Community::NoExport];
    a.med = Some(50);
    a
}

#[tokio::test(start_paused = true)]
async fn announce_renders_a_route_map_and_withdraw_removes_it() {
    let (fx, h) = running().await;
    h.announce("p1", tagged()).await.unwrap();
    h.announce("p1", Announcement::new(net("192.0.2.0/24")))
        .await
        .unwrap();
    let s = status(&h).await;
    assert!(s.config_applied);
    assert_eq!(s.announced.len(), 2);
    assert_eq!(s.announced[1], tagged(), "listed in prefix order");
    let batches = fx.applied_lines("p1");
    assert_eq!(
        batches.len(),
        3,
        "bootstrap, then one batch per announcement"
    );
    assert_eq!(
        batches[1],
        [
            "route-map ANNOUNCE-198.51.100.0-24 permit 10",
            "set community 65001:100 no-export",
            "set metric 50",
            "exit",
            "router bgp 65001",
            "address-family ipv4 unicast",
            "network 198.51.100.0/24 route-map ANNOUNCE-198.51.100.0-24",
            "exit-address-family",
            "exit",
        ]
    );
    assert_eq!(
        batches[2],
        [
            "router bgp 65001",
            "address-family ipv4 unicast",
            "network 192.0.2.0/24",
            "exit-address-family",
            "exit",
        ]
    );

    assert_eq!(
        h.withdraw("p1", net("198.51.100.0/24")).await.unwrap(),
        tagged()
    );
    let batches = fx.applied_lines("p1");
    assert_eq!(
        batches[3],
        [
            "router bgp 65001",
            "address-family ipv4 unicast",
            "no network 198.51.100.0/24",
            "exit-address-family",
            "exit",
            "no route-map ANNOUNCE-198.51.100.0-24",
        ]
    );
    let s = status(&h).await;
    assert_eq!(s.announced, [Announcement::new(net("192.0.2.0/24"))]);
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn invalid_announcements_are_refused_and_change_nothing() {
    let (fx, h) = running().await;
    h.announce("p1", tagged()).await.unwrap();
    let before = (status(&h).await, fx.applied("p1"));

    let refused = [
        ("p2", tagged(), "no port named \"p2\""),
        (
            "p1",
            tagged(),
            "already announces 198.51.100.0/24 (at run time)",
        ),
        (
            "p1",
            Announcement::new(net("203.0.113.0/24")),
            "(in its configured networks)",
        ),
        (
            "p1",
            Announcement::new(net("198.51.100.7/24")),
            "host bits set; did you mean 198.51.100.0/24?",
        ),
        (
            "p1",
            Announcement::new(net("224.0.0.0/4")),
            "not a unicast prefix",
        ),
        (
            "p1",
            Announcement::new(net("2001:db8:7::/48")),
            "has no IPv6 address or peer",
        ),
        (
            "p1",
            Announcement {
                prefix: net("198.18.0.0/15"),
                communities: vec![Community::NoExport, Community::NoExport],
                med: None,
            },
            "community no-export is given twice",
        ),
    ];
    for (port, a, why) in refused {
        let e = h.announce(port, a.clone()).await.unwrap_err();
        assert!(e.to_string().contains(why), "{a:?}: {e}");
    }
    let e = h.withdraw("p1", net("203.0.113.0/24")).await.unwrap_err();
    assert!(matches!(e, AnnounceError::NotAnnounced { .. }), "{e}");
    let e = h.withdraw("p9", net("198.51.100.0/24")).await.unwrap_err();
    assert_eq!(e, AnnounceError::UnknownPort("p9".into()));

    assert_eq!(
        (status(&h).await, fx.applied("p1")),
        before,
        "nothing changed"
    );
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn announcements_survive_bgpd_restarts_and_reloads() {
    let (fx, mut h) = running().await;
    h.announce("p1", tagged()).await.unwrap();
    assert!(fx.crash_bgpd("p1").await);
    wait_for(&h, "reconfigured", |s| {
        s.config_applied && fx.applied("p1").len() == 3
    })
    .await;
    let boot = fx.applied_lines("p1").pop().unwrap();
    for line in [
        "route-map ANNOUNCE-198.51.100.0-24 permit 10",
        "set community 65001:100 no-export",
        "network 198.51.100.0/24 route-map ANNOUNCE-198.51.100.0-24",
        "network 203.0.113.0/24",
    ] {
        assert!(boot.iter().any(|l| l == line), "{line} missing: {boot:#?}");
    }

    // A reload changing a timer: the diff carries the timer only; the announcement stays.
    let report = h
        .apply(&Config::parse(&base_text().replace("keepalive = 10", "keepalive = 5")).unwrap())
        .await;
    assert_eq!(report.updated, ["p1"]);
    let s = wait_for(&h, "reloaded", |s| {
        s.config_applied && fx.applied("p1").len() == 4
    })
    .await;
    assert_eq!(s.announced, [tagged()]);
    let diff = fx.applied_lines("p1").pop().unwrap();
    assert!(
        !diff.iter().any(|l| l.contains("198.51.100.0")),
        "{diff:#?}"
    );

    // A reload that rebuilds the port (new AS): the new bgpd gets the announcement too.
    h.apply(&Config::parse(&base_text().replace("local_as = 65001", "local_as = 65009")).unwrap())
        .await;
    let s = wait_for(&h, "rebuilt", |s| s.config_applied && s.port_restarts == 1).await;
    assert_eq!(s.announced, [tagged()]);
    let boot = fx.applied_lines("p1").pop().unwrap();
    assert!(boot.iter().any(|l| l == "router bgp 65009"), "{boot:#?}");
    assert!(
        boot.iter()
            .any(|l| l == "network 198.51.100.0/24 route-map ANNOUNCE-198.51.100.0-24"),
        "{boot:#?}"
    );
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn an_announcement_before_bgpd_is_ready_goes_into_its_bootstrap() {
    let fx = FakeEffects::new();
    // The first bgpd start fails: the port is in backoff when the announcement arrives.
    fx.fail_next(routing::Step::Bgpd, 1);
    let mut h = RoutingHandler::new(fx.clone(), Arc::new(TableSink::new()));
    h.apply(&Config::parse(&base_text()).unwrap()).await;
    h.announce("p1", Announcement::new(net("198.51.100.0/24")))
        .await
        .unwrap();
    wait_for(&h, "configured", |s| s.config_applied).await;
    let batches = fx.applied_lines("p1");
    assert_eq!(batches.len(), 1, "{batches:#?}");
    assert!(batches[0].iter().any(|l| l == "network 198.51.100.0/24"));
    h.shutdown().await;
}
