//! Translation between `zebra_proto` messages and the core's [`Request`]/[`Reply`].

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::{IpNetwork, Ipv4Network};
use zebra_proto::{
    Capabilities, ClientCapabilities, Command, InterfaceAddress, InterfaceInfo,
    LabelManagerConnectReply, Message, NexthopLookupReply, NexthopRegistration, NexthopTarget,
    NexthopUpdate, Nexthops, OldNexthop, OldNexthopUpdate, OldNexthops, OldRoute, Profile,
    RouterIdUpdate, ZapiNexthop, ZapiRoute,
};

use crate::core::{NhtRegistration, Reply, Request};
use crate::gr::GrMessage;
use crate::nht::{ResolvedNexthop, ResolvedRoute};
use crate::types::{Interface, RoutePath};

/// zebra's `ZEBRA_INTERFACE_ACTIVE` status bit.
const ZEBRA_INTERFACE_ACTIVE: u8 = 0x01;
/// `ZEBRA_PTM_STATUS_UNKNOWN`.
const PTM_STATUS_UNKNOWN: u8 = 2;
/// `ZEBRA_LLT_ETHER`.
const LLT_ETHER: u32 = 1;
/// `ZEBRA_LLT_LOOPBACK`.
const LLT_LOOPBACK: u32 = 30;
/// `BLACKHOLE_NULL`.
const BLACKHOLE_NULL: u8 = 1;
/// `ZEBRA_FLAG_IBGP`.
const FLAG_IBGP: u32 = 0x04;
/// ECMP width announced in CAPABILITIES.
pub(crate) const MULTIPATH: u32 = 64;

fn registrations(v: &[NexthopRegistration]) -> Vec<NhtRegistration> {
    v.iter()
        .map(|r| NhtRegistration {
            prefix: r.prefix,
            connected: r.connected,
            resolve_via_default: r.resolve_via_default,
            safi: r.safi,
        })
        .collect()
}

fn default_distance(profile: Profile, route_type: u8, flags: u32) -> u8 {
    match route_type {
        t if t != profile.route_type_bgp() => 0,
        _ if flags & FLAG_IBGP != 0 => 200,
        _ => 20,
    }
}

fn zapi_paths(profile: Profile, r: &ZapiRoute) -> Vec<RoutePath> {
    let distance = r
        .distance
        .unwrap_or_else(|| default_distance(profile, r.route_type, r.flags));
    let metric = r.metric.unwrap_or(0);
    r.nexthop_slice()
        .iter()
        .map(|nh| RoutePath {
            gateway: nh.target.gateway(),
            ifindex: nh.target.ifindex(),
            distance,
            metric,
            weight: nh.weight.unwrap_or(1),
        })
        .collect()
}

fn old_paths(profile: Profile, r: &OldRoute) -> Vec<RoutePath> {
    let distance = r
        .distance
        .unwrap_or_else(|| default_distance(profile, r.route_type, 0));
    let metric = r.metric.unwrap_or(0);
    r.paths()
        .into_iter()
        .map(|p| RoutePath {
            gateway: p.gateway,
            ifindex: p.ifindex,
            distance,
            metric,
            weight: 1,
        })
        .collect()
}

