//! Per-peer status from FRR's `show bgp summary json`.

use std::collections::BTreeMap;
use std::net::IpAddr;

use serde_json::Value;

use crate::types::PeerStatus;

/// Why a summary could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SummaryError {
    /// Not JSON.
    #[error("`show bgp summary json` output is not JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// JSON of an unexpected shape.
    #[error("`show bgp summary json` output is not an object")]
    Shape,
}

fn u64_field(v: &Value, key: &str) -> Option<u64> {
    v.get(key).and_then(Value::as_u64)
}

/// Parses the summary (all address families) into one entry per neighbor: prefix counts are
/// summed over the families, the state and uptime taken from the first family listing it.
pub fn parse_summary(text: &str) -> Result<Vec<PeerStatus>, SummaryError> {
    let text = text.trim();
    if text.is_empty() {
        // bgpd answers nothing before `router bgp` exists.
        return Ok(Vec::new());
    }
    let root: Value = serde_json::from_str(text)?;
    let families = root.as_object().ok_or(SummaryError::Shape)?;
    let mut peers: BTreeMap<IpAddr, PeerStatus> = BTreeMap::new();
    for family in families.values() {
        let Some(list) = family.get("peers").and_then(Value::as_object) else {
            continue;
        };
        for (addr, p) in list {
            let Ok(address) = addr.parse::<IpAddr>() else {
                continue;
            };
            let state = p
                .get("state")
                .and_then(Value::as_str)
                .unwrap_or("Unknown")
                .to_string();
            let uptime = u64_field(p, "peerUptimeMsec").map(|ms| ms / 1000);
            let rcvd = u64_field(p, "pfxRcd").or_else(|| u64_field(p, "acceptedPrefixCount"));
            let sent = u64_field(p, "pfxSnt");
            let remote_as = u64_field(p, "remoteAs").and_then(|a| u32::try_from(a).ok());
            let e = peers.entry(address).or_insert_with(|| PeerStatus {
                address,
                remote_as,
                state: state.clone(),
                uptime_secs: uptime,
                prefixes_received: None,
                prefixes_sent: None,
            });
            let add = |a: Option<u64>, b: Option<u64>| match (a, b) {
                (None, None) => None,
                (a, b) => Some(a.unwrap_or(0) + b.unwrap_or(0)),
            };
            e.prefixes_received = add(e.prefixes_received, rcvd);
            e.prefixes_sent = add(e.prefixes_sent, sent);
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
    fn empty_and_garbage() {
        assert!(parse_summary("").unwrap().is_empty());
        assert!(parse_summary("{}").unwrap().is_empty());
        assert!(parse_summary("% Unknown command").is_err());
        assert!(parse_summary("[1]").is_err());
    }
}
