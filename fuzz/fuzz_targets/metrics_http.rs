//! The metrics endpoint's request heads without a socket: arbitrary bytes, delivered in chunks
//! whose size the first byte chooses, are cut at the end of the head and checked the way the
//! responder does; a head is accepted only when it is a `GET /metrics` request line of
//! HTTP/1.0 or 1.1 within the size bound. The same bytes as a peer's state text render to
//! OpenMetrics text with every sample on its own line.
#![no_main]

use libfuzzer_sys::fuzz_target;
use midonet_bgp::metrics::http::{head_end, parse_head, MAX_HEAD};
use midonet_bgp::metrics::{label_value, Metrics, Snapshot, MAX_LABEL};

fuzz_target!(|data: &[u8]| {
    let Some((&sel, stream)) = data.split_first() else { return };
    let chunk = usize::from(sel) * 16 + 1;
    let mut buf = Vec::new();
    for piece in stream.chunks(chunk) {
        buf.extend_from_slice(piece);
        if let Some(end) = head_end(&buf) {
            assert!(end <= buf.len());
            if end <= MAX_HEAD && parse_head(&buf[..end]).is_ok() {
                let line = buf.split(|&b| b == b'\n').next().unwrap_or_default();
                assert!(line.starts_with(b"GET /metrics"), "{line:?}");
                assert!(
                    line.ends_with(b"HTTP/1.1") || line.ends_with(b"HTTP/1.0")
                        || line.ends_with(b"HTTP/1.1\r") || line.ends_with(b"HTTP/1.0\r")
                );
            }
            break;
        }
        if buf.len() > MAX_HEAD {
            break;
        }
    }
    let text = String::from_utf8_lossy(stream);
    let v = label_value(&text);
    assert!(!v.contains('\n'));
    assert!(v.len() <= MAX_LABEL * 2);
    // Quotes only escaped ones: every '"' follows an odd run of backslashes.
    let b = v.as_bytes();
    for (i, &c) in b.iter().enumerate() {
        if c == b'"' {
            let run = b[..i].iter().rev().take_while(|&&x| x == b'\\').count();
            assert!(run % 2 == 1, "{v:?}");
        }
    }
    let port = routing::PortStatus {
        name: "p1".into(),
        phase: routing::PortPhase::Running,
        namespace: "mnb-p1".into(),
        bgpd_pid: None,
        bgpd_restarts: 0,
        port_restarts: 0,
        config_applied: true,
        zebra_connected: true,
        last_error: None,
        peers: vec![routing::PeerStatus {
            address: std::net::Ipv4Addr::new(192, 0, 2, 2).into(),
            remote_as: None,
            state: text.into_owned(),
            uptime_secs: Some(1),
            prefixes_received: None,
            prefixes_sent: None,
            last_reset: None,
            routes_installed: None,
            routes_refused: 0,
            session_resets: 0,
        }],
        routes: routing::RouteCounts::default(),
        counters: routing::PortCounters::default(),
        announced: Vec::new(),
        flows: Vec::new(),
    };
    let out = Metrics::new()
        .render(Snapshot { ports: vec![port], bgpd: None, cluster: None, fib: Vec::new() })
        .expect("renders");
    for line in out.lines() {
        assert!(line.starts_with('#') || line.starts_with("midonet_bgp_"), "{line:?}");
    }
});
