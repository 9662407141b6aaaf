//! Codec benchmarks: decode/encode of FRR 8.4 ROUTE_ADD (IPv4 1 nexthop, IPv6 4 nexthops),
//! NEXTHOP_REGISTER / NEXTHOP_UPDATE, and a 1M-message stream through `ZebraCodec`.
//!
//! Run: `CARGO_TARGET_DIR=/work/target-zebra-proto cargo bench -p zebra-proto --bench codec --
//! --warm-up-time 1 --measurement-time 3` (figures in docs/benchmarks/zebra-proto.md).

#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;
use std::net::{Ipv4Addr, Ipv6Addr};

use bytes::BytesMut;
use criterion::{criterion_group, criterion_main, BatchSize, Criterion, Throughput};
use tokio_util::codec::Decoder;
use zebra_proto::*;

fn route_v4() -> Message {
    let mut r = ZapiRoute::new(9, "198.51.100.0/24".parse().unwrap());
    r.nexthops = Some(nexthops([ZapiNexthop::new(NexthopTarget::Ipv4 {
        gate: Ipv4Addr::new(192, 0, 2, 2),
        ifindex: 0,
    })]));
    r.distance = Some(20);
    r.metric = Some(0);
    Message::RouteAdd(r)
}

fn route_v6_4() -> Message {
    let mut r = ZapiRoute::new(9, "2001:db8:100::/48".parse().unwrap());
    r.flags = 1;
    r.nexthops = Some(nexthops((1..=4u16).map(|i| {
        ZapiNexthop::new(NexthopTarget::Ipv6Ifindex {
            gate: Ipv6Addr::new(0xfe80, 0, 0, 0, 0, 0, 0, i),
            ifindex: 2,
        })
    })));
    r.distance = Some(20);
    r.metric = Some(0);
    Message::RouteAdd(r)
}

fn nexthop_register() -> Message {
    Message::NexthopRegister(vec![NexthopRegistration {
        connected: true,
        resolve_via_default: false,
        safi: 1,
        prefix: "192.0.2.2/32".parse().unwrap(),
    }])
}

fn nexthop_update() -> Message {
    Message::NexthopUpdate(NexthopUpdate {
        safi: 1,
        prefix: "192.0.2.2/32".parse().unwrap(),
        resolved: Some("192.0.2.0/24".parse().unwrap()),
        srte_color: None,
        route_type: 2,
        instance: 0,
        distance: 0,
        metric: 0,
        nexthops: nexthops([ZapiNexthop::new(NexthopTarget::Ifindex(2))]),
    })
}

fn frame(m: &Message) -> Vec<u8> {
    let mut b = BytesMut::new();
    encode(Profile::Frr84, 0, m, &mut b).unwrap();
    b.to_vec()
}

fn per_message(c: &mut Criterion) {
    per_message_in(c, "");
}

fn per_message_cpu(c: &mut Criterion<cpu_time::ThreadCpuTime>) {
    per_message_in(c, "cpu_");
}

fn per_message_in<M: criterion::measurement::Measurement>(c: &mut Criterion<M>, prefix: &str) {
    let cases = [
        ("route_add_v4_1nh", route_v4()),
        ("route_add_v6_4nh", route_v6_4()),
        ("nexthop_register", nexthop_register()),
        ("nexthop_update", nexthop_update()),
    ];
    let mut g = c.benchmark_group(format!("{prefix}decode"));
    g.throughput(Throughput::Elements(1));
    for (name, m) in &cases {
        let bytes = frame(m);
        g.bench_function(*name, |b| {
            b.iter(|| decode(Profile::Frr84, black_box(&bytes)).unwrap())
        });
    }
    g.finish();
    let mut g = c.benchmark_group(format!("{prefix}encode"));
    g.throughput(Throughput::Elements(1));
    for (name, m) in &cases {
        let mut buf = BytesMut::with_capacity(256);
        g.bench_function(*name, |b| {
            b.iter(|| {
                buf.clear();
                encode(Profile::Frr84, 0, black_box(m), &mut buf).unwrap();
            })
        });
    }
    g.finish();
}

/// The same decodes in a plain loop timed by `iter_custom` (no closure call per iteration):
/// what a server loop that decodes frame after frame sees.
fn decode_loop_in<M, T>(
    c: &mut Criterion<M>,
    prefix: &str,
    start: impl Fn() -> T + Copy,
    end: impl Fn(T) -> M::Value + Copy,
) where
    M: criterion::measurement::Measurement,
{
    let cases = [
        ("route_add_v4_1nh", route_v4()),
        ("route_add_v6_4nh", route_v6_4()),
    ];
    let mut g = c.benchmark_group(format!("{prefix}decode_loop"));
    g.throughput(Throughput::Elements(1));
    for (name, m) in &cases {
        let bytes = frame(m);
        g.bench_function(*name, |b| {
            b.iter_custom(|iters| {
                let t = start();
                let mut acc = 0u64;
                for _ in 0..iters {
                    let (header, msg) = decode(Profile::Frr84, black_box(&bytes)).unwrap();
                    black_box(&msg);
                    acc = acc.wrapping_add(u64::from(header.length));
                }
                black_box(acc);
                end(t)
            })
        });
        // Reusing one caller-owned message: the route is rebuilt in place.
        g.bench_function(format!("{name}_into"), |b| {
            b.iter_custom(|iters| {
                let mut msg = Message::InterfaceAddRequest;
                let t = start();
                let mut acc = 0u64;
                for _ in 0..iters {
                    let header = decode_into(Profile::Frr84, black_box(&bytes), &mut msg).unwrap();
                    black_box(&msg);
                    acc = acc.wrapping_add(u64::from(header.length));
                }
                black_box(acc);
                end(t)
            })
        });
    }
    g.finish();
}

