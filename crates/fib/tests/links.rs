//! Routes the kernel drops with a link come back: the writer hears the link change, re-reads
//! its table and writes again what is missing, and sends what the kernel refused while the link
//! was down once it is up. Real kernel, in namespaces made by the test (root only; under CI a
//! missing privilege fails instead of skipping). Only documentation addresses are used.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod lab;

use std::time::{Duration, Instant};

use fib::watch::{LinkEvent, LinkWatch};
use fib::{Fib, FibConfig, LinkOutcome, NextHop, TableSpec};
use lab::{a, gateways, ip, objects, p, Lab};

const TABLE: u32 = 700;

fn open(lab: &Lab, objects: bool) -> Fib {
    Fib::open(&FibConfig {
        table: TableSpec::Id(TABLE),
        namespace: Some(lab.name.clone()),
        nexthop_objects: objects,
        ..FibConfig::default()
    })
    .unwrap()
}

/// Reads announcements until link `index` is announced `usable` (or gone, for `None`), then
/// hands everything read to the writer, and restores when it asks: the outcome and how many
/// routes the restore queued again.
fn settle(
    watch: &mut LinkWatch,
    fib: &mut Fib,
    index: u32,
    usable: Option<bool>,
) -> (LinkOutcome, Option<usize>) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut events = Vec::new();
    loop {
        assert!(
            Instant::now() < deadline,
            "no announcement of link {index} as {usable:?}: {events:?}"
        );
        events.extend(watch.read().unwrap());
        let seen = events.iter().any(|e| match (e, usable) {
            (
                LinkEvent::Changed {
                    index: i,
                    usable: u,
                },
                Some(want),
            ) => *i == index && *u == want,
            (LinkEvent::Gone { index: i }, None) => *i == index,
            _ => false,
        });
        if seen {
            let o = fib.link_events(&events);
            if o.restore_due {
                // The kernel announces a link change before removing the routes with it.
                std::thread::sleep(Duration::from_millis(300));
                return (o, Some(fib.restore().unwrap()));
            }
            return (o, None);
        }
    }
}

fn table(lab: &Lab) -> Vec<(String, Vec<String>, bool)> {
    let mut out: Vec<(String, Vec<String>, bool)> = lab
        .routes(&TABLE.to_string(), Some("bgp"))
        .iter()
        .map(|r| {
            (
                r["dst"].as_str().unwrap().to_string(),
                gateways(r),
                r.get("nhid").is_some(),
            )
        })
        .collect();
    out.sort();
    out
}

fn strings(v: &[&str]) -> Vec<String> {
    v.iter().map(|s| s.to_string()).collect()
}

