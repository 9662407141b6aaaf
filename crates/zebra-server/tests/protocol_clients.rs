//! Scripted clients over the real Unix socket: Quagga v2 and v3 (golden bytes) and FRR 8.4
//! (frames built with zebra-proto), exercising hello, interfaces, NHT/lookup, routes, run-time
//! changes, malformed input and the withdrawal policy. No privileges needed.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::time::Duration;

use bytes::BytesMut;
use common::{net, Events};
use ipnetwork::IpNetwork;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::UnixStream;
use zebra_proto::{Message, NexthopRegistration, NexthopTarget, Profile, ZapiNexthop, ZapiRoute};
use zebra_server::{
    iff, CloseReason, ExtraRoute, Interface, RouteEvent, RoutePath, ServerConfig, ServerEvent,
    ZebraServer,
};

const T: Duration = Duration::from_secs(10);

fn interfaces() -> Vec<Interface> {
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

async fn server(
    dir: &tempfile::TempDir,
    tweak: impl FnOnce(&mut ServerConfig),
) -> (ZebraServer, Events) {
    let mut cfg = ServerConfig::new(dir.path().join("zserv.api"));
    cfg.interfaces = interfaces();
    tweak(&mut cfg);
    let (s, rx) = ZebraServer::start(cfg).await.unwrap();
    (s, Events::new(rx))
}

/// Reads one frame (any profile: the length is the first two bytes).
async fn frame(s: &mut UnixStream) -> Vec<u8> {
    let mut len = [0u8; 2];
    tokio::time::timeout(T, s.read_exact(&mut len))
        .await
        .expect("no frame within the timeout")
        .unwrap();
    let n = usize::from(u16::from_be_bytes(len));
    let mut rest = vec![0u8; n - 2];
    tokio::time::timeout(T, s.read_exact(&mut rest))
        .await
        .unwrap()
        .unwrap();
    let mut f = len.to_vec();
    f.extend(rest);
    f
}

/// Asserts nothing arrives within a short while.
async fn silent(s: &mut UnixStream) {
    let mut b = [0u8; 1];
    assert!(
        tokio::time::timeout(Duration::from_millis(300), s.read(&mut b))
            .await
            .is_err(),
        "unexpected data"
    );
}

async fn closed_by_server(s: &mut UnixStream) {
    let mut b = [0u8; 64];
    let n = tokio::time::timeout(T, s.read(&mut b)).await.unwrap();
    assert!(matches!(n, Ok(0) | Err(_)), "connection not closed: {n:?}");
}

fn frr(msg: &Message) -> Vec<u8> {
    let mut b = BytesMut::new();
    zebra_proto::encode(Profile::Frr84, 0, msg, &mut b).unwrap();
    b.to_vec()
}

fn decode_frr(f: &[u8]) -> Message {
    zebra_proto::decode(Profile::Frr84, f).unwrap().1
}

#[rustfmt::skip]
const V2_INTERFACE_VETH0: [u8; 65] = [
    0, 65, 255, 2, 0, 1,
    b'v', b'e', b't', b'h', b'0', 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
    0, 0, 0, 5,                       // ifindex
    1,                                // status: active
    0, 0, 0, 0, 0, 1, 0x10, 0x43,     // flags UP|BROADCAST|RUNNING|MULTICAST|LOWER_UP
    0, 0, 0, 0,                       // metric
    0, 0, 0x05, 0xdc,                 // mtu
    0, 0, 0x05, 0xdc,                 // mtu6
    0, 0, 0, 0,                       // bandwidth
    0, 0, 0, 6, 2, 0, 0, 0, 0, 5,     // hw_len + MAC
];

#[tokio::test]
async fn quagga_v2_client_hello_interfaces_lookup_and_routes() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, mut ev) = server(&dir, |_| {}).await;
    let mut s = UnixStream::connect(srv.socket_path()).await.unwrap();
    // HELLO (route type BGP): no CAPABILITIES in Quagga.
    s.write_all(&[0, 7, 255, 2, 0, 23, 9]).await.unwrap();
    silent(&mut s).await;
    // INTERFACE_ADD request.
    s.write_all(&[0, 6, 255, 2, 0, 1]).await.unwrap();
    let lo = frame(&mut s).await;
    assert_eq!(&lo[..8], &[0, 65, 255, 2, 0, 1, b'l', b'o']);
    let lo_addr = frame(&mut s).await;
    assert_eq!(
        lo_addr,
        vec![0, 21, 255, 2, 0, 3, 0, 0, 0, 1, 0, 2, 127, 0, 0, 1, 8, 0, 0, 0, 0]
    );
    assert_eq!(frame(&mut s).await, V2_INTERFACE_VETH0.to_vec());
    assert_eq!(
        frame(&mut s).await,
        vec![0, 21, 255, 2, 0, 3, 0, 0, 0, 5, 0, 2, 192, 0, 2, 1, 24, 0, 0, 0, 0]
    );
    let v6 = frame(&mut s).await;
    assert_eq!(&v6[..12], &[0, 45, 255, 2, 0, 3, 0, 0, 0, 5, 0, 10]);
    // ROUTER_ID_ADD: the derived router id 192.0.2.1/32.
    s.write_all(&[0, 6, 255, 2, 0, 20]).await.unwrap();
    assert_eq!(
        frame(&mut s).await,
        vec![0, 12, 255, 2, 0, 22, 2, 192, 0, 2, 1, 32]
    );
    // IPV4_NEXTHOP_LOOKUP 192.0.2.2: connected via ifindex 5.
    s.write_all(&[0, 10, 255, 2, 0, 15, 192, 0, 2, 2])
        .await
        .unwrap();
    assert_eq!(
        frame(&mut s).await,
        vec![0, 20, 255, 2, 0, 15, 192, 0, 2, 2, 0, 0, 0, 0, 1, 1, 0, 0, 0, 5]
    );
    // IPV4_NEXTHOP_LOOKUP 198.51.100.1: unreachable (no nexthops).
    s.write_all(&[0, 10, 255, 2, 0, 15, 198, 51, 100, 1])
        .await
        .unwrap();
    assert_eq!(
        frame(&mut s).await,
        vec![0, 15, 255, 2, 0, 15, 198, 51, 100, 1, 0, 0, 0, 0, 0]
    );
    // IPV4_ROUTE_ADD 198.51.100.0/24 via 192.0.2.2, distance 20, metric 5.
    #[rustfmt::skip]
    let add = [
        0, 26, 255, 2, 0, 7,
        9, 0, 0x0d, 0, 1, 24, 198, 51, 100,
        1, 3, 192, 0, 2, 2,
        20, 0, 0, 0, 5,
    ];
    s.write_all(&add).await.unwrap();
    let expected = RouteEvent::Replace {
        prefix: net("198.51.100.0/24"),
        paths: vec![RoutePath {
            gateway: Some("192.0.2.2".parse().unwrap()),
            ifindex: None,
            distance: 20,
            metric: 5,
            weight: 1,
        }],
    };
    assert!(
        ev.wait_for(T, |e| *e == ServerEvent::Route(expected.clone()))
            .await,
        "{:?}",
        ev.seen
    );
    // IPV6_ROUTE_ADD 2001:db8:100::/48 via fe80::2 on ifindex 5 (gates, then ifindexes).
    #[rustfmt::skip]
    let add6 = [
        0, 42, 255, 2, 0, 9,
        9, 0, 0x07, 0, 1, 48, 0x20, 0x01, 0x0d, 0xb8, 0x01, 0x00,
        2,
        6, 0xfe, 0x80, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 2,
        1, 0, 0, 0, 5,
        20,
    ];
    s.write_all(&add6).await.unwrap();
    let v6p = net("2001:db8:100::/48");
    assert!(
        ev.wait_for(T, |e| matches!(e, ServerEvent::Route(RouteEvent::Replace { prefix, paths })
            if *prefix == v6p && paths[0].gateway == Some("fe80::2".parse().unwrap()) && paths[0].ifindex == Some(5)))
            .await,
        "{:?}",
        ev.seen
    );
    // IPV4_ROUTE_DELETE 198.51.100.0/24.
    s.write_all(&[0, 15, 255, 2, 0, 8, 9, 0, 0, 0, 1, 24, 198, 51, 100])
        .await
        .unwrap();
    assert!(
        ev.wait_for(T, |e| *e
            == ServerEvent::Route(RouteEvent::Withdraw {
                prefix: net("198.51.100.0/24")
            }))
        .await
    );
    // Closing the connection withdraws the rest.
    drop(s);
    assert!(
        ev.wait_for(T, |e| *e == ServerEvent::AllClientsGone).await,
        "{:?}",
        ev.seen
    );
    assert!(ev.table().is_empty());
    srv.shutdown().await;
}

