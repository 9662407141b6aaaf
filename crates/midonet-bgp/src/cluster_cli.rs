//! `midonet-bgp cluster …`: the store-side twins of the single-host commands — put and remove
//! ports, list hosts, ports' status, published routes (once or following them), and an SDN
//! controller's announcements.
//!
//! `announce`/`withdraw` record the networks in `ROOT/announcements/PORT`; the port's leader
//! merges them into the port's `networks` and applies the difference with the same minimal Vty
//! diff as any configuration change (routing has no separate runtime-announcement API yet).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use cluster::{PortDoc, RouteWatcher, Store, StoreUrl};
use ipnetwork::IpNetwork;
use serde_json::Value;

use crate::cluster::LocalSettings;

/// `midonet-bgp cluster` arguments.
#[derive(Debug, clap::Args)]
pub struct ClusterArgs {
    /// The store: zk://HOST:PORT[,HOST:PORT…]/ROOT.
    #[arg(long)]
    store: String,
    /// ZooKeeper session timeout in milliseconds.
    #[arg(long, default_value_t = 10_000)]
    session_timeout_ms: u64,
    #[command(subcommand)]
    command: ClusterCommand,
}

#[derive(Debug, clap::Subcommand)]
enum ClusterCommand {
    /// Write the ports of a TOML file (`[[port]]` tables, each with `candidates = ["host", …]`),
    /// validated as `check-config` would, to the store.
    PutPort {
        /// The TOML file.
        file: PathBuf,
        /// Host-local settings to validate against (default: the built-in defaults).
        #[arg(long)]
        config: Option<PathBuf>,
    },
    /// Remove a port from the store (its leader stops it).
    RemovePort {
        /// Port name.
        name: String,
    },
    /// List live hosts and the ports each one runs.
    Hosts {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Every port: leader, election order, state, last error.
    Status {
        /// Print JSON.
        #[arg(long)]
        json: bool,
    },
    /// Published learned routes of every port; `--watch` follows them.
    Routes {
        /// Keep following changes (one line per change).
        #[arg(long)]
        watch: bool,
        /// Only this port.
        #[arg(long)]
        port: Option<String>,
        /// Print JSON.
        #[arg(long)]
        json: bool,
        /// With `--watch`: one line per event with the port's route count instead of a line
        /// per prefix (follows a full table without printing it).
        #[arg(long, requires = "watch")]
        counts: bool,
    },
    /// Announce networks from a port (recorded in the store; the leader applies them).
    Announce {
        /// Port name.
        port: String,
        /// Prefixes.
        #[arg(required = true)]
        networks: Vec<IpNetwork>,
    },
    /// Withdraw networks announced with `announce`.
    Withdraw {
        /// Port name.
        port: String,
        /// Prefixes.
        #[arg(required = true)]
        networks: Vec<IpNetwork>,
    },
}

/// Runs one `cluster` command.
pub fn main(args: ClusterArgs) -> ExitCode {
    let url = match StoreUrl::parse(&args.store) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::from(2);
        }
    };
    let rt = match crate::runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let timeout = Duration::from_millis(args.session_timeout_ms.clamp(1000, 600_000));
    match rt.block_on(command(url, timeout, args.command)) {
        Ok(code) => code,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn print_json(v: &Value) -> Result<(), String> {
    outln!(
        "{}",
        serde_json::to_string_pretty(v).map_err(|e| e.to_string())?
    );
    Ok(())
}

/// Reads the `[[port]]` tables of `file`, checks each with the local settings, returns
/// (name, document).
fn read_ports(file: &PathBuf, config: Option<&PathBuf>) -> Result<Vec<(String, PortDoc)>, String> {
    let local = Arc::new(LocalSettings::load(config.map(|p| p.as_path()))?);
    let text = std::fs::read_to_string(file)
        .map_err(|e| format!("{}: cannot read: {e}", file.display()))?;
    let table: toml::Table = text
        .parse()
        .map_err(|e| format!("{}: invalid TOML: {e}", file.display()))?;
    let Some(toml::Value::Array(ports)) = table.get("port") else {
        return Err(format!("{}: no [[port]] table", file.display()));
    };
    if let Some(k) = table.keys().find(|k| *k != "port") {
        return Err(format!(
            "{}: unexpected key {k:?} (only [[port]] tables)",
            file.display()
        ));
    }
    let mut out = Vec::new();
    let mut problems = Vec::new();
    for (i, p) in ports.iter().enumerate() {
        let json = serde_json::to_value(p).map_err(|e| format!("port[{i}]: {e}"))?;
        let Value::Object(mut obj) = json else {
            return Err(format!("port[{i}]: not a table"));
        };
        let name = match obj.get("name") {
            Some(Value::String(n)) => n.clone(),
            _ => {
                problems.push(format!("port[{i}].name: required"));
                continue;
            }
        };
        let candidates: Vec<String> = match obj.remove("candidates") {
            Some(Value::Array(c)) => c
                .into_iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            _ => {
                problems.push(format!(
                    "port[{i}].candidates: required, a list of host ids"
                ));
                continue;
            }
        };
        if let Err(errs) = local.config_for(&[(name.clone(), obj.clone())]) {
            problems.extend(errs.into_iter().map(|e| format!("port {name:?}: {e}")));
            continue;
        }
        let doc = PortDoc::new(candidates, obj);
        if let Err(e) = doc.check(&name) {
            problems.push(format!("port {name:?}: {e}"));
            continue;
        }
        out.push((name, doc));
    }
    if problems.is_empty() {
        Ok(out)
    } else {
        Err(format!(
            "{}: {} invalid value(s):\n  {}",
            file.display(),
            problems.len(),
            problems.join("\n  ")
        ))
    }
}

async fn command(
    url: StoreUrl,
    timeout: Duration,
    cmd: ClusterCommand,
) -> Result<ExitCode, String> {
    // Validate input before touching the store.
    let ports = match &cmd {
        ClusterCommand::PutPort { file, config } => match read_ports(file, config.as_ref()) {
            Ok(p) => Some(p),
            Err(e) => {
                eprintln!("{e}");
                return Ok(ExitCode::from(2));
            }
        },
        _ => None,
    };
    if let ClusterCommand::Routes {
        watch: true,
        port,
        json,
        counts,
    } = &cmd
    {
        let format = match (*json, *counts) {
            (false, false) => WatchFormat::Lines,
            (true, false) => WatchFormat::Json,
            (false, true) => WatchFormat::Counts,
            (true, true) => WatchFormat::CountsJson,
        };
        return watch_routes(&url, timeout, port.as_deref(), format).await;
    }
    let store = Store::connect(&url, timeout)
        .await
        .map_err(|e| e.to_string())?;
    match cmd {
        ClusterCommand::PutPort { .. } => {
            for (name, doc) in ports.unwrap_or_default() {
                store
                    .put_port(&name, &doc)
                    .await
                    .map_err(|e| e.to_string())?;
                outln!("{name}: stored (candidates: {})", doc.candidates.join(", "));
            }
        }
        ClusterCommand::RemovePort { name } => {
            if store.remove_port(&name).await.map_err(|e| e.to_string())? {
                outln!("{name}: removed");
            } else {
                eprintln!("{name}: no such port");
                return Ok(ExitCode::FAILURE);
            }
        }
        ClusterCommand::Hosts { json } => {
            let hosts = store.hosts().await.map_err(|e| e.to_string())?;
            if json {
                let v: Vec<Value> = hosts
                    .iter()
                    .map(|(h, d)| match d {
                        Ok(d) => serde_json::to_value(d).unwrap_or(Value::Null),
                        Err(e) => serde_json::json!({ "host": h, "error": e.to_string() }),
                    })
                    .collect();
                print_json(&Value::Array(v))?;
            } else {
                for (h, d) in hosts {
                    match d {
                        Ok(d) => outln!(
                            "{h}  pid {}  {:?}  runs: {}",
                            d.pid,
                            d.state,
                            d.active.join(", ")
                        ),
                        Err(e) => outln!("{h}  (unreadable: {e})"),
                    }
                }
            }
        }
        ClusterCommand::Status { json } => {
            let ports = store.ports().await.map_err(|e| e.to_string())?;
            let statuses: std::collections::BTreeMap<String, _> = store
                .statuses()
                .await
                .map_err(|e| e.to_string())?
                .into_iter()
                .collect();
            let mut rows = Vec::new();
            for p in ports {
                let election = store.election(&p.name).await.map_err(|e| e.to_string())?;
                let status = statuses.get(&p.name);
                let (state, error, detail) = match status {
                    Some(Ok(s)) => (s.state.clone(), s.error.clone(), s.detail.clone()),
                    Some(Err(e)) => ("unreadable".into(), Some(e.to_string()), Value::Null),
                    None => ("unknown".into(), None, Value::Null),
                };
                let candidates = match &p.doc {
                    Ok(d) => d.candidates.clone(),
                    Err(_) => Vec::new(),
                };
                let doc_error = p.doc.as_ref().err().map(|e| e.to_string());
                rows.push(serde_json::json!({
                    "port": p.name,
                    "version": p.version,
                    "candidates": candidates,
                    "election": election,
                    "leader": election.first(),
                    "state": state,
                    "error": error.or(doc_error),
                    "phase": detail.get("phase"),
                    "peers": detail.get("peers"),
                }));
            }
            if json {
                print_json(&Value::Array(rows))?;
            } else {
                for r in rows {
                    outln!(
                        "{}  leader {}  state {}  phase {}  election [{}]{}",
                        r["port"].as_str().unwrap_or(""),
                        r["leader"].as_str().unwrap_or("-"),
                        r["state"].as_str().unwrap_or("-"),
                        r["phase"].as_str().unwrap_or("-"),
                        r["election"]
                            .as_array()
                            .map(|a| a
                                .iter()
                                .filter_map(Value::as_str)
                                .collect::<Vec<_>>()
                                .join(", "))
                            .unwrap_or_default(),
                        r["error"]
                            .as_str()
                            .map(|e| format!("\n    error: {e}"))
                            .unwrap_or_default()
                    );
                }
            }
        }
        ClusterCommand::Routes { port, json, .. } => {
            let all = store.routes().await.map_err(|e| e.to_string())?;
            let mut out = Vec::new();
            for (p, (meta, table)) in all {
                if port.as_ref().is_some_and(|want| *want != p) {
                    continue;
                }
                if json {
                    out.push(serde_json::json!({
                        "port": p, "host": meta.host, "version": meta.version,
                        "routes": table.iter().map(|(k, v)| serde_json::json!({"prefix": k.to_string(), "paths": v})).collect::<Vec<_>>(),
                    }));
                } else {
                    outln!(
                        "{p} (host {}, version {}, {} routes)",
                        meta.host,
                        meta.version,
                        table.len()
                    );
                    for (prefix, paths) in table {
                        outln!("  {prefix}{}", via(&paths));
                    }
                }
            }
            if json {
                print_json(&Value::Array(out))?;
            }
        }
        ClusterCommand::Announce { port, networks } => {
            let now = store
                .update_announcements(&port, &networks, &[])
                .await
                .map_err(|e| e.to_string())?;
            outln!("{port}: announcing {}", list(&now));
        }
        ClusterCommand::Withdraw { port, networks } => {
            let now = store
                .update_announcements(&port, &[], &networks)
                .await
                .map_err(|e| e.to_string())?;
            outln!("{port}: announcing {}", list(&now));
        }
    }
    Ok(ExitCode::SUCCESS)
}

fn list(n: &[IpNetwork]) -> String {
    if n.is_empty() {
        "nothing".into()
    } else {
        n.iter()
            .map(|n| n.to_string())
            .collect::<Vec<_>>()
            .join(", ")
    }
}

fn via(paths: &[cluster::PublishedPath]) -> String {
    paths
        .iter()
        .map(|p| match p.gateway {
            Some(g) => format!(" via {g} [{}/{}]", p.distance, p.metric),
            None => format!(" direct [{}/{}]", p.distance, p.metric),
        })
        .collect()
}

/// How `cluster routes --watch` prints an event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum WatchFormat {
    /// A `+`/`-` line per prefix.
    Lines,
    /// One JSON object with every prefix.
    Json,
    /// One line with the port's route count after the event (`--counts`).
    Counts,
    /// One JSON object with the counts (`--counts --json`).
    CountsJson,
}

