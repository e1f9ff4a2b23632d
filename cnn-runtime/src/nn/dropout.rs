//! The dropout generated networks call. It behaves as burn's `Dropout::forward`: during
//! training each element is kept with probability `1 - prob` and scaled by `1 / (1 - prob)`;
//! otherwise the input passes through. On the flex CPU backend the mask comes from a fast
//! generator (xoshiro256++, one stream per block, in parallel) seeded from burn's device RNG,
//! so seeded runs stay reproducible; burn-flex draws each element through ChaCha and a
//! distribution sampler, several times slower (docs/performance.md).
//!
//! On wgpu an image batch's dropout runs on its channels-last view. burn-cubecl keeps
//! convolution and pooling outputs, and their gradients, channels-last in memory, while burn's
//! dropout draws its mask in logical (channels-first) order; an elementwise operation on two
//! operands in different orders reads one of them element by element across memory. On an
//! H200 the seed network's dropout and ReLU gradients at batch 256 ran at about 250 GB/s for
//! that reason (2.5 ms of a 16 ms step), and the dropout's output, channels-first, made the
//! operations after it mix orders too. Given the `[n, h, w, c]` view, which is contiguous,
//! burn's dropout draws its mask in memory order and keeps its fused kernel.

use burn::nn::Dropout;
use burn::tensor::{Device, Distribution, Tensor, TensorData};
use cnn_kernels::dropout::mask;

/// `dropout.forward(x)`, with a faster mask on CPU backends, on the channels-last view on wgpu.
pub fn forward<const D: usize>(dropout: &Dropout, x: Tensor<D>) -> Tensor<D> {
    let device = x.device();
    if !dropout.training.is_enabled() || !device.is_autodiff() || dropout.prob == 0.0 {
        return x;
    }
    if crate::train::replay::noise::is_served() {
        return taped(x, dropout.prob);
    }
    if !crate::nn::switch::own(crate::nn::switch::Rewrite::Dropout) {
        return dropout.forward(x);
    }
    if is_cpu(&device) {
        let shape = x.shape();
        let values = mask(shape.num_elements(), dropout.prob, seed(&device));
        let mask = Tensor::<D>::from_data(TensorData::new(values, shape), &device);
        return x * mask;
    }
    #[cfg(feature = "wgpu")]
    if D == 4 && crate::backend::on_wgpu(&device) {
        return channels_last(x, |view| dropout.forward(view));
    }
    dropout.forward(x)
}

/// The dropout of a recorded step ([`crate::train::replay`]): its mask from the step's noise tape,
/// on the channels-last view on wgpu, as below.
fn taped<const D: usize>(x: Tensor<D>, prob: f64) -> Tensor<D> {
    let masked = |x: Tensor<D>| {
        let noise = crate::train::replay::noise::uniform(x.dims(), &x.device());
        x * keep(noise.expect("a tape serving this step"), prob)
    };
    #[cfg(feature = "wgpu")]
    if D == 4 && crate::backend::on_wgpu(&x.device()) {
        return channels_last(x, masked);
    }
    masked(x)
}

/// `1 / (1 - prob)` where `noise` (uniform in `[0, 1)`) lies below `1 - prob`, else `0`.
///
/// In float operations only: burn-fusion runs a comparison's cast to float as a kernel of its
/// own, and the comparison before it too (two kernels more per dropout of a replayed step).
/// `(noise - keep) * -2^60` is at most `0` where `noise >= keep`; where `noise < keep` it is at
/// least 64 for any `keep` above `2^-30` (a `drop_out` below 99.9999999%), since `f32` values
/// within a factor of two of such a `keep` differ by `2^-54` or more. Clamped to `[0, 1]`, it is
/// the comparison exactly.
fn keep<const D: usize>(noise: Tensor<D>, prob: f64) -> Tensor<D> {
    let keep = 1.0 - prob;
    let mask = (noise - keep) * -SEPARATES;
    mask.clamp(0.0, 1.0) * (1.0 / keep)
}

/// `2^60`: see [`keep`].
const SEPARATES: f64 = (1u64 << 60) as f64;

/// `f` applied to `x` (`[n, c, h, w]`) seen as `[n, h, w, c]`, and its result seen as
/// `[n, c, h, w]` again: views, no copies. One permute each way rather than two axis swaps:
/// burn-fusion handles each view as an operation of its own, in the forward pass and again in
/// the backward pass.
#[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
fn channels_last<const D: usize>(
    x: Tensor<D>,
    f: impl FnOnce(Tensor<D>) -> Tensor<D>,
) -> Tensor<D> {
    f(x.permute(axes([0, 2, 3, 1]))).permute(axes([0, 3, 1, 2]))
}

/// `first` as the order of the first four of `D >= 4` axes, the others left in place.
#[cfg_attr(not(feature = "wgpu"), allow(dead_code))]
fn axes<const D: usize>(first: [isize; 4]) -> [isize; D] {
    debug_assert!(D >= 4, "a permutation of the first four axes needs four");
    std::array::from_fn(|i| first.get(i).copied().unwrap_or(i as isize))
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

#[cfg(test)]
mod tests {
    use super::*;

    /// The replayed step's mask keeps exactly the elements whose noise lies below `1 - prob`,
    /// the closest calls included.
    #[cfg(feature = "flex")]
    #[test]
    fn the_taped_mask_is_the_comparison_exactly() {
        let device = Device::flex();
        for prob in [0.083, 0.5, 0.99, 0.999_999] {
            let below = (1.0 - prob) as f32;
            let half = below / 2.0;
            let mut noise = vec![0.0, below.next_down(), below, below.next_up(), half];
            noise.extend([half.next_down(), half.next_up(), 1f32.next_down()]);
            let drawn = Tensor::<1>::random([10_000], Distribution::Default, &device);
            noise.extend(drawn.into_data().try_to_vec::<f32>().unwrap());
            let tensor =
                Tensor::<1>::from_data(TensorData::new(noise.clone(), [noise.len()]), &device);
            let got = keep(tensor, prob).into_data().try_to_vec::<f32>().unwrap();
            let scale = (1.0 / (1.0 - prob)) as f32;
            for (n, got) in noise.into_iter().zip(got) {
                let expected = if n < below { scale } else { 0.0 };
                assert_eq!(got, expected, "noise {n}, drop probability {prob}");
            }
        }
    }

    /// `f` sees the channels as the last axis, and its result comes back as `[n, c, h, w]`.
    #[cfg(feature = "flex")]
    #[test]
    fn channels_last_hands_over_the_channels_as_the_last_axis() {
        let device = Device::flex();
        let x = Tensor::<4>::random([2, 3, 4, 5], Distribution::Default, &device);
        let factors = Tensor::<1>::from_floats([1.0, 10.0, 100.0], &device);
        let got = channels_last(x.clone(), |view| {
            assert_eq!(view.dims(), [2, 4, 5, 3]);
            view * factors.clone().reshape([1, 1, 1, 3])
        });
        let expected = x * factors.reshape([1, 3, 1, 1]);
        got.into_data().assert_eq(&expected.into_data(), true);
    }
}
