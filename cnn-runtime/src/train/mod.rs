//! Training any [`Network`] on a [`Dataset`] with Adam.
//!
//! The loop is our own rather than burn-train's `Learner`: we need to stop on the first
//! non-finite loss naming its epoch and batch without overwriting the last good checkpoint, to
//! checkpoint mid-epoch on Ctrl-C and resume at the very next batch, and to show loss, error
//! rate and images/s in CI logs, where burn-train's non-interactive renderer prints no metric
//! values. Its optimizers, losses and records are used as they are, or with
//! [`TrainConfig::replay`] the step [`crate::train::replay`] records once and replays on a GPU.

mod checkpoint;
mod config;
mod display;
mod interrupt;
pub mod optim;
pub mod replay;
mod stepper;

use std::path::PathBuf;
use std::time::Instant;

use burn::tensor::{Device, Tensor, Transaction};
use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

pub use checkpoint::{Checkpoint, OptimizerState, Progress};
pub use config::{Schedule, TrainConfig};
pub use display::{Console, Observer, Quiet};
pub use interrupt::Interrupt;

use crate::Network;
use crate::data::{BatcherOptions, Dataset, ImageBatch, ImageBatcher, ImageSet};
use crate::eval::evaluate::{argmax, evaluate, evaluate_replayed};
use crate::nn::precision::ConvPrecision;
use crate::report::history::EpochMetrics;
use crate::train::replay::ReplayStep;
use crate::train::replay::adam::AdamSettings;
use stepper::Stepper;

/// Why training stopped early, or failed.
#[derive(Debug, thiserror::Error)]
pub enum TrainError {
    #[error(
        "the loss became {value} at epoch {epoch}, batch {batch}; training stopped. The last good checkpoint is kept{}: try a lower learning rate{}",
        checkpoint.as_ref().map(|p| format!(" in {}", p.display())).unwrap_or_default(),
        half_precision_hint()
    )]
    NonFiniteLoss {
        epoch: usize,
        batch: usize,
        value: f32,
        checkpoint: Option<PathBuf>,
    },
    #[error("checkpoint file {path}: {message}")]
    Checkpoint { path: PathBuf, message: String },
    #[error("the training set is empty")]
    EmptyTrainingSet,
    #[error("images of shape {found:?} do not fit {network}, which expects {expected:?}")]
    ShapeMismatch {
        network: String,
        expected: [usize; 3],
        found: [usize; 3],
    },
    #[error("the dataset has {found} classes but {network} has {expected} outputs")]
    ClassMismatch {
        network: String,
        expected: usize,
        found: usize,
    },
    #[error("invalid setting: {0}")]
    Config(String),
}

/// How a run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Stop {
    /// Every epoch ran.
    Completed,
    /// The validation loss stopped improving at this epoch.
    EarlyStopped { epoch: usize },
    /// Ctrl-C (or [`Interrupt::trigger`]); a checkpoint holds the state.
    Interrupted,
}

/// A trained network (on the training device) and its history.
pub struct Trained<M> {
    pub model: M,
    pub history: Vec<EpochMetrics>,
    pub stop: Stop,
    /// Seconds spent training, resumed sessions included.
    pub seconds: f64,
}

/// Trains a network on `data.train`, validating on `data.validation` after each epoch.
pub struct Trainer<'a> {
    pub config: TrainConfig,
    /// The device to train on, without autodiff (it is added here).
    pub device: Device,
    /// Where to save a checkpoint after every epoch and on interruption.
    pub checkpoint: Option<Checkpoint>,
    pub interrupt: Interrupt,
    pub observer: &'a mut dyn Observer,
}

