//! Graceful restart (RFC 4724) in bgpd's configuration: the router-wide `bgp graceful-restart`
//! settings and the per-neighbor mode, with their rendering and minimal diffs.
//!
//! Ranges and defaults are FRR 8.4's (bgpd/bgp_vty.c, bgpd/bgpd.h): restart time 0–4095 s
//! (the RFC's 12-bit field), default 120; stale-path time 1–4095 s, default 360; RIB stale time
//! (how long zebra keeps bgpd's routes after bgpd dies) 1–3600 s, default 500. bgpd applies a
//! changed setting to sessions established afterwards; it resets none ("Graceful restart
//! configuration changed, reset all peers to take effect").

use std::net::IpAddr;

use super::values::ConfigError;
use super::{Command, Node};

/// bgpd's default restart time (`BGP_DEFAULT_RESTART_TIME`).
pub const DEFAULT_RESTART_TIME: u16 = 120;
/// bgpd's default stale-path time (`BGP_DEFAULT_STALEPATH_TIME`).
pub const DEFAULT_STALEPATH_TIME: u16 = 360;
/// bgpd's default RIB stale time (`BGP_DEFAULT_RIB_STALE_TIME`).
pub const DEFAULT_RIB_STALE_TIME: u16 = 500;

fn check(field: &'static str, value: u16, min: u16, max: u16) -> Result<(), ConfigError> {
    if value < min || value > max {
        return Err(ConfigError::OutOfRange {
            field,
            value: value.into(),
            min: min.into(),
            max: max.into(),
        });
    }
    Ok(())
}

/// `bgp graceful-restart` and its timers: this bgpd restarts gracefully (it advertises the
/// restart capability with the R bit after a restart, defers path selection until its peers'
/// End-of-RIB) and asks zebra to keep its routes.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GracefulRestart {
    restart_time: u16,
    stalepath_time: u16,
    rib_stale_time: u16,
    preserve_fw_state: bool,
}

impl Default for GracefulRestart {
    /// bgpd's defaults, with `preserve-fw-state` on (see [`GracefulRestart::new`]).
    fn default() -> Self {
        GracefulRestart {
            restart_time: DEFAULT_RESTART_TIME,
            stalepath_time: DEFAULT_STALEPATH_TIME,
            rib_stale_time: DEFAULT_RIB_STALE_TIME,
            preserve_fw_state: true,
        }
    }
}

impl GracefulRestart {
    /// Validates the timers (seconds).
    ///
    /// `preserve_fw_state` sets the F bit for every family: forwarding went on while bgpd
    /// restarted. Without it a helper that follows RFC 4724 (FRR, BIRD) drops the routes at
    /// once when the session comes back, so a restart is only hitless with it.
    pub fn new(
        restart_time: u16,
        stalepath_time: u16,
        rib_stale_time: u16,
        preserve_fw_state: bool,
    ) -> Result<GracefulRestart, ConfigError> {
        check("graceful-restart restart-time", restart_time, 0, 4095)?;
        check("graceful-restart stalepath-time", stalepath_time, 1, 4095)?;
        check("graceful-restart rib-stale-time", rib_stale_time, 1, 3600)?;
        Ok(GracefulRestart {
            restart_time,
            stalepath_time,
            rib_stale_time,
            preserve_fw_state,
        })
    }

    /// Seconds a peer keeps our routes while we restart (advertised in the capability).
    pub fn restart_time(self) -> u16 {
        self.restart_time
    }

    /// Seconds we keep a restarting peer's routes after its session is back.
    pub fn stalepath_time(self) -> u16 {
        self.stalepath_time
    }

    /// Seconds zebra keeps our routes after bgpd died.
    pub fn rib_stale_time(self) -> u16 {
        self.rib_stale_time
    }

    /// Whether the F bit is set.
    pub fn preserve_fw_state(self) -> bool {
        self.preserve_fw_state
    }

