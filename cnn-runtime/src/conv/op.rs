//! A convolution computed by our own code on one backend's tensors, as a burn operation with
//! and without autodiff, through burn's backend-extension API (`Tensor::try_into_primitive`,
//! burn-autodiff's `Backward`). Shared by the flex kernels and the GPU rewrite (`turned`),
//! which differ only in their forward and backward passes.

use burn::backend::autodiff::checkpoint::strategy::{
    BalancedCheckpointing, CheckpointStrategy, NoCheckpointing,
};
use burn::backend::autodiff::ops::{Backward, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, DispatchKindConversion, DispatchTensor};
use burn::tensor::Tensor;

use super::Geometry;

/// What a convolution's backward pass keeps: the checkpointed input and weights, and the sizes.
pub type State = (NodeId, NodeId, Geometry);

/// `forward(x, weight, bias)` on backend `B`'s tensors, recorded with `backward` when they
/// track gradients; `None` when the tensors live on another backend.
pub fn conv2d<B, Op>(
    g: &Geometry,
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: &Tensor<1>,
    forward: impl Fn(&FloatTensor<B>, &FloatTensor<B>, &FloatTensor<B>) -> FloatTensor<B>,
    backward: Op,
) -> Option<Tensor<4>>
where
    B: Backend,
    Op: Backward<B, 3, State = State> + Copy,
    DispatchTensor: DispatchKindConversion<B>
        + DispatchKindConversion<Autodiff<B, NoCheckpointing>>
        + DispatchKindConversion<Autodiff<B, BalancedCheckpointing>>,
{
    let inputs = (x, weight, bias);
    plain::<B>(inputs, &forward)
        .or_else(|| tracked::<B, NoCheckpointing, Op>(g, inputs, &forward, backward))
        .or_else(|| tracked::<B, BalancedCheckpointing, Op>(g, inputs, &forward, backward))
}

type Inputs<'a> = (&'a Tensor<4>, &'a Tensor<4>, &'a Tensor<1>);

/// Inference: no autodiff.
fn plain<B: Backend>(
    (x, weight, bias): Inputs<'_>,
    forward: &impl Fn(&FloatTensor<B>, &FloatTensor<B>, &FloatTensor<B>) -> FloatTensor<B>,
) -> Option<Tensor<4>>
where
    DispatchTensor: DispatchKindConversion<B>,
{
    let x = x.clone().try_into_primitive::<B>().ok()?;
    let weight = weight.clone().try_into_primitive::<B>().ok()?;
    let bias = bias.clone().try_into_primitive::<B>().ok()?;
    Some(Tensor::from_primitive::<B>(forward(&x, &weight, &bias)))
}

/// Training: records a node whose backward pass is `backward`.
fn tracked<B, C, Op>(
    g: &Geometry,
    (x, weight, bias): Inputs<'_>,
    forward: &impl Fn(&FloatTensor<B>, &FloatTensor<B>, &FloatTensor<B>) -> FloatTensor<B>,
    backward: Op,
) -> Option<Tensor<4>>
where
    B: Backend,
    C: CheckpointStrategy,
    Op: Backward<B, 3, State = State>,
    DispatchTensor: DispatchKindConversion<Autodiff<B, C>>,
{
    let x = x.clone().try_into_primitive::<Autodiff<B, C>>().ok()?;
    let weight = weight.clone().try_into_primitive::<Autodiff<B, C>>().ok()?;
    let bias = bias.clone().try_into_primitive::<Autodiff<B, C>>().ok()?;
    let output = forward(x.primitive(), weight.primitive(), bias.primitive());
    let nodes = [x.node(), weight.node(), bias.node()];
    let result = match backward.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(mut prep) => {
            let state = (prep.checkpoint(&x), prep.checkpoint(&weight), *g);
            prep.finish(state, output)
        }
        OpsKind::UnTracked(prep) => prep.finish(output),
    };
    Some(Tensor::from_primitive::<Autodiff<B, C>>(result))
}
