//! The port's own bgpd when it is not the host's FRR 8.4 (FRR 10.3 from the chroot of
//! `scripts/frr10-chroot.sh`, Quagga 1.2.4 from `scripts/quagga-build.sh`), and the port run
//! every daemon's end-to-end test shares: sessions over IPv4 and IPv6 with one FRR 8.4
//! provider, routes both ways, per-peer status, kill -9 recovery and a withdrawal.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;

use routing::real::RealEffects;
use routing::{PortStatus, RoutingHandler};

use super::ports::dual_stack_port;
use super::*;

/// The controller's run directory bind-mounted at the same path inside the chroot (so the
/// config, pid file, Vty socket and zebra socket paths mean the same inside); unmounted on drop.
pub struct BindMount(PathBuf);

impl BindMount {
    fn new(root: &Path, dir: &Path) -> BindMount {
        let target = root.join(dir.strip_prefix("/").unwrap());
        std::fs::create_dir_all(&target).unwrap();
        let st = Command::new("mount")
            .arg("--bind")
            .arg(dir)
            .arg(&target)
            .status()
            .unwrap();
        assert!(st.success(), "mount --bind {}", dir.display());
        BindMount(target)
    }
}

impl Drop for BindMount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg("-l").arg(&self.0).status();
        let _ = std::fs::remove_dir(&self.0);
    }
}

/// A `bgpd` launcher that execs the chroot's bgpd (same pid, same arguments); named `bgpd` so
/// the supervisor's adoption check recognises the process by name.
fn launcher(dir: &Path, root: &Path) -> PathBuf {
    let path = dir.join("bgpd");
    std::fs::write(
        &path,
        format!(
            "#!/bin/sh\nexec chroot '{}' {} \"$@\"\n",
            root.display(),
            testkit::FRR10_BGPD
        ),
    )
    .unwrap();
    std::fs::set_permissions(&path, std::os::unix::fs::PermissionsExt::from_mode(0o755)).unwrap();
    path
}

/// Which bgpd the controller launches for the port.
pub enum PortBgpd {
    /// The host's FRR 8.4 (the controller's default `bgpd_path`).
    Host,
    /// FRR 10.3 in its chroot, through a launcher; the lab's run directory is bind-mounted
    /// inside for as long as this lives (drop it before the [`Lab`]: declare it after).
    Frr10 {
        bgpd: PathBuf,
        _mount: BindMount,
        _bin: tempfile::TempDir,
    },
    /// Quagga 1.2.4's bgpd, launched directly.
    Quagga(PathBuf),
}

impl PortBgpd {
    /// FRR 10.3 for `lab`'s ports, or `None` (skipped, never under CI) without the chroot.
    pub fn frr10(test: &str, lab: &Lab) -> Option<PortBgpd> {
        let root = testkit::require_frr10(test)?;
        let mount = BindMount::new(&root, &lab.run_path());
        let bin = tempfile::tempdir().unwrap();
        Some(PortBgpd::Frr10 {
            bgpd: launcher(bin.path(), &root),
            _mount: mount,
            _bin: bin,
        })
    }

    /// Quagga 1.2.4, or `None` (skipped, never under CI) without the build.
    pub fn quagga(test: &str) -> Option<PortBgpd> {
        testkit::require_quagga(test).map(PortBgpd::Quagga)
    }

    /// The `bgpd_path = …` line of the `[controller]` section (empty for the host's bgpd).
    pub fn bgpd_path_line(&self) -> String {
        match self {
            PortBgpd::Host => String::new(),
            PortBgpd::Frr10 { bgpd, .. } | PortBgpd::Quagga(bgpd) => {
                format!("bgpd_path = \"{}\"\n", bgpd.display())
            }
        }
    }

    /// `lab`'s `[controller]` section with this bgpd.
    pub fn controller(&self, lab: &Lab) -> String {
        format!("{}{}", lab.controller(), self.bgpd_path_line())
    }

    /// Whether the status reports prefixes sent per peer (FRR's JSON does, Quagga's text
    /// tables do not).
    pub fn reports_prefixes_sent(&self) -> bool {
        !matches!(self, PortBgpd::Quagga(_))
    }
}

