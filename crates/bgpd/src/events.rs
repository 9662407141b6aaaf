//! What the supervisor tells its embedder.

use std::fmt;
use std::time::Duration;

/// One step of bgpd's life, sent on the supervisor's event channel.
///
/// The embedder re-applies bgpd's configuration (over the Vty) on **every** [`BgpdEvent::Ready`]:
/// a restarted bgpd starts from the almost-empty shared config file.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum BgpdEvent {
    /// A bgpd process is about to be launched.
    Starting,
    /// bgpd is running and its Vty accepted a login.
    Ready {
        /// Process id of bgpd (in the supervisor's pid namespace).
        pid: u32,
    },
    /// bgpd could not be brought up: the launch failed, or its Vty never accepted a login before
    /// the readiness deadline (it is then killed, and an [`BgpdEvent::Exited`] follows).
    StartFailed {
        /// What went wrong.
        cause: StartFailure,
    },
    /// The bgpd process ended (crash, kill, or killed by us after a failed readiness check).
    Exited {
        /// How it ended.
        status: ExitInfo,
    },
    /// bgpd will be launched again after `delay`.
    Restarting {
        /// 1 for the first restart after a stable run (or the first start), then 2, 3, … while
        /// failures keep coming.
        attempt: u32,
        /// Backoff delay before the next launch.
        delay: Duration,
    },
    /// Too many failures in a row: the supervisor stopped trying. No bgpd is running; the
    /// supervisor only waits to be stopped or dropped.
    GaveUp {
        /// The crash-loop report.
        reason: CrashReport,
    },
}

/// How a bgpd process ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ExitInfo {
    /// It exited with this code.
    Code(i32),
    /// It was killed by this signal.
    Signal {
        /// Signal number (9 = SIGKILL, 15 = SIGTERM, 11 = SIGSEGV, 6 = SIGABRT).
        signal: i32,
        /// Whether it dumped core.
        core_dumped: bool,
    },
    /// The status could not be decoded.
    Unknown,
}

impl ExitInfo {
    /// Decodes a process exit status.
    pub fn from_status(status: std::process::ExitStatus) -> ExitInfo {
        use std::os::unix::process::ExitStatusExt;
        if let Some(code) = status.code() {
            ExitInfo::Code(code)
        } else if let Some(signal) = status.signal() {
            ExitInfo::Signal {
                signal,
                core_dumped: status.core_dumped(),
            }
        } else {
            ExitInfo::Unknown
        }
    }
}

fn signal_name(sig: i32) -> Option<&'static str> {
    Some(match sig {
        libc::SIGHUP => "SIGHUP",
        libc::SIGINT => "SIGINT",
        libc::SIGQUIT => "SIGQUIT",
        libc::SIGILL => "SIGILL",
        libc::SIGABRT => "SIGABRT",
        libc::SIGBUS => "SIGBUS",
        libc::SIGFPE => "SIGFPE",
        libc::SIGKILL => "SIGKILL",
        libc::SIGSEGV => "SIGSEGV",
        libc::SIGPIPE => "SIGPIPE",
        libc::SIGTERM => "SIGTERM",
        _ => return None,
    })
}

impl fmt::Display for ExitInfo {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ExitInfo::Code(c) => write!(f, "exit code {c}"),
            ExitInfo::Signal {
                signal,
                core_dumped,
            } => {
                write!(f, "killed by signal {signal}")?;
                if let Some(n) = signal_name(*signal) {
                    write!(f, " ({n})")?;
                }
                if *core_dumped {
                    f.write_str(", core dumped")?;
                }
                Ok(())
            }
            ExitInfo::Unknown => f.write_str("unknown exit status"),
        }
    }
}

/// Why an attempt to bring bgpd up failed before it was ready.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum StartFailure {
    /// The process could not be launched (binary missing or not executable, setns refused, …).
    Spawn {
        /// The binary we tried to run.
        binary: std::path::PathBuf,
        /// Kind of the OS error.
        kind: std::io::ErrorKind,
        /// The OS error's text.
        message: String,
    },
    /// bgpd ran but its Vty did not accept a login before the readiness deadline.
    NotReady {
        /// How long we tried.
        waited: Duration,
        /// The last connection or login error seen.
        last_error: String,
    },
}

impl fmt::Display for StartFailure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StartFailure::Spawn {
                binary, message, ..
            } => {
                write!(f, "cannot launch {}: {message}", binary.display())
            }
            StartFailure::NotReady { waited, last_error } => {
                write!(f, "Vty not ready after {waited:?}: {last_error}")
            }
        }
    }
}

/// One failed run of bgpd, as counted by the backoff.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Failure {
    /// It could not start (see [`StartFailure`]).
    Start(StartFailure),
    /// It exited (before being stable).
    Exited(ExitInfo),
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Failure::Start(s) => s.fmt(f),
            Failure::Exited(e) => write!(f, "bgpd exited: {e}"),
        }
    }
}

/// The report sent with [`BgpdEvent::GaveUp`]: what failed, how often, and the end of bgpd's log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CrashReport {
    /// Failures counted within `window` when the supervisor gave up.
    pub failures: u32,
    /// The give-up window of the policy.
    pub window: Duration,
    /// The last failure.
    pub last_failure: Failure,
    /// The last exit status seen, if any process ran at all.
    pub last_exit: Option<ExitInfo>,
    /// The last lines of bgpd's log file (or of its captured output when there is no log file).
    pub log_tail: Vec<String>,
}

impl fmt::Display for CrashReport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} failures within {:?}; last: {}",
            self.failures, self.window, self.last_failure
        )?;
        if let Some(e) = &self.last_exit {
            write!(f, "; last exit: {e}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::process::ExitStatusExt;

    #[test]
    fn exit_info_decodes_codes_and_signals() {
        let code = ExitInfo::from_status(std::process::ExitStatus::from_raw(1 << 8));
        assert_eq!(code, ExitInfo::Code(1));
        assert_eq!(code.to_string(), "exit code 1");
        let sig = ExitInfo::from_status(std::process::ExitStatus::from_raw(9));
        assert_eq!(
            sig,
            ExitInfo::Signal {
                signal: 9,
                core_dumped: false
            }
        );
        assert_eq!(sig.to_string(), "killed by signal 9 (SIGKILL)");
        let core = ExitInfo::from_status(std::process::ExitStatus::from_raw(11 | 0x80));
        assert_eq!(
            core.to_string(),
            "killed by signal 11 (SIGSEGV), core dumped"
        );
    }
}
