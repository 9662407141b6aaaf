//! A small keyed hash for the route table: much cheaper than SipHash for the table's integer
//! keys, and seeded per table from the standard library's random keys so that prefixes chosen
//! by a remote BGP speaker cannot be aimed at one bucket.

use std::hash::BuildHasher;

/// murmur3's 64-bit finaliser.
fn fmix64(mut k: u64) -> u64 {
    k ^= k >> 33;
    k = k.wrapping_mul(0xff51_afd7_ed55_8ccd);
    k ^= k >> 33;
    k = k.wrapping_mul(0xc4ce_b9fe_1a85_ec53);
    k ^ (k >> 33)
}

/// One random seed and the keyed mixes built on it.
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

    /// The seeded hash of one integer.
    #[inline]
    pub(crate) fn hash_u64(&self, x: u64) -> u64 {
        fmix64(fmix64(self.seed ^ x).wrapping_add(0x9e37_79b9_7f4a_7c15))
    }

    /// A seeded mix of two words: a folded 64×64→128-bit multiply (as in wyhash and
    /// foldhash), cheaper than hashing both words one after the other.
    #[inline]
    pub(crate) fn mix2(&self, a: u64, b: u64) -> u64 {
        let p = u128::from(a ^ self.seed)
            * u128::from(b ^ self.seed.rotate_left(29) ^ 0x243f_6a88_85a3_08d3);
        (p as u64) ^ ((p >> 64) as u64)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_differ_and_values_spread() {
        let a = SeededState::random();
        let b = SeededState::random();
        assert_ne!(a.hash_u64(1), b.hash_u64(1));
        assert_ne!(a.mix2(1, 2), b.mix2(1, 2));
        let mut buckets = std::collections::HashSet::new();
        let mut mixes = std::collections::HashSet::new();
        for i in 0..10_000u64 {
            // Low bits of the hash (bucket index) must vary for consecutive keys.
            buckets.insert(a.hash_u64(i << 8) & 0xfff);
            mixes.insert(a.mix2(i, 7) & 0xfff);
        }
        assert!(buckets.len() > 3_000, "{}", buckets.len());
        assert!(mixes.len() > 3_000, "{}", mixes.len());
    }
}
