//! Embedding the Vty client: build a typed BGP configuration, compute the minimal change to a new
//! one, and (optionally) apply both to a running bgpd and read the peers' status.
//!
//! ```text
//! cargo run -p midonet-bgp-examples --example vty_configure            # print the commands only
//! cargo run -p midonet-bgp-examples --example vty_configure -- 127.0.0.1:2605 zebra
//! ```
//! With an address, it logs in (the second argument is the vty password), applies the first
//! configuration, then the diff to the second, and prints `show bgp summary json` as typed data.

use std::net::SocketAddr;

use vty::config::{Asn, ConfigError, Description, Neighbor, Timers};
use vty::{diff, render_lines, BatchOptions, BgpConfig, Vty, VtyOptions};

fn configs() -> Result<(BgpConfig, BgpConfig), ConfigError> {
    let mut old = BgpConfig::new(Asn::new(64512)?);
    old.router_id = Some("192.0.2.1".parse().unwrap_or(std::net::Ipv4Addr::LOCALHOST));
    let peer = "192.0.2.2"
        .parse()
        .unwrap_or(std::net::IpAddr::from([192, 0, 2, 2]));
    let mut n = Neighbor::new(peer, Asn::new(64513)?);
    n.timers = Some(Timers::new(60, 180)?);
    n.description = Some(Description::new("uplink")?);
    old.add_neighbor(n);
    old.add_network("198.51.100.0/24".parse()?);

    let mut new = old.clone();
    if let Some(n) = new.neighbors.get_mut(&peer) {
        n.timers = Some(Timers::new(10, 30)?); // changed in place: the session stays up
    }
    new.add_network("203.0.113.0/24".parse()?);
    Ok((old, new))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let (old, new) = configs()?;
    println!("# full configuration");
    for l in render_lines(&old.commands()) {
        println!("{l}");
    }
    let change = diff(&old, &new);
    println!("# change");
    for l in render_lines(&change) {
        println!("{l}");
    }
    let mut args = std::env::args().skip(1);
    let Some(addr) = args.next() else {
        return Ok(());
    };
    let addr: SocketAddr = addr.parse()?;
    let opts = VtyOptions {
        password: args.next(),
        ..Default::default()
    };
    let mut vty = Vty::connect(addr, &opts).await?;
    let batch = BatchOptions::default();
    vty.configure(&old.commands(), &batch)
        .await?
        .into_result()?;
    let report = vty.configure(&change, &batch).await?.into_result()?;
    println!("# applied {} lines", report.applied());
    let summary = vty.bgp_summary().await?;
    if let Some(v4) = summary.ipv4_unicast {
        for (peer, p) in v4.peers {
            println!(
                "{peer}: {} (received {}, sent {}, up {})",
                p.state, p.pfx_rcd, p.pfx_snt, p.peer_uptime
            );
        }
    }
    vty.close().await?;
    Ok(())
}
