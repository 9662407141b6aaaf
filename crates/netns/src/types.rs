//! Plain data types describing links, addresses and routes (no netlink types).

use std::fmt;
use std::net::IpAddr;

use ipnetwork::IpNetwork;

use crate::error::{NetnsError, Result};

/// An Ethernet MAC address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
pub struct MacAddr(pub [u8; 6]);

impl MacAddr {
    /// The six octets.
    pub fn octets(&self) -> [u8; 6] {
        self.0
    }

    /// True for a unicast address (the multicast bit of the first octet is clear) that is not
    /// all zeros.
    pub fn is_unicast(&self) -> bool {
        self.0[0] & 1 == 0 && self.0 != [0; 6]
    }

    /// A locally administered unicast address derived from `seed` (stable for a given seed).
    pub fn local_from_seed(seed: u64) -> MacAddr {
        let b = seed.to_be_bytes();
        MacAddr([0x02, b[3], b[4], b[5], b[6], b[7]])
    }
}

impl fmt::Display for MacAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let m = self.0;
        write!(
            f,
            "{:02x}:{:02x}:{:02x}:{:02x}:{:02x}:{:02x}",
            m[0], m[1], m[2], m[3], m[4], m[5]
        )
    }
}

impl std::str::FromStr for MacAddr {
    type Err = NetnsError;
    fn from_str(s: &str) -> Result<MacAddr> {
        let bad = || NetnsError::InvalidSpec {
            field: "mac",
            reason: format!("{s:?} is not six hex bytes separated by ':' or '-'"),
        };
        let mut out = [0u8; 6];
        // One separator throughout: `aa:bb:…` or `aa-bb-…`.
        let sep = if s.contains('-') { '-' } else { ':' };
        let mut parts = s.split(sep);
        for slot in out.iter_mut() {
            let p = parts.next().ok_or_else(bad)?;
            if p.len() != 2 {
                return Err(bad());
            }
            *slot = u8::from_str_radix(p, 16).map_err(|_| bad())?;
        }
        if parts.next().is_some() {
            return Err(bad());
        }
        Ok(MacAddr(out))
    }
}

impl From<[u8; 6]> for MacAddr {
    fn from(o: [u8; 6]) -> MacAddr {
        MacAddr(o)
    }
}

/// A network interface as the kernel reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Link {
    /// Interface index (in its namespace).
    pub index: u32,
    /// Interface name.
    pub name: String,
    /// The link kind (`"veth"`, `"bridge"`, `"dummy"`, …); `None` for kind-less links such as `lo`.
    pub kind: Option<String>,
    /// Hardware address, when it is a 6-byte Ethernet address.
    pub mac: Option<MacAddr>,
    /// MTU.
    pub mtu: u32,
    /// Administratively up (`IFF_UP`).
    pub up: bool,
    /// Carrier present (`IFF_LOWER_UP`).
    pub lower_up: bool,
    /// Index of the bridge (or other controller) this link is enslaved to.
    pub master: Option<u32>,
    /// For a veth: the index of its peer (in the peer's namespace).
    pub peer_index: Option<u32>,
    /// For a veth whose peer is in another namespace: that namespace's id as seen from here.
    pub peer_netns_id: Option<i32>,
}

/// An interface address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Address {
    /// Index of the interface carrying it.
    pub index: u32,
    /// Address and prefix length.
    pub network: IpNetwork,
    /// IPv6 duplicate address detection still running (`IFA_F_TENTATIVE`): not usable yet.
    pub tentative: bool,
    /// IPv6 duplicate address detection failed.
    pub dad_failed: bool,
}

/// A route of the main table.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    /// Destination prefix (`0.0.0.0/0` or `::/0` for a default route).
    pub destination: IpNetwork,
    /// Gateway, if any.
    pub gateway: Option<IpAddr>,
    /// Output interface index, if any.
    pub oif: Option<u32>,
}

/// One end of a veth pair to create.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VethEnd {
    /// Interface name (≤ 15 bytes).
    pub name: String,
    /// MAC address; `None` lets the kernel pick a random one.
    pub mac: Option<MacAddr>,
    /// MTU; `None` keeps the kernel default (1500).
    pub mtu: Option<u32>,
}

/// Checks an interface name: 1–15 bytes, no `/`, `:`, whitespace or NUL, not `.`/`..`.
pub fn validate_ifname(name: &str) -> Result<()> {
    let bad = |reason| {
        Err(NetnsError::InvalidName {
            name: name.to_string(),
            reason,
        })
    };
    if name.is_empty() {
        return bad("empty");
    }
    if name.len() > 15 {
        return bad("interface names are at most 15 bytes");
    }
    if name == "." || name == ".." {
        return bad("`.` and `..` are not interface names");
    }
    if name
        .chars()
        .any(|c| c == '/' || c == ':' || c.is_whitespace() || c == '\0')
    {
        return bad("contains `/`, `:`, whitespace or NUL");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn mac_round_trips_and_rejects_garbage() {
        let m: MacAddr = "02:aB:00:ff:10:01".parse().unwrap();
        assert_eq!(m.0, [0x02, 0xab, 0, 0xff, 0x10, 0x01]);
        assert_eq!(m.to_string(), "02:ab:00:ff:10:01");
        assert_eq!("02-ab-00-ff-10-01".parse::<MacAddr>().unwrap(), m);
        for bad in [
            "",
            "02-ab:00:ff:10:01",
            "02:ab:00:ff:10",
            "02:ab:00:ff:10:01:02",
            "2:ab:00:ff:10:01",
            "zz:ab:00:ff:10:01",
        ] {
            assert!(bad.parse::<MacAddr>().is_err(), "{bad}");
        }
        assert!(MacAddr::local_from_seed(7).is_unicast());
        assert!(!MacAddr([1, 0, 0, 0, 0, 0]).is_unicast());
    }

    #[test]
    fn interface_names_are_checked() {
        assert!(validate_ifname("mnb-abcdefg_vm").is_ok());
        assert!(validate_ifname("123456789012345").is_ok());
        for bad in ["", "1234567890123456", "a/b", "a b", "a:b", "."] {
            assert!(validate_ifname(bad).is_err(), "{bad}");
        }
    }
}
