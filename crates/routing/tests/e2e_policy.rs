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

use common::*;
use testkit::lab::{veth_between, TestNs};

const OURS: [&str; 2] = ["203.0.113.0/24", "2001:db8:100::/48"];
const FROM_65002: [&str; 3] = ["198.51.100.0/26", "198.51.100.64/26", "2001:db8:2000::/48"];
const FROM_65003: [&str; 3] = [
    "198.51.100.128/25",
    "2001:db8:3000::/48",
    "2001:db8:3001::/48",
];

/// One `[[port.peer]]` with fast timers and `extra` (sub-tables) after its keys.
fn peer(addr: &str, asn: u32, extra: &str) -> String {
    format!(
        "[[port.peer]]\naddress = \"{addr}\"\nremote_as = {asn}\nkeepalive = 5\nhold_time = 15\nconnect_retry = 5\n{extra}\n"
    )
}

/// The port with its four peers; `extra` holds each peer's policy tables, in the order
/// 192.0.2.2, 2001:db8::2, 192.0.2.3, 2001:db8::3.
fn port(extra: [&str; 4]) -> String {
    format!(
        "[[port]]\nname = \"p1\"\nuplink = \"up1\"\naddress = \"192.0.2.1/24\"\naddress6 = \"2001:db8::1/64\"\nlocal_as = 65001\nnetworks = [\"{}\", \"{}\"]\n{}{}{}{}",
        OURS[0],
        OURS[1],
        peer("192.0.2.2", 65002, extra[0]),
        peer("2001:db8::2", 65002, extra[1]),
        peer("192.0.2.3", 65003, extra[2]),
        peer("2001:db8::3", 65003, extra[3]),
    )
}

/// Every prefix `p` learned from us, over both sessions.
fn from_us(p: &Provider) -> BTreeSet<String> {
    let mut s = p.learned_from("192.0.2.1");
    s.extend(p.learned_from("2001:db8::1"));
    s
}

fn has_all(set: &BTreeSet<String>, want: &[&str]) -> bool {
    want.iter().all(|w| set.contains(*w))
}

fn has_none(set: &BTreeSet<String>, unwanted: &[&str]) -> bool {
    unwanted.iter().all(|w| !set.contains(*w))
}

/// How many times each of the provider's sessions with us was established.
fn connections(p: &Provider) -> [u64; 2] {
    ["192.0.2.1", "2001:db8::1"].map(|a| {
        p.neighbor(a)["connectionsEstablished"]
            .as_u64()
            .unwrap_or(0)
    })
}

fn peer_of<'a>(s: &'a routing::PortStatus, addr: &str) -> Option<&'a routing::PeerStatus> {
    s.peers.iter().find(|p| p.address.to_string() == addr)
}

