//! A convolution whose multiply-adds run in a half type (`f16`, `bf16`) while its input,
//! weights, output and gradients stay `f32` (see [`crate::nn::precision`]).
//!
//! `f16` tops out at 65504 and loses precision under 6e-5, and gradients are often smaller
//! than that. So the backward pass scales the output gradient up before casting it to the
//! half type, as PyTorch's loss scaling does, and scales each result back down in `f32`. The
//! scale comes from bounds that hold for every element, not from a guess corrected after
//! overflows: each input gradient sums products of the output gradient with one input
//! channel's weights, so `|dx| <= max|g| * max_c sum|w[:, c]|`, and each weight gradient sums
//! products with one input channel's pixels, so `|dw| <= max|g| * max_c sum|x[:, c]|`. Dividing
//! `g` by `max|g| * (1 + bound) / LIMIT` therefore keeps both results under `LIMIT`, with the
//! gradient within a factor of two of as large as that allows. All of it stays on the device:
//! no step waits to read a scale back.
//!
//! On wgpu, where a batch-64 step is paced by the host's launches, the scaling is written in
//! few kernels: `abs` and two or three reductions per bound and two for `max|g|`, over axes
//! of a channels-last view ([`super::channels`]), and the scaling folded into one elementwise
//! kernel before the matmuls and one after each. Through Mesa's software GPU, the seed
//! network's step with this backward pass (in `f32`, which Mesa has) launched 192 kernels,
//! against 282 with the scaling written as per-channel sums over three axes and
//! `clamp`s. The backward pass also reuses the input and weights the forward pass cast to the
//! half type, and the bias is added after the cast back to `f32`: three casts fewer per
//! convolution.

use burn::backend::Backend;
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::strategy::{BalancedCheckpointing, NoCheckpointing};
use burn::backend::tensor::FloatTensor;
use burn::backend::{DispatchKindConversion, DispatchTensor, FloatDType};
use burn::tensor::Tensor;

use super::channels::{self, Rows};
use super::turned::{self, own_options};
use super::{Geometry, op};
use cnn_kernels::conv::Wanted;

/// The largest gradient element the scaled backward pass lets a half type hold (`f16`'s
/// largest finite value is 65504).
const LIMIT: f32 = 32768.0;

/// The convolution on backend `B`'s `f32` tensors, multiplying in `half`. On wgpu, `gpu` is
/// the most bytes one buffer holds there: stride-1 forward passes then run as input gradients
/// ([`turned`]) and weight gradients as [`super::wgrad`]'s. `None` when the tensors live on
/// another backend.
pub fn conv2d<B>(
    g: &Geometry,
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: &Tensor<1>,
    half: FloatDType,
    gpu: Option<u64>,
) -> Option<Tensor<4>>
where
    B: Backend,
    DispatchTensor: DispatchKindConversion<B>
        + DispatchKindConversion<Autodiff<B, NoCheckpointing>>
        + DispatchKindConversion<Autodiff<B, BalancedCheckpointing>>,
{
    // The bias is added in `f32`, after the cast back, in the same elementwise kernel. It is
    // reshaped before the convolution: reshaped after it, burn-fusion's segment had used up
    // its blocks on the casts and the convolution, and four of a step's casts back ran as
    // kernels of their own (203 kernels a step against 199, `f16` at batch 4 through
    // lavapipe). The backward pass reuses the input and weights cast here.
    let forward = |x: &FloatTensor<B>, weight: &FloatTensor<B>, bias: &FloatTensor<B>| {
        let [x, weight] = [x, weight].map(|t| B::float_cast(t.clone(), half));
        let bias = turned::bias_column::<B>(g, bias.clone());
        let (xk, wk) = (x.clone(), weight.clone());
        let y = match turned::turned_options(g).filter(|_| gpu.is_some()) {
            Some(options) => turned::unbiased::<B>(g, &options, x, weight),
            None => B::conv2d(x, weight, None, own_options(g)),
        };
        let y = B::float_add(B::float_cast(y, FloatDType::F32), bias);
        (y, Some([xk, wk]))
    };
    op::conv2d::<B, _>(g, x, weight, bias, forward, MixedBackward { half, gpu })
}

