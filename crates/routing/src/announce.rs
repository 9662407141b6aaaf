//! Runtime announcements: prefixes a controller advertises from a port without editing the
//! configuration file, optionally with BGP communities and a MED.
//!
//! An announcement is checked once, by [`check`] (the same prefix rules as the file's
//! `networks`, the port's address families, duplicates, the port's export policy), then held by
//! the port's actor and rendered into bgpd as a `network` line — with a route-map setting the
//! communities and MED when it has any ([`crate::plan::announcement_route_map`] names it). The
//! actor re-applies announcements with the rest of the configuration whenever bgpd (re)starts,
//! and keeps them across configuration reloads and port rebuilds. They live in the controller's
//! memory only: a controller restart forgets them, and the controller that made them announces
//! them again (see `docs/routing.md`).

use std::collections::BTreeMap;

use ipnetwork::IpNetwork;
use serde::{Deserialize, Serialize};

use crate::config::{PortConfig, Prefix};
pub use vty::config::Community;

/// A prefix advertised at run time from one port.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Announcement {
    /// The prefix (a network address: no host bits).
    pub prefix: IpNetwork,
    /// Communities set on it (`AA:NN` or well-known names), in order, without repeats.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub communities: Vec<Community>,
    /// The MED (multi-exit discriminator) set on it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub med: Option<u32>,
}

impl Announcement {
    /// An announcement of `prefix` without communities or MED.
    pub fn new(prefix: IpNetwork) -> Announcement {
        Announcement {
            prefix,
            communities: Vec::new(),
            med: None,
        }
    }

    /// Whether bgpd needs a route-map for it (communities or a MED to set).
    pub fn has_attributes(&self) -> bool {
        !self.communities.is_empty() || self.med.is_some()
    }
}

/// Why an announcement or a withdrawal was refused; nothing was changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum AnnounceError {
    /// No port of that name is configured.
    #[error("no port named {0:?}")]
    UnknownPort(String),
    /// The prefix cannot be originated (host bits set, multicast, loopback).
    #[error("{prefix}: {reason}")]
    BadPrefix {
        /// The prefix as given.
        prefix: IpNetwork,
        /// What is wrong with it.
        reason: String,
    },
    /// The port has neither an address nor a peer of the prefix's family.
    #[error("port {port:?} has no {family} address or peer, so it cannot announce {prefix}")]
    WrongFamily {
        /// The port.
        port: String,
        /// The prefix.
        prefix: IpNetwork,
        /// `IPv4` or `IPv6`.
        family: &'static str,
    },
    /// The prefix is already announced by the port (at run time or in its `networks`).
    #[error("port {port:?} already announces {prefix} ({by})")]
    Duplicate {
        /// The port.
        port: String,
        /// The prefix.
        prefix: IpNetwork,
        /// `at run time` or `in its configured networks`.
        by: &'static str,
    },
    /// A community was given twice.
    #[error("community {community} is given twice")]
    RepeatedCommunity {
        /// The community.
        community: Community,
    },
    /// The port's export policy does not allow the prefix.
    #[error("port {port:?}: its export policy forbids {prefix}: {reason}")]
    Forbidden {
        /// The port.
        port: String,
        /// The prefix.
        prefix: IpNetwork,
        /// The policy's reason.
        reason: String,
    },
    /// A withdrawal of a prefix the port does not announce at run time.
    #[error("port {port:?} has no runtime announcement of {prefix}{hint}")]
    NotAnnounced {
        /// The port.
        port: String,
        /// The prefix.
        prefix: IpNetwork,
        /// Extra hint (the prefix is one of the configured networks).
        hint: &'static str,
    },
    /// The port's actor ended (the handler is shutting down).
    #[error("port {0:?} is shutting down")]
    PortGone(String),
}

