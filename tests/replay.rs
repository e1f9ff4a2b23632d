//! `cnn::runtime::train::replay`: its Adam is burn's, each step draws new dropout masks, and on a GPU
//! replayed steps and forward passes give what ordinary ones give.

use cnn::burn::module::Module;
use cnn::burn::optim::{AdamConfig, GradientsParams, decay::WeightDecayConfig};
use cnn::burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use cnn::runtime::nn::loss::cross_entropy;
#[cfg(feature = "wgpu")]
use cnn::runtime::precision::{ConvPrecision, set_conv_precision};
use cnn::runtime::train::replay::{ReplayForward, ReplayStep, adam::AdamSettings};
use cnn::runtime::{Backend, Network};

cnn::cnn_from_json!(
    "tests/arch/tiny.arch",
    name = TinyNet,
    input = [1, 28, 28],
    classes = 10
);

cnn::cnn_from_json!(
    "tests/arch/tiny_dropout.arch",
    name = DropoutNet,
    input = [1, 28, 28],
    classes = 10
);

#[cfg(feature = "wgpu")]
#[path = "common/gpu.rs"]
mod gpu;
#[path = "common/serial.rs"]
mod serial;
#[cfg(feature = "wgpu")]
use gpu::gpu;
use serial::serial;

const SETTINGS: AdamSettings = AdamSettings {
    beta_1: 0.9,
    beta_2: 0.999,
    epsilon: 1e-8,
    weight_decay: Some(1e-3),
};

/// `count` batches of `batch` random images with labels.
fn batches(count: usize, batch: usize, device: &Device) -> Vec<(Tensor<4>, Tensor<1, Int>)> {
    (0..count)
        .map(|b| {
            let images =
                Tensor::<4>::random([batch, 1, 28, 28], Distribution::Uniform(0.0, 1.0), device);
            let labels: Vec<i64> = (0..batch).map(|i| ((i * 7 + b * 3) % 10) as i64).collect();
            (
                images,
                Tensor::from_data(TensorData::new(labels, [batch]), device),
            )
        })
        .collect()
}

fn loss_of(output: cnn::runtime::train::replay::StepOutput) -> f32 {
    output.loss.into_scalar()
}

/// Largest |a - b| over every parameter, relative to the largest |a|.
fn parameter_gap<M: Module>(a: &M, b: &M) -> f32 {
    let flat = |m: &M| -> Vec<f32> {
        let mut values = Vec::new();
        m.visit(&mut Collect(&mut values));
        values
    };
    let (a, b) = (flat(a), flat(b));
    assert_eq!(a.len(), b.len());
    let peak = a.iter().fold(0f32, |m, v| m.max(v.abs()));
    let gap = a
        .iter()
        .zip(&b)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    gap / peak
}

struct Collect<'a>(&'a mut Vec<f32>);

impl cnn::burn::module::ModuleVisitor for Collect<'_> {
    fn visit_float<const D: usize>(&mut self, param: &cnn::burn::module::Param<Tensor<D>>) {
        let values = param.val().into_data().try_to_vec::<f32>().unwrap();
        self.0.extend(values);
    }
}

/// Six steps, the last on a smaller batch, by burn's Adam and by the replayed step's (which
/// on the CPU runs each step as an ordinary one): the same losses and parameters.
#[test]
fn its_adam_is_burns() {
    let _serial = serial();
    let device = Backend::Flex.device().unwrap().autodiff();
    device.seed(11);
    let model = TinyNet::new(&device);
    let mut data = batches(5, 16, &device);
    data.extend(batches(1, 5, &device));

    let mut burns = model.clone();
    let decay = WeightDecayConfig::new(1e-3);
    let mut optimizer = AdamConfig::new()
        .with_epsilon(1e-8)
        .with_weight_decay(Some(decay))
        .init();
    let mut expected = Vec::new();
    for (images, targets) in &data {
        let loss = cross_entropy(burns.logits(images.clone()), targets.clone());
        let grads = GradientsParams::from_grads(loss.backward(), &burns);
        burns = optimizer.step(2e-3, burns, grads);
        expected.push(loss.into_scalar::<f32>());
    }

    let mut ours = ReplayStep::new(model, SETTINGS);
    let got: Vec<f32> = data
        .iter()
        .map(|(images, targets)| loss_of(ours.step(images.clone(), targets.clone(), 2e-3)))
        .collect();
    assert!(!ours.is_replaying(), "the CPU backend cannot record");
    for (step, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert!(
            (g - e).abs() <= 1e-5 * e.abs(),
            "step {step}: {g} against {e}"
        );
    }
    let gap = parameter_gap(&burns, &ours.into_model());
    assert!(gap < 1e-5, "parameters apart by {gap}");
}

/// With a learning rate of 0 nothing trains, so two steps on one batch differ only by their
/// dropout masks: they must, and the same seed must give the same two losses.
#[test]
fn each_step_draws_new_dropout_masks() {
    let _serial = serial();
    let device = Backend::Flex.device().unwrap().autodiff();
    let run = || {
        device.seed(5);
        let mut step = ReplayStep::new(DropoutNet::new(&device), SETTINGS);
        let (images, targets) = batches(1, 32, &device).remove(0);
        [0, 1].map(|_| loss_of(step.step(images.clone(), targets.clone(), 0.0)))
    };
    let [first, second] = run();
    assert!(first.is_finite() && second.is_finite());
    assert_ne!(first, second, "both steps dropped the same units");
    assert_eq!(run(), [first, second]);
}

/// Largest |got - expected| relative to the largest |expected|.
fn gap_of(got: Tensor<2>, expected: Tensor<2>) -> f32 {
    let peak = expected.clone().abs().max().into_scalar::<f32>();
    (got - expected).abs().max().into_scalar::<f32>() / peak.max(f32::MIN_POSITIVE)
}

