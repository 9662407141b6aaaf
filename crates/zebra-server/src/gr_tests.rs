use super::*;

const BGP: u8 = 9;

fn at(t0: Instant, secs: u64) -> Instant {
    t0 + Duration::from_secs(secs)
}

fn capable(t: &mut GrTable, c: ClientId, stale_time: u32, now: Instant) -> Option<GrAction> {
    t.message(
        c,
        GrMessage::Capable {
            stale_time,
            vrf_id: 0,
        },
        now,
    )
}

fn pending(t: &mut GrTable, c: ClientId, afi: u32, now: Instant) -> Option<GrAction> {
    t.message(
        c,
        GrMessage::UpdatePending {
            afi,
            safi: 1,
            vrf_id: 0,
        },
        now,
    )
}

fn complete(t: &mut GrTable, c: ClientId, afi: u32, now: Instant) -> Option<GrAction> {
    t.message(
        c,
        GrMessage::UpdateComplete {
            afi,
            safi: 1,
            vrf_id: 0,
        },
        now,
    )
}

fn sweep(owners: &[u64], family: Option<Family>, cause: SweepCause) -> GrAction {
    GrAction::Sweep {
        owners: owners.iter().map(|&o| ClientId(o)).collect(),
        family,
        cause,
    }
}

/// A GR-capable bgpd on connection 1 that closed at t0 (stale time 120 s).
fn restarted(t0: Instant) -> GrTable {
    let mut t = GrTable::default();
    t.hello(ClientId(1), BGP, 0, false);
    assert_eq!(capable(&mut t, ClientId(1), 120, t0), None);
    assert!(t.keeps_routes_of(ClientId(1)));
    assert_eq!(
        t.closed(ClientId(1), t0),
        GrAction::KeepStale { owner: ClientId(1) }
    );
    assert_eq!(t.next_deadline(), Some(at(t0, 120)));
    t
}

#[test]
fn a_client_without_gr_is_withdrawn_at_once() {
    let t0 = Instant::now();
    let mut t = GrTable::default();
    t.hello(ClientId(1), BGP, 0, false);
    assert!(!t.keeps_routes_of(ClientId(1)));
    assert_eq!(
        t.closed(ClientId(1), t0),
        GrAction::Withdraw { owner: ClientId(1) }
    );
    assert_eq!(t.next_deadline(), None);
    // A connection that never said HELLO (or a Quagga client) likewise.
    assert_eq!(
        t.closed(ClientId(7), t0),
        GrAction::Withdraw { owner: ClientId(7) }
    );
}

#[test]
fn pending_then_complete_sweeps_that_family_only() {
    let t0 = Instant::now();
    let mut t = restarted(t0);
    t.hello(ClientId(2), BGP, 0, false);
    assert_eq!(capable(&mut t, ClientId(2), 120, t0), None);
    assert_eq!(pending(&mut t, ClientId(2), 1, t0), None);
    assert_eq!(
        complete(&mut t, ClientId(2), 1, t0),
        Some(sweep(&[1], Some(Family::Ipv4), SweepCause::UpdateComplete))
    );
    // IPv6 was not pending: its COMPLETE sweeps nothing now but starts the settle period.
    assert_eq!(complete(&mut t, ClientId(2), 2, t0), None);
    assert_eq!(t.next_deadline(), Some(t0 + DEFAULT_SETTLE));
    assert_eq!(
        t.timeout(t0 + DEFAULT_SETTLE),
        vec![sweep(
            &[1],
            Some(Family::Ipv6),
            SweepCause::UpdateCompleteSettled
        )]
    );
    assert_eq!(t.next_deadline(), Some(at(t0, 120)));
    assert_eq!(
        t.timeout(at(t0, 119)),
        Vec::<GrAction>::new(),
        "not yet due"
    );
    assert_eq!(
        t.timeout(at(t0, 120)),
        vec![sweep(&[1], None, SweepCause::StaleTimeExpired)]
    );
    assert_eq!(t.next_deadline(), None);
    // The new connection is GR-capable in turn.
    assert_eq!(
        t.closed(ClientId(2), at(t0, 200)),
        GrAction::KeepStale { owner: ClientId(2) }
    );
    assert_eq!(t.next_deadline(), Some(at(t0, 320)));
}

