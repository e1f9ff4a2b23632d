//! How every trial of a study is trained and scored: fixed when the study is created, so that
//! every worker that joins it runs the same search.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Settings {
    /// The dataset's name, as `cnn train --dataset` takes it.
    pub dataset: String,
    /// The networks' input shape and classes (the dataset's).
    pub input: [usize; 3],
    pub classes: usize,
    /// How many networks to train (invalid proposals do not count).
    pub trials: usize,
    /// Epochs per trial, and the batch, learning rate and L2 weight decay of Adam.
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    pub weight_decay: f64,
    /// Train on a class-stratified subset of this many images (all when `None`).
    pub train_images: Option<usize>,
    /// The fraction of the training set held out to score trials on.
    pub validation: f64,
    /// The reward is validation accuracy minus this much per million multiply-adds.
    pub macs_penalty: f64,
    /// The reward of a network that cannot be trained: invalid, failed, or lost.
    pub penalty: f64,
    /// The median rule: from this epoch on, once this many trials finished, a trial whose
    /// accuracy trails their median at the same epoch stops (0 trials turns it off).
    pub prune_after: usize,
    pub prune_min_trials: usize,
    /// A running trial whose worker sent no heartbeat for this many seconds is taken back.
    pub heartbeat_timeout: f64,
    /// How many times a trial runs before its workers' deaths mark it failed.
    pub max_attempts: usize,
}

impl Settings {
    /// The reward of a trained network.
    pub fn reward(&self, accuracy: f64, macs: u64) -> f64 {
        accuracy - self.macs_penalty * macs as f64 / 1e6
    }

    /// Seconds between a worker's heartbeats: a quarter of the timeout.
    pub fn heartbeat_interval(&self) -> f64 {
        self.heartbeat_timeout / 4.0
    }

    /// The first setting no study could run with, described.
    pub fn check(&self) -> Result<(), String> {
        let positive = |x: f64| x > 0.0 && x.is_finite();
        let problems = [
            (self.trials == 0, "the budget must be at least 1 trial"),
            (self.epochs == 0, "trials need at least 1 epoch"),
            (self.batch_size == 0, "the batch size must be at least 1"),
            (
                !positive(self.learning_rate),
                "the learning rate must be positive",
            ),
            (
                !(self.weight_decay >= 0.0 && self.weight_decay.is_finite()),
                "the weight decay must be 0 or more",
            ),
            (
                !(self.validation > 0.0 && self.validation < 1.0),
                "the validation fraction must be between 0 and 1: trials are scored on it",
            ),
            (
                !(self.macs_penalty >= 0.0 && self.macs_penalty.is_finite()),
                "the multiply-add penalty must be 0 or more",
            ),
            (
                !self.penalty.is_finite(),
                "the penalty must be a finite number",
            ),
            (
                !positive(self.heartbeat_timeout),
                "the heartbeat timeout must be positive",
            ),
            (self.max_attempts == 0, "a trial needs at least 1 attempt"),
            (
                self.train_images.is_some_and(|n| n < self.classes),
                "the training subset needs at least one image per class",
            ),
        ];
        match problems.iter().find(|(bad, _)| *bad) {
            Some((_, problem)) => Err((*problem).into()),
            None => Ok(()),
        }
    }

    /// A one-line description, for messages that compare two studies.
    pub fn describe(&self) -> String {
        format!(
            "dataset {}, {} trials of {} epochs (batch {}, lr {}, weight decay {}), {} training images, validation {}",
            self.dataset,
            self.trials,
            self.epochs,
            self.batch_size,
            self.learning_rate,
            self.weight_decay,
            self.train_images.map_or("all".into(), |n| n.to_string()),
            self.validation
        )
    }
}
