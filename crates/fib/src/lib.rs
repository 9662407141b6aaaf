//! Kernel FIB writer: installs learned routes into a Linux routing table over rtnetlink.
//!
//! - Routes go to one table id (or a VRF device's table) in a chosen namespace (the process's
//!   own by default), marked with protocol `bgp` (186) and one metric, so
//!   `ip route show table T proto bgp` shows exactly ours.
//! - ECMP path sets become multipath routes; each [`NextHop`] names its gateway, interface and
//!   `onlink` flag. IPv4 and IPv6 (an IPv6 gateway of an IPv4 route is sent as `RTA_VIA`).
//! - [`Fib::flush`] writes queued changes in batches: many requests per `sendmsg`, the kernel
//!   acknowledging the last one and answering each refused one with an error that is mapped
//!   back to its route ([`RouteFailure`]). Changes of one prefix between flushes are coalesced.
//! - A path change replaces the route in place; a withdraw deletes it; a prefix we never
//!   installed is only ever created exclusively, and deletes name our table, protocol and
//!   metric (IPv6 ones our next hops too), so a route we did not install (another protocol,
//!   another table) is never touched. Each flush deletes first, highest prefix first: the
//!   kernel deletes a dense block of IPv4 prefixes in quadratic time from its lowest prefix up.
//! - A single-path route (a gateway of its family on an interface) points at a kernel nexthop
//!   object shared by every route through that next hop (`RTA_NH_ID`, Linux 5.3+), created
//!   before its first route and deleted after its last ([`objects`]; off with
//!   [`FibConfig::nexthop_objects`]): the kernel then builds no next-hop info per route.
//! - The kernel removes routes with their device (and nexthop objects with its carrier) without
//!   saying so route by route: [`Fib::watch_links`] hears the link changes, [`Fib::link_events`]
//!   says when to re-read the table and sends the routes the kernel refused again once the link
//!   is back, and [`Fib::restore`] queues again what the kernel dropped ([`watch`]).
//! - After a crash: [`Fib::begin_reconcile`] finds our routes of the earlier run and keeps them
//!   (stale) so traffic keeps flowing; re-learned ones are kept or replaced; [`Fib::end_reconcile`]
//!   deletes those never re-learned.
//!
//! The planning logic ([`plan::Planner`]) and the netlink encoding ([`wire`]) are sans-I/O and
//! tested without sockets. A [`Fib`] blocks on the kernel: drive it from a dedicated thread.
//!
//! ```no_run
//! use fib::{Fib, FibConfig, NextHop, TableSpec};
//! # fn main() -> Result<(), fib::FibError> {
//! let mut fib = Fib::open(&FibConfig {
//!     table: TableSpec::Id(100),
//!     namespace: Some("mnb-lab".into()),
//!     ..FibConfig::default()
//! })?;
//! let found = fib.begin_reconcile()?; // routes of ours left by an earlier run stay in place
//! let uplink = fib.ifindex("eth0")?.unwrap_or(0);
//! fib.replace(
//!     "203.0.113.0/24".parse().unwrap(),
//!     vec![NextHop::onlink("192.0.2.1".parse().unwrap(), uplink)],
//! );
//! let report = fib.flush()?;
//! for failure in &report.failures {
//!     eprintln!("{failure}");
//! }
//! let swept = fib.end_reconcile()?; // once the peers have re-sent their routes
//! println!("{found} found, {} created, {} swept", report.created, swept.deleted);
//! # Ok(()) }
//! ```
//!
//! Routes are described with plain types, checked without the kernel:
//!
//! ```
//! use fib::{canonical, next_hops, NextHop};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! assert_eq!(canonical("192.0.2.7/24".parse()?).to_string(), "192.0.2.0/24");
//! let a = NextHop::onlink("192.0.2.1".parse()?, 2);
//! let b = NextHop::onlink("192.0.2.9".parse()?, 2);
//! // Sorted and deduplicated: the same set, however the paths arrived.
//! assert_eq!(next_hops(vec![b, a, b]), next_hops(vec![a, b]));
//! # Ok(()) }
//! ```

mod error;
mod fib;
pub mod intern;
pub mod objects;
pub mod plan;
pub mod prefix_list;
pub mod prefix_map;
mod socket;
mod types;
pub mod watch;
pub mod wire;

pub use error::{FibError, Result};
pub use fib::{Fib, LinkOutcome};
pub use plan::{FlushReport, OpKind, RouteFailure};
pub use types::{
    canonical, next_hops, FibConfig, FibRoute, NextHop, NextHops, TableSpec, DEFAULT_METRIC,
    RTPROT_BGP,
};
