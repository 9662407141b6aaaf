//! A parsed view of a frame, and how a [`FlowMatch`] matches it. The in-memory backend uses this;
//! its semantics are those of the tc encoding (see the crate docs).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use crate::flow::{
    EtherType, FlowMatch, PortRef, ETH_P_ARP, ETH_P_IP, ETH_P_IPV6, IPPROTO_ICMP, IPPROTO_ICMPV6,
    IPPROTO_TCP, IPPROTO_UDP,
};

/// The header fields of one frame that flows can match.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Packet {
    /// Port the frame arrives on.
    pub in_port: PortRef,
    /// Ethertype of the frame.
    pub ethertype: u16,
    /// IP protocol (IPv4) or the fixed IPv6 header's Next Header; `None` for non-IP frames.
    pub ip_proto: Option<u8>,
    /// Source address (ARP: sender protocol address).
    pub src: Option<IpAddr>,
    /// Destination address (ARP: target protocol address).
    pub dst: Option<IpAddr>,
    /// TCP/UDP source port (not set for non-first IPv4 fragments).
    pub src_port: Option<u16>,
    /// TCP/UDP destination port (not set for non-first IPv4 fragments).
    pub dst_port: Option<u16>,
    /// ICMP/ICMPv6 type (not set for non-first IPv4 fragments).
    pub icmp_type: Option<u8>,
    /// Frame length in bytes (what byte counters add).
    pub len: usize,
}

/// Why a frame could not be parsed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum PacketError {
    /// The frame ends before a header it announces.
    #[error(
        "frame truncated: {header} header needs {needed} bytes at offset {offset}, frame has {len}"
    )]
    Truncated {
        /// Which header.
        header: &'static str,
        /// Offset of the header in the frame.
        offset: usize,
        /// Bytes the header needs.
        needed: usize,
        /// Frame length.
        len: usize,
    },
    /// The IPv4 header length field is below 5 words.
    #[error("IPv4 header length {ihl} words at offset {offset} is below the minimum of 5")]
    BadIhl {
        /// The IHL value.
        ihl: u8,
        /// Offset of the IPv4 header.
        offset: usize,
    },
}

fn need(
    frame: &[u8],
    header: &'static str,
    offset: usize,
    needed: usize,
) -> Result<(), PacketError> {
    if frame.len() < offset + needed {
        return Err(PacketError::Truncated {
            header,
            offset,
            needed,
            len: frame.len(),
        });
    }
    Ok(())
}

fn be16(b: &[u8], at: usize) -> u16 {
    u16::from_be_bytes([b[at], b[at + 1]])
}

impl Packet {
    /// A frame of `len` bytes with only an ethertype (e.g. for a non-IP protocol).
    pub fn new(in_port: impl Into<PortRef>, ethertype: u16, len: usize) -> Packet {
        Packet {
            in_port: in_port.into(),
            ethertype,
            ip_proto: None,
            src: None,
            dst: None,
            src_port: None,
            dst_port: None,
            icmp_type: None,
            len,
        }
    }

    fn ip(in_port: impl Into<PortRef>, proto: u8, src: IpAddr, dst: IpAddr, len: usize) -> Packet {
        let ethertype = if src.is_ipv4() { ETH_P_IP } else { ETH_P_IPV6 };
        Packet {
            ip_proto: Some(proto),
            src: Some(src),
            dst: Some(dst),
            ..Packet::new(in_port, ethertype, len)
        }
    }

    /// A TCP segment (frame of `len` bytes).
    pub fn tcp(
        in_port: impl Into<PortRef>,
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        len: usize,
    ) -> Packet {
        Packet {
            src_port: Some(src.1),
            dst_port: Some(dst.1),
            ..Packet::ip(in_port, IPPROTO_TCP, src.0, dst.0, len)
        }
    }

    /// A UDP datagram (frame of `len` bytes).
    pub fn udp(
        in_port: impl Into<PortRef>,
        src: (IpAddr, u16),
        dst: (IpAddr, u16),
        len: usize,
    ) -> Packet {
        Packet {
            src_port: Some(src.1),
            dst_port: Some(dst.1),
            ..Packet::ip(in_port, IPPROTO_UDP, src.0, dst.0, len)
        }
    }

    /// An ICMP (IPv4) or ICMPv6 (IPv6) message of the given type.
    pub fn icmp(
        in_port: impl Into<PortRef>,
        src: IpAddr,
        dst: IpAddr,
        icmp_type: u8,
        len: usize,
    ) -> Packet {
        let proto = if src.is_ipv4() {
            IPPROTO_ICMP
        } else {
            IPPROTO_ICMPV6
        };
        Packet {
            icmp_type: Some(icmp_type),
            ..Packet::ip(in_port, proto, src, dst, len)
        }
    }

