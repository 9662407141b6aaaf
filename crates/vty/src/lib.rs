//! Async client for FRR bgpd's Vty (the telnet-style configuration port, TCP 2605).
//!
//! - [`Vty`]: logs in (telnet option bytes stripped, `Password:`, `enable` with an optional
//!   enable password, `terminal length 0`), runs commands with [`Vty::exec`] and turns bgpd's
//!   `% …` replies into [`VtyError::Rejected`] naming the command, recognises prompts in every
//!   mode from the hostname learned at login, and treats timeouts and connection loss as errors
//!   that leave the session unusable (reconnecting is the caller's choice).
//! - Batch apply ([`Vty::batch`], [`Vty::configure`]): many lines written in one go, the replies
//!   read back in order, every line's fate reported ([`BatchReport`]).
//! - Typed configuration ([`BgpConfig`], [`config`]): every value validated at construction so
//!   no field can inject a newline, a second command, a `?` or a control character; [`diff`]
//!   yields the minimal command list between two configurations.
//! - Structured reads ([`status`]): `show bgp summary json` / `show bgp neighbors json` parsed
//!   into typed structs.
//!
//! The protocol logic ([`telnet`], [`prompt`], [`config`], [`status`]) is sans-I/O.
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use vty::config::{Asn, Neighbor, Timers};
//! use vty::{diff, BatchOptions, BgpConfig, Vty, VtyOptions};
//!
//! let opts = VtyOptions { password: Some("zebra".into()), ..Default::default() };
//! let mut vty = Vty::connect("127.0.0.1:2605".parse()?, &opts).await?;
//!
//! let mut old = BgpConfig::new(Asn::new(64512)?);
//! old.add_neighbor(Neighbor::new("192.0.2.2".parse()?, Asn::new(64513)?));
//! old.add_network("198.51.100.0/24".parse()?);
//! vty.configure(&old.commands(), &BatchOptions::default()).await?.into_result()?;
//!
//! // Only the timer line is sent; the session stays up.
//! let mut new = old.clone();
//! if let Some(n) = new.neighbors.values_mut().next() {
//!     n.timers = Some(Timers::new(10, 30)?);
//! }
//! vty.configure(&diff(&old, &new), &BatchOptions::default()).await?.into_result()?;
//!
//! for (peer, p) in vty.bgp_summary().await?.ipv4_unicast.map(|f| f.peers).unwrap_or_default() {
//!     println!("{peer}: {} ({} prefixes received)", p.state, p.pfx_rcd);
//! }
//! println!("{}", vty.running_config().await?);
//! vty.close().await?;
//! # Ok(())
//! # }
//! ```
//!
//! The typed configuration and its diffs need no bgpd:
//!
//! ```
//! use vty::config::{Asn, Neighbor, Timers};
//! use vty::{diff, render_lines, BgpConfig};
//!
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let mut old = BgpConfig::new(Asn::new(64512)?);
//! old.add_neighbor(Neighbor::new("192.0.2.2".parse()?, Asn::new(64513)?));
//! let full = render_lines(&old.commands());
//! assert!(full.iter().any(|l| l.contains("neighbor 192.0.2.2 remote-as 64513")), "{full:?}");
//!
//! let mut new = old.clone();
//! if let Some(n) = new.neighbors.values_mut().next() {
//!     n.timers = Some(Timers::new(10, 30)?);
//! }
//! let changed = render_lines(&diff(&old, &new));
//! assert!(changed.iter().any(|l| l.contains("neighbor 192.0.2.2 timers 10 30")), "{changed:?}");
//! assert!(!changed.iter().any(|l| l.contains("remote-as")), "{changed:?}");
//! # Ok(()) }
//! ```

mod batch;
mod client;
pub mod config;
mod error;
pub mod flavour;
pub mod prompt;
pub mod redact;
pub mod status;
pub mod status_text;
pub mod telnet;

pub use batch::{BatchOptions, BatchPolicy, BatchReport, LineOutcome, LineReport, Rejection};
pub use client::{validate_line, Vty, VtyOptions, DEFAULT_MAX_OUTPUT, MAX_LINE_LEN};
pub use config::{
    diff, diff_for, render_lines, AddressFamily, Afi, BgpConfig, Command, ConfigError, Neighbor,
    Node,
};
pub use error::{LineError, VtyError};
pub use flavour::{Flavour, Unsupported};
pub use prompt::Mode;
pub use redact::{redact, Redacted};
pub use status::{BgpSummary, FamilySummary, NeighborStatus, PeerState, PeerSummary};
