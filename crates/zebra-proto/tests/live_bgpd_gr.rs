//! What the real FRR 8.4 bgpd sends on the zebra protocol for graceful restart
//! (ZEBRA_CLIENT_CAPABILITIES), captured against tests/support/responder.rs:
//!
//! 1. bgpd with `bgp graceful-restart` (+ `preserve-fw-state`, `rib-stale-time 77`) and an
//!    eBGP peer with GR on: at connect it announces ZEBRA_CLIENT_GR_CAPABILITIES with the
//!    rib-stale-time (not the restart time);
//! 2. bgpd is killed (SIGKILL) and started again against the same zebra while the peer keeps
//!    the session's routes. The new bgpd announces GR again, and then:
//!    - with a BIRD peer (GR helper, no R bit): ROUTE_UPDATE_PENDING for IPv4 unicast, the
//!      route again, and only then ROUTE_UPDATE_COMPLETE;
//!    - with an FRR peer still in its own start-up period (it sets the R bit for its first
//!      restart-time seconds): no PENDING, ROUTE_UPDATE_COMPLETE for every AFI/SAFI at once,
//!      *before* the route comes back — the reason the zebra server sweeps stale routes only
//!      for an AFI that was PENDING (see docs/routing.md, GR timeline);
//! 3. `bgp graceful-restart rib-stale-time 90` sends ZEBRA_CLIENT_RIB_STALE_TIME and
//!    `no bgp graceful-restart` sends ZEBRA_CLIENT_GR_DISABLE.
//!
//! The same run with FRR 10.3's bgpd (Debian 13 chroot of `scripts/frr10-chroot.sh`, FRR
//! peer) shows the same sequence under FRR 10.2+'s command number (CLIENT_CAPABILITIES is 121).
//!
//! Every frame must decode and re-encode byte for byte. With `ZEBRA_PROTO_CAPTURE=FILE` the
//! frames are written to FILE.frr / FILE.bird / FILE.frr103 (tests/golden/frr84_bgpd_gr_*.txt
//! and frr103_bgpd_gr_frr_peer.txt were made so).

#![allow(clippy::unwrap_used, clippy::expect_used)]

mod support;

use std::io::Write;
use std::path::Path;
use std::time::Duration;

use bytes::BytesMut;
use support::responder::{
    hex, iface, CaptureServer, Dir, Record, Responder, ETHER_FLAGS, LOOPBACK_FLAGS,
};
use testkit::bird::TestBird;
use testkit::lab::{veth_between, wait_until, BgpdOptions, TestBgpd, TestNs};
use zebra_proto::{encode, ClientCapabilities, Message, Profile};

const CONF_A: &str = "hostname zga
router bgp 65001
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp graceful-restart
 bgp graceful-restart preserve-fw-state
 bgp graceful-restart rib-stale-time 77
 bgp graceful-restart restart-time 30
 neighbor 192.0.2.2 remote-as 65002
 neighbor 192.0.2.2 timers connect 1
 address-family ipv4 unicast
  network 203.0.113.0/24
 exit-address-family
";

// The peer keeps its R bit (its own start-up period) for only 1 s, so that when the first
// bgpd restarts, it waits for the peer's End-of-RIB before it reports its routes complete.
const CONF_B: &str = "hostname zgb
router bgp 65002
 bgp router-id 192.0.2.2
 no bgp ebgp-requires-policy
 no bgp network import-check
 bgp graceful-restart
 bgp graceful-restart restart-time 1
 neighbor 192.0.2.1 remote-as 65001
 neighbor 192.0.2.1 timers connect 1
 address-family ipv4 unicast
  network 198.51.100.0/24
 exit-address-family
";

fn caps(records: &[Record], conns: impl Fn(usize) -> bool) -> Vec<ClientCapabilities> {
    records
        .iter()
        .filter(|r| r.dir == Dir::FromClient && conns(r.conn))
        .filter_map(|r| match &r.decoded {
            Ok(Message::ClientCapabilities(c)) => Some(c.clone()),
            _ => None,
        })
        .collect()
}

