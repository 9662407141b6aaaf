use std::net::IpAddr;

use super::*;
use crate::objects::Objects;
use crate::types::next_hops;

fn p(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

fn hop(gw: &str) -> NextHop {
    NextHop::onlink(gw.parse::<IpAddr>().unwrap(), 7)
}

fn plan_all(planner: &mut Planner) -> (Vec<Op>, FlushReport) {
    let mut report = FlushReport::default();
    let ops = planner.plan(usize::MAX, &mut report);
    (ops, report)
}

/// Plans everything and acknowledges every operation as the kernel would on success.
fn flush_ok(planner: &mut Planner) -> (Vec<(OpKind, IpNetwork)>, FlushReport) {
    let (ops, mut report) = plan_all(planner);
    let done = ops.iter().map(|o| (o.kind, o.prefix)).collect();
    for op in ops {
        assert!(planner.complete(op, Ok(()), &mut report).is_none());
    }
    (done, report)
}

#[test]
fn new_prefix_is_created_then_replaced_then_deleted() {
    let mut pl = Planner::new();
    pl.replace(p("192.0.2.0/24"), vec![hop("198.51.100.1")]);
    let (ops, r) = flush_ok(&mut pl);
    assert_eq!(ops, vec![(OpKind::Create, p("192.0.2.0/24"))]);
    assert_eq!(r.created, 1);
    pl.replace(
        p("192.0.2.0/24"),
        vec![hop("198.51.100.2"), hop("198.51.100.1")],
    );
    let (ops, r) = flush_ok(&mut pl);
    assert_eq!(ops, vec![(OpKind::Replace, p("192.0.2.0/24"))]);
    assert_eq!(r.replaced, 1);
    assert_eq!(pl.installed(&p("192.0.2.0/24")).map(|h| h.len()), Some(2));
    pl.withdraw(p("192.0.2.0/24"));
    let (ops, r) = flush_ok(&mut pl);
    assert_eq!(ops, vec![(OpKind::Delete, p("192.0.2.0/24"))]);
    assert_eq!(r.deleted, 1);
    assert_eq!(pl.installed_len(), 0);
}

#[test]
fn same_next_hops_again_costs_nothing() {
    let mut pl = Planner::new();
    pl.replace(p("2001:db8:1::/48"), vec![hop("2001:db8::1")]);
    flush_ok(&mut pl);
    // Same set, other order and a duplicate: no operation.
    pl.replace(
        p("2001:db8:1::/48"),
        vec![hop("2001:db8::1"), hop("2001:db8::1")],
    );
    let (ops, r) = flush_ok(&mut pl);
    assert!(ops.is_empty());
    assert_eq!(r, FlushReport::default());
}

#[test]
fn flapping_between_flushes_is_coalesced() {
    let mut pl = Planner::new();
    for i in 0..10 {
        pl.replace(
            p("192.0.2.0/24"),
            vec![hop(&format!("198.51.100.{}", i + 1))],
        );
        pl.withdraw(p("192.0.2.0/24"));
    }
    // Withdrawn last, never installed: nothing to do.
    let (ops, _) = flush_ok(&mut pl);
    assert!(ops.is_empty());
    pl.replace(p("192.0.2.0/24"), vec![hop("198.51.100.1")]);
    pl.replace(p("192.0.2.0/24"), vec![hop("198.51.100.9")]);
    let (ops, _) = flush_ok(&mut pl);
    assert_eq!(ops, vec![(OpKind::Create, p("192.0.2.0/24"))]);
    assert_eq!(
        pl.installed(&p("192.0.2.0/24")).map(|h| h.to_vec()),
        Some(vec![hop("198.51.100.9")])
    );
}

#[test]
fn host_bits_are_cleared_and_empty_sets_withdraw() {
    let mut pl = Planner::new();
    pl.replace(p("192.0.2.77/24"), vec![hop("198.51.100.1")]);
    flush_ok(&mut pl);
    assert!(pl.installed(&p("192.0.2.0/24")).is_some());
    pl.replace(p("192.0.2.0/24"), Vec::new());
    let (ops, _) = flush_ok(&mut pl);
    assert_eq!(ops, vec![(OpKind::Delete, p("192.0.2.0/24"))]);
}

#[test]
fn plan_respects_the_batch_limit_and_keeps_order() {
    let mut pl = Planner::new();
    let prefixes: Vec<IpNetwork> = (0..10).map(|i| p(&format!("198.18.{i}.0/24"))).collect();
    for prefix in &prefixes {
        pl.replace(*prefix, vec![hop("192.0.2.1")]);
    }
    let mut seen = Vec::new();
    loop {
        let mut r = FlushReport::default();
        let ops = pl.plan(3, &mut r);
        if ops.is_empty() {
            break;
        }
        assert!(ops.len() <= 3);
        for op in ops {
            seen.push(op.prefix);
            pl.complete(op, Ok(()), &mut r);
        }
    }
    assert_eq!(seen, prefixes);
    assert_eq!(pl.pending(), 0);
}

#[test]
fn a_refused_create_is_reported_not_installed_and_retried_on_demand() {
    let mut pl = Planner::new();
    pl.replace(p("192.0.2.0/24"), vec![hop("198.51.100.1")]);
    let (ops, mut r) = plan_all(&mut pl);
    let failure = pl
        .complete(ops[0].clone(), Err(libc::EEXIST), &mut r)
        .unwrap();
    assert_eq!(failure.prefix, p("192.0.2.0/24"));
    assert_eq!(failure.kind, OpKind::Create);
    assert!(failure.message.contains("did not install"), "{failure}");
    assert_eq!(pl.installed_len(), 0);
    assert_eq!(pl.failed().count(), 1);
    assert_eq!(pl.retry_failed(), 1);
    let (ops, _) = flush_ok(&mut pl);
    assert_eq!(ops, vec![(OpKind::Create, p("192.0.2.0/24"))]);
    assert_eq!(pl.failed().count(), 0);
}

#[test]
fn a_refused_replace_keeps_the_old_route() {
    let mut pl = Planner::new();
    pl.replace(p("192.0.2.0/24"), vec![hop("198.51.100.1")]);
    flush_ok(&mut pl);
    pl.replace(p("192.0.2.0/24"), vec![hop("198.51.100.2")]);
    let (ops, mut r) = plan_all(&mut pl);
    let f = pl.complete(ops[0].clone(), Err(libc::ENETUNREACH), &mut r);
    assert_eq!(f.map(|f| f.errno), Some(libc::ENETUNREACH));
    assert_eq!(
        pl.installed(&p("192.0.2.0/24")).map(|h| h.to_vec()),
        Some(vec![hop("198.51.100.1")])
    );
}

#[test]
fn deleting_a_route_already_gone_is_not_a_failure() {
    let mut pl = Planner::new();
    pl.replace(p("192.0.2.0/24"), vec![hop("198.51.100.1")]);
    flush_ok(&mut pl);
    pl.withdraw(p("192.0.2.0/24"));
    let (ops, mut r) = plan_all(&mut pl);
    assert!(pl
        .complete(ops[0].clone(), Err(libc::ESRCH), &mut r)
        .is_none());
    assert_eq!(pl.installed_len(), 0);
}

fn found(prefix: &str, gws: &[&str]) -> FibRoute {
    FibRoute {
        prefix: p(prefix),
        next_hops: next_hops(gws.iter().map(|g| hop(g)).collect()),
    }
}

#[test]
fn reconcile_keeps_relearned_replaces_changed_and_sweeps_the_rest() {
    let mut pl = Planner::new();
    pl.begin_reconcile(vec![
        found("192.0.2.0/24", &["198.51.100.1"]),
        found("198.18.0.0/24", &["198.51.100.1", "198.51.100.2"]),
        found("2001:db8:5::/48", &["2001:db8::1"]),
    ]);
    assert!(pl.reconciling());
    assert_eq!(pl.stale(), 3);
    // Stale routes stay in place while nothing is re-learned.
    let (ops, _) = flush_ok(&mut pl);
    assert!(ops.is_empty());
    // Re-learned: one unchanged, one with a different set, one new.
    pl.replace(p("192.0.2.0/24"), vec![hop("198.51.100.1")]);
    pl.replace(p("198.18.0.0/24"), vec![hop("198.51.100.2")]);
    pl.replace(p("203.0.113.0/24"), vec![hop("198.51.100.1")]);
    let (ops, r) = flush_ok(&mut pl);
    assert_eq!(
        ops,
        vec![
            (OpKind::Replace, p("198.18.0.0/24")),
            (OpKind::Create, p("203.0.113.0/24")),
        ]
    );
    assert_eq!(r.kept, 1);
    assert_eq!(pl.stale(), 1);
    // The one never re-learned is swept.
    assert_eq!(pl.end_reconcile(), 1);
    let (ops, _) = flush_ok(&mut pl);
    assert_eq!(ops, vec![(OpKind::Delete, p("2001:db8:5::/48"))]);
    assert_eq!(pl.installed_len(), 3);
    assert_eq!(pl.stale(), 0);
}

#[test]
fn end_reconcile_spares_routes_relearned_but_not_yet_flushed() {
    let mut pl = Planner::new();
    pl.begin_reconcile(vec![found("192.0.2.0/24", &["198.51.100.1"])]);
    pl.replace(p("192.0.2.0/24"), vec![hop("198.51.100.1")]);
    assert_eq!(pl.end_reconcile(), 0);
    let (ops, _) = flush_ok(&mut pl);
    assert!(ops.is_empty());
    assert_eq!(pl.installed_len(), 1);
}

#[test]
fn a_second_reconcile_marks_installed_routes_stale_again() {
    let mut pl = Planner::new();
    pl.replace(p("192.0.2.0/24"), vec![hop("198.51.100.1")]);
    pl.replace(p("203.0.113.0/24"), vec![hop("198.51.100.1")]);
    flush_ok(&mut pl);
    pl.begin_reconcile(Vec::new());
    assert_eq!(pl.stale(), 2);
    pl.replace(p("203.0.113.0/24"), vec![hop("198.51.100.1")]);
    flush_ok(&mut pl);
    assert_eq!(pl.end_reconcile(), 1);
    let (ops, _) = flush_ok(&mut pl);
    assert_eq!(ops, vec![(OpKind::Delete, p("192.0.2.0/24"))]);
}

#[test]
fn withdraw_all_deletes_everything_installed() {
    let mut pl = Planner::new();
    for i in 0..5 {
        pl.replace(p(&format!("198.18.{i}.0/24")), vec![hop("192.0.2.1")]);
    }
    flush_ok(&mut pl);
    pl.withdraw_all();
    let (ops, r) = flush_ok(&mut pl);
    assert_eq!(ops.len(), 5);
    assert!(ops.iter().all(|(k, _)| *k == OpKind::Delete));
    assert_eq!(r.deleted, 5);
    assert_eq!(pl.routes().count(), 0);
}

#[test]
fn identical_next_hop_sets_are_shared() {
    let mut pl = Planner::new();
    pl.replace(p("198.18.0.0/24"), vec![hop("192.0.2.1"), hop("192.0.2.2")]);
    pl.replace(p("198.18.1.0/24"), vec![hop("192.0.2.2"), hop("192.0.2.1")]);
    flush_ok(&mut pl);
    let a = pl.installed(&p("198.18.0.0/24")).unwrap();
    let b = pl.installed(&p("198.18.1.0/24")).unwrap();
    assert!(std::sync::Arc::ptr_eq(a, b));
}

#[test]
fn deletions_go_first_highest_prefix_first_across_batches() {
    let mut pl = Planner::new();
    let installed: Vec<IpNetwork> = (0..8).map(|i| p(&format!("198.18.{i}.0/24"))).collect();
    for prefix in &installed {
        pl.replace(*prefix, vec![hop("192.0.2.1")]);
    }
    flush_ok(&mut pl);
    // Withdrawn in ascending order, as a peer's table is; mixed with creates, a replace, and a
    // withdrawal of a prefix never installed (nothing to delete).
    pl.replace(p("203.0.113.0/24"), vec![hop("192.0.2.1")]);
    for prefix in &installed[..6] {
        pl.withdraw(*prefix);
    }
    pl.replace(installed[6], vec![hop("192.0.2.2")]);
    pl.withdraw(p("198.51.100.0/24"));
    pl.replace(p("192.0.2.128/25"), vec![hop("192.0.2.1")]);
    let mut seen = Vec::new();
    let mut r = FlushReport::default();
    loop {
        let ops = pl.plan(4, &mut r);
        if ops.is_empty() {
            break;
        }
        for op in ops {
            seen.push((op.kind, op.prefix));
            pl.complete(op, Ok(()), &mut r);
        }
    }
    let mut want: Vec<(OpKind, IpNetwork)> = installed[..6]
        .iter()
        .rev()
        .map(|prefix| (OpKind::Delete, *prefix))
        .collect();
    want.extend([
        (OpKind::Create, p("203.0.113.0/24")),
        (OpKind::Replace, installed[6]),
        (OpKind::Create, p("192.0.2.128/25")),
    ]);
    assert_eq!(seen, want);
    assert_eq!((r.deleted, r.created, r.replaced), (6, 2, 1));
    assert_eq!(pl.installed_len(), 4);
    assert_eq!(pl.pending(), 0);
    // A later flush arranges its own deletions the same way.
    pl.withdraw(installed[6]);
    pl.withdraw(installed[7]);
    let (ops, _) = flush_ok(&mut pl);
    assert_eq!(
        ops,
        vec![
            (OpKind::Delete, installed[7]),
            (OpKind::Delete, installed[6])
        ]
    );
}

#[test]
fn single_hop_routes_are_planned_on_shared_objects_counted_per_installed_route() {
    let mut pl = Planner::with_objects(Objects::new(200, 20));
    pl.replace(p("192.0.2.0/24"), vec![hop("198.51.100.1")]);
    pl.replace(p("198.51.100.0/24"), vec![hop("198.51.100.1")]);
    // Multipath: inline.
    pl.replace(
        p("203.0.113.0/24"),
        vec![hop("198.51.100.1"), hop("198.51.100.2")],
    );
    let (ops, mut report) = plan_all(&mut pl);
    let id = ops[0].object.unwrap();
    assert_eq!(ops[1].object, Some(id));
    assert_eq!(ops[2].object, None);
    let creates = pl.objects_mut().take_creates();
    assert_eq!(creates.len(), 1);
    pl.objects_mut().created(&creates[0].1);
    for op in ops {
        assert!(pl.complete(op, Ok(()), &mut report).is_none());
    }
    assert!(pl.objects_mut().take_unused().is_empty());
    // One route moves away, the other goes: the object is unused.
    pl.replace(p("192.0.2.0/24"), vec![hop("198.51.100.9")]);
    pl.withdraw(p("198.51.100.0/24"));
    let (ops, mut report) = plan_all(&mut pl);
    let new = pl.objects_mut().take_creates();
    pl.objects_mut().created(&new[0].1);
    for op in ops {
        assert!(pl.complete(op, Ok(()), &mut report).is_none());
    }
    assert_eq!(pl.objects_mut().take_unused(), vec![id]);
    assert_eq!(pl.objects().len(), 1);
}

#[test]
fn found_routes_adopt_their_objects_and_keep_them_when_relearned() {
    let mut pl = Planner::with_objects(Objects::new(200, 20));
    let route = |s: &str| FibRoute {
        prefix: p(s),
        next_hops: next_hops(vec![hop("198.51.100.1")]),
    };
    pl.begin_reconcile_found([
        (route("192.0.2.0/24"), Some(0x4000_0005)),
        (route("198.51.100.0/24"), Some(0x4000_0005)),
    ]);
    pl.replace(p("192.0.2.0/24"), vec![hop("198.51.100.1")]);
    let (ops, report) = plan_all(&mut pl);
    assert!(ops.is_empty());
    assert_eq!(report.kept, 1);
    // The stale one is swept; the object stays while the kept route uses it.
    pl.end_reconcile();
    let (ops, mut report) = plan_all(&mut pl);
    for op in ops {
        assert!(pl.complete(op, Ok(()), &mut report).is_none());
    }
    assert!(pl.objects_mut().take_unused().is_empty());
    pl.withdraw(p("192.0.2.0/24"));
    let (ops, mut report) = plan_all(&mut pl);
    for op in ops {
        assert!(pl.complete(op, Ok(()), &mut report).is_none());
    }
    assert_eq!(pl.objects_mut().take_unused(), vec![0x4000_0005]);
}

#[test]
fn restore_queues_again_what_the_kernel_dropped_or_changed_and_deletes_strangers() {
    let mut pl = Planner::new();
    pl.replace(p("192.0.2.0/24"), vec![hop("198.51.100.1")]);
    pl.replace(
        p("198.18.0.0/24"),
        vec![hop("198.51.100.1"), hop("198.51.100.2")],
    );
    pl.replace(p("2001:db8:5::/48"), vec![hop("2001:db8::1")]);
    pl.replace(p("203.0.113.0/24"), vec![hop("198.51.100.3")]);
    flush_ok(&mut pl);
    assert_eq!(pl.installed_len(), 4);
    // A change is pending for 203.0.113.0/24 when the link goes down.
    pl.replace(p("203.0.113.0/24"), vec![hop("198.51.100.4")]);
    // The kernel dropped 192.0.2.0/24 and 203.0.113.0/24, holds the multipath route with one
    // path left, and holds a route of ours nothing wants.
    let requeued = pl.restore_found([
        (found("198.18.0.0/24", &["198.51.100.2"]), None),
        (found("2001:db8:5::/48", &["2001:db8::1"]), None),
        (found("198.51.100.0/24", &["198.51.100.1"]), None),
    ]);
    assert_eq!(requeued, 3);
    assert_eq!(pl.installed_len(), 3);
    let (mut ops, _) = flush_ok(&mut pl);
    ops.sort_by_key(|(_, prefix)| *prefix);
    assert_eq!(
        ops,
        vec![
            (OpKind::Create, p("192.0.2.0/24")),
            (OpKind::Replace, p("198.18.0.0/24")),
            (OpKind::Delete, p("198.51.100.0/24")),
            // The pending change is written as a creation now.
            (OpKind::Create, p("203.0.113.0/24")),
        ]
    );
    assert_eq!(pl.installed_len(), 4);
    assert_eq!(pl.installed(&p("198.18.0.0/24")).map(|h| h.len()), Some(2));
    assert_eq!(
        pl.installed(&p("203.0.113.0/24")).map(|h| h[0]),
        Some(hop("198.51.100.4"))
    );
    // Nothing dropped: nothing queued.
    let all: Vec<_> = pl.routes().map(|r| (r, None)).collect();
    assert_eq!(pl.restore_found(all), 0);
    assert_eq!(pl.pending(), 0);
}

#[test]
fn restore_during_a_reconciliation_forgets_stale_routes_gone_and_keeps_strangers_stale() {
    let mut pl = Planner::new();
    pl.begin_reconcile(vec![
        found("192.0.2.0/24", &["198.51.100.1"]),
        found("198.18.0.0/24", &["198.51.100.1"]),
    ]);
    pl.replace(p("203.0.113.0/24"), vec![hop("198.51.100.1")]);
    flush_ok(&mut pl);
    // The kernel dropped every route, then something of ours reappeared.
    let requeued = pl.restore_found([(found("198.51.100.0/24", &["198.51.100.1"]), None)]);
    // Only the re-learned (non-stale) route is queued again; the stale ones are forgotten and
    // the stranger is stale until the reconciliation ends.
    assert_eq!(requeued, 1);
    assert_eq!(pl.stale(), 1);
    let (ops, _) = flush_ok(&mut pl);
    assert_eq!(ops, vec![(OpKind::Create, p("203.0.113.0/24"))]);
    assert_eq!(pl.end_reconcile(), 1);
    let (ops, _) = flush_ok(&mut pl);
    assert_eq!(ops, vec![(OpKind::Delete, p("198.51.100.0/24"))]);
    assert_eq!(pl.installed_len(), 1);
}

#[test]
fn restore_gives_dropped_routes_new_objects() {
    let mut pl = Planner::with_objects(Objects::new(200, 20));
    pl.replace(p("192.0.2.0/24"), vec![hop("198.51.100.1")]);
    pl.replace(p("198.51.100.0/24"), vec![hop("198.51.100.1")]);
    let (ops, mut report) = plan_all(&mut pl);
    let first = ops[0].object.unwrap();
    let creates = pl.objects_mut().take_creates();
    pl.objects_mut().created(&creates[0].1);
    for op in ops {
        assert!(pl.complete(op, Ok(()), &mut report).is_none());
    }
    // The link lost its carrier: the kernel removed the object and both routes.
    assert_eq!(pl.objects_mut().forget_missing(|_| false), 1);
    assert_eq!(pl.restore_found([]), 2);
    assert_eq!(pl.installed_len(), 0);
    let (ops, _) = plan_all(&mut pl);
    assert_eq!(ops.len(), 2);
    let second = ops[0].object.unwrap();
    assert_ne!(first, second);
    assert!(ops
        .iter()
        .all(|o| o.kind == OpKind::Create && o.object == Some(second)));
    assert_eq!(pl.objects_mut().take_creates().len(), 1);
}

#[test]
fn a_set_with_a_kernel_chosen_interface_may_use_any_link() {
    let mut pl = Planner::new();
    pl.replace(p("192.0.2.0/24"), vec![hop("198.51.100.1")]);
    assert!(pl.may_use_ifindex(7));
    assert!(!pl.may_use_ifindex(8));
    pl.replace(
        p("198.18.0.0/24"),
        vec![NextHop::via("198.51.100.1".parse().unwrap())],
    );
    assert!(pl.may_use_ifindex(8));
}

#[test]
fn a_report_counts_every_refusal_and_keeps_the_first_few() {
    let op = |i: u32| Op {
        kind: OpKind::Create,
        prefix: IpNetwork::new(std::net::Ipv4Addr::from(0xC612_0000 + (i << 8)).into(), 24)
            .unwrap(),
        next_hops: next_hops(vec![hop("198.51.100.1")]),
        object: None,
    };
    let mut a = FlushReport::default();
    for i in 0..100 {
        a.refuse(RouteFailure::new(&op(i), libc::ENETDOWN));
    }
    assert_eq!(a.refused, 100);
    assert_eq!(a.failures.len(), FlushReport::KEPT_FAILURES);
    assert_eq!(a.failures[0].prefix, p("198.18.0.0/24"));
    let mut b = FlushReport::default();
    b.refuse(RouteFailure::new(&op(200), libc::ENETDOWN));
    b.merge(a);
    assert_eq!(b.refused, 101);
    assert_eq!(b.failures.len(), FlushReport::KEPT_FAILURES);
    assert_eq!(b.failures[0].prefix, p("198.18.200.0/24"));
}
