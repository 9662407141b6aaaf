//! Graceful restart through the core: what the embedder sees when a GR-capable bgpd restarts,
//! when one without GR closes, and when routes recovered from an earlier run are taken over.

use super::*;
use crate::gr::{Family, SweepCause, DEFAULT_SETTLE};

const BGP: u8 = 9;

fn net(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

fn path(gw: &str, metric: u32) -> RoutePath {
    RoutePath {
        gateway: Some(gw.parse().unwrap()),
        ifindex: Some(5),
        distance: 20,
        metric,
        weight: 1,
    }
}

fn events(out: &[Output]) -> Vec<ServerEvent> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

fn route_events(out: &[Output]) -> Vec<RouteEvent> {
    let mut v: Vec<RouteEvent> = events(out)
        .into_iter()
        .filter_map(|e| match e {
            ServerEvent::Route(r) => Some(r),
            _ => None,
        })
        .collect();
    v.sort_by_key(|r| r.prefix());
    v
}

fn withdraw(p: &str) -> RouteEvent {
    RouteEvent::Withdraw { prefix: net(p) }
}

struct Bgpd<'a> {
    core: &'a mut ServerCore,
    id: ClientId,
    now: Instant,
}

impl Bgpd<'_> {
    fn send(&mut self, r: Request) -> Vec<Output> {
        let mut out = Vec::new();
        self.core.handle_request(self.id, r, self.now, &mut out);
        out
    }

    fn route(&mut self, p: &str, paths: Vec<RoutePath>) -> Vec<Output> {
        self.send(Request::RouteAdd {
            prefix: net(p),
            paths,
        })
    }

    fn gr(&mut self, m: GrMessage) -> Vec<Output> {
        self.send(Request::ClientCapability(m))
    }

    fn close(&mut self) -> Vec<Output> {
        let mut out = Vec::new();
        self.core
            .client_closed(self.id, CloseReason::PeerClosed, self.now, &mut out);
        out
    }
}

/// Connects a bgpd (HELLO 9/0) and, with `stale_time`, declares GR.
fn connect(core: &mut ServerCore, now: Instant, stale_time: Option<u32>) -> ClientId {
    let mut out = Vec::new();
    let id = core.client_connected(&mut out);
    core.set_client_profile(id, Profile::Frr84);
    let mut b = Bgpd { core, id, now };
    b.send(Request::Hello {
        proto: BGP,
        instance: 0,
        synchronous: false,
    });
    if let Some(t) = stale_time {
        // What bgpd 8.4.4 sends: RIB_STALE_TIME, then GR_CAPABILITIES.
        b.gr(GrMessage::StaleTime {
            stale_time: t,
            vrf_id: 0,
        });
        b.gr(GrMessage::Capable {
            stale_time: t,
            vrf_id: 0,
        });
    }
    id
}

fn pending(afi: u32) -> GrMessage {
    GrMessage::UpdatePending {
        afi,
        safi: 1,
        vrf_id: 0,
    }
}

fn complete(afi: u32) -> GrMessage {
    GrMessage::UpdateComplete {
        afi,
        safi: 1,
        vrf_id: 0,
    }
}

/// Learns four routes from a GR-capable bgpd (stale time 120 s) and closes it at `t0`.
fn learned_and_closed(c: &mut ServerCore, t0: Instant) {
    let id = connect(c, t0, Some(120));
    let mut b = Bgpd {
        core: c,
        id,
        now: t0,
    };
    for p in ["198.51.100.0/25", "198.51.100.128/25", "203.0.113.0/24"] {
        assert_eq!(
            route_events(&b.route(p, vec![path("192.0.2.2", 0)])).len(),
            1
        );
    }
    assert_eq!(
        route_events(&b.route("2001:db8:100::/48", vec![path("2001:db8::2", 0)])).len(),
        1
    );
    let out = b.close();
    assert!(route_events(&out).is_empty(), "{out:?}");
}

