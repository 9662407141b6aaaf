//! Async client for FRR bgpd's Vty (the telnet-style configuration port, TCP 2605).
//!
//! It logs in (telnet option bytes stripped, `Password:`, `enable`, `terminal length 0`), runs
//! commands and turns bgpd's `% …` replies into typed errors naming the command, recognises
//! prompts in every mode from the hostname learned at login, and treats timeouts and connection
//! loss as errors that leave the session unusable (reconnecting is the caller's choice).
//!
//! ```no_run
//! # async fn demo() -> Result<(), vty::VtyError> {
//! use vty::{Vty, VtyOptions};
//! let opts = VtyOptions { password: Some("zebra".into()), ..Default::default() };
//! let mut vty = Vty::connect("127.0.0.1:2605".parse().unwrap(), &opts).await?;
//! let config = vty.exec("show running-config").await?;
//! println!("{config}");
//! vty.close().await
//! # }
//! ```

mod batch;
mod client;
pub mod config;
mod error;
pub mod prompt;
pub mod status;
pub mod telnet;

pub use batch::{BatchOptions, BatchPolicy, BatchReport, LineOutcome, LineReport, Rejection};
pub use client::{validate_line, Vty, VtyOptions, DEFAULT_MAX_OUTPUT, MAX_LINE_LEN};
pub use config::{diff, render_lines, BgpConfig, Command, Neighbor};
pub use error::{LineError, VtyError};
pub use prompt::Mode;
pub use status::{BgpSummary, FamilySummary, NeighborStatus, PeerState, PeerSummary};
