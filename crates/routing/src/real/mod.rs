//! [`Effects`] over the project's crates: `netns` containers, the `zebra-server`, `datapath`'s
//! tc flows, the `bgpd` supervisor and the `vty` client.
//!
//! Everything is derived from the [`PortPlan`] (which carries the controller settings), so a
//! reload that changes the host-side namespace or the run directory needs no new `RealEffects`.

mod secrets;
mod status;
mod zebra;

use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use datapath::Datapath;
use tokio::sync::mpsc;
use tracing::{debug, info, warn};

use crate::config::ControllerConfig;
use crate::effects::{
    BgpdControl, ContainerFacts, EffectError, Effects, PortPlan, Step, VtySession,
};
use crate::types::PeerStatus;
use bgpd::BgpdEvent;

pub use zebra::{RealZebra, RealZebraEvents};

/// The real side effects. Cheap to create; keeps one tc handle per host-side namespace.
#[derive(Default)]
pub struct RealEffects {
    datapaths: Mutex<Vec<(Option<String>, Arc<datapath::TcDatapath>)>>,
    /// The Zebra profile and flavour of each bgpd binary, detected once (`bgpd::version`).
    profiles: Mutex<Vec<(std::path::PathBuf, zebra_server::Profile, vty::Flavour)>>,
    /// The Vty secrets of each running bgpd.
    secrets: secrets::SecretStore,
}

impl std::fmt::Debug for RealEffects {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealEffects").finish_non_exhaustive()
    }
}

impl RealEffects {
    /// New real effects.
    pub fn new() -> RealEffects {
        RealEffects::default()
    }

    fn datapath(
        &self,
        host: &Option<String>,
        port: &str,
    ) -> Result<Arc<datapath::TcDatapath>, EffectError> {
        let mut dps = self.datapaths.lock().unwrap_or_else(|p| p.into_inner());
        if let Some((_, dp)) = dps.iter().find(|(h, _)| h == host) {
            return Ok(dp.clone());
        }
        let dp = Arc::new(
            datapath::TcDatapath::new(host.as_deref())
                .map_err(|e| EffectError::new(Step::Flows, port, e))?,
        );
        dps.push((host.clone(), dp.clone()));
        Ok(dp)
    }

    /// The Zebra profile and flavour for `plan`'s bgpd: `BGPD --version` mapped by
    /// `bgpd::version` (once per binary); an unsupported version fails the port with the
    /// version found and the ones supported.
    async fn detected(
        &self,
        plan: &PortPlan,
    ) -> Result<(zebra_server::Profile, vty::Flavour), EffectError> {
        let binary = &plan.controller.bgpd_path;
        {
            let known = self.profiles.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, p, f)) = known.iter().find(|(b, _, _)| b == binary) {
                return Ok((*p, *f));
            }
        }
        let detected = bgpd::version::detect(binary)
            .await
            .map_err(|e| EffectError::new(Step::Zebra, &plan.port.name, e))?;
        info!(
            bgpd = %binary.display(),
            version = %detected.version,
            profile = %detected.profile,
            "bgpd version detected"
        );
        let flavour = detected.flavour();
        let mut known = self.profiles.lock().unwrap_or_else(|p| p.into_inner());
        known.push((binary.clone(), detected.profile, flavour));
        Ok((detected.profile, flavour))
    }
}

fn remove_file(path: &std::path::Path) {
    match std::fs::remove_file(path) {
        Ok(()) => debug!(path = %path.display(), "removed"),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
        Err(e) => warn!(path = %path.display(), error = %e, "cannot remove"),
    }
}

/// A supervised bgpd.
#[derive(Debug)]
pub struct RealBgpd {
    supervisor: bgpd::Supervisor,
}

impl BgpdControl for RealBgpd {
    fn pid(&self) -> Option<u32> {
        self.supervisor.pid()
    }
    fn restarts(&self) -> u32 {
        self.supervisor.restarts()
    }
}

/// A logged-in Vty session.
pub struct RealVty {
    vty: vty::Vty,
    port: String,
    flavour: vty::Flavour,
}

impl std::fmt::Debug for RealVty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RealVty")
            .field("port", &self.port)
            .field("flavour", &self.flavour)
            .finish()
    }
}

