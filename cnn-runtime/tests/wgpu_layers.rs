//! The layers that the GPU path rewrites, against burn's own on a wgpu device: values and the
//! input, weight and bias gradients. `cnn_runtime::nn::conv::forward` over kernel shapes and
//! paddings it rewrites (TF SAME's uneven padding included; its weight gradient gathered in
//! one copy) and one it leaves to burn (strided); `cnn_runtime::nn::dense::forward` for the seed's
//! fc1, whose long input it splits; `cnn_runtime::nn::dropout::forward`, which runs burn's dropout
//! on the channels-last view of image batches; `cnn_runtime::nn::loss::cross_entropy`, one
//! operation with its own backward pass. One test takes a batch whose weight gradient
//! does not fit one buffer of Mesa's software GPU, which it then computes in pieces.
//!
//! Needs a GPU, or Mesa's software one (`llvmpipe`; a few minutes there, most of them
//! autotuning), so it is ignored by default and CI, which builds for the CPU only, skips it:
//!
//! `cargo test --release -p cnn-runtime --no-default-features --features wgpu --test wgpu_layers -- --ignored`
//!
//! A second test does the same in mixed precision (`f16`) where the device has it.
#![cfg(feature = "wgpu")]

use burn::nn::conv::{Conv2d, Conv2dConfig};
use burn::nn::loss::CrossEntropyLossConfig;
use burn::nn::{DropoutConfig, LinearConfig, PaddingConfig2d};
use burn::tensor::{Device, DeviceKind, Distribution, Int, Tensor, TensorData, Tolerance};
use cnn_runtime::nn::{conv, dense, dropout, loss};
use cnn_runtime::precision::ConvPrecision;

/// Kernel, stride and padding (top, left, bottom, right) on a 7x6 input.
const CASES: [([usize; 2], [usize; 2], [usize; 4]); 5] = [
    ([3, 3], [1, 1], [1, 1, 1, 1]),
    ([5, 5], [1, 1], [2, 2, 2, 2]),
    ([2, 2], [1, 1], [0, 0, 1, 1]),
    ([4, 2], [1, 1], [1, 0, 2, 1]),
    ([3, 3], [2, 2], [1, 1, 1, 1]),
];

fn assert_close<const D: usize>(got: Tensor<D>, expected: Tensor<D>, tolerance: Tolerance<f32>) {
    assert_eq!(got.dims(), expected.dims());
    got.into_data()
        .assert_approx_eq::<f32>(&expected.into_data(), tolerance);
}

/// `conv::forward_in(.., precision)` against burn's `f32` convolution, over [`CASES`].
fn compare(device: &Device, precision: ConvPrecision, tolerance: Tolerance<f32>) {
    for (kernel, stride, [top, left, bottom, right]) in CASES {
        let layer: Conv2d = Conv2dConfig::new([3, 4], kernel)
            .with_stride(stride)
            .with_padding(PaddingConfig2d::Explicit(top, left, bottom, right))
            .init(device);
        compare_layer(&layer, [2, 3, 7, 6], precision, tolerance);
    }
}

/// `conv::forward_in(&layer, x, precision)` against `layer.forward(x)` for a random `x` of
/// shape `dims`: values, and the input and weight gradients; the bias gradient against the
/// upstream gradient summed on the host, since burn's own is wrong for the large batch below
/// through Mesa (zero for two of its four channels).
fn compare_layer(
    layer: &Conv2d,
    dims: [usize; 4],
    precision: ConvPrecision,
    tolerance: Tolerance<f32>,
) {
    let device = &layer.weight.device();
    let x = Tensor::<4>::random(dims, Distribution::Default, device).require_grad();
    let expected = layer.forward(x.clone());
    let got = conv::forward_in(layer, x.clone(), precision);
    assert_close(got.clone(), expected.clone(), tolerance);
    let upstream = Tensor::random(got.dims(), Distribution::Default, device);
    let grads = |y: Tensor<4>| (y * upstream.clone()).sum().backward();
    let (got, expected) = (grads(got), grads(expected));
    assert_close(x.grad(&got).unwrap(), x.grad(&expected).unwrap(), tolerance);
    let w = &layer.weight;
    assert_close(w.grad(&got).unwrap(), w.grad(&expected).unwrap(), tolerance);
    let b = layer.bias.as_ref().unwrap();
    assert_close(b.grad(&got).unwrap(), channel_sums(upstream), tolerance);
}

/// Each channel's sum of `t` (`[n, c, h, w]`), added up on the host in `f64`.
fn channel_sums(t: Tensor<4>) -> Tensor<1> {
    let [_, c, h, w] = t.dims();
    let device = t.device();
    let values = t.into_data().try_to_vec::<f32>().unwrap();
    let mut sums = vec![0f64; c];
    for (i, v) in values.iter().enumerate() {
        sums[(i / (h * w)) % c] += *v as f64;
    }
    let sums: Vec<f32> = sums.into_iter().map(|s| s as f32).collect();
    Tensor::from_data(TensorData::new(sums, [c]), &device)
}

/// A batch whose weight-gradient columns (48 x 64 x 64 pixels x 5 x 5 x 8 channels, 157 MB in
/// `f32`) exceed Mesa's largest buffer (128 MiB), so that there it is taken in two pieces;
/// a device whose buffers hold it computes it whole.
#[test]
#[ignore = "needs a wgpu device; minutes on a software one"]
fn gpu_weight_gradient_of_a_large_batch_matches_burns() {
    let device = Device::wgpu(DeviceKind::DefaultDevice).autodiff();
    let limit = cnn_runtime::backend::buffer_limit(&device).expect("a wgpu device");
    eprintln!(
        "largest buffer: {} MiB (the columns take 150 MiB)",
        limit >> 20
    );
    let layer: Conv2d = Conv2dConfig::new([8, 4], [5, 5])
        .with_padding(PaddingConfig2d::Explicit(2, 2, 2, 2))
        .init(&device);
    compare_layer(
        &layer,
        [48, 8, 64, 64],
        ConvPrecision::F32,
        Tolerance::rel_abs(1e-4, 1e-3),
    );
}

