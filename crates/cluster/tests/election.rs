//! Elections, failover, bad input and route publication against a real ZooKeeper server
//! (Debian's package, started by the test on 127.0.0.1).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use cluster::{PublishedPath, RouteWatcher, Store, StoreUrl, TableChange};
use common::*;
use ipnetwork::IpNetwork;

const SESSION: Duration = Duration::from_secs(4);

fn path(gw: &str) -> PublishedPath {
    PublishedPath {
        gateway: Some(gw.parse().unwrap()),
        distance: 20,
        metric: 0,
        weight: None,
    }
}

fn prefix(i: u32) -> IpNetwork {
    // /24s counted up from 198.18.0.0 (198.18.0.0/15 and the documentation ranges after it).
    let a = 0xC612_0000u32 + (i << 8);
    IpNetwork::new(std::net::Ipv4Addr::from(a).into(), 24).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_port_runs_on_exactly_one_candidate_and_moves_when_it_leaves() {
    let Some((_zk, url, store)) = zookeeper_store(
        "election",
        1,
        SESSION,
        &[
            ("p1", &["h1", "h2"]),
            ("p2", &["h2", "h3"]),
            ("p3", &["h3", "h1"]),
        ],
    )
    .await
    else {
        return;
    };
    let members = [
        start(&url, "h1", SESSION).await,
        start(&url, "h2", SESSION).await,
        start(&url, "h3", SESSION).await,
    ];
    let mut rx: Vec<_> = members.iter().map(|m| m.assignment()).collect();
    let candidates = [("p1", [0, 1]), ("p2", [1, 2]), ("p3", [2, 0])];
    let settled = |rx: &mut Vec<tokio::sync::watch::Receiver<cluster::Assignment>>| {
        candidates.iter().all(|(p, c)| {
            let runners: Vec<usize> = (0..3)
                .filter(|&i| rx[i].borrow().ports.contains_key(*p))
                .collect();
            runners.len() == 1 && c.contains(&runners[0])
        })
    };
    let t0 = Instant::now();
    while !settled(&mut rx) {
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "no stable assignment"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    // The store agrees: the first of each election is the runner, hosts list what they run.
    for (p, _) in candidates {
        let order = store.election(p).await.unwrap();
        assert_eq!(order.len(), 2, "{p}: {order:?}");
        let runner = (0..3)
            .find(|&i| rx[i].borrow().ports.contains_key(p))
            .unwrap();
        assert_eq!(order[0], format!("h{}", runner + 1));
    }
    let hosts = store.hosts().await.unwrap();
    assert_eq!(hosts.len(), 3);
    for (name, doc) in &hosts {
        let doc = doc.as_ref().unwrap();
        let i: usize = name[1..].parse::<usize>().unwrap() - 1;
        let mine: Vec<String> = rx[i].borrow().ports.keys().cloned().collect();
        common::eventually(
            Duration::from_secs(5),
            "host doc lists active ports",
            || {
                let store = store.clone();
                let name = name.clone();
                let mine = mine.clone();
                async move {
                    store.hosts().await.unwrap().into_iter().any(|(n, d)| {
                        n == name && d.as_ref().map(|d| d.active == mine).unwrap_or(false)
                    })
                }
            },
        )
        .await;
        assert_eq!(doc.host, *name);
    }

    // The runner of p1 leaves: the other candidate takes p1, nobody else does.
    let runner = (0..2)
        .find(|&i| rx[i].borrow().ports.contains_key("p1"))
        .unwrap();
    let other = 1 - runner;
    let [m1, m2, m3] = members;
    let (leaving, mut stay) = match runner {
        0 => (m1, vec![m2, m3]),
        _ => (m2, vec![m1, m3]),
    };
    let t = Instant::now();
    leaving.shutdown().await;
    wait_assignment(
        &mut rx[other],
        Duration::from_secs(5),
        "standby takes p1",
        |a| a.ports.contains_key("p1"),
    )
    .await;
    assert!(
        t.elapsed() < Duration::from_secs(3),
        "graceful handover took {:?}",
        t.elapsed()
    );
    assert!(!rx[2].borrow().ports.contains_key("p1"));

    // Removing a host from the candidates moves the port; removing the port stops it.
    // The holder stops it first and confirms; only then may h3 start it.
    let holder = other;
    store
        .put_port("p1", &port_doc(&["h3"], 65001))
        .await
        .unwrap();
    wait_assignment(
        &mut rx[holder],
        Duration::from_secs(5),
        "holder stops p1",
        |a| !a.ports.contains_key("p1"),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert!(
        !rx[2].borrow().ports.contains_key("p1"),
        "h3 started p1 before the holder released it"
    );
    assert_eq!(
        store.election("p1").await.unwrap()[0],
        format!("h{}", holder + 1)
    );
    stay[0].released("p1").unwrap();
    wait_assignment(&mut rx[2], Duration::from_secs(5), "h3 takes p1", |a| {
        a.ports.contains_key("p1")
    })
    .await;
    assert!(store.remove_port("p1").await.unwrap());
    wait_assignment(&mut rx[2], Duration::from_secs(5), "p1 stops", |a| {
        !a.ports.contains_key("p1")
    })
    .await;
    for m in stay.drain(..) {
        m.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_values_are_recorded_and_the_running_port_stays() {
    let Some((_zk, url, store)) =
        zookeeper_store("bad_values", 1, SESSION, &[("p1", &["h1"])]).await
    else {
        return;
    };
    let m = start(&url, "h1", SESSION).await;
    let mut rx = m.assignment();
    let a = wait_assignment(&mut rx, Duration::from_secs(10), "p1 runs", |a| {
        a.ports.contains_key("p1")
    })
    .await;
    let running = a.ports["p1"].clone();
    assert_eq!(running.config["local_as"], 65001);

    let status_error = |store: Store| async move {
        store
            .statuses()
            .await
            .unwrap()
            .into_iter()
            .find(|(p, _)| p == "p1")
            .and_then(|(_, s)| s.ok())
            .and_then(|s| s.error)
    };
    let mut injected = port_doc(&["h1"], 65009);
    injected.config.insert(
        "peer".into(),
        serde_json::json!([{"address": "192.0.2.2", "remote_as": 65002,
                            "description": "x\n no router bgp 65001"}]),
    );
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        ("invalid JSON", b"{\"schema\":1,".to_vec(), "invalid JSON"),
        ("not an object", b"[]".to_vec(), "not a JSON object"),
        (
            "wrong schema",
            br#"{"schema":9,"candidates":["h1"],"config":{}}"#.to_vec(),
            "schema 9",
        ),
        (
            "unknown key",
            br#"{"schema":1,"candidates":["h1"],"config":{"local_as":1},"extra":true}"#.to_vec(),
            "unknown field `extra`",
        ),
        (
            "unknown config key",
            br#"{"schema":1,"candidates":["h1"],"config":{"local_as":1,"bogus":2}}"#.to_vec(),
            "unknown key \"bogus\"",
        ),
        (
            "injection in a description",
            serde_json::to_vec(&injected).unwrap(),
            "peer[0].description: control character",
        ),
    ];
    for (what, bytes, expect) in cases {
        store.put_port_raw("p1", &bytes).await.unwrap();
        common::eventually(Duration::from_secs(5), what, || {
            let store = store.clone();
            async move {
                status_error(store)
                    .await
                    .is_some_and(|e| e.contains(expect))
            }
        })
        .await;
        // Nothing running changed.
        let a = rx.borrow().clone();
        assert_eq!(a.ports.get("p1"), Some(&running), "{what}");
        assert!(!a.fenced);
    }
    // A valid value again: applied, error cleared.
    store
        .put_port("p1", &port_doc(&["h1"], 65002))
        .await
        .unwrap();
    let a = wait_assignment(&mut rx, Duration::from_secs(5), "new config", |a| {
        a.ports
            .get("p1")
            .is_some_and(|p| p.config["local_as"] == 65002)
    })
    .await;
    assert!(a.ports["p1"].config_version > running.config_version);
    common::eventually(Duration::from_secs(5), "error cleared", || {
        let store = store.clone();
        async move { status_error(store).await.is_none() }
    })
    .await;

    // Bad announcements are recorded too; good ones reach the assignment.
    let n: IpNetwork = "203.0.113.0/24".parse().unwrap();
    store.update_announcements("p1", &[n], &[]).await.unwrap();
    wait_assignment(&mut rx, Duration::from_secs(5), "announcement", |a| {
        a.ports
            .get("p1")
            .is_some_and(|p| p.announcements == vec![n])
    })
    .await;
    let err = store
        .update_announcements("p1", &["203.0.113.7/24".parse().unwrap()], &[])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("host bits"), "{err}");

    // A port bound to no live host: the first live host records it.
    store
        .put_port("p2", &port_doc(&["ghost"], 65001))
        .await
        .unwrap();
    common::eventually(Duration::from_secs(5), "no live candidate recorded", || {
        let store = store.clone();
        async move {
            store.statuses().await.unwrap().into_iter().any(|(p, s)| {
                p == "p2"
                    && s.is_ok_and(|s| {
                        s.state == "no_leader"
                            && s.error
                                .is_some_and(|e| e.contains("no live candidate host"))
                    })
            })
        }
    })
    .await;
    assert!(!rx.borrow().ports.contains_key("p2"));
    m.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_are_published_in_chunks_and_followed_incrementally() {
    let Some((_zk, url, store)) = zookeeper_store("routes", 1, SESSION, &[("p1", &["h1"])]).await
    else {
        return;
    };
    let mut cfg = member_config(&url, "h1", SESSION);
    cfg.max_chunk_bytes = 8192;
    let m = cluster::Member::start(cfg, validator()).await.unwrap();
    let mut rx = m.assignment();
    wait_assignment(&mut rx, Duration::from_secs(10), "p1 runs", |a| {
        a.ports.contains_key("p1")
    })
    .await;
    let mut w = RouteWatcher::start(&url, SESSION).await.unwrap();

    let n = 5000;
    m.publish(
        "p1",
        (0..n)
            .map(|i| TableChange::Replace(prefix(i), vec![path("192.0.2.2"), path("192.0.2.3")]))
            .collect(),
    )
    .unwrap();
    let mut seen = 0;
    while w.count("p1") < n as usize {
        let ev = tokio::time::timeout(Duration::from_secs(20), w.next())
            .await
            .unwrap()
            .unwrap();
        seen += ev.replaced.len();
    }
    assert_eq!(seen, n as usize);
    let (meta, table) = w.routes("p1").unwrap();
    assert!(meta.chunks.len() >= 16, "{} chunks", meta.chunks.len());
    assert_eq!(meta.routes, u64::from(n));
    assert_eq!(
        table[&prefix(7)],
        vec![path("192.0.2.2"), path("192.0.2.3")]
    );

    // Three changes: exactly those arrive, and at most three chunks moved.
    m.publish(
        "p1",
        vec![
            TableChange::Replace(prefix(1), vec![path("192.0.2.4")]),
            TableChange::Withdraw(prefix(2)),
            TableChange::Replace(prefix(n + 1), vec![path("192.0.2.2")]),
        ],
    )
    .unwrap();
    let ev = tokio::time::timeout(Duration::from_secs(10), w.next())
        .await
        .unwrap()
        .unwrap();
    let mut replaced: Vec<IpNetwork> = ev.replaced.iter().map(|(p, _)| *p).collect();
    replaced.sort();
    assert_eq!(replaced, vec![prefix(1), prefix(n + 1)]);
    assert_eq!(ev.withdrawn, vec![prefix(2)]);
    let (meta2, _) = w.routes("p1").unwrap();
    assert_eq!(meta2.generation, meta.generation);
    let moved = meta
        .chunks
        .iter()
        .zip(&meta2.chunks)
        .filter(|(a, b)| a != b)
        .count();
    assert!((1..=3).contains(&moved), "{moved} chunks rewritten");
    assert_eq!(w.count("p1"), n as usize);

    // A one-shot reader sees the same table.
    let snap = store.routes().await.unwrap();
    assert_eq!(snap["p1"].1.len(), n as usize);

    // The port stops (its leader leaves): the watcher withdraws everything.
    m.shutdown().await;
    let ev = tokio::time::timeout(Duration::from_secs(10), w.next())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(ev.host, None);
    assert_eq!(ev.withdrawn.len(), n as usize);
    assert_eq!(w.count("p1"), 0);
}

/// Not a test on its own: the child process of `a_killed_leader_is_replaced_after_its_session_expires`
/// (run with `--ignored` and the CHILD_* variables); it leads p1, publishes routes and waits to
/// be killed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore]
async fn child_member() {
    let (Ok(servers), Ok(root)) = (std::env::var("CHILD_ZK"), std::env::var("CHILD_ROOT")) else {
        return;
    };
    let url = StoreUrl { servers, root };
    let m = start(&url, "child", SESSION).await;
    let mut rx = m.assignment();
    wait_assignment(&mut rx, Duration::from_secs(20), "child leads p1", |a| {
        a.ports.contains_key("p1")
    })
    .await;
    m.publish(
        "p1",
        (0..100)
            .map(|i| TableChange::Replace(prefix(i), vec![path("192.0.2.2")]))
            .collect(),
    )
    .unwrap();
    tokio::time::sleep(Duration::from_secs(600)).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_leader_is_replaced_after_its_session_expires() {
    let Some((_zk, url, store)) =
        zookeeper_store("failover", 1, SESSION, &[("p1", &["child", "standby"])]).await
    else {
        return;
    };
    let mut w = RouteWatcher::start(&url, SESSION).await.unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args(["--ignored", "--exact", "child_member", "--nocapture"])
        .env("CHILD_ZK", &url.servers)
        .env("CHILD_ROOT", &url.root)
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    struct Kill(std::process::Child);
    impl Drop for Kill {
        fn drop(&mut self) {
            let _ = self.0.kill();
            let _ = self.0.wait();
        }
    }
    // Routes published by the child process reach this process's watcher.
    let t = Instant::now();
    while w.count("p1") < 100 {
        assert!(
            t.elapsed() < Duration::from_secs(30),
            "child's routes never arrived"
        );
        let _ = tokio::time::timeout(Duration::from_secs(1), w.next()).await;
    }
    assert_eq!(w.ports()[0].1.host, "child");
    let standby = start(&url, "standby", SESSION).await;
    let mut rx = standby.assignment();
    common::eventually(
        Duration::from_secs(10),
        "standby is second in the election",
        || {
            let store = store.clone();
            async move { store.election("p1").await.unwrap() == ["child", "standby"] }
        },
    )
    .await;
    assert!(!rx.borrow_and_update().ports.contains_key("p1"));

    // kill -9: the standby must wait for the session to expire (never two at once), then take
    // over within the session timeout plus a margin.
    child.kill().unwrap();
    let killed = Instant::now();
    let _reaper = Kill(child);
    wait_assignment(
        &mut rx,
        SESSION + Duration::from_secs(5),
        "standby takes p1",
        |a| a.ports.contains_key("p1"),
    )
    .await;
    let took = killed.elapsed();
    assert!(
        took >= SESSION / 2,
        "standby took over after {took:?}, before the dead leader's session could expire"
    );
    // The dead leader's routes went with its session.
    let t = Instant::now();
    while w.count("p1") > 0 {
        assert!(
            t.elapsed() < Duration::from_secs(5),
            "dead leader's routes stayed"
        );
        let _ = tokio::time::timeout(Duration::from_secs(1), w.next()).await;
    }
    eprintln!("failover after kill -9: {took:?} (session timeout {SESSION:?})");
    standby.shutdown().await;
}
