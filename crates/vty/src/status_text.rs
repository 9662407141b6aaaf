//! The peer table of a bgpd without JSON output (Quagga 1.2: `show ip bgp summary`,
//! `show bgp ipv6 unicast summary`), parsed into the same [`FamilySummary`] as FRR's JSON.
//!
//! Quagga prints (bgpd/bgp_route.c `bgp_show_summary`):
//!
//! ```text
//! Neighbor        V         AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd
//! 192.0.2.2       4 65002       4       5        0    0    0 00:00:59        1
//! 2001:db8::2
//!                 4 65002       0       0        0    0    0 never    Active
//! ```
//!
//! An address longer than 15 characters is followed by a line break; the last column is the
//! number of prefixes received while Established, the FSM state (`Idle (Admin)`, `Active`, …)
//! otherwise. The table has no prefixes-sent column, so [`PeerSummary::pfx_snt`] is 0.

use std::collections::BTreeMap;
use std::net::IpAddr;

use crate::status::{FamilySummary, PeerState, PeerSummary};

/// Why a summary table could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum TextSummaryError {
    /// A peer row has too few columns or a column is not a number.
    #[error("unreadable peer row in the BGP summary: {row:?}")]
    Row {
        /// The row (address and columns joined).
        row: String,
    },
}

/// Parses one family's summary text. No peer table (bgpd has no `router bgp` yet, or no
/// neighbors in the family) is an empty summary; `router_id` and `asn` come from the
/// `BGP router identifier X, local AS number N` line when present.
pub fn parse_family(text: &str) -> Result<FamilySummary, TextSummaryError> {
    let mut summary = FamilySummary {
        router_id: None,
        asn: None,
        vrf_name: None,
        table_version: 0,
        rib_count: 0,
        peers: BTreeMap::new(),
        failed_peers: 0,
        total_peers: 0,
    };
    let mut in_table = false;
    let mut pending: Option<String> = None;
    for line in text.lines() {
        let line = line.trim_end();
        if let Some(rest) = line.strip_prefix("BGP router identifier ") {
            let mut parts = rest.split(", local AS number ");
            summary.router_id = parts.next().map(str::to_owned);
            summary.asn = parts
                .next()
                .and_then(|a| a.split_whitespace().next())
                .and_then(|a| a.parse().ok());
            continue;
        }
        if line.starts_with("Neighbor") && line.contains("State/PfxRcd") {
            in_table = true;
            continue;
        }
        if !in_table {
            continue;
        }
        if line.is_empty() || line.starts_with("Total number") {
            break;
        }
        let row = match pending.take() {
            Some(addr) => format!("{addr} {}", line.trim_start()),
            None => line.to_owned(),
        };
        let cols: Vec<&str> = row.split_whitespace().collect();
        if cols.len() == 1 && cols[0].parse::<IpAddr>().is_ok() {
            pending = Some(row);
            continue;
        }
        let (addr, peer) =
            parse_row(&cols).ok_or_else(|| TextSummaryError::Row { row: row.clone() })?;
        if !peer.state.is_established() {
            summary.failed_peers += 1;
        }
        summary.total_peers += 1;
        summary.peers.insert(addr, peer);
    }
    Ok(summary)
}

/// One row: address, V, AS, MsgRcvd, MsgSent, TblVer, InQ, OutQ, Up/Down, State/PfxRcd….
fn parse_row(cols: &[&str]) -> Option<(String, PeerSummary)> {
    let [addr, _v, asn, rcvd, sent, _tbl, _inq, _outq, up, state @ ..] = cols else {
        return None;
    };
    if state.is_empty() || addr.parse::<IpAddr>().is_err() {
        return None;
    }
    let number = |s: &str| s.parse::<u64>().ok();
    // `Idle (Admin)`, `Idle (PfxCt)`: the word in parentheses is what FRR's JSON calls
    // `peerState`.
    let peer_state = state
        .get(1)
        .and_then(|w| w.strip_prefix('('))
        .and_then(|w| w.strip_suffix(')'))
        .map(str::to_owned);
    let (state, pfx_rcd) = match state {
        [n] if number(n).is_some() => (PeerState::Established, number(n)?),
        words => (PeerState::parse(&words.join(" ")), 0),
    };
    let peer = PeerSummary {
        hostname: None,
        remote_as: Some(number(asn)?),
        local_as: None,
        msg_rcvd: number(rcvd)?,
        msg_sent: number(sent)?,
        peer_uptime: (*up).to_owned(),
        peer_uptime_msec: uptime_secs(up)?.saturating_mul(1000),
        peer_uptime_established_epoch: None,
        pfx_rcd,
        pfx_snt: 0,
        state,
        peer_state,
        connections_established: 0,
        connections_dropped: 0,
        desc: None,
        id_type: Some(if addr.contains(':') { "ipv6" } else { "ipv4" }.to_owned()),
    };
    Some(((*addr).to_owned(), peer))
}

