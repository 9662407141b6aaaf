//! Graceful restart of zebra clients: what FRR's zebra does with ZEBRA_CLIENT_CAPABILITIES
//! (zebra/zebra_gr.c), as a sans-I/O state machine the core drives.
//!
//! A client says HELLO with its route type and instance (bgpd: 9, 0); GR state belongs to that
//! *identity*, so that a restarted bgpd (a new connection) takes over what the old one left.
//!
//! * `GR_CAPABILITIES { stale_time }` makes the identity GR-capable. When its connection then
//!   closes, its routes are not withdrawn but kept **stale** for `stale_time` (bgpd sends its
//!   `rib-stale-time`, 500 s by default).
//! * The next connection with the same identity (the restarted bgpd) re-sends routes; a route
//!   sent again is fresh again (the core emits nothing if its paths are unchanged).
//! * `ROUTE_UPDATE_PENDING { afi, safi }` says bgpd defers path selection for that family (it
//!   waits for its peers' End-of-RIB); the matching `ROUTE_UPDATE_COMPLETE` says it has sent
//!   every route of the family: the stale routes of that family that were not sent again are
//!   withdrawn then (a *sweep*).
//! * At the end of the stale time every route still stale is withdrawn, whatever came back.
//! * A stale time beyond [`MAX_STALE_TIME`] (3,600 s) is taken as that bound, logged once per
//!   table: bgpd never sends more (`bgp graceful-restart rib-stale-time` accepts 1–3600 s),
//!   whereas zebra takes the 32-bit value as is (a client could keep routes for 136 years).
//! * `RIB_STALE_TIME` changes the stale time for the next restart (a running one keeps its end,
//!   as zebra keeps its timer); `GR_DISABLE` ends GR for the identity and withdraws its stale routes at once.
//! * A client that never sent GR_CAPABILITIES (Quagga, bgpd without `bgp graceful-restart`) has
//!   its routes withdrawn as soon as it closes, as before.
//!
//! Deliberate differences from zebra 8.4/10.3, each because real bgpd 8.4.4 showed it (see
//! `zebra-proto/tests/live_bgpd_gr.rs` and docs/routing.md, "GR timeline"):
//!
//! * A COMPLETE sweeps a family at once only if this connection said PENDING for it. bgpd
//!   (8.4 and 10.3 alike) says COMPLETE for every AFI/SAFI right at Established when it does
//!   not defer — a peer without GR, or a peer that sets the R bit itself (FRR sets it during its
//!   own start-up period, `bgp graceful-restart restart-time` long, so two young speakers both
//!   set it and neither defers) — *before* it has the routes again; zebra would withdraw
//!   everything then and install it again moments later (a flap). Here such a COMPLETE starts
//!   a *settle* period instead (`DEFAULT_SETTLE`, 30 s; each further undeferred COMPLETE of the
//!   family restarts it): the family's routes still stale when it ends are swept. Keeping them
//!   to the stale time (500 s) would keep a prefix the peer withdrew while bgpd was down (bgpd
//!   never learns it again, so it never sends a delete for it) for that long. A PENDING for the
//!   family cancels the settle period (bgpd defers; its COMPLETE sweeps).
//! * Each closed connection's stale routes get their own stale time (zebra keeps the first
//!   timer running when bgpd restarts again before it ends, and then withdraws the routes the
//!   second bgpd had re-sent as well).
//! * PENDING/COMPLETE marks are per connection (zebra keeps them from earlier incarnations, so
//!   a second restart's first COMPLETE would end it for every family).
//! * GR_CAPABILITIES and RIB_STALE_TIME always set the stale time of the *next* restart (zebra
//!   ignores both while a restart is running and keeps GR_CAPABILITIES' first value, so a
//!   restarted bgpd with a new `rib-stale-time` would keep the old one).
//! * Only the default VRF (0) and SAFI unicast (1) are served, like the rest of this server;
//!   capabilities for others are ignored (zebra 10.3 also ignores non-unicast SAFIs).
//! * Only bgpd's main connection takes over the GR state (a synchronous HELLO — the label
//!   manager's connection — does not), and a second live connection with the same identity
//!   gets none.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use crate::types::ClientId;

