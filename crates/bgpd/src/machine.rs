//! The supervision state machine, free of I/O: the driver (`supervisor.rs`) feeds it what
//! happened ([`Input`]) with the current time and carries out the [`Command`]s it returns.

use std::time::{Duration, Instant};

use crate::backoff::{Backoff, BackoffPolicy, Decision};
use crate::events::{BgpdEvent, CrashReport, ExitInfo, Failure, StartFailure};

/// Something that happened to the supervised bgpd.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Input {
    /// The process was launched.
    Launched { pid: u32 },
    /// The process could not be launched.
    LaunchFailed(StartFailure),
    /// The Vty accepted a login.
    ReadinessOk,
    /// The Vty did not accept a login before the deadline.
    ReadinessFailed(StartFailure),
    /// The process ended (it has been reaped).
    Exited(ExitInfo),
    /// The restart timer armed by [`Command::ArmTimer`] fired.
    TimerFired,
}

/// Something the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Command {
    /// Send this event to the embedder.
    Emit(BgpdEvent),
    /// Launch bgpd; answer with `Launched` or `LaunchFailed`.
    Launch,
    /// Start the readiness check of `pid`; answer with `ReadinessOk` or `ReadinessFailed`
    /// (unless the process exits first: then `Exited`).
    CheckReadiness { pid: u32 },
    /// Kill `pid`'s process group; its `Exited` follows.
    Kill { pid: u32 },
    /// Fire `TimerFired` after `delay`.
    ArmTimer { delay: Duration },
    /// Give up: add the log tail to the report and emit [`BgpdEvent::GaveUp`].
    GiveUp(CrashReport),
}

/// Where the supervised bgpd is in its life.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Phase {
    Idle,
    Launching,
    Starting { pid: u32 },
    Killing { pid: u32, cause: StartFailure },
    Ready { pid: u32, ready_at: Instant },
    Waiting,
    GaveUp,
}

#[derive(Debug)]
pub(crate) struct Machine {
    phase: Phase,
    backoff: Backoff,
    restarts: u32,
    last_exit: Option<ExitInfo>,
}

impl Machine {
    pub(crate) fn new(policy: BackoffPolicy, seed: u64) -> Machine {
        Machine {
            phase: Phase::Idle,
            backoff: Backoff::new(policy, seed),
            restarts: 0,
            last_exit: None,
        }
    }

    #[cfg(test)]
    pub(crate) fn phase(&self) -> &Phase {
        &self.phase
    }

    /// Launches after the first one.
    pub(crate) fn restarts(&self) -> u32 {
        self.restarts
    }

    /// Failures in the current sequence (0 after a stable run).
    #[cfg(test)]
    pub(crate) fn consecutive_failures(&self) -> u32 {
        self.backoff.attempt()
    }

    /// The first launch.
    pub(crate) fn start(&mut self) -> Vec<Command> {
        if self.phase != Phase::Idle {
            return Vec::new();
        }
        self.phase = Phase::Launching;
        vec![Command::Emit(BgpdEvent::Starting), Command::Launch]
    }

    pub(crate) fn handle(&mut self, input: Input, now: Instant) -> Vec<Command> {
        let phase = std::mem::replace(&mut self.phase, Phase::Idle);
        match (phase, input) {
            (Phase::Launching, Input::Launched { pid }) => {
                self.phase = Phase::Starting { pid };
                vec![Command::CheckReadiness { pid }]
            }
            (Phase::Launching, Input::LaunchFailed(cause)) => {
                let mut out = vec![Command::Emit(BgpdEvent::StartFailed {
                    cause: cause.clone(),
                })];
                out.extend(self.fail(Failure::Start(cause), now));
                out
            }
            (Phase::Starting { pid }, Input::ReadinessOk) => {
                self.phase = Phase::Ready { pid, ready_at: now };
                vec![Command::Emit(BgpdEvent::Ready { pid })]
            }
            (Phase::Starting { pid }, Input::ReadinessFailed(cause)) => {
                self.phase = Phase::Killing {
                    pid,
                    cause: cause.clone(),
                };
                vec![
                    Command::Emit(BgpdEvent::StartFailed { cause }),
                    Command::Kill { pid },
                ]
            }
            (Phase::Starting { .. }, Input::Exited(status)) => {
                self.last_exit = Some(status);
                let mut out = vec![Command::Emit(BgpdEvent::Exited { status })];
                out.extend(self.fail(Failure::Exited(status), now));
                out
            }
            (Phase::Killing { cause, .. }, Input::Exited(status)) => {
                self.last_exit = Some(status);
                let mut out = vec![Command::Emit(BgpdEvent::Exited { status })];
                out.extend(self.fail(Failure::Start(cause), now));
                out
            }
            (Phase::Ready { ready_at, .. }, Input::Exited(status)) => {
                self.last_exit = Some(status);
                if self.backoff.is_stable(ready_at, now) {
                    self.backoff.reset();
                }
                let mut out = vec![Command::Emit(BgpdEvent::Exited { status })];
                out.extend(self.fail(Failure::Exited(status), now));
                out
            }
            (Phase::Waiting, Input::TimerFired) => {
                self.restarts = self.restarts.saturating_add(1);
                self.phase = Phase::Launching;
                vec![Command::Emit(BgpdEvent::Starting), Command::Launch]
            }
            (phase, input) => {
                tracing::debug!(
                    ?phase,
                    ?input,
                    "bgpd supervisor: input ignored in this phase"
                );
                self.phase = phase;
                Vec::new()
            }
        }
    }

