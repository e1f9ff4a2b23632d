//! Running a network over a whole split: loss, predictions and probabilities.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor};

use crate::Network;
use crate::data::{ImageBatch, ImageBatcher, ImageSet};
use crate::eval::metrics::{ConfusionMatrix, MetricsError};
use crate::train::replay::ReplayForward;

/// The outcome of a network on one split, in the split's order.
#[derive(Debug, Clone, PartialEq)]
pub struct Evaluation {
    /// Mean cross-entropy.
    pub loss: f64,
    pub y_true: Vec<usize>,
    pub y_pred: Vec<usize>,
    /// Softmax probabilities, `classes` per example.
    pub probabilities: Vec<f32>,
    pub classes: usize,
}

impl Evaluation {
    pub fn accuracy(&self) -> f64 {
        let correct = self
            .y_true
            .iter()
            .zip(&self.y_pred)
            .filter(|(t, p)| t == p)
            .count();
        correct as f64 / self.y_true.len().max(1) as f64
    }

    pub fn error_rate(&self) -> f64 {
        1.0 - self.accuracy()
    }

    /// Adds a batch: the examples `chunk` of a split with `labels`, and their log-probabilities
    /// (summed into the loss, which the caller divides).
    fn add(&mut self, log_probabilities: Tensor<2>, chunk: &[usize], labels: &[u16]) {
        let values: Vec<f32> = log_probabilities
            .into_data()
            .try_to_vec()
            .expect("f32 log-probabilities");
        for (row, &i) in values.chunks(self.classes).zip(chunk) {
            let target = usize::from(labels[i]);
            self.loss -= f64::from(row[target]);
            self.y_true.push(target);
            self.y_pred.push(argmax(row));
            self.probabilities.extend(row.iter().map(|v| v.exp()));
        }
    }

    pub fn confusion_matrix(
        &self,
        class_names: &[String],
    ) -> Result<ConfusionMatrix, MetricsError> {
        ConfusionMatrix::new(&self.y_true, &self.y_pred, self.classes)?
            .with_class_names(class_names.to_vec())
    }
}

/// Evaluates `model` (an inference copy: `model.valid()`) on `set`, `batch_size` at a time.
/// Each batch comes back from the device once, as log-probabilities: the loss, predictions
/// and probabilities are all taken from them on the host (on a GPU a read waits for the
/// device, so each is made after the next batch is queued). Denormals are flushed to zero
/// meanwhile ([`crate::denormals`]).
pub fn evaluate<M: Network>(
    model: &M,
    set: &ImageSet,
    batcher: &ImageBatcher,
    batch_size: usize,
    device: &Device,
) -> Evaluation {
    evaluate_with(
        |images| model.logits(images),
        model.classes(),
        set,
        batcher,
        batch_size,
        device,
    )
}

/// [`evaluate`] with its forward pass replayed on GPUs ([`ReplayForward`]): the same results,
/// less host work per batch. On other backends it runs plain passes.
pub fn evaluate_replayed<M: Network>(
    model: &M,
    set: &ImageSet,
    batcher: &ImageBatcher,
    batch_size: usize,
    device: &Device,
) -> Evaluation {
    let mut forward = ReplayForward::new(model.clone());
    evaluate_with(
        |images| forward.logits(images),
        model.classes(),
        set,
        batcher,
        batch_size,
        device,
    )
}

/// [`evaluate`] with `logits` as the forward pass of a network of `classes` classes.
fn evaluate_with(
    mut logits: impl FnMut(Tensor<4>) -> Tensor<2>,
    classes: usize,
    set: &ImageSet,
    batcher: &ImageBatcher,
    batch_size: usize,
    device: &Device,
) -> Evaluation {
    let _flushed = crate::denormals::scope();
    let mut evaluation = Evaluation {
        loss: 0.0,
        y_true: Vec::with_capacity(set.len()),
        y_pred: Vec::with_capacity(set.len()),
        probabilities: Vec::with_capacity(set.len() * classes),
        classes,
    };
    let indices: Vec<usize> = (0..set.len()).collect();
    let mut queued = None;
    for chunk in indices.chunks(batch_size.max(1)) {
        let ImageBatch { images, .. } = set.batch_tensor(chunk, batcher, device);
        let batch = (log_softmax(logits(images), 1), chunk);
        if let Some((log_probabilities, chunk)) = queued.replace(batch) {
            evaluation.add(log_probabilities, chunk, set.labels());
        }
    }
    if let Some((log_probabilities, chunk)) = queued {
        evaluation.add(log_probabilities, chunk, set.labels());
    }
    evaluation.loss /= set.len().max(1) as f64;
    evaluation
}

/// Index of the largest value (the first on ties, as `argmax` does).
pub fn argmax(values: &[f32]) -> usize {
    let mut best = 0;
    for (i, v) in values.iter().enumerate() {
        if *v > values[best] {
            best = i;
        }
    }
    best
}
