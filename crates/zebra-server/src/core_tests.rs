use super::*;
use crate::nht::{route_type, ResolvedNexthop};
use crate::types::iff;

fn net(s: &str) -> IpNetwork {
    s.parse().unwrap()
}

fn host(s: &str) -> IpNetwork {
    IpNetwork::from(s.parse::<IpAddr>().unwrap())
}

fn ifs() -> Vec<Interface> {
    vec![
        Interface::loopback(1, vec![net("127.0.0.1/8")]),
        Interface::ethernet(
            "veth0",
            5,
            [2, 0, 0, 0, 0, 5],
            1500,
            vec![net("192.0.2.1/24"), net("2001:db8::1/64")],
        ),
    ]
}

fn core_with(cfg: CoreConfig) -> (ServerCore, ClientId, Vec<Output>) {
    let mut core = ServerCore::new(cfg);
    let mut out = Vec::new();
    let id = core.client_connected(&mut out);
    core.set_client_profile(id, Profile::Frr84);
    (core, id, out)
}

/// Another FRR 8.4 client on `core`.
fn connect(core: &mut ServerCore, out: &mut Vec<Output>) -> ClientId {
    let id = core.client_connected(out);
    core.set_client_profile(id, Profile::Frr84);
    id
}

fn core() -> (ServerCore, ClientId) {
    let (c, id, _) = core_with(CoreConfig {
        interfaces: ifs(),
        ..CoreConfig::default()
    });
    (c, id)
}

fn req(core: &mut ServerCore, id: ClientId, r: Request) -> Vec<Output> {
    let mut out = Vec::new();
    core.handle_request(id, r, Instant::now(), &mut out);
    out
}

fn sends(out: &[Output]) -> Vec<Reply> {
    out.iter()
        .filter_map(|o| match o {
            Output::Send { reply, .. } => Some(reply.clone()),
            _ => None,
        })
        .collect()
}

fn events(out: &[Output]) -> Vec<ServerEvent> {
    out.iter()
        .filter_map(|o| match o {
            Output::Event(e) => Some(e.clone()),
            _ => None,
        })
        .collect()
}

fn reg(p: &str, connected: bool, rvd: bool) -> NhtRegistration {
    NhtRegistration {
        prefix: if p.contains('/') { net(p) } else { host(p) },
        connected,
        resolve_via_default: rvd,
        safi: 1,
    }
}

fn path(gw: &str, ifindex: u32) -> RoutePath {
    RoutePath {
        gateway: Some(gw.parse().unwrap()),
        ifindex: Some(ifindex),
        distance: 20,
        metric: 0,
        weight: 1,
    }
}

#[test]
fn hello_gets_capabilities_unless_synchronous() {
    let (mut c, id) = core();
    let out = req(
        &mut c,
        id,
        Request::Hello {
            proto: 9,
            instance: 0,
            synchronous: false,
        },
    );
    assert_eq!(sends(&out), vec![Reply::Capabilities]);
    assert!(matches!(
        events(&out)[0],
        ServerEvent::ClientHello { proto: 9, .. }
    ));
    let out = req(
        &mut c,
        id,
        Request::Hello {
            proto: 9,
            instance: 0,
            synchronous: true,
        },
    );
    assert!(sends(&out).is_empty());
}

#[test]
fn quagga_hello_gets_no_capabilities() {
    let (mut c, id) = core();
    c.set_client_profile(id, Profile::QuaggaV3);
    let out = req(
        &mut c,
        id,
        Request::Hello {
            proto: 9,
            instance: 0,
            synchronous: false,
        },
    );
    assert!(sends(&out).is_empty());
}

#[test]
fn interface_request_lists_every_interface_then_its_addresses() {
    let (mut c, id) = core();
    let out = req(&mut c, id, Request::InterfaceRequest);
    let s = sends(&out);
    assert_eq!(s.len(), 5);
    assert!(matches!(&s[0], Reply::InterfaceAdd(i) if i.name == "lo"));
    assert_eq!(
        s[1],
        Reply::AddressAdd {
            ifindex: 1,
            address: net("127.0.0.1/8")
        }
    );
    assert!(matches!(&s[2], Reply::InterfaceAdd(i) if i.ifindex == 5 && i.mtu == 1500));
    assert_eq!(
        s[3],
        Reply::AddressAdd {
            ifindex: 5,
            address: net("192.0.2.1/24")
        }
    );
    assert_eq!(
        s[4],
        Reply::AddressAdd {
            ifindex: 5,
            address: net("2001:db8::1/64")
        }
    );
}