    /// An ARP packet from sender protocol address `sender` for target `target`.
    pub fn arp(in_port: impl Into<PortRef>, sender: Ipv4Addr, target: Ipv4Addr) -> Packet {
        Packet {
            src: Some(sender.into()),
            dst: Some(target.into()),
            ..Packet::new(in_port, ETH_P_ARP, 42)
        }
    }

    /// Parses an untagged Ethernet II frame the way the tc encoding looks at it: IPv4 with any
    /// header length (options), IPv6 fixed header only (extension headers are not walked, so the
    /// protocol is the first Next Header), ARP for IPv4 over Ethernet.
    pub fn parse_ethernet(
        in_port: impl Into<PortRef>,
        frame: &[u8],
    ) -> Result<Packet, PacketError> {
        need(frame, "ethernet", 0, 14)?;
        let ethertype = be16(frame, 12);
        let mut p = Packet::new(in_port, ethertype, frame.len());
        let l3 = 14;
        match ethertype {
            ETH_P_IP => {
                need(frame, "ipv4", l3, 20)?;
                let ihl = frame[l3] & 0x0f;
                if ihl < 5 {
                    return Err(PacketError::BadIhl { ihl, offset: l3 });
                }
                let proto = frame[l3 + 9];
                p.ip_proto = Some(proto);
                p.src = Some(
                    Ipv4Addr::new(
                        frame[l3 + 12],
                        frame[l3 + 13],
                        frame[l3 + 14],
                        frame[l3 + 15],
                    )
                    .into(),
                );
                p.dst = Some(
                    Ipv4Addr::new(
                        frame[l3 + 16],
                        frame[l3 + 17],
                        frame[l3 + 18],
                        frame[l3 + 19],
                    )
                    .into(),
                );
                let first_fragment = be16(frame, l3 + 6) & 0x1fff == 0;
                if first_fragment {
                    parse_l4(&mut p, frame, l3 + usize::from(ihl) * 4, proto)?;
                }
            }
            ETH_P_IPV6 => {
                need(frame, "ipv6", l3, 40)?;
                let proto = frame[l3 + 6];
                p.ip_proto = Some(proto);
                let mut s = [0u8; 16];
                s.copy_from_slice(&frame[l3 + 8..l3 + 24]);
                let mut d = [0u8; 16];
                d.copy_from_slice(&frame[l3 + 24..l3 + 40]);
                p.src = Some(Ipv6Addr::from(s).into());
                p.dst = Some(Ipv6Addr::from(d).into());
                parse_l4(&mut p, frame, l3 + 40, proto)?;
            }
            ETH_P_ARP => {
                need(frame, "arp", l3, 28)?;
                let a = &frame[l3..];
                if be16(a, 2) == ETH_P_IP && a[4] == 6 && a[5] == 4 {
                    p.src = Some(Ipv4Addr::new(a[14], a[15], a[16], a[17]).into());
                    p.dst = Some(Ipv4Addr::new(a[24], a[25], a[26], a[27]).into());
                }
            }
            _ => {}
        }
        Ok(p)
    }
}

fn parse_l4(p: &mut Packet, frame: &[u8], off: usize, proto: u8) -> Result<(), PacketError> {
    match proto {
        IPPROTO_TCP | IPPROTO_UDP => {
            need(
                frame,
                if proto == IPPROTO_TCP { "tcp" } else { "udp" },
                off,
                4,
            )?;
            p.src_port = Some(be16(frame, off));
            p.dst_port = Some(be16(frame, off + 2));
        }
        IPPROTO_ICMP | IPPROTO_ICMPV6 => {
            need(frame, "icmp", off, 1)?;
            p.icmp_type = Some(frame[off]);
        }
        _ => {}
    }
    Ok(())
}

