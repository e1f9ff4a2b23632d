//! A trained network at work: [`evaluate()`] over a whole split, [`metrics`] from its
//! predictions, and [`infer`]ence on new images with saved weights.

pub mod evaluate;
pub mod infer;
pub mod metrics;

pub use evaluate::{Evaluation, evaluate, evaluate_replayed};
pub use infer::{Prediction, load, predict, predict_file};
pub use metrics::{ClassMetrics, ConfusionMatrix};
