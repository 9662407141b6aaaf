//! The FIB writer against the real kernel, in namespaces made by the test (root only; under
//! CI a missing privilege fails instead of skipping). Only documentation addresses are used.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab;

use std::net::IpAddr;
use std::process::Command;

use fib::{Fib, FibConfig, NextHop, OpKind, TableSpec};
use ipnetwork::IpNetwork;
use lab::{a, gateways, ip, objects, p, Lab};
use serde_json::Value;

#[test]
fn routes_are_created_replaced_and_deleted_with_multipath_and_onlink() {
    let Some(()) = testkit::require_root("routes_are_created_replaced_and_deleted") else {
        return;
    };
    let lab = Lab::new();
    let mut fib = lab.fib(100);
    let up0 = fib.ifindex("up0").unwrap().unwrap();
    let up1 = fib.ifindex("up1").unwrap().unwrap();
    assert_eq!(fib.ifindex("nosuchdev").unwrap(), None);
    // up1 has no address: the gateway is reachable only because it is `onlink`.
    fib.replace(
        p("203.0.113.0/24"),
        vec![NextHop::onlink(a("198.51.100.1"), up1)],
    );
    fib.replace(
        p("198.18.0.0/24"),
        vec![
            NextHop::onlink(a("192.0.2.1"), up0),
            NextHop::onlink(a("192.0.2.2"), up0),
        ],
    );
    fib.replace(
        p("2001:db8:100::/48"),
        vec![NextHop::onlink(a("2001:db8::1"), up0)],
    );
    fib.replace(
        p("2001:db8:200::/48"),
        vec![
            NextHop::onlink(a("2001:db8::1"), up0),
            NextHop::onlink(a("2001:db8::2"), up0),
        ],
    );
    let r = fib.flush().unwrap();
    assert_eq!((r.created, r.failures.len()), (4, 0), "{r:?}");

    let single = lab.route("100", "203.0.113.0/24").unwrap();
    assert_eq!(single["gateway"], "198.51.100.1");
    assert_eq!(single["dev"], "up1");
    assert_eq!(single["metric"], 20);
    assert!(single["flags"].to_string().contains("onlink"), "{single}");
    let multi = lab.route("100", "198.18.0.0/24").unwrap();
    assert_eq!(gateways(&multi), ["192.0.2.1", "192.0.2.2"]);
    let multi6 = lab.route("100", "2001:db8:200::/48").unwrap();
    assert_eq!(gateways(&multi6), ["2001:db8::1", "2001:db8::2"]);
    assert!(lab.route("100", "2001:db8:100::/48").is_some());
    // Nothing went to the main table.
    assert!(lab.routes("main", Some("bgp")).is_empty());

    // Path change: replaced in place (one route, new set); withdraw: gone.
    fib.replace(
        p("198.18.0.0/24"),
        vec![NextHop::onlink(a("192.0.2.3"), up0)],
    );
    fib.replace(
        p("2001:db8:100::/48"),
        vec![
            NextHop::onlink(a("2001:db8::3"), up0),
            NextHop::onlink(a("2001:db8::4"), up0),
        ],
    );
    fib.withdraw(p("203.0.113.0/24"));
    let r = fib.flush().unwrap();
    assert_eq!(
        (r.replaced, r.deleted, r.failures.len()),
        (2, 1, 0),
        "{r:?}"
    );
    assert_eq!(
        gateways(&lab.route("100", "198.18.0.0/24").unwrap()),
        ["192.0.2.3"]
    );
    assert_eq!(
        gateways(&lab.route("100", "2001:db8:100::/48").unwrap()),
        ["2001:db8::3", "2001:db8::4"]
    );
    assert!(lab.route("100", "203.0.113.0/24").is_none());
    assert_eq!(lab.routes("100", Some("bgp")).len(), 3);
    assert_eq!(fib.dump().unwrap().len(), 3);
}

