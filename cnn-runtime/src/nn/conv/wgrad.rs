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
//! and summed ([`crate::nn::dense::parts`]), as burn's own splits it.
//!
//! The column matrix holds every input value `kh * kw` times: 321 MB in `f32` for the seed's
//! conv4 at batch 64. Where one buffer cannot hold it (Mesa's software GPU refused that one),
//! the batch is taken in pieces that fit and their gradients are summed; burn's `im2col`
//! builds the same matrix, but its autotuner falls back to other kernels when it fails.

use burn::backend::Backend;
use burn::backend::tensor::FloatTensor;
use burn::backend::{Shape, TensorMetadata};
use burn::tensor::Slice;
use burn::tensor::ops::PadMode;

use super::Geometry;
use super::channels::Rows;

/// The weight gradient our convolutions' backward passes use: [`weight_gradient`] where a
/// buffer limit is given (on wgpu, from [`crate::backend::buffer_limit`]) unless
/// `CNN_KERNELS=burn:wgrad` or a single image's columns would exceed it, otherwise burn's own
/// (`conv2d_weight_backward`, which takes the weights for their shape). `grad` is the output
/// gradient read channels-last.
pub fn weight_gradient_or_burns<B: Backend>(
    limit: Option<u64>,
    g: &Geometry,
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    grad: Rows<B>,
) -> FloatTensor<B> {
    let fits = |limit| image_columns_bytes::<B>(g, &x) <= limit;
    match limit.filter(|&limit| fits(limit)) {
        Some(limit) if crate::nn::switch::own(crate::nn::switch::Rewrite::WeightGradient) => {
            weight_gradient::<B>(g, x, grad, limit)
        }
        _ => {
            let options = super::turned::own_options(g);
            B::conv2d_weight_backward(x, weight, grad.nchw(), options)
        }
    }
}

/// The gradient of the weights (`[filters, channels, kh, kw]`) of the convolution `g` with
/// input `x` (`[batch, channels, height, width]`) and output gradient `grad` (read
/// channels-last), in their type.
/// The column matrix of the whole batch is `batch * out_h * out_w * kh * kw * channels`
/// values (321 MB in `f32` for the seed's conv4 at batch 64); where that exceeds `limit`
/// bytes, the batch is taken in pieces that fit and their gradients are summed.
pub fn weight_gradient<B: Backend>(
    g: &Geometry,
    x: FloatTensor<B>,
    grad: Rows<B>,
    limit: u64,
) -> FloatTensor<B> {
    let fitting = (limit / image_columns_bytes::<B>(g, &x).max(1)).max(1) as usize;
    let pieces = g.batch.div_ceil(fitting);
    if pieces == 1 {
        return whole_batch::<B>(g, x, grad.rows);
    }
    let pixels = g.out[0] * g.out[1];
    let per = g.batch.div_ceil(pieces);
    (0..g.batch)
        .step_by(per)
        .map(|start| {
            let images = per.min(g.batch - start);
            let part = Geometry {
                batch: images,
                ..*g
            };
            let x = B::float_slice(x.clone(), &[Slice::from(start..start + images)]);
            let rows = Slice::from(start * pixels..(start + images) * pixels);
            let grad = B::float_slice(grad.rows.clone(), &[rows]);
            whole_batch::<B>(&part, x, grad)
        })
        .reduce(B::float_add)
        .expect("a batch of at least one image")
}

/// The bytes one image adds to the column matrix, in `x`'s type.
fn image_columns_bytes<B: Backend>(g: &Geometry, x: &FloatTensor<B>) -> u64 {
    let [kh, kw] = g.kernel;
    let values = g.out[0] * g.out[1] * kh * kw * g.channels;
    (values * x.dtype().size()) as u64
}

/// [`weight_gradient`] of the whole batch in one column matrix; `grad` is the output
/// gradient's `[batch * out_h * out_w, filters]` rows.
fn whole_batch<B: Backend>(
    g: &Geometry,
    x: FloatTensor<B>,
    grad: FloatTensor<B>,
) -> FloatTensor<B> {
    let ([kh, kw], [ho, wo]) = (g.kernel, g.out);
    let rows = g.batch * ho * wo;
    let taps = kh * kw * g.channels;
    let columns = B::float_reshape(windows::<B>(g, x), Shape::new([rows, taps]));
    let dw = match crate::nn::dense::parts(rows) {
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

    fn rows(grad: &Tensor<4>) -> Rows<Flex> {
        Rows::of(flex(grad))
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
                let got = weight_gradient::<Flex>(&g, flex(&x), rows(&grad), u64::MAX);
                let [got, expected] = [got, expected].map(Tensor::<4>::from_primitive::<Flex>);
                assert_eq!(got.dims(), expected.dims());
                // In f16 (mixed precision's backward pass), slices and their sum included.
                let half = |t: &Tensor<4>| flex(&t.clone().cast(DType::F16));
                let half_rows = Rows::of(half(&grad));
                let got_half = weight_gradient::<Flex>(&g, half(&x), half_rows, u64::MAX);
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

    /// A buffer limit below the whole batch's columns: 5 images, at most 2 per piece (2, 2
    /// and 1), give burn's gradient; a limit below one image's columns is burn's own.
    #[test]
    fn pieces_of_the_batch_sum_to_the_whole_gradient() {
        let device = Device::flex();
        let conv = Conv2dConfig::new([3, 4], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(&device);
        let x = Tensor::<4>::random([5, 3, 9, 8], Distribution::Default, &device);
        let g = super::super::geometry(&conv, x.dims()).unwrap();
        let grad = Tensor::<4>::random([5, 4, 9, 8], Distribution::Default, &device);
        let weight = flex(&conv.weight.val());
        let expected = burns::<Flex>(&g, flex(&x), weight.clone(), flex(&grad));
        let one_image = image_columns_bytes::<Flex>(&g, &flex(&x));
        for limit in [2 * one_image + 1, one_image - 1] {
            let got = weight_gradient_or_burns::<Flex>(
                Some(limit),
                &g,
                flex(&x),
                weight.clone(),
                rows(&grad),
            );
            let [got, expected] = [got, expected.clone()].map(Tensor::<4>::from_primitive::<Flex>);
            got.into_data()
                .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::rel_abs(1e-5, 1e-5));
        }
    }
}
