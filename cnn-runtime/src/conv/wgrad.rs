//! A convolution's weight gradient as matmuls of the output gradient with the input's windows,
//! gathered in one copy.
//!
//! Why: burn-cubecl's `wgrad_im2col` fills its column matrix with one slice-assign per kernel
//! tap (9 for a 3x3 kernel, 25 for 5x5), after zeroing it: 61 kernels per training step of the
//! seed network, each one launch for a host that paces batch-64 steps on an H200 (about 19 us
//! of host time per kernel, 332 kernels per `f16` step). Here the input, padded once, is
//! viewed channels-last through `unfold` (strides, no copy) and copied into the column matrix
//! in one kernel, reading whole channel runs. The reduction over batch and pixels is long
//! (`batch * out_h * out_w` rows), so it is cut into slices multiplied as one batched matmul
//! and summed ([`crate::dense::parts`]), as burn's own splits it.

use burn::backend::Backend;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Shape, TensorMetadata};
use burn::tensor::ops::PadMode;

use super::Geometry;

/// The weight gradient our convolutions' backward passes use: [`weight_gradient`] where
/// `ours` (on wgpu) unless `CNN_KERNELS=burn:wgrad`, otherwise burn's own
/// (`conv2d_weight_backward`, which takes the weights for their shape).
pub fn weight_gradient_or_burns<B: Backend>(
    ours: bool,
    g: &Geometry,
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    match ours && crate::switch::own(crate::switch::Rewrite::WeightGradient) {
        true => weight_gradient::<B>(g, x, grad),
        false => B::conv2d_weight_backward(x, weight, grad, super::turned::own_options(g)),
    }
}

/// The gradient of the weights (`[filters, channels, kh, kw]`) of the convolution `g` with
/// input `x` (`[batch, channels, height, width]`) and output gradient `grad`, in their type.
pub fn weight_gradient<B: Backend>(
    g: &Geometry,
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let ([kh, kw], [ho, wo]) = (g.kernel, g.out);
    let rows = g.batch * ho * wo;
    let taps = kh * kw * g.channels;
    let columns = B::float_reshape(windows::<B>(g, x), Shape::new([rows, taps]));
    // [batch, filters, out_h, out_w] as [rows, filters]: free when channels-last in memory.
    let grad = B::float_reshape(
        B::float_permute(grad, &[0, 2, 3, 1]),
        Shape::new([rows, g.filters]),
    );
    let dw = match crate::dense::parts(rows) {
        Some(parts) => {
            let per = rows / parts;
            let columns = B::float_reshape(columns, Shape::new([parts, per, taps]));
            let grad = B::float_reshape(grad, Shape::new([parts, per, g.filters]));
            let partial = B::float_matmul(B::float_swap_dims(grad, 1, 2), columns);
            B::float_reshape(B::float_sum_dim(partial, 0), Shape::new([g.filters, taps]))
        }
        None => B::float_matmul(B::float_swap_dims(grad, 0, 1), columns),
    };
    // Columns run (kh, kw, channels); the weights are [filters, channels, kh, kw].
    let dw = B::float_reshape(dw, Shape::new([g.filters, kh, kw, g.channels]));
    B::float_permute(dw, &[0, 3, 1, 2])
}

/// The windows the output reads, `[batch, out_h, out_w, kh, kw, channels]`: the input padded
/// channels-last, then unfolded along height and width (views).
fn windows<B: Backend>(g: &Geometry, x: FloatTensor<B>) -> FloatTensor<B> {
    let [top, left] = g.pad;
    let [bottom, right] = [0, 1].map(|i| super::turned::end_pad(g, i));
    let x = B::float_permute(x, &[0, 2, 3, 1]);
    let padding = [(0, 0), (top, bottom), (left, right), (0, 0)];
    let x = B::float_pad(x, &padding, PadMode::Constant(0.0));
    // [n, hp, wp, c] -> [n, out_h, wp, c, kh] -> [n, out_h, out_w, c, kh, kw]
    let x = B::float_unfold(x, 1, g.kernel[0], g.stride[0]);
    let x = B::float_unfold(x, 2, g.kernel[1], g.stride[1]);
    debug_assert_eq!(&x.shape()[1..3], &g.out[..]);
    B::float_permute(x, &[0, 1, 2, 4, 5, 3])
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::{DType, Device, Distribution, Tensor, Tolerance};

    /// Kernel, stride and padding (top, left, bottom, right) on a 7x6 input: TF SAME's uneven
    /// padding, strides, and none.
    const CASES: [([usize; 2], [usize; 2], [usize; 4]); 6] = [
        ([3, 3], [1, 1], [1, 1, 1, 1]),
        ([5, 5], [1, 1], [2, 2, 2, 2]),
        ([2, 2], [1, 1], [0, 0, 1, 1]),
        ([4, 2], [1, 1], [1, 0, 2, 1]),
        ([3, 3], [2, 2], [1, 1, 1, 1]),
        ([3, 2], [2, 3], [0, 0, 0, 0]),
    ];

    fn burns<B: Backend>(
        g: &Geometry,
        x: FloatTensor<B>,
        w: FloatTensor<B>,
        grad: FloatTensor<B>,
    ) -> FloatTensor<B> {
        B::conv2d_weight_backward(x, w, grad, super::super::turned::own_options(g))
    }

    fn flex<const D: usize>(t: &Tensor<D>) -> FloatTensor<Flex> {
        t.clone().try_into_primitive::<Flex>().unwrap()
    }

    /// Against burn's `conv2d_weight_backward` (`f32`), for a batch small enough to multiply in
    /// one piece and one long enough to be split (2 x 49 x 48 = 4704 rows: 12 slices of 392);
    /// in `f32` to its rounding, in `f16` to 0.2% of the largest value.
    #[test]
    fn matches_burns_weight_gradient() {
        let device = Device::flex();
        for (batch, [h, w]) in [(2, [7, 6]), (2, [49, 48])] {
            for (kernel, stride, [top, left, bottom, right]) in CASES {
                let conv = Conv2dConfig::new([3, 4], kernel)
                    .with_stride(stride)
                    .with_padding(PaddingConfig2d::Explicit(top, left, bottom, right))
                    .init(&device);
                let x = Tensor::<4>::random([batch, 3, h, w], Distribution::Default, &device);
                let g = super::super::geometry(&conv, x.dims()).unwrap();
                let out = [batch, 4, g.out[0], g.out[1]];
                let grad = Tensor::<4>::random(out, Distribution::Default, &device);
                let weight = flex(&conv.weight.val());
                let expected = burns::<Flex>(&g, flex(&x), weight, flex(&grad));
                let got = weight_gradient::<Flex>(&g, flex(&x), flex(&grad));
                let [got, expected] = [got, expected].map(Tensor::<4>::from_primitive::<Flex>);
                assert_eq!(got.dims(), expected.dims());
                // In f16 (mixed precision's backward pass), slices and their sum included.
                let half = |t: &Tensor<4>| flex(&t.clone().cast(DType::F16));
                let got_half = weight_gradient::<Flex>(&g, half(&x), half(&grad));
                let got_half = Tensor::<4>::from_primitive::<Flex>(got_half).cast(DType::F32);
                let peak = expected.clone().abs().max().into_scalar::<f32>();
                let error = (got_half - expected.clone())
                    .abs()
                    .max()
                    .into_scalar::<f32>();
                assert!(error < 2e-3 * peak, "f16: {error} of {peak}");
                got.into_data()
                    .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::rel_abs(1e-5, 1e-5));
            }
        }
    }
}
