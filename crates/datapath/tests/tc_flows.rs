//! Privileged tests of the tc backend on a real kernel: peer namespace — veth — uplink in a
//! host-side test namespace — flows — veth — bgpd namespace.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::net::SocketAddr;

use common::*;
use datapath::{bgp_flows, total, Datapath, InstallReport, TcDatapath, BGP_PORT as PORT_179};

fn sa(ip: &str, port: u16) -> SocketAddr {
    SocketAddr::new(common::ip(ip), port)
}

fn flows_for(peers: &[&str]) -> Vec<datapath::Flow> {
    let peers: Vec<_> = peers.iter().map(|p| common::ip(p)).collect();
    bgp_flows(
        UPLINK,
        BGP_PORT,
        &[common::ip(LOCAL4), common::ip(LOCAL6)],
        &peers,
    )
}

/// A test's start (root, else skipped: `None`): the topology and a datapath handle programming
/// its host side.
fn setup(test: &str) -> Option<(Topology, TcDatapath)> {
    testkit::require_root(test)?;
    let t = Topology::new();
    let dp = TcDatapath::new(Some(t.host.name())).unwrap();
    Some((t, dp))
}

/// Whether TCP from the peer namespace, from `src`, reaches `dst`:`port` in bgpd's namespace.
fn peer_reaches(t: &Topology, src: &str, dst: &str, port: u16) -> bool {
    tcp_reaches(
        &t.peer.path(),
        Some(ip(src)),
        &t.bgpd.path(),
        sa(dst, port),
        None,
    )
}

/// The install report of `added`, `removed` and `unchanged` flows.
fn changes(added: usize, removed: usize, unchanged: usize) -> InstallReport {
    InstallReport {
        added,
        removed,
        unchanged,
    }
}

/// Neither link keeps a filter or an ingress qdisc.
fn assert_links_clean(t: &Topology) {
    for dev in [UPLINK, BGP_PORT] {
        assert_eq!(t.ingress_filters(dev).trim(), "", "filters left on {dev}");
        assert!(!t.has_ingress_qdisc(dev), "qdisc left on {dev}");
    }
}

