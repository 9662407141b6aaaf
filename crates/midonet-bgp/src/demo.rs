//! `midonet-bgp demo`: a self-contained lab on one machine.
//!
//! ```text
//!  namespace mbgpdemo-up            namespace mbgpdemo-host (plays the host)        namespace mnbd-edge
//!  FRR bgpd AS 65002                                                                our bgpd AS 65001
//!  prov0 192.0.2.2/24  <== veth ==> up0 (uplink) --tc--> mnbd-edge <== veth ==> mnbd-edge_m 192.0.2.1/24
//!        2001:db8::2/64                            bridge mnbd-edge_br <== veth ==> mnbd-edge_vm (Vty)
//! ```
//!
//! The handler builds everything right of `up0`; the lab builds the rest. Ctrl-C or SIGTERM (or
//! `--duration`, `--exit-when-converged`) removes everything.

use std::collections::{BTreeMap, BTreeSet};
use std::net::IpAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use ipnetwork::IpNetwork;
use routing::config::Config;
use routing::{ChannelSink, PortStatus, RouteSink, RoutingHandler, SinkEvent, TableSink};
use tokio::signal::unix::{signal, SignalKind};
use tokio::sync::mpsc;

use crate::control::{ControlServer, Pending, Reply, Request};
use crate::print;
use lab::{Bgpd, BgpdOptions, LabNs};

/// Flags of `midonet-bgp demo`.
#[derive(Debug, Clone, clap::Args)]
pub struct DemoArgs {
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECS", value_parser = clap::value_parser!(u64).range(1..=86400))]
    pub duration: Option<u64>,
    /// Stop with status 0 as soon as sessions are up and routes flow both ways (with
    /// `--duration` as the deadline: status 1 if not converged by then).
    #[arg(long)]
    pub exit_when_converged: bool,
    /// FRR's bgpd binary.
    #[arg(long, default_value = "/usr/lib/frr/bgpd")]
    pub bgpd: PathBuf,
    /// Directory for the lab's files and sockets.
    #[arg(long, default_value = "/run/midonet-bgp-demo")]
    pub run_dir: PathBuf,
}

const HOST_NS: &str = "mbgpdemo-host";
/// Held (flock) while a demo runs.
const LOCK_FILE: &str = "/run/midonet-bgp-demo.lock";
const UPSTREAM_NS: &str = "mbgpdemo-up";
/// Prefixes the upstream provider advertises.
const UPSTREAM_PREFIXES: [&str; 4] = [
    "198.51.100.0/25",
    "198.51.100.128/25",
    "2001:db8:1000::/48",
    "2001:db8:2000::/48",
];
/// Prefixes our port advertises.
const OUR_NETWORKS: [&str; 2] = ["203.0.113.0/24", "2001:db8:100::/48"];

fn upstream_config(dir: &Path) -> String {
    let mut s = String::new();
    s.push_str("hostname upstream\npassword demo\n");
    s.push_str(&format!("log file {}/bgpd.log\n!\n", dir.display()));
    s.push_str("router bgp 65002\n bgp router-id 192.0.2.2\n no bgp ebgp-requires-policy\n");
    s.push_str(" no bgp network import-check\n");
    s.push_str(" neighbor 192.0.2.1 remote-as 65001\n neighbor 192.0.2.1 timers 5 15\n");
    s.push_str(" neighbor 192.0.2.1 timers connect 5\n");
    s.push_str(" neighbor 2001:db8::1 remote-as 65001\n neighbor 2001:db8::1 timers 5 15\n");
    s.push_str(" neighbor 2001:db8::1 timers connect 5\n");
    s.push_str(" address-family ipv4 unicast\n");
    for p in UPSTREAM_PREFIXES.iter().filter(|p| !p.contains(':')) {
        s.push_str(&format!("  network {p}\n"));
    }
    s.push_str("  no neighbor 2001:db8::1 activate\n exit-address-family\n");
    s.push_str(" address-family ipv6 unicast\n");
    for p in UPSTREAM_PREFIXES.iter().filter(|p| p.contains(':')) {
        s.push_str(&format!("  network {p}\n"));
    }
    s.push_str("  neighbor 2001:db8::1 activate\n exit-address-family\n!\n");
    s
}