/// What the provider of [`run_port`] announces: one IPv4 and two IPv6 prefixes.
pub const PROVIDER_NETS: [&str; 3] = [
    "198.51.100.0/24",
    "2001:db8:1000::/48",
    "2001:db8:2000::/48",
];

/// A port running with its provider, after [`run_port`].
pub struct PortRun {
    /// The FRR 8.4 provider (AS 65002, 192.0.2.2 and 2001:db8::2).
    pub provider: Provider,
    /// The controller.
    pub h: RoutingHandler<RealEffects>,
    /// The controller's route sink.
    pub sink: Arc<CountingSink>,
    /// The status once everything was up.
    pub status: PortStatus,
}

/// Starts the provider and the controller with [`dual_stack_port`] (graceful restart at its
/// default, on) on `bgpd`, and checks what every
/// daemon must do: both sessions Established, the provider's routes in the sink (eBGP
/// distance, IPv4 and IPv6 gateways), the per-peer status (remote AS, prefixes received, sent
/// when the flavour reports it) and our networks learned by the provider over both families.
pub async fn run_port(lab: &Lab, bgpd: &PortBgpd, host_bgpd: &Path) -> PortRun {
    run_port_with(lab, bgpd, host_bgpd, &dual_stack_port("")).await
}

/// [`run_port`] with another `[[port]]` text for `p1`: a variant of [`dual_stack_port`] (same
/// addresses, AS, networks and peers), e.g. with peer keys added by
/// [`dual_stack_port_with`](super::ports::dual_stack_port_with).
pub async fn run_port_with(lab: &Lab, bgpd: &PortBgpd, host_bgpd: &Path, port: &str) -> PortRun {
    let ns = lab.provider_ns("up1", &["192.0.2.2/24", "2001:db8::2/64"]);
    let conf = provider_config(
        65002,
        "192.0.2.2",
        &[("192.0.2.1", 65001), ("2001:db8::1", 65001)],
        &PROVIDER_NETS.map(String::from),
    );
    let provider = Provider::start(host_bgpd, ns, "prov", &conf).await;

    let sink = Arc::new(CountingSink::default());
    let mut h = handler(sink.clone());
    let cfg = config(&format!("{}{port}", bgpd.controller(lab)));
    h.sweep(&cfg).await.unwrap();
    h.apply(&cfg).await;

    // The per-peer status (read from bgpd every second) catches up with the routes (which
    // arrive over zebra at once).
    let received = |s: &PortStatus, v6: bool| {
        s.peers
            .iter()
            .find(|p| p.address.is_ipv6() == v6)
            .and_then(|p| p.prefixes_received)
    };
    let s = wait_port(&h, "p1", 90, "both sessions up and all routes", |s| {
        // The status's installed count is sampled with the peers (it may lag the sink).
        established(s, 2)
            && has_routes(&sink.table, "p1", &PROVIDER_NETS)
            && installed(s) == PROVIDER_NETS.len() as u64
            && received(s, false) == Some(1)
            && received(s, true) == Some(2)
    })
    .await;
    assert!(s.config_applied && s.zebra_connected, "{s:#?}");
    let v4 = s.peers.iter().find(|p| p.address.is_ipv4()).unwrap();
    assert_eq!(v4.remote_as, Some(65002));
    assert_eq!(v4.prefixes_received, Some(1));
    let v6 = s.peers.iter().find(|p| p.address.is_ipv6()).unwrap();
    assert_eq!(v6.prefixes_received, Some(2));
    assert_eq!(
        v6.prefixes_sent.is_some(),
        bgpd.reports_prefixes_sent(),
        "{v6:#?}"
    );
    let routes = sink.table.routes("p1");
    let r4 = &routes[&"198.51.100.0/24".parse().unwrap()];
    assert_eq!(r4[0].gateway.unwrap().to_string(), "192.0.2.2");
    // Every daemon's route add carries eBGP's distance (FRR 10.3 numbers BGP routes 10, Quagga
    // and FRR 8.4 9: the distance does not depend on it).
    assert_eq!(r4[0].distance, 20);
    let r6 = &routes[&"2001:db8:1000::/48".parse().unwrap()];
    assert!(r6[0].gateway.unwrap().is_ipv6(), "{r6:?}");
    assert_eq!(s.routes.installed, Some(PROVIDER_NETS.len() as u64));
    assert_eq!(routes.len(), PROVIDER_NETS.len());

    // Our networks reach the provider over both families.
    assert!(
        wait_blocking(60, || {
            provider
                .learned_from("192.0.2.1")
                .contains("203.0.113.0/24")
                && provider
                    .learned_from("2001:db8::1")
                    .contains("2001:db8:100::/48")
        })
        .await,
        "provider did not learn our networks: {:?}",
        provider.learned_from("192.0.2.1")
    );
    PortRun {
        provider,
        h,
        sink,
        status: s,
    }
}

