//! Supervision of FRR bgpd inside a network namespace: start, readiness, restart with backoff,
//! stop — and never lose track of the process.
//!
//! One [`Supervisor`] runs one bgpd (one per BGP port) inside that port's network namespace:
//!
//! - **Launch**: the child enters the namespace (`setns` in `pre_exec`, on a namespace fd opened
//!   before the fork), leads its own process group, and gets `PR_SET_PDEATHSIG = SIGKILL`, so it
//!   dies with us. Its stdout/stderr go to `tracing` (target `bgpd::output`).
//! - **Readiness**: bgpd is [`BgpdEvent::Ready`] when its Vty accepts a login (retried with
//!   short growing pauses up to a deadline, never a fixed sleep).
//! - **Death** is noticed at once (the child is awaited, not polled) and bgpd is restarted with
//!   exponential backoff and jitter ([`BackoffPolicy`], 100 ms → 30 s by default), reset after a
//!   stable run; too many failures within a window end in [`BgpdEvent::GaveUp`] with a
//!   [`CrashReport`] (last exit status, tail of bgpd's log). Supervision keeps working after any
//!   number of restarts.
//! - **Stop**: SIGTERM to the process group, bounded wait, SIGKILL, then every process still in
//!   the namespace is killed and the pid file removed.
//! - **Adoption**: a bgpd left over by an earlier run of ours (pid file, or found in the
//!   namespace) is killed before the first launch, after checking that it runs the bgpd binary
//!   and lives in that namespace. Unrelated processes are never touched.
//!
//! The embedder re-applies bgpd's configuration over the Vty on **every** `Ready`.
//!
//! ```no_run
//! use bgpd::{BgpdEvent, BgpdSpec, ConfigFile, Supervisor};
//!
//! # async fn demo() -> Result<(), bgpd::BgpdError> {
//! let config = ConfigFile::Managed {
//!     path: "/etc/midonet-bgp/bgpd.conf".into(),
//!     hostname: "midonet".into(),
//!     log_file: None,
//! };
//! let spec = BgpdSpec::new("bgp-1a2b3c4", "/run/midonet-bgp/bgp-1a2b3c4", config, "vty-secret");
//! let (supervisor, mut events) = Supervisor::start(spec)?;
//! while let Some(event) = events.recv().await {
//!     match event {
//!         BgpdEvent::Ready { pid } => println!("bgpd {pid} ready: apply the configuration now"),
//!         BgpdEvent::GaveUp { reason } => {
//!             eprintln!("bgpd cannot run: {reason}");
//!             break;
//!         }
//!         other => println!("{other:?}"),
//!     }
//! }
//! supervisor.stop().await
//! # }
//! ```
//!
//! What the supervisor will run is visible before anything starts:
//!
//! ```
//! use bgpd::{BgpdSpec, ConfigFile, ZebraSocket};
//!
//! let config = ConfigFile::Managed {
//!     path: "/run/midonet-bgp/port0/bgpd.conf".into(),
//!     hostname: "port0".into(),
//!     log_file: None,
//! };
//! let mut spec = BgpdSpec::new("mnb-port0", "/run/midonet-bgp/port0", config, "secret");
//! spec.zebra = ZebraSocket::Path("/run/midonet-bgp/port0/zserv.api".into());
//! let args: Vec<String> = spec.args().iter().map(|a| a.to_string_lossy().into_owned()).collect();
//! // Its own zebra socket, pid file and vtysh directory: nothing shared with a host FRR.
//! for pair in [
//!     ["-z", "/run/midonet-bgp/port0/zserv.api"],
//!     ["-i", "/run/midonet-bgp/port0/bgpd.pid"],
//!     ["--vty_socket", "/run/midonet-bgp/port0"],
//! ] {
//!     assert!(args.windows(2).any(|w| w == pair), "{pair:?} not in {args:?}");
//! }
//! ```

mod backoff;
mod error;
mod events;
mod files;
mod launch;
mod machine;
mod procfs;
mod readiness;
mod secret;
mod spec;
mod supervisor;
pub mod version;

pub use backoff::{Backoff, BackoffPolicy, Decision, GiveUpPolicy};
pub use error::BgpdError;
pub use events::{BgpdEvent, CrashReport, ExitInfo, Failure, StartFailure};
pub use secret::Secret;
pub use spec::{
    BgpdSpec, ConfigFile, ReadinessPolicy, VtyReach, ZebraSocket, BINARY_CANDIDATES,
    DEFAULT_VTY_PORT,
};
pub use supervisor::{Supervisor, EVENT_CAPACITY};
