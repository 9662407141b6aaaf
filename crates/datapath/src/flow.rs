//! The backend-neutral flow model: what a flow matches and what it does with a match.

use std::fmt;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

/// A port (network interface) named by its interface name in the host-side namespace.
pub type PortRef = String;

/// Ethertype of IPv4 (`ETH_P_IP`).
pub const ETH_P_IP: u16 = 0x0800;
/// Ethertype of IPv6 (`ETH_P_IPV6`).
pub const ETH_P_IPV6: u16 = 0x86DD;
/// Ethertype of ARP (`ETH_P_ARP`).
pub const ETH_P_ARP: u16 = 0x0806;
/// IP protocol number of ICMP.
pub const IPPROTO_ICMP: u8 = 1;
/// IP protocol number of TCP.
pub const IPPROTO_TCP: u8 = 6;
/// IP protocol number of UDP.
pub const IPPROTO_UDP: u8 = 17;
/// IP protocol (next header) number of ICMPv6.
pub const IPPROTO_ICMPV6: u8 = 58;

/// Longest interface name the kernel accepts (`IFNAMSIZ - 1`).
pub const MAX_IFNAME_LEN: usize = 15;

/// The network-layer protocol a flow matches (the Ethernet frame's ethertype).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
#[non_exhaustive]
pub enum EtherType {
    /// IPv4 (0x0800).
    Ipv4,
    /// IPv6 (0x86DD).
    Ipv6,
    /// ARP (0x0806). A flow's `src`/`dst` then match the ARP sender/target protocol address.
    Arp,
}

impl EtherType {
    /// The 16-bit ethertype value.
    pub fn value(self) -> u16 {
        match self {
            EtherType::Ipv4 => ETH_P_IP,
            EtherType::Ipv6 => ETH_P_IPV6,
            EtherType::Arp => ETH_P_ARP,
        }
    }

    /// The ethertype for a 16-bit value, if it is one this crate models.
    pub fn from_value(value: u16) -> Option<EtherType> {
        match value {
            ETH_P_IP => Some(EtherType::Ipv4),
            ETH_P_IPV6 => Some(EtherType::Ipv6),
            ETH_P_ARP => Some(EtherType::Arp),
            _ => None,
        }
    }
}

impl fmt::Display for EtherType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            EtherType::Ipv4 => "ipv4",
            EtherType::Ipv6 => "ipv6",
            EtherType::Arp => "arp",
        })
    }
}

/// The header fields a flow matches; `None` is a wildcard.
///
/// Field rules (checked by [`Flow::validate`]):
/// - `src`/`dst` need `ethertype` IPv4 or ARP (IPv4 prefixes) or IPv6 (IPv6 prefixes). For ARP they
///   match the sender and target protocol addresses.
/// - `ip_proto` needs IPv4 or IPv6 (for IPv6 it is the fixed header's Next Header field).
/// - `src_port`/`dst_port` need `ip_proto` TCP or UDP; `icmp_type` needs ICMP (IPv4) or ICMPv6 (IPv6).
/// - Port and ICMP-type matches never match IPv4 fragments other than the first.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
pub struct FlowMatch {
    /// Ethertype of the frame.
    pub ethertype: Option<EtherType>,
    /// IP protocol (IPv4) or Next Header of the fixed IPv6 header.
    pub ip_proto: Option<u8>,
    /// Source address prefix (ARP: sender protocol address).
    pub src: Option<IpNetwork>,
    /// Destination address prefix (ARP: target protocol address).
    pub dst: Option<IpNetwork>,
    /// TCP/UDP source port.
    pub src_port: Option<u16>,
    /// TCP/UDP destination port.
    pub dst_port: Option<u16>,
    /// ICMP or ICMPv6 message type.
    pub icmp_type: Option<u8>,
}

/// What a matching flow does with a packet.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Action {
    /// Send the frame out of another port unchanged (tc: mirred egress redirect).
    Redirect {
        /// The port the frame leaves by.
        to: PortRef,
    },
    /// Discard the frame.
    Drop,
}

/// One flow: frames arriving on `in_port` that match `matches` get `action`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Flow {
    /// The port frames arrive on (tc: the device whose ingress holds the filter).
    pub in_port: PortRef,
    /// Header fields to match.
    pub matches: FlowMatch,
    /// What to do with a match.
    pub action: Action,
}