/// Checks `a` for `port`, which already announces `announced` at run time; returns the prefix
/// as bgpd will be given it. The one place an announcement is validated: the control socket
/// and [`crate::RoutingHandler::announce`] both come here through the port's actor.
pub fn check(
    port: &PortConfig,
    announced: &BTreeMap<IpNetwork, Announcement>,
    a: &Announcement,
) -> Result<Prefix, AnnounceError> {
    let prefix = crate::config::network(a.prefix).map_err(|reason| AnnounceError::BadPrefix {
        prefix: a.prefix,
        reason,
    })?;
    let v4 = a.prefix.is_ipv4();
    let has_family = port.addresses().iter().any(|n| n.is_ipv4() == v4)
        || port.peers.iter().any(|p| p.address.is_ipv4() == v4);
    if !has_family {
        return Err(AnnounceError::WrongFamily {
            port: port.name.clone(),
            prefix: a.prefix,
            family: if v4 { "IPv4" } else { "IPv6" },
        });
    }
    let duplicate = |by| AnnounceError::Duplicate {
        port: port.name.clone(),
        prefix: a.prefix,
        by,
    };
    if announced.contains_key(&a.prefix) {
        return Err(duplicate("at run time"));
    }
    if port.networks.contains(&prefix) {
        return Err(duplicate("in its configured networks"));
    }
    for (i, c) in a.communities.iter().enumerate() {
        if a.communities[..i].contains(c) {
            return Err(AnnounceError::RepeatedCommunity { community: *c });
        }
    }
    crate::plan::announcement_route_map(prefix).map_err(|e| AnnounceError::BadPrefix {
        prefix: a.prefix,
        reason: e.to_string(),
    })?;
    // The port's export policy decides: an announcement no peer would be sent is refused.
    if port.exported_to(prefix).is_empty() {
        let family = if v4 { "IPv4" } else { "IPv6" };
        let peers = port
            .peers
            .iter()
            .filter(|p| p.address.is_ipv4() == v4)
            .count();
        return Err(AnnounceError::Forbidden {
            port: port.name.clone(),
            prefix: a.prefix,
            reason: if peers == 0 {
                format!("the port has no {family} peer to send it to")
            } else {
                format!(
                    "the export prefix filter of each of its {peers} {family} peer(s) denies it"
                )
            },
        });
    }
    Ok(prefix)
}