/// The core request for a decoded message with wire command number `command`.
/// (Taken by reference: a decoded `Message` is large, moving it costs more than the lookup.)
pub(crate) fn request_from(profile: Profile, command: u16, msg: &Message) -> Request {
    match msg {
        Message::Hello(h) => Request::Hello {
            proto: h.route_type,
            instance: h.instance,
            synchronous: h.synchronous,
        },
        Message::InterfaceAddRequest => Request::InterfaceRequest,
        Message::InterfaceDeleteRequest => Request::InterfaceUnsubscribe,
        Message::RouterIdAdd(r) => Request::RouterIdAdd {
            afi: r.afi.unwrap_or(1),
        },
        Message::RouterIdDelete(r) => Request::RouterIdDelete {
            afi: r.afi.unwrap_or(1),
        },
        Message::NexthopRegister(v) => Request::NexthopRegister(registrations(v)),
        Message::NexthopUnregister(v) => Request::NexthopUnregister(registrations(v)),
        Message::Ipv4NexthopLookup(addr) => Request::Ipv4NexthopLookup(*addr),
        Message::LabelManagerConnect(c) => Request::LabelManagerConnect {
            proto: c.proto,
            instance: c.instance,
        },
        Message::RouteAdd(r) if r.safi == 1 => Request::RouteAdd {
            prefix: r.prefix,
            paths: zapi_paths(profile, r),
        },
        Message::RouteDelete(r) if r.safi == 1 => Request::RouteDelete { prefix: r.prefix },
        Message::Ipv4RouteAdd(r) | Message::Ipv6RouteAdd(r) if r.safi <= 1 => Request::RouteAdd {
            prefix: r.prefix,
            paths: old_paths(profile, r),
        },
        Message::Ipv4RouteDelete(r) | Message::Ipv6RouteDelete(r) if r.safi <= 1 => {
            Request::RouteDelete { prefix: r.prefix }
        }
        Message::Unknown { command, .. } if profile.ignorable_untyped().contains(command) => {
            Request::Ignored { command: *command }
        }
        Message::ClientCapabilities(c) => match gr_message(c) {
            Some(m) => Request::ClientCapability(m),
            None => Request::Ignored { command },
        },
        Message::Unknown { command, .. } => Request::Unknown { command: *command },
        _ => Request::Ignored { command },
    }
}

/// The graceful-restart meaning of a CLIENT_CAPABILITIES body (`None` for a capability code
/// zebra does not know either).
fn gr_message(c: &ClientCapabilities) -> Option<GrMessage> {
    Some(match *c {
        ClientCapabilities::GrCapabilities {
            stale_removal_time,
            vrf_id,
        } => GrMessage::Capable {
            stale_time: stale_removal_time,
            vrf_id,
        },
        ClientCapabilities::RibStaleTime {
            stale_removal_time,
            vrf_id,
        } => GrMessage::StaleTime {
            stale_time: stale_removal_time,
            vrf_id,
        },
        ClientCapabilities::RouteUpdatePending { afi, safi, vrf_id } => {
            GrMessage::UpdatePending { afi, safi, vrf_id }
        }
        ClientCapabilities::RouteUpdateComplete { afi, safi, vrf_id } => {
            GrMessage::UpdateComplete { afi, safi, vrf_id }
        }
        ClientCapabilities::GrDisable { vrf_id } => GrMessage::Disable { vrf_id },
        _ => return None,
    })
}

fn interface_info(profile: Profile, i: &Interface) -> InterfaceInfo {
    let frr = profile.is_frr();
    let max_name = profile.interface_name_size().saturating_sub(1);
    let mut name = i.name.clone();
    while name.len() > max_name {
        name.pop();
    }
    InterfaceInfo {
        name,
        ifindex: i.ifindex,
        status: ZEBRA_INTERFACE_ACTIVE,
        flags: i.flags,
        ptm_enable: 0,
        ptm_status: if frr { PTM_STATUS_UNKNOWN } else { 0 },
        metric: 0,
        speed: 0,
        txqlen: 0,
        mtu: i.mtu,
        mtu6: i.mtu,
        bandwidth: 0,
        link_ifindex: 0,
        ll_type: match profile.interface_has_link_layer() {
            false => 0,
            true if i.is_loopback() => LLT_LOOPBACK,
            true => LLT_ETHER,
        },
        hw_addr: i.mac.to_vec(),
        link_params: None,
    }
}