/// The line `routes --watch --counts` prints for one event: the routes the watcher holds for
/// the port after it (`held`), and what the event changed.
fn counts_text(ev: &cluster::RouteEvent, held: usize, json: bool) -> Vec<u8> {
    let host = ev.host.as_deref();
    let line = if json {
        serde_json::json!({
            "port": ev.port, "host": host, "version": ev.version, "routes": held,
            "replaced": ev.replaced.len(), "withdrawn": ev.withdrawn.len(),
        })
        .to_string()
    } else {
        format!(
            "= {} {held} routes (version {}, host {}, {} replaced, {} withdrawn)",
            ev.port,
            ev.version,
            host.unwrap_or("-"),
            ev.replaced.len(),
            ev.withdrawn.len()
        )
    };
    let mut out = line.into_bytes();
    out.push(b'\n');
    out
}

/// The lines `routes --watch` prints for one event: one JSON object, or a `+`/`-` line per
/// prefix.
fn event_text(ev: &cluster::RouteEvent, json: bool) -> Vec<u8> {
    use std::io::Write;
    let mut out = Vec::with_capacity(64 * (ev.replaced.len() + ev.withdrawn.len()) + 256);
    // Writing to a Vec cannot fail.
    if json {
        let line = serde_json::json!({
            "port": ev.port, "host": ev.host, "version": ev.version,
            "replaced": ev.replaced.iter().map(|(k, v)| serde_json::json!({"prefix": k.to_string(), "paths": v})).collect::<Vec<_>>(),
            "withdrawn": ev.withdrawn.iter().map(|k| k.to_string()).collect::<Vec<_>>(),
        });
        let _ = writeln!(out, "{line}");
    } else {
        for (prefix, paths) in &ev.replaced {
            let _ = writeln!(out, "+ {} {prefix}{}", ev.port, via(paths));
        }
        for prefix in &ev.withdrawn {
            let _ = writeln!(out, "- {} {prefix}", ev.port);
        }
    }
    out
}