#[test]
fn a_gr_restart_shows_only_real_changes() {
    let t0 = Instant::now();
    let mut c = ServerCore::new(CoreConfig::default());
    learned_and_closed(&mut c, t0);
    assert_eq!(c.route_count(), 4);
    assert_eq!(c.client_count(), 0);
    assert_eq!(c.next_deadline(), Some(t0 + Duration::from_secs(120)));

    let t1 = t0 + Duration::from_secs(3);
    let id = connect(&mut c, t1, Some(120));
    let mut b = Bgpd {
        core: &mut c,
        id,
        now: t1,
    };
    assert!(b.gr(pending(1)).is_empty());
    // Same paths: nothing. Changed paths: one Replace.
    assert!(route_events(&b.route("198.51.100.0/25", vec![path("192.0.2.2", 0)])).is_empty());
    assert_eq!(
        route_events(&b.route("198.51.100.128/25", vec![path("192.0.2.3", 0)])),
        vec![RouteEvent::Replace {
            prefix: net("198.51.100.128/25"),
            paths: vec![path("192.0.2.3", 0)]
        }]
    );
    // COMPLETE for IPv4: the IPv4 route that did not come back goes, once; IPv6 waits.
    let out = b.gr(complete(1));
    assert_eq!(route_events(&out), vec![withdraw("203.0.113.0/24")]);
    assert!(events(&out).contains(&ServerEvent::StaleRoutesSwept {
        family: Some(Family::Ipv4),
        withdrawn: 1,
        cause: SweepCause::UpdateComplete
    }));
    // COMPLETE for IPv6 without PENDING sweeps nothing yet (bgpd did not defer IPv6).
    assert!(route_events(&b.gr(complete(2))).is_empty());
    // The IPv6 route comes back after it, unchanged: nothing.
    assert!(route_events(&b.route("2001:db8:100::/48", vec![path("2001:db8::2", 0)])).is_empty());
    // The settle period ends: nothing is left to withdraw.
    assert_eq!(c.next_deadline(), Some(t1 + DEFAULT_SETTLE));
    let mut out = Vec::new();
    c.handle_timeout(t1 + DEFAULT_SETTLE, &mut out);
    assert_eq!(
        events(&out),
        vec![ServerEvent::StaleRoutesSwept {
            family: Some(Family::Ipv6),
            withdrawn: 0,
            cause: SweepCause::UpdateCompleteSettled
        }]
    );
    // Nor at the end of the stale time.
    let mut out = Vec::new();
    c.handle_timeout(t0 + Duration::from_secs(120), &mut out);
    assert!(route_events(&out).is_empty());
    assert_eq!(
        events(&out),
        vec![ServerEvent::StaleRoutesSwept {
            family: None,
            withdrawn: 0,
            cause: SweepCause::StaleTimeExpired
        }]
    );
    assert_eq!(c.route_count(), 3);
    assert_eq!(c.next_deadline(), None);
}

#[test]
fn routes_not_back_by_the_stale_time_are_withdrawn_once() {
    let t0 = Instant::now();
    let mut c = ServerCore::new(CoreConfig::default());
    learned_and_closed(&mut c, t0);
    // bgpd does not come back at all.
    let mut out = Vec::new();
    c.handle_timeout(t0 + Duration::from_secs(119), &mut out);
    assert!(out.is_empty());
    c.handle_timeout(t0 + Duration::from_secs(120), &mut out);
    assert_eq!(
        route_events(&out),
        vec![
            withdraw("198.51.100.0/25"),
            withdraw("198.51.100.128/25"),
            withdraw("203.0.113.0/24"),
            withdraw("2001:db8:100::/48"),
        ]
    );
    assert_eq!(c.route_count(), 0);
    let mut again = Vec::new();
    c.handle_timeout(t0 + Duration::from_secs(500), &mut again);
    assert!(again.is_empty());
}

#[test]
fn without_gr_routes_are_withdrawn_at_once() {
    let t0 = Instant::now();
    let mut c = ServerCore::new(CoreConfig::default());
    // RIB_STALE_TIME alone (no GR_CAPABILITIES) does not make a client GR-capable.
    let id = connect(&mut c, t0, None);
    let mut b = Bgpd {
        core: &mut c,
        id,
        now: t0,
    };
    b.gr(GrMessage::StaleTime {
        stale_time: 120,
        vrf_id: 0,
    });
    b.route("203.0.113.0/24", vec![path("192.0.2.2", 0)]);
    let out = b.close();
    assert_eq!(route_events(&out), vec![withdraw("203.0.113.0/24")]);
    assert_eq!(c.next_deadline(), None);
}

