//! Softmax cross-entropy, the loss training minimizes, as one operation whose backward pass is
//! a single product: the forward pass computes the gradient with respect to the logits,
//! `(softmax - one_hot(target)) / batch`, alongside the loss, and the backward pass scales it
//! by the incoming gradient.
//!
//! Why: burn's `CrossEntropyLoss` is a chain of tensor operations (log-softmax, gather, mean),
//! each differentiated on its own. On a GPU that is 17 kernels per training step, each paid in
//! launch time when the step is short (the H200 spends about 19 us per kernel launched on a
//! batch-64 step); this operation takes 8 (cubecl's profile through Mesa's software GPU). On the
//! CPU it saves a few passes over a small tensor. `CNN_KERNELS=burn:loss` gives the loss back to
//! burn. Training steps compare the class indices before the forward pass ([`Targets`]), so that
//! burn-fusion fuses the loss's own operations (a fused reduction and a fused element-wise
//! kernel, where it ran the output layer and the loss unfused before).

use burn::nn::loss::CrossEntropyLossConfig;
use std::cell::RefCell;

use burn::tensor::{Device, Int, Tensor, TensorData};

/// The mean softmax cross-entropy of `logits` (`[batch, classes]`) against class indices
/// `targets` (`[batch]`), as a `[1]` tensor; the same value and gradient as burn's
/// `CrossEntropyLoss` (without padding; with label smoothing through [`Targets::smoothed`]). Targets must lie below `classes`, as
/// the datasets check when they load. A training step on the GPU should make its
/// [`Targets`] before the forward pass and call [`cross_entropy_of`].
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    let classes = logits.dims()[1];
    cross_entropy_of(logits, Targets::new(targets, classes))
}

/// [`cross_entropy`] against targets made beforehand.
///
/// # Panics
///
/// Where `targets` were made for another batch size or number of classes than `logits` has.
pub fn cross_entropy_of(logits: Tensor<2>, targets: Targets) -> Tensor<1> {
    assert_eq!(
        targets.one_hot.dims(),
        logits.dims(),
        "targets made for [batch, classes] {:?}, logits {:?}",
        targets.one_hot.dims(),
        logits.dims()
    );
    #[cfg(any(feature = "flex", feature = "wgpu"))]
    if crate::nn::switch::own(crate::nn::switch::Rewrite::Loss)
        && let Some(loss) = fused::tracked(&logits, &targets.one_hot)
    {
        return loss;
    }
    let smoothing = (targets.smoothing > 0.0).then_some(targets.smoothing);
    CrossEntropyLossConfig::new()
        .with_smoothing(smoothing)
        .init(&logits.device())
        .forward(logits, targets.indices)
}

/// A batch's class indices (`[batch]`) with their target distributions (`[batch, classes]`,
/// `f32`: one-hot rows, or smoothed ones), for [`cross_entropy_of`].
///
/// Why apart: on the GPU, burn-fusion plans the output layer and the loss as one segment of
/// operations, and class indices compared there (integer and boolean operations) made it run
/// the whole segment unfused, about 16 kernels. Made before the forward pass, the comparison
/// runs in a segment of its own.
#[derive(Clone, Debug)]
pub struct Targets {
    indices: Tensor<1, Int>,
    one_hot: Tensor<2>,
    smoothing: f32,
}

impl Targets {
    /// `indices` (`[batch]`, each below `classes`) and their one-hot rows.
    pub fn new(indices: Tensor<1, Int>, classes: usize) -> Self {
        let [batch] = indices.dims();
        let columns = class_indices(classes, &indices.device());
        let one_hot = indices.clone().reshape([batch, 1]).equal(columns).float();
        Targets {
            indices,
            one_hot,
            smoothing: 0.0,
        }
    }

    /// Label smoothing: each row becomes `(1 - smoothing) * one_hot + smoothing / classes`,
    /// as in burn's `CrossEntropyLossConfig::with_smoothing`, Keras and PyTorch. A `smoothing`
    /// of 0 leaves the targets as they are.
    ///
    /// # Panics
    ///
    /// Where `smoothing` is outside `[0, 1)`.
    pub fn smoothed(self, smoothing: f32) -> Self {
        assert!(
            (0.0..1.0).contains(&smoothing),
            "label smoothing {smoothing} is outside [0, 1)"
        );
        if smoothing == 0.0 {
            return self;
        }
        let classes = self.one_hot.dims()[1];
        let one_hot = self.one_hot * (1.0 - smoothing) + smoothing / classes as f32;
        Targets {
            one_hot,
            smoothing,
            ..self
        }
    }
}