impl PortRun {
    /// kill -9 of the port's bgpd: waits until the supervisor has restarted it and the
    /// sessions and routes are back; returns that status.
    pub async fn kill9_and_recover(&self) -> PortStatus {
        let pid = self.status.bgpd_pid.unwrap();
        // SAFETY: kill(2) with a pid read from our own supervisor's status; no memory is
        // touched.
        assert_eq!(unsafe { libc::kill(pid as i32, libc::SIGKILL) }, 0);
        let s = wait_port(
            &self.h,
            "p1",
            90,
            "bgpd restarted with sessions and routes",
            |s| {
                s.bgpd_pid.is_some_and(|p| p != pid)
                    && established(s, 2)
                    && has_routes(&self.sink.table, "p1", &PROVIDER_NETS)
            },
        )
        .await;
        assert!(s.zebra_connected, "{s:#?}");
        s
    }

    /// The provider withdraws 198.51.100.0/24: waits until it has left the table and the
    /// other routes stayed.
    pub async fn provider_withdraws_one(&self) {
        self.provider.configure(&[
            "router bgp 65002",
            "address-family ipv4 unicast",
            "no network 198.51.100.0/24",
        ]);
        wait_port(&self.h, "p1", 60, "the withdrawn prefix gone", |_| {
            !has_routes(&self.sink.table, "p1", &["198.51.100.0/24"])
                && has_routes(&self.sink.table, "p1", &PROVIDER_NETS[1..])
        })
        .await;
    }

    /// Shuts the controller down: every route withdrawn, nothing left behind.
    pub async fn shutdown(self, lab: &Lab) {
        self.h.shutdown().await;
        assert!(self.sink.table.is_empty());
        assert!(leftovers(lab).is_empty(), "{:?}", leftovers(lab));
    }
}

/// A LAN namespace with a bridge joining the host's uplink `up1` and one provider namespace per
/// address (`prov` in each, with `addr/24` and, when given, `addr6/64`).
pub fn lan(lab: &Lab, addrs: &[(&str, Option<&str>)]) -> (TestNs, Vec<TestNs>) {
    let lan = TestNs::new("elan").unwrap();
    lan.ip(&["link", "add", "br0", "type", "bridge"]).unwrap();
    veth_between(&lab.host, "up1", &lan, "h0").unwrap();
    lan.ip(&["link", "set", "h0", "master", "br0"]).unwrap();
    let mut out = Vec::new();
    for (i, (addr, addr6)) in addrs.iter().enumerate() {
        let ns = TestNs::new("eprov").unwrap();
        let lan_if = format!("p{i}");
        veth_between(&lan, &lan_if, &ns, "prov").unwrap();
        lan.ip(&["link", "set", &lan_if, "master", "br0"]).unwrap();
        ns.add_addr("prov", &format!("{addr}/24")).unwrap();
        if let Some(a6) = addr6 {
            ns.add_addr("prov", &format!("{a6}/64")).unwrap();
        }
        out.push(ns);
    }
    lan.ip(&["link", "set", "br0", "up"]).unwrap();
    (lan, out)
}
