//! Reloads that must rebuild nothing, and rebuilds that must leave nothing of the old port
//! behind, against the fake side effects (which key containers, flow groups and files the way
//! the real ones do).
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use routing::config::Config;
use routing::fake::FakeEffects;
use routing::{PortPlan, PortStatus, RoutingHandler, TableSink};

const BASE: &str = r#"
[controller]
prefix = "old"
run_dir = "/run/fake-old"
restart_backoff_initial_ms = 100
restart_backoff_max_ms = 400
status_interval = 1
[[port]]
name = "p1"
uplink = "eth1"
address = "192.0.2.1/24"
local_as = 65001
networks = ["203.0.113.0/24"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
keepalive = 10
hold_time = 30
"#;

fn cfg(text: &str) -> Config {
    Config::parse(text).unwrap()
}

async fn status(h: &RoutingHandler<FakeEffects>) -> PortStatus {
    h.status().await.into_iter().next().unwrap()
}

async fn configured(h: &RoutingHandler<FakeEffects>) -> PortStatus {
    for _ in 0..2000 {
        let s = status(h).await;
        if s.config_applied {
            return s;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("not configured: {:#?}", status(h).await);
}

fn started() -> (FakeEffects, RoutingHandler<FakeEffects>) {
    let fx = FakeEffects::new();
    let h = RoutingHandler::new(fx.clone(), Arc::new(TableSink::new()));
    (fx, h)
}

fn rebuilds(fx: &FakeEffects) -> usize {
    fx.log()
        .iter()
        .filter(|l| l.starts_with("destroy "))
        .count()
}

#[test]
fn only_the_ports_own_keys_rebuild_it() {
    let base = cfg(BASE);
    let plan = |c: &Config| PortPlan::new(&c.controller, &c.ports[0], 0);
    let old = plan(&base);
    for (from, to, why) in [
        ("status_interval = 1", "status_interval = 7", vec![]),
        (
            "restart_backoff_initial_ms = 100",
            "restart_backoff_initial_ms = 50",
            vec![],
        ),
        (
            "restart_backoff_max_ms = 400",
            "restart_backoff_max_ms = 900",
            vec![],
        ),
        ("keepalive = 10", "keepalive = 20", vec![]),
        ("keepalive = 10", "keepalive = 10\npassive = true", vec![]),
        ("remote_as = 65002", "remote_as = 65003", vec![]),
        ("networks = [\"203.0.113.0/24\"]", "networks = []", vec![]),
        (
            "prefix = \"old\"",
            "prefix = \"new\"",
            vec!["prefix", "namespace and link names"],
        ),
        (
            "run_dir = \"/run/fake-old\"",
            "run_dir = \"/run/fake-new\"",
            vec!["run_dir"],
        ),
        ("uplink = \"eth1\"", "uplink = \"eth2\"", vec!["uplink"]),
        ("local_as = 65001", "local_as = 65009", vec!["local_as"]),
    ] {
        let text = BASE.replace(from, to);
        assert_ne!(text, BASE, "{from}");
        let new = plan(&cfg(&text));
        assert_eq!(old.rebuild_reasons(&new), why, "{from} -> {to}");
        assert_eq!(old.needs_rebuild(&new), !why.is_empty());
    }
    // The control socket belongs to the process; the Vty settings to bgpd's start.
    for (key, value, why) in [
        ("control_socket", "\"/run/other.sock\"", None),
        ("vty_port", "2700", Some("vty_port")),
        ("vty_password", "\"Other-Secret-9\"", Some("vty_password")),
        (
            "enable_password",
            "\"Other-Enable-9\"",
            Some("enable_password"),
        ),
        ("host_namespace", "\"hostside\"", Some("host_namespace")),
        ("bgpd_path", "\"/usr/local/sbin/bgpd\"", Some("bgpd_path")),
    ] {
        let text = BASE.replace(
            "[controller]\n",
            &format!("[controller]\n{key} = {value}\n"),
        );
        let new = plan(&cfg(&text));
        assert_eq!(
            old.rebuild_reasons(&new),
            why.into_iter().collect::<Vec<_>>(),
            "{key}"
        );
    }
}

#[tokio::test(start_paused = true)]
async fn live_keys_reset_nothing_and_the_status_timer_follows_status_interval() {
    let (fx, mut h) = started();
    h.apply(&cfg(BASE)).await;
    configured(&h).await;
    // status_interval = 1: about ten reads in ten seconds.
    let r0 = fx.peer_reads();
    tokio::time::sleep(Duration::from_secs(10)).await;
    let fast = fx.peer_reads() - r0;
    assert!((9..=11).contains(&fast), "{fast} reads in 10 s at 1 s");

    // Every live change at once: the timer, the backoffs, a peer's description, password,
    // timers and passive flag, the port's networks.
    let text = BASE
        .replace("status_interval = 1", "status_interval = 5")
        .replace(
            "restart_backoff_initial_ms = 100",
            "restart_backoff_initial_ms = 200",
        )
        .replace(
            "keepalive = 10",
            "keepalive = 20\ndescription = \"upstream\"\npassword = \"pw\"\npassive = true",
        )
        .replace(
            "networks = [\"203.0.113.0/24\"]",
            "networks = [\"203.0.113.0/24\", \"198.51.100.0/24\"]",
        );
    let report = h.apply(&cfg(&text)).await;
    assert!(
        report.added.is_empty() && report.removed.is_empty(),
        "{report:?}"
    );
    let s = configured(&h).await;
    assert_eq!(s.port_restarts, 0);
    assert_eq!(rebuilds(&fx), 0, "{:?}", fx.log());
    let last = fx.applied_lines("p1").last().cloned().unwrap_or_default();
    for l in [
        "neighbor 192.0.2.2 description upstream",
        "neighbor 192.0.2.2 password pw",
        "neighbor 192.0.2.2 timers 20 30",
        "neighbor 192.0.2.2 passive",
        "network 198.51.100.0/24",
    ] {
        assert!(last.iter().any(|x| x == l), "{l:?} not in {last:?}");
    }
    // status_interval = 5: about four reads in twenty seconds.
    let r1 = fx.peer_reads();
    tokio::time::sleep(Duration::from_secs(20)).await;
    let slow = fx.peer_reads() - r1;
    assert!((3..=5).contains(&slow), "{slow} reads in 20 s at 5 s");
}

#[tokio::test(start_paused = true)]
async fn a_new_prefix_and_run_dir_leave_nothing_of_the_old_names() {
    let (fx, mut h) = started();
    h.apply(&cfg(BASE)).await;
    configured(&h).await;
    let old_files: Vec<PathBuf> = [
        "/run/fake-old/zebra-p1.sock",
        "/run/fake-old/bgpd-p1.pid",
        "/run/fake-old/bgpd-p1.conf",
    ]
    .iter()
    .map(PathBuf::from)
    .collect();
    assert!(fx.containers().contains("old-p1"));
    assert!(fx.datapath().groups().contains(&"old-p1".to_string()));
    for f in &old_files {
        assert!(fx.files().contains(f), "{f:?} not created");
    }

    let text = BASE
        .replace("prefix = \"old\"", "prefix = \"new\"")
        .replace("/run/fake-old", "/run/fake-new");
    h.apply(&cfg(&text)).await;
    let s = configured(&h).await;
    assert_eq!(s.namespace, "new-p1");
    assert_eq!(s.port_restarts, 1);
    // Nothing of the old names: container, flow group, files.
    assert_eq!(fx.containers().into_iter().collect::<Vec<_>>(), ["new-p1"]);
    assert_eq!(fx.datapath().groups(), ["new-p1"]);
    let files = fx.files();
    for f in &old_files {
        assert!(!files.contains(f), "{f:?} left behind: {files:?}");
    }
    assert!(files.contains(&PathBuf::from("/run/fake-new/zebra-p1.sock")));
    // The teardown named the old port parts, the setup the new ones.
    let log = fx.log();
    let destroy = log.iter().position(|l| l == "destroy p1").unwrap();
    assert!(log[..destroy].iter().any(|l| l == "remove flows p1"));
}
