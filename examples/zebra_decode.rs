//! Decode Zebra (ZAPI) frames given in hex and print them; without arguments, decode a
//! ROUTE_ADD captured from FRR 8.4.4 bgpd and encode the NEXTHOP_UPDATE a zebra would answer
//! a NEXTHOP_REGISTER with.
//!
//! `cargo run -p midonet-bgp-examples --example zebra_decode -- [frr84|quagga-v2|quagga-v3] HEX…`

use std::net::IpAddr;

use zebra_proto::bytes::BytesMut;
use zebra_proto::{
    decode, detect_profile, encode, nexthops, Message, NexthopTarget, NexthopUpdate, Profile,
    ZapiNexthop,
};

fn unhex(s: &str) -> Option<Vec<u8>> {
    let s: String = s.chars().filter(|c| c.is_ascii_hexdigit()).collect();
    (0..s.len())
        .step_by(2)
        .map(|i| s.get(i..i + 2).and_then(|b| u8::from_str_radix(b, 16).ok()))
        .collect()
}

fn main() {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let forced = args.first().and_then(|a| a.parse::<Profile>().ok());
    if forced.is_some() {
        args.remove(0);
    }
    if args.is_empty() {
        // ROUTE_ADD 198.51.100.0/24 via 192.0.2.2, distance 20 (bgpd 8.4.4).
        args.push("0030fe060000000000080900000000000000000007010218c633640001000000000200c0000202000000001400000000".into());
        // NEXTHOP_REGISTER 192.0.2.2/32, connected.
        args.push("0015fe0600000000001401000001000220c0000202".into());
    }
    for a in &args {
        let Some(bytes) = unhex(a) else {
            eprintln!("not hex: {a}");
            continue;
        };
        let profile = match forced.map(Ok).unwrap_or_else(|| detect_profile(&bytes)) {
            Ok(p) => p,
            Err(e) => {
                eprintln!("{a}: {e}");
                continue;
            }
        };
        match decode(profile, &bytes) {
            Ok((header, msg)) => {
                println!("{profile} vrf {} {}: {msg:#?}", header.vrf_id, msg.name());
                if let Message::NexthopRegister(entries) = &msg {
                    for e in entries {
                        // Answer as if the address were on interface 2's connected subnet.
                        let mut update = NexthopUpdate::unresolved(e.safi, e.prefix);
                        if let IpAddr::V4(a) = e.prefix.ip() {
                            let subnet = ipnetwork::Ipv4Network::new(a, 24).map(|n| n.network());
                            update.resolved = subnet
                                .ok()
                                .and_then(|n| ipnetwork::IpNetwork::new(IpAddr::V4(n), 24).ok());
                            update.route_type = 2;
                            update.nexthops =
                                nexthops([ZapiNexthop::new(NexthopTarget::Ifindex(2))]);
                        }
                        let mut out = BytesMut::new();
                        match encode(
                            profile,
                            header.vrf_id,
                            &Message::NexthopUpdate(update),
                            &mut out,
                        ) {
                            Ok(()) => println!(
                                "  answer: {}",
                                out.iter().map(|b| format!("{b:02x}")).collect::<String>()
                            ),
                            Err(e) => eprintln!("  cannot answer: {e}"),
                        }
                    }
                }
            }
            Err(e) => eprintln!("{profile}: {e}"),
        }
    }
}