fn undeferred_complete(t: &mut GrTable, c: ClientId, now: Instant) {
    // What bgpd 8.4 and 10.3 send at Established when they do not defer: COMPLETE for every
    // AFI/SAFI (FOREACH_AFI_SAFI), before they re-send any route.
    for afi in 1..=3 {
        for safi in 1..=7 {
            let got = t.message(
                c,
                GrMessage::UpdateComplete {
                    afi,
                    safi,
                    vrf_id: 0,
                },
                now,
            );
            assert_eq!(got, None, "{afi}/{safi}");
        }
    }
}

#[test]
fn complete_without_pending_sweeps_after_the_settle_period() {
    // bgpd 10.3 restarted next to a young provider (both set the R bit, so neither defers):
    // COMPLETE for everything at Established, no PENDING. A prefix the provider withdrew while
    // bgpd was down is never sent again, so only a sweep can remove it — after the settle
    // period, not after the 120 s stale time (seen in routing/tests/e2e_frr10.rs).
    let t0 = Instant::now();
    let mut t = restarted(t0);
    t.hello(ClientId(2), BGP, 0, false);
    capable(&mut t, ClientId(2), 120, t0);
    undeferred_complete(&mut t, ClientId(2), at(t0, 1));
    assert_eq!(t.next_deadline(), Some(at(t0, 1) + DEFAULT_SETTLE));
    assert_eq!(
        t.timeout(at(t0, 1) + DEFAULT_SETTLE - Duration::from_millis(1)),
        Vec::<GrAction>::new(),
        "routes get the settle period to come back"
    );
    // The second session comes up later and says COMPLETE again: the period restarts.
    undeferred_complete(&mut t, ClientId(2), at(t0, 5));
    assert_eq!(
        t.timeout(at(t0, 1) + DEFAULT_SETTLE),
        Vec::<GrAction>::new()
    );
    assert_eq!(
        t.timeout(at(t0, 5) + DEFAULT_SETTLE),
        vec![
            sweep(&[1], Some(Family::Ipv4), SweepCause::UpdateCompleteSettled),
            sweep(&[1], Some(Family::Ipv6), SweepCause::UpdateCompleteSettled),
        ]
    );
    // The restart itself still ends at the stale time (nothing is left to sweep then).
    assert_eq!(t.next_deadline(), Some(at(t0, 120)));
    assert_eq!(
        t.timeout(at(t0, 120)),
        vec![sweep(&[1], None, SweepCause::StaleTimeExpired)]
    );
    assert_eq!(t.next_deadline(), None);
}

#[test]
fn a_pending_after_an_undeferred_complete_waits_for_its_complete() {
    // A later peer puts bgpd in deferral for IPv4: the settle period of IPv4 is cancelled, the
    // deferred COMPLETE sweeps; IPv6 still settles.
    let t0 = Instant::now();
    let mut t = restarted(t0);
    t.hello(ClientId(2), BGP, 0, false);
    capable(&mut t, ClientId(2), 120, t0);
    undeferred_complete(&mut t, ClientId(2), at(t0, 1));
    assert_eq!(pending(&mut t, ClientId(2), 1, at(t0, 2)), None);
    assert_eq!(
        t.timeout(at(t0, 1) + DEFAULT_SETTLE),
        vec![sweep(
            &[1],
            Some(Family::Ipv6),
            SweepCause::UpdateCompleteSettled
        )]
    );
    assert_eq!(t.next_deadline(), Some(at(t0, 120)));
    assert_eq!(
        complete(&mut t, ClientId(2), 1, at(t0, 60)),
        Some(sweep(&[1], Some(Family::Ipv4), SweepCause::UpdateComplete))
    );
}

#[test]
fn an_undeferred_complete_without_a_restart_or_after_a_close_does_nothing() {
    let t0 = Instant::now();
    // No restart in progress: a fresh bgpd's COMPLETE schedules nothing.
    let mut t = GrTable::default();
    t.hello(ClientId(1), BGP, 0, false);
    capable(&mut t, ClientId(1), 120, t0);
    undeferred_complete(&mut t, ClientId(1), t0);
    assert_eq!(t.next_deadline(), None);
    // A restarted bgpd that closes again before the settle period ends: its settle period
    // goes with it; the stale times run.
    let mut t = restarted(t0);
    t.hello(ClientId(2), BGP, 0, false);
    capable(&mut t, ClientId(2), 120, t0);
    undeferred_complete(&mut t, ClientId(2), at(t0, 1));
    t.closed(ClientId(2), at(t0, 2));
    assert_eq!(t.next_deadline(), Some(at(t0, 120)));
}

