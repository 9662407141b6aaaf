//! The `midonet-bgp` binary: runs BGP for router ports (one FRR bgpd per port, in its own network
//! namespace), checks configuration files, answers `status`/`routes` queries over a local control
//! socket, and runs a self-contained demo lab.

mod demo;
mod lab;
mod print;
mod run;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;

use clap::{Parser, Subcommand};
use midonet_bgp::control;
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
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the controller with a configuration file (reloaded on SIGHUP and when it changes).
    Run {
        /// The TOML configuration (see docs/config.md).
        #[arg(long, short)]
        config: PathBuf,
    },
    /// Validate a configuration file and print every problem with its key path.
    CheckConfig {
        /// The TOML configuration.
        file: PathBuf,
    },
    /// Run a self-contained lab: an upstream FRR peer in its own namespace and one BGP port.
    Demo(demo::DemoArgs),
    /// Print the routes learned by each port of the running controller.
    Routes(QueryArgs),
    /// Print each port's bgpd and per-peer state from the running controller.
    Status(QueryArgs),
}

#[derive(Debug, clap::Args)]
struct QueryArgs {
    /// Print JSON instead of text.
    #[arg(long)]
    json: bool,
    /// Control socket of the running controller.
    #[arg(long, conflicts_with = "config")]
    socket: Option<PathBuf>,
    /// Take the control socket path from this configuration file.
    #[arg(long)]
    config: Option<PathBuf>,
}

fn init_logging(filter: &str) {
    let env = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| tracing_subscriber::EnvFilter::try_new(filter))
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    tracing_subscriber::fmt()
        .with_env_filter(env)
        .with_writer(std::io::stderr)
        .init();
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
        Ok(c) => Ok((c, text)),
        Err(e) => {
            eprintln!("{}: {e}", path.display());
            Err(ExitCode::from(2))
        }
    }
}

fn socket_of(q: &QueryArgs) -> Result<PathBuf, ExitCode> {
    if let Some(s) = &q.socket {
        return Ok(s.clone());
    }
    if let Some(c) = &q.config {
        return load(c).map(|(c, _)| c.controller.control_socket);
    }
    Ok(PathBuf::from(DEFAULT_SOCKET))
}

fn query(q: &QueryArgs, routes: bool) -> ExitCode {
    let socket = match socket_of(q) {
        Ok(s) => s,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let reply = rt.block_on(control::ask(&socket, control::Request::Status));
    let ports = match reply {
        Ok(r) => r.ports,
        Err(e) => {
            eprintln!("{e}");
            return ExitCode::FAILURE;
        }
    };
    if q.json {
        let value = if routes {
            serde_json::json!(ports
                .iter()
                .map(|p| serde_json::json!({ "port": p.name, "routes": p.routes }))
                .collect::<Vec<_>>())
        } else {
            serde_json::json!(ports)
        };
        match serde_json::to_string_pretty(&value) {
            Ok(s) => println!("{s}"),
            Err(e) => {
                eprintln!("cannot format JSON: {e}");
                return ExitCode::FAILURE;
            }
        }
    } else if routes {
        print!("{}", print::routes(&ports));
    } else {
        print!("{}", print::status(&ports));
    }
    ExitCode::SUCCESS
}

fn run_controller(path: &Path) -> ExitCode {
    let (config, text) = match load(path) {
        Ok(c) => c,
        Err(code) => return code,
    };
    let rt = match runtime() {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("cannot start the async runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    let sink = Arc::new(routing::TableSink::new());
    let followed = run::Followed::new(path, Some(text));
    let result = rt.block_on(run::run(
        followed,
        config,
        routing::real::RealEffects::new(),
        sink,
        None,
    ));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("midonet-bgp: {e}");
            ExitCode::FAILURE
        }
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::CheckConfig { file } => match load(&file) {
            Ok((c, _)) => {
                let peers: usize = c.ports.iter().map(|p| p.peers.len()).sum();
                println!(
                    "{}: OK ({} port(s), {} peer(s))",
                    file.display(),
                    c.ports.len(),
                    peers
                );
                ExitCode::SUCCESS
            }
            Err(code) => code,
        },
        Command::Run { config } => {
            init_logging(cli.log.as_deref().unwrap_or("info"));
            run_controller(&config)
        }
        Command::Demo(args) => {
            init_logging(cli.log.as_deref().unwrap_or("warn,zebra_server=error"));
            demo::main(args)
        }
        Command::Routes(q) => query(&q, true),
        Command::Status(q) => query(&q, false),
    }
}
