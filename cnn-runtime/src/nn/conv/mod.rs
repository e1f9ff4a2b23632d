//! The convolution generated networks call: on the flex CPU backend, our own kernels for the
//! forward pass and both gradients ([`cnn_kernels::conv`]); on wgpu devices, stride-1 convolutions as
//! the input gradient of their turned convolution (module `turned`: burn's matmul-based
//! input gradient instead of its direct forward kernel); elsewhere, or for options these do
//! not cover (dilation, groups), burn's `Conv2d::forward`.
//!
//! Why our own on the CPU: burn-flex's weight gradient runs a GEMM only as wide as the kernel
//! has taps; ours keep every GEMM large (docs/performance.md has the figures).

#[cfg(any(test, feature = "flex", feature = "wgpu"))]
mod channels;
#[cfg(feature = "flex")]
mod flex;
#[cfg(any(test, feature = "flex", feature = "wgpu"))]
mod mixed;
#[cfg(any(test, feature = "flex", feature = "wgpu"))]
mod op;
#[cfg(any(test, feature = "flex", feature = "wgpu"))]
mod turned;
#[cfg(any(test, feature = "flex", feature = "wgpu"))]
mod wgrad;

use burn::nn::conv::Conv2d;
use burn::tensor::{DType, Tensor};

pub use cnn_kernels::conv::Geometry;

use crate::nn::precision::ConvPrecision;
use crate::nn::sliding::window;

/// `conv.forward(x)`, computed by the fastest path for `x`'s backend, in the precision set by
/// [`set_conv_precision`](crate::nn::precision::set_conv_precision) (`f32` unless changed). In
/// `f32` it gives the same values and gradients as burn's (checked in
/// `tests/generated_vs_handwritten.rs`).
pub fn forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    forward_in(conv, x, crate::nn::precision::conv_precision())
}

/// `conv.forward(x)` with its multiply-adds in `precision`. For a half type, an `f32` input
/// is cast to it with the weights and bias, the output is cast back to `f32`, and the
/// gradients are scaled so that the half type holds them (module `mixed`; see
/// [`crate::nn::precision`]). Inputs of other types keep theirs.
pub fn forward_in(conv: &Conv2d, x: Tensor<4>, precision: ConvPrecision) -> Tensor<4> {
    let half =
        (x.dtype() == DType::F32 && precision != ConvPrecision::F32).then(|| precision.dtype());
    #[cfg(any(feature = "flex", feature = "wgpu"))]
    if let (true, Some(g), Some(bias)) = (
        crate::nn::switch::own(crate::nn::switch::Rewrite::Conv),
        geometry(conv, x.dims()),
        &conv.bias,
    ) && let Some(y) = own(&g, &x, &conv.weight.val(), &bias.val(), half)
    {
        return y;
    }
    match half {
        Some(dtype) => cast_around(conv, x, dtype),
        None => conv.forward(x),
    }
}

/// burn's convolution in `dtype`, between casts (no gradient scaling): for convolutions our
/// code does not cover, and with `CNN_KERNELS=burn`.
fn cast_around(conv: &Conv2d, x: Tensor<4>, dtype: DType) -> Tensor<4> {
    let mut half = conv.clone();
    half.weight = half.weight.map(|w| w.cast(dtype));
    half.bias = half.bias.map(|b| b.map(|b| b.cast(dtype)));
    half.forward(x.cast(dtype)).cast(DType::F32)
}

/// Our convolution for the backend `x` lives on, in `x`'s type or multiplying in `half`: the
/// flex kernels, or on wgpu (Vulkan, Metal, DX12) stride-1 convolutions as [`turned`] ones
/// (not on CUDA, where burn has tensor-core forward convolutions and this was never
/// measured); mixed precision by [`mixed`] on both.
#[cfg(any(feature = "flex", feature = "wgpu"))]
fn own(
    g: &Geometry,
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: &Tensor<1>,
    half: Option<DType>,
) -> Option<Tensor<4>> {
    #[cfg(feature = "flex")]
    if let Some(y) = match half {
        None => flex::conv2d(g, x, weight, bias),
        Some(half) => mixed::conv2d::<burn::backend::Flex>(g, x, weight, bias, half.into(), None),
    } {
        return Some(y);
    }
    #[cfg(feature = "wgpu")]
    {
        use burn::backend::Cube;
        let gpu = crate::backend::buffer_limit(&x.device());
        match (half, gpu) {
            (None, Some(limit)) if x.dtype().is_float() => {
                turned::conv2d::<Cube>(g, x, weight, bias, limit)
            }
            (Some(half), gpu) => mixed::conv2d::<Cube>(g, x, weight, bias, half.into(), gpu),
            (None, _) => None,
        }
    }
    #[cfg(not(feature = "wgpu"))]
    None
}

