//! Typed views of FRR 8.4's JSON status output (`show bgp summary json`,
//! `show bgp ipv6 summary json`, `show bgp neighbors json`).
//!
//! Only the fields the project uses are typed; unknown fields are ignored so newer bgpd output
//! still parses. Peers are keyed by the text bgpd uses (an address, or an interface name for
//! unnumbered peers); [`FamilySummary::peer`] looks a peer up by address.

use std::collections::BTreeMap;
use std::fmt;
use std::net::IpAddr;

use serde::{Deserialize, Deserializer};

use crate::client::Vty;
use crate::error::VtyError;

/// A BGP finite-state-machine state as bgpd shows it.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum PeerState {
    /// Idle (also `Idle (Admin)` for a shut-down peer, `Idle (PfxCt)` after max-prefix).
    Idle,
    /// Connect.
    Connect,
    /// Active.
    Active,
    /// OpenSent.
    OpenSent,
    /// OpenConfirm.
    OpenConfirm,
    /// Established.
    Established,
    /// Clearing.
    Clearing,
    /// Deleted.
    Deleted,
    /// Any other text.
    Other(String),
}

impl PeerState {
    /// Parses bgpd's text; the first word decides (`Idle (Admin)` is `Idle`).
    pub fn parse(text: &str) -> PeerState {
        match text.split_whitespace().next().unwrap_or("") {
            "Idle" => PeerState::Idle,
            "Connect" => PeerState::Connect,
            "Active" => PeerState::Active,
            "OpenSent" => PeerState::OpenSent,
            "OpenConfirm" => PeerState::OpenConfirm,
            "Established" => PeerState::Established,
            "Clearing" => PeerState::Clearing,
            "Deleted" => PeerState::Deleted,
            _ => PeerState::Other(text.to_owned()),
        }
    }

    /// True when the session is up.
    pub fn is_established(&self) -> bool {
        *self == PeerState::Established
    }
}

impl fmt::Display for PeerState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let s = match self {
            PeerState::Idle => "Idle",
            PeerState::Connect => "Connect",
            PeerState::Active => "Active",
            PeerState::OpenSent => "OpenSent",
            PeerState::OpenConfirm => "OpenConfirm",
            PeerState::Established => "Established",
            PeerState::Clearing => "Clearing",
            PeerState::Deleted => "Deleted",
            PeerState::Other(s) => s,
        };
        f.write_str(s)
    }
}

impl<'de> Deserialize<'de> for PeerState {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<PeerState, D::Error> {
        let s = String::deserialize(d)?;
        Ok(PeerState::parse(&s))
    }
}

/// A number bgpd may print as a number or not at all; anything else becomes `None`.
fn lenient_u64<'de, D: Deserializer<'de>>(d: D) -> Result<Option<u64>, D::Error> {
    let v = serde_json::Value::deserialize(d)?;
    Ok(v.as_u64())
}

/// One peer in `show bgp summary json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PeerSummary {
    /// The peer's hostname (from its hostname capability), once known.
    #[serde(default)]
    pub hostname: Option<String>,
    /// Remote AS (None when bgpd prints something else, e.g. for `remote-as external` peers
    /// not yet up).
    #[serde(default, deserialize_with = "lenient_u64")]
    pub remote_as: Option<u64>,
    /// Local AS.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub local_as: Option<u64>,
    /// Messages received.
    #[serde(default)]
    pub msg_rcvd: u64,
    /// Messages sent.
    #[serde(default)]
    pub msg_sent: u64,
    /// Uptime as text (`never`, `00:01:02`, `1d02h03m`).
    #[serde(default)]
    pub peer_uptime: String,
    /// Time since the last state change into or out of Established, in milliseconds.
    #[serde(default)]
    pub peer_uptime_msec: u64,
    /// Unix time the session was established (present while Established).
    #[serde(default)]
    pub peer_uptime_established_epoch: Option<u64>,
    /// Prefixes received (accepted).
    #[serde(default)]
    pub pfx_rcd: u64,
    /// Prefixes sent.
    #[serde(default)]
    pub pfx_snt: u64,
    /// FSM state.
    pub state: PeerState,
    /// Extra state (`OK`, `Policy` when ebgp-requires-policy blocks it, …).
    #[serde(default)]
    pub peer_state: Option<String>,
    /// Times the session reached Established.
    #[serde(default)]
    pub connections_established: u64,
    /// Times an Established session dropped.
    #[serde(default)]
    pub connections_dropped: u64,
    /// The configured description.
    #[serde(default)]
    pub desc: Option<String>,
    /// `ipv4`, `ipv6` or `interface`.
    #[serde(default)]
    pub id_type: Option<String>,
}