/// Why a flow is not valid.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FlowError {
    /// A port name is empty, too long or contains `/`, whitespace or NUL.
    #[error("invalid port name {name:?} in field {field}")]
    BadPortName {
        /// Which field holds the name (`in_port` or `action.to`).
        field: &'static str,
        /// The name.
        name: String,
    },
    /// A field needs an ethertype (or a different one) to be set.
    #[error("field {field} needs ethertype {needs}, flow has {has:?}")]
    NeedsEthertype {
        /// The field.
        field: &'static str,
        /// What the field needs.
        needs: &'static str,
        /// The flow's ethertype.
        has: Option<EtherType>,
    },
    /// An address prefix has the wrong family for the ethertype.
    #[error("field {field} is {addr} which does not fit ethertype {ethertype}")]
    AddressFamily {
        /// `src` or `dst`.
        field: &'static str,
        /// The prefix.
        addr: IpNetwork,
        /// The flow's ethertype.
        ethertype: EtherType,
    },
    /// A port match without TCP/UDP, or an ICMP type without ICMP/ICMPv6.
    #[error("field {field} needs ip_proto {needs}, flow has {has:?}")]
    NeedsProtocol {
        /// The field.
        field: &'static str,
        /// What the field needs.
        needs: &'static str,
        /// The flow's IP protocol.
        has: Option<u8>,
    },
}

fn check_port_name(field: &'static str, name: &str) -> Result<(), FlowError> {
    let bad = name.is_empty()
        || name.len() > MAX_IFNAME_LEN
        || name
            .bytes()
            .any(|b| b == b'/' || b == 0 || b.is_ascii_whitespace());
    if bad {
        return Err(FlowError::BadPortName {
            field,
            name: name.to_string(),
        });
    }
    Ok(())
}

fn canonical(net: IpNetwork) -> IpNetwork {
    IpNetwork::new(net.network(), net.prefix()).unwrap_or(net)
}

/// A host prefix (/32 or /128) for an address.
pub fn host_prefix(addr: IpAddr) -> IpNetwork {
    match addr {
        IpAddr::V4(a) => IpNetwork::V4(a.into()),
        IpAddr::V6(a) => IpNetwork::V6(a.into()),
    }
}

impl Flow {
    /// A flow matching every frame arriving on `in_port`; narrow it with the builder methods.
    pub fn new(in_port: impl Into<PortRef>, action: Action) -> Flow {
        Flow {
            in_port: in_port.into(),
            matches: FlowMatch::default(),
            action,
        }
    }

    /// A flow redirecting matching frames from `in_port` to `to`.
    pub fn redirect(in_port: impl Into<PortRef>, to: impl Into<PortRef>) -> Flow {
        Flow::new(in_port, Action::Redirect { to: to.into() })
    }

    /// Matches the ethertype.
    pub fn ethertype(mut self, ethertype: EtherType) -> Flow {
        self.matches.ethertype = Some(ethertype);
        self
    }

    /// Matches the IP protocol / IPv6 next header.
    pub fn ip_proto(mut self, proto: u8) -> Flow {
        self.matches.ip_proto = Some(proto);
        self
    }

    /// Matches the source prefix (stored with host bits cleared).
    pub fn src(mut self, net: IpNetwork) -> Flow {
        self.matches.src = Some(canonical(net));
        self
    }

    /// Matches the destination prefix (stored with host bits cleared).
    pub fn dst(mut self, net: IpNetwork) -> Flow {
        self.matches.dst = Some(canonical(net));
        self
    }

    /// Matches the TCP/UDP source port.
    pub fn src_port(mut self, port: u16) -> Flow {
        self.matches.src_port = Some(port);
        self
    }

    /// Matches the TCP/UDP destination port.
    pub fn dst_port(mut self, port: u16) -> Flow {
        self.matches.dst_port = Some(port);
        self
    }

    /// Matches the ICMP / ICMPv6 type.
    pub fn icmp_type(mut self, icmp_type: u8) -> Flow {
        self.matches.icmp_type = Some(icmp_type);
        self
    }

