//! The max pooling generated networks call: on the flex CPU backend our own kernels
//! ([`cnn_kernels::pool`], faster than burn-flex's: docs/performance.md); elsewhere burn's pooling, with TF SAME's
//! uneven padding given to it in a form it pools without copying the input ([`symmetric`]).

#[cfg(feature = "flex")]
mod flex;

use burn::nn::PaddingConfig2d;
use burn::nn::pool::MaxPool2d;
use burn::tensor::Tensor;
use burn::tensor::module::max_pool2d;
use burn::tensor::ops::MaxPoolOptions;

pub use cnn_kernels::pool::Geometry;

use crate::nn::sliding::window;

/// `pool.forward(x)`, computed by the fastest path for `x`'s backend, with the same values and
/// gradients.
pub fn max_forward(pool: &MaxPool2d, x: Tensor<4>) -> Tensor<4> {
    if !crate::nn::switch::own(crate::nn::switch::Rewrite::Pool) {
        return pool.forward(x);
    }
    #[cfg(feature = "flex")]
    if let Some(g) = geometry(pool, x.dims())
        && let Some(y) = flex::max_pool2d(&g, &x)
    {
        return y;
    }
    match symmetric(pool, x.dims()) {
        Some(options) => max_pool2d(x, options),
        None => pool.forward(x),
    }
}

/// Options that pool the same windows as `pool` with padding that is equal on both sides of
/// each dimension, when `pool` pads more at the end than at the start (TF SAME with an odd
/// total, such as the seed's 5x5 stride-3 pool at 14: 1 before, 2 after).
///
/// burn pools such uneven padding by first copying the whole input into a `-inf`-padded tensor;
/// on the GPU that took 48 ms of pool2's forward at batch 256 (H200, Vulkan). Max pooling
/// ignores padding, so padding only the start and letting the last window run past the end
/// (`ceil_mode`) gives the same windows wherever it gives the same output size, which is
/// checked here.
pub fn symmetric(pool: &MaxPool2d, dims: [usize; 4]) -> Option<MaxPoolOptions<2>> {
    let PaddingConfig2d::Explicit(top, left, bottom, right) = pool.padding else {
        return None;
    };
    let [_, _, height, width] = dims;
    let uneven = (top, left) != (bottom, right);
    if !uneven || bottom < top || right < left || pool.dilation != [1, 1] || pool.ceil_mode {
        return None;
    }
    let (kernel, stride) = (pool.kernel_size, pool.stride);
    let (begin, out) = window(&pool.padding, [height, width], kernel, stride)?;
    let same_size = (0..2).all(|i| {
        let ceil_out = ceil_mode_out([height, width][i], begin[i], kernel[i], stride[i]);
        begin[i] <= kernel[i] / 2 && ceil_out == Some(out[i])
    });
    same_size.then(|| {
        MaxPoolOptions::new(kernel)
            .with_stride(stride)
            .with_padding(begin)
            .with_ceil_mode(true)
    })
}

/// The output size of a ceil-mode pooling with `pad` on both sides, as burn (and PyTorch)
/// compute it: a last window that would start in the end padding is dropped.
fn ceil_mode_out(size: usize, pad: usize, kernel: usize, stride: usize) -> Option<usize> {
    let span = (size + 2 * pad).checked_sub(kernel)?;
    let out = span.div_ceil(stride) + 1;
    Some(if out > 1 && (out - 1) * stride >= size + pad {
        out - 1
    } else {
        out
    })
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

#[cfg(test)]
mod tests {
    use super::*;
    use burn::nn::pool::MaxPool2dConfig;
    use burn::tensor::{Device, Distribution};

    fn pool(kernel: usize, stride: usize, pads: [usize; 4]) -> MaxPool2d {
        let [top, left, bottom, right] = pads;
        MaxPool2dConfig::new([kernel, kernel])
            .with_strides([stride, stride])
            .with_padding(PaddingConfig2d::Explicit(top, left, bottom, right))
            .init()
    }

    #[test]
    fn symmetric_form_pools_the_same_windows_as_tf_same() {
        let device = Device::default().autodiff();
        // TF SAME pads (total / 2, total - total / 2); every case here has an odd total.
        for (size, kernel, stride) in [
            (14usize, 5, 3),
            (28, 2, 2),
            (7, 2, 2),
            (10, 4, 3),
            (9, 3, 2),
        ] {
            let out = size.div_ceil(stride);
            let total = (out - 1) * stride + kernel - size;
            let (before, after) = (total / 2, total - total / 2);
            let uneven = pool(kernel, stride, [before, before, after, after]);
            let dims = [2, 3, size, size];
            let x = Tensor::<4>::random(dims, Distribution::Default, &device).require_grad();
            let expected = uneven.forward(x.clone());
            match symmetric(&uneven, dims) {
                Some(options) => {
                    let got = max_pool2d(x.clone(), options);
                    assert_eq!(got.dims(), expected.dims(), "{size} k{kernel} s{stride}");
                    got.clone()
                        .into_data()
                        .assert_eq(&expected.clone().into_data(), true);
                    let weights = Tensor::random(got.dims(), Distribution::Default, &device);
                    let grad = |y: Tensor<4>| x.grad(&(y * weights.clone()).sum().backward());
                    let (got, expected) = (grad(got).unwrap(), grad(expected).unwrap());
                    got.into_data().assert_eq(&expected.into_data(), true);
                }
                None => assert_eq!(before, after, "{size} k{kernel} s{stride}: not rewritten"),
            }
        }
    }

    #[test]
    fn even_or_front_heavy_padding_is_left_to_burn() {
        let dims = [1, 1, 14, 14];
        assert!(symmetric(&pool(3, 1, [1, 1, 1, 1]), dims).is_none());
        assert!(symmetric(&pool(5, 3, [2, 2, 1, 1]), dims).is_none());
        assert!(symmetric(&pool(5, 3, [1, 1, 2, 2]), dims).is_some());
    }
}
