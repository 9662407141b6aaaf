//! What a bgpd flavour supports: the one capability table asked by the bgpd supervisor (launch
//! flags), the configuration renderer ([`crate::config::diff_for`]), the status reader
//! ([`Flavour::summary_commands`]) and `check-config` ([`Flavour::unsupported`]).
//!
//! Every difference between FRR and Quagga the project meets is a row here, so callers ask the
//! flavour ("does it have `--vty_socket`?") instead of comparing suites. The Quagga rows were
//! checked against a live Quagga 1.2.4 bgpd (`scripts/quagga-build.sh`): each command the FRR
//! renderer sends was typed at its Vty, and those it answered with `% Unknown command` are the
//! `false` cells.

use crate::config::{BgpConfig, DebugFlag};
use crate::status::BgpSummary;
use crate::status_text::TextSummaryError;

/// Why a flavour's summary output could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SummaryError {
    /// FRR's JSON did not parse.
    #[error("`show bgp summary json` output is not a BGP summary: {0}")]
    Json(#[from] serde_json::Error),
    /// A text table did not parse.
    #[error(transparent)]
    Text(#[from] TextSummaryError),
    /// Fewer outputs than [`Flavour::summary_commands`].
    #[error("expected {expected} summary outputs, got {got}")]
    Outputs {
        /// How many commands the flavour reads.
        expected: usize,
        /// How many outputs were given.
        got: usize,
    },
}

/// The capabilities of one bgpd flavour (see the module documentation).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Flavour {
    name: &'static str,
    vty_socket_option: bool,
    no_zebra_option: bool,
    log_option: bool,
    ebgp_requires_policy: bool,
    gr_preserve_fw_state: bool,
    per_neighbor_gr: bool,
    neighbor_events_debug: &'static str,
    nht_debug: bool,
    json_status: bool,
    family_maximum_paths: bool,
    /// The command that starts an AS-path access list: `bgp as-path access-list` (FRR 7.5 and
    /// later) or `ip as-path access-list` (Quagga).
    as_path_list: &'static str,
    /// Access lists and AS-path access lists take `seq N` (FRR 7.4 and later; not Quagga).
    list_seq: bool,
    /// bgpd re-applies a changed route-map, prefix-list or neighbor route-map binding to its
    /// sessions itself (FRR, after its `route-map delay-timer`); Quagga only swaps the pointers
    /// and needs a soft clear.
    reapplies_policy: bool,
    /// The highest prefix-list sequence number bgpd stores as typed.
    max_list_seq: u32,
    /// `set community` takes `no-peer`, `blackhole` and `graceful-shutdown` (FRR; Quagga 1.2
    /// answers `% Malformed communities attribute`, checked live).
    newer_communities: bool,
}

/// A configured feature a flavour cannot render, as `check-config` reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Unsupported {
    /// The feature (a configuration setting or the command it needs).
    pub feature: &'static str,
    /// What happens instead.
    pub consequence: &'static str,
}

impl std::fmt::Display for Unsupported {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}: {}", self.feature, self.consequence)
    }
}

impl Flavour {
    /// FRRouting 8.x–10.x bgpd.
    pub const FRR: Flavour = Flavour {
        name: "FRR",
        vty_socket_option: true,
        no_zebra_option: true,
        log_option: true,
        ebgp_requires_policy: true,
        gr_preserve_fw_state: true,
        per_neighbor_gr: true,
        neighbor_events_debug: "neighbor-events",
        nht_debug: true,
        json_status: true,
        family_maximum_paths: true,
        as_path_list: "bgp as-path access-list",
        list_seq: true,
        reapplies_policy: true,
        max_list_seq: u32::MAX,
        newer_communities: true,
    };

