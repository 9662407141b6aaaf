//! Datapath flows that steer BGP traffic between the uplink and bgpd.
//!
//! MidoNet installed "wildcard flows that match [the BGP port] and route the traffic directly from
//! the uplink to BGP and vice versa". This crate provides:
//!
//! - a backend-neutral flow model ([`Flow`], [`FlowMatch`], [`Action`]): match on in-port,
//!   ethertype, IP protocol, IPv4/IPv6 source/destination prefix, TCP/UDP ports and ICMP/ICMPv6
//!   type; redirect to a port or drop;
//! - the [`Datapath`] trait: flows are installed in named groups (one per BGP port) that can be
//!   listed, counted and removed together; installing a group again changes only what differs;
//! - [`TcDatapath`], a Linux tc backend (ingress qdisc, u32 classifier, mirred redirect) programmed
//!   over rtnetlink, optionally inside another network namespace;
//! - [`MemoryDatapath`], an in-memory backend that evaluates packets against the flows;
//! - [`bgp_flows`], the standard BGP/ARP/ICMP/ND flow set between peers and the port address.
//!
//! ```
//! use datapath::{bgp_flows, Datapath, MemoryDatapath, Packet, Verdict};
//! # tokio::runtime::Builder::new_current_thread().build().unwrap().block_on(async {
//! let local = ["192.0.2.1".parse().unwrap()];
//! let peers = ["192.0.2.2".parse().unwrap()];
//! let flows = bgp_flows("uplink0", "bgp0", &local, &peers);
//! let dp = MemoryDatapath::new();
//! dp.install("port-1", &flows).await?;
//! let syn = Packet::tcp("uplink0", (peers[0], 40000), (local[0], 179), 74);
//! assert_eq!(dp.process(&syn), Verdict::Redirect { to: "bgp0".into(), group: "port-1".into() });
//! dp.remove("port-1").await?;
//! # Ok::<(), datapath::DatapathError>(())
//! # }).unwrap();
//! ```
//!
//! With the kernel backend the same calls program tc filters:
//! `let dp = TcDatapath::new(Some("host-ns"))?; dp.install("port-1", &flows).await?;`
//! (see `docs/datapath.md` for the tc encoding, IPv4 options, IPv6 extension headers and how
//! removal restores the interface).

use std::future::Future;
use std::pin::Pin;

mod bgp;
mod flow;
mod memory;
mod packet;
pub mod tc;

pub use bgp::{
    bgp_flows, solicited_node, FlowKind, BGP_PORT, ICMPV6_ECHO_REPLY, ICMPV6_ECHO_REQUEST,
    ICMPV6_NEIGHBOR_ADVERT, ICMPV6_NEIGHBOR_SOLICIT, ICMP_ECHO_REPLY, ICMP_ECHO_REQUEST,
};
pub use flow::{
    host_prefix, Action, EtherType, Flow, FlowError, FlowMatch, PortRef, ETH_P_ARP, ETH_P_IP,
    ETH_P_IPV6, IPPROTO_ICMP, IPPROTO_ICMPV6, IPPROTO_TCP, IPPROTO_UDP, MAX_IFNAME_LEN,
};
pub use memory::{MemoryDatapath, Verdict};
pub use packet::{Packet, PacketError};
pub use tc::TcDatapath;

/// The future a [`Datapath`] method returns (boxed so the trait can be used as `dyn Datapath`).
pub type DatapathFuture<'a, T> =
    Pin<Box<dyn Future<Output = Result<T, DatapathError>> + Send + 'a>>;

/// What an install changed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct InstallReport {
    /// Flows newly installed.
    pub added: usize,
    /// Flows removed because they are no longer wanted.
    pub removed: usize,
    /// Flows that were already installed and were left alone.
    pub unchanged: usize,
}

/// Packet and byte counters of one installed flow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlowStats {
    /// The flow.
    pub flow: Flow,
    /// Packets the flow matched.
    pub packets: u64,
    /// Bytes of those packets (tc counts from the network header; see `docs/datapath.md`).
    pub bytes: u64,
}

