//! A map from prefixes to small values that keeps prefixes which are neighbours in address
//! order next to each other in memory.
//!
//! A prefix of length `L` is the `index`-th prefix of that length (`index` = its network
//! address shifted right by `width − L` bits). Prefixes of the same length whose indexes differ
//! only in the low 8 bits (the *slot*) share a [`Block`], which holds their values sorted by
//! slot; blocks live in a keyed hash table.
//!
//! bgpd hands its routes over roughly in prefix order (a full table arrives as the peer's
//! table walk), so consecutive routes land in the block that was just touched, which is in
//! cache, and are appended at its end: a fresh table of a million /24s costs one block per 256
//! routes instead of a cache miss per route and a rehash of the whole table at every doubling.
//! A block with one value keeps it inline, so in the worst case (each route alone in its block)
//! the map costs one 32-byte hash-table entry per route, like a flat map. A block holds at most
//! 256 values, so no input makes an insertion cost more than moving 256 values.

use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use smallvec::SmallVec;

use crate::fasthash::SeededState;

/// The key of a block: the high bits of the index and the prefix length.
pub(crate) trait BlockKey: Copy + Eq {
    /// A seeded hash of the key.
    fn hash_with(&self, seed: &SeededState) -> u64;
}

impl BlockKey for u64 {
    #[inline]
    fn hash_with(&self, seed: &SeededState) -> u64 {
        seed.hash_u64(*self)
    }
}

impl BlockKey for (u128, u8) {
    #[inline]
    fn hash_with(&self, seed: &SeededState) -> u64 {
        let hi = (self.0 >> 64) as u64;
        let lo = self.0 as u64;
        seed.hash_u64(seed.hash_u64(lo ^ u64::from(self.1)) ^ hi)
    }
}

/// Up to 256 values of neighbouring prefixes, sorted by slot; one is kept inline.
#[derive(Debug, Clone)]
struct Block<K, V> {
    key: K,
    entries: SmallVec<[(u8, V); 1]>,
}

impl<K, V> Block<K, V> {
    /// Heap bytes of the block's values (0 while the one value is inline).
    fn heap_bytes(&self) -> usize {
        if self.entries.spilled() {
            self.entries.capacity() * std::mem::size_of::<(u8, V)>()
        } else {
            0
        }
    }

    /// `Ok(position)` of `slot`, or `Err(position)` where it would go.
    ///
    /// Routes mostly come in order, so appending is checked first. Otherwise the search starts
    /// where the slot would be if the block's slots were evenly spread and walks from there: a
    /// cache line or two for the usual blocks, unlike a binary search whose every step may
    /// miss the cache; at worst it walks the block's 256 entries.
    #[inline]
    fn locate(&self, slot: u8) -> Result<usize, usize> {
        let e = &self.entries[..];
        let n = e.len();
        match e.last() {
            None => return Err(0),
            Some(&(last, _)) if last < slot => return Err(n),
            Some(&(last, _)) if last == slot => return Ok(n - 1),
            Some(_) => {}
        }
        // The first position whose slot is >= `slot` (there is one: the last).
        let mut i = ((usize::from(slot) * n) >> 8).min(n - 1);
        if e.get(i).is_some_and(|x| x.0 < slot) {
            while e.get(i).is_some_and(|x| x.0 < slot) {
                i += 1;
            }
        } else {
            while i > 0 && e.get(i - 1).is_some_and(|x| x.0 >= slot) {
                i -= 1;
            }
        }
        match e.get(i) {
            Some(x) if x.0 == slot => Ok(i),
            _ => Err(i),
        }
    }
}

/// What [`BlockMap::insert`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Inserted<V> {
    /// The slot held this value; it was replaced.
    Replaced(V),
    /// The slot was empty; the value was added.
    Added,
    /// The slot was empty and adding was not allowed; nothing changed.
    Refused,
}

/// Values keyed by (block key, slot); see the module documentation.
#[derive(Debug, Clone)]
pub(crate) struct BlockMap<K, V> {
    blocks: HashTable<Block<K, V>>,
    len: usize,
    /// Heap bytes of the blocks' spilled value arrays (kept up to date on every change).
    spilled: usize,
    seed: SeededState,
}