    /// Checks the field rules described on [`FlowMatch`] and the port names.
    pub fn validate(&self) -> Result<(), FlowError> {
        check_port_name("in_port", &self.in_port)?;
        if let Action::Redirect { to } = &self.action {
            check_port_name("action.to", to)?;
        }
        let m = &self.matches;
        for (field, net) in [("src", m.src), ("dst", m.dst)] {
            let Some(net) = net else { continue };
            let Some(et) = m.ethertype else {
                return Err(FlowError::NeedsEthertype {
                    field,
                    needs: "ipv4, ipv6 or arp",
                    has: None,
                });
            };
            let fits = match et {
                EtherType::Ipv4 | EtherType::Arp => net.is_ipv4(),
                EtherType::Ipv6 => net.is_ipv6(),
            };
            if !fits {
                return Err(FlowError::AddressFamily {
                    field,
                    addr: net,
                    ethertype: et,
                });
            }
        }
        if m.ip_proto.is_some() && !matches!(m.ethertype, Some(EtherType::Ipv4 | EtherType::Ipv6)) {
            return Err(FlowError::NeedsEthertype {
                field: "ip_proto",
                needs: "ipv4 or ipv6",
                has: m.ethertype,
            });
        }
        for (field, port) in [("src_port", m.src_port), ("dst_port", m.dst_port)] {
            if port.is_some() && !matches!(m.ip_proto, Some(IPPROTO_TCP | IPPROTO_UDP)) {
                return Err(FlowError::NeedsProtocol {
                    field,
                    needs: "tcp (6) or udp (17)",
                    has: m.ip_proto,
                });
            }
        }
        if m.icmp_type.is_some() {
            let ok = matches!(
                (m.ethertype, m.ip_proto),
                (Some(EtherType::Ipv4), Some(IPPROTO_ICMP))
                    | (Some(EtherType::Ipv6), Some(IPPROTO_ICMPV6))
            );
            if !ok {
                return Err(FlowError::NeedsProtocol {
                    field: "icmp_type",
                    needs: "icmp (1) with ipv4 or icmpv6 (58) with ipv6",
                    has: m.ip_proto,
                });
            }
        }
        Ok(())
    }

    /// True when the flow matches a transport-layer field (ports or ICMP type).
    pub fn matches_l4(&self) -> bool {
        let m = &self.matches;
        m.src_port.is_some() || m.dst_port.is_some() || m.icmp_type.is_some()
    }

    /// A 64-bit fingerprint of the flow (FNV-1a over a canonical encoding), stable across processes
    /// and runs: the same flow always gets the same fingerprint. Backends use it to recognise a flow
    /// they installed earlier.
    pub fn fingerprint(&self) -> u64 {
        let mut h = Fnv::new();
        h.bytes(b"flow1");
        h.str(&self.in_port);
        let m = &self.matches;
        h.opt_u64(m.ethertype.map(|e| u64::from(e.value())));
        h.opt_u64(m.ip_proto.map(u64::from));
        for net in [m.src, m.dst] {
            match net {
                None => h.bytes(&[0]),
                Some(n) => {
                    h.bytes(&[1, n.prefix()]);
                    match n.network() {
                        IpAddr::V4(a) => h.bytes(&a.octets()),
                        IpAddr::V6(a) => h.bytes(&a.octets()),
                    }
                }
            }
        }
        h.opt_u64(m.src_port.map(u64::from));
        h.opt_u64(m.dst_port.map(u64::from));
        h.opt_u64(m.icmp_type.map(u64::from));
        match &self.action {
            Action::Redirect { to } => {
                h.bytes(b"R");
                h.str(to);
            }
            Action::Drop => h.bytes(b"D"),
        }
        h.finish()
    }
}

impl fmt::Display for Flow {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "in_port={}", self.in_port)?;
        let m = &self.matches;
        if let Some(e) = m.ethertype {
            write!(f, " {e}")?;
        }
        if let Some(p) = m.ip_proto {
            write!(f, " proto={p}")?;
        }
        if let Some(n) = m.src {
            write!(f, " src={n}")?;
        }
        if let Some(n) = m.dst {
            write!(f, " dst={n}")?;
        }
        if let Some(p) = m.src_port {
            write!(f, " sport={p}")?;
        }
        if let Some(p) = m.dst_port {
            write!(f, " dport={p}")?;
        }
        if let Some(t) = m.icmp_type {
            write!(f, " icmp_type={t}")?;
        }
        match &self.action {
            Action::Redirect { to } => write!(f, " -> redirect {to}"),
            Action::Drop => write!(f, " -> drop"),
        }
    }
}

