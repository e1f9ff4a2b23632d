//! The run directory's report: `report.md`, `metrics.csv`, `metrics.json` and the plots, from
//! the per-epoch [`history`] and the [`plots`].

pub mod history;
#[cfg(feature = "plots")]
pub mod plots;

use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use serde::Serialize;

use crate::eval::evaluate::Evaluation;
use crate::eval::metrics::{ClassificationReport, ConfusionMatrix, MetricsError};
use crate::train::{Stop, TrainConfig};
pub use history::EpochMetrics;
#[cfg(feature = "plots")]
use plots::PlotError;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("cannot write {path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[cfg(feature = "plots")]
    #[error(transparent)]
    Plot(#[from] PlotError),
    #[error(transparent)]
    Metrics(#[from] MetricsError),
}

/// Everything a report shows about one run.
pub struct Report<'a> {
    /// e.g. `mnist`.
    pub experiment: &'a str,
    /// The network's struct name and its summary table.
    pub network: &'a str,
    pub summary: &'a str,
    pub dataset: &'a str,
    pub class_names: &'a [String],
    /// Images in the train, validation and test splits.
    pub sizes: [usize; 3],
    pub backend: &'a str,
    pub config: &'a TrainConfig,
    pub history: &'a [EpochMetrics],
    pub test: &'a Evaluation,
    pub seconds: f64,
    pub stop: Stop,
}

#[derive(Serialize)]
struct MetricsJson<'a> {
    experiment: &'a str,
    network: &'a str,
    dataset: &'a str,
    backend: &'a str,
    config: &'a TrainConfig,
    history: &'a [EpochMetrics],
    train_seconds: f64,
    test_loss: f64,
    test_accuracy: f64,
    test_error: f64,
    confusion_matrix: Vec<Vec<u64>>,
    classification_report: &'a ClassificationReport,
}

impl Report<'_> {
    /// Writes the report files into `dir` (which must exist) and returns their paths.
    pub fn write(&self, dir: &Path) -> Result<Vec<PathBuf>, ReportError> {
        let confusion = self.test.confusion_matrix(self.class_names)?;
        let report = ClassificationReport::from_confusion_matrix(&confusion);
        let mut files = Vec::new();
        let mut put = |name: &str, text: String| -> Result<(), ReportError> {
            let path = dir.join(name);
            std::fs::write(&path, text).map_err(|source| ReportError::Io {
                path: path.clone(),
                source,
            })?;
            files.push(path);
            Ok(())
        };
        put("metrics.csv", history::to_csv(self.history))?;
        put("metrics.json", self.metrics_json(&confusion, &report))?;
        let plotted = self.plot(dir, &confusion)?;
        put("report.md", self.markdown(&confusion, &report, &plotted))?;
        files.extend(plotted.iter().map(|name| dir.join(name)));
        Ok(files)
    }

    /// Draws the confusion matrix and, when there is a history, the training curves; the
    /// names of the files written.
    #[cfg(feature = "plots")]
    fn plot(
        &self,
        dir: &Path,
        confusion: &ConfusionMatrix,
    ) -> Result<Vec<&'static str>, ReportError> {
        plots::plot_confusion_matrix(confusion, self.class_names, dir.join("confusion.png"))?;
        if self.history.is_empty() {
            return Ok(vec!["confusion.png"]);
        }
        plots::plot_training_curves(self.history, dir.join("curves.png"))?;
        Ok(vec!["confusion.png", "curves.png"])
    }

    /// Without the `plots` feature the report has tables only.
    #[cfg(not(feature = "plots"))]
    fn plot(&self, _: &Path, _: &ConfusionMatrix) -> Result<Vec<&'static str>, ReportError> {
        Ok(Vec::new())
    }

    fn metrics_json(&self, confusion: &ConfusionMatrix, report: &ClassificationReport) -> String {
        let json = MetricsJson {
            experiment: self.experiment,
            network: self.network,
            dataset: self.dataset,
            backend: self.backend,
            config: self.config,
            history: self.history,
            train_seconds: self.seconds,
            test_loss: self.test.loss,
            test_accuracy: self.test.accuracy(),
            test_error: self.test.error_rate(),
            confusion_matrix: confusion.to_vecs(),
            classification_report: report,
        };
        serde_json::to_string_pretty(&json).expect("metrics serialise")
    }

    fn markdown(
        &self,
        confusion: &ConfusionMatrix,
        report: &ClassificationReport,
        plotted: &[&str],
    ) -> String {
        let c = self.config;
        let [train, valid, test] = self.sizes;
        let mut md = format!(
            "# {}: {} on {}\n\n",
            self.experiment, self.network, self.dataset
        );
        let stop = match self.stop {
            Stop::Completed => "completed".to_string(),
            Stop::EarlyStopped { epoch } => format!("stopped early after epoch {epoch}"),
            Stop::Interrupted => "interrupted".to_string(),
        };
        let images_per_second = self
            .history
            .iter()
            .map(|m| m.images_per_second)
            .sum::<f64>()
            / self.history.len().max(1) as f64;
        let _ = writeln!(md, "| | |\n|---|---|");
        for (key, value) in [
            (
                "test accuracy",
                format!("**{:.2}%**", 100.0 * self.test.accuracy()),
            ),
            (
                "test error",
                format!("{:.2}%", 100.0 * self.test.error_rate()),
            ),
            ("test loss", format!("{:.4}", self.test.loss)),
            (
                "images (train / validation / test)",
                format!("{train} / {valid} / {test}"),
            ),
            ("epochs", format!("{} ({stop})", self.history.len())),
            (
                "training time",
                format!("{:.0} s, {images_per_second:.1} images/s", self.seconds),
            ),
            ("backend", self.backend.to_string()),
            (
                "optimizer",
                format!(
                    "Adam, lr {}, L2 {}, batch {}, schedule {:?}",
                    c.learning_rate, c.weight_decay, c.batch_size, c.schedule
                ),
            ),
            (
                "augmentation",
                c.augment.map_or_else(|| "none".into(), |a| a.to_string()),
            ),
            ("label smoothing", c.label_smoothing.to_string()),
            ("standardized", c.standardize.to_string()),
            ("seed", c.seed.to_string()),
        ] {
            let _ = writeln!(md, "| {key} | {value} |");
        }
        if plotted.contains(&"curves.png") {
            md += "\n## Training curves\n\n![losses and error rates](curves.png)\n";
        }
        md += "\n## Per epoch\n\n| epoch | train loss | train error | valid loss | valid error | lr | images/s |\n|---|---|---|---|---|---|---|\n";
        for m in self.history {
            let opt = |v: Option<f64>, pct: bool| match v {
                Some(v) if pct => format!("{:.2}%", 100.0 * v),
                Some(v) => format!("{v:.4}"),
                None => "-".into(),
            };
            let _ = writeln!(
                md,
                "| {} | {:.4} | {:.2}% | {} | {} | {:.2e} | {:.1} |",
                m.epoch,
                m.train_loss,
                100.0 * m.train_error,
                opt(m.valid_loss, false),
                opt(m.valid_error, true),
                m.learning_rate,
                m.images_per_second
            );
        }
        let _ = write!(
            md,
            "\n## Classification report (test)\n\n```text\n{report}```\n\n## Confusion matrix (test)\n\n{}{}\n## Network\n\n```text\n{}```\n",
            match plotted.contains(&"confusion.png") {
                true => "![confusion matrix](confusion.png)\n\n",
                false => "",
            },
            confusion.to_markdown(),
            self.summary
        );
        md
    }
}
