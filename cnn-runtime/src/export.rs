//! A network's weights as a safetensors file under PyTorch's names and layout, for the module
//! `bench/seed_torch.py` builds from the same architecture file: listed layer `i` is
//! `layers.{i}.op`, the output layer `output`; convolution kernels keep burn's
//! `[out, in, h, w]`, and fully connected weights turn from burn's `[in, out]` into
//! PyTorch's `[out, in]`. Flattening is channels-first on both sides, so the first fully
//! connected layer needs no reordering.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use cnn_arch::{Layer, Overrides};
use safetensors::tensor::{Dtype, TensorView};

use crate::Network;
use crate::weights::{Named, parameters};

#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    #[error("{name}: {message}")]
    Unsupported { name: String, message: String },
    #[error("{name}'s architecture text does not check: {message}")]
    Architecture { name: String, message: String },
    #[error("cannot write {}: {message}", path.display())]
    Write { path: PathBuf, message: String },
}

/// One exported tensor: its PyTorch name, shape and `f32` values.
#[derive(Debug, Clone, PartialEq)]
pub struct Exported {
    pub name: String,
    pub shape: Vec<usize>,
    pub values: Vec<f32>,
}

/// `model`'s parameters under PyTorch's names and in its layout, sorted by name.
pub fn torch_tensors(model: &impl Network) -> Result<Vec<Exported>, ExportError> {
    let overrides = Overrides {
        name: Some(model.name().to_owned()),
        input: Some(model.input()),
        classes: Some(model.classes()),
    };
    let architecture =
        cnn_arch::check(model.arch_text(), &overrides).map_err(|e| ExportError::Architecture {
            name: model.name().to_owned(),
            message: e.render("arch"),
        })?;
    let mut places = HashMap::new();
    for layer in &architecture.layers {
        if layer.layer.batch_norm() {
            return Err(ExportError::Unsupported {
                name: model.name().to_owned(),
                message: format!(
                    "{} has batch norm, which bench/seed_torch.py's module does not",
                    layer.field
                ),
            });
        }
        let place = match (&layer.layer, layer.is_output()) {
            (_, true) => "output".to_owned(),
            (Layer::Dense(_), false) | (Layer::Conv(_), false) => {
                format!("layers.{}.op", layer.index - 1)
            }
            _ => continue,
        };
        places.insert(layer.field.clone(), place);
    }
    let mut exported = Vec::new();
    for Named {
        path,
        shape,
        values,
    } in parameters(model, true)
    {
        let values = values.unwrap_or_default();
        let (field, kind) = path.rsplit_once('.').unwrap_or((&path, ""));
        let Some(place) = places.get(field) else {
            return Err(ExportError::Unsupported {
                name: model.name().to_owned(),
                message: format!("`{path}` has no place in bench/seed_torch.py's module"),
            });
        };
        let (shape, values) = match (kind, shape.as_slice()) {
            // burn's Linear weight is [in, out]; PyTorch's is [out, in].
            ("weight", &[inputs, outputs]) => {
                (vec![outputs, inputs], transpose(&values, inputs, outputs))
            }
            _ => (shape, values),
        };
        exported.push(Exported {
            name: format!("{place}.{kind}"),
            shape,
            values,
        });
    }
    exported.sort_by(|a, b| a.name.cmp(&b.name));
    Ok(exported)
}

/// Writes [`torch_tensors`] of `model` to `path` as safetensors.
pub fn save_safetensors(model: &impl Network, path: &Path) -> Result<(), ExportError> {
    let tensors = torch_tensors(model)?;
    let bytes: Vec<Vec<u8>> = tensors
        .iter()
        .map(|t| t.values.iter().flat_map(|v| v.to_le_bytes()).collect())
        .collect();
    let write = |message: String| ExportError::Write {
        path: path.to_owned(),
        message,
    };
    let views = tensors
        .iter()
        .zip(&bytes)
        .map(|(t, b)| {
            let view = TensorView::new(Dtype::F32, t.shape.clone(), b);
            Ok((t.name.clone(), view.map_err(|e| write(e.to_string()))?))
        })
        .collect::<Result<Vec<_>, ExportError>>()?;
    let metadata = HashMap::from([("network".to_owned(), model.name().to_owned())]);
    safetensors::serialize_to_file(views, Some(metadata), path).map_err(|e| write(e.to_string()))
}

/// `values`, a row-major `[rows, cols]` matrix, as `[cols, rows]`.
fn transpose(values: &[f32], rows: usize, cols: usize) -> Vec<f32> {
    (0..cols)
        .flat_map(|c| (0..rows).map(move |r| values[r * cols + c]))
        .collect()
}

#[cfg(test)]
mod tests {
    #[test]
    fn transposes_row_major_matrices() {
        // [[1, 2, 3], [4, 5, 6]] -> [[1, 4], [2, 5], [3, 6]]
        assert_eq!(
            super::transpose(&[1., 2., 3., 4., 5., 6.], 2, 3),
            [1., 4., 2., 5., 3., 6.]
        );
    }
}
