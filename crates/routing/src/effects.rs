//! The side effects of a port actor, behind one small trait so the lifecycle logic is tested with
//! fakes; [`crate::real`] implements it over the project's crates.

use std::error::Error as StdError;
use std::future::Future;
use std::net::SocketAddr;

use bgpd::BgpdEvent;
use ipnetwork::IpNetwork;
use tokio::sync::mpsc;

use crate::config::{ControllerConfig, MacAddr};
pub use crate::plan::{LinkNames, PortPlan};
use crate::types::{PeerStatus, RouteStats, ZebraEvent};

/// What a built container looks like, for the zebra server, the flows and the Vty.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ContainerFacts {
    /// Namespace name.
    pub namespace: String,
    /// Host-side datapath link (where the uplink's BGP traffic is sent).
    pub datapath_host: String,
    /// Interface bgpd sees (namespace side of the datapath link).
    pub datapath_inside: String,
    /// Its interface index inside the namespace.
    pub datapath_inside_ifindex: u32,
    /// Its MAC address.
    pub mac: Option<MacAddr>,
    /// Its MTU.
    pub mtu: u32,
    /// Its addresses with their real prefix lengths.
    pub addresses: Vec<IpNetwork>,
    /// Where bgpd's Vty listens.
    pub vty_addr: SocketAddr,
}

/// Which step a side effect belongs to.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum Step {
    /// Namespace, veths, bridge, addresses.
    Container,
    /// Zebra server.
    Zebra,
    /// Datapath flows.
    Flows,
    /// bgpd supervisor.
    Bgpd,
    /// Vty connection or command.
    Vty,
    /// Removal of leftovers.
    Sweep,
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Step::Container => "container",
            Step::Zebra => "zebra server",
            Step::Flows => "datapath flows",
            Step::Bgpd => "bgpd",
            Step::Vty => "vty",
            Step::Sweep => "sweep",
        })
    }
}

/// A failed side effect.
#[derive(Debug, thiserror::Error)]
#[error("{step} of port {port}: {source}")]
pub struct EffectError {
    /// The step.
    pub step: Step,
    /// The port.
    pub port: String,
    /// Whether bgpd refused a command (as opposed to the connection failing).
    pub rejected: bool,
    /// The underlying error.
    #[source]
    pub source: Box<dyn StdError + Send + Sync>,
}

impl EffectError {
    /// Wraps an error of `step` for `port`.
    pub fn new(
        step: Step,
        port: &str,
        source: impl Into<Box<dyn StdError + Send + Sync>>,
    ) -> EffectError {
        EffectError {
            step,
            port: port.to_string(),
            rejected: false,
            source: source.into(),
        }
    }

    /// Marks the error as a command bgpd rejected.
    pub fn rejected(mut self) -> EffectError {
        self.rejected = true;
        self
    }
}

/// Control of a running bgpd supervisor.
pub trait BgpdControl: Send + 'static {
    /// Current pid.
    fn pid(&self) -> Option<u32>;
    /// Restarts so far.
    fn restarts(&self) -> u32;
}

/// A running zebra server, as the port actor sees it.
pub trait ZebraControl: Send + 'static {
    /// Its route counters (cheap; never waits for the server).
    fn route_stats(&self) -> RouteStats;
}

/// The events of a running zebra server, a batch at a time.
pub trait ZebraFeed: Send + 'static {
    /// Appends the next events to `out` (waiting for at least one) and returns how many; 0
    /// once the server has stopped. Cancel-safe: a call that does not complete loses nothing.
    fn recv_batch(&mut self, out: &mut Vec<ZebraEvent>) -> impl Future<Output = usize> + Send;
}

/// A channel of single events is a feed (the fake's): a batch is every event already queued,
/// up to 1,024.
impl ZebraFeed for mpsc::Receiver<ZebraEvent> {
    async fn recv_batch(&mut self, out: &mut Vec<ZebraEvent>) -> usize {
        let Some(first) = self.recv().await else {
            return 0;
        };
        out.push(first);
        let mut n = 1;
        while n < 1024 {
            match self.try_recv() {
                Ok(ev) => out.push(ev),
                Err(_) => break,
            }
            n += 1;
        }
        n
    }
}

