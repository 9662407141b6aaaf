//! Container build and teardown times (needs root; prints a notice and measures nothing
//! otherwise). The host side lives in a namespace of its own, so the real host is untouched.
//!
//! Run: `cargo bench -p netns --bench container -- --warm-up-time 1 --measurement-time 3`.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, Criterion};
use ipnetwork::{IpNetwork, Ipv4Network};
use netns::{BridgeSpec, Container, ContainerSpec, DefaultRoute, MacAddr, NetNsGuard, VethSpec};

/// A BGP port's layout (as the routing crate builds it): a datapath veth with the port's MAC and
/// addresses, a management veth on a host-side bridge with the `index`-th /30 of
/// 169.254.0.0/17, and the default route through it.
fn spec(host: &NetNsGuard, index: u32) -> ContainerSpec {
    let id: String = testkit::unique_name("").chars().rev().collect();
    let base = format!("mnb-{id}");
    let mgmt = |h: u32| {
        let a = u32::from(std::net::Ipv4Addr::new(169, 254, 0, 0)) + index * 4 + h;
        Ipv4Network::new(a.into(), 30).unwrap()
    };
    let mut s = ContainerSpec::new(base.clone());
    s.host_netns = Some(host.name().to_string());
    let mut dp = VethSpec::new(base.clone(), format!("{base}_m"));
    dp.mac = Some(MacAddr([0x02, 0, 0x5e, 0x10, 0, 1]));
    dp.mtu = Some(1500);
    dp.addresses = vec![
        "192.0.2.1/24".parse().unwrap(),
        "2001:db8::1/64".parse().unwrap(),
    ];
    let mut m = VethSpec::new(format!("{base}_v"), format!("{base}_vm"));
    m.addresses = vec![IpNetwork::V4(mgmt(2))];
    m.bridge = Some(BridgeSpec {
        name: format!("{base}_br"),
        addresses: vec![IpNetwork::V4(mgmt(1))],
    });
    s.veths = vec![dp, m];
    s.default_route = Some(DefaultRoute {
        gateway: mgmt(1).ip().into(),
        via: format!("{base}_vm"),
    });
    s
}

fn containers(c: &mut Criterion) {
    if !testkit::is_root() {
        eprintln!("netns benches need root; skipped");
        return;
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap();
    let host = NetNsGuard::create(&testkit::unique_name("mnbbh")).unwrap();

    c.bench_function("namespace create+delete", |b| {
        b.iter(|| {
            let ns = netns::NetNs::create(&testkit::unique_name("mnbb")).unwrap();
            ns.delete().unwrap();
        })
    });

    let mut group = c.benchmark_group("container");
    group.bench_function("apply (build one)", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let s = spec(&host, 1);
                    let t = Instant::now();
                    let built = Container::apply(&s).await.unwrap();
                    total += t.elapsed();
                    built.teardown().await.unwrap();
                }
                total
            })
        })
    });
    group.bench_function("teardown (one)", |b| {
        b.iter_custom(|iters| {
            rt.block_on(async {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let built = Container::apply(&spec(&host, 1)).await.unwrap();
                    let t = Instant::now();
                    built.teardown().await.unwrap();
                    total += t.elapsed();
                }
                total
            })
        })
    });
    group.bench_function("re-apply unchanged (no-op)", |b| {
        let s = spec(&host, 2);
        let built = rt.block_on(Container::apply(&s)).unwrap();
        b.iter(|| rt.block_on(Container::apply(&s)).unwrap());
        rt.block_on(built.teardown()).unwrap();
    });
    group.sample_size(10);
    group.bench_function("100 in sequence (build all, then tear down all)", |b| {
        b.iter(|| {
            rt.block_on(async {
                let mut built = Vec::with_capacity(100);
                for i in 0..100 {
                    built.push(Container::apply(&spec(&host, i)).await.unwrap());
                }
                for c in built {
                    c.teardown().await.unwrap();
                }
            })
        })
    });
    group.finish();
}

criterion_group!(benches, containers);
criterion_main!(benches);