impl Trainer<'_> {
    /// Trains the network `init` builds, seeded with `config.seed` (`MnistNet::new` for a
    /// generated one, `|device| Net::new(&architecture, device)` for one built at run time),
    /// or with `resume` the one in the checkpoint. Denormals are flushed to zero while it
    /// trains ([`crate::denormals`]).
    pub fn fit<M: Network>(
        &mut self,
        init: impl FnOnce(&Device) -> M,
        data: &Dataset,
        resume: bool,
    ) -> Result<Trained<M>, TrainError> {
        let _flushed = crate::denormals::scope();
        let device = self.device.clone().autodiff();
        let model = seeded_init(init, &device, self.config.seed);
        self.check(&model, data)?;
        let optimizer = self.optimizer(&model);
        let (model, optimizer, progress) = match (&self.checkpoint, resume) {
            (Some(checkpoint), true) => {
                let loaded = checkpoint.load(model, optimizer)?;
                let p = &loaded.2;
                self.observer.note(&format!(
                    "resuming from {} at epoch {}, batch {}",
                    checkpoint.dir().display(),
                    p.epoch,
                    p.batch
                ));
                loaded
            }
            _ => (model, optimizer, Progress::start()),
        };
        let stepper = self.stepper(model, optimizer);
        self.run(stepper, progress, data, &device)
    }

    fn check(&self, model: &impl Network, data: &Dataset) -> Result<(), TrainError> {
        if data.train.is_empty() {
            return Err(TrainError::EmptyTrainingSet);
        }
        if data.shape != model.input() {
            return Err(TrainError::ShapeMismatch {
                network: model.name().to_owned(),
                expected: model.input(),
                found: data.shape,
            });
        }
        if data.num_classes() != model.classes() {
            return Err(TrainError::ClassMismatch {
                network: model.name().to_owned(),
                expected: model.classes(),
                found: data.num_classes(),
            });
        }
        if self.config.batch_size == 0 || self.config.epochs == 0 {
            return Err(TrainError::Config(
                "epochs and batch size must be at least 1".into(),
            ));
        }
        if !(self.config.learning_rate > 0.0 && self.config.learning_rate.is_finite()) {
            return Err(TrainError::Config(format!(
                "learning rate {} must be positive",
                self.config.learning_rate
            )));
        }
        Ok(())
    }

    /// A fresh optimizer: burn's Adam, or with `replay` the replayed step's, whose moments
    /// are copies of `model` for a checkpoint to load into (a fresh run starts them at zero).
    fn optimizer<M: Network>(&self, model: &M) -> OptimizerState<M> {
        if self.config.replay {
            let moments = [0, 1].map(|_| model.clone());
            return OptimizerState::Replayed { moments, steps: 0 };
        }
        let adam = optim::adam(self.config.adam_epsilon as f32, self.weight_decay());
        OptimizerState::Burn(adam)
    }

    fn weight_decay(&self) -> Option<f32> {
        (self.config.weight_decay > 0.0).then_some(self.config.weight_decay as f32)
    }

    fn stepper<M: Network>(&self, model: M, optimizer: OptimizerState<M>) -> Stepper<M> {
        match optimizer {
            OptimizerState::Burn(optimizer) => Stepper::Burn {
                model: Some(model),
                optimizer,
                label_smoothing: self.config.label_smoothing as f32,
            },
            OptimizerState::Replayed { moments, steps } => {
                let settings =
                    AdamSettings::new(self.config.adam_epsilon as f32, self.weight_decay());
                let step = match steps {
                    0 => ReplayStep::new(model, settings),
                    _ => ReplayStep::resume(model, settings, moments, steps),
                };
                let step = step.with_label_smoothing(self.config.label_smoothing as f32);
                Stepper::Replayed(Box::new(step))
            }
        }
    }

    fn batcher_options(&self, train: &ImageSet, epoch: usize) -> BatcherOptions {
        BatcherOptions {
            standardize: self.config.standardize.then(|| train.channel_stats()),
            augment: self.config.augment,
            seed: self.config.seed ^ (epoch as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15),
        }
    }

    fn run<M: Network>(
        &mut self,
        mut stepper: Stepper<M>,
        mut progress: Progress,
        data: &Dataset,
        device: &Device,
    ) -> Result<Trained<M>, TrainError> {
        let session = Instant::now();
        let epochs = self.config.epochs;
        let mut stop = Stop::Completed;
        let mut told_ordinary = false;
        while progress.epoch <= epochs {
            let outcome = self.epoch(&mut stepper, &mut progress, data, device)?;
            if let Some(why) = stepper.not_replaying_because().filter(|_| !told_ordinary) {
                told_ordinary = true;
                self.observer.note(&format!(
                    "steps cannot be recorded for replay here ({why}; only GPU backends record \
                     them): they run as ordinary ones"
                ));
            }
            if outcome == EpochOutcome::Interrupted {
                progress.seconds += session.elapsed().as_secs_f64();
                self.save(&stepper, &progress)?;
                self.observer.note(&self.resume_hint(&progress));
                return Ok(Trained {
                    model: stepper.into_model(),
                    history: progress.history,
                    stop: Stop::Interrupted,
                    seconds: progress.seconds,
                });
            }
            let finished = progress.epoch;
            progress.epoch += 1;
            progress.batch = 0;
            let early = self.early_stop(&mut progress);
            let mut saved = progress.clone();
            saved.seconds += session.elapsed().as_secs_f64();
            self.save(&stepper, &saved)?;
            if early {
                stop = Stop::EarlyStopped { epoch: finished };
                break;
            }
        }
        progress.seconds += session.elapsed().as_secs_f64();
        Ok(Trained {
            model: stepper.into_model(),
            history: progress.history,
            stop,
            seconds: progress.seconds,
        })
    }

    fn resume_hint(&self, progress: &Progress) -> String {
        match &self.checkpoint {
            Some(c) => format!(
                "interrupted at epoch {}, batch {}; checkpoint saved in {}: continue with --resume {}",
                progress.epoch,
                progress.batch,
                c.dir().display(),
                c.dir().parent().unwrap_or(c.dir()).display()
            ),
            None => "interrupted; no checkpoint directory was set, so nothing was saved".into(),
        }
    }

    fn save<M: Network>(
        &mut self,
        stepper: &Stepper<M>,
        progress: &Progress,
    ) -> Result<(), TrainError> {
        match &self.checkpoint {
            Some(checkpoint) => {
                checkpoint.save(&stepper.model(), &stepper.optimizer_state(), progress)
            }
            None => Ok(()),
        }
    }

    /// Records the best validation loss; true when early stopping's patience has run out.
    fn early_stop(&self, progress: &mut Progress) -> bool {
        let Some(patience) = self.config.early_stopping else {
            return false;
        };
        let Some(loss) = progress.history.last().and_then(|m| m.valid_loss) else {
            return false;
        };
        if progress.best_valid_loss.is_none_or(|best| loss < best) {
            progress.best_valid_loss = Some(loss);
            progress.epochs_without_improvement = 0;
        } else {
            progress.epochs_without_improvement += 1;
        }
        progress.epochs_without_improvement >= patience
    }

    /// Runs the rest of `progress.epoch`, then validates and records its metrics.
    fn epoch<M: Network>(
        &mut self,
        stepper: &mut Stepper<M>,
        progress: &mut Progress,
        data: &Dataset,
        device: &Device,
    ) -> Result<EpochOutcome, TrainError> {
        let epoch = progress.epoch;
        let train = &data.train;
        let order = shuffled(train.len(), self.config.seed, epoch);
        let batches: Vec<&[usize]> = order.chunks(self.config.batch_size).collect();
        let options = self.batcher_options(train, epoch);
        let batcher = ImageBatcher::starting_at(options.clone(), progress.batch as u64);
        let rate = self
            .config
            .schedule
            .rate(self.config.learning_rate, epoch, self.config.epochs);
        self.observer
            .epoch_start(epoch, self.config.epochs, progress.batch, batches.len());
        let clock = (Instant::now(), progress.seen);
        // Each step's loss is read after the next step is queued: a GPU then always has a
        // step to run while the host reads, builds the next batch and queues it.
        let mut queued: Option<Queued> = None;
        for (b, indices) in batches.iter().enumerate().skip(progress.batch) {
            if self.interrupt.is_triggered() {
                if let Some(last) = queued.take() {
                    self.record(last, progress, clock)?;
                }
                return Ok(EpochOutcome::Interrupted);
            }
            let ImageBatch { images, targets } = train.batch_tensor(indices, &batcher, device);
            let replaying = stepper.is_replaying();
            let (loss, logits) = stepper.step(images, targets, rate);
            if !replaying && stepper.is_replaying() {
                self.observer.note(&format!(
                    "epoch {epoch}, batch {}: recorded; the steps after it replay it",
                    b + 1
                ));
            }
            let step = Queued {
                batch: b,
                labels: indices.iter().map(|&i| train.labels()[i]).collect(),
                loss,
                logits,
            };
            if let Some(previous) = queued.replace(step) {
                self.record(previous, progress, clock)?;
            }
        }
        if let Some(last) = queued.take() {
            self.record(last, progress, clock)?;
        }
        let (started, seen_before) = clock;
        let train_seconds = started.elapsed().as_secs_f64();
        let model = stepper.model();
        let metrics = self.epoch_metrics(&model, progress, data, rate, train_seconds, seen_before);
        self.observer.epoch_end(&metrics, self.config.epochs);
        progress.history.push(metrics);
        (progress.loss_sum, progress.errors, progress.seen) = (0.0, 0, 0);
        Ok(EpochOutcome::Done)
    }

    /// Reads a queued step's loss and error count ([`Queued::read`]) and adds them to
    /// `progress`. A step whose loss is not finite stops training; the model that took it (and
    /// the step queued after it) is dropped with the error, and the checkpoint on disk
    /// predates both.
    fn record(
        &mut self,
        step: Queued,
        progress: &mut Progress,
        (started, seen_before): (Instant, u64),
    ) -> Result<(), TrainError> {
        let (batch, images) = (step.batch, step.labels.len());
        let (value, errors) = step.read();
        if !value.is_finite() {
            let checkpoint = self
                .checkpoint
                .as_ref()
                .filter(|c| c.exists())
                .map(|c| c.dir().to_owned());
            return Err(TrainError::NonFiniteLoss {
                epoch: progress.epoch,
                batch: batch + 1,
                value,
                checkpoint,
            });
        }
        progress.loss_sum += f64::from(value) * images as f64;
        progress.errors += errors;
        progress.seen += images as u64;
        progress.batch = batch + 1;
        let speed =
            (progress.seen - seen_before) as f64 / started.elapsed().as_secs_f64().max(1e-9);
        let seen = progress.seen as f64;
        self.observer.batch(
            batch,
            progress.loss_sum / seen,
            progress.errors as f64 / seen,
            speed,
        );
        Ok(())
    }

    fn epoch_metrics<M: Network>(
        &self,
        model: &M,
        progress: &Progress,
        data: &Dataset,
        rate: f64,
        seconds: f64,
        seen_before: u64,
    ) -> EpochMetrics {
        let validation = data
            .validation
            .as_ref()
            .filter(|v| !v.is_empty())
            .map(|set| {
                let options = BatcherOptions {
                    augment: None,
                    ..self.batcher_options(&data.train, 0)
                };
                let evaluate = match self.config.replay {
                    true => evaluate_replayed,
                    false => evaluate,
                };
                evaluate(
                    &model.valid(),
                    set,
                    &ImageBatcher::new(options),
                    self.config.batch_size,
                    &self.device,
                )
            });
        let seen = progress.seen.max(1) as f64;
        EpochMetrics {
            epoch: progress.epoch,
            train_loss: progress.loss_sum / seen,
            train_error: progress.errors as f64 / seen,
            valid_loss: validation.as_ref().map(|v| v.loss),
            valid_error: validation.as_ref().map(|v| v.error_rate()),
            learning_rate: rate,
            seconds,
            images_per_second: (progress.seen - seen_before) as f64 / seconds.max(1e-9),
        }
    }
}

