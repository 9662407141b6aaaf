//! The metrics endpoint end to end: a controller runs one port against a real FRR bgpd peer,
//! the test scrapes `GET /metrics` during the session and checks the values against what
//! `midonet-bgp status --json` reports, then rejected and applied reloads are counted.
#![allow(clippy::unwrap_used, clippy::expect_used)]

#[path = "../../routing/tests/common/mod.rs"]
mod common;
mod support;

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::Path;
use std::time::Duration;

use common::*;
use support::{bin, Controller};

/// A free loopback port (bound and released; the controller binds it right after).
fn free_port() -> SocketAddr {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
}

/// One HTTP exchange: the status line and the body.
fn http(addr: SocketAddr, request: &str) -> Option<(String, String)> {
    let mut s = TcpStream::connect(addr).ok()?;
    s.set_read_timeout(Some(Duration::from_secs(20))).ok()?;
    s.write_all(request.as_bytes()).ok()?;
    let mut out = String::new();
    s.read_to_string(&mut out).ok()?;
    let (head, body) = out.split_once("\r\n\r\n")?;
    Some((head.lines().next()?.to_string(), body.to_string()))
}

fn scrape(addr: SocketAddr) -> Option<String> {
    let (status, body) = http(addr, "GET /metrics HTTP/1.1\r\nHost: test\r\n\r\n")?;
    (status == "HTTP/1.1 200 OK").then_some(body)
}

/// The value of one series (`name{labels}` exactly as rendered).
fn value(text: &str, series: &str) -> Option<u64> {
    text.lines()
        .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
}

fn status_json(socket: &Path) -> Option<serde_json::Value> {
    let o = bin()
        .args(["status", "--json", "--socket"])
        .arg(socket)
        .output()
        .ok()?;
    if !o.status.success() {
        return None;
    }
    serde_json::from_slice(&o.stdout).ok()
}

fn established(v: &serde_json::Value) -> bool {
    let p = &v["ports"][0];
    p["peers"]
        .as_array()
        .is_some_and(|ps| !ps.is_empty() && ps.iter().all(|x| x["state"] == "Established"))
        && p["routes"]["accepted"].as_u64() == Some(2)
        // bgpd's own count, read at the actor's next status poll.
        && p["peers"][0]["prefixes_received"].as_u64() == Some(2)
        && p["config_applied"] == true
}

