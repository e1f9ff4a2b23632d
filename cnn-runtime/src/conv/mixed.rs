//! A convolution whose multiply-adds run in a half type (`f16`, `bf16`) while its input,
//! weights, output and gradients stay `f32` (see [`crate::precision`]).
//!
//! `f16` tops out at 65504 and loses precision under 6e-5, and gradients are often smaller
//! than that. So the backward pass scales the output gradient up before casting it to the
//! half type, as PyTorch's loss scaling does, and scales each result back down in `f32`. The
//! scale comes from bounds that hold for every element, not from a guess corrected after
//! overflows: each input gradient sums products of the output gradient with one input
//! channel's weights, so `|dx| <= max|g| * max_c sum|w[:, c]|`, and each weight gradient sums
//! products with one input channel's pixels, so `|dw| <= max|g| * max_c sum|x[:, c]|`. Scaling
//! `g` to `LIMIT / (max|g| * bound)` therefore keeps both results under `LIMIT`, with the
//! gradient as large as that allows. All of it stays on the device: no step waits to read a
//! scale back.

use burn::backend::Backend;
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, NoCheckpointing};
use burn::backend::tensor::FloatTensor;
use burn::backend::{DispatchKindConversion, DispatchTensor, FloatDType, Shape};
use burn::tensor::Tensor;

use super::kernels::Wanted;
use super::turned::{self, own_options};
use super::{Geometry, op};

/// The largest gradient element the scaled backward pass lets a half type hold (`f16`'s
/// largest finite value is 65504).
const LIMIT: f32 = 32768.0;

/// The convolution on backend `B`'s `f32` tensors, multiplying in `half`; `turn` computes
/// stride-1 forward passes as input gradients ([`turned`], for wgpu). `None` when the tensors
/// live on another backend.
pub fn conv2d<B>(
    g: &Geometry,
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: &Tensor<1>,
    half: FloatDType,
    turn: bool,
) -> Option<Tensor<4>>
where
    B: Backend,
    DispatchTensor: DispatchKindConversion<B>
        + DispatchKindConversion<Autodiff<B, NoCheckpointing>>
        + DispatchKindConversion<Autodiff<B, BalancedCheckpointing>>,
{
    let forward = |x: &FloatTensor<B>, weight: &FloatTensor<B>, bias: &FloatTensor<B>| {
        let [x, weight, bias] = [x, weight, bias].map(|t| B::float_cast(t.clone(), half));
        let y = match turned::turned_options(g).filter(|_| turn) {
            Some(options) => turned::forward::<B>(g, &options, x, weight, bias),
            None => B::conv2d(x, weight, Some(bias), own_options(g)),
        };
        B::float_cast(y, FloatDType::F32)
    };
    op::conv2d::<B, _>(
        g,
        x,
        weight,
        bias,
        forward,
        MixedBackward { half, gpu: turn },
    )
}

#[derive(Debug, Clone, Copy)]
struct MixedBackward {
    half: FloatDType,
    /// On wgpu, where the weight gradient is [`super::wgrad`]'s.
    gpu: bool,
}

impl<B: Backend> op::BackwardPass<B> for MixedBackward {
    fn gradients(
        self,
        s: op::Saved<FloatTensor<B>>,
        wanted: Wanted,
    ) -> [Option<FloatTensor<B>>; 3] {
        let peak = B::float_max_abs(s.grad.clone());
        let peak = B::float_clamp_min(peak, f32::MIN_POSITIVE.into());
        let half = |t: FloatTensor<B>| B::float_cast(t, self.half);
        let options = own_options(&s.g);
        // One gradient, from the output gradient scaled for `bound`'s sums.
        let scaled = |bound: &FloatTensor<B>,
                      gradient: &dyn Fn(FloatTensor<B>) -> FloatTensor<B>| {
            let scale = scale::<B>(peak.clone(), bound.clone());
            let result = gradient(half(B::float_mul(s.grad.clone(), scale.clone())));
            B::float_div(B::float_cast(result, FloatDType::F32), scale)
        };
        let (x_half, weight_half) = (half(s.x.clone()), half(s.weight.clone()));
        let dx =
            |grad| B::conv2d_x_backward(x_half.clone(), weight_half.clone(), grad, options.clone());
        let dw = |grad| {
            let (x, weight) = (x_half.clone(), weight_half.clone());
            super::wgrad::weight_gradient_or_burns::<B>(self.gpu, &s.g, x, weight, grad)
        };
        [
            wanted.x.then(|| scaled(&s.weight, &dx)),
            wanted.weight.then(|| scaled(&s.x, &dw)),
            wanted
                .bias
                .then(|| op::bias_gradient::<B>(s.grad.clone(), &s.g)),
        ]
    }
}