/// Batches of 8 with one of 3 among them, through a replayed forward pass and a plain one:
/// the same logits within `tolerance`, relative. Returns the replayed one, to ask how it ran.
fn forward_against_plain(device: &Device, tolerance: f32) -> ReplayForward<DropoutNet> {
    device.seed(9);
    let model = DropoutNet::new(device).valid();
    let mut forward = ReplayForward::new(model.clone());
    let mut data = batches(7, 8, device);
    data.insert(5, batches(1, 3, device).remove(0));
    for (batch, (images, _)) in data.into_iter().enumerate() {
        let gap = gap_of(forward.logits(images.clone()), model.logits(images));
        assert!(gap <= tolerance, "batch {batch}: logits apart by {gap}");
    }
    forward
}

/// On the CPU the forward pass cannot be recorded: it says so, and gives plain passes' logits.
#[test]
fn a_forward_pass_that_cannot_be_recorded_runs_plain() {
    let _serial = serial();
    let forward = forward_against_plain(&Backend::Flex.device().unwrap(), 0.0);
    assert!(!forward.is_replaying());
    let why = forward.not_replaying_because().unwrap_or_default();
    assert!(why.contains("not supported"), "{why}");
}

/// On a GPU (Mesa's software one will do): the steps after the warm-up replay the recorded
/// one, and give the losses ordinary steps give, dropout masks included, also after a batch
/// of another shape ran between them. Ignored by default: CI has no GPU; [`gpu`] says which
/// one they run on.
///
/// `cargo test --release --features wgpu --test replay -- --ignored`
#[cfg(feature = "wgpu")]
#[test]
#[ignore = "needs a wgpu device"]
fn replayed_steps_give_what_ordinary_steps_give() {
    replayed_matches_ordinary(ConvPrecision::F32, 1e-5);
}

/// The same with mixed precision (`--conv-precision f16`), whose backward pass scales each
/// convolution's gradients by factors computed on the device. Needs a device with `f16`
/// (NVIDIA's Vulkan has it, Mesa's software GPU does not).
#[cfg(feature = "wgpu")]
#[test]
#[ignore = "needs a wgpu device with f16"]
fn replayed_mixed_precision_steps_give_what_ordinary_steps_give() {
    replayed_matches_ordinary(ConvPrecision::F16, 1e-4);
}

/// Trains the same network twice from the same seed, once replaying and once never recording,
/// with a validation pass between steps as the trainer makes one between epochs (replayed in
/// the first run), and compares every loss within `tolerance`, relative.
#[cfg(feature = "wgpu")]
fn replayed_matches_ordinary(precision: ConvPrecision, tolerance: f32) {
    let _serial = serial();
    let inner = gpu();
    precision.select(&inner).unwrap_or_else(|e| panic!("{e}"));
    let _reset = F32Afterwards;
    let device = inner.clone().autodiff();
    let run = |record: bool| {
        device.seed(3);
        let model = DropoutNet::new(&device);
        let mut step = match record {
            true => ReplayStep::new(model, SETTINGS),
            false => ReplayStep::without_recording(model, SETTINGS),
        };
        let mut data = batches(7, 8, &device);
        data.insert(5, batches(1, 3, &device).remove(0));
        let mut losses = train(&mut step, data);
        let model = step.model().valid();
        let mut forward = ReplayForward::new(model.clone());
        for (images, targets) in batches(5, 8, &inner) {
            let logits = match record {
                true => forward.logits(images),
                false => model.logits(images),
            };
            losses.push(cross_entropy(logits, targets).into_scalar());
        }
        assert_eq!(
            forward.is_replaying(),
            record,
            "{:?}",
            forward.not_replaying_because()
        );
        losses.extend(train(&mut step, batches(4, 8, &device)));
        let because = step.not_replaying_because().map(str::to_owned);
        (losses, step.is_replaying(), because)
    };
    let (expected, replayed, _) = run(false);
    assert!(!replayed);
    let (got, replayed, because) = run(true);
    assert!(replayed, "the steps after the warm-up replay: {because:?}");
    for (step, (g, e)) in got.iter().zip(&expected).enumerate() {
        assert!(
            (g - e).abs() <= tolerance * e.abs(),
            "step {step}: {g} against {e}; replayed {got:?}, ordinary {expected:?}"
        );
    }
}

/// Sets convolutions back to `f32` when dropped, also when a test fails: the setting is the
/// process's.
#[cfg(feature = "wgpu")]
struct F32Afterwards;

#[cfg(feature = "wgpu")]
impl Drop for F32Afterwards {
    fn drop(&mut self) {
        set_conv_precision(ConvPrecision::F32);
    }
}

/// Each batch's loss, from a step at learning rate 1e-3.
#[cfg(feature = "wgpu")]
fn train(step: &mut ReplayStep<DropoutNet>, data: Vec<(Tensor<4>, Tensor<1, Int>)>) -> Vec<f32> {
    let mut loss = |(images, targets)| loss_of(step.step(images, targets, 1e-3));
    data.into_iter().map(&mut loss).collect()
}

/// On a GPU: the batches after the warm-up replay a recorded forward pass, and give the
/// logits plain passes give, also after a batch of another shape ran between them.
#[cfg(feature = "wgpu")]
#[test]
#[ignore = "needs a wgpu device"]
fn replayed_forward_passes_give_what_plain_ones_give() {
    let _serial = serial();
    let forward = forward_against_plain(&gpu(), 1e-5);
    assert!(
        forward.is_replaying(),
        "{:?}",
        forward.not_replaying_because()
    );
}
