//! Embedding the RoutingHandler with in-memory side effects: no privileges, no FRR.
//!
//! Shows the pieces an embedder writes — a [`RouteSink`] for its virtual router — and what the
//! handler does with a configuration: it builds the port, bootstraps bgpd over the Vty, forwards
//! learned routes, and applies a timer change as a one-line diff.
//!
//! Run with `cargo run -p midonet-bgp-examples --example routing_fake`.

use std::sync::Arc;

use routing::config::Config;
use routing::fake::FakeEffects;
use routing::{RouteChange, RoutePath, RouteSink, RoutingHandler, ZebraEvent};

/// The embedder's virtual router: here it just prints.
struct PrintingRouter;

impl RouteSink for PrintingRouter {
    fn apply(&self, port: &str, changes: &[RouteChange]) {
        for change in changes {
            match change {
                RouteChange::Replace { prefix, paths } => {
                    let gws: Vec<String> = paths
                        .iter()
                        .filter_map(|p| p.gateway.map(|g| g.to_string()))
                        .collect();
                    println!("router: {port}: {prefix} via {}", gws.join(", "));
                }
                RouteChange::Withdraw { prefix } => println!("router: {port}: {prefix} withdrawn"),
            }
        }
    }
    fn withdraw_all(&self, port: &str) {
        println!("router: {port}: every route withdrawn");
    }
}

const CONFIG: &str = r#"
[controller]
run_dir = "/run/example"
[[port]]
name = "uplink1"
uplink = "eth1"
address = "192.0.2.1/24"
local_as = 65001
networks = ["203.0.113.0/24"]
[[port.peer]]
address = "192.0.2.2"
remote_as = 65002
keepalive = 10
hold_time = 30
"#;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let config = Config::parse(CONFIG)?;
    let fx = FakeEffects::new();
    let mut handler = RoutingHandler::new(fx.clone(), Arc::new(PrintingRouter));
    handler.apply(&config).await;
    while !handler.status().await[0].config_applied {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    println!("bootstrap sent to bgpd:");
    for line in &fx.applied("uplink1")[0] {
        println!("  {line}");
    }
    // What the zebra server would report when bgpd learns an ECMP route.
    let mut paths = Vec::new();
    for gw in ["192.0.2.2", "192.0.2.3"] {
        paths.push(RoutePath {
            gateway: Some(gw.parse()?),
            ifindex: Some(2),
            distance: 20,
            metric: 0,
            weight: 1,
        });
    }
    fx.zebra(
        "uplink1",
        ZebraEvent::Route(RouteChange::Replace {
            prefix: "198.51.100.0/24".parse()?,
            paths,
        }),
    )
    .await;
    // A timer change is one Vty command; the session is not reset.
    handler
        .apply(&Config::parse(
            &CONFIG.replace("keepalive = 10", "keepalive = 20"),
        )?)
        .await;
    while fx.applied("uplink1").len() < 2 {
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    println!("diff sent to bgpd: {:?}", fx.applied("uplink1")[1]);
    // Shutdown withdraws every route and removes everything.
    handler.shutdown().await;
    Ok(())
}