#[test]
fn router_id_is_configured_or_derived_and_updates_reach_those_who_asked() {
    let (mut c, id) = core();
    // Derived: no loopback address outside 127/8, so the highest other address.
    let out = req(&mut c, id, Request::RouterIdAdd { afi: 1 });
    assert_eq!(
        sends(&out),
        vec![Reply::RouterIdUpdate("192.0.2.1".parse().unwrap())]
    );
    // IPv6 router id: not served.
    assert!(sends(&req(&mut c, id, Request::RouterIdAdd { afi: 2 })).is_empty());
    let mut out = Vec::new();
    let other = connect(&mut c, &mut out);
    c.set_router_id(Some("198.51.100.7".parse().unwrap()), &mut out);
    let s: Vec<_> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send { client, reply } => Some((*client, reply.clone())),
            _ => None,
        })
        .collect();
    assert_eq!(
        s,
        vec![(id, Reply::RouterIdUpdate("198.51.100.7".parse().unwrap()))]
    );
    let _ = other;
    // Same id again: nothing.
    let mut out = Vec::new();
    c.set_router_id(Some("198.51.100.7".parse().unwrap()), &mut out);
    assert!(out.is_empty());
    // A loopback address beats interface addresses when deriving.
    let mut out = Vec::new();
    c.set_router_id(None, &mut out);
    let mut with_lo = ifs();
    with_lo[0].addresses.push(net("203.0.113.9/32"));
    let mut out = Vec::new();
    c.set_interfaces(with_lo, &mut out);
    assert!(sends(&out).contains(&Reply::RouterIdUpdate("203.0.113.9".parse().unwrap())));
}

#[test]
fn no_router_id_means_no_update() {
    let (mut c, id, _) = core_with(CoreConfig::default());
    assert!(sends(&req(&mut c, id, Request::RouterIdAdd { afi: 1 })).is_empty());
}