impl FlowMatch {
    /// True when every field the match sets equals (or, for prefixes, contains) the packet's.
    pub fn matches(&self, p: &Packet) -> bool {
        if let Some(e) = self.ethertype {
            if e.value() != p.ethertype {
                return false;
            }
            if e == EtherType::Arp && (self.src.is_some() || self.dst.is_some()) && p.src.is_none()
            {
                return false;
            }
        }
        if self.ip_proto.is_some() && self.ip_proto != p.ip_proto {
            return false;
        }
        for (net, addr) in [(self.src, p.src), (self.dst, p.dst)] {
            if let Some(net) = net {
                match addr {
                    Some(a) if net.contains(a) => {}
                    _ => return false,
                }
            }
        }
        for (want, have) in [(self.src_port, p.src_port), (self.dst_port, p.dst_port)] {
            if want.is_some() && want != have {
                return false;
            }
        }
        if self.icmp_type.is_some() && self.icmp_type != p.icmp_type {
            return false;
        }
        true
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::flow::Flow;

    fn ipv4_frame(options: &[u8], proto: u8, l4: &[u8], frag: u16) -> Vec<u8> {
        let mut f = vec![0u8; 12];
        f.extend_from_slice(&ETH_P_IP.to_be_bytes());
        let ihl = 5 + options.len() / 4;
        f.push(0x40 | ihl as u8);
        f.push(0);
        f.extend_from_slice(&((ihl * 4 + l4.len()) as u16).to_be_bytes());
        f.extend_from_slice(&[0, 0]);
        f.extend_from_slice(&frag.to_be_bytes());
        f.extend_from_slice(&[64, proto, 0, 0]);
        f.extend_from_slice(&[192, 0, 2, 2, 192, 0, 2, 1]);
        f.extend_from_slice(options);
        f.extend_from_slice(l4);
        f
    }

    #[test]
    fn parses_ipv4_with_options_and_matches_ports_after_them() {
        let frame = ipv4_frame(
            &[1, 1, 1, 0],
            IPPROTO_TCP,
            &[0xc3, 0x50, 0, 179, 0, 0, 0, 0],
            0,
        );
        let p = Packet::parse_ethernet("up0", &frame).unwrap();
        assert_eq!(p.src_port, Some(50000));
        assert_eq!(p.dst_port, Some(179));
        let flow = Flow::redirect("up0", "b")
            .ethertype(EtherType::Ipv4)
            .ip_proto(IPPROTO_TCP)
            .dst_port(179);
        assert!(flow.matches.matches(&p));
    }

    #[test]
    fn non_first_fragments_do_not_match_ports() {
        let frame = ipv4_frame(&[], IPPROTO_TCP, &[0, 179, 0, 179], 0x0010);
        let p = Packet::parse_ethernet("up0", &frame).unwrap();
        assert_eq!(p.dst_port, None);
        let flow = Flow::redirect("up0", "b")
            .ethertype(EtherType::Ipv4)
            .ip_proto(IPPROTO_TCP)
            .dst_port(179);
        assert!(!flow.matches.matches(&p));
    }

    #[test]
    fn truncated_and_bad_frames_are_errors() {
        assert!(matches!(
            Packet::parse_ethernet("x", &[0; 10]),
            Err(PacketError::Truncated { .. })
        ));
        let mut frame = ipv4_frame(&[], IPPROTO_TCP, &[0, 179, 0, 179], 0);
        frame[14] = 0x43;
        assert!(matches!(
            Packet::parse_ethernet("x", &frame),
            Err(PacketError::BadIhl { ihl: 3, .. })
        ));
        let frame = ipv4_frame(&[], IPPROTO_TCP, &[0, 179], 0);
        assert!(matches!(
            Packet::parse_ethernet("x", &frame),
            Err(PacketError::Truncated { header: "tcp", .. })
        ));
    }

    proptest::proptest! {
        #[test]
        fn parsing_arbitrary_bytes_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..128)) {
            let _ = Packet::parse_ethernet("x", &bytes);
        }

        #[test]
        fn parsing_mutated_ip_frames_never_panics(
            options in 0usize..=10,
            cut in 0usize..120,
            ihl in 0u8..16,
            ethertype in proptest::prop_oneof![proptest::strategy::Just(ETH_P_IP), proptest::strategy::Just(ETH_P_IPV6), proptest::strategy::Just(ETH_P_ARP)],
        ) {
            let mut frame = ipv4_frame(&vec![1; options * 4], IPPROTO_TCP, &[0, 179, 0, 179, 0, 0, 0, 0], 0);
            frame[12..14].copy_from_slice(&ethertype.to_be_bytes());
            frame[14] = 0x40 | ihl;
            frame.truncate(cut.min(frame.len()));
            let _ = Packet::parse_ethernet("x", &frame);
        }
    }

    #[test]
    fn arp_matches_sender_and_target() {
        let p = Packet::arp(
            "up0",
            Ipv4Addr::new(192, 0, 2, 2),
            Ipv4Addr::new(192, 0, 2, 1),
        );
        let yes = Flow::redirect("up0", "b")
            .ethertype(EtherType::Arp)
            .src("192.0.2.2/32".parse().unwrap())
            .dst("192.0.2.1/32".parse().unwrap());
        let no = yes.clone().src("192.0.2.3/32".parse().unwrap());
        assert!(yes.matches.matches(&p));
        assert!(!no.matches.matches(&p));
    }
}