fn decode_loop(c: &mut Criterion) {
    decode_loop_in(c, "", std::time::Instant::now, |t| t.elapsed());
}

fn decode_loop_cpu(c: &mut Criterion<cpu_time::ThreadCpuTime>) {
    decode_loop_in(c, "cpu_", cpu_time::now_ns, |t| {
        cpu_time::now_ns().saturating_sub(t)
    });
}

const STREAM: usize = 1_000_000;

fn stream(c: &mut Criterion) {
    stream_in(c, "");
}

fn stream_cpu(c: &mut Criterion<cpu_time::ThreadCpuTime>) {
    stream_in(c, "cpu_");
}

fn stream_in<M: criterion::measurement::Measurement>(c: &mut Criterion<M>, prefix: &str) {
    // 1M frames alternating IPv4/IPv6 ROUTE_ADD and NEXTHOP_UPDATE, decoded by ZebraCodec.
    let msgs = [route_v4(), route_v6_4(), nexthop_update(), route_v4()];
    let mut all = BytesMut::new();
    for i in 0..STREAM {
        encode(Profile::Frr84, 0, &msgs[i % msgs.len()], &mut all).unwrap();
    }
    let all = all.freeze();
    let mut g = c.benchmark_group(format!("{prefix}stream"));
    g.sample_size(10);
    g.throughput(Throughput::Elements(STREAM as u64));
    g.bench_function("codec_decode_1M", |b| {
        b.iter_batched(
            || BytesMut::from(&all[..]),
            |mut buf| {
                let mut codec = ZebraCodec::new(Profile::Frr84);
                let mut n = 0usize;
                while let Some(f) = codec.decode(&mut buf).unwrap() {
                    black_box(&f);
                    n += 1;
                }
                assert_eq!(n, STREAM);
            },
            BatchSize::PerIteration,
        )
    });
    g.bench_function("codec_encode_1M", |b| {
        let mut codec = ZebraCodec::new(Profile::Frr84);
        let mut buf = BytesMut::with_capacity(all.len());
        b.iter(|| {
            buf.clear();
            for i in 0..STREAM {
                tokio_util::codec::Encoder::encode(&mut codec, &msgs[i % msgs.len()], &mut buf)
                    .unwrap();
            }
            black_box(buf.len())
        })
    });
    g.finish();
}

/// Criterion measurement of the benchmarking thread's CPU time (CLOCK_THREAD_CPUTIME_ID), so
/// that time the thread spends descheduled on a loaded machine is not counted.
mod cpu_time {
    use criterion::measurement::{Measurement, ValueFormatter};
    use criterion::Throughput;

    pub struct ThreadCpuTime;

    pub fn now_ns() -> u64 {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: clock_gettime writes into the timespec we own.
        unsafe { libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts) };
        (ts.tv_sec as u64) * 1_000_000_000 + ts.tv_nsec as u64
    }

    impl Measurement for ThreadCpuTime {
        type Intermediate = u64;
        type Value = u64;
        fn start(&self) -> u64 {
            now_ns()
        }
        fn end(&self, i: u64) -> u64 {
            now_ns().saturating_sub(i)
        }
        fn add(&self, v1: &u64, v2: &u64) -> u64 {
            v1 + v2
        }
        fn zero(&self) -> u64 {
            0
        }
        fn to_f64(&self, v: &u64) -> f64 {
            *v as f64
        }
        fn formatter(&self) -> &dyn ValueFormatter {
            &CpuFormatter
        }
    }

    struct CpuFormatter;

    impl ValueFormatter for CpuFormatter {
        fn scale_values(&self, typical: f64, values: &mut [f64]) -> &'static str {
            let (factor, unit) = if typical < 1e3 {
                (1.0, "ns(cpu)")
            } else if typical < 1e6 {
                (1e-3, "µs(cpu)")
            } else if typical < 1e9 {
                (1e-6, "ms(cpu)")
            } else {
                (1e-9, "s(cpu)")
            };
            values.iter_mut().for_each(|v| *v *= factor);
            unit
        }
        fn scale_throughputs(
            &self,
            typical: f64,
            throughput: &Throughput,
            values: &mut [f64],
        ) -> &'static str {
            let n = match throughput {
                Throughput::Elements(n) | Throughput::Bytes(n) | Throughput::BytesDecimal(n) => {
                    *n as f64
                }
            };
            // values are ns per iteration: convert to elements per CPU second.
            let _ = typical;
            values.iter_mut().for_each(|v| *v = n * 1e9 / *v / 1e6);
            "Melem/s(cpu)"
        }
        fn scale_for_machines(&self, _values: &mut [f64]) -> &'static str {
            "ns"
        }
    }
}

fn cpu_criterion() -> Criterion<cpu_time::ThreadCpuTime> {
    Criterion::default().with_measurement(cpu_time::ThreadCpuTime)
}

criterion_group!(benches, per_message, decode_loop, stream);
criterion_group! {
    name = cpu_benches;
    config = cpu_criterion();
    targets = per_message_cpu, decode_loop_cpu, stream_cpu
}
criterion_main!(benches, cpu_benches);
