#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use routing::kernel::{TableKey, TableStats};
use routing::{PeerStatus, PortCounters, PortPhase, PortStatus};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use super::http::{head_end, parse_head, Refusal, MAX_HEAD};
use super::*;

fn port() -> PortStatus {
    PortStatus {
        name: "uplink1".into(),
        phase: PortPhase::Running,
        namespace: "mnb-uplink1".into(),
        bgpd_pid: Some(42),
        bgpd_restarts: 2,
        port_restarts: 1,
        config_applied: true,
        zebra_connected: true,
        last_error: None,
        peers: vec![
            PeerStatus {
                address: "192.0.2.2".parse().unwrap(),
                remote_as: Some(65002),
                state: "Established".into(),
                uptime_secs: Some(3723),
                prefixes_received: Some(5),
                prefixes_sent: Some(1),
                last_reset: None,
                routes_installed: Some(5),
                routes_refused: 2,
                session_resets: 3,
            },
            PeerStatus {
                address: "2001:db8::2".parse().unwrap(),
                remote_as: Some(65002),
                state: "Idle (Admin)".into(),
                uptime_secs: Some(12),
                prefixes_received: None,
                prefixes_sent: None,
                last_reset: None,
                routes_installed: None,
                routes_refused: 0,
                session_resets: 0,
            },
        ],
        announced: Vec::new(),
        routes: routing::RouteCounts {
            received: 9,
            deleted: 3,
            accepted: 1,
            installed: Some(1),
            refused: 2,
            max_routes: 100,
        },
        counters: PortCounters {
            vty_config_commands: 17,
            vty_config_failures: 1,
            vty_status_reads: 30,
            vty_status_failures: 2,
            config_applies: 3,
            config_applied_at: Some(1_764_000_000),
            zebra_messages: [("HELLO".to_string(), 1), ("ROUTE_ADD".to_string(), 40)]
                .into_iter()
                .collect(),
            zebra_decode_errors: 1,
        },
        flows: vec![
            routing::FlowCounters {
                kind: "bgp".into(),
                direction: routing::FlowDirection::ToBgpd,
                flows: 4,
                packets: 120,
                bytes: 9000,
            },
            routing::FlowCounters {
                kind: "echo".into(),
                direction: routing::FlowDirection::FromBgpd,
                flows: 2,
                packets: 3,
                bytes: 252,
            },
        ],
    }
}

fn bgpd() -> BgpdInfo {
    BgpdInfo {
        path: "/usr/lib/frr/bgpd".into(),
        suite: Some("FRR".into()),
        version: Some("8.4.4".into()),
        profile: Some("frr-8".into()),
        error: None,
    }
}

fn snapshot() -> Snapshot {
    Snapshot {
        ports: vec![port()],
        bgpd: Some(bgpd()),
        cluster: None,
        fib: vec![TableStats {
            key: TableKey {
                namespace: Some("edge".into()),
                table: 200,
                metric: 20,
            },
            installed: 1_000_000,
            stale: 7,
            refused: 2,
            reconciling: true,
            link_rereads: 2,
            restored: 40,
            last_error: Some("1 route(s) refused by the kernel".into()),
        }],
    }
}

/// The value of the sample `name{labels}` (labels as rendered, in order).
fn sample(text: &str, series: &str) -> Option<String> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')
            .map(str::to_string)
    })
}

