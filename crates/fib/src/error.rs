//! Errors of the FIB writer.

/// Why a FIB operation as a whole failed (refusals of single routes are
/// [`RouteFailure`](crate::RouteFailure)s in the [`FlushReport`](crate::FlushReport) instead).
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FibError {
    /// The namespace could not be opened or entered.
    #[error("namespace {name}: {source}")]
    Namespace {
        /// Its name.
        name: String,
        /// What went wrong.
        #[source]
        source: netns::NetnsError,
    },
    /// A socket operation failed.
    #[error("netlink {op} in {namespace}: {source}")]
    Io {
        /// What was being done.
        op: &'static str,
        /// The namespace.
        namespace: String,
        /// The error.
        #[source]
        source: std::io::Error,
    },
    /// The kernel answered something the writer could not decode.
    #[error("netlink answer in {namespace}: {source}")]
    Decode {
        /// The namespace.
        namespace: String,
        /// The decoding error.
        #[source]
        source: crate::wire::WireError,
    },
    /// The kernel refused a request that is not about one route (a dump, a link lookup).
    #[error("{op} in {namespace}: {}", std::io::Error::from_raw_os_error(*.errno))]
    Refused {
        /// What was asked.
        op: &'static str,
        /// The namespace.
        namespace: String,
        /// The errno.
        errno: i32,
    },
    /// The configured VRF device does not exist, or is not a VRF.
    #[error("{device} in {namespace} is not a VRF device")]
    NotVrf {
        /// The device name.
        device: String,
        /// The namespace.
        namespace: String,
    },
    /// Invalid table id (0 is `RT_TABLE_UNSPEC`, not a table).
    #[error("table id 0 is not a routing table (use 1..=4294967295)")]
    BadTable,
}

/// Result of FIB operations.
pub type Result<T> = std::result::Result<T, FibError>;
