//! A background check sampled every 100 ms, for tests that must show something held the whole
//! time (a peer kept a route through a restart): [`Sampler`] counts the samples and the misses.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

/// How often [`Sampler`] samples (or as fast as the check answers, if it is slower).
pub const SAMPLE_EVERY: Duration = Duration::from_millis(100);

/// Counts, on a thread, the samples where a check fails (e.g. a peer lacks a route).
#[derive(Debug)]
pub struct Sampler {
    stop: Arc<AtomicBool>,
    misses: Arc<AtomicUsize>,
    /// Samples taken so far.
    pub samples: Arc<AtomicUsize>,
    thread: Option<JoinHandle<()>>,
}

impl Sampler {
    /// Starts sampling `holds` every [`SAMPLE_EVERY`] (a miss is a sample where it is false).
    pub fn start(holds: impl Fn() -> bool + Send + 'static) -> Sampler {
        let stop = Arc::new(AtomicBool::new(false));
        let misses = Arc::new(AtomicUsize::new(0));
        let samples = Arc::new(AtomicUsize::new(0));
        let (s, m, n) = (stop.clone(), misses.clone(), samples.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                let t = Instant::now();
                if !holds() {
                    m.fetch_add(1, Ordering::Relaxed);
                }
                n.fetch_add(1, Ordering::Relaxed);
                std::thread::sleep(SAMPLE_EVERY.saturating_sub(t.elapsed()));
            }
        });
        Sampler {
            stop,
            misses,
            samples,
            thread: Some(thread),
        }
    }

    /// Stops sampling; returns (misses, samples).
    pub fn finish(mut self) -> (usize, usize) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
        (
            self.misses.load(Ordering::Relaxed),
            self.samples.load(Ordering::Relaxed),
        )
    }
}

impl Drop for Sampler {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}