#[test]
fn gr_disable_withdraws_stale_routes_and_later_closes_withdraw_at_once() {
    let t0 = Instant::now();
    let mut c = ServerCore::new(CoreConfig::default());
    learned_and_closed(&mut c, t0);
    let id = connect(&mut c, t0, Some(120));
    let mut b = Bgpd {
        core: &mut c,
        id,
        now: t0,
    };
    b.route("203.0.113.0/24", vec![path("192.0.2.2", 0)]);
    let out = b.gr(GrMessage::Disable { vrf_id: 0 });
    assert_eq!(
        route_events(&out),
        vec![
            withdraw("198.51.100.0/25"),
            withdraw("198.51.100.128/25"),
            withdraw("2001:db8:100::/48"),
        ]
    );
    let out = b.close();
    assert_eq!(route_events(&out), vec![withdraw("203.0.113.0/24")]);
    assert_eq!(c.route_count(), 0);
}

#[test]
fn gr_takes_precedence_over_withdraw_grace_and_each_keeps_its_own_routes() {
    let t0 = Instant::now();
    let mut c = ServerCore::new(CoreConfig {
        withdraw_grace: Some(Duration::from_secs(10)),
        ..CoreConfig::default()
    });
    // A Quagga-style client (no GR) under withdraw_grace, and a GR bgpd with another instance.
    let mut out = Vec::new();
    let q = c.client_connected(&mut out);
    c.set_client_profile(q, Profile::QuaggaV3);
    c.handle_request(
        q,
        Request::RouteAdd {
            prefix: net("192.0.2.128/25"),
            paths: vec![path("192.0.2.2", 0)],
        },
        t0,
        &mut out,
    );
    learned_and_closed(&mut c, t0);
    c.client_closed(q, CloseReason::PeerClosed, t0, &mut out);
    assert_eq!(c.next_deadline(), Some(t0 + Duration::from_secs(10)));
    let mut out = Vec::new();
    c.handle_timeout(t0 + Duration::from_secs(10), &mut out);
    // Only the non-GR client's route goes at the grace; the GR routes wait for their stale time.
    assert_eq!(route_events(&out), vec![withdraw("192.0.2.128/25")]);
    assert!(events(&out).contains(&ServerEvent::GraceExpired { withdrawn: 1 }));
    assert_eq!(c.route_count(), 4);
    assert_eq!(c.next_deadline(), Some(t0 + Duration::from_secs(120)));
}

#[test]
fn recovered_routes_survive_a_controller_restart_without_flap() {
    let t0 = Instant::now();
    let mut c = ServerCore::new(CoreConfig::default());
    let held = c.recover_routes(
        BGP,
        0,
        vec![
            (net("198.51.100.0/25"), vec![path("192.0.2.2", 0)]),
            (net("198.51.100.128/25"), vec![path("192.0.2.2", 0)]),
            (net("203.0.113.7/24"), vec![path("192.0.2.2", 0)]),
            (net("2001:db8:100::/48"), vec![]),
        ],
        Duration::from_secs(60),
        t0,
    );
    assert_eq!(held, 3, "a route without paths is not held");
    assert_eq!(c.route_count(), 3);
    assert_eq!(c.next_deadline(), Some(t0 + Duration::from_secs(60)));

    let id = connect(&mut c, t0, Some(500));
    let mut b = Bgpd {
        core: &mut c,
        id,
        now: t0,
    };
    b.gr(pending(1));
    assert!(route_events(&b.route("198.51.100.0/25", vec![path("192.0.2.2", 0)])).is_empty());
    assert_eq!(
        route_events(&b.route("198.51.100.128/25", vec![path("192.0.2.2", 9)])).len(),
        1
    );
    assert_eq!(
        route_events(&b.gr(complete(1))),
        vec![withdraw("203.0.113.0/24")]
    );
    // The new bgpd is GR-capable in its own right (stale time 500 s).
    let out = b.close();
    assert!(route_events(&out).is_empty(), "{out:?}");
    let mut out = Vec::new();
    c.handle_timeout(t0 + Duration::from_secs(60), &mut out);
    assert!(route_events(&out).is_empty());
    assert_eq!(c.next_deadline(), Some(t0 + Duration::from_secs(500)));
}

#[test]
fn a_route_delete_during_the_restart_withdraws_at_once() {
    let t0 = Instant::now();
    let mut c = ServerCore::new(CoreConfig::default());
    learned_and_closed(&mut c, t0);
    let id = connect(&mut c, t0, Some(120));
    let mut b = Bgpd {
        core: &mut c,
        id,
        now: t0,
    };
    let out = b.send(Request::RouteDelete {
        prefix: net("203.0.113.0/24"),
    });
    assert_eq!(route_events(&out), vec![withdraw("203.0.113.0/24")]);
    assert_eq!(c.route_count(), 3);
}