#[test]
fn pending_of_an_earlier_connection_does_not_count() {
    let t0 = Instant::now();
    let mut t = GrTable::default();
    t.hello(ClientId(1), BGP, 0, false);
    capable(&mut t, ClientId(1), 60, t0);
    pending(&mut t, ClientId(1), 1, t0);
    t.closed(ClientId(1), t0);
    t.hello(ClientId(2), BGP, 0, false);
    capable(&mut t, ClientId(2), 60, t0);
    assert_eq!(complete(&mut t, ClientId(2), 1, t0), None);
}

#[test]
fn a_client_that_never_comes_back_is_forgotten_after_the_stale_time() {
    let t0 = Instant::now();
    let mut t = restarted(t0);
    assert_eq!(
        t.timeout(at(t0, 500)),
        vec![sweep(&[1], None, SweepCause::StaleTimeExpired)]
    );
    // A later bgpd starts from nothing: without GR_CAPABILITIES it is not GR-capable.
    t.hello(ClientId(2), BGP, 0, false);
    assert!(!t.keeps_routes_of(ClientId(2)));
    assert_eq!(
        t.closed(ClientId(2), at(t0, 600)),
        GrAction::Withdraw { owner: ClientId(2) }
    );
}

#[test]
fn the_new_bgpd_must_declare_gr_itself() {
    // The restarted bgpd runs without `bgp graceful-restart`: the old routes still get their
    // stale time, but its own routes are withdrawn when it closes.
    let t0 = Instant::now();
    let mut t = restarted(t0);
    t.hello(ClientId(2), BGP, 0, false);
    assert!(!t.keeps_routes_of(ClientId(2)));
    assert_eq!(
        t.closed(ClientId(2), at(t0, 10)),
        GrAction::Withdraw { owner: ClientId(2) }
    );
    assert_eq!(
        t.timeout(at(t0, 120)),
        vec![sweep(&[1], None, SweepCause::StaleTimeExpired)]
    );
}

#[test]
fn a_second_restart_gets_its_own_stale_time() {
    let t0 = Instant::now();
    let mut t = restarted(t0);
    t.hello(ClientId(2), BGP, 0, false);
    capable(&mut t, ClientId(2), 120, t0);
    assert_eq!(
        t.closed(ClientId(2), at(t0, 30)),
        GrAction::KeepStale { owner: ClientId(2) }
    );
    assert_eq!(t.next_deadline(), Some(at(t0, 120)));
    t.hello(ClientId(3), BGP, 0, false);
    capable(&mut t, ClientId(3), 120, t0);
    pending(&mut t, ClientId(3), 2, t0);
    assert_eq!(
        complete(&mut t, ClientId(3), 2, t0),
        Some(sweep(
            &[1, 2],
            Some(Family::Ipv6),
            SweepCause::UpdateComplete
        ))
    );
    // The first connection's routes go at its end, the second's 30 s later.
    assert_eq!(
        t.timeout(at(t0, 120)),
        vec![sweep(&[1], None, SweepCause::StaleTimeExpired)]
    );
    assert_eq!(t.next_deadline(), Some(at(t0, 150)));
    assert_eq!(
        t.timeout(at(t0, 150)),
        vec![sweep(&[2], None, SweepCause::StaleTimeExpired)]
    );
    assert_eq!(t.next_deadline(), None);
}

