//! The typed message set.

use std::net::{IpAddr, Ipv4Addr};

use ipnetwork::IpNetwork;

use crate::command::Command;
use crate::route::{Nexthops, OldNexthops, OldRoute, ZapiRoute};

/// One decoded Zebra message body, for any profile.
///
/// Commands that share a number but differ by direction are told apart by their body
/// (e.g. an empty INTERFACE_ADD is the client's request, a full one the server's answer).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum Message {
    /// HELLO (client → server).
    Hello(Hello),
    /// INTERFACE_ADD with an empty body: "send me all interfaces" (client → server).
    InterfaceAddRequest,
    /// INTERFACE_ADD announcing one interface (server → client).
    InterfaceAdd(InterfaceInfo),
    /// INTERFACE_DELETE with an empty body: "stop sending interface updates" (client → server;
    /// bgpd sends it when it deregisters, e.g. on shutdown).
    InterfaceDeleteRequest,
    /// INTERFACE_DELETE announcing that an interface is gone (server → client).
    InterfaceDelete(InterfaceInfo),
    /// INTERFACE_UP.
    InterfaceUp(InterfaceInfo),
    /// INTERFACE_DOWN.
    InterfaceDown(InterfaceInfo),
    /// INTERFACE_ADDRESS_ADD (server → client).
    InterfaceAddressAdd(InterfaceAddress),
    /// INTERFACE_ADDRESS_DELETE (server → client).
    InterfaceAddressDelete(InterfaceAddress),
    /// ROUTER_ID_ADD: subscribe to router-id updates (FRR carries an AFI, Quagga nothing).
    RouterIdAdd(RouterIdRequest),
    /// ROUTER_ID_DELETE: unsubscribe.
    RouterIdDelete(RouterIdRequest),
    /// ROUTER_ID_UPDATE (server → client).
    RouterIdUpdate(RouterIdUpdate),
    /// CAPABILITIES (FRR, server → client).
    Capabilities(Capabilities),
    /// NEXTHOP_REGISTER: one or more nexthops to track.
    NexthopRegister(Vec<NexthopRegistration>),
    /// NEXTHOP_UNREGISTER.
    NexthopUnregister(Vec<NexthopRegistration>),
    /// NEXTHOP_UPDATE in FRR's layout (server → client).
    NexthopUpdate(NexthopUpdate),
    /// NEXTHOP_UPDATE in Quagga 1.x's layout (server → client).
    OldNexthopUpdate(OldNexthopUpdate),
    /// ROUTE_ADD (FRR, client → server).
    RouteAdd(ZapiRoute),
    /// ROUTE_DELETE (FRR).
    RouteDelete(ZapiRoute),
    /// REDISTRIBUTE_ROUTE_ADD (FRR, server → client).
    RedistributeRouteAdd(ZapiRoute),
    /// REDISTRIBUTE_ROUTE_DEL (FRR, server → client).
    RedistributeRouteDel(ZapiRoute),
    /// IPV4_ROUTE_ADD (Quagga).
    Ipv4RouteAdd(OldRoute),
    /// IPV4_ROUTE_DELETE (Quagga).
    Ipv4RouteDelete(OldRoute),
    /// IPV6_ROUTE_ADD (Quagga).
    Ipv6RouteAdd(OldRoute),
    /// IPV6_ROUTE_DELETE (Quagga).
    Ipv6RouteDelete(OldRoute),
    /// IPV4_NEXTHOP_LOOKUP request: the address to look up (Quagga, client → server).
    Ipv4NexthopLookup(Ipv4Addr),
    /// IPV4_NEXTHOP_LOOKUP reply (Quagga, server → client).
    Ipv4NexthopLookupReply(NexthopLookupReply),
    /// REDISTRIBUTE_ADD.
    RedistributeAdd(Redistribute),
    /// REDISTRIBUTE_DELETE.
    RedistributeDelete(Redistribute),
    /// REDISTRIBUTE_DEFAULT_ADD.
    RedistributeDefaultAdd(RedistributeDefault),
    /// REDISTRIBUTE_DEFAULT_DELETE.
    RedistributeDefaultDelete(RedistributeDefault),
    /// BFD_CLIENT_REGISTER (FRR): the client's pid.
    BfdClientRegister {
        /// Process id of the client daemon.
        pid: u32,
    },
    /// LABEL_MANAGER_CONNECT request (FRR, synchronous variant).
    LabelManagerConnect(LabelManagerConnect),
    /// LABEL_MANAGER_CONNECT_ASYNC request (FRR).
    LabelManagerConnectAsync(LabelManagerConnect),
    /// LABEL_MANAGER_CONNECT reply with its result (FRR, server → client).
    LabelManagerConnectReply(LabelManagerConnectReply),
    /// GET_LABEL_CHUNK (FRR): request and reply share this layout.
    GetLabelChunk(LabelChunk),
    /// VRF_ADD (FRR, server → client).
    VrfAdd(VrfInfo),
    /// VRF_DELETE (FRR, server → client).
    VrfDelete(VrfInfo),
    /// ERROR (FRR, server → client).
    Error(ZebraErrorCode),
    /// CLIENT_CAPABILITIES (FRR, client → server).
    ClientCapabilities(ClientCapabilities),
    /// ROUTE_NOTIFY_REQUEST (FRR): whether the client wants ROUTE_NOTIFY_OWNER.
    RouteNotifyRequest {
        /// Raw request byte (bgpd sends 1).
        request: u8,
    },
    /// ROUTE_NOTIFY_OWNER (FRR, server → client).
    RouteNotifyOwner(RouteNotifyOwner),
    /// Any other command: its number and raw body, re-encoded byte for byte.
    Unknown {
        /// Wire command number in the frame's profile.
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::unknown_command))]
        command: u16,
        /// Raw body.
        body: Vec<u8>,
    },
}

