//! Training one proposed network for its budget, reporting after every epoch.

use std::path::{Path, PathBuf};

use burn::tensor::Device;
use cnn_runtime::data::Dataset;
use cnn_runtime::nn::Net;
use cnn_runtime::report::history::EpochMetrics;
use cnn_runtime::train::{Checkpoint, Interrupt, Observer, Stop, TrainConfig, Trainer};

use crate::study::{Claim, Settings};

/// What training a trial gave.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Validation accuracy after the last epoch trained.
    pub accuracy: f64,
    pub epochs: usize,
    /// True when the median rule stopped it before its last epoch.
    pub stopped: bool,
    pub seconds: f64,
}

/// Why a trial did not finish.
#[derive(Debug)]
pub enum TrialEnd {
    /// Training failed; the trial is recorded as failed with this message.
    Failed(String),
    /// Ctrl-C, or the trial was taken from this worker: nothing is recorded, and the
    /// checkpoint lets a later run resume it.
    Interrupted,
}

/// Trains the networks of trials; [`Training`] does it for real, tests use cheaper ones.
pub trait Evaluate {
    /// Trains `network` (trial `claim`), calling `report(epoch, accuracy)` after every epoch;
    /// a false answer stops it. `stop` is set when the trial must end at once.
    fn evaluate(
        &mut self,
        claim: &Claim,
        network: &cnn_arch::Network,
        report: &mut dyn FnMut(usize, f64) -> bool,
        stop: &Interrupt,
    ) -> Result<Evaluation, TrialEnd>;

    /// Called once the study has recorded `claim`'s end: what only a rerun needed can go.
    fn recorded(&mut self, _claim: &Claim) {}
}

/// Trains each trial's runtime network on the study's training subset, with checkpoints in
/// `DIR/trials/NNNNN/`, so that a trial run again after its worker died resumes from its last
/// epoch.
pub struct Training {
    pub data: Dataset,
    pub settings: Settings,
    /// The study's seed: trial `n` trains with seed `seed + n`.
    pub seed: u64,
    pub dir: PathBuf,
    pub device: Device,
}

impl Training {
    /// The checkpoint directory of trial `number`, which holds its weights (`model.bpk`).
    pub fn trial_dir(dir: &Path, number: i64) -> PathBuf {
        dir.join("trials").join(format!("{number:05}"))
    }
}

impl Evaluate for Training {
    fn evaluate(
        &mut self,
        claim: &Claim,
        network: &cnn_arch::Network,
        report: &mut dyn FnMut(usize, f64) -> bool,
        stop: &Interrupt,
    ) -> Result<Evaluation, TrialEnd> {
        let s = &self.settings;
        let config = TrainConfig {
            epochs: s.epochs,
            batch_size: s.batch_size,
            learning_rate: s.learning_rate,
            weight_decay: s.weight_decay,
            seed: self.seed.wrapping_add(claim.number as u64),
            ..TrainConfig::default()
        };
        let checkpoint = Checkpoint::new(Self::trial_dir(&self.dir, claim.number));
        let resume = checkpoint.exists();
        let mut observer = Pruning {
            report,
            stop: stop.clone(),
            pruned: false,
            accuracy: None,
        };
        let mut trainer = Trainer {
            config,
            device: self.device.clone(),
            checkpoint: Some(checkpoint),
            interrupt: stop.clone(),
            observer: &mut observer,
        };
        let trained = trainer
            .fit(|device| Net::new(network, device), &self.data, resume)
            .map_err(|e| TrialEnd::Failed(e.to_string()))?;
        let epochs = trained.history.len();
        let stopped = match trained.stop {
            Stop::Interrupted if observer.pruned => true,
            Stop::Interrupted => return Err(TrialEnd::Interrupted),
            Stop::Completed | Stop::EarlyStopped { .. } => false,
        };
        let accuracy = observer
            .accuracy
            .ok_or_else(|| TrialEnd::Failed("no validation split to score the trial on".into()))?;
        Ok(Evaluation {
            accuracy,
            epochs,
            stopped,
            seconds: trained.seconds,
        })
    }

    /// Keeps the weights only: thousands of trials' Adam moments would fill the disk.
    fn recorded(&mut self, claim: &Claim) {
        let moments = Self::trial_dir(&self.dir, claim.number).join("optimizer.bpk");
        std::fs::remove_file(moments).ok();
    }
}

/// Reports each epoch's validation accuracy to the study, and stops training when the study
/// says so (the trainer checks its interrupt before every batch).
struct Pruning<'r> {
    report: &'r mut dyn FnMut(usize, f64) -> bool,
    stop: Interrupt,
    pruned: bool,
    accuracy: Option<f64>,
}

impl Observer for Pruning<'_> {
    fn epoch_start(&mut self, _: usize, _: usize, _: usize, _: usize) {}

    fn batch(&mut self, _: usize, _: f64, _: f64, _: f64) {
        if Interrupt::ctrl_c().is_triggered() {
            self.stop.trigger();
        }
    }

    fn epoch_end(&mut self, metrics: &EpochMetrics, _: usize) {
        let Some(error) = metrics.valid_error else {
            return;
        };
        let accuracy = 1.0 - error;
        self.accuracy = Some(accuracy);
        if !(self.report)(metrics.epoch, accuracy) {
            self.pruned = true;
            self.stop.trigger();
        }
    }

    fn note(&mut self, _: &str) {}
}
