//! Dropout masks: each element kept with probability `1 - prob` and scaled by `1 / (1 - prob)`.
//!
//! A fast generator (xoshiro256++ through `SmallRng`), one stream per block of the mask, the
//! blocks in parallel: the same seed gives the same mask whatever the number of threads.

use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

/// Elements per independently seeded block of the mask.
const BLOCK: usize = 1 << 15;

/// `n` values, each `1 / (1 - prob)` with probability `1 - prob` and `0` otherwise.
pub fn mask(n: usize, prob: f64, seed: u64) -> Vec<f32> {
    let keep = 1.0 - prob;
    let scale = (1.0 / keep) as f32;
    // Keep when a uniform 32-bit draw falls below keep * 2^32.
    let threshold = (keep * 4_294_967_296.0).min(u32::MAX as f64) as u64;
    let mut values = vec![0.0f32; n];
    values
        .par_chunks_mut(BLOCK)
        .enumerate()
        .for_each(|(block, chunk)| {
            let stream = seed ^ (block as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
            let mut rng = SmallRng::seed_from_u64(stream);
            for pair in chunk.chunks_mut(2) {
                let bits = rng.next_u64();
                for (v, draw) in pair.iter_mut().zip([bits & 0xFFFF_FFFF, bits >> 32]) {
                    *v = if draw < threshold { scale } else { 0.0 };
                }
            }
        });
    values
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_the_expected_share_scaled() {
        for prob in [0.083, 0.167, 0.5] {
            let values = mask(1 << 20, prob, 7);
            let scale = (1.0 / (1.0 - prob)) as f32;
            assert!(values.iter().all(|&v| v == 0.0 || v == scale));
            let kept = values.iter().filter(|&&v| v != 0.0).count() as f64 / values.len() as f64;
            assert!((kept - (1.0 - prob)).abs() < 0.003, "p={prob}: kept {kept}");
            let mean = values.iter().map(|&v| f64::from(v)).sum::<f64>() / values.len() as f64;
            assert!((mean - 1.0).abs() < 0.005, "p={prob}: mean {mean}");
        }
    }

    #[test]
    fn the_seed_decides_the_mask() {
        assert_eq!(mask(100_000, 0.3, 1), mask(100_000, 0.3, 1));
        assert_ne!(mask(100_000, 0.3, 1), mask(100_000, 0.3, 2));
        // Blocks are independent streams, not copies of one another.
        let values = mask(2 * BLOCK, 0.5, 3);
        assert_ne!(values[..BLOCK], values[BLOCK..]);
    }
}