impl Message {
    /// The typed command this message is sent as, or `None` for [`Message::Unknown`].
    pub fn command(&self) -> Option<Command> {
        Some(match self {
            Message::Hello(_) => Command::Hello,
            Message::InterfaceAddRequest | Message::InterfaceAdd(_) => Command::InterfaceAdd,
            Message::InterfaceDeleteRequest | Message::InterfaceDelete(_) => {
                Command::InterfaceDelete
            }
            Message::InterfaceUp(_) => Command::InterfaceUp,
            Message::InterfaceDown(_) => Command::InterfaceDown,
            Message::InterfaceAddressAdd(_) => Command::InterfaceAddressAdd,
            Message::InterfaceAddressDelete(_) => Command::InterfaceAddressDelete,
            Message::RouterIdAdd(_) => Command::RouterIdAdd,
            Message::RouterIdDelete(_) => Command::RouterIdDelete,
            Message::RouterIdUpdate(_) => Command::RouterIdUpdate,
            Message::Capabilities(_) => Command::Capabilities,
            Message::NexthopRegister(_) => Command::NexthopRegister,
            Message::NexthopUnregister(_) => Command::NexthopUnregister,
            Message::NexthopUpdate(_) | Message::OldNexthopUpdate(_) => Command::NexthopUpdate,
            Message::RouteAdd(_) => Command::RouteAdd,
            Message::RouteDelete(_) => Command::RouteDelete,
            Message::RedistributeRouteAdd(_) => Command::RedistributeRouteAdd,
            Message::RedistributeRouteDel(_) => Command::RedistributeRouteDel,
            Message::Ipv4RouteAdd(_) => Command::Ipv4RouteAdd,
            Message::Ipv4RouteDelete(_) => Command::Ipv4RouteDelete,
            Message::Ipv6RouteAdd(_) => Command::Ipv6RouteAdd,
            Message::Ipv6RouteDelete(_) => Command::Ipv6RouteDelete,
            Message::Ipv4NexthopLookup(_) | Message::Ipv4NexthopLookupReply(_) => {
                Command::Ipv4NexthopLookup
            }
            Message::RedistributeAdd(_) => Command::RedistributeAdd,
            Message::RedistributeDelete(_) => Command::RedistributeDelete,
            Message::RedistributeDefaultAdd(_) => Command::RedistributeDefaultAdd,
            Message::RedistributeDefaultDelete(_) => Command::RedistributeDefaultDelete,
            Message::BfdClientRegister { .. } => Command::BfdClientRegister,
            Message::LabelManagerConnect(_) | Message::LabelManagerConnectReply(_) => {
                Command::LabelManagerConnect
            }
            Message::LabelManagerConnectAsync(_) => Command::LabelManagerConnectAsync,
            Message::GetLabelChunk(_) => Command::GetLabelChunk,
            Message::VrfAdd(_) => Command::VrfAdd,
            Message::VrfDelete(_) => Command::VrfDelete,
            Message::Error(_) => Command::Error,
            Message::ClientCapabilities(_) => Command::ClientCapabilities,
            Message::RouteNotifyRequest { .. } => Command::RouteNotifyRequest,
            Message::RouteNotifyOwner(_) => Command::RouteNotifyOwner,
            Message::Unknown { .. } => return None,
        })
    }

