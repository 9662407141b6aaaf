//! A real GoBGP daemon (`gobgpd`, Debian's `gobgpd` package) inside a [`TestNs`], for tests
//! that need a BGP peer that is neither FRR nor Quagga. It is controlled with the `gobgp` CLI
//! over its gRPC API on `127.0.0.1:50051` inside the namespace.
//!
//! Like [`crate::lab::TestBgpd`] it is killed (SIGKILL) and its files are removed on drop
//! (a [`TestDaemon`]).

use std::io;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};

use crate::daemon::TestDaemon;
use crate::lab::TestNs;
use crate::{require_root, skip};

/// Where Debian's `gobgpd` package installs the daemon.
pub const GOBGPD_CANDIDATES: [&str; 2] = ["/usr/bin/gobgpd", "/usr/local/bin/gobgpd"];

/// Path of an installed `gobgpd`, if any (`GOBGPD` overrides); its `gobgp` CLI is expected
/// beside it.
pub fn find_gobgpd() -> Option<PathBuf> {
    if let Ok(p) = std::env::var("GOBGPD") {
        let p = PathBuf::from(p);
        return p.is_file().then_some(p);
    }
    GOBGPD_CANDIDATES
        .iter()
        .map(PathBuf::from)
        .find(|p| p.is_file() && p.with_file_name("gobgp").is_file())
}

/// Returns the path of `gobgpd` when the test can run it in namespaces (root and GoBGP
/// installed); otherwise prints why the test is skipped (or panics under CI) and returns `None`.
pub fn require_gobgpd(test: &str) -> Option<PathBuf> {
    require_root(test)?;
    match find_gobgpd() {
        Some(p) => Some(p),
        None => {
            skip(test, "needs GoBGP (apt-get install gobgpd)");
            None
        }
    }
}

/// A GoBGP daemon running in a namespace.
#[derive(Debug)]
pub struct TestGobgp {
    daemon: TestDaemon,
    cli: PathBuf,
    ns_name: String,
}

/// gRPC API address inside the namespace.
const API: &str = "127.0.0.1:50051";

impl TestGobgp {
    /// Writes `config` (GoBGP's TOML) and starts `gobgpd` in `ns`; waits until its API answers.
    pub fn start(gobgpd: &Path, ns: &TestNs, config: &str) -> io::Result<TestGobgp> {
        let daemon = TestDaemon::spawn("gobgp", gobgpd, ns, "gobgpd.toml", config, |_, conf| {
            vec![
                "-f".into(),
                conf.into(),
                "-t".into(),
                "toml".into(),
                "-p".into(),
                format!("--api-hosts={API}").into(),
                "--pprof-disable".into(),
            ]
        })?;
        let me = TestGobgp {
            daemon,
            cli: gobgpd.with_file_name("gobgp"),
            ns_name: ns.name().to_string(),
        };
        me.daemon.wait_ready(|| me.gobgp(&["global"]).is_ok())?;
        Ok(me)
    }

    /// Runs `gobgp ARGS` against this daemon and returns its output.
    pub fn gobgp(&self, args: &[&str]) -> io::Result<String> {
        let out = std::process::Command::new("ip")
            .args(["netns", "exec", &self.ns_name])
            .arg(&self.cli)
            .args(["-u", "127.0.0.1", "-p", "50051"])
            .args(args)
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout).into_owned();
        if out.status.success() {
            Ok(text)
        } else {
            Err(io::Error::other(format!(
                "gobgp {args:?} failed ({}): {text}{}",
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )))
        }
    }

    /// GoBGP's paths for `prefix` in its global RIB (`gobgp -j global rib -a AFI PREFIX`, the
    /// family from the prefix), as their `stale` marks: empty when GoBGP has no path for it (or
    /// does not answer).
    pub fn stale_marks(&self, prefix: &str) -> Vec<bool> {
        let afi = if prefix.contains(':') { "ipv6" } else { "ipv4" };
        self.gobgp(&["-j", "global", "rib", "-a", afi, prefix])
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| {
                v[prefix]
                    .as_array()
                    .map(|ps| ps.iter().map(|p| p["stale"] == true).collect())
            })
            .unwrap_or_default()
    }

    /// gobgpd's output so far.
    pub fn log(&self) -> String {
        self.daemon.log()
    }

    /// Kills gobgpd with SIGKILL and reaps it.
    pub fn kill(&mut self) {
        self.daemon.kill();
    }
}

