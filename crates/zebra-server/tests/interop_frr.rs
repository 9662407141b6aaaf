//! Interop tests against real FRR bgpd processes in namespaces the tests create, once with FRR
//! 8.4 (the host's bgpd) and once with FRR 10.3 (`frr10_*`, the bgpd of the Debian 13 chroot of
//! `scripts/frr10-chroot.sh`, served with the configured profile `Frr103`).
//!
//! bgpd A is connected to our server (`-z <our socket>`); B (and C) are plain external peers
//! without zebra (the host's bgpd). Addresses are documentation ranges only.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

use common::{interfaces_in, net, wait_link_local, Events};
use testkit::lab::{veth_between, BgpdOptions, TestBgpd, TestNs};
use testkit::socket::expect_closed;
use zebra_server::{
    CloseReason, ExtraRoute, Profile, RouteEvent, ServerConfig, ServerEvent, ZebraServer,
};

const LONG: Duration = Duration::from_secs(90);

/// The bgpd under test (A) and the bgpd of the external peers.
struct Daemon {
    /// A's bgpd (a path inside `chroot` when set).
    bin: PathBuf,
    /// The chroot A runs in.
    chroot: Option<PathBuf>,
    /// The peers' bgpd (the host's).
    peer: PathBuf,
    /// The profile the server is configured with (`None`: detected from the header).
    profile: Option<Profile>,
    /// A's route type for BGP.
    bgp: u8,
}

impl Daemon {
    /// The host's FRR 8.4 bgpd, its profile detected from the header.
    fn frr84(test: &str) -> Option<Daemon> {
        let bin = testkit::require_bgpd(test)?;
        Some(Daemon {
            peer: bin.clone(),
            bin,
            chroot: None,
            profile: None,
            bgp: Profile::Frr84.route_type_bgp(),
        })
    }

    /// FRR 10.3 from the chroot, the server configured for it.
    fn frr103(test: &str) -> Option<Daemon> {
        let root = testkit::require_frr10(test)?;
        let peer = testkit::require_bgpd(test)?;
        Some(Daemon {
            bin: PathBuf::from(testkit::FRR10_BGPD),
            chroot: Some(root),
            peer,
            profile: Some(Profile::Frr103),
            bgp: Profile::Frr103.route_type_bgp(),
        })
    }

    /// Starts A with `config`, connected to `sock`.
    fn start_a(&self, ns: &TestNs, config: &str, sock: &Path) -> TestBgpd {
        let opts = BgpdOptions {
            zebra_socket: Some(sock.to_path_buf()),
            ..BgpdOptions::default()
        };
        match &self.chroot {
            Some(root) => TestBgpd::start_in_chroot(root, &self.bin, ns, config, &opts).unwrap(),
            None => TestBgpd::start(&self.bin, ns, config, &opts).unwrap(),
        }
    }
}

struct Lab {
    a: TestNs,
    b: TestNs,
    c: Option<TestNs>,
    b_link_local: IpAddr,
    _dir: tempfile::TempDir,
    sock: PathBuf,
}

fn lab(with_c: bool) -> Lab {
    let a = TestNs::new("zsa").unwrap();
    let b = TestNs::new("zsb").unwrap();
    veth_between(&a, "va", &b, "vb").unwrap();
    a.add_addr("va", "192.0.2.1/25").unwrap();
    a.add_addr("va", "2001:db8:ab::1/64").unwrap();
    b.add_addr("vb", "192.0.2.2/25").unwrap();
    b.add_addr("vb", "2001:db8:ab::2/64").unwrap();
    let c = if with_c {
        let c = TestNs::new("zsc").unwrap();
        veth_between(&a, "vc", &c, "vx").unwrap();
        a.add_addr("vc", "192.0.2.129/25").unwrap();
        c.add_addr("vx", "192.0.2.130/25").unwrap();
        Some(c)
    } else {
        None
    };
    wait_link_local(&a, "va");
    let b_link_local = wait_link_local(&b, "vb");
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("zserv.api");
    Lab {
        a,
        b,
        c,
        b_link_local,
        _dir: dir,
        sock,
    }
}

