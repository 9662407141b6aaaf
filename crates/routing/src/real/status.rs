//! Per-peer status from bgpd's summary (FRR's `show bgp summary json`, Quagga's text tables),
//! read with the vty crate's typed summary as the bgpd's [`vty::Flavour`] says.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::types::PeerStatus;

pub use vty::flavour::SummaryError;

/// Parses the outputs of the flavour's summary commands (all address families) into one entry
/// per neighbor: prefix counts are summed over the families, the state and uptime taken from
/// the first family listing it. Prefixes sent are unknown when the flavour does not report
/// them.
pub fn parse_summary(
    flavour: &vty::Flavour,
    outputs: &[&str],
) -> Result<Vec<PeerStatus>, SummaryError> {
    // bgpd answers nothing before `router bgp` exists: an empty summary.
    let summary = flavour.parse_summary(outputs)?;
    let sent_known = flavour.reports_prefixes_sent();
    let mut peers: BTreeMap<IpAddr, PeerStatus> = BTreeMap::new();
    for family in [&summary.ipv4_unicast, &summary.ipv6_unicast]
        .into_iter()
        .flatten()
    {
        for (addr, p) in &family.peers {
            let Ok(address) = addr.parse::<IpAddr>() else {
                continue;
            };
            let e = peers.entry(address).or_insert_with(|| PeerStatus {
                address,
                remote_as: p.remote_as.and_then(|a| u32::try_from(a).ok()),
                state: p.state.to_string(),
                uptime_secs: Some(p.peer_uptime_msec / 1000),
                prefixes_received: Some(0),
                prefixes_sent: sent_known.then_some(0),
                // Quagga's text tables say `Idle (PfxCt)` and nothing more; FRR's reason from
                // `show bgp neighbors json` (add_reset_reasons) replaces this.
                last_reset: (p.peer_state.as_deref() == Some("PfxCt"))
                    .then(|| "Maximum Number of Prefixes Reached".to_owned()),
                routes_installed: None,
                routes_refused: 0,
                session_resets: 0,
            });
            // bgpd reports u64 counts; a sum past u64::MAX (only a broken or hostile bgpd
            // answers that) is unknown rather than a panic or a wrapped number.
            e.prefixes_received = e.prefixes_received.and_then(|n| n.checked_add(p.pfx_rcd));
            e.prefixes_sent = e.prefixes_sent.and_then(|n| n.checked_add(p.pfx_snt));
        }
    }
    Ok(peers.into_values().collect())
}

/// Fills [`PeerStatus::last_reset`] of the peers that are not Established from
/// `show bgp neighbors json`.
pub fn add_reset_reasons(
    peers: &mut [PeerStatus],
    neighbors_json: &str,
) -> Result<(), SummaryError> {
    let neighbors = vty::status::parse_neighbors(neighbors_json.trim())?;
    for p in peers.iter_mut().filter(|p| p.state != "Established") {
        p.last_reset = neighbors.get(&p.address.to_string()).and_then(|n| {
            let due = n.last_reset_due_to.as_deref().filter(|r| !r.is_empty());
            let note = n
                .last_notification_reason
                .as_deref()
                .filter(|r| !r.is_empty());
            match (due, note) {
                (Some(d), Some(n)) => Some(format!("{d}: {n}")),
                (d, n) => d.or(n).map(str::to_owned),
            }
        });
    }
    Ok(())
}

