//! The crate's error type.

use std::io;
use std::path::PathBuf;

/// Why a netlink request failed, without exposing netlink types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{detail}{}", errno.map(|e| format!(" (errno {e})")).unwrap_or_default())]
pub struct NetlinkFailure {
    /// The positive errno the kernel answered with, if it answered with one.
    pub errno: Option<i32>,
    /// A human-readable description (the kernel's error text or the transport failure).
    pub detail: String,
}

impl NetlinkFailure {
    /// True when the kernel answered `EEXIST`.
    pub fn is_exists(&self) -> bool {
        self.errno == Some(libc::EEXIST)
    }

    /// True when the kernel answered `ENODEV` / `ENOENT` / `ESRCH` (the object is absent).
    pub fn is_absent(&self) -> bool {
        matches!(
            self.errno,
            Some(libc::ENODEV | libc::ENOENT | libc::ESRCH | libc::EADDRNOTAVAIL)
        )
    }
}

/// Everything that can go wrong in this crate. Each variant names the object concerned.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum NetnsError {
    /// A namespace, interface or bridge name is not acceptable.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The rejected name.
        name: String,
        /// Why it is rejected.
        reason: &'static str,
    },
    /// `NetNs::create` found the namespace already present.
    #[error("network namespace {name:?} already exists")]
    AlreadyExists {
        /// The namespace name.
        name: String,
    },
    /// The namespace does not exist.
    #[error("network namespace {name:?} does not exist")]
    NotFound {
        /// The namespace name.
        name: String,
    },
    /// A file under the namespace directory is not a mounted network namespace.
    #[error("{path} is not a network namespace (stale file or foreign mount)")]
    NotANamespace {
        /// The offending file.
        path: PathBuf,
    },
    /// A system call or file operation failed.
    #[error("{op} {object}: {source}")]
    Os {
        /// What was attempted (e.g. "mount", "setns", "unshare").
        op: &'static str,
        /// The object it was attempted on (a path, a namespace or an interface name).
        object: String,
        /// The OS error.
        #[source]
        source: io::Error,
    },
    /// A netlink request failed.
    #[error("netlink {op} {object}: {source}")]
    Netlink {
        /// The request (e.g. "add veth", "set address").
        op: &'static str,
        /// The object (interface, address or route) concerned.
        object: String,
        /// What the kernel or the transport said.
        #[source]
        source: NetlinkFailure,
    },
    /// An object with one of our names exists but is not what we would have created.
    #[error("{object} is in the way: {found}")]
    Conflict {
        /// The name (and namespace) of the object.
        object: String,
        /// What was found instead.
        found: String,
    },
    /// A container specification is inconsistent.
    #[error("invalid container spec: {field}: {reason}")]
    InvalidSpec {
        /// The field at fault.
        field: &'static str,
        /// Why it is rejected.
        reason: String,
    },
    /// A helper thread died before answering (it panicked or could not start).
    #[error("helper thread for {object} failed: {reason}")]
    Thread {
        /// The namespace or connection the thread served.
        object: String,
        /// What happened.
        reason: &'static str,
    },
}

impl NetnsError {
    pub(crate) fn os(op: &'static str, object: impl std::fmt::Display, source: io::Error) -> Self {
        NetnsError::Os {
            op,
            object: object.to_string(),
            source,
        }
    }

    pub(crate) fn errno(
        op: &'static str,
        object: impl std::fmt::Display,
        errno: nix::errno::Errno,
    ) -> Self {
        NetnsError::os(op, object, io::Error::from_raw_os_error(errno as i32))
    }
}

/// Result alias used throughout the crate.
pub type Result<T, E = NetnsError> = std::result::Result<T, E>;
