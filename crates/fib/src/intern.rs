//! [`Interner`]: shared copies of sets (next hops, paths) named by small ids, with reference
//! counts, so that a table of a million routes that share a handful of sets stores a 4-byte id
//! per route instead of a pointer and a length.

use std::collections::HashMap;
use std::hash::Hash;
use std::sync::Arc;

use foldhash::quality::RandomState;

/// The id of an interned set (never 0, so an `Option<SetId>` is 4 bytes).
pub type SetId = std::num::NonZeroU32;

#[derive(Debug)]
struct Slot<T> {
    set: Option<Arc<[T]>>,
    refs: u32,
}

/// Interned sets with reference counts: [`Interner::acquire`] returns the id of a set (adding
/// it if new) and counts one more reference, [`Interner::release`] drops one and forgets the
/// set when none is left.
#[derive(Debug)]
pub struct Interner<T> {
    slots: Vec<Slot<T>>,
    index: HashMap<Arc<[T]>, SetId, RandomState>,
    free: Vec<SetId>,
}

impl<T> Default for Interner<T> {
    fn default() -> Self {
        Interner {
            slots: Vec::new(),
            index: HashMap::default(),
            free: Vec::new(),
        }
    }
}

fn slot_of(id: SetId) -> usize {
    (id.get() - 1) as usize
}

impl<T: Hash + Eq + Clone> Interner<T> {
    /// An empty interner.
    pub fn new() -> Self {
        Interner::default()
    }

    /// The id of `set` with one more reference (the set is copied in if it is new). `None`
    /// only if 2^32 - 1 distinct sets are live at once.
    pub fn acquire(&mut self, set: &[T]) -> Option<SetId> {
        if let Some(&id) = self.index.get(set) {
            if let Some(slot) = self.slots.get_mut(slot_of(id)) {
                slot.refs = slot.refs.saturating_add(1);
            }
            return Some(id);
        }
        let shared: Arc<[T]> = Arc::from(set);
        let id = match self.free.pop() {
            Some(id) => id,
            None => {
                let n = u32::try_from(self.slots.len()).ok()?.checked_add(1)?;
                self.slots.push(Slot { set: None, refs: 0 });
                SetId::new(n)?
            }
        };
        if let Some(slot) = self.slots.get_mut(slot_of(id)) {
            *slot = Slot {
                set: Some(shared.clone()),
                refs: 1,
            };
        }
        self.index.insert(shared, id);
        Some(id)
    }

    /// One more reference to `id` (a copy of a reference the caller holds).
    pub fn retain(&mut self, id: SetId) {
        if let Some(slot) = self.slots.get_mut(slot_of(id)) {
            slot.refs = slot.refs.saturating_add(1);
        }
    }

    /// Drops one reference to `id`; the set is forgotten with its last reference.
    pub fn release(&mut self, id: SetId) {
        let Some(slot) = self.slots.get_mut(slot_of(id)) else {
            return;
        };
        slot.refs = slot.refs.saturating_sub(1);
        if slot.refs == 0 {
            if let Some(set) = slot.set.take() {
                self.index.remove(&set);
                self.free.push(id);
            }
        }
    }

    /// The set named `id`.
    pub fn get(&self, id: SetId) -> Option<&Arc<[T]>> {
        self.slots.get(slot_of(id))?.set.as_ref()
    }

    /// Every set held.
    pub fn sets(&self) -> impl Iterator<Item = &Arc<[T]>> + '_ {
        self.index.keys()
    }

    /// Number of distinct sets held.
    pub fn len(&self) -> usize {
        self.index.len()
    }

    /// Whether no set is held.
    pub fn is_empty(&self) -> bool {
        self.index.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sets_are_shared_counted_and_forgotten_with_their_last_reference() {
        let mut i: Interner<u8> = Interner::new();
        let a = i.acquire(&[1, 2]).unwrap();
        let b = i.acquire(&[3]).unwrap();
        assert_ne!(a, b);
        assert_eq!(i.acquire(&[1, 2]), Some(a));
        assert_eq!(i.len(), 2);
        i.release(a);
        assert_eq!(i.get(a).map(|s| s.to_vec()), Some(vec![1, 2]));
        i.retain(a);
        i.release(a);
        i.release(a);
        assert!(i.get(a).is_none());
        assert_eq!(i.len(), 1);
        // The freed id is reused for the next new set.
        let c = i.acquire(&[4]).unwrap();
        assert_eq!(c, a);
        assert_eq!(i.get(c).map(|s| s.to_vec()), Some(vec![4]));
        assert_eq!(i.get(b).map(|s| s.to_vec()), Some(vec![3]));
        // Releasing an unknown or already freed id changes nothing.
        i.release(SetId::new(99).unwrap());
        i.release(b);
        i.release(b);
        assert_eq!(i.len(), 1);
        assert!(!i.is_empty());
    }
}