impl VtySession for RealVty {
    async fn apply(&mut self, commands: &[vty::Command]) -> Result<(), EffectError> {
        let report = self
            .vty
            .configure(commands, &vty::BatchOptions::default())
            .await
            .map_err(|e| EffectError::new(Step::Vty, &self.port, e))?;
        match report.into_result() {
            Ok(_) => Ok(()),
            Err(e) => {
                // Back to enable mode so the next batch starts from a known place.
                let _ = self.vty.exec("end").await;
                Err(EffectError::new(Step::Vty, &self.port, e).rejected())
            }
        }
    }

    fn flavour(&self) -> vty::Flavour {
        self.flavour
    }

    async fn read_peers(&mut self) -> Result<Vec<PeerStatus>, EffectError> {
        let mut outputs = Vec::new();
        for cmd in self.flavour.summary_commands() {
            let text = self
                .vty
                .exec(cmd)
                .await
                .map_err(|e| EffectError::new(Step::Vty, &self.port, e))?;
            outputs.push(text);
        }
        let outputs: Vec<&str> = outputs.iter().map(String::as_str).collect();
        let mut peers = status::parse_summary(&self.flavour, &outputs)
            .map_err(|e| EffectError::new(Step::Vty, &self.port, e).rejected())?;
        if self.flavour.has_json_status() && status::needs_reset_reasons(&peers) {
            // Only while a session is down: the per-neighbor output is large.
            let text = self
                .vty
                .exec("show bgp neighbors json")
                .await
                .map_err(|e| EffectError::new(Step::Vty, &self.port, e))?;
            status::add_reset_reasons(&mut peers, &text)
                .map_err(|e| EffectError::new(Step::Vty, &self.port, e).rejected())?;
        }
        Ok(peers)
    }

    async fn close(self) {
        let _ = self.vty.close().await;
    }
}

impl Effects for RealEffects {
    type Container = netns::Container;
    type Zebra = RealZebra;
    type ZebraEvents = RealZebraEvents;
    type Bgpd = RealBgpd;
    type Vty = RealVty;

    async fn sweep(
        &self,
        controller: &ControllerConfig,
        ports: &[String],
    ) -> Result<Vec<String>, EffectError> {
        let host = match &controller.host_namespace {
            Some(n) => {
                Some(netns::NetNs::open(n).map_err(|e| EffectError::new(Step::Sweep, "*", e))?)
            }
            None => None,
        };
        let report = netns::sweep(&controller.prefix, host.as_ref())
            .await
            .map_err(|e| EffectError::new(Step::Sweep, "*", e))?;
        let mut gone: Vec<String> = report.namespaces.clone();
        // Flows left on the uplinks by a crashed run. A group is named after its port's
        // namespace, so the groups to remove are those of the configured ports and those of
        // every namespace just swept (ports removed from the configuration while the controller
        // was down); `remove` finds a group's filters on whatever link they are.
        let dp = self.datapath(&controller.host_namespace, "*")?;
        let groups: std::collections::BTreeSet<&str> = ports
            .iter()
            .chain(report.namespaces.iter())
            .map(String::as_str)
            .collect();
        for group in groups {
            if let Err(e) = dp.remove(group).await {
                warn!(%group, error = %e, "removing leftover flows");
            }
        }
        gone.extend(report.links.iter().cloned());
        gone.extend(report.killed_pids.iter().map(|p| format!("pid {p}")));
        // Sockets and pid files of a crashed run.
        if let Ok(dir) = std::fs::read_dir(&controller.run_dir) {
            let prefix = format!("{}-", controller.prefix);
            for entry in dir.flatten() {
                let name = entry.file_name().to_string_lossy().into_owned();
                let ours = (name.starts_with("zebra-") && name.ends_with(".sock"))
                    || (name.starts_with("bgpd-") && name.ends_with(".pid"))
                    || name.starts_with(&prefix);
                if ours {
                    let p = entry.path();
                    if p.is_dir() {
                        let _ = std::fs::remove_dir_all(&p);
                    } else {
                        remove_file(&p);
                    }
                    gone.push(p.display().to_string());
                }
            }
        }
        Ok(gone)
    }