fn zapi_nexthop(n: &ResolvedNexthop) -> ZapiNexthop {
    ZapiNexthop::new(match *n {
        ResolvedNexthop::Interface(i) => NexthopTarget::Ifindex(i),
        ResolvedNexthop::Gateway {
            addr: IpAddr::V4(gate),
            ifindex: Some(ifindex),
        } => NexthopTarget::Ipv4Ifindex { gate, ifindex },
        ResolvedNexthop::Gateway {
            addr: IpAddr::V4(gate),
            ifindex: None,
        } => NexthopTarget::Ipv4 { gate, ifindex: 0 },
        ResolvedNexthop::Gateway {
            addr: IpAddr::V6(gate),
            ifindex: Some(ifindex),
        } => NexthopTarget::Ipv6Ifindex { gate, ifindex },
        ResolvedNexthop::Gateway {
            addr: IpAddr::V6(gate),
            ifindex: None,
        } => NexthopTarget::Ipv6 { gate, ifindex: 0 },
        ResolvedNexthop::Blackhole => NexthopTarget::Blackhole(BLACKHOLE_NULL),
    })
}

fn old_nexthop(n: &ResolvedNexthop) -> OldNexthop {
    match *n {
        ResolvedNexthop::Interface(i) => OldNexthop::Ifindex(i),
        ResolvedNexthop::Gateway {
            addr: IpAddr::V4(a),
            ..
        } => OldNexthop::Ipv4(a),
        ResolvedNexthop::Gateway {
            addr: IpAddr::V6(a),
            ifindex: Some(i),
        } => OldNexthop::Ipv6Ifindex(a, i),
        ResolvedNexthop::Gateway {
            addr: IpAddr::V6(a),
            ifindex: None,
        } => OldNexthop::Ipv6(a),
        ResolvedNexthop::Blackhole => OldNexthop::Blackhole,
    }
}

/// zebra keeps the family of an unresolved registration and sends `/0` with a zero address.
fn zero_prefix_like(p: &IpNetwork) -> IpNetwork {
    let zero = match p {
        IpNetwork::V4(_) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
        IpNetwork::V6(_) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
    };
    IpNetwork::new(zero, 0).unwrap_or(*p)
}

/// The message for a core reply in `profile`, or `None` if the profile has no such message
/// (CAPABILITIES for Quagga, NHT for Quagga v2, IPV4_NEXTHOP_LOOKUP for FRR).
pub(crate) fn message_for(profile: Profile, reply: &Reply) -> Option<Message> {
    Some(match reply {
        Reply::Capabilities => {
            if !profile.supports(Command::Capabilities) {
                return None;
            }
            Message::Capabilities(Capabilities {
                vrf_backend: 0,
                mpls: false,
                multipath: MULTIPATH,
                mlag_role: 0,
                // IPv6 routes with IPv4 nexthops are not installed anywhere by us.
                v6_with_v4_nexthop: false,
                graceful_restart: false,
            })
        }
        Reply::InterfaceAdd(i) => Message::InterfaceAdd(interface_info(profile, i)),
        Reply::InterfaceDelete(i) => Message::InterfaceDelete(interface_info(profile, i)),
        Reply::InterfaceUp(i) => Message::InterfaceUp(interface_info(profile, i)),
        Reply::InterfaceDown(i) => Message::InterfaceDown(interface_info(profile, i)),
        Reply::AddressAdd { ifindex, address } => Message::InterfaceAddressAdd(InterfaceAddress {
            ifindex: *ifindex,
            flags: 0,
            prefix: *address,
            destination: None,
        }),
        Reply::AddressDelete { ifindex, address } => {
            Message::InterfaceAddressDelete(InterfaceAddress {
                ifindex: *ifindex,
                flags: 0,
                prefix: *address,
                destination: None,
            })
        }
        Reply::RouterIdUpdate(id) => Message::RouterIdUpdate(RouterIdUpdate {
            prefix: IpNetwork::V4(Ipv4Network::from(*id)),
        }),
        Reply::NexthopUpdate {
            safi,
            target,
            resolved,
        } => match profile {
            _ if !profile.supports(Command::NexthopUpdate) => return None,
            _ if profile.is_frr() => Message::NexthopUpdate(match resolved {
                Some(r) => frr_update(*safi, *target, r),
                None => {
                    let mut u = NexthopUpdate::unresolved(*safi, *target);
                    u.resolved = Some(zero_prefix_like(target));
                    u
                }
            }),
            _ => Message::OldNexthopUpdate(OldNexthopUpdate {
                prefix: *target,
                metric: resolved.as_ref().map_or(0, |r| r.metric),
                nexthops: old_nexthops(resolved.as_ref()),
            }),
        },
        Reply::LabelManagerConnected { proto, instance } => {
            if !profile.supports(Command::LabelManagerConnect) {
                return None;
            }
            Message::LabelManagerConnectReply(LabelManagerConnectReply {
                proto: *proto,
                instance: *instance,
                result: 0,
            })
        }
        Reply::Ipv4NexthopLookupReply { addr, resolved } => {
            if !profile.supports(Command::Ipv4NexthopLookup) {
                return None;
            }
            Message::Ipv4NexthopLookupReply(NexthopLookupReply {
                addr: *addr,
                metric: resolved.as_ref().map_or(0, |r| r.metric),
                nexthops: old_nexthops(resolved.as_ref()),
            })
        }
    })
}