    /// A short name for logs: the command name or `"UNKNOWN"`.
    pub fn name(&self) -> &'static str {
        self.command().map_or("UNKNOWN", Command::name)
    }
}

/// HELLO body. Quagga sends only the route type; the other fields must then be zero/false.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Hello {
    /// The client's route type (9 = BGP).
    pub route_type: u8,
    /// Protocol instance (FRR).
    pub instance: u16,
    /// Session id (FRR).
    pub session_id: u32,
    /// Whether the client wants ROUTE_NOTIFY_OWNER messages (FRR 8.x; not on the wire in FRR
    /// 10, see [`Profile::hello_has_receive_notify`](crate::Profile::hello_has_receive_notify)).
    pub receive_notify: bool,
    /// Whether the client is synchronous (label manager connections; FRR).
    pub synchronous: bool,
}

/// Interface description of INTERFACE_ADD/DELETE/UP/DOWN (`zserv_encode_interface`).
///
/// Fields a profile lacks must be zero to encode for it: Quagga v2 has no `ptm_*`, `speed`,
/// `link_ifindex`, `ll_type` nor link-params byte; Quagga v3 no `ptm_*`, `speed`,
/// `link_ifindex`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct InterfaceInfo {
    /// Name (at most 15 bytes for FRR 8.4 — IFNAMSIZ 16 with its NUL — and 19 for Quagga).
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::ifname))]
    pub name: String,
    /// Interface index.
    pub ifindex: u32,
    /// zebra's interface status bits.
    pub status: u8,
    /// Kernel `IFF_*` flags (must include IFF_UP|IFF_RUNNING for bgpd to use it).
    pub flags: u64,
    /// PTM enable (FRR).
    pub ptm_enable: u8,
    /// PTM status (FRR).
    pub ptm_status: u8,
    /// Metric.
    pub metric: u32,
    /// Speed in Mbit/s (FRR).
    pub speed: u32,
    /// Transmit queue length (FRR 10; see
    /// [`Profile::interface_has_txqlen`](crate::Profile::interface_has_txqlen)).
    pub txqlen: u32,
    /// IPv4 MTU.
    pub mtu: u32,
    /// IPv6 MTU.
    pub mtu6: u32,
    /// Bandwidth.
    pub bandwidth: u32,
    /// Link ifindex (FRR).
    pub link_ifindex: u32,
    /// Link-layer type (ARPHRD_*; FRR and Quagga v3).
    pub ll_type: u32,
    /// Hardware address (at most 20 bytes).
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::hw_addr))]
    pub hw_addr: Vec<u8>,
    /// Traffic-engineering link parameters block, kept raw (FRR and Quagga v3): `None` encodes
    /// the "no link params" byte 0; `Some(bytes)` the byte 1 followed by `bytes`.
    pub link_params: Option<Vec<u8>>,
}