/// One Vty session to a bgpd.
pub trait VtySession: Send + 'static {
    /// What the bgpd behind the session supports; configuration is rendered for it.
    fn flavour(&self) -> vty::Flavour {
        vty::Flavour::FRR
    }
    /// Applies typed configuration commands (from [`vty::diff`] or [`vty::BgpConfig::commands`])
    /// in order, failing on the first one bgpd rejects. The session renders them, with the
    /// `configure terminal` / node navigation / `end` around them; nothing is sent for none.
    fn apply(
        &mut self,
        commands: &[vty::Command],
    ) -> impl Future<Output = Result<(), EffectError>> + Send;
    /// Reads every neighbor's state.
    fn read_peers(&mut self) -> impl Future<Output = Result<Vec<PeerStatus>, EffectError>> + Send;
    /// Closes the session.
    fn close(self) -> impl Future<Output = ()> + Send;
}

/// The side effects of the RoutingHandler.
pub trait Effects: Send + Sync + 'static {
    /// A built container.
    type Container: Send + 'static;
    /// A running zebra server.
    type Zebra: ZebraControl;
    /// Its events.
    type ZebraEvents: ZebraFeed;
    /// A running bgpd supervisor.
    type Bgpd: BgpdControl;
    /// A Vty session.
    type Vty: VtySession;

    /// Removes leftovers of an earlier run (namespaces, links, processes, sockets) that belong to
    /// this controller's naming scheme, and the flows of the named ports (their base names).
    fn sweep(
        &self,
        controller: &ControllerConfig,
        ports: &[String],
    ) -> impl Future<Output = Result<Vec<String>, EffectError>> + Send;

    /// Builds the namespace, veths, bridge and addresses.
    fn create_container(
        &self,
        plan: &PortPlan,
    ) -> impl Future<Output = Result<(Self::Container, ContainerFacts), EffectError>> + Send;
    /// Removes the container (by name too, if the handle is gone).
    fn destroy_container(
        &self,
        plan: &PortPlan,
        container: Option<Self::Container>,
    ) -> impl Future<Output = Result<(), EffectError>> + Send;

    /// Starts the zebra server on the plan's socket.
    fn start_zebra(
        &self,
        plan: &PortPlan,
        facts: &ContainerFacts,
    ) -> impl Future<Output = Result<(Self::Zebra, Self::ZebraEvents), EffectError>> + Send;
    /// Stops it and removes its socket.
    fn stop_zebra(&self, zebra: Self::Zebra) -> impl Future<Output = ()> + Send;
    /// The messages the running zebra server received from bgpd, by command, and the frames
    /// that did not decode (cheap; never waits for the server).
    fn zebra_messages(&self, zebra: &Self::Zebra) -> zebra_server::MessageStats;

    /// Installs (or updates to) the flows steering BGP between the uplink and bgpd.
    fn install_flows(
        &self,
        plan: &PortPlan,
        facts: &ContainerFacts,
    ) -> impl Future<Output = Result<(), EffectError>> + Send;
    /// Removes the port's flows.
    fn remove_flows(&self, plan: &PortPlan)
        -> impl Future<Output = Result<(), EffectError>> + Send;
    /// The port's flows with their packet and byte counters, as the datapath holds them.
    fn flow_counters(
        &self,
        plan: &PortPlan,
    ) -> impl Future<Output = Result<Vec<datapath::FlowStats>, EffectError>> + Send;

    /// Starts supervising bgpd in the container; its events are the supervisor's own.
    fn start_bgpd(
        &self,
        plan: &PortPlan,
        facts: &ContainerFacts,
    ) -> impl Future<Output = Result<(Self::Bgpd, mpsc::Receiver<BgpdEvent>), EffectError>> + Send;
    /// Stops bgpd (and its supervision).
    fn stop_bgpd(&self, bgpd: Self::Bgpd) -> impl Future<Output = ()> + Send;

    /// Opens a logged-in Vty session to the port's bgpd.
    fn connect_vty(
        &self,
        plan: &PortPlan,
        facts: &ContainerFacts,
    ) -> impl Future<Output = Result<Self::Vty, EffectError>> + Send;
}
