//! The RoutingHandler: one [`PortActor`](crate::actor) per configured port, created, updated and
//! stopped as the configuration changes.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;
use tracing::info;

use ipnetwork::IpNetwork;

use crate::actor::{PortActor, PortCommand};
use crate::announce::{AnnounceError, Announcement};
use crate::config::{Config, ControllerConfig};
use crate::effects::{EffectError, Effects, PortPlan};
use crate::sink::RouteSink;
use crate::types::{PortPhase, PortStatus, RouteCounts};

struct PortHandle {
    plan: PortPlan,
    commands: mpsc::Sender<PortCommand>,
    task: JoinHandle<()>,
}

/// What [`RoutingHandler::apply`] did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ApplyReport {
    /// Ports started.
    pub added: Vec<String>,
    /// Ports stopped and removed.
    pub removed: Vec<String>,
    /// Ports given a new configuration.
    pub updated: Vec<String>,
    /// Ports whose configuration did not change.
    pub unchanged: Vec<String>,
}

/// Runs BGP for every configured port. Dropping it without [`RoutingHandler::shutdown`] leaves
/// the port actors to tear down on their own when their command channels close.
pub struct RoutingHandler<E: Effects> {
    env: Arc<E>,
    sink: Arc<dyn RouteSink>,
    controller: Option<ControllerConfig>,
    ports: BTreeMap<String, PortHandle>,
    /// Ports whose first bgpd restarts an earlier one (see [`RoutingHandler::assume_restart`]).
    restarting: BTreeSet<String>,
    /// Every new port's first bgpd is a restart (`assume_restart(None)`).
    restart_all: bool,
}

impl<E: Effects> RoutingHandler<E> {
    /// A handler with no ports, using `env` for side effects and giving learned routes to `sink`.
    pub fn new(env: E, sink: Arc<dyn RouteSink>) -> RoutingHandler<E> {
        RoutingHandler {
            env: Arc::new(env),
            sink,
            controller: None,
            ports: BTreeMap::new(),
            restarting: BTreeSet::new(),
            restart_all: false,
        }
    }

    /// The side-effect implementation.
    pub fn effects(&self) -> &E {
        &self.env
    }

    /// Removes leftovers of a crashed earlier run that match `config`'s naming scheme. Call once
    /// before the first [`RoutingHandler::apply`]. A configured port whose namespace was among
    /// them restarts: its first bgpd configures `preserve-fw-state` (the F bit), so that the
    /// peers that kept our routes through the crash keep them (graceful restart).
    pub async fn sweep(&mut self, config: &Config) -> Result<Vec<String>, EffectError> {
        let ports: Vec<String> = config.ports.iter().map(|p| p.ifname.clone()).collect();
        let gone = self.env.sweep(&config.controller, &ports).await?;
        for port in &config.ports {
            if gone.contains(&port.ifname) {
                self.restarting.insert(port.name.clone());
            }
        }
        Ok(gone)
    }

    /// Treats the first bgpd of port `name` (`None`: of every port started from now on) as a
    /// restart of an earlier one: it configures `preserve-fw-state`, and bgpd defers best-path
    /// selection until its peers sent End-of-RIB (graceful restart). Without it a port's first
    /// bgpd leaves the F bit out (nothing was forwarding for it), and every later bgpd of the
    /// port sets it.
    pub fn assume_restart(&mut self, name: Option<&str>) {
        match name {
            Some(n) => {
                self.restarting.insert(n.to_string());
            }
            None => self.restart_all = true,
        }
    }

    /// Makes the running ports match `config` (already validated as a whole): new ports are
    /// started, removed ones torn down, changed ones updated (minimal Vty changes, or a rebuild
    /// when the AS, addresses, MAC or link names change).
    pub async fn apply(&mut self, config: &Config) -> ApplyReport {
        let mut report = ApplyReport::default();
        if self.controller.as_ref() != Some(&config.controller) {
            // Every plan derives from the controller section: rebuild all ports.
            self.controller = Some(config.controller.clone());
        }
        let wanted: Vec<&str> = config.ports.iter().map(|p| p.name.as_str()).collect();
        let gone: Vec<String> = self
            .ports
            .keys()
            .filter(|n| !wanted.contains(&n.as_str()))
            .cloned()
            .collect();
        for name in gone {
            if let Some(h) = self.ports.remove(&name) {
                stop_port(h).await;
                info!(port = %name, "port removed");
                report.removed.push(name);
            }
        }
        for port in &config.ports {
            let slot = match self.ports.get(&port.name) {
                Some(h) => h.plan.slot,
                None => self.free_slot(),
            };
            let plan = PortPlan::new(&config.controller, port, slot);
            match self.ports.get_mut(&port.name) {
                Some(h) if h.plan == plan => report.unchanged.push(port.name.clone()),
                Some(h) => {
                    h.plan = plan.clone();
                    let _ = h.commands.send(PortCommand::Update(Box::new(plan))).await;
                    report.updated.push(port.name.clone());
                }
                None => {
                    let (tx, rx) = mpsc::channel(16);
                    let restarting = self.restart_all || self.restarting.remove(&port.name);
                    let actor = PortActor::new(
                        self.env.clone(),
                        self.sink.clone(),
                        plan.clone(),
                        restarting,
                    );
                    let task = tokio::spawn(actor.run(rx));
                    self.ports.insert(
                        port.name.clone(),
                        PortHandle {
                            plan,
                            commands: tx,
                            task,
                        },
                    );
                    report.added.push(port.name.clone());
                }
            }
        }
        report
    }

