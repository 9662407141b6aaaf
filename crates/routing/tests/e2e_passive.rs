//! `passive = true` on a port's peers, end to end for every bgpd the controller runs (FRR 8.4,
//! FRR 10.3 from its chroot, Quagga 1.2.4): the peer opens the TCP connection, and the proof is
//! the connection itself — in the port's namespace the established session's local port is 179
//! and the peer's is not. Then the control: with the provider passive too, no connection comes
//! up at all (neither side opens); turning `passive` off on the running port (one `no neighbor
//! A passive`, same bgpd) brings the sessions back with our side opening them (the peer's port
//! is 179), and turning it on again makes the port's bgpd drop them itself (both sides passive:
//! they stay down). The provider is the host's FRR 8.4.
//! Needs root and FRR (and the chroot or the Quagga build: skipped elsewhere, never under CI).
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use common::port::{run_port_with, PortBgpd, PROVIDER_NETS};
use common::ports::dual_stack_port_with;
use common::*;

/// The BGP peers of the port (see `dual_stack_port`).
const PEERS: [&str; 2] = ["192.0.2.2", "2001:db8::2"];
/// Our addresses, as the provider names its neighbors.
const OURS: [&str; 2] = ["192.0.2.1", "2001:db8::1"];

/// Who opened a TCP connection, read from its ports: the side whose port is 179 accepted it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Opener {
    Peer,
    Us,
}

/// The established TCP connections with a BGP end (port 179) in namespace `ns`, as
/// (our address and port, the peer's), IPv4-mapped addresses written as IPv4.
fn bgp_connections(ns: &str) -> Vec<(SocketAddr, SocketAddr)> {
    let out =
        testkit::lab::ip(&["netns", "exec", ns, "ss", "-Htn", "state", "established"]).unwrap();
    let canonical = |a: SocketAddr| SocketAddr::new(a.ip().to_canonical(), a.port());
    out.lines()
        .filter_map(|l| {
            // `Recv-Q Send-Q Local:Port Peer:Port` (no state column for a single state).
            let f: Vec<&str> = l.split_whitespace().collect();
            let local: SocketAddr = f.get(2)?.parse().ok()?;
            let peer: SocketAddr = f.get(3)?.parse().ok()?;
            Some((canonical(local), canonical(peer)))
        })
        .filter(|(l, p)| l.port() == 179 || p.port() == 179)
        .collect()
}

/// Whether each peer has exactly one established BGP connection in `ns`, opened by `who`.
fn opened_by(ns: &str, who: Opener) -> bool {
    let conns = bgp_connections(ns);
    PEERS.iter().all(|p| {
        let p: IpAddr = p.parse().unwrap();
        let mine: Vec<_> = conns.iter().filter(|(_, peer)| peer.ip() == p).collect();
        match (mine.as_slice(), who) {
            ([(l, r)], Opener::Peer) => l.port() == 179 && r.port() != 179,
            ([(l, r)], Opener::Us) => r.port() == 179 && l.port() != 179,
            _ => false,
        }
    })
}

/// The scenario of every test in this file, on the port's `bgpd`.
async fn the_peer_opens_then_we_do(lab: &Lab, bgpd: &PortBgpd, host_bgpd: &Path) {
    // Sessions, routes both ways and status, as for every daemon, with both peers passive.
    let passive = dual_stack_port_with("", "passive = true");
    let mut run = run_port_with(lab, bgpd, host_bgpd, &passive).await;
    let ns = routing::config::base_name(&lab.prefix, "p1");
    assert!(
        wait_blocking(10, || opened_by(&ns, Opener::Peer)).await,
        "the provider did not open every session: {:?}",
        bgp_connections(&ns)
    );
    let pid = run.status.bgpd_pid;

    // The control: the provider becomes passive too (its bgpd resets the sessions). Neither
    // side opens now; the port's bgpd would within its connect-retry time (5 s) if it did.
    let mut cmds = vec!["router bgp 65002".to_string()];
    cmds.extend(OURS.iter().map(|a| format!("neighbor {a} passive")));
    let cmds: Vec<&str> = cmds.iter().map(String::as_str).collect();
    run.provider.configure(&cmds);
    // Well within the hold time (15 s): bgpd resets the session itself on a passive change.
    assert!(
        wait_blocking(10, || bgp_connections(&ns).is_empty()).await,
        "the sessions stayed up after the provider became passive: {:?}",
        bgp_connections(&ns)
    );
    let quiet = tokio::task::block_in_place(|| {
        testkit::lab::holds_for(Duration::from_secs(12), || bgp_connections(&ns).is_empty())
    });
    assert!(quiet, "a connection came up with both sides passive");

    // `passive` off on the running port: the same bgpd opens both sessions itself.
    let active = dual_stack_port_with("", "passive = false");
    let report = run
        .h
        .apply(&config(&format!("{}{active}", bgpd.controller(lab))))
        .await;
    assert_eq!(report.updated, ["p1"], "{report:?}");
    let s = wait_port(&run.h, "p1", 90, "sessions and routes back", |s| {
        established(s, 2) && has_routes(&run.sink.table, "p1", &PROVIDER_NETS)
    })
    .await;
    assert_eq!(s.bgpd_pid, pid, "bgpd restarted for a passive change");
    assert!(s.last_error.is_none(), "{s:#?}");
    assert!(
        wait_blocking(10, || opened_by(&ns, Opener::Us)).await,
        "the port's bgpd did not open every session: {:?}",
        bgp_connections(&ns)
    );

    // And `passive` on again (one `neighbor A passive`): the port's bgpd resets the sessions
    // it opened (well within the hold time) and, with both sides passive, they stay down.
    let report = run
        .h
        .apply(&config(&format!("{}{passive}", bgpd.controller(lab))))
        .await;
    assert_eq!(report.updated, ["p1"], "{report:?}");
    assert!(
        wait_blocking(10, || bgp_connections(&ns).is_empty()).await,
        "the port's bgpd kept the sessions it opened: {:?}",
        bgp_connections(&ns)
    );
    let s = wait_port(&run.h, "p1", 10, "the sessions down", |s| {
        s.peers.len() == 2 && s.peers.iter().all(|p| p.state != "Established")
    })
    .await;
    assert_eq!(s.bgpd_pid, pid, "bgpd restarted for a passive change");
    assert!(s.config_applied && s.last_error.is_none(), "{s:#?}");
    run.shutdown(lab).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr_session_comes_up_when_the_peer_opens_it() {
    let test = "frr_session_comes_up_when_the_peer_opens_it";
    let Some(host_bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let lab = Lab::new();
    the_peer_opens_then_we_do(&lab, &PortBgpd::Host, &host_bgpd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn frr10_session_comes_up_when_the_peer_opens_it() {
    let test = "frr10_session_comes_up_when_the_peer_opens_it";
    let Some(host_bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let lab = Lab::new();
    // Declared after the lab: unmounted before the lab's run directory goes.
    let Some(bgpd) = PortBgpd::frr10(test, &lab) else {
        return;
    };
    the_peer_opens_then_we_do(&lab, &bgpd, &host_bgpd).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn quagga_session_comes_up_when_the_peer_opens_it() {
    let test = "quagga_session_comes_up_when_the_peer_opens_it";
    let Some(bgpd) = PortBgpd::quagga(test) else {
        return;
    };
    let Some(host_bgpd) = testkit::require_bgpd(test) else {
        return;
    };
    let lab = Lab::new();
    the_peer_opens_then_we_do(&lab, &bgpd, &host_bgpd).await;
}
