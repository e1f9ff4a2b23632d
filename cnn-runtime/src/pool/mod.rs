//! The max pooling generated networks call: on the flex CPU backend our own kernels
//! ([`kernels`]; for the seed network's pools at batch 64, forward and backward, 30 ms
//! against burn-flex's 51, `examples/layer_times.rs`); elsewhere burn's `MaxPool2d::forward`.

pub mod kernels;

#[cfg(feature = "flex")]
mod flex;

use burn::nn::pool::MaxPool2d;
use burn::tensor::Tensor;

pub use kernels::Geometry;

use crate::sliding::window;

/// `pool.forward(x)`, computed by the fastest path for `x`'s backend, with the same values and
/// gradients.
pub fn max_forward(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    #[cfg(feature = "flex")]
    if let (true, Some(g)) = (crate::switch::own_kernels(), geometry(pool, x.dims()))
        && let Some(y) = flex::max_pool2d(&g, &x)
    {
        return y;
    }
    pool.forward(x)
}

/// The sizes of `pool` applied to an input of shape `dims`, when the kernels support it:
/// explicit or valid padding smaller than the kernel, no dilation, no ceil mode.
pub fn geometry(pool: &MaxPool2d, dims: [usize; 4]) -> Option<Geometry> {
    let [batch, channels, height, width] = dims;
    if pool.dilation != [1, 1] || pool.ceil_mode {
        return None;
    }
    let kernel = pool.kernel_size;
    let (pad, out) = window(&pool.padding, [height, width], kernel, pool.stride)?;
    if pad[0] >= kernel[0] || pad[1] >= kernel[1] {
        return None;
    }
    Some(Geometry {
        planes: batch * channels,
        height,
        width,
        kernel,
        stride: pool.stride,
        pad,
        out,
    })
}