/// Index (in `records`) of the first client frame on a connection in `conns` matching `pred`.
fn first(
    records: &[Record],
    conns: impl Fn(usize) -> bool,
    pred: impl Fn(&Message) -> bool,
) -> Option<usize> {
    records.iter().position(|r| {
        r.dir == Dir::FromClient && conns(r.conn) && r.decoded.as_ref().is_ok_and(&pred)
    })
}

fn is_v4_route(m: &Message) -> bool {
    matches!(m, Message::RouteAdd(r) if r.prefix.to_string() == "198.51.100.0/24")
}

const BIRD_CONF: &str = "router id 192.0.2.2;
protocol device {}
protocol static {
  ipv4;
  route 198.51.100.0/24 blackhole;
}
protocol bgp up {
  local 192.0.2.2 as 65002;
  neighbor 192.0.2.1 as 65001;
  graceful restart on;
  connect retry time 1;
  ipv4 { import all; export all; };
}
";

/// The peer of the test.
enum Peer {
    Frr(TestBgpd),
    Bird(TestBird),
}

impl Peer {
    fn holds_our_network(&self) -> bool {
        match self {
            Peer::Frr(p) => p
                .vtysh(&["show bgp ipv4 unicast 203.0.113.0/24"])
                .is_ok_and(|o| o.contains("203.0.113.0/24") && !o.contains("not in table")),
            Peer::Bird(p) => p
                .birdc("show route 203.0.113.0/24")
                .is_ok_and(|o| o.contains("203.0.113.0/24")),
        }
    }
}

#[test]
fn bgpd_graceful_restart_capabilities_frr_peer() {
    let Some(bgpd) = testkit::require_bgpd("bgpd_graceful_restart_capabilities_frr_peer") else {
        return;
    };
    run(&Me::Host(&bgpd), &bgpd, None);
}

#[test]
fn frr10_bgpd_graceful_restart_capabilities_frr_peer() {
    let test = "frr10_bgpd_graceful_restart_capabilities_frr_peer";
    let Some(root) = testkit::require_frr10(test) else {
        return;
    };
    let Some(peer) = testkit::require_bgpd(test) else {
        return;
    };
    run(&Me::Frr10(&root), &peer, None);
}

#[test]
fn bgpd_graceful_restart_capabilities_bird_peer() {
    let Some(bgpd) = testkit::require_bgpd("bgpd_graceful_restart_capabilities_bird_peer") else {
        return;
    };
    let Some(bird) = testkit::bird::require_bird("bgpd_graceful_restart_capabilities_bird_peer")
    else {
        return;
    };
    run(&Me::Host(&bgpd), &bgpd, Some(&bird));
}

/// The bgpd under test.
enum Me<'a> {
    /// The host's FRR 8.4 bgpd.
    Host(&'a Path),
    /// FRR 10.3's bgpd in this chroot.
    Frr10(&'a Path),
}

impl Me<'_> {
    fn profile(&self) -> Profile {
        match self {
            Me::Host(_) => Profile::Frr84,
            Me::Frr10(_) => Profile::Frr103,
        }
    }

    fn start(&self, ns: &TestNs, opts: &BgpdOptions) -> TestBgpd {
        match self {
            Me::Host(bgpd) => TestBgpd::start(bgpd, ns, CONF_A, opts).unwrap(),
            Me::Frr10(root) => {
                TestBgpd::start_in_chroot(root, Path::new(testkit::FRR10_BGPD), ns, CONF_A, opts)
                    .unwrap()
            }
        }
    }
}

