//! What a host sends when it takes a port over from another host: an ARP request from the port's
//! IPv4 address to each IPv4 peer (its sender fields refresh the peer's neighbour cache and every
//! bridge's forwarding table) and an unsolicited neighbour advertisement (override flag set) from
//! the port's IPv6 address to each IPv6 peer. Both are addressed to the peers, so the datapath's
//! flows (ARP and ND between port and peer addresses only) carry them to the uplink. Frames are
//! built sans-I/O; [`send`] writes them on the port's interface from a dedicated thread inside
//! the port's namespace.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

/// ARP request (Ethernet broadcast) from `mac`/`sender` asking for `target`.
pub fn arp_request(mac: [u8; 6], sender: Ipv4Addr, target: Ipv4Addr) -> Vec<u8> {
    let mut f = Vec::with_capacity(42);
    f.extend_from_slice(&[0xff; 6]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x08, 0x06]); // ARP
    f.extend_from_slice(&[0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01]); // Ethernet/IPv4, request
    f.extend_from_slice(&mac);
    f.extend_from_slice(&sender.octets());
    f.extend_from_slice(&[0; 6]);
    f.extend_from_slice(&target.octets());
    f
}

/// Unsolicited neighbour advertisement (RFC 4861 section 7.2.6: override set, solicited clear)
/// for `src`, with its link-layer address `mac`, sent to `dst` (hop limit 255).
pub fn unsolicited_na(mac: [u8; 6], src: Ipv6Addr, dst: Ipv6Addr) -> Vec<u8> {
    let mut icmp = Vec::with_capacity(32);
    icmp.extend_from_slice(&[136, 0, 0, 0]); // type, code, checksum (later)
    icmp.extend_from_slice(&[0x20, 0, 0, 0]); // flags: O
    icmp.extend_from_slice(&src.octets()); // target address
    icmp.extend_from_slice(&[2, 1]); // option: target link-layer address, 8 bytes
    icmp.extend_from_slice(&mac);
    let sum = icmpv6_checksum(src, dst, &icmp);
    icmp[2..4].copy_from_slice(&sum.to_be_bytes());
    let mut f = Vec::with_capacity(14 + 40 + icmp.len());
    // The peer's MAC is unknown here; the all-nodes group address reaches it.
    f.extend_from_slice(&[0x33, 0x33, 0, 0, 0, 1]);
    f.extend_from_slice(&mac);
    f.extend_from_slice(&[0x86, 0xdd]);
    f.extend_from_slice(&[0x60, 0, 0, 0]);
    f.extend_from_slice(&(icmp.len() as u16).to_be_bytes());
    f.extend_from_slice(&[58, 255]);
    f.extend_from_slice(&src.octets());
    f.extend_from_slice(&dst.octets());
    f.extend_from_slice(&icmp);
    f
}

fn icmpv6_checksum(src: Ipv6Addr, dst: Ipv6Addr, body: &[u8]) -> u16 {
    let mut sum: u32 = 0;
    let mut add = |b: &[u8]| {
        for c in b.chunks(2) {
            let w = if c.len() == 2 {
                u16::from_be_bytes([c[0], c[1]])
            } else {
                u16::from(c[0]) << 8
            };
            sum += u32::from(w);
        }
    };
    add(&src.octets());
    add(&dst.octets());
    add(&(body.len() as u32).to_be_bytes());
    add(&[0, 0, 0, 58]);
    add(body);
    while sum >> 16 != 0 {
        sum = (sum & 0xffff) + (sum >> 16);
    }
    !(sum as u16)
}

/// The frames announcing `addresses` (the port's own) to `peers` from `mac`.
pub fn frames(mac: [u8; 6], addresses: &[IpAddr], peers: &[IpAddr]) -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for a in addresses {
        for p in peers {
            match (a, p) {
                (IpAddr::V4(a), IpAddr::V4(p)) if a != p => out.push(arp_request(mac, *a, *p)),
                (IpAddr::V6(a), IpAddr::V6(p)) if a != p => out.push(unsolicited_na(mac, *a, *p)),
                _ => {}
            }
        }
    }
    out
}

