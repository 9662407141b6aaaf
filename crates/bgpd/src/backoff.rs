//! Restart policy: exponential backoff with jitter, reset after a stable run, give-up after too
//! many failures within a window. Pure: every method takes the current time, so tests drive it
//! with a fake clock.

use std::collections::VecDeque;
use std::time::{Duration, Instant};

/// How quickly bgpd is restarted after failures, and when to stop trying.
#[derive(Debug, Clone, PartialEq)]
pub struct BackoffPolicy {
    /// Delay before the first restart of a failure sequence (default 100 ms).
    pub initial: Duration,
    /// Upper bound of the delay (default 30 s).
    pub max: Duration,
    /// Growth factor between consecutive delays (default 2.0; values below 1.0 are taken as 1.0).
    pub factor: f64,
    /// Random spread applied to each delay, as a fraction: 0.2 gives `delay × [0.8, 1.2]`
    /// (default 0.2; clamped to `0.0..=0.5` so delays still grow with a factor of 2).
    pub jitter: f64,
    /// A bgpd that stayed ready this long is *stable*: its death starts a fresh failure sequence
    /// (delay back to `initial`, failure count back to zero). Default 10 s.
    pub stable_after: Duration,
    /// When to give up; `None` = retry forever (delays stay capped at `max`).
    pub give_up: Option<GiveUpPolicy>,
}

/// Give up after `max_failures` failures, all within `window` (and none of them after a stable
/// run).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GiveUpPolicy {
    /// Failures that trigger the give-up (at least 1).
    pub max_failures: u32,
    /// The window they must fall in.
    pub window: Duration,
}

impl Default for BackoffPolicy {
    fn default() -> Self {
        BackoffPolicy {
            initial: Duration::from_millis(100),
            max: Duration::from_secs(30),
            factor: 2.0,
            jitter: 0.2,
            stable_after: Duration::from_secs(10),
            give_up: Some(GiveUpPolicy {
                max_failures: 10,
                window: Duration::from_secs(600),
            }),
        }
    }
}

impl BackoffPolicy {
    /// The delay before restart number `attempt` (1-based) without jitter:
    /// `min(max, initial × factor^(attempt-1))`.
    pub fn base_delay(&self, attempt: u32) -> Duration {
        let factor = if self.factor.is_finite() && self.factor >= 1.0 {
            self.factor
        } else {
            1.0
        };
        let exp = i32::try_from(attempt.saturating_sub(1)).unwrap_or(i32::MAX);
        let secs = self.initial.as_secs_f64() * factor.powi(exp);
        let max = self.max.max(self.initial);
        if !secs.is_finite() || secs >= max.as_secs_f64() {
            max
        } else {
            Duration::from_secs_f64(secs.max(0.0))
        }
    }

    /// `base` spread by the jitter fraction, using `unit`, a number in `[0, 1)`.
    pub fn jittered(&self, base: Duration, unit: f64) -> Duration {
        let j = if self.jitter.is_finite() {
            self.jitter.clamp(0.0, 0.5)
        } else {
            0.0
        };
        let unit = if unit.is_finite() {
            unit.clamp(0.0, 1.0)
        } else {
            0.5
        };
        let scale = 1.0 - j + 2.0 * j * unit;
        // A base near `Duration::MAX` scaled up does not fit: the longest delay there is.
        Duration::try_from_secs_f64(base.as_secs_f64() * scale).unwrap_or(Duration::MAX)
    }
}

/// What to do after a failure.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    /// Restart after `delay`; this is restart `attempt` of the current failure sequence.
    Restart {
        /// 1-based attempt number within the failure sequence.
        attempt: u32,
        /// How long to wait.
        delay: Duration,
    },
    /// Stop trying: `failures` failures fell within the give-up window.
    GiveUp {
        /// How many.
        failures: u32,
    },
}

/// The failure bookkeeping of one supervisor.
#[derive(Debug)]
pub struct Backoff {
    policy: BackoffPolicy,
    /// Failures of the current sequence (since the last stable run), oldest first.
    failures: VecDeque<Instant>,
    /// Restart attempts in the current sequence.
    attempt: u32,
    rng: fastrand::Rng,
}

impl Backoff {
    /// A fresh tracker; `seed` makes the jitter reproducible (tests), e.g. `fastrand::u64(..)`.
    pub fn new(policy: BackoffPolicy, seed: u64) -> Backoff {
        Backoff {
            policy,
            failures: VecDeque::new(),
            attempt: 0,
            rng: fastrand::Rng::with_seed(seed),
        }
    }

    /// The policy in force.
    pub fn policy(&self) -> &BackoffPolicy {
        &self.policy
    }

    /// Restart attempts in the current failure sequence (0 after a stable run).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// bgpd has been stable: forget the failure sequence.
    pub fn reset(&mut self) {
        self.failures.clear();
        self.attempt = 0;
    }

    /// Whether a bgpd ready since `ready_at` counts as stable at `now`.
    pub fn is_stable(&self, ready_at: Instant, now: Instant) -> bool {
        now.saturating_duration_since(ready_at) >= self.policy.stable_after
    }

