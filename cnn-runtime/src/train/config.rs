//! What a training run is asked to do.

use serde::{Deserialize, Serialize};

use crate::data::Augment;

/// Settings of a training run. The defaults are the user's original TensorFlow settings:
/// Adam (epsilon 1e-8), learning rate 1e-3, L2 weight decay 1e-3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TrainConfig {
    pub epochs: usize,
    pub batch_size: usize,
    pub learning_rate: f64,
    /// L2 penalty added to the gradients by Adam (`WeightDecayConfig`); 0 disables it.
    pub weight_decay: f64,
    /// Adam's epsilon: 1e-8 as in TensorFlow's `AdamOptimizer` and PyTorch (burn's own
    /// default, 1e-5, damps the small gradients of a freshly initialised deep network).
    pub adam_epsilon: f64,
    /// Seeds weight initialisation, dropout, shuffling and augmentation.
    pub seed: u64,
    pub schedule: Schedule,
    /// Stop when the validation loss has not improved for this many epochs.
    pub early_stopping: Option<usize>,
    /// Random crops (and flips) of training images.
    #[serde(with = "crate::data::augment::compat", default)]
    pub augment: Option<Augment>,
    /// Label smoothing of the training loss ([`crate::nn::loss::Targets::smoothed`]); 0 for
    /// none. Validation losses are against the plain labels.
    #[serde(default)]
    pub label_smoothing: f64,
    /// Standardise each channel with the training set's mean and std.
    pub standardize: bool,
    /// Step through [`crate::train::replay`]: on a GPU each step after the first few replays a
    /// recorded one, with the same Adam, losses and dropout, and each validation pass replays
    /// a recorded forward pass ([`crate::train::replay::ReplayForward`]). Checkpoints then keep its
    /// Adam state, which only a run with `replay` resumes.
    #[serde(default)]
    pub replay: bool,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 64,
            learning_rate: 1e-3,
            weight_decay: 1e-3,
            adam_epsilon: 1e-8,
            seed: 42,
            schedule: Schedule::Constant,
            early_stopping: None,
            augment: None,
            label_smoothing: 0.0,
            standardize: false,
            replay: false,
        }
    }
}

/// How the learning rate changes from epoch to epoch.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum Schedule {
    Constant,
    /// Multiply by `gamma` every `every` epochs.
    Step {
        every: usize,
        gamma: f64,
    },
    /// Cosine decay from the initial rate to `min` over the run.
    Cosine {
        min: f64,
    },
}

impl Schedule {
    /// The learning rate of 1-based `epoch` out of `epochs`.
    pub fn rate(self, initial: f64, epoch: usize, epochs: usize) -> f64 {
        let done = epoch.saturating_sub(1);
        match self {
            Schedule::Constant => initial,
            Schedule::Step { every, gamma } => initial * gamma.powi((done / every.max(1)) as i32),
            Schedule::Cosine { min } => {
                let progress = done as f64 / epochs.saturating_sub(1).max(1) as f64;
                min + (initial - min) * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos())
            }
        }
    }
}

impl std::str::FromStr for Schedule {
    type Err = String;

    /// `constant`, `step:EVERY:GAMMA` (e.g. `step:5:0.5`) or `cosine[:MIN]`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let parts: Vec<&str> = s.split(':').collect();
        let number = |text: &str| {
            text.parse::<f64>()
                .map_err(|_| format!("`{text}` is not a number in schedule `{s}`"))
        };
        match parts.as_slice() {
            ["constant"] => Ok(Schedule::Constant),
            ["step", every, gamma] => Ok(Schedule::Step {
                every: every
                    .parse()
                    .map_err(|_| format!("`{every}` is not a whole number of epochs"))?,
                gamma: number(gamma)?,
            }),
            ["cosine"] => Ok(Schedule::Cosine { min: 0.0 }),
            ["cosine", min] => Ok(Schedule::Cosine { min: number(min)? }),
            _ => Err(format!(
                "unknown schedule `{s}`; expected `constant`, `step:EVERY:GAMMA` or `cosine[:MIN]`"
            )),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schedules() {
        assert_eq!(Schedule::Constant.rate(1e-3, 7, 10), 1e-3);
        let step: Schedule = "step:2:0.5".parse().unwrap();
        let rates: Vec<f64> = (1..=5).map(|e| step.rate(1.0, e, 5)).collect();
        assert_eq!(rates, [1.0, 1.0, 0.5, 0.5, 0.25]);
        let cosine: Schedule = "cosine:0.1".parse().unwrap();
        assert_eq!(cosine.rate(1.0, 1, 5), 1.0);
        assert!((cosine.rate(1.0, 3, 5) - 0.55).abs() < 1e-12);
        assert!((cosine.rate(1.0, 5, 5) - 0.1).abs() < 1e-12);
        assert!(
            "linear"
                .parse::<Schedule>()
                .unwrap_err()
                .contains("unknown schedule")
        );
        assert!("step:x:0.5".parse::<Schedule>().is_err());
    }
}