/// The mean loss and its gradient with respect to `logits`, computed together so that their
/// element-wise work shares kernels.
fn loss_and_gradient(logits: Tensor<2>, one_hot: Tensor<2>) -> (Tensor<1>, Tensor<2>) {
    let [batch, _] = logits.dims();
    let shifted = logits.clone() - logits.max_dim(1);
    let exp = shifted.clone().exp();
    let sums = exp.clone().sum_dim(1);
    let picked = (shifted * one_hot.clone()).sum_dim(1);
    let loss = (sums.clone().log() - picked).mean();
    let gradient = (exp / sums - one_hot) / batch as f32;
    (loss, gradient)
}

thread_local! {
    /// Each `[1, classes]` row of class indices made on this thread, by device: uploaded once,
    /// since a recorded step ([`crate::train::replay`]) cannot carry an upload.
    static CLASS_INDICES: RefCell<Vec<Tensor<2, Int>>> = const { RefCell::new(Vec::new()) };
}

/// `[[0, 1, ..., classes - 1]]` on `device`.
fn class_indices(classes: usize, device: &Device) -> Tensor<2, Int> {
    CLASS_INDICES.with(|made| {
        let mut made = made.borrow_mut();
        let found = made
            .iter()
            .find(|t| t.dims()[1] == classes && &t.device() == device);
        if let Some(indices) = found {
            return indices.clone();
        }
        let indices: Vec<i64> = (0..classes as i64).collect();
        let indices = Tensor::<2, Int>::from_data(TensorData::new(indices, [1, classes]), device);
        made.push(indices.clone());
        indices
    })
}

#[cfg(any(feature = "flex", feature = "wgpu"))]
mod fused {
    use burn::backend::autodiff::Autodiff;
    use burn::backend::autodiff::checkpoint::base::Checkpointer;
    use burn::backend::autodiff::checkpoint::strategy::{
        BalancedCheckpointing, CheckpointStrategy, NoCheckpointing,
    };
    use burn::backend::autodiff::grads::Gradients;
    use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
    use burn::backend::tensor::FloatTensor;
    use burn::backend::{Backend, DispatchKindConversion, DispatchTensor, Shape};
    use burn::tensor::Tensor;

    /// The loss as one autodiff operation when `logits` track gradients on a backend we
    /// cover; `None` otherwise (inference, or another backend), where burn's loss serves.
    pub fn tracked(logits: &Tensor<2>, one_hot: &Tensor<2>) -> Option<Tensor<1>> {
        #[cfg(feature = "flex")]
        if let Some(loss) = on::<burn::backend::Flex>(logits, one_hot) {
            return Some(loss);
        }
        #[cfg(feature = "wgpu")]
        if let Some(loss) = on::<burn::backend::Cube>(logits, one_hot) {
            return Some(loss);
        }
        None
    }

    fn on<B: Backend>(logits: &Tensor<2>, one_hot: &Tensor<2>) -> Option<Tensor<1>>
    where
        DispatchTensor: DispatchKindConversion<B>
            + DispatchKindConversion<Autodiff<B, NoCheckpointing>>
            + DispatchKindConversion<Autodiff<B, BalancedCheckpointing>>,
    {
        with::<B, NoCheckpointing>(logits, one_hot)
            .or_else(|| with::<B, BalancedCheckpointing>(logits, one_hot))
    }

    fn with<B, C>(logits: &Tensor<2>, one_hot: &Tensor<2>) -> Option<Tensor<1>>
    where
        B: Backend,
        C: CheckpointStrategy,
        DispatchTensor: DispatchKindConversion<B> + DispatchKindConversion<Autodiff<B, C>>,
    {
        let logits = logits.clone().try_into_primitive::<Autodiff<B, C>>().ok()?;
        let one_hot = one_hot
            .clone()
            .try_into_primitive::<Autodiff<B, C>>()
            .ok()?;
        let (loss, gradient) = super::loss_and_gradient(
            Tensor::from_primitive::<B>(logits.primitive().clone()),
            Tensor::from_primitive::<B>(one_hot.primitive().clone()),
        );
        let loss = loss.try_into_primitive::<B>().ok()?;
        let result = match ScaleGradient
            .prepare::<C>([logits.node()])
            .compute_bound()
            .stateful()
        {
            OpsKind::Tracked(prep) => prep.finish(gradient.try_into_primitive::<B>().ok()?, loss),
            OpsKind::UnTracked(prep) => prep.finish(loss),
        };
        Some(Tensor::from_primitive::<Autodiff<B, C>>(result))
    }

