//! [`PrefixMap`]: a hash map keyed by IP prefix with compact keys — 8 bytes for an IPv4
//! prefix, 17 for an IPv6 one, instead of the 18 bytes (and 8-byte entry alignment) an
//! `IpNetwork` key costs — hashed with a randomly seeded keyed hash (foldhash's `quality`
//! variant), so prefixes chosen by a remote BGP speaker cannot be aimed at one bucket.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use foldhash::quality::RandomState;
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

/// An IPv4 prefix: address bits, length.
type V4Key = (u32, u8);
/// An IPv6 prefix: address bytes, length.
type V6Key = ([u8; 16], u8);

fn v4_key(p: &Ipv4Network) -> V4Key {
    (u32::from(p.network()), p.prefix())
}

fn v6_key(p: &Ipv6Network) -> V6Key {
    (p.network().octets(), p.prefix())
}

fn v4_prefix(k: &V4Key) -> Option<IpNetwork> {
    Ipv4Network::new(Ipv4Addr::from(k.0), k.1)
        .ok()
        .map(IpNetwork::V4)
}

fn v6_prefix(k: &V6Key) -> Option<IpNetwork> {
    Ipv6Network::new(Ipv6Addr::from(k.0), k.1)
        .ok()
        .map(IpNetwork::V6)
}

/// A map from prefixes (host bits cleared on the way in) to `V`.
#[derive(Debug, Clone)]
pub struct PrefixMap<V> {
    v4: HashMap<V4Key, V, RandomState>,
    v6: HashMap<V6Key, V, RandomState>,
}

impl<V> Default for PrefixMap<V> {
    fn default() -> Self {
        PrefixMap {
            v4: HashMap::default(),
            v6: HashMap::default(),
        }
    }
}

impl<V> PrefixMap<V> {
    /// An empty map.
    pub fn new() -> Self {
        PrefixMap::default()
    }

    /// Number of prefixes.
    pub fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.v4.is_empty() && self.v6.is_empty()
    }

    /// The value of `prefix`.
    pub fn get(&self, prefix: &IpNetwork) -> Option<&V> {
        match prefix {
            IpNetwork::V4(p) => self.v4.get(&v4_key(p)),
            IpNetwork::V6(p) => self.v6.get(&v6_key(p)),
        }
    }

    /// The value of `prefix`, mutably.
    pub fn get_mut(&mut self, prefix: &IpNetwork) -> Option<&mut V> {
        match prefix {
            IpNetwork::V4(p) => self.v4.get_mut(&v4_key(p)),
            IpNetwork::V6(p) => self.v6.get_mut(&v6_key(p)),
        }
    }

    /// Whether `prefix` has a value.
    pub fn contains_key(&self, prefix: &IpNetwork) -> bool {
        self.get(prefix).is_some()
    }

    /// Sets the value of `prefix`; returns the earlier one.
    pub fn insert(&mut self, prefix: IpNetwork, value: V) -> Option<V> {
        match prefix {
            IpNetwork::V4(p) => self.v4.insert(v4_key(&p), value),
            IpNetwork::V6(p) => self.v6.insert(v6_key(&p), value),
        }
    }

    /// The value of `prefix`, inserting `make()` first if there is none.
    pub fn get_or_insert_with(&mut self, prefix: IpNetwork, make: impl FnOnce() -> V) -> &mut V {
        match prefix {
            IpNetwork::V4(p) => match self.v4.entry(v4_key(&p)) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(make()),
            },
            IpNetwork::V6(p) => match self.v6.entry(v6_key(&p)) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(make()),
            },
        }
    }

    /// Removes `prefix`; returns its value.
    pub fn remove(&mut self, prefix: &IpNetwork) -> Option<V> {
        match prefix {
            IpNetwork::V4(p) => self.v4.remove(&v4_key(p)),
            IpNetwork::V6(p) => self.v6.remove(&v6_key(p)),
        }
    }

    /// Every prefix with its value (IPv4 first, otherwise in no particular order).
    pub fn iter(&self) -> impl Iterator<Item = (IpNetwork, &V)> + '_ {
        let v4 = self.v4.iter().filter_map(|(k, v)| Some((v4_prefix(k)?, v)));
        let v6 = self.v6.iter().filter_map(|(k, v)| Some((v6_prefix(k)?, v)));
        v4.chain(v6)
    }

    /// Every prefix with its value, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (IpNetwork, &mut V)> + '_ {
        let v4 = self
            .v4
            .iter_mut()
            .filter_map(|(k, v)| Some((v4_prefix(k)?, v)));
        let v6 = self
            .v6
            .iter_mut()
            .filter_map(|(k, v)| Some((v6_prefix(k)?, v)));
        v4.chain(v6)
    }

    /// Every value, mutably.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        self.v4.values_mut().chain(self.v6.values_mut())
    }

    /// Every value.
    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        self.v4.values().chain(self.v6.values())
    }

    /// Keeps only the prefixes for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut V) -> bool) {
        self.v4.retain(|_, v| keep(v));
        self.v6.retain(|_, v| keep(v));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> IpNetwork {
        s.parse().unwrap()
    }

    #[test]
    fn both_families_round_trip_and_lengths_are_part_of_the_key() {
        let mut m = PrefixMap::new();
        assert!(m.insert(p("192.0.2.0/24"), 1).is_none());
        assert!(m.insert(p("192.0.2.0/25"), 2).is_none());
        assert!(m.insert(p("2001:db8::/32"), 3).is_none());
        assert!(m.insert(p("0.0.0.0/0"), 4).is_none());
        assert!(m.insert(p("::/0"), 5).is_none());
        assert_eq!(m.insert(p("192.0.2.0/24"), 6), Some(1));
        assert_eq!(m.len(), 5);
        assert_eq!(m.get(&p("192.0.2.0/24")), Some(&6));
        assert_eq!(m.get(&p("192.0.2.0/26")), None);
        assert_eq!(m.get(&p("2001:db8::/32")), Some(&3));
        assert_eq!(m.get(&p("2001:db8::/33")), None);
        let mut all: Vec<(String, i32)> = m.iter().map(|(k, v)| (k.to_string(), *v)).collect();
        all.sort();
        assert_eq!(
            all,
            vec![
                ("0.0.0.0/0".to_string(), 4),
                ("192.0.2.0/24".to_string(), 6),
                ("192.0.2.0/25".to_string(), 2),
                ("2001:db8::/32".to_string(), 3),
                ("::/0".to_string(), 5),
            ]
        );
        *m.get_or_insert_with(p("198.51.100.0/24"), || 0) += 7;
        *m.get_or_insert_with(p("198.51.100.0/24"), || 0) += 7;
        assert_eq!(m.get(&p("198.51.100.0/24")), Some(&14));
        for (_, v) in m.iter_mut() {
            *v += 1;
        }
        m.retain(|v| *v % 2 == 1);
        assert_eq!(m.len(), 4);
        assert!(!m.contains_key(&p("2001:db8::/32")));
        assert_eq!(m.remove(&p("0.0.0.0/0")), Some(5));
        assert!(!m.contains_key(&p("0.0.0.0/0")));
        assert!(m.contains_key(&p("192.0.2.0/25")));
        assert_eq!(m.values().count(), 3);
        for v in m.values_mut() {
            *v = 0;
        }
        assert!(m.values().all(|v| *v == 0));
        assert!(!m.is_empty());
    }

    #[test]
    fn keys_stay_small() {
        // What a million-route table pays per entry, besides the value.
        assert_eq!(std::mem::size_of::<V4Key>(), 8);
        assert_eq!(std::mem::size_of::<(V4Key, u64)>(), 16);
    }
}
