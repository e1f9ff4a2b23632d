//! Checkpoints: weights, optimizer state and where training stands, written after every epoch
//! and on interruption, so that `--resume` continues where a run stopped.

use std::path::{Path, PathBuf};

use burn::module::Module;
use burn::optim::ModuleOptimizer;
use serde::{Deserialize, Serialize};

use super::TrainError;
use crate::durable;
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
///
/// The directory belongs to the checkpoint: every save replaces it whole. A save writes the new
/// checkpoint into `NAME.partial` beside it and flushes it to the disk; then the current
/// directory becomes `NAME.old`, `NAME.partial` becomes `NAME`, and `NAME.old` is removed. A run
/// killed at any moment of this leaves one whole checkpoint, the last one or the new one, never
/// the weights of one with the progress of another: [`Checkpoint::load`] finds it, and the next
/// save tidies up the rest.
#[derive(Debug, Clone)]
pub struct Checkpoint {
    dir: PathBuf,
}

const MODEL: &str = "model.bpk";
const OPTIMIZER: &str = "optimizer.bpk";
const PROGRESS: &str = "progress.json";
const MOMENTS: [&str; 2] = ["adam_moment_1.bpk", "adam_moment_2.bpk"];
const STEPS: &str = "adam_steps.txt";

impl Checkpoint {
    pub fn new(dir: impl Into<PathBuf>) -> Self {
        Checkpoint { dir: dir.into() }
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    /// The weights of the last checkpoint saved.
    pub fn model_path(&self) -> PathBuf {
        self.dir.join(MODEL)
    }

    /// Whether there is a whole checkpoint to resume from.
    pub fn exists(&self) -> bool {
        self.committed().is_some()
    }

    /// Saves a checkpoint in place of the last one (see [`Checkpoint`] for how an interruption
    /// cannot leave a mixed one).
    pub fn save<M: Module>(
        &self,
        model: &M,
        optimizer: &OptimizerState<M>,
        progress: &Progress,
    ) -> Result<(), TrainError> {
        self.settle()?;
        let staging = self.sibling("partial");
        self.write(&staging, model, optimizer, progress)?;
        let old = self.sibling("old");
        if self.dir.exists() {
            std::fs::rename(&self.dir, &old).map_err(|e| self.error(&self.dir, e))?;
        }
        std::fs::rename(&staging, &self.dir).map_err(|e| self.error(&self.dir, e))?;
        self.sync_parent()?;
        self.remove(&old)
    }

    /// Every file of the checkpoint, into `staging`, progress last, each flushed to the disk.
    /// Errors name the file's final path.
    fn write<M: Module>(
        &self,
        staging: &Path,
        model: &M,
        optimizer: &OptimizerState<M>,
        progress: &Progress,
    ) -> Result<(), TrainError> {
        std::fs::create_dir_all(staging).map_err(|e| self.error(&self.dir, e))?;
        let save_model = |model: &M, name: &str| {
            model
                .clone()
                .save_file(staging.join(name))
                .map_err(|e| self.error(&self.dir.join(name), e))
        };
        save_model(model, MODEL)?;
        let mut names = vec![MODEL];
        match optimizer {
            OptimizerState::Burn(optimizer) => {
                optimizer
                    .save(staging.join(OPTIMIZER))
                    .map_err(|e| self.error(&self.dir.join(OPTIMIZER), e))?;
                names.push(OPTIMIZER);
            }
            OptimizerState::Replayed { moments, steps } => {
                for (moment, name) in moments.iter().zip(MOMENTS) {
                    save_model(moment, name)?;
                }
                let text = steps.to_string();
                self.write_text(staging, STEPS, &text)?;
                names.extend(MOMENTS.into_iter().chain([STEPS]));
            }
        }
        let json = serde_json::to_string_pretty(progress).expect("progress serialises");
        self.write_text(staging, PROGRESS, &json)?;
        names.push(PROGRESS);
        for name in names {
            durable::sync_file(&staging.join(name))
                .map_err(|e| self.error(&self.dir.join(name), e))?;
        }
        durable::sync_dir(staging).map_err(|e| self.error(&self.dir, e))
    }

    fn write_text(&self, staging: &Path, name: &str, text: &str) -> Result<(), TrainError> {
        std::fs::write(staging.join(name), text).map_err(|e| self.error(&self.dir.join(name), e))
    }

    /// The directory that holds the last whole checkpoint. That is this one, except when a save
    /// was stopped between its two renames: then this one is missing, and `NAME.partial` is
    /// whole (`NAME.old` exists only once it is).
    fn committed(&self) -> Option<PathBuf> {
        if self.dir.exists() {
            return self.dir.join(PROGRESS).is_file().then(|| self.dir.clone());
        }
        let (staging, old) = (self.sibling("partial"), self.sibling("old"));
        match (old.exists(), staging.join(PROGRESS).is_file()) {
            (true, true) => Some(staging),
            (true, false) => old.join(PROGRESS).is_file().then_some(old),
            (false, _) => None,
        }
    }

    /// Puts back in place a checkpoint that an interrupted save left under another name, and
    /// removes what is left of that save.
    fn settle(&self) -> Result<(), TrainError> {
        if !self.dir.exists()
            && let Some(committed) = self.committed()
        {
            std::fs::rename(&committed, &self.dir).map_err(|e| self.error(&self.dir, e))?;
        }
        self.remove(&self.sibling("partial"))?;
        self.remove(&self.sibling("old"))
    }

    /// `NAME.suffix`, beside the checkpoint's directory.
    fn sibling(&self, suffix: &str) -> PathBuf {
        let mut name = self.dir.file_name().unwrap_or_default().to_owned();
        name.push(".");
        name.push(suffix);
        self.dir.with_file_name(name)
    }

    fn remove(&self, dir: &Path) -> Result<(), TrainError> {
        match std::fs::remove_dir_all(dir) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(self.error(dir, e)),
            _ => Ok(()),
        }
    }

