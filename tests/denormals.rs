//! Denormals are flushed to zero on every thread that computes while a network trains, the
//! caller's flags come back afterwards, and training without denormals gives the same weights
//! either way. x86 only: other processors have no such flags.
#![cfg(any(target_arch = "x86", target_arch = "x86_64"))]

use cnn::burn::tensor::{Device, Tensor, TensorData};
use cnn::runtime::Backend;
use cnn::runtime::data::mnist;
use cnn::runtime::denormals::{self, FlushDenormals, is_flushed};
use cnn::runtime::report::history::EpochMetrics;
use cnn::runtime::train::{Interrupt, Observer, TrainConfig, Trainer};

cnn::cnn_from_json!(
    "tests/arch/tiny.arch",
    name = TinyNet,
    input = [1, 28, 28],
    classes = 10
);

/// A quarter of the smallest normal `f32`: a denormal.
const TINY: f32 = f32::MIN_POSITIVE / 4.0;

fn device() -> Device {
    Backend::Flex.device().unwrap()
}

/// Records, at every batch, whether the caller and each rayon thread flushed denormals.
#[derive(Default)]
struct Flags {
    seen: Vec<(bool, Vec<bool>)>,
}

impl Observer for Flags {
    fn epoch_start(&mut self, _: usize, _: usize, _: usize, _: usize) {}
    fn batch(&mut self, _: usize, _: f64, _: f64, _: f64) {
        self.seen
            .push((is_flushed(), rayon::broadcast(|_| is_flushed())));
    }
    fn epoch_end(&mut self, _: &EpochMetrics, _: usize) {}
    fn note(&mut self, _: &str) {}
}

/// Trains [`TinyNet`] for one epoch of 256 real MNIST images; its weights and what `Flags` saw.
fn train() -> (Vec<f32>, Flags) {
    let data = mnist::embedded().limit_train(256, 1).limit_test(10, 1);
    let mut flags = Flags::default();
    let trained = Trainer {
        config: TrainConfig {
            epochs: 1,
            batch_size: 32,
            ..TrainConfig::default()
        },
        device: device(),
        checkpoint: None,
        interrupt: Interrupt::new(),
        observer: &mut flags,
    }
    .fit(TinyNet::new, &data, false)
    .unwrap();
    let model = trained.model;
    let mut weights = Vec::new();
    for tensor in [model.conv1.weight.val(), model.conv2.weight.val()] {
        weights.extend(tensor.into_data().try_to_vec::<f32>().unwrap());
    }
    for tensor in [model.fc1.weight.val(), model.output.weight.val()] {
        weights.extend(tensor.into_data().try_to_vec::<f32>().unwrap());
    }
    (weights, flags)
}

/// One test, so that [`denormals::set_flush`], a process-wide setting, changes nothing that
/// runs beside it.
#[test]
fn training_flushes_on_every_compute_thread_and_changes_no_weight() {
    assert!(
        !is_flushed(),
        "the test thread starts with the default flags"
    );
    assert!(denormals::flushing(), "flushing is the default");

    let (flushed, flags) = train();
    assert_eq!(flags.seen.len(), 8);
    for (caller, pool) in &flags.seen {
        assert!(*caller, "the training thread flushes");
        assert!(
            pool.iter().all(|&f| f),
            "every rayon thread flushes: {pool:?}"
        );
    }
    assert!(!is_flushed(), "the caller's flags are back after training");
    assert!(rayon::broadcast(|_| !is_flushed()).into_iter().all(|f| f));

    denormals::set_flush(false);
    let (kept, flags) = train();
    denormals::set_flush(true);
    assert!(
        flags
            .seen
            .iter()
            .all(|(caller, pool)| !caller && !pool.contains(&true))
    );
    assert_eq!(
        flushed, kept,
        "without denormals, flushing them changes no weight"
    );
}

#[test]
fn burns_matrix_product_gives_zeros_on_denormals() {
    // On a pool of its own, so that the other test sees no flags this one sets.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.install(|| {
        let matmul = || {
            let a =
                Tensor::<2>::from_data(TensorData::new(vec![TINY; 64 * 64], [64, 64]), &device());
            let sum: Vec<f32> = a
                .clone()
                .matmul(a.ones_like())
                .into_data()
                .try_to_vec()
                .unwrap();
            sum
        };
        assert!(
            matmul().iter().all(|&v| v > 0.0),
            "without the flags denormals add up"
        );
        let _flushed = FlushDenormals::new();
        assert!(matmul().iter().all(|&v| v == 0.0));
    });
}
