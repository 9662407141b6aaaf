//! [`PrefixMap`]: a hash map keyed by IP prefix, laid out for a full Internet table.
//!
//! IPv4 prefixes are kept in *blocks*: a prefix of length `L` is the `index`-th prefix of that
//! length (`index` = its address shifted right by `32 − L` bits), and the prefixes of one length
//! whose indexes differ only in their low 8 bits (the *slot*; for /24s, the /24s of one /16)
//! share one hash-table entry, which holds their values sorted by slot. A full table is mostly
//! runs of neighbouring prefixes (a third of a million /24s live in a few tens of thousands of
//! /16s), so its values are stored side by side at 1 byte of slot per value, and the hash table
//! has one entry per block instead of one per prefix: with a million /24s in order, the planner's
//! 12-byte entries cost 16 bytes per route instead of 40 (20-byte entries in a table of 2^21
//! buckets), and no table of a million buckets is ever rehashed (and briefly held twice). A block
//! with one value keeps it inline: a prefix alone in its block costs one 24-byte hash-table
//! entry (16 or 20 bytes in a flat map), the worst case. A block of up to 64 values keeps them
//! sorted by slot; a fuller one is a sparse set (a position per slot, 256 bytes more), so that
//! prefixes arriving in no particular order — as a peer's table does — are found and added
//! without searching the block or moving half of it.
//!
//! IPv6 prefixes, sparse in their address space, are kept flat: 17-byte keys.
//!
//! Both are hashed with a randomly seeded keyed hash (foldhash's `quality` variant), so prefixes
//! chosen by a remote BGP speaker cannot be aimed at one bucket; a block holds at most 256
//! values, so no input makes one insertion move more than 256 values.

use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::net::{Ipv4Addr, Ipv6Addr};

use foldhash::quality::RandomState;
use ipnetwork::{IpNetwork, Ipv4Network, Ipv6Network};

/// An IPv6 prefix: address bytes, length.
type V6Key = ([u8; 16], u8);

/// The block key (the index's high bits and the length) and slot of an IPv4 prefix.
fn v4_split(p: &Ipv4Network) -> (u32, u8) {
    let len = p.prefix();
    let index = u32::from(p.network())
        .checked_shr(32 - u32::from(len))
        .unwrap_or(0);
    (((index >> 8) << 6) | u32::from(len), index as u8)
}

fn v4_join(key: u32, slot: u8) -> Option<IpNetwork> {
    let len = (key & 63) as u8;
    let index = ((key >> 6) << 8) | u32::from(slot);
    let addr = index.checked_shl(32 - u32::from(len)).unwrap_or(0);
    Ipv4Network::new(Ipv4Addr::from(addr), len)
        .ok()
        .map(IpNetwork::V4)
}

fn v6_key(p: &Ipv6Network) -> V6Key {
    (p.network().octets(), p.prefix())
}

fn v6_prefix(k: &V6Key) -> Option<IpNetwork> {
    Ipv6Network::new(Ipv6Addr::from(k.0), k.1)
        .ok()
        .map(IpNetwork::V6)
}

/// The values of a block with several, sorted by slot (boxed so that a block stays small).
#[derive(Debug, Clone)]
struct Many<V>(Vec<(u8, V)>);

/// The values of a block with many, as a sparse set: the values (with their slots) in no
/// particular order, and per slot its position among them — so that finding, adding or removing
/// a value touches a position and a value wherever the slot is (a sorted list searches, and
/// moves half its values to add one out of order; a peer's table arrives in no particular
/// order). A position is trusted only if the value there has that slot, so the positions of
/// absent slots need no clearing. It costs the sorted list's room plus 256 bytes.
#[derive(Debug, Clone)]
struct Dense<V> {
    at: [u8; 256],
    values: Vec<(u8, V)>,
}

impl<V> Dense<V> {
    /// A sparse set of `values` (at most 256, distinct slots).
    fn new(values: Vec<(u8, V)>) -> Dense<V> {
        let mut d = Dense {
            at: [0; 256],
            values,
        };
        d.reindex();
        d
    }

    fn position(&self, slot: u8) -> Option<usize> {
        let i = usize::from(self.at[usize::from(slot)]);
        (self.values.get(i)?.0 == slot).then_some(i)
    }

    /// Records every value's position (after the values were rebuilt or filtered).
    fn reindex(&mut self) {
        for (i, (slot, _)) in (0..=u8::MAX).zip(self.values.iter()) {
            self.at[usize::from(*slot)] = i;
        }
    }
}