/// Runs `me` against the capturing zebra, its peer being the host's `bgpd` or BIRD.
fn run(me_bgpd: &Me<'_>, bgpd: &Path, bird: Option<&Path>) {
    let with_bird = bird.is_some();
    let profile = me_bgpd.profile();
    let a = TestNs::new("zga").unwrap();
    let b = TestNs::new("zgb").unwrap();
    veth_between(&a, "za", &b, "zb").unwrap();
    a.add_addr("za", "192.0.2.1/24").unwrap();
    b.add_addr("zb", "192.0.2.2/24").unwrap();
    let za = a.ifindex("za").unwrap();

    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("zserv.api");
    let responder = Responder {
        profile,
        interfaces: vec![
            iface("lo", 1, LOOPBACK_FLAGS, 65536, 772, &[], &["127.0.0.1/8"]),
            iface(
                "za",
                za,
                ETHER_FLAGS,
                1500,
                1,
                &[2, 0, 0, 0, 0, 1],
                &["192.0.2.1/24"],
            ),
        ],
        router_id: "192.0.2.1".parse().unwrap(),
    };
    let server = CaptureServer::start(&sock, responder).unwrap();
    let peer = if let Some(bird) = bird {
        Peer::Bird(TestBird::start(bird, &b, BIRD_CONF).unwrap())
    } else {
        Peer::Frr(TestBgpd::start(bgpd, &b, CONF_B, &BgpdOptions::default()).unwrap())
    };
    let opts = BgpdOptions {
        zebra_socket: Some(sock.clone()),
        ..BgpdOptions::default()
    };

    // First incarnation: GR capability at connect, then the route.
    let mut me = me_bgpd.start(&a, &opts);
    let got = wait_until(Duration::from_secs(60), || {
        first(&server.snapshot(), |_| true, is_v4_route).is_some()
    });
    assert!(got, "no ROUTE_ADD; bgpd log:\n{}", me.log());
    let recs = server.snapshot();
    let first_conns = recs.iter().map(|r| r.conn).max().unwrap_or(0);
    let c1 = caps(&recs, |_| true);
    assert!(
        c1.contains(&ClientCapabilities::GrCapabilities {
            stale_removal_time: 77,
            vrf_id: 0
        }),
        "first bgpd: {c1:?}"
    );
    let gr_at = first(
        &recs,
        |_| true,
        |m| {
            matches!(
                m,
                Message::ClientCapabilities(ClientCapabilities::GrCapabilities { .. })
            )
        },
    )
    .unwrap();
    let route_at = first(&recs, |_| true, is_v4_route).unwrap();
    assert!(gr_at < route_at, "GR capability after the first route");

    // Wait until the peer has left its own start-up (R bit) period and holds our network.
    std::thread::sleep(Duration::from_secs(2));
    assert!(
        wait_until(Duration::from_secs(30), || peer.holds_our_network()),
        "peer never learned our network"
    );

    // Second incarnation after SIGKILL.
    me.kill();
    let me2 = me_bgpd.start(&a, &opts);
    let later = |c: usize| c > first_conns;
    let complete_v4 = |m: &Message| {
        matches!(
            m,
            Message::ClientCapabilities(ClientCapabilities::RouteUpdateComplete {
                afi: 1,
                safi: 1,
                vrf_id: 0
            })
        )
    };
    let got = wait_until(Duration::from_secs(60), || {
        let recs = server.snapshot();
        first(&recs, later, is_v4_route).is_some() && first(&recs, later, complete_v4).is_some()
    });
    assert!(
        got,
        "restarted bgpd: no route and update-complete; caps {:?}\nlog:\n{}",
        caps(&server.snapshot(), later),
        me2.log()
    );
    let recs = server.snapshot();
    let c2 = caps(&recs, later);
    assert!(
        c2.contains(&ClientCapabilities::GrCapabilities {
            stale_removal_time: 77,
            vrf_id: 0
        }),
        "restarted bgpd: {c2:?}"
    );
    let pending_v4 = |m: &Message| {
        matches!(
            m,
            Message::ClientCapabilities(ClientCapabilities::RouteUpdatePending {
                afi: 1,
                safi: 1,
                ..
            })
        )
    };
    let route_at = first(&recs, later, is_v4_route).unwrap();
    let complete_at = first(&recs, later, complete_v4).unwrap();
    if with_bird {
        // BIRD (no R bit): bgpd defers path selection until the peer's End-of-RIB, says
        // PENDING first, re-sends the route, and only then COMPLETE.
        let pending_at = first(&recs, later, pending_v4)
            .unwrap_or_else(|| panic!("no ROUTE_UPDATE_PENDING: {c2:?}\nlog:\n{}", me2.log()));
        assert!(
            pending_at < route_at && route_at < complete_at,
            "order pending {pending_at} < route {route_at} < complete {complete_at} broken"
        );
    } else {
        // An FRR peer within its own start-up period sets the R bit: bgpd does not defer,
        // says COMPLETE for every AFI/SAFI at Established, before it has the route again.
        assert!(first(&recs, later, pending_v4).is_none(), "PENDING: {c2:?}");
        assert!(
            complete_at < route_at,
            "COMPLETE {complete_at} not before the route {route_at}"
        );
        for afi in 1..=3 {
            for safi in 1..=7 {
                assert!(
                    c2.contains(&ClientCapabilities::RouteUpdateComplete {
                        afi,
                        safi,
                        vrf_id: 0
                    }),
                    "no COMPLETE for {afi}/{safi}: {c2:?}"
                );
            }
        }
    }

    // Stale-time change and GR off at run time.
    me2.vtysh(&[
        "configure terminal",
        "router bgp 65001",
        "bgp graceful-restart rib-stale-time 90",
    ])
    .unwrap();
    let got = wait_until(Duration::from_secs(20), || {
        caps(&server.snapshot(), later).contains(&ClientCapabilities::RibStaleTime {
            stale_removal_time: 90,
            vrf_id: 0,
        })
    });
    assert!(
        got,
        "no RIB_STALE_TIME: {:?}",
        caps(&server.snapshot(), later)
    );
    me2.vtysh(&[
        "configure terminal",
        "router bgp 65001",
        "no bgp graceful-restart",
    ])
    .unwrap();
    let got = wait_until(Duration::from_secs(20), || {
        caps(&server.snapshot(), later).contains(&ClientCapabilities::GrDisable { vrf_id: 0 })
    });
    assert!(got, "no GR_DISABLE: {:?}", caps(&server.snapshot(), later));

    drop(me2);
    drop(peer);
    let records = server.snapshot();
    drop(server);

    for r in records.iter().filter(|r| r.dir == Dir::FromClient) {
        let msg = r
            .decoded
            .as_ref()
            .unwrap_or_else(|e| panic!("bgpd frame {} failed: {e}", hex(&r.bytes)));
        let vrf = u32::from_be_bytes(r.bytes[4..8].try_into().unwrap());
        let mut out = BytesMut::new();
        encode(profile, vrf, msg, &mut out).unwrap();
        assert_eq!(hex(&out), hex(&r.bytes), "re-encoding {msg:?}");
    }

    if let Ok(path) = std::env::var("ZEBRA_PROTO_CAPTURE") {
        let suffix = match (with_bird, profile) {
            (true, _) => "bird",
            (false, Profile::Frr84) => "frr",
            (false, _) => "frr103",
        };
        let mut f = std::fs::File::create(format!("{path}.{suffix}")).unwrap();
        for r in records.iter().filter(|r| {
            r.dir == Dir::FromClient
                && matches!(
                    r.decoded,
                    Ok(Message::Hello(_)
                        | Message::ClientCapabilities(_)
                        | Message::RouteAdd(_)
                        | Message::RouteDelete(_))
                )
        }) {
            let name = r.decoded.as_ref().map(|m| m.name()).unwrap_or("ERROR");
            writeln!(f, "conn={} bgpd->zebra {name} {}", r.conn, hex(&r.bytes)).unwrap();
            writeln!(f, "  # {:?}", r.decoded).unwrap();
        }
    }
}
