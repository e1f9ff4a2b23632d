//! The max-pooling kernels ([`cnn_kernels::pool`]) as a burn operation on the flex backend, with and without
//! autodiff (see `conv::flex` for the extension API used).

use std::sync::Arc;

use burn::backend::Flex;
use burn::backend::autodiff::Autodiff;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::checkpoint::strategy::{
    BalancedCheckpointing, CheckpointStrategy, NoCheckpointing,
};
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops, OpsKind};
use burn::backend::flex::FlexTensor;
use burn::tensor::Tensor;

use crate::nn::flex_tensor::{is_f32, tensor, values};
use cnn_kernels::pool::{self as kernels, Geometry};

/// Max pooling of flex tensors, or `None` when `x` lives elsewhere.
pub fn max_pool2d(g: &Geometry, x: &Tensor<4>) -> Option<Tensor<4>> {
    if !is_f32(x) {
        return None;
    }
    plain(g, x)
        .or_else(|| tracked::<NoCheckpointing>(g, x))
        .or_else(|| tracked::<BalancedCheckpointing>(g, x))
}

fn plain(g: &Geometry, x: &Tensor<4>) -> Option<Tensor<4>> {
    let x = x.clone().try_into_primitive::<Flex>().ok()?;
    let (out, _) = forward(g, &x, false);
    Some(Tensor::from_primitive::<Flex>(out))
}

fn tracked<C>(g: &Geometry, x: &Tensor<4>) -> Option<Tensor<4>>
where
    C: CheckpointStrategy,
    burn::backend::DispatchTensor: burn::backend::DispatchKindConversion<Autodiff<Flex, C>>,
{
    let x = x.clone().try_into_primitive::<Autodiff<Flex, C>>().ok()?;
    let (output, from) = forward(g, x.primitive(), true);
    let from = from.expect("indices were asked for");
    let input_shape = x.primitive().layout().shape().to_vec();
    let result = match MaxPoolBackward
        .prepare::<C>([x.node()])
        .compute_bound()
        .stateful()
    {
        OpsKind::Tracked(prep) => prep.finish((Arc::new(from), input_shape, *g), output),
        OpsKind::UnTracked(prep) => prep.finish(output),
    };
    Some(Tensor::from_primitive::<Autodiff<Flex, C>>(result))
}

fn forward(g: &Geometry, x: &FlexTensor, keep_from: bool) -> (FlexTensor, Option<Vec<u32>>) {
    let shape = x.layout().shape().to_vec();
    let (out, from) = kernels::forward(g, &values(x), keep_from);
    (
        tensor(out, vec![shape[0], shape[1], g.out[0], g.out[1]]),
        from,
    )
}

#[derive(Debug)]
struct MaxPoolBackward;

impl Backward<Flex, 1> for MaxPoolBackward {
    /// Where each output came from, the input's shape, the sizes.
    type State = (Arc<Vec<u32>>, Vec<usize>, Geometry);

    fn backward(self, ops: Ops<Self::State, 1>, grads: &mut Gradients, _: &mut Checkpointer) {
        let [node] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (from, shape, g) = ops.state;
        if let Some(node) = node {
            let dx = kernels::backward(&g, &from, &values(&grad));
            grads.register::<Flex>(node.id, tensor(dx, shape));
        }
    }
}