    async fn create_container(
        &self,
        plan: &PortPlan,
    ) -> Result<(netns::Container, ContainerFacts), EffectError> {
        let name = &plan.port.name;
        let spec = plan.container_spec();
        let c = netns::Container::apply(&spec)
            .await
            .map_err(|e| EffectError::new(Step::Container, name, e))?;
        let inside = c
            .veth(&plan.links.datapath_host)
            .map(|v| v.inside.clone())
            .ok_or_else(|| {
                EffectError::new(Step::Container, name, "the datapath veth was not built")
            })?;
        let mut addresses = inside.addresses.clone();
        if plan.port.address6.is_some() {
            // bgpd needs the interface's link-local address for IPv6 next hops; the kernel adds
            // it shortly after the link comes up.
            match link_local(c.netns(), inside.index).await {
                Some(ll) if !addresses.contains(&ll) => addresses.push(ll),
                Some(_) => {}
                None => warn!(port = %name, "no IPv6 link-local address on the datapath link"),
            }
        }
        let facts = ContainerFacts {
            namespace: plan.namespace.clone(),
            datapath_host: plan.links.datapath_host.clone(),
            datapath_inside: inside.name.clone(),
            datapath_inside_ifindex: inside.index,
            mac: Some(inside.mac),
            mtu: inside.mtu,
            addresses,
            vty_addr: plan.vty_addr(),
        };
        info!(port = %name, namespace = %facts.namespace, "container ready");
        Ok((c, facts))
    }

    async fn destroy_container(
        &self,
        plan: &PortPlan,
        container: Option<netns::Container>,
    ) -> Result<(), EffectError> {
        let name = &plan.port.name;
        let result = match container {
            Some(c) => c.teardown().await,
            None => plan.container_spec().remove().await,
        };
        remove_file(&plan.zebra_socket);
        remove_file(&plan.pid_file);
        remove_file(&plan.bgpd_config);
        // bgpd's vtysh socket directory.
        let vty_dir = plan.controller.run_dir.join(&plan.namespace);
        if vty_dir.is_dir() {
            if let Err(e) = std::fs::remove_dir_all(&vty_dir) {
                warn!(path = %vty_dir.display(), error = %e, "cannot remove");
            }
        }
        result.map_err(|e| EffectError::new(Step::Container, name, e))
    }

    async fn start_zebra(
        &self,
        plan: &PortPlan,
        facts: &ContainerFacts,
    ) -> Result<(RealZebra, RealZebraEvents), EffectError> {
        let (profile, _) = self.detected(plan).await?;
        zebra::start(plan, facts, profile).await
    }

    async fn stop_zebra(&self, z: RealZebra) {
        z.stop().await;
    }

    fn zebra_messages(&self, z: &RealZebra) -> zebra_server::MessageStats {
        z.message_stats()
    }

    async fn install_flows(
        &self,
        plan: &PortPlan,
        facts: &ContainerFacts,
    ) -> Result<(), EffectError> {
        let name = &plan.port.name;
        let dp = self.datapath(&plan.controller.host_namespace, name)?;
        let local: Vec<IpAddr> = plan.port.addresses().iter().map(|a| a.ip()).collect();
        let peers = plan.port.peer_addresses();
        let flows = datapath::bgp_flows(&plan.port.uplink, &facts.datapath_host, &local, &peers);
        let report = dp
            .install(&plan.namespace, &flows)
            .await
            .map_err(|e| EffectError::new(Step::Flows, name, e))?;
        debug!(port = %name, ?report, "flows installed");
        Ok(())
    }

    async fn remove_flows(&self, plan: &PortPlan) -> Result<(), EffectError> {
        let name = &plan.port.name;
        let dp = self.datapath(&plan.controller.host_namespace, name)?;
        dp.remove(&plan.namespace)
            .await
            .map_err(|e| EffectError::new(Step::Flows, name, e))
    }

    async fn flow_counters(
        &self,
        plan: &PortPlan,
    ) -> Result<Vec<datapath::FlowStats>, EffectError> {
        let name = &plan.port.name;
        let dp = self.datapath(&plan.controller.host_namespace, name)?;
        dp.counters(&plan.namespace)
            .await
            .map_err(|e| EffectError::new(Step::Flows, name, e))
    }