/// `ZEBRA_ROUTE_CONNECT`: route types up to this one are not dynamic; zebra refuses GR for them.
const ROUTE_CONNECT: u8 = 2;
/// FRR's internal `AFI_IP` / `AFI_IP6` (not IANA's numbering, though equal here).
const AFI_IP: u32 = 1;
const AFI_IP6: u32 = 2;
/// FRR's internal `SAFI_UNICAST`.
const SAFI_UNICAST: u32 = 1;
/// Default settle period after an undeferred ROUTE_UPDATE_COMPLETE (see the module
/// documentation): bgpd re-sends its routes about a second after it (measured with bgpd 8.4
/// and 10.3 in `routing/tests/e2e_frr10.rs`); this leaves room for large tables and peers that
/// reach Established one after the other.
pub(crate) const DEFAULT_SETTLE: Duration = Duration::from_secs(30);

/// The longest stale time a graceful-restart client (or [`ZebraServer::recover_routes`]) gets:
/// 3,600 s, the most bgpd's `bgp graceful-restart rib-stale-time` accepts (FRR 8.4 and 10.x;
/// its default is 500 s). FRR's zebra takes the client's 32-bit value unchecked; a longer one
/// is taken as this bound here (see the module documentation).
///
/// [`ZebraServer::recover_routes`]: crate::ZebraServer::recover_routes
pub const MAX_STALE_TIME: Duration = Duration::from_secs(3600);

/// A ZEBRA_CLIENT_CAPABILITIES message, reduced to what the server acts on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum GrMessage {
    /// ZEBRA_CLIENT_GR_CAPABILITIES: the client does graceful restart; keep its routes this
    /// many seconds after it disconnects.
    Capable {
        /// Stale time in seconds.
        stale_time: u32,
        /// VRF.
        vrf_id: u32,
    },
    /// ZEBRA_CLIENT_RIB_STALE_TIME: a new stale time.
    StaleTime {
        /// Stale time in seconds.
        stale_time: u32,
        /// VRF.
        vrf_id: u32,
    },
    /// ZEBRA_CLIENT_ROUTE_UPDATE_PENDING: the client defers the routes of this family.
    UpdatePending {
        /// FRR's internal AFI (1 IPv4, 2 IPv6).
        afi: u32,
        /// FRR's internal SAFI (1 unicast).
        safi: u32,
        /// VRF.
        vrf_id: u32,
    },
    /// ZEBRA_CLIENT_ROUTE_UPDATE_COMPLETE: the client has sent every route of this family.
    UpdateComplete {
        /// FRR's internal AFI (1 IPv4, 2 IPv6).
        afi: u32,
        /// FRR's internal SAFI (1 unicast).
        safi: u32,
        /// VRF.
        vrf_id: u32,
    },
    /// ZEBRA_CLIENT_GR_DISABLE: graceful restart is off for the client.
    Disable {
        /// VRF.
        vrf_id: u32,
    },
}

/// An address family of learned routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Family {
    /// IPv4.
    Ipv4,
    /// IPv6.
    Ipv6,
}

impl Family {
    fn from_afi(afi: u32) -> Option<Family> {
        match afi {
            AFI_IP => Some(Family::Ipv4),
            AFI_IP6 => Some(Family::Ipv6),
            _ => None,
        }
    }

    fn index(self) -> usize {
        match self {
            Family::Ipv4 => 0,
            Family::Ipv6 => 1,
        }
    }
}

/// What the core must do to the route table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum GrAction {
    /// Withdraw every route of `owner` now (a client without GR closed).
    Withdraw {
        /// The closed connection.
        owner: ClientId,
    },
    /// Keep `owner`'s routes, marked stale (a GR-capable client closed).
    KeepStale {
        /// The closed connection.
        owner: ClientId,
    },
    /// Withdraw the routes still stale that belong to one of `owners`, of `family` or of
    /// every family.
    Sweep {
        /// Closed connections whose stale routes go.
        owners: Vec<ClientId>,
        /// Only this family (`None`: all).
        family: Option<Family>,
        /// Why (for logs and the embedder's event).
        cause: SweepCause,
    },
}

