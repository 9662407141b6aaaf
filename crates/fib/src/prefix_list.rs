//! [`PrefixList`]: a list of prefixes kept compactly — 8 bytes per IPv4 prefix instead of an
//! 18-byte `IpNetwork` (24 in a tuple with a `u32`). The planner lists pending prefixes in the
//! order they were first changed, and the kernel sink queues its batches of changes with one:
//! while a full table waits for the kernel, every one of its prefixes is in such lists.

use std::net::Ipv4Addr;

use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

/// Marks an entry of `PrefixList::keys` that is the index of an IPv6 prefix in `PrefixList::v6`.
const V6: u64 = 1 << 63;

/// A list of prefixes (see the module documentation).
#[derive(Debug, Default)]
pub struct PrefixList {
    /// An IPv4 prefix: address << 8 | length; an IPv6 one: [`V6`] | its index in `v6`.
    keys: Vec<u64>,
    /// The IPv6 prefixes (sparse in a full table).
    v6: Vec<Ipv6Network>,
}

impl PrefixList {
    /// Appends `prefix`.
    pub fn push(&mut self, prefix: IpNetwork) {
        match prefix {
            IpNetwork::V4(p) => self
                .keys
                .push((u64::from(u32::from(p.network())) << 8) | u64::from(p.prefix())),
            IpNetwork::V6(p) => {
                self.keys.push(V6 | self.v6.len() as u64);
                self.v6.push(p);
            }
        }
    }

    /// The `i`-th prefix.
    pub fn get(&self, i: usize) -> Option<IpNetwork> {
        let key = *self.keys.get(i)?;
        if key & V6 != 0 {
            let at = usize::try_from(key & !V6).ok()?;
            return self.v6.get(at).copied().map(IpNetwork::V6);
        }
        let addr = Ipv4Addr::from((key >> 8) as u32);
        Ipv4Network::new(addr, key as u8).ok().map(IpNetwork::V4)
    }

    /// Number of prefixes listed.
    pub fn len(&self) -> usize {
        self.keys.len()
    }

    /// Whether the list is empty.
    pub fn is_empty(&self) -> bool {
        self.keys.is_empty()
    }

    /// An empty list with room for `n` prefixes.
    pub fn with_capacity(n: usize) -> PrefixList {
        PrefixList {
            keys: Vec::with_capacity(n),
            v6: Vec::new(),
        }
    }

    /// Every prefix, in order.
    pub fn iter(&self) -> impl Iterator<Item = IpNetwork> + '_ {
        (0..self.len()).filter_map(|i| self.get(i))
    }

    /// Forgets every prefix; gives the memory back if more than `keep` were listed.
    pub fn clear(&mut self, keep: usize) {
        if self.keys.capacity() > keep {
            *self = PrefixList::default();
        } else {
            self.keys.clear();
            self.v6.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prefixes_come_back_in_order_across_families() {
        let all: Vec<IpNetwork> = [
            "192.0.2.0/24",
            "2001:db8::/32",
            "0.0.0.0/0",
            "255.255.255.255/32",
            "::/0",
            "198.51.100.0/25",
        ]
        .iter()
        .map(|s| s.parse().unwrap())
        .collect();
        let mut o = PrefixList::with_capacity(2);
        for p in &all {
            o.push(*p);
        }
        assert_eq!(o.len(), all.len());
        let back: Vec<IpNetwork> = o.iter().collect();
        assert_eq!(back, all);
        assert_eq!(o.get(all.len()), None);
        assert_eq!(std::mem::size_of_val(&o.keys[0]), 8);
        o.clear(1);
        assert_eq!(o.len(), 0);
        assert_eq!(
            o.keys.capacity(),
            0,
            "more than `keep` listed: memory given back"
        );
        o.push(all[0]);
        o.clear(1 << 10);
        assert!(o.keys.capacity() > 0, "kept for reuse");
    }
}