    fn sync_parent(&self) -> Result<(), TrainError> {
        let parent = durable::parent(&self.dir);
        durable::sync_dir(parent).map_err(|e| self.error(parent, e))
    }

    /// Loads the checkpoint into `model` and `optimizer` (a fresh optimizer of the kind the
    /// run uses; for the replayed step's, `moments` are copies of the model to load into).
    pub fn load<M: Module>(
        &self,
        model: M,
        optimizer: OptimizerState<M>,
    ) -> Result<(M, OptimizerState<M>, Progress), TrainError> {
        let dir = self.committed().unwrap_or_else(|| self.dir.clone());
        let progress_path = dir.join(PROGRESS);
        let text =
            std::fs::read_to_string(&progress_path).map_err(|e| self.error(&progress_path, e))?;
        let progress: Progress =
            serde_json::from_str(&text).map_err(|e| self.error(&progress_path, e))?;
        let model_path = dir.join(MODEL);
        let model = model
            .try_load_file(&model_path)
            .map_err(|e| self.error(&model_path, e))?;
        let replayed = !matches!(optimizer, OptimizerState::Burn(_));
        self.refuse_other_optimizer(&dir, replayed)?;
        let optimizer = match optimizer {
            OptimizerState::Burn(optimizer) => {
                let path = dir.join(OPTIMIZER);
                OptimizerState::Burn(optimizer.load(&path).map_err(|e| self.error(&path, e))?)
            }
            OptimizerState::Replayed { moments, .. } => {
                let load = |moment: M, name: &str| {
                    let path = dir.join(name);
                    moment
                        .try_load_file(&path)
                        .map_err(|e| self.error(&path, e))
                };
                let [first, second] = moments;
                let moments = [load(first, MOMENTS[0])?, load(second, MOMENTS[1])?];
                let path = dir.join(STEPS);
                let text = std::fs::read_to_string(&path).map_err(|e| self.error(&path, e))?;
                let steps = text.trim().parse().map_err(|e| self.error(&path, e))?;
                OptimizerState::Replayed { moments, steps }
            }
        };
        Ok((model, optimizer, progress))
    }

    /// An error naming the file when `dir` holds the other optimizer's state (`replayed`: the
    /// run uses the replayed step's).
    fn refuse_other_optimizer(&self, dir: &Path, replayed: bool) -> Result<(), TrainError> {
        let other: Vec<&str> = match replayed {
            true => vec![OPTIMIZER],
            false => MOMENTS.into_iter().chain([STEPS]).collect(),
        };
        let Some(found) = other
            .iter()
            .map(|name| dir.join(name))
            .find(|p| p.is_file())
        else {
            return Ok(());
        };
        let (written, asked) = match replayed {
            true => ("burn's Adam", "without --replay"),
            false => ("the replayed step's Adam (--replay)", "with --replay"),
        };
        Err(self.error(
            &found,
            format!(
                "this checkpoint's optimizer state was written by {written}: resume it {asked}"
            ),
        ))
    }

    fn error(&self, path: &Path, e: impl std::fmt::Display) -> TrainError {
        TrainError::Checkpoint {
            path: path.to_owned(),
            message: e.to_string(),
        }
    }
}
