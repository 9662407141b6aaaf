//! Gap 3 with a real bgpd: a command bgpd refuses is reported (with the command), the session
//! stays usable, and per-peer status is parsed from bgpd's JSON (gap 9). The configuration goes
//! the one way the controller sends it: file → validated config → typed `vty` commands →
//! bgpd, with the RFC 4271 timers FRR's datacenter profile uses (3/9, connect retry 2).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;

use common::*;
use routing::bgpconf::BgpdSettings;
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
            "hostname vtytest\npassword Vty-Test-Pass-1\nenable password En-Test-Pass-2\n",
            &BgpdOptions::default(),
        )
    })
    .unwrap();
    // The "host side" is the bgpd's own namespace here: its Vty listens on 127.0.0.1 there.
    // FRR's datacenter timers (issue #13): keepalive 3, hold 9, connect retry 2.
    let run = tempfile::tempdir().unwrap();
    let cfg = config(&format!(
        "[controller]\nvty_password = \"Vty-Test-Pass-1\"\nenable_password = \"En-Test-Pass-2\"\nprefix = \"{}\"\nrun_dir = \"{}\"\nhost_namespace = \"{}\"\n\
         [[port]]\nname = \"p\"\nuplink = \"x0\"\naddress = \"192.0.2.1/24\"\nlocal_as = 65001\n\
         [[port.peer]]\naddress = \"192.0.2.2\"\nremote_as = 65002\nkeepalive = 3\nhold_time = 9\n\
         connect_retry = 2\ndescription = \"provider A\"\n",
        unique_prefix(),
        run.path().display(),
        ns.name()
    ));
    assert!(cfg.warnings.is_empty(), "{:?}", cfg.warnings);
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
    let settings = BgpdSettings::from(&cfg.ports[0]);
    // A typed command bgpd refuses: activating a neighbor it does not have (the commands are
    // built from the `vty` configuration directly, skipping `BgpConfig::validate`).
    let mut broken = settings.config().clone();
    broken.ipv4.activate.insert("192.0.2.9".parse().unwrap());
    let err = vty.apply(&broken.commands()).await.unwrap_err();
    assert!(err.rejected, "{err}");
    assert!(err.to_string().contains("192.0.2.9 activate"), "{err}");
    // The session still works and the lines before the bad one were applied.
    let mut more = settings.config().clone();
    more.add_neighbor(vty::Neighbor::new(
        "192.0.2.3".parse().unwrap(),
        vty::config::Asn::new(65003).unwrap(),
    ));
    vty.apply(&vty::diff(settings.config(), &more))
        .await
        .unwrap();
    let peers = vty.read_peers().await.unwrap();
    let addrs: Vec<String> = peers.iter().map(|p| p.address.to_string()).collect();
    assert_eq!(addrs, ["192.0.2.2", "192.0.2.3"]);
    assert_eq!(peers[1].remote_as, Some(65003));
    assert!(!peers[0].state.is_empty() && peers[0].state != "Established");
    let rc = b.vtysh(&["show running-config"]).unwrap();
    for line in [
        " neighbor 192.0.2.2 remote-as 65002",
        " neighbor 192.0.2.2 description provider A",
        " neighbor 192.0.2.2 timers 3 9",
        " neighbor 192.0.2.2 timers connect 2",
        " neighbor 192.0.2.3 remote-as 65003",
    ] {
        assert!(rc.lines().any(|l| l == line), "{line:?} missing:\n{rc}");
    }
    vty.close().await;
}
