//! Human-readable output of `status` and `routes`.

use std::fmt::Write;

use routing::{PortStatus, RoutePath};

fn paths(p: &[RoutePath]) -> String {
    p.iter()
        .map(|p| {
            let gw = p
                .gateway
                .map(|g| g.to_string())
                .unwrap_or_else(|| "-".into());
            format!("via {gw} (distance {}, metric {})", p.distance, p.metric)
        })
        .collect::<Vec<_>>()
        .join(", ")
}

fn uptime(s: Option<u64>) -> String {
    match s {
        None => "-".into(),
        Some(s) => format!("{}h{:02}m{:02}s", s / 3600, (s / 60) % 60, s % 60),
    }
}

fn opt<T: ToString>(v: Option<T>) -> String {
    v.map(|v| v.to_string()).unwrap_or_else(|| "-".into())
}

/// The `status` text.
pub fn status(ports: &[PortStatus]) -> String {
    let mut out = String::new();
    if ports.is_empty() {
        out.push_str("no BGP ports configured\n");
    }
    for p in ports {
        let _ = writeln!(
            out,
            "port {}: {:?}, namespace {}, bgpd pid {}, bgpd restarts {}, port rebuilds {}, config {}, zebra {}",
            p.name,
            p.phase,
            p.namespace,
            opt(p.bgpd_pid),
            p.bgpd_restarts,
            p.port_restarts,
            if p.config_applied { "applied" } else { "pending" },
            if p.zebra_connected { "connected" } else { "down" },
        );
        if let Some(e) = &p.last_error {
            let _ = writeln!(out, "  last error: {e}");
        }
        let _ = writeln!(
            out,
            "  {:<40} {:>10} {:<12} {:>10} {:>8} {:>8}",
            "peer", "AS", "state", "uptime", "rcvd", "sent"
        );
        for n in &p.peers {
            let _ = writeln!(
                out,
                "  {:<40} {:>10} {:<12} {:>10} {:>8} {:>8}",
                n.address.to_string(),
                opt(n.remote_as),
                n.state,
                uptime(n.uptime_secs),
                opt(n.prefixes_received),
                opt(n.prefixes_sent)
            );
        }
        let _ = writeln!(out, "  learned routes: {}", p.routes.len());
        announced(&mut out, p);
    }
    out
}

/// The runtime announcements of a port, one per line.
fn announced(out: &mut String, p: &PortStatus) {
    for a in &p.announced {
        let mut line = format!("  announced {}", a.prefix);
        if !a.communities.is_empty() {
            let c: Vec<String> = a.communities.iter().map(|c| c.to_string()).collect();
            let _ = write!(line, " community {}", c.join(" "));
        }
        if let Some(med) = a.med {
            let _ = write!(line, " med {med}");
        }
        let _ = writeln!(out, "{line}");
    }
}

/// The `routes` text.
pub fn routes(ports: &[PortStatus]) -> String {
    let mut out = String::new();
    for p in ports {
        let _ = writeln!(out, "port {} ({} routes)", p.name, p.routes.len());
        for r in &p.routes {
            let _ = writeln!(out, "  {:<43} {}", r.prefix.to_string(), paths(&r.paths));
        }
    }
    out
}

/// One route change, as the demo prints it.
pub fn route_change(c: &routing::RouteChange) -> String {
    match c {
        routing::RouteChange::Replace {
            port,
            prefix,
            paths: p,
        } => format!("[{port}] learned  {prefix} {}", paths(p)),
        routing::RouteChange::Withdraw { port, prefix } => {
            format!("[{port}] withdrawn {prefix}")
        }
        _ => format!("{c:?}"),
    }
}
