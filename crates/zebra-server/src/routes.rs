//! The table of routes bgpd gave us, kept compact (about 20 bytes per IPv4 route when routes
//! come in prefix order) so that a full Internet table fits easily: the paths themselves go to
//! the embedder in events; here we keep only who owns each prefix, whether it is stale, and a
//! fingerprint of its path set (to suppress repeats, e.g. when bgpd refreshes routes after a
//! restart within the grace period). Prefixes are stored in a [`BlockMap`], which keeps
//! neighbouring prefixes together (see `blocks`).

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

use crate::blocks::{BlockMap, Inserted};
use crate::fasthash::SeededState;
use crate::gr::Family;
use crate::types::RoutePath;

/// What the table keeps per route: 12 bytes (alignment 4), so that a block entry (slot and
/// this) takes 16.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Meta {
    /// The path set's fingerprint, in two halves.
    fingerprint: [u32; 2],
    /// The owner (low 31 bits of its connection number) and, in the top bit, the stale mark.
    owner_stale: u32,
}

const STALE: u32 = 1 << 31;

impl Meta {
    fn new(fingerprint: u64, owner: u32) -> Meta {
        Meta {
            fingerprint: [fingerprint as u32, (fingerprint >> 32) as u32],
            owner_stale: owner & !STALE,
        }
    }

    fn fingerprint(&self) -> u64 {
        u64::from(self.fingerprint[0]) | (u64::from(self.fingerprint[1]) << 32)
    }

    fn owned_by(&self, owner: u32) -> bool {
        self.owner_stale & !STALE == owner & !STALE
    }

    fn stale(&self) -> bool {
        self.owner_stale & STALE != 0
    }

    fn mark_stale(&mut self) {
        self.owner_stale |= STALE;
    }
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
#[derive(Debug)]
pub(crate) struct RouteTable {
    v4: BlockMap<u64, Meta>,
    v6: BlockMap<(u128, u8), Meta>,
    limit: usize,
    paths_seed: SeededState,
}

/// The block key and slot of an IPv4 prefix: its index among the prefixes of its length,
/// split into high bits (with the length) and low 8 bits.
fn split4(p: &Ipv4Network) -> (u64, u8) {
    let len = p.prefix();
    let addr = u32::from(p.network());
    let index = addr.checked_shr(32 - u32::from(len)).unwrap_or(0);
    ((u64::from(index >> 8) << 8) | u64::from(len), index as u8)
}

fn join4(key: u64, slot: u8) -> IpNetwork {
    let len = (key & 0xff) as u8;
    let index = (((key >> 8) << 8) | u64::from(slot)) as u32;
    let addr = Ipv4Addr::from(index.checked_shl(32 - u32::from(len)).unwrap_or(0));
    Ipv4Network::new(addr, len).map_or(IpNetwork::V4(Ipv4Network::from(addr)), IpNetwork::V4)
}

fn split6(p: &Ipv6Network) -> ((u128, u8), u8) {
    let len = p.prefix();
    let addr = u128::from(p.network());
    let index = addr.checked_shr(128 - u32::from(len)).unwrap_or(0);
    ((index >> 8, len), index as u8)
}

fn join6(key: (u128, u8), slot: u8) -> IpNetwork {
    let (high, len) = key;
    let index = (high << 8) | u128::from(slot);
    let addr = Ipv6Addr::from(index.checked_shl(128 - u32::from(len)).unwrap_or(0));
    Ipv6Network::new(addr, len).map_or(IpNetwork::V6(Ipv6Network::from(addr)), IpNetwork::V6)
}

/// A seeded hash of every field of a path.
fn path_hash(seed: &SeededState, p: &RoutePath) -> u64 {
    let (kind, high, low) = match p.gateway {
        None => (0u64, 0u64, 0u64),
        Some(IpAddr::V4(a)) => (1, 0, u64::from(u32::from(a))),
        Some(IpAddr::V6(a)) => {
            let a = u128::from(a);
            (2, (a >> 64) as u64, a as u64)
        }
    };
    // ifindex (32 bits) | present (1) | distance (8) | gateway kind (2).
    let attrs = u64::from(p.ifindex.unwrap_or(0))
        | u64::from(p.ifindex.is_some()) << 32
        | u64::from(p.distance) << 33
        | kind << 41;
    let address = seed.mix2(low, high);
    let rest = seed.mix2(attrs, u64::from(p.metric));
    seed.mix2(address ^ p.weight, rest)
}

/// A fingerprint of a path set, independent of path order.
fn fingerprint(seed: &SeededState, paths: &[RoutePath]) -> u64 {
    let mut acc = 0u64;
    for p in paths {
        // Order-independent combination; a set with duplicates still differs from one without.
        acc = acc.wrapping_add(path_hash(seed, p));
    }
    acc ^ (paths.len() as u64).wrapping_mul(0x100_0000_01b3)
}

impl RouteTable {
    pub(crate) fn with_limit(limit: usize) -> RouteTable {
        RouteTable {
            v4: BlockMap::new(),
            v6: BlockMap::new(),
            limit,
            paths_seed: SeededState::random(),
        }
    }