    async fn start_bgpd(
        &self,
        plan: &PortPlan,
        facts: &ContainerFacts,
    ) -> Result<(RealBgpd, mpsc::Receiver<BgpdEvent>), EffectError> {
        let name = &plan.port.name;
        let c = &plan.controller;
        let run = c.run_dir.join(&plan.namespace);
        let config = bgpd::ConfigFile::Managed {
            path: plan.bgpd_config.clone(),
            hostname: plan.namespace.clone(),
            log_file: None,
        };
        let secrets = self
            .secrets
            .start(&plan.namespace, c)
            .map_err(|e| EffectError::new(Step::Bgpd, name, e))?;
        let mut spec = bgpd::BgpdSpec::new(plan.namespace.clone(), &run, config, secrets.password);
        spec.enable_password = Some(secrets.enable);
        // Only the controller's end of the Vty link may open a Vty session.
        spec.vty_allow = Some(plan.vty_host_addr.ip());
        spec.binary = Some(c.bgpd_path.clone());
        spec.flavour = self.detected(plan).await?.1;
        spec.zebra = bgpd::ZebraSocket::Path(plan.zebra_socket.clone());
        spec.vty_addr = facts.vty_addr;
        // The readiness check logs in like the controller: from the host side of the Vty link.
        spec.vty_reach = match &c.host_namespace {
            None => bgpd::VtyReach::CurrentNamespace,
            Some(h) => bgpd::VtyReach::Namespace(h.clone()),
        };
        spec.pid_file = plan.pid_file.clone();
        spec.log_file = Some(plan.port.log_file.as_str().into());
        // bgpd restarts follow the controller's backoff settings too.
        spec.backoff.initial = c.restart_backoff_initial;
        spec.backoff.max = c.restart_backoff_max.max(c.restart_backoff_initial);
        // The supervisor's own events go straight to the actor.
        let (supervisor, events) =
            bgpd::Supervisor::start(spec).map_err(|e| EffectError::new(Step::Bgpd, name, e))?;
        Ok((RealBgpd { supervisor }, events))
    }

    async fn stop_bgpd(&self, b: RealBgpd) {
        let ns = b.supervisor.netns().to_string();
        if let Err(e) = b.supervisor.stop().await {
            warn!(namespace = %ns, error = %e, "stopping bgpd");
        }
        self.secrets.forget(&ns);
    }

    async fn connect_vty(
        &self,
        plan: &PortPlan,
        facts: &ContainerFacts,
    ) -> Result<RealVty, EffectError> {
        let name = &plan.port.name;
        let secrets = self
            .secrets
            .get(&plan.namespace, &plan.controller)
            .ok_or_else(|| {
                EffectError::new(
                    Step::Vty,
                    name,
                    "no Vty secrets: bgpd was not started by this controller",
                )
            })?;
        let (_, flavour) = self.detected(plan).await?;
        let opts = vty::VtyOptions {
            password: Some(secrets.password.expose().to_string()),
            enable_password: Some(secrets.enable.expose().to_string()),
            timeout: Duration::from_secs(10),
        };
        let addr = facts.vty_addr;
        let vty = match &plan.controller.host_namespace {
            None => vty::Vty::connect(addr, &opts).await,
            Some(host) => {
                let stream = connect_in(host, addr)
                    .await
                    .map_err(|e| EffectError::new(Step::Vty, name, e))?;
                vty::Vty::login(stream, &opts).await
            }
        }
        .map_err(|e| EffectError::new(Step::Vty, name, e))?;
        Ok(RealVty {
            vty,
            port: name.clone(),
            flavour,
        })
    }
}

/// Waits (up to 5 s) for the IPv6 link-local address of interface `index` in `ns`.
async fn link_local(ns: &netns::NetNs, index: u32) -> Option<ipnetwork::IpNetwork> {
    let rtnl = netns::Rtnl::open(Some(ns)).await.ok()?;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        if let Ok(addrs) = rtnl.addresses(Some(index)).await {
            let ll = addrs.iter().find(|a| match a.network {
                ipnetwork::IpNetwork::V6(n) => n.ip().segments()[0] & 0xffc0 == 0xfe80,
                ipnetwork::IpNetwork::V4(_) => false,
            });
            if let Some(a) = ll {
                return Some(a.network);
            }
        }
        if tokio::time::Instant::now() >= deadline {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// Opens a TCP connection from inside namespace `ns` (the socket keeps that namespace).
async fn connect_in(ns: &str, addr: SocketAddr) -> std::io::Result<tokio::net::TcpStream> {
    let handle = netns::NetNs::open(ns).map_err(std::io::Error::other)?;
    let std_stream = handle
        .run_async(move || std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(5)))
        .await
        .map_err(std::io::Error::other)??;
    std_stream.set_nonblocking(true)?;
    tokio::net::TcpStream::from_std(std_stream)
}
