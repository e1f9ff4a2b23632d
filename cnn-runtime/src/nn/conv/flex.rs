//! The [`kernels`] as a burn operation on the flex backend, with and without autodiff
//! (recorded by [`op`]).

use burn::backend::Flex;
use burn::backend::flex::FlexTensor;
use burn::tensor::Tensor;

use super::op;
use crate::nn::flex_tensor::{is_f32, tensor, values};
use cnn_kernels::conv::{self as kernels, Geometry, Wanted};

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
    let by_kernels = |x: &FlexTensor, weight: &FlexTensor, bias: &FlexTensor| {
        (forward(g, x, weight, bias), None)
    };
    op::conv2d::<Flex, _>(g, x, weight, bias, by_kernels, ConvBackward)
}

fn forward(g: &Geometry, x: &FlexTensor, weight: &FlexTensor, bias: &FlexTensor) -> FlexTensor {
    let out = kernels::forward(g, &values(x), &values(weight), Some(&values(bias)));
    tensor(out, vec![g.batch, g.filters, g.out[0], g.out[1]])
}

#[derive(Debug, Clone, Copy)]
struct ConvBackward;

impl op::BackwardPass<Flex> for ConvBackward {
    fn gradients(self, s: op::Saved<FlexTensor>, wanted: Wanted) -> [Option<FlexTensor>; 3] {
        let (x, weight, grad) = (values(&s.x), values(&s.weight), values(&s.grad));
        let out = kernels::backward(&s.g, &x, &weight, &grad, wanted);
        [
            out.x.map(|dx| tensor(dx, s.x.layout().shape().to_vec())),
            out.weight
                .map(|dw| tensor(dw, s.weight.layout().shape().to_vec())),
            out.bias.map(|db| tensor(db, vec![s.g.filters])),
        ]
    }
}