impl<K: BlockKey, V: Copy> BlockMap<K, V> {
    /// An empty map with a fresh random hash seed.
    pub(crate) fn new() -> Self {
        BlockMap {
            blocks: HashTable::new(),
            len: 0,
            spilled: 0,
            seed: SeededState::random(),
        }
    }

    /// Number of values.
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    /// Heap bytes the map holds: the hash table (one block and one control byte per bucket)
    /// and the blocks' spilled value arrays. Constant time.
    pub(crate) fn heap_bytes(&self) -> usize {
        self.blocks.capacity() * (std::mem::size_of::<Block<K, V>>() + 1) + self.spilled
    }

    /// Sets the value of `(key, slot)`; an empty slot is filled only if `may_add`.
    pub(crate) fn insert(&mut self, key: K, slot: u8, value: V, may_add: bool) -> Inserted<V> {
        let seed = self.seed;
        let hash = key.hash_with(&seed);
        let block = match self
            .blocks
            .entry(hash, |b| b.key == key, |b| b.key.hash_with(&seed))
        {
            Entry::Occupied(o) => o.into_mut(),
            Entry::Vacant(_) if !may_add => return Inserted::Refused,
            Entry::Vacant(v) => {
                let mut entries = SmallVec::new();
                entries.push((slot, value));
                v.insert(Block { key, entries });
                self.len += 1;
                return Inserted::Added;
            }
        };
        match block.locate(slot) {
            Ok(at) => match block.entries.get_mut(at) {
                Some(e) => Inserted::Replaced(std::mem::replace(&mut e.1, value)),
                None => Inserted::Refused,
            },
            Err(_) if !may_add => Inserted::Refused,
            Err(at) => {
                let before = block.heap_bytes();
                block.entries.insert(at, (slot, value));
                self.spilled = self.spilled + block.heap_bytes() - before;
                self.len += 1;
                Inserted::Added
            }
        }
    }

    /// The value of `(key, slot)`, if present.
    pub(crate) fn get(&self, key: K, slot: u8) -> Option<&V> {
        let hash = key.hash_with(&self.seed);
        let block = self.blocks.find(hash, |b| b.key == key)?;
        let at = block.locate(slot).ok()?;
        block.entries.get(at).map(|e| &e.1)
    }

    /// Removes `(key, slot)`; returns its value if it was present.
    pub(crate) fn remove(&mut self, key: K, slot: u8) -> Option<V> {
        let seed = self.seed;
        let hash = key.hash_with(&seed);
        let Ok(mut entry) = self.blocks.find_entry(hash, |b| b.key == key) else {
            return None;
        };
        let block = entry.get_mut();
        let at = block.locate(slot).ok()?;
        let (_, old) = block.entries.remove(at);
        self.len -= 1;
        if block.entries.is_empty() {
            self.spilled -= block.heap_bytes();
            entry.remove();
        }
        Some(old)
    }

    /// Keeps the values for which `keep(key, slot, value)` is true, removes the others.
    pub(crate) fn retain(&mut self, mut keep: impl FnMut(K, u8, &mut V) -> bool) {
        let mut kept = 0usize;
        self.blocks.retain(|block| {
            let key = block.key;
            block.entries.retain(|e| keep(key, e.0, &mut e.1));
            kept += block.entries.len();
            !block.entries.is_empty()
        });
        self.len = kept;
        self.shrink();
    }

    /// Calls `f` with every value (in no particular order).
    pub(crate) fn for_each_mut(&mut self, mut f: impl FnMut(&mut V)) {
        for block in self.blocks.iter_mut() {
            block.entries.iter_mut().for_each(|e| f(&mut e.1));
        }
    }