    /// The same settings without `preserve-fw-state`: what a bgpd's *first* start takes, when
    /// there is no forwarding state to preserve. bgpd (FRR) defers best-path selection at every
    /// session start while the F bit is configured (until End-of-RIB from every GR peer or
    /// `select-defer-time`, then 10,000 prefixes a second), which a first start does not need.
    pub fn without_preserved_forwarding(self) -> GracefulRestart {
        GracefulRestart {
            preserve_fw_state: false,
            ..self
        }
    }

    /// The timer lines, each with its default.
    fn timers(self) -> [(&'static str, u16, u16); 3] {
        [
            ("restart-time", self.restart_time, DEFAULT_RESTART_TIME),
            (
                "stalepath-time",
                self.stalepath_time,
                DEFAULT_STALEPATH_TIME,
            ),
            (
                "rib-stale-time",
                self.rib_stale_time,
                DEFAULT_RIB_STALE_TIME,
            ),
        ]
    }
}

/// A neighbor's own graceful-restart mode (unset: it follows the router-wide mode).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PeerGrMode {
    /// `neighbor X graceful-restart`: restarting speaker and helper.
    Restart,
    /// `neighbor X graceful-restart-helper`: helper only.
    Helper,
    /// `neighbor X graceful-restart-disable`: no GR capability for this peer.
    Disable,
}

impl PeerGrMode {
    fn keyword(self) -> &'static str {
        match self {
            PeerGrMode::Restart => "graceful-restart",
            PeerGrMode::Helper => "graceful-restart-helper",
            PeerGrMode::Disable => "graceful-restart-disable",
        }
    }
}

/// Router-level GR commands turning `old` into `new` (`None`: bgpd's default, helper only).
pub(super) fn router_diff(
    r: &Node,
    old: Option<GracefulRestart>,
    new: Option<GracefulRestart>,
    out: &mut Vec<Command>,
    fl: &crate::flavour::Flavour,
) {
    let base = GracefulRestart::default();
    // Unset timers are bgpd's defaults, and no F bit.
    let eff = |g: Option<GracefulRestart>| {
        g.unwrap_or(GracefulRestart {
            preserve_fw_state: false,
            ..base
        })
    };
    let (o, n) = (eff(old), eff(new));
    if old.is_some() != new.is_some() {
        let line = if new.is_some() {
            "bgp graceful-restart"
        } else {
            "no bgp graceful-restart"
        };
        out.push(Command::new(r.clone(), line.to_owned()));
    }
    if o.preserve_fw_state != n.preserve_fw_state && fl.has_gr_preserve_fw_state() {
        let line = if n.preserve_fw_state {
            "bgp graceful-restart preserve-fw-state"
        } else {
            "no bgp graceful-restart preserve-fw-state"
        };
        out.push(Command::new(r.clone(), line.to_owned()));
    }
    for ((name, was, _), (_, now, default)) in o.timers().into_iter().zip(n.timers()) {
        if was == now {
            continue;
        }
        let line = if now == default {
            format!("no bgp graceful-restart {name}")
        } else {
            format!("bgp graceful-restart {name} {now}")
        };
        out.push(Command::new(r.clone(), line));
    }
}

