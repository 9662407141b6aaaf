//! Graceful restart's F bit (`preserve-fw-state`) only where forwarding state survives: a
//! port's first bgpd leaves it out (FRR defers best-path selection at start while it is set —
//! minutes for a full table), a bgpd restarted by the supervisor sets it, and so does the first
//! bgpd of a port the controller treats as a restart (leftovers of a crashed controller, or a
//! cluster takeover). Fake side effects, virtual time.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use common::fake::FakeConfig;
use std::sync::Arc;
use std::time::Duration;

use routing::config::Config;
use routing::fake::FakeEffects;
use routing::{RoutingHandler, TableSink};

const F_BIT: &str = "bgp graceful-restart preserve-fw-state";

/// The configuration the tests start from (see `common::fake`).
fn base_text() -> String {
    FakeConfig {
        timers: false,
        ..FakeConfig::default()
    }
    .render()
}

/// The configuration batches sent to `port`'s bgpd so far, as lines.
fn batches(fx: &FakeEffects, port: &str) -> Vec<Vec<String>> {
    fx.applied_lines(port)
}

/// Waits (virtual time) until `port` received `n` configuration batches.
async fn wait_batches(fx: &FakeEffects, port: &str, n: usize) -> Vec<Vec<String>> {
    for _ in 0..2000 {
        let b = batches(fx, port);
        if b.len() >= n {
            return b;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("{port}: {} batches, wanted {n}", batches(fx, port).len());
}

fn has(batch: &[String], line: &str) -> bool {
    batch.iter().any(|l| l == line)
}

#[tokio::test(start_paused = true)]
async fn first_bgpd_leaves_the_f_bit_out_a_restarted_one_sets_it() {
    let fx = FakeEffects::new();
    let mut h = RoutingHandler::new(fx.clone(), Arc::new(TableSink::new()));
    h.apply(&Config::parse(&base_text()).unwrap()).await;
    let b = wait_batches(&fx, "p1", 1).await;
    assert!(
        has(&b[0], "bgp graceful-restart"),
        "GR stays on: {:?}",
        b[0]
    );
    assert!(
        !has(&b[0], F_BIT),
        "first start without the F bit: {:?}",
        b[0]
    );
    // Nothing adds it while this bgpd runs (it would start the deferral at the next session).
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(batches(&fx, "p1").len(), 1, "{:?}", batches(&fx, "p1"));

    // bgpd killed and restarted by the supervisor: the restarted one sets the F bit.
    assert!(fx.crash_bgpd("p1").await);
    let b = wait_batches(&fx, "p1", 2).await;
    assert!(has(&b[1], "bgp graceful-restart"), "{:?}", b[1]);
    assert!(has(&b[1], F_BIT), "a restart sets the F bit: {:?}", b[1]);
    // And it stays for later restarts, with no diff in between.
    tokio::time::sleep(Duration::from_secs(5)).await;
    assert_eq!(batches(&fx, "p1").len(), 2);
    assert!(fx.crash_bgpd("p1").await);
    let b = wait_batches(&fx, "p1", 3).await;
    assert!(has(&b[2], F_BIT), "{:?}", b[2]);
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_port_assumed_restarting_sets_the_f_bit_from_its_first_bgpd() {
    let fx = FakeEffects::new();
    let mut h = RoutingHandler::new(fx.clone(), Arc::new(TableSink::new()));
    h.assume_restart(Some("p1"));
    let two = format!(
        "{}{}",
        base_text(),
        r#"
[[port]]
name = "p2"
uplink = "eth2"
address = "198.51.100.1/24"
local_as = 65001
[[port.peer]]
address = "198.51.100.2"
remote_as = 65002
"#
    );
    h.apply(&Config::parse(&two).unwrap()).await;
    let p1 = wait_batches(&fx, "p1", 1).await;
    let p2 = wait_batches(&fx, "p2", 1).await;
    assert!(has(&p1[0], F_BIT), "p1 was assumed restarting: {:?}", p1[0]);
    assert!(!has(&p2[0], F_BIT), "p2 starts fresh: {:?}", p2[0]);
    h.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn restart_all_covers_every_port_and_gr_off_never_sets_it() {
    let fx = FakeEffects::new();
    let mut h = RoutingHandler::new(fx.clone(), Arc::new(TableSink::new()));
    h.assume_restart(None);
    h.apply(&Config::parse(&base_text()).unwrap()).await;
    let b = wait_batches(&fx, "p1", 1).await;
    assert!(has(&b[0], F_BIT), "{:?}", b[0]);
    h.shutdown().await;

    let fx = FakeEffects::new();
    let mut h = RoutingHandler::new(fx.clone(), Arc::new(TableSink::new()));
    h.assume_restart(None);
    let off = base_text().replace(
        "local_as = 65001",
        "local_as = 65001\ngraceful_restart = false",
    );
    h.apply(&Config::parse(&off).unwrap()).await;
    let b = wait_batches(&fx, "p1", 1).await;
    assert!(
        !b[0].iter().any(|l| l.contains("graceful-restart")),
        "{:?}",
        b[0]
    );
    assert!(fx.crash_bgpd("p1").await);
    let b = wait_batches(&fx, "p1", 2).await;
    assert!(
        !b[1].iter().any(|l| l.contains("preserve-fw-state")),
        "{:?}",
        b[1]
    );
    h.shutdown().await;
}