    /// The backward pass: the gradient the forward pass computed, times the loss's gradient.
    #[derive(Debug)]
    struct ScaleGradient;

    impl<B: Backend> Backward<B, 1> for ScaleGradient {
        type State = FloatTensor<B>;

        fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
            let upstream = grads.consume::<B>(&ops.node);
            let [Some(logits)] = ops.parents else {
                return;
            };
            let upstream = B::float_reshape(upstream, Shape::new([1, 1]));
            grads.register::<B>(logits.id, B::float_mul(ops.state, upstream));
        }
    }
}

#[cfg(all(test, feature = "flex"))]
mod tests {
    use super::*;
    use burn::tensor::{Device, Distribution, Tolerance};

    /// burn's loss, with label smoothing where `smoothing` is not 0.
    fn burns(logits: Tensor<2>, targets: Tensor<1, Int>, smoothing: f32) -> Tensor<1> {
        CrossEntropyLossConfig::new()
            .with_smoothing((smoothing > 0.0).then_some(smoothing))
            .init(&logits.device())
            .forward(logits, targets)
    }

    /// Logits with rows far from zero too (softmax must not overflow), and their targets.
    fn batch(device: &Device) -> (Tensor<2>, Tensor<1, Int>) {
        let logits = Tensor::<2>::random([6, 5], Distribution::Normal(0.0, 3.0), device)
            + Tensor::from_data(
                TensorData::new(vec![0.0f32, 90.0, -90.0, 0.0, 40.0, 0.0], [6, 1]),
                device,
            );
        let targets = Tensor::from_data(TensorData::new(vec![0i64, 4, 2, 2, 1, 3], [6]), device);
        (logits, targets)
    }

    /// Our loss against targets smoothed by `smoothing`, and burn's, on one batch: the same
    /// value and the same gradient. Returns our value.
    fn matches_burns(smoothing: f32) -> f32 {
        let device = crate::Backend::Flex.device().unwrap().autodiff();
        let (logits, targets) = batch(&device);
        let ours = logits.clone().require_grad();
        let theirs = logits.require_grad();
        let smoothed = Targets::new(targets.clone(), 5).smoothed(smoothing);
        // Scaled, so that the backward pass's product with the incoming gradient is tested.
        let a = cross_entropy_of(ours.clone(), smoothed) * 3.0;
        let b = burns(theirs.clone(), targets, smoothing) * 3.0;
        a.clone()
            .into_data()
            .assert_approx_eq::<f32>(&b.clone().into_data(), Tolerance::absolute(1e-5));
        let value = a.clone().into_scalar();
        let (ga, gb) = (a.backward(), b.backward());
        let (ga, gb) = (ours.grad(&ga).unwrap(), theirs.grad(&gb).unwrap());
        ga.into_data()
            .assert_approx_eq::<f32>(&gb.into_data(), Tolerance::absolute(1e-6));
        value
    }

    #[test]
    fn loss_and_gradient_match_burns_cross_entropy() {
        matches_burns(0.0);
    }

    #[test]
    fn smoothed_loss_and_gradient_match_burns() {
        let plain = matches_burns(0.0);
        let smoothed = matches_burns(0.1);
        assert!((smoothed - plain).abs() > 1e-3, "smoothing changed nothing");
    }

    #[test]
    #[should_panic(expected = "targets made for [batch, classes] [6, 4], logits [6, 5]")]
    fn targets_for_other_classes_are_refused() {
        let device = crate::Backend::Flex.device().unwrap();
        let (logits, targets) = batch(&device);
        let targets = Targets::new(targets.clamp(0, 3), 4);
        let _ = cross_entropy_of(logits, targets);
    }

    #[test]
    fn without_autodiff_the_loss_is_burns() {
        let device = crate::Backend::Flex.device().unwrap();
        let (logits, targets) = batch(&device);
        cross_entropy(logits.clone(), targets.clone())
            .into_data()
            .assert_approx_eq::<f32>(
                &burns(logits, targets, 0.0).into_data(),
                Tolerance::absolute(1e-5),
            );
    }
}
