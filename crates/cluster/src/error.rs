//! Errors of the cluster crate. ZooKeeper's own error type stays inside: it is wrapped in the
//! opaque [`StoreError`].

use std::fmt;

/// Everything that can go wrong talking to the store or reading its documents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ClusterError {
    /// A `zk://` URL that cannot be used.
    #[error("invalid store URL {url:?}: {reason}")]
    Url {
        /// The URL as given.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A port, host or root name that the layout does not allow.
    #[error("invalid {kind} {name:?}: {reason}")]
    Name {
        /// `port name`, `host id` or `root`.
        kind: &'static str,
        /// The name as given.
        name: String,
        /// Why it is refused.
        reason: &'static str,
    },
    /// The session could not be established.
    #[error("cannot connect to ZooKeeper at {servers}: {source}")]
    Connect {
        /// The servers tried.
        servers: String,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// A ZooKeeper operation failed.
    #[error("ZooKeeper {op} {path}: {source}")]
    Store {
        /// The operation (`get`, `create`, ...).
        op: &'static str,
        /// The znode.
        path: String,
        /// Why.
        #[source]
        source: StoreError,
    },
    /// A znode holds a value this version cannot use.
    #[error("{path}: {source}")]
    Document {
        /// The znode.
        path: String,
        /// What is wrong with its value.
        #[source]
        source: DocError,
    },
    /// The host id is held by another live session.
    #[error("host id {0:?} is registered by another live session")]
    HostInUse(String),
    /// A compare-and-set lost against a concurrent writer too many times.
    #[error("{0}: concurrent updates, try again")]
    Contended(String),
    /// A value given by the caller is refused.
    #[error("{0}")]
    Invalid(String),
    /// The cluster member task has ended.
    #[error("the cluster member has stopped")]
    Stopped,
}

impl ClusterError {
    pub(crate) fn store(op: &'static str, path: &str, e: zookeeper_client::Error) -> ClusterError {
        ClusterError::Store {
            op,
            path: path.to_string(),
            source: StoreError(e),
        }
    }

    /// True when the failure comes from the connection or session (worth retrying once the
    /// session is back), not from the data.
    pub fn is_transient(&self) -> bool {
        match self {
            ClusterError::Store { source, .. } | ClusterError::Connect { source, .. } => {
                source.is_transient()
            }
            ClusterError::Contended(_) => true,
            _ => false,
        }
    }

    /// True when the operation failed because the znode does not exist.
    pub fn is_no_node(&self) -> bool {
        matches!(self, ClusterError::Store { source, .. } if source.0 == zookeeper_client::Error::NoNode)
    }
}

/// A ZooKeeper client error (opaque: the client library's types stay inside this crate).
#[derive(Debug, Clone)]
pub struct StoreError(pub(crate) zookeeper_client::Error);

impl StoreError {
    /// True for connection loss, timeouts and session expiry.
    pub fn is_transient(&self) -> bool {
        use zookeeper_client::Error as E;
        matches!(
            self.0,
            E::ConnectionLoss
                | E::Timeout
                | E::SessionExpired
                | E::ClientClosed
                | E::NoHosts
                | E::Throttled
                | E::SessionMoved
        )
    }
}

impl fmt::Display for StoreError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

impl std::error::Error for StoreError {}

/// Why a stored value was refused.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum DocError {
    /// Not JSON, or JSON of the wrong shape (unknown keys, wrong types).
    #[error("invalid JSON: {0}")]
    Json(#[from] serde_json::Error),
    /// Not a JSON object.
    #[error("the value is not a JSON object")]
    NotObject,
    /// The `schema` field is missing.
    #[error("no \"schema\" field")]
    NoSchema,
    /// A schema this version does not read.
    #[error("schema {found} is not supported (this version reads schema {supported})")]
    Schema {
        /// The value found.
        found: String,
        /// The one this version reads.
        supported: u32,
    },
    /// The document parses but breaks a rule of the layout.
    #[error("{0}")]
    Rule(String),
    /// One field of the document holds a value the layout does not allow.
    #[error("{field}: {reason}")]
    Field {
        /// Where, e.g. `groups[0].prefixes[17]`.
        field: String,
        /// What is wrong with it.
        reason: String,
    },
}