#[test]
fn routes_we_did_not_install_are_never_touched() {
    let Some(()) = testkit::require_root("routes_we_did_not_install_are_never_touched") else {
        return;
    };
    let lab = Lab::new();
    // Same prefix and metric in our table from another protocol; a bgp route in another table;
    // and a static route that our withdraw must not delete.
    ip(
        &lab.name,
        "route add 203.0.113.0/24 via 192.0.2.99 dev up0 table 100 proto static metric 20",
    );
    ip(
        &lab.name,
        "route add 198.18.5.0/24 via 192.0.2.98 dev up0 table 200 proto bgp metric 20",
    );
    ip(
        &lab.name,
        "route add 198.18.6.0/24 via 192.0.2.97 dev up0 table 100 proto static metric 20",
    );
    let mut fib = lab.fib(100);
    let up0 = fib.ifindex("up0").unwrap().unwrap();
    assert_eq!(
        fib.begin_reconcile().unwrap(),
        0,
        "foreign routes are not ours"
    );
    fib.replace(
        p("203.0.113.0/24"),
        vec![NextHop::onlink(a("192.0.2.1"), up0)],
    );
    fib.replace(
        p("198.18.7.0/24"),
        vec![NextHop::onlink(a("192.0.2.1"), up0)],
    );
    let r = fib.flush().unwrap();
    assert_eq!(r.created, 1);
    assert_eq!(r.failures.len(), 1, "{r:?}");
    assert_eq!(r.failures[0].prefix, p("203.0.113.0/24"));
    assert_eq!(r.failures[0].kind, OpKind::Create);
    assert_eq!(r.failures[0].errno, libc::EEXIST);
    // Withdrawing prefixes held by others deletes nothing.
    fib.withdraw(p("198.18.6.0/24"));
    fib.withdraw(p("203.0.113.0/24"));
    fib.withdraw(p("198.18.5.0/24"));
    fib.flush().unwrap();
    fib.withdraw_all();
    let r = fib.end_reconcile().unwrap();
    assert_eq!(r.deleted, 1);
    let statics = lab.routes("100", Some("static"));
    assert_eq!(statics.len(), 2, "{statics:?}");
    assert_eq!(
        lab.routes("100", None)
            .iter()
            .find(|r| r["dst"] == "203.0.113.0/24")
            .map(|r| r["gateway"].clone()),
        Some(Value::from("192.0.2.99"))
    );
    assert_eq!(lab.routes("200", Some("bgp")).len(), 1);
}

#[test]
fn a_delete_removes_only_our_route_of_a_prefix_others_share() {
    let Some(()) = testkit::require_root("a_delete_removes_only_our_route") else {
        return;
    };
    let lab = Lab::new();
    let mut fib = lab.fib(100);
    let up0 = fib.ifindex("up0").unwrap().unwrap();
    fib.begin_reconcile().unwrap();
    fib.end_reconcile().unwrap();
    let ours = [p("203.0.113.0/24"), p("2001:db8:77::/48")];
    fib.replace(ours[0], vec![NextHop::onlink(a("192.0.2.1"), up0)]);
    fib.replace(ours[1], vec![NextHop::onlink(a("2001:db8::1"), up0)]);
    assert_eq!(fib.flush().unwrap().created, 2);
    // The same prefixes in the same table from others: another protocol with our metric
    // (appended next to ours), and a route of another metric (our protocol's number too, e.g.
    // another daemon's).
    for (fam, dst, gw) in [
        ("-4", "203.0.113.0/24", "192.0.2.99"),
        ("-6", "2001:db8:77::/48", "2001:db8::99"),
    ] {
        ip(
            &lab.name,
            &format!("{fam} route append {dst} via {gw} dev up0 table 100 proto static metric 20"),
        );
        ip(
            &lab.name,
            &format!("{fam} route add {dst} via {gw} dev up0 table 100 proto bgp metric 30"),
        );
    }
    for prefix in ours {
        fib.withdraw(prefix);
    }
    let r = fib.flush().unwrap();
    assert_eq!((r.deleted, r.failures.len()), (2, 0), "{r:?}");
    let left: Vec<(String, String, String, u64)> = lab
        .routes("100", None)
        .iter()
        .map(|r| {
            (
                r["dst"].as_str().unwrap_or("").to_string(),
                r["gateway"].as_str().unwrap_or("").to_string(),
                r["protocol"].as_str().unwrap_or("").to_string(),
                r["metric"].as_u64().unwrap_or(0),
            )
        })
        .filter(|(dst, ..)| ours.iter().any(|o| o.to_string() == *dst))
        .collect();
    let mut left = left;
    left.sort();
    let want = |dst: &str, gw: &str, proto: &str, metric| {
        (dst.to_string(), gw.to_string(), proto.to_string(), metric)
    };
    assert_eq!(
        left,
        vec![
            want("2001:db8:77::/48", "2001:db8::99", "bgp", 30),
            want("2001:db8:77::/48", "2001:db8::99", "static", 20),
            want("203.0.113.0/24", "192.0.2.99", "bgp", 30),
            want("203.0.113.0/24", "192.0.2.99", "static", 20),
        ]
    );
}

