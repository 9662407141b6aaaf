//! Batch apply against a real bgpd: 10,000 `network` lines through [`vty::Vty::configure`].
//!
//! Needs root and FRR's bgpd (it starts one in its own namespace); otherwise it prints why and
//! does nothing. Each measured iteration adds the networks; removing them again (so the next
//! iteration starts from the same state) is not timed.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use testkit::lab::{BgpdOptions, TestBgpd, TestNs};
use vty::config::{Asn, Prefix};
use vty::{diff, BatchOptions, BatchPolicy, BgpConfig, Vty, VtyOptions};

fn networks(n: u32) -> BgpConfig {
    let mut c = BgpConfig::new(Asn::new(65000).unwrap());
    c.network_import_check = false;
    for i in 0..n {
        let p: Prefix = format!("10.{}.{}.0/24", i / 256, i % 256).parse().unwrap();
        c.add_network(p);
    }
    c
}

fn bench(c: &mut Criterion) {
    if !testkit::is_root() {
        eprintln!("batch bench skipped: needs root");
        return;
    }
    let Some(bgpd) = testkit::find_bgpd() else {
        eprintln!("batch bench skipped: no bgpd");
        return;
    };
    let ns = TestNs::new("vtybn").unwrap();
    let opts = BgpdOptions {
        extra_args: vec!["-p".into(), "0".into()],
        ..Default::default()
    };
    let _bgpd = TestBgpd::start(&bgpd, &ns, "hostname bench\npassword zebra\n", &opts).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let mut vty = rt.block_on(async {
        let mut last = None;
        for _ in 0..100 {
            match ns.connect_tcp("127.0.0.1:2605".parse().unwrap(), Duration::from_secs(5)) {
                Ok(s) => {
                    s.set_nonblocking(true).unwrap();
                    let s = tokio::net::TcpStream::from_std(s).unwrap();
                    let o = VtyOptions {
                        password: Some("zebra".into()),
                        timeout: Duration::from_secs(30),
                        ..Default::default()
                    };
                    return Vty::login(s, &o).await.unwrap();
                }
                Err(e) => last = Some(e),
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("cannot reach bgpd: {last:?}");
    });
    let base = BgpConfig::new(Asn::new(65000).unwrap());
    let mut base_nocheck = base.clone();
    base_nocheck.network_import_check = false;
    rt.block_on(vty.configure(&base_nocheck.commands(), &BatchOptions::default()))
        .unwrap()
        .into_result()
        .unwrap();

    let mut group = c.benchmark_group("vty_batch");
    group.sample_size(10);
    let cases: [(&str, u32, BatchOptions); 3] = [
        (
            "10k_networks_window_256_stop",
            10_000,
            BatchOptions {
                policy: BatchPolicy::StopAtFirstError,
                window: 256,
            },
        ),
        (
            "10k_networks_window_10000_continue",
            10_000,
            BatchOptions {
                policy: BatchPolicy::Continue,
                window: 10_000,
            },
        ),
        (
            "1k_networks_window_1_stop",
            1_000,
            BatchOptions {
                policy: BatchPolicy::StopAtFirstError,
                window: 1,
            },
        ),
    ];
    for (name, n, bopts) in cases {
        let full = networks(n);
        let add = diff(&base_nocheck, &full);
        let remove = diff(&full, &base_nocheck);
        group.bench_function(name, |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    let r = rt.block_on(vty.configure(&add, &bopts)).unwrap();
                    total += t.elapsed();
                    assert!(r.is_success(), "{:?}", r.first_rejection());
                    rt.block_on(vty.configure(&remove, &BatchOptions::default()))
                        .unwrap()
                        .into_result()
                        .unwrap();
                }
                total
            })
        });
    }
    group.finish();
    rt.block_on(vty.close()).unwrap();
}

criterion_group!(benches, bench);
criterion_main!(benches);
