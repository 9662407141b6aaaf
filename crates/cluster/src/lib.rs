//! Cluster mode on ZooKeeper (issue #18).
//!
//! Many hosts share one store; each BGP port lists candidate hosts, a per-port leader election
//! picks the one that runs it, and the leader publishes the routes its bgpd learned, chunked,
//! for any controller to follow with a [`RouteWatcher`].
//!
//! * [`layout`]: the znode layout under a configurable root, and `zk://` URLs.
//! * [`doc`]: the versioned JSON documents (`"schema": 1`) stored in the znodes; [`chunk`]:
//!   the route chunks' compact encoding (`"schema": 2`).
//! * [`Store`]: one-shot reads and writes for operators and SDN controllers (ports,
//!   announcements, hosts, status, routes).
//! * [`Member`]: a host's membership: liveness, elections, fencing, the [`Assignment`] of ports
//!   to run, status and route publication.
//! * [`RouteWatcher`]: follows every port's published routes with watches.
//! * [`table`]: the sans-I/O chunked route table the publisher writes.
//! * [`runs`]: per-port run records, which tell a takeover (the previous run did not stop
//!   cleanly: graceful restart's F bit) from a first start.
//!
//! # Why `zookeeper-client`
//!
//! It is a pure-Rust async client (no libzookeeper C library), maintained (0.11, 2025), speaks
//! ZooKeeper 3.5+ features the design needs — persistent recursive watches (one watch per
//! subtree instead of one per znode, re-registered on reconnect), `create2` with stats, and
//! pipelined requests (every call sends its request at once, so thousands of chunk reads or
//! writes are in flight together) — and it reports session states (`Disconnected`,
//! `SyncConnected`, `Expired`) that fencing is built on. The older `zookeeper` crate is
//! synchronous and `tokio-zookeeper` has neither persistent watches nor recent releases.
//! Its types stay inside this crate.
//!
//! Store URLs and the znode layout need no ZooKeeper:
//!
//! ```
//! use cluster::layout::{Layout, StoreUrl};
//! # fn main() -> Result<(), cluster::ClusterError> {
//! let url = StoreUrl::parse("zk://192.0.2.10:2181,192.0.2.11:2181/midonet-bgp")?;
//! assert_eq!(url.servers, "192.0.2.10:2181,192.0.2.11:2181");
//! let layout = Layout::new(&url.root)?;
//! assert!(layout.port("uplink1").starts_with("/midonet-bgp/"));
//! assert!(StoreUrl::parse("http://192.0.2.10/midonet-bgp").is_err());
//! # Ok(()) }
//! ```

pub mod chunk;
pub mod doc;
mod error;
mod fence;
pub mod layout;
mod member;
pub mod runs;
mod session;
mod store;
pub mod table;
mod watcher;

pub use doc::{
    AnnouncementDoc, HostDoc, HostState, PortDoc, PublishedPath, RouteChunk, RouteTable,
    RoutesMeta, StatusDoc, SCHEMA,
};
pub use error::{ClusterError, DocError, StoreError};
pub use layout::{Layout, StoreUrl};
pub use member::{AssignedPort, Assignment, Member, MemberConfig, Publisher, Validator};
pub use runs::{PreviousRun, RunDoc};
pub use store::{PortEntry, Store};
pub use table::TableChange;
pub use watcher::{RouteEvent, RouteWatcher};
