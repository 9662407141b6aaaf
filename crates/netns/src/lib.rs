//! Network namespaces and the veth/bridge wiring of the bgpd container of one BGP port.
//!
//! - [`NetNs`]: named namespaces compatible with iproute2 (`/run/netns/NAME`), so an operator can
//!   `ip netns exec NAME vtysh` into ours and we can open theirs. [`NetNs::run`] runs a closure on
//!   a dedicated OS thread inside the namespace; the caller's thread never changes namespace.
//!
//! ```no_run
//! # fn main() -> Result<(), netns::NetnsError> {
//! let ns = netns::NetNs::create("mnb-example")?;      // lo is up inside
//! // A socket made inside the namespace stays there, whatever thread later uses it.
//! let listener = ns.run(|| std::net::TcpListener::bind("127.0.0.1:0"))?;
//! println!("listening in {} on {:?}", ns.name(), listener.map(|l| l.local_addr()));
//! ns.delete()?;
//! # Ok(()) }
//! ```

mod container;
mod error;
mod ns;
mod rtnl;
mod spec;
mod sweep;
mod sys;
mod types;

pub use container::{Action, Container, ContainerGuard, InsideInterface};
pub use error::{NetlinkFailure, NetnsError, Result};
pub use ns::{
    delete, kill_processes_in, list, pids_in, validate_ns_name, NetNs, NetNsGuard, NETNS_RUN_DIR,
};
pub use rtnl::Rtnl;
pub use spec::{
    default_vty_range, validate_prefix, vty_subnet, ContainerNames, ContainerSpec, VtyAddressing,
    DEFAULT_PREFIX, DEFAULT_VTY_PORT, MAX_PREFIX_LEN,
};
pub use sweep::{sweep, SweepReport};
pub use types::{validate_ifname, Address, Link, MacAddr, Route, VethEnd};