    /// The fingerprint of `paths` for this table.
    pub(crate) fn fingerprint(&self, paths: &[RoutePath]) -> u64 {
        fingerprint(&self.paths_seed, paths)
    }

    pub(crate) fn len(&self) -> usize {
        self.v4.len() + self.v6.len()
    }

    /// Heap bytes the table holds (constant time).
    pub(crate) fn heap_bytes(&self) -> usize {
        self.v4.heap_bytes() + self.v6.heap_bytes()
    }

    /// The most routes the table keeps.
    pub(crate) fn limit(&self) -> usize {
        self.limit
    }

    /// Inserts or replaces `prefix` (already normalised) for `owner`.
    pub(crate) fn upsert(&mut self, prefix: &IpNetwork, owner: u32, fp: u64) -> Upsert {
        let may_add = self.len() < self.limit;
        let meta = Meta::new(fp, owner);
        let done = match prefix {
            IpNetwork::V4(p) => {
                let (key, slot) = split4(p);
                self.v4.insert(key, slot, meta, may_add)
            }
            IpNetwork::V6(p) => {
                let (key, slot) = split6(p);
                self.v6.insert(key, slot, meta, may_add)
            }
        };
        match done {
            Inserted::Replaced(old) if old.fingerprint() == fp => Upsert::Unchanged,
            Inserted::Replaced(_) | Inserted::Added => Upsert::Changed,
            Inserted::Refused => Upsert::Full,
        }
    }

    /// Whether `prefix` (already normalised) is in the table.
    pub(crate) fn contains(&self, prefix: &IpNetwork) -> bool {
        match prefix {
            IpNetwork::V4(p) => {
                let (key, slot) = split4(p);
                self.v4.get(key, slot).is_some()
            }
            IpNetwork::V6(p) => {
                let (key, slot) = split6(p);
                self.v6.get(key, slot).is_some()
            }
        }
    }

    /// Removes `prefix`; true if it was present.
    pub(crate) fn remove(&mut self, prefix: &IpNetwork) -> bool {
        match prefix {
            IpNetwork::V4(p) => {
                let (key, slot) = split4(p);
                self.v4.remove(key, slot).is_some()
            }
            IpNetwork::V6(p) => {
                let (key, slot) = split6(p);
                self.v6.remove(key, slot).is_some()
            }
        }
    }

    /// Removes and returns every route for which `gone` holds.
    fn take_where(&mut self, gone: impl Fn(&Meta) -> bool) -> Vec<IpNetwork> {
        let mut out = Vec::new();
        self.v4.retain(|k, s, m| {
            if gone(m) {
                out.push(join4(k, s));
                return false;
            }
            true
        });
        self.v6.retain(|k, s, m| {
            if gone(m) {
                out.push(join6(k, s));
                return false;
            }
            true
        });
        out
    }

    /// Removes and returns every route owned by `owner`.
    pub(crate) fn take_owned(&mut self, owner: u32) -> Vec<IpNetwork> {
        self.take_where(|m| m.owned_by(owner))
    }

    /// Marks every route owned by `owner` stale; returns how many.
    pub(crate) fn mark_stale(&mut self, owner: u32) -> usize {
        let mut n = 0;
        let mut mark = |m: &mut Meta| {
            if m.owned_by(owner) {
                m.mark_stale();
                n += 1;
            }
        };
        self.v4.for_each_mut(&mut mark);
        self.v6.for_each_mut(&mut mark);
        n
    }

    /// Which of `owners` still own a stale route (one walk over the table).
    pub(crate) fn owners_with_stale(&mut self, owners: &[u32]) -> Vec<u32> {
        let mut found = vec![false; owners.len()];
        let mut see = |m: &mut Meta| {
            if m.stale() {
                if let Some(f) = owners
                    .iter()
                    .position(|&o| m.owned_by(o))
                    .and_then(|i| found.get_mut(i))
                {
                    *f = true;
                }
            }
        };
        self.v4.for_each_mut(&mut see);
        self.v6.for_each_mut(&mut see);
        owners
            .iter()
            .zip(found)
            .filter_map(|(&o, f)| f.then_some(o))
            .collect()
    }

    /// Removes and returns the stale routes owned by one of `owners`, of `family` (or of
    /// both families).
    pub(crate) fn take_stale_of(
        &mut self,
        owners: &[u32],
        family: Option<Family>,
    ) -> Vec<IpNetwork> {
        let gone = |m: &Meta| m.stale() && owners.iter().any(|&o| m.owned_by(o));
        let mut out = Vec::new();
        if family != Some(Family::Ipv6) {
            self.v4.retain(|k, s, m| {
                if gone(m) {
                    out.push(join4(k, s));
                    return false;
                }
                true
            });
        }
        if family != Some(Family::Ipv4) {
            self.v6.retain(|k, s, m| {
                if gone(m) {
                    out.push(join6(k, s));
                    return false;
                }
                true
            });
        }
        out
    }

