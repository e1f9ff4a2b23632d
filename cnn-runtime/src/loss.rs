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
//! burn.

use burn::nn::loss::CrossEntropyLossConfig;
use std::cell::RefCell;

use burn::tensor::{Device, Int, Tensor, TensorData};

/// The mean softmax cross-entropy of `logits` (`[batch, classes]`) against class indices
/// `targets` (`[batch]`), as a `[1]` tensor; the same value and gradient as burn's
/// `CrossEntropyLoss` (without smoothing or padding). Targets must lie below `classes`, as
/// the datasets check when they load.
pub fn cross_entropy(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
    #[cfg(any(feature = "flex", feature = "wgpu"))]
    if crate::switch::own(crate::switch::Rewrite::Loss)
        && let Some(loss) = fused::tracked(&logits, &targets)
    {
        return loss;
    }
    CrossEntropyLossConfig::new()
        .init(&logits.device())
        .forward(logits, targets)
}

/// The mean loss and its gradient with respect to `logits`, computed together so that their
/// element-wise work shares kernels.
fn loss_and_gradient(logits: Tensor<2>, targets: Tensor<1, Int>) -> (Tensor<1>, Tensor<2>) {
    let [batch, classes] = logits.dims();
    let device = logits.device();
    let indices = class_indices(classes, &device);
    let one_hot = targets.reshape([batch, 1]).equal(indices).float();
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
    /// since a recorded step ([`crate::replay`]) cannot carry an upload.
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
    use burn::tensor::{Int, Tensor};

    /// The loss as one autodiff operation when `logits` track gradients on a backend we
    /// cover; `None` otherwise (inference, or another backend), where burn's loss serves.
    pub fn tracked(logits: &Tensor<2>, targets: &Tensor<1, Int>) -> Option<Tensor<1>> {
        #[cfg(feature = "flex")]
        if let Some(loss) = on::<burn::backend::Flex>(logits, targets) {
            return Some(loss);
        }
        #[cfg(feature = "wgpu")]
        if let Some(loss) = on::<burn::backend::Cube>(logits, targets) {
            return Some(loss);
        }
        None
    }

    fn on<B: Backend>(logits: &Tensor<2>, targets: &Tensor<1, Int>) -> Option<Tensor<1>>
    where
        DispatchTensor: DispatchKindConversion<B>
            + DispatchKindConversion<Autodiff<B, NoCheckpointing>>
            + DispatchKindConversion<Autodiff<B, BalancedCheckpointing>>,
    {
        with::<B, NoCheckpointing>(logits, targets)
            .or_else(|| with::<B, BalancedCheckpointing>(logits, targets))
    }

    fn with<B, C>(logits: &Tensor<2>, targets: &Tensor<1, Int>) -> Option<Tensor<1>>
    where
        B: Backend,
        C: CheckpointStrategy,
        DispatchTensor: DispatchKindConversion<B> + DispatchKindConversion<Autodiff<B, C>>,
    {
        let logits = logits.clone().try_into_primitive::<Autodiff<B, C>>().ok()?;
        let targets = targets
            .clone()
            .try_into_primitive::<Autodiff<B, C>>()
            .ok()?;
        let (loss, gradient) = super::loss_and_gradient(
            Tensor::from_primitive::<B>(logits.primitive().clone()),
            Tensor::from_primitive::<B>(targets),
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

    fn burns(logits: Tensor<2>, targets: Tensor<1, Int>) -> Tensor<1> {
        CrossEntropyLossConfig::new()
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

    #[test]
    fn loss_and_gradient_match_burns_cross_entropy() {
        let device = crate::Backend::Flex.device().unwrap().autodiff();
        let (logits, targets) = batch(&device);
        let ours = logits.clone().require_grad();
        let theirs = logits.require_grad();
        // Scaled, so that the backward pass's product with the incoming gradient is tested.
        let a = cross_entropy(ours.clone(), targets.clone()) * 3.0;
        let b = burns(theirs.clone(), targets) * 3.0;
        a.clone()
            .into_data()
            .assert_approx_eq::<f32>(&b.clone().into_data(), Tolerance::absolute(1e-5));
        let (ga, gb) = (a.backward(), b.backward());
        let (ga, gb) = (ours.grad(&ga).unwrap(), theirs.grad(&gb).unwrap());
        ga.into_data()
            .assert_approx_eq::<f32>(&gb.into_data(), Tolerance::absolute(1e-6));
    }

    #[test]
    fn without_autodiff_the_loss_is_burns() {
        let device = crate::Backend::Flex.device().unwrap();
        let (logits, targets) = batch(&device);
        cross_entropy(logits.clone(), targets.clone())
            .into_data()
            .assert_approx_eq::<f32>(
                &burns(logits, targets).into_data(),
                Tolerance::absolute(1e-5),
            );
    }
}