/// The sizes of `conv` applied to an input of shape `dims`, when the kernels support it:
/// explicit or valid padding, no dilation, no groups.
pub fn geometry(conv: &Conv2d, dims: [usize; 4]) -> Option<Geometry> {
    let [batch, channels, height, width] = dims;
    let [filters, per_group, kh, kw] = conv.weight.dims();
    if conv.dilation != [1, 1] || conv.groups != 1 || per_group != channels {
        return None;
    }
    let (pad, out) = window(&conv.padding, [height, width], [kh, kw], conv.stride)?;
    Some(Geometry {
        batch,
        channels,
        height,
        width,
        filters,
        kernel: [kh, kw],
        stride: conv.stride,
        pad,
        out,
    })
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use burn::nn::PaddingConfig2d;
    use burn::nn::conv::Conv2dConfig;
    use burn::tensor::{Device, Distribution, Tolerance};

    fn layer(device: &Device) -> Conv2d {
        Conv2dConfig::new([8, 16], [3, 3])
            .with_padding(PaddingConfig2d::Explicit(1, 1, 1, 1))
            .init(device)
    }

    /// Largest |a - b|.
    fn max_diff<const D: usize>(a: Tensor<D>, b: Tensor<D>) -> f32 {
        (a - b).abs().max().into_scalar::<f32>()
    }

    #[test]
    fn half_precisions_round_like_their_type_and_return_f32() {
        let device = Device::flex();
        let conv = layer(&device);
        let x = Tensor::<4>::random([2, 8, 9, 7], Distribution::Default, &device);
        let exact = forward_in(&conv, x.clone(), ConvPrecision::F32);
        // Outputs up to about 1: bf16 keeps 8 significant bits, f16 11.
        for (precision, lowest, highest) in [
            (ConvPrecision::Bf16, 1e-4, 1e-2),
            (ConvPrecision::F16, 2e-5, 2e-3),
        ] {
            let y = forward_in(&conv, x.clone(), precision);
            assert_eq!(y.dtype(), DType::F32, "{precision}");
            let diff = max_diff(y, exact.clone());
            assert!(lowest < diff && diff < highest, "{precision}: {diff}");
        }
    }

    #[test]
    fn half_precision_gradients_reach_the_f32_parameters() {
        let device = Device::flex().autodiff();
        let conv = layer(&device);
        let x = Tensor::<4>::random([2, 8, 9, 7], Distribution::Default, &device).require_grad();
        let upstream = Tensor::<4>::random([2, 16, 9, 7], Distribution::Default, &device);
        let grads_in = |p| {
            (forward_in(&conv, x.clone(), p) * upstream.clone())
                .sum()
                .backward()
        };
        let (exact, half) = (grads_in(ConvPrecision::F32), grads_in(ConvPrecision::Bf16));
        let bias = conv.bias.as_ref().unwrap();
        let pairs = [
            (x.grad(&half).unwrap(), x.grad(&exact).unwrap(), 0.02),
            (
                conv.weight.grad(&half).unwrap(),
                conv.weight.grad(&exact).unwrap(),
                0.4,
            ),
        ];
        for (i, (got, expected, tolerance)) in pairs.into_iter().enumerate() {
            assert_eq!(got.dtype(), DType::F32);
            assert!(
                max_diff(got.clone(), expected.clone()) > 0.0,
                "gradient {i} exact"
            );
            got.into_data()
                .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::absolute(tolerance));
        }
        let (got, expected) = (bias.grad(&half).unwrap(), bias.grad(&exact).unwrap());
        assert_eq!(got.dtype(), DType::F32);
        got.into_data()
            .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::absolute(0.5));
    }

    #[test]
    fn other_element_types_keep_theirs() {
        let device = Device::flex();
        let conv = layer(&device);
        let x = Tensor::<4>::random([1, 8, 5, 5], Distribution::Default, &device).cast(DType::F64);
        let mut wide = conv.clone();
        wide.weight = wide.weight.map(|w| w.cast(DType::F64));
        wide.bias = wide.bias.map(|b| b.map(|b| b.cast(DType::F64)));
        let y = forward_in(&wide, x, ConvPrecision::Bf16);
        assert_eq!(y.dtype(), DType::F64);
    }
}