/// A sorted block becomes [`Dense`] when it reaches this many values…
const DENSE_AT: usize = 64;
/// …and sorted again when it falls below this many (apart, so that a block at the edge does not
/// switch back and forth).
const SPARSE_AT: usize = 32;

/// The values of one block.
#[derive(Debug, Clone)]
enum Slots<V> {
    /// One value, inline.
    One(u8, V),
    /// Two to [`DENSE_AT`] values, sorted by slot.
    Many(Box<Many<V>>),
    /// [`SPARSE_AT`] to 256 values, as a sparse set.
    Dense(Box<Dense<V>>),
}

/// `Ok(position)` of `slot` among `many` (sorted by slot), or `Err(position)` where it would
/// go. Routes mostly come in order: the end is checked first.
fn locate<V>(many: &[(u8, V)], slot: u8) -> Result<usize, usize> {
    match many.last() {
        None => Err(0),
        Some((last, _)) if *last < slot => Err(many.len()),
        Some((last, _)) if *last == slot => Ok(many.len() - 1),
        Some(_) => many.binary_search_by_key(&slot, |e| e.0),
    }
}

impl<V> Slots<V> {
    fn get(&self, slot: u8) -> Option<&V> {
        match self {
            Slots::One(s, v) => (*s == slot).then_some(v),
            Slots::Many(m) => {
                let at = locate(&m.0, slot).ok()?;
                m.0.get(at).map(|e| &e.1)
            }
            Slots::Dense(d) => d.values.get(d.position(slot)?).map(|e| &e.1),
        }
    }

    fn get_mut(&mut self, slot: u8) -> Option<&mut V> {
        match self {
            Slots::One(s, v) => (*s == slot).then_some(v),
            Slots::Many(m) => {
                let at = locate(&m.0, slot).ok()?;
                m.0.get_mut(at).map(|e| &mut e.1)
            }
            Slots::Dense(d) => {
                let i = d.position(slot)?;
                d.values.get_mut(i).map(|e| &mut e.1)
            }
        }
    }

    /// The value of a block just made with one value.
    fn first_mut(&mut self) -> &mut V {
        match self {
            Slots::One(_, v) => v,
            // A block of several holds two values or more.
            Slots::Many(m) => &mut m.0[0].1,
            Slots::Dense(d) => &mut d.values[0].1,
        }
    }

    /// Turns a sorted block into a dense one (a no-op for any other).
    fn densify(&mut self) {
        if let Slots::Many(m) = self {
            let values = std::mem::take(&mut m.0);
            *self = Slots::Dense(Box::new(Dense::new(values)));
        }
    }

    /// Turns a block of one value into a block of several (a no-op for one of several).
    fn spill(&mut self) {
        let list = Slots::Many(Box::new(Many(Vec::with_capacity(2))));
        match (std::mem::replace(self, list), &mut *self) {
            (Slots::One(s, v), Slots::Many(m)) => m.0.push((s, v)),
            (old, this) => *this = old,
        }
    }

    /// The value of `slot`, inserting `make()` first if there is none; whether it was added.
    fn get_or_insert_with(&mut self, slot: u8, make: impl FnOnce() -> V) -> (&mut V, bool) {
        if matches!(self, Slots::One(s, _) if *s != slot) {
            self.spill();
        }
        if matches!(self, Slots::Many(m) if m.0.len() + 1 >= DENSE_AT && locate(&m.0, slot).is_err())
        {
            self.densify();
        }
        match self {
            // (After `spill`, a value alone is this slot's.)
            Slots::One(_, v) => (v, false),
            Slots::Many(m) => match locate(&m.0, slot) {
                Ok(at) => (&mut m.0[at].1, false),
                Err(at) => {
                    m.0.insert(at, (slot, make()));
                    (&mut m.0[at].1, true)
                }
            },
            Slots::Dense(d) => match d.position(slot) {
                Some(i) => (&mut d.values[i].1, false),
                None => {
                    // At most 256 values: the new one's position fits a byte.
                    let i = d.values.len();
                    d.at[usize::from(slot)] = i as u8;
                    d.values.push((slot, make()));
                    (&mut d.values[i].1, true)
                }
            },
        }
    }

