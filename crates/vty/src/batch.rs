//! Batch apply: many command lines written in one go, the replies read back in order.
//!
//! bgpd executes the lines of its input one after the other and answers each with its echo, its
//! output and the next prompt, so a whole batch can be written before any reply is read. The
//! replies are matched to the lines by their echoes; a `% ` reply marks the line as rejected.
//!
//! Lines are written in windows of [`BatchOptions::window`] lines. With
//! [`BatchPolicy::StopAtFirstError`] no further window is written after one holding a rejected
//! line, but the lines after the rejected one *in the same window* were already sent and were
//! executed by bgpd (possibly in another configuration node than intended, since the rejected
//! line may have been the one that should have entered a node): the report states each line's
//! fate exactly. A window of 1 gives strict stop-at-first-error at one round trip per line.

use crate::client::{check_line, Vty};
use crate::config::{render_lines, Command};
use crate::error::VtyError;
use crate::prompt::{self, Mode};
use crate::redact::Redacted;
use tokio::io::AsyncWriteExt;

/// What to do once a line is rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
#[non_exhaustive]
pub enum BatchPolicy {
    /// Send no further window after the one holding the first rejected line.
    #[default]
    StopAtFirstError,
    /// Send every line whatever the replies.
    Continue,
}

/// Batch settings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BatchOptions {
    /// What to do once a line is rejected.
    pub policy: BatchPolicy,
    /// How many lines are written before their replies are awaited (at least 1).
    pub window: usize,
}

impl Default for BatchOptions {
    fn default() -> Self {
        BatchOptions {
            policy: BatchPolicy::StopAtFirstError,
            window: 256,
        }
    }
}

/// The fate of one line of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum LineOutcome {
    /// bgpd executed the line without an error; its output (often empty), redacted.
    Applied {
        /// The line's output.
        output: Redacted,
    },
    /// bgpd answered with an error.
    Rejected {
        /// bgpd's message, redacted.
        message: Redacted,
    },
    /// The line was not sent (the batch stopped earlier).
    NotSent,
}

/// One line of a batch and its fate. A report holds only the redacted form of every line and
/// output (see [`Redacted`]): it can be logged or stored whatever the lines set.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LineReport {
    /// The line as sent, redacted.
    pub line: Redacted,
    /// Its fate.
    pub outcome: LineOutcome,
}

/// The first rejected line of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rejection<'a> {
    /// Index of the line in the batch.
    pub index: usize,
    /// The line, redacted.
    pub line: &'a Redacted,
    /// bgpd's message, redacted.
    pub message: &'a Redacted,
}

/// What happened to every line of a batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BatchReport {
    /// One entry per line, in order.
    pub lines: Vec<LineReport>,
    /// The policy used.
    pub policy: BatchPolicy,
    /// The mode bgpd was in after the last line sent.
    pub final_mode: Mode,
}

impl BatchReport {
    /// The first rejected line, if any.
    pub fn first_rejection(&self) -> Option<Rejection<'_>> {
        self.lines
            .iter()
            .enumerate()
            .find_map(|(index, l)| match &l.outcome {
                LineOutcome::Rejected { message } => Some(Rejection {
                    index,
                    line: &l.line,
                    message,
                }),
                _ => None,
            })
    }

    /// Number of lines applied without error.
    pub fn applied(&self) -> usize {
        self.count(|o| matches!(o, LineOutcome::Applied { .. }))
    }

    /// Number of rejected lines.
    pub fn rejected(&self) -> usize {
        self.count(|o| matches!(o, LineOutcome::Rejected { .. }))
    }

    /// Number of lines not sent.
    pub fn not_sent(&self) -> usize {
        self.count(|o| matches!(o, LineOutcome::NotSent))
    }

    fn count(&self, f: impl Fn(&LineOutcome) -> bool) -> usize {
        self.lines.iter().filter(|l| f(&l.outcome)).count()
    }

    /// True when every line was sent and applied.
    pub fn is_success(&self) -> bool {
        self.applied() == self.lines.len()
    }

    /// `Ok(self)` when every line was applied, otherwise [`VtyError::BatchRejected`] describing
    /// the first rejected line and the fate of the others.
    pub fn into_result(self) -> Result<BatchReport, VtyError> {
        let Some(r) = self.first_rejection() else {
            return Ok(self);
        };
        let after = &self.lines[r.index + 1..];
        let executed_after = after
            .iter()
            .filter(|l| !matches!(l.outcome, LineOutcome::NotSent))
            .count();
        let rejected_after = after
            .iter()
            .filter(|l| matches!(l.outcome, LineOutcome::Rejected { .. }))
            .count();
        Err(VtyError::BatchRejected {
            index: r.index,
            command: r.line.clone(),
            message: r.message.clone(),
            total: self.lines.len(),
            executed_after,
            rejected_after,
            not_sent: self.not_sent(),
        })
    }
}

