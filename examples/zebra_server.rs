//! Embedding the Zebra server: serve one bgpd on a Unix socket and print the routes it learns.
//!
//! ```text
//! cargo run -p midonet-bgp-examples --example zebra_server -- \
//!     /run/zebra-example/zserv.api veth0:2:192.0.2.1/24,2001:db8::1/64
//! # then, in the namespace that owns veth0:
//! /usr/lib/frr/bgpd -S -f bgpd.conf -z /run/zebra-example/zserv.api ...
//! ```
//!
//! Each interface argument is `NAME:IFINDEX:CIDR[,CIDR...]` (use the real ifindex inside
//! bgpd's namespace); `lo` with 127.0.0.1/8 is always announced. Ctrl-C stops the server and
//! removes the socket file.

use std::error::Error;

use ipnetwork::IpNetwork;
use zebra_server::{Interface, RouteEvent, ServerConfig, ServerEvent, ZebraServer};

fn parse_interface(spec: &str) -> Result<Interface, Box<dyn Error>> {
    let mut parts = spec.splitn(3, ':');
    let name = parts.next().ok_or("missing interface name")?;
    let ifindex: u32 = parts.next().ok_or("missing ifindex")?.parse()?;
    let addresses = parts
        .next()
        .unwrap_or("")
        .split(',')
        .filter(|s| !s.is_empty())
        .map(|s| s.parse::<IpNetwork>())
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Interface::ethernet(
        name,
        ifindex,
        [2, 0, 0, 0, 0, 1],
        1500,
        addresses,
    ))
}

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let mut args = std::env::args().skip(1);
    let socket = args
        .next()
        .unwrap_or_else(|| "/run/zebra-example/zserv.api".to_string());
    let mut interfaces = vec![Interface::loopback(1, vec!["127.0.0.1/8".parse()?])];
    for spec in args {
        interfaces.push(parse_interface(&spec)?);
    }
    let mut cfg = ServerConfig::new(&socket);
    cfg.interfaces = interfaces;
    // The client is bgpd: let its route streams fill the socket (see `read_coalesce`).
    cfg.read_coalesce = zebra_server::BGPD_READ_COALESCE;
    let (server, mut events) = ZebraServer::start(cfg).await?;
    println!("serving zebra on {socket}; start bgpd with -z {socket}");
    loop {
        tokio::select! {
            _ = tokio::signal::ctrl_c() => break,
            ev = events.recv() => match ev {
                Some(ServerEvent::Route(RouteEvent::Replace { prefix, paths })) => {
                    let gws: Vec<String> = paths
                        .iter()
                        .map(|p| format!("{:?} if {:?} d {} m {} w {}", p.gateway, p.ifindex, p.distance, p.metric, p.weight))
                        .collect();
                    println!("replace {prefix}: {}", gws.join(" | "));
                }
                Some(ServerEvent::Route(RouteEvent::Withdraw { prefix })) => println!("withdraw {prefix}"),
                Some(other) => println!("{other:?}"),
                None => break,
            },
        }
    }
    server.shutdown().await;
    Ok(())
}
