//! Profile-independent command identifiers.

/// A Zebra command this crate types, independent of its wire number (see
/// [`Profile::command_number`](crate::Profile::command_number)).
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Command {
    /// ZEBRA_INTERFACE_ADD.
    InterfaceAdd,
    /// ZEBRA_INTERFACE_DELETE.
    InterfaceDelete,
    /// ZEBRA_INTERFACE_ADDRESS_ADD.
    InterfaceAddressAdd,
    /// ZEBRA_INTERFACE_ADDRESS_DELETE.
    InterfaceAddressDelete,
    /// ZEBRA_INTERFACE_UP.
    InterfaceUp,
    /// ZEBRA_INTERFACE_DOWN.
    InterfaceDown,
    /// ZEBRA_IPV4_ROUTE_ADD (Quagga).
    Ipv4RouteAdd,
    /// ZEBRA_IPV4_ROUTE_DELETE (Quagga).
    Ipv4RouteDelete,
    /// ZEBRA_IPV6_ROUTE_ADD (Quagga).
    Ipv6RouteAdd,
    /// ZEBRA_IPV6_ROUTE_DELETE (Quagga).
    Ipv6RouteDelete,
    /// ZEBRA_ROUTE_ADD (FRR).
    RouteAdd,
    /// ZEBRA_ROUTE_DELETE (FRR).
    RouteDelete,
    /// ZEBRA_ROUTE_NOTIFY_OWNER (FRR).
    RouteNotifyOwner,
    /// ZEBRA_REDISTRIBUTE_ADD.
    RedistributeAdd,
    /// ZEBRA_REDISTRIBUTE_DELETE.
    RedistributeDelete,
    /// ZEBRA_REDISTRIBUTE_DEFAULT_ADD.
    RedistributeDefaultAdd,
    /// ZEBRA_REDISTRIBUTE_DEFAULT_DELETE.
    RedistributeDefaultDelete,
    /// ZEBRA_IPV4_NEXTHOP_LOOKUP (Quagga).
    Ipv4NexthopLookup,
    /// ZEBRA_ROUTER_ID_ADD.
    RouterIdAdd,
    /// ZEBRA_ROUTER_ID_DELETE.
    RouterIdDelete,
    /// ZEBRA_ROUTER_ID_UPDATE.
    RouterIdUpdate,
    /// ZEBRA_HELLO.
    Hello,
    /// ZEBRA_CAPABILITIES (FRR).
    Capabilities,
    /// ZEBRA_NEXTHOP_REGISTER.
    NexthopRegister,
    /// ZEBRA_NEXTHOP_UNREGISTER.
    NexthopUnregister,
    /// ZEBRA_NEXTHOP_UPDATE.
    NexthopUpdate,
    /// ZEBRA_REDISTRIBUTE_ROUTE_ADD (FRR).
    RedistributeRouteAdd,
    /// ZEBRA_REDISTRIBUTE_ROUTE_DEL (FRR).
    RedistributeRouteDel,
    /// ZEBRA_VRF_ADD (FRR).
    VrfAdd,
    /// ZEBRA_VRF_DELETE (FRR).
    VrfDelete,
    /// ZEBRA_BFD_CLIENT_REGISTER (FRR).
    BfdClientRegister,
    /// ZEBRA_LABEL_MANAGER_CONNECT (FRR).
    LabelManagerConnect,
    /// ZEBRA_LABEL_MANAGER_CONNECT_ASYNC (FRR).
    LabelManagerConnectAsync,
    /// ZEBRA_GET_LABEL_CHUNK (FRR).
    GetLabelChunk,
    /// ZEBRA_ERROR (FRR).
    Error,
    /// ZEBRA_CLIENT_CAPABILITIES (FRR).
    ClientCapabilities,
    /// ZEBRA_ROUTE_NOTIFY_REQUEST (FRR).
    RouteNotifyRequest,
}

impl Command {
    /// The daemon's name for the command, e.g. `"ROUTE_ADD"`.
    pub const fn name(self) -> &'static str {
        match self {
            Command::InterfaceAdd => "INTERFACE_ADD",
            Command::InterfaceDelete => "INTERFACE_DELETE",
            Command::InterfaceAddressAdd => "INTERFACE_ADDRESS_ADD",
            Command::InterfaceAddressDelete => "INTERFACE_ADDRESS_DELETE",
            Command::InterfaceUp => "INTERFACE_UP",
            Command::InterfaceDown => "INTERFACE_DOWN",
            Command::Ipv4RouteAdd => "IPV4_ROUTE_ADD",
            Command::Ipv4RouteDelete => "IPV4_ROUTE_DELETE",
            Command::Ipv6RouteAdd => "IPV6_ROUTE_ADD",
            Command::Ipv6RouteDelete => "IPV6_ROUTE_DELETE",
            Command::RouteAdd => "ROUTE_ADD",
            Command::RouteDelete => "ROUTE_DELETE",
            Command::RouteNotifyOwner => "ROUTE_NOTIFY_OWNER",
            Command::RedistributeAdd => "REDISTRIBUTE_ADD",
            Command::RedistributeDelete => "REDISTRIBUTE_DELETE",
            Command::RedistributeDefaultAdd => "REDISTRIBUTE_DEFAULT_ADD",
            Command::RedistributeDefaultDelete => "REDISTRIBUTE_DEFAULT_DELETE",
            Command::Ipv4NexthopLookup => "IPV4_NEXTHOP_LOOKUP",
            Command::RouterIdAdd => "ROUTER_ID_ADD",
            Command::RouterIdDelete => "ROUTER_ID_DELETE",
            Command::RouterIdUpdate => "ROUTER_ID_UPDATE",
            Command::Hello => "HELLO",
            Command::Capabilities => "CAPABILITIES",
            Command::NexthopRegister => "NEXTHOP_REGISTER",
            Command::NexthopUnregister => "NEXTHOP_UNREGISTER",
            Command::NexthopUpdate => "NEXTHOP_UPDATE",
            Command::RedistributeRouteAdd => "REDISTRIBUTE_ROUTE_ADD",
            Command::RedistributeRouteDel => "REDISTRIBUTE_ROUTE_DEL",
            Command::VrfAdd => "VRF_ADD",
            Command::VrfDelete => "VRF_DELETE",
            Command::BfdClientRegister => "BFD_CLIENT_REGISTER",
            Command::LabelManagerConnect => "LABEL_MANAGER_CONNECT",
            Command::LabelManagerConnectAsync => "LABEL_MANAGER_CONNECT_ASYNC",
            Command::GetLabelChunk => "GET_LABEL_CHUNK",
            Command::Error => "ERROR",
            Command::ClientCapabilities => "CLIENT_CAPABILITIES",
            Command::RouteNotifyRequest => "ROUTE_NOTIFY_REQUEST",
        }
    }
}

impl std::fmt::Display for Command {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}