/// `LIMIT / (peak * max(1, max_c sum|t[:, c]|))` as a `[1, 1, 1, 1]` tensor, for `t` the
/// weights (`[filters, channels, kh, kw]`) or the input (`[batch, channels, h, w]`), whose
/// channel axis is 1 in both. The `max(1, ..)` keeps the scaled gradient itself under `LIMIT`.
fn scale<B: Backend>(peak: FloatTensor<B>, t: FloatTensor<B>) -> FloatTensor<B> {
    let sums = B::float_sum_dims(B::float_abs(t), &[0, 2, 3]);
    let bound = B::float_clamp_min(B::float_max(sums), 1.0f32.into());
    let scale = B::float_mul_scalar(B::float_recip(B::float_mul(peak, bound)), LIMIT.into());
    B::float_reshape(scale, Shape::new([1, 1, 1, 1]))
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use burn::backend::Flex;
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::{Conv2d, Conv2dConfig};
    use burn::tensor::{Device, Distribution};

    fn layer(stride: usize, device: &Device) -> Conv2d {
        Conv2dConfig::new([6, 8], [3, 3])
            .with_stride([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(device)
    }

    fn mixed(conv: &Conv2d, x: &Tensor<4>, half: FloatDType) -> Tensor<4> {
        let g = super::super::geometry(conv, x.dims()).unwrap();
        let bias = conv.bias.as_ref().unwrap().val();
        conv2d::<Flex>(&g, x, &conv.weight.val(), &bias, half, true).unwrap()
    }

    /// Largest |got - expected| relative to the largest |expected|.
    fn relative_error<const D: usize>(got: Tensor<D>, expected: Tensor<D>) -> f32 {
        let peak = expected.clone().abs().max().into_scalar::<f32>();
        (got - expected).abs().max().into_scalar::<f32>() / peak
    }

    /// The input, weight and bias gradients of `conv` (exact or mixed) for output gradient
    /// `upstream`.
    fn gradients(
        conv: &Conv2d,
        x: &Tensor<4>,
        upstream: &Tensor<4>,
        half: Option<FloatDType>,
    ) -> [Tensor<4>; 3] {
        let y = match half {
            Some(half) => mixed(conv, x, half),
            None => conv.forward(x.clone()),
        };
        let grads = (y * upstream.clone()).sum().backward();
        let bias = conv.bias.as_ref().unwrap().grad(&grads).unwrap();
        [
            x.grad(&grads).unwrap(),
            conv.weight.grad(&grads).unwrap(),
            bias.reshape([1, -1, 1, 1]),
        ]
    }

    #[test]
    fn values_match_burns_convolution_to_the_half_types_precision() {
        let device = Device::flex();
        for stride in [1, 2] {
            let conv = layer(stride, &device);
            let x = Tensor::<4>::random([2, 6, 9, 8], Distribution::Default, &device);
            let expected = conv.forward(x.clone());
            for (half, worst) in [(FloatDType::F16, 2e-3), (FloatDType::BF16, 1e-2)] {
                let got = mixed(&conv, &x, half);
                assert_eq!(got.dtype(), burn::tensor::DType::F32);
                let error = relative_error(got, expected.clone());
                assert!(
                    error > 0.0 && error < worst,
                    "stride {stride} {half:?}: {error}"
                );
            }
        }
    }

    /// Output gradients of 1e-9: in `f16` they would all be zero without the scaling, and
    /// 1e6 would overflow it. `f16` rounding alone leaves errors of 1e-3 to 4e-3 of the
    /// largest weight gradient, whose sums over pixels cancel.
    #[test]
    fn tiny_and_huge_gradients_survive_f16() {
        let device = Device::flex().autodiff();
        for stride in [1, 2] {
            let conv = layer(stride, &device);
            let x =
                Tensor::<4>::random([2, 6, 9, 8], Distribution::Default, &device).require_grad();
            let dims = conv.forward(x.clone()).dims();
            for size in [1e-9, 1.0, 1e6] {
                let upstream =
                    Tensor::<4>::random(dims, Distribution::Uniform(-size, size), &device);
                let expected = gradients(&conv, &x, &upstream, None);
                let got = gradients(&conv, &x, &upstream, Some(FloatDType::F16));
                for (i, (got, expected)) in got.into_iter().zip(expected).enumerate() {
                    let error = relative_error(got, expected);
                    assert!(
                        error < 1e-2,
                        "stride {stride}, size {size}, gradient {i}: {error}"
                    );
                }
            }
        }
    }
}
