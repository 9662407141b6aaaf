//! The sans-I/O server core: per-connection sessions, the interface table, the router id, the
//! nexthop-tracking registrations and the learned-route table.
//!
//! The I/O layer decodes frames into [`Request`]s, feeds them to [`ServerCore`] together with
//! connection lifecycle calls and the current time, and carries out the [`Output`]s: replies to
//! encode and send, events for the embedder, connections to close. Nothing here touches a socket
//! or a clock, so every behaviour is tested directly.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};

use ipnetwork::IpNetwork;
use zebra_proto::{Command, Profile};

use crate::gr::{GrAction, GrMessage, GrTable};
use crate::nht::{NhtQuery, ResolvedRoute, Rib};
use crate::routes::{normalize, RouteTable, Upsert};
use crate::types::{
    derive_router_id, ClientId, CloseReason, ExtraRoute, Interface, RouteEvent, RoutePath,
    RouteStats, ServerEvent,
};

/// Settings of the core (the protocol-level part of [`crate::ServerConfig`]).
#[derive(Debug, Clone)]
pub struct CoreConfig {
    /// Interfaces bgpd sees.
    pub interfaces: Vec<Interface>,
    /// Router id; `None` derives one from the interfaces as zebra does (highest loopback
    /// address, else highest interface address).
    pub router_id: Option<Ipv4Addr>,
    /// Routes besides the connected subnets, used to answer nexthop tracking.
    pub extra_routes: Vec<ExtraRoute>,
    /// Keep a closed client's routes this long (graceful restart) instead of withdrawing them at
    /// once; routes not refreshed by then are withdrawn.
    pub withdraw_grace: Option<Duration>,
    /// Resolve every tracked nexthop over the default route (zebra's
    /// `ip nht resolve-via-default`), not only registrations that ask for it.
    pub nht_resolve_via_default: bool,
    /// Most routes kept; further new prefixes are refused (never stored), counted in
    /// [`ServerCore::route_stats`] and logged once.
    pub max_routes: usize,
    /// Most nexthop registrations per client; a client exceeding it is disconnected.
    pub max_nht_per_client: usize,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            interfaces: Vec::new(),
            router_id: None,
            extra_routes: Vec::new(),
            withdraw_grace: None,
            nht_resolve_via_default: false,
            max_routes: 4_000_000,
            max_nht_per_client: 1_000_000,
        }
    }
}

/// One nexthop-tracking registration.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NhtRegistration {
    /// Tracked prefix (a host route for nexthops and peers; the statement's prefix for
    /// `network` import checks).
    pub prefix: IpNetwork,
    /// Resolve only over connected/static routes.
    pub connected: bool,
    /// Allow resolution over the default route.
    pub resolve_via_default: bool,
    /// SAFI (1 unicast).
    pub safi: u16,
}

/// A client message, reduced to what the server acts on (profile independent).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Request {
    /// HELLO.
    Hello {
        /// Route type the client will announce (9 = BGP).
        proto: u8,
        /// Instance.
        instance: u16,
        /// A synchronous (label-manager style) client gets no CAPABILITIES.
        synchronous: bool,
    },
    /// INTERFACE_ADD from a client: "send me all interfaces".
    InterfaceRequest,
    /// INTERFACE_DELETE with no body from a client: "stop sending interface updates"
    /// (bgpd's deregistration when it shuts down).
    InterfaceUnsubscribe,
    /// ROUTER_ID_ADD for an address family (AFI 1 = IPv4, 2 = IPv6).
    RouterIdAdd {
        /// AFI.
        afi: u16,
    },
    /// ROUTER_ID_DELETE.
    RouterIdDelete {
        /// AFI.
        afi: u16,
    },
    /// NEXTHOP_REGISTER (one or more entries).
    NexthopRegister(Vec<NhtRegistration>),
    /// NEXTHOP_UNREGISTER.
    NexthopUnregister(Vec<NhtRegistration>),
    /// Quagga v2 IPV4_NEXTHOP_LOOKUP.
    Ipv4NexthopLookup(Ipv4Addr),
    /// LABEL_MANAGER_CONNECT on a synchronous connection (FRR): the client blocks until it is
    /// answered (bgpd 10.3 retries forever otherwise).
    LabelManagerConnect {
        /// Client protocol (route type).
        proto: u8,
        /// Instance.
        instance: u16,
    },
    /// ROUTE_ADD / IPV4_ROUTE_ADD / IPV6_ROUTE_ADD: the full path set of `prefix`.
    RouteAdd {
        /// Destination.
        prefix: IpNetwork,
        /// Paths.
        paths: Vec<RoutePath>,
    },
    /// ROUTE_DELETE / IPV4_ROUTE_DELETE / IPV6_ROUTE_DELETE.
    RouteDelete {
        /// Destination.
        prefix: IpNetwork,
    },
    /// A known command the server accepts and ignores (BFD, label manager, redistribute, …).
    Ignored {
        /// Wire command number.
        command: u16,
    },
    /// CLIENT_CAPABILITIES: graceful restart (see [`GrMessage`]).
    ClientCapability(GrMessage),
    /// A command the server does not know (logged once per command number).
    Unknown {
        /// Wire command number.
        command: u16,
    },
}