/// One address family of `show bgp summary json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct FamilySummary {
    /// The router id in use.
    #[serde(default)]
    pub router_id: Option<String>,
    /// Local AS.
    #[serde(rename = "as", default)]
    pub asn: Option<u64>,
    /// VRF name.
    #[serde(default)]
    pub vrf_name: Option<String>,
    /// BGP table version.
    #[serde(default)]
    pub table_version: u64,
    /// Routes in the RIB.
    #[serde(default)]
    pub rib_count: u64,
    /// Peers by address (or interface name).
    #[serde(default)]
    pub peers: BTreeMap<String, PeerSummary>,
    /// Peers not Established.
    #[serde(default)]
    pub failed_peers: u64,
    /// All peers.
    #[serde(default)]
    pub total_peers: u64,
}

impl FamilySummary {
    /// The peer with this address.
    pub fn peer(&self, addr: IpAddr) -> Option<&PeerSummary> {
        self.peers.get(&addr.to_string())
    }
}

/// `show bgp summary json` (all unicast families) or `show bgp ipv6 summary json`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BgpSummary {
    /// IPv4 unicast, when the instance has it.
    #[serde(default)]
    pub ipv4_unicast: Option<FamilySummary>,
    /// IPv6 unicast, when the instance has it.
    #[serde(default)]
    pub ipv6_unicast: Option<FamilySummary>,
}

impl BgpSummary {
    /// Parses the JSON text.
    pub fn parse(json: &str) -> Result<BgpSummary, serde_json::Error> {
        serde_json::from_str(json)
    }
}

/// Per-family counters of one neighbor in `show bgp neighbors json`.
#[derive(Debug, Clone, PartialEq, Eq, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NeighborFamily {
    /// Prefixes accepted from the peer.
    #[serde(default)]
    pub accepted_prefix_counter: Option<u64>,
    /// Prefixes sent to the peer.
    #[serde(default)]
    pub sent_prefix_counter: Option<u64>,
}

/// One neighbor in `show bgp neighbors json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NeighborStatus {
    /// Remote AS.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub remote_as: Option<u64>,
    /// Local AS.
    #[serde(default, deserialize_with = "lenient_u64")]
    pub local_as: Option<u64>,
    /// The configured description.
    #[serde(default)]
    pub nbr_desc: Option<String>,
    /// The peer's hostname, once known.
    #[serde(default)]
    pub hostname: Option<String>,
    /// The peer's router id (`0.0.0.0` until known).
    #[serde(default)]
    pub remote_router_id: Option<String>,
    /// FSM state.
    pub bgp_state: PeerState,
    /// Time Established, in milliseconds (present while Established).
    #[serde(default)]
    pub bgp_timer_up_msec: Option<u64>,
    /// Unix time the session was established (present while Established).
    #[serde(default)]
    pub bgp_timer_up_established_epoch: Option<u64>,
    /// Negotiated hold time in milliseconds.
    #[serde(default)]
    pub bgp_timer_hold_time_msecs: Option<u64>,
    /// Negotiated keepalive interval in milliseconds.
    #[serde(default)]
    pub bgp_timer_keep_alive_interval_msecs: Option<u64>,
    /// Configured hold time in milliseconds.
    #[serde(default)]
    pub bgp_timer_configured_hold_time_msecs: Option<u64>,
    /// Configured keepalive interval in milliseconds.
    #[serde(default)]
    pub bgp_timer_configured_keep_alive_interval_msecs: Option<u64>,
    /// Connect-retry timer in seconds.
    #[serde(default)]
    pub connect_retry_timer: Option<u64>,
    /// Times the session reached Established.
    #[serde(default)]
    pub connections_established: u64,
    /// Times an Established session dropped.
    #[serde(default)]
    pub connections_dropped: u64,
    /// Why the session was last reset.
    #[serde(default)]
    pub last_reset_due_to: Option<String>,
    /// The code and subcode of the last NOTIFICATION sent or received, when that reset the
    /// session (`Cease/Maximum Number of Prefixes Reached`).
    #[serde(default)]
    pub last_notification_reason: Option<String>,
    /// Local address of the TCP connection (`Unknown` when none).
    #[serde(default)]
    pub host_local: Option<String>,
    /// Remote address of the TCP connection (`Unknown` when none).
    #[serde(default)]
    pub host_foreign: Option<String>,
    /// Per-family counters keyed by `ipv4Unicast`, `ipv6Unicast`, ….
    #[serde(default)]
    pub address_family_info: BTreeMap<String, NeighborFamily>,
}

impl NeighborStatus {
    /// Prefixes accepted from the peer over all families.
    pub fn prefixes_received(&self) -> u64 {
        self.address_family_info
            .values()
            .filter_map(|f| f.accepted_prefix_counter)
            .sum()
    }

    /// Prefixes sent to the peer over all families.
    pub fn prefixes_sent(&self) -> u64 {
        self.address_family_info
            .values()
            .filter_map(|f| f.sent_prefix_counter)
            .sum()
    }
}

/// Parses `show bgp neighbors [X] json`: neighbors by address (or interface name). bgpd's
/// `{"bgpNoSuchNeighbor":true}` and other non-object members give no entry.
pub fn parse_neighbors(json: &str) -> Result<BTreeMap<String, NeighborStatus>, serde_json::Error> {
    let raw: BTreeMap<String, serde_json::Value> = serde_json::from_str(json)?;
    let mut out = BTreeMap::new();
    for (k, v) in raw {
        if v.is_object() {
            out.insert(k, serde_json::from_value(v)?);
        }
    }
    Ok(out)
}