    /// Quagga 0.99.x–1.2 bgpd.
    pub const QUAGGA: Flavour = Flavour {
        name: "Quagga",
        // Quagga has no vtysh socket option and no `-Z`; it logs only where its
        // configuration says (`log file`).
        vty_socket_option: false,
        no_zebra_option: false,
        log_option: false,
        // Quagga has no such setting: eBGP routes flow without policies, which is what the
        // project's `no bgp ebgp-requires-policy` asks of FRR.
        ebgp_requires_policy: false,
        gr_preserve_fw_state: false,
        per_neighbor_gr: false,
        neighbor_events_debug: "events",
        // Quagga 1.2 has `debug bgp updates`, `keepalives` and `zebra`, not `nht` or
        // `update-groups`.
        nht_debug: false,
        json_status: false,
        // `maximum-paths` inside `address-family ipv4|ipv6 unicast` (Quagga built with
        // `--enable-multipath`).
        family_maximum_paths: true,
        // Quagga 1.2 spells it `ip as-path access-list NAME permit REGEX` (no `seq`).
        as_path_list: "ip as-path access-list",
        list_seq: false,
        // Checked live: after `neighbor X route-map NAME out` or a changed prefix-list, Quagga
        // 1.2.4 kept advertising the old set until `clear ip bgp X soft`.
        reapplies_policy: false,
        // Quagga reads `seq <1-4294967295>` with atoi: checked live, `seq 4294967295` became
        // -1 (no number: the next free one, so a later `seq 10` replaced it) and
        // `seq 2147483648` became -2147483648 (first).
        max_list_seq: i32::MAX as u32,
        newer_communities: false,
    };

