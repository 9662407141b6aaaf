//! How fast bgpd is back after a `kill -9` (the 2 s target of the issue), how long a cold start
//! takes, and what a backoff decision costs. The process benches need root and FRR's bgpd; they
//! are skipped (with a message) otherwise.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use bgpd::{Backoff, BackoffPolicy, BgpdEvent, BgpdSpec, ConfigFile, Supervisor};
use criterion::{criterion_group, criterion_main, Criterion};
use tokio::sync::mpsc::Receiver;

async fn ready(rx: &mut Receiver<BgpdEvent>) -> u32 {
    loop {
        match tokio::time::timeout(Duration::from_secs(30), rx.recv()).await {
            Ok(Some(BgpdEvent::Ready { pid })) => return pid,
            Ok(Some(BgpdEvent::GaveUp { reason })) => panic!("gave up: {reason}"),
            Ok(Some(_)) => {}
            other => panic!("no Ready: {other:?}"),
        }
    }
}

fn spec(ns: &str, dir: &std::path::Path, initial: Duration) -> BgpdSpec {
    let config = ConfigFile::Managed {
        path: dir.join("etc/bgpd.conf"),
        hostname: "bench".into(),
        log_file: None,
    };
    let mut spec = BgpdSpec::new(ns, dir.join("run"), config, "bench-pw");
    spec.extra_args = vec!["-p".into(), "0".into()];
    // Every death is a fresh incident: the restart waits `initial` (± jitter) only.
    spec.backoff = BackoffPolicy {
        initial,
        stable_after: Duration::ZERO,
        give_up: None,
        ..BackoffPolicy::default()
    };
    spec
}

fn processes(c: &mut Criterion) {
    if testkit::find_bgpd().is_none() || !testkit::is_root() {
        eprintln!("skipping the bgpd process benches: need root and FRR's bgpd");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let ns = netns::NetNsGuard::create(&testkit::unique_name("bgbch")).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let mut g = c.benchmark_group("bgpd");
    g.sample_size(10);

    for (name, initial) in [
        ("kill9_to_ready_backoff_100ms", Duration::from_millis(100)),
        ("kill9_to_ready_backoff_1ms", Duration::from_millis(1)),
    ] {
        let (sup, mut rx) = rt
            .block_on(async { Supervisor::start(spec(ns.name(), dir.path(), initial)) })
            .unwrap();
        let mut pid = rt.block_on(ready(&mut rx));
        g.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t0 = Instant::now();
                    // SAFETY: kill(2) on the bgpd we started.
                    unsafe { libc::kill(pid as i32, libc::SIGKILL) };
                    pid = rt.block_on(ready(&mut rx));
                    total += t0.elapsed();
                }
                total
            })
        });
        rt.block_on(sup.stop()).unwrap();
    }

    g.bench_function("start_to_ready_then_stop", |b| {
        b.iter_custom(|iters| {
            let mut total = Duration::ZERO;
            for _ in 0..iters {
                let t0 = Instant::now();
                rt.block_on(async {
                    let (sup, mut rx) =
                        Supervisor::start(spec(ns.name(), dir.path(), Duration::from_millis(100)))
                            .unwrap();
                    ready(&mut rx).await;
                    sup.stop().await.unwrap();
                });
                total += t0.elapsed();
            }
            total
        })
    });
    g.finish();
}

fn decisions(c: &mut Criterion) {
    let mut b = Backoff::new(BackoffPolicy::default(), 7);
    let t0 = Instant::now();
    let mut i = 0u64;
    c.bench_function("backoff_on_failure", |bench| {
        bench.iter(|| {
            i += 1;
            if i % 8 == 0 {
                b.reset();
            }
            std::hint::black_box(b.on_failure(t0 + Duration::from_millis(i)))
        })
    });
}

criterion_group!(benches, decisions, processes);
criterion_main!(benches);
