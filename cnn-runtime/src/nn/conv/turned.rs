//! A stride-1 convolution computed as the input gradient of its *turned* convolution: the
//! kernels turned half a turn, their channel axes swapped, and padding `k - 1 - p`.
//!
//! Why: burn-cubecl (wgpu, Vulkan) has no general matrix-multiply forward convolution for
//! `f32`: its autotuner's only runnable candidate for a dense 3x3 or 5x5 convolution is the
//! direct kernel, while the input gradient runs as one matmul plus `col2im` (`dgrad_im2col`).
//! Its own autotune records on an H200 (Vulkan, batch 64) time the seed network's four large
//! convolutions at 20.8 ms forward against 2.7 ms as input gradients, the same multiply-adds.
//! The input gradient is burn's own (`conv2d_x_backward`), the weight gradient [`super::wgrad`]'s.
//!
//! Generic over the backend so that the unit tests check it on flex against burn's `conv2d`;
//! recorded as a burn operation by [`op`].

// CPU-only builds use the turned forward pass for mixed precision, not the operation.
#![cfg_attr(not(feature = "wgpu"), allow(dead_code, unused_imports))]

use burn::backend::Backend;
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, NoCheckpointing};
use burn::backend::tensor::FloatTensor;
use burn::backend::{DispatchKindConversion, DispatchTensor, FloatDType, Shape, TensorMetadata};
use burn::tensor::Tensor;
use burn::tensor::ops::ConvOptions;

use super::channels::{self, Rows};
use super::{Geometry, op};
use cnn_kernels::conv::Wanted;

/// The convolution on backend `B`'s tensors, or `None` when they live on another backend or
/// the geometry has no turned form (strided, or padded by a kernel size or more). `limit` is
/// the most bytes one buffer holds on the device ([`super::wgrad`]'s column matrices).
pub fn conv2d<B>(
    g: &Geometry,
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: &Tensor<1>,
    limit: u64,
) -> Option<Tensor<4>>
where
    B: Backend,
    DispatchTensor: DispatchKindConversion<B>
        + DispatchKindConversion<Autodiff<B, NoCheckpointing>>
        + DispatchKindConversion<Autodiff<B, BalancedCheckpointing>>,
{
    let turned = turned_options(g)?;
    let as_gradient = |x: &FloatTensor<B>, weight: &FloatTensor<B>, bias: &FloatTensor<B>| {
        let y = forward::<B>(g, &turned, x.clone(), weight.clone(), bias.clone());
        (y, None)
    };
    op::conv2d::<B, _>(g, x, weight, bias, as_gradient, TurnedBackward { limit })
}

/// `conv2d(x, weight) + bias`, as the input gradient of the turned convolution at `x`.
pub(super) fn forward<B: Backend>(
    g: &Geometry,
    turned: &ConvOptions<2>,
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
    bias: FloatTensor<B>,
) -> FloatTensor<B> {
    add_bias::<B>(g, unbiased::<B>(g, turned, x, weight), bias)
}

/// `conv2d(x, weight)`, as the input gradient of the turned convolution at `x`, or by burn's
/// forward kernel with `CNN_KERNELS=burn:turned` (to time the two in one build).
pub(super) fn unbiased<B: Backend>(
    g: &Geometry,
    turned: &ConvOptions<2>,
    x: FloatTensor<B>,
    weight: FloatTensor<B>,
) -> FloatTensor<B> {
    if !crate::nn::switch::own(crate::nn::switch::Rewrite::Turned) {
        return B::conv2d(x, weight, None, own_options(g));
    }
    let device = x.device();
    // The turned convolution maps our output (filters channels) to our input (channels):
    // kernel [channels, filters, kh, kw], each tap at its mirrored position. Flipped as
    // [channels, kh, kw, filters], so that it lies in memory as burn-cubecl's input gradient
    // wants its weights; otherwise it copies them there first (through Mesa, 137 kernels per
    // training step instead of 142).
    let kernel = B::float_flip(B::float_permute(weight, &[1, 2, 3, 0]), &[1, 2]);
    let kernel = B::float_permute(kernel, &[0, 3, 1, 2]);
    // Its input only lends its shape: the gradient is taken with respect to it.
    let like = B::float_empty(output_shape(g), &device, FloatDType::from(x.dtype()));
    B::conv2d_x_backward(like, kernel, x, turned.clone())
}

