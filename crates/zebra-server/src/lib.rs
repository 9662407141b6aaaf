//! A Zebra protocol (ZAPI) server that one bgpd connects to.
//!
//! bgpd (FRR 8.4, or Quagga 0.99/1.x) talks to "zebra" over a Unix socket. This crate *is* that
//! zebra for a controller that owns the forwarding plane itself:
//!
//! - it announces the interfaces bgpd should see (name, ifindex, MAC, MTU, flags, addresses
//!   with their real prefix lengths) and a router id, and re-announces changes as diffs;
//! - it answers nexthop tracking the way zebra does — against the connected subnets of
//!   operative interfaces and the extra routes the embedder gives (e.g. a default route, or a
//!   blackhole for an aggregate), honouring `connected` and `resolve_via_default`, and naming
//!   the matching prefix so bgpd's `network` import check sees exact matches — immediately on
//!   registration and again whenever an answer changes (FRR 8.4 bgpd opens no session and uses
//!   no route without these answers);
//! - it turns the routes bgpd installs into [`RouteEvent::Replace`] (the full ECMP path set)
//!   and [`RouteEvent::Withdraw`], IPv4 and IPv6, and withdraws every route of a connection
//!   when it goes away (optionally after a grace period, for graceful restart);
//! - it accepts and ignores what it does not serve (BFD, label manager, redistribution, client
//!   capabilities, …), logs unknown commands once, and closes a connection that sends a
//!   malformed frame while serving the others.
//!
//! The protocol logic is the sans-I/O [`ServerCore`] (usable on its own); [`ZebraServer`] runs
//! it with tokio on a socket it creates safely (stale socket removed, mode 0600/0660, private
//! directory). Buffers are bounded everywhere; no input makes it panic.
//!
//! ```no_run
//! use zebra_server::{ExtraRoute, Interface, RouteEvent, ServerConfig, ServerEvent, ZebraServer};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let mut cfg = ServerConfig::new("/run/midonet-bgp/port0/zserv.api");
//! cfg.interfaces = vec![
//!     Interface::loopback(1, vec!["127.0.0.1/8".parse()?]),
//!     Interface::ethernet("bgp0_m", 2, [2, 0, 0, 0, 0, 1], 1500, vec!["192.0.2.1/24".parse()?]),
//! ];
//! cfg.router_id = Some("192.0.2.1".parse()?);
//! // Let `network 203.0.113.0/24` pass bgpd's import check.
//! cfg.extra_routes = vec![ExtraRoute::blackhole("203.0.113.0/24".parse()?)];
//! let (server, mut events) = ZebraServer::start(cfg).await?;
//! // Start bgpd with `-z /run/midonet-bgp/port0/zserv.api`, then:
//! while let Some(ev) = events.recv().await {
//!     match ev {
//!         ServerEvent::Route(RouteEvent::Replace { prefix, paths }) => {
//!             println!("{prefix}: {paths:?}")
//!         }
//!         ServerEvent::Route(RouteEvent::Withdraw { prefix }) => println!("{prefix} gone"),
//!         _ => {}
//!     }
//! }
//! server.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Serving the socket needs no bgpd (here a plain client connects where bgpd would):
//!
//! ```
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! let dir = std::env::temp_dir().join(format!("zebra-server-doc-{}", std::process::id()));
//! std::fs::create_dir_all(&dir)?;
//! let socket = dir.join("zserv.api");
//! let (server, _events) = zebra_server::ZebraServer::start(zebra_server::ServerConfig::new(
//!     socket.clone(),
//! ))
//! .await?;
//! let _client = tokio::net::UnixStream::connect(&socket).await?;
//! server.shutdown().await;
//! std::fs::remove_dir_all(&dir)?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```

mod blocks;
mod coalesce;
pub mod core;
mod counters;
mod error;
mod events;
mod fasthash;
mod gr;
pub mod nht;
mod reader;
mod routes;
mod server;
mod socket;
mod types;
mod wire;

pub use crate::coalesce::{BGPD_READ_COALESCE, COALESCE_MIN_ROUTES};
pub use crate::core::{CoreConfig, NhtRegistration, Output, Reply, Request, ServerCore};
pub use crate::counters::MessageStats;
pub use crate::error::ServerError;
pub use crate::events::EventReceiver;
pub use crate::gr::{Family, GrMessage, SweepCause, MAX_STALE_TIME};
pub use crate::nht::{ResolvedNexthop, ResolvedRoute};
pub use crate::reader::{Decoded, FrameReader, RouteSummary, READ_TRACE_TARGET};
pub use crate::server::{ServerConfig, ZebraServer, MAX_WITHDRAW_GRACE};
pub use crate::types::{
    iff, ClientId, CloseReason, ExtraNexthop, ExtraRoute, ExtraRouteKind, Interface, RouteEvent,
    RoutePath, RouteStats, ServerEvent,
};
/// The protocol profile a client speaks (the codec's, re-exported).
pub use zebra_proto::Profile;
