//! Builds the standard BGP flow set for one port and shows what it does.
//!
//! Without arguments it runs the flows in the in-memory datapath (no privileges needed) and prints
//! the verdict for a few packets and the tc u32 encoding of each flow. With `--tc NAMESPACE` (as
//! root) it installs the same flows with tc into links `uplink` and `bgp` of that namespace, prints
//! the counters and removes them again:
//!
//! ```text
//! cargo run -p midonet-bgp-examples --example datapath_flows
//! cargo run -p midonet-bgp-examples --example datapath_flows -- --tc my-test-ns
//! ```

use std::net::IpAddr;

use datapath::{bgp_flows, tc, total, Datapath, MemoryDatapath, Packet, TcDatapath};

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let local: [IpAddr; 2] = ["192.0.2.1".parse()?, "2001:db8::1".parse()?];
    let peers: [IpAddr; 2] = ["192.0.2.2".parse()?, "2001:db8::2".parse()?];
    let flows = bgp_flows("uplink", "bgp", &local, &peers);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;

    let args: Vec<String> = std::env::args().collect();
    if let [_, flag, ns] = args.as_slice() {
        if flag == "--tc" {
            return runtime.block_on(async {
                let dp = TcDatapath::new(Some(ns))?;
                let report = dp.install("example", &flows).await?;
                println!("installed into {ns}: {report:?}");
                let (packets, bytes) = total(&dp.counters("example").await?);
                println!("counters: {packets} packets, {bytes} bytes");
                dp.remove("example").await?;
                println!("removed");
                Ok(())
            });
        }
    }

    let dp = MemoryDatapath::new();
    runtime.block_on(dp.install("port-1", &flows))?;
    let probes = [
        Packet::tcp("uplink", (peers[0], 40000), (local[0], 179), 74),
        Packet::tcp("bgp", (local[1], 179), (peers[1], 40000), 94),
        Packet::tcp("uplink", (peers[0], 40000), (local[0], 22), 74),
        Packet::udp("uplink", (peers[0], 179), (local[0], 179), 60),
    ];
    for p in &probes {
        println!(
            "{:>6} {:?} {:?}:{:?} -> {:?}:{:?} => {:?}",
            p.in_port,
            p.ip_proto,
            p.src,
            p.src_port,
            p.dst,
            p.dst_port,
            dp.process(p)
        );
    }
    println!("\n{} flows and their tc u32 encoding:", flows.len());
    for f in &flows {
        let e = tc::encode_match(f);
        println!(
            "{f}\n    protocol {:#06x}, {} keys{}",
            e.protocol,
            e.keys.len(),
            match &e.l4_keys {
                Some(k) => format!(", {} transport keys behind the IHL link", k.len()),
                None => String::new(),
            }
        );
    }
    Ok(())
}
