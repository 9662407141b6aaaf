//! End to end with real FRR: sessions, IPv4/IPv6 routes both ways, ECMP, many routes, status,
//! and a clean shutdown. Needs root and FRR (skipped elsewhere, never under CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::ports::dual_stack_port;
use common::*;

/// The shared dual-stack port, with a MAC and an MTU of its own.
fn port() -> String {
    dual_stack_port("mac = \"02:00:5e:00:53:01\"\nmtu = 1400")
}

/// Gaps 4, 5, 9, 10 and 8: FRR 8.4 over ZAPI v6, IPv6 peers and routes, parsed per-peer status,
/// real prefix lengths and MTU, more than 200 learned routes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv4_and_ipv6_sessions_routes_both_ways_status_and_clean_shutdown() {
    let Some(bgpd) = testkit::require_bgpd("ipv4_and_ipv6_sessions_routes_both_ways") else {
        return;
    };
    let lab = Lab::new();
    let ns = lab.provider_ns("up1", &["192.0.2.2/24", "2001:db8::2/64"]);
    // 600 extra prefixes: MidoNet kept at most 200 per port (gap 8).
    let mut nets: Vec<String> = vec![
        "198.51.100.0/24".into(),
        "2001:db8:1000::/48".into(),
        "2001:db8:2000::/48".into(),
    ];
    for i in 0..600u32 {
        nets.push(format!("10.{}.{}.0/24", 100 + i / 256, i % 256));
    }
    let conf = provider_config(
        65002,
        "192.0.2.2",
        &[("192.0.2.1", 65001), ("2001:db8::1", 65001)],
        &nets,
    );
    let provider = Provider::start(&bgpd, ns, "prov", &conf).await;

    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    let cfg = config(&format!("{}{}", lab.controller(), port()));
    h.sweep(&cfg).await.unwrap();
    h.apply(&cfg).await;

    let s = wait_port(&h, "p1", 90, "both sessions up and all routes", |s| {
        established(s, 2)
            && has_routes(
                &sink.table,
                "p1",
                &[
                    "198.51.100.0/24",
                    "2001:db8:1000::/48",
                    "2001:db8:2000::/48",
                ],
            )
            && installed(s) == nets.len() as u64
            && s.peers.iter().all(|p| p.prefixes_sent.unwrap_or(0) >= 1)
    })
    .await;
    assert!(s.config_applied && s.zebra_connected, "{s:#?}");
    assert!(s.bgpd_pid.is_some());
    // Per-peer status is parsed, not raw text (gap 9).
    let v4 = s.peers.iter().find(|p| p.address.is_ipv4()).unwrap();
    assert_eq!(v4.remote_as, Some(65002));
    assert_eq!(v4.prefixes_received, Some(601));
    assert!(v4.prefixes_sent.unwrap_or(0) >= 1);
    assert!(v4.uptime_secs.is_some());
    let v6 = s.peers.iter().find(|p| p.address.is_ipv6()).unwrap();
    assert_eq!(v6.prefixes_received, Some(2));
    // IPv6 routes carry an IPv6 gateway (gap 5).
    let routes = sink.table.routes("p1");
    let r6 = &routes[&"2001:db8:1000::/48".parse().unwrap()];
    assert!(r6[0].gateway.unwrap().is_ipv6(), "{r6:?}");
    let r4 = &routes[&"198.51.100.0/24".parse().unwrap()];
    assert_eq!(r4[0].gateway.unwrap().to_string(), "192.0.2.2");
    assert_eq!(r4[0].distance, 20);
    assert_eq!(r4[0].weight, 1);
    assert_eq!(routes.len(), nets.len());
    // The status counts them without carrying them: every route bgpd installed is accepted
    // (nothing refused under the default cap) and the IPv4 peer is the gateway of its 601.
    assert_eq!(s.routes.accepted, nets.len() as u64, "{s:#?}");
    assert_eq!(s.routes.refused, 0);
    assert_eq!(v4.routes_installed, Some(601));

    // Our networks reach the provider, over both families.
    assert!(
        wait_blocking(60, || {
            provider
                .learned_from("192.0.2.1")
                .contains("203.0.113.0/24")
                && provider
                    .learned_from("2001:db8::1")
                    .contains("2001:db8:100::/48")
        })
        .await,
        "provider did not learn our networks: {:?}",
        provider.learned_from("192.0.2.1")
    );

    // Gap 10: the interface bgpd sees has the real prefix lengths and MTU.
    let inside = testkit::lab::ip(&[
        "-n",
        &s.namespace,
        "addr",
        "show",
        "dev",
        &format!("{}_m", s.namespace),
    ])
    .unwrap();
    assert!(inside.contains("192.0.2.1/24"), "{inside}");
    assert!(inside.contains("2001:db8::1/64"), "{inside}");
    assert!(inside.contains("mtu 1400"), "{inside}");
    assert!(inside.contains("02:00:5e:00:53:01"), "{inside}");
    // Flows are installed on the uplink.
    assert!(!tc_filters(&lab, "up1").is_empty());

    // Shutdown: routes withdrawn, everything removed.
    h.shutdown().await;
    assert!(sink.table.is_empty());
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
    assert!(
        !tc_filters(&lab, "up1").contains("mirred"),
        "{}",
        tc_filters(&lab, "up1")
    );
    let pids = testkit::lab::ip(&["netns", "pids", &s.namespace]).unwrap_or_default();
    assert!(pids.trim().is_empty(), "{pids}");
}