/// A message to send to one client (the I/O layer encodes it for the client's profile).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Reply {
    /// CAPABILITIES (after HELLO, FRR only).
    Capabilities,
    /// INTERFACE_ADD.
    InterfaceAdd(Interface),
    /// INTERFACE_DELETE.
    InterfaceDelete(Interface),
    /// INTERFACE_UP (also sent when an up interface's attributes change).
    InterfaceUp(Interface),
    /// INTERFACE_DOWN.
    InterfaceDown(Interface),
    /// INTERFACE_ADDRESS_ADD.
    AddressAdd {
        /// Interface.
        ifindex: u32,
        /// Address with prefix length.
        address: IpNetwork,
    },
    /// INTERFACE_ADDRESS_DELETE.
    AddressDelete {
        /// Interface.
        ifindex: u32,
        /// Address with prefix length.
        address: IpNetwork,
    },
    /// ROUTER_ID_UPDATE (0.0.0.0 when the router id went away).
    RouterIdUpdate(Ipv4Addr),
    /// NEXTHOP_UPDATE for one registration.
    NexthopUpdate {
        /// SAFI of the registration.
        safi: u16,
        /// The registered prefix.
        target: IpNetwork,
        /// The resolving route, `None` when unresolved.
        resolved: Option<ResolvedRoute>,
    },
    /// LABEL_MANAGER_CONNECT reply (success) to a synchronous label-manager connection.
    LabelManagerConnected {
        /// Client protocol (route type), echoed.
        proto: u8,
        /// Instance, echoed.
        instance: u16,
    },
    /// Reply to Quagga v2 IPV4_NEXTHOP_LOOKUP.
    Ipv4NexthopLookupReply {
        /// The looked-up address.
        addr: Ipv4Addr,
        /// The resolving route, `None` when unresolved.
        resolved: Option<ResolvedRoute>,
    },
}

/// What the I/O layer must do after a core call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send `reply` to `client`.
    Send {
        /// Destination connection.
        client: ClientId,
        /// The message.
        reply: Reply,
    },
    /// Deliver an event to the embedder.
    Event(ServerEvent),
    /// Close `client`'s connection (the core already forgot it).
    Close {
        /// The connection.
        client: ClientId,
        /// Why.
        reason: CloseReason,
    },
}

#[derive(Debug, Clone)]
struct NhtEntry {
    connected: bool,
    resolve_via_default: bool,
    last: Option<ResolvedRoute>,
}

#[derive(Debug, Default)]
struct ClientState {
    profile: Option<Profile>,
    wants_interfaces: bool,
    wants_router_id: bool,
    nht: HashMap<(IpNetwork, u16), NhtEntry>,
}

/// The server's protocol state. See the module documentation.
#[derive(Debug)]
pub struct ServerCore {
    cfg: CoreConfig,
    router_id: Option<Ipv4Addr>,
    clients: BTreeMap<ClientId, ClientState>,
    next_id: u64,
    routes: RouteTable,
    /// Closed clients without graceful restart whose routes wait out `withdraw_grace`.
    grace: Vec<(Instant, ClientId)>,
    gr: GrTable,
    unknown_seen: HashSet<(Profile, u16)>,
    full_logged: bool,
    received: u64,
    deletes: u64,
    refused: u64,
    /// Refused adds by gateway (at most `RouteStats::MAX_GATEWAYS` keys; `None` takes the rest).
    refused_by_gateway: BTreeMap<Option<IpAddr>, u64>,
}

