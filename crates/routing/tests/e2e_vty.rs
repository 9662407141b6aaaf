//! Gap 3 with a real bgpd: a command bgpd refuses is reported (with the command), the session
//! stays usable, and per-peer status is parsed from bgpd's JSON (gap 9).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;

use common::*;
use routing::{ContainerFacts, Effects, PortPlan, VtySession};
use testkit::lab::{BgpdOptions, TestBgpd, TestNs};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rejected_vty_command_is_reported_and_session_stays_usable() {
    let Some(bgpd) = testkit::require_bgpd("rejected_vty_command_is_reported") else {
        return;
    };
    let ns = TestNs::new("evty").unwrap();
    let b = tokio::task::block_in_place(|| {
        TestBgpd::start(
            &bgpd,
            &ns,
            "hostname vtytest\npassword midonet-bgp\n",
            &BgpdOptions::default(),
        )
    })
    .unwrap();
    // The "host side" is the bgpd's own namespace here: its Vty listens on 127.0.0.1 there.
    let cfg = config(&format!(
        "[controller]\nprefix = \"{}\"\nrun_dir = \"/tmp/unused\"\nhost_namespace = \"{}\"\n\
         [[port]]\nname = \"p\"\nuplink = \"x0\"\naddress = \"192.0.2.1/24\"\nlocal_as = 65001\n\
         [[port.peer]]\naddress = \"192.0.2.2\"\nremote_as = 65002\n",
        unique_prefix(),
        ns.name()
    ));
    let plan = PortPlan::new(&cfg.controller, &cfg.ports[0], 0);
    let facts = ContainerFacts {
        namespace: ns.name().to_string(),
        datapath_host: "x".into(),
        datapath_inside: "x_m".into(),
        datapath_inside_ifindex: 2,
        mac: None,
        mtu: 1500,
        addresses: Vec::new(),
        vty_addr: "127.0.0.1:2605".parse::<SocketAddr>().unwrap(),
    };
    let fx = routing::real::RealEffects::new();
    let mut vty = fx.connect_vty(&plan, &facts).await.unwrap();
    let bad: Vec<String> = [
        "configure terminal",
        "router bgp 65001",
        "neighbor 192.0.2.2 remote-as 65002",
        "neighbor 192.0.2.2 frobnicate",
        "end",
    ]
    .map(String::from)
    .to_vec();
    let err = vty.apply(&bad).await.unwrap_err();
    assert!(err.rejected, "{err}");
    assert!(err.to_string().contains("frobnicate"), "{err}");
    // The session still works and the lines before the bad one were applied.
    let good: Vec<String> = [
        "configure terminal",
        "router bgp 65001",
        "neighbor 192.0.2.3 remote-as 65003",
        "end",
    ]
    .map(String::from)
    .to_vec();
    vty.apply(&good).await.unwrap();
    let peers = vty.read_peers().await.unwrap();
    let addrs: Vec<String> = peers.iter().map(|p| p.address.to_string()).collect();
    assert_eq!(addrs, ["192.0.2.2", "192.0.2.3"]);
    assert_eq!(peers[1].remote_as, Some(65003));
    assert!(!peers[0].state.is_empty() && peers[0].state != "Established");
    let run = b.vtysh(&["show running-config"]).unwrap();
    assert!(run.contains("neighbor 192.0.2.3 remote-as 65003"), "{run}");
    vty.close().await;
}