/// Quagga's `peer_uptime` text in seconds: `never`, `HH:MM:SS`, `NdHHhMMm` or `NNwNdHHh`.
fn uptime_secs(text: &str) -> Option<u64> {
    if text == "never" {
        return Some(0);
    }
    if text.contains(':') {
        let parts: Vec<u64> = text
            .split(':')
            .map(|p| p.parse().ok())
            .collect::<Option<_>>()?;
        let [h, m, s] = parts[..] else { return None };
        // Checked: the numbers come from bgpd's output, and an absurd hour count must be a parse
        // failure rather than an overflow.
        return h
            .checked_mul(3600)?
            .checked_add(m.checked_mul(60)?)?
            .checked_add(s);
    }
    // Number-unit pairs: w(eeks), d(ays), h(ours), m(inutes).
    let mut total: u64 = 0;
    let mut num = String::new();
    for c in text.chars() {
        if c.is_ascii_digit() {
            num.push(c);
            continue;
        }
        let n: u64 = num.parse().ok()?;
        num.clear();
        let unit = match c {
            'w' => 7 * 86_400,
            'd' => 86_400,
            'h' => 3600,
            'm' => 60,
            _ => return None,
        };
        total = total.checked_add(n.checked_mul(unit)?)?;
    }
    num.is_empty().then_some(total)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    /// `show ip bgp summary` of Quagga 1.2.4 (live, tests/live_bgpd.rs session).
    const V4: &str = "BGP router identifier 192.0.2.1, local AS number 65001
RIB entries 3, using 336 bytes of memory
Peers 2, using 18 KiB of memory

Neighbor        V         AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd
192.0.2.2       4 65002       4       5        0    0    0 00:00:59        1
192.0.2.3       4 65003       0       0        0    0    0 never    Idle (Admin)

Total number of neighbors 2

Total num. Established sessions 1
Total num. of routes received     1
";

    /// `show bgp ipv6 unicast summary`, with the long address on its own line.
    const V6: &str = "BGP router identifier 192.0.2.1, local AS number 65001
RIB entries 1, using 112 bytes of memory
Peers 2, using 18 KiB of memory

Neighbor        V         AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd
2001:db8::2     4 65002       0       0        0    0    0 never    Active     
2001:db8:ffff::1234
                4 65002      12      14        0    0    0 1d02h03m        2
";

    #[test]
    fn the_word_in_parentheses_is_the_peer_state() {
        // A session torn down by `maximum-prefix` (Quagga prints ` Idle (PfxCt)` while the
        // overflow flag is set; the rest of the row as a live one).
        let text = "Neighbor        V         AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd\n\
            2001:db8::3     4 65003       9       9        0    0    0 00:00:03 Idle (PfxCt)\n\
            192.0.2.3       4 65003       0       0        0    0    0 never    Active\n";
        let s = parse_family(text).unwrap();
        let p = &s.peers["2001:db8::3"];
        assert_eq!(p.state, PeerState::Idle);
        assert_eq!(p.peer_state.as_deref(), Some("PfxCt"));
        assert_eq!(s.peers["192.0.2.3"].peer_state, None);
        let s = parse_family(V4).unwrap();
        assert_eq!(s.peers["192.0.2.3"].peer_state.as_deref(), Some("Admin"));
    }

    #[test]
    fn quagga_rows_parse_established_and_not() {
        let s = parse_family(V4).unwrap();
        assert_eq!(s.router_id.as_deref(), Some("192.0.2.1"));
        assert_eq!(s.asn, Some(65001));
        assert_eq!(s.total_peers, 2);
        assert_eq!(s.failed_peers, 1);
        let p = &s.peers["192.0.2.2"];
        assert_eq!(p.state, PeerState::Established);
        assert_eq!(
            (p.remote_as, p.pfx_rcd, p.msg_rcvd, p.msg_sent),
            (Some(65002), 1, 4, 5)
        );
        assert_eq!(p.peer_uptime_msec, 59_000);
        let idle = &s.peers["192.0.2.3"];
        assert!(!idle.state.is_established());
        assert_eq!(idle.pfx_rcd, 0);
    }

    #[test]
    fn long_addresses_continue_on_the_next_line() {
        let s = parse_family(V6).unwrap();
        assert_eq!(s.peers.len(), 2);
        assert_eq!(s.peers["2001:db8::2"].state, PeerState::parse("Active"));
        let p = &s.peers["2001:db8:ffff::1234"];
        assert_eq!(p.pfx_rcd, 2);
        assert_eq!(p.peer_uptime_msec, (86_400 + 2 * 3600 + 3 * 60) * 1000);
    }

    #[test]
    fn no_table_is_empty_and_garbage_rows_are_errors() {
        assert!(parse_family("").unwrap().peers.is_empty());
        assert!(parse_family("% No BGP process is configured\n")
            .unwrap()
            .peers
            .is_empty());
        for bad in [
            "Neighbor V AS State/PfxRcd\n192.0.2.2 4 x 1 1 0 0 0 never Active\n",
            "Neighbor V AS State/PfxRcd\n192.0.2.2 4 65002\n",
            "Neighbor V AS State/PfxRcd\nnot-an-address 4 1 1 1 0 0 0 never Active\n",
            "Neighbor V AS State/PfxRcd\n192.0.2.2 4 1 1 1 0 0 0 99:xx:00 1\n",
            // An uptime whose seconds overflow u64 is refused, not wrapped (or a panic).
            "Neighbor V AS State/PfxRcd\n192.0.2.2 4 1 1 1 0 0 0 18446744073709551615:00:00 1\n",
        ] {
            assert!(parse_family(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn uptimes() {
        assert_eq!(uptime_secs("never"), Some(0));
        assert_eq!(uptime_secs("01:02:03"), Some(3723));
        assert_eq!(uptime_secs("02w1d03h"), Some(15 * 86_400 + 3 * 3600));
        assert_eq!(uptime_secs("5d"), Some(5 * 86_400));
        assert_eq!(uptime_secs("1x"), None);
        assert_eq!(uptime_secs("12"), None);
        assert_eq!(uptime_secs("99999999999999999999w"), None);
        assert_eq!(uptime_secs("18446744073709551615:00:00"), None);
        assert_eq!(uptime_secs("00:18446744073709551615:00"), None);
        assert_eq!(uptime_secs("5124095576030431:00:16"), None);
    }
}
