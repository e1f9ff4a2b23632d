//! The fully connected layer generated networks call: burn's `Linear::forward`, except on wgpu
//! devices for a layer with a long input (the seed's fc1: 6400 inputs), which multiplies in
//! slices of its input and sums the partial products (split-K).
//!
//! Why: burn-cubecl's matmul gives each output tile to one cube, and that cube walks the whole
//! input length alone. For fc1 at batch 64 there are few tiles (64 x 256 outputs) and each is
//! 6400 long, so most of the GPU idles: cubecl's profile of a training step on an H200
//! (Vulkan, `f16` convolutions) put that one matmul at 5.7 ms of the step's 23.7 ms of kernel
//! time, for 0.2 GFLOP. Slices of 400 give 16 times as many cubes, each walking 400. The
//! gradients follow from burn's autodiff of the same tensor operations. On the CPU burn's
//! matmul already splits the work across threads, so the layer stays burn's there.

use burn::nn::Linear;
use burn::tensor::Tensor;

/// Inputs shorter than this are multiplied in one piece.
pub const LONG: usize = 2048;
/// The longest slice of a split input.
const SLICE: usize = 512;
/// The shortest slice: below it, splitting costs more in the final sum than it saves.
const SHORTEST: usize = 128;

/// `linear.forward(x)`, split into [`parts`] on wgpu devices (unless `CNN_KERNELS` gives it back to burn).
pub fn forward(linear: &Linear, x: Tensor<2>) -> Tensor<2> {
    #[cfg(feature = "wgpu")]
    if crate::nn::switch::own(crate::nn::switch::Rewrite::Dense)
        && crate::backend::on_wgpu(&x.device())
        && let Some(parts) = parts(linear.weight.dims()[0])
    {
        return split(linear, x, parts);
    }
    linear.forward(x)
}

/// How many slices an input of `len` values is multiplied in: the fewest that divide it into
/// slices of at most 512 and at least 128. `None` below [`LONG`], or when no count does.
pub fn parts(len: usize) -> Option<usize> {
    if len < LONG {
        return None;
    }
    (2..=len / SHORTEST).find(|parts| len.is_multiple_of(*parts) && len / parts <= SLICE)
}

/// `linear.forward(x)` as `parts` products of `len / parts` inputs each, summed.
///
/// # Panics
/// When `x`'s length is not the layer's input length or `parts` does not divide it.
pub fn split(linear: &Linear, x: Tensor<2>, parts: usize) -> Tensor<2> {
    let [batch, len] = x.dims();
    let weight = linear.weight.val();
    let [inputs, outputs] = weight.dims();
    assert!(
        len == inputs && len.is_multiple_of(parts),
        "dense::split: input length {len}, layer input {inputs}, {parts} parts"
    );
    let slices = x.reshape([batch, parts, len / parts]).swap_dims(0, 1);
    let weight = weight.reshape([parts, len / parts, outputs]);
    let y: Tensor<2> = slices.matmul(weight).sum_dim(0).reshape([batch, outputs]);
    match &linear.bias {
        Some(bias) => y + bias.val().unsqueeze(),
        None => y,
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use burn::nn::LinearConfig;
    use burn::tensor::{Device, Distribution, Tolerance};

    #[test]
    fn long_inputs_split_into_slices_of_128_to_512() {
        assert_eq!(parts(6400), Some(16), "the seed's fc1: slices of 400");
        assert_eq!(parts(3136), Some(7), "64 x 7 x 7: slices of 448");
        assert_eq!(parts(4096), Some(8));
        assert_eq!(parts(LONG - 1), None, "short inputs stay whole");
        assert_eq!(parts(2053), None, "a prime has no slices");
        assert_eq!(
            parts(2 * 1031),
            None,
            "slices of 1031 or 2 are both refused"
        );
    }

    fn assert_close(got: Tensor<2>, expected: Tensor<2>) {
        assert_eq!(got.dims(), expected.dims());
        got.into_data()
            .assert_approx_eq::<f32>(&expected.into_data(), Tolerance::absolute(1e-4));
    }

    #[test]
    fn split_matches_burns_linear_with_its_gradients() {
        let device = Device::flex().autodiff();
        for bias in [true, false] {
            let linear = LinearConfig::new(24, 5).with_bias(bias).init(&device);
            let x = Tensor::<2>::random([3, 24], Distribution::Default, &device).require_grad();
            let expected = linear.forward(x.clone());
            let got = split(&linear, x.clone(), 4);
            assert_close(got.clone(), expected.clone());
            let upstream = Tensor::<2>::random([3, 5], Distribution::Default, &device);
            let grads = |y: Tensor<2>| (y * upstream.clone()).sum().backward();
            let (got, expected) = (grads(got), grads(expected));
            assert_close(x.grad(&got).unwrap(), x.grad(&expected).unwrap());
            let w = &linear.weight;
            assert_close(w.grad(&got).unwrap(), w.grad(&expected).unwrap());
            if let Some(b) = &linear.bias {
                let (got, expected) = (b.grad(&got).unwrap(), b.grad(&expected).unwrap());
                assert_close(got.unsqueeze(), expected.unsqueeze());
            }
        }
    }
}