    /// The suite's name (`FRR`, `Quagga`).
    pub fn name(&self) -> &'static str {
        self.name
    }

    /// bgpd takes `--vty_socket DIR` (otherwise its Vty is TCP only).
    pub fn has_vty_socket_option(&self) -> bool {
        self.vty_socket_option
    }

    /// bgpd takes `-Z` (run without zebra); otherwise a zebra-less bgpd is pointed at a socket
    /// that does not exist.
    pub fn has_no_zebra_option(&self) -> bool {
        self.no_zebra_option
    }

    /// bgpd takes `--log file:PATH`; otherwise the log file is set with the `log file`
    /// command.
    pub fn has_log_option(&self) -> bool {
        self.log_option
    }

    /// bgpd has `bgp ebgp-requires-policy` (and turns it on by default).
    pub fn has_ebgp_requires_policy(&self) -> bool {
        self.ebgp_requires_policy
    }

    /// bgpd has `bgp graceful-restart preserve-fw-state`.
    pub fn has_gr_preserve_fw_state(&self) -> bool {
        self.gr_preserve_fw_state
    }

    /// bgpd has per-neighbor `graceful-restart[-helper|-disable]`.
    pub fn has_per_neighbor_gr(&self) -> bool {
        self.per_neighbor_gr
    }

    /// bgpd answers `show bgp … json` (otherwise the status is read from the text tables).
    pub fn has_json_status(&self) -> bool {
        self.json_status
    }

    /// bgpd takes `maximum-paths N` inside the address-family nodes.
    pub fn has_family_maximum_paths(&self) -> bool {
        self.family_maximum_paths
    }

    /// The line defining AS-path access list `name` with one entry, `permit REGEX`.
    pub fn as_path_list_permit(&self, name: &str, regex: &str) -> String {
        if self.list_seq {
            format!("{} {name} seq 5 permit {regex}", self.as_path_list)
        } else {
            format!("{} {name} permit {regex}", self.as_path_list)
        }
    }

    /// The line adding `permit REGEX` to AS-path access list `name` (without `seq`: FRR 8.4
    /// and 10 number it after the last entry and ignore an entry already present, like Quagga
    /// 1.2; checked live on all three).
    pub fn as_path_list_add(&self, name: &str, regex: &str) -> String {
        format!("{} {name} permit {regex}", self.as_path_list)
    }

    /// The line removing the entry `permit REGEX` from AS-path access list `name` (bgpd finds
    /// it by its expression; removing the last entry removes the list).
    pub fn as_path_list_remove(&self, name: &str, regex: &str) -> String {
        format!("no {} {name} permit {regex}", self.as_path_list)
    }

    /// The line defining access list `name` with one entry permitting `network` (e.g. the one
    /// address allowed on the Vty).
    pub fn access_list_permit(&self, name: &str, network: &str) -> String {
        if self.list_seq {
            format!("access-list {name} seq 5 permit {network}")
        } else {
            format!("access-list {name} permit {network}")
        }
    }

    /// The line (run in configuration mode) that makes bgpd re-apply its changed policy to
    /// `neighbor` in `afi` unicast, both directions, without resetting the session: `None` when
    /// bgpd does that itself. Quagga 1.2: `do clear ip bgp X soft` (IPv4 unicast; `*` for a
    /// neighbor with an IPv6 address) and `do clear bgp ipv6 X soft` (IPv6 unicast); inbound it
    /// sends a ROUTE-REFRESH. A neighbor not active in the family is accepted and untouched.
    pub fn soft_refresh(
        &self,
        neighbor: std::net::IpAddr,
        afi: crate::config::Afi,
    ) -> Option<String> {
        if self.reapplies_policy {
            return None;
        }
        Some(match (afi, neighbor) {
            (crate::config::Afi::Ipv4, std::net::IpAddr::V4(a)) => {
                format!("do clear ip bgp {a} soft")
            }
            // `clear ip bgp` takes only IPv4 addresses (checked live: `% Unknown command`);
            // every IPv4 unicast session is refreshed instead.
            (crate::config::Afi::Ipv4, std::net::IpAddr::V6(_)) => "do clear ip bgp * soft".into(),
            (crate::config::Afi::Ipv6, a) => format!("do clear bgp ipv6 {a} soft"),
        })
    }

    /// The sequence number of a prefix-list's default entry (`permit|deny any`, after every
    /// other entry): the highest one bgpd stores as typed.
    pub fn prefix_list_default_seq(&self) -> u32 {
        self.max_list_seq
    }

    /// `set community` takes `c`.
    pub fn has_community(&self, c: crate::config::Community) -> bool {
        use crate::config::Community as C;
        self.newer_communities || !matches!(c, C::NoPeer | C::Blackhole | C::GracefulShutdown)
    }

    /// The line removing AS-path access list `name`.
    pub fn no_as_path_list(&self, name: &str) -> String {
        format!("no {} {name}", self.as_path_list)
    }

    /// The commands that read every peer's state, in the order [`Flavour::parse_summary`]
    /// takes their outputs.
    pub fn summary_commands(&self) -> &'static [&'static str] {
        if self.json_status {
            &["show bgp summary json"]
        } else {
            &["show ip bgp summary", "show bgp ipv6 unicast summary"]
        }
    }

    /// Parses the outputs of [`Flavour::summary_commands`]. An empty output (bgpd has no
    /// `router bgp` yet) is an empty summary.
    pub fn parse_summary(&self, outputs: &[&str]) -> Result<BgpSummary, SummaryError> {
        let expected = self.summary_commands().len();
        let family = |t: &str| -> Result<_, TextSummaryError> {
            let f = crate::status_text::parse_family(t)?;
            Ok((!f.peers.is_empty()).then_some(f))
        };
        match (self.json_status, outputs) {
            (true, [json]) if expected == 1 => {
                let text = json.trim();
                if text.is_empty() {
                    return Ok(BgpSummary::default());
                }
                Ok(BgpSummary::parse(text)?)
            }
            (false, [v4, v6]) if expected == 2 => Ok(BgpSummary {
                ipv4_unicast: family(v4)?,
                ipv6_unicast: family(v6)?,
            }),
            _ => Err(SummaryError::Outputs {
                expected,
                got: outputs.len(),
            }),
        }
    }

    /// The summary reports prefixes sent per peer (the text tables do not).
    pub fn reports_prefixes_sent(&self) -> bool {
        self.json_status
    }

    /// The words after `debug bgp` for `flag` in this flavour, or `None` when it has no such
    /// debug category.
    pub fn debug_keyword(&self, flag: DebugFlag) -> Option<&'static str> {
        match flag {
            DebugFlag::NeighborEvents => Some(self.neighbor_events_debug),
            DebugFlag::Nht | DebugFlag::UpdateGroups if !self.nht_debug => None,
            other => Some(other.keyword()),
        }
    }

    /// The settings of `cfg` this flavour cannot render; the renderer leaves them out, and
    /// `check-config` names them for the port.
    pub fn unsupported(&self, cfg: &BgpConfig) -> Vec<Unsupported> {
        let mut out = Vec::new();
        if let Some(gr) = cfg.graceful_restart {
            if gr.preserve_fw_state() && !self.gr_preserve_fw_state {
                out.push(Unsupported {
                    feature: "graceful_restart preserve-fw-state",
                    consequence: "bgpd clears the forwarding-state (F) bit, so a \
                                  graceful-restart helper drops our networks when the \
                                  restarted bgpd reconnects (and re-learns them from its \
                                  updates), and its Zebra v3 has no graceful-restart \
                                  messages, so the routes it learned are withdrawn at once: \
                                  a bgpd restart is not hitless",
                });
            }
        }
        if !self.per_neighbor_gr && cfg.neighbors.values().any(|n| n.graceful_restart.is_some()) {
            out.push(Unsupported {
                feature: "per-peer graceful_restart mode",
                consequence: "the router-wide graceful-restart setting applies to every peer",
            });
        }
        let paths = [&cfg.ipv4, &cfg.ipv6]
            .iter()
            .any(|f| f.maximum_paths.is_some_and(|m| m.get() > 1));
        if paths && !self.family_maximum_paths {
            out.push(Unsupported {
                feature: "maximum_paths",
                consequence: "bgpd installs one path per prefix (no ECMP)",
            });
        }
        let unknown_community = cfg.policies.route_maps.values().any(|rm| {
            rm.values().any(|e| {
                e.communities
                    .as_ref()
                    .is_some_and(|c| c.values.iter().any(|v| !self.has_community(*v)))
            })
        });
        if unknown_community {
            out.push(Unsupported {
                feature: "communities no-peer, blackhole, graceful-shutdown",
                consequence: "left out of the routes' communities (the others are set)",
            });
        }
        if cfg.debug.iter().any(|d| self.debug_keyword(*d).is_none()) {
            out.push(Unsupported {
                feature: "debug (nht, update-groups)",
                consequence: "those debug categories are not logged",
            });
        }
        out
    }
}