#[derive(Debug, Clone, Copy)]
struct MixedBackward {
    half: FloatDType,
    /// On wgpu, the most bytes one buffer holds ([`super::wgrad`]'s weight gradient).
    gpu: Option<u64>,
}

impl<B: Backend> op::BackwardPass<B> for MixedBackward {
    fn gradients(
        self,
        s: op::Saved<FloatTensor<B>>,
        wanted: Wanted,
    ) -> [Option<FloatTensor<B>>; 3] {
        // Each tensor is moved into its last use rather than cloned and dropped: burn-fusion
        // records every drop of a tensor no operation consumed as an operation of its own.
        let op::Saved {
            grad,
            x,
            weight,
            g,
            kept,
        } = s;
        let [x_half, weight_half] =
            kept.unwrap_or_else(|| [&x, &weight].map(|t| B::float_cast(t.clone(), self.half)));
        // The reductions and, on wgpu, both gradients read the output gradient channels-last.
        let (rows, grad) = match self.gpu {
            Some(_) => {
                let rows = Rows::of(grad);
                let grad = rows.nchw();
                (rows, grad)
            }
            None => (Rows::of(grad.clone()), grad),
        };
        let mut scaling = Scaling::<B>::new(rows.clone(), [weight, x], wanted);
        let [dx_in, dw_in] = scaling.inputs(grad, self.half);
        let options = own_options(&g);
        let dx = dx_in.map(|grad| {
            let dx = B::conv2d_x_backward(x_half.clone(), weight_half.clone(), grad, options);
            scaling.back(0, dx)
        });
        let dw = dw_in.map(|grad| {
            let grad = Rows::of(grad);
            let dw = super::wgrad::weight_gradient_or_burns::<B>(
                self.gpu,
                &g,
                x_half,
                weight_half,
                grad,
            );
            scaling.back(1, dw)
        });
        let bias = wanted.bias.then(|| channels::bias_gradient::<B>(rows));
        [dx, dw, bias]
    }
}

/// The reductions the output gradient's scaling comes from: `max|g|`, and the bound of the
/// input gradient (over the weights) and of the weight gradient (over the input) where wanted.
///
/// The order of the operations matters on wgpu: fusion merges a run of elementwise operations
/// into one kernel when every reduction they read was queued before the run began, and the
/// run ends at an operation that is not elementwise. So [`Scaling::new`] queues the
/// reductions, [`Scaling::inputs`] scales the output gradient for both gradients (one run on
/// one shape), and [`Scaling::back`] scales each result back right after its matmuls.
struct Scaling<B: Backend> {
    /// `None` once the last wanted gradient has been scaled back.
    peak: Option<FloatTensor<B>>,
    /// `None` for a gradient not wanted, or already scaled back.
    bounds: [Option<FloatTensor<B>>; 2],
}

impl<B: Backend> Scaling<B> {
    /// From the output gradient's rows, and the weights and input (`[weight, x]`), whose
    /// bounds the input and weight gradients take.
    fn new(grad: Rows<B>, [weight, x]: [FloatTensor<B>; 2], wanted: Wanted) -> Self {
        let peak = Some(channels::max_abs::<B>(grad));
        let bounds = [(wanted.x, weight), (wanted.weight, x)]
            .map(|(wanted, t)| wanted.then(|| channel_bound::<B>(t)));
        Scaling { peak, bounds }
    }

