//! Network namespaces and the veth/bridge wiring of a container: a namespace linked to the host
//! side, with names and addresses chosen by the caller.
//!
//! - [`NetNs`]: named namespaces compatible with iproute2 (`/run/netns/NAME`, bind mounts under
//!   a shared `/run/netns`), so an operator can `ip netns exec NAME vtysh` into ours and we can
//!   open theirs. [`NetNs::run`] runs a closure on a dedicated OS thread inside the namespace;
//!   the caller's thread never changes namespace (nor does any tokio worker).
//! - [`Rtnl`]: an rtnetlink connection owned by a dedicated thread that entered a namespace;
//!   links (veth pairs with the peer created directly in another namespace, bridges), MAC, MTU,
//!   up/down, enslavement, addresses (IPv6 without DAD) and main-table routes, as plain types
//!   ([`Link`], [`Address`], [`Route`], [`MacAddr`]) — no netlink types in this API.
//! - [`ContainerSpec`] → [`Container::apply`]: builds, or fixes, a namespace with veth pairs
//!   from the host side ([`VethSpec`]: names, MAC, MTU, addresses), host-side bridges
//!   ([`BridgeSpec`]) and a default route ([`DefaultRoute`]); idempotent, reports each change as
//!   an [`Action`], and refuses foreign objects that carry the spec's names
//!   ([`NetnsError::Conflict`]). Every name and address is the caller's: naming schemes and
//!   what each link is for belong to the caller. [`Container::teardown`] /
//!   [`ContainerSpec::remove`] remove it, [`ContainerGuard`] removes it on drop, [`sweep`]
//!   removes what a crashed run left (everything named `<prefix>-…`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use netns::{BridgeSpec, Container, ContainerSpec, DefaultRoute, MacAddr, VethSpec};
//! let mut spec = ContainerSpec::new("mnb-4f6c9a1e");
//! // The link the workload uses, with the router port's MAC and addresses.
//! let mut port = VethSpec::new("mnb-4f6c9a1e", "mnb-4f6c9a1e_m");
//! port.mac = Some("02:00:5e:00:53:01".parse::<MacAddr>()?);
//! port.mtu = Some(1500);
//! port.addresses = vec!["192.0.2.10/24".parse()?, "2001:db8::10/64".parse()?];
//! // A management link to a host-side bridge, and the default route through it.
//! let mut mgmt = VethSpec::new("mnb-4f6c9a1e_v", "mnb-4f6c9a1e_vm");
//! mgmt.addresses = vec!["169.254.0.2/30".parse()?];
//! mgmt.bridge = Some(BridgeSpec {
//!     name: "mnb-4f6c9a1e_br".into(),
//!     addresses: vec!["169.254.0.1/30".parse()?],
//! });
//! spec.veths = vec![port, mgmt];
//! spec.default_route = Some(DefaultRoute {
//!     gateway: "169.254.0.1".parse()?,
//!     via: "mnb-4f6c9a1e_vm".into(),
//! });
//! netns::sweep("mnb", None).await?; // leftovers of a crashed run
//! let c = Container::apply(&spec).await?;
//! for v in c.veths() {
//!     println!("{} #{} -> {} #{}", v.host, v.host_index, v.inside.name, v.inside.index);
//! }
//! c.teardown().await?;
//! # Ok(()) }
//! ```
//!
//! The plain types check their input without touching the system:
//!
//! ```
//! # fn main() -> Result<(), netns::NetnsError> {
//! let mac: netns::MacAddr = "02:00:5e:00:53:01".parse()?;
//! assert!(mac.is_unicast());
//! assert_eq!(mac.to_string(), "02:00:5e:00:53:01");
//! assert!("02:00:5e:00:53".parse::<netns::MacAddr>().is_err());
//! netns::validate_ns_name("mnb-uplink1")?;
//! assert!(netns::validate_ns_name("../etc").is_err());
//! assert!(netns::validate_ifname("a-name-longer-than-15").is_err());
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
pub mod process;
mod rtnl;
mod spec;
mod sweep;
mod sys;
mod types;

pub use container::{Action, BuiltVeth, Container, ContainerGuard, InsideInterface};
pub use error::{NetlinkFailure, NetnsError, Result};
pub use ns::{
    delete, kill_processes_in, kill_processes_in_async, list, pids_in, validate_ns_name, NetNs,
    NetNsGuard, NETNS_RUN_DIR,
};
pub use rtnl::Rtnl;
pub use spec::{
    validate_prefix, BridgeSpec, ContainerSpec, DefaultRoute, VethSpec, MAX_PREFIX_LEN,
};
pub use sweep::{sweep, SweepReport};
pub use types::{validate_ifname, Address, Link, MacAddr, Route, VethEnd};
