//! End to end with external peers we did not write: GoBGP (`gobgpd`) and BIRD 2 as the provider of a port,
//! over IPv4 and IPv6 — sessions up, the provider's routes learned into the port's table, our
//! networks learned by the provider, a withdrawal followed. The port's bgpd is the host's FRR.
//! Needs root, FRR, GoBGP and BIRD (skipped elsewhere, never under CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;
use testkit::gobgp::TestGobgp;

const PORT: &str = r#"
[[port]]
name = "p1"
uplink = "up1"
address = "192.0.2.1/24"
address6 = "2001:db8::1/64"
local_as = 65001
networks = ["203.0.113.0/24", "2001:db8:100::/48"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 5
[[port.peer]]
address = "2001:db8::2"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 5
"#;

/// GoBGP's configuration: AS 65002, one neighbor per family.
const GOBGP_CONF: &str = r#"
[global.config]
  as = 65002
  router-id = "192.0.2.2"
  local-address-list = ["192.0.2.2", "2001:db8::2"]

[[neighbors]]
  [neighbors.config]
    neighbor-address = "192.0.2.1"
    peer-as = 65001
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"

[[neighbors]]
  [neighbors.config]
    neighbor-address = "2001:db8::1"
    peer-as = 65001
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gobgp_peer_ipv4_and_ipv6_routes_both_ways() {
    let test = "gobgp_peer_ipv4_and_ipv6_routes_both_ways";
    let Some(gobgpd) = testkit::gobgp::require_gobgpd(test) else {
        return;
    };
    let Some(_bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let lab = Lab::new();
    let ns = lab.provider_ns("up1", &["192.0.2.2/24", "2001:db8::2/64"]);
    let gobgp = tokio::task::block_in_place(|| TestGobgp::start(&gobgpd, &ns, GOBGP_CONF)).unwrap();
    let nets = ["198.51.100.0/24", "2001:db8:1000::/48"];
    tokio::task::block_in_place(|| {
        gobgp
            .gobgp(&["global", "rib", "add", "-a", "ipv4", nets[0]])
            .unwrap();
        gobgp
            .gobgp(&["global", "rib", "add", "-a", "ipv6", nets[1]])
            .unwrap();
    });

    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    let cfg = config(&format!("{}{PORT}", lab.controller()));
    h.sweep(&cfg).await.unwrap();
    h.apply(&cfg).await;

    let s = wait_port(&h, "p1", 90, "both GoBGP sessions up and its routes", |s| {
        established(s, 2) && has_routes(&sink.table, "p1", &nets)
    })
    .await;
    let r4 = &sink.table.routes("p1")[&nets[0].parse().unwrap()];
    assert_eq!(r4[0].gateway.unwrap().to_string(), "192.0.2.2");
    let r6 = &sink.table.routes("p1")[&nets[1].parse().unwrap()];
    assert!(r6[0].gateway.unwrap().is_ipv6(), "{r6:?}");
    assert_eq!(sink.table.routes("p1").len(), nets.len());
    assert_eq!(s.routes.installed, Some(nets.len() as u64));

    // GoBGP learns our networks over both families.
    let learned = |afi: &str, prefix: &str| {
        gobgp
            .gobgp(&["global", "rib", "-a", afi])
            .is_ok_and(|t| t.contains(prefix))
    };
    assert!(
        wait_blocking(60, || learned("ipv4", "203.0.113.0/24")
            && learned("ipv6", "2001:db8:100::/48"))
        .await,
        "GoBGP did not learn our networks: {:?} {:?}\n{}",
        gobgp.gobgp(&["global", "rib", "-a", "ipv4"]),
        gobgp.gobgp(&["global", "rib", "-a", "ipv6"]),
        gobgp.log()
    );

    // GoBGP withdraws its IPv6 prefix: it leaves the port's table.
    tokio::task::block_in_place(|| {
        gobgp
            .gobgp(&["global", "rib", "del", "-a", "ipv6", nets[1]])
            .unwrap();
    });
    wait_port(&h, "p1", 60, "the withdrawn prefix gone", |_| {
        !has_routes(&sink.table, "p1", &nets[1..]) && has_routes(&sink.table, "p1", &nets[..1])
    })
    .await;

    h.shutdown().await;
    assert!(sink.table.is_empty());
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
}

/// BIRD 2's configuration: AS 65002, one session per family, a static route each to announce.
const BIRD_CONF: &str = r#"
router id 192.0.2.2;
protocol device {}
protocol static s4 { ipv4; route 198.51.100.0/24 unreachable; }
protocol static s6 { ipv6; route 2001:db8:1000::/48 unreachable; }
protocol bgp p4 {
  local 192.0.2.2 as 65002;
  neighbor 192.0.2.1 as 65001;
  ipv4 { import all; export all; };
}
protocol bgp p6 {
  local 2001:db8::2 as 65002;
  neighbor 2001:db8::1 as 65001;
  ipv6 { import all; export all; };
}
"#;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bird_peer_ipv4_and_ipv6_routes_both_ways() {
    let test = "bird_peer_ipv4_and_ipv6_routes_both_ways";
    let Some(bird) = testkit::bird::require_bird(test) else {
        return;
    };
    let Some(_bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let lab = Lab::new();
    let ns = lab.provider_ns("up1", &["192.0.2.2/24", "2001:db8::2/64"]);
    let b = tokio::task::block_in_place(|| testkit::bird::TestBird::start(&bird, &ns, BIRD_CONF))
        .unwrap();
    let nets = ["198.51.100.0/24", "2001:db8:1000::/48"];

    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    let cfg = config(&format!("{}{PORT}", lab.controller()));
    h.sweep(&cfg).await.unwrap();
    h.apply(&cfg).await;

    let s = wait_port(&h, "p1", 90, "both BIRD sessions up and its routes", |s| {
        established(s, 2) && has_routes(&sink.table, "p1", &nets)
    })
    .await;
    let r4 = &sink.table.routes("p1")[&nets[0].parse().unwrap()];
    assert_eq!(r4[0].gateway.unwrap().to_string(), "192.0.2.2");
    let r6 = &sink.table.routes("p1")[&nets[1].parse().unwrap()];
    assert!(r6[0].gateway.unwrap().is_ipv6(), "{r6:?}");
    assert_eq!(s.routes.installed, Some(nets.len() as u64));

    // BIRD learns our networks over both families.
    let learned = |proto: &str, prefix: &str| {
        b.birdc(&format!("show route protocol {proto}"))
            .is_ok_and(|t| t.contains(prefix))
    };
    assert!(
        wait_blocking(60, || learned("p4", "203.0.113.0/24")
            && learned("p6", "2001:db8:100::/48"))
        .await,
        "BIRD did not learn our networks: {:?}\n{}",
        b.birdc("show route all"),
        b.log()
    );

    // BIRD withdraws its IPv4 prefix: it leaves the port's table.
    tokio::task::block_in_place(|| b.birdc("disable s4")).unwrap();
    wait_port(&h, "p1", 60, "the withdrawn prefix gone", |_| {
        !has_routes(&sink.table, "p1", &nets[..1]) && has_routes(&sink.table, "p1", &nets[1..])
    })
    .await;

    h.shutdown().await;
    assert!(sink.table.is_empty());
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
}
