//! End to end with real FRR: runtime announcements reach the peer with their communities and
//! MED through the peer's export route-map (no transit: only routes with an empty AS path, and
//! a prefix filter), survive a bgpd crash, are withdrawn, and invalid ones — also one the
//! export filter would deny — are refused with nothing changed in the controller or at the
//! peer. Needs root and FRR (skipped elsewhere, never under CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::collections::BTreeSet;
use std::sync::Arc;

use common::*;
use routing::{AnnounceError, Announcement, Community};

const PORT: &str = r#"
[[port]]
name = "p1"
uplink = "up1"
address = "192.0.2.1/24"
local_as = 65001
networks = ["203.0.113.0/24"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 5
[port.peer.export]
prefixes = [
  { action = "permit", prefix = "192.0.0.0/8", le = 24 },
  { action = "permit", prefix = "198.0.0.0/8", le = 24 },
  { action = "permit", prefix = "203.0.113.0/24" },
]
"#;

fn net(s: &str) -> ipnetwork::IpNetwork {
    s.parse().unwrap()
}

/// The provider's best path of `prefix` (`show bgp ipv4 unicast PREFIX json`).
fn provider_path(p: &Provider, prefix: &str) -> serde_json::Value {
    let text = p
        .bgpd
        .vtysh(&[&format!("show bgp ipv4 unicast {prefix} json")])
        .unwrap_or_default();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    v["paths"][0].clone()
}

fn tagged() -> Announcement {
    let mut a = Announcement::new(net("198.51.100.0/24"));
    // Not no-export or local-AS: our bgpd rightly keeps those from an eBGP peer.
    a.communities = vec!["65001:100".parse().unwrap(), Community::GracefulShutdown];
    a.med = Some(50);
    a
}

/// Whether the provider holds `prefix` from us with exactly the tagged attributes.
fn tagged_at(p: &Provider) -> bool {
    let path = provider_path(p, "198.51.100.0/24");
    path["metric"] == 50
        && path["community"]["string"] == "65001:100 graceful-shutdown"
        && path["aspath"]["string"] == "65001"
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn announce_and_withdraw_reach_the_peer_and_invalid_ones_change_nothing() {
    let Some(bgpd) = testkit::require_bgpd("announce_and_withdraw_reach_the_peer") else {
        return;
    };
    let lab = Lab::new();
    let ns = lab.provider_ns("up1", &["192.0.2.2/24"]);
    let conf = provider_config(65002, "192.0.2.2", &[("192.0.2.1", 65001)], &[]);
    let provider = Provider::start(&bgpd, ns, "prov", &conf).await;

    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    let cfg = config(&format!("{}{PORT}", lab.controller()));
    // The export route-map is the no-transit one (`match as-path` of the empty path) with a
    // prefix filter: announcements originate here with an empty AS path and pass it.
    assert!(!cfg.ports[0].peers[0].policy.export.transit);
    h.sweep(&cfg).await.unwrap();
    h.apply(&cfg).await;
    wait_port(&h, "p1", 90, "session up", |s| {
        established(s, 1) && s.config_applied
    })
    .await;
    let learned = || provider.learned_from("192.0.2.1");
    assert!(
        wait_blocking(60, || learned().contains("203.0.113.0/24")).await,
        "{:?}",
        learned()
    );

    // Announce with communities and MED, and one plain prefix.
    h.announce("p1", tagged()).await.unwrap();
    h.announce("p1", Announcement::new(net("198.18.0.0/15")))
        .await
        .unwrap();
    let want: BTreeSet<String> = ["203.0.113.0/24", "198.51.100.0/24", "198.18.0.0/15"]
        .into_iter()
        .map(String::from)
        .collect();
    assert!(
        wait_blocking(60, || learned() == want && tagged_at(&provider)).await,
        "{:?} {}",
        learned(),
        provider_path(&provider, "198.51.100.0/24")
    );
    let plain = provider_path(&provider, "198.18.0.0/15");
    assert!(plain["community"].is_null(), "{plain}");

    // Invalid ones: refused, nothing changed in the controller or at the peer.
    let before = h.status().await;
    let refused: [(&str, Announcement); 5] = [
        ("p1", tagged()),
        ("p1", Announcement::new(net("203.0.113.0/24"))),
        ("p1", Announcement::new(net("198.51.100.9/24"))),
        ("p1", Announcement::new(net("2001:db8:5::/48"))),
        ("nope", Announcement::new(net("192.0.2.0/24"))),
    ];
    for (port, a) in refused {
        let e = h.announce(port, a.clone()).await.unwrap_err();
        assert!(
            matches!(
                e,
                AnnounceError::Duplicate { .. }
                    | AnnounceError::BadPrefix { .. }
                    | AnnounceError::WrongFamily { .. }
                    | AnnounceError::UnknownPort(_)
            ),
            "{a:?}: {e}"
        );
    }
    // A /25 is longer than the export filter's `le = 24`: the peer would never be sent it.
    let e = h
        .announce("p1", Announcement::new(net("198.51.100.128/25")))
        .await
        .unwrap_err();
    assert!(matches!(e, AnnounceError::Forbidden { .. }), "{e}");
    let e = h.withdraw("p1", net("203.0.113.0/24")).await.unwrap_err();
    assert!(matches!(e, AnnounceError::NotAnnounced { .. }), "{e}");
    let after = h.status().await;
    assert_eq!(after[0].announced, before[0].announced);
    assert!(
        after[0].config_applied && after[0].last_error.is_none(),
        "{after:#?}"
    );
    // Give bgpd time to send anything it would have sent, then check the peer again.
    tokio::time::sleep(std::time::Duration::from_secs(3)).await;
    assert_eq!(learned(), want);
    assert!(tagged_at(&provider));

    // Every well-known community name renders as a line bgpd accepts.
    let mut every = Announcement::new(net("192.0.2.0/24"));
    every.communities = [
        "internet",
        "no-export",
        "no-advertise",
        "local-AS",
        "graceful-shutdown",
        "blackhole",
        "no-peer",
        "65535:65535",
    ]
    .iter()
    .map(|c| c.parse().unwrap())
    .collect();
    every.med = Some(u32::MAX);
    h.announce("p1", every.clone()).await.unwrap();
    let s = h.status().await;
    assert!(s[0].config_applied && s[0].last_error.is_none(), "{s:#?}");
    assert_eq!(h.withdraw("p1", every.prefix).await.unwrap(), every);
    let s = h.status().await;
    assert!(s[0].config_applied && s[0].last_error.is_none(), "{s:#?}");
    let after = h.status().await;

    // A bgpd crash: the restarted bgpd is configured with the announcements again.
    let pid = after[0].bgpd_pid.unwrap();
    // SAFETY: kill(2) on the pid of the bgpd this test's handler started; no memory involved.
    assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
    wait_port(&h, "p1", 90, "bgpd restarted and configured", |s| {
        s.bgpd_restarts >= 1 && s.config_applied && established(s, 1)
    })
    .await;
    assert!(
        wait_blocking(60, || learned() == want && tagged_at(&provider)).await,
        "after the restart: {:?}",
        learned()
    );

    // Withdraw: gone from the peer, the other announcement and the network stay.
    assert_eq!(
        h.withdraw("p1", net("198.51.100.0/24")).await.unwrap(),
        tagged()
    );
    assert!(
        wait_blocking(60, || !learned().contains("198.51.100.0/24")).await,
        "{:?}",
        learned()
    );
    let left = learned();
    assert!(
        left.contains("198.18.0.0/15") && left.contains("203.0.113.0/24"),
        "{left:?}"
    );
    let s = h.status().await;
    assert_eq!(s[0].announced, [Announcement::new(net("198.18.0.0/15"))]);

    h.shutdown().await;
    assert!(leftovers(&lab).is_empty(), "{:?}", leftovers(&lab));
}
