//! Errors of the bgpd supervisor.

use std::path::PathBuf;

/// Everything that can go wrong when setting up, adopting or stopping bgpd.
///
/// Failures of bgpd itself (cannot launch, crashes, Vty never ready) are not errors: they are
/// reported as [`crate::BgpdEvent`]s and handled by the backoff.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BgpdError {
    /// No binary was given and none of the usual places has one.
    #[error("no bgpd binary found (looked at {candidates:?}); set BgpdSpec::binary")]
    BinaryNotFound {
        /// The paths tried.
        candidates: Vec<PathBuf>,
    },
    /// A field of the [`crate::BgpdSpec`] is unusable.
    #[error("invalid BgpdSpec::{field}: {reason}")]
    InvalidSpec {
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The namespace could not be opened or inspected.
    #[error("network namespace {name}: {source}")]
    Namespace {
        /// Its name.
        name: String,
        /// The cause.
        #[source]
        source: netns::NetnsError,
    },
    /// A file-system operation failed.
    #[error("cannot {action} {path}: {source}")]
    Io {
        /// What we tried to do ("create directory", "write", …).
        action: &'static str,
        /// On what.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// `Supervisor::start` was called outside a tokio runtime.
    #[error("Supervisor::start must be called inside a tokio runtime")]
    NoRuntime,
    /// The bgpd namespace is the namespace this process (or init) lives in: sweeping it would kill
    /// unrelated processes, so it is refused.
    #[error("refusing to kill processes in namespace {name}: it is this process's or init's own network namespace")]
    OwnNamespace {
        /// Its name.
        name: String,
    },
    /// The supervision task ended abnormally (panicked or was cancelled).
    #[error("bgpd supervision task for namespace {name} failed: {detail}")]
    Task {
        /// The namespace of the supervisor.
        name: String,
        /// What the runtime said.
        detail: String,
    },
}

impl BgpdError {
    pub(crate) fn io(
        action: &'static str,
        path: impl Into<PathBuf>,
        source: std::io::Error,
    ) -> BgpdError {
        BgpdError::Io {
            action,
            path: path.into(),
            source,
        }
    }
}
