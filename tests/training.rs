//! Training a generated network on real MNIST images: the loss falls, checkpoints resume
//! exactly, a non-finite loss stops the run and keeps the last good checkpoint.

use cnn::burn::module::Module;
use cnn::burn::tensor::Device;
use cnn::runtime::Backend;
use cnn::runtime::data::{Dataset, mnist};
use cnn::runtime::report::history::EpochMetrics;
use cnn::runtime::train::{
    Checkpoint, Interrupt, Observer, Quiet, Stop, TrainConfig, TrainError, Trainer,
};

cnn::cnn_from_json!(
    "tests/arch/tiny.arch",
    name = TinyNet,
    input = [1, 28, 28],
    classes = 10
);

#[path = "common/serial.rs"]
mod serial;
use serial::serial;

fn device() -> Device {
    Backend::Flex.device().unwrap()
}

/// 512 real MNIST training images (class-stratified) and a 10% validation split.
fn data() -> Dataset {
    mnist::embedded()
        .limit_train(512, 1)
        .limit_test(100, 1)
        .with_validation(0.1, 1)
}

fn config(epochs: usize) -> TrainConfig {
    TrainConfig {
        epochs,
        batch_size: 32,
        ..TrainConfig::default()
    }
}

fn trainer<'a>(
    config: TrainConfig,
    checkpoint: Option<Checkpoint>,
    observer: &'a mut dyn Observer,
) -> Trainer<'a> {
    Trainer {
        config,
        device: device(),
        checkpoint,
        interrupt: Interrupt::new(),
        observer,
    }
}

fn weights(model: &TinyNet) -> Vec<f32> {
    let mut all = Vec::new();
    for layer in [&model.conv1, &model.conv2] {
        all.extend(layer.weight.val().into_data().try_to_vec::<f32>().unwrap());
    }
    for layer in [&model.fc1, &model.output] {
        all.extend(layer.weight.val().into_data().try_to_vec::<f32>().unwrap());
    }
    all
}

#[test]
fn loss_falls_on_real_mnist() {
    let _serial = serial();
    let config = TrainConfig {
        batch_size: 16,
        ..config(3)
    };
    let trained = trainer(config, None, &mut Quiet)
        .fit(TinyNet::new, &data(), false)
        .unwrap();
    let losses: Vec<f64> = trained.history.iter().map(|m| m.train_loss).collect();
    assert_eq!(trained.stop, Stop::Completed);
    assert!(
        losses[2] < 0.7 * losses[0],
        "training loss did not fall: {losses:?}"
    );
    assert!(
        losses[0] < 2.5,
        "first epoch's loss {} is not that of 10 classes",
        losses[0]
    );
    let valid = trained.history[2].valid_error.unwrap();
    assert!(valid < 0.5, "validation error {valid} after 3 epochs");
}

#[test]
fn same_seed_gives_the_same_curves() {
    let _serial = serial();
    let a = trainer(config(1), None, &mut Quiet)
        .fit(TinyNet::new, &data(), false)
        .unwrap();
    let b = trainer(config(1), None, &mut Quiet)
        .fit(TinyNet::new, &data(), false)
        .unwrap();
    let c = trainer(
        TrainConfig {
            seed: 7,
            ..config(1)
        },
        None,
        &mut Quiet,
    )
    .fit(TinyNet::new, &data(), false)
    .unwrap();
    assert_eq!(a.history[0].train_loss, b.history[0].train_loss);
    assert_eq!(a.history[0].valid_loss, b.history[0].valid_loss);
    assert_eq!(weights(&a.model), weights(&b.model));
    assert_ne!(a.history[0].train_loss, c.history[0].train_loss);
}