impl Vty {
    /// Runs `lines` from the current mode, pipelined (see the module documentation), and reports
    /// every line's fate. Rejections are reported in the [`BatchReport`], not as an error; use
    /// [`BatchReport::into_result`] to turn the first one into [`VtyError::BatchRejected`].
    /// Every line is validated before anything is sent. Transport failures (timeout, connection
    /// loss, protocol mismatch) are errors and leave the session unusable.
    pub async fn batch<L: AsRef<str>>(
        &mut self,
        lines: &[L],
        opts: &BatchOptions,
    ) -> Result<BatchReport, VtyError> {
        self.check_usable()?;
        for (index, l) in lines.iter().enumerate() {
            check_line(l.as_ref()).map_err(|e| match e {
                VtyError::InvalidLine { command, reason } => VtyError::InvalidBatchLine {
                    index,
                    command,
                    reason,
                },
                other => other,
            })?;
        }
        if !self.rx.pending().is_empty() {
            tracing::warn!(
                bytes = self.rx.pending().len(),
                "vty: discarding unsolicited text"
            );
            let n = self.rx.pending().len();
            self.rx.consume(n);
        }
        let window = opts.window.max(1);
        let mut report: Vec<LineReport> = Vec::with_capacity(lines.len());
        let mut stop = false;
        for chunk in lines.chunks(window) {
            if stop {
                report.extend(chunk.iter().map(|l| LineReport {
                    line: Redacted::new(l.as_ref()),
                    outcome: LineOutcome::NotSent,
                }));
                continue;
            }
            let outcomes = match self.run_window(chunk).await {
                Ok(o) => o,
                Err(e) => {
                    self.broken = Some(e.to_string());
                    return Err(e);
                }
            };
            for (l, outcome) in chunk.iter().zip(outcomes) {
                if matches!(outcome, LineOutcome::Rejected { .. })
                    && opts.policy == BatchPolicy::StopAtFirstError
                {
                    stop = true;
                }
                report.push(LineReport {
                    line: Redacted::new(l.as_ref()),
                    outcome,
                });
            }
        }
        Ok(BatchReport {
            lines: report,
            policy: opts.policy,
            final_mode: self.mode.clone(),
        })
    }

    /// Applies configuration commands (e.g. from [`crate::diff`]): `configure terminal` when
    /// not already in a configuration node, the commands with their `router bgp` /
    /// `address-family` navigation (see [`render_lines`]), then `end`. The report covers every
    /// line sent, navigation included. If the batch stopped early the session is still brought
    /// back to enable mode with `end`. Nothing is sent for an empty command list.
    pub async fn configure(
        &mut self,
        commands: &[Command],
        opts: &BatchOptions,
    ) -> Result<BatchReport, VtyError> {
        if commands.is_empty() {
            return Ok(BatchReport {
                lines: Vec::new(),
                policy: opts.policy,
                final_mode: self.mode.clone(),
            });
        }
        let mut lines = Vec::with_capacity(commands.len() + 8);
        if !self.mode.is_config() {
            lines.push("configure terminal".to_owned());
        }
        lines.extend(render_lines(commands));
        lines.push("end".to_owned());
        let report = self.batch(&lines, opts).await?;
        if self.mode.is_config() {
            self.exec("end").await?;
        }
        Ok(report)
    }

    async fn run_window<L: AsRef<str>>(
        &mut self,
        chunk: &[L],
    ) -> Result<Vec<LineOutcome>, VtyError> {
        let mut bytes = Vec::with_capacity(chunk.iter().map(|l| l.as_ref().len() + 1).sum());
        for l in chunk {
            bytes.extend_from_slice(l.as_ref().as_bytes());
            bytes.push(b'\n');
        }
        let Vty {
            rx,
            tx,
            hostname,
            max_output,
            mode,
            ..
        } = self;
        let write = async {
            let r = async {
                tx.write_all(&bytes).await?;
                tx.flush().await
            }
            .await;
            r.map_err(|source| VtyError::Io {
                during: "writing a batch".into(),
                source,
            })
        };
        let read = async {
            let mut out = Vec::with_capacity(chunk.len());
            for (k, l) in chunk.iter().enumerate() {
                let next = chunk.get(k + 1).map(|n| n.as_ref());
                let (text, m, renamed) = rx
                    .read_reply(l.as_ref(), next, hostname, *max_output)
                    .await?;
                *mode = m;
                if let Some(h) = renamed {
                    *hostname = h;
                }
                out.push(match prompt::find_error(&text) {
                    Some(message) => LineOutcome::Rejected {
                        message: Redacted::from(message),
                    },
                    None => LineOutcome::Applied {
                        output: Redacted::from(text),
                    },
                });
            }
            Ok(out)
        };
        let ((), out) = tokio::try_join!(write, read)?;
        Ok(out)
    }
}