/// Checks a withdrawal of `prefix` from `port`.
pub fn check_withdraw(
    port: &PortConfig,
    announced: &BTreeMap<IpNetwork, Announcement>,
    prefix: IpNetwork,
) -> Result<(), AnnounceError> {
    if announced.contains_key(&prefix) {
        return Ok(());
    }
    let configured = crate::config::network(prefix)
        .map(|p| port.networks.contains(&p))
        .unwrap_or(false);
    Err(AnnounceError::NotAnnounced {
        port: port.name.clone(),
        prefix,
        hint: if configured {
            " (it is one of the configured networks: remove it from the file)"
        } else {
            ""
        },
    })
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::config::Config;

    fn port() -> PortConfig {
        Config::parse(
            r#"
[[port]]
name = "p1"
uplink = "eth1"
address = "192.0.2.1/24"
local_as = 65001
networks = ["203.0.113.0/24"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
"#,
        )
        .unwrap()
        .ports
        .remove(0)
    }

    fn ann(s: &str) -> Announcement {
        Announcement::new(s.parse().unwrap())
    }

    #[test]
    fn every_refusal_has_its_reason() {
        let p = port();
        let mut held = BTreeMap::new();
        held.insert("198.51.100.0/24".parse().unwrap(), ann("198.51.100.0/24"));
        assert_eq!(
            check(&p, &held, &ann("198.51.100.128/25"))
                .unwrap()
                .to_string(),
            "198.51.100.128/25"
        );
        let e = check(&p, &held, &ann("198.51.100.1/24")).unwrap_err();
        assert!(matches!(e, AnnounceError::BadPrefix { .. }), "{e}");
        assert!(
            e.to_string().contains("did you mean 198.51.100.0/24"),
            "{e}"
        );
        for s in ["224.0.0.0/4", "127.0.0.0/8"] {
            let e = check(&p, &held, &ann(s)).unwrap_err();
            assert!(e.to_string().contains("not a unicast prefix"), "{e}");
        }
        let e = check(&p, &held, &ann("2001:db8:5::/48")).unwrap_err();
        assert!(
            matches!(e, AnnounceError::WrongFamily { family: "IPv6", .. }),
            "{e}"
        );
        let e = check(&p, &held, &ann("198.51.100.0/24")).unwrap_err();
        assert!(e.to_string().contains("at run time"), "{e}");
        let e = check(&p, &held, &ann("203.0.113.0/24")).unwrap_err();
        assert!(e.to_string().contains("configured networks"), "{e}");
        let mut twice = ann("192.0.2.128/25");
        twice.communities = vec![Community::NoExport, Community::NoExport];
        let e = check(&p, &held, &twice).unwrap_err();
        assert!(matches!(e, AnnounceError::RepeatedCommunity { .. }), "{e}");
        // The default route is a prefix bgpd originates with a `network` line like any other.
        check(&p, &held, &ann("0.0.0.0/0")).unwrap();
    }

    #[test]
    fn what_no_peer_would_be_sent_is_forbidden() {
        let p = Config::parse(
            r#"
[[port]]
name = "p1"
uplink = "eth1"
address = "192.0.2.1/24"
address6 = "2001:db8::1/64"
local_as = 65001
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
[port.peer.export]
prefixes = [{ action = "permit", prefix = "198.51.100.0/24", le = 25 }]
"#,
        )
        .unwrap()
        .ports
        .remove(0);
        let held = BTreeMap::new();
        check(&p, &held, &ann("198.51.100.0/24")).unwrap();
        check(&p, &held, &ann("198.51.100.128/25")).unwrap();
        for s in ["198.51.100.0/26", "192.0.2.128/25"] {
            let e = check(&p, &held, &ann(s)).unwrap_err();
            assert!(matches!(e, AnnounceError::Forbidden { .. }), "{e}");
            assert!(e.to_string().contains("export prefix filter"), "{e}");
        }
        // An IPv6 address but no IPv6 peer: nobody would receive it.
        let e = check(&p, &held, &ann("2001:db8:5::/48")).unwrap_err();
        assert!(e.to_string().contains("no IPv6 peer to send it to"), "{e}");
    }

    #[test]
    fn withdrawals_name_what_is_not_there() {
        let p = port();
        let mut held = BTreeMap::new();
        held.insert("198.51.100.0/24".parse().unwrap(), ann("198.51.100.0/24"));
        check_withdraw(&p, &held, "198.51.100.0/24".parse().unwrap()).unwrap();
        let e = check_withdraw(&p, &held, "192.0.2.0/24".parse().unwrap()).unwrap_err();
        assert_eq!(
            e.to_string(),
            "port \"p1\" has no runtime announcement of 192.0.2.0/24"
        );
        let e = check_withdraw(&p, &held, "203.0.113.0/24".parse().unwrap()).unwrap_err();
        assert!(e.to_string().contains("configured networks"), "{e}");
    }

    #[test]
    fn announcements_travel_as_json() {
        let mut a = ann("198.51.100.0/24");
        a.communities = vec!["65001:7".parse().unwrap(), Community::NoExport];
        a.med = Some(20);
        let j = serde_json::to_string(&a).unwrap();
        assert_eq!(
            j,
            r#"{"prefix":"198.51.100.0/24","communities":["65001:7","no-export"],"med":20}"#
        );
        assert_eq!(serde_json::from_str::<Announcement>(&j).unwrap(), a);
        let plain: Announcement = serde_json::from_str(r#"{"prefix":"192.0.2.0/24"}"#).unwrap();
        assert!(!plain.has_attributes());
        assert!(serde_json::from_str::<Announcement>(
            r#"{"prefix":"192.0.2.0/24","communities":["1:99999"]}"#
        )
        .is_err());
    }
}
