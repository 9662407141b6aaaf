//! A small network lab on one machine: named network namespaces, veth links between them and
//! real FRR `bgpd` processes inside them, all removed on drop — also after a panic or an early
//! error.
//!
//! Everything is built with the [`netns`] crate (netlink and namespace system calls); nothing
//! shells out to iproute2. `midonet-bgp demo` builds its lab with it, and the project's tests use
//! it through `testkit::lab`, which adds unique names and test conveniences.
//!
//! The API is blocking: each netlink request runs on the namespace's own netlink thread and the
//! caller waits for the answer. From async code, call it from `spawn_blocking` or
//! `block_in_place`.
//!
//! ```
//! # fn main() -> Result<(), lab::LabError> {
//! # // Namespaces need root (CI runs the doc tests as root); elsewhere the example is skipped.
//! # if unsafe { libc::geteuid() } != 0 { return Ok(()) }
//! let id = std::process::id();
//! let a = lab::LabNs::create(&format!("labdoc-a{id}"))?; // lo is up inside
//! let b = lab::LabNs::create(&format!("labdoc-b{id}"))?;
//! lab::veth_between(&a, "va", &b, "vb")?;
//! a.add_addr("va", "192.0.2.1/24")?;
//! b.add_addr("vb", "192.0.2.2/24")?;
//! assert!(a.link("va")?.up);
//! let addrs = b.addresses("vb")?;
//! assert!(addrs.iter().any(|x| x.network.to_string() == "192.0.2.2/24"), "{addrs:?}");
//! // Programs run inside with `a.command("ping")?.args(["-c1", "192.0.2.2"]).status()`.
//! let path = a.path().to_path_buf();
//! drop((a, b)); // both namespaces and the veth pair are removed
//! assert!(!path.exists());
//! # Ok(()) }
//! ```

mod bgpd;
mod ns;

pub use bgpd::{Bgpd, BgpdOptions};
pub use ns::{connect_tcp_in, remove_namespace, veth_between, wait_until, LabNs};

use std::path::PathBuf;

/// A lab step failed.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LabError {
    /// A namespace or netlink operation failed.
    #[error("{what}: {source}")]
    Netns {
        /// What was attempted (names the namespace and the object).
        what: String,
        /// The cause.
        #[source]
        source: netns::NetnsError,
    },
    /// An address could not be parsed.
    #[error("{text:?} is not an address with a prefix length (192.0.2.1/24, 2001:db8::1/64)")]
    BadAddress {
        /// The rejected text.
        text: String,
    },
    /// A link does not exist.
    #[error("no link {link} in namespace {namespace}")]
    NoSuchLink {
        /// The namespace.
        namespace: String,
        /// The link name.
        link: String,
    },
    /// A file or directory could not be written or read.
    #[error("{path}: {source}")]
    File {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// A program could not be started, or failed.
    #[error("{command}: {message}")]
    Command {
        /// The command line.
        command: String,
        /// Its error output, exit status or the spawn error.
        message: String,
    },
    /// A bgpd did not come up.
    #[error("bgpd in {namespace} did not start: {reason}")]
    BgpdStart {
        /// The namespace.
        namespace: String,
        /// Why (exit status and output, or a timeout).
        reason: String,
    },
}

impl LabError {
    pub(crate) fn netns(what: impl Into<String>) -> impl FnOnce(netns::NetnsError) -> LabError {
        let what = what.into();
        move |source| LabError::Netns { what, source }
    }
}