fn ping(ns: &testkit::lab::TestNs, args: &[&str]) -> (bool, String) {
    let mut full = vec!["ping", "-c", "2", "-i", "0.2", "-W", "2"];
    full.extend_from_slice(args);
    let out = ns.exec(&full).unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// Record-route option (9 empty slots) padded with end-of-options: a 40-byte option area.
fn record_route_option() -> Vec<u8> {
    let mut o = vec![7u8, 39, 4];
    o.extend_from_slice(&[0; 36]);
    o.push(0);
    o
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bgp_flows_steer_only_bgp_arp_icmp_both_ways() {
    let Some((t, dp)) = setup("bgp_flows_steer_only_bgp_arp_icmp_both_ways") else {
        return;
    };
    let (p, b) = (t.peer.path(), t.bgpd.path());

    // Without flows nothing gets through.
    assert!(
        !peer_reaches(&t, PEER4, LOCAL4, PORT_179),
        "reached bgpd without flows"
    );
    assert!(!t.has_ingress_qdisc(UPLINK));

    let flows = flows_for(&[PEER4, PEER6]);
    let report = dp.install("port-1", &flows).await.unwrap();
    assert_eq!(report, changes(flows.len(), 0, 0));
    let shown = t.ingress_filters(UPLINK);
    assert!(shown.contains("mirred"), "{shown}");

    // BGP in both directions of connection setup, IPv4 and IPv6.
    assert!(peer_reaches(&t, PEER4, LOCAL4, PORT_179), "peer -> bgpd v4");
    assert!(
        tcp_reaches(&b, None, &p, sa(PEER4, PORT_179), None),
        "bgpd -> peer v4"
    );
    assert!(peer_reaches(&t, PEER6, LOCAL6, PORT_179), "peer -> bgpd v6");
    assert!(
        tcp_reaches(&b, None, &p, sa(PEER6, PORT_179), None),
        "bgpd -> peer v6"
    );

    // ARP / neighbour discovery and ping, from either side (resolution happens through the flows).
    t.flush_neighbours();
    for (ns, src, dst) in [
        (&t.peer, PEER4, LOCAL4),
        (&t.bgpd, LOCAL4, PEER4),
        (&t.peer, PEER6, LOCAL6),
        (&t.bgpd, LOCAL6, PEER6),
    ] {
        let (ok, out) = ping(ns, &["-I", src, dst]);
        assert!(ok, "ping {dst} from {}: {out}", ns.name());
    }

    // Nothing else: another TCP port, UDP, a non-peer source.
    assert!(
        !peer_reaches(&t, PEER4, LOCAL4, 8179),
        "tcp 8179 v4 redirected"
    );
    assert!(
        !peer_reaches(&t, PEER6, LOCAL6, 8179),
        "tcp 8179 v6 redirected"
    );
    assert!(
        !udp_reaches(&p, ip(PEER4), &b, sa(LOCAL4, PORT_179)),
        "udp v4 redirected"
    );
    assert!(
        !udp_reaches(&p, ip(PEER6), &b, sa(LOCAL6, PORT_179)),
        "udp v6 redirected"
    );
    assert!(
        !peer_reaches(&t, STRANGER4, LOCAL4, PORT_179),
        "non-peer v4 redirected"
    );
    assert!(
        !peer_reaches(&t, STRANGER6, LOCAL6, PORT_179),
        "non-peer v6 redirected"
    );

    // Counters come from the kernel and grew.
    let stats = dp.counters("port-1").await.unwrap();
    assert_eq!(stats.len(), flows.len());
    let (packets, bytes) = total(&stats);
    assert!(
        packets >= 20 && bytes > packets * 20,
        "packets {packets} bytes {bytes}"
    );
    let syn_flow = stats
        .iter()
        .find(|s| {
            s.flow.in_port == UPLINK
                && s.flow.matches.dst_port == Some(PORT_179)
                && s.flow.matches.src.is_some_and(|n| n.is_ipv4())
        })
        .unwrap();
    assert!(syn_flow.packets > 0, "{syn_flow:?}");

    // Idempotent: a second install changes nothing, handles and priorities stay.
    let again = dp.install("port-1", &flows).await.unwrap();
    assert_eq!(again, changes(0, 0, flows.len()));
    assert_eq!(dp.list("port-1").await.unwrap(), flows);

    // Removal stops the redirection and leaves nothing behind.
    dp.remove("port-1").await.unwrap();
    assert!(
        !peer_reaches(&t, PEER4, LOCAL4, PORT_179),
        "reached bgpd after removal"
    );
    assert_links_clean(&t);
    assert!(dp.list("port-1").await.unwrap().is_empty());
    // Removing again is fine.
    dp.remove("port-1").await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ipv4_with_ip_options_still_matches() {
    let Some((t, dp)) = setup("ipv4_with_ip_options_still_matches") else {
        return;
    };
    let (p, b) = (t.peer.path(), t.bgpd.path());
    dp.install("opts", &flows_for(&[PEER4])).await.unwrap();

    // A TCP connection whose packets carry a 40-byte record-route option (IHL 15); Linux echoes
    // the option in its SYN-ACK, so both directions carry options.
    let opt = record_route_option();
    assert!(
        tcp_reaches(
            &p,
            Some(ip(PEER4)),
            &b,
            sa(LOCAL4, PORT_179),
            Some(opt.clone())
        ),
        "tcp with options, peer -> bgpd"
    );
    assert!(
        tcp_reaches(&b, None, &p, sa(PEER4, PORT_179), Some(opt.clone())),
        "tcp with options, bgpd -> peer"
    );
    assert!(
        !tcp_reaches(&p, Some(ip(PEER4)), &b, sa(LOCAL4, 8179), Some(opt)),
        "tcp 8179 with options redirected"
    );

    // ping -R: ICMP echo with record route both ways; the reply shows the recorded route.
    let (ok, out) = ping(&t.peer, &["-R", "-I", PEER4, LOCAL4]);
    assert!(ok && out.contains("RR:"), "ping -R: {out}");

    let stats = dp.counters("opts").await.unwrap();
    assert!(total(&stats).0 > 0);
    dp.remove("opts").await.unwrap();
    assert_eq!(t.ingress_filters(UPLINK).trim(), "");
}

/// Priorities (`pref N`) of the filters `tc` shows, with their handle lines.
fn filter_lines(shown: &str) -> Vec<String> {
    let mut v: Vec<String> = shown
        .lines()
        .filter(|l| l.starts_with("filter"))
        .map(str::to_string)
        .collect();
    v.sort();
    v
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn peer_update_changes_only_the_differing_flows() {
    let Some((t, dp)) = setup("peer_update_changes_only_the_differing_flows") else {
        return;
    };

    let one = flows_for(&[PEER4]);
    let two = flows_for(&[PEER4, STRANGER4]);
    assert_eq!(dp.install("g", &one).await.unwrap().added, 10);
    let before = filter_lines(&t.ingress_filters(UPLINK));
    assert!(!peer_reaches(&t, STRANGER4, LOCAL4, PORT_179));

    let r = dp.install("g", &two).await.unwrap();
    assert_eq!(r, changes(10, 0, 10));
    let during = filter_lines(&t.ingress_filters(UPLINK));
    for line in &before {
        assert!(
            during.contains(line),
            "filter {line} changed by adding a peer"
        );
    }
    assert!(
        peer_reaches(&t, STRANGER4, LOCAL4, PORT_179),
        "new peer not redirected"
    );

    let r = dp.install("g", &one).await.unwrap();
    assert_eq!(r, changes(0, 10, 10));
    assert_eq!(filter_lines(&t.ingress_filters(UPLINK)), before);
    assert!(
        !peer_reaches(&t, STRANGER4, LOCAL4, PORT_179),
        "removed peer still redirected"
    );
    assert!(peer_reaches(&t, PEER4, LOCAL4, PORT_179), "kept peer lost");

    // A fresh handle (as after a controller restart) recognises the installed flows.
    let dp2 = TcDatapath::new(Some(t.host.name())).unwrap();
    // It reads the group's flows and counters back from the kernel before installing anything.
    let sorted = |mut v: Vec<String>| {
        v.sort();
        v
    };
    let recovered = dp2.list("g").await.unwrap();
    assert_eq!(
        sorted(recovered.iter().map(ToString::to_string).collect()),
        sorted(one.iter().map(ToString::to_string).collect())
    );
    let recovered_stats = dp2.counters("g").await.unwrap();
    assert_eq!(recovered_stats.len(), 10);
    assert!(
        total(&recovered_stats).0 > 0,
        "the earlier connections were counted"
    );
    assert_eq!(dp2.install("g", &one).await.unwrap(), changes(0, 0, 10));
    // Another group on the same links does not disturb the first.
    let other = bgp_flows(UPLINK, BGP_PORT, &[ip(LOCAL4)], &[ip("192.0.2.9")]);
    assert_eq!(dp2.install("h", &other).await.unwrap().added, 10);
    dp2.remove("h").await.unwrap();
    assert_eq!(filter_lines(&t.ingress_filters(UPLINK)), before);
    dp2.remove("g").await.unwrap();
    assert!(!t.has_ingress_qdisc(UPLINK) && !t.has_ingress_qdisc(BGP_PORT));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn preexisting_ingress_qdisc_and_foreign_filter_survive() {
    let Some((t, dp)) = setup("preexisting_ingress_qdisc_and_foreign_filter_survive") else {
        return;
    };
    t.tc(&["qdisc", "add", "dev", UPLINK, "ingress"]);
    t.tc(&[
        "filter",
        "add",
        "dev",
        UPLINK,
        "ingress",
        "prio",
        "100",
        "protocol",
        "ip",
        "u32",
        "match",
        "ip",
        "dst",
        "203.0.113.9/32",
        "flowid",
        "1:1",
    ]);
    let foreign = filter_lines(&t.ingress_filters(UPLINK));
    assert!(!foreign.is_empty());

    dp.install("port", &flows_for(&[PEER4, PEER6]))
        .await
        .unwrap();
    assert!(tcp_reaches(
        &t.peer.path(),
        None,
        &t.bgpd.path(),
        sa(LOCAL4, PORT_179),
        None
    ));
    dp.remove("port").await.unwrap();

    assert!(
        t.has_ingress_qdisc(UPLINK),
        "pre-existing qdisc was deleted"
    );
    assert_eq!(
        filter_lines(&t.ingress_filters(UPLINK)),
        foreign,
        "foreign filters changed"
    );
    // The qdisc we created on the bgpd port is gone again.
    assert!(!t.has_ingress_qdisc(BGP_PORT));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn missing_port_is_a_typed_error_and_changes_nothing() {
    let Some((t, dp)) = setup("missing_port_is_a_typed_error_and_changes_nothing") else {
        return;
    };
    let flows = bgp_flows(UPLINK, "nosuchdev", &[ip(LOCAL4)], &[ip(PEER4)]);
    let err = dp.install("x", &flows).await.unwrap_err();
    assert!(
        matches!(err, datapath::DatapathError::NoSuchPort { ref name } if name == "nosuchdev"),
        "{err}"
    );
    assert!(!t.has_ingress_qdisc(UPLINK));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn drop_action_drops_or_is_reported_unsupported() {
    let Some((t, dp)) = setup("drop_action_drops_or_is_reported_unsupported") else {
        return;
    };
    let mut flows = flows_for(&[PEER4]);
    // Drop UDP to port 179 from the peer (a class the BGP set does not redirect). It comes last,
    // so on a kernel without act_gact the redirect flows before it are installed first and must
    // be rolled back.
    let drop = datapath::Flow::new(UPLINK, datapath::Action::Drop)
        .ethertype(datapath::EtherType::Ipv4)
        .ip_proto(datapath::IPPROTO_UDP)
        .src(datapath::host_prefix(ip(PEER4)))
        .dst_port(PORT_179);
    flows.push(drop);

    // Does this kernel have act_gact? Ask tc itself on a scratch qdisc of the bgpd namespace.
    t.bgpd
        .exec_ok(&["tc", "qdisc", "add", "dev", "eth0", "ingress"])
        .unwrap();
    let gact = t
        .bgpd
        .exec(&[
            "tc", "filter", "add", "dev", "eth0", "ingress", "protocol", "ip", "u32", "match",
            "u32", "0", "0", "action", "drop",
        ])
        .unwrap()
        .status
        .success();

    match dp.install("drops", &flows).await {
        Ok(_) => {
            assert!(gact, "drop installed although tc cannot add a gact action");
            assert!(!udp_reaches(
                &t.peer.path(),
                ip(PEER4),
                &t.bgpd.path(),
                sa(LOCAL4, PORT_179)
            ));
            let stats = dp.counters("drops").await.unwrap();
            let dropped = stats
                .iter()
                .find(|s| s.flow.action == datapath::Action::Drop)
                .unwrap();
            assert!(dropped.packets > 0, "{dropped:?}");
            assert!(peer_reaches(&t, PEER4, LOCAL4, PORT_179));
            dp.remove("drops").await.unwrap();
        }
        Err(datapath::DatapathError::Unsupported { port, .. }) => {
            assert!(
                !gact,
                "drop reported unsupported although tc can add a gact action"
            );
            assert_eq!(port, UPLINK);
            // The failed install leaves nothing of its own on the link that failed.
            assert!(
                !t.has_ingress_qdisc(UPLINK),
                "{}",
                t.ingress_filters(UPLINK)
            );
            dp.remove("drops").await.unwrap();
        }
        Err(e) => panic!("unexpected error: {e}"),
    }
    assert_links_clean(&t);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_writers_claim_distinct_priorities() {
    let Some((t, dp1)) = setup("concurrent_writers_claim_distinct_priorities") else {
        return;
    };
    let dp2 = TcDatapath::new(Some(t.host.name())).unwrap();
    let g = bgp_flows(UPLINK, BGP_PORT, &[ip(LOCAL4)], &[ip(PEER4)]);
    let h = bgp_flows(UPLINK, BGP_PORT, &[ip(LOCAL4)], &[ip(STRANGER4)]);
    // Both handles scan the same free priorities and race for them.
    let (rg, rh) = tokio::join!(dp1.install("g", &g), dp2.install("h", &h));
    assert_eq!(rg.unwrap().added, 10);
    assert_eq!(rh.unwrap().added, 10);
    assert_eq!(dp1.install("g", &g).await.unwrap().unchanged, 10);
    assert_eq!(dp2.install("h", &h).await.unwrap().unchanged, 10);

    // Removing one group leaves the other's filters intact and working.
    dp1.remove("g").await.unwrap();
    assert_eq!(dp2.install("h", &h).await.unwrap(), changes(0, 0, 10));
    assert!(peer_reaches(&t, STRANGER4, LOCAL4, PORT_179));
    assert!(!peer_reaches(&t, PEER4, LOCAL4, PORT_179));
    dp2.remove("h").await.unwrap();
    assert_links_clean(&t);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn half_installed_transport_flow_is_repaired() {
    let Some((t, dp)) = setup("half_installed_transport_flow_is_repaired") else {
        return;
    };
    let flows = flows_for(&[PEER4]);
    dp.install("g", &flows).await.unwrap();

    // Simulate a crash between adding an IPv4 transport flow's action node and its link: delete
    // every linking node on the uplink with tc.
    let shown = t.ingress_filters(UPLINK);
    let links: Vec<(String, String)> = shown
        .lines()
        .filter(|l| l.contains(" link "))
        .map(|l| {
            let w: Vec<&str> = l.split_whitespace().collect();
            let after = |k: &str| w[w.iter().position(|x| *x == k).unwrap() + 1].to_string();
            (after("pref"), after("fh"))
        })
        .collect();
    assert_eq!(links.len(), 4, "{shown}");
    for (pref, fh) in &links {
        t.tc(&[
            "filter", "del", "dev", UPLINK, "ingress", "protocol", "ip", "pref", pref, "handle",
            fh, "u32",
        ]);
    }
    assert!(!peer_reaches(&t, PEER4, LOCAL4, PORT_179));

    // The next install notices the broken flows and replaces exactly those.
    let r = dp.install("g", &flows).await.unwrap();
    assert_eq!(r, changes(4, 4, flows.len() - 4));
    assert!(peer_reaches(&t, PEER4, LOCAL4, PORT_179));
    dp.remove("g").await.unwrap();
    assert_eq!(t.ingress_filters(UPLINK).trim(), "");
    assert!(!t.has_ingress_qdisc(UPLINK));
}