#[tokio::test]
async fn quagga_v3_client_nht_and_routes() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, mut ev) = server(&dir, |_| {}).await;
    let mut s = UnixStream::connect(srv.socket_path()).await.unwrap();
    s.write_all(&[0, 9, 255, 3, 0, 0, 0, 23, 9]).await.unwrap();
    silent(&mut s).await;
    s.write_all(&[0, 8, 255, 3, 0, 0, 0, 1]).await.unwrap();
    let lo = frame(&mut s).await;
    assert_eq!(&lo[..10], &[0, 72, 255, 3, 0, 0, 0, 1, b'l', b'o']);
    // ll_type loopback (30) after bandwidth; then hw_len 6 and zeros, link-params byte 0.
    assert_eq!(&lo[lo.len() - 15..lo.len() - 11], &[0, 0, 0, 30]);
    assert_eq!(*lo.last().unwrap(), 0);
    for _ in 0..4 {
        frame(&mut s).await;
    }
    // NEXTHOP_REGISTER (connected) for 192.0.2.2/32 and 198.51.100.1/32.
    #[rustfmt::skip]
    let reg = [
        0, 24, 255, 3, 0, 0, 0, 27,
        1, 0, 2, 32, 192, 0, 2, 2,
        1, 0, 2, 32, 198, 51, 100, 1,
    ];
    s.write_all(&reg).await.unwrap();
    assert_eq!(
        frame(&mut s).await,
        vec![0, 25, 255, 3, 0, 0, 0, 29, 0, 2, 32, 192, 0, 2, 2, 0, 0, 0, 0, 1, 1, 0, 0, 0, 5]
    );
    assert_eq!(
        frame(&mut s).await,
        vec![0, 20, 255, 3, 0, 0, 0, 29, 0, 2, 32, 198, 51, 100, 1, 0, 0, 0, 0, 0]
    );
    // A static route now covers 198.51.100.0/24: an update is pushed.
    srv.set_extra_routes(vec![ExtraRoute::via(
        net("198.51.100.0/24"),
        "192.0.2.254".parse().unwrap(),
    )]);
    assert_eq!(
        frame(&mut s).await,
        vec![
            0, 25, 255, 3, 0, 0, 0, 29, 0, 2, 32, 198, 51, 100, 1, 0, 0, 0, 0, 1, 3, 192, 0, 2, 254
        ]
    );
    // IPV4_ROUTE_ADD with v3's MTU and TAG fields, two nexthops (ECMP).
    #[rustfmt::skip]
    let add = [
        0, 41, 255, 3, 0, 0, 0, 7,
        9, 0, 0x3d, 0, 1, 24, 203, 0, 113,
        2, 3, 192, 0, 2, 2, 3, 192, 0, 2, 3,
        20, 0, 0, 0, 0, 0, 0, 5, 0xdc, 0, 0, 0, 7,
    ];
    s.write_all(&add).await.unwrap();
    let p = net("203.0.113.0/24");
    assert!(
        ev.wait_for(T, |e| matches!(e, ServerEvent::Route(RouteEvent::Replace { prefix, paths }) if *prefix == p && paths.len() == 2))
            .await,
        "{:?}",
        ev.seen
    );
    drop(s);
    assert!(
        ev.wait_for(T, |e| *e
            == ServerEvent::Route(RouteEvent::Withdraw { prefix: p }))
            .await
    );
    srv.shutdown().await;
}

