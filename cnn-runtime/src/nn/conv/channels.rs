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

/// A `[n, c, h, w]` tensor read channels-last, as `[n * h * w, c]` rows: a view of a
/// channels-last tensor, a copy of any other. burn's input gradient, our weight gradient and
/// the reductions below all read the output gradient in this order; taking the rows once
/// instead of once per reader saves burn-fusion a permute and a reshape per reader, each an
/// operation its thread handles on its own (that thread paces batch-64 `f16` steps on an H200).
#[derive(Debug, Clone)]
pub struct Rows<B: Backend> {
    pub rows: FloatTensor<B>,
    dims: [usize; 4],
}

impl<B: Backend> Rows<B> {
    pub fn of(t: FloatTensor<B>) -> Self {
        let dims @ [n, c, h, w] = t.shape().dims();
        let rows = in_channel_order::<B>(t, Shape::new([n * h * w, c]));
        Rows { rows, dims }
    }

    /// The rows seen as `[n, c, h, w]` again (views): channels-last in memory.
    pub fn nchw(&self) -> FloatTensor<B> {
        let [n, c, h, w] = self.dims;
        let t = B::float_reshape(self.rows.clone(), Shape::new([n, h, w, c]));
        B::float_permute(t, &[0, 3, 1, 2])
    }

    /// The rows as [`for_reduction`] shapes them. By value: burn-fusion records every drop
    /// of a tensor no operation consumed as an operation of its own, so the last reader of
    /// the rows takes them.
    fn into_reduction(self) -> (FloatTensor<B>, bool) {
        let (shape, two_steps) = for_reduction(self.dims);
        (B::float_reshape(self.rows, shape), two_steps)
    }
}

/// The shape `[1, outer, inner, c]` a `[n, c, h, w]` tensor is reduced in, over axis 2 and,
/// when the second value is `true`, then over axis 1: `[1, n, h * w, c]` (two steps), else
/// `[1, 1, n * h * w, c]`. The reductions keep rank 4, so no reshape follows them.
fn for_reduction([n, c, h, w]: [usize; 4]) -> (Shape, bool) {
    let two_steps = n > 1 && h * w > 1 && n * h * w >= TWO_STEPS_FROM;
    let (outer, inner) = if two_steps {
        (n, h * w)
    } else {
        (1, n * h * w)
    };
    (Shape::new([1, outer, inner, c]), two_steps)
}

/// The bias gradient, `[c]`: the output gradient summed over batch and pixels.
pub fn bias_gradient<B: Backend>(grad: Rows<B>) -> FloatTensor<B> {
    let channels = grad.dims[1];
    let (rows, two_steps) = grad.into_reduction();
    B::float_reshape(sum::<B>(rows, two_steps), Shape::new([channels]))
}

/// `sum|t[:, c]|` per channel, as `[1, 1, 1, c]`.
pub fn abs_sum<B: Backend>(t: FloatTensor<B>) -> FloatTensor<B> {
    let (shape, two_steps) = for_reduction(t.shape().dims());
    sum::<B>(in_channel_order::<B>(B::float_abs(t), shape), two_steps)
}

/// `max|t|`, as `[1, 1, 1, 1]`: per channel and image (or per channel), then over all of
/// those. Not over the whole tensor at once: that is one cube reading all of it (0.35 to
/// 1.3 ms on the H200 for an earlier variant's maxima).
pub fn max_abs<B: Backend>(t: Rows<B>) -> FloatTensor<B> {
    let (rows, _) = t.into_reduction();
    let partial = B::float_max_abs_dim(rows, 2);
    let count = partial.shape().num_elements();
    B::float_max_dim(B::float_reshape(partial, Shape::new([1, 1, 1, count])), 3)
}

/// `rows` (`[1, outer, inner, c]`, [`for_reduction`]) summed per channel, as `[1, 1, 1, c]`.
fn sum<B: Backend>(rows: FloatTensor<B>, two_steps: bool) -> FloatTensor<B> {
    let partial = B::float_sum_dim(rows, 2);
    if two_steps {
        B::float_sum_dim(partial, 1)
    } else {
        partial
    }
}

/// `t` (`[n, c, h, w]`) read in `[n, h, w, c]` order and shaped as `shape` (for example
/// `[n * h * w, c]`): a view of a channels-last tensor, a copy of any other.
fn in_channel_order<B: Backend>(t: FloatTensor<B>, shape: Shape) -> FloatTensor<B> {
    B::float_reshape(B::float_permute(t, &[0, 2, 3, 1]), shape)
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
            let got_max = per_channel::<4>(|t| max_abs::<Flex>(Rows::of(t)), &t);
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
            let bias = per_channel::<1>(|t| bias_gradient::<Flex>(Rows::of(t)), &t);
            let bias = bias.reshape([1, 1, 1, 3]);
            let expected_bias = t.sum_dims(&[0, 2, 3]).reshape([1, 1, 1, 3]);
            bias.into_data()
                .assert_approx_eq(&expected_bias.into_data(), signed);
        }
    }

    /// The rows hold the values in `[n, h, w, c]` order, and [`Rows::nchw`] gives the tensor
    /// back unchanged.
    #[test]
    fn rows_read_channels_last_and_come_back_unchanged() {
        let device = Device::flex();
        let t = Tensor::<4>::random([2, 3, 4, 5], Distribution::Default, &device);
        let rows = Rows::<Flex>::of(t.clone().try_into_primitive::<Flex>().unwrap());
        let got = Tensor::<2>::from_primitive::<Flex>(rows.rows.clone());
        let expected = t.clone().permute([0, 2, 3, 1]).reshape([40, 3]);
        got.into_data().assert_eq(&expected.into_data(), true);
        let back = Tensor::<4>::from_primitive::<Flex>(rows.nchw());
        back.into_data().assert_eq(&t.into_data(), true);
    }
}
