//! Benchmarks of the tc backend (needs root; prints a note and does nothing otherwise):
//! - install / incremental update / remove latency of the standard BGP flow set;
//! - TCP throughput peer -> bgpd through the mirred redirect, against a direct veth pair.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

#[path = "../tests/common/mod.rs"]
mod common;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::{Duration, Instant};

use common::*;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use datapath::{bgp_flows, Datapath, TcDatapath};
use testkit::lab::{veth_between, TestNs};

const CHUNK: usize = 4 << 20;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .unwrap()
}

fn install_remove(c: &mut Criterion) {
    if !testkit::is_root() {
        eprintln!("datapath benches need root (namespaces, tc); skipped");
        return;
    }
    let rt = runtime();
    let t = Topology::new();
    let dp = rt
        .block_on(async { TcDatapath::new(Some(t.host.name())) })
        .unwrap();
    let locals = [ip(LOCAL4), ip(LOCAL6)];
    let one = bgp_flows(UPLINK, BGP_PORT, &locals, &[ip(PEER4), ip(PEER6)]);
    let two = bgp_flows(
        UPLINK,
        BGP_PORT,
        &locals,
        &[ip(PEER4), ip(PEER6), ip(STRANGER4), ip(STRANGER6)],
    );

    let mut g = c.benchmark_group("tc_flows");
    g.sample_size(20);
    g.bench_function(format!("install_{}_flows", one.len()), |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                let start = Instant::now();
                rt.block_on(dp.install("bench", &one)).unwrap();
                spent += start.elapsed();
                rt.block_on(dp.remove("bench")).unwrap();
            }
            spent
        })
    });
    g.bench_function(format!("remove_{}_flows", one.len()), |b| {
        b.iter_custom(|iters| {
            let mut spent = Duration::ZERO;
            for _ in 0..iters {
                rt.block_on(dp.install("bench", &one)).unwrap();
                let start = Instant::now();
                rt.block_on(dp.remove("bench")).unwrap();
                spent += start.elapsed();
            }
            spent
        })
    });
    g.bench_function("reinstall_unchanged", |b| {
        rt.block_on(dp.install("bench", &one)).unwrap();
        b.iter(|| rt.block_on(dp.install("bench", &one)).unwrap());
        rt.block_on(dp.remove("bench")).unwrap();
    });
    g.bench_function("update_add_2_peers_then_remove_them", |b| {
        rt.block_on(dp.install("bench", &one)).unwrap();
        b.iter(|| {
            rt.block_on(dp.install("bench", &two)).unwrap();
            rt.block_on(dp.install("bench", &one)).unwrap();
        });
        rt.block_on(dp.remove("bench")).unwrap();
    });
    g.finish();
}

/// A connected sender/receiver pair: the receiver (in its own thread) reads CHUNK bytes and
/// answers one byte, so each iteration measures a full transfer.
fn pair(client_ns: &TestNs, src: &str, server_ns: &TestNs, dst: SocketAddr) -> TcpStream {
    let listener = tcp_listener(&server_ns.path(), dst);
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = vec![0u8; 256 << 10];
        loop {
            let mut left = CHUNK;
            while left > 0 {
                match s.read(&mut buf[..left.min(256 << 10)]) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => left -= n,
                }
            }
            if s.write_all(b"k").is_err() {
                return;
            }
        }
    });
    tcp_connect(
        &client_ns.path(),
        Some(ip(src)),
        dst,
        None,
        Duration::from_secs(5),
    )
    .unwrap()
}

fn transfer(s: &mut TcpStream, data: &[u8]) {
    s.write_all(data).unwrap();
    let mut k = [0u8; 1];
    s.read_exact(&mut k).unwrap();
}

fn throughput(c: &mut Criterion) {
    if !testkit::is_root() {
        return;
    }
    let rt = runtime();
    let t = Topology::new();
    let dp = rt
        .block_on(async { TcDatapath::new(Some(t.host.name())) })
        .unwrap();
    rt.block_on(dp.install(
        "bench",
        &bgp_flows(UPLINK, BGP_PORT, &[ip(LOCAL4)], &[ip(PEER4)]),
    ))
    .unwrap();
    let mut redirected = pair(&t.peer, PEER4, &t.bgpd, SocketAddr::new(ip(LOCAL4), 179));

    // The reference: the same two kinds of namespaces joined by one veth pair.
    let a = TestNs::new("dpa").unwrap();
    let z = TestNs::new("dpz").unwrap();
    veth_between(&a, "eth0", &z, "eth0").unwrap();
    a.add_addr("eth0", "198.51.100.2/24").unwrap();
    z.add_addr("eth0", "198.51.100.1/24").unwrap();
    let mut direct = pair(&a, "198.51.100.2", &z, "198.51.100.1:179".parse().unwrap());

    let data = vec![0x5au8; CHUNK];
    let mut g = c.benchmark_group("tcp_throughput");
    g.throughput(Throughput::Bytes(CHUNK as u64));
    g.sample_size(20);
    g.bench_function("direct_veth", |b| b.iter(|| transfer(&mut direct, &data)));
    g.bench_function("through_tc_redirect", |b| {
        b.iter(|| transfer(&mut redirected, &data))
    });
    g.finish();
    drop(redirected);
    drop(direct);
    rt.block_on(dp.remove("bench")).unwrap();
}

criterion_group!(benches, install_remove, throughput);
criterion_main!(benches);
