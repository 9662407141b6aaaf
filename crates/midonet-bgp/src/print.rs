//! Human-readable output of `status` and `routes`.

use std::fmt::Write;

use routing::kernel::TableStats;
use routing::{PortStatus, RouteChange, RoutePath, RouteRow, SinkEvent};

fn paths(p: &[RoutePath]) -> String {
    p.iter()
        .map(|p| {
            let gw = p
                .gateway
                .map(|g| g.to_string())
                .unwrap_or_else(|| "-".into());
            format!(
                "via {gw} (distance {}, metric {}, weight {})",
                p.distance, p.metric, p.weight
            )
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
            "  {:<40} {:>10} {:<12} {:>10} {:>8} {:>8} {:>9} {:>8}",
            "peer", "AS", "state", "uptime", "rcvd", "sent", "installed", "refused"
        );
        for n in &p.peers {
            let _ = writeln!(
                out,
                "  {:<40} {:>10} {:<12} {:>10} {:>8} {:>8} {:>9} {:>8}",
                n.address.to_string(),
                opt(n.remote_as),
                n.state,
                uptime(n.uptime_secs),
                opt(n.prefixes_received),
                opt(n.prefixes_sent),
                opt(n.routes_installed),
                n.routes_refused,
            );
            if let Some(why) = &n.last_reset {
                let _ = writeln!(out, "    last reset: {why}");
            }
            if n.session_resets > 0 {
                let _ = writeln!(out, "    session resets: {}", n.session_resets);
            }
        }
        let r = &p.routes;
        let _ = writeln!(
            out,
            "  learned routes: {} accepted (cap {}), {} installed, {} refused by the cap; {} adds and {} deletes received",
            r.accepted,
            r.max_routes,
            opt(r.installed),
            r.refused,
            r.received,
            r.deleted,
        );
        for f in &p.flows {
            let _ = writeln!(
                out,
                "  flows {} {}: {} flows, {} packets, {} bytes",
                f.kind,
                f.direction.as_str(),
                f.flows,
                f.packets,
                f.bytes,
            );
        }
        announced(&mut out, p);
    }
    out
}

/// The kernel sink's tables, one line each (with the last error on its own line).
pub fn fib(tables: &[TableStats]) -> String {
    let mut out = String::new();
    for t in tables {
        let _ = writeln!(
            out,
            "FIB {}: {} routes installed, {} stale{}, {} refused by the kernel{}",
            t.key,
            t.installed,
            t.stale,
            if t.reconciling { " (reconciling)" } else { "" },
            t.refused,
            if t.link_rereads > 0 {
                format!(
                    "; {} written again after link changes ({} table reads)",
                    t.restored, t.link_rereads
                )
            } else {
                String::new()
            },
        );
        if let Some(e) = &t.last_error {
            let _ = writeln!(out, "  last error: {e}");
        }
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

/// One page of the `routes` text: a port's header line before its first route.
pub fn routes(rows: &[RouteRow], last_port: &mut Option<String>) -> String {
    let mut out = String::new();
    for r in rows {
        if last_port.as_deref() != Some(r.port.as_str()) {
            let _ = writeln!(out, "port {}", r.port);
            *last_port = Some(r.port.clone());
        }
        let _ = writeln!(out, "  {:<43} {}", r.prefix.to_string(), paths(&r.paths));
    }
    out
}

/// One batch of route changes, as the demo prints it.
pub fn sink_event(ev: &SinkEvent) -> String {
    let mut out = String::new();
    match ev {
        SinkEvent::Apply { port, changes } => {
            for c in changes {
                let _ = match c {
                    RouteChange::Replace { prefix, paths: p } => {
                        writeln!(out, "[{port}] learned  {prefix} {}", paths(p))
                    }
                    RouteChange::Withdraw { prefix } => {
                        writeln!(out, "[{port}] withdrawn {prefix}")
                    }
                };
            }
        }
        SinkEvent::WithdrawAll { port } => {
            let _ = writeln!(out, "[{port}] every route withdrawn");
        }
        other => {
            let _ = writeln!(out, "{other:?}");
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use routing::kernel::TableKey;

    use super::*;

    #[test]
    fn a_fib_table_is_one_line_and_its_error_another() {
        let t = TableStats {
            key: TableKey {
                namespace: None,
                table: 200,
                metric: 20,
            },
            installed: 12,
            stale: 3,
            refused: 1,
            reconciling: true,
            link_rereads: 2,
            restored: 40,
            last_error: Some("1 route(s) refused by the kernel".into()),
        };
        assert_eq!(
            fib(&[t]),
            "FIB table 200 metric 20 in the host namespace: 12 routes installed, 3 stale (reconciling), 1 refused by the kernel; 40 written again after link changes (2 table reads)\n  last error: 1 route(s) refused by the kernel\n"
        );
        assert_eq!(fib(&[]), "");
    }
}