    /// Gives a block of several back its inline form when one value is left, and memory back
    /// after large removals.
    fn settle(&mut self) {
        if let Slots::Dense(d) = self {
            if d.values.len() >= SPARSE_AT {
                return;
            }
            let mut list = std::mem::take(&mut d.values);
            list.sort_unstable_by_key(|e| e.0);
            *self = Slots::Many(Box::new(Many(list)));
        }
        let Slots::Many(m) = self else {
            return;
        };
        if m.0.len() == 1 {
            if let Some((s, v)) = m.0.pop() {
                *self = Slots::One(s, v);
            }
        } else if m.0.len() * 4 < m.0.capacity() {
            m.0.shrink_to(m.0.len() * 2);
        }
    }

    /// Removes `slot` from a block of several; returns its value. (A block of one is removed
    /// by the map itself.)
    fn remove_from_many(&mut self, slot: u8) -> Option<V> {
        let old = match self {
            Slots::One(..) => return None,
            Slots::Many(m) => {
                let at = locate(&m.0, slot).ok()?;
                m.0.remove(at).1
            }
            Slots::Dense(d) => {
                let i = d.position(slot)?;
                let (_, old) = d.values.swap_remove(i);
                // The value moved into the hole (if any) gets its new position.
                if let Some((moved, _)) = d.values.get(i) {
                    d.at[usize::from(*moved)] = i as u8;
                }
                old
            }
        };
        self.settle();
        Some(old)
    }

    /// The values (in slot order, but in a dense block).
    fn iter(&self) -> impl Iterator<Item = (u8, &V)> + '_ {
        let (one, list) = match self {
            Slots::One(s, v) => (Some((*s, v)), <&[(u8, V)]>::default()),
            Slots::Many(m) => (None, m.0.as_slice()),
            Slots::Dense(d) => (None, d.values.as_slice()),
        };
        one.into_iter().chain(list.iter().map(|(s, v)| (*s, v)))
    }

    /// The values, mutably (in slot order, but in a dense block).
    fn iter_mut(&mut self) -> impl Iterator<Item = (u8, &mut V)> + '_ {
        let (one, list) = match self {
            Slots::One(s, v) => (Some((*s, v)), <&mut [(u8, V)]>::default()),
            Slots::Many(m) => (None, m.0.as_mut_slice()),
            Slots::Dense(d) => (None, d.values.as_mut_slice()),
        };
        one.into_iter().chain(list.iter_mut().map(|(s, v)| (*s, v)))
    }

    /// Keeps the values for which `keep` is true; returns how many are left.
    fn retain(&mut self, keep: &mut impl FnMut(&mut V) -> bool) -> usize {
        let left = match self {
            Slots::One(_, v) => return usize::from(keep(v)),
            Slots::Many(m) => {
                m.0.retain_mut(|e| keep(&mut e.1));
                m.0.len()
            }
            Slots::Dense(d) => {
                d.values.retain_mut(|e| keep(&mut e.1));
                d.reindex();
                d.values.len()
            }
        };
        self.settle();
        left
    }
}

/// A map from prefixes (host bits cleared on the way in) to `V`.
#[derive(Debug, Clone)]
pub struct PrefixMap<V> {
    /// IPv4 blocks: block key → the block's values.
    v4: HashMap<u32, Slots<V>, RandomState>,
    /// Number of IPv4 prefixes.
    v4_len: usize,
    v6: HashMap<V6Key, V, RandomState>,
}

impl<V> Default for PrefixMap<V> {
    fn default() -> Self {
        PrefixMap {
            v4: HashMap::default(),
            v4_len: 0,
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
        self.v4_len + self.v6.len()
    }

    /// Whether the map is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The value of `prefix`.
    pub fn get(&self, prefix: &IpNetwork) -> Option<&V> {
        match prefix {
            IpNetwork::V4(p) => {
                let (key, slot) = v4_split(p);
                self.v4.get(&key)?.get(slot)
            }
            IpNetwork::V6(p) => self.v6.get(&v6_key(p)),
        }
    }

    /// The value of `prefix`, mutably.
    pub fn get_mut(&mut self, prefix: &IpNetwork) -> Option<&mut V> {
        match prefix {
            IpNetwork::V4(p) => {
                let (key, slot) = v4_split(p);
                self.v4.get_mut(&key)?.get_mut(slot)
            }
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
            IpNetwork::V4(p) => {
                let (key, slot) = v4_split(&p);
                let block = match self.v4.entry(key) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => {
                        e.insert(Slots::One(slot, value));
                        self.v4_len += 1;
                        return None;
                    }
                };
                if let Some(cell) = block.get_mut(slot) {
                    return Some(std::mem::replace(cell, value));
                }
                block.get_or_insert_with(slot, || value);
                self.v4_len += 1;
                None
            }
            IpNetwork::V6(p) => self.v6.insert(v6_key(&p), value),
        }
    }