/// `y + bias`, the bias (`[filters]`) broadcast over batch and pixels.
pub(super) fn add_bias<B: Backend>(
    g: &Geometry,
    y: FloatTensor<B>,
    bias: FloatTensor<B>,
) -> FloatTensor<B> {
    B::float_add(y, bias_column::<B>(g, bias))
}

/// The bias (`[filters]`) as `[1, filters, 1, 1]`, to broadcast over batch and pixels.
pub(super) fn bias_column<B: Backend>(g: &Geometry, bias: FloatTensor<B>) -> FloatTensor<B> {
    B::float_reshape(bias, Shape::new([1, g.filters, 1, 1]))
}

fn output_shape(g: &Geometry) -> Shape {
    Shape::new([g.batch, g.filters, g.out[0], g.out[1]])
}

/// The options of our own convolution, for its gradients.
pub(super) fn own_options(g: &Geometry) -> ConvOptions<2> {
    let padding = [0, 1].map(|i| (g.pad[i], end_pad(g, i)));
    ConvOptions::new_with_padding(g.stride, padding, [1, 1], 1)
}

/// The turned convolution's options: stride 1 and, on each side, `k - 1` minus our padding on
/// that side. `None` when that would be negative, or when we stride.
pub(super) fn turned_options(g: &Geometry) -> Option<ConvOptions<2>> {
    if g.stride != [1, 1] {
        return None;
    }
    let side = |i: usize, pad: usize| (g.kernel[i] - 1).checked_sub(pad);
    let padding = [0, 1].map(|i| Some((side(i, g.pad[i])?, side(i, end_pad(g, i))?)));
    let padding = [padding[0]?, padding[1]?];
    Some(ConvOptions::new_with_padding([1, 1], padding, [1, 1], 1))
}

/// Zero rows below (`i = 0`) or columns right of (`i = 1`) the input that the output reads.
pub(super) fn end_pad(g: &Geometry, i: usize) -> usize {
    let size = [g.height, g.width][i];
    ((g.out[i] - 1) * g.stride[i] + g.kernel[i]).saturating_sub(size + g.pad[i])
}

#[derive(Debug, Clone, Copy)]
struct TurnedBackward {
    /// The most bytes one buffer holds on the device.
    limit: u64,
}

impl<B: Backend> op::BackwardPass<B> for TurnedBackward {
    fn gradients(
        self,
        s: op::Saved<FloatTensor<B>>,
        wanted: Wanted,
    ) -> [Option<FloatTensor<B>>; 3] {
        let options = own_options(&s.g);
        // burn's input gradient, our weight gradient and the bias gradient all read the
        // output gradient channels-last.
        let (x, weight, grad) = (s.x, s.weight, Rows::of(s.grad));
        let dx = wanted
            .x
            .then(|| B::conv2d_x_backward(x.clone(), weight.clone(), grad.nchw(), options.clone()));
        let dw = wanted.weight.then(|| {
            let limit = Some(self.limit);
            super::wgrad::weight_gradient_or_burns::<B>(limit, &s.g, x, weight, grad.clone())
        });
        [
            dx,
            dw,
            wanted.bias.then(|| channels::bias_gradient::<B>(grad)),
        ]
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::{Conv2d, Conv2dConfig};
    use burn::tensor::{DType, Device, Distribution, Tolerance};

    /// Kernel, stride and explicit padding (top, left, bottom, right) on a 7x6 input.
    const CASES: [([usize; 2], [usize; 2], [usize; 4]); 6] = [
        ([3, 3], [1, 1], [1, 1, 1, 1]),
        ([5, 5], [1, 1], [2, 2, 2, 2]),
        // TF SAME for even kernels pads one more at the end.
        ([2, 2], [1, 1], [0, 0, 1, 1]),
        ([4, 2], [1, 1], [1, 0, 2, 1]),
        ([3, 3], [1, 1], [0, 0, 0, 0]),
        ([1, 1], [1, 1], [0, 0, 0, 0]),
    ];

    fn layer(kernel: [usize; 2], stride: [usize; 2], pads: [usize; 4], device: &Device) -> Conv2d {
        let [top, left, bottom, right] = pads;
        Conv2dConfig::new([3, 4], kernel)
            .with_stride(stride)
            .with_padding(PaddingConfig2d::Explicit(top, left, bottom, right))
            .init(device)
    }

    fn turned(conv: &Conv2d, x: Tensor<4>) -> Option<Tensor<4>> {
        let g = super::super::geometry(conv, x.dims())?;
        let bias = conv.bias.as_ref()?.val();
        conv2d::<Flex>(&g, &x, &conv.weight.val(), &bias, u64::MAX)
    }

    fn assert_close<const D: usize>(got: Tensor<D>, expected: Tensor<D>, what: &str) {
        assert_eq!(got.dims(), expected.dims(), "{what}");
        got.into_data()
            .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::absolute(1e-4));
    }

