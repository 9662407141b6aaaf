//! The metrics endpoint in cluster mode, across a failover: two `midonet-bgp run --store`
//! controllers (each with `[controller] metrics`) in their own host namespaces, one port with
//! candidates h0 and h1 peering with a real FRR bgpd, on a real ZooKeeper. Scraped while one
//! leads, each host reports its membership (leader or standby, not fenced) and the leader the
//! route changes it published; after the leader dies, the other's scrape shows it leads the
//! port, runs it, and publishes its routes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cluster_common;
#[path = "../../routing/tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::Duration;

use cluster_common::*;
use common::*;

const SESSION: Duration = Duration::from_secs(4);

fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

fn scrape(addr: SocketAddr) -> Option<String> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n")
        .ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200 ").then(|| body.to_string())
}

/// The value of one series (`name{labels}` exactly as rendered).
fn value(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

/// Whether `addr`'s scrape shows a host leading p1, running it with its peer Established and
/// having published at least one route change of it.
fn leads(addr: SocketAddr) -> bool {
    scrape(addr).is_some_and(|t| {
        value(&t, r#"midonet_bgp_cluster_port_leader{port="p1"}"#) == Some(1)
            && value(&t, "midonet_bgp_cluster_ports_led") == Some(1)
            && value(&t, "midonet_bgp_cluster_fenced") == Some(0)
            && value(
                &t,
                r#"midonet_bgp_peer_state{port="p1",peer="192.0.2.2",state="Established"}"#,
            ) == Some(1)
            && value(&t, r#"midonet_bgp_routes_held{port="p1"}"#) == Some(1)
            && value(
                &t,
                r#"midonet_bgp_cluster_route_changes_published_total{port="p1"}"#,
            )
            .is_some_and(|n| n >= 1)
    })
}

/// Whether `addr`'s scrape shows host `host` as a member leading nothing.
fn standby(addr: SocketAddr, host: &str) -> bool {
    scrape(addr).is_some_and(|t| {
        value(
            &t,
            &format!(r#"midonet_bgp_cluster_member_info{{host="{host}"}}"#),
        ) == Some(1)
            && value(&t, "midonet_bgp_cluster_ports_led") == Some(0)
            && value(&t, "midonet_bgp_cluster_fenced") == Some(0)
            && !t.contains("midonet_bgp_cluster_port_leader{")
            && !t.contains(r#"midonet_bgp_port_phase{port="p1""#)
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cluster_metrics_follow_a_failover() {
    let Some(mut cluster) = Cluster::start(ClusterSpec {
        test: "cluster_metrics_follow_a_failover",
        tag: "cmet",
        servers: 1,
        hosts: 2,
        uplinks: &["up1"],
        ports: &[(
            "p1",
            &["h0", "h1"],
            "up1",
            "192.0.2.1/24",
            "02:00:00:00:00:01",
            65001,
        )],
        session: SESSION,
    })
    .await
    else {
        return;
    };
    // Each controller serves metrics on its own loopback port (it runs in this namespace).
    let addrs = [free_port(), free_port()];
    for ((_, _, _, cfg), addr) in cluster.hosts.iter().zip(addrs) {
        let mut text = std::fs::read_to_string(cfg).unwrap();
        text.push_str(&format!("metrics = \"{addr}\"\n"));
        std::fs::write(cfg, text).unwrap();
    }
    let (mut running, runs) = cluster.spawn();

    // The elected host (whichever joined the election first) leads and runs p1; the other is a
    // standby member.
    let mut leader = None;
    assert!(
        wait_blocking(120, || {
            leader = (0..2).find(|&i| leads(addrs[i]));
            leader.is_some()
        })
        .await,
        "no host reports leading p1:\n{}\n{}\n{}",
        scrape(addrs[0]).unwrap_or_default(),
        scrape(addrs[1]).unwrap_or_default(),
        logs(&running)
    );
    let l = leader.unwrap();
    let other = 1 - l;
    assert!(
        wait_blocking(30, || standby(addrs[other], &format!("h{other}"))).await,
        "h{other} is not a standby:\n{}",
        scrape(addrs[other]).unwrap_or_default()
    );
    assert_eq!(bgpd_hosts(&runs, "p1"), vec![l]);
    let t0 = scrape(addrs[l]).unwrap();
    assert_eq!(
        value(
            &t0,
            &format!(r#"midonet_bgp_cluster_member_info{{host="h{l}"}}"#)
        ),
        Some(1),
        "{t0}"
    );
    assert_eq!(value(&t0, "midonet_bgp_cluster_fencings_total"), Some(0));
    assert_eq!(
        value(&t0, "midonet_bgp_cluster_publish_failures_total"),
        Some(0)
    );
    let before = value(
        &scrape(addrs[other]).unwrap(),
        "midonet_bgp_cluster_assignment_changes_total",
    )
    .unwrap_or(0);

    // The leader dies: the standby takes p1 over within the session timeout and reports it.
    running[l].die();
    assert!(
        wait_blocking(120, || leads(addrs[other])).await,
        "h{other} does not report leading p1 after the failover:\n{}\n{}",
        scrape(addrs[other]).unwrap_or_default(),
        logs(&running)
    );
    assert!(scrape(addrs[l]).is_none(), "h{l} still answers");
    let t1 = scrape(addrs[other]).unwrap();
    assert!(
        value(&t1, "midonet_bgp_cluster_assignment_changes_total").unwrap_or(0) > before,
        "{t1}"
    );
    assert_eq!(
        value(&t1, r#"midonet_bgp_port_phase{port="p1",phase="running"}"#),
        Some(1),
        "{t1}"
    );
    assert_eq!(bgpd_hosts(&runs, "p1"), vec![other]);
    stop_hosts(&mut running).await;
}
