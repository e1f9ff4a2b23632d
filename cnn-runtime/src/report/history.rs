//! Per-epoch training metrics, as written to `metrics.csv` / `metrics.json` and plotted by
//! [`plot_training_curves`](crate::report::plots::plot_training_curves).

use serde::{Deserialize, Serialize};

/// Losses and error rates after one epoch. Validation values are `None` when the run has
/// no validation set.
#[derive(Debug, Clone, Copy, PartialEq, Default, Serialize, Deserialize)]
pub struct EpochMetrics {
    /// 1-based epoch number.
    pub epoch: usize,
    pub train_loss: f64,
    /// Fraction of training samples misclassified, in `[0, 1]`.
    pub train_error: f64,
    pub valid_loss: Option<f64>,
    pub valid_error: Option<f64>,
    /// The learning rate used in this epoch.
    #[serde(default)]
    pub learning_rate: f64,
    /// Seconds spent in this epoch's training batches (validation excluded).
    #[serde(default)]
    pub seconds: f64,
    /// Training images per second over the epoch.
    #[serde(default)]
    pub images_per_second: f64,
}

/// Header line of [`to_csv`]'s output.
pub const CSV_HEADER: &str =
    "epoch,train_loss,train_error,valid_loss,valid_error,learning_rate,seconds,images_per_second";

/// The history as CSV with a header; missing validation values are empty fields.
pub fn to_csv(history: &[EpochMetrics]) -> String {
    let opt = |v: Option<f64>| v.map(|v| v.to_string()).unwrap_or_default();
    let mut out = format!("{CSV_HEADER}\n");
    for m in history {
        out.push_str(&format!(
            "{},{},{},{},{},{},{},{}\n",
            m.epoch,
            m.train_loss,
            m.train_error,
            opt(m.valid_loss),
            opt(m.valid_error),
            m.learning_rate,
            m.seconds,
            m.images_per_second
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn csv_leaves_missing_validation_empty() {
        let h = [
            EpochMetrics {
                epoch: 1,
                train_loss: 0.5,
                train_error: 0.25,
                valid_loss: Some(0.75),
                valid_error: Some(0.5),
                learning_rate: 0.001,
                seconds: 12.5,
                images_per_second: 80.0,
            },
            EpochMetrics {
                epoch: 2,
                train_loss: 0.25,
                train_error: 0.125,
                valid_loss: None,
                valid_error: None,
                ..Default::default()
            },
        ];
        assert_eq!(
            to_csv(&h),
            "epoch,train_loss,train_error,valid_loss,valid_error,learning_rate,seconds,images_per_second\n1,0.5,0.25,0.75,0.5,0.001,12.5,80\n2,0.25,0.125,,,0,0,0\n"
        );
    }

    #[test]
    fn json_round_trip() {
        let m = EpochMetrics {
            epoch: 3,
            train_loss: 1.5,
            train_error: 0.5,
            valid_loss: None,
            valid_error: Some(0.25),
            ..Default::default()
        };
        let json = serde_json::to_string(&m).unwrap();
        assert_eq!(
            json,
            r#"{"epoch":3,"train_loss":1.5,"train_error":0.5,"valid_loss":null,"valid_error":0.25,"learning_rate":0.0,"seconds":0.0,"images_per_second":0.0}"#
        );
        assert_eq!(serde_json::from_str::<EpochMetrics>(&json).unwrap(), m);
    }
}