/// 64-bit FNV-1a, used for stable fingerprints (std's hasher is randomly seeded per process).
#[derive(Debug, Clone, Copy)]
pub(crate) struct Fnv(u64);

impl Fnv {
    pub(crate) fn new() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
    pub(crate) fn bytes(&mut self, bytes: &[u8]) {
        for b in bytes {
            self.0 ^= u64::from(*b);
            self.0 = self.0.wrapping_mul(0x0000_0100_0000_01b3);
        }
    }
    pub(crate) fn str(&mut self, s: &str) {
        self.bytes(&(s.len() as u64).to_be_bytes());
        self.bytes(s.as_bytes());
    }
    fn opt_u64(&mut self, v: Option<u64>) {
        match v {
            None => self.bytes(&[0]),
            Some(v) => {
                self.bytes(&[1]);
                self.bytes(&v.to_be_bytes());
            }
        }
    }
    pub(crate) fn finish(self) -> u64 {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn net(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    #[test]
    fn validate_accepts_well_formed_flows() {
        let f = Flow::redirect("up0", "bgp0")
            .ethertype(EtherType::Ipv4)
            .ip_proto(IPPROTO_TCP)
            .src(net("192.0.2.2/32"))
            .dst_port(179);
        assert_eq!(f.validate(), Ok(()));
        let f = Flow::redirect("up0", "bgp0")
            .ethertype(EtherType::Arp)
            .src(net("192.0.2.0/24"));
        assert_eq!(f.validate(), Ok(()));
        assert_eq!(Flow::new("up0", Action::Drop).validate(), Ok(()));
    }

    #[test]
    fn validate_rejects_inconsistent_fields() {
        let f = Flow::redirect("up0", "bgp0")
            .ethertype(EtherType::Ipv6)
            .src(net("192.0.2.2/32"));
        assert!(matches!(
            f.validate(),
            Err(FlowError::AddressFamily { field: "src", .. })
        ));
        let f = Flow::redirect("up0", "bgp0")
            .ethertype(EtherType::Ipv4)
            .dst_port(179);
        assert!(matches!(
            f.validate(),
            Err(FlowError::NeedsProtocol {
                field: "dst_port",
                ..
            })
        ));
        let f = Flow::redirect("up0", "bgp0").ip_proto(IPPROTO_TCP);
        assert!(matches!(
            f.validate(),
            Err(FlowError::NeedsEthertype {
                field: "ip_proto",
                ..
            })
        ));
        let f = Flow::redirect("up0", "bgp0")
            .ethertype(EtherType::Ipv6)
            .ip_proto(IPPROTO_ICMP)
            .icmp_type(8);
        assert!(matches!(
            f.validate(),
            Err(FlowError::NeedsProtocol {
                field: "icmp_type",
                ..
            })
        ));
        let f = Flow::redirect("a-very-long-interface-name", "bgp0");
        assert!(matches!(
            f.validate(),
            Err(FlowError::BadPortName {
                field: "in_port",
                ..
            })
        ));
        let f = Flow::redirect("up0", "");
        assert!(matches!(
            f.validate(),
            Err(FlowError::BadPortName {
                field: "action.to",
                ..
            })
        ));
    }

    #[test]
    fn fingerprint_is_stable_and_distinguishes_fields() {
        let a = Flow::redirect("up0", "bgp0")
            .ethertype(EtherType::Ipv4)
            .src(net("192.0.2.7/24"));
        let b = Flow::redirect("up0", "bgp0")
            .ethertype(EtherType::Ipv4)
            .src(net("192.0.2.0/24"));
        // Host bits are cleared, so both describe the same match.
        assert_eq!(a, b);
        assert_eq!(a.fingerprint(), b.fingerprint());
        let c = b.clone().dst(net("192.0.2.0/24"));
        assert_ne!(b.fingerprint(), c.fingerprint());
        let d = Flow::redirect("up0", "bgp1")
            .ethertype(EtherType::Ipv4)
            .src(net("192.0.2.0/24"));
        assert_ne!(b.fingerprint(), d.fingerprint());
        // A fixed value: the fingerprint must not change between builds (kernel state refers to it).
        assert_eq!(
            Flow::new("x", Action::Drop).fingerprint(),
            Flow::new("x", Action::Drop).fingerprint()
        );
    }
}
