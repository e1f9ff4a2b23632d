//! What a study found, written into its directory: `trials.csv`, `report.md`, the plots, and
//! the best network as an ARCH file (`best.json`, which `cnn_from_json!` takes verbatim) with
//! its trained weights (`best.bpk`, which the generated struct loads).

#[cfg(feature = "plots")]
mod plots;
mod summary;

use std::path::{Path, PathBuf};

use crate::study::{Study, StudyError, Trial, TrialState};
use crate::trial::Training;
pub use summary::{Progress, layers, status};

/// Why a report could not be written.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error(transparent)]
    Study(#[from] StudyError),
    #[error("cannot write {}: {source}", path.display())]
    Write {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("trials.csv: {0}")]
    Csv(#[from] csv::Error),
    #[error("the best trial's ARCH no longer checks: {0}")]
    Arch(String),
    #[cfg(feature = "plots")]
    #[error(transparent)]
    Plot(#[from] cnn_runtime::report::plots::PlotError),
}

/// One study's trials, for reports that compare several.
pub struct StudyTrials {
    pub label: String,
    pub created: f64,
    pub trials: Vec<Trial>,
}

impl StudyTrials {
    /// `study`'s trials, labelled with its strategy and its file (or name, on a server).
    pub fn of(study: &mut Study) -> Result<Self, StudyError> {
        let location = Path::new(study.location());
        let place = match location.file_name() {
            Some(file) if !study.location().contains("://") => file.to_string_lossy().into_owned(),
            _ => study.name.clone(),
        };
        Ok(StudyTrials {
            label: format!("{}: {place}", study.kind.name()),
            created: study.created,
            trials: study.trials()?,
        })
    }
}

/// Writes the report of `study` into `out`, with the best trial's weights from the study's
/// directory `dir` where they are; `others` add lines to the best-reward plot. Returns the
/// files written.
pub fn write(
    study: &mut Study,
    dir: &Path,
    out: &Path,
    others: &[StudyTrials],
) -> Result<Vec<PathBuf>, ReportError> {
    std::fs::create_dir_all(out).map_err(|source| ReportError::Write {
        path: out.into(),
        source,
    })?;
    let trials = study.trials()?;
    let mut written = vec![write_csv(&trials, &out.join("trials.csv"))?];
    let best = best_trial(&trials);
    if let Some(best) = best {
        written.extend(write_best(study, best, dir, out)?);
    }
    #[cfg(feature = "plots")]
    {
        let this = StudyTrials::of(study)?;
        let mut all = vec![&this];
        all.extend(others);
        written.push(plots::best_so_far_plot(&all, &out.join("best_reward.png"))?);
        written.push(plots::pareto(&trials, &out.join("accuracy_vs_macs.png"))?);
    }
    #[cfg(not(feature = "plots"))]
    let _ = others;
    let weights = written.iter().any(|p| p.ends_with("best.bpk"));
    let markdown = summary::markdown(study, &trials, best, weights);
    written.push(write_file(&out.join("report.md"), &markdown)?);
    Ok(written)
}

/// The trained trial with the highest reward.
pub fn best_trial(trials: &[Trial]) -> Option<&Trial> {
    trials
        .iter()
        .filter(|t| matches!(t.state, TrialState::Done | TrialState::Stopped))
        .filter(|t| t.reward.is_some_and(f64::is_finite))
        .max_by(|a, b| a.reward.unwrap_or(0.0).total_cmp(&b.reward.unwrap_or(0.0)))
}

/// `best.json`, and `best.bpk` where this machine holds the trial's weights (in `dir`).
fn write_best(
    study: &Study,
    best: &Trial,
    dir: &Path,
    out: &Path,
) -> Result<Vec<PathBuf>, ReportError> {
    let network = study
        .network(&best.arch, "BestNet")
        .map_err(|e| ReportError::Arch(e.to_string()))?;
    let mut written = vec![write_file(
        &out.join("best.json"),
        &(network.to_json() + "\n"),
    )?];
    let weights = Training::trial_dir(dir, best.number).join("model.bpk");
    if weights.is_file() {
        let path = out.join("best.bpk");
        std::fs::copy(&weights, &path).map_err(|source| ReportError::Write {
            path: path.clone(),
            source,
        })?;
        written.push(path);
    }
    Ok(written)
}

fn write_csv(trials: &[Trial], path: &Path) -> Result<PathBuf, ReportError> {
    let mut out = csv::Writer::from_path(path)?;
    out.write_record([
        "number",
        "state",
        "reward",
        "accuracy",
        "params",
        "macs",
        "epochs",
        "seconds",
        "overhead_seconds",
        "attempts",
        "worker",
        "created",
        "finished",
        "message",
        "genome",
        "layers",
    ])?;
    let text = |v: Option<String>| v.unwrap_or_default();
    for t in trials {
        out.write_record([
            t.number.to_string(),
            t.state.name().into(),
            text(t.reward.map(|r| format!("{r:.6}"))),
            text(t.accuracy.map(|a| format!("{a:.6}"))),
            text(t.params.map(|p| p.to_string())),
            text(t.macs.map(|m| m.to_string())),
            t.epochs.to_string(),
            text(t.seconds.map(|s| format!("{s:.3}"))),
            format!("{:.4}", t.overhead),
            t.attempts.to_string(),
            text(t.worker.clone()),
            format!("{:.3}", t.created),
            text(t.finished.map(|f| format!("{f:.3}"))),
            text(t.message.clone()),
            serde_json::to_string(&t.genome).unwrap_or_default(),
            summary::layers(&t.arch),
        ])?;
    }
    out.flush().map_err(|source| ReportError::Write {
        path: path.into(),
        source,
    })?;
    Ok(path.into())
}

fn write_file(path: &Path, text: &str) -> Result<PathBuf, ReportError> {
    std::fs::write(path, text).map_err(|source| ReportError::Write {
        path: path.into(),
        source,
    })?;
    Ok(path.into())
}