/// INTERFACE_ADDRESS_ADD/DELETE body: `ifindex u32 | flags u8 | family u8 | addr | plen u8 | dest`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct InterfaceAddress {
    /// Interface the address belongs to (announced first with INTERFACE_ADD).
    pub ifindex: u32,
    /// `ZEBRA_IFA_*` flags (0x01 secondary, 0x02 peer, 0x04 unnumbered).
    pub flags: u8,
    /// Address with its real prefix length (the host bits are the address).
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::any_prefix))]
    pub prefix: IpNetwork,
    /// Peer/broadcast address; all zeros on the wire when `None`. Same family as `prefix`.
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::destination))]
    pub destination: Option<IpAddr>,
}

/// ROUTER_ID_ADD/DELETE body: FRR 8.4 bgpd sends an AFI (u16), Quagga nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct RouterIdRequest {
    /// AFI (1 IPv4, 2 IPv6) when present.
    pub afi: Option<u16>,
}

/// ROUTER_ID_UPDATE body: `family u8 | addr | plen u8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct RouterIdUpdate {
    /// The router id as a prefix (normally a /32).
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::any_prefix))]
    pub prefix: IpNetwork,
}

/// CAPABILITIES body (FRR): `vrf_backend u32 | mpls u8 | multipath u32 | mlag_role u8`, then
/// `v6_with_v4_nexthop u8` (FRR 10) and `graceful_restart u8` (FRR 10.2 and later). Fields a
/// profile lacks must be false to encode for it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Capabilities {
    /// VRF backend: 0 netns, 1 VRF-lite, 2 unknown.
    pub vrf_backend: u32,
    /// Whether MPLS is enabled.
    pub mpls: bool,
    /// Maximum ECMP width.
    pub multipath: u32,
    /// MLAG role.
    pub mlag_role: u8,
    /// zebra accepts IPv6 routes with IPv4 nexthops (FRR 10).
    pub v6_with_v4_nexthop: bool,
    /// zebra has graceful restart configured (FRR 10.2 and later).
    pub graceful_restart: bool,
}

/// One NEXTHOP_REGISTER/UNREGISTER entry.
///
/// FRR: `connected u8 | resolve_via_default u8 | safi u16 | family u16 | plen u8 | addr`;
/// Quagga v3: `connected u8 | family u16 | plen u8 | addr` (`resolve_via_default`/`safi` must
/// be false/0 to encode for it).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct NexthopRegistration {
    /// Resolve only via connected routes.
    pub connected: bool,
    /// Allow resolution via the default route (FRR).
    pub resolve_via_default: bool,
    /// SAFI (FRR).
    pub safi: u16,
    /// The tracked address (normally a host prefix).
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::any_prefix))]
    pub prefix: IpNetwork,
}

/// FRR NEXTHOP_UPDATE body (`zebra_send_rnh_update` / `zapi_nexthop_update_decode`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct NexthopUpdate {
    /// SAFI of the registration.
    pub safi: u16,
    /// The registered prefix being answered.
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::any_prefix))]
    pub prefix: IpNetwork,
    /// The route it resolved through; `None` = family AF_UNSPEC (no address on the wire).
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::opt_prefix))]
    pub resolved: Option<IpNetwork>,
    /// SR-TE colour (ZAPI_MESSAGE_SRTE). Nexthops never carry a colour here: FRR 8.4's client
    /// decodes NHT nexthops without it.
    pub srte_color: Option<u32>,
    /// Route type of the resolving route (0 when unresolved).
    pub route_type: u8,
    /// Instance of the resolving route.
    pub instance: u16,
    /// Distance of the resolving route.
    pub distance: u8,
    /// Metric of the resolving route.
    pub metric: u32,
    /// Nexthops (empty = unresolved). Their `srte_color` must be `None`.
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::nht_nexthops))]
    pub nexthops: Nexthops,
}

