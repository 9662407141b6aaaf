//! Configuration costs: whole-file validation, bootstrap rendering and minimal diffs at scale.
#![allow(clippy::unwrap_used, clippy::expect_used, missing_docs)]

use criterion::{black_box, criterion_group, criterion_main, Criterion};
use routing::bgpconf::BgpdSettings;
use routing::config::Config;

fn config_text(ports: usize, networks: usize) -> String {
    let mut s = String::from("[controller]\nrun_dir = \"/run/bench\"\n");
    for p in 0..ports {
        let nets: Vec<String> = (0..networks)
            .map(|i| format!("\"10.{}.{}.0/24\"", i / 256, i % 256))
            .collect();
        s.push_str(&format!(
            "[[port]]\nname = \"p{p}\"\nuplink = \"eth{p}\"\naddress = \"192.0.2.1/24\"\nlocal_as = 65001\nnetworks = [{}]\n",
            nets.join(", ")
        ));
        for peer in 2..6 {
            s.push_str(&format!(
                "[[port.peer]]\naddress = \"192.0.2.{peer}\"\nremote_as = 6500{peer}\nkeepalive = 10\nhold_time = 30\npassword = \"secret{peer}\"\ndescription = \"peer number {peer}\"\n"
            ));
        }
    }
    s
}

fn benches(c: &mut Criterion) {
    let many_ports = config_text(100, 10);
    c.bench_function("parse_and_validate_100_ports_400_peers", |b| {
        b.iter(|| Config::parse(black_box(&many_ports)).unwrap())
    });
    let big = Config::parse(&config_text(1, 10_000)).unwrap();
    let settings = BgpdSettings::from(&big.ports[0]);
    c.bench_function("bootstrap_10k_networks", |b| {
        b.iter(|| vty::render_lines(&black_box(&settings).bootstrap()))
    });
    let mut changed = big.ports[0].clone();
    changed.peers[0].timers = routing::config::Timers::new(20, 180).unwrap();
    changed.networks.pop_first();
    let new = BgpdSettings::from(&changed);
    c.bench_function("diff_10k_networks_one_timer_one_network", |b| {
        b.iter(|| {
            let d = vty::render_lines(&black_box(&settings).diff(black_box(&new)));
            assert_eq!(d.len(), 6, "{d:?}");
            d
        })
    });
}

criterion_group!(config, benches);
criterion_main!(config);