/// Sum of packets and bytes over a list of counters.
pub fn total(stats: &[FlowStats]) -> (u64, u64) {
    stats.iter().fold((0u64, 0u64), |(p, b), s| {
        (p.saturating_add(s.packets), b.saturating_add(s.bytes))
    })
}

/// A place flows can be installed in.
///
/// A group is a set of flows owned by one user (e.g. one BGP port). `install` replaces the group's
/// set with the given one, adding and removing only the flows that differ; installing the same set
/// twice changes nothing. `remove` deletes the whole group.
pub trait Datapath: Send + Sync {
    /// Makes `flows` the group's flow set.
    fn install<'a>(
        &'a self,
        group: &'a str,
        flows: &'a [Flow],
    ) -> DatapathFuture<'a, InstallReport>;
    /// Removes every flow of the group (a group that does not exist is already removed).
    fn remove<'a>(&'a self, group: &'a str) -> DatapathFuture<'a, ()>;
    /// The group's flows.
    fn list<'a>(&'a self, group: &'a str) -> DatapathFuture<'a, Vec<Flow>>;
    /// The group's flows with their packet and byte counters.
    fn counters<'a>(&'a self, group: &'a str) -> DatapathFuture<'a, Vec<FlowStats>>;
}

/// Errors of the datapath backends.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DatapathError {
    /// A flow of an install request is not valid.
    #[error("flow #{index} ({flow}) is invalid: {source}")]
    InvalidFlow {
        /// Position of the flow in the request.
        index: usize,
        /// The flow, formatted.
        flow: String,
        /// What is wrong.
        source: FlowError,
    },
    /// A port named by a flow does not exist.
    #[error("port {name:?} does not exist in the datapath's namespace")]
    NoSuchPort {
        /// The port name.
        name: String,
    },
    /// A netlink request failed.
    #[error("netlink {op} on {port} failed: {source}")]
    Netlink {
        /// The operation (e.g. "add filter").
        op: &'static str,
        /// The port (interface) concerned.
        port: String,
        /// What the kernel (its errno) or the transport said.
        source: netns::NetlinkFailure,
    },
    /// The namespace to program could not be opened.
    #[error("cannot open network namespace {namespace}: {source}")]
    Namespace {
        /// The namespace name.
        namespace: String,
        /// Why.
        source: netns::NetnsError,
    },
    /// The netlink socket could not be opened in the namespace.
    #[error("cannot open a netlink socket in namespace {namespace}: {source}")]
    Socket {
        /// The namespace (`current` when none was given).
        namespace: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// [`TcDatapath::new`] was called outside a tokio runtime.
    #[error("TcDatapath::new needs a tokio runtime")]
    NoRuntime,
    /// Every priority of the range this crate uses on a port is taken.
    #[error("no free tc priority left on port {port}")]
    PrioritiesExhausted {
        /// The port.
        port: String,
    },
    /// The kernel lacks a feature a flow needs.
    #[error("port {port}: {what} is not supported by the kernel")]
    Unsupported {
        /// The port.
        port: String,
        /// The missing feature.
        what: &'static str,
    },
    /// The kernel answered with a message this crate cannot interpret.
    #[error("unexpected kernel reply to {op} on {port}: {detail}")]
    UnexpectedReply {
        /// The operation.
        op: &'static str,
        /// The port.
        port: String,
        /// What was unexpected.
        detail: String,
    },
}

/// Validates flows and removes exact duplicates, keeping the first occurrence.
pub(crate) fn check_flows(flows: &[Flow]) -> Result<Vec<Flow>, DatapathError> {
    let mut out: Vec<Flow> = Vec::with_capacity(flows.len());
    for (index, flow) in flows.iter().enumerate() {
        flow.validate()
            .map_err(|source| DatapathError::InvalidFlow {
                index,
                flow: flow.to_string(),
                source,
            })?;
        if !out.contains(flow) {
            out.push(flow.clone());
        }
    }
    Ok(out)
}