/// `replay` trains as burn's Adam does: the same arithmetic (on the CPU every step is an
/// ordinary one).
#[test]
fn replayed_training_matches_burns_adam() {
    let _serial = serial();
    let fit = |replay, notes: &mut Notes| {
        let config = TrainConfig {
            replay,
            ..config(2)
        };
        trainer(config, None, notes)
            .fit(TinyNet::new, &data(), false)
            .unwrap()
    };
    let mut notes = Notes::default();
    let burns = fit(false, &mut notes);
    assert!(notes.0.is_empty(), "{:?}", notes.0);
    let replayed = fit(true, &mut notes);
    assert!(
        notes.0.len() == 1 && notes.0[0].contains("cannot be recorded"),
        "the CPU's ordinary steps are told once: {:?}",
        notes.0
    );
    for (b, r) in burns.history.iter().zip(&replayed.history) {
        let gap = (b.train_loss - r.train_loss).abs() / b.train_loss;
        assert!(
            gap < 1e-4,
            "train loss {} against {}",
            r.train_loss,
            b.train_loss
        );
        let [b, r] = [b, r].map(|m| m.valid_loss.unwrap());
        assert!((b - r).abs() / b < 1e-4, "validation loss {r} against {b}");
    }
    let (b, r) = (weights(&burns.model), weights(&replayed.model));
    let peak = b.iter().fold(0f32, |m, v| m.max(v.abs()));
    let gap = b
        .iter()
        .zip(&r)
        .fold(0f32, |m, (x, y)| m.max((x - y).abs()));
    assert!(gap < 1e-4 * peak, "weights apart by {gap}");
}

/// Keeps the notes a run prints.
#[derive(Default)]
struct Notes(Vec<String>);

impl Observer for Notes {
    fn epoch_start(&mut self, _: usize, _: usize, _: usize, _: usize) {}
    fn batch(&mut self, _: usize, _: f64, _: f64, _: f64) {}
    fn epoch_end(&mut self, _: &EpochMetrics, _: usize) {}
    fn note(&mut self, message: &str) {
        self.0.push(message.to_owned());
    }
}

/// A checkpoint keeps one Adam's state: resuming with the other says so, and how to resume.
#[test]
fn a_checkpoint_resumes_only_with_the_adam_that_wrote_it() {
    let _serial = serial();
    for replay in [false, true] {
        let dir = tempfile::tempdir().unwrap();
        let checkpoint = Checkpoint::new(dir.path().join("checkpoint"));
        let config = |replay| TrainConfig {
            replay,
            ..config(1)
        };
        trainer(config(replay), Some(checkpoint.clone()), &mut Quiet)
            .fit(TinyNet::new, &data(), false)
            .unwrap();
        let error = trainer(config(!replay), Some(checkpoint), &mut Quiet)
            .fit(TinyNet::new, &data(), true)
            .err()
            .expect("the other Adam refuses the checkpoint");
        let asked = if replay {
            "with --replay"
        } else {
            "without --replay"
        };
        let message = error.to_string();
        assert!(
            matches!(error, TrainError::Checkpoint { .. }) && message.contains(asked),
            "{message}"
        );
    }
}

/// Triggers the interrupt once `at` batches of the first epoch have been reported, as Ctrl-C
/// would, and keeps the last batch reported.
struct InterruptAfter {
    at: usize,
    interrupt: Interrupt,
    starts: Vec<(usize, usize)>,
    last: Option<usize>,
}

impl Observer for InterruptAfter {
    fn epoch_start(&mut self, epoch: usize, _: usize, first_batch: usize, _: usize) {
        self.starts.push((epoch, first_batch));
    }
    fn batch(&mut self, batch: usize, _: f64, _: f64, _: f64) {
        self.last = Some(batch);
        if batch + 1 == self.at {
            self.interrupt.trigger();
        }
    }
    fn epoch_end(&mut self, _: &EpochMetrics, _: usize) {}
    fn note(&mut self, _: &str) {}
}

#[test]
fn interrupted_run_resumes_at_the_next_batch_with_identical_results() {
    interrupt_and_resume(config(2));
}

/// The same with the replayed step's Adam, whose state the checkpoint keeps in files of its
/// own (on the CPU every step is an ordinary one).
#[test]
fn interrupted_replayed_run_resumes_at_the_next_batch_with_identical_results() {
    interrupt_and_resume(TrainConfig {
        replay: true,
        ..config(2)
    });
}