/// ECMP: the same prefix from two providers on one LAN gives one route with two paths.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ecmp_from_two_providers() {
    let Some(bgpd) = testkit::require_bgpd("ecmp_from_two_providers") else {
        return;
    };
    let lab = Lab::new();
    // A LAN namespace with a bridge: the uplink and both providers are its ports.
    let lan = testkit::lab::TestNs::new("elan").unwrap();
    lan.ip(&["link", "add", "br0", "type", "bridge"]).unwrap();
    lan.ip(&["link", "set", "br0", "up"]).unwrap();
    testkit::lab::veth_between(&lab.host, "up1", &lan, "h0").unwrap();
    lan.ip(&["link", "set", "h0", "master", "br0"]).unwrap();
    let mut providers = Vec::new();
    for (i, addr) in ["192.0.2.2", "192.0.2.3"].iter().enumerate() {
        let ns = testkit::lab::TestNs::new("eprov").unwrap();
        let lan_if = format!("p{i}");
        testkit::lab::veth_between(&lan, &lan_if, &ns, "prov").unwrap();
        lan.ip(&["link", "set", &lan_if, "master", "br0"]).unwrap();
        ns.add_addr("prov", &format!("{addr}/24")).unwrap();
        let conf = provider_config(
            65002,
            addr,
            &[("192.0.2.1", 65001)],
            &["198.51.100.0/24".to_string()],
        );
        providers.push(Provider::start(&bgpd, ns, "prov", &conf).await);
    }
    let port = r#"
[[port]]
name = "p1"
uplink = "up1"
address = "192.0.2.1/24"
local_as = 65001
maximum_paths = 4
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 5
[[port.peer]]
address = "192.0.2.3"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 5
"#;
    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    h.apply(&config(&format!("{}{port}", lab.controller())))
        .await;
    let ecmp = |n: usize| {
        sink.table
            .routes("p1")
            .get(&"198.51.100.0/24".parse().unwrap())
            .is_some_and(|p| p.len() == n)
    };
    wait_port(&h, "p1", 90, "an ECMP route", |s| {
        established(s, 2) && ecmp(2)
    })
    .await;
    let routes = sink.table.routes("p1");
    let r = routes.values().find(|p| p.len() == 2).unwrap();
    let gws: Vec<String> = r.iter().map(|p| p.gateway.unwrap().to_string()).collect();
    assert!(
        gws.contains(&"192.0.2.2".to_string()) && gws.contains(&"192.0.2.3".to_string()),
        "{gws:?}"
    );
    // One provider goes away: the route shrinks to one path, not withdrawn.
    let mut gone = providers.remove(0);
    gone.bgpd.kill();
    wait_port(&h, "p1", 90, "one path left", |_| ecmp(1)).await;
    assert_eq!(
        sink.table.routes("p1").values().next().unwrap()[0]
            .gateway
            .unwrap()
            .to_string(),
        "192.0.2.3"
    );
    h.shutdown().await;
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
}