/// Why announcing failed.
#[derive(Debug, thiserror::Error)]
pub enum TakeoverError {
    /// The namespace could not be entered.
    #[error(transparent)]
    Netns(#[from] netns::NetnsError),
    /// A socket call failed.
    #[error("{op} on {ifname}: {source}")]
    Io {
        /// The call.
        op: &'static str,
        /// The interface.
        ifname: String,
        /// The cause.
        source: std::io::Error,
    },
}

/// Sends the frames for `addresses`/`peers` on `ifname` inside namespace `ns` (its MAC is read
/// there), from a dedicated thread. Returns how many frames were sent.
pub async fn send(
    ns: &str,
    ifname: &str,
    addresses: Vec<IpAddr>,
    peers: Vec<IpAddr>,
) -> Result<usize, TakeoverError> {
    let handle = netns::NetNs::open(ns)?;
    let ifname = ifname.to_string();
    handle
        .run_async(move || send_here(&ifname, &addresses, &peers))
        .await?
}

fn io(op: &'static str, ifname: &str) -> TakeoverError {
    TakeoverError::Io {
        op,
        ifname: ifname.to_string(),
        source: std::io::Error::last_os_error(),
    }
}

/// Runs on the namespace's thread.
fn send_here(ifname: &str, addresses: &[IpAddr], peers: &[IpAddr]) -> Result<usize, TakeoverError> {
    use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
    if ifname.len() >= libc::IFNAMSIZ {
        return Err(TakeoverError::Io {
            op: "name",
            ifname: ifname.into(),
            source: std::io::Error::from(std::io::ErrorKind::InvalidInput),
        });
    }
    // SAFETY: socket(2) with constant arguments; the result is checked before use.
    let raw = unsafe { libc::socket(libc::AF_PACKET, libc::SOCK_RAW | libc::SOCK_CLOEXEC, 0) };
    if raw < 0 {
        return Err(io("socket(AF_PACKET)", ifname));
    }
    // SAFETY: `raw` is a fresh, valid descriptor we own from here on.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    // SAFETY: ifreq is plain old data; all-zero is a valid value.
    let mut req: libc::ifreq = unsafe { std::mem::zeroed() };
    for (slot, b) in req.ifr_name.iter_mut().zip(ifname.bytes()) {
        *slot = b as libc::c_char;
    }
    // SAFETY: SIOCGIFINDEX reads ifr_name and writes ifr_ifru.ifru_ifindex of a valid ifreq.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFINDEX, &mut req) } < 0 {
        return Err(io("SIOCGIFINDEX", ifname));
    }
    // SAFETY: the union member SIOCGIFINDEX wrote.
    let ifindex = unsafe { req.ifr_ifru.ifru_ifindex };
    // SAFETY: SIOCGIFHWADDR reads ifr_name and writes ifr_ifru.ifru_hwaddr of a valid ifreq.
    if unsafe { libc::ioctl(fd.as_raw_fd(), libc::SIOCGIFHWADDR, &mut req) } < 0 {
        return Err(io("SIOCGIFHWADDR", ifname));
    }
    // SAFETY: the union member SIOCGIFHWADDR wrote.
    let hw = unsafe { req.ifr_ifru.ifru_hwaddr };
    let mut mac = [0u8; 6];
    for (m, b) in mac.iter_mut().zip(hw.sa_data.iter()) {
        *m = *b as u8;
    }
    let mut sent = 0;
    for frame in frames(mac, addresses, peers) {
        // SAFETY: sockaddr_ll is plain old data; all-zero is valid, then filled in.
        let mut addr: libc::sockaddr_ll = unsafe { std::mem::zeroed() };
        addr.sll_family = libc::AF_PACKET as u16;
        addr.sll_ifindex = ifindex;
        addr.sll_halen = 6;
        addr.sll_addr[..6].copy_from_slice(&frame[..6]);
        // SAFETY: buffer and address point to live memory of the given lengths.
        let n = unsafe {
            libc::sendto(
                fd.as_raw_fd(),
                frame.as_ptr().cast(),
                frame.len(),
                0,
                (&addr as *const libc::sockaddr_ll).cast(),
                std::mem::size_of::<libc::sockaddr_ll>() as libc::socklen_t,
            )
        };
        if n < 0 {
            return Err(io("sendto", ifname));
        }
        sent += 1;
    }
    Ok(sent)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MAC: [u8; 6] = [2, 0, 0, 0, 0, 1];

    #[test]
    fn arp_request_layout() {
        let f = arp_request(
            MAC,
            Ipv4Addr::new(192, 0, 2, 1),
            Ipv4Addr::new(192, 0, 2, 2),
        );
        assert_eq!(f.len(), 42);
        assert_eq!(&f[0..6], &[0xff; 6]);
        assert_eq!(&f[6..12], &MAC);
        assert_eq!(&f[12..14], &[8, 6]);
        assert_eq!(&f[20..22], &[0, 1]);
        assert_eq!(&f[22..28], &MAC);
        assert_eq!(&f[28..32], &[192, 0, 2, 1]);
        assert_eq!(&f[38..42], &[192, 0, 2, 2]);
    }

    #[test]
    fn na_checksum_verifies_and_flags_override() {
        let src: Ipv6Addr = "2001:db8::1".parse().unwrap();
        let dst: Ipv6Addr = "2001:db8::2".parse().unwrap();
        let f = unsolicited_na(MAC, src, dst);
        assert_eq!(f.len(), 14 + 40 + 32);
        assert_eq!(&f[12..14], &[0x86, 0xdd]);
        assert_eq!(f[20], 58);
        assert_eq!(f[21], 255);
        let icmp = &f[54..];
        assert_eq!(icmp[0], 136);
        assert_eq!(icmp[4], 0x20);
        assert_eq!(&icmp[8..24], &src.octets());
        assert_eq!(&icmp[26..32], &MAC);
        // Summing the body with its checksum in place gives 0 (one's complement).
        assert_eq!(icmpv6_checksum(src, dst, icmp), 0);
    }

    #[test]
    fn frames_pair_families_and_skip_self() {
        let a: Vec<IpAddr> = vec!["192.0.2.1".parse().unwrap(), "2001:db8::1".parse().unwrap()];
        let p: Vec<IpAddr> = vec![
            "192.0.2.2".parse().unwrap(),
            "192.0.2.3".parse().unwrap(),
            "2001:db8::2".parse().unwrap(),
            "192.0.2.1".parse().unwrap(),
        ];
        let f = frames(MAC, &a, &p);
        assert_eq!(f.len(), 3);
        assert_eq!(f.iter().filter(|x| x.len() == 42).count(), 2);
    }
}