fn interrupt_and_resume(config: TrainConfig) {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = Checkpoint::new(dir.path().join("checkpoint"));
    let data = data();
    let uninterrupted = trainer(config.clone(), None, &mut Quiet)
        .fit(TinyNet::new, &data, false)
        .unwrap();

    let mut observer = InterruptAfter {
        at: 5,
        interrupt: Interrupt::new(),
        starts: Vec::new(),
        last: None,
    };
    let interrupt = observer.interrupt.clone();
    let mut first = trainer(config.clone(), Some(checkpoint.clone()), &mut observer);
    first.interrupt = interrupt;
    let stopped = first.fit(TinyNet::new, &data, false).unwrap();
    assert_eq!(stopped.stop, Stop::Interrupted);
    assert!(stopped.history.is_empty());
    // The weights on disk are those the interrupted run had.
    let saved: TinyNet = TinyNet::new(&device()).load_file(checkpoint.model_path());
    assert_eq!(weights(&saved), weights(&stopped.model));

    let mut resumed_observer = InterruptAfter {
        at: usize::MAX,
        interrupt: Interrupt::new(),
        starts: Vec::new(),
        last: None,
    };
    let resumed = trainer(config, Some(checkpoint), &mut resumed_observer)
        .fit(TinyNet::new, &data, true)
        .unwrap();
    // Training reads each step's loss once the next step is queued, so the step queued when
    // the interrupt came (the sixth) is taken and reported too; the run resumes after it.
    assert_eq!(observer.last, Some(5));
    assert_eq!(resumed_observer.starts, [(1, 6), (2, 0)]);
    assert_eq!(resumed.stop, Stop::Completed);
    assert_eq!(resumed.history.len(), 2);
    // No dropout or augmentation: the resumed run is the uninterrupted run, to the bit.
    assert_eq!(weights(&resumed.model), weights(&uninterrupted.model));
    assert_eq!(
        resumed.history,
        uninterrupted_history(&uninterrupted.history, &resumed.history)
    );
}

/// The uninterrupted history with the timing fields of the resumed one (they differ by nature).
fn uninterrupted_history(
    reference: &[EpochMetrics],
    resumed: &[EpochMetrics],
) -> Vec<EpochMetrics> {
    reference
        .iter()
        .zip(resumed)
        .map(|(r, s)| EpochMetrics {
            seconds: s.seconds,
            images_per_second: s.images_per_second,
            ..*r
        })
        .collect()
}

#[test]
fn resuming_a_finished_epoch_continues_with_the_next() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = Checkpoint::new(dir.path().join("checkpoint"));
    let data = data();
    let one = trainer(config(1), Some(checkpoint.clone()), &mut Quiet)
        .fit(TinyNet::new, &data, false)
        .unwrap();
    let mut observer = InterruptAfter {
        at: usize::MAX,
        interrupt: Interrupt::new(),
        starts: Vec::new(),
        last: None,
    };
    let two = trainer(config(2), Some(checkpoint), &mut observer)
        .fit(TinyNet::new, &data, true)
        .unwrap();
    assert_eq!(observer.starts, [(2, 0)]);
    assert_eq!(two.history[0], one.history[0]);
    assert_eq!(two.history.len(), 2);
}

#[test]
fn non_finite_loss_stops_and_keeps_the_last_good_checkpoint() {
    let _serial = serial();
    let dir = tempfile::tempdir().unwrap();
    let checkpoint = Checkpoint::new(dir.path().join("checkpoint"));
    let data = data();
    let good = trainer(config(1), Some(checkpoint.clone()), &mut Quiet)
        .fit(TinyNet::new, &data, false)
        .unwrap();
    let exploding = TrainConfig {
        learning_rate: 1e35,
        ..config(3)
    };
    let error = trainer(exploding, Some(checkpoint.clone()), &mut Quiet)
        .fit(TinyNet::new, &data, true)
        .err()
        .unwrap();
    let TrainError::NonFiniteLoss {
        epoch,
        batch,
        value,
        checkpoint: kept,
    } = &error
    else {
        panic!("expected a non-finite loss, got {error}");
    };
    assert_eq!(*epoch, 2);
    assert!(
        *batch >= 2,
        "the first batch of epoch 2 still had good weights"
    );
    assert!(!value.is_finite());
    assert_eq!(kept.as_deref(), Some(checkpoint.dir()));
    let message = error.to_string();
    assert!(
        message.contains(&format!("at epoch 2, batch {batch}")),
        "{message}"
    );
    let saved: TinyNet = TinyNet::new(&device()).load_file(checkpoint.model_path());
    assert_eq!(weights(&saved), weights(&good.model));
}

#[test]
fn wrong_dataset_for_the_network_is_an_error() {
    let _serial = serial();
    cnn::cnn_from_json!(
        "tests/arch/tiny.arch",
        name = ColourNet,
        input = [3, 28, 28],
        classes = 10
    );
    let error = trainer(config(1), None, &mut Quiet)
        .fit(ColourNet::new, &data(), false)
        .err()
        .unwrap();
    assert_eq!(
        error.to_string(),
        "images of shape [1, 28, 28] do not fit ColourNet, which expects [3, 28, 28]"
    );
}