fn config_a(passive: bool, extra: &str) -> String {
    let p = if passive { "" } else { "!" };
    format!(
        "hostname a\npassword zebra\n\
         router bgp 65001\n no bgp ebgp-requires-policy\n\
         neighbor 192.0.2.2 remote-as 65002\n neighbor 192.0.2.2 timers 3 9\n neighbor 192.0.2.2 timers connect 2\n\
         {p} neighbor 192.0.2.2 passive\n\
         neighbor 2001:db8:ab::2 remote-as 65002\n neighbor 2001:db8:ab::2 timers 3 9\n neighbor 2001:db8:ab::2 timers connect 2\n\
         {p} neighbor 2001:db8:ab::2 passive\n\
         {extra}\
         address-family ipv4 unicast\n  no neighbor 2001:db8:ab::2 activate\n  maximum-paths 4\n  network 203.0.113.0/24\n  network 192.0.2.0/25\n  network 203.0.113.128/25\n exit-address-family\n\
         address-family ipv6 unicast\n  neighbor 2001:db8:ab::2 activate\n exit-address-family\n"
    )
}

fn config_peer(name: &str, me: &str, a_addr: &str, a6: Option<&str>, passive: bool) -> String {
    let p = if passive { "" } else { "!" };
    let mut s = format!(
        "hostname {name}\npassword zebra\n\
         router bgp 65002\n bgp router-id {me}\n no bgp ebgp-requires-policy\n no bgp network import-check\n\
         neighbor {a_addr} remote-as 65001\n neighbor {a_addr} timers 3 9\n neighbor {a_addr} timers connect 2\n\
         {p} neighbor {a_addr} passive\n"
    );
    if let Some(a6) = a6 {
        s += &format!(
            " neighbor {a6} remote-as 65001\n neighbor {a6} timers 3 9\n neighbor {a6} timers connect 2\n {p} neighbor {a6} passive\n"
        );
    }
    s += " address-family ipv4 unicast\n  network 198.51.100.0/24\n";
    if let Some(a6) = a6 {
        s += &format!("  no neighbor {a6} activate\n");
    }
    s += " exit-address-family\n";
    if let Some(a6) = a6 {
        s += &format!(
            " address-family ipv6 unicast\n  neighbor {a6} activate\n  network 2001:db8:100::/48\n exit-address-family\n"
        );
    }
    s
}

fn start_bgpd(bgpd: &Path, ns: &TestNs, config: &str, zebra: Option<&Path>) -> TestBgpd {
    let opts = BgpdOptions {
        zebra_socket: zebra.map(Path::to_path_buf),
        ..BgpdOptions::default()
    };
    TestBgpd::start(bgpd, ns, config, &opts).unwrap()
}

/// Peers in state Established, over all address families.
fn established(bgpd: &TestBgpd) -> BTreeSet<String> {
    let Ok(out) = bgpd.vtysh(&["show bgp summary json"]) else {
        return BTreeSet::new();
    };
    let Ok(v) = serde_json::from_str::<serde_json::Value>(&out) else {
        return BTreeSet::new();
    };
    let mut up = BTreeSet::new();
    if let Some(afs) = v.as_object() {
        for af in afs.values() {
            if let Some(peers) = af["peers"].as_object() {
                for (addr, p) in peers {
                    if p["state"] == "Established" {
                        up.insert(addr.clone());
                    }
                }
            }
        }
    }
    up
}

fn wait_established(bgpd: &TestBgpd, peers: &[&str]) {
    let ok = testkit::lab::wait_until(LONG, || {
        let up = established(bgpd);
        peers.iter().all(|p| up.contains(*p))
    });
    assert!(
        ok,
        "sessions {peers:?} not established; summary: {:?}\nlog:\n{}",
        bgpd.vtysh(&["show bgp summary"]),
        bgpd.log()
    );
}

fn has_route(bgpd: &TestBgpd, prefix: &str) -> bool {
    bgpd.vtysh(&["show bgp ipv4 unicast json"])
        .ok()
        .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
        .is_some_and(|v| v["routes"].get(prefix).is_some())
}

