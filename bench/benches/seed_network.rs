//! Training step and inference of the seed network, batch 64, on the default backend: generated
//! by `cnn_from_json!`, built at run time (`Net`), and written by hand with burn's own layers.
//! `cargo bench -p cnn-bench --bench seed_network`. The generated and runtime networks run our
//! kernels on flex, so their ratio to the hand-written one is what those gain over burn-flex's,
//! and their ratio to each other should be 1. It also times building a `Net`.

#[path = "../../tests/common/handwritten.rs"]
mod handwritten;
use handwritten::HandSeed;

use std::time::Duration;

use cnn::arch::Overrides;
use cnn::burn::optim::{AdamConfig, GradientsParams, ModuleOptimizer, decay::WeightDecayConfig};
use cnn::burn::tensor::{Device, Distribution, Int, Tensor, TensorData};
use cnn::runtime::nn::Net;
use cnn::runtime::nn::loss::cross_entropy;
use cnn::runtime::{Backend, Network};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

use cnn_bench::SeedNet as MnistNet;

const BATCH: usize = 64;

fn batch(device: &Device) -> (Tensor<4>, Tensor<1, Int>) {
    let images = Tensor::random([BATCH, 1, 28, 28], Distribution::Uniform(0.0, 1.0), device);
    let labels: Vec<i64> = (0..BATCH as i64).map(|i| i % 10).collect();
    (
        images,
        Tensor::from_data(TensorData::new(labels, [BATCH]), device),
    )
}

/// Forward, backward and an Adam step; returns the updated model. Reading the loss makes
/// sure the step has run.
fn train_step<M: Network>(
    model: M,
    optim: &mut ModuleOptimizer,
    images: Tensor<4>,
    targets: Tensor<1, Int>,
) -> M {
    let loss = cross_entropy(model.logits(images), targets);
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    let _: f32 = loss.into_scalar();
    optim.step(1e-3, model, grads)
}

fn seed(c: &mut Criterion) {
    let device = Backend::default().device().expect("a compiled backend");
    let train_device = device.clone().autodiff();
    let seed = seed_architecture();
    let mut group = c.benchmark_group("seed_network_batch64");
    group
        .sample_size(10)
        .warm_up_time(Duration::from_secs(3))
        .measurement_time(Duration::from_secs(20));
    group.throughput(Throughput::Elements(BATCH as u64));
    let (images, targets) = batch(&train_device);
    let train = (&images, &targets);
    bench_train(
        &mut group,
        "train_step/handwritten",
        HandSeed::new(&train_device),
        train,
    );
    // Generated and runtime networks in both orders, to tell a difference from drift.
    bench_train(
        &mut group,
        "train_step/generated",
        MnistNet::new(&train_device),
        train,
    );
    bench_train(
        &mut group,
        "train_step/runtime",
        Net::new(&seed, &train_device),
        train,
    );
    bench_train(
        &mut group,
        "train_step/runtime_again",
        Net::new(&seed, &train_device),
        train,
    );
    bench_train(
        &mut group,
        "train_step/generated_again",
        MnistNet::new(&train_device),
        train,
    );
    let (images, _) = batch(&device);
    bench_inference(
        &mut group,
        "inference/handwritten",
        HandSeed::new(&device),
        &images,
    );
    bench_inference(
        &mut group,
        "inference/generated",
        MnistNet::new(&device),
        &images,
    );
    bench_inference(
        &mut group,
        "inference/runtime",
        Net::new(&seed, &device),
        &images,
    );
    bench_inference(
        &mut group,
        "inference/runtime_again",
        Net::new(&seed, &device),
        &images,
    );
    bench_inference(
        &mut group,
        "inference/generated_again",
        MnistNet::new(&device),
        &images,
    );
    group.finish();
}

/// What a search pays per network before training: checking the file, and building the
/// network (with its weights initialised, which `generated/new` times alone).
fn building(c: &mut Criterion) {
    let device = Backend::default().device().expect("a compiled backend");
    let seed = seed_architecture();
    let mut group = c.benchmark_group("seed_network_build");
    group.bench_function("check", |b| b.iter(seed_architecture));
    group.bench_function("runtime/new", |b| b.iter(|| Net::new(&seed, &device)));
    group.bench_function("generated/new", |b| b.iter(|| MnistNet::new(&device)));
    group.finish();
}

/// The seed ARCH at MNIST's shape, checked.
fn seed_architecture() -> cnn::arch::Network {
    let overrides = Overrides {
        input: Some([1, 28, 28]),
        classes: Some(10),
        ..Default::default()
    };
    cnn::arch::check(MnistNet::ARCH_JSON, &overrides).expect("the seed ARCH checks")
}

type Group<'a> = criterion::BenchmarkGroup<'a, criterion::measurement::WallTime>;

fn bench_train<M: Network>(
    group: &mut Group,
    name: &str,
    model: M,
    (images, targets): (&Tensor<4>, &Tensor<1, Int>),
) {
    let mut model = Some(model);
    let mut optim = AdamConfig::new()
        .with_weight_decay(Some(WeightDecayConfig::new(1e-3)))
        .init();
    group.bench_function(name, |b| {
        b.iter(|| {
            let m = model.take().expect("model");
            model = Some(train_step(m, &mut optim, images.clone(), targets.clone()));
        })
    });
}

fn bench_inference<M: Network>(group: &mut Group, name: &str, model: M, images: &Tensor<4>) {
    let model = model.valid();
    group.bench_function(name, |b| {
        b.iter(|| {
            let predictions = model.logits(images.clone()).argmax(1).into_data();
            // Touching the bytes waits for them (`into_data` alone does not, on GPUs).
            predictions.as_bytes().len()
        })
    });
}

criterion_group!(benches, seed, building);
criterion_main!(benches);