    /// The unit gradient `i` (0: input, 1: weights) is scaled by. Recomputed at each use:
    /// fusion folds it into the elementwise kernel, where one shared `[1, 1, 1, 1]` tensor
    /// would take kernels of its own.
    fn unit(&self, i: usize) -> FloatTensor<B> {
        let bound = self.bounds[i]
            .clone()
            .expect("a bound for each wanted gradient");
        unit::<B>(
            self.peak.clone().expect("the peak until the last use"),
            bound,
        )
    }

    /// The output gradient divided by each wanted gradient's unit, in `half`.
    fn inputs(&self, grad: FloatTensor<B>, half: FloatDType) -> [Option<FloatTensor<B>>; 2] {
        let scaled = |i, grad| B::float_cast(B::float_div(grad, self.unit(i)), half);
        match [0, 1].map(|i| self.bounds[i].is_some()) {
            [true, true] => [Some(scaled(0, grad.clone())), Some(scaled(1, grad))],
            [true, false] => [Some(scaled(0, grad)), None],
            [false, true] => [None, Some(scaled(1, grad))],
            [false, false] => [None, None],
        }
    }

    /// Gradient `i`, computed from the scaled output gradient, back in `f32` and scale. The
    /// last use of bound `i`, and of the peak once no bound is left.
    fn back(&mut self, i: usize, result: FloatTensor<B>) -> FloatTensor<B> {
        let result = B::float_cast(result, FloatDType::F32);
        let bound = self.bounds[i]
            .take()
            .expect("a bound for each wanted gradient");
        let peak = if self.bounds.iter().all(Option::is_none) {
            self.peak.take()
        } else {
            self.peak.clone()
        };
        let unit = unit::<B>(peak.expect("the peak until the last use"), bound);
        B::float_mul(result, unit)
    }
}

/// Added to `max|g|`, so that an all-zero output gradient (a layer feeding only dead ReLUs)
/// divides by a positive number; negligible beside any gradient that is not.
const TINY: f32 = 1e-30;

/// `max_c sum|t[:, c]|` as a `[1, 1, 1, 1]` tensor, for `t` the weights (`[filters,
/// channels, kh, kw]`) or the input (`[batch, channels, h, w]`), whose channel axis is 1 in
/// both: each input gradient sums over one channel of the weights, each weight gradient over
/// one channel of the input.
fn channel_bound<B: Backend>(t: FloatTensor<B>) -> FloatTensor<B> {
    B::float_max_dim(channels::abs_sum::<B>(t), 3)
}

/// `(peak + TINY) * (1 + bound) / LIMIT`: the output gradient divided by it keeps a gradient
/// summing over `bound`'s channels under `LIMIT`, the `1 +` keeps the divided gradient itself
/// under it, and `TINY` keeps an all-zero gradient from dividing by zero.
fn unit<B: Backend>(peak: FloatTensor<B>, bound: FloatTensor<B>) -> FloatTensor<B> {
    let peak = B::float_add_scalar(peak, TINY.into());
    let bound = B::float_add_scalar(bound, 1.0f32.into());
    B::float_mul_scalar(B::float_mul(peak, bound), LIMIT.recip().into())
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
        conv2d::<Flex>(&g, x, &conv.weight.val(), &bias, half, Some(u64::MAX)).unwrap()
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

    /// A layer whose outputs all feed dead ReLUs gets an output gradient of exact zeros: its
    /// gradients are zeros too, not the NaN of `0 * inf` from an unbounded scale.
    #[test]
    fn an_all_zero_output_gradient_gives_zero_gradients() {
        let device = Device::flex().autodiff();
        let conv = layer(1, &device);
        let x = Tensor::<4>::random([2, 6, 9, 8], Distribution::Default, &device).require_grad();
        let upstream = Tensor::<4>::zeros(conv.forward(x.clone()).dims(), &device);
        for (i, got) in gradients(&conv, &x, &upstream, Some(FloatDType::F16))
            .into_iter()
            .enumerate()
        {
            let largest = got.abs().max().into_scalar::<f32>();
            assert_eq!(largest, 0.0, "gradient {i}");
        }
    }
}