    fn free_slot(&self) -> u32 {
        let used: Vec<u32> = self.ports.values().map(|h| h.plan.slot).collect();
        (0..).find(|s| !used.contains(s)).unwrap_or(0)
    }

    /// Status of every port, in name order.
    pub async fn status(&self) -> Vec<PortStatus> {
        let mut out = Vec::new();
        for (name, h) in &self.ports {
            let (tx, rx) = oneshot::channel();
            let answered = h.commands.send(PortCommand::Status(tx)).await.is_ok();
            match (answered, rx.await) {
                (true, Ok(s)) => out.push(s),
                _ => out.push(PortStatus {
                    name: name.clone(),
                    phase: PortPhase::Stopped,
                    namespace: h.plan.namespace.clone(),
                    bgpd_pid: None,
                    bgpd_restarts: 0,
                    port_restarts: 0,
                    config_applied: false,
                    zebra_connected: false,
                    last_error: Some("port actor ended".into()),
                    peers: Vec::new(),
                    announced: Vec::new(),
                    routes: RouteCounts::default(),
                    counters: Default::default(),
                    flows: Vec::new(),
                }),
            }
        }
        out
    }

    /// Announces `announcement` from `port` at run time: a `network` line in its bgpd (with a
    /// route-map for communities and MED), kept across bgpd restarts and configuration reloads,
    /// listed in [`PortStatus::announced`], forgotten when the port is removed or the handler
    /// ends. A malformed prefix, an unknown port, a duplicate, a prefix of a family the port
    /// has no address or peer in, or one its policy forbids is refused and changes nothing.
    pub async fn announce(
        &self,
        port: &str,
        announcement: Announcement,
    ) -> Result<(), AnnounceError> {
        let h = self.port(port)?;
        let (tx, rx) = oneshot::channel();
        let gone = || AnnounceError::PortGone(port.to_string());
        h.commands
            .send(PortCommand::Announce(announcement, tx))
            .await
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    /// Withdraws the runtime announcement of `prefix` from `port` and returns it; one that is
    /// not announced at run time is refused and changes nothing.
    pub async fn withdraw(
        &self,
        port: &str,
        prefix: IpNetwork,
    ) -> Result<Announcement, AnnounceError> {
        let h = self.port(port)?;
        let (tx, rx) = oneshot::channel();
        let gone = || AnnounceError::PortGone(port.to_string());
        h.commands
            .send(PortCommand::Withdraw(prefix, tx))
            .await
            .map_err(|_| gone())?;
        rx.await.map_err(|_| gone())?
    }

    fn port(&self, name: &str) -> Result<&PortHandle, AnnounceError> {
        self.ports
            .get(name)
            .ok_or_else(|| AnnounceError::UnknownPort(name.to_string()))
    }

    /// Names of the running ports.
    pub fn port_names(&self) -> Vec<String> {
        self.ports.keys().cloned().collect()
    }

    /// Tears every port down (bgpd stopped, flows removed, routes withdrawn, namespaces and links
    /// deleted, sockets removed) and waits for it.
    pub async fn shutdown(mut self) {
        let ports = std::mem::take(&mut self.ports);
        let stops: Vec<_> = ports.into_values().map(stop_port).collect();
        futures::future::join_all(stops).await;
    }
}

async fn stop_port(h: PortHandle) {
    let (tx, rx) = oneshot::channel();
    if h.commands.send(PortCommand::Shutdown(tx)).await.is_ok() {
        let _ = rx.await;
    }
    let _ = h.task.await;
}
