//! Builds the bgpd container of one BGP port, prints what the zebra server and the datapath
//! need from it, and removes it again. Needs root. The host side is a throw-away namespace, so
//! the real host is not touched:
//!
//! `cargo run -p midonet-bgp-examples --example netns_container`
//!
//! With `--wait`, while it waits for Enter, try `ip netns exec mnb-demo0001 ip addr` in another terminal.

use std::io::BufRead;

use netns::{sweep, Container, ContainerSpec, MacAddr, NetNsGuard};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The "host side" of this demo: a namespace of its own, deleted when the guard drops.
    let host = NetNsGuard::new(netns::NetNs::open_or_create("mnbdemo-host")?);

    // Remove whatever a crashed earlier run may have left.
    let swept = sweep("mnb", Some(&host)).await?;
    if !swept.is_empty() {
        println!("swept leftovers: {swept:?}");
    }

    let mut spec = ContainerSpec::new(
        "demo0001-0000-4000-8000-000000000001",
        7,
        "02:00:5e:00:53:01".parse::<MacAddr>()?,
        vec!["192.0.2.10/24".parse()?, "2001:db8::10/64".parse()?],
    );
    spec.host_netns = Some(host.name().to_string());

    let container = Container::apply(&spec).await?;
    for action in container.actions() {
        println!("  {action}");
    }
    let inside = container.datapath_inside();
    println!("namespace            {}", container.netns().name());
    println!(
        "datapath (host side) {} #{}",
        container.datapath_host_name(),
        container.datapath_host_index()
    );
    println!(
        "datapath (inside)    {} #{} mac {} mtu {}",
        inside.name, inside.index, inside.mac, inside.mtu
    );
    for a in &inside.addresses {
        println!("                     {a}");
    }
    println!(
        "vty bridge           {} {}",
        container.bridge_name(),
        container.vty_host_address()
    );
    println!("bgpd vty             {}", container.vty_socket_addr());

    // Applying the same spec again changes nothing.
    assert!(Container::apply(&spec).await?.actions().is_empty());

    if std::env::args().any(|a| a == "--wait") {
        println!("press Enter to tear down");
        let _ = std::io::stdin().lock().lines().next();
    }
    container.teardown().await?;
    println!("torn down");
    Ok(())
}
