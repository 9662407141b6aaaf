//! End to end with Quagga 1.2.4's bgpd (built by `scripts/quagga-build.sh`) as the port's
//! daemon: the controller detects `bgpd version 1.2.4`, serves it with the Zebra v3 profile,
//! launches it with only the flags Quagga knows, renders the configuration for the Quagga
//! flavour and reads peer status from its text tables — and sessions, routes, status, kill -9
//! recovery, withdrawal and ECMP work as with FRR, and malformed frames on other connections
//! to the port's zebra socket close only those connections. The providers are the host's FRR bgpd.
//! Needs root, FRR and the Quagga build (skipped elsewhere, never under CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::IpAddr;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use common::port::{lan, run_port, PortBgpd, PROVIDER_NETS};
use common::*;
use testkit::socket::expect_closed;

/// Graceful restart stays at its default (on, with preserve-fw-state, which Quagga lacks and
/// the renderer leaves out); the status has no prefixes sent (Quagga's text tables).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quagga_sessions_routes_status_kill9_and_withdraw() {
    let test = "quagga_sessions_routes_status_kill9_and_withdraw";
    let Some(bgpd) = PortBgpd::quagga(test) else {
        return;
    };
    let Some(host_bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let lab = Lab::new();
    let run = run_port(&lab, &bgpd, &host_bgpd).await;

    // Garbage, a truncated and an oversized frame (Zebra v3 headers: marker 255, version 3)
    // on other connections to the port's zebra socket, while Quagga's bgpd is connected: each
    // is closed by the server; bgpd's connection, sessions and routes stay.
    let sock = lab.run_path().join("zebra-p1.sock");
    let withdrawn = run.sink.withdrawals.load(Ordering::SeqCst);
    tokio::task::block_in_place(|| {
        expect_closed(&sock, b"\xde\xad\xbe\xef garbage garbage garbage", false).unwrap();
        // A header announcing 100 bytes, then EOF after 20.
        let mut truncated = vec![0, 100, 255, 3, 0, 0, 0, 1];
        truncated.extend_from_slice(&[0u8; 12]);
        expect_closed(&sock, &truncated, true).unwrap();
        // A header announcing 65535 bytes (more than any Zebra frame).
        expect_closed(&sock, &[0xff, 0xff, 255, 3, 0, 0, 0, 1], false).unwrap();
    });
    // bgpd's own connection would drop within a status interval (1 s) if the server had
    // closed it, taking its routes with it: watched for 3 s.
    let deadline = tokio::time::Instant::now() + Duration::from_secs(3);
    while tokio::time::Instant::now() < deadline {
        let s = run.h.status().await.remove(0);
        assert!(
            s.zebra_connected && established(&s, 2) && s.bgpd_pid == run.status.bgpd_pid,
            "a malformed connection disturbed bgpd: {s:#?}"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    assert_eq!(run.sink.withdrawals.load(Ordering::SeqCst), withdrawn);
    assert!(has_routes(&run.sink.table, "p1", &PROVIDER_NETS));

    // kill -9: the supervisor restarts Quagga's bgpd, the sessions and routes come back.
    run.kill9_and_recover().await;
    run.provider_withdraws_one().await;
    run.shutdown(&lab).await;
}

/// Two providers of one AS on the uplink's LAN announce the same IPv4 and IPv6 prefixes:
/// Quagga (built with `--enable-multipath=64`, `maximum-paths 4` rendered in both address
/// families) gives zebra one route with both next hops, and the sink holds one route with two
/// paths per prefix; when one provider goes away, each route shrinks to the other's path
/// without being withdrawn.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quagga_ecmp_from_two_providers() {
    let test = "quagga_ecmp_from_two_providers";
    let Some(bgpd) = PortBgpd::quagga(test) else {
        return;
    };
    let Some(host_bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let lab = Lab::new();
    let (_lan, nss) = tokio::task::block_in_place(|| {
        lan(
            &lab,
            &[
                ("192.0.2.2", Some("2001:db8::2")),
                ("192.0.2.3", Some("2001:db8::3")),
            ],
        )
    });
    let mut providers = Vec::new();
    for (ns, addr) in nss.into_iter().zip(["192.0.2.2", "192.0.2.3"]) {
        let conf = provider_config(
            65002,
            addr,
            &[("192.0.2.1", 65001), ("2001:db8::1", 65001)],
            &["198.51.100.0/24".to_string(), "2001:db8:1000::/48".into()],
        );
        providers.push(Provider::start(&host_bgpd, ns, "prov", &conf).await);
    }
    let port = r#"
[[port]]
name = "p1"
uplink = "up1"
address = "192.0.2.1/24"
address6 = "2001:db8::1/64"
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
[[port.peer]]
address = "2001:db8::2"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 5
[[port.peer]]
address = "2001:db8::3"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 5
"#;
    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    let cfg = config(&format!("{}{port}", bgpd.controller(&lab)));
    h.sweep(&cfg).await.unwrap();
    h.apply(&cfg).await;
    let paths = |prefix: &str| {
        sink.table
            .routes("p1")
            .get(&prefix.parse().unwrap())
            .map(|p| {
                p.iter()
                    .map(|p| p.gateway.unwrap())
                    .collect::<Vec<IpAddr>>()
            })
            .unwrap_or_default()
    };
    wait_port(&h, "p1", 90, "ECMP routes over both families", |s| {
        established(s, 4)
            && paths("198.51.100.0/24").len() == 2
            && paths("2001:db8:1000::/48").len() == 2
    })
    .await;
    let mut v4 = paths("198.51.100.0/24");
    v4.sort();
    assert_eq!(
        v4,
        [
            "192.0.2.2".parse::<IpAddr>().unwrap(),
            "192.0.2.3".parse().unwrap()
        ]
    );
    // The IPv6 next hops are the providers' link-local addresses (on-link, two distinct).
    let v6 = paths("2001:db8:1000::/48");
    assert!(v6.iter().all(IpAddr::is_ipv6) && v6[0] != v6[1], "{v6:?}");
    let withdrawn = sink.withdrawals.load(Ordering::SeqCst);

    // One provider goes away: each route shrinks to one path (after the hold time), not
    // withdrawn.
    let mut gone = providers.remove(0);
    gone.bgpd.kill();
    wait_port(&h, "p1", 90, "one path left per prefix", |_| {
        paths("198.51.100.0/24").len() == 1 && paths("2001:db8:1000::/48").len() == 1
    })
    .await;
    assert_eq!(
        paths("198.51.100.0/24"),
        ["192.0.2.3".parse::<IpAddr>().unwrap()]
    );
    assert_eq!(
        sink.withdrawals.load(Ordering::SeqCst),
        withdrawn,
        "a route was withdrawn instead of shrinking"
    );
    h.shutdown().await;
    assert!(sink.table.is_empty());
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
}