#[test]
#[ignore = "needs a wgpu device; minutes on a software one"]
fn gpu_convolutions_match_burns() {
    let device = Device::wgpu(DeviceKind::DefaultDevice).autodiff();
    compare(&device, ConvPrecision::F32, Tolerance::absolute(1e-4));
}

/// Mixed precision on devices with `f16` (not Mesa's software GPU, which says so and passes).
#[test]
#[ignore = "needs a wgpu device with f16"]
fn gpu_f16_convolutions_match_burns_f32() {
    let device = Device::wgpu(DeviceKind::DefaultDevice).autodiff();
    if let Err(e) = ConvPrecision::F16.check(&device) {
        eprintln!("skipped: {e}");
        return;
    }
    // f16 keeps 11 significant bits; gradients here reach about 40.
    compare(&device, ConvPrecision::F16, Tolerance::rel_abs(1e-2, 1e-2));
}

/// The seed's fc1 (6400 inputs, split in 16) at batch 3.
#[test]
#[ignore = "needs a wgpu device"]
fn gpu_split_dense_layer_matches_burns() {
    let device = Device::wgpu(DeviceKind::DefaultDevice).autodiff();
    let layer = LinearConfig::new(6400, 256).init(&device);
    assert_eq!(dense::parts(6400), Some(16));
    let x = Tensor::<2>::random([3, 6400], Distribution::Default, &device).require_grad();
    let expected = layer.forward(x.clone());
    let got = dense::forward(&layer, x.clone());
    // Sums of 6400 products of values up to 1 with weights up to 0.03.
    let tolerance = Tolerance::absolute(1e-4);
    assert_close(got.clone(), expected.clone(), tolerance);
    let upstream = Tensor::random(got.dims(), Distribution::Default, &device);
    let grads = |y: Tensor<2>| (y * upstream.clone()).sum().backward();
    let (got, expected) = (grads(got), grads(expected));
    assert_close(x.grad(&got).unwrap(), x.grad(&expected).unwrap(), tolerance);
    let w = &layer.weight;
    assert_close(w.grad(&got).unwrap(), w.grad(&expected).unwrap(), tolerance);
}

/// `loss::cross_entropy`, one operation, against burn's `CrossEntropyLoss`: the loss and the
/// logits' gradient, through a scale so that the backward pass's product is exercised.
#[test]
#[ignore = "needs a wgpu device"]
fn gpu_cross_entropy_matches_burns() {
    let device = Device::wgpu(DeviceKind::DefaultDevice).autodiff();
    let logits = Tensor::<2>::random([16, 10], Distribution::Normal(0.0, 20.0), &device);
    let labels: Vec<i64> = (0..16).map(|i| (i * 7) % 10).collect();
    let targets = Tensor::<1, Int>::from_data(TensorData::new(labels, [16]), &device);
    let (ours, theirs) = (logits.clone().require_grad(), logits.require_grad());
    let got = loss::cross_entropy(ours.clone(), targets.clone()) * 0.5;
    let expected = CrossEntropyLossConfig::new()
        .init(&device)
        .forward(theirs.clone(), targets)
        * 0.5;
    assert_close(
        got.clone(),
        expected.clone(),
        Tolerance::rel_abs(1e-5, 1e-5),
    );
    let (got, expected) = (got.backward(), expected.backward());
    let tolerance = Tolerance::absolute(1e-6);
    assert_close(
        ours.grad(&got).unwrap(),
        theirs.grad(&expected).unwrap(),
        tolerance,
    );
}

/// Each output is 0 or the input scaled by `1 / keep`, about `keep` of them kept, and the
/// gradient goes through the same elements with the same scale.
#[test]
#[ignore = "needs a wgpu device"]
fn gpu_dropout_drops_and_scales_consistently() {
    let device = Device::wgpu(DeviceKind::DefaultDevice).autodiff();
    let (prob, dims) = (0.25, [4, 8, 10, 9]);
    let layer = DropoutConfig::new(prob).init();
    let x = (Tensor::<4>::random(dims, Distribution::Default, &device) + 0.5).require_grad();
    let y = dropout::forward(&layer, x.clone());
    let upstream = Tensor::<4>::random(dims, Distribution::Default, &device) + 0.5;
    let grads = (y.clone() * upstream.clone()).sum().backward();
    let values = |t: Tensor<4>| t.into_data().try_to_vec::<f32>().unwrap();
    let (xs, ys) = (values(x.clone().detach()), values(y.detach()));
    let (ups, gs) = (values(upstream), values(x.grad(&grads).unwrap()));
    let scale = 1.0 / (1.0 - prob as f32);
    let mut kept = 0;
    for i in 0..xs.len() {
        let (want_y, want_g) = match ys[i] != 0.0 {
            true => (xs[i] * scale, ups[i] * scale),
            false => (0.0, 0.0),
        };
        kept += usize::from(ys[i] != 0.0);
        assert!(
            (ys[i] - want_y).abs() < 1e-5,
            "output {i}: {} for {want_y}",
            ys[i]
        );
        assert!(
            (gs[i] - want_g).abs() < 1e-5,
            "gradient {i}: {} for {want_g}",
            gs[i]
        );
    }
    let share = kept as f64 / xs.len() as f64;
    assert!((share - (1.0 - prob)).abs() < 0.05, "kept {share}");
}
