//! The `midonet-bgp` binary: runs BGP for router ports (one FRR bgpd per port, in its own network
//! namespace), checks configuration files, answers `status`/`routes` queries over a local control
//! socket, and runs a self-contained demo lab.

/// `println!` for command output: when stdout is closed (`midonet-bgp status | head -1`) the
/// process ends quietly (exit 0) instead of panicking; another write error ends it with a message.
macro_rules! outln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = writeln!(std::io::stdout(), $($arg)*) {
            crate::stdout_failed(e)
        }
    }};
}

/// `print!` for command output, as [`outln!`].
macro_rules! out {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        if let Err(e) = write!(std::io::stdout(), $($arg)*) {
            crate::stdout_failed(e)
        }
    }};
}

/// `println!` for the demo's running commentary: a closed stdout is ignored, so the demo still
/// tears its lab down when it ends.
macro_rules! showln {
    ($($arg:tt)*) => {{
        use std::io::Write as _;
        let _ = writeln!(std::io::stdout(), $($arg)*);
    }};
}

mod cluster;
mod cluster_cli;
mod demo;
mod notify;
mod print;
mod run;
mod takeover;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use midonet_bgp::{control, watch};
use routing::config::Config;

/// Default control socket when neither `--socket` nor `--config` is given.
const DEFAULT_SOCKET: &str = "/run/midonet-bgp/control.sock";

#[derive(Debug, Parser)]
#[command(
    name = "midonet-bgp",
    version,
    about = "BGP for router ports: FRR bgpd per port in a network namespace, driven over zebra and the Vty"
)]
struct Cli {
    /// Log filter (tracing-subscriber syntax, e.g. `info`, `routing=debug`; default `info`, or
    /// `warn` for the demo); RUST_LOG overrides.
    #[arg(long, global = true)]
    log: Option<String>,
    /// Log format: `text` for people, `json` for collectors (one JSON object per line, with
    /// `port` and `peer` fields where an event concerns them).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
    #[command(subcommand)]
    command: Command,
}

/// How log events are written (to standard error).
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per event and line.
    Json,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the controller with a configuration file (reloaded on SIGHUP and when it changes).
    Run {
        /// The TOML configuration (see docs/config.md). With `--store`: host-local settings
        /// only (`[controller]`, `[defaults]`), optional.
        #[arg(long, short, required_unless_present = "store")]
        config: Option<PathBuf>,
        /// Cluster mode: zk://HOST:PORT[,HOST:PORT…]/ROOT (see docs/cluster.md).
        #[arg(long, requires = "host_id")]
        store: Option<String>,
        /// This host's id in the cluster.
        #[arg(long, requires = "store")]
        host_id: Option<String>,
        /// ZooKeeper session timeout in milliseconds (cluster mode).
        #[arg(long, default_value_t = 10_000, requires = "store")]
        session_timeout_ms: u64,
    },
    /// Operate on the cluster store: ports, hosts, status, routes, announcements.
    Cluster(cluster_cli::ClusterArgs),
    /// Validate a configuration file and print every problem with its key path.
    CheckConfig {
        /// The TOML configuration.
        file: PathBuf,
        /// Print the verdict as JSON: `{"file", "ok", "ports", "peers"}` or
        /// `{"file", "ok": false, "errors": [{"key", "reason"}]}`.
        #[arg(long)]
        json: bool,
    },
    /// Run a self-contained lab: an upstream FRR peer in its own namespace and one BGP port.
    Demo(demo::DemoArgs),
    /// Print the routes learned by each port of the running controller (fetched a page at a
    /// time; `--json` prints one JSON object per route and line), or with `--watch` the current
    /// routes and then every change.
    Routes(RoutesArgs),
    /// Print each port's bgpd and per-peer state from the running controller.
    Status(QueryArgs),
    /// Make the running controller re-read its configuration file now (like SIGHUP, but
    /// reports whether the file was accepted).
    Reload(SocketArgs),
    /// Announce PREFIX from PORT at run time (root only; kept until withdrawn, the port is
    /// removed or the controller stops — see docs/routing.md).
    Announce(AnnounceArgs),
    /// Withdraw a prefix announced with `announce` (root only).
    Withdraw(WithdrawArgs),
}

