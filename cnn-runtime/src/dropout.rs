//! The dropout generated networks call. It behaves as burn's `Dropout::forward`: during
//! training each element is kept with probability `1 - prob` and scaled by `1 / (1 - prob)`;
//! otherwise the input passes through. On the flex CPU backend the mask comes from a fast
//! generator (xoshiro256++, one stream per block, in parallel) seeded from burn's device RNG,
//! so seeded runs stay reproducible; burn-flex draws each element through ChaCha and a
//! distribution sampler: 102 ms for the seed network's four dropouts at batch 64, against
//! 16 ms for ours (`examples/layer_times.rs`).

use burn::nn::Dropout;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use rand::rngs::SmallRng;
use rand::{Rng, SeedableRng};
use rayon::prelude::*;

/// Elements per independently seeded block of the mask.
const BLOCK: usize = 1 << 15;

/// `dropout.forward(x)`, with a faster mask on CPU backends.
pub fn forward<const D: usize>(dropout: &Dropout, x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    if !dropout.training.is_enabled() || !device.is_autodiff() || dropout.prob == 0.0 {
        return x;
    }
    if !is_cpu(&device) || !crate::switch::own_kernels() {
        return dropout.forward(x);
    }
    let shape = x.shape();
    let values = mask(shape.num_elements(), dropout.prob, seed(&device));
    let mask = Tensor::<D>::from_data(TensorData::new(values, shape), &device);
    x * mask
}

fn is_cpu(device: &Device) -> bool {
    #[cfg(feature = "flex")]
    if device.clone().without_autodiff() == Device::flex() {
        return true;
    }
    let _ = device;
    false
}

/// A seed drawn from burn's RNG for `device`, which `Device::seed` makes reproducible.
fn seed(device: &Device) -> u64 {
    let draws = Tensor::<1>::random([3], Distribution::Uniform(0.0, 1.0), device);
    let values = draws.into_data().try_to_vec::<f32>().unwrap_or_default();
    values.iter().fold(0u64, |acc, v| {
        (acc << 21) ^ (f64::from(*v) * f64::from(1u32 << 21)) as u64
    })
}

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
