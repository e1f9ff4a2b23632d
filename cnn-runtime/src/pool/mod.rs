//! The max pooling generated networks call: on the flex CPU backend our own kernels
//! ([`kernels`]; burn-flex 0.22 took 21 ms for the seed network's first 2x2 pool at batch 64,
//! these take under 2 ms); elsewhere burn's `MaxPool2d::forward`.

pub mod kernels;

#[cfg(feature = "flex")]
mod flex;

use burn::nn::PaddingConfig2d;
use burn::nn::pool::MaxPool2d;
use burn::tensor::Tensor;

pub use kernels::Geometry;

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
/// explicit or valid padding, no dilation, no ceil mode.
pub fn geometry(pool: &MaxPool2d, dims: [usize; 4]) -> Option<Geometry> {
    let [batch, channels, height, width] = dims;
    let (top, left, bottom, right) = match pool.padding {
        PaddingConfig2d::Explicit(top, left, bottom, right) => (top, left, bottom, right),
        PaddingConfig2d::Valid => (0, 0, 0, 0),
        _ => return None,
    };
    if pool.dilation != [1, 1]
        || pool.ceil_mode
        || top >= pool.kernel_size[0]
        || left >= pool.kernel_size[1]
    {
        return None;
    }
    let [kh, kw] = pool.kernel_size;
    let [sh, sw] = pool.stride;
    let out = |size: usize, pads: usize, k: usize, s: usize| {
        (size + pads).checked_sub(k).map(|span| span / s + 1)
    };
    Some(Geometry {
        planes: batch * channels,
        height,
        width,
        kernel: [kh, kw],
        stride: [sh, sw],
        pad: [top, left],
        out: [
            out(height, top + bottom, kh, sh)?,
            out(width, left + right, kw, sw)?,
        ],
    })
}