    /// The value of `prefix`, inserting `make()` first if there is none.
    pub fn get_or_insert_with(&mut self, prefix: IpNetwork, make: impl FnOnce() -> V) -> &mut V {
        match prefix {
            IpNetwork::V4(p) => {
                let (key, slot) = v4_split(&p);
                let block = match self.v4.entry(key) {
                    Entry::Occupied(e) => e.into_mut(),
                    Entry::Vacant(e) => {
                        self.v4_len += 1;
                        return e.insert(Slots::One(slot, make())).first_mut();
                    }
                };
                let (v, added) = block.get_or_insert_with(slot, make);
                if added {
                    self.v4_len += 1;
                }
                v
            }
            IpNetwork::V6(p) => match self.v6.entry(v6_key(&p)) {
                Entry::Occupied(e) => e.into_mut(),
                Entry::Vacant(e) => e.insert(make()),
            },
        }
    }

    /// Removes `prefix`; returns its value.
    pub fn remove(&mut self, prefix: &IpNetwork) -> Option<V> {
        match prefix {
            IpNetwork::V4(p) => {
                let (key, slot) = v4_split(p);
                let Entry::Occupied(mut e) = self.v4.entry(key) else {
                    return None;
                };
                let alone = matches!(e.get(), Slots::One(s, _) if *s == slot);
                let old = if alone {
                    match e.remove() {
                        Slots::One(_, v) => Some(v),
                        Slots::Many(_) | Slots::Dense(_) => None,
                    }
                } else {
                    e.get_mut().remove_from_many(slot)
                };
                if old.is_some() {
                    self.v4_len -= 1;
                }
                old
            }
            IpNetwork::V6(p) => self.v6.remove(&v6_key(p)),
        }
    }