#[test]
fn routes_survive_a_restart_until_reconciled() {
    let Some(()) = testkit::require_root("routes_survive_a_restart_until_reconciled") else {
        return;
    };
    let lab = Lab::new();
    {
        let mut fib = lab.fib(300);
        let up0 = fib.ifindex("up0").unwrap().unwrap();
        for i in 0..3 {
            fib.replace(
                p(&format!("198.18.{i}.0/24")),
                vec![
                    NextHop::onlink(a("192.0.2.1"), up0),
                    NextHop::onlink(a("192.0.2.2"), up0),
                ],
            );
        }
        fib.replace(
            p("2001:db8:9::/48"),
            vec![NextHop::onlink(a("2001:db8::1"), up0)],
        );
        assert_eq!(fib.flush().unwrap().created, 4);
        // The writer goes away without cleaning up, as in a crash.
    }
    assert_eq!(lab.routes("300", Some("bgp")).len(), 4);
    let mut fib = lab.fib(300);
    let up0 = fib.ifindex("up0").unwrap().unwrap();
    assert_eq!(fib.begin_reconcile().unwrap(), 4);
    assert_eq!(fib.stale(), 4);
    // Nothing re-learned yet: everything stays.
    fib.flush().unwrap();
    assert_eq!(lab.routes("300", Some("bgp")).len(), 4);
    // Re-learned: one unchanged, one changed; the rest never comes back.
    fib.replace(
        p("198.18.0.0/24"),
        vec![
            NextHop::onlink(a("192.0.2.2"), up0),
            NextHop::onlink(a("192.0.2.1"), up0),
        ],
    );
    fib.replace(
        p("198.18.1.0/24"),
        vec![NextHop::onlink(a("192.0.2.3"), up0)],
    );
    let r = fib.flush().unwrap();
    assert_eq!((r.kept, r.replaced, r.created), (1, 1, 0), "{r:?}");
    let r = fib.end_reconcile().unwrap();
    assert_eq!(r.deleted, 2);
    let left: Vec<String> = lab
        .routes("300", Some("bgp"))
        .iter()
        .map(|r| r["dst"].as_str().unwrap_or("").to_string())
        .collect();
    assert_eq!(left, ["198.18.0.0/24", "198.18.1.0/24"]);
}

#[test]
fn a_refused_route_is_mapped_to_its_prefix_and_the_batch_goes_on() {
    let Some(()) = testkit::require_root("a_refused_route_is_mapped_to_its_prefix") else {
        return;
    };
    let lab = Lab::new();
    let mut fib = lab.fib(400);
    let up0 = fib.ifindex("up0").unwrap().unwrap();
    for i in 0..200u32 {
        let prefix = p(&format!("198.18.{}.{}/30", i / 64, (i % 64) * 4));
        if i == 77 {
            // Not on-link and no route to it: the kernel refuses this one.
            fib.replace(
                prefix,
                vec![NextHop {
                    gateway: Some(a("198.51.100.1")),
                    ifindex: Some(up0),
                    onlink: false,
                }],
            );
        } else {
            fib.replace(prefix, vec![NextHop::onlink(a("192.0.2.1"), up0)]);
        }
    }
    let r = fib.flush().unwrap();
    assert_eq!(r.created, 199);
    assert_eq!(r.failures.len(), 1);
    assert_eq!(r.failures[0].prefix, p("198.18.1.52/30"));
    assert_eq!(fib.len(), 199);
    assert_eq!(lab.routes("400", Some("bgp")).len(), 199);
}

