//! The routing-policy scenario of `e2e_policy.rs`, run with the port's bgpd being any daemon
//! ([`PortBgpd`]): two upstream providers (AS 65002 and AS 65003, the host's FRR 8.4) on one
//! uplink's LAN, over IPv4 and IPv6. No transit by default, transit when a peer's export allows
//! it, import and export prefix filters and a local preference changed without a session reset,
//! and `maximum_prefix` (warn only, then tear down).

use std::collections::BTreeSet;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use super::port::{lan, PortBgpd};
use super::*;

pub const OURS: [&str; 2] = ["203.0.113.0/24", "2001:db8:100::/48"];
const FROM_65002: [&str; 3] = ["198.51.100.0/26", "198.51.100.64/26", "2001:db8:2000::/48"];
const FROM_65003: [&str; 3] = [
    "198.51.100.128/25",
    "2001:db8:3000::/48",
    "2001:db8:3001::/48",
];

/// One `[[port.peer]]` with fast timers and `extra` (sub-tables) after its keys.
pub fn peer(addr: &str, asn: u32, extra: &str) -> String {
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

pub fn has_all(set: &BTreeSet<String>, want: &[&str]) -> bool {
    want.iter().all(|w| set.contains(*w))
}

pub fn has_none(set: &BTreeSet<String>, unwanted: &[&str]) -> bool {
    unwanted.iter().all(|w| !set.contains(*w))
}

/// How many times each of the provider's sessions with us was established.
pub fn connections(p: &Provider) -> [u64; 2] {
    ["192.0.2.1", "2001:db8::1"].map(|a| {
        p.neighbor(a)["connectionsEstablished"]
            .as_u64()
            .unwrap_or(0)
    })
}

fn peer_of<'a>(s: &'a routing::PortStatus, addr: &str) -> Option<&'a routing::PeerStatus> {
    s.peers.iter().find(|p| p.address.to_string() == addr)
}

/// Runs the scenario with `bgpd` as the port's daemon and `host_bgpd` (FRR 8.4) as both
/// providers'.
pub async fn two_providers_policy(lab: &Lab, bgpd: &PortBgpd, host_bgpd: &Path) {
    let (_lan, nss) = tokio::task::block_in_place(|| {
        lan(
            lab,
            &[
                ("192.0.2.2", Some("2001:db8::2")),
                ("192.0.2.3", Some("2001:db8::3")),
            ],
        )
    });
    let mut nss = nss.into_iter();
    let (ns2, ns3) = (nss.next().unwrap(), nss.next().unwrap());
    let neighbors = [("192.0.2.1", 65001), ("2001:db8::1", 65001)];
    let nets = |v: &[&str]| v.iter().map(|s| s.to_string()).collect::<Vec<_>>();
    let prov2 = Provider::start(
        host_bgpd,
        ns2,
        "prov",
        &provider_config(65002, "192.0.2.2", &neighbors, &nets(&FROM_65002)),
    )
    .await;
    let prov3 = Provider::start(
        host_bgpd,
        ns3,
        "prov",
        &provider_config(65003, "192.0.2.3", &neighbors, &nets(&FROM_65003)),
    )
    .await;

    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    let apply = |extra: [&str; 4]| config(&format!("{}{}", bgpd.controller(lab), port(extra)));
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
    // more (the port's eBGP advertisement interval is at most 0 s in FRR and 30 s in Quagga,
    // but Quagga's first advertisement to a new peer is immediate), nothing leaks.
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
    assert!(
        !has_routes(&sink.table, "p1", &["198.51.100.64/26"]),
        "the import filter's prefix is in the table"
    );
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
    // The provider saw the session end with bgpd's Cease NOTIFICATION (Maximum Number of
    // Prefixes Reached, RFC 4486 subcode 1), whichever daemon sent it.
    let seen = prov3.neighbor("2001:db8::1");
    assert!(
        seen["lastNotificationReason"]
            .as_str()
            .is_some_and(|r| r.contains("Maximum Number of Prefixes Reached")),
        "{seen:#}"
    );
    // The other sessions are untouched and have no reason shown.
    for a in ["192.0.2.2", "2001:db8::2", "192.0.2.3"] {
        let p = peer_of(&s, a).unwrap();
        assert_eq!(p.state, "Established", "{s:#?}");
        assert_eq!(p.last_reset, None);
    }
    assert_eq!(connections(&prov2), before2);
    h.shutdown().await;
    assert!(sink.table.is_empty());
}