    /// Every prefix in the table (unordered).
    pub(crate) fn prefixes(&self) -> Vec<IpNetwork> {
        self.v4
            .keys()
            .map(|(k, s)| join4(k, s))
            .chain(self.v6.keys().map(|(k, s)| join6(k, s)))
            .collect()
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
        for s in [
            "0.0.0.0/0",
            "128.0.0.0/1",
            "10.0.0.0/8",
            "203.0.113.0/24",
            "203.0.113.128/25",
            "255.255.255.254/31",
            "255.255.255.255/32",
        ] {
            let p: IpNetwork = s.parse().unwrap();
            let IpNetwork::V4(v4) = p else { panic!() };
            let (k, slot) = split4(&v4);
            assert_eq!(join4(k, slot), p, "{s}");
        }
        for s in [
            "::/0",
            "8000::/1",
            "2001:db8::/32",
            "2001:db8:0:ff00::/56",
            "2001:db8::1/128",
            "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff/128",
        ] {
            let p: IpNetwork = s.parse().unwrap();
            let IpNetwork::V6(v6) = p else { panic!() };
            let (k, slot) = split6(&v6);
            assert_eq!(join6(k, slot), p, "{s}");
        }
    }

    #[test]
    fn a_route_costs_16_bytes_in_a_block() {
        assert_eq!(std::mem::size_of::<(u8, Meta)>(), 16);
        let m = Meta::new(0x0123_4567_89ab_cdef, u32::MAX);
        assert_eq!(m.fingerprint(), 0x0123_4567_89ab_cdef);
        assert!(m.owned_by(u32::MAX) && !m.stale());
        let mut m = m;
        m.mark_stale();
        assert!(m.owned_by(u32::MAX) && m.stale());
    }

    /// Random prefixes of every length survive the trip through block key and slot.
    #[test]
    fn random_prefixes_round_trip() {
        let mut rng = fastrand::Rng::with_seed(11);
        for _ in 0..20_000 {
            let len4 = rng.u8(0..=32);
            let v4 = Ipv4Network::new(Ipv4Addr::from(rng.u32(..)), len4).unwrap();
            let p4 = normalize(IpNetwork::V4(v4));
            let IpNetwork::V4(n4) = p4 else { panic!() };
            let (k, slot) = split4(&n4);
            assert_eq!(join4(k, slot), p4);
            let len6 = rng.u8(0..=128);
            let v6 = Ipv6Network::new(Ipv6Addr::from(rng.u128(..)), len6).unwrap();
            let p6 = normalize(IpNetwork::V6(v6));
            let IpNetwork::V6(n6) = p6 else { panic!() };
            let (k, slot) = split6(&n6);
            assert_eq!(join6(k, slot), p6);
        }
    }

    #[test]
    fn neighbouring_prefixes_share_a_block() {
        let a = |s: &str| match s.parse::<IpNetwork>().unwrap() {
            IpNetwork::V4(p) => split4(&p),
            IpNetwork::V6(_) => unreachable!(),
        };
        assert_eq!(a("198.51.0.0/24").0, a("198.51.255.0/24").0);
        assert_ne!(a("198.51.0.0/24").0, a("198.52.0.0/24").0);
        // Same index bits, other length: another block.
        assert_ne!(a("198.51.0.0/24").0, a("198.51.0.0/23").0);
        assert_eq!(a("198.51.1.0/24").1, 1);
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
        // Every field counts, including whether the ifindex is there at all.
        let base = path("192.0.2.2");
        let changes: [fn(&mut RoutePath); 8] = [
            |p| p.metric = 1,
            |p| p.weight = 2,
            |p| p.distance = 200,
            |p| p.ifindex = Some(4),
            |p| p.ifindex = None,
            |p| p.gateway = None,
            |p| p.gateway = Some("::ffff:192.0.2.2".parse().unwrap()),
            |p| p.gateway = Some("192.0.2.130".parse().unwrap()),
        ];
        let mut seen = std::collections::HashSet::new();
        seen.insert(t.fingerprint(&[base]));
        for change in changes {
            let mut other = base;
            change(&mut other);
            assert!(seen.insert(t.fingerprint(&[other])), "{other:?}");
        }
        let mut zero = base;
        zero.ifindex = Some(0);
        let mut absent = base;
        absent.ifindex = None;
        assert_ne!(t.fingerprint(&[zero]), t.fingerprint(&[absent]));
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
        assert!(t.take_stale_of(&[1, 2], None).is_empty());
        assert!(t.contains(&p1) && t.contains(&p2) && !t.contains(&p3));
        assert_eq!(t.mark_stale(2), 2);
        // Only the named owners' stale routes of the named family go.
        assert!(t.take_stale_of(&[1], None).is_empty());
        assert_eq!(t.take_stale_of(&[2], Some(Family::Ipv6)), vec![p2]);
        assert_eq!(t.take_stale_of(&[7, 2], Some(Family::Ipv4)), vec![p1]);
        assert_eq!(t.len(), 0);
        assert!(!t.contains(&p1));
        assert!(!t.remove(&p1));
        t.upsert(&p1, 5, 1);
        assert_eq!(t.take_owned(5), vec![p1]);
        assert_eq!(t.prefixes(), Vec::<IpNetwork>::new());
    }
}