/// Why stale routes of a restarted client were withdrawn.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum SweepCause {
    /// The restarted client said ROUTE_UPDATE_COMPLETE for the family (after PENDING).
    UpdateComplete,
    /// The settle period after a ROUTE_UPDATE_COMPLETE the client sent without deferring
    /// (no ROUTE_UPDATE_PENDING first) ran out.
    UpdateCompleteSettled,
    /// The stale time ran out.
    StaleTimeExpired,
    /// The client turned graceful restart off.
    Disabled,
}

/// The identity GR state belongs to: route type and instance from HELLO.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
struct Identity {
    proto: u8,
    instance: u16,
}

/// A restart in progress: the closed connection whose routes are stale, and when they go.
#[derive(Debug, Clone, Copy)]
struct Restart {
    deadline: Instant,
    owner: ClientId,
}

/// GR state of one identity (zebra's `client_gr_info`).
#[derive(Debug, Clone)]
struct Info {
    /// The connection that has the identity now, if any.
    live: Option<ClientId>,
    /// The live connection said GR_CAPABILITIES (and no GR_DISABLE since).
    capable: bool,
    stale_time: Duration,
    pending: [bool; 2],
    complete: [bool; 2],
    /// Per family: when the routes still stale go after an undeferred COMPLETE.
    settle: [Option<Instant>; 2],
    /// One per closed connection whose stale routes may remain.
    restarts: Vec<Restart>,
}

impl Info {
    fn new(live: Option<ClientId>, stale_time: Duration) -> Info {
        Info {
            live,
            capable: false,
            stale_time,
            pending: [false; 2],
            complete: [false; 2],
            settle: [None; 2],
            restarts: Vec::new(),
        }
    }
}

/// The GR state of every client identity. See the module documentation.
#[derive(Debug)]
pub(crate) struct GrTable {
    infos: HashMap<Identity, Info>,
    /// Identities of the live connections that may take part in GR.
    identity: HashMap<ClientId, Identity>,
    /// Settle period after an undeferred COMPLETE.
    settle: Duration,
    /// A stale time was capped at [`MAX_STALE_TIME`] already (it is logged once).
    capped: bool,
}

impl Default for GrTable {
    fn default() -> Self {
        GrTable::new(DEFAULT_SETTLE)
    }
}

impl GrTable {
    /// An empty table whose undeferred COMPLETEs sweep after `settle`.
    pub(crate) fn new(settle: Duration) -> GrTable {
        GrTable {
            infos: HashMap::new(),
            identity: HashMap::new(),
            settle,
            capped: false,
        }
    }

    /// `requested` bounded by [`MAX_STALE_TIME`]; the first time it is capped is logged.
    fn capped(&mut self, requested: Duration) -> Duration {
        if requested <= MAX_STALE_TIME {
            return requested;
        }
        if !std::mem::replace(&mut self.capped, true) {
            tracing::warn!(
                requested_secs = requested.as_secs(),
                max_secs = MAX_STALE_TIME.as_secs(),
                "graceful-restart stale time beyond the most bgpd sends: capped (logged once)"
            );
        }
        MAX_STALE_TIME
    }

    /// A client said HELLO. A dynamic, asynchronous client takes over the GR state its
    /// identity left (zebra's `zebra_gr_client_reconnect`).
    pub(crate) fn hello(&mut self, client: ClientId, proto: u8, instance: u16, synchronous: bool) {
        if synchronous || proto <= ROUTE_CONNECT {
            return;
        }
        let id = Identity { proto, instance };
        if let Some(info) = self.infos.get_mut(&id) {
            match info.live {
                Some(other) if other != client => {
                    tracing::warn!(
                        %client, %other, proto, instance,
                        "second live connection with the same route type and instance: no graceful restart for it"
                    );
                    return;
                }
                _ => {
                    info.live = Some(client);
                    info.capable = false;
                    info.pending = [false; 2];
                    info.complete = [false; 2];
                    info.settle = [None; 2];
                }
            }
        }
        self.identity.insert(client, id);
    }

