//! `cnn::runtime::train::replay` under cubecl's profiler, which times every kernel on its own. A
//! recording cannot hold that measurement (cubecl used to panic mid-step), so steps run as
//! ordinary ones and say why. The profiler is the process's setting, hence a test binary of
//! its own; it needs a GPU:
//!
//! `cargo test --release --features wgpu --test replay_profiled -- --ignored`
#![cfg(feature = "wgpu")]

use cnn::burn::cubecl::config::{CubeClRuntimeConfig, RuntimeConfig, profiling::ProfilingLogLevel};
use cnn::burn::tensor::{Distribution, Int, Tensor, TensorData};
use cnn::runtime::Network;
use cnn::runtime::train::replay::{ReplayStep, adam::AdamSettings};

#[path = "common/gpu.rs"]
mod gpu;
use gpu::gpu;

cnn::cnn_from_json!(
    "tests/arch/tiny_dropout.arch",
    name = DropoutNet,
    input = [1, 28, 28],
    classes = 10
);

#[test]
#[ignore = "needs a wgpu device"]
fn steps_under_cubecls_profiler_run_as_ordinary_ones_and_say_why() {
    let mut config = CubeClRuntimeConfig::default();
    config.profiling.logger.level = ProfilingLogLevel::Basic;
    CubeClRuntimeConfig::set(config);
    let device = gpu().autodiff();

    let mut step = ReplayStep::new(DropoutNet::new(&device), AdamSettings::new(1e-8, None));
    let mut losses = Vec::new();
    for _ in 0..6 {
        let images = Tensor::<4>::random([4, 1, 28, 28], Distribution::Default, &device);
        let targets =
            Tensor::<1, Int>::from_data(TensorData::new(vec![1i64, 3, 5, 7], [4]), &device);
        losses.push(step.step(images, targets, 1e-3).loss.into_scalar::<f32>());
    }
    assert!(losses.iter().all(|l| l.is_finite()), "{losses:?}");
    assert!(!step.is_replaying());
    let why = step.not_replaying_because().expect("a reason");
    assert!(why.contains("profiler"), "{why}");
}
