//! Two real bgpds peering over a veth pair: configuration applied through the Vty, a real session's
//! JSON status, and a timer change that must not reset the session.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::time::{Duration, Instant};

use testkit::lab::{veth_between, BgpdOptions, TestBgpd, TestNs};
use vty::config::{Asn, ConnectRetry, Description, MaximumPaths, Neighbor, Password, Timers};
use vty::{diff, BatchOptions, BgpConfig, PeerState, Vty};

struct Side {
    vty: Vty,
    cfg: BgpConfig,
    _bgpd: TestBgpd,
    _ns: TestNs,
}

fn ip(s: &str) -> IpAddr {
    s.parse().unwrap()
}

fn config(
    asn: u32,
    me: &str,
    peer: &str,
    peer6: &str,
    peer_as: u32,
    net: &str,
    net6: &str,
) -> BgpConfig {
    let mut c = BgpConfig::new(Asn::new(asn).unwrap());
    c.router_id = Some(me.parse().unwrap());
    c.network_import_check = false;
    let mut n = Neighbor::new(ip(peer), Asn::new(peer_as).unwrap());
    n.timers = Some(Timers::new(3, 9).unwrap());
    n.connect_retry = Some(ConnectRetry::new(2).unwrap());
    n.description = Some(Description::new("lab peer").unwrap());
    n.password = Some(Password::new("md5-s3cret").unwrap());
    c.add_neighbor(n);
    let mut n6 = Neighbor::new(ip(peer6), Asn::new(peer_as).unwrap());
    n6.timers = Some(Timers::new(3, 9).unwrap());
    n6.connect_retry = Some(ConnectRetry::new(2).unwrap());
    c.add_neighbor(n6);
    c.add_network(net.parse().unwrap());
    c.add_network(net6.parse().unwrap());
    c.default_ipv4_unicast = false;
    c.ipv4.activate.insert(ip(peer));
    c.ipv6.activate.insert(ip(peer6));
    c.ipv4.maximum_paths = Some(MaximumPaths::new(4).unwrap());
    c.validate().unwrap();
    c
}

async fn side(bgpd: &std::path::Path, ns: TestNs, host: &str, cfg: BgpConfig) -> Side {
    let conf = format!("hostname {host}\npassword {}\n", common::PASSWORD);
    let b = TestBgpd::start(bgpd, &ns, &conf, &BgpdOptions::default()).unwrap();
    let s = common::stream_in(&ns, "127.0.0.1:2605".parse().unwrap()).await;
    let vty = Vty::login(s, &common::options()).await.unwrap();
    Side {
        vty,
        cfg,
        _bgpd: b,
        _ns: ns,
    }
}