fn dedup_interfaces(mut ifs: Vec<Interface>) -> Vec<Interface> {
    let mut seen = HashSet::new();
    ifs.retain(|i| seen.insert(i.ifindex));
    for i in &mut ifs {
        let mut seen = HashSet::new();
        i.addresses.retain(|a| seen.insert(*a));
    }
    ifs
}

impl ServerCore {
    /// A core with the given settings and no clients.
    pub fn new(mut cfg: CoreConfig) -> ServerCore {
        cfg.interfaces = dedup_interfaces(std::mem::take(&mut cfg.interfaces));
        let router_id = derive_router_id(cfg.router_id, &cfg.interfaces);
        let routes = RouteTable::with_limit(cfg.max_routes);
        ServerCore {
            cfg,
            router_id,
            clients: BTreeMap::new(),
            next_id: 1,
            routes,
            grace: Vec::new(),
            gr: GrTable::default(),
            unknown_seen: HashSet::new(),
            full_logged: false,
            received: 0,
            deletes: 0,
            refused: 0,
            refused_by_gateway: BTreeMap::new(),
        }
    }

    fn rib(&self) -> Rib<'_> {
        Rib {
            interfaces: &self.cfg.interfaces,
            extra_routes: &self.cfg.extra_routes,
            resolve_via_default_always: self.cfg.nht_resolve_via_default,
        }
    }

    /// The interfaces currently announced.
    pub fn interfaces(&self) -> &[Interface] {
        &self.cfg.interfaces
    }

    /// The router id currently announced.
    pub fn router_id(&self) -> Option<Ipv4Addr> {
        self.router_id
    }

    /// How many clients are connected.
    pub fn client_count(&self) -> usize {
        self.clients.len()
    }

    /// How many learned routes are held (stale ones included).
    pub fn route_count(&self) -> usize {
        self.routes.len()
    }

    /// The route counters (constant time).
    pub fn route_stats(&self) -> RouteStats {
        RouteStats {
            received: self.received,
            deletes: self.deletes,
            held: self.routes.len() as u64,
            limit: self.routes.limit() as u64,
            refused: self.refused,
            refused_by_gateway: self
                .refused_by_gateway
                .iter()
                .map(|(g, n)| (*g, *n))
                .collect(),
            table_bytes: self.routes.heap_bytes() as u64,
        }
    }

    /// Whether the counters changed since `stats` was taken (cheap; for publishing).
    pub fn route_stats_changed(&self, stats: &RouteStats) -> bool {
        stats.received != self.received
            || stats.deletes != self.deletes
            || stats.held != self.routes.len() as u64
            || stats.refused != self.refused
    }

    /// Every learned prefix held (unordered).
    pub fn route_prefixes(&self) -> Vec<IpNetwork> {
        self.routes.prefixes()
    }

    /// The tracked registrations of a client (prefix, SAFI), for diagnostics.
    pub fn registrations(&self, client: ClientId) -> Vec<(IpNetwork, u16)> {
        self.clients
            .get(&client)
            .map(|c| c.nht.keys().copied().collect())
            .unwrap_or_default()
    }

    /// A new connection: returns its id.
    pub fn client_connected(&mut self, out: &mut Vec<Output>) -> ClientId {
        let id = ClientId(self.next_id);
        self.next_id += 1;
        self.clients.insert(id, ClientState::default());
        out.push(Output::Event(ServerEvent::ClientConnected { client: id }));
        id
    }

    /// Records the profile of a client (detected from its first frame, or configured). A
    /// client's requests are handled once its profile is known: the server sets it before it
    /// decodes the first request.
    pub fn set_client_profile(&mut self, client: ClientId, profile: Profile) {
        if let Some(c) = self.clients.get_mut(&client) {
            c.profile = Some(profile);
        }
    }

    /// A connection ended. Its routes are withdrawn now, or marked stale until the grace period
    /// ends (the deadline is then [`ServerCore::next_deadline`]).
    pub fn client_closed(
        &mut self,
        client: ClientId,
        reason: CloseReason,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        if self.clients.remove(&client).is_none() {
            return;
        }
        match self.gr.closed(client, now) {
            GrAction::KeepStale { owner } => {
                let kept = self.routes.mark_stale(owner_of(owner));
                tracing::info!(%client, kept, "graceful restart: routes kept stale");
                self.drop_empty_restarts();
            }
            GrAction::Withdraw { owner } => match self.cfg.withdraw_grace {
                None => Self::withdraw(self.routes.take_owned(owner_of(owner)), out),
                Some(grace) => {
                    // A grace too long to represent as an instant (the server refuses those; a
                    // direct embedder of the core may not) keeps the stale routes until a
                    // client refreshes them, with no deadline: the longest wait there is.
                    if self.routes.mark_stale(owner_of(owner)) > 0 {
                        if let Some(deadline) = now.checked_add(grace) {
                            self.grace.push((deadline, owner));
                        }
                    }
                }
            },
            other @ GrAction::Sweep { .. } => self.apply_gr(other, out),
        }
        out.push(Output::Event(ServerEvent::ClientGone { client, reason }));
        if self.clients.is_empty() {
            out.push(Output::Event(ServerEvent::AllClientsGone));
        }
    }

    /// When [`ServerCore::handle_timeout`] must next be called, if ever.
    pub fn next_deadline(&self) -> Option<Instant> {
        let grace = self.grace.iter().map(|(d, _)| *d).min();
        match (grace, self.gr.next_deadline()) {
            (Some(a), Some(b)) => Some(a.min(b)),
            (a, b) => a.or(b),
        }
    }

    /// Withdraws stale routes whose grace period (`withdraw_grace`, or a graceful restart's
    /// stale time) has ended.
    pub fn handle_timeout(&mut self, now: Instant, out: &mut Vec<Output>) {
        let (due, waiting): (Vec<_>, Vec<_>) = self.grace.iter().partition(|(d, _)| *d <= now);
        if !due.is_empty() {
            self.grace = waiting;
            let owners: Vec<u32> = due.iter().map(|(_, c)| owner_of(*c)).collect();
            let gone = self.routes.take_stale_of(&owners, None);
            let withdrawn = gone.len();
            Self::withdraw(gone, out);
            out.push(Output::Event(ServerEvent::GraceExpired { withdrawn }));
        }
        for action in self.gr.timeout(now) {
            self.apply_gr(action, out);
        }
    }

    /// Keeps the routes in `routes` (recovered by the embedder from an earlier run, e.g. after
    /// the controller restarted while its datapath kept forwarding) as stale routes of the
    /// client that will say HELLO with route type `proto` and `instance` (bgpd: 9, 0), exactly
    /// as if that client had restarted: what it sends again with the same paths produces no
    /// event, changed paths one `Replace`, and what it does not send again is withdrawn at its
    /// ROUTE_UPDATE_COMPLETE (for a family it said PENDING for) or after `stale_time` (at most
    /// [`MAX_STALE_TIME`](crate::MAX_STALE_TIME)). Returns how many routes are held (prefixes already known are left as they are).
    pub fn recover_routes(
        &mut self,
        proto: u8,
        instance: u16,
        routes: Vec<(IpNetwork, Vec<RoutePath>)>,
        stale_time: Duration,
        now: Instant,
    ) -> usize {
        let owner = ClientId(RECOVERED_OWNER);
        let mut held = 0;
        for (prefix, paths) in routes {
            let prefix = normalize(prefix);
            if paths.is_empty() || self.routes.contains(&prefix) {
                continue;
            }
            let fp = self.routes.fingerprint(&paths);
            if self.routes.upsert(&prefix, owner_of(owner), fp) == Upsert::Changed {
                held += 1;
            }
        }
        self.routes.mark_stale(owner_of(owner));
        self.gr.recover(proto, instance, owner, stale_time, now);
        held
    }

    /// Forgets the earlier restarts whose stale routes are all gone (re-announced by a later
    /// connection or withdrawn). Runs when a connection closes into a restart: a walk over the
    /// table only when an identity has more than one restart in progress.
    fn drop_empty_restarts(&mut self) {
        let earlier = self.gr.earlier_restart_owners();
        if earlier.is_empty() {
            return;
        }
        let ids: Vec<u32> = earlier.iter().copied().map(owner_of).collect();
        let live = self.routes.owners_with_stale(&ids);
        let empty: Vec<ClientId> = earlier
            .into_iter()
            .filter(|&c| !live.contains(&owner_of(c)))
            .collect();
        self.gr.drop_restarts(&empty);
    }

    fn apply_gr(&mut self, action: GrAction, out: &mut Vec<Output>) {
        match action {
            GrAction::Sweep {
                owners,
                family,
                cause,
            } => {
                let owners: Vec<u32> = owners.into_iter().map(owner_of).collect();
                let gone = self.routes.take_stale_of(&owners, family);
                let withdrawn = gone.len();
                tracing::info!(
                    ?family,
                    ?cause,
                    withdrawn,
                    "graceful restart: stale routes swept"
                );
                Self::withdraw(gone, out);
                out.push(Output::Event(ServerEvent::StaleRoutesSwept {
                    family,
                    withdrawn,
                    cause,
                }));
            }
            GrAction::KeepStale { owner } | GrAction::Withdraw { owner } => {
                tracing::debug!(%owner, "unexpected GR action outside a close");
            }
        }
    }

    fn withdraw(prefixes: Vec<IpNetwork>, out: &mut Vec<Output>) {
        for prefix in prefixes {
            out.push(Output::Event(ServerEvent::Route(RouteEvent::Withdraw {
                prefix,
            })));
        }
    }

    /// Handles one decoded client message.
    pub fn handle_request(
        &mut self,
        client: ClientId,
        request: Request,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let Some(state) = self.clients.get_mut(&client) else {
            return;
        };
        let Some(profile) = state.profile else {
            tracing::warn!(%client, ?request, "request before the client's profile is known; ignored");
            return;
        };
        tracing::trace!(%client, %profile, ?request, "zebra request");
        match request {
            Request::Hello {
                proto,
                instance,
                synchronous,
            } => {
                out.push(Output::Event(ServerEvent::ClientHello {
                    client,
                    proto,
                    instance,
                    profile,
                }));
                self.gr.hello(client, proto, instance, synchronous);
                if !synchronous && profile.supports(Command::Capabilities) {
                    out.push(Output::Send {
                        client,
                        reply: Reply::Capabilities,
                    });
                }
            }
            Request::InterfaceRequest => {
                state.wants_interfaces = true;
                for ifc in &self.cfg.interfaces {
                    out.push(Output::Send {
                        client,
                        reply: Reply::InterfaceAdd(ifc.clone()),
                    });
                    for a in &ifc.addresses {
                        out.push(Output::Send {
                            client,
                            reply: Reply::AddressAdd {
                                ifindex: ifc.ifindex,
                                address: *a,
                            },
                        });
                    }
                }
            }
            Request::InterfaceUnsubscribe => state.wants_interfaces = false,
            Request::RouterIdAdd { afi } => {
                if afi == 1 {
                    state.wants_router_id = true;
                    if let Some(id) = self.router_id {
                        out.push(Output::Send {
                            client,
                            reply: Reply::RouterIdUpdate(id),
                        });
                    }
                }
            }
            Request::RouterIdDelete { afi } => {
                if afi == 1 {
                    state.wants_router_id = false;
                }
            }
            Request::NexthopRegister(regs) => self.register(client, regs, now, out),
            Request::NexthopUnregister(regs) => {
                for r in regs {
                    state.nht.remove(&(r.prefix, r.safi));
                }
            }
            Request::Ipv4NexthopLookup(addr) => {
                let resolved = self.rib().resolve(&NhtQuery {
                    target: IpNetwork::from(IpAddr::V4(addr)),
                    connected: false,
                    resolve_via_default: true,
                });
                out.push(Output::Send {
                    client,
                    reply: Reply::Ipv4NexthopLookupReply { addr, resolved },
                });
            }
            Request::LabelManagerConnect { proto, instance } => out.push(Output::Send {
                client,
                reply: Reply::LabelManagerConnected { proto, instance },
            }),
            Request::RouteAdd { prefix, paths } => self.route_add(client, prefix, paths, out),
            Request::RouteDelete { prefix } => {
                self.deletes += 1;
                let prefix = normalize(prefix);
                if self.routes.remove(&prefix) {
                    out.push(Output::Event(ServerEvent::Route(RouteEvent::Withdraw {
                        prefix,
                    })));
                }
            }
            Request::ClientCapability(m) => {
                if let Some(action) = self.gr.message(client, m, now) {
                    self.apply_gr(action, out);
                }
            }
            Request::Ignored { .. } => {}
            Request::Unknown { command } => {
                if self.unknown_seen.insert((profile, command)) {
                    tracing::warn!(
                        %client,
                        command,
                        %profile,
                        "unknown zebra command ignored (logged once per command)"
                    );
                }
            }
        }
    }

    fn register(
        &mut self,
        client: ClientId,
        regs: Vec<NhtRegistration>,
        now: Instant,
        out: &mut Vec<Output>,
    ) {
        let limit = self.cfg.max_nht_per_client;
        let mut answers = Vec::with_capacity(regs.len());
        for r in &regs {
            let resolved = self.rib().resolve(&NhtQuery {
                target: r.prefix,
                connected: r.connected,
                resolve_via_default: r.resolve_via_default,
            });
            answers.push(resolved);
        }
        let Some(state) = self.clients.get_mut(&client) else {
            return;
        };
        for (r, resolved) in regs.into_iter().zip(answers) {
            let key = (r.prefix, r.safi);
            if !state.nht.contains_key(&key) && state.nht.len() >= limit {
                let reason =
                    CloseReason::Malformed(format!("more than {limit} nexthop registrations"));
                out.push(Output::Close {
                    client,
                    reason: reason.clone(),
                });
                self.client_closed(client, reason, now, out);
                return;
            }
            state.nht.insert(
                key,
                NhtEntry {
                    connected: r.connected,
                    resolve_via_default: r.resolve_via_default,
                    last: resolved.clone(),
                },
            );
            out.push(Output::Send {
                client,
                reply: Reply::NexthopUpdate {
                    safi: r.safi,
                    target: r.prefix,
                    resolved,
                },
            });
        }
    }

    fn route_add(
        &mut self,
        client: ClientId,
        prefix: IpNetwork,
        paths: Vec<RoutePath>,
        out: &mut Vec<Output>,
    ) {
        let prefix = normalize(prefix);
        if paths.is_empty() {
            tracing::debug!(%client, %prefix, "route add without nexthops ignored");
            return;
        }
        self.received += 1;
        let fp = self.routes.fingerprint(&paths);
        match self.routes.upsert(&prefix, owner_of(client), fp) {
            Upsert::Changed => {
                out.push(Output::Event(ServerEvent::Route(RouteEvent::Replace {
                    prefix,
                    paths,
                })));
            }
            Upsert::Unchanged => {}
            Upsert::Full => {
                self.refused += 1;
                let gateway = paths.first().and_then(|p| p.gateway);
                let key = if self.refused_by_gateway.contains_key(&gateway)
                    || self.refused_by_gateway.len() < RouteStats::MAX_GATEWAYS - 1
                {
                    gateway
                } else {
                    None
                };
                *self.refused_by_gateway.entry(key).or_insert(0) += 1;
                if !self.full_logged {
                    self.full_logged = true;
                    tracing::warn!(
                        limit = self.cfg.max_routes,
                        %prefix,
                        "learned-route table full; new prefixes refused and counted (logged once)"
                    );
                }
            }
        }
    }

    /// Replaces the interface list and announces the differences to clients that asked for
    /// interfaces; then re-announces the router id and re-answers changed registrations.
    pub fn set_interfaces(&mut self, interfaces: Vec<Interface>, out: &mut Vec<Output>) {
        let new = dedup_interfaces(interfaces);
        let old = std::mem::replace(&mut self.cfg.interfaces, new);
        let replies = interface_diff(&old, &self.cfg.interfaces);
        for (id, c) in &self.clients {
            if c.wants_interfaces {
                for r in &replies {
                    out.push(Output::Send {
                        client: *id,
                        reply: r.clone(),
                    });
                }
            }
        }
        self.refresh_router_id(out);
        self.reevaluate_nht(out);
    }

    /// Sets (or clears, to derive it from interfaces) the router id and announces a change.
    pub fn set_router_id(&mut self, router_id: Option<Ipv4Addr>, out: &mut Vec<Output>) {
        self.cfg.router_id = router_id;
        self.refresh_router_id(out);
    }

    /// Replaces the extra routes and re-answers registrations whose resolution changed.
    pub fn set_extra_routes(&mut self, routes: Vec<ExtraRoute>, out: &mut Vec<Output>) {
        self.cfg.extra_routes = routes;
        self.reevaluate_nht(out);
    }

    /// Changes the grace period applied to routes of clients that close from now on.
    pub fn set_withdraw_grace(&mut self, grace: Option<Duration>) {
        self.cfg.withdraw_grace = grace;
    }

    fn refresh_router_id(&mut self, out: &mut Vec<Output>) {
        let new = derive_router_id(self.cfg.router_id, &self.cfg.interfaces);
        if new == self.router_id {
            return;
        }
        self.router_id = new;
        let id = new.unwrap_or(Ipv4Addr::UNSPECIFIED);
        for (client, c) in &self.clients {
            if c.wants_router_id {
                out.push(Output::Send {
                    client: *client,
                    reply: Reply::RouterIdUpdate(id),
                });
            }
        }
    }

    fn reevaluate_nht(&mut self, out: &mut Vec<Output>) {
        let rib = Rib {
            interfaces: &self.cfg.interfaces,
            extra_routes: &self.cfg.extra_routes,
            resolve_via_default_always: self.cfg.nht_resolve_via_default,
        };
        for (client, c) in self.clients.iter_mut() {
            for ((prefix, safi), e) in c.nht.iter_mut() {
                let resolved = rib.resolve(&NhtQuery {
                    target: *prefix,
                    connected: e.connected,
                    resolve_via_default: e.resolve_via_default,
                });
                if resolved != e.last {
                    e.last = resolved.clone();
                    out.push(Output::Send {
                        client: *client,
                        reply: Reply::NexthopUpdate {
                            safi: *safi,
                            target: *prefix,
                            resolved,
                        },
                    });
                }
            }
        }
    }
}