async fn start_server(lab: &Lab, d: &Daemon) -> (ZebraServer, Events) {
    let mut cfg = ServerConfig::new(&lab.sock);
    cfg.profile = d.profile;
    cfg.interfaces = interfaces_in(&lab.a);
    cfg.router_id = Some("203.0.113.254".parse().unwrap());
    // The embedder owns 203.0.113.0/24 (so bgpd's import check passes for it), nothing else.
    cfg.extra_routes = vec![ExtraRoute::blackhole(net("203.0.113.0/24"))];
    let (server, rx) = ZebraServer::start(cfg).await.unwrap();
    (server, Events::new(rx))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_learns_advertises_withdraws_and_relearns() {
    if let Some(d) = Daemon::frr84("frr_learns_advertises_withdraws_and_relearns") {
        learns_advertises_withdraws_and_relearns(&d).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr10_learns_advertises_withdraws_and_relearns() {
    if let Some(d) = Daemon::frr103("frr10_learns_advertises_withdraws_and_relearns") {
        learns_advertises_withdraws_and_relearns(&d).await;
    }
}

async fn learns_advertises_withdraws_and_relearns(d: &Daemon) {
    let lab = lab(false);
    let va = lab.a.ifindex("va").unwrap();
    let (server, mut events) = start_server(&lab, d).await;
    // B is passive: A must open the sessions, which it does only after our NHT answers.
    let b = start_bgpd(
        &d.peer,
        &lab.b,
        &config_peer("b", "192.0.2.2", "192.0.2.1", Some("2001:db8:ab::1"), true),
        None,
    );
    let mut a = d.start_a(&lab.a, &config_a(false, ""), &lab.sock);
    assert!(
        events
            .wait_for(LONG, |e| matches!(
                e,
                ServerEvent::ClientHello { proto, .. } if *proto == d.bgp
            ))
            .await,
        "bgpd never said hello; log:\n{}",
        a.log()
    );
    wait_established(&a, &["192.0.2.2", "2001:db8:ab::2"]);

    // Router id came from us.
    let summary: serde_json::Value =
        serde_json::from_str(&a.vtysh(&["show bgp summary json"]).unwrap()).unwrap();
    assert_eq!(summary["ipv4Unicast"]["routerId"], "203.0.113.254");

    // B's prefixes arrive, with B as gateway.
    let v4 = net("198.51.100.0/24");
    let v6 = net("2001:db8:100::/48");
    events
        .wait_table(LONG, |t| t.contains_key(&v4) && t.contains_key(&v6))
        .await;
    // Let anything else bgpd might send arrive too.
    events.drain_for(Duration::from_secs(2)).await;
    let table = events.table();
    assert!(
        table.contains_key(&v4) && table.contains_key(&v6),
        "table: {table:?}\nlog:\n{}",
        a.log()
    );
    assert_eq!(table.len(), 2, "exactly B's prefixes: {table:?}");
    let p4 = &table[&v4];
    assert_eq!(p4.len(), 1);
    assert_eq!(p4[0].gateway, Some("192.0.2.2".parse().unwrap()));
    assert_eq!(p4[0].distance, 20);
    let p6 = &table[&v6];
    assert_eq!(p6.len(), 1);
    // B runs without zebra, so it knows no link-local address of its own and announces only
    // its global nexthop; bgpd installs that (with a link-local one it would add the ifindex).
    let global: IpAddr = "2001:db8:ab::2".parse().unwrap();
    match p6[0].gateway {
        Some(g) if g == global => assert_eq!(p6[0].ifindex, None),
        Some(g) if g == lab.b_link_local => assert_eq!(p6[0].ifindex, Some(va)),
        other => panic!("IPv6 gateway {other:?} is not B"),
    }

    // A's `network` statements: the exactly resolved ones reach B, the inexact one does not.
    assert!(
        testkit::lab::wait_until(LONG, || has_route(&b, "203.0.113.0/24")
            && has_route(&b, "192.0.2.0/25")),
        "B did not learn A's networks: {:?}",
        b.vtysh(&["show bgp ipv4 unicast"])
    );
    // A announced its valid networks together, and B has them; an invalid one let through
    // would arrive with them or right after, so it must stay absent over the next 2 s
    // (watched throughout, not looked at once).
    assert!(
        testkit::lab::holds_for(Duration::from_secs(2), || !has_route(
            &b,
            "203.0.113.128/25"
        )),
        "a network covered only by a shorter route passed the import check"
    );

    // Garbage, truncated and oversized frames on a second connection.
    let before = events.seen.len();
    expect_closed(
        &lab.sock,
        b"\xde\xad\xbe\xef garbage garbage garbage",
        false,
    )
    .unwrap();
    // A FRR header announcing 100 bytes, then EOF after 20.
    let mut truncated = vec![0, 100, 254, 6, 0, 0, 0, 0, 0, 8];
    truncated.extend_from_slice(&[0u8; 10]);
    expect_closed(&lab.sock, &truncated, true).unwrap();
    // A FRR header announcing 65535 bytes (> 16384).
    expect_closed(&lab.sock, &[0xff, 0xff, 254, 6, 0, 0, 0, 0, 0, 8], false).unwrap();
    events.drain_for(Duration::from_secs(3)).await;
    let gone_malformed = events.seen[before..]
        .iter()
        .filter(|e| {
            matches!(
                e,
                ServerEvent::ClientGone {
                    reason: CloseReason::Malformed(_) | CloseReason::UnknownProfile,
                    ..
                }
            )
        })
        .count();
    assert_eq!(gone_malformed, 3, "events: {:?}", &events.seen[before..]);
    assert!(
        !events.seen[before..]
            .iter()
            .any(|e| matches!(e, ServerEvent::Route(_) | ServerEvent::AllClientsGone)),
        "bgpd's routes were disturbed: {:?}",
        &events.seen[before..]
    );
    assert_eq!(established(&a).len(), 2, "bgpd's sessions were disturbed");

    // B withdraws a prefix.
    b.vtysh(&[
        "configure terminal",
        "router bgp 65002",
        "address-family ipv4 unicast",
        "no network 198.51.100.0/24",
    ])
    .unwrap();
    assert!(
        events
            .wait_for(LONG, |e| *e
                == ServerEvent::Route(RouteEvent::Withdraw { prefix: v4 }))
            .await,
        "no Withdraw for {v4}"
    );

    // bgpd A dies: everything it gave is withdrawn.
    a.kill();
    assert!(
        events
            .wait_for(LONG, |e| *e == ServerEvent::AllClientsGone)
            .await
    );
    assert!(events.table().is_empty(), "left: {:?}", events.table());

    // Restarted: relearned.
    let a2 = d.start_a(&lab.a, &config_a(false, ""), &lab.sock);
    assert!(
        events
            .wait_for(LONG, |e| matches!(e, ServerEvent::Route(RouteEvent::Replace { prefix, .. }) if *prefix == v6))
            .await,
        "not relearned; log:\n{}",
        a2.log()
    );
    drop(a2);
    drop(b);
    server.shutdown().await;
    assert!(!lab.sock.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_session_comes_up_when_the_peer_initiates() {
    if let Some(d) = Daemon::frr84("frr_session_comes_up_when_the_peer_initiates") {
        session_comes_up_when_the_peer_initiates(&d).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr10_session_comes_up_when_the_peer_initiates() {
    if let Some(d) = Daemon::frr103("frr10_session_comes_up_when_the_peer_initiates") {
        session_comes_up_when_the_peer_initiates(&d).await;
    }
}

async fn session_comes_up_when_the_peer_initiates(d: &Daemon) {
    let lab = lab(false);
    let (server, mut events) = start_server(&lab, d).await;
    // A is passive: B opens the sessions; A must accept them, which needs the interface that
    // owns its local address (else "nexthop_set failed, resetting connection").
    let mut a = d.start_a(&lab.a, &config_a(true, ""), &lab.sock);
    let b = start_bgpd(
        &d.peer,
        &lab.b,
        &config_peer("b", "192.0.2.2", "192.0.2.1", Some("2001:db8:ab::1"), false),
        None,
    );
    wait_established(&a, &["192.0.2.2", "2001:db8:ab::2"]);
    let v4 = net("198.51.100.0/24");
    let v6 = net("2001:db8:100::/48");
    assert!(
        events
            .wait_table(LONG, |t| t.contains_key(&v4) && t.contains_key(&v6))
            .await,
        "routes not learned: {:?}\nlog:\n{}",
        events.table(),
        a.log()
    );
    assert!(
        testkit::lab::wait_until(LONG, || has_route(&b, "203.0.113.0/24")),
        "B did not learn A's network"
    );
    a.kill();
    assert!(
        events
            .wait_for(LONG, |e| *e == ServerEvent::AllClientsGone)
            .await
    );
    assert!(events.table().is_empty());
    drop(b);
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_two_peers_same_prefix_give_one_replace_with_two_paths() {
    if let Some(d) = Daemon::frr84("frr_two_peers_same_prefix_give_one_replace_with_two_paths") {
        two_peers_same_prefix_give_one_replace_with_two_paths(&d).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr10_two_peers_same_prefix_give_one_replace_with_two_paths() {
    if let Some(d) = Daemon::frr103("frr10_two_peers_same_prefix_give_one_replace_with_two_paths") {
        two_peers_same_prefix_give_one_replace_with_two_paths(&d).await;
    }
}

async fn two_peers_same_prefix_give_one_replace_with_two_paths(d: &Daemon) {
    let lab = lab(true);
    let (server, mut events) = start_server(&lab, d).await;
    let extra = " neighbor 192.0.2.130 remote-as 65002\n neighbor 192.0.2.130 timers 3 9\n neighbor 192.0.2.130 timers connect 2\n";
    let a = d.start_a(&lab.a, &config_a(false, extra), &lab.sock);
    let b = start_bgpd(
        &d.peer,
        &lab.b,
        &config_peer("b", "192.0.2.2", "192.0.2.1", None, false),
        None,
    );
    let c_ns = lab.c.as_ref().unwrap();
    let c = start_bgpd(
        &d.peer,
        c_ns,
        &config_peer("c", "192.0.2.130", "192.0.2.129", None, false),
        None,
    );
    wait_established(&a, &["192.0.2.2", "192.0.2.130"]);
    let v4 = net("198.51.100.0/24");
    let two = events
        .wait_for(LONG, |e| {
            matches!(e, ServerEvent::Route(RouteEvent::Replace { prefix, paths }) if *prefix == v4 && paths.len() == 2)
        })
        .await;
    assert!(
        two,
        "no two-path Replace: {:?}\nlog:\n{}",
        events.routes(),
        a.log()
    );
    let paths = &events.table()[&v4];
    let gws: BTreeSet<IpAddr> = paths.iter().filter_map(|p| p.gateway).collect();
    assert_eq!(
        gws,
        ["192.0.2.2", "192.0.2.130"]
            .iter()
            .map(|s| s.parse().unwrap())
            .collect()
    );
    assert!(paths.iter().all(|p| p.distance == 20));
    drop((b, c));
    server.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_session_waits_for_the_interface_and_follows_run_time_changes() {
    if let Some(d) =
        Daemon::frr84("frr_session_waits_for_the_interface_and_follows_run_time_changes")
    {
        session_waits_for_the_interface_and_follows_run_time_changes(&d).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr10_session_waits_for_the_interface_and_follows_run_time_changes() {
    if let Some(d) =
        Daemon::frr103("frr10_session_waits_for_the_interface_and_follows_run_time_changes")
    {
        session_waits_for_the_interface_and_follows_run_time_changes(&d).await;
    }
}

async fn session_waits_for_the_interface_and_follows_run_time_changes(d: &Daemon) {
    let lab = lab(false);
    let all = interfaces_in(&lab.a);
    let lo_only: Vec<_> = all.iter().filter(|i| i.name == "lo").cloned().collect();
    let mut cfg = ServerConfig::new(&lab.sock);
    cfg.profile = d.profile;
    cfg.interfaces = lo_only;
    cfg.router_id = Some("203.0.113.254".parse().unwrap());
    let (server, rx) = ZebraServer::start(cfg).await.unwrap();
    let mut events = Events::new(rx);
    let b = start_bgpd(
        &d.peer,
        &lab.b,
        &config_peer("b", "192.0.2.2", "192.0.2.1", None, true),
        None,
    );
    let a = d.start_a(&lab.a, &config_a(false, ""), &lab.sock);
    assert!(
        events
            .wait_for(LONG, |e| matches!(
                e,
                ServerEvent::ClientHello { proto, .. } if *proto == d.bgp
            ))
            .await
    );
    // Without the peering interface the peer's address is unresolved: no session.
    // bgpd registered its peer's nexthop at HELLO time and got "unresolved"; had the answer
    // been "resolved" it would connect at once and reach Established within a few seconds on
    // this directly attached link. Watched over 6 s, so a session that comes up and drops
    // again is caught too.
    assert!(
        testkit::lab::holds_for(Duration::from_secs(6), || !established(&a)
            .contains("192.0.2.2")),
        "session came up although NHT answered unresolved"
    );
    // A router id change reaches bgpd (which applies it only while no session is up).
    server.set_router_id(Some("203.0.113.253".parse().unwrap()));
    assert!(
        testkit::lab::wait_until(LONG, || {
            a.vtysh(&["show bgp summary json"])
                .ok()
                .and_then(|s| serde_json::from_str::<serde_json::Value>(&s).ok())
                .is_some_and(|v| v["ipv4Unicast"]["routerId"] == "203.0.113.253")
        }),
        "router id not updated: {:?}",
        a.vtysh(&["show bgp summary json"])
    );
    // The controller announces the interface at run time: NHT answers change, A connects.
    server.set_interfaces(all.clone());
    wait_established(&a, &["192.0.2.2"]);
    let v4 = net("198.51.100.0/24");
    assert!(events.wait_table(LONG, |t| t.contains_key(&v4)).await);
    drop((a, b));
    server.shutdown().await;
}
