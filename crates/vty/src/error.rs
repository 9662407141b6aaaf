//! Errors of the Vty client.

use std::net::SocketAddr;
use std::time::Duration;

use crate::redact::Redacted;

/// Why a command line was refused before anything was sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum LineError {
    /// The line is empty or only blanks.
    #[error("empty command line")]
    Empty,
    /// The line contains a control character (newline, carriage return, tab, NUL, DEL, …).
    #[error("control character 0x{byte:02x} at offset {offset}")]
    ControlCharacter {
        /// The offending byte.
        byte: u8,
        /// Its byte offset in the line.
        offset: usize,
    },
    /// The line contains `?`, which bgpd treats as a help request.
    #[error("'?' (help request) at offset {offset}")]
    HelpRequest {
        /// Its byte offset in the line.
        offset: usize,
    },
    /// The line contains a non-ASCII character (bgpd's parser is byte-oriented ASCII).
    #[error("non-ASCII character at offset {offset}")]
    NonAscii {
        /// Its byte offset in the line.
        offset: usize,
    },
    /// The line is longer than bgpd accepts.
    #[error("line is {len} bytes long, the limit is {max}")]
    TooLong {
        /// Length of the line.
        len: usize,
        /// The limit.
        max: usize,
    },
}

/// Errors of the Vty client. Every text a variant carries (command lines, replies) is
/// [`Redacted`]: no password argument reaches a log, a status or a stored error through it.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum VtyError {
    /// The TCP connection could not be made.
    #[error("cannot connect to the vty at {addr}: {source}")]
    Connect {
        /// Address tried.
        addr: SocketAddr,
        /// Cause.
        source: std::io::Error,
    },
    /// Reading or writing the connection failed.
    #[error("vty i/o error while {during}: {source}")]
    Io {
        /// What the client was doing (`login`, or the command line).
        during: Redacted,
        /// Cause.
        source: std::io::Error,
    },
    /// bgpd closed the connection.
    #[error("vty connection closed by bgpd while {during}; last text received: {last_text:?}")]
    ConnectionClosed {
        /// What the client was doing (`login`, or the command line).
        during: Redacted,
        /// The end of what was received before the close (at most 512 bytes).
        last_text: Redacted,
    },
    /// No reply (or no further byte of a reply) arrived in time.
    #[error("vty timeout after {after:?} of silence while {during}")]
    Timeout {
        /// What the client was doing (`login`, or the command line).
        during: Redacted,
        /// The configured timeout.
        after: Duration,
    },
    /// bgpd asked for a password but none was configured in [`crate::VtyOptions`].
    #[error("bgpd asks for a vty password but none is configured")]
    PasswordRequired,
    /// bgpd refused the login because it has no vty password configured (FRR refuses TCP vty
    /// logins without one).
    #[error("bgpd refuses vty logins: {message}")]
    LoginRefused {
        /// What bgpd said.
        message: Redacted,
    },
    /// The login password was rejected.
    #[error("vty password rejected")]
    WrongPassword,
    /// bgpd asked for an enable password but none was configured.
    #[error("bgpd asks for an enable password but none is configured")]
    EnablePasswordRequired,
    /// The enable password was rejected.
    #[error("enable password rejected")]
    WrongEnablePassword,
    /// bgpd rejected a command: its output had a `% ` error line (or a known failure text).
    #[error("bgpd rejected {command:?}: {message}")]
    Rejected {
        /// The command line sent.
        command: Redacted,
        /// bgpd's message (from the first error line to the end of the output).
        message: Redacted,
    },
    /// A command line was refused locally before sending.
    #[error("invalid command line {command:?}: {reason}")]
    InvalidLine {
        /// The line (with control characters escaped by Debug).
        command: Redacted,
        /// Why.
        reason: LineError,
    },
    /// The reply did not match the protocol (wrong echo, unexpected login text): the session is
    /// out of step and unusable.
    #[error("unexpected vty reply while {during}: {received:?}")]
    Unexpected {
        /// What the client was doing.
        during: Redacted,
        /// The start of what was received (at most 512 bytes).
        received: Redacted,
    },
    /// A reply grew beyond the configured output limit.
    #[error("reply to {command:?} exceeds {limit} bytes")]
    OutputTooLarge {
        /// The command line.
        command: Redacted,
        /// The limit in bytes.
        limit: usize,
    },
    /// A line of a batch was refused locally; nothing was sent.
    #[error("invalid line {index} of the batch {command:?}: {reason}")]
    InvalidBatchLine {
        /// Index of the line in the batch.
        index: usize,
        /// The line.
        command: Redacted,
        /// Why.
        reason: LineError,
    },
    /// bgpd rejected a line of a batch (see [`crate::BatchReport::into_result`]).
    #[error(
        "bgpd rejected line {index} of {total} {command:?}: {message}; after it {executed_after} \
         line(s) were executed ({rejected_after} of them rejected too) and {not_sent} not sent"
    )]
    BatchRejected {
        /// Index of the first rejected line.
        index: usize,
        /// The line.
        command: Redacted,
        /// bgpd's message.
        message: Redacted,
        /// Lines in the batch.
        total: usize,
        /// Lines after the rejected one that bgpd executed anyway.
        executed_after: usize,
        /// Of those, how many were rejected too.
        rejected_after: usize,
        /// Lines not sent.
        not_sent: usize,
    },
    /// An earlier failure (timeout, connection loss, protocol mismatch) left the session unusable;
    /// reconnect.
    #[error("vty session unusable after an earlier failure: {cause}")]
    SessionBroken {
        /// The earlier failure.
        cause: Redacted,
    },
    /// A JSON reply could not be parsed.
    #[error("cannot parse the JSON reply to {command:?}: {source}")]
    Json {
        /// The command line.
        command: Redacted,
        /// Cause.
        source: serde_json::Error,
    },
}