fn handler_config(run_dir: &Path) -> String {
    format!(
        r#"[controller]
prefix = "mnbd"
run_dir = "{run}"
host_namespace = "{HOST_NS}"
status_interval = 1
restart_backoff_initial_ms = 200
restart_backoff_max_ms = 5000

[[port]]
name = "edge"
uplink = "up0"
address = "192.0.2.1/24"
address6 = "2001:db8::1/64"
mac = "02:00:5e:00:53:01"
local_as = 65001
networks = [{nets}]

[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 5
description = "upstream provider (IPv4)"

[[port.peer]]
address = "2001:db8::2"
remote_as = 65002
keepalive = 5
hold_time = 15
connect_retry = 5
description = "upstream provider (IPv6)"
"#,
        run = run_dir.join("controller").display(),
        nets = OUR_NETWORKS
            .iter()
            .map(|n| format!("\"{n}\""))
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// Prefixes the upstream bgpd learned from us (`show bgp <afi> unicast json`, paths whose
/// `peerId` is one of our addresses).
fn upstream_learned(up: &Bgpd) -> BTreeSet<String> {
    let mut out = BTreeSet::new();
    for afi in ["ipv4", "ipv6"] {
        let Ok(text) = up.vtysh(&[&format!("show bgp {afi} unicast json")]) else {
            continue;
        };
        let Ok(v) = serde_json::from_str::<serde_json::Value>(&text) else {
            continue;
        };
        let Some(routes) = v.get("routes").and_then(|r| r.as_object()) else {
            continue;
        };
        for (prefix, paths) in routes {
            let from_us = paths.as_array().is_some_and(|ps| {
                ps.iter().any(|p| {
                    p.get("peerId")
                        .and_then(|x| x.as_str())
                        .is_some_and(|id| id == "192.0.2.1" || id == "2001:db8::1")
                })
            });
            if from_us {
                out.insert(prefix.clone());
            }
        }
    }
    out
}

fn converged(status: &[PortStatus], table: &TableSink, at_upstream: &BTreeSet<String>) -> bool {
    let Some(p) = status.first() else {
        return false;
    };
    let learned: BTreeSet<IpNetwork> = table.routes(&p.name).into_keys().collect();
    let all_learned = UPSTREAM_PREFIXES
        .iter()
        .filter_map(|s| s.parse::<IpNetwork>().ok())
        .all(|n| learned.contains(&n));
    let all_sent = OUR_NETWORKS.iter().all(|n| at_upstream.contains(*n));
    let sessions = p.peers.len() == 2 && p.peers.iter().all(|n| n.state == "Established");
    sessions && all_learned && all_sent
}

/// Runs the demo; returns the process exit status.
pub fn main(args: DemoArgs) -> ExitCode {
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    rt.block_on(run(args))
}

async fn run(args: DemoArgs) -> ExitCode {
    // SAFETY: geteuid has no preconditions.
    if unsafe { libc::geteuid() } != 0 {
        eprintln!("midonet-bgp demo needs root (it creates network namespaces)");
        return ExitCode::FAILURE;
    }
    if !args.bgpd.is_file() {
        eprintln!(
            "{} not found: install FRR (apt-get install frr) or pass --bgpd",
            args.bgpd.display()
        );
        return ExitCode::FAILURE;
    }
    let config = match Config::parse(&handler_config(&args.run_dir)) {
        Ok(c) => c,
        Err(e) => {
            eprintln!("demo configuration: {e}");
            return ExitCode::FAILURE;
        }
    };
    match demo(&args, config).await {
        Ok(code) => code,
        Err(e) => {
            eprintln!("demo failed: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn demo(
    args: &DemoArgs,
    config: Config,
) -> Result<ExitCode, Box<dyn std::error::Error + Send + Sync>> {
    let mut int = signal(SignalKind::interrupt())?;
    let mut term = signal(SignalKind::terminate())?;
    // The lab's namespace names are fixed: only one demo may run at a time.
    let _lock = DemoLock::acquire(Path::new(LOCK_FILE))?;
    showln!("== building the lab (upstream namespace {UPSTREAM_NS}, host namespace {HOST_NS})");
    let up_dir = args.run_dir.join("upstream");
    let (host, upstream_ns, prov0) = tokio::task::block_in_place(build_lab)?;
    // The provider's bgpd gets its interface list from a zebra server of ours: a zebra-less
    // bgpd knows no interfaces and drops IPv6 updates that carry a link-local next hop.
    let mut zcfg = zebra_server::ServerConfig::new(up_dir.join("zebra.sock"));
    zcfg.interfaces = vec![zebra_server::Interface::loopback(1, Vec::new()), prov0];
    zcfg.router_id = Some(std::net::Ipv4Addr::new(192, 0, 2, 2));
    zcfg.read_coalesce = zebra_server::BGPD_READ_COALESCE;
    let (upstream_zebra, mut upstream_events) = zebra_server::ZebraServer::start(zcfg).await?;
    let opts = BgpdOptions {
        zebra_socket: Some(up_dir.join("zebra.sock")),
        ..BgpdOptions::default()
    };
    let upstream = tokio::task::block_in_place(|| {
        Bgpd::start(
            &args.bgpd,
            &upstream_ns,
            &up_dir,
            &upstream_config(&up_dir),
            &opts,
        )
    })?;
    showln!(
        "== upstream FRR bgpd (AS 65002) advertises {}",
        UPSTREAM_PREFIXES.join(", ")
    );
    showln!(
        "== BGP port 'edge' (AS 65001, 192.0.2.1/24, 2001:db8::1/64) advertises {}",
        OUR_NETWORKS.join(", ")
    );

    // Route batches are printed, then kept in a table that answers `routes`.
    let (sink, mut changes) = ChannelSink::new();
    let table = TableSink::new();
    let mut handler = RoutingHandler::new(routing::real::RealEffects::new(), Arc::new(sink));
    if let Ok(gone) = handler.sweep(&config).await {
        if !gone.is_empty() {
            showln!("== removed leftovers of an earlier demo: {gone:?}");
        }
    }
    let (tx, mut requests) = mpsc::channel::<Pending>(8);
    let control = ControlServer::bind(&config.controller.control_socket, tx).await;
    match &control {
        Ok(_) => showln!(
            "== status: midonet-bgp status --socket {}",
            config.controller.control_socket.display()
        ),
        Err(e) => showln!("== (no control socket: {e})"),
    }
    handler.apply(&config).await;

    let deadline = args
        .duration
        .map(|s| tokio::time::Instant::now() + Duration::from_secs(s));
    let mut tick = tokio::time::interval(Duration::from_secs(1));
    let mut peer_states: BTreeMap<IpAddr, String> = BTreeMap::new();
    let mut at_upstream: BTreeSet<String> = BTreeSet::new();
    let mut last_pid = None;
    let mut was_converged = false;
    let code = loop {
        tokio::select! {
            _ = int.recv() => { showln!("\n== interrupted"); break ExitCode::SUCCESS; }
            _ = term.recv() => { showln!("== terminated"); break ExitCode::SUCCESS; }
            _ = async { match deadline { Some(d) => tokio::time::sleep_until(d).await, None => std::future::pending().await } } => {
                if args.exit_when_converged {
                    showln!("== not converged within {} s", args.duration.unwrap_or(0));
                    break ExitCode::FAILURE;
                }
                showln!("== duration reached");
                break ExitCode::SUCCESS;
            }
            Some(ev) = changes.recv() => {
                { use std::io::Write as _; let _ = write!(std::io::stdout(), "{}", print::sink_event(&ev)); }
                match &ev {
                    SinkEvent::Apply { port, changes } => table.apply(port, changes),
                    SinkEvent::WithdrawAll { port } => table.withdraw_all(port),
                    _ => {}
                }
            }
            Some(_) = upstream_events.recv() => {}
            Some(p) = requests.recv() => {
                let reply = match p.request {
                    Request::Status => Reply::status(handler.status().await),
                    Request::Routes(query) => Reply::page(table.page(&query)),
                    Request::Watch { .. } => Reply::error("watch is served by the connection"),
                    Request::Reload => Reply::error("the demo has a fixed configuration"),
                    Request::Announce { port, announcement } => Reply::outcome(handler.announce(&port, announcement).await),
                    Request::Withdraw { port, prefix } => Reply::outcome(handler.withdraw(&port, prefix).await),
                };
                let _ = p.reply.send(reply);
            }
            _ = tick.tick() => {
                let status = handler.status().await;
                if let Some(p) = status.first() {
                    if p.bgpd_pid != last_pid {
                        if let Some(pid) = p.bgpd_pid {
                            showln!("[edge] bgpd running, pid {pid} (restarts {})", p.bgpd_restarts);
                        }
                        last_pid = p.bgpd_pid;
                    }
                    for n in &p.peers {
                        if peer_states.get(&n.address) != Some(&n.state) {
                            showln!("[edge] peer {} (AS {}) is {}", n.address, n.remote_as.map(|a| a.to_string()).unwrap_or_else(|| "?".into()), n.state);
                            peer_states.insert(n.address, n.state.clone());
                        }
                    }
                }
                let now = tokio::task::block_in_place(|| upstream_learned(&upstream));
                for p in now.difference(&at_upstream) {
                    showln!("[upstream] received {p} from AS 65001");
                }
                for p in at_upstream.difference(&now) {
                    showln!("[upstream] lost {p}");
                }
                at_upstream = now;
                let conv = converged(&status, &table, &at_upstream);
                if conv && !was_converged {
                    showln!("== converged: both sessions Established, {} routes learned, our {} networks at the provider", table.len(), OUR_NETWORKS.len());
                    if args.exit_when_converged {
                        break ExitCode::SUCCESS;
                    }
                    showln!("== Ctrl-C removes everything");
                }
                was_converged = conv;
            }
        }
    };
    showln!("== tearing down");
    handler.shutdown().await;
    drop(control);
    tokio::task::block_in_place(|| drop(upstream));
    upstream_zebra.shutdown().await;
    tokio::task::block_in_place(|| {
        drop(upstream_ns);
        drop(host);
    });
    let _ = std::fs::remove_dir_all(&args.run_dir);
    showln!("== done: namespaces, links, flows, processes and sockets removed");
    Ok(code)
}

/// Builds the namespaces and the uplink veth; returns them with the provider's interface as a
/// zebra server describes it.
fn build_lab() -> Result<(LabNs, LabNs, zebra_server::Interface), lab::LabError> {
    let host = LabNs::replace(HOST_NS)?;
    let upstream = LabNs::replace(UPSTREAM_NS)?;
    lab::veth_between(&host, "up0", &upstream, "prov0")?;
    upstream.add_addr("prov0", "192.0.2.2/24")?;
    upstream.add_addr("prov0", "2001:db8::2/64")?;
    // The link-local address is part of the interface bgpd must know.
    upstream.wait_link_local("prov0", Duration::from_secs(5))?;
    let prov0 = zebra_interface(&upstream, "prov0")?;
    Ok((host, upstream, prov0))
}

/// The interface `ifname` of `ns` as a zebra server describes it (index, MAC, MTU, every address
/// including the IPv6 link-local one).
fn zebra_interface(ns: &LabNs, ifname: &str) -> Result<zebra_server::Interface, lab::LabError> {
    let link = ns.link(ifname)?;
    let addresses = ns
        .addresses(ifname)?
        .into_iter()
        .map(|a| a.network)
        .collect();
    Ok(zebra_server::Interface::ethernet(
        ifname,
        link.index,
        link.mac.map(|m| m.octets()).unwrap_or_default(),
        link.mtu,
        addresses,
    ))
}

/// An exclusive lock on a file (flock), released when dropped or when the process dies.
#[derive(Debug)]
struct DemoLock {
    _file: std::fs::File,
}

/// Another demo holds the lock, or the lock file cannot be opened.
#[derive(Debug, thiserror::Error)]
enum LockError {
    #[error("{path}: {source}")]
    Open {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("another demo is running (it holds {path})")]
    Held { path: PathBuf },
}

impl DemoLock {
    /// Takes the lock, or fails at once if another process holds it.
    fn acquire(path: &Path) -> Result<DemoLock, LockError> {
        use std::os::fd::AsRawFd;
        let file = std::fs::OpenOptions::new()
            .create(true)
            .truncate(false)
            .write(true)
            .open(path)
            .map_err(|source| LockError::Open {
                path: path.to_path_buf(),
                source,
            })?;
        // SAFETY: flock on a file descriptor we own.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc != 0 {
            return Err(LockError::Held {
                path: path.to_path_buf(),
            });
        }
        Ok(DemoLock { _file: file })
    }
}
