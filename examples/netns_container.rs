//! Builds a container shaped like a BGP port's (a datapath veth with the port's MAC and
//! addresses, a management veth on a host-side bridge, a default route through it), prints what
//! was built, and removes it again. Needs root. The host side is a throw-away namespace, so the
//! real host is not touched:
//!
//! `cargo run -p midonet-bgp-examples --example netns_container`
//!
//! With `--wait`, while it waits for Enter, try `ip netns exec mnb-demo0001 ip addr` in another terminal.

use std::io::BufRead;

use netns::{
    sweep, BridgeSpec, Container, ContainerSpec, DefaultRoute, MacAddr, NetNsGuard, VethSpec,
};

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    // The "host side" of this demo: a namespace of its own, deleted when the guard drops.
    let host = NetNsGuard::new(netns::NetNs::open_or_create("mnbdemo-host")?);

    // Remove whatever a crashed earlier run may have left.
    let swept = sweep("mnb", Some(&host)).await?;
    if !swept.is_empty() {
        println!("swept leftovers: {swept:?}");
    }

    // The names and addresses are ours to choose; `sweep` finds everything named `mnb-…`.
    let mut spec = ContainerSpec::new("mnb-demo0001");
    spec.host_netns = Some(host.name().to_string());
    let mut datapath = VethSpec::new("mnb-demo0001", "mnb-demo0001_m");
    datapath.mac = Some("02:00:5e:00:53:01".parse::<MacAddr>()?);
    datapath.mtu = Some(1500);
    datapath.addresses = vec!["192.0.2.10/24".parse()?, "2001:db8::10/64".parse()?];
    let mut mgmt = VethSpec::new("mnb-demo0001_v", "mnb-demo0001_vm");
    mgmt.addresses = vec!["169.254.0.30/30".parse()?];
    mgmt.bridge = Some(BridgeSpec {
        name: "mnb-demo0001_br".into(),
        addresses: vec!["169.254.0.29/30".parse()?],
    });
    spec.veths = vec![datapath, mgmt];
    spec.default_route = Some(DefaultRoute {
        gateway: "169.254.0.29".parse()?,
        via: "mnb-demo0001_vm".into(),
    });

    let container = Container::apply(&spec).await?;
    for action in container.actions() {
        println!("  {action}");
    }
    println!("namespace            {}", container.netns().name());
    for v in container.veths() {
        let inside = &v.inside;
        println!("veth (host side)     {} #{}", v.host, v.host_index);
        println!(
            "     (inside)        {} #{} mac {} mtu {}",
            inside.name, inside.index, inside.mac, inside.mtu
        );
        for a in &inside.addresses {
            println!("                     {a}");
        }
        if let Some(b) = v.bridge_index {
            println!("     (bridge)        #{b}");
        }
    }

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