#[test]
fn evaluation_matches_the_trained_model() {
    let _serial = serial();
    let data = data();
    let trained = trainer(config(1), None, &mut Quiet)
        .fit(TinyNet::new, &data, false)
        .unwrap();
    let model = trained.model.valid();
    let batcher = cnn::runtime::data::ImageBatcher::default();
    let evaluation =
        cnn::runtime::eval::evaluate::evaluate(&model, &data.test, &batcher, 64, &device());
    assert_eq!(evaluation.y_true.len(), 100);
    assert_eq!(evaluation.probabilities.len(), 100 * TinyNet::CLASSES);
    let sums: Vec<f32> = evaluation
        .probabilities
        .chunks(10)
        .map(|p| p.iter().sum())
        .collect();
    assert!(sums.iter().all(|s| (s - 1.0).abs() < 1e-4));
    // Predictions come from the same network as `predict`.
    let images = data
        .test
        .batch_tensor(&[0, 1, 2], &batcher, &device())
        .images;
    let predicted: Vec<usize> = cnn::runtime::eval::infer::predict(&model, images)
        .iter()
        .map(|p| p.label)
        .collect();
    assert_eq!(predicted, evaluation.y_pred[..3]);
    assert_eq!(TinyNet::NAME, "TinyNet");
    // The loss (taken on the host from log-probabilities) is burn's cross-entropy, here over
    // the 100 images at once, against two batches of 64 and 36.
    let everything: Vec<usize> = (0..100).collect();
    let batch = data.test.batch_tensor(&everything, &batcher, &device());
    let expected: f32 = cnn::burn::nn::loss::CrossEntropyLossConfig::new()
        .init(&device())
        .forward(model.forward(batch.images), batch.targets)
        .into_scalar();
    let error = (evaluation.loss - f64::from(expected)).abs();
    assert!(
        error < 1e-5 * f64::from(expected),
        "{} against {expected}",
        evaluation.loss
    );
}

/// With a learning rate of 1e-30 (0 is refused) Adam's steps, about the rate in size, vanish
/// when added to the weights, and `TinyNet` has no dropout: so the loss and error rate
/// training reports for its epoch are those that evaluating the model on the training images
/// gives.
#[test]
fn training_reports_the_loss_and_errors_of_its_batches() {
    let _serial = serial();
    let data = data();
    let config = TrainConfig {
        learning_rate: 1e-30,
        ..config(1)
    };
    let trained = trainer(config, None, &mut Quiet)
        .fit(TinyNet::new, &data, false)
        .unwrap();
    let reported = &trained.history[0];
    let model = trained.model.valid();
    let batcher = cnn::runtime::data::ImageBatcher::default();
    let evaluation =
        cnn::runtime::eval::evaluate::evaluate(&model, &data.train, &batcher, 64, &device());
    let error_rate = evaluation.error_rate();
    assert!(error_rate > 0.5, "an untrained model: {error_rate}");
    assert!(
        (reported.train_error - error_rate).abs() < 1e-12,
        "{reported:?} against {error_rate}"
    );
    let loss = (reported.train_loss - evaluation.loss).abs();
    assert!(
        loss < 1e-5 * evaluation.loss,
        "{reported:?} against {}",
        evaluation.loss
    );
}

#[test]
fn every_weight_and_bias_is_trained() {
    use cnn::burn::nn::loss::CrossEntropyLossConfig;
    use cnn::burn::optim::GradientsParams;
    let _serial = serial();
    let device = device().autodiff();
    let model = TinyNet::new(&device);
    let batch = data()
        .train
        .batch_tensor(&[0, 1, 2, 3], &Default::default(), &device);
    let loss = CrossEntropyLossConfig::new()
        .init(&device)
        .forward(model.forward(batch.images), batch.targets);
    let grads = GradientsParams::from_grads(loss.backward(), &model);
    // conv1, conv2, fc1 and output each have a weight and a bias (initialised to zero, as
    // TensorFlow does) and all of them take part in training.
    assert_eq!(grads.len(), 8);
    let bias: Vec<f32> = model
        .conv1
        .bias
        .as_ref()
        .unwrap()
        .val()
        .into_data()
        .try_to_vec()
        .unwrap();
    assert!(bias.iter().all(|b| *b == 0.0));
}