#[derive(Debug, clap::Args)]
struct AnnounceArgs {
    /// The port (its `name` in the configuration).
    port: String,
    /// The prefix, a network address (e.g. 198.51.100.0/24).
    prefix: ipnetwork::IpNetwork,
    /// A community to set: AA:NN or no-export, no-advertise, local-AS, internet,
    /// graceful-shutdown, blackhole, no-peer (repeat or separate with commas).
    #[arg(long = "community", value_delimiter = ',')]
    communities: Vec<routing::Community>,
    /// The MED (multi-exit discriminator) to set, 0..=4294967295.
    #[arg(long)]
    med: Option<u32>,
    #[command(flatten)]
    socket: SocketArgs,
}

#[derive(Debug, clap::Args)]
struct WithdrawArgs {
    /// The port.
    port: String,
    /// The announced prefix.
    prefix: ipnetwork::IpNetwork,
    #[command(flatten)]
    socket: SocketArgs,
}

#[derive(Debug, clap::Args)]
struct SocketArgs {
    /// Control socket of the running controller.
    #[arg(long, conflicts_with = "config")]
    socket: Option<PathBuf>,
    /// Take the control socket path from this configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
}

#[derive(Debug, clap::Args)]
struct QueryArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    socket: SocketArgs,
}

#[derive(Debug, clap::Args)]
struct RoutesArgs {
    #[command(flatten)]
    query: QueryArgs,
    /// Print the current routes, then every change as it happens (until interrupted).
    #[arg(long)]
    watch: bool,
    /// Only this port's routes.
    #[arg(long)]
    port: Option<String>,
    /// Only routes inside this prefix (the prefix itself and its more-specifics).
    #[arg(long, conflicts_with = "watch")]
    prefix: Option<ipnetwork::IpNetwork>,
    /// Routes asked for per request.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..=10_000))]
    page_size: u32,
}

fn init_logging(filter: &str, format: LogFormat) {
    let env = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(env)
        .with_writer(std::io::stderr);
    match format {
        LogFormat::Text => builder.init(),
        // Event fields (`port`, `peer`, `state`, `message`, …) at the top level of each object.
        LogFormat::Json => builder.json().flatten_event(true).init(),
    }
}

fn runtime() -> Result<tokio::runtime::Runtime, std::io::Error> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
}

fn load(path: &Path) -> Result<(Config, String), ExitCode> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) => {
            eprintln!("{}: cannot read: {e}", path.display());
            return Err(ExitCode::from(2));
        }
    };
    match Config::parse(&text) {
        Ok(c) => {
            // Valid, but bgpd will not use the value as written.
            for w in &c.warnings {
                eprintln!("{}: warning: {w}", path.display());
            }
            Ok((c, text))
        }
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            Err(ExitCode::from(2))
        }
    }
}

fn socket_of(q: &SocketArgs) -> Result<PathBuf, ExitCode> {
    if let Some(s) = &q.socket {
        return Ok(s.clone());
    }
    if let Some(c) = &q.config {
        return load(c).map(|(c, _)| c.controller.control_socket);
    }
    Ok(PathBuf::from(DEFAULT_SOCKET))
}

/// The async runtime of a CLI command; on failure the reason is printed and the exit code returned.
fn cli_runtime() -> Result<tokio::runtime::Runtime, ExitCode> {
    runtime().map_err(|e| {
        eprintln!("cannot start the async runtime: {e}");
        ExitCode::FAILURE
    })
}

/// What `status --json` prints: the status parts of the reply, `cluster` and `fib` only when
/// there are any (fields in name order, as the object always printed them).
#[derive(serde::Serialize)]
struct StatusJson {
    bgpd: Option<midonet_bgp::metrics::BgpdInfo>,
    #[serde(skip_serializing_if = "Option::is_none")]
    cluster: Option<midonet_bgp::metrics::ClusterStatus>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    fib: Vec<routing::kernel::TableStats>,
    ports: Vec<routing::PortStatus>,
}

