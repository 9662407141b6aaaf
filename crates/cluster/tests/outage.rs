//! Store outages against a real three-server ZooKeeper ensemble: one server down changes
//! nothing; all unreachable for less than detection plus the fencing delay changes nothing;
//! all down for longer than the session timeout fences every host, and the ports come back when
//! the store does.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::{Duration, Instant};

use common::*;

const SESSION: Duration = Duration::from_secs(6);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outages_change_nothing_until_fencing_and_ports_come_back() {
    let Some((mut zk, url, store)) = zookeeper_store(
        "outage",
        3,
        SESSION,
        &[("p1", &["h1", "h2"]), ("p2", &["h2", "h1"])],
    )
    .await
    else {
        return;
    };
    drop(store);
    let m1 = start(&url, "h1", SESSION).await;
    let m2 = start(&url, "h2", SESSION).await;
    let mut rx = [m1.assignment(), m2.assignment()];
    let t = Instant::now();
    let running = loop {
        let a = [rx[0].borrow().clone(), rx[1].borrow().clone()];
        let p1 = a.iter().filter(|a| a.ports.contains_key("p1")).count();
        let p2 = a.iter().filter(|a| a.ports.contains_key("p2")).count();
        if p1 == 1 && p2 == 1 {
            break a;
        }
        assert!(
            t.elapsed() < Duration::from_secs(20),
            "no assignment: {a:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Let the hosts finish writing their status and host documents.
    tokio::time::sleep(Duration::from_secs(1)).await;
    for r in rx.iter_mut() {
        r.borrow_and_update();
    }

    // One server of three down (and back): nothing changes.
    for i in 0..3 {
        zk.stop(i);
        tokio::time::sleep(SESSION / 2).await;
        zk.restart(i).unwrap();
        zk.wait_serving(Duration::from_secs(30)).unwrap();
        for (h, r) in rx.iter().enumerate() {
            assert!(
                !r.has_changed().unwrap(),
                "server {i} down changed h{}'s assignment",
                h + 1
            );
        }
    }

    // Every server unreachable (frozen: connections open, no answers, as in a partition) for
    // a third of the session timeout — less than detection (1/5) plus the fencing delay (2/5):
    // nothing resets.
    for i in 0..3 {
        zk.pause(i);
    }
    tokio::time::sleep(SESSION / 3).await;
    for i in 0..3 {
        zk.resume(i);
    }
    let t = Instant::now();
    while t.elapsed() < SESSION {
        for (h, r) in rx.iter().enumerate() {
            assert!(
                !r.has_changed().unwrap(),
                "a short outage changed h{}'s assignment: {:?}",
                h + 1,
                *r.borrow()
            );
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!([rx[0].borrow().clone(), rx[1].borrow().clone()], running);

    // Longer than the session timeout: both hosts fence (every port stops) within the fencing
    // delay plus detection, and the ports come back, each on exactly one host.
    zk.stop_all();
    let down = Instant::now();
    for r in rx.iter_mut() {
        wait_assignment(r, SESSION, "fenced", |a| a.fenced && a.ports.is_empty()).await;
    }
    let fenced_after = down.elapsed();
    assert!(
        fenced_after < SESSION * 3 / 4,
        "fenced only after {fenced_after:?}"
    );
    tokio::time::sleep((SESSION + Duration::from_secs(2)).saturating_sub(down.elapsed())).await;
    zk.restart_all(Duration::from_secs(60)).unwrap();
    let back = Instant::now();
    loop {
        let a = [rx[0].borrow().clone(), rx[1].borrow().clone()];
        let p1 = a.iter().filter(|a| a.ports.contains_key("p1")).count();
        let p2 = a.iter().filter(|a| a.ports.contains_key("p2")).count();
        if p1 == 1 && p2 == 1 && a.iter().all(|a| !a.fenced) {
            break;
        }
        assert!(
            back.elapsed() < SESSION * 4,
            "ports did not come back: {a:?}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    eprintln!(
        "fenced {fenced_after:?} after the store went away; ports back {:?} after it returned",
        back.elapsed()
    );
    m1.shutdown().await;
    m2.shutdown().await;
}