impl Vty {
    /// `show bgp summary json` (IPv4 and IPv6 unicast); empty when bgpd has no instance.
    pub async fn bgp_summary(&mut self) -> Result<BgpSummary, VtyError> {
        self.exec_json("show bgp summary json").await
    }

    /// `show bgp ipv6 summary json`.
    pub async fn bgp_ipv6_summary(&mut self) -> Result<BgpSummary, VtyError> {
        self.exec_json("show bgp ipv6 summary json").await
    }

    /// `show bgp neighbors json`.
    pub async fn bgp_neighbors(&mut self) -> Result<BTreeMap<String, NeighborStatus>, VtyError> {
        let cmd = "show bgp neighbors json";
        let out = self.exec(cmd).await?;
        parse_neighbors(&out).map_err(|source| VtyError::Json {
            command: cmd.into(),
            source,
        })
    }

    /// `show bgp neighbors ADDR json`; `None` when bgpd has no such neighbor.
    pub async fn bgp_neighbor(&mut self, addr: IpAddr) -> Result<Option<NeighborStatus>, VtyError> {
        let cmd = format!("show bgp neighbors {addr} json");
        let out = self.exec(&cmd).await?;
        let mut all = parse_neighbors(&out).map_err(|source| VtyError::Json {
            command: crate::Redacted::from(cmd),
            source,
        })?;
        Ok(all.remove(&addr.to_string()))
    }

    /// `show running-config` as text.
    pub async fn running_config(&mut self) -> Result<String, VtyError> {
        self.exec("show running-config").await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SUMMARY: &str = include_str!("../tests/fixtures/frr84_summary.json");
    const V6_SUMMARY: &str = include_str!("../tests/fixtures/frr84_ipv6_summary.json");
    const NEIGHBORS: &str = include_str!("../tests/fixtures/frr84_neighbors.json");
    const NO_SUCH: &str = include_str!("../tests/fixtures/frr84_no_such_neighbor.json");

    #[test]
    fn summary_of_a_real_session() {
        let s = BgpSummary::parse(SUMMARY).unwrap();
        let v4 = s.ipv4_unicast.as_ref().unwrap();
        assert_eq!(v4.asn, Some(65001));
        assert_eq!(v4.router_id.as_deref(), Some("192.0.2.1"));
        let p = v4.peer("192.0.2.2".parse().unwrap()).unwrap();
        assert_eq!(p.state, PeerState::Established);
        assert_eq!(p.remote_as, Some(65002));
        assert_eq!((p.pfx_rcd, p.pfx_snt), (2, 4));
        assert_eq!(p.connections_established, 1);
        assert_eq!(p.desc.as_deref(), Some("peer b"));
        assert!(p.peer_uptime_established_epoch.is_some());
        let idle = v4.peer("192.0.2.99".parse().unwrap()).unwrap();
        assert_eq!(idle.state, PeerState::Idle);
        assert_eq!(idle.peer_uptime, "never");
        assert_eq!(idle.peer_uptime_established_epoch, None);
        assert!(s
            .ipv6_unicast
            .as_ref()
            .unwrap()
            .peer("2001:db8::2".parse().unwrap())
            .is_some());
        let v6 = BgpSummary::parse(V6_SUMMARY).unwrap();
        assert!(v6.ipv4_unicast.is_none());
        assert_eq!(v6.ipv6_unicast.unwrap().peers.len(), 1);
        assert_eq!(BgpSummary::parse("{}").unwrap(), BgpSummary::default());
        assert_eq!(BgpSummary::parse("{\n}").unwrap(), BgpSummary::default());
    }

    #[test]
    fn neighbors_of_a_real_session() {
        let n = parse_neighbors(NEIGHBORS).unwrap();
        let b = &n["192.0.2.2"];
        assert_eq!(b.bgp_state, PeerState::Established);
        assert_eq!(b.bgp_timer_hold_time_msecs, Some(9000));
        assert_eq!(b.bgp_timer_keep_alive_interval_msecs, Some(3000));
        assert_eq!(b.prefixes_received(), 2);
        assert_eq!(b.prefixes_sent(), 4);
        assert_eq!(b.nbr_desc.as_deref(), Some("peer b"));
        let idle = &n["192.0.2.99"];
        assert_eq!(idle.bgp_state, PeerState::Idle);
        assert_eq!(idle.bgp_timer_up_established_epoch, None);
        assert_eq!(idle.host_foreign.as_deref(), Some("Unknown"));
        assert!(parse_neighbors(NO_SUCH).unwrap().is_empty());
    }

    #[test]
    fn states() {
        assert_eq!(PeerState::parse("Idle (Admin)"), PeerState::Idle);
        assert_eq!(PeerState::parse("Weird"), PeerState::Other("Weird".into()));
        assert_eq!(PeerState::parse(""), PeerState::Other(String::new()));
        assert!(PeerState::Established.is_established());
    }
}