async fn watch_routes(
    url: &StoreUrl,
    timeout: Duration,
    port: Option<&str>,
    format: WatchFormat,
) -> Result<ExitCode, String> {
    let mut w = RouteWatcher::start(url, timeout)
        .await
        .map_err(|e| e.to_string())?;
    while let Some(ev) = w.next().await {
        if port.is_some_and(|p| p != ev.port) {
            continue;
        }
        // One event (a whole table, at first) is formatted and written at once, off the
        // runtime: line by line, a million routes were a million writes to the pipe.
        let text = match format {
            WatchFormat::Counts | WatchFormat::CountsJson => {
                counts_text(&ev, w.count(&ev.port), format == WatchFormat::CountsJson)
            }
            WatchFormat::Lines | WatchFormat::Json => {
                tokio::task::spawn_blocking(move || event_text(&ev, format == WatchFormat::Json))
                    .await
                    .map_err(|e| e.to_string())?
            }
        };
        tokio::task::spawn_blocking(move || {
            use std::io::Write;
            let mut out = std::io::stdout().lock();
            out.write_all(&text).and_then(|()| out.flush())
        })
        .await
        .map_err(|e| e.to_string())?
        .map_err(|e| format!("stdout: {e}"))?;
    }
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn an_event_is_one_text_of_a_line_per_prefix() {
        let ev = cluster::RouteEvent {
            port: "p1".into(),
            host: Some("h1".into()),
            version: 3,
            replaced: vec![(
                "198.51.100.0/24".parse().unwrap(),
                vec![cluster::PublishedPath {
                    gateway: Some("192.0.2.2".parse().unwrap()),
                    distance: 20,
                    metric: 0,
                    weight: None,
                }],
            )],
            withdrawn: vec!["203.0.113.0/24".parse().unwrap()],
        };
        assert_eq!(
            String::from_utf8(event_text(&ev, false)).unwrap(),
            "+ p1 198.51.100.0/24 via 192.0.2.2 [20/0]\n- p1 203.0.113.0/24\n"
        );
        assert_eq!(
            String::from_utf8(counts_text(&ev, 7, false)).unwrap(),
            "= p1 7 routes (version 3, host h1, 1 replaced, 1 withdrawn)\n"
        );
        let counts: serde_json::Value = serde_json::from_slice(&counts_text(&ev, 7, true)).unwrap();
        assert_eq!(
            counts,
            serde_json::json!({"port": "p1", "host": "h1", "version": 3, "routes": 7, "replaced": 1, "withdrawn": 1})
        );
        let json = String::from_utf8(event_text(&ev, true)).unwrap();
        assert!(json.ends_with("}\n") && json.lines().count() == 1, "{json}");
        assert!(json.contains(r#""withdrawn":["203.0.113.0/24"]"#), "{json}");
    }
}