    /// Records a failure at `now` and decides what comes next.
    pub fn on_failure(&mut self, now: Instant) -> Decision {
        self.failures.push_back(now);
        if let Some(g) = &self.policy.give_up {
            while let Some(&first) = self.failures.front() {
                if now.saturating_duration_since(first) > g.window {
                    self.failures.pop_front();
                } else {
                    break;
                }
            }
            let n = u32::try_from(self.failures.len()).unwrap_or(u32::MAX);
            if n >= g.max_failures.max(1) {
                return Decision::GiveUp { failures: n };
            }
        } else if self.failures.len() > 64 {
            // Retry forever: the timestamps are not needed, keep memory bounded.
            self.failures.pop_front();
        }
        self.attempt = self.attempt.saturating_add(1);
        let base = self.policy.base_delay(self.attempt);
        let delay = self.policy.jittered(base, self.rng.f64());
        Decision::Restart {
            attempt: self.attempt,
            delay,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ms(v: u64) -> Duration {
        Duration::from_millis(v)
    }

    #[test]
    fn base_delays_double_up_to_the_cap() {
        let p = BackoffPolicy::default();
        let got: Vec<_> = (1..=12).map(|a| p.base_delay(a)).collect();
        assert_eq!(got[0], ms(100));
        assert_eq!(got[1], ms(200));
        assert_eq!(got[2], ms(400));
        assert_eq!(got[8], ms(25_600));
        assert_eq!(got[9], Duration::from_secs(30));
        assert_eq!(got[11], Duration::from_secs(30));
        assert_eq!(p.base_delay(u32::MAX), Duration::from_secs(30));
    }

    #[test]
    fn odd_factors_and_jitter_are_tamed() {
        let p = BackoffPolicy {
            factor: f64::NAN,
            jitter: 7.0,
            ..BackoffPolicy::default()
        };
        assert_eq!(p.base_delay(5), ms(100));
        assert_eq!(p.jittered(ms(100), 0.0), ms(50));
        assert_eq!(p.jittered(ms(100), 1.0), ms(150));
        let p = BackoffPolicy {
            jitter: 0.2,
            ..BackoffPolicy::default()
        };
        assert_eq!(p.jittered(ms(1000), 0.5), ms(1000));
        assert_eq!(p.jittered(ms(1000), f64::NAN), ms(1000));
        // Scaling the longest delay up saturates instead of panicking.
        assert_eq!(p.jittered(Duration::MAX, 1.0), Duration::MAX);
        let p = BackoffPolicy {
            max: Duration::MAX,
            initial: Duration::MAX,
            ..BackoffPolicy::default()
        };
        assert_eq!(p.jittered(p.base_delay(3), 1.0), Duration::MAX);
    }

    #[test]
    fn jittered_delays_grow_strictly_and_stay_in_bounds() {
        let p = BackoffPolicy {
            give_up: None,
            ..BackoffPolicy::default()
        };
        for seed in 0..200 {
            let mut b = Backoff::new(p.clone(), seed);
            let t0 = Instant::now();
            let mut prev = Duration::ZERO;
            for i in 1..=8u32 {
                let Decision::Restart { attempt, delay } = b.on_failure(t0 + ms(u64::from(i)))
                else {
                    panic!("gave up without a give-up policy")
                };
                assert_eq!(attempt, i);
                let base = p.base_delay(i);
                assert!(
                    delay >= base.mul_f64(0.8) && delay <= base.mul_f64(1.2),
                    "{delay:?} vs {base:?}"
                );
                assert!(delay > prev, "seed {seed}: {delay:?} <= {prev:?}");
                prev = delay;
            }
        }
    }

    #[test]
    fn gives_up_after_max_failures_within_the_window() {
        let p = BackoffPolicy {
            give_up: Some(GiveUpPolicy {
                max_failures: 3,
                window: ms(10_000),
            }),
            ..Default::default()
        };
        let mut b = Backoff::new(p, 1);
        let t0 = Instant::now();
        assert!(matches!(
            b.on_failure(t0),
            Decision::Restart { attempt: 1, .. }
        ));
        assert!(matches!(
            b.on_failure(t0 + ms(1000)),
            Decision::Restart { attempt: 2, .. }
        ));
        assert_eq!(
            b.on_failure(t0 + ms(2000)),
            Decision::GiveUp { failures: 3 }
        );
    }

    #[test]
    fn failures_outside_the_window_do_not_count() {
        let p = BackoffPolicy {
            give_up: Some(GiveUpPolicy {
                max_failures: 3,
                window: ms(1000),
            }),
            ..Default::default()
        };
        let mut b = Backoff::new(p, 1);
        let t0 = Instant::now();
        for i in 0..20u64 {
            // One failure every 600 ms: never 3 within 1 s.
            let d = b.on_failure(t0 + ms(600 * i));
            assert!(matches!(d, Decision::Restart { .. }), "failure {i}: {d:?}");
        }
        // The delay still grows with the sequence (no stable run in between).
        assert_eq!(b.attempt(), 20);
    }

    #[test]
    fn a_stable_run_resets_delay_and_failure_count() {
        let p = BackoffPolicy {
            give_up: Some(GiveUpPolicy {
                max_failures: 3,
                window: ms(60_000),
            }),
            ..Default::default()
        };
        let mut b = Backoff::new(p, 9);
        let t0 = Instant::now();
        b.on_failure(t0);
        b.on_failure(t0 + ms(1));
        assert!(!b.is_stable(t0 + ms(2), t0 + ms(9_999)));
        assert!(b.is_stable(t0 + ms(2), t0 + ms(10_002)));
        b.reset();
        let Decision::Restart { attempt, delay } = b.on_failure(t0 + ms(10_002)) else {
            panic!("gave up after a reset")
        };
        assert_eq!(attempt, 1);
        assert!(delay <= ms(120));
    }

    #[test]
    fn retry_forever_keeps_memory_bounded() {
        let p = BackoffPolicy {
            give_up: None,
            ..Default::default()
        };
        let mut b = Backoff::new(p, 3);
        let t0 = Instant::now();
        for i in 0..10_000u64 {
            let d = b.on_failure(t0 + ms(i));
            assert!(matches!(d, Decision::Restart { delay, .. } if delay <= ms(36_000)));
        }
        assert!(b.failures.len() <= 65);
    }
}