    /// Every prefix with its value (IPv4 first, otherwise in no particular order).
    pub fn iter(&self) -> impl Iterator<Item = (IpNetwork, &V)> + '_ {
        let v4 = self.v4.iter().flat_map(|(&key, block)| {
            block
                .iter()
                .filter_map(move |(slot, v)| Some((v4_join(key, slot)?, v)))
        });
        let v6 = self.v6.iter().filter_map(|(k, v)| Some((v6_prefix(k)?, v)));
        v4.chain(v6)
    }

    /// Every prefix with its value, mutably.
    pub fn iter_mut(&mut self) -> impl Iterator<Item = (IpNetwork, &mut V)> + '_ {
        let v4 = self.v4.iter_mut().flat_map(|(&key, block)| {
            block
                .iter_mut()
                .filter_map(move |(slot, v)| Some((v4_join(key, slot)?, v)))
        });
        let v6 = self
            .v6
            .iter_mut()
            .filter_map(|(k, v)| Some((v6_prefix(k)?, v)));
        v4.chain(v6)
    }

    /// Every value, mutably.
    pub fn values_mut(&mut self) -> impl Iterator<Item = &mut V> + '_ {
        let v4 = self
            .v4
            .values_mut()
            .flat_map(|block| block.iter_mut().map(|(_, v)| v));
        v4.chain(self.v6.values_mut())
    }

    /// Every value.
    pub fn values(&self) -> impl Iterator<Item = &V> + '_ {
        let v4 = self
            .v4
            .values()
            .flat_map(|block| block.iter().map(|(_, v)| v));
        v4.chain(self.v6.values())
    }

    /// Keeps only the prefixes for which `keep` returns true.
    pub fn retain(&mut self, mut keep: impl FnMut(&mut V) -> bool) {
        let mut left = 0;
        self.v4.retain(|_, block| {
            let n = block.retain(&mut keep);
            left += n;
            n > 0
        });
        self.v4_len = left;
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
    fn entries_stay_small() {
        // What a table pays per block (one hash-table bucket), besides the control byte: the
        // planner's 12-byte entries and the merge's 8-byte contributions.
        assert_eq!(std::mem::size_of::<(u32, Slots<[u32; 3]>)>(), 24);
        assert_eq!(std::mem::size_of::<(u32, Slots<u64>)>(), 24);
        // A value in a block of several: its slot and itself.
        assert_eq!(std::mem::size_of::<(u8, [u32; 3])>(), 16);
        assert_eq!(std::mem::size_of::<(u8, [u32; 2])>(), 12);
    }

    #[test]
    fn neighbouring_prefixes_share_a_block_and_lengths_do_not() {
        let mut m = PrefixMap::new();
        for i in 0..256u32 {
            let a = Ipv4Addr::from((16 << 24) | (7 << 16) | (i << 8));
            m.insert(IpNetwork::V4(Ipv4Network::new(a, 24).unwrap()), i);
        }
        assert_eq!(m.v4.len(), 1, "the /24s of one /16 are one block");
        m.insert(p("16.7.0.0/16"), 1000);
        m.insert(p("16.8.0.0/24"), 1001);
        assert_eq!(m.v4.len(), 3);
        assert_eq!(m.len(), 258);
        assert_eq!(m.get(&p("16.7.255.0/24")), Some(&255));
        assert_eq!(m.get(&p("16.7.0.0/16")), Some(&1000));
        // Emptied down to one value: back inline; emptied: gone.
        for i in 1..256u32 {
            let a = Ipv4Addr::from((16 << 24) | (7 << 16) | (i << 8));
            assert_eq!(
                m.remove(&IpNetwork::V4(Ipv4Network::new(a, 24).unwrap())),
                Some(i)
            );
        }
        assert!(matches!(
            m.v4.get(&v4_split(&"16.7.0.0/24".parse().unwrap()).0),
            Some(Slots::One(0, 0))
        ));
        assert_eq!(m.remove(&p("16.7.0.0/24")), Some(0));
        assert_eq!(m.remove(&p("16.7.0.0/24")), None);
        assert_eq!(m.v4.len(), 2);
        assert_eq!(m.len(), 2);
    }

    #[test]
    fn a_block_filled_in_any_order_turns_dense_and_sorted_again_when_emptied() {
        let net = |i: u32| {
            IpNetwork::V4(
                Ipv4Network::new(Ipv4Addr::from((16 << 24) | (9 << 16) | (i << 8)), 24).unwrap(),
            )
        };
        // Slots in a scrambled order (a multiplier coprime with 256).
        let order: Vec<u32> = (0..256u32).map(|i| (i * 167 + 13) % 256).collect();
        let mut m = PrefixMap::new();
        for (n, &i) in order.iter().enumerate() {
            assert!(m.insert(net(i), i).is_none());
            let block = m.v4.values().next().unwrap();
            match n + 1 {
                1 => assert!(matches!(block, Slots::One(..))),
                k if k < DENSE_AT => assert!(matches!(block, Slots::Many(_)), "{k}"),
                k => assert!(matches!(block, Slots::Dense(_)), "{k}"),
            }
        }
        assert_eq!(m.len(), 256);
        let mut values: Vec<u32> = m.iter().map(|(_, v)| *v).collect();
        values.sort_unstable();
        assert_eq!(values, (0..256).collect::<Vec<_>>());
        for i in 0..256 {
            assert_eq!(m.get(&net(i)), Some(&i));
        }
        assert_eq!(*m.get_or_insert_with(net(5), || 999), 5);
        // Emptied in the same order: dense down to SPARSE_AT, sorted below it, inline at one.
        for (n, &i) in order.iter().enumerate() {
            assert_eq!(m.remove(&net(i)), Some(i));
            assert_eq!(m.get(&net(i)), None);
            let left = 255 - n;
            for &j in &order[n + 1..] {
                assert_eq!(m.get(&net(j)), Some(&j), "{j} after removing {i}");
            }
            match (left, m.v4.values().next()) {
                (0, None) => {}
                (1, Some(Slots::One(..))) => {}
                (k, Some(Slots::Many(_))) if k < SPARSE_AT => {}
                (k, Some(Slots::Dense(_))) if k >= SPARSE_AT => {}
                (k, b) => panic!("{k} left: {b:?}"),
            }
        }
        assert!(m.is_empty());
        // A dense block thinned by `retain` in one go is sorted (or inline) again.
        for i in 0..200 {
            m.insert(net(i), i);
        }
        m.retain(|v| *v == 7 || *v == 9);
        assert!(matches!(m.v4.values().next(), Some(Slots::Many(l)) if l.0.len() == 2));
        m.retain(|v| *v == 9);
        assert!(matches!(m.v4.values().next(), Some(Slots::One(_, 9))));
    }

    /// Every prefix length round-trips through the block key and slot.
    #[test]
    fn every_length_round_trips() {
        for len in 0..=32u8 {
            let net = Ipv4Network::new(Ipv4Addr::new(203, 0, 113, 255), len).unwrap();
            let net = Ipv4Network::new(net.network(), len).unwrap();
            let (key, slot) = v4_split(&net);
            assert_eq!(v4_join(key, slot), Some(IpNetwork::V4(net)), "/{len}");
        }
    }

    /// The map behaves like a `BTreeMap` under a random mix of operations, dense and sparse.
    #[test]
    fn matches_a_model_under_random_operations() {
        use std::collections::BTreeMap;
        let mut seed = 0x9e37_79b9_7f4a_7c15_u64;
        let mut next = move |n: u64| {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed % n
        };
        let mut m: PrefixMap<u32> = PrefixMap::new();
        let mut model: BTreeMap<IpNetwork, u32> = BTreeMap::new();
        let (mut dense_seen, mut sorted_again) = (false, false);
        for round in 0..50_000u32 {
            // A few /16s (dense blocks), a few lengths, some IPv6.
            let prefix = match next(8) {
                0 => {
                    let a = Ipv6Addr::from((0x2001_0db8_u128 << 96) | (u128::from(next(64)) << 64));
                    IpNetwork::V6(Ipv6Network::new(a, 64).unwrap())
                }
                k => {
                    let len = [24u8, 24, 24, 23, 32, 8, 0][(k - 1) as usize];
                    let a = (198u32 << 24)
                        | ((next(3) as u32) << 16)
                        | ((next(256) as u32) << 8)
                        | next(256) as u32;
                    let net = Ipv4Network::new(Ipv4Addr::from(a), len).unwrap();
                    IpNetwork::V4(Ipv4Network::new(net.network(), len).unwrap())
                }
            };
            match next(10) {
                0..=3 => assert_eq!(m.insert(prefix, round), model.insert(prefix, round)),
                4 => {
                    let v = *m.get_or_insert_with(prefix, || round);
                    assert_eq!(v, *model.entry(prefix).or_insert(round));
                }
                5..=7 => assert_eq!(m.remove(&prefix), model.remove(&prefix)),
                8 => {
                    if let Some(v) = m.get_mut(&prefix) {
                        *v += 1;
                    }
                    if let Some(v) = model.get_mut(&prefix) {
                        *v += 1;
                    }
                }
                _ => {
                    let odd = next(2) as u32;
                    m.retain(|v| *v % 7 != odd);
                    model.retain(|_, v| *v % 7 != odd);
                }
            }
            assert_eq!(m.len(), model.len(), "round {round}");
            assert_eq!(m.get(&prefix), model.get(&prefix), "round {round}");
            let dense_now = m.v4.values().any(|b| matches!(b, Slots::Dense(_)));
            sorted_again |= dense_seen && !dense_now;
            dense_seen |= dense_now;
        }
        assert!(dense_seen, "blocks went dense");
        let mut all: Vec<(IpNetwork, u32)> = m.iter().map(|(k, v)| (k, *v)).collect();
        all.sort();
        assert_eq!(all, model.iter().map(|(k, v)| (*k, *v)).collect::<Vec<_>>());
        for (_, v) in m.iter_mut() {
            *v += 1;
        }
        let sum: u64 = m.values().map(|v| u64::from(*v)).sum();
        assert_eq!(sum, model.values().map(|v| u64::from(*v) + 1).sum::<u64>());
        // No block is left empty, and a block of one keeps its value inline.
        for block in m.v4.values() {
            match block {
                Slots::One(..) => {}
                Slots::Many(many) => {
                    assert!((2..DENSE_AT).contains(&many.0.len()));
                    assert!(many.0.windows(2).all(|w| w[0].0 < w[1].0), "sorted by slot");
                }
                Slots::Dense(d) => {
                    assert!(d.values.len() >= SPARSE_AT);
                    for (i, (slot, _)) in d.values.iter().enumerate() {
                        assert_eq!(d.position(*slot), Some(i));
                    }
                }
            }
        }
        // Drained in a scrambled order: dense blocks go sorted again, then inline, then away.
        let mut keys: Vec<IpNetwork> = model.keys().copied().collect();
        for i in (1..keys.len()).rev() {
            keys.swap(i, next(i as u64 + 1) as usize);
        }
        for k in keys {
            // (Every value of `m` was incremented above.)
            assert_eq!(m.remove(&k), model.remove(&k).map(|v| v + 1));
            assert_eq!(m.len(), model.len());
            let dense_now = m.v4.values().any(|b| matches!(b, Slots::Dense(_)));
            sorted_again |= dense_seen && !dense_now;
        }
        assert!(sorted_again && m.is_empty() && m.v4.is_empty());
    }
}
