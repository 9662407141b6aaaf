//! Store outages with running bgpds, end to end: two `midonet-bgp run --store` controllers in
//! their own host namespaces, two ports (candidates h0/h1 and h1/h0) peering with a real FRR
//! bgpd, on a real three-server ZooKeeper ensemble.
//!
//! - Each server stopped in turn (one of three down, then back): nothing changes — the same bgpd
//!   processes, and the provider's sessions never re-established.
//! - All three stopped (SIGSTOP) for a third of the session timeout, less than detection (1/5)
//!   plus the fencing delay (2/5): nothing resets either.
//! - All three stopped for longer than the session timeout: both hosts fence (every bgpd stopped
//!   before the session can expire), and the ports come back, one bgpd each, when the store does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cluster_common;
#[path = "../../routing/tests/common/mod.rs"]
mod common;

use std::path::PathBuf;
use std::time::{Duration, Instant};

use cluster_common::*;
use common::*;

/// The session timeout of the controllers.
const SESSION: Duration = Duration::from_secs(12);
const PEERS: [(&str, &str); 2] = [("p1", "192.0.2.1"), ("p2", "192.0.2.11")];

/// What identifies each port's running state: its bgpd processes and, per provider session, how
/// often it was established and dropped (FRR's uptime epoch is computed from the uptime and
/// moves by a second between reads, so it is not compared).
#[derive(Debug, PartialEq)]
struct Snapshot {
    bgpds: Vec<Vec<(usize, u32)>>,
    sessions: Vec<(u64, u64)>,
}

fn snapshot(runs: &[PathBuf], provider: &Provider) -> Snapshot {
    Snapshot {
        bgpds: PEERS.iter().map(|(p, _)| bgpd_pids(runs, p)).collect(),
        sessions: PEERS
            .iter()
            .map(|(_, a)| {
                let n = provider.neighbor(a);
                (
                    n["connectionsEstablished"].as_u64().unwrap_or(0),
                    n["connectionsDropped"].as_u64().unwrap_or(u64::MAX),
                )
            })
            .collect(),
    }
}

fn settled(runs: &[PathBuf], provider: &Provider) -> bool {
    PEERS.iter().all(|(p, a)| {
        bgpd_hosts(runs, p).len() == 1 && provider.neighbor(a)["bgpState"] == "Established"
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn store_outages_with_running_bgpds() {
    let Some(mut cluster) = Cluster::start(ClusterSpec {
        test: "store_outages_with_running_bgpds",
        tag: "out",
        servers: 3,
        hosts: 2,
        uplinks: &["up1", "up2"],
        ports: &[
            (
                PEERS[0].0,
                &["h0", "h1"],
                "up1",
                "192.0.2.1/24",
                "02:00:00:00:00:01",
                65001,
            ),
            (
                PEERS[1].0,
                &["h1", "h0"],
                "up2",
                "192.0.2.11/24",
                "02:00:00:00:00:02",
                65003,
            ),
        ],
        session: SESSION,
    })
    .await
    else {
        return;
    };
    let (mut running, runs) = cluster.spawn();
    let (provider, zk) = (&cluster.provider, &mut cluster.zk);
    assert!(
        wait_blocking(120, || settled(&runs, provider)).await,
        "ports not Established:\n{}",
        logs(&running)
    );
    let before = tokio::task::block_in_place(|| snapshot(&runs, provider));
    assert!(
        before
            .sessions
            .iter()
            .all(|(n, d)| *n >= 1 && *d != u64::MAX),
        "provider reports no session counters: {before:?}"
    );

    // One server of three stopped (each in turn, 3 s, then back): nothing changes.
    for i in 0..3 {
        zk.stop(i);
        tokio::time::sleep(Duration::from_secs(3)).await;
        let now = tokio::task::block_in_place(|| snapshot(&runs, provider));
        assert_eq!(
            now,
            before,
            "server {i} down changed something\n{}",
            logs(&running)
        );
        zk.restart(i).unwrap();
        tokio::task::block_in_place(|| zk.wait_serving(Duration::from_secs(60))).unwrap();
    }
    let now = tokio::task::block_in_place(|| snapshot(&runs, provider));
    assert_eq!(
        now,
        before,
        "one server down changed something\n{}",
        logs(&running)
    );

    // All three stopped (SIGSTOP: connections open, nothing answers; a killed ensemble takes far
    // longer than the fencing delay to elect a leader again on a loaded machine) for S/3, less
    // than detection (S/5) plus the fencing delay (2·S/5): nothing resets.
    for i in 0..3 {
        zk.pause(i);
    }
    tokio::time::sleep(SESSION / 3).await;
    for i in 0..3 {
        zk.resume(i);
    }
    let outage = SESSION / 3;
    // Watch for a full session timeout: nothing may reset meanwhile.
    let t = Instant::now();
    while t.elapsed() < SESSION {
        let now = tokio::task::block_in_place(|| snapshot(&runs, provider));
        assert_eq!(
            now,
            before,
            "a {outage:?} outage reset something\n{}",
            logs(&running)
        );
        tokio::time::sleep(Duration::from_millis(500)).await;
    }

    // All three stopped for longer than the session timeout: every bgpd is stopped before the
    // session can expire (no other host could start one earlier), then the ports come back.
    zk.stop_all();
    let down = Instant::now();
    let mut fenced_after = None;
    while down.elapsed() < SESSION + Duration::from_secs(2) {
        if fenced_after.is_none() && PEERS.iter().all(|(p, _)| bgpd_pids(&runs, p).is_empty()) {
            fenced_after = Some(down.elapsed());
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let fenced_after = fenced_after.expect("bgpds still running after the session timeout");
    eprintln!("every bgpd stopped {fenced_after:?} after the store went away");
    assert!(
        fenced_after < SESSION,
        "fenced only after {fenced_after:?}\n{}",
        logs(&running)
    );
    tokio::task::block_in_place(|| zk.restart_all(Duration::from_secs(60))).unwrap();
    let back = Instant::now();
    assert!(
        wait_blocking(120, || settled(&runs, provider)).await,
        "ports did not come back:\n{}",
        logs(&running)
    );
    eprintln!(
        "ports Established again {:?} after the store returned",
        back.elapsed()
    );
    let after = tokio::task::block_in_place(|| snapshot(&runs, provider));
    for (k, (p, _)) in PEERS.iter().enumerate() {
        assert_eq!(after.bgpds[k].len(), 1, "{p}: {:?}", after.bgpds[k]);
        assert_ne!(
            after.bgpds[k], before.bgpds[k],
            "{p}: the same bgpd survived fencing"
        );
        assert!(after.sessions[k].0 > before.sessions[k].0, "{p}: {after:?}");
    }
    stop_hosts(&mut running).await;
}
