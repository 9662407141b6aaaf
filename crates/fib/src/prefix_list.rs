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
        decode(*self.keys.get(i)?, &self.v6)
    }

    /// Moves the prefixes after the first `from` for which `pick` holds to just after the
    /// first `from`, highest prefix first (`IpNetwork`'s order reversed: IPv6 before IPv4);
    /// the others keep their order behind them. Returns how many moved. Works on the 8-byte
    /// keys: no list of full prefixes is built.
    pub fn move_to_tail_front(
        &mut self,
        from: usize,
        mut pick: impl FnMut(IpNetwork) -> bool,
    ) -> usize {
        let v6 = &self.v6;
        let mut picked: Vec<u64> = Vec::new();
        let mut at = 0usize;
        self.keys.retain(|&key| {
            let i = at;
            at += 1;
            if i >= from && decode(key, v6).is_some_and(&mut pick) {
                picked.push(key);
                false
            } else {
                true
            }
        });
        picked.sort_unstable_by(|a, b| key_cmp(*b, *a, v6));
        let n = picked.len();
        let from = from.min(self.keys.len());
        self.keys.splice(from..from, picked);
        n
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

/// The prefix a key of `PrefixList::keys` stands for.
fn decode(key: u64, v6: &[Ipv6Network]) -> Option<IpNetwork> {
    if key & V6 != 0 {
        let at = usize::try_from(key & !V6).ok()?;
        return v6.get(at).copied().map(IpNetwork::V6);
    }
    let addr = Ipv4Addr::from((key >> 8) as u32);
    Ipv4Network::new(addr, key as u8).ok().map(IpNetwork::V4)
}

/// `IpNetwork`'s order on two keys: an IPv4 key is address << 8 | length (the order of
/// `Ipv4Network`), every IPv6 key is above every IPv4 one (`IpNetwork::V4 < IpNetwork::V6`).
fn key_cmp(a: u64, b: u64, v6: &[Ipv6Network]) -> std::cmp::Ordering {
    if a & V6 != 0 && b & V6 != 0 {
        let get = |k: u64| usize::try_from(k & !V6).ok().and_then(|i| v6.get(i));
        get(a).cmp(&get(b))
    } else {
        a.cmp(&b)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn picked_prefixes_move_to_the_front_of_the_tail_highest_first() {
        let mut list = PrefixList::default();
        let all = [
            "10.0.0.0/24",
            "192.0.2.0/24",
            "10.0.1.0/24",
            "2001:db8::/32",
            "198.51.100.0/24",
            "2001:db8:1::/48",
            "10.0.2.0/24",
        ];
        for p in all {
            list.push(p.parse().unwrap());
        }
        // Everything but 192.0.2.0/24 and 198.51.100.0/24 is picked, from index 1 on.
        let moved = list.move_to_tail_front(1, |p| !p.to_string().starts_with("19"));
        assert_eq!(moved, 4);
        let got: Vec<String> = list.iter().map(|p| p.to_string()).collect();
        assert_eq!(
            got,
            [
                "10.0.0.0/24",
                "2001:db8:1::/48",
                "2001:db8::/32",
                "10.0.2.0/24",
                "10.0.1.0/24",
                "192.0.2.0/24",
                "198.51.100.0/24",
            ]
        );
        // The same order as sorting the prefixes themselves, highest first.
        let mut want: Vec<IpNetwork> = list.iter().skip(1).take(4).collect();
        want.sort_unstable_by(|a, b| b.cmp(a));
        assert_eq!(list.iter().skip(1).take(4).collect::<Vec<_>>(), want);
        // Past the end: nothing moves.
        assert_eq!(list.move_to_tail_front(99, |_| true), 0);
        assert_eq!(list.len(), 7);
    }

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
