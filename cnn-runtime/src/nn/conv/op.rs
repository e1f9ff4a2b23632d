//! A convolution computed by our own code on one backend's tensors, as a burn operation with
//! and without autodiff, through burn's backend-extension API (`Tensor::try_into_primitive`,
//! burn-autodiff's `Backward`). Shared by the flex kernels, the GPU rewrite (`turned`) and
//! mixed precision (`mixed`), which differ only in their forward and backward passes.

use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::{
    BalancedCheckpointing, CheckpointStrategy, NoCheckpointing,
};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::autodiff::{Autodiff, NodeId};
use burn::backend::tensor::FloatTensor;
use burn::backend::{Backend, DispatchKindConversion, DispatchTensor};
use burn::tensor::Tensor;

use super::Geometry;
use cnn_kernels::conv::Wanted;

/// What a convolution's backward pass keeps: the checkpointed input and weights, the sizes,
/// and what the forward pass hands over.
type State<T> = (NodeId, NodeId, Geometry, Kept<T>);

/// Tensors the forward pass made that the backward pass reuses instead of making them again:
/// mixed precision's input and weights in the half type.
pub type Kept<T> = Option<[T; 2]>;

/// A forward pass: the output, and what it keeps for the backward pass.
pub trait Forward<B: Backend>:
    Fn(&FloatTensor<B>, &FloatTensor<B>, &FloatTensor<B>) -> (FloatTensor<B>, Kept<FloatTensor<B>>)
{
}

impl<B: Backend, F> Forward<B> for F where
    F: Fn(
        &FloatTensor<B>,
        &FloatTensor<B>,
        &FloatTensor<B>,
    ) -> (FloatTensor<B>, Kept<FloatTensor<B>>)
{
}

/// A convolution's backward pass: the gradients of the input, weights and bias that are
/// wanted (`None` for the others).
pub trait BackwardPass<B: Backend>: Copy + Send + std::fmt::Debug + 'static {
    fn gradients(self, saved: Saved<FloatTensor<B>>, wanted: Wanted)
    -> [Option<FloatTensor<B>>; 3];
}

/// `forward(x, weight, bias)` on backend `B`'s tensors, recorded with `backward` when they
/// track gradients; `None` when the tensors live on another backend.
pub fn conv2d<B, Op>(
    g: &Geometry,
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: &Tensor<1>,
    forward: impl Forward<B>,
    backward: Op,
) -> Option<Tensor<4>>
where
    B: Backend,
    Op: BackwardPass<B>,
    DispatchTensor: DispatchKindConversion<B>
        + DispatchKindConversion<Autodiff<B, NoCheckpointing>>
        + DispatchKindConversion<Autodiff<B, BalancedCheckpointing>>,
{
    let inputs = (x, weight, bias);
    let backward = Recorded(backward);
    plain::<B>(inputs, &forward)
        .or_else(|| tracked::<B, NoCheckpointing, _>(g, inputs, &forward, backward))
        .or_else(|| tracked::<B, BalancedCheckpointing, _>(g, inputs, &forward, backward))
}

type Inputs<'a> = (&'a Tensor<4>, &'a Tensor<4>, &'a Tensor<1>);

/// Inference: no autodiff.
fn plain<B: Backend>((x, weight, bias): Inputs<'_>, forward: &impl Forward<B>) -> Option<Tensor<4>>
where
    DispatchTensor: DispatchKindConversion<B>,
{
    let x = x.clone().try_into_primitive::<B>().ok()?;
    let weight = weight.clone().try_into_primitive::<B>().ok()?;
    let bias = bias.clone().try_into_primitive::<B>().ok()?;
    Some(Tensor::from_primitive::<B>(forward(&x, &weight, &bias).0))
}

/// Training: records a node whose backward pass is `backward`.
fn tracked<B, C, Op>(
    g: &Geometry,
    (x, weight, bias): Inputs<'_>,
    forward: &impl Forward<B>,
    backward: Op,
) -> Option<Tensor<4>>
where
    B: Backend,
    C: CheckpointStrategy,
    Op: Backward<B, 3, State = State<FloatTensor<B>>>,
    DispatchTensor: DispatchKindConversion<Autodiff<B, C>>,
{
    let x = x.clone().try_into_primitive::<Autodiff<B, C>>().ok()?;
    let weight = weight.clone().try_into_primitive::<Autodiff<B, C>>().ok()?;
    let bias = bias.clone().try_into_primitive::<Autodiff<B, C>>().ok()?;
    let (output, kept) = forward(x.primitive(), weight.primitive(), bias.primitive());
    let nodes = [x.node(), weight.node(), bias.node()];
    let result = match backward.prepare::<C>(nodes).compute_bound().stateful() {
        OpsKind::Tracked(mut prep) => {
            let state = (prep.checkpoint(&x), prep.checkpoint(&weight), *g, kept);
            prep.finish(state, output)
        }
        OpsKind::UnTracked(prep) => prep.finish(output),
    };
    Some(Tensor::from_primitive::<Autodiff<B, C>>(result))
}

/// What a convolution's backward pass starts from.
pub struct Saved<T> {
    /// The gradient of the output.
    pub grad: T,
    /// The checkpointed input and weights.
    pub x: T,
    pub weight: T,
    pub g: Geometry,
    /// What the forward pass kept ([`Kept`]).
    pub kept: Kept<T>,
}

/// A [`BackwardPass`] as burn-autodiff's operation: it fetches the output gradient and the
/// checkpointed tensors, and registers the gradients the pass returns.
#[derive(Debug, Clone, Copy)]
struct Recorded<Op>(Op);

impl<B: Backend, Op: BackwardPass<B>> Backward<B, 3> for Recorded<Op> {
    type State = State<FloatTensor<B>>;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let (x_id, weight_id, g, kept) = ops.state;
        let saved = Saved {
            grad: grads.consume::<B>(&ops.node),
            x: checkpointer.retrieve_node_output::<FloatTensor<B>>(x_id),
            weight: checkpointer.retrieve_node_output::<FloatTensor<B>>(weight_id),
            g,
            kept,
        };
        let [x, weight, bias] = ops.parents.each_ref().map(Option::is_some);
        let results = self.0.gradients(saved, Wanted { x, weight, bias });
        for (node, result) in ops.parents.into_iter().zip(results) {
            if let (Some(node), Some(result)) = (node, result) {
                grads.register::<B>(node.id, result);
            }
        }
    }
}