/// The owner of routes recovered with [`ServerCore::recover_routes`] (connection ids start at 1).
const RECOVERED_OWNER: u64 = 0;

fn owner_of(client: ClientId) -> u32 {
    // Ids are allocated sequentially; 2^32 connections in one server's life wrap harmlessly
    // except for route ownership between clients 2^32 apart.
    client.0 as u32
}

/// Messages that turn the `old` interface list into the `new` one.
fn interface_diff(old: &[Interface], new: &[Interface]) -> Vec<Reply> {
    let mut deletes = Vec::new();
    let mut changes = Vec::new();
    let mut adds = Vec::new();
    for o in old {
        match new
            .iter()
            .find(|n| n.ifindex == o.ifindex && n.name == o.name)
        {
            None => {
                for a in &o.addresses {
                    deletes.push(Reply::AddressDelete {
                        ifindex: o.ifindex,
                        address: *a,
                    });
                }
                deletes.push(Reply::InterfaceDelete(o.clone()));
            }
            Some(n) => {
                for a in o.addresses.iter().filter(|a| !n.addresses.contains(a)) {
                    deletes.push(Reply::AddressDelete {
                        ifindex: o.ifindex,
                        address: *a,
                    });
                }
                if n.flags != o.flags || n.mtu != o.mtu || n.mac != o.mac {
                    changes.push(if n.is_operative() {
                        Reply::InterfaceUp(n.clone())
                    } else {
                        Reply::InterfaceDown(n.clone())
                    });
                }
                for a in n.addresses.iter().filter(|a| !o.addresses.contains(a)) {
                    adds.push(Reply::AddressAdd {
                        ifindex: n.ifindex,
                        address: *a,
                    });
                }
            }
        }
    }
    for n in new {
        if !old
            .iter()
            .any(|o| o.ifindex == n.ifindex && o.name == n.name)
        {
            adds.push(Reply::InterfaceAdd(n.clone()));
            for a in &n.addresses {
                adds.push(Reply::AddressAdd {
                    ifindex: n.ifindex,
                    address: *a,
                });
            }
        }
    }
    deletes.extend(changes);
    deletes.extend(adds);
    deletes
}

#[cfg(test)]
#[path = "core_tests.rs"]
mod tests;

#[cfg(test)]
#[path = "core_gr_tests.rs"]
mod gr_tests;
