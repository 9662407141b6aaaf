//! End to end with real FRR: routing policy on a port with two upstream providers (AS 65002 and
//! AS 65003) directly connected on one uplink, over IPv4 and IPv6. No transit by default,
//! transit when a peer's export allows it, filters changed without a session reset, and
//! `maximum_prefix` (warn only, then tear down with the reason in the status). Needs root and
//! FRR (skipped elsewhere, never under CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use common::policy::{connections, has_all, has_none, peer, two_providers_policy, OURS};
use common::port::PortBgpd;
use common::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_providers_no_transit_by_default_policy_changes_in_place_and_prefix_limits() {
    let Some(bgpd) = testkit::require_bgpd("two_providers_policy") else {
        return;
    };
    let lab = Lab::new();
    two_providers_policy(&lab, &PortBgpd::Host, &bgpd).await;
}

/// What the provider (AS 65002) announces in the `reject_as` test, with the AS path it gives
/// each route after its own AS (prepended by a route-map on its `network` line).
const PLAIN: [&str; 2] = ["198.51.100.0/26", "2001:db8:2000::/48"];
const PRIVATE: [&str; 3] = [
    "198.51.100.64/26",   // 65002 65010 (private, RFC 6996)
    "198.51.100.128/26",  // 65002 4200000001 (private, 32-bit)
    "2001:db8:2001::/48", // 65002 65010
];
const RESERVED: [&str; 1] = ["198.51.100.192/26"]; // 65002 64496 (documentation, RFC 5398)
const OWN: &str = "198.18.0.0/24"; // 65002 65001 (our own AS)

/// The prefixes the controller published for port `p1` (what its sink holds).
fn published(sink: &CountingSink) -> BTreeSet<String> {
    sink.table
        .routes("p1")
        .keys()
        .map(ToString::to_string)
        .collect()
}

/// `import.reject_as` against a real FRR provider: routes whose AS path holds a private AS (16-
/// and 32-bit) or a reserved one behind the provider stop being published when asked, and come
/// back when the option is removed, each change in place (no session reset); the provider's
/// own AS (65002, itself private) never counts. A path holding our own AS never reaches the
/// controller at all, with or without the option: bgpd's loop detection drops it first
/// (which is why `reject_as` has no "own" class).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn reject_as_drops_private_and_reserved_paths_in_place() {
    let Some(bgpd) = testkit::require_bgpd("reject_as_drops_private_and_reserved_paths") else {
        return;
    };
    let lab = Lab::new();
    let ns = lab.provider_ns("up1", &["192.0.2.2/24", "2001:db8::2/64"]);
    let neighbors = [("192.0.2.1", 65001), ("2001:db8::1", 65001)];
    let prov = Provider::start(
        &bgpd,
        ns,
        "prov",
        &provider_config(65002, "192.0.2.2", &neighbors, &[]),
    )
    .await;
    tokio::task::block_in_place(|| {
        prov.configure(&[
            "route-map PRIV permit 10",
            "set as-path prepend 65010",
            "exit",
            "route-map PRIV4 permit 10",
            "set as-path prepend 4200000001",
            "exit",
            "route-map DOC permit 10",
            "set as-path prepend 64496",
            "exit",
            "route-map OWN permit 10",
            "set as-path prepend 65001",
            "exit",
            "router bgp 65002",
            "address-family ipv4 unicast",
            &format!("network {}", PLAIN[0]),
            &format!("network {} route-map PRIV", PRIVATE[0]),
            &format!("network {} route-map PRIV4", PRIVATE[1]),
            &format!("network {} route-map DOC", RESERVED[0]),
            &format!("network {OWN} route-map OWN"),
            "exit-address-family",
            "address-family ipv6 unicast",
            &format!("network {}", PLAIN[1]),
            &format!("network {} route-map PRIV", PRIVATE[2]),
        ])
    });

    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    let both = |extra: &str| {
        let text = format!(
            "{}[[port]]\nname = \"p1\"\nuplink = \"up1\"\naddress = \"192.0.2.1/24\"\naddress6 = \"2001:db8::1/64\"\nlocal_as = 65001\nnetworks = [\"{}\"]\n{}{}",
            lab.controller(),
            OURS[0],
            peer("192.0.2.2", 65002, extra),
            peer("2001:db8::2", 65002, extra),
        );
        config(&text)
    };
    let base = both("");
    h.sweep(&base).await.unwrap();
    h.apply(&base).await;

    // 1. No option: everything but the own-AS path is published.
    let everything: Vec<&str> = PLAIN
        .iter()
        .chain(&PRIVATE)
        .chain(&RESERVED)
        .copied()
        .collect();
    assert!(
        wait_blocking(90, || has_all(&published(&sink), &everything)).await,
        "not every provider route was published: {:?}",
        published(&sink)
    );
    // The provider did send the own-AS path; bgpd dropped it before any policy.
    let advertised = tokio::task::block_in_place(|| {
        prov.bgpd
            .vtysh(&["show bgp ipv4 unicast neighbors 192.0.2.1 advertised-routes json"])
    })
    .unwrap();
    assert!(advertised.contains(OWN), "{advertised}");
    let no_own = tokio::task::block_in_place(|| {
        testkit::lab::holds_for(Duration::from_secs(3), || !published(&sink).contains(OWN))
    });
    assert!(no_own, "a path with our own AS was published");
    let before = connections(&prov);

    // 2. reject_as = ["private"]: the 16- and 32-bit private paths go (IPv4 and IPv6); the
    // provider's own AS 65002 is private too and does not count.
    let private = both("[port.peer.import]\nreject_as = [\"private\"]\n");
    assert_eq!(h.apply(&private).await.updated, ["p1"]);
    assert!(
        wait_blocking(60, || {
            let p = published(&sink);
            has_none(&p, &PRIVATE) && has_all(&p, &PLAIN) && has_all(&p, &RESERVED)
        })
        .await,
        "private paths not dropped: {:?}",
        published(&sink)
    );

    // 3. And "reserved": the documentation AS goes too.
    let all = both("[port.peer.import]\nreject_as = [\"private\", \"reserved\"]\n");
    h.apply(&all).await;
    assert!(
        wait_blocking(60, || {
            let p = published(&sink);
            has_none(&p, &PRIVATE) && has_none(&p, &RESERVED) && has_all(&p, &PLAIN)
        })
        .await,
        "reserved path not dropped: {:?}",
        published(&sink)
    );

    // 4. Option removed: every route comes back (bgpd asks the provider again), never the
    // own-AS one.
    h.apply(&base).await;
    assert!(
        wait_blocking(60, || has_all(&published(&sink), &everything)).await,
        "routes did not come back: {:?}",
        published(&sink)
    );
    assert!(!published(&sink).contains(OWN));
    assert_eq!(
        connections(&prov),
        before,
        "a reject_as change reset a session"
    );
    let s = h.status().await.remove(0);
    assert!(established(&s, 2), "{s:#?}");
    h.shutdown().await;
}
