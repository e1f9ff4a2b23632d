//! Checkpoints: weights, optimizer state and where training stands, written after every epoch
//! and on interruption, so that `--resume` continues where a run stopped.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use serde::{Deserialize, Serialize};

use super::TrainError;
use crate::history::EpochMetrics;

/// Where training stands: the next batch to run and what the epoch has summed so far.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Progress {
    /// 1-based epoch the next batch belongs to.
    pub epoch: usize,
    /// 0-based batch of `epoch` to run next (0 when the epoch has not started).
    pub batch: usize,
    /// Sums over the batches of `epoch` run so far.
    pub loss_sum: f64,
    pub errors: u64,
    pub seen: u64,
    /// Seconds spent training in earlier sessions of this run.
    pub seconds: f64,
    pub history: Vec<EpochMetrics>,
    /// Best validation loss so far and the epochs since it improved (early stopping).
    pub best_valid_loss: Option<f64>,
    pub epochs_without_improvement: usize,
}

impl Progress {
    pub fn start() -> Self {
        Progress {
            epoch: 1,
            batch: 0,
            loss_sum: 0.0,
            errors: 0,
            seen: 0,
            seconds: 0.0,
            history: Vec::new(),
            best_valid_loss: None,
            epochs_without_improvement: 0,
        }
    }
}

/// The files of a checkpoint directory.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    dir: PathBuf,
}

impl Checkpoint {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Checkpoint { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    pub fn model_path(&self) -> PathBuf {
        self.dir.join("model.bpk")
    }

    fn optimizer_path(&self) -> PathBuf {
        self.dir.join("optimizer.bpk")
    }

    fn progress_path(&self) -> PathBuf {
        self.dir.join("progress.json")
    }

    pub fn exists(&self) -> bool {
        self.progress_path().is_file()
    }

    /// Writes every file beside its final name first and renames it into place, progress last:
    /// an interruption while saving leaves the previous checkpoint whole.
    pub fn save<M: Module>(
        &self,
        model: &M,
        optimizer: &ModuleOptimizer,
        progress: &Progress,
    ) -> Result<(), TrainError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| self.error(&self.dir, e))?;
        let staged = |path: PathBuf| path.with_extension("partial");
        let model_path = self.model_path();
        model
            .clone()
            .save_file(staged(model_path.clone()))
            .map_err(|e| self.error(&model_path, e))?;
        let optimizer_path = self.optimizer_path();
        optimizer
            .save(staged(optimizer_path.clone()))
            .map_err(|e| self.error(&optimizer_path, e))?;
        let progress_path = self.progress_path();
        let json = serde_json::to_string_pretty(progress).expect("progress serialises");
        std::fs::write(staged(progress_path.clone()), json)
            .map_err(|e| self.error(&progress_path, e))?;
        for path in [model_path, optimizer_path, progress_path] {
            std::fs::rename(staged(path.clone()), &path).map_err(|e| self.error(&path, e))?;
        }
        Ok(())
    }

    /// Loads the weights into `model`, the state into `optimizer`, and the progress.
    pub fn load<M: Module>(
        &self,
        model: M,
        optimizer: ModuleOptimizer,
    ) -> Result<(M, ModuleOptimizer, Progress), TrainError> {
        let progress_path = self.progress_path();
        let text =
            std::fs::read_to_string(&progress_path).map_err(|e| self.error(&progress_path, e))?;
        let progress: Progress =
            serde_json::from_str(&text).map_err(|e| self.error(&progress_path, e))?;
        let model_path = self.model_path();
        let model = model
            .try_load_file(&model_path)
            .map_err(|e| self.error(&model_path, e))?;
        let optimizer_path = self.optimizer_path();
        let optimizer = optimizer
            .load(&optimizer_path)
            .map_err(|e| self.error(&optimizer_path, e))?;
        Ok((model, optimizer, progress))
    }

    fn error(&self, path: &Path, e: impl std::fmt::Display) -> TrainError {
        TrainError::Checkpoint {
            path: path.to_owned(),
            message: e.to_string(),
        }
    }
}