impl std::fmt::Display for Flavour {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name)
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;
    use crate::config::{Asn, GracefulRestart, MaximumPaths, Neighbor, PeerGrMode};

    fn cfg() -> BgpConfig {
        let mut c = BgpConfig::new(Asn::new(65001).unwrap());
        c.add_neighbor(Neighbor::new(
            "192.0.2.2".parse().unwrap(),
            Asn::new(65002).unwrap(),
        ));
        c
    }

    #[test]
    fn frr_supports_everything_the_renderer_sends() {
        let mut c = cfg();
        c.graceful_restart = Some(GracefulRestart::default());
        c.ipv4.maximum_paths = Some(MaximumPaths::new(4).unwrap());
        c.debug = [DebugFlag::Nht, DebugFlag::NeighborEvents]
            .into_iter()
            .collect();
        if let Some(n) = c.neighbors.values_mut().next() {
            n.graceful_restart = Some(PeerGrMode::Helper);
        }
        assert!(Flavour::FRR.unsupported(&c).is_empty());
        assert_eq!(
            Flavour::FRR.debug_keyword(DebugFlag::NeighborEvents),
            Some("neighbor-events")
        );
    }

    #[test]
    fn quagga_names_what_it_cannot_do() {
        let plain = cfg();
        assert!(Flavour::QUAGGA.unsupported(&plain).is_empty());
        let mut c = cfg();
        c.graceful_restart = Some(GracefulRestart::default());
        c.debug = [DebugFlag::UpdateGroups].into_iter().collect();
        if let Some(n) = c.neighbors.values_mut().next() {
            n.graceful_restart = Some(PeerGrMode::Disable);
        }
        let u: Vec<String> = Flavour::QUAGGA
            .unsupported(&c)
            .iter()
            .map(ToString::to_string)
            .collect();
        assert_eq!(u.len(), 3, "{u:?}");
        assert!(
            u[0].starts_with("graceful_restart preserve-fw-state"),
            "{u:?}"
        );
        assert!(u[1].starts_with("per-peer graceful_restart"), "{u:?}");
        assert!(u[2].starts_with("debug"), "{u:?}");
        assert_eq!(
            Flavour::QUAGGA.debug_keyword(DebugFlag::NeighborEvents),
            Some("events")
        );
        assert!(!Flavour::QUAGGA.has_vty_socket_option());
        assert!(!Flavour::QUAGGA.has_json_status());
    }

    #[test]
    fn quagga_leaves_out_the_communities_it_does_not_know_and_says_so() {
        use crate::config::policy::{PolicyName, RouteMap, RouteMapEntry, SetCommunities};
        use crate::config::{diff_for, Community};
        let old = cfg();
        let mut c = cfg();
        let entry = RouteMapEntry {
            communities: Some(SetCommunities {
                values: vec![Community::Value(65001, 7), Community::Blackhole],
                additive: true,
            }),
            ..RouteMapEntry::default()
        };
        c.policies.route_maps.insert(
            PolicyName::new("OUT").unwrap(),
            RouteMap::from([(10, entry)]),
        );
        let u = Flavour::QUAGGA.unsupported(&c);
        assert_eq!(u.len(), 1, "{u:?}");
        assert!(u[0].feature.contains("blackhole"), "{u:?}");
        assert!(Flavour::FRR.unsupported(&c).is_empty());
        let set = |fl: &Flavour| {
            diff_for(&old, &c, fl)
                .iter()
                .map(|cmd| cmd.line().to_owned())
                .filter(|l| l.starts_with("set community"))
                .collect::<Vec<_>>()
        };
        assert_eq!(set(&Flavour::QUAGGA), ["set community 65001:7 additive"]);
        assert_eq!(
            set(&Flavour::FRR),
            ["set community 65001:7 blackhole additive"]
        );
        // Nothing left: no `set community` line at all.
        let mut only = c.clone();
        let rm = only
            .policies
            .route_maps
            .get_mut(&PolicyName::new("OUT").unwrap())
            .unwrap();
        rm.get_mut(&10).unwrap().communities = Some(SetCommunities {
            values: vec![Community::NoPeer],
            additive: false,
        });
        assert!(set_lines(&diff_for(&old, &only, &Flavour::QUAGGA)).is_empty());
    }

    fn set_lines(cmds: &[crate::config::Command]) -> Vec<String> {
        cmds.iter()
            .map(|c| c.line().to_owned())
            .filter(|l| l.starts_with("set community"))
            .collect()
    }

    #[test]
    fn quagga_prefix_lists_end_at_the_highest_sequence_it_stores() {
        use crate::config::policy::{Action, PolicyName, PrefixList};
        use crate::config::{diff_for, Afi};
        let old = cfg();
        let mut c = cfg();
        c.policies.prefix_lists.insert(
            (Afi::Ipv4, PolicyName::new("PL").unwrap()),
            PrefixList::new(Afi::Ipv4, Vec::new(), Action::Deny).unwrap(),
        );
        let lines = |fl: &Flavour| -> Vec<String> {
            diff_for(&old, &c, fl)
                .iter()
                .map(|cmd| cmd.line().to_owned())
                .filter(|l| l.contains("prefix-list"))
                .collect()
        };
        assert_eq!(
            lines(&Flavour::QUAGGA),
            ["ip prefix-list PL seq 2147483647 deny any"]
        );
        assert_eq!(
            lines(&Flavour::FRR),
            ["ip prefix-list PL seq 4294967295 deny any"]
        );
    }

    #[test]
    fn each_flavour_parses_its_own_summary_outputs() {
        let json = r#"{"ipv4Unicast":{"peers":{"192.0.2.2":{"remoteAs":65002,"state":"Established","pfxRcd":3,"pfxSnt":1}}}}"#;
        let s = Flavour::FRR.parse_summary(&[json]).unwrap();
        assert_eq!(s.ipv4_unicast.unwrap().peers["192.0.2.2"].pfx_rcd, 3);
        assert_eq!(
            Flavour::FRR.parse_summary(&[""]).unwrap(),
            BgpSummary::default()
        );
        let v4 =
            "Neighbor        V         AS MsgRcvd MsgSent   TblVer  InQ OutQ Up/Down  State/PfxRcd
                  192.0.2.2       4 65002       4       5        0    0    0 00:00:59        1
";
        let s = Flavour::QUAGGA.parse_summary(&[v4, ""]).unwrap();
        assert_eq!(s.ipv4_unicast.unwrap().peers["192.0.2.2"].pfx_rcd, 1);
        assert!(s.ipv6_unicast.is_none());
        assert!(matches!(
            Flavour::QUAGGA.parse_summary(&[v4]),
            Err(SummaryError::Outputs {
                expected: 2,
                got: 1
            })
        ));
        assert!(Flavour::FRR.parse_summary(&["% Unknown command"]).is_err());
        for outputs in [&[][..], &["{}", "{}"][..]] {
            assert!(matches!(
                Flavour::FRR.parse_summary(outputs),
                Err(SummaryError::Outputs { expected: 1, .. })
            ));
        }
        assert!(matches!(
            Flavour::QUAGGA.parse_summary(&[]),
            Err(SummaryError::Outputs {
                expected: 2,
                got: 0
            })
        ));
    }
}
