//! The side effects of a port actor, behind one small trait so the lifecycle logic is tested with
//! fakes; [`crate::real`] implements it over the project's crates.

use std::error::Error as StdError;
use std::future::Future;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;

use ipnetwork::{IpNetwork, Ipv4Network};
use tokio::sync::mpsc;

use crate::config::{ControllerConfig, MacAddr, PortConfig};
use crate::types::{BgpdEvent, PeerStatus, RouteStats, ZebraEvent};

/// Names of the links of one port.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LinkNames {
    /// Host side of the datapath veth (`NAME`).
    pub datapath_host: String,
    /// Namespace side of the datapath veth (`NAME_m`).
    pub datapath_inside: String,
    /// Host side of the Vty veth (`NAME_v`).
    pub vty_host: String,
    /// Namespace side of the Vty veth (`NAME_vm`).
    pub vty_inside: String,
    /// Bridge of the Vty veth (`NAME_br`).
    pub bridge: String,
}

impl LinkNames {
    /// Names derived from a base name (≤ 12 bytes).
    pub fn from_base(base: &str) -> LinkNames {
        LinkNames {
            datapath_host: base.to_string(),
            datapath_inside: format!("{base}_m"),
            vty_host: format!("{base}_v"),
            vty_inside: format!("{base}_vm"),
            bridge: format!("{base}_br"),
        }
    }
}

/// Everything needed to build and run one port: its configuration plus the names, addresses and
/// files derived from the controller settings and the port's slot.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PortPlan {
    /// The port's configuration.
    pub port: PortConfig,
    /// The controller's configuration.
    pub controller: ControllerConfig,
    /// Slot number (index of its /30 in the Vty range).
    pub slot: u32,
    /// Namespace name.
    pub namespace: String,
    /// Link names.
    pub links: LinkNames,
    /// Bridge address (host side of the Vty link), a /30.
    pub vty_host_addr: Ipv4Network,
    /// Namespace address of the Vty link, a /30.
    pub vty_ns_addr: Ipv4Network,
    /// Zebra Unix socket.
    pub zebra_socket: PathBuf,
    /// bgpd pid file.
    pub pid_file: PathBuf,
    /// bgpd's almost-empty startup configuration file.
    pub bgpd_config: PathBuf,
}

impl PortPlan {
    /// Derives the plan of `port` in `slot`. The configuration has been validated, so the slot's
    /// /30 fits in the Vty range when `slot` is below the range's capacity.
    pub fn new(controller: &ControllerConfig, port: &PortConfig, slot: u32) -> PortPlan {
        let base = u32::from(controller.vty_range.network()).wrapping_add(slot.wrapping_mul(4));
        let host = Ipv4Addr::from(base.wrapping_add(1));
        let ns = Ipv4Addr::from(base.wrapping_add(2));
        let to30 = |a: Ipv4Addr| {
            Ipv4Network::new(a, 30).unwrap_or_else(|_| Ipv4Network::from(Ipv4Addr::UNSPECIFIED))
        };
        let run = &controller.run_dir;
        PortPlan {
            port: port.clone(),
            controller: controller.clone(),
            slot,
            namespace: port.ifname.clone(),
            links: LinkNames::from_base(&port.ifname),
            vty_host_addr: to30(host),
            vty_ns_addr: to30(ns),
            zebra_socket: run.join(format!("zebra-{}.sock", port.name)),
            pid_file: run.join(format!("bgpd-{}.pid", port.name)),
            bgpd_config: run.join(format!("bgpd-{}.conf", port.name)),
        }
    }

    /// Where bgpd's Vty listens (namespace address, Vty port).
    pub fn vty_addr(&self) -> SocketAddr {
        SocketAddr::new(self.vty_ns_addr.ip().into(), self.controller.vty_port)
    }

    /// Whether going from `self` to `new` needs the port rebuilt (container, zebra, bgpd), as
    /// opposed to a Vty diff and maybe new flows.
    pub fn needs_rebuild(&self, new: &PortPlan) -> bool {
        let (a, b) = (&self.port, &new.port);
        self.namespace != new.namespace
            || self.links != new.links
            || self.vty_host_addr != new.vty_host_addr
            || self.zebra_socket != new.zebra_socket
            || self.controller != new.controller
            || a.uplink != b.uplink
            || a.address != b.address
            || a.address6 != b.address6
            || a.mac != b.mac
            || a.mtu != b.mtu
            || a.max_routes != b.max_routes
            || a.local_as != b.local_as
    }
}

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
    /// Sends configuration commands (from `configure terminal` to `end`) in order, failing on the
    /// first one bgpd rejects.
    fn apply(
        &mut self,
        commands: &[String],
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

    /// Installs (or updates to) the flows steering BGP between the uplink and bgpd.
    fn install_flows(
        &self,
        plan: &PortPlan,
        facts: &ContainerFacts,
    ) -> impl Future<Output = Result<(), EffectError>> + Send;
    /// Removes the port's flows.
    fn remove_flows(&self, plan: &PortPlan)
        -> impl Future<Output = Result<(), EffectError>> + Send;

    /// Starts supervising bgpd in the container.
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