fn config_text(lab: &Lab, run: &Path, metrics: SocketAddr, keepalive: u32) -> String {
    format!(
        r#"[controller]
prefix = "{prefix}"
run_dir = "{run}"
host_namespace = "{host}"
status_interval = 1
metrics = "{metrics}"

[[port]]
name = "p1"
uplink = "up1"
address = "192.0.2.1/24"
local_as = 65001
networks = ["203.0.113.0/24"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
keepalive = {keepalive}
hold_time = 30
"#,
        prefix = lab.prefix,
        run = run.display(),
        host = lab.host.name(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metrics_during_a_real_session_match_status() {
    let Some(bgpd) = testkit::require_bgpd("metrics_during_a_real_session_match_status") else {
        return;
    };
    let lab = Lab::new();
    let ns = lab.provider_ns("up1", &["192.0.2.2/24"]);
    let provider = Provider::start(
        &bgpd,
        ns,
        "prov",
        &provider_config(
            65002,
            "192.0.2.2",
            &[("192.0.2.1", 65001)],
            &["198.51.100.0/24".into(), "198.51.100.128/25".into()],
        ),
    )
    .await;
    let run = lab.run_path().join("run");
    let socket = run.join("control.sock");
    let file = lab.run_path().join("midonet-bgp.toml");
    let log = lab.run_path().join("controller.log");
    let addr = free_port();
    std::fs::write(&file, config_text(&lab, &run, addr, 10)).unwrap();
    let ctl = Controller::start(&file, &log);
    assert!(
        wait_blocking(90, || status_json(&socket).is_some_and(|v| established(&v))).await,
        "controller did not converge:\n{}",
        ctl.log()
    );

    let text = scrape(addr).unwrap_or_else(|| panic!("no scrape:\n{}", ctl.log()));
    let status = status_json(&socket).unwrap();
    let port = &status["ports"][0];
    let peer = &port["peers"][0];
    let p = r#"{port="p1"}"#;
    let pp = r#"{port="p1",peer="192.0.2.2"}"#;
    let num = |v: &serde_json::Value| v.as_u64().unwrap_or_else(|| panic!("{v} in {status}"));

    // The bgpd version, as status shows it, is the info metric.
    let b = &status["bgpd"];
    assert!(
        b["version"].is_string() && b["profile"].is_string(),
        "{status}"
    );
    let info = format!(
        r#"midonet_bgp_bgpd_info{{path="{}",suite="{}",version="{}",profile="{}"}}"#,
        bgpd.display(),
        b["suite"].as_str().unwrap(),
        b["version"].as_str().unwrap(),
        b["profile"].as_str().unwrap(),
    );
    assert_eq!(value(&text, &info), Some(1), "{info}\n{text}");

    // Values that do not move during a steady session equal status.
    let same = [
        ("midonet_bgp_bgpd_restarts_total", &port["bgpd_restarts"]),
        ("midonet_bgp_port_rebuilds_total", &port["port_restarts"]),
        (
            "midonet_bgp_vty_config_commands_total",
            &port["counters"]["vty_config_commands"],
        ),
        (
            "midonet_bgp_vty_config_failures_total",
            &port["counters"]["vty_config_failures"],
        ),
        (
            "midonet_bgp_config_applies_total",
            &port["counters"]["config_applies"],
        ),
        (
            "midonet_bgp_config_last_applied_timestamp_seconds",
            &port["counters"]["config_applied_at"],
        ),
    ];
    for (name, want) in same {
        assert_eq!(
            value(&text, &format!("{name}{p}")),
            Some(num(want)),
            "{name}\n{text}\n{status}"
        );
    }
    assert!(num(&port["counters"]["vty_config_commands"]) > 0);
    assert_eq!(
        value(&text, &format!("midonet_bgp_routes_held{p}")),
        Some(num(&port["routes"]["accepted"]))
    );
    assert_eq!(
        value(&text, &format!("midonet_bgp_routes_refused_total{p}")),
        Some(num(&port["routes"]["refused"]))
    );
    assert_eq!(
        value(&text, &format!("midonet_bgp_routes_max{p}")),
        Some(num(&port["routes"]["max_routes"]))
    );
    assert_eq!(
        value(&text, &format!("midonet_bgp_routes_held{p}")),
        Some(2)
    );
    assert_eq!(
        value(
            &text,
            r#"midonet_bgp_port_phase{port="p1",phase="running"}"#
        ),
        Some(1)
    );
    assert_eq!(
        value(&text, &format!("midonet_bgp_port_config_applied{p}")),
        Some(1)
    );
    assert_eq!(
        value(&text, &format!("midonet_bgp_port_zebra_connected{p}")),
        Some(1)
    );
    // The peer, as bgpd reported it at the last poll.
    assert_eq!(
        value(
            &text,
            r#"midonet_bgp_peer_state{port="p1",peer="192.0.2.2",state="Established"}"#
        ),
        Some(1)
    );
    assert_eq!(
        value(
            &text,
            r#"midonet_bgp_peer_state{port="p1",peer="192.0.2.2",state="Active"}"#
        ),
        Some(0)
    );
    assert_eq!(
        value(&text, &format!("midonet_bgp_peer_prefixes_accepted{pp}")),
        Some(num(&peer["prefixes_received"]))
    );
    assert_eq!(num(&peer["prefixes_received"]), 2);
    assert_eq!(
        value(&text, &format!("midonet_bgp_peer_prefixes_sent{pp}")),
        Some(num(&peer["prefixes_sent"]))
    );
    // Moving values: status, taken after the scrape, is at least as far.
    let up = value(&text, &format!("midonet_bgp_peer_uptime_seconds{pp}")).unwrap();
    assert!(up <= num(&peer["uptime_secs"]), "{up} vs {peer}");
    let reads = value(&text, &format!("midonet_bgp_vty_status_reads_total{p}")).unwrap();
    assert!(reads >= 1 && reads <= num(&port["counters"]["vty_status_reads"]));
    // What bgpd sent over Zebra, counted by the zebra server: HELLOs, at least one ROUTE_ADD
    // per learned prefix, nothing undecodable.
    let zebra = |t: &str| {
        value(
            &text,
            &format!(r#"midonet_bgp_zebra_messages_received_total{{port="p1",type="{t}"}}"#),
        )
    };
    let counted = &port["counters"]["zebra_messages"];
    // FRR 8.4's bgpd opens two zclient sessions (the main one and its synchronous one), each
    // with a HELLO.
    assert_eq!(zebra("HELLO"), Some(num(&counted["HELLO"])), "{text}");
    assert!((1..=2).contains(&num(&counted["HELLO"])), "{status}");
    let adds = zebra("ROUTE_ADD").unwrap();
    assert!(
        adds >= 2 && adds <= num(&counted["ROUTE_ADD"]),
        "{adds} {status}"
    );
    assert_eq!(
        value(&text, &format!("midonet_bgp_zebra_decode_errors_total{p}")),
        Some(0)
    );

    // The datapath flows' tc counters: BGP itself went through the redirect both ways, and 5
    // pings from the provider to the port's address (84-byte IPv4 packets, as tc counts from
    // the network header) grow the echo counters by at least what was sent.
    let flow = |t: &str, name: &str, kind: &str, dir: &str| {
        value(
            t,
            &format!(r#"midonet_bgp_{name}{{port="p1",kind="{kind}",direction="{dir}"}}"#),
        )
    };
    for dir in ["to_bgpd", "from_bgpd"] {
        assert!(
            flow(&text, "flow_packets_total", "bgp", dir).is_some_and(|n| n > 0),
            "{dir}\n{text}"
        );
        assert_eq!(
            flow(&text, "flows_installed", "bgp", dir),
            Some(2),
            "{text}"
        );
    }
    let flows_status = port["flows"].as_array().unwrap();
    assert!(
        flows_status
            .iter()
            .any(|f| f["kind"] == "bgp" && f["direction"] == "to_bgpd" && num(&f["packets"]) > 0),
        "{status}"
    );
    let echo = |dir: &str| {
        let t = scrape(addr).unwrap();
        (
            flow(&t, "flow_packets_total", "echo", dir).unwrap_or(0),
            flow(&t, "flow_bytes_total", "echo", dir).unwrap_or(0),
        )
    };
    let (in_p, in_b) = echo("to_bgpd");
    let (out_p, out_b) = echo("from_bgpd");
    let ping = provider
        .ns
        .exec(&["ping", "-c", "5", "-i", "0.2", "-W", "2", "192.0.2.1"])
        .unwrap();
    let said = String::from_utf8_lossy(&ping.stdout);
    assert!(
        ping.status.success() && said.contains("5 received"),
        "{said}"
    );
    let (in_p2, in_b2) = echo("to_bgpd");
    let (out_p2, out_b2) = echo("from_bgpd");
    assert!(
        in_p2 >= in_p + 5 && in_b2 >= in_b + 5 * 84,
        "{in_p}/{in_b} -> {in_p2}/{in_b2}"
    );
    assert!(
        out_p2 >= out_p + 5 && out_b2 >= out_b + 5 * 84,
        "{out_p}/{out_b} -> {out_p2}/{out_b2}"
    );

    // Session resets: none so far; each `clear bgp` on the provider (a NOTIFICATION, then a
    // new session) is counted exactly once, and status agrees.
    let resets = || {
        scrape(addr).and_then(|t| value(&t, &format!("midonet_bgp_peer_session_resets_total{pp}")))
    };
    assert_eq!(resets(), Some(0));
    for n in 1..=2 {
        provider.bgpd.vtysh(&["clear bgp 192.0.2.1"]).unwrap();
        assert!(
            wait_blocking(60, || resets() == Some(n)).await,
            "reset {n} not counted ({:?}):\n{}",
            resets(),
            ctl.log()
        );
        assert!(
            wait_blocking(90, || status_json(&socket).is_some_and(|v| established(&v))).await,
            "session {n} not back:\n{}",
            ctl.log()
        );
        // Back and steady: still counted once (several status reads later).
        tokio::time::sleep(Duration::from_secs(3)).await;
        assert_eq!(resets(), Some(n));
        let v = status_json(&socket).unwrap();
        assert_eq!(
            v["ports"][0]["peers"][0]["session_resets"].as_u64(),
            Some(n),
            "{v}"
        );
    }

    // Anything but GET /metrics is refused by the running endpoint.
    let (line, _) = http(addr, "GET / HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(line, "HTTP/1.1 404 Not Found");
    let (line, _) = http(addr, "PUT /metrics HTTP/1.1\r\n\r\n").unwrap();
    assert_eq!(line, "HTTP/1.1 405 Method Not Allowed");

    // Reloads: a rejected file, then an applied one, are counted by result.
    let reloads = |result: &str| {
        scrape(addr).and_then(|t| {
            value(
                &t,
                &format!(r#"midonet_bgp_reloads_total{{result="{result}"}}"#),
            )
        })
    };
    assert_eq!(reloads("ok"), Some(0));
    assert_eq!(reloads("rejected"), Some(0));
    std::fs::write(&file, config_text(&lab, &run, addr, 70000)).unwrap();
    assert!(
        wait_blocking(30, || reloads("rejected") == Some(1)).await,
        "rejection not counted:\n{}",
        ctl.log()
    );
    std::fs::write(&file, config_text(&lab, &run, addr, 9)).unwrap();
    assert!(
        wait_blocking(30, || reloads("ok") == Some(1)).await,
        "reload not counted:\n{}",
        ctl.log()
    );
    assert_eq!(reloads("rejected"), Some(1));
    // The keepalive change went to bgpd as a diff: more commands, one more apply.
    let applied = num(&port["counters"]["config_applies"]);
    assert!(
        wait_blocking(30, || scrape(addr).and_then(|t| value(
            &t,
            &format!("midonet_bgp_config_applies_total{p}")
        )) == Some(applied + 1))
        .await,
        "{}",
        ctl.log()
    );
}
