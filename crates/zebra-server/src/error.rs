//! Errors of the server.

use std::path::PathBuf;

/// Why the server could not start.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ServerError {
    /// A filesystem or socket operation failed.
    #[error("{op} {path}: {source}", path = .path.display())]
    Io {
        /// The operation.
        op: &'static str,
        /// The path involved.
        path: PathBuf,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The socket's directory is not ours alone.
    #[error(
        "socket directory {path} must be owned by us and writable by nobody else (uid {uid}, mode {mode:o})",
        path = .path.display()
    )]
    InsecureDirectory {
        /// The directory.
        path: PathBuf,
        /// Its owner.
        uid: u32,
        /// Its permission bits.
        mode: u32,
    },
    /// The socket's parent is not a directory.
    #[error("{path} is not a directory", path = .path.display())]
    NotADirectory {
        /// The path.
        path: PathBuf,
    },
    /// Something other than a socket exists at the socket path; it is left alone.
    #[error("{path} exists and is not a socket; refusing to replace it", path = .path.display())]
    NotASocket {
        /// The path.
        path: PathBuf,
    },
    /// The withdraw grace period is longer than [`crate::MAX_WITHDRAW_GRACE`].
    #[error("withdraw grace {grace:?} is longer than the most allowed, {max:?}")]
    GraceTooLong {
        /// The grace asked for.
        grace: std::time::Duration,
        /// The most allowed.
        max: std::time::Duration,
    },
}