#[test]
fn many_routes_go_in_batches() {
    let Some(()) = testkit::require_root("many_routes_go_in_batches") else {
        return;
    };
    let lab = Lab::new();
    let mut fib = lab.fib(500);
    let up0 = fib.ifindex("up0").unwrap().unwrap();
    let n = 20_000u32;
    for i in 0..n {
        let prefix = IpNetwork::new(
            IpAddr::from([198, 18 + (i >> 16) as u8, (i >> 8) as u8, i as u8]),
            32,
        )
        .unwrap();
        fib.replace(
            prefix,
            vec![
                NextHop::onlink(a("192.0.2.1"), up0),
                NextHop::onlink(a("192.0.2.2"), up0),
            ],
        );
    }
    let r = fib.flush().unwrap();
    assert_eq!((r.created as u32, r.failures.len()), (n, 0));
    assert_eq!(fib.dump().unwrap().len() as u32, n);
    fib.withdraw_all();
    assert_eq!(fib.flush().unwrap().deleted as u32, n);
    assert!(fib.dump().unwrap().is_empty());
}

#[test]
#[ignore = "needs the kernel's vrf module, which the CI machine's kernel does not have (`ip link add … type vrf` fails); run with --ignored where it exists"]
fn vrf_devices_give_their_table() {
    let Some(()) = testkit::require_root("vrf_devices_give_their_table") else {
        return;
    };
    let lab = Lab::new();
    let made = Command::new("ip")
        .args([
            "-n", &lab.name, "link", "add", "vrfx", "type", "vrf", "table", "777",
        ])
        .output()
        .unwrap();
    if !made.status.success() {
        let why = format!(
            "the kernel cannot make VRF devices: {}",
            String::from_utf8_lossy(&made.stderr)
        );
        assert!(!testkit::in_ci(), "vrf_devices_give_their_table: {why}");
        eprintln!("SKIPPED vrf_devices_give_their_table: {why}");
        return;
    }
    let mut fib = Fib::open(&FibConfig {
        table: TableSpec::Vrf("vrfx".into()),
        namespace: Some(lab.name.clone()),
        ..FibConfig::default()
    })
    .unwrap();
    assert_eq!(fib.table(), 777);
    let up0 = fib.ifindex("up0").unwrap().unwrap();
    fib.replace(
        p("203.0.113.0/24"),
        vec![NextHop::onlink(a("192.0.2.1"), up0)],
    );
    assert_eq!(fib.flush().unwrap().created, 1);
    assert!(lab.route("777", "203.0.113.0/24").is_some());
}

