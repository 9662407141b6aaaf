//! The table of routes bgpd gave us, kept compact (about 25 bytes per IPv4 route) so that a
//! full Internet table fits easily: the paths themselves go to the embedder in events; here we
//! keep only who owns each prefix, whether it is stale, and a fingerprint of its path set (to
//! suppress repeats, e.g. when bgpd refreshes routes after a restart within the grace period).

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::hash::BuildHasher;
use std::net::{Ipv4Addr, Ipv6Addr};

use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

use crate::fasthash::SeededState;
use crate::types::RoutePath;

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Meta {
    fingerprint: u64,
    owner: u32,
    stale: bool,
}

/// What [`RouteTable::upsert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Upsert {
    /// New prefix or new path set: emit a Replace.
    Changed,
    /// Same path set as before (possibly refreshing a stale route): nothing to emit.
    Unchanged,
    /// The table is full and the prefix is new: ignored.
    Full,
}

/// Routes keyed by prefix.
#[derive(Debug, Default)]
pub(crate) struct RouteTable {
    v4: HashMap<u64, Meta, SeededState>,
    v6: HashMap<(u128, u8), Meta, SeededState>,
    limit: usize,
    paths_seed: SeededState,
}

fn key4(p: &Ipv4Network) -> u64 {
    (u64::from(u32::from(p.network())) << 8) | u64::from(p.prefix())
}

fn unkey4(k: u64) -> IpNetwork {
    let addr = Ipv4Addr::from((k >> 8) as u32);
    let len = (k & 0xff) as u8;
    Ipv4Network::new(addr, len).map_or(IpNetwork::V4(Ipv4Network::from(addr)), IpNetwork::V4)
}

fn key6(p: &Ipv6Network) -> (u128, u8) {
    (u128::from(p.network()), p.prefix())
}

fn unkey6(k: (u128, u8)) -> IpNetwork {
    let addr = Ipv6Addr::from(k.0);
    Ipv6Network::new(addr, k.1).map_or(IpNetwork::V6(Ipv6Network::from(addr)), IpNetwork::V6)
}

/// A fingerprint of a path set, independent of path order.
fn fingerprint(seed: &SeededState, paths: &[RoutePath]) -> u64 {
    let mut acc = 0u64;
    for p in paths {
        // Order-independent combination; a set with duplicates still differs from one without.
        acc = acc.wrapping_add(seed.hash_one(p));
    }
    acc ^ (paths.len() as u64).wrapping_mul(0x100_0000_01b3)
}

impl RouteTable {
    pub(crate) fn with_limit(limit: usize) -> RouteTable {
        RouteTable {
            limit,
            ..RouteTable::default()
        }
    }

    /// The fingerprint of `paths` for this table.
    pub(crate) fn fingerprint(&self, paths: &[RoutePath]) -> u64 {
        fingerprint(&self.paths_seed, paths)
    }

    pub(crate) fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Inserts or replaces `prefix` (already normalised) for `owner`.
    pub(crate) fn upsert(&mut self, prefix: &IpNetwork, owner: u32, fp: u64) -> Upsert {
        let full = self.len() >= self.limit;
        let meta = Meta {
            fingerprint: fp,
            owner,
            stale: false,
        };
        let upd = |e: &mut Meta| {
            let same = e.fingerprint == fp;
            *e = meta;
            if same {
                Upsert::Unchanged
            } else {
                Upsert::Changed
            }
        };
        match prefix {
            IpNetwork::V4(p) => match self.v4.entry(key4(p)) {
                Entry::Occupied(mut o) => upd(o.get_mut()),
                Entry::Vacant(_) if full => Upsert::Full,
                Entry::Vacant(v) => {
                    v.insert(meta);
                    Upsert::Changed
                }
            },
            IpNetwork::V6(p) => match self.v6.entry(key6(p)) {
                Entry::Occupied(mut o) => upd(o.get_mut()),
                Entry::Vacant(_) if full => Upsert::Full,
                Entry::Vacant(v) => {
                    v.insert(meta);
                    Upsert::Changed
                }
            },
        }
    }

    /// Removes `prefix`; true if it was present.
    pub(crate) fn remove(&mut self, prefix: &IpNetwork) -> bool {
        match prefix {
            IpNetwork::V4(p) => self.v4.remove(&key4(p)).is_some(),
            IpNetwork::V6(p) => self.v6.remove(&key6(p)).is_some(),
        }
    }

    /// Removes and returns every route owned by `owner`.
    pub(crate) fn take_owned(&mut self, owner: u32) -> Vec<IpNetwork> {
        let mut out = Vec::new();
        self.v4.retain(|k, m| {
            if m.owner == owner {
                out.push(unkey4(*k));
                false
            } else {
                true
            }
        });
        self.v6.retain(|k, m| {
            if m.owner == owner {
                out.push(unkey6(*k));
                false
            } else {
                true
            }
        });
        self.shrink();
        out
    }

