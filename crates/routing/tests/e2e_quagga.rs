//! End to end with Quagga 1.2.4's bgpd (built by `scripts/quagga-build.sh`) as the port's
//! daemon: the controller detects `bgpd version 1.2.4`, serves it with the Zebra v3 profile,
//! launches it with only the flags Quagga knows, renders the configuration for the Quagga
//! flavour and reads peer status from its text tables — and sessions, routes, status, kill -9
//! recovery and withdrawal work as with FRR. The provider is the host's FRR bgpd. Needs root,
//! FRR and the Quagga build (skipped elsewhere, never under CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::sync::Arc;

use common::*;

/// Graceful restart stays at its default (on, with preserve-fw-state, which Quagga lacks and
/// the renderer leaves out).
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

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quagga_sessions_routes_status_kill9_and_withdraw() {
    let test = "quagga_sessions_routes_status_kill9_and_withdraw";
    let Some(bgpd) = testkit::require_quagga(test) else {
        return;
    };
    let Some(host_bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let lab = Lab::new();

    let ns = lab.provider_ns("up1", &["192.0.2.2/24", "2001:db8::2/64"]);
    let nets = [
        "198.51.100.0/24",
        "2001:db8:1000::/48",
        "2001:db8:2000::/48",
    ];
    let conf = provider_config(
        65002,
        "192.0.2.2",
        &[("192.0.2.1", 65001), ("2001:db8::1", 65001)],
        &nets.map(String::from),
    );
    let provider = Provider::start(&host_bgpd, ns, "prov", &conf).await;

    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    let text = format!(
        "{}bgpd_path = \"{}\"\n{PORT}",
        lab.controller(),
        bgpd.display()
    );
    let cfg = config(&text);
    h.sweep(&cfg).await.unwrap();
    h.apply(&cfg).await;

    // The per-peer status (parsed from Quagga's `show ip bgp summary` and `show bgp ipv6
    // unicast summary` tables every second) catches up with the routes (which arrive over
    // zebra at once).
    let received = |s: &routing::PortStatus, v6: bool| {
        s.peers
            .iter()
            .find(|p| p.address.is_ipv6() == v6)
            .and_then(|p| p.prefixes_received)
    };
    let s = wait_port(&h, "p1", 90, "both sessions up and all routes", |s| {
        established(s, 2)
            && has_routes(&sink.table, "p1", &nets)
            && received(s, false) == Some(1)
            && received(s, true) == Some(2)
    })
    .await;
    assert!(s.config_applied && s.zebra_connected, "{s:#?}");
    // The status is parsed from Quagga's text tables (they have no prefixes-sent column).
    let v4 = s.peers.iter().find(|p| p.address.is_ipv4()).unwrap();
    assert_eq!(v4.remote_as, Some(65002));
    assert_eq!(v4.prefixes_received, Some(1));
    let v6 = s.peers.iter().find(|p| p.address.is_ipv6()).unwrap();
    assert_eq!(v6.prefixes_received, Some(2));
    assert_eq!(v6.prefixes_sent, None);
    let r4 = &sink.table.routes("p1")[&"198.51.100.0/24".parse().unwrap()];
    assert_eq!(r4[0].gateway.unwrap().to_string(), "192.0.2.2");
    // Quagga's IPV4_ROUTE_ADD carries eBGP's distance.
    assert_eq!(r4[0].distance, 20);
    let r6 = &sink.table.routes("p1")[&"2001:db8:1000::/48".parse().unwrap()];
    assert!(r6[0].gateway.unwrap().is_ipv6(), "{r6:?}");
    assert_eq!(s.routes.installed, Some(nets.len() as u64));
    assert_eq!(sink.table.routes("p1").len(), nets.len());

    // Our networks reach the provider over both families.
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

    // kill -9: the supervisor restarts Quagga's bgpd, the sessions and routes come back.
    let pid = s.bgpd_pid.unwrap();
    // SAFETY: kill(2) with a pid read from our own supervisor's status; no memory is touched.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    let s = wait_port(
        &h,
        "p1",
        90,
        "bgpd restarted with sessions and routes",
        |s| {
            s.bgpd_pid.is_some_and(|p| p != pid)
                && established(s, 2)
                && has_routes(&sink.table, "p1", &nets)
        },
    )
    .await;
    assert!(s.zebra_connected);

    // The provider withdraws a prefix: it leaves the table.
    provider.configure(&[
        "router bgp 65002",
        "address-family ipv4 unicast",
        "no network 198.51.100.0/24",
    ]);
    wait_port(&h, "p1", 60, "the withdrawn prefix gone", |_| {
        !has_routes(&sink.table, "p1", &["198.51.100.0/24"])
            && has_routes(&sink.table, "p1", &nets[1..])
    })
    .await;

    // Shutdown: every route withdrawn, nothing left.
    h.shutdown().await;
    assert!(sink.table.is_empty());
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
}