async fn wait_established(vty: &mut Vty, peers: &[&str], timeout: Duration) -> vty::BgpSummary {
    let deadline = Instant::now() + timeout;
    loop {
        let s = vty.bgp_summary().await.unwrap();
        let up = |fam: &Option<vty::FamilySummary>, p: &str| {
            fam.as_ref()
                .and_then(|f| f.peers.get(p))
                .is_some_and(|x| x.state.is_established())
        };
        // Prefixes received in each family prove the final session (activating a family resets
        // a session that came up before the peer's configuration was complete).
        let got = |fam: &Option<vty::FamilySummary>, p: &str| {
            fam.as_ref()
                .and_then(|f| f.peers.get(p))
                .is_some_and(|x| x.pfx_rcd >= 1)
        };
        if up(&s.ipv4_unicast, peers[0])
            && got(&s.ipv4_unicast, peers[0])
            && up(&s.ipv6_unicast, peers[1])
            && got(&s.ipv6_unicast, peers[1])
        {
            return s;
        }
        assert!(
            Instant::now() < deadline,
            "sessions not Established in time: {s:#?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

#[tokio::test]
async fn two_bgpds_config_round_trip_status_and_hitless_timer_change() {
    let Some(bgpd) =
        testkit::require_bgpd("two_bgpds_config_round_trip_status_and_hitless_timer_change")
    else {
        return;
    };
    let na = TestNs::new("vtya").unwrap();
    let nb = TestNs::new("vtyb").unwrap();
    let (ia, ib) = (testkit::unique_name("va"), testkit::unique_name("vb"));
    veth_between(&na, &ia, &nb, &ib).unwrap();
    na.add_addr(&ia, "192.0.2.1/24").unwrap();
    nb.add_addr(&ib, "192.0.2.2/24").unwrap();
    na.add_addr(&ia, "2001:db8::1/64").unwrap();
    nb.add_addr(&ib, "2001:db8::2/64").unwrap();

    let ca = config(
        65001,
        "192.0.2.1",
        "192.0.2.2",
        "2001:db8::2",
        65002,
        "198.51.100.0/24",
        "2001:db8:a::/48",
    );
    let cb = config(
        65002,
        "192.0.2.2",
        "192.0.2.1",
        "2001:db8::1",
        65001,
        "203.0.113.0/24",
        "2001:db8:b::/48",
    );
    let mut a = side(&bgpd, na, "lab-a", ca).await;
    let mut b = side(&bgpd, nb, "lab-b", cb).await;
    let opts = BatchOptions::default();
    for s in [&mut a, &mut b] {
        let cmds = s.cfg.commands();
        let report = s
            .vty
            .configure(&cmds, &opts)
            .await
            .unwrap()
            .into_result()
            .unwrap();
        assert!(report.is_success());
        assert_eq!(s.vty.mode(), &vty::Mode::Enable);
        // Round trip: every command applied appears in the running configuration.
        let rc = s.vty.running_config().await.unwrap();
        let rc_lines: Vec<&str> = rc.lines().map(str::trim).collect();
        for c in &cmds {
            assert!(
                rc_lines.contains(&c.line()),
                "{:?} missing from running-config:\n{rc}",
                c.line()
            );
        }
    }

    // A real session's JSON status.
    let s = wait_established(
        &mut a.vty,
        &["192.0.2.2", "2001:db8::2"],
        Duration::from_secs(90),
    )
    .await;
    let v4 = s.ipv4_unicast.unwrap();
    assert_eq!(v4.asn, Some(65001));
    let deadline = Instant::now() + Duration::from_secs(60);
    let (before, before_at) = loop {
        let at = Instant::now();
        let n = a
            .vty
            .bgp_neighbor(ip("192.0.2.2"))
            .await
            .unwrap()
            .expect("neighbor exists");
        if n.prefixes_received() >= 1 && n.prefixes_sent() >= 1 {
            break (n, at);
        }
        assert!(Instant::now() < deadline, "no prefixes exchanged: {n:#?}");
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    assert_eq!(before.bgp_state, PeerState::Established);
    assert_eq!(before.remote_as, Some(65002));
    assert_eq!(before.nbr_desc.as_deref(), Some("lab peer"));
    assert_eq!(
        before.bgp_timer_configured_keep_alive_interval_msecs,
        Some(3000)
    );
    assert_eq!(
        before.address_family_info["ipv4Unicast"].accepted_prefix_counter,
        Some(1)
    );
    let summary_peer = a
        .vty
        .bgp_summary()
        .await
        .unwrap()
        .ipv4_unicast
        .unwrap()
        .peers["192.0.2.2"]
        .clone();
    assert_eq!(summary_peer.pfx_rcd, 1);
    let v6 = a
        .vty
        .bgp_ipv6_summary()
        .await
        .unwrap()
        .ipv6_unicast
        .unwrap();
    let n6 = a.vty.bgp_neighbor(ip("2001:db8::2")).await.unwrap();
    assert!(v6.peers["2001:db8::2"].state.is_established(), "{n6:#?}");
    assert!(a
        .vty
        .bgp_neighbor(ip("192.0.2.77"))
        .await
        .unwrap()
        .is_none());

    // Only a timer and a description change: one line each, the session stays up.
    let mut new = a.cfg.clone();
    {
        let n = new.neighbors.get_mut(&ip("192.0.2.2")).unwrap();
        n.timers = Some(Timers::new(4, 12).unwrap());
        n.description = Some(Description::new("lab peer renamed").unwrap());
    }
    let cmds = diff(&a.cfg, &new);
    let lines: Vec<&str> = cmds.iter().map(|c| c.line()).collect();
    assert_eq!(
        lines,
        [
            "neighbor 192.0.2.2 description lab peer renamed",
            "neighbor 192.0.2.2 timers 4 12"
        ]
    );
    a.vty
        .configure(&cmds, &opts)
        .await
        .unwrap()
        .into_result()
        .unwrap();
    a.cfg = new;
    // Watch the session for longer than the old hold time (9 s would expire a reset session's
    // replacement only after reconnecting, so a reset shows as a new epoch or counter).
    let watch_until = Instant::now() + Duration::from_secs(10);
    let mut after;
    loop {
        after = a.vty.bgp_neighbor(ip("192.0.2.2")).await.unwrap().unwrap();
        assert_eq!(after.bgp_state, PeerState::Established, "{after:#?}");
        assert_eq!(
            after.connections_established, before.connections_established,
            "{after:#?}"
        );
        assert_eq!(
            after.connections_dropped, before.connections_dropped,
            "{after:#?}"
        );
        // bgpd derives the epoch from "now - uptime", so it may move by a second of rounding;
        // a reset session would move it by the whole time since the first session came up.
        let (e0, e1) = (
            before.bgp_timer_up_established_epoch.unwrap(),
            after.bgp_timer_up_established_epoch.unwrap(),
        );
        assert!(
            e0.abs_diff(e1) <= 1,
            "established epoch moved from {e0} to {e1}"
        );
        // The session's uptime keeps growing with the wall clock: a reset would restart it.
        let grown =
            after.bgp_timer_up_msec.unwrap() as i128 - before.bgp_timer_up_msec.unwrap() as i128;
        let elapsed = before_at.elapsed().as_millis() as i128;
        assert!(
            grown >= elapsed - 2_000,
            "uptime grew {grown} ms in {elapsed} ms: session was reset"
        );
        if Instant::now() > watch_until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    assert_eq!(
        after.bgp_timer_configured_keep_alive_interval_msecs,
        Some(4000)
    );
    assert_eq!(after.nbr_desc.as_deref(), Some("lab peer renamed"));
    let rc = a.vty.running_config().await.unwrap();
    assert!(rc.contains(" neighbor 192.0.2.2 timers 4 12\n"), "{rc}");

    // Peer removal is `no neighbor X`, and the config round-trips back.
    let mut fewer = a.cfg.clone();
    fewer.neighbors.remove(&ip("2001:db8::2"));
    fewer.ipv6.activate.clear();
    let cmds = diff(&a.cfg, &fewer);
    assert_eq!(
        cmds.iter().map(|c| c.line()).collect::<Vec<_>>(),
        ["no neighbor 2001:db8::2"]
    );
    a.vty
        .configure(&cmds, &opts)
        .await
        .unwrap()
        .into_result()
        .unwrap();
    let rc = a.vty.running_config().await.unwrap();
    assert!(!rc.contains("2001:db8::2"), "{rc}");
    a.vty.close().await.unwrap();
    b.vty.close().await.unwrap();
}