#[test]
fn stale_time_changes_apply_to_the_next_restart() {
    let t0 = Instant::now();
    let mut t = GrTable::default();
    t.hello(ClientId(1), BGP, 0, false);
    // RIB_STALE_TIME before GR_CAPABILITIES (what bgpd 8.4 sends at start) is ignored.
    t.message(
        ClientId(1),
        GrMessage::StaleTime {
            stale_time: 5,
            vrf_id: 0,
        },
        t0,
    );
    capable(&mut t, ClientId(1), 77, t0);
    t.message(
        ClientId(1),
        GrMessage::StaleTime {
            stale_time: 90,
            vrf_id: 0,
        },
        t0,
    );
    t.closed(ClientId(1), t0);
    assert_eq!(t.next_deadline(), Some(at(t0, 90)));
    t.hello(ClientId(2), BGP, 0, false);
    // During the restart neither message moves the running deadline.
    capable(&mut t, ClientId(2), 10, t0);
    t.message(
        ClientId(2),
        GrMessage::StaleTime {
            stale_time: 10,
            vrf_id: 0,
        },
        t0,
    );
    assert_eq!(t.next_deadline(), Some(at(t0, 90)));
    t.timeout(at(t0, 90));
    // The next restart uses the latest value.
    t.closed(ClientId(2), at(t0, 100));
    assert_eq!(t.next_deadline(), Some(at(t0, 110)));
}

#[test]
fn gr_disable_sweeps_what_is_stale_and_ends_gr() {
    let t0 = Instant::now();
    let mut t = restarted(t0);
    t.hello(ClientId(2), BGP, 0, false);
    capable(&mut t, ClientId(2), 120, t0);
    assert_eq!(
        t.message(ClientId(2), GrMessage::Disable { vrf_id: 0 }, t0),
        Some(sweep(&[1], None, SweepCause::Disabled))
    );
    assert_eq!(t.next_deadline(), None);
    assert_eq!(
        t.closed(ClientId(2), at(t0, 5)),
        GrAction::Withdraw { owner: ClientId(2) }
    );
}

#[test]
fn other_vrfs_safis_families_and_static_clients_are_ignored() {
    let t0 = Instant::now();
    let mut t = restarted(t0);
    t.hello(ClientId(2), BGP, 0, false);
    capable(&mut t, ClientId(2), 120, t0);
    for (afi, safi, vrf_id) in [(1, 2, 0), (3, 1, 0), (1, 1, 5)] {
        t.message(
            ClientId(2),
            GrMessage::UpdatePending { afi, safi, vrf_id },
            t0,
        );
        let got = t.message(
            ClientId(2),
            GrMessage::UpdateComplete { afi, safi, vrf_id },
            t0,
        );
        assert_eq!(got, None, "{afi}/{safi} vrf {vrf_id}");
    }
    assert_eq!(
        t.message(ClientId(2), GrMessage::Disable { vrf_id: 5 }, t0),
        None
    );
    // Route types up to CONNECT are not dynamic: no GR for them.
    let mut s = GrTable::default();
    s.hello(ClientId(1), 2, 0, false);
    assert_eq!(capable(&mut s, ClientId(1), 120, t0), None);
    assert!(!s.keeps_routes_of(ClientId(1)));
}

#[test]
fn only_the_asynchronous_connection_takes_over() {
    let t0 = Instant::now();
    let mut t = restarted(t0);
    // bgpd's label-manager connection says HELLO synchronously: it gets nothing.
    t.hello(ClientId(2), BGP, 0, true);
    assert_eq!(capable(&mut t, ClientId(2), 120, t0), None);
    pending(&mut t, ClientId(2), 1, t0);
    assert_eq!(complete(&mut t, ClientId(2), 1, t0), None);
    // A different instance is a different identity.
    t.hello(ClientId(3), BGP, 1, false);
    capable(&mut t, ClientId(3), 120, t0);
    pending(&mut t, ClientId(3), 1, t0);
    assert_eq!(complete(&mut t, ClientId(3), 1, t0), None);
    // The main connection does.
    t.hello(ClientId(4), BGP, 0, false);
    capable(&mut t, ClientId(4), 120, t0);
    pending(&mut t, ClientId(4), 1, t0);
    assert_eq!(
        complete(&mut t, ClientId(4), 1, t0),
        Some(sweep(&[1], Some(Family::Ipv4), SweepCause::UpdateComplete))
    );
    // A second live connection with the same identity gets no GR state.
    t.hello(ClientId(5), BGP, 0, false);
    pending(&mut t, ClientId(5), 2, t0);
    assert_eq!(complete(&mut t, ClientId(5), 2, t0), None);
    assert_eq!(
        t.closed(ClientId(5), at(t0, 1)),
        GrAction::Withdraw { owner: ClientId(5) }
    );
}