    fn fail(&mut self, failure: Failure, now: Instant) -> Vec<Command> {
        match self.backoff.on_failure(now) {
            Decision::Restart { attempt, delay } => {
                self.phase = Phase::Waiting;
                vec![
                    Command::Emit(BgpdEvent::Restarting { attempt, delay }),
                    Command::ArmTimer { delay },
                ]
            }
            Decision::GiveUp { failures } => {
                self.phase = Phase::GaveUp;
                let window = self
                    .backoff
                    .policy()
                    .give_up
                    .as_ref()
                    .map(|g| g.window)
                    .unwrap_or_default();
                vec![Command::GiveUp(CrashReport {
                    failures,
                    window,
                    last_failure: failure,
                    last_exit: self.last_exit,
                    log_tail: Vec::new(),
                })]
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backoff::GiveUpPolicy;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    const KILLED: ExitInfo = ExitInfo::Signal {
        signal: 9,
        core_dumped: false,
    };

    /// A machine plus a fake clock.
    struct Rig {
        m: Machine,
        now: Instant,
    }

    impl Rig {
        fn new(policy: BackoffPolicy) -> Rig {
            Rig {
                m: Machine::new(policy, 42),
                now: Instant::now(),
            }
        }
        fn at(&mut self, advance: Duration, input: Input) -> Vec<Command> {
            self.now += advance;
            self.m.handle(input, self.now)
        }
        /// Launch → ready with pid.
        fn bring_up(&mut self, pid: u32) {
            assert_eq!(
                self.at(ms(1), Input::Launched { pid }),
                vec![Command::CheckReadiness { pid }]
            );
            assert_eq!(
                self.at(ms(50), Input::ReadinessOk),
                vec![Command::Emit(BgpdEvent::Ready { pid })]
            );
        }
        /// Feeds `input`, then expects a restart (see `restart_delay`).
        fn step_restart(&mut self, advance: Duration, input: Input) -> Duration {
            let cmds = self.at(advance, input);
            self.restart_delay(cmds)
        }
        /// Expects Exited + Restarting, fires the timer, returns the delay.
        fn restart_delay(&mut self, cmds: Vec<Command>) -> Duration {
            let delay = match cmds.as_slice() {
                [Command::Emit(BgpdEvent::Exited { .. }), Command::Emit(BgpdEvent::Restarting { delay, .. }), Command::ArmTimer { delay: d2 }]
                | [Command::Emit(BgpdEvent::StartFailed { .. }), Command::Emit(BgpdEvent::Restarting { delay, .. }), Command::ArmTimer { delay: d2 }] =>
                {
                    assert_eq!(delay, d2);
                    *delay
                }
                other => panic!("unexpected commands {other:?}"),
            };
            assert_eq!(
                self.at(delay, Input::TimerFired),
                vec![Command::Emit(BgpdEvent::Starting), Command::Launch]
            );
            delay
        }
    }

    #[test]
    fn start_then_ready_then_crash_restarts_with_initial_delay() {
        let mut r = Rig::new(BackoffPolicy::default());
        assert_eq!(
            r.m.start(),
            vec![Command::Emit(BgpdEvent::Starting), Command::Launch]
        );
        assert!(r.m.start().is_empty(), "a second start is a no-op");
        r.bring_up(100);
        let d = r.step_restart(ms(20_000), Input::Exited(KILLED));
        assert!(d >= ms(80) && d <= ms(120), "{d:?}");
        assert_eq!(r.m.restarts(), 1);
        assert_eq!(r.m.phase(), &Phase::Launching);
    }

    #[test]
    fn supervision_survives_any_number_of_restarts() {
        // MidoNet gap 1: after the first restart nothing watched bgpd any more.
        let mut r = Rig::new(BackoffPolicy::default());
        r.m.start();
        for i in 0..1000u32 {
            r.bring_up(1000 + i);
            // Each run is stable (> 10 s), so the delay stays at the initial value.
            let d = r.step_restart(ms(11_000), Input::Exited(KILLED));
            assert!(d <= ms(120), "restart {i}: {d:?}");
        }
        assert_eq!(r.m.restarts(), 1000);
        assert_eq!(r.m.consecutive_failures(), 1);
    }

    #[test]
    fn crashes_right_after_ready_grow_the_delay() {
        let policy = BackoffPolicy {
            give_up: None,
            ..Default::default()
        };
        let mut r = Rig::new(policy);
        r.m.start();
        let mut prev = Duration::ZERO;
        for i in 0..6u32 {
            r.bring_up(10 + i);
            let d = r.step_restart(ms(100), Input::Exited(KILLED));
            assert!(d > prev, "{d:?} <= {prev:?}");
            prev = d;
        }
        assert!(prev >= ms(2_500), "{prev:?}");
    }

    #[test]
    fn spawn_failures_back_off_then_give_up_with_a_report() {
        let policy = BackoffPolicy {
            give_up: Some(GiveUpPolicy {
                max_failures: 4,
                window: ms(60_000),
            }),
            ..Default::default()
        };
        let mut r = Rig::new(policy);
        r.m.start();
        let cause = StartFailure::Spawn {
            binary: "/nope/bgpd".into(),
            kind: std::io::ErrorKind::NotFound,
            message: "No such file".into(),
        };
        let mut delays = Vec::new();
        for _ in 0..3 {
            delays.push(r.step_restart(ms(1), Input::LaunchFailed(cause.clone())));
        }
        assert!(delays.windows(2).all(|w| w[1] > w[0]), "{delays:?}");
        let out = r.at(ms(1), Input::LaunchFailed(cause.clone()));
        match out.as_slice() {
            [Command::Emit(BgpdEvent::StartFailed { .. }), Command::GiveUp(report)] => {
                assert_eq!(report.failures, 4);
                assert_eq!(report.last_failure, Failure::Start(cause));
                assert_eq!(report.last_exit, None);
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(r.m.phase(), &Phase::GaveUp);
        // Nothing brings it back by itself.
        assert!(r.at(ms(100_000), Input::TimerFired).is_empty());
    }

    #[test]
    fn readiness_timeout_kills_then_counts_the_failure_with_the_exit_status() {
        let policy = BackoffPolicy {
            give_up: Some(GiveUpPolicy {
                max_failures: 2,
                window: ms(60_000),
            }),
            ..Default::default()
        };
        let mut r = Rig::new(policy);
        r.m.start();
        let nr = StartFailure::NotReady {
            waited: ms(5000),
            last_error: "connection refused".into(),
        };
        assert_eq!(
            r.at(ms(1), Input::Launched { pid: 7 }),
            vec![Command::CheckReadiness { pid: 7 }]
        );
        assert_eq!(
            r.at(ms(5000), Input::ReadinessFailed(nr.clone())),
            vec![
                Command::Emit(BgpdEvent::StartFailed { cause: nr.clone() }),
                Command::Kill { pid: 7 }
            ]
        );
        // A late readiness answer or timer is ignored while killing.
        assert!(r.at(ms(1), Input::ReadinessOk).is_empty());
        r.step_restart(ms(5), Input::Exited(KILLED));
        assert_eq!(
            r.at(ms(1), Input::Launched { pid: 8 }),
            vec![Command::CheckReadiness { pid: 8 }]
        );
        // Exit before ready (e.g. bad arguments).
        let out = r.at(ms(3), Input::Exited(ExitInfo::Code(1)));
        match out.as_slice() {
            [Command::Emit(BgpdEvent::Exited {
                status: ExitInfo::Code(1),
            }), Command::GiveUp(report)] => {
                assert_eq!(report.last_exit, Some(ExitInfo::Code(1)));
                assert_eq!(report.last_failure, Failure::Exited(ExitInfo::Code(1)));
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_stable_run_forgives_earlier_failures() {
        let policy = BackoffPolicy {
            give_up: Some(GiveUpPolicy {
                max_failures: 3,
                window: ms(600_000),
            }),
            ..Default::default()
        };
        let mut r = Rig::new(policy);
        r.m.start();
        for _ in 0..2 {
            r.at(ms(1), Input::Launched { pid: 1 });
            r.step_restart(ms(1), Input::Exited(ExitInfo::Code(1)));
        }
        r.bring_up(2);
        // Stable: the 3rd failure does not give up and the delay is back to the initial one.
        let d = r.step_restart(ms(10_000), Input::Exited(KILLED));
        assert!(d <= ms(120), "{d:?}");
    }

    #[test]
    fn unexpected_inputs_are_ignored() {
        let mut r = Rig::new(BackoffPolicy::default());
        assert!(r.at(ms(1), Input::Exited(KILLED)).is_empty());
        r.m.start();
        assert!(r.at(ms(1), Input::ReadinessOk).is_empty());
        assert!(r.at(ms(1), Input::TimerFired).is_empty());
        assert_eq!(r.m.phase(), &Phase::Launching);
    }
}
