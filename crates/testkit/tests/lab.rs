//! Checks that the lab helpers themselves work: two namespaces, a veth, two plain bgpds that
//! establish an eBGP session, and nothing left behind.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::Duration;
use testkit::lab::{veth_between, BgpdOptions, TestBgpd, TestNs};

fn conf(host: &str, asn: u32, id: &str, peer: &str, peer_as: u32) -> String {
    format!(
        "hostname {host}\npassword zebra\nlog stdout\n!\nrouter bgp {asn}\n bgp router-id {id}\n \
         no bgp ebgp-requires-policy\n neighbor {peer} remote-as {peer_as}\n neighbor {peer} timers 3 9\n \
         neighbor {peer} timers connect 1\n!\n"
    )
}

#[test]
fn two_plain_bgpds_establish_and_clean_up() {
    let Some(bgpd) = testkit::require_bgpd("two_plain_bgpds_establish_and_clean_up") else {
        return;
    };
    let names;
    {
        let a = TestNs::new("tka").unwrap();
        let b = TestNs::new("tkb").unwrap();
        names = (a.name().to_string(), b.name().to_string());
        veth_between(&a, "va", &b, "vb").unwrap();
        a.add_addr("va", "192.0.2.1/24").unwrap();
        b.add_addr("vb", "192.0.2.2/24").unwrap();
        let ba = TestBgpd::start(
            &bgpd,
            &a,
            &conf("a", 65001, "192.0.2.1", "192.0.2.2", 65002),
            &BgpdOptions::default(),
        )
        .unwrap();
        let bb = TestBgpd::start(
            &bgpd,
            &b,
            &conf("b", 65002, "192.0.2.2", "192.0.2.1", 65001),
            &BgpdOptions::default(),
        )
        .unwrap();
        let est = ba.wait_for("show bgp summary json", Duration::from_secs(60), |o| {
            o.contains("\"Established\"")
        });
        assert!(
            est.is_some(),
            "no session; a log:\n{}\nb log:\n{}",
            ba.log(),
            bb.log()
        );
        assert!(a.pids().contains(&ba.pid().unwrap()));
        let sock = testkit::lab::connect_tcp_in(
            a.name(),
            "127.0.0.1:2605".parse().unwrap(),
            Duration::from_secs(5),
        );
        assert!(
            sock.is_ok(),
            "vty not reachable inside the namespace: {sock:?}"
        );
    }
    let list = testkit::lab::ip(&["netns", "list"]).unwrap();
    assert!(
        !list.contains(&names.0) && !list.contains(&names.1),
        "left: {list}"
    );
}
