//! A real BGP session between two FRR bgpd instances across the tc flows (IPv4 and IPv6 peers).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use common::*;
use datapath::{bgp_flows, total, Datapath, TcDatapath};
use testkit::lab::{BgpdOptions, TestBgpd};

fn config(hostname: &str, asn: u32, id: &str, peers: &[(&str, u32)], network: &str) -> String {
    let mut c = format!(
        "hostname {hostname}\npassword zebra\nrouter bgp {asn}\n bgp router-id {id}\n no bgp ebgp-requires-policy\n no bgp network import-check\n"
    );
    for (p, remote) in peers {
        c.push_str(&format!(
            " neighbor {p} remote-as {remote}\n neighbor {p} timers 1 3\n neighbor {p} timers connect 1\n neighbor {p} disable-connected-check\n"
        ));
    }
    c.push_str(&format!(
        " address-family ipv4 unicast\n  network {network}\n exit-address-family\n address-family ipv6 unicast\n"
    ));
    for (p, _) in peers {
        if p.contains(':') {
            c.push_str(&format!("  neighbor {p} activate\n"));
        }
    }
    c.push_str(" exit-address-family\n");
    c
}

/// The text without whitespace, so JSON can be matched whatever the pretty-printing.
fn compact(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

fn established(bgpd: &TestBgpd, peer: &str) -> bool {
    bgpd.wait_for(
        &format!("show bgp neighbors {peer} json"),
        Duration::from_secs(60),
        |out| compact(out).contains("\"bgpState\":\"Established\""),
    )
    .is_some()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bgp_session_establishes_across_the_flows() {
    let Some(bgpd_bin) = testkit::require_bgpd("bgp_session_establishes_across_the_flows") else {
        return;
    };
    let t = Topology::new();
    let dp = TcDatapath::new(Some(t.host.name())).unwrap();
    let peers = [ip(PEER4), ip(PEER6)];
    let flows = bgp_flows(UPLINK, BGP_PORT, &[ip(LOCAL4), ip(LOCAL6)], &peers);
    dp.install("bgp-port", &flows).await.unwrap();

    let opts = BgpdOptions::default();
    let local = TestBgpd::start(
        &bgpd_bin,
        &t.bgpd,
        &config(
            "local",
            64500,
            LOCAL4,
            &[(PEER4, 64501), (PEER6, 64501)],
            "203.0.113.0/24",
        ),
        &opts,
    )
    .unwrap();
    let remote = TestBgpd::start(
        &bgpd_bin,
        &t.peer,
        &config(
            "remote",
            64501,
            PEER4,
            &[(LOCAL4, 64500), (LOCAL6, 64500)],
            "198.51.100.0/24",
        ),
        &opts,
    )
    .unwrap();

    assert!(
        established(&local, PEER4),
        "IPv4 session not established; log:\n{}",
        local.log()
    );
    assert!(
        established(&local, PEER6),
        "IPv6 session not established; log:\n{}",
        local.log()
    );
    assert!(
        established(&remote, LOCAL4),
        "IPv4 session not established on the peer"
    );
    // Routes cross the session.
    let got = local.wait_for(
        "show bgp ipv4 unicast 198.51.100.0/24 json",
        Duration::from_secs(30),
        |o| compact(o).contains("\"prefix\":\"198.51.100.0/24\""),
    );
    assert!(got.is_some(), "route from the peer not received");

    let (packets, bytes) = total(&dp.counters("bgp-port").await.unwrap());
    assert!(packets > 0 && bytes > 0);

    // Without the flows the session goes down (hold time 3 s).
    dp.remove("bgp-port").await.unwrap();
    let down = local.wait_for(
        &format!("show bgp neighbors {PEER4} json"),
        Duration::from_secs(30),
        |o| !compact(o).contains("\"bgpState\":\"Established\""),
    );
    assert!(down.is_some(), "session survived the removal of the flows");
    assert_eq!(t.ingress_filters(UPLINK).trim(), "");
}
