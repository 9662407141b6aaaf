//! Per-peer status from FRR's `show bgp summary json`, read with the vty crate's typed summary.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::types::PeerStatus;

/// Why a summary could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SummaryError {
    /// Not the JSON of a summary.
    #[error("`show bgp summary json` output is not a BGP summary: {0}")]
    Json(#[from] serde_json::Error),
}

/// Parses the summary (all address families) into one entry per neighbor: prefix counts are
/// summed over the families, the state and uptime taken from the first family listing it.
pub fn parse_summary(text: &str) -> Result<Vec<PeerStatus>, SummaryError> {
    let text = text.trim();
    if text.is_empty() {
        // bgpd answers nothing before `router bgp` exists.
        return Ok(Vec::new());
    }
    let summary = vty::BgpSummary::parse(text)?;
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
                prefixes_sent: Some(0),
                routes_installed: None,
                routes_refused: 0,
            });
            // bgpd reports u64 counts; a sum past u64::MAX (only a broken or hostile bgpd
            // answers that) is unknown rather than a panic or a wrapped number.
            e.prefixes_received = e.prefixes_received.and_then(|n| n.checked_add(p.pfx_rcd));
            e.prefixes_sent = e.prefixes_sent.and_then(|n| n.checked_add(p.pfx_snt));
        }
    }
    Ok(peers.into_values().collect())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;

    #[test]
    fn parses_both_families_and_sums_prefixes() {
        let text = r#"{
  "ipv4Unicast":{"routerId":"192.0.2.1","as":65001,"peers":{
    "192.0.2.2":{"remoteAs":65002,"state":"Established","peerUptimeMsec":12345,"pfxRcd":3,"pfxSnt":1},
    "2001:db8::2":{"remoteAs":65002,"state":"Established","peerUptimeMsec":2000,"pfxRcd":0,"pfxSnt":1}}},
  "ipv6Unicast":{"peers":{
    "2001:db8::2":{"remoteAs":65002,"state":"Established","peerUptimeMsec":2000,"pfxRcd":2,"pfxSnt":1}}}
}"#;
        let p = parse_summary(text).unwrap();
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
        let p = parse_summary(text).unwrap();
        assert_eq!(p[0].prefixes_received, None);
        assert_eq!(p[0].prefixes_sent, None);
    }

    #[test]
    fn empty_and_garbage() {
        assert!(parse_summary("").unwrap().is_empty());
        assert!(parse_summary("{}").unwrap().is_empty());
        assert!(parse_summary("% Unknown command").is_err());
        assert!(parse_summary("[1]").is_err());
        assert!(parse_summary("{\"ipv4Unicast\": 3}").is_err());
    }
}