fn frr_update(safi: u16, target: IpNetwork, r: &ResolvedRoute) -> NexthopUpdate {
    // At most the ECMP width we announced, which also keeps the frame far below 16 KiB.
    let nexthops: Nexthops = r
        .nexthops
        .iter()
        .take(MULTIPATH as usize)
        .map(zapi_nexthop)
        .collect();
    NexthopUpdate {
        safi,
        prefix: target,
        resolved: Some(r.prefix),
        srte_color: None,
        route_type: r.route_type,
        instance: 0,
        distance: r.distance,
        metric: r.metric,
        nexthops,
    }
}

fn old_nexthops(r: Option<&ResolvedRoute>) -> OldNexthops {
    r.map(|r| {
        r.nexthops
            .iter()
            .take(MULTIPATH as usize)
            .map(old_nexthop)
            .collect()
    })
    .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use bytes::BytesMut;

    fn net(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    fn round_trip(profile: Profile, reply: &Reply) -> Message {
        let msg = message_for(profile, reply).unwrap();
        let mut buf = BytesMut::new();
        zebra_proto::encode(profile, 0, &msg, &mut buf).unwrap();
        let (_, back) = zebra_proto::decode(profile, &buf).unwrap();
        assert_eq!(back, msg);
        back
    }

    fn request_of(profile: Profile, frame: &[u8]) -> Request {
        let (header, msg) = zebra_proto::decode(profile, frame).unwrap();
        request_from(profile, header.command, &msg)
    }

    #[test]
    fn bgpd_deregistration_and_untyped_frr_commands_are_classified() {
        // Empty INTERFACE_DELETE (bgpd's deregistration on shutdown).
        let dereg = [0x00, 0x0a, 0xfe, 0x06, 0, 0, 0, 0, 0x00, 0x01];
        assert_eq!(
            request_of(Profile::Frr84, &dereg),
            Request::InterfaceUnsubscribe
        );
        // VRF_LABEL (35) and DUPLICATE_ADDR_DETECTION (79) are known and ignored.
        for cmd in [35u8, 79] {
            let f = [0x00, 0x0b, 0xfe, 0x06, 0, 0, 0, 0, 0x00, cmd, 0x00];
            assert_eq!(
                request_of(Profile::Frr84, &f),
                Request::Ignored {
                    command: u16::from(cmd)
                }
            );
        }
        // A command number FRR 8.4 does not define stays unknown (and is logged once).
        let f = [0x00, 0x0a, 0xfe, 0x06, 0, 0, 0, 0, 0x01, 0x2c];
        assert_eq!(
            request_of(Profile::Frr84, &f),
            Request::Unknown { command: 300 }
        );
    }

    #[test]
    fn every_reply_encodes_for_frr_and_decodes_back() {
        let lo = Interface::loopback(1, vec![net("127.0.0.1/8")]);
        let veth = Interface::ethernet(
            "a-very-long-interface-name",
            7,
            [2, 0, 0, 0, 0, 7],
            1500,
            vec![net("192.0.2.1/24")],
        );
        let resolved = ResolvedRoute {
            prefix: net("192.0.2.0/24"),
            route_type: 2,
            distance: 0,
            metric: 0,
            nexthops: vec![
                ResolvedNexthop::Interface(7),
                ResolvedNexthop::Gateway {
                    addr: "2001:db8::9".parse().unwrap(),
                    ifindex: Some(7),
                },
                ResolvedNexthop::Blackhole,
            ],
        };
        for reply in [
            Reply::Capabilities,
            Reply::InterfaceAdd(lo.clone()),
            Reply::InterfaceAdd(veth.clone()),
            Reply::InterfaceDelete(veth.clone()),
            Reply::InterfaceUp(veth.clone()),
            Reply::InterfaceDown(veth.clone()),
            Reply::AddressAdd {
                ifindex: 7,
                address: net("2001:db8::1/64"),
            },
            Reply::AddressDelete {
                ifindex: 7,
                address: net("192.0.2.1/24"),
            },
            Reply::RouterIdUpdate("192.0.2.1".parse().unwrap()),
            Reply::NexthopUpdate {
                safi: 1,
                target: net("192.0.2.2/32"),
                resolved: Some(resolved.clone()),
            },
        ] {
            round_trip(Profile::Frr84, &reply);
        }
        let Message::InterfaceAdd(info) = round_trip(Profile::Frr84, &Reply::InterfaceAdd(veth))
        else {
            panic!()
        };
        assert_eq!(info.name.len(), 15);
        let Message::NexthopUpdate(u) = round_trip(
            Profile::Frr84,
            &Reply::NexthopUpdate {
                safi: 1,
                target: net("198.51.100.1/32"),
                resolved: None,
            },
        ) else {
            panic!()
        };
        assert_eq!(u.resolved, Some(net("0.0.0.0/0")));
        assert!(u.nexthops.is_empty());
    }

    #[test]
    fn quagga_replies_use_old_layouts_or_are_skipped() {
        let resolved = Some(ResolvedRoute {
            prefix: net("192.0.2.0/24"),
            route_type: 2,
            distance: 0,
            metric: 0,
            nexthops: vec![ResolvedNexthop::Interface(7)],
        });
        assert!(message_for(Profile::QuaggaV3, &Reply::Capabilities).is_none());
        assert!(message_for(
            Profile::QuaggaV2,
            &Reply::NexthopUpdate {
                safi: 0,
                target: net("192.0.2.2/32"),
                resolved: resolved.clone()
            }
        )
        .is_none());
        let m = round_trip(
            Profile::QuaggaV3,
            &Reply::NexthopUpdate {
                safi: 0,
                target: net("192.0.2.2/32"),
                resolved: resolved.clone(),
            },
        );
        assert!(matches!(m, Message::OldNexthopUpdate(u) if u.nexthops.len() == 1));
        let m = round_trip(
            Profile::QuaggaV2,
            &Reply::Ipv4NexthopLookupReply {
                addr: "192.0.2.2".parse().unwrap(),
                resolved,
            },
        );
        assert!(matches!(m, Message::Ipv4NexthopLookupReply(r) if r.nexthops.len() == 1));
        for p in [Profile::QuaggaV2, Profile::QuaggaV3] {
            round_trip(
                p,
                &Reply::InterfaceAdd(Interface::loopback(1, vec![net("127.0.0.1/8")])),
            );
            round_trip(p, &Reply::RouterIdUpdate("192.0.2.1".parse().unwrap()));
        }
    }

    #[test]
    fn route_messages_become_path_sets() {
        let mut r = ZapiRoute::new(9, net("198.51.100.0/24"));
        let mut nh = ZapiNexthop::new(NexthopTarget::Ipv4 {
            gate: "192.0.2.2".parse().unwrap(),
            ifindex: 0,
        });
        nh.weight = Some(3);
        r.nexthops = Some([nh].into_iter().collect());
        r.distance = Some(20);
        r.metric = Some(7);
        let req = request_from(Profile::Frr84, 8, &Message::RouteAdd(r.clone()));
        assert_eq!(
            req,
            Request::RouteAdd {
                prefix: net("198.51.100.0/24"),
                paths: vec![RoutePath {
                    gateway: Some("192.0.2.2".parse().unwrap()),
                    ifindex: None,
                    distance: 20,
                    metric: 7,
                    weight: 3
                }]
            }
        );
        r.safi = 2;
        assert_eq!(
            request_from(Profile::Frr84, 8, &Message::RouteAdd(r)),
            Request::Ignored { command: 8 }
        );
    }

    #[test]
    fn label_manager_reply_and_frr10_layouts() {
        let reply = Reply::LabelManagerConnected {
            proto: 10,
            instance: 0,
        };
        for p in Profile::ALL {
            match message_for(p, &reply) {
                Some(m) => {
                    assert!(p.is_frr());
                    let mut buf = BytesMut::new();
                    zebra_proto::encode(p, 0, &m, &mut buf).unwrap();
                    // 10-byte header + proto + instance + result (zapi-facts §10).
                    assert_eq!(buf.len(), 14, "{p}");
                }
                None => assert!(!p.is_frr(), "{p}"),
            }
        }
        let lm = [
            0x00, 0x0d, 0xfe, 0x06, 0, 0, 0, 0, 0x00, 0x31, 0x0a, 0x00, 0x00,
        ];
        assert_eq!(
            request_of(Profile::Frr103, &lm),
            Request::LabelManagerConnect {
                proto: 10,
                instance: 0
            }
        );
        // FRR 10.3's VRF_LABEL (35) and DUPLICATE_ADDR_DETECTION (78) are ignored, BGP routes
        // (type 10) get BGP's default distance.
        let dad = [0x00, 0x0b, 0xfe, 0x06, 0, 0, 0, 0, 0x00, 78, 0x00];
        assert_eq!(
            request_of(Profile::Frr103, &dad),
            Request::Ignored { command: 78 }
        );
        let mut r = ZapiRoute::new(10, net("198.51.100.0/24"));
        r.nexthops = Some(
            [ZapiNexthop::new(NexthopTarget::Ipv4 {
                gate: "192.0.2.2".parse().unwrap(),
                ifindex: 0,
            })]
            .into_iter()
            .collect(),
        );
        let Request::RouteAdd { paths, .. } =
            request_from(Profile::Frr103, 9, &Message::RouteAdd(r.clone()))
        else {
            panic!("not a route");
        };
        assert_eq!(paths[0].distance, 20);
        let Request::RouteAdd { paths, .. } =
            request_from(Profile::Frr84, 8, &Message::RouteAdd(r))
        else {
            panic!("not a route");
        };
        assert_eq!(paths[0].distance, 0, "type 10 is not BGP in FRR 8.4");
        // Interfaces and CAPABILITIES round-trip in every FRR 10 profile.
        for p in [
            Profile::Frr100,
            Profile::Frr101,
            Profile::Frr102,
            Profile::Frr103,
        ] {
            round_trip(p, &Reply::Capabilities);
            round_trip(
                p,
                &Reply::InterfaceAdd(Interface::loopback(1, vec![net("127.0.0.1/8")])),
            );
        }
    }
}