/// Neighbor-level GR commands turning `old` into `new`.
pub(super) fn neighbor_diff(
    r: &Node,
    a: IpAddr,
    old: Option<PeerGrMode>,
    new: Option<PeerGrMode>,
    out: &mut Vec<Command>,
) {
    if old == new {
        return;
    }
    match (old, new) {
        // bgpd moves between the three modes directly (its peer GR state machine allows every
        // such transition); only going back to the router-wide mode needs the `no` form.
        (_, Some(m)) => out.push(Command::new(
            r.clone(),
            format!("neighbor {a} {}", m.keyword()),
        )),
        (Some(m), None) => out.push(Command::new(
            r.clone(),
            format!("no neighbor {a} {}", m.keyword()),
        )),
        (None, None) => {}
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::Asn;

    fn lines(cmds: &[Command]) -> Vec<String> {
        cmds.iter().map(|c| c.line().to_owned()).collect()
    }

    fn r() -> Node {
        Node::Router(Asn::new(65001).unwrap())
    }

    #[test]
    fn ranges_are_bgpds() {
        assert!(GracefulRestart::new(0, 1, 1, true).is_ok());
        assert!(GracefulRestart::new(4095, 4095, 3600, false).is_ok());
        for (rt, sp, rib) in [
            (4096, 360, 500),
            (120, 0, 500),
            (120, 4096, 500),
            (120, 360, 0),
            (120, 360, 3601),
        ] {
            let e = GracefulRestart::new(rt, sp, rib, true).unwrap_err();
            assert!(matches!(e, ConfigError::OutOfRange { .. }), "{e}");
        }
    }

    #[test]
    fn enabling_with_defaults_renders_only_what_differs() {
        let mut out = Vec::new();
        router_diff(
            &r(),
            None,
            Some(GracefulRestart::default()),
            &mut out,
            &crate::flavour::Flavour::FRR,
        );
        assert_eq!(
            lines(&out),
            [
                "bgp graceful-restart",
                "bgp graceful-restart preserve-fw-state"
            ]
        );
        let mut out = Vec::new();
        let g = GracefulRestart::new(30, 60, 90, true).unwrap();
        router_diff(&r(), None, Some(g), &mut out, &crate::flavour::Flavour::FRR);
        assert_eq!(
            lines(&out),
            [
                "bgp graceful-restart",
                "bgp graceful-restart preserve-fw-state",
                "bgp graceful-restart restart-time 30",
                "bgp graceful-restart stalepath-time 60",
                "bgp graceful-restart rib-stale-time 90",
            ]
        );
        // Back to bgpd's defaults: every setting undone.
        let mut out = Vec::new();
        router_diff(&r(), Some(g), None, &mut out, &crate::flavour::Flavour::FRR);
        assert_eq!(
            lines(&out),
            [
                "no bgp graceful-restart",
                "no bgp graceful-restart preserve-fw-state",
                "no bgp graceful-restart restart-time",
                "no bgp graceful-restart stalepath-time",
                "no bgp graceful-restart rib-stale-time",
            ]
        );
    }

    #[test]
    fn a_timer_change_is_one_line() {
        let a = GracefulRestart::new(30, 360, 90, true).unwrap();
        let b = GracefulRestart::new(30, 360, 500, true).unwrap();
        let mut out = Vec::new();
        router_diff(
            &r(),
            Some(a),
            Some(b),
            &mut out,
            &crate::flavour::Flavour::FRR,
        );
        assert_eq!(lines(&out), ["no bgp graceful-restart rib-stale-time"]);
        let mut out = Vec::new();
        router_diff(
            &r(),
            Some(b),
            Some(a),
            &mut out,
            &crate::flavour::Flavour::FRR,
        );
        assert_eq!(lines(&out), ["bgp graceful-restart rib-stale-time 90"]);
        let mut out = Vec::new();
        router_diff(
            &r(),
            Some(a),
            Some(a),
            &mut out,
            &crate::flavour::Flavour::FRR,
        );
        assert!(out.is_empty());
    }

    #[test]
    fn neighbor_modes() {
        let a: IpAddr = "192.0.2.2".parse().unwrap();
        let mut out = Vec::new();
        neighbor_diff(&r(), a, None, Some(PeerGrMode::Helper), &mut out);
        neighbor_diff(
            &r(),
            a,
            Some(PeerGrMode::Helper),
            Some(PeerGrMode::Disable),
            &mut out,
        );
        neighbor_diff(&r(), a, Some(PeerGrMode::Disable), None, &mut out);
        neighbor_diff(
            &r(),
            a,
            Some(PeerGrMode::Restart),
            Some(PeerGrMode::Restart),
            &mut out,
        );
        assert_eq!(
            lines(&out),
            [
                "neighbor 192.0.2.2 graceful-restart-helper",
                "neighbor 192.0.2.2 graceful-restart-disable",
                "no neighbor 192.0.2.2 graceful-restart-disable",
            ]
        );
    }
}