    /// A CLIENT_CAPABILITIES message from `client`, received at `now`.
    pub(crate) fn message(
        &mut self,
        client: ClientId,
        msg: GrMessage,
        now: Instant,
    ) -> Option<GrAction> {
        let settle = self.settle;
        let Some(&id) = self.identity.get(&client) else {
            tracing::debug!(%client, ?msg, "GR capability from a client without a dynamic HELLO ignored");
            return None;
        };
        let vrf = match msg {
            GrMessage::Capable { vrf_id, .. }
            | GrMessage::StaleTime { vrf_id, .. }
            | GrMessage::UpdatePending { vrf_id, .. }
            | GrMessage::UpdateComplete { vrf_id, .. }
            | GrMessage::Disable { vrf_id } => vrf_id,
        };
        if vrf != 0 {
            tracing::debug!(%client, ?msg, "GR capability for a VRF other than the default ignored");
            return None;
        }
        match msg {
            GrMessage::Capable { stale_time, .. } => {
                let t = self.capped(Duration::from_secs(u64::from(stale_time)));
                let info = self
                    .infos
                    .entry(id)
                    .or_insert_with(|| Info::new(Some(client), t));
                info.capable = true;
                info.stale_time = t;
                None
            }
            GrMessage::StaleTime { stale_time, .. } => {
                let t = self.capped(Duration::from_secs(u64::from(stale_time)));
                if let Some(info) = self.infos.get_mut(&id) {
                    info.stale_time = t;
                }
                None
            }
            GrMessage::UpdatePending { afi, safi, .. } => {
                let fam = unicast_family(afi, safi)?;
                let info = self.infos.get_mut(&id)?;
                info.pending[fam.index()] = true;
                info.settle[fam.index()] = None;
                None
            }
            GrMessage::UpdateComplete { afi, safi, .. } => {
                let fam = unicast_family(afi, safi)?;
                let info = self.infos.get_mut(&id)?;
                info.complete[fam.index()] = true;
                if info.restarts.is_empty() {
                    return None;
                }
                if !info.pending[fam.index()] {
                    // Not deferred: bgpd re-sends the routes after this; sweep what is still
                    // stale once they had time to arrive.
                    info.settle[fam.index()] = now.checked_add(settle);
                    return None;
                }
                Some(GrAction::Sweep {
                    owners: info.restarts.iter().map(|r| r.owner).collect(),
                    family: Some(fam),
                    cause: SweepCause::UpdateComplete,
                })
            }
            GrMessage::Disable { .. } => {
                let info = self.infos.remove(&id)?;
                if info.restarts.is_empty() {
                    return None;
                }
                Some(GrAction::Sweep {
                    owners: info.restarts.iter().map(|r| r.owner).collect(),
                    family: None,
                    cause: SweepCause::Disabled,
                })
            }
        }
    }

    /// `client` closed: its routes are kept stale if its identity does graceful restart,
    /// otherwise withdrawn.
    pub(crate) fn closed(&mut self, client: ClientId, now: Instant) -> GrAction {
        let Some(id) = self.identity.remove(&client) else {
            return GrAction::Withdraw { owner: client };
        };
        let Some(info) = self.infos.get_mut(&id) else {
            return GrAction::Withdraw { owner: client };
        };
        if info.live != Some(client) {
            return GrAction::Withdraw { owner: client };
        }
        info.live = None;
        if !std::mem::take(&mut info.capable) {
            return GrAction::Withdraw { owner: client };
        }
        info.pending = [false; 2];
        info.complete = [false; 2];
        info.settle = [None; 2];
        info.restarts.push(Restart {
            deadline: now + info.stale_time,
            owner: client,
        });
        GrAction::KeepStale { owner: client }
    }