    /// Every (key, slot) present (in no particular order).
    pub(crate) fn keys(&self) -> impl Iterator<Item = (K, u8)> + '_ {
        self.blocks
            .iter()
            .flat_map(|b| b.entries.iter().map(move |e| (b.key, e.0)))
    }

    /// Gives memory back after large removals.
    fn shrink(&mut self) {
        if self.blocks.len() * 4 < self.blocks.capacity() {
            let seed = self.seed;
            self.blocks.shrink_to_fit(|b| b.key.hash_with(&seed));
        }
        let mut spilled = 0;
        for block in self.blocks.iter_mut() {
            if block.entries.len() * 4 < block.entries.capacity() {
                block.entries.shrink_to_fit();
            }
            spilled += block.heap_bytes();
        }
        self.spilled = spilled;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn slots_are_ordered_and_located() {
        let mut map: BlockMap<u64, u32> = BlockMap::new();
        for s in [200u8, 3, 64, 63, 255, 0, 128, 201] {
            assert_eq!(map.insert(9, s, u32::from(s), true), Inserted::Added);
        }
        let block = map.blocks.iter().next().unwrap();
        let slots: Vec<u8> = block.entries.iter().map(|e| e.0).collect();
        assert_eq!(slots, vec![0, 3, 63, 64, 128, 200, 201, 255]);
        assert_eq!(block.locate(64), Ok(3));
        assert_eq!(block.locate(65), Err(4));
        assert_eq!(block.locate(255), Ok(7));
        assert_eq!(map.insert(9, 64, 1, false), Inserted::Replaced(64));
    }

    #[test]
    fn a_block_entry_is_32_bytes() {
        // The memory figure in the module documentation (values of 12 bytes, like the route
        // table's, alignment 4).
        assert_eq!(std::mem::size_of::<Block<u64, [u32; 3]>>(), 32);
    }

    /// The map behaves like a `BTreeMap` under a random mix of operations, dense and sparse.
    #[test]
    fn matches_a_model_under_random_operations() {
        let mut rng = fastrand::Rng::with_seed(7);
        let mut map: BlockMap<u64, u32> = BlockMap::new();
        let mut model: BTreeMap<(u64, u8), u32> = BTreeMap::new();
        for round in 0..20_000u32 {
            // Few block keys so that blocks fill up, empty and come back.
            let key = rng.u64(0..6);
            let slot = rng.u8(..);
            match rng.u8(0..10) {
                0..=5 => {
                    let may_add = rng.u8(0..8) != 0;
                    let got = map.insert(key, slot, round, may_add);
                    let want = match model.get(&(key, slot)).copied() {
                        Some(old) => {
                            model.insert((key, slot), round);
                            Inserted::Replaced(old)
                        }
                        None if may_add => {
                            model.insert((key, slot), round);
                            Inserted::Added
                        }
                        None => Inserted::Refused,
                    };
                    assert_eq!(got, want);
                }
                6..=8 => assert_eq!(map.remove(key, slot), model.remove(&(key, slot))),
                _ => {
                    let drop_key = rng.u64(0..6);
                    map.retain(|k, s, v| {
                        *v += 1;
                        k != drop_key || s % 2 == 0
                    });
                    model.retain(|&(k, s), _| k != drop_key || s % 2 == 0);
                    model.values_mut().for_each(|v| *v += 1);
                }
            }
            assert_eq!(map.len(), model.len());
            let spilled: usize = map.blocks.iter().map(Block::heap_bytes).sum();
            assert_eq!(map.spilled, spilled, "round {round}");
        }
        let mut keys: Vec<(u64, u8)> = map.keys().collect();
        keys.sort_unstable();
        assert_eq!(keys, model.keys().copied().collect::<Vec<_>>());
        let mut sum = 0u64;
        map.for_each_mut(|v| sum += u64::from(*v));
        assert_eq!(sum, model.values().map(|&v| u64::from(v)).sum::<u64>());
    }

    #[test]
    fn emptied_blocks_are_dropped() {
        let mut map: BlockMap<(u128, u8), u8> = BlockMap::new();
        for s in 0..=255u8 {
            assert_eq!(map.insert((1, 64), s, s, true), Inserted::Added);
        }
        assert_eq!(map.blocks.len(), 1);
        for s in 0..=255u8 {
            assert_eq!(map.remove((1, 64), s), Some(s));
        }
        assert_eq!(map.len(), 0);
        assert_eq!(map.blocks.len(), 0);
        assert_eq!(map.remove((1, 64), 0), None);
        assert_eq!(map.insert((1, 64), 0, 0, false), Inserted::Refused);
        assert_eq!(map.blocks.len(), 0);
    }
}
