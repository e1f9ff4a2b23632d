//! The convolution generated networks call: on the flex CPU backend, our own kernels for the
//! forward pass and both gradients ([`kernels`]); on wgpu devices, stride-1 convolutions as
//! the input gradient of their turned convolution (module `turned`: burn's matmul-based
//! input gradient instead of its direct forward kernel); elsewhere, or for options these do
//! not cover (dilation, groups), burn's `Conv2d::forward`.
//!
//! Measured on the seed network (batch 64, 2 cores, `cargo run --release --example
//! layer_times`): burn-flex's weight gradient runs a GEMM only as wide as the kernel has taps;
//! these kernels keep every GEMM large, and copy the input fewer times than im2col does for
//! the large feature maps and kernels (see [`kernels`]).

pub mod kernels;
mod rows;

#[cfg(feature = "flex")]
mod flex;
#[cfg(any(test, feature = "flex", feature = "wgpu"))]
mod op;
#[cfg(any(test, feature = "wgpu"))]
mod turned;

use burn::nn::conv::Conv2d;
use burn::tensor::Tensor;

pub use kernels::Geometry;

use crate::sliding::window;

/// `conv.forward(x)`, computed by the fastest path for `x`'s backend. Gives the same values
/// and gradients as burn's (checked in `tests/generated_vs_handwritten.rs`).
pub fn forward(conv: &Conv2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(any(feature = "flex", feature = "wgpu"))]
    if let (true, Some(g), Some(bias)) = (
        crate::switch::own_kernels(),
        geometry(conv, x.dims()),
        &conv.bias,
    ) && let Some(y) = own(&g, &x, &conv.weight.val(), &bias.val())
    {
        return y;
    }
    conv.forward(x)
}

/// Our convolution for the backend `x` lives on: the flex kernels, or on wgpu (Vulkan, Metal,
/// DX12) stride-1 convolutions as [`turned`] ones (not on CUDA, where burn has tensor-core
/// forward convolutions and this was never measured).
#[cfg(any(feature = "flex", feature = "wgpu"))]
fn own(g: &Geometry, x: &Tensor<4>, weight: &Tensor<4>, bias: &Tensor<1>) -> Option<Tensor<4>> {
    #[cfg(feature = "flex")]
    if let Some(y) = flex::conv2d(g, x, weight, bias) {
        return Some(y);
    }
    #[cfg(feature = "wgpu")]
    if on_wgpu(x.device().as_dispatch()) && x.dtype().is_float() {
        return turned::conv2d::<burn::backend::Cube>(g, x, weight, bias);
    }
    None
}

/// Whether `device` is a wgpu device, with or without autodiff.
#[cfg(feature = "wgpu")]
fn on_wgpu(device: &burn::backend::DispatchDevice) -> bool {
    use burn::backend::{CubeDevice, DispatchDevice};
    match device {
        DispatchDevice::Cube(CubeDevice::Wgpu(_)) => true,
        DispatchDevice::Autodiff(inner) => on_wgpu(inner),
        #[allow(unreachable_patterns)]
        _ => false,
    }
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
