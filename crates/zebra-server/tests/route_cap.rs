//! The per-port route cap through the real Unix socket: a client sends far more routes than the
//! cap; the server keeps exactly the cap, hands only those to the embedder, counts the excess
//! (per gateway too) and its table does not grow by a byte past the cap. No privileges needed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::Ipv4Addr;
use std::time::Duration;

use bytes::BytesMut;
use common::Events;
use ipnetwork::{IpNetwork, Ipv4Network};
use tokio::io::AsyncWriteExt;
use tokio::net::UnixStream;
use zebra_proto::{Message, NexthopTarget, Profile, ZapiNexthop, ZapiRoute};
use zebra_server::{RouteEvent, RouteStats, ServerConfig, ServerEvent, ZebraServer};

const T: Duration = Duration::from_secs(30);
const CAP: u32 = 2_000;

/// The `i`-th /24 from 10.0.0.0.
fn prefix(i: u32) -> IpNetwork {
    IpNetwork::V4(Ipv4Network::new(Ipv4Addr::from(0x0a00_0000 + (i << 8)), 24).unwrap())
}

fn add(i: u32, gw: Ipv4Addr, metric: u32, out: &mut BytesMut) {
    let mut r = ZapiRoute::new(9, prefix(i));
    r.nexthops = Some(
        std::iter::once(ZapiNexthop::new(NexthopTarget::Ipv4 {
            gate: gw,
            ifindex: 0,
        }))
        .collect(),
    );
    r.distance = Some(20);
    r.metric = Some(metric);
    zebra_proto::encode(Profile::Frr84, 0, &Message::RouteAdd(r), out).unwrap();
}

fn delete(i: u32, out: &mut BytesMut) {
    let mut r = ZapiRoute::new(9, prefix(i));
    r.distance = Some(20);
    zebra_proto::encode(Profile::Frr84, 0, &Message::RouteDelete(r), out).unwrap();
}

const GW_A: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 2);
const GW_B: Ipv4Addr = Ipv4Addr::new(192, 0, 2, 3);

/// Waits until the server's counters satisfy `pred`.
async fn stats_until(srv: &ZebraServer, pred: impl Fn(&RouteStats) -> bool) -> RouteStats {
    let deadline = tokio::time::Instant::now() + T;
    loop {
        let s = srv.route_stats();
        if pred(&s) {
            return s;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "counters stuck at {s:?}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

fn replaces(ev: &Events) -> usize {
    ev.seen
        .iter()
        .filter(|e| matches!(e, ServerEvent::Route(RouteEvent::Replace { .. })))
        .count()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn routes_beyond_the_cap_are_refused_counted_and_never_stored() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path().join("zserv.api"));
    cfg.max_routes = CAP as usize;
    let (srv, rx) = ZebraServer::start(cfg).await.unwrap();
    let mut ev = Events::new(rx);
    let mut s = UnixStream::connect(srv.socket_path()).await.unwrap();

    // Up to the cap: every route is kept and handed over.
    let mut buf = BytesMut::new();
    for i in 0..CAP {
        add(i, GW_A, 0, &mut buf);
    }
    s.write_all(&buf).await.unwrap();
    assert!(ev.wait_table(T, |t| t.len() == CAP as usize).await);
    let full = stats_until(&srv, |s| s.held == u64::from(CAP)).await;
    assert_eq!((full.received, full.refused), (u64::from(CAP), 0));
    assert_eq!(full.limit, u64::from(CAP));
    assert!(full.table_bytes > 0);

    // Ten times the cap more, in rounds: every new prefix is refused, and the table's memory
    // stays exactly where it was at the cap.
    let excess = 10 * CAP;
    for round in 0..10u32 {
        let mut buf = BytesMut::new();
        for i in CAP + round * CAP..CAP + (round + 1) * CAP {
            add(i, if i % 4 == 0 { GW_B } else { GW_A }, 0, &mut buf);
        }
        s.write_all(&buf).await.unwrap();
        let now = stats_until(&srv, |s| s.received == u64::from(CAP + (round + 1) * CAP)).await;
        assert_eq!(now.held, u64::from(CAP));
        assert_eq!(
            now.table_bytes, full.table_bytes,
            "round {round}: the table grew"
        );
    }
    let after = srv.route_stats();
    assert_eq!(after.refused, u64::from(excess));
    assert_eq!(
        after.refused_by_gateway,
        vec![
            (Some(GW_A.into()), u64::from(excess / 4 * 3)),
            (Some(GW_B.into()), u64::from(excess / 4)),
        ]
    );

    // A held prefix may still change at the cap; a deleted one makes room for one new prefix.
    let mut buf = BytesMut::new();
    add(0, GW_B, 7, &mut buf);
    delete(1, &mut buf);
    add(CAP + excess, GW_A, 0, &mut buf);
    add(CAP + excess + 1, GW_A, 0, &mut buf);
    s.write_all(&buf).await.unwrap();
    let end = stats_until(&srv, |s| s.received == u64::from(CAP + excess + 3)).await;
    assert_eq!(end.held, u64::from(CAP));
    assert_eq!(end.deletes, 1);
    assert_eq!(end.refused, u64::from(excess + 1));
    assert!(
        ev.wait_table(T, |t| t.contains_key(&prefix(CAP + excess))
            && !t.contains_key(&prefix(1))
            && t[&prefix(0)][0].metric == 7)
            .await
    );
    ev.drain_for(Duration::from_millis(100)).await;
    let table = ev.table();
    assert_eq!(table.len(), CAP as usize);
    assert!(!table.contains_key(&prefix(CAP + excess + 1)));
    assert!((CAP..CAP + excess).all(|i| !table.contains_key(&prefix(i))));
    // The embedder saw the routes it holds and the one change, nothing refused.
    assert_eq!(replaces(&ev), CAP as usize + 2);
    srv.shutdown().await;
}
