//! The kernel route sink against the real kernel, fed directly (no bgpd): ports attach to
//! tables, learned paths become onlink next hops on the uplink, ports sharing a table merge,
//! detaching a port withdraws its routes. Root only; documentation addresses in a namespace the
//! test makes.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::process::Command;
use std::time::Duration;

use ipnetwork::IpNetwork;
use routing::config::Config;
use routing::kernel::KernelSink;
use routing::{RouteChange, RoutePath, RouteSink};

fn ip(ns: &str, args: &str) -> String {
    let out = Command::new("ip")
        .arg("-n")
        .arg(ns)
        .args(args.split_whitespace())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "ip {args}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The test's namespace: uplinks `up1` and `up2` (veth pairs, up), removed on drop.
fn uplinks() -> testkit::lab::TestNs {
    testkit::lab::uplink_ns("ksink", &[("up1", None), ("up2", None)]).unwrap()
}

fn config(ns: &str, extra: &str) -> Config {
    Config::parse(&format!(
        r#"
[controller]
host_namespace = "{ns}"
[sink]
kind = "kernel"
table = 120
reconcile_secs = 1
[[port]]
name = "p1"
uplink = "up1"
address = "192.0.2.10/24"
address6 = "2001:db8::10/64"
local_as = 65001
[[port.peer]]
address = "192.0.2.1"
remote_as = 65002
[[port]]
name = "p2"
uplink = "up2"
address = "198.51.100.10/24"
local_as = 65001
[[port.peer]]
address = "198.51.100.1"
remote_as = 65003
{extra}
"#
    ))
    .unwrap()
}

fn path(gw: &str) -> RoutePath {
    RoutePath {
        gateway: Some(gw.parse().unwrap()),
        ifindex: Some(77),
        distance: 20,
        metric: 0,
        weight: 1,
    }
}

fn replace(prefix: &str, gw: &str) -> RouteChange {
    RouteChange::Replace {
        prefix: net(prefix),
        paths: vec![path(gw)],
    }
}

fn net(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

#[test]
fn learned_routes_reach_the_table_merge_and_leave() {
    let Some(()) = testkit::require_root("learned_routes_reach_the_table") else {
        return;
    };
    let ns = uplinks();
    let name = ns.name().to_string();
    let sink = KernelSink::new();
    assert!(sink.configure(&config(&name, "")).is_empty());
    // One batch per port, as the port actors hand them over.
    sink.apply(
        "p1",
        &[
            replace("203.0.113.0/24", "192.0.2.1"),
            replace("2001:db8:77::/48", "2001:db8::1"),
        ],
    );
    sink.apply("p2", &[replace("203.0.113.0/24", "198.51.100.1")]);
    sink.apply("nope", &[replace("198.18.0.0/24", "192.0.2.1")]);
    assert!(sink.sync(Duration::from_secs(10)));
    let shown = ip(&name, "route show table 120 proto bgp");
    assert!(shown.contains("203.0.113.0/24"), "{shown}");
    assert!(
        shown.contains("nexthop via 192.0.2.1 dev up1 weight 1 onlink"),
        "{shown}"
    );
    assert!(
        shown.contains("nexthop via 198.51.100.1 dev up2 weight 1 onlink"),
        "{shown}"
    );
    assert!(
        !shown.contains("198.18.0.0"),
        "unknown ports are ignored: {shown}"
    );
    let shown6 = ip(&name, "-6 route show table 120 proto bgp");
    // A single path: a route pointing at the writer's nexthop object for it.
    assert!(shown6.contains("2001:db8:77::/48 nhid "), "{shown6}");
    assert!(shown6.contains(" via 2001:db8::1 dev up1"), "{shown6}");
    let stats = sink.stats();
    assert_eq!(stats.len(), 1);
    assert_eq!(stats[0].installed, 2);

    // p2 moves to its own table: its path leaves table 120 and appears in 121.
    sink.configure(&config(&name, "[port.sink]\ntable = 121"));
    assert!(sink.sync(Duration::from_secs(10)));
    let shown = without_nhid(&ip(&name, "route show table 120 proto bgp"));
    assert!(
        shown.contains("203.0.113.0/24 via 192.0.2.1 dev up1"),
        "{shown}"
    );
    assert!(!shown.contains("198.51.100.1"), "{shown}");
    // (p2's routes come back in table 121 only once re-learned: the actor re-sends on rebuild.)
    sink.apply("p2", &[replace("203.0.113.0/24", "198.51.100.1")]);
    assert!(sink.sync(Duration::from_secs(10)));
    let shown = without_nhid(&ip(&name, "route show table 121 proto bgp"));
    assert!(
        shown.contains("203.0.113.0/24 via 198.51.100.1 dev up2"),
        "{shown}"
    );

    sink.apply(
        "p1",
        &[RouteChange::Withdraw {
            prefix: net("203.0.113.0/24"),
        }],
    );
    assert!(sink.sync(Duration::from_secs(10)));
    assert_eq!(ip(&name, "route show table 120 proto bgp"), "");
    assert!(ip(&name, "-6 route show table 120 proto bgp").contains("2001:db8:77::/48"));
    // Every route of the port at once (bgpd gone without graceful restart).
    sink.withdraw_all("p1");
    assert!(sink.sync(Duration::from_secs(10)));
    assert_eq!(ip(&name, "-6 route show table 120 proto bgp"), "");
    assert_eq!(sink.stats().iter().map(|s| s.installed).sum::<usize>(), 1);
}

#[test]
fn routes_left_by_a_crash_stay_until_the_grace_ends() {
    let Some(()) = testkit::require_root("routes_left_by_a_crash_stay") else {
        return;
    };
    let ns = uplinks();
    let name = ns.name().to_string();
    // What an earlier run left, plus a foreign route in the same table.
    ip(
        &name,
        "route add 203.0.113.0/24 via 192.0.2.1 dev up1 onlink table 120 proto bgp metric 20",
    );
    ip(
        &name,
        "route add 198.18.1.0/24 via 192.0.2.1 dev up1 onlink table 120 proto bgp metric 20",
    );
    ip(
        &name,
        "route add 198.18.2.0/24 via 192.0.2.1 dev up1 onlink table 120 proto static metric 20",
    );
    let sink = KernelSink::new();
    assert!(sink.configure(&config(&name, "")).is_empty());
    // Re-learned one of the two; the other stays until the 1 s grace ends.
    sink.apply("p1", &[replace("203.0.113.0/24", "192.0.2.1")]);
    assert!(sink.sync(Duration::from_secs(10)));
    let stats = sink.stats();
    assert!(stats[0].reconciling);
    assert_eq!(stats[0].stale, 1);
    assert!(ip(&name, "route show table 120 proto bgp").contains("198.18.1.0/24"));
    std::thread::sleep(Duration::from_millis(1500));
    assert!(sink.sync(Duration::from_secs(10)));
    let shown = ip(&name, "route show table 120");
    assert!(!shown.contains("198.18.1.0/24"), "{shown}");
    assert!(
        shown.contains("203.0.113.0/24 via 192.0.2.1 dev up1 proto bgp"),
        "{shown}"
    );
    assert!(
        shown.contains("198.18.2.0/24 via 192.0.2.1 dev up1 proto static"),
        "{shown}"
    );
    assert!(!sink.stats()[0].reconciling);
}

#[test]
fn a_missing_namespace_is_reported_and_nothing_is_attached() {
    let Some(()) = testkit::require_root("a_missing_namespace_is_reported") else {
        return;
    };
    let sink = KernelSink::new();
    let errors = sink.configure(&config("mnb-absent-ns", ""));
    assert_eq!(errors.len(), 1);
    assert!(
        errors[0].to_string().contains("mnb-absent-ns"),
        "{}",
        errors[0]
    );
    assert!(sink.stats().is_empty());
    sink.apply("p1", &[replace("203.0.113.0/24", "192.0.2.1")]);
    assert!(sink.sync(Duration::from_secs(1)));
}

/// Waits (up to 10 s) until `ip -n NS ARGS` shows `want` (or, `present` false, no longer does).
fn wait_shown(ns: &str, args: &str, want: &str, present: bool) -> String {
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    loop {
        let shown = ip(ns, args);
        if shown.contains(want) == present || std::time::Instant::now() > deadline {
            return shown;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn routes_the_kernel_drops_with_the_uplink_come_back_with_it() {
    let Some(()) = testkit::require_root("routes_the_kernel_drops_with_the_uplink") else {
        return;
    };
    let ns = uplinks();
    let name = ns.name().to_string();
    let sink = KernelSink::new();
    assert!(sink.configure(&config(&name, "")).is_empty());
    sink.apply(
        "p1",
        &[
            replace("203.0.113.0/24", "192.0.2.1"),
            replace("2001:db8:77::/48", "2001:db8::1"),
        ],
    );
    sink.apply("p2", &[replace("198.18.0.0/24", "198.51.100.1")]);
    assert!(sink.sync(Duration::from_secs(10)));
    let v4 = "route show table 120 proto bgp";
    let v6 = "-6 route show table 120 proto bgp";
    assert!(ip(&name, v4).contains("203.0.113.0/24 nhid"));
    // up1 loses its carrier: the kernel drops its nexthop objects and the routes on them; the
    // sink hears of it and writes them again (inline while the carrier is down).
    ip(&name, "link set up1p down");
    let shown = wait_shown(&name, v4, "203.0.113.0/24 via 192.0.2.1 dev up1", true);
    assert!(shown.contains("linkdown"), "{shown}");
    assert!(wait_shown(&name, v6, "2001:db8:77::/48", true).contains("2001:db8:77::/48"));
    ip(&name, "link set up1p up");
    // up1 set down: every route through it goes; they come back when it is up again, without
    // any route change from bgpd.
    ip(&name, "link set up1 down");
    let shown = wait_shown(&name, v4, "203.0.113.0/24", false);
    assert!(!shown.contains("203.0.113.0/24"), "{shown}");
    assert!(shown.contains("198.18.0.0/24"), "{shown}");
    ip(&name, "link set up1 up");
    let shown = wait_shown(&name, v4, "203.0.113.0/24 nhid", true);
    assert!(
        shown.contains("203.0.113.0/24 nhid") && shown.contains("via 192.0.2.1 dev up1"),
        "{shown}"
    );
    let shown6 = wait_shown(&name, v6, "2001:db8:77::/48", true);
    assert!(shown6.contains("via 2001:db8::1 dev up1"), "{shown6}");
    assert!(sink.sync(Duration::from_secs(10)));
    let stats = sink.stats();
    assert_eq!(stats[0].installed, 3);
    assert_eq!(stats[0].refused, 0);
    // Each link going down read the table (and reads it once more 2 s later, as the kernel
    // removes routes after announcing); the carrier loss restored p1's two routes on objects,
    // the set down its two again.
    assert!(stats[0].link_rereads >= 2, "{stats:?}");
    assert!(stats[0].restored >= 4, "{stats:?}");
}

/// `ip route` output without the `nhid N` of routes on nexthop objects.
fn without_nhid(shown: &str) -> String {
    let mut out = Vec::new();
    let mut words = shown.split(' ');
    while let Some(w) = words.next() {
        if w == "nhid" {
            words.next();
        } else {
            out.push(w);
        }
    }
    out.join(" ")
}
