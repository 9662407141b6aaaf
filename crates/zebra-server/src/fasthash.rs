//! A small keyed hash for the route table: much cheaper than SipHash for the table's integer
//! keys, and seeded per table from the standard library's random keys so that prefixes chosen
//! by a remote BGP speaker cannot be aimed at one bucket.

use std::hash::{BuildHasher, Hasher};

/// murmur3's 64-bit finaliser.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// Builds [`MixHasher`]s with one random seed.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SeededState {
    seed: u64,
}

impl SeededState {
    /// A state with a fresh random seed.
    pub(crate) fn random() -> SeededState {
        let seed = std::collections::hash_map::RandomState::new().hash_one(0x5eed_u64);
        SeededState { seed }
    }
}

impl SeededState {
    /// The seeded hash of one integer (what `hash_one(x)` gives, without the `Hasher` detour).
    #[inline]
    pub(crate) fn hash_u64(&self, x: u64) -> u64 {
        fmix64(fmix64(self.seed ^ x).wrapping_add(0x9e37_79b9_7f4a_7c15))
    }
}

impl SeededState {
    /// A seeded mix of two words: a folded 64×64→128-bit multiply (as in wyhash and
    /// foldhash), cheaper than feeding both words through a `Hasher`.
    #[inline]
    pub(crate) fn mix2(&self, a: u64, b: u64) -> u64 {
        let p = u128::from(a ^ self.seed)
            * u128::from(b ^ self.seed.rotate_left(29) ^ 0x243f_6a88_85a3_08d3);
        (p as u64) ^ ((p >> 64) as u64)
    }
}

impl Default for SeededState {
    fn default() -> Self {
        SeededState::random()
    }
}

impl BuildHasher for SeededState {
    type Hasher = MixHasher;

    fn build_hasher(&self) -> MixHasher {
        MixHasher { h: self.seed }
    }
}

/// Word-at-a-time mixing hasher.
#[derive(Debug, Clone, Copy)]
pub(crate) struct MixHasher {
    h: u64,
}

impl Hasher for MixHasher {
    fn write(&mut self, bytes: &[u8]) {
        for chunk in bytes.chunks(8) {
            let mut b = [0u8; 8];
            b[..chunk.len()].copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(b) ^ ((chunk.len() as u64) << 59));
        }
    }

    fn write_u8(&mut self, i: u8) {
        self.write_u64(u64::from(i));
    }

    fn write_u16(&mut self, i: u16) {
        self.write_u64(u64::from(i));
    }

    fn write_u32(&mut self, i: u32) {
        self.write_u64(u64::from(i));
    }

    fn write_u64(&mut self, i: u64) {
        self.h = fmix64(self.h ^ i).wrapping_add(0x9e37_79b9_7f4a_7c15);
    }

    fn write_u128(&mut self, i: u128) {
        self.write_u64(i as u64);
        self.write_u64((i >> 64) as u64);
    }

    fn write_usize(&mut self, i: usize) {
        self.write_u64(i as u64);
    }

    fn write_isize(&mut self, i: isize) {
        self.write_u64(i as u64);
    }

    fn finish(&self) -> u64 {
        fmix64(self.h)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_and_values_spread() {
        let a = SeededState::random();
        let b = SeededState::random();
        assert_ne!(a.hash_one(1u64), b.hash_one(1u64));
        let mut seen = std::collections::HashSet::new();
        for i in 0..10_000u64 {
            // Low bits of the hash (bucket index) must vary for consecutive keys.
            seen.insert(a.hash_one(i << 8) & 0xfff);
        }
        assert!(seen.len() > 3_000, "{}", seen.len());
        for i in [0u64, 1, 1 << 40, u64::MAX] {
            assert_eq!(a.hash_u64(i), a.hash_one(i));
        }
    }
}