/// A switch namespace bridging the host's uplink and both providers' links.
fn switch(lab: &Lab) -> (TestNs, TestNs, TestNs) {
    let sw = TestNs::new("esw").unwrap();
    veth_between(&lab.host, "up1", &sw, "s0").unwrap();
    let p2 = TestNs::new("eprov").unwrap();
    let p3 = TestNs::new("eprov").unwrap();
    veth_between(&sw, "s2", &p2, "prov").unwrap();
    veth_between(&sw, "s3", &p3, "prov").unwrap();
    sw.ip(&["link", "add", "br0", "type", "bridge"]).unwrap();
    for l in ["s0", "s2", "s3"] {
        sw.ip(&["link", "set", l, "master", "br0"]).unwrap();
    }
    sw.ip(&["link", "set", "br0", "up"]).unwrap();
    for (ns, n) in [(&p2, 2), (&p3, 3)] {
        ns.add_addr("prov", &format!("192.0.2.{n}/24")).unwrap();
        ns.add_addr("prov", &format!("2001:db8::{n}/64")).unwrap();
    }
    (sw, p2, p3)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_providers_no_transit_by_default_policy_changes_in_place_and_prefix_limits() {
    let Some(bgpd) = testkit::require_bgpd("two_providers_policy") else {
        return;
    };
    let lab = Lab::new();
    let (_sw, ns2, ns3) = tokio::task::block_in_place(|| switch(&lab));
    let neighbors = [("192.0.2.1", 65001), ("2001:db8::1", 65001)];
    let nets = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let prov2 = Provider::start(
        &bgpd,
        ns2,
        "prov",
        &provider_config(65002, "192.0.2.2", &neighbors, &nets(&FROM_65002)),
    )
    .await;
    let prov3 = Provider::start(
        &bgpd,
        ns3,
        "prov",
        &provider_config(65003, "192.0.2.3", &neighbors, &nets(&FROM_65003)),
    )
    .await;

    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    let apply = |extra: [&str; 4]| config(&format!("{}{}", lab.controller(), port(extra)));
    let base = apply(["", "", "", ""]);
    h.sweep(&base).await.unwrap();
    h.apply(&base).await;

    // 1. No policy: four sessions, every provider route reaches us, ours reach both
    // providers, and neither provider receives the other's routes.
    wait_port(&h, "p1", 90, "four sessions with every route", |s| {
        established(s, 4)
            && [
                ("192.0.2.2", 2),
                ("2001:db8::2", 1),
                ("192.0.2.3", 1),
                ("2001:db8::3", 2),
            ]
            .iter()
            .all(|(a, n)| peer_of(s, a).and_then(|p| p.prefixes_received) == Some(*n))
    })
    .await;
    assert!(
        wait_blocking(60, || has_all(&from_us(&prov2), &OURS)
            && has_all(&from_us(&prov3), &OURS))
        .await,
        "our networks did not reach both providers: {:?} / {:?}",
        from_us(&prov2),
        from_us(&prov3)
    );
    // bgpd has had the other provider's routes since the sessions came up; watched over 5 s
    // more (bgpd's eBGP advertisement interval is 0), nothing leaks.
    let no_leak = tokio::task::block_in_place(|| {
        testkit::lab::holds_for(Duration::from_secs(5), || {
            has_none(&from_us(&prov2), &FROM_65003) && has_none(&from_us(&prov3), &FROM_65002)
        })
    });
    assert!(
        no_leak,
        "a provider received the other's routes: {:?} / {:?}",
        from_us(&prov2),
        from_us(&prov3)
    );
    let before2 = connections(&prov2);
    let before3 = connections(&prov3);

    // 2. Transit allowed towards AS 65002 (both families), an export filter towards
    // 192.0.2.3 that holds back our IPv4 network, an import filter on 192.0.2.2 dropping one
    // of its prefixes: all applied in place.
    let transit = "[port.peer.export]\ntransit = true\n";
    let import2 = "[port.peer.import]\nlocal_preference = 250\nprefixes = [{ action = \"deny\", prefix = \"198.51.100.64/26\" }]\ndefault = \"permit\"\n[port.peer.export]\ntransit = true\n";
    let hold_back = "[port.peer.export]\nprefixes = [{ action = \"deny\", prefix = \"203.0.113.0/24\" }]\ndefault = \"permit\"\n";
    let r = h.apply(&apply([import2, transit, hold_back, ""])).await;
    assert_eq!(r.updated, ["p1"]);
    assert!(
        wait_blocking(60, || {
            let p2 = from_us(&prov2);
            let p3 = from_us(&prov3);
            has_all(&p2, &FROM_65003)
                && has_all(&p2, &OURS)
                && !p3.contains(OURS[0])
                && p3.contains(OURS[1])
        })
        .await,
        "transit/filter not applied: {:?} / {:?}",
        from_us(&prov2),
        from_us(&prov3)
    );
    wait_port(&h, "p1", 60, "the import filter drops one prefix", |s| {
        peer_of(s, "192.0.2.2").and_then(|p| p.prefixes_received) == Some(1)
    })
    .await;
    // Still no transit towards AS 65003.
    assert!(
        has_none(&from_us(&prov3), &FROM_65002),
        "{:?}",
        from_us(&prov3)
    );
    assert_eq!(
        connections(&prov2),
        before2,
        "a policy change reset a session"
    );
    assert_eq!(
        connections(&prov3),
        before3,
        "a policy change reset a session"
    );
    let s = h.status().await.remove(0);
    assert!(established(&s, 4), "{s:#?}");

    // 3. A prefix limit of 1 on 2001:db8::3, warn only: a third prefix arrives and the
    // session stays up.
    let warn = "[port.peer.maximum_prefix]\nlimit = 1\nwarning_threshold = 50\naction = \"warn\"\n";
    h.apply(&apply([import2, transit, hold_back, warn])).await;
    wait_port(&h, "p1", 30, "limit applied", |s| s.config_applied).await;
    tokio::task::block_in_place(|| {
        prov3.configure(&[
            "router bgp 65003",
            "address-family ipv6 unicast",
            "network 2001:db8:3002::/48",
        ])
    });
    wait_port(&h, "p1", 60, "three IPv6 prefixes from AS 65003", |s| {
        peer_of(s, "2001:db8::3").and_then(|p| p.prefixes_received) == Some(3)
    })
    .await;
    let stays = tokio::task::block_in_place(|| {
        testkit::lab::holds_for(Duration::from_secs(3), || {
            prov3.neighbor("2001:db8::1")["bgpState"] == "Established"
        })
    });
    assert!(stays, "warn-only limit tore the session down");
    assert_eq!(connections(&prov3), before3);

    // 4. The same limit tearing down (restart after 1 minute): the next prefix ends the
    // session, and the status says why.
    let teardown =
        "[port.peer.maximum_prefix]\nlimit = 1\naction = \"teardown\"\nrestart_minutes = 1\n";
    h.apply(&apply([import2, transit, hold_back, teardown]))
        .await;
    wait_port(&h, "p1", 30, "limit applied", |s| s.config_applied).await;
    tokio::task::block_in_place(|| {
        prov3.configure(&[
            "router bgp 65003",
            "address-family ipv6 unicast",
            "network 2001:db8:3003::/48",
        ])
    });
    let s = wait_port(&h, "p1", 60, "2001:db8::3 torn down", |s| {
        peer_of(s, "2001:db8::3").is_some_and(|p| p.state != "Established")
    })
    .await;
    let p = peer_of(&s, "2001:db8::3").unwrap();
    assert!(
        p.last_reset
            .as_deref()
            .is_some_and(|r| r.contains("Maximum Number of Prefixes Reached")),
        "{p:#?}"
    );
    // The other sessions are untouched and have no reason shown.
    for a in ["192.0.2.2", "2001:db8::2", "192.0.2.3"] {
        let p = peer_of(&s, a).unwrap();
        assert_eq!(p.state, "Established", "{s:#?}");
        assert_eq!(p.last_reset, None);
    }
    assert_eq!(connections(&prov2), before2);
    h.shutdown().await;
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