/// A GoBGP configuration (its TOML) built neighbor by neighbor: one address family per
/// neighbor (IPv4 or IPv6 unicast, after the neighbor's address), optionally with graceful
/// restart on for every neighbor and its family (GoBGP's `[neighbors.graceful-restart.config]`
/// and `[neighbors.afi-safis.mp-graceful-restart.config]`, GoBGP's
/// docs/sources/graceful-restart.md), which makes GoBGP the helper of a restarting peer.
#[derive(Debug, Clone)]
pub struct GobgpConfig {
    asn: u32,
    router_id: Ipv4Addr,
    local_addresses: Vec<IpAddr>,
    neighbors: Vec<(IpAddr, u32)>,
    graceful_restart: bool,
}

impl GobgpConfig {
    /// AS `asn` with router id `router_id`, no local address, no neighbor, no graceful restart.
    pub fn new(asn: u32, router_id: Ipv4Addr) -> GobgpConfig {
        GobgpConfig {
            asn,
            router_id,
            local_addresses: Vec::new(),
            neighbors: Vec::new(),
            graceful_restart: false,
        }
    }

    /// Adds `address` to the addresses GoBGP listens on (`local-address-list`).
    pub fn local_address(mut self, address: IpAddr) -> GobgpConfig {
        self.local_addresses.push(address);
        self
    }

    /// Adds a neighbor at `address` in AS `peer_as`, with the unicast family of its address.
    pub fn neighbor(mut self, address: IpAddr, peer_as: u32) -> GobgpConfig {
        self.neighbors.push((address, peer_as));
        self
    }

    /// Turns graceful restart on or off for every neighbor and its family.
    pub fn graceful_restart(mut self, on: bool) -> GobgpConfig {
        self.graceful_restart = on;
        self
    }

    /// The configuration as GoBGP's TOML (for [`TestGobgp::start`]).
    pub fn render(&self) -> String {
        let locals: Vec<String> = self
            .local_addresses
            .iter()
            .map(|a| format!("\"{a}\""))
            .collect();
        let mut s = format!(
            "[global.config]\n  as = {}\n  router-id = \"{}\"\n  local-address-list = [{}]\n",
            self.asn,
            self.router_id,
            locals.join(", ")
        );
        for (address, peer_as) in &self.neighbors {
            let family = if address.is_ipv6() {
                "ipv6-unicast"
            } else {
                "ipv4-unicast"
            };
            s.push_str(&format!(
                "[[neighbors]]\n  [neighbors.config]\n    neighbor-address = \"{address}\"\n    \
                 peer-as = {peer_as}\n"
            ));
            if self.graceful_restart {
                s.push_str("  [neighbors.graceful-restart.config]\n    enabled = true\n");
            }
            s.push_str(&format!(
                "  [[neighbors.afi-safis]]\n    [neighbors.afi-safis.config]\n      \
                 afi-safi-name = \"{family}\"\n"
            ));
            if self.graceful_restart {
                s.push_str(
                    "    [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n",
                );
            }
        }
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dual_stack(gr: bool) -> String {
        GobgpConfig::new(65002, "192.0.2.2".parse().unwrap())
            .local_address("192.0.2.2".parse().unwrap())
            .local_address("2001:db8::2".parse().unwrap())
            .neighbor("192.0.2.1".parse().unwrap(), 65001)
            .neighbor("2001:db8::1".parse().unwrap(), 65001)
            .graceful_restart(gr)
            .render()
    }

    #[test]
    fn one_family_per_neighbor_and_gr_for_each() {
        let with_gr = dual_stack(true);
        assert_eq!(
            with_gr,
            r#"[global.config]
  as = 65002
  router-id = "192.0.2.2"
  local-address-list = ["192.0.2.2", "2001:db8::2"]
[[neighbors]]
  [neighbors.config]
    neighbor-address = "192.0.2.1"
    peer-as = 65001
  [neighbors.graceful-restart.config]
    enabled = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv4-unicast"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
[[neighbors]]
  [neighbors.config]
    neighbor-address = "2001:db8::1"
    peer-as = 65001
  [neighbors.graceful-restart.config]
    enabled = true
  [[neighbors.afi-safis]]
    [neighbors.afi-safis.config]
      afi-safi-name = "ipv6-unicast"
    [neighbors.afi-safis.mp-graceful-restart.config]
      enabled = true
"#
        );
        // Without graceful restart: the same but for the two sections of each neighbor.
        let without = with_gr
            .replace(
                "  [neighbors.graceful-restart.config]\n    enabled = true\n",
                "",
            )
            .replace(
                "    [neighbors.afi-safis.mp-graceful-restart.config]\n      enabled = true\n",
                "",
            );
        assert_eq!(dual_stack(false), without);
        assert!(!without.contains("graceful-restart"));
    }
}