#[test]
fn bad_tables_and_namespaces_are_refused() {
    let Some(()) = testkit::require_root("bad_tables_and_namespaces_are_refused") else {
        return;
    };
    let lab = Lab::new();
    let err = Fib::open(&FibConfig {
        table: TableSpec::Vrf("up0".into()),
        namespace: Some(lab.name.clone()),
        ..FibConfig::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("not a VRF"), "{err}");
    let err = Fib::open(&FibConfig {
        namespace: Some("mnb-no-such-ns".into()),
        ..FibConfig::default()
    })
    .unwrap_err();
    assert!(err.to_string().contains("mnb-no-such-ns"), "{err}");
    let err = Fib::open(&FibConfig {
        table: TableSpec::Id(0),
        namespace: Some(lab.name.clone()),
        ..FibConfig::default()
    })
    .unwrap_err();
    assert!(matches!(err, fib::FibError::BadTable), "{err}");
}

#[test]
fn single_hop_routes_share_a_nexthop_object_deleted_with_its_last_route() {
    let Some(()) = testkit::require_root("single_hop_routes_share_a_nexthop_object") else {
        return;
    };
    let lab = Lab::new();
    let mut fib = lab.fib(500);
    assert!(fib.uses_nexthop_objects());
    let up0 = fib.ifindex("up0").unwrap().unwrap();
    for i in 0..3 {
        fib.replace(
            p(&format!("198.18.{i}.0/24")),
            vec![NextHop::onlink(a("192.0.2.1"), up0)],
        );
    }
    fib.replace(
        p("2001:db8:5::/48"),
        vec![NextHop::onlink(a("2001:db8::1"), up0)],
    );
    // Multipath sets are written inline.
    fib.replace(
        p("198.18.9.0/24"),
        vec![
            NextHop::onlink(a("192.0.2.1"), up0),
            NextHop::onlink(a("192.0.2.2"), up0),
        ],
    );
    assert_eq!(fib.flush().unwrap().created, 5);
    let nhid = |dst: &str| lab.route("500", dst).unwrap()["nhid"].as_u64();
    let shared = nhid("198.18.0.0/24").expect("a single-hop route points at an object");
    assert_eq!(nhid("198.18.1.0/24"), Some(shared));
    assert_eq!(nhid("198.18.2.0/24"), Some(shared));
    assert!(nhid("2001:db8:5::/48").is_some_and(|id| id != shared));
    assert_eq!(nhid("198.18.9.0/24"), None);
    // The kernel shows the gateways either way.
    let r = lab.route("500", "198.18.1.0/24").unwrap();
    assert_eq!(gateways(&r), ["192.0.2.1"]);
    assert_eq!(r["flags"], serde_json::json!(["onlink"]));
    assert_eq!(
        gateways(&lab.route("500", "198.18.9.0/24").unwrap()),
        ["192.0.2.1", "192.0.2.2"]
    );
    assert_eq!(objects(&lab).len(), 2);
    assert_eq!(fib.nexthop_objects(), 2);

    // One route moves to another gateway: a second IPv4 object.
    fib.replace(
        p("198.18.0.0/24"),
        vec![NextHop::onlink(a("192.0.2.2"), up0)],
    );
    assert_eq!(fib.flush().unwrap().replaced, 1);
    assert_eq!(
        gateways(&lab.route("500", "198.18.0.0/24").unwrap()),
        ["192.0.2.2"]
    );
    assert_eq!(objects(&lab).len(), 3);
    // The last routes through 192.0.2.1 go: so does its object (not the other ones).
    fib.withdraw(p("198.18.1.0/24"));
    fib.withdraw(p("198.18.2.0/24"));
    assert_eq!(fib.flush().unwrap().deleted, 2);
    let left: Vec<u64> = objects(&lab)
        .iter()
        .filter_map(|o| o["id"].as_u64())
        .collect();
    assert_eq!(left.len(), 2);
    assert!(!left.contains(&shared));
    // The multipath route through 192.0.2.1 is untouched.
    assert!(lab.route("500", "198.18.9.0/24").is_some());
    fib.withdraw_all();
    fib.flush().unwrap();
    assert!(lab.routes("500", Some("bgp")).is_empty());
    assert!(objects(&lab).is_empty());
    assert_eq!(fib.nexthop_objects(), 0);
}

#[test]
fn a_restarted_writer_adopts_the_objects_of_its_routes() {
    let Some(()) = testkit::require_root("a_restarted_writer_adopts_the_objects") else {
        return;
    };
    let lab = Lab::new();
    {
        let mut fib = lab.fib(510);
        let up0 = fib.ifindex("up0").unwrap().unwrap();
        for i in 0..4 {
            fib.replace(
                p(&format!("198.18.{i}.0/24")),
                vec![NextHop::onlink(a("192.0.2.1"), up0)],
            );
        }
        assert_eq!(fib.flush().unwrap().created, 4);
        // Gone without cleaning up, as in a crash.
    }
    let before = objects(&lab);
    assert_eq!(before.len(), 1);
    let mut fib = lab.fib(510);
    let up0 = fib.ifindex("up0").unwrap().unwrap();
    assert_eq!(fib.begin_reconcile().unwrap(), 4);
    assert_eq!(fib.nexthop_objects(), 1);
    for i in 0..3 {
        fib.replace(
            p(&format!("198.18.{i}.0/24")),
            vec![NextHop::onlink(a("192.0.2.1"), up0)],
        );
    }
    fib.replace(
        p("198.18.7.0/24"),
        vec![NextHop::onlink(a("192.0.2.1"), up0)],
    );
    let r = fib.flush().unwrap();
    // Re-learned unchanged: kept, still on the adopted object, which the new route shares.
    assert_eq!((r.kept, r.created, r.replaced), (3, 1, 0), "{r:?}");
    assert_eq!(objects(&lab), before);
    let id = before[0]["id"].as_u64();
    assert_eq!(
        lab.route("510", "198.18.7.0/24").unwrap()["nhid"].as_u64(),
        id
    );
    assert_eq!(fib.end_reconcile().unwrap().deleted, 1);
    assert_eq!(lab.routes("510", Some("bgp")).len(), 4);
    fib.withdraw_all();
    fib.flush().unwrap();
    assert!(objects(&lab).is_empty());
}

#[test]
fn objects_of_others_are_never_touched_and_can_be_turned_off() {
    let Some(()) = testkit::require_root("objects_of_others_are_never_touched") else {
        return;
    };
    let lab = Lab::new();
    // Someone else holds the id our writer would take first, with a route of theirs on it.
    let taken = fib::objects::Objects::new(520, fib::DEFAULT_METRIC).peek_next();
    ip(
        &lab.name,
        &format!("nexthop add id {taken} via 192.0.2.1 dev up0 onlink proto static"),
    );
    ip(
        &lab.name,
        &format!("route add 203.0.113.0/24 nhid {taken} proto static table 520"),
    );
    let mut fib = lab.fib(520);
    let up0 = fib.ifindex("up0").unwrap().unwrap();
    fib.replace(
        p("198.18.0.0/24"),
        vec![NextHop::onlink(a("192.0.2.1"), up0)],
    );
    assert_eq!(fib.flush().unwrap().created, 1);
    let ours = lab.route("520", "198.18.0.0/24").unwrap()["nhid"].as_u64();
    assert!(ours.is_some_and(|id| id != u64::from(taken)));
    fib.withdraw_all();
    fib.flush().unwrap();
    let theirs = ip(&lab.name, &format!("nexthop show id {taken}"));
    assert!(String::from_utf8_lossy(&theirs.stdout).contains("proto static"));
    assert_eq!(lab.routes("520", Some("static")).len(), 1);

    // Turned off: every route carries its own next hops.
    let mut fib = Fib::open(&FibConfig {
        table: TableSpec::Id(521),
        namespace: Some(lab.name.clone()),
        nexthop_objects: false,
        ..FibConfig::default()
    })
    .unwrap();
    assert!(!fib.uses_nexthop_objects());
    fib.replace(
        p("198.18.1.0/24"),
        vec![NextHop::onlink(a("192.0.2.1"), up0)],
    );
    fib.flush().unwrap();
    let r = lab.route("521", "198.18.1.0/24").unwrap();
    assert!(r.get("nhid").is_none());
    assert_eq!(gateways(&r), ["192.0.2.1"]);
    assert!(objects(&lab).is_empty());
}

#[test]
fn a_route_moves_between_an_object_and_a_multipath_set_in_place() {
    let Some(()) = testkit::require_root("a_route_moves_between_an_object_and_multipath") else {
        return;
    };
    let lab = Lab::new();
    let mut fib = lab.fib(530);
    let up0 = fib.ifindex("up0").unwrap().unwrap();
    let sets = |v6: bool| {
        let (g1, g2) = if v6 {
            ("2001:db8::1", "2001:db8::2")
        } else {
            ("192.0.2.1", "192.0.2.2")
        };
        (
            vec![NextHop::onlink(a(g1), up0)],
            vec![NextHop::onlink(a(g1), up0), NextHop::onlink(a(g2), up0)],
        )
    };
    for (dst, v6) in [("198.18.0.0/24", false), ("2001:db8:6::/48", true)] {
        let (one, two) = sets(v6);
        fib.replace(p(dst), one.clone());
        assert_eq!(fib.flush().unwrap().created, 1, "{dst}");
        assert!(
            lab.route("530", dst).unwrap().get("nhid").is_some(),
            "{dst}"
        );
        // To multipath (inline) and back to the object, each time replaced in place.
        fib.replace(p(dst), two);
        let r = fib.flush().unwrap();
        assert_eq!((r.replaced, r.failures.len()), (1, 0), "{dst}: {r:?}");
        let route = lab.route("530", dst).unwrap();
        assert_eq!(gateways(&route).len(), 2, "{dst}: {route}");
        fib.replace(p(dst), one);
        let r = fib.flush().unwrap();
        assert_eq!((r.replaced, r.failures.len()), (1, 0), "{dst}: {r:?}");
        let route = lab.route("530", dst).unwrap();
        assert!(route.get("nhid").is_some(), "{dst}: {route}");
        assert_eq!(gateways(&route).len(), 1, "{dst}: {route}");
    }
    assert_eq!(lab.routes("530", Some("bgp")).len(), 2);
    assert_eq!(objects(&lab).len(), 2);
    fib.withdraw_all();
    fib.flush().unwrap();
    assert!(lab.routes("530", Some("bgp")).is_empty());
    assert!(objects(&lab).is_empty());
}

#[test]
fn an_object_the_kernel_dropped_with_its_device_is_made_again() {
    let Some(()) = testkit::require_root("an_object_the_kernel_dropped_is_made_again") else {
        return;
    };
    let lab = Lab::new();
    let mut fib = lab.fib(540);
    let up0 = fib.ifindex("up0").unwrap().unwrap();
    let hop = || vec![NextHop::onlink(a("192.0.2.1"), up0)];
    fib.replace(p("198.18.0.0/24"), hop());
    assert_eq!(fib.flush().unwrap().created, 1);
    // The uplink goes down: the kernel removes the object and the route using it.
    ip(&lab.name, "link set up0 down");
    ip(&lab.name, "link set up0 up");
    assert!(objects(&lab).is_empty());
    assert!(lab.routes("540", Some("bgp")).is_empty());
    // A new route through the same next hop: refused once (the object is gone)…
    fib.replace(p("198.18.1.0/24"), hop());
    let r = fib.flush().unwrap();
    assert_eq!((r.created, r.failures.len()), (0, 1), "{r:?}");
    // …then made with a new object when the failed routes are retried.
    assert_eq!(fib.retry_failed(), 1);
    let r = fib.flush().unwrap();
    assert_eq!((r.created, r.failures.len()), (1, 0), "{r:?}");
    assert!(lab.route("540", "198.18.1.0/24").unwrap()["nhid"]
        .as_u64()
        .is_some());
    assert_eq!(objects(&lab).len(), 1);
    // The route the kernel removed is withdrawn without an error.
    fib.withdraw(p("198.18.0.0/24"));
    let r = fib.flush().unwrap();
    assert!(r.failures.is_empty(), "{r:?}");
    fib.withdraw_all();
    fib.flush().unwrap();
    assert!(objects(&lab).is_empty());
}

#[test]
fn objects_an_earlier_run_left_without_routes_are_swept_at_start() {
    let Some(()) = testkit::require_root("objects_an_earlier_run_left_without_routes") else {
        return;
    };
    let lab = Lab::new();
    let first = fib::objects::Objects::new(550, fib::DEFAULT_METRIC).peek_next();
    // Left by an earlier run of this writer: one object without a route, one a route of
    // another table still uses (kept: deleting it would delete that route), and one of another
    // protocol in the same range (not ours).
    let add = |id: u32, proto: &str| {
        ip(
            &lab.name,
            &format!("nexthop add id {id} via 192.0.2.1 dev up0 onlink proto {proto}"),
        );
    };
    add(first, "186");
    add(first + 1, "186");
    add(first + 2, "static");
    ip(
        &lab.name,
        &format!(
            "route add 203.0.113.0/24 nhid {} proto static table 551",
            first + 1
        ),
    );
    let mut fib = lab.fib(550);
    assert_eq!(fib.begin_reconcile().unwrap(), 0);
    let left: Vec<u64> = {
        let out = ip(&lab.name, "-j nexthop show");
        let v: Value = serde_json::from_slice(&out.stdout).unwrap();
        v.as_array()
            .unwrap()
            .iter()
            .filter_map(|o| o["id"].as_u64())
            .collect()
    };
    assert_eq!(left, [u64::from(first + 1), u64::from(first + 2)]);
    assert_eq!(lab.routes("551", None).len(), 1);
}