#[test]
fn recovered_routes_are_taken_over_by_the_next_bgpd() {
    let t0 = Instant::now();
    let mut t = GrTable::default();
    t.recover(BGP, 0, ClientId(0), Duration::from_secs(60), t0);
    assert_eq!(t.next_deadline(), Some(at(t0, 60)));
    t.hello(ClientId(1), BGP, 0, false);
    capable(&mut t, ClientId(1), 500, t0);
    pending(&mut t, ClientId(1), 1, t0);
    assert_eq!(
        complete(&mut t, ClientId(1), 1, t0),
        Some(sweep(&[0], Some(Family::Ipv4), SweepCause::UpdateComplete))
    );
    assert_eq!(
        t.timeout(at(t0, 60)),
        vec![sweep(&[0], None, SweepCause::StaleTimeExpired)]
    );
    // The bgpd stays GR-capable with its own stale time.
    assert_eq!(
        t.closed(ClientId(1), at(t0, 100)),
        GrAction::KeepStale { owner: ClientId(1) }
    );
    assert_eq!(t.next_deadline(), Some(at(t0, 600)));
}

#[test]
fn capability_before_hello_is_ignored() {
    let t0 = Instant::now();
    let mut t = GrTable::default();
    assert_eq!(capable(&mut t, ClientId(1), 120, t0), None);
    assert!(!t.keeps_routes_of(ClientId(1)));
}

/// Log lines written while `f` runs.
fn logged(f: impl FnOnce()) -> String {
    use std::io::Write;
    use std::sync::{Arc, Mutex};

    #[derive(Clone, Default)]
    struct Buf(Arc<Mutex<Vec<u8>>>);
    impl Write for Buf {
        fn write(&mut self, b: &[u8]) -> std::io::Result<usize> {
            self.0.lock().unwrap().extend_from_slice(b);
            Ok(b.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let buf = Buf::default();
    let w = buf.clone();
    let sub = tracing_subscriber::fmt()
        .with_writer(move || w.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::with_default(sub, f);
    let text = buf.0.lock().unwrap().clone();
    String::from_utf8(text).unwrap()
}

#[test]
fn stale_times_beyond_the_bound_are_capped_and_logged_once() {
    let t0 = Instant::now();
    let mut t = GrTable::default();
    let log = logged(|| {
        t.hello(ClientId(1), BGP, 0, false);
        capable(&mut t, ClientId(1), u32::MAX, t0);
        t.closed(ClientId(1), t0);
        // A stale time of 136 years would end at the bound instead.
        assert_eq!(t.next_deadline(), Some(t0 + MAX_STALE_TIME));
        t.hello(ClientId(2), BGP, 0, false);
        capable(&mut t, ClientId(2), 3601, t0);
        t.message(
            ClientId(2),
            GrMessage::StaleTime {
                stale_time: 100_000,
                vrf_id: 0,
            },
            t0,
        );
        t.closed(ClientId(2), at(t0, 10));
        assert_eq!(
            t.timeout(t0 + MAX_STALE_TIME),
            vec![sweep(&[1], None, SweepCause::StaleTimeExpired)]
        );
        assert_eq!(t.next_deadline(), Some(at(t0, 10) + MAX_STALE_TIME));
    });
    assert_eq!(log.matches("capped").count(), 1, "{log}");
    assert!(log.contains("requested_secs=4294967295"), "{log}");
}

#[test]
fn the_bound_itself_and_bgpd_values_are_kept() {
    let t0 = Instant::now();
    let mut t = GrTable::default();
    let log = logged(|| {
        t.hello(ClientId(1), BGP, 0, false);
        capable(&mut t, ClientId(1), 3600, t0);
        t.closed(ClientId(1), t0);
        assert_eq!(t.next_deadline(), Some(at(t0, 3600)));
    });
    assert!(!log.contains("capped"), "{log}");
    assert_eq!(MAX_STALE_TIME, Duration::from_secs(3600));
}

#[test]
fn a_recovered_stale_time_is_capped_too() {
    let t0 = Instant::now();
    let mut t = GrTable::default();
    // Unbounded, `now + stale_time` would overflow the clock (a panic).
    t.recover(BGP, 0, ClientId(0), Duration::MAX, t0);
    assert_eq!(t.next_deadline(), Some(t0 + MAX_STALE_TIME));
}