#[test]
fn every_registration_entry_gets_an_immediate_answer() {
    let (mut c, id) = core();
    let out = req(
        &mut c,
        id,
        Request::NexthopRegister(vec![
            reg("192.0.2.2", true, false),
            reg("2001:db8::2", true, false),
            reg("198.51.100.1", false, false),
        ]),
    );
    let s = sends(&out);
    assert_eq!(s.len(), 3);
    match &s[0] {
        Reply::NexthopUpdate {
            target,
            resolved: Some(r),
            safi: 1,
        } => {
            assert_eq!(*target, host("192.0.2.2"));
            assert_eq!(r.prefix, net("192.0.2.0/24"));
            assert_eq!(r.route_type, route_type::CONNECT);
            assert_eq!(r.nexthops, vec![ResolvedNexthop::Interface(5)]);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(&s[1], Reply::NexthopUpdate { resolved: Some(r), .. } if r.prefix == net("2001:db8::/64"))
    );
    assert!(matches!(&s[2], Reply::NexthopUpdate { resolved: None, .. }));
    assert_eq!(c.registrations(id).len(), 3);
    // Re-registering answers again (zebra does).
    let out = req(
        &mut c,
        id,
        Request::NexthopRegister(vec![reg("192.0.2.2", true, false)]),
    );
    assert_eq!(sends(&out).len(), 1);
    assert_eq!(c.registrations(id).len(), 3);
}

#[test]
fn registrations_are_re_answered_when_resolution_changes_and_not_otherwise() {
    let (mut c, id) = core();
    req(
        &mut c,
        id,
        Request::NexthopRegister(vec![
            reg("192.0.2.2", true, false),
            reg("198.51.100.1", false, true),
            reg("203.0.113.0/24", false, true),
        ]),
    );
    // A default route: only the resolve_via_default registration changes.
    let mut out = Vec::new();
    c.set_extra_routes(
        vec![ExtraRoute::via(
            net("0.0.0.0/0"),
            "192.0.2.254".parse().unwrap(),
        )],
        &mut out,
    );
    let s = sends(&out);
    assert_eq!(s.len(), 2, "{s:?}");
    assert!(s.iter().all(|r| matches!(r, Reply::NexthopUpdate { resolved: Some(x), .. } if x.prefix == net("0.0.0.0/0"))));
    // Same routes again: nothing.
    let mut out = Vec::new();
    c.set_extra_routes(
        vec![ExtraRoute::via(
            net("0.0.0.0/0"),
            "192.0.2.254".parse().unwrap(),
        )],
        &mut out,
    );
    assert!(out.is_empty());
    // The interface goes down: everything becomes unresolved (the gateway too).
    let mut down = ifs();
    down[1].flags &= !iff::UP;
    let mut out = Vec::new();
    c.set_interfaces(down, &mut out);
    let nht: Vec<_> = sends(&out)
        .into_iter()
        .filter(|r| matches!(r, Reply::NexthopUpdate { .. }))
        .collect();
    assert_eq!(nht.len(), 3);
    assert!(nht
        .iter()
        .all(|r| matches!(r, Reply::NexthopUpdate { resolved: None, .. })));
    // Unregistered entries are no longer answered.
    req(
        &mut c,
        id,
        Request::NexthopUnregister(vec![reg("192.0.2.2", true, false)]),
    );
    let mut out = Vec::new();
    c.set_interfaces(ifs(), &mut out);
    let nht = sends(&out)
        .into_iter()
        .filter(|r| matches!(r, Reply::NexthopUpdate { .. }))
        .count();
    assert_eq!(nht, 2);
}

#[test]
fn network_import_check_resolves_exactly_only_with_a_matching_route() {
    let (mut c, id) = core();
    let mut out = Vec::new();
    c.set_extra_routes(vec![ExtraRoute::blackhole(net("203.0.113.0/24"))], &mut out);
    let out = req(
        &mut c,
        id,
        Request::NexthopRegister(vec![
            reg("203.0.113.0/24", false, true),
            reg("198.51.100.0/24", false, true),
        ]),
    );
    let s = sends(&out);
    assert!(
        matches!(&s[0], Reply::NexthopUpdate { resolved: Some(r), .. }
        if r.prefix == net("203.0.113.0/24") && r.nexthops == vec![ResolvedNexthop::Blackhole])
    );
    assert!(matches!(&s[1], Reply::NexthopUpdate { resolved: None, .. }));
}

#[test]
fn quagga_lookup_is_answered_like_nht() {
    let (mut c, id) = core();
    let out = req(
        &mut c,
        id,
        Request::Ipv4NexthopLookup("192.0.2.9".parse().unwrap()),
    );
    assert!(
        matches!(&sends(&out)[0], Reply::Ipv4NexthopLookupReply { resolved: Some(r), .. }
        if r.nexthops == vec![ResolvedNexthop::Interface(5)])
    );
    let out = req(
        &mut c,
        id,
        Request::Ipv4NexthopLookup("198.51.100.9".parse().unwrap()),
    );
    assert!(matches!(
        &sends(&out)[0],
        Reply::Ipv4NexthopLookupReply { resolved: None, .. }
    ));
}

#[test]
fn routes_become_replace_and_withdraw_events() {
    let (mut c, id) = core();
    let out = req(
        &mut c,
        id,
        Request::RouteAdd {
            prefix: net("198.51.100.1/24"),
            paths: vec![path("192.0.2.2", 5), path("192.0.2.3", 5)],
        },
    );
    assert_eq!(
        events(&out),
        vec![ServerEvent::Route(RouteEvent::Replace {
            prefix: net("198.51.100.0/24"),
            paths: vec![path("192.0.2.2", 5), path("192.0.2.3", 5)],
        })]
    );
    // Identical repeat: no event. Changed path set: Replace.
    let again = req(
        &mut c,
        id,
        Request::RouteAdd {
            prefix: net("198.51.100.0/24"),
            paths: vec![path("192.0.2.3", 5), path("192.0.2.2", 5)],
        },
    );
    assert!(events(&again).is_empty());
    let changed = req(
        &mut c,
        id,
        Request::RouteAdd {
            prefix: net("198.51.100.0/24"),
            paths: vec![path("192.0.2.3", 5)],
        },
    );
    assert_eq!(events(&changed).len(), 1);
    let v6 = req(
        &mut c,
        id,
        Request::RouteAdd {
            prefix: net("2001:db8:1::/48"),
            paths: vec![path("fe80::2", 5)],
        },
    );
    assert_eq!(events(&v6).len(), 1);
    assert_eq!(c.route_count(), 2);
    let out = req(
        &mut c,
        id,
        Request::RouteDelete {
            prefix: net("198.51.100.0/24"),
        },
    );
    assert_eq!(
        events(&out),
        vec![ServerEvent::Route(RouteEvent::Withdraw {
            prefix: net("198.51.100.0/24")
        })]
    );
    // Deleting an unknown prefix: nothing.
    let out = req(
        &mut c,
        id,
        Request::RouteDelete {
            prefix: net("198.51.100.0/24"),
        },
    );
    assert!(events(&out).is_empty());
    // No nexthops: ignored.
    let out = req(
        &mut c,
        id,
        Request::RouteAdd {
            prefix: net("203.0.113.0/24"),
            paths: vec![],
        },
    );
    assert!(out.is_empty());
}

#[test]
fn closing_withdraws_the_routes_of_that_client_and_reports_all_gone() {
    let (mut c, a) = core();
    let mut out = Vec::new();
    let b = connect(&mut c, &mut out);
    req(
        &mut c,
        a,
        Request::RouteAdd {
            prefix: net("198.51.100.0/24"),
            paths: vec![path("192.0.2.2", 5)],
        },
    );
    req(
        &mut c,
        b,
        Request::RouteAdd {
            prefix: net("203.0.113.0/24"),
            paths: vec![path("192.0.2.2", 5)],
        },
    );
    let mut out = Vec::new();
    c.client_closed(a, CloseReason::PeerClosed, Instant::now(), &mut out);
    assert_eq!(
        events(&out),
        vec![
            ServerEvent::Route(RouteEvent::Withdraw {
                prefix: net("198.51.100.0/24")
            }),
            ServerEvent::ClientGone {
                client: a,
                reason: CloseReason::PeerClosed
            },
        ]
    );
    let mut out = Vec::new();
    c.client_closed(b, CloseReason::PeerClosed, Instant::now(), &mut out);
    let ev = events(&out);
    assert_eq!(ev.len(), 3);
    assert_eq!(ev[2], ServerEvent::AllClientsGone);
    assert_eq!(c.route_count(), 0);
    // Requests for a closed client are ignored.
    assert!(req(&mut c, a, Request::InterfaceRequest).is_empty());
}

#[test]
fn grace_keeps_refreshed_routes_and_withdraws_the_rest() {
    let (mut c, a, _) = core_with(CoreConfig {
        interfaces: ifs(),
        withdraw_grace: Some(Duration::from_secs(30)),
        ..CoreConfig::default()
    });
    for p in ["198.51.100.0/24", "203.0.113.0/24"] {
        req(
            &mut c,
            a,
            Request::RouteAdd {
                prefix: net(p),
                paths: vec![path("192.0.2.2", 5)],
            },
        );
    }
    let t0 = Instant::now();
    let mut out = Vec::new();
    c.client_closed(a, CloseReason::PeerClosed, t0, &mut out);
    assert!(!events(&out)
        .iter()
        .any(|e| matches!(e, ServerEvent::Route(_))));
    assert_eq!(c.next_deadline(), Some(t0 + Duration::from_secs(30)));
    // bgpd comes back and refreshes one route unchanged: no event.
    let mut out = Vec::new();
    let b = connect(&mut c, &mut out);
    let out = req(
        &mut c,
        b,
        Request::RouteAdd {
            prefix: net("198.51.100.0/24"),
            paths: vec![path("192.0.2.2", 5)],
        },
    );
    assert!(events(&out).is_empty());
    // Too early: nothing.
    let mut out = Vec::new();
    c.handle_timeout(t0 + Duration::from_secs(1), &mut out);
    assert!(out.is_empty());
    let mut out = Vec::new();
    c.handle_timeout(t0 + Duration::from_secs(30), &mut out);
    assert_eq!(
        events(&out),
        vec![
            ServerEvent::Route(RouteEvent::Withdraw {
                prefix: net("203.0.113.0/24")
            }),
            ServerEvent::GraceExpired { withdrawn: 1 },
        ]
    );
    assert_eq!(c.next_deadline(), None);
    // The refreshed route now belongs to b and goes when b goes (grace again).
    let mut out = Vec::new();
    c.set_withdraw_grace(None);
    c.client_closed(b, CloseReason::PeerClosed, t0, &mut out);
    assert!(
        events(&out).contains(&ServerEvent::Route(RouteEvent::Withdraw {
            prefix: net("198.51.100.0/24")
        }))
    );
}

#[test]
fn interface_changes_are_announced_as_diffs() {
    let (mut c, id) = core();
    req(&mut c, id, Request::InterfaceRequest);
    let mut new = ifs();
    new[1].addresses = vec![net("192.0.2.1/25"), net("2001:db8::1/64")];
    new[1].mtu = 9000;
    new.push(Interface::ethernet(
        "veth1",
        9,
        [2, 0, 0, 0, 0, 9],
        1500,
        vec![net("198.51.100.1/24")],
    ));
    let mut out = Vec::new();
    c.set_interfaces(new.clone(), &mut out);
    let s = sends(&out);
    assert_eq!(
        s[0],
        Reply::AddressDelete {
            ifindex: 5,
            address: net("192.0.2.1/24")
        }
    );
    assert_eq!(s[1], Reply::InterfaceUp(new[1].clone()));
    assert_eq!(
        s[2],
        Reply::AddressAdd {
            ifindex: 5,
            address: net("192.0.2.1/25")
        }
    );
    assert_eq!(s[3], Reply::InterfaceAdd(new[2].clone()));
    assert_eq!(
        s[4],
        Reply::AddressAdd {
            ifindex: 9,
            address: net("198.51.100.1/24")
        }
    );
    // Router id derived from the highest address changes to 198.51.100.1, but this client did
    // not ask for it.
    assert!(!s.iter().any(|r| matches!(r, Reply::RouterIdUpdate(_))));
    // Remove veth1 and take veth0 down.
    let mut fewer = new[..2].to_vec();
    fewer[1].flags &= !iff::RUNNING;
    let mut out = Vec::new();
    c.set_interfaces(fewer.clone(), &mut out);
    let s = sends(&out);
    assert_eq!(
        s,
        vec![
            Reply::AddressDelete {
                ifindex: 9,
                address: net("198.51.100.1/24")
            },
            Reply::InterfaceDelete(new[2].clone()),
            Reply::InterfaceDown(fewer[1].clone()),
        ]
    );
}

#[test]
fn clients_that_did_not_ask_get_no_interface_updates() {
    let (mut c, _id) = core();
    let mut out = Vec::new();
    c.set_interfaces(vec![], &mut out);
    assert!(sends(&out).is_empty());
}

#[test]
fn duplicate_interfaces_and_addresses_are_dropped() {
    let mut dup = ifs();
    dup.push(dup[1].clone());
    dup[1].addresses.push(net("192.0.2.1/24"));
    let c = ServerCore::new(CoreConfig {
        interfaces: dup,
        ..CoreConfig::default()
    });
    assert_eq!(c.interfaces().len(), 2);
    assert_eq!(c.interfaces()[1].addresses.len(), 2);
}

#[test]
fn registration_limit_closes_the_client() {
    let (mut c, id, _) = core_with(CoreConfig {
        interfaces: ifs(),
        max_nht_per_client: 2,
        ..CoreConfig::default()
    });
    let out = req(
        &mut c,
        id,
        Request::NexthopRegister(vec![
            reg("192.0.2.2", true, false),
            reg("192.0.2.3", true, false),
            reg("192.0.2.4", true, false),
        ]),
    );
    assert!(out
        .iter()
        .any(|o| matches!(o, Output::Close { client, .. } if *client == id)));
    assert!(events(&out).contains(&ServerEvent::AllClientsGone));
    assert_eq!(c.client_count(), 0);
}

#[test]
fn route_table_limit_ignores_new_prefixes() {
    let (mut c, id, _) = core_with(CoreConfig {
        interfaces: ifs(),
        max_routes: 1,
        ..CoreConfig::default()
    });
    for p in ["198.51.100.0/24", "203.0.113.0/24"] {
        req(
            &mut c,
            id,
            Request::RouteAdd {
                prefix: net(p),
                paths: vec![path("192.0.2.2", 5)],
            },
        );
    }
    assert_eq!(c.route_prefixes(), vec![net("198.51.100.0/24")]);
    let stats = c.route_stats();
    assert_eq!((stats.received, stats.held, stats.refused), (2, 1, 1));
}

#[test]
fn refused_routes_are_counted_by_gateway_within_a_bound() {
    let (mut c, id, _) = core_with(CoreConfig {
        interfaces: ifs(),
        max_routes: 0,
        ..CoreConfig::default()
    });
    // More gateways than are told apart: the overflow is counted under `None`, with paths
    // that have no gateway.
    let gateways = RouteStats::MAX_GATEWAYS as u32 + 10;
    for g in 0..gateways {
        let gw = std::net::Ipv4Addr::from(0xc612_0000 + g).to_string();
        let out = req(
            &mut c,
            id,
            Request::RouteAdd {
                prefix: net("198.51.100.0/24"),
                paths: vec![path(&gw, 5)],
            },
        );
        assert!(events(&out).is_empty(), "a refused route makes no event");
    }
    let mut blackhole = path("192.0.2.2", 5);
    blackhole.gateway = None;
    req(
        &mut c,
        id,
        Request::RouteAdd {
            prefix: net("203.0.113.0/24"),
            paths: vec![blackhole],
        },
    );
    let stats = c.route_stats();
    assert_eq!(stats.refused, u64::from(gateways) + 1);
    assert_eq!(stats.held, 0);
    assert_eq!(stats.refused_by_gateway.len(), RouteStats::MAX_GATEWAYS);
    assert_eq!(stats.refused_by_gateway[0], (None, 12));
    assert_eq!(
        stats.refused_by_gateway.iter().map(|(_, n)| n).sum::<u64>(),
        stats.refused
    );
}

#[test]
fn unknown_and_ignored_commands_change_nothing() {
    let (mut c, id) = core();
    assert!(req(&mut c, id, Request::Unknown { command: 200 }).is_empty());
    assert!(req(&mut c, id, Request::Unknown { command: 200 }).is_empty());
    assert!(req(&mut c, id, Request::Ignored { command: 37 }).is_empty());
    assert_eq!(c.client_count(), 1);
}

#[test]
fn interface_unsubscribe_stops_interface_announcements() {
    let (mut c, id) = core();
    req(&mut c, id, Request::InterfaceRequest);
    // bgpd's deregistration: an empty INTERFACE_DELETE.
    assert!(req(&mut c, id, Request::InterfaceUnsubscribe).is_empty());
    let mut new = ifs();
    new[1].mtu = 9000;
    let mut out = Vec::new();
    c.set_interfaces(new, &mut out);
    assert!(
        sends(&out).is_empty(),
        "unsubscribed client still told: {out:?}"
    );
    // Subscribing again brings the full list back.
    assert!(!req(&mut c, id, Request::InterfaceRequest).is_empty());
}

#[test]
fn synchronous_label_manager_connect_is_answered() {
    let (mut c, id) = core();
    c.set_client_profile(id, Profile::Frr103);
    let out = req(
        &mut c,
        id,
        Request::Hello {
            proto: 10,
            instance: 0,
            synchronous: true,
        },
    );
    assert!(
        sends(&out).is_empty(),
        "no CAPABILITIES on a synchronous connection"
    );
    let out = req(
        &mut c,
        id,
        Request::LabelManagerConnect {
            proto: 10,
            instance: 0,
        },
    );
    assert_eq!(
        sends(&out),
        vec![Reply::LabelManagerConnected {
            proto: 10,
            instance: 0
        }]
    );
}

#[test]
fn a_grace_too_long_for_an_instant_keeps_routes_without_panicking() {
    let (mut c, a, _) = core_with(CoreConfig {
        interfaces: ifs(),
        withdraw_grace: Some(Duration::MAX),
        ..CoreConfig::default()
    });
    req(
        &mut c,
        a,
        Request::RouteAdd {
            prefix: net("198.51.100.0/24"),
            paths: vec![path("192.0.2.2", 5)],
        },
    );
    let mut out = Vec::new();
    c.client_closed(a, CloseReason::PeerClosed, Instant::now(), &mut out);
    assert!(!events(&out)
        .iter()
        .any(|e| matches!(e, ServerEvent::Route(_))));
    assert_eq!(c.next_deadline(), None);
    assert_eq!(c.route_count(), 1);
}
