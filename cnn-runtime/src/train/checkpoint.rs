//! Checkpoints: weights, optimizer state and where training stands, written after every epoch
//! and on interruption, so that `--resume` continues where a run stopped.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use serde::{Deserialize, Serialize};

use super::TrainError;
use crate::report::history::EpochMetrics;

/// What a checkpoint keeps of the optimizer.
pub enum OptimizerState<M> {
    /// burn's Adam, in `optimizer.bpk`.
    Burn(ModuleOptimizer),
    /// The replayed step's Adam ([`crate::train::replay`]): its moments as copies of the model, in
    /// `adam_moment_1.bpk` and `adam_moment_2.bpk`, and its step count, in `adam_steps.txt`.
    Replayed { moments: [M; 2], steps: usize },
}

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
    /// an interruption while saving leaves the previous checkpoint whole. The other optimizer's
    /// files, from an earlier run in this directory, are removed, so that a resume cannot pick
    /// them up.
    pub fn save<M: Module>(
        &self,
        model: &M,
        optimizer: &OptimizerState<M>,
        progress: &Progress,
    ) -> Result<(), TrainError> {
        std::fs::create_dir_all(&self.dir).map_err(|e| self.error(&self.dir, e))?;
        let staged = |path: &Path| path.with_extension("partial");
        let model_path = self.model_path();
        model
            .clone()
            .save_file(staged(&model_path))
            .map_err(|e| self.error(&model_path, e))?;
        let mut written = vec![model_path];
        match optimizer {
            OptimizerState::Burn(optimizer) => {
                let path = self.optimizer_path();
                optimizer
                    .save(staged(&path))
                    .map_err(|e| self.error(&path, e))?;
                written.push(path);
            }
            OptimizerState::Replayed { moments, steps } => {
                for (moment, path) in moments.iter().zip(self.moment_paths()) {
                    moment
                        .clone()
                        .save_file(staged(&path))
                        .map_err(|e| self.error(&path, e))?;
                    written.push(path);
                }
                let path = self.steps_path();
                std::fs::write(staged(&path), steps.to_string())
                    .map_err(|e| self.error(&path, e))?;
                written.push(path);
            }
        }
        let progress_path = self.progress_path();
        let json = serde_json::to_string_pretty(progress).expect("progress serialises");
        std::fs::write(staged(&progress_path), json).map_err(|e| self.error(&progress_path, e))?;
        written.push(progress_path);
        for path in &written {
            std::fs::rename(staged(path), path).map_err(|e| self.error(path, e))?;
        }
        for path in self.optimizer_files(matches!(optimizer, OptimizerState::Burn(_))) {
            match std::fs::remove_file(&path) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(self.error(&path, e));
                }
                _ => {}
            }
        }
        Ok(())
    }

    /// Loads the checkpoint into `model` and `optimizer` (a fresh optimizer of the kind the
    /// run uses; for the replayed step's, `moments` are copies of the model to load into).
    pub fn load<M: Module>(
        &self,
        model: M,
        optimizer: OptimizerState<M>,
    ) -> Result<(M, OptimizerState<M>, Progress), TrainError> {
        let progress_path = self.progress_path();
        let text =
            std::fs::read_to_string(&progress_path).map_err(|e| self.error(&progress_path, e))?;
        let progress: Progress =
            serde_json::from_str(&text).map_err(|e| self.error(&progress_path, e))?;
        let model_path = self.model_path();
        let model = model
            .try_load_file(&model_path)
            .map_err(|e| self.error(&model_path, e))?;
        let replayed = !matches!(optimizer, OptimizerState::Burn(_));
        if let Some(other) = self
            .optimizer_files(!replayed)
            .into_iter()
            .find(|p| p.is_file())
        {
            let (written, asked) = match replayed {
                true => ("burn's Adam", "without --replay"),
                false => ("the replayed step's Adam (--replay)", "with --replay"),
            };
            return Err(self.error(
                &other,
                format!(
                    "this checkpoint's optimizer state was written by {written}: resume it {asked}"
                ),
            ));
        }
        let optimizer = match optimizer {
            OptimizerState::Burn(optimizer) => {
                let path = self.optimizer_path();
                OptimizerState::Burn(optimizer.load(&path).map_err(|e| self.error(&path, e))?)
            }
            OptimizerState::Replayed { moments, .. } => {
                let [first, second] = moments;
                let [first_path, second_path] = self.moment_paths();
                let load = |moment: M, path: PathBuf| {
                    moment
                        .try_load_file(&path)
                        .map_err(|e| self.error(&path, e))
                };
                let moments = [load(first, first_path)?, load(second, second_path)?];
                let path = self.steps_path();
                let text = std::fs::read_to_string(&path).map_err(|e| self.error(&path, e))?;
                let steps = text.trim().parse().map_err(|e| self.error(&path, e))?;
                OptimizerState::Replayed { moments, steps }
            }
        };
        Ok((model, optimizer, progress))
    }

    fn moment_paths(&self) -> [PathBuf; 2] {
        ["adam_moment_1.bpk", "adam_moment_2.bpk"].map(|name| self.dir.join(name))
    }

    fn steps_path(&self) -> PathBuf {
        self.dir.join("adam_steps.txt")
    }

    /// The files of the replayed step's optimizer state (`replayed`), or of burn's.
    fn optimizer_files(&self, replayed: bool) -> Vec<PathBuf> {
        match replayed {
            true => [self.moment_paths().to_vec(), vec![self.steps_path()]].concat(),
            false => vec![self.optimizer_path()],
        }
    }

    fn error(&self, path: &Path, e: impl std::fmt::Display) -> TrainError {
        TrainError::Checkpoint {
            path: path.to_owned(),
            message: e.to_string(),
        }
    }
}
