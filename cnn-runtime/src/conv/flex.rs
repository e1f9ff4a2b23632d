//! The [`kernels`] as a burn operation on the flex backend, with and without autodiff
//! (recorded by [`op`]).

use burn::backend::Flex;
use burn::backend::autodiff::checkpoint::base::Checkpointer;
use burn::backend::autodiff::grads::Gradients;
use burn::backend::autodiff::ops::{Backward, Ops};
use burn::backend::flex::FlexTensor;
use burn::tensor::Tensor;

use super::kernels::{self, Geometry, Wanted};
use super::op;
use crate::flex_tensor::{is_f32, tensor, values};

/// The convolution on flex tensors, or `None` when the tensors live elsewhere (another
/// backend, or not `f32`) and burn's own convolution should run.
pub fn conv2d(
    g: &Geometry,
    x: &Tensor<4>,
    weight: &Tensor<4>,
    bias: &Tensor<1>,
) -> Option<Tensor<4>> {
    if !(is_f32(x) && is_f32(weight) && is_f32(bias)) {
        return None;
    }
    let by_kernels =
        |x: &FlexTensor, weight: &FlexTensor, bias: &FlexTensor| forward(g, x, weight, bias);
    op::conv2d::<Flex, _>(g, x, weight, bias, by_kernels, ConvBackward)
}

fn forward(g: &Geometry, x: &FlexTensor, weight: &FlexTensor, bias: &FlexTensor) -> FlexTensor {
    let out = kernels::forward(g, &values(x), &values(weight), Some(&values(bias)));
    tensor(out, vec![g.batch, g.filters, g.out[0], g.out[1]])
}

#[derive(Debug, Clone, Copy)]
struct ConvBackward;

impl Backward<Flex, 3> for ConvBackward {
    type State = op::State;

    fn backward(
        self,
        ops: Ops<Self::State, 3>,
        grads: &mut Gradients,
        checkpointer: &mut Checkpointer,
    ) {
        let [node_x, node_weight, node_bias] = ops.parents;
        let grad = grads.consume::<Flex>(&ops.node);
        let (x_id, weight_id, g) = ops.state;
        let x = checkpointer.retrieve_node_output::<FlexTensor>(x_id);
        let weight = checkpointer.retrieve_node_output::<FlexTensor>(weight_id);
        let wanted = Wanted {
            x: node_x.is_some(),
            weight: node_weight.is_some(),
            bias: node_bias.is_some(),
        };
        let out = kernels::backward(&g, &values(&x), &values(&weight), &values(&grad), wanted);
        if let (Some(node), Some(dx)) = (node_x, out.x) {
            grads.register::<Flex>(node.id, tensor(dx, x.layout().shape().to_vec()));
        }
        if let (Some(node), Some(dw)) = (node_weight, out.weight) {
            grads.register::<Flex>(node.id, tensor(dw, weight.layout().shape().to_vec()));
        }
        if let (Some(node), Some(db)) = (node_bias, out.bias) {
            grads.register::<Flex>(node.id, tensor(db, vec![g.filters]));
        }
    }
}