    #[test]
    fn inference_matches_burns_convolution() {
        let device = Device::flex();
        for (kernel, stride, pads) in CASES {
            let conv = layer(kernel, stride, pads, &device);
            let x = Tensor::<4>::random([2, 3, 7, 6], Distribution::Default, &device);
            let got = turned(&conv, x.clone()).expect("a turned form");
            assert_close(got, conv.forward(x), &format!("{kernel:?} {pads:?}"));
        }
    }

    #[test]
    fn gradients_match_burns_convolution() {
        let device = Device::flex().autodiff();
        for (kernel, stride, pads) in CASES {
            let conv = layer(kernel, stride, pads, &device);
            let x =
                Tensor::<4>::random([2, 3, 7, 6], Distribution::Default, &device).require_grad();
            let expected = conv.forward(x.clone());
            let got = turned(&conv, x.clone()).expect("a turned form");
            assert_close(got.clone(), expected.clone(), "values");
            let weights = Tensor::random(got.dims(), Distribution::Default, &device);
            let grads = |y: Tensor<4>| (y * weights.clone()).sum().backward();
            let (got, expected) = (grads(got), grads(expected));
            let case = format!("{kernel:?} {pads:?}");
            assert_close(x.grad(&got).unwrap(), x.grad(&expected).unwrap(), &case);
            let w = &conv.weight;
            assert_close(w.grad(&got).unwrap(), w.grad(&expected).unwrap(), &case);
            let b = conv.bias.as_ref().unwrap();
            assert_close(b.grad(&got).unwrap(), b.grad(&expected).unwrap(), &case);
        }
    }

    #[test]
    fn half_precision_keeps_its_element_type() {
        let device = Device::flex();
        let (kernel, stride, pads) = CASES[1];
        let mut conv = layer(kernel, stride, pads, &device);
        conv.weight = conv.weight.map(|w| w.cast(DType::F16));
        conv.bias = conv.bias.map(|b| b.map(|b| b.cast(DType::F16)));
        let x = Tensor::<4>::random([2, 3, 7, 6], Distribution::Default, &device).cast(DType::F16);
        let got = turned(&conv, x.clone()).expect("a turned form");
        assert_eq!(got.dtype(), DType::F16);
        let expected = conv.forward(x);
        let (got, expected) = (got.cast(DType::F32), expected.cast(DType::F32));
        got.into_data()
            .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::absolute(2e-2));
    }

    #[test]
    fn strided_or_overpadded_convolutions_have_no_turned_form() {
        let device = Device::flex();
        let x = Tensor::<4>::random([1, 3, 7, 6], Distribution::Default, &device);
        let strided = layer([3, 3], [2, 2], [1, 1, 1, 1], &device);
        assert!(turned(&strided, x.clone()).is_none());
        let overpadded = layer([3, 3], [1, 1], [3, 3, 3, 3], &device);
        assert!(turned(&overpadded, x).is_none());
    }
}