#[test]
fn every_value_of_the_snapshot_is_rendered_with_help_and_type() {
    let m = Metrics::new();
    m.reload_applied();
    m.reload_applied();
    m.reload_rejected();
    let text = m.render(snapshot()).unwrap();
    let p = r#"port="uplink1""#;
    let peer4 = r#"port="uplink1",peer="192.0.2.2""#;
    let peer6 = r#"port="uplink1",peer="2001:db8::2""#;
    for (series, want) in [
        (
            r#"midonet_bgp_bgpd_info{path="/usr/lib/frr/bgpd",suite="FRR",version="8.4.4",profile="frr-8"}"#.to_string(),
            "1",
        ),
        (r#"midonet_bgp_reloads_total{result="ok"}"#.into(), "2"),
        (r#"midonet_bgp_reloads_total{result="rejected"}"#.into(), "1"),
        (format!(r#"midonet_bgp_port_phase{{{p},phase="running"}}"#), "1"),
        (format!(r#"midonet_bgp_port_phase{{{p},phase="backoff"}}"#), "0"),
        (format!("midonet_bgp_port_config_applied{{{p}}}"), "1"),
        (format!("midonet_bgp_port_zebra_connected{{{p}}}"), "1"),
        (format!("midonet_bgp_bgpd_restarts_total{{{p}}}"), "2"),
        (format!("midonet_bgp_port_rebuilds_total{{{p}}}"), "1"),
        (format!("midonet_bgp_routes_held{{{p}}}"), "1"),
        (format!("midonet_bgp_routes_max{{{p}}}"), "100"),
        (format!("midonet_bgp_routes_received_total{{{p}}}"), "9"),
        (format!("midonet_bgp_routes_refused_total{{{p}}}"), "2"),
        (format!("midonet_bgp_routes_installed{{{p}}}"), "1"),
        (format!("midonet_bgp_peer_routes_refused_total{{{peer4}}}"), "2"),
        (format!("midonet_bgp_vty_config_commands_total{{{p}}}"), "17"),
        (format!("midonet_bgp_vty_config_failures_total{{{p}}}"), "1"),
        (format!("midonet_bgp_vty_status_reads_total{{{p}}}"), "30"),
        (format!("midonet_bgp_vty_status_failures_total{{{p}}}"), "2"),
        (format!("midonet_bgp_config_applies_total{{{p}}}"), "3"),
        (
            format!("midonet_bgp_config_last_applied_timestamp_seconds{{{p}}}"),
            "1764000000",
        ),
        (format!(r#"midonet_bgp_zebra_messages_received_total{{{p},type="HELLO"}}"#), "1"),
        (format!(r#"midonet_bgp_zebra_messages_received_total{{{p},type="ROUTE_ADD"}}"#), "40"),
        (format!("midonet_bgp_zebra_decode_errors_total{{{p}}}"), "1"),
        (format!("midonet_bgp_peer_session_resets_total{{{peer4}}}"), "3"),
        (format!("midonet_bgp_peer_session_resets_total{{{peer6}}}"), "0"),
        (format!(r#"midonet_bgp_flow_packets_total{{{p},kind="bgp",direction="to_bgpd"}}"#), "120"),
        (format!(r#"midonet_bgp_flow_bytes_total{{{p},kind="bgp",direction="to_bgpd"}}"#), "9000"),
        (format!(r#"midonet_bgp_flows_installed{{{p},kind="bgp",direction="to_bgpd"}}"#), "4"),
        (format!(r#"midonet_bgp_flow_packets_total{{{p},kind="echo",direction="from_bgpd"}}"#), "3"),
        (format!(r#"midonet_bgp_flow_bytes_total{{{p},kind="echo",direction="from_bgpd"}}"#), "252"),
        (format!(r#"midonet_bgp_peer_state{{{peer4},state="Established"}}"#), "1"),
        (format!(r#"midonet_bgp_peer_state{{{peer4},state="Idle"}}"#), "0"),
        // "Idle (Admin)" is the Idle state.
        (format!(r#"midonet_bgp_peer_state{{{peer6},state="Idle"}}"#), "1"),
        (format!(r#"midonet_bgp_peer_state{{{peer6},state="Established"}}"#), "0"),
        (format!("midonet_bgp_peer_uptime_seconds{{{peer4}}}"), "3723"),
        (format!("midonet_bgp_peer_prefixes_accepted{{{peer4}}}"), "5"),
        (format!("midonet_bgp_peer_prefixes_sent{{{peer4}}}"), "1"),
        (r#"midonet_bgp_fib_routes{table="200",namespace="edge"}"#.into(), "1000000"),
        (r#"midonet_bgp_fib_routes_stale{table="200",namespace="edge"}"#.into(), "7"),
        (r#"midonet_bgp_fib_routes_refused{table="200",namespace="edge"}"#.into(), "2"),
        (r#"midonet_bgp_fib_reconciling{table="200",namespace="edge"}"#.into(), "1"),
        (r#"midonet_bgp_fib_link_rereads_total{table="200",namespace="edge"}"#.into(), "2"),
        (r#"midonet_bgp_fib_routes_restored_total{table="200",namespace="edge"}"#.into(), "40"),
    ] {
        assert_eq!(sample(&text, &series).as_deref(), Some(want), "{series} in\n{text}");
    }
    // Uptime only for an established session; unknown prefix counts are left out, not 0.
    assert_eq!(
        sample(
            &text,
            &format!("midonet_bgp_peer_uptime_seconds{{{peer6}}}")
        ),
        None
    );
    assert_eq!(
        sample(
            &text,
            &format!("midonet_bgp_peer_prefixes_accepted{{{peer6}}}")
        ),
        None
    );
    // Every family has HELP and TYPE; counters are typed counter and named _total.
    for family in [
        "midonet_bgp_reloads",
        "midonet_bgp_bgpd",
        "midonet_bgp_port_phase",
        "midonet_bgp_bgpd_restarts",
        "midonet_bgp_peer_state",
        "midonet_bgp_peer_uptime_seconds",
        "midonet_bgp_config_last_applied_timestamp_seconds",
    ] {
        assert!(
            text.contains(&format!("# HELP {family} ")),
            "{family}\n{text}"
        );
        assert!(
            text.contains(&format!("# TYPE {family} ")),
            "{family}\n{text}"
        );
    }
    assert!(text.contains("# TYPE midonet_bgp_bgpd_restarts counter"));
    assert!(text.contains("# TYPE midonet_bgp_bgpd info"));
    assert!(text.contains("# UNIT midonet_bgp_peer_uptime_seconds seconds"));
    assert!(text.ends_with("# EOF\n"), "{text}");
}

#[test]
fn no_ports_and_an_undetected_bgpd_render_only_what_is_known() {
    let m = Metrics::new();
    let text = m
        .render(Snapshot {
            ports: Vec::new(),
            bgpd: Some(BgpdInfo {
                path: "/nonexistent/bgpd".into(),
                suite: None,
                version: None,
                profile: None,
                error: Some("cannot run".into()),
            }),
            cluster: None,
            fib: Vec::new(),
        })
        .unwrap();
    // Both reload results from the start; no per-port family without ports; no info without
    // a version (absent(midonet_bgp_bgpd_info) is the alert).
    assert_eq!(
        sample(&text, r#"midonet_bgp_reloads_total{result="ok"}"#).as_deref(),
        Some("0")
    );
    assert_eq!(
        sample(&text, r#"midonet_bgp_reloads_total{result="rejected"}"#).as_deref(),
        Some("0")
    );
    assert!(!text.contains("midonet_bgp_port_phase"), "{text}");
    assert!(!text.contains("midonet_bgp_fib_"), "{text}");
    assert!(!text.contains("midonet_bgp_bgpd_info"), "{text}");
    // Not in cluster mode: no cluster family.
    assert!(!text.contains("midonet_bgp_cluster"), "{text}");
    assert!(text.ends_with("# EOF\n"));
}

#[test]
fn cluster_membership_is_rendered_in_cluster_mode() {
    let c = ClusterCounters::new("h\"0");
    c.assignment(false, vec!["p1".into(), "p2".into()]);
    c.assignment(true, Vec::new());
    c.published("p1", 7, true);
    c.published("p1", 1, false);
    let mut s = snapshot();
    s.cluster = Some(c.status());
    let text = Metrics::new().render(s).unwrap();
    for (series, want) in [
        (r#"midonet_bgp_cluster_member_info{host="h\"0"}"#, "1"),
        ("midonet_bgp_cluster_fenced", "1"),
        ("midonet_bgp_cluster_fencings_total", "1"),
        ("midonet_bgp_cluster_assignment_changes_total", "2"),
        ("midonet_bgp_cluster_ports_led", "0"),
        (
            r#"midonet_bgp_cluster_route_changes_published_total{port="p1"}"#,
            "7",
        ),
        ("midonet_bgp_cluster_publish_failures_total", "1"),
    ] {
        assert_eq!(
            sample(&text, series).as_deref(),
            Some(want),
            "{series} in\n{text}"
        );
    }
    // Fenced: no port is led, so no leader series.
    assert!(!text.contains("midonet_bgp_cluster_port_leader{"), "{text}");
    c.assignment(false, vec!["p2".into()]);
    let mut s = snapshot();
    s.cluster = Some(c.status());
    let text = Metrics::new().render(s).unwrap();
    assert_eq!(
        sample(&text, r#"midonet_bgp_cluster_port_leader{port="p2"}"#).as_deref(),
        Some("1")
    );
    assert_eq!(
        sample(&text, "midonet_bgp_cluster_ports_led").as_deref(),
        Some("1")
    );
    assert_eq!(
        sample(&text, "midonet_bgp_cluster_fenced").as_deref(),
        Some("0")
    );
    assert!(
        text.contains("# TYPE midonet_bgp_cluster_fencings counter"),
        "{text}"
    );
}

#[test]
fn label_values_are_escaped() {
    let mut s = snapshot();
    s.ports[0].peers[0].state = "Weird\"St\\ate\u{7}\nX".into();
    s.ports[0].peers[1].state = "x".repeat(1000);
    s.bgpd = Some(BgpdInfo {
        path: "/opt/a\"b\nc".into(),
        ..bgpd()
    });
    let text = Metrics::new().render(s).unwrap();
    // One line per sample: quote, backslash and newline are escaped, not rendered raw; a
    // state is its first word; a long value is cut.
    assert!(text.contains(r#"state="Weird\"St\\ate "} 1"#), "{text}");
    assert!(text.contains(r#"path="/opt/a\"b\nc""#), "{text}");
    let long = format!(r#"state="{}"}} 1"#, "x".repeat(MAX_LABEL));
    assert!(text.contains(&long), "{text}");
    // Every sample is one line: 6 standard states plus the odd one, for each of 2 peers.
    let states = text
        .lines()
        .filter(|l| l.starts_with("midonet_bgp_peer_state{"))
        .count();
    assert_eq!(states, 14, "{text}");
}

#[test]
fn bgpd_line_for_status() {
    assert_eq!(
        bgpd().line(),
        "bgpd /usr/lib/frr/bgpd: FRR 8.4.4, zebra profile frr-8"
    );
    let broken = BgpdInfo {
        path: "/opt/bgpd".into(),
        suite: Some("FRR".into()),
        version: Some("6.0".into()),
        profile: None,
        error: Some("bgpd FRR 6.0 is not supported (supported: FRR 8.2–9.1)".into()),
    };
    assert_eq!(
        broken.line(),
        "bgpd /opt/bgpd: FRR 6.0 (bgpd FRR 6.0 is not supported (supported: FRR 8.2–9.1))"
    );
}

#[tokio::test]
async fn detection_failure_is_kept_as_text() {
    let info = BgpdInfo::detect(std::path::Path::new("/nonexistent/bgpd")).await;
    assert_eq!(info.version, None);
    assert_eq!(info.profile, None);
    assert!(
        info.error
            .as_deref()
            .is_some_and(|e| e.contains("/nonexistent/bgpd")),
        "{info:?}"
    );
}

#[test]
fn request_heads() {
    let ok = [
        "GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n",
        "GET /metrics HTTP/1.0\r\n\r\n",
        "GET /metrics?name[]=x HTTP/1.1\r\nAccept: */*\r\n\r\n",
        "GET /metrics HTTP/1.1\n\n",
    ];
    for h in ok {
        assert_eq!(parse_head(h.as_bytes()), Ok(()), "{h:?}");
    }
    let refused = [
        ("POST /metrics HTTP/1.1\r\n\r\n", Refusal::MethodNotAllowed),
        ("HEAD /metrics HTTP/1.1\r\n\r\n", Refusal::MethodNotAllowed),
        ("GET / HTTP/1.1\r\n\r\n", Refusal::NotFound),
        ("GET /metrics/ HTTP/1.1\r\n\r\n", Refusal::NotFound),
        ("GET /metricsx HTTP/1.1\r\n\r\n", Refusal::NotFound),
        ("DELETE /other HTTP/1.1\r\n\r\n", Refusal::NotFound),
        (
            "GET /metrics HTTP/2.0\r\n\r\n",
            Refusal::VersionNotSupported,
        ),
        (
            "GET /metrics HTTP/0.9\r\n\r\n",
            Refusal::VersionNotSupported,
        ),
        ("GET /metrics\r\n\r\n", Refusal::BadRequest),
        ("GET  /metrics HTTP/1.1\r\n\r\n", Refusal::BadRequest),
        ("GET /metrics HTTP/1.1 extra\r\n\r\n", Refusal::BadRequest),
        ("get /metrics HTTP/1.1\r\n\r\n", Refusal::BadRequest),
        ("GET /metrics FTP/1.1\r\n\r\n", Refusal::BadRequest),
        ("\r\n\r\n", Refusal::BadRequest),
        ("GET /m\u{e9}trics HTTP/1.1\r\n\r\n", Refusal::BadRequest),
    ];
    for (h, want) in refused {
        assert_eq!(parse_head(h.as_bytes()), Err(want), "{h:?}");
    }
    assert_eq!(
        parse_head(b"\xff\xfe /metrics HTTP/1.1\r\n\r\n"),
        Err(Refusal::BadRequest)
    );
    assert_eq!(head_end(b"GET /metrics HTTP/1.1\r\nHost: x\r\n"), None);
    assert_eq!(head_end(b"GET / HTTP/1.1\r\n\r\nbody"), Some(18));
}

/// A source answering a fixed snapshot (or nothing), counting the scrapes.
struct Fixed {
    snapshot: Option<Snapshot>,
    asked: Arc<AtomicUsize>,
}

impl Source for Fixed {
    async fn snapshot(&self) -> Option<Snapshot> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        self.snapshot.clone()
    }
}

async fn server(snapshot: Option<Snapshot>) -> (MetricsServer, Arc<AtomicUsize>) {
    let asked = Arc::new(AtomicUsize::new(0));
    let source = Fixed {
        snapshot,
        asked: asked.clone(),
    };
    let addr: SocketAddr = "127.0.0.1:0".parse().unwrap();
    let metrics = Metrics::new();
    metrics.reload_rejected();
    (
        MetricsServer::bind(addr, source, metrics).await.unwrap(),
        asked,
    )
}

/// Sends `request` and reads the whole answer (the server closes the connection).
async fn exchange(addr: SocketAddr, request: &[u8]) -> String {
    let mut s = TcpStream::connect(addr).await.unwrap();
    // The server may answer and close before a long request is written whole.
    let _ = s.write_all(request).await;
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(20), s.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

fn status_line(answer: &str) -> &str {
    answer.lines().next().unwrap_or("")
}

#[tokio::test]
async fn serves_get_metrics() {
    let (srv, asked) = server(Some(snapshot())).await;
    let a = exchange(
        srv.local_addr(),
        b"GET /metrics HTTP/1.1\r\nHost: t\r\n\r\n",
    )
    .await;
    assert_eq!(status_line(&a), "HTTP/1.1 200 OK", "{a}");
    assert!(a.contains(&format!("Content-Type: {}\r\n", http::CONTENT_TYPE)));
    assert!(a.contains("Connection: close\r\n"));
    let (head, body) = a.split_once("\r\n\r\n").unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    assert_eq!(len, body.len());
    assert_eq!(
        sample(body, r#"midonet_bgp_reloads_total{result="rejected"}"#).as_deref(),
        Some("1")
    );
    assert_eq!(
        sample(body, r#"midonet_bgp_routes_held{port="uplink1"}"#).as_deref(),
        Some("1")
    );
    assert!(body.ends_with("# EOF\n"));
    assert_eq!(asked.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn bad_requests_are_refused_without_a_scrape() {
    let (srv, asked) = server(Some(snapshot())).await;
    let addr = srv.local_addr();
    for (req, want) in [
        (&b"GET / HTTP/1.1\r\n\r\n"[..], "HTTP/1.1 404 Not Found"),
        (b"GET /status HTTP/1.1\r\n\r\n", "HTTP/1.1 404 Not Found"),
        (
            b"POST /metrics HTTP/1.1\r\nContent-Length: 3\r\n\r\nabc",
            "HTTP/1.1 405 Method Not Allowed",
        ),
        (
            b"GET /metrics HTTP/2.0\r\n\r\n",
            "HTTP/1.1 505 HTTP Version Not Supported",
        ),
        (b"hello\r\n\r\n", "HTTP/1.1 400 Bad Request"),
        (
            b"\x16\x03\x01\x02\x00\x01\x00\x01\xfc\x03\x03\r\n\r\n",
            "HTTP/1.1 400 Bad Request",
        ),
        // Closed before the head ended.
        (b"GET /metrics HTTP/1.1\r\n", ""),
    ] {
        let a = if want.is_empty() {
            let mut s = TcpStream::connect(addr).await.unwrap();
            s.write_all(req).await.unwrap();
            s.shutdown().await.unwrap();
            let mut out = Vec::new();
            let _ = s.read_to_end(&mut out).await;
            String::from_utf8_lossy(&out).into_owned()
        } else {
            exchange(addr, req).await
        };
        if want.is_empty() {
            assert_eq!(status_line(&a), "HTTP/1.1 400 Bad Request", "{a}");
        } else {
            assert_eq!(status_line(&a), want, "{req:?}: {a}");
        }
        if want.contains("405") {
            assert!(a.contains("Allow: GET\r\n"), "{a}");
        }
    }
    assert_eq!(
        asked.load(Ordering::SeqCst),
        0,
        "no refused request scraped"
    );
}

#[tokio::test]
async fn oversize_heads_are_refused() {
    let (srv, asked) = server(Some(snapshot())).await;
    // A header that never ends, past the bound: refused as soon as the bound is passed.
    let mut big = b"GET /metrics HTTP/1.1\r\nX-Filler: ".to_vec();
    big.extend(std::iter::repeat_n(b'a', MAX_HEAD * 4));
    let a = exchange(srv.local_addr(), &big).await;
    assert_eq!(
        status_line(&a),
        "HTTP/1.1 431 Request Header Fields Too Large",
        "{a}"
    );
    // A complete head just past the bound is refused too.
    let mut long = b"GET /metrics HTTP/1.1\r\nX-Filler: ".to_vec();
    long.extend(std::iter::repeat_n(b'a', MAX_HEAD));
    long.extend_from_slice(b"\r\n\r\n");
    let a = exchange(srv.local_addr(), &long).await;
    assert_eq!(
        status_line(&a),
        "HTTP/1.1 431 Request Header Fields Too Large",
        "{a}"
    );
    assert_eq!(asked.load(Ordering::SeqCst), 0);
}

#[tokio::test(start_paused = true)]
async fn a_silent_client_gets_408_and_does_not_hold_the_server() {
    let (srv, _) = server(Some(snapshot())).await;
    let addr = srv.local_addr();
    let mut silent = TcpStream::connect(addr).await.unwrap();
    silent.write_all(b"GET /metr").await.unwrap();
    // Others are served meanwhile.
    let a = exchange(addr, b"GET /metrics HTTP/1.1\r\n\r\n").await;
    assert_eq!(status_line(&a), "HTTP/1.1 200 OK");
    let mut out = Vec::new();
    silent.read_to_end(&mut out).await.unwrap();
    let a = String::from_utf8_lossy(&out);
    assert_eq!(status_line(&a), "HTTP/1.1 408 Request Timeout", "{a}");
}

#[tokio::test]
async fn a_controller_that_cannot_answer_gives_503() {
    let (srv, asked) = server(None).await;
    let a = exchange(srv.local_addr(), b"GET /metrics HTTP/1.1\r\n\r\n").await;
    assert_eq!(status_line(&a), "HTTP/1.1 503 Service Unavailable", "{a}");
    assert_eq!(asked.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn the_address_in_use_is_a_clear_error() {
    let (srv, _) = server(None).await;
    let err = MetricsServer::bind(
        srv.local_addr(),
        Fixed {
            snapshot: None,
            asked: Arc::default(),
        },
        Metrics::new(),
    )
    .await
    .unwrap_err();
    assert!(
        err.to_string()
            .contains(&format!("metrics endpoint {}", srv.local_addr())),
        "{err}"
    );
}

#[tokio::test]
async fn control_source_asks_the_main_loop_for_status() {
    let (tx, mut rx) = tokio::sync::mpsc::channel::<Pending>(4);
    let source = ControlSource::new(tx);
    let answer = tokio::spawn(async move {
        let p = rx.recv().await.unwrap();
        assert_eq!(p.request, Request::Status);
        let _ = p.reply.send(crate::control::Reply {
            ok: true,
            error: None,
            ports: vec![port()],
            page: None,
            bgpd: Some(bgpd()),
            cluster: None,
            fib: snapshot().fib,
        });
        // The loop is gone: the next scrape has nothing.
    });
    assert_eq!(source.snapshot().await, Some(snapshot()));
    answer.await.unwrap();
    assert_eq!(source.snapshot().await, None);
}