    /// Starts a restart for routes recovered from an earlier run of the embedder (owned by
    /// `owner`, a pseudo-connection): the next bgpd (route type `proto`, `instance`) takes it
    /// over as if it were the old bgpd restarting. `stale_time` is capped at [`MAX_STALE_TIME`].
    pub(crate) fn recover(
        &mut self,
        proto: u8,
        instance: u16,
        owner: ClientId,
        stale_time: Duration,
        now: Instant,
    ) {
        let stale_time = self.capped(stale_time);
        let id = Identity { proto, instance };
        let info = self
            .infos
            .entry(id)
            .or_insert_with(|| Info::new(None, stale_time));
        info.restarts.push(Restart {
            deadline: now + stale_time,
            owner,
        });
    }

    /// The owners of every restart in progress but the newest of its identity: those that
    /// may be dropped once they own no stale route (see [`GrTable::drop_restarts`]).
    pub(crate) fn earlier_restart_owners(&self) -> Vec<ClientId> {
        self.infos
            .values()
            .flat_map(|i| {
                let n = i.restarts.len().saturating_sub(1);
                i.restarts.iter().take(n).map(|r| r.owner)
            })
            .collect()
    }

    /// Drops the restarts of `owners` (none of them the newest of its identity, which keeps
    /// the identity's life cycle): their routes were all re-announced or withdrawn, so their
    /// sweep would find nothing. Without this a client that reconnects again and again within
    /// its stale time would grow the list of restarts (and each timer scan) without bound.
    pub(crate) fn drop_restarts(&mut self, owners: &[ClientId]) {
        if owners.is_empty() {
            return;
        }
        for info in self.infos.values_mut() {
            let newest = info.restarts.last().map(|r| r.owner);
            info.restarts
                .retain(|r| Some(r.owner) == newest || !owners.contains(&r.owner));
        }
    }

    /// The earliest end of a restart, if any is in progress.
    pub(crate) fn next_deadline(&self) -> Option<Instant> {
        self.infos
            .values()
            .flat_map(|i| {
                let settling = i.settle.iter().flatten().filter(|_| !i.restarts.is_empty());
                i.restarts
                    .iter()
                    .map(|r| r.deadline)
                    .chain(settling.copied())
            })
            .min()
    }

    /// Ends the restarts whose stale time is over: their stale routes go. An identity whose
    /// client never came back is forgotten (zebra deletes the stale client).
    pub(crate) fn timeout(&mut self, now: Instant) -> Vec<GrAction> {
        let mut out = Vec::new();
        self.infos.retain(|_, info| {
            for fam in [Family::Ipv4, Family::Ipv6] {
                let slot = &mut info.settle[fam.index()];
                if slot.is_some_and(|d| d <= now) {
                    *slot = None;
                    if !info.restarts.is_empty() {
                        out.push(GrAction::Sweep {
                            owners: info.restarts.iter().map(|r| r.owner).collect(),
                            family: Some(fam),
                            cause: SweepCause::UpdateCompleteSettled,
                        });
                    }
                }
            }
            let (due, running): (Vec<Restart>, Vec<Restart>) =
                info.restarts.iter().partition(|r| r.deadline <= now);
            if due.is_empty() {
                return true;
            }
            info.restarts = running;
            out.push(GrAction::Sweep {
                owners: due.iter().map(|r| r.owner).collect(),
                family: None,
                cause: SweepCause::StaleTimeExpired,
            });
            info.live.is_some() || !info.restarts.is_empty()
        });
        out
    }

    /// Whether `client`'s identity does graceful restart now (its routes would be kept).
    #[cfg(test)]
    pub(crate) fn keeps_routes_of(&self, client: ClientId) -> bool {
        self.identity
            .get(&client)
            .and_then(|id| self.infos.get(id))
            .is_some_and(|i| i.live == Some(client) && i.capable)
    }
}

fn unicast_family(afi: u32, safi: u32) -> Option<Family> {
    if safi != SAFI_UNICAST {
        return None;
    }
    Family::from_afi(afi)
}

#[cfg(test)]
#[path = "gr_tests.rs"]
mod tests;