impl NexthopUpdate {
    /// An "unresolved" answer for `prefix` (what real zebra sends when nothing matches).
    pub fn unresolved(safi: u16, prefix: IpNetwork) -> Self {
        NexthopUpdate {
            safi,
            prefix,
            resolved: None,
            srte_color: None,
            route_type: 0,
            instance: 0,
            distance: 0,
            metric: 0,
            nexthops: Nexthops::new(),
        }
    }
}

/// Quagga 1.x NEXTHOP_UPDATE body: `family u16 | plen u8 | prefix | metric u32 | num u8 | nexthops`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct OldNexthopUpdate {
    /// The registered prefix being answered.
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::any_prefix))]
    pub prefix: IpNetwork,
    /// Metric of the resolving route.
    pub metric: u32,
    /// Nexthop entries (empty = unresolved).
    pub nexthops: OldNexthops,
}

/// IPV4_NEXTHOP_LOOKUP reply (Quagga): `addr 4 | metric u32 | num u8 | nexthops`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct NexthopLookupReply {
    /// The address looked up.
    pub addr: Ipv4Addr,
    /// Metric of the matching route (0 if none).
    pub metric: u32,
    /// Nexthop entries (empty = unreachable).
    pub nexthops: OldNexthops,
}

/// REDISTRIBUTE_ADD/DELETE body. FRR: `afi u8 | type u8 | instance u16`; Quagga: `type u8`
/// (then `afi` must be `None` and `instance` 0).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct Redistribute {
    /// AFI (FRR only).
    pub afi: Option<u8>,
    /// Route type to redistribute.
    pub route_type: u8,
    /// Instance (FRR).
    pub instance: u16,
}

/// REDISTRIBUTE_DEFAULT_ADD/DELETE body. FRR: `afi u8`; Quagga: empty.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct RedistributeDefault {
    /// AFI when present.
    pub afi: Option<u8>,
}

/// LABEL_MANAGER_CONNECT(_ASYNC) request: `proto u8 | instance u16`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct LabelManagerConnect {
    /// Client protocol (route type).
    pub proto: u8,
    /// Instance.
    pub instance: u16,
}

/// LABEL_MANAGER_CONNECT reply: `proto u8 | instance u16 | result u8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct LabelManagerConnectReply {
    /// Client protocol (route type).
    pub proto: u8,
    /// Instance.
    pub instance: u16,
    /// 0 = success.
    pub result: u8,
}

/// GET_LABEL_CHUNK body: `proto u8 | instance u16 | session_id u32 | keep u8 | a u32 | b u32`.
///
/// In a request (client → server) `a`/`b` are the chunk size and base; in the reply they are
/// the chunk's first and last label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct LabelChunk {
    /// Client protocol (route type).
    pub proto: u8,
    /// Instance.
    pub instance: u16,
    /// Session id.
    pub session_id: u32,
    /// Keep the chunk across reconnects.
    pub keep: u8,
    /// Request: chunk size. Reply: first label.
    pub size_or_start: u32,
    /// Request: base (MPLS_LABEL_BASE_ANY = 0 for any). Reply: last label.
    pub base_or_end: u32,
}

/// VRF_ADD/DELETE body: `struct vrf_data` (table id in **host order**, `netns_name[36]`) then
/// the VRF `name[36]`. The VRF id is in the header.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct VrfInfo {
    /// Kernel table id (copied raw by FRR: host byte order).
    pub table_id: u32,
    /// Network-namespace name (at most 35 bytes).
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::vrfname))]
    pub netns_name: String,
    /// VRF name (at most 35 bytes).
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::vrfname))]
    pub name: String,
}

