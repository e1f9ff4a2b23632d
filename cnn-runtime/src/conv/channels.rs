//! Channels-last views of `[n, c, h, w]` tensors, and their reductions over batch and pixels:
//! the bias gradient, and the largest value and per-channel sums mixed precision scales its
//! gradients by ([`super::mixed`]). burn-cubecl keeps activations and their gradients
//! channels-last in memory, where these views copy nothing.
//!
//! Why the reductions take two steps: cubecl reduces each output in one unit or cube, so
//! summing a `[64, 128, 28, 28]` gradient per channel in one reduction is 128 outputs of
//! 50,176 rows each. On the H200 (Vulkan, batch 64) such reductions took 240-270 µs each,
//! against 38-40 µs for the same rows over 64 channels, and over a fifth of a mixed-precision
//! step's kernel time went to them. Viewed as `[1, n, h * w, c]`, the first reduction has `n`
//! times the outputs and `1/n` of the rows, and the second sums `n` rows per channel.

use burn::backend::Backend;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Shape, TensorMetadata};

/// Batch and pixel counts (`n * h * w`) from which the reductions run in two steps: below it
/// one reduction is short enough that a second kernel would cost more than it saves.
const TWO_STEPS_FROM: usize = 4096;

/// The bias gradient, `[c]`: the output gradient summed over batch and pixels.
pub fn bias_gradient<B: Backend>(grad: FloatTensor<B>) -> FloatTensor<B> {
    let c = grad.shape()[1];
    B::float_reshape(sum::<B>(grad), Shape::new([c]))
}

/// `sum|t[:, c]|` per channel, as `[1, 1, 1, c]`.
pub fn abs_sum<B: Backend>(t: FloatTensor<B>) -> FloatTensor<B> {
    sum::<B>(B::float_abs(t))
}

/// `max|t|`, as `[1, 1, 1, 1]`: per channel and image (or per channel), then over all of
/// those. Not over the whole tensor at once: that is one cube reading all of it (0.35 to
/// 1.3 ms on the H200 for an earlier variant's maxima).
pub fn max_abs<B: Backend>(t: FloatTensor<B>) -> FloatTensor<B> {
    let (rows, _) = rows::<B>(t);
    let partial = B::float_max_abs_dim(rows, 2);
    let count = partial.shape().num_elements();
    B::float_max_dim(B::float_reshape(partial, Shape::new([1, 1, 1, count])), 3)
}

/// `t` summed per channel, as `[1, 1, 1, c]`.
fn sum<B: Backend>(t: FloatTensor<B>) -> FloatTensor<B> {
    let (rows, two_steps) = rows::<B>(t);
    let partial = B::float_sum_dim(rows, 2);
    if two_steps {
        B::float_sum_dim(partial, 1)
    } else {
        partial
    }
}

/// `t` (`[n, c, h, w]`) with its memory channels-last, viewed as `[n, c, h, w]` again: a copy
/// unless it already lies that way. burn's input gradient and our weight gradient both read
/// the output gradient channels-last, and each copied it when it did not (the gradient of a
/// layer fed by a reshape, such as conv5's from fc1).
pub fn channels_last<B: Backend>(t: FloatTensor<B>) -> FloatTensor<B> {
    let [n, c, h, w] = t.shape().dims();
    let rows = in_channel_order::<B>(t, Shape::new([n * h * w, c]));
    B::float_permute(
        B::float_reshape(rows, Shape::new([n, h, w, c])),
        &[0, 3, 1, 2],
    )
}

/// `t` (`[n, c, h, w]`) read in `[n, h, w, c]` order and shaped as `shape` (for example
/// `[n * h * w, c]`): a view of a channels-last tensor, a copy of any other.
pub fn in_channel_order<B: Backend>(t: FloatTensor<B>, shape: Shape) -> FloatTensor<B> {
    B::float_reshape(B::float_permute(t, &[0, 2, 3, 1]), shape)
}

/// `[n, c, h, w]` as `[1, n, h * w, c]` when the reduction runs in two steps (`true`), else
/// as `[1, 1, n * h * w, c]`, reduced over axis 2 and then 1. The reductions keep rank 4, so
/// no reshape follows them.
fn rows<B: Backend>(t: FloatTensor<B>) -> (FloatTensor<B>, bool) {
    let [n, c, h, w] = t.shape().dims();
    let two_steps = n > 1 && h * w > 1 && n * h * w >= TWO_STEPS_FROM;
    let (outer, inner) = if two_steps {
        (n, h * w)
    } else {
        (1, n * h * w)
    };
    let rows = in_channel_order::<B>(t, Shape::new([1, outer, inner, c]));
    (rows, two_steps)
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::tensor::{Device, Distribution, Tensor, Tolerance};

    fn per_channel<const D: usize>(
        reduce: fn(FloatTensor<Flex>) -> FloatTensor<Flex>,
        t: &Tensor<4>,
    ) -> Tensor<D> {
        let t = t.clone().try_into_primitive::<Flex>().unwrap();
        Tensor::from_primitive::<Flex>(reduce(t))
    }

    /// Both forms: one step (`2 * 3 * 5 = 30` rows) and two steps (`64 * 8 * 8 = 4096`).
    #[test]
    fn reductions_match_burns_over_batch_and_pixels() {
        let device = Device::flex();
        for shape in [[2, 3, 3, 5], [64, 3, 8, 8]] {
            let t = Tensor::<4>::random(shape, Distribution::Normal(0.0, 1.0), &device);
            let expected_sum = t.clone().abs().sum_dims(&[0, 2, 3]).reshape([1, 1, 1, 3]);
            let expected_max = t.clone().abs().max().reshape([1, 1, 1, 1]);
            let got_sum = per_channel::<4>(abs_sum::<Flex>, &t);
            let got_max = per_channel::<4>(max_abs::<Flex>, &t);
            let tolerance = Tolerance::<f32>::relative(1e-5);
            got_sum
                .into_data()
                .assert_approx_eq(&expected_sum.into_data(), tolerance);
            got_max
                .into_data()
                .assert_approx_eq(&expected_max.into_data(), tolerance);
            // A signed sum cancels down to about sqrt(rows) while its rounding error follows the
            // sum of |t| (about 3,300 at 4,096 rows), so a relative bound alone failed now and
            // then (2.3e-5 on a sum of -1.16): it is compared to within 1e-3 as well.
            let signed = Tolerance::<f32>::rel_abs(1e-5, 1e-3);
            let bias = per_channel::<1>(bias_gradient::<Flex>, &t).reshape([1, 1, 1, 3]);
            let expected_bias = t.sum_dims(&[0, 2, 3]).reshape([1, 1, 1, 3]);
            bias.into_data()
                .assert_approx_eq(&expected_bias.into_data(), signed);
        }
    }
}