/// A training step queued on the device whose loss has not been read yet.
struct Queued {
    /// The step's batch within the epoch, from 0.
    batch: usize,
    /// The batch's labels, on the host.
    labels: Vec<u16>,
    loss: Tensor<1>,
    logits: Tensor<2>,
}

impl Queued {
    /// The loss, and how many predictions (each row's first largest logit, as in
    /// [`evaluate`]) miss their label: the loss and logits read in one transfer, the errors
    /// counted on the host, which costs the device no kernels.
    fn read(self) -> (f32, u64) {
        let [loss, logits] = Transaction::default()
            .register(self.loss)
            .register(self.logits)
            .execute()
            .try_into()
            .expect("two tensors read");
        let loss = loss.try_to_vec::<f32>().expect("an f32 loss")[0];
        let logits = logits.try_to_vec::<f32>().expect("f32 logits");
        (loss, count_errors(&logits, &self.labels))
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum EpochOutcome {
    Done,
    Interrupted,
}

/// burn seeds a device's random numbers process-wide: seeding and initialising under one lock
/// gives the same weights for the same seed even when several trainers start at once.
fn seeded_init<M>(init: impl FnOnce(&Device) -> M, device: &Device, seed: u64) -> M {
    static INIT: std::sync::Mutex<()> = std::sync::Mutex::new(());
    let _guard = INIT.lock().unwrap_or_else(|poisoned| poisoned.into_inner());
    device.seed(seed);
    init(device)
}

/// The sample order of `epoch`: the same for the same seed, so a resumed epoch continues with
/// exactly the batches it had left.
fn shuffled(len: usize, seed: u64, epoch: usize) -> Vec<usize> {
    let mut order: Vec<usize> = (0..len).collect();
    let mut rng = StdRng::seed_from_u64(seed.wrapping_add(epoch as u64));
    order.shuffle(&mut rng);
    order
}

/// Under mixed precision, the way out of a half type's range, for [`TrainError::NonFiniteLoss`].
fn half_precision_hint() -> String {
    match crate::nn::precision::conv_precision() {
        ConvPrecision::F32 => String::new(),
        half => format!(
            ", or convolutions in f32 (they ran in {}: --conv-precision f32)",
            half.name()
        ),
    }
}

/// How many rows of `logits` (one per label) have their first largest value elsewhere than at
/// their label.
fn count_errors(logits: &[f32], labels: &[u16]) -> u64 {
    let classes = logits.len() / labels.len().max(1);
    let rows = logits.chunks_exact(classes.max(1));
    rows.zip(labels)
        .filter(|(row, label)| argmax(row) != usize::from(**label))
        .count() as u64
}

#[cfg(test)]
mod tests {
    #[test]
    fn an_error_is_a_row_whose_first_largest_logit_is_not_at_its_label() {
        let logits = [
            0.1, 0.7, 0.2, // label 1: right
            0.5, 0.2, 0.3, // label 2: wrong
            0.4, 0.4, 0.2, // a tie: the first of the two is the prediction
            0.4, 0.4, 0.2, // label 1, tied with 0 before it: wrong
        ];
        assert_eq!(super::count_errors(&logits, &[1, 2, 0, 1]), 2);
        assert_eq!(super::count_errors(&logits[..3], &[0]), 1);
        assert_eq!(super::count_errors(&[], &[]), 0);
    }

    #[test]
    fn shuffles_reproducibly_per_epoch() {
        let a = super::shuffled(100, 7, 1);
        assert_eq!(a, super::shuffled(100, 7, 1));
        assert_ne!(a, super::shuffled(100, 7, 2));
        let mut sorted = a.clone();
        sorted.sort();
        assert_eq!(sorted, (0..100).collect::<Vec<_>>());
    }
}
