//! Moving data between burn-flex tensors and the `f32` slices our CPU kernels work on.

use std::borrow::Cow;

use burn::backend::flex::FlexTensor;
use burn::tensor::{DType, Tensor, TensorData};

/// The tensor's elements in row-major order (borrowed when already contiguous).
pub fn values(t: &FlexTensor) -> Cow<'_, [f32]> {
    match t.as_slice::<f32>() {
        Some(slice) => slice.into(),
        // `to_contiguous` copies once; `into_data` and `into_vec` then take the buffer as is.
        None => t
            .to_contiguous()
            .into_data()
            .try_into_vec::<f32>()
            .expect("an f32 tensor")
            .into(),
    }
}

/// A contiguous flex tensor holding `values`.
pub fn tensor(values: Vec<f32>, shape: Vec<usize>) -> FlexTensor {
    FlexTensor::from_data(TensorData::new(values, shape))
}

/// Whether `t` holds `f32` values, the only element type the kernels take.
pub fn is_f32<const D: usize>(t: &Tensor<D>) -> bool {
    t.dtype() == DType::F32
}
