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
//! ```
//! use std::sync::Arc;
//! use routing::{config::Config, fake::FakeEffects, RoutingHandler, TableSink};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! # tokio::runtime::Builder::new_current_thread().enable_all().build()?.block_on(async {
//! // Usually `Config::load(Path::new("/etc/midonet-bgp.toml"))`.
//! let config = Config::parse(r#"
//!     [[port]]
//!     name = "uplink1"
//!     uplink = "eth1"
//!     address = "192.0.2.1/24"
//!     local_as = 65001
//!     [[port.peer]]
//!     address = "192.0.2.2"
//!     remote_as = 65002
//! "#)?;
//! let sink = Arc::new(TableSink::new());
//! // `real::RealEffects::new()` in a controller; the fake one needs neither root nor bgpd.
//! let mut handler = RoutingHandler::new(FakeEffects::new(), sink.clone());
//! let report = handler.apply(&config).await;
//! assert_eq!(report.added, ["uplink1"]);
//! for port in handler.status().await {
//!     println!("{}: {:?}, {} routes", port.name, port.phase, port.routes.accepted);
//! }
//! handler.shutdown().await;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! # })
//! # }
//! ```

mod actor;
pub mod announce;
pub mod bgpconf;
pub mod config;
pub mod effects;
pub mod fake;
mod handler;
pub mod kernel;
pub mod metrics;
pub mod plan;
pub mod real;
pub mod sink;
mod types;

pub use announce::{AnnounceError, Announcement, Community};
/// What the bgpd supervisor reports (the `bgpd` crate's events, used as they are).
pub use bgpd::BgpdEvent;
pub use effects::{
    BgpdControl, ContainerFacts, EffectError, Effects, PortPlan, Step, VtySession, ZebraControl,
    ZebraFeed,
};
pub use handler::{ApplyReport, RoutingHandler};
pub use metrics::{FlowCounters, FlowDirection, PortCounters, SessionResets};
pub use sink::{
    ChannelSink, Installed, RouteCursor, RoutePage, RouteQuery, RouteRow, RouteSink, SinkEvent,
    TableSink, TeeSink,
};
pub use types::{
    PeerStatus, PortPhase, PortStatus, RouteChange, RouteCounts, RoutePath, RouteStats, ZebraEvent,
};
