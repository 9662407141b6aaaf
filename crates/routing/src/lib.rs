//! The RoutingHandler: one actor per BGP port composing container, zebra server, flows, bgpd and
//! Vty — MidoNet's RoutingHandler rebuilt for FRR.
//!
//! * [`config`]: the TOML configuration, validated whole (key paths in every error, injection-safe
//!   strings).
//! * [`bgpconf`]: what bgpd must be told, as typed Vty commands: full bootstrap and minimal
//!   diffs, rendered only by the Vty session.
//! * [`plan`]: every name, address and file of a port, derived once ([`PortPlan`]); the
//!   container spec handed to `netns` comes from it.
//! * [`RoutingHandler`]: starts, updates and stops one actor per port. Each actor builds the
//!   container → zebra server → flows → bgpd, bootstraps bgpd over the Vty on every `Ready`
//!   (so after every restart), follows configuration changes with minimal diffs (a rebuild only
//!   when the AS, addresses, MAC or links change), hands learned routes in batches to a
//!   [`RouteSink`], withdraws them when bgpd or its zebra session goes, and polls per-peer
//!   status.
//! * [`sink`]: the [`RouteSink`] contract, and [`TableSink`], the controller's one table of
//!   learned routes (listed page by page).
//! * [`Effects`]: every side effect, behind one trait; [`real::RealEffects`] implements it over
//!   the project's crates, [`fake::FakeEffects`] in memory for tests.
//!
//! ```no_run
//! use std::sync::Arc;
//! use routing::{config::Config, fake::FakeEffects, RoutingHandler, TableSink};
//!
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! let config = Config::load(std::path::Path::new("/etc/midonet-bgp.toml"))?;
//! let sink = Arc::new(TableSink::new());
//! let mut handler = RoutingHandler::new(FakeEffects::new(), sink.clone());
//! handler.apply(&config).await;
//! for port in handler.status().await {
//!     println!("{}: {:?}, {} routes", port.name, port.phase, port.routes.accepted);
//! }
//! handler.shutdown().await;
//! # Ok(()) }
//! ```

mod actor;
pub mod bgpconf;
pub mod config;
pub mod effects;
pub mod fake;
mod handler;
pub mod plan;
pub mod real;
pub mod sink;
mod types;

/// What the bgpd supervisor reports (the `bgpd` crate's events, used as they are).
pub use bgpd::BgpdEvent;
pub use effects::{
    BgpdControl, ContainerFacts, EffectError, Effects, PortPlan, Step, VtySession, ZebraControl,
    ZebraFeed,
};
pub use handler::{ApplyReport, RoutingHandler};
pub use sink::{
    ChannelSink, Installed, RouteCursor, RoutePage, RouteQuery, RouteRow, RouteSink, SinkEvent,
    TableSink,
};
pub use types::{
    PeerStatus, PortPhase, PortStatus, RouteChange, RouteCounts, RoutePath, RouteStats, ZebraEvent,
};