    /// Marks every route owned by `owner` stale; returns how many.
    pub(crate) fn mark_stale(&mut self, owner: u32) -> usize {
        let mut n = 0;
        for m in self.v4.values_mut().chain(self.v6.values_mut()) {
            if m.owner == owner {
                m.stale = true;
                n += 1;
            }
        }
        n
    }

    /// Removes and returns every stale route.
    pub(crate) fn take_stale(&mut self) -> Vec<IpNetwork> {
        let mut out = Vec::new();
        self.v4.retain(|k, m| {
            if m.stale {
                out.push(unkey4(*k));
            }
            !m.stale
        });
        self.v6.retain(|k, m| {
            if m.stale {
                out.push(unkey6(*k));
            }
            !m.stale
        });
        self.shrink();
        out
    }

    /// Every prefix in the table (unordered).
    pub(crate) fn prefixes(&self) -> Vec<IpNetwork> {
        self.v4
            .keys()
            .map(|k| unkey4(*k))
            .chain(self.v6.keys().map(|k| unkey6(*k)))
            .collect()
    }

    fn shrink(&mut self) {
        if self.v4.len() * 4 < self.v4.capacity() {
            self.v4.shrink_to_fit();
        }
        if self.v6.len() * 4 < self.v6.capacity() {
            self.v6.shrink_to_fit();
        }
    }
}

/// Clears host bits of a prefix.
pub(crate) fn normalize(prefix: IpNetwork) -> IpNetwork {
    crate::nht::normalize(prefix)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn path(gw: &str) -> RoutePath {
        RoutePath {
            gateway: Some(gw.parse().unwrap()),
            ifindex: Some(3),
            distance: 20,
            metric: 0,
            weight: 1,
        }
    }

    #[test]
    fn keys_round_trip() {
        for s in ["0.0.0.0/0", "203.0.113.0/24", "255.255.255.255/32"] {
            let p: IpNetwork = s.parse().unwrap();
            let IpNetwork::V4(v4) = p else { panic!() };
            assert_eq!(unkey4(key4(&v4)), p);
        }
        for s in ["::/0", "2001:db8::/32", "2001:db8::1/128"] {
            let p: IpNetwork = s.parse().unwrap();
            let IpNetwork::V6(v6) = p else { panic!() };
            assert_eq!(unkey6(key6(&v6)), p);
        }
    }

    #[test]
    fn fingerprint_ignores_order_but_not_content() {
        let t = RouteTable::with_limit(1);
        let a = [path("192.0.2.2"), path("192.0.2.3")];
        let b = [path("192.0.2.3"), path("192.0.2.2")];
        assert_eq!(t.fingerprint(&a), t.fingerprint(&b));
        assert_ne!(t.fingerprint(&a), t.fingerprint(&a[..1]));
        assert_ne!(
            t.fingerprint(&[path("192.0.2.2")]),
            t.fingerprint(&[path("192.0.2.3")])
        );
        let mut other = path("192.0.2.2");
        other.metric = 1;
        assert_ne!(t.fingerprint(&[path("192.0.2.2")]), t.fingerprint(&[other]));
    }

    #[test]
    fn upsert_remove_stale_and_limit() {
        let mut t = RouteTable::with_limit(2);
        let p1: IpNetwork = "203.0.113.0/24".parse().unwrap();
        let p2: IpNetwork = "2001:db8::/32".parse().unwrap();
        let p3: IpNetwork = "198.51.100.0/24".parse().unwrap();
        assert_eq!(t.upsert(&p1, 1, 10), Upsert::Changed);
        assert_eq!(t.upsert(&p1, 1, 10), Upsert::Unchanged);
        assert_eq!(t.upsert(&p1, 1, 11), Upsert::Changed);
        assert_eq!(t.upsert(&p2, 2, 10), Upsert::Changed);
        assert_eq!(t.upsert(&p3, 2, 10), Upsert::Full);
        assert_eq!(t.mark_stale(1), 1);
        // Refreshing clears the stale mark.
        assert_eq!(t.upsert(&p1, 2, 11), Upsert::Unchanged);
        assert!(t.take_stale().is_empty());
        assert_eq!(t.mark_stale(2), 2);
        let mut gone = t.take_stale();
        gone.sort();
        assert_eq!(gone.len(), 2);
        assert_eq!(t.len(), 0);
        assert!(!t.remove(&p1));
        t.upsert(&p1, 5, 1);
        assert_eq!(t.take_owned(5), vec![p1]);
        assert_eq!(t.prefixes(), Vec::<IpNetwork>::new());
    }
}