fn reg(p: &str, connected: bool, rvd: bool) -> NexthopRegistration {
    NexthopRegistration {
        connected,
        resolve_via_default: rvd,
        safi: 1,
        prefix: net(p),
    }
}

fn route(prefix: &str, gws: &[&str]) -> ZapiRoute {
    let mut r = ZapiRoute::new(9, net(prefix));
    r.nexthops = Some(
        gws.iter()
            .map(|g| {
                ZapiNexthop::new(NexthopTarget::Ipv4 {
                    gate: g.parse().unwrap(),
                    ifindex: 0,
                })
            })
            .collect(),
    );
    r.distance = Some(20);
    r.metric = Some(0);
    r
}

#[tokio::test]
async fn frr_client_capabilities_nht_updates_routes_and_malformed_neighbour() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, mut ev) = server(&dir, |c| c.router_id = None).await;
    let mut s = UnixStream::connect(srv.socket_path()).await.unwrap();
    let mut s2 = UnixStream::connect(srv.socket_path()).await.unwrap();
    // HELLO as bgpd 8.4 sends it → CAPABILITIES (golden bytes).
    s.write_all(&[0, 19, 254, 6, 0, 0, 0, 0, 0, 18, 9, 0, 0, 0, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    assert_eq!(
        frame(&mut s).await,
        vec![0, 20, 254, 6, 0, 0, 0, 0, 0, 19, 0, 0, 0, 0, 0, 0, 0, 0, 64, 0]
    );
    // Interfaces and router id.
    s.write_all(&[0, 10, 254, 6, 0, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    s.write_all(&[0, 12, 254, 6, 0, 0, 0, 0, 0, 15, 0, 1])
        .await
        .unwrap();
    let mut names = Vec::new();
    let mut router_id = None;
    for _ in 0..6 {
        match decode_frr(&frame(&mut s).await) {
            Message::InterfaceAdd(i) => {
                assert!(i.flags & (iff::UP | iff::RUNNING) == iff::UP | iff::RUNNING);
                names.push(i.name)
            }
            Message::InterfaceAddressAdd(_) => {}
            Message::RouterIdUpdate(r) => router_id = Some(r.prefix),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(names, ["lo", "veth0"]);
    assert_eq!(router_id, Some(net("192.0.2.1/32")));
    // Things bgpd sends that we ignore: BFD register, label manager, unknown 79.
    s.write_all(&frr(&Message::BfdClientRegister { pid: 42 }))
        .await
        .unwrap();
    s.write_all(&[
        0, 30, 254, 6, 0, 0, 0, 0, 0, 79, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
        0,
    ])
    .await
    .unwrap();
    silent(&mut s).await;
    // NHT: peer (connected), a far nexthop (resolve via default), an import check.
    s.write_all(&frr(&Message::NexthopRegister(vec![
        reg("192.0.2.2/32", true, false),
        reg("198.51.100.1/32", false, true),
        reg("203.0.113.0/24", false, true),
    ])))
    .await
    .unwrap();
    let mut answers = Vec::new();
    for _ in 0..3 {
        let Message::NexthopUpdate(u) = decode_frr(&frame(&mut s).await) else {
            panic!()
        };
        answers.push(u);
    }
    assert_eq!(answers[0].resolved, Some(net("192.0.2.0/24")));
    assert_eq!(answers[0].nexthops[0].target, NexthopTarget::Ifindex(5));
    assert!(answers[1].nexthops.is_empty());
    assert_eq!(answers[1].resolved, Some(net("0.0.0.0/0")));
    assert!(answers[2].nexthops.is_empty());
    // The embedder adds a default route and the network's route: two updates pushed.
    srv.set_extra_routes(vec![
        ExtraRoute::via(net("0.0.0.0/0"), "192.0.2.254".parse().unwrap()),
        ExtraRoute::blackhole(net("203.0.113.0/24")),
    ]);
    let mut pushed = Vec::new();
    for _ in 0..2 {
        let Message::NexthopUpdate(u) = decode_frr(&frame(&mut s).await) else {
            panic!()
        };
        pushed.push((u.prefix, u.resolved, u.nexthops.len()));
    }
    pushed.sort();
    assert_eq!(
        pushed,
        vec![
            (net("198.51.100.1/32"), Some(net("0.0.0.0/0")), 1),
            (net("203.0.113.0/24"), Some(net("203.0.113.0/24")), 1),
        ]
    );
    silent(&mut s).await;
    // The interface goes down: peer and default-route answers change (the blackhole does not).
    let mut down = interfaces();
    down[1].flags &= !iff::UP;
    srv.set_interfaces(down);
    let mut kinds = Vec::new();
    for _ in 0..3 {
        kinds.push(decode_frr(&frame(&mut s).await).name());
    }
    // The router id derived from 192.0.2.1 is unchanged: no ROUTER_ID_UPDATE.
    assert_eq!(
        kinds,
        ["INTERFACE_DOWN", "NEXTHOP_UPDATE", "NEXTHOP_UPDATE"]
    );
    silent(&mut s).await;
    srv.set_interfaces(interfaces());
    let mut kinds = Vec::new();
    for _ in 0..3 {
        kinds.push(decode_frr(&frame(&mut s).await).name());
    }
    assert_eq!(kinds, ["INTERFACE_UP", "NEXTHOP_UPDATE", "NEXTHOP_UPDATE"]);

    // Routes on connection 1.
    s.write_all(&frr(&Message::RouteAdd(route(
        "198.51.100.0/24",
        &["192.0.2.2", "192.0.2.3"],
    ))))
    .await
    .unwrap();
    let p = net("198.51.100.0/24");
    assert!(
        ev.wait_for(T, |e| matches!(e, ServerEvent::Route(RouteEvent::Replace { prefix, paths }) if *prefix == p && paths.len() == 2))
            .await
    );
    // Connection 2 sends a ROUTE_ADD whose body is cut short: it is closed, 1 is not.
    let mut bad = frr(&Message::RouteAdd(route("203.0.113.0/24", &["192.0.2.2"])));
    bad.truncate(bad.len() - 6);
    let n = bad.len() as u16;
    bad[..2].copy_from_slice(&n.to_be_bytes());
    s2.write_all(&bad).await.unwrap();
    closed_by_server(&mut s2).await;
    assert!(
        ev.wait_for(T, |e| matches!(
            e,
            ServerEvent::ClientGone {
                reason: CloseReason::Malformed(_),
                ..
            }
        ))
        .await
    );
    assert!(!ev
        .seen
        .iter()
        .any(|e| matches!(e, ServerEvent::Route(RouteEvent::Withdraw { .. }))));
    s.write_all(&frr(&Message::NexthopRegister(vec![reg(
        "192.0.2.9/32",
        true,
        false,
    )])))
    .await
    .unwrap();
    assert!(matches!(
        decode_frr(&frame(&mut s).await),
        Message::NexthopUpdate(_)
    ));
    // ROUTE_DELETE.
    let mut del = ZapiRoute::new(9, p);
    del.distance = Some(20);
    s.write_all(&frr(&Message::RouteDelete(del))).await.unwrap();
    assert!(
        ev.wait_for(T, |e| *e
            == ServerEvent::Route(RouteEvent::Withdraw { prefix: p }))
            .await
    );
    // Every message was counted by command as it was read, the cut-short one as a decode
    // error too.
    let stats = srv.message_stats();
    let count = |c: &str| stats.by_command.get(c).copied().unwrap_or(0);
    assert_eq!(count("HELLO"), 1, "{stats:?}");
    assert_eq!(count("INTERFACE_ADD"), 1, "{stats:?}");
    assert_eq!(count("ROUTER_ID_ADD"), 1, "{stats:?}");
    assert_eq!(count("BFD_CLIENT_REGISTER"), 1, "{stats:?}");
    assert_eq!(count("UNKNOWN"), 1, "{stats:?}");
    assert_eq!(count("NEXTHOP_REGISTER"), 2, "{stats:?}");
    assert_eq!(count("ROUTE_ADD"), 2, "{stats:?}");
    assert_eq!(count("ROUTE_DELETE"), 1, "{stats:?}");
    assert_eq!(stats.by_command.values().sum::<u64>(), 10, "{stats:?}");
    assert_eq!(stats.decode_errors, 1, "{stats:?}");
    srv.shutdown().await;
}

#[tokio::test]
async fn a_huge_withdraw_grace_is_a_typed_error() {
    let dir = tempfile::tempdir().unwrap();
    let mut cfg = ServerConfig::new(dir.path().join("zserv.api"));
    cfg.withdraw_grace = Some(Duration::MAX);
    assert!(matches!(
        ZebraServer::start(cfg).await,
        Err(zebra_server::ServerError::GraceTooLong { .. })
    ));
    let (srv, _ev) = server(&dir, |_| {}).await;
    assert!(matches!(
        srv.set_withdraw_grace(Some(
            zebra_server::MAX_WITHDRAW_GRACE + Duration::from_secs(1)
        )),
        Err(zebra_server::ServerError::GraceTooLong { .. })
    ));
    srv.set_withdraw_grace(Some(zebra_server::MAX_WITHDRAW_GRACE))
        .unwrap();
    srv.shutdown().await;
}

#[tokio::test]
async fn grace_period_keeps_routes_until_it_ends() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, mut ev) = server(&dir, |c| {
        c.withdraw_grace = Some(Duration::from_millis(800));
    })
    .await;
    let mut s = UnixStream::connect(srv.socket_path()).await.unwrap();
    for p in ["198.51.100.0/24", "203.0.113.0/24"] {
        s.write_all(&frr(&Message::RouteAdd(route(p, &["192.0.2.2"]))))
            .await
            .unwrap();
    }
    assert!(ev.wait_table(T, |t| t.len() == 2).await);
    drop(s);
    assert!(ev.wait_for(T, |e| *e == ServerEvent::AllClientsGone).await);
    // bgpd comes back and refreshes one route: no event for it; the other goes at grace end.
    let mut s = UnixStream::connect(srv.socket_path()).await.unwrap();
    s.write_all(&frr(&Message::RouteAdd(route(
        "198.51.100.0/24",
        &["192.0.2.2"],
    ))))
    .await
    .unwrap();
    assert!(
        ev.wait_for(T, |e| matches!(
            e,
            ServerEvent::GraceExpired { withdrawn: 1 }
        ))
        .await,
        "{:?}",
        ev.seen
    );
    let t = ev.table();
    assert_eq!(
        t.keys().copied().collect::<Vec<_>>(),
        vec![net("198.51.100.0/24")]
    );
    assert_eq!(
        ev.routes()
            .iter()
            .filter(|r| matches!(r, RouteEvent::Replace { .. }))
            .count(),
        2,
        "the refresh must not produce a second Replace"
    );
    drop(s);
    srv.shutdown().await;
}

#[tokio::test]
async fn unknown_profile_is_refused_and_server_keeps_serving() {
    let dir = tempfile::tempdir().unwrap();
    let (srv, mut ev) = server(&dir, |_| {}).await;
    let mut bad = UnixStream::connect(srv.socket_path()).await.unwrap();
    // Marker 254 with version 5 (FRR 4/5): not supported.
    bad.write_all(&[0, 10, 254, 5, 0, 0, 0, 0, 0, 18])
        .await
        .unwrap();
    closed_by_server(&mut bad).await;
    assert!(
        ev.wait_for(T, |e| matches!(
            e,
            ServerEvent::ClientGone {
                reason: CloseReason::UnknownProfile,
                ..
            }
        ))
        .await
    );
    let mut ok = UnixStream::connect(srv.socket_path()).await.unwrap();
    ok.write_all(&[0, 10, 254, 6, 0, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    assert!(matches!(
        decode_frr(&frame(&mut ok).await),
        Message::InterfaceAdd(_)
    ));
    srv.shutdown().await;
}

/// ROUTE_ADD frames (FRR 8.4) for 198.18.x.y/32, `from..to`, one gateway.
fn route_frames(from: u32, to: u32) -> Vec<u8> {
    let mut out = Vec::new();
    for i in from..to {
        let p = format!("198.18.{}.{}/32", i / 256, i % 256);
        out.extend(frr(&Message::RouteAdd(route(&p, &["192.0.2.2"]))));
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn read_coalescing_waits_only_while_the_client_keeps_writing() {
    let dir = tempfile::tempdir().unwrap();
    // A window far longer than the test's timeouts: a pause that lasted it would fail them.
    let (srv, mut ev) = server(&dir, |c| c.read_coalesce = Duration::from_secs(60)).await;
    let mut s = UnixStream::connect(srv.socket_path()).await.unwrap();
    s.write_all(&[0, 19, 254, 6, 0, 0, 0, 0, 0, 18, 9, 0, 0, 0, 0, 0, 0, 0, 0])
        .await
        .unwrap();
    assert!(matches!(
        decode_frr(&frame(&mut s).await),
        Message::Capabilities(_)
    ));
    // A burst of 64 routes in one write: read, and the reader pauses.
    s.write_all(&route_frames(0, 64)).await.unwrap();
    assert!(ev.wait_table(T, |t| t.len() == 64).await);
    // A lone route after the burst: the queue stops growing, the pause ends at its next look.
    s.write_all(&route_frames(64, 65)).await.unwrap();
    assert!(
        ev.wait_table(Duration::from_secs(5), |t| t.len() == 65)
            .await,
        "a change after a burst waited for the window"
    );
    // A stream written in small pieces, a millisecond apart: every route arrives, in order.
    let (mut r, mut w) = s.into_split();
    let writer = tokio::spawn(async move {
        for k in 0..200 {
            w.write_all(&route_frames(65 + k * 10, 75 + k * 10))
                .await
                .unwrap();
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        w
    });
    assert!(ev.wait_table(T, |t| t.len() == 2_065).await);
    let mut w = writer.await.unwrap();
    let replaced: Vec<IpNetwork> = ev
        .routes()
        .iter()
        .filter_map(|r| match r {
            RouteEvent::Replace { prefix, .. } => Some(*prefix),
            RouteEvent::Withdraw { .. } => None,
        })
        .collect();
    let expected: Vec<IpNetwork> = (0..2_065u32)
        .map(|i| net(&format!("198.18.{}.{}/32", i / 256, i % 256)))
        .collect();
    assert_eq!(replaced, expected);
    // Shutting down while a reader pauses ends it.
    w.write_all(&route_frames(3_000, 3_064)).await.unwrap();
    tokio::time::timeout(T, srv.shutdown())
        .await
        .expect("shutdown during a pause");
    drop((r.read(&mut [0u8; 1]).await, w));
}