fn status(q: &QueryArgs) -> ExitCode {
    let socket = match socket_of(&q.socket) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match cli_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let reply = rt.block_on(control::ask(&socket, control::Request::Status));
    let (ports, bgpd, cluster, fib) = match reply {
        Ok(r) => (r.ports, r.bgpd, r.cluster, r.fib),
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if q.json {
        let value = StatusJson {
            bgpd,
            cluster,
            fib,
            ports,
        };
        match serde_json::to_string_pretty(&value) {
            Ok(s) => outln!("{s}"),
            Err(e) => {
                eprintln!("cannot format JSON: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else {
        if let Some(b) = &bgpd {
            outln!("{}", b.line());
        }
        if let Some(c) = &cluster {
            outln!(
                "cluster host {}: {}, leads {} port(s){}",
                c.host_id,
                if c.fenced { "fenced" } else { "member" },
                c.ports_led.len(),
                if c.ports_led.is_empty() {
                    String::new()
                } else {
                    format!(" ({})", c.ports_led.join(", "))
                }
            );
        }
        out!("{}", print::fib(&fib));
        out!("{}", print::status(&ports));
    }
    ExitCode::SUCCESS
}

/// Lists the routes page by page, printing each page as it arrives.
fn routes(args: &RoutesArgs) -> ExitCode {
    use std::io::Write;
    let socket = match socket_of(&args.query.socket) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match cli_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let mut query = routing::RouteQuery {
        port: args.port.clone(),
        within: args.prefix,
        after: None,
        limit: args.page_size as usize,
    };
    let stdout = std::io::stdout();
    let mut out = std::io::BufWriter::new(stdout.lock());
    let mut last_port = None;
    let mut listed = 0usize;
    loop {
        let page = match rt.block_on(control::ask(
            &socket,
            control::Request::Routes(query.clone()),
        )) {
            Ok(r) => r.page.unwrap_or_default(),
            Err(e) => {
                eprintln!("{e}");
                return ExitCode::FAILURE;
            }
        };
        listed += page.routes.len();
        let written = if args.query.json {
            page.routes.iter().try_for_each(|r| {
                let line = serde_json::to_string(r).map_err(std::io::Error::other)?;
                writeln!(out, "{line}")
            })
        } else {
            out.write_all(print::routes(&page.routes, &mut last_port).as_bytes())
        };
        if let Err(e) = written.and_then(|()| out.flush()) {
            if e.kind() == std::io::ErrorKind::BrokenPipe {
                return ExitCode::SUCCESS;
            }
            eprintln!("cannot write: {e}");
            return ExitCode::FAILURE;
        }
        match page.next {
            Some(next) => query.after = Some(next),
            None => break,
        }
    }
    if !args.query.json {
        let _ = writeln!(out, "{listed} routes");
    }
    ExitCode::SUCCESS
}

/// `midonet-bgp reload`: asks the controller to re-read its file; fails with the controller's
/// list of problems when the file is rejected (the running state is then unchanged).
fn reload(args: &SocketArgs) -> ExitCode {
    let socket = match socket_of(args) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match cli_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match rt.block_on(control::ask(&socket, control::Request::Reload)) {
        Ok(_) => {
            outln!("reloaded");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("reload failed: {e}");
            ExitCode::FAILURE
        }
    }
}

/// `midonet-bgp announce` / `withdraw`: one state-changing request; the controller's refusal
/// (unknown port, malformed or duplicate prefix, wrong family, policy) is printed and fails.
fn change(socket: &SocketArgs, request: control::Request, done: String) -> ExitCode {
    let socket = match socket_of(socket) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match cli_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let name = request.name();
    match rt.block_on(control::ask(&socket, request)) {
        Ok(_) => {
            outln!("{done}");
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("{name} refused: {e}");
            ExitCode::FAILURE
        }
    }
}

/// [`midonet_bgp::hostaddr::vty_range_problems`] from a synchronous caller.
fn vty_range_problems_blocking(
    controller: &routing::config::ControllerConfig,
) -> Vec<routing::config::ConfigError> {
    match tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt.block_on(midonet_bgp::hostaddr::vty_range_problems(controller)),
        Err(e) => vec![routing::config::ConfigError {
            path: "controller.vty_range".to_string(),
            reason: format!("cannot start a runtime to read the host's addresses: {e}"),
        }],
    }
}

/// `midonet-bgp check-config [--json] FILE`: exit status 0 when valid, 2 when not.
fn check_config(file: &Path, json: bool) -> ExitCode {
    use routing::config::ConfigError;
    let verdict = match std::fs::read_to_string(file) {
        Err(e) => Err(vec![ConfigError {
            path: String::new(),
            reason: format!("cannot read: {e}"),
        }]),
        Ok(text) => Config::parse(&text)
            .and_then(|c| c.check_environment().map(|()| c))
            .map_err(|e| e.problems())
            .and_then(|c| {
                // The Vty range must not overlap an address of the host side.
                let problems = vty_range_problems_blocking(&c.controller);
                if problems.is_empty() {
                    Ok(c)
                } else {
                    Err(problems)
                }
            })
            .and_then(|c| {
                // The zebra server must speak the protocol of the bgpd it will launch.
                match bgpd::version::detect_blocking(&c.controller.bgpd_path) {
                    Ok(d) => Ok((c, d)),
                    Err(e) => Err(vec![ConfigError {
                        path: "controller.bgpd_path".to_string(),
                        reason: e.to_string(),
                    }]),
                }
            }),
    };
    let (code, value, text) = match verdict {
        Ok((c, detected)) => {
            let peers: usize = c.ports.iter().map(|p| p.peers.len()).sum();
            let mut warnings: Vec<String> = c.warnings.iter().map(|w| w.to_string()).collect();
            // Settings this bgpd flavour cannot take (e.g. Quagga and preserve-fw-state): the
            // port runs without them.
            let flavour = detected.flavour();
            for p in &c.ports {
                let settings = routing::bgpconf::BgpdSettings::from(p);
                for u in settings.unsupported(&flavour) {
                    warnings.push(format!(
                        "port {}: {} bgpd ({}) cannot do {}",
                        p.name, flavour, detected.version, u
                    ));
                }
            }
            if !json {
                // Valid, but bgpd will not use the value as written.
                for w in &warnings {
                    eprintln!("{}: warning: {w}", file.display());
                }
            }
            let value = serde_json::json!({
                "file": file, "ok": true, "ports": c.ports.len(), "peers": peers,
                "warnings": warnings,
                "bgpd": {
                    "path": c.controller.bgpd_path,
                    "version": detected.version.to_string(),
                    "profile": detected.profile.to_string(),
                    "flavour": flavour.name(),
                }
            });
            let text = format!(
                "{}: OK ({} port(s), {} peer(s))\nbgpd: {} is {} (zebra profile {})",
                file.display(),
                c.ports.len(),
                peers,
                c.controller.bgpd_path.display(),
                detected.version,
                detected.profile
            );
            (ExitCode::SUCCESS, value, text)
        }
        Err(problems) => {
            let errors: Vec<_> = problems
                .iter()
                .map(|p| serde_json::json!({ "key": p.path, "reason": p.reason }))
                .collect();
            let text = problems
                .iter()
                .map(|p| format!("{}: {}: {}", file.display(), p.path, p.reason))
                .collect::<Vec<_>>()
                .join("\n");
            let value = serde_json::json!({ "file": file, "ok": false, "errors": errors });
            (ExitCode::from(2), value, text)
        }
    };
    if json {
        outln!("{value}");
    } else if code == ExitCode::SUCCESS {
        outln!("{text}");
    } else {
        eprintln!("{text}");
    }
    code
}

fn watch_routes(r: &RoutesArgs) -> ExitCode {
    let socket = match socket_of(&r.query.socket) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match cli_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    match rt.block_on(watch::watch_client(&socket, r.port.clone(), r.query.json)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("{e}");
            ExitCode::FAILURE
        }
    }
}

fn run_controller(path: &Path) -> ExitCode {
    let (config, text) = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let rt = match cli_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    if let Err(e) = config.check_environment() {
        eprintln!("{}: {e}", path.display());
        return ExitCode::from(2);
    }
    let overlaps = rt.block_on(midonet_bgp::hostaddr::vty_range_problems(
        &config.controller,
    ));
    if !overlaps.is_empty() {
        for p in &overlaps {
            eprintln!("{}: {}: {}", path.display(), p.path, p.reason);
        }
        return ExitCode::from(2);
    }
    // The one table of learned routes (answers `routes` and starts every watcher), then the
    // kernel tables, then the watchers: each port's batch goes through all three in one call.
    let table = Arc::new(routing::TableSink::new());
    let kernel = Arc::new(routing::kernel::KernelSink::new());
    let chain: Vec<Arc<dyn routing::RouteSink>> = vec![table.clone(), kernel.clone()];
    let sink = Arc::new(watch::WatchSink::new(Arc::new(routing::TeeSink::new(
        chain,
    ))));
    let followed = run::Followed::new(path, Some(text));
    let result = rt.block_on(run::run(
        followed,
        config,
        routing::real::RealEffects::new(),
        table,
        sink,
        Some(kernel.clone()),
        None,
    ));
    // The ports withdrew their routes while stopping: let the writers delete them.
    if !kernel.sync(std::time::Duration::from_secs(30)) {
        eprintln!("midonet-bgp: the route sink did not finish writing the kernel tables");
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("midonet-bgp: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run_cluster(
    store: String,
    host_id: String,
    config: Option<PathBuf>,
    timeout_ms: u64,
) -> ExitCode {
    let url = match ::cluster::StoreUrl::parse(&store) {
        Ok(u) => u,
        Err(e) => {
            eprintln!("midonet-bgp: {e}");
            return ExitCode::from(2);
        }
    };
    let rt = match cli_runtime() {
        Ok(rt) => rt,
        Err(code) => return code,
    };
    let opts = cluster::ClusterRunOptions {
        url,
        host_id,
        config,
        session_timeout: std::time::Duration::from_millis(timeout_ms.clamp(1000, 600_000)),
    };
    match rt.block_on(cluster::run(opts, routing::real::RealEffects::new())) {
        Ok(()) => ExitCode::SUCCESS,
        Err(cluster::ClusterRunError::Local(e)) => {
            eprintln!("{e}");
            ExitCode::from(2)
        }
        Err(e) => {
            eprintln!("midonet-bgp: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { file, json } => check_config(&file, json),
        Command::Run {
            config,
            store: Some(store),
            host_id,
            session_timeout_ms,
        } => {
            init_logging(cli.log.as_deref().unwrap_or("info"), cli.log_format);
            run_cluster(
                store,
                host_id.unwrap_or_default(),
                config,
                session_timeout_ms,
            )
        }
        Command::Run {
            config: Some(config),
            ..
        } => {
            init_logging(cli.log.as_deref().unwrap_or("info"), cli.log_format);
            run_controller(&config)
        }
        Command::Run { .. } => {
            eprintln!("midonet-bgp run: --config FILE or --store URL --host-id ID is required");
            ExitCode::from(2)
        }
        Command::Cluster(args) => {
            init_logging(cli.log.as_deref().unwrap_or("warn"), cli.log_format);
            cluster_cli::main(args)
        }
        Command::Demo(args) => {
            init_logging(
                cli.log.as_deref().unwrap_or("warn,zebra_server=error"),
                cli.log_format,
            );
            demo::main(args)
        }
        Command::Reload(args) => reload(&args),
        Command::Announce(a) => {
            let done = format!("announced {} from {}", a.prefix, a.port);
            let announcement = routing::Announcement {
                prefix: a.prefix,
                communities: a.communities,
                med: a.med,
            };
            let request = control::Request::Announce {
                port: a.port,
                announcement,
            };
            change(&a.socket, request, done)
        }
        Command::Withdraw(w) => {
            let done = format!("withdrew {} from {}", w.prefix, w.port);
            let request = control::Request::Withdraw {
                port: w.port,
                prefix: w.prefix,
            };
            change(&w.socket, request, done)
        }
        Command::Routes(r) if r.watch => watch_routes(&r),
        Command::Routes(r) => routes(&r),
        Command::Status(q) => status(&q),
    }
}

/// Ends the process after a failed write of command output: quietly when the reader went away
/// (a broken pipe), otherwise with the error.
fn stdout_failed(e: std::io::Error) -> ! {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        std::process::exit(0);
    }
    eprintln!("cannot write to stdout: {e}");
    std::process::exit(1)
}
