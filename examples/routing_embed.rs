//! Embedding the RoutingHandler in a controller with the real side effects (needs root and
//! FRR): read a configuration file, sweep leftovers of a crashed run, start every port, print
//! route changes and per-peer state, and tear everything down on Ctrl-C.
//!
//! Run with `sudo cargo run -p midonet-bgp-examples --example routing_embed -- config.toml`
//! (see docs/config.md; `midonet-bgp run` is the full-featured version of this).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use routing::config::Config;
use routing::real::RealEffects;
use routing::{ChannelSink, RouteChange, RoutingHandler, SinkEvent};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt().with_env_filter("warn").init();
    let path: PathBuf = std::env::args_os()
        .nth(1)
        .map(PathBuf::from)
        .ok_or("usage: routing_embed CONFIG.toml")?;
    // Validated as a whole: nothing is applied if any value is wrong.
    let config = Config::load(&path)?;
    let (sink, mut changes) = ChannelSink::new();
    let mut handler = RoutingHandler::new(RealEffects::new(), Arc::new(sink));
    let swept = handler.sweep(&config).await?;
    if !swept.is_empty() {
        println!("removed leftovers: {swept:?}");
    }
    handler.apply(&config).await;
    let mut tick = tokio::time::interval(Duration::from_secs(5));
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            Some(event) = changes.recv() => match event {
                SinkEvent::Apply { port, changes } => {
                    for change in changes {
                        match change {
                            RouteChange::Replace { prefix, paths } => {
                                println!("{port}: {prefix} via {} path(s)", paths.len());
                            }
                            RouteChange::Withdraw { prefix } => {
                                println!("{port}: {prefix} withdrawn");
                            }
                        }
                    }
                }
                SinkEvent::WithdrawAll { port } => println!("{port}: every route withdrawn"),
                other => println!("{other:?}"),
            },
            _ = tick.tick() => {
                for port in handler.status().await {
                    for peer in &port.peers {
                        println!("{}: peer {} {}", port.name, peer.address, peer.state);
                    }
                }
            }
        }
    }
    handler.shutdown().await;
    Ok(())
}
