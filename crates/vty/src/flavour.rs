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

    /// The line defining access list `name` with one entry permitting `network` (e.g. the one
    /// address allowed on the Vty).
    pub fn access_list_permit(&self, name: &str, network: &str) -> String {
        if self.list_seq {
            format!("access-list {name} seq 5 permit {network}")
        } else {
            format!("access-list {name} permit {network}")
        }
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
        if outputs.len() != expected {
            return Err(SummaryError::Outputs {
                expected,
                got: outputs.len(),
            });
        }
        if self.json_status {
            let text = outputs[0].trim();
            if text.is_empty() {
                return Ok(BgpSummary::default());
            }
            return Ok(BgpSummary::parse(text)?);
        }
        let family = |t: &str| -> Result<_, TextSummaryError> {
            let f = crate::status_text::parse_family(t)?;
            Ok((!f.peers.is_empty()).then_some(f))
        };
        Ok(BgpSummary {
            ipv4_unicast: family(outputs[0])?,
            ipv6_unicast: family(outputs[1])?,
        })
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
    }
}