fn carrier_and_admin_flaps_lose_no_route(use_objects: bool) {
    let lab = Lab::new();
    let mut fib = open(&lab, use_objects);
    let mut watch = fib.watch_links(Duration::from_millis(200)).unwrap();
    fib.begin_reconcile().unwrap();
    fib.end_reconcile().unwrap();
    let up0 = fib.ifindex("up0").unwrap().unwrap();
    let up1 = fib.ifindex("up1").unwrap().unwrap();
    fib.replace(
        p("203.0.113.0/24"),
        vec![NextHop::onlink(a("192.0.2.1"), up0)],
    );
    fib.replace(
        p("198.18.0.0/24"),
        vec![
            NextHop::onlink(a("192.0.2.1"), up0),
            NextHop::onlink(a("192.0.2.2"), up0),
        ],
    );
    fib.replace(
        p("2001:db8:7::/48"),
        vec![NextHop::onlink(a("2001:db8::1"), up0)],
    );
    // Through the other link: never dropped, never rewritten.
    fib.replace(
        p("198.51.100.0/24"),
        vec![NextHop::onlink(a("192.0.2.9"), up1)],
    );
    assert!(fib.flush().unwrap().failures.is_empty());
    let all = strings(&[
        "198.18.0.0/24",
        "198.51.100.0/24",
        "2001:db8:7::/48",
        "203.0.113.0/24",
    ]);
    let dsts = |t: &[(String, Vec<String>, bool)]| -> Vec<String> {
        t.iter().map(|r| r.0.clone()).collect()
    };
    let before = table(&lab);
    assert_eq!(dsts(&before), all);
    // Single paths on objects (when used), the multipath set inline.
    for (dst, _, object) in &before {
        assert_eq!(*object, use_objects && dst != "198.18.0.0/24", "{dst}");
    }
    assert_eq!(objects(&lab).len(), if use_objects { 3 } else { 0 });

    // up0 loses its carrier (its peer goes down): the kernel drops the objects through it and
    // every route on them; inline routes stay, `linkdown`.
    ip(&lab.name, "link set up0p down");
    let (_, requeued) = settle(&mut watch, &mut fib, up0, Some(false));
    assert_eq!(requeued, Some(if use_objects { 2 } else { 0 }));
    let r = fib.flush().unwrap();
    assert!(r.failures.is_empty(), "{:?}", r.failures);
    assert_eq!(dsts(&table(&lab)), all);
    assert_eq!(fib.len(), 4);

    // The carrier comes back: nothing was lost, nothing to write but the objects refused
    // meanwhile may be made again.
    ip(&lab.name, "link set up0p up");
    let (o, requeued) = settle(&mut watch, &mut fib, up0, Some(true));
    assert!(!o.restore_due);
    assert_eq!(requeued, None);
    fib.flush().unwrap();
    assert_eq!(dsts(&table(&lab)), all);

    // up0 set down: the kernel drops every route through it, inline or not. They are queued
    // again and refused while it is down (kept, to be retried).
    ip(&lab.name, "link set up0 down");
    let (_, requeued) = settle(&mut watch, &mut fib, up0, Some(false));
    assert_eq!(requeued, Some(3));
    let r = fib.flush().unwrap();
    assert_eq!(r.failures.len(), 3, "{:?}", r.failures);
    assert_eq!(dsts(&table(&lab)), strings(&["198.51.100.0/24"]));
    assert_eq!(fib.refused(), 3);
    assert_eq!(fib.len(), 1);

    // up0 up again: the refused routes are sent at once, single paths on objects again.
    ip(&lab.name, "link set up0 up");
    let (o, _) = settle(&mut watch, &mut fib, up0, Some(true));
    assert_eq!(o.retried, 3);
    let r = fib.flush().unwrap();
    assert!(r.failures.is_empty(), "{:?}", r.failures);
    let after = table(&lab);
    assert_eq!(after, before);
    assert_eq!(fib.len(), 4);
    assert_eq!(fib.refused(), 0);
    // No object left behind by the flaps.
    assert_eq!(objects(&lab).len(), if use_objects { 3 } else { 0 });
    // The untouched route through up1 kept its gateway throughout.
    assert!(after
        .iter()
        .any(|(d, g, _)| d == "198.51.100.0/24" && g == &strings(&["192.0.2.9"])));
}

#[test]
fn routes_on_objects_dropped_with_their_link_come_back() {
    let Some(()) = testkit::require_root("routes_on_objects_dropped_with_their_link_come_back")
    else {
        return;
    };
    carrier_and_admin_flaps_lose_no_route(true);
}

#[test]
fn inline_routes_dropped_with_their_link_come_back() {
    let Some(()) = testkit::require_root("inline_routes_dropped_with_their_link_come_back") else {
        return;
    };
    carrier_and_admin_flaps_lose_no_route(false);
}

#[test]
fn links_no_route_uses_cost_no_table_read() {
    let Some(()) = testkit::require_root("links_no_route_uses_cost_no_table_read") else {
        return;
    };
    let lab = Lab::new();
    let mut fib = open(&lab, true);
    let mut watch = fib.watch_links(Duration::from_millis(200)).unwrap();
    let up0 = fib.ifindex("up0").unwrap().unwrap();
    fib.replace(
        p("203.0.113.0/24"),
        vec![NextHop::onlink(a("192.0.2.1"), up0)],
    );
    fib.flush().unwrap();
    // (No dummy driver here: a veth pair.)
    ip(
        &lab.name,
        "link add name spare0 type veth peer name spare0p",
    );
    ip(&lab.name, "link set spare0p up");
    ip(&lab.name, "link set spare0 up");
    let spare = fib.ifindex("spare0").unwrap().unwrap();
    settle(&mut watch, &mut fib, spare, Some(true));
    ip(&lab.name, "link set spare0 down");
    let (o, _) = settle(&mut watch, &mut fib, spare, Some(false));
    assert!(!o.restore_due);
    ip(&lab.name, "link del spare0");
    let (o, _) = settle(&mut watch, &mut fib, spare, None);
    assert!(!o.restore_due);
    // Our link deleted: the table is read again; the route is queued again and refused (its
    // interface is gone).
    ip(&lab.name, "link del up0");
    let (_, requeued) = settle(&mut watch, &mut fib, up0, None);
    assert_eq!(requeued, Some(1));
    let r = fib.flush().unwrap();
    assert_eq!(r.failures.len(), 1);
    assert!(fib.is_empty());
    assert!(objects(&lab).is_empty());
}
