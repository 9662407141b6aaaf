//! Run records against a real ZooKeeper server: a port's first start is not a restart; a
//! takeover from a host that died (or from a fenced run, or a crashed process of the same host)
//! is; clean stops (handing over, shutdown, removal) are not; a bad record is an error recorded
//! and a restart, never a panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use cluster::{Assignment, Member, PreviousRun, Store};
use common::*;
use tokio::sync::watch;

const SESSION: Duration = Duration::from_secs(4);

/// Waits until `port` is assigned and returns whether it starts as a restart.
async fn assigned_restart(rx: &mut watch::Receiver<Assignment>, port: &str, what: &str) -> bool {
    let a = wait_assignment(rx, Duration::from_secs(20), what, |a| {
        a.ports.contains_key(port)
    })
    .await;
    a.ports[port].restart
}

/// The run record of `port`, which must be a run of `host` (running or stopped as given).
async fn expect_run(store: &Store, port: &str, host: &str, running: bool) {
    let run = store.run(port).await.unwrap();
    let doc = match &run {
        PreviousRun::Unclean(d) if running => d,
        PreviousRun::Stopped(d) if !running => d,
        other => panic!("{port}: expected a run of {host} (running: {running}), got {other:?}"),
    };
    assert_eq!(doc.host, host, "{run:?}");
    assert_eq!(doc.pid, std::process::id());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn first_start_takeover_handover_and_shutdown() {
    let Some((_zk, url, store)) =
        zookeeper_store("runs", 1, SESSION, &[("p1", &["h1", "h2"])]).await
    else {
        return;
    };
    assert_eq!(store.run("p1").await.unwrap(), PreviousRun::Never);

    // First start: no F bit; the record says h1 runs it.
    let h1 = start(&url, "h1", SESSION).await;
    let mut rx1 = h1.assignment();
    assert!(!assigned_restart(&mut rx1, "p1", "h1 leads p1").await);
    expect_run(&store, "p1", "h1", true).await;

    // h1 dies (its member dropped without a clean stop): h2 takes over as a restart.
    let h2 = start(&url, "h2", SESSION).await;
    let mut rx2 = h2.assignment();
    eventually(Duration::from_secs(10), "h2 is a candidate of p1", || {
        let store = store.clone();
        async move { store.election("p1").await.unwrap() == ["h1", "h2"] }
    })
    .await;
    drop(rx1);
    drop(h1);
    assert!(assigned_restart(&mut rx2, "p1", "h2 takes p1 over").await);
    expect_run(&store, "p1", "h2", true).await;

    // Handing over: h2 is no longer a candidate; it stops the port, confirms, and h3 starts it
    // as a first start (the record says stopped).
    let h3 = start(&url, "h3", SESSION).await;
    let mut rx3 = h3.assignment();
    store
        .put_port("p1", &port_doc(&["h3"], 65001))
        .await
        .unwrap();
    wait_assignment(&mut rx2, Duration::from_secs(10), "h2 lets p1 go", |a| {
        !a.ports.contains_key("p1")
    })
    .await;
    expect_run(&store, "p1", "h2", true).await;
    h2.released("p1").unwrap();
    assert!(!assigned_restart(&mut rx3, "p1", "h3 leads p1 after the handover").await);
    expect_run(&store, "p1", "h3", true).await;

    // A clean shutdown marks the record stopped; the next leader starts fresh.
    h3.shutdown().await;
    expect_run(&store, "p1", "h3", false).await;
    store
        .put_port("p1", &port_doc(&["h4"], 65001))
        .await
        .unwrap();
    let h4 = start(&url, "h4", SESSION).await;
    let mut rx4 = h4.assignment();
    assert!(!assigned_restart(&mut rx4, "p1", "h4 leads p1 after h3's clean shutdown").await);
    h4.shutdown().await;
    h2.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_crashed_process_of_the_same_host_is_restarted_as_a_takeover() {
    let Some((_zk, url, _store)) =
        zookeeper_store("runs_same_host", 1, SESSION, &[("p1", &["h1"])]).await
    else {
        return;
    };
    let first = start(&url, "h1", SESSION).await;
    let mut rx = first.assignment();
    assert!(!assigned_restart(&mut rx, "p1", "h1 leads p1").await);
    drop(rx);
    drop(first);
    // The same host id again (a new controller process after a crash).
    let again = start(&url, "h1", SESSION).await;
    let mut rx = again.assignment();
    assert!(assigned_restart(&mut rx, "p1", "h1 leads p1 again").await);
    again.shutdown().await;
    // After the clean shutdown, the next process is a first start.
    let third = start(&url, "h1", SESSION).await;
    let mut rx = third.assignment();
    assert!(!assigned_restart(&mut rx, "p1", "h1 leads p1 a third time").await);
    third.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_fenced_run_comes_back_as_a_restart() {
    let session = Duration::from_secs(6);
    let Some((mut zk, url, store)) =
        zookeeper_store("runs_fenced", 1, session, &[("p1", &["h1"])]).await
    else {
        return;
    };
    let mut cfg = member_config(&url, "h1", session);
    cfg.fence_after = Some(Duration::from_millis(500));
    let m = Member::start(cfg, validator()).await.unwrap();
    let mut rx = m.assignment();
    assert!(!assigned_restart(&mut rx, "p1", "h1 leads p1").await);
    // The server stops answering: h1 fences itself (every port stops, the record cannot be
    // written); a frozen server expires no session, so h1's leadership survives.
    zk.pause(0);
    let fenced = wait_assignment(&mut rx, Duration::from_secs(10), "h1 fenced", |a| a.fenced).await;
    zk.resume(0);
    assert!(fenced.ports.is_empty());
    // The embedder confirms the stop it made while fenced: not a clean stop.
    let _ = m.released("p1");
    assert!(assigned_restart(&mut rx, "p1", "p1 back on h1 after the fence").await);
    expect_run(&store, "p1", "h1", true).await;
    m.shutdown().await;
    expect_run(&store, "p1", "h1", false).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_records_are_recorded_and_taken_as_restarts_and_remove_port_removes_them() {
    let Some((_zk, url, store)) = zookeeper_store("runs_bad", 1, SESSION, &[("p1", &["h1"])]).await
    else {
        return;
    };
    store
        .put_run_raw("p1", b"{\"schema\":1,\"host\":")
        .await
        .unwrap();
    assert!(matches!(
        store.run("p1").await.unwrap(),
        PreviousRun::Unreadable(_)
    ));
    let m = start(&url, "h1", SESSION).await;
    let mut rx = m.assignment();
    assert!(assigned_restart(&mut rx, "p1", "h1 leads p1 despite the bad record").await);
    // The refused record is the port's recorded error; the record is ours now.
    eventually(Duration::from_secs(10), "error recorded", || {
        let store = store.clone();
        async move {
            store.statuses().await.unwrap().iter().any(|(p, s)| {
                p == "p1"
                    && s.as_ref().is_ok_and(|s| {
                        s.state == "active"
                            && s.error
                                .as_deref()
                                .is_some_and(|e| e.contains("run record refused"))
                    })
            })
        }
    })
    .await;
    expect_run(&store, "p1", "h1", true).await;

    // remove-port removes the record with the port; the host's clean stop finds it gone and
    // does not bring it back.
    assert!(store.remove_port("p1").await.unwrap());
    assert_eq!(store.run("p1").await.unwrap(), PreviousRun::Never);
    wait_assignment(&mut rx, Duration::from_secs(10), "p1 gone from h1", |a| {
        !a.ports.contains_key("p1")
    })
    .await;
    m.released("p1").unwrap();
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(store.run("p1").await.unwrap(), PreviousRun::Never);
    // Added again: a first start.
    store
        .put_port("p1", &port_doc(&["h1"], 65001))
        .await
        .unwrap();
    assert!(!assigned_restart(&mut rx, "p1", "p1 added again").await);
    expect_run(&store, "p1", "h1", true).await;
    m.shutdown().await;
}