/// ERROR body: `enum zebra_error_types`, 4 bytes in **host order**.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct ZebraErrorCode(pub u32);

impl ZebraErrorCode {
    /// ZEBRA_UNKNOWN_ERROR.
    pub const UNKNOWN: ZebraErrorCode = ZebraErrorCode(0);
    /// ZEBRA_NO_VRF: the VRF in the header was not found.
    pub const NO_VRF: ZebraErrorCode = ZebraErrorCode(1);
    /// ZEBRA_INVALID_MSG_TYPE: no handler for the command.
    pub const INVALID_MSG_TYPE: ZebraErrorCode = ZebraErrorCode(2);
}

/// CLIENT_CAPABILITIES body: `cap u32` then fields that depend on `cap` (all big-endian).
#[non_exhaustive]
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub enum ClientCapabilities {
    /// ZEBRA_CLIENT_GR_CAPABILITIES (1): `stale_removal_time u32 | vrf_id u32`.
    GrCapabilities {
        /// Stale-route removal time in seconds.
        stale_removal_time: u32,
        /// VRF.
        vrf_id: u32,
    },
    /// ZEBRA_CLIENT_ROUTE_UPDATE_COMPLETE (2): `afi u32 | safi u32 | vrf_id u32`.
    RouteUpdateComplete {
        /// AFI.
        afi: u32,
        /// SAFI.
        safi: u32,
        /// VRF.
        vrf_id: u32,
    },
    /// ZEBRA_CLIENT_ROUTE_UPDATE_PENDING (3): `afi u32 | safi u32 | vrf_id u32`.
    RouteUpdatePending {
        /// AFI.
        afi: u32,
        /// SAFI.
        safi: u32,
        /// VRF.
        vrf_id: u32,
    },
    /// ZEBRA_CLIENT_GR_DISABLE (4): `vrf_id u32`.
    GrDisable {
        /// VRF.
        vrf_id: u32,
    },
    /// ZEBRA_CLIENT_RIB_STALE_TIME (5): `stale_removal_time u32 | vrf_id u32`.
    RibStaleTime {
        /// Stale-route removal time in seconds.
        stale_removal_time: u32,
        /// VRF.
        vrf_id: u32,
    },
    /// Any other capability code with its raw remaining bytes.
    Other {
        /// Capability code (not 1–5).
        #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::other_cap))]
        cap: u32,
        /// Raw remaining body.
        rest: Vec<u8>,
    },
}

/// ROUTE_NOTIFY_OWNER body: `note (4, host order) | family u8 | plen u8 | addr | table u32 |
/// afi u8 | safi u8`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[cfg_attr(feature = "arbitrary", derive(arbitrary::Arbitrary))]
pub struct RouteNotifyOwner {
    /// `enum zapi_route_notify_owner` (0 FAIL_INSTALL, 1 BETTER_ADMIN_WON, 2 INSTALLED,
    /// 3 REMOVED, 4 REMOVE_FAIL), **host order** on the wire.
    pub note: u32,
    /// The route's prefix (full address on the wire).
    #[cfg_attr(feature = "arbitrary", arbitrary(with = crate::arb::any_prefix))]
    pub prefix: IpNetwork,
    /// Table id.
    pub table_id: u32,
    /// AFI.
    pub afi: u8,
    /// SAFI.
    pub safi: u8,
}

/// Helper for constructing old-style nexthop lists in messages.
pub fn old_nexthops<I: IntoIterator<Item = crate::route::OldNexthop>>(it: I) -> OldNexthops {
    it.into_iter().collect()
}

/// Helper for constructing FRR nexthop lists in messages.
pub fn nexthops<I: IntoIterator<Item = crate::route::ZapiNexthop>>(it: I) -> Nexthops {
    it.into_iter().collect()
}
