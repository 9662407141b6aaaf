//! Network namespaces and the veth/bridge wiring of the bgpd container of one BGP port.
//!
//! - [`NetNs`]: named namespaces compatible with iproute2 (`/run/netns/NAME`, bind mounts under
//!   a shared `/run/netns`), so an operator can `ip netns exec NAME vtysh` into ours and we can
//!   open theirs. [`NetNs::run`] runs a closure on a dedicated OS thread inside the namespace;
//!   the caller's thread never changes namespace (nor does any tokio worker).
//! - [`Rtnl`]: an rtnetlink connection owned by a dedicated thread that entered a namespace;
//!   links (veth pairs with the peer created directly in another namespace, bridges), MAC, MTU,
//!   up/down, enslavement, addresses (IPv6 without DAD) and main-table routes, as plain types
//!   ([`Link`], [`Address`], [`Route`], [`MacAddr`]) — no netlink types in this API.
//! - [`ContainerSpec`] → [`Container::apply`]: builds, or fixes, the whole wiring of one BGP
//!   port (names from a prefix and the port id, Vty /30 from the port index); idempotent,
//!   reports each change as an [`Action`], and refuses foreign objects that carry our names
//!   ([`NetnsError::Conflict`]). [`Container::teardown`] / [`ContainerSpec::remove`] remove it,
//!   [`ContainerGuard`] removes it on drop, [`sweep`] removes what a crashed run left.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use netns::{Container, ContainerSpec, MacAddr};
//! let mut spec = ContainerSpec::new(
//!     "4f6c9a1e-8d2b-4c3a-9e5f-0a1b2c3d4e5f", // router port id
//!     0,                                      // port index on this host: Vty 169.254.0.0/30
//!     "02:00:5e:00:53:01".parse::<MacAddr>()?,
//!     vec!["192.0.2.10/24".parse()?, "2001:db8::10/64".parse()?],
//! );
//! spec.host_netns = None; // host side in our own namespace
//! netns::sweep(&spec.prefix, None).await?; // leftovers of a crashed run
//! let c = Container::apply(&spec).await?;
//! println!("bgpd in {} with its Vty on {}", c.netns().name(), c.vty_socket_addr());
//! println!("datapath port {} #{}", c.datapath_host_name(), c.datapath_host_index());
//! c.teardown().await?;
//! # Ok(()) }
//! ```
//!
//! Namespaces alone:
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
mod pidfd;
mod rtnl;
mod spec;
mod sweep;
mod sys;
mod types;

pub use container::{Action, Container, ContainerGuard, InsideInterface};
pub use error::{NetlinkFailure, NetnsError, Result};
pub use ns::{
    delete, kill_processes_in, kill_processes_in_async, list, pids_in, validate_ns_name, NetNs,
    NetNsGuard, NETNS_RUN_DIR,
};
pub use rtnl::Rtnl;
pub use spec::{
    default_vty_range, validate_prefix, vty_subnet, ContainerNames, ContainerSpec, VtyAddressing,
    DEFAULT_PREFIX, DEFAULT_VTY_PORT, MAX_PREFIX_LEN,
};
pub use sweep::{sweep, SweepReport};
pub use types::{validate_ifname, Address, Link, MacAddr, Route, VethEnd};