#[test]
fn a_prefix_withdrawn_while_bgpd_was_down_goes_at_the_end_of_the_settle_period() {
    // bgpd 10.3 next to a young provider: COMPLETE at Established without PENDING, then the
    // routes that are still there; the one the provider withdrew meanwhile never comes back.
    let t0 = Instant::now();
    let mut c = ServerCore::new(CoreConfig::default());
    learned_and_closed(&mut c, t0);
    let t1 = t0 + Duration::from_secs(2);
    let id = connect(&mut c, t1, Some(120));
    let mut b = Bgpd {
        core: &mut c,
        id,
        now: t1,
    };
    for afi in [1, 2] {
        assert!(route_events(&b.gr(complete(afi))).is_empty());
    }
    b.now = t1 + Duration::from_secs(1);
    for p in ["198.51.100.0/25", "198.51.100.128/25"] {
        assert!(route_events(&b.route(p, vec![path("192.0.2.2", 0)])).is_empty());
    }
    assert!(route_events(&b.route("2001:db8:100::/48", vec![path("2001:db8::2", 0)])).is_empty());
    let mut out = Vec::new();
    c.handle_timeout(t1 + DEFAULT_SETTLE - Duration::from_millis(1), &mut out);
    assert!(out.is_empty(), "{out:?}");
    c.handle_timeout(t1 + DEFAULT_SETTLE, &mut out);
    assert_eq!(route_events(&out), vec![withdraw("203.0.113.0/24")]);
    assert_eq!(c.route_count(), 3);
    // Each family once; the stale time later finds nothing.
    let mut out = Vec::new();
    c.handle_timeout(t0 + Duration::from_secs(120), &mut out);
    assert!(route_events(&out).is_empty(), "{out:?}");
}

#[test]
fn a_client_reconnecting_again_and_again_keeps_one_restart_per_prefix_owner() {
    // A GR-capable bgpd that connects, re-announces one prefix and closes, 200 times within
    // its stale time: every earlier restart's route was taken over by the next connection, so
    // only the newest restart is left — and the first one, whose other prefix nobody
    // re-announced, until its own stale time ends.
    let t0 = Instant::now();
    let mut c = ServerCore::new(CoreConfig::default());
    let id = connect(&mut c, t0, Some(120));
    let mut b = Bgpd {
        core: &mut c,
        id,
        now: t0,
    };
    for p in ["198.51.100.0/24", "203.0.113.0/24"] {
        assert_eq!(
            route_events(&b.route(p, vec![path("192.0.2.2", 0)])).len(),
            1
        );
    }
    assert!(route_events(&b.close()).is_empty());
    for i in 1..=200u64 {
        let now = t0 + Duration::from_millis(100 * i);
        let id = connect(&mut c, now, Some(120));
        let mut b = Bgpd {
            core: &mut c,
            id,
            now,
        };
        // Same paths: nothing changes for the embedder.
        assert!(route_events(&b.route("198.51.100.0/24", vec![path("192.0.2.2", 0)])).is_empty());
        assert!(route_events(&b.close()).is_empty());
        let earlier = c.gr.earlier_restart_owners();
        assert!(earlier.len() <= 1, "restart {i}: {earlier:?}");
    }
    // The first connection's restart is still there (203.0.113.0/24 is its, still stale) and
    // ends at its own deadline, withdrawing only that prefix.
    assert_eq!(c.next_deadline(), Some(t0 + Duration::from_secs(120)));
    let mut out = Vec::new();
    c.handle_timeout(t0 + Duration::from_secs(120), &mut out);
    assert_eq!(route_events(&out), vec![withdraw("203.0.113.0/24")]);
    assert!(c.gr.earlier_restart_owners().is_empty());
    // The last connection's route goes at the end of its stale time.
    let last = t0 + Duration::from_millis(100 * 200) + Duration::from_secs(120);
    assert_eq!(c.next_deadline(), Some(last));
    let mut out = Vec::new();
    c.handle_timeout(last, &mut out);
    assert_eq!(route_events(&out), vec![withdraw("198.51.100.0/24")]);
    assert_eq!(c.next_deadline(), None);
}