/// Whether some peer is not Established (then its reset reason is worth a query).
pub fn needs_reset_reasons(peers: &[PeerStatus]) -> bool {
    peers.iter().any(|p| p.state != "Established")
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    fn parse_frr(text: &str) -> Result<Vec<PeerStatus>, SummaryError> {
        parse_summary(&vty::Flavour::FRR, &[text])
    }

    #[test]
    fn quagga_tables_give_the_same_peers_without_prefixes_sent() {
        let v4 = "BGP router identifier 192.0.2.1, local AS number 65001\n\
            Neighbor        V         AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd\n\
            192.0.2.2       4 65002       4       5        0    0    0 00:00:59        1\n";
        let v6 = "Neighbor        V         AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd\n\
            2001:db8::2     4 65002       3       4        0    0    0 00:00:12        2\n";
        let p = parse_summary(&vty::Flavour::QUAGGA, &[v4, v6]).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].state, "Established");
        assert_eq!(p[0].prefixes_received, Some(1));
        assert_eq!(p[0].uptime_secs, Some(59));
        assert_eq!(p[1].prefixes_received, Some(2));
        assert_eq!(p[1].prefixes_sent, None);
        assert_eq!(p[1].remote_as, Some(65002));
    }

    #[test]
    fn a_quagga_peer_over_its_prefix_limit_says_so() {
        let v4 = "Neighbor        V         AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd\n\
            192.0.2.2       4 65002       4       5        0    0    0 00:00:01 Idle (PfxCt)\n\
            192.0.2.3       4 65003       4       5        0    0    0 never    Idle (Admin)\n";
        let p = parse_summary(&vty::Flavour::QUAGGA, &[v4, ""]).unwrap();
        assert_eq!(p[0].state, "Idle");
        assert_eq!(
            p[0].last_reset.as_deref(),
            Some("Maximum Number of Prefixes Reached")
        );
        assert_eq!(p[1].last_reset, None);
    }

    #[test]
    fn reset_reasons_of_peers_that_are_down() {
        let text = r#"{
  "ipv4Unicast":{"peers":{
    "192.0.2.2":{"remoteAs":65002,"state":"Idle","peerState":"PfxCt","peerUptimeMsec":0,"pfxRcd":0,"pfxSnt":0},
    "192.0.2.3":{"remoteAs":65003,"state":"Established","peerUptimeMsec":5000,"pfxRcd":1,"pfxSnt":1}}}
}"#;
        let mut p = parse_frr(text).unwrap();
        assert!(needs_reset_reasons(&p));
        let neighbors = r#"{
  "192.0.2.2":{"remoteAs":65002,"bgpState":"Idle","lastResetDueTo":"BGP Notification send","lastNotificationReason":"Cease/Maximum Number of Prefixes Reached"},
  "192.0.2.3":{"remoteAs":65003,"bgpState":"Established","lastResetDueTo":"User reset"}
}"#;
        add_reset_reasons(&mut p, neighbors).unwrap();
        assert_eq!(
            p[0].last_reset.as_deref(),
            Some("BGP Notification send: Cease/Maximum Number of Prefixes Reached")
        );
        // An Established session has no reason to show.
        assert_eq!(p[1].last_reset, None);
        assert!(add_reset_reasons(&mut p, "% Unknown command").is_err());
        p.pop();
        p[0].state = "Established".into();
        assert!(!needs_reset_reasons(&p));
    }

    #[test]
    fn parses_both_families_and_sums_prefixes() {
        let text = r#"{
  "ipv4Unicast":{"routerId":"192.0.2.1","as":65001,"peers":{
    "192.0.2.2":{"remoteAs":65002,"state":"Established","peerUptimeMsec":12345,"pfxRcd":3,"pfxSnt":1},
    "2001:db8::2":{"remoteAs":65002,"state":"Established","peerUptimeMsec":2000,"pfxRcd":0,"pfxSnt":1}}},
  "ipv6Unicast":{"peers":{
    "2001:db8::2":{"remoteAs":65002,"state":"Established","peerUptimeMsec":2000,"pfxRcd":2,"pfxSnt":1}}}
}"#;
        let p = parse_frr(text).unwrap();
        assert_eq!(p.len(), 2);
        assert_eq!(p[0].address, "192.0.2.2".parse::<IpAddr>().unwrap());
        assert_eq!(p[0].uptime_secs, Some(12));
        assert_eq!(p[0].prefixes_received, Some(3));
        assert_eq!(p[1].prefixes_received, Some(2));
        assert_eq!(p[1].prefixes_sent, Some(2));
        assert_eq!(p[1].remote_as, Some(65002));
    }

    #[test]
    fn prefix_sums_past_u64_are_unknown_not_a_panic() {
        let text = r#"{
  "ipv4Unicast":{"peers":{
    "2001:db8::2":{"remoteAs":65002,"state":"Established","peerUptimeMsec":0,"pfxRcd":18446744073709551615,"pfxSnt":1}}},
  "ipv6Unicast":{"peers":{
    "2001:db8::2":{"remoteAs":65002,"state":"Established","peerUptimeMsec":0,"pfxRcd":1,"pfxSnt":18446744073709551615}}}
}"#;
        let p = parse_frr(text).unwrap();
        assert_eq!(p[0].prefixes_received, None);
        assert_eq!(p[0].prefixes_sent, None);
    }

    #[test]
    fn empty_and_garbage() {
        assert!(parse_frr("").unwrap().is_empty());
        assert!(parse_frr("{}").unwrap().is_empty());
        assert!(parse_frr("% Unknown command").is_err());
        assert!(parse_frr("[1]").is_err());
        assert!(parse_frr("{\"ipv4Unicast\": 3}").is_err());
    }
}
