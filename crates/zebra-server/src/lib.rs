//! A Zebra protocol (ZAPI) server that one bgpd connects to.
//!
//! It tells bgpd about interfaces, addresses and the router id, answers nexthop tracking the way
//! FRR's zebra does (connected subnets plus routes the embedder supplies), and turns the routes
//! bgpd installs into a stream of [`RouteEvent`]s.
//!
//! The protocol logic is the sans-I/O [`core::ServerCore`]; [`ZebraServer`] runs it on a Unix
//! socket with tokio.

pub mod core;
mod error;
mod fasthash;
pub mod nht;
mod routes;
mod server;
mod socket;
mod types;
mod wire;

pub use crate::core::{CoreConfig, NhtRegistration, Output, Reply, Request, ServerCore};
pub use crate::error::ServerError;
pub use crate::nht::{ResolvedNexthop, ResolvedRoute};
pub use crate::server::{ServerConfig, ZebraServer};
pub use crate::types::{
    iff, ClientId, CloseReason, ExtraNexthop, ExtraRoute, ExtraRouteKind, Interface, ProfileName,
    RouteEvent, RoutePath, ServerEvent,
};
