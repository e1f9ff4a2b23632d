//! Saved weights loaded into a network, with a clear error where the file does not fit it.
//!
//! burn's own loader reports every missing, unused or misshapen tensor at once in one line of
//! debug output. Here the file's tensor names and shapes are compared with the network's first,
//! in the network's order, and the first difference is named with both shapes.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use burn::module::{Module, ModuleVisitor, Param};
use burn::tensor::Tensor;

use crate::Network;

/// Why weights could not be loaded.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum WeightsError {
    #[error("cannot read weights from {path}: {message}")]
    Read { path: PathBuf, message: String },
    #[error(
        "the weights in {path} do not fit {network}: `{tensor}` is {expected:?} in the network \
         but {found:?} in the file"
    )]
    Shape {
        path: PathBuf,
        network: String,
        tensor: String,
        expected: Vec<usize>,
        found: Vec<usize>,
    },
    #[error("the weights in {path} do not fit {network}: the file has no `{tensor}`")]
    Missing {
        path: PathBuf,
        network: String,
        tensor: String,
    },
    #[error("the weights in {path} do not fit {network}: the file's `{tensor}` has no place in it")]
    Unused {
        path: PathBuf,
        network: String,
        tensor: String,
    },
}

/// `model` with the weights saved at `path` (`model.save_file(path)`, or a run's `model.bpk`).
/// The file may come from a generated network or from a [`crate::nn::Net`] of the same
/// architecture: their parameters have the same names.
pub fn load<M: Network>(model: M, path: impl AsRef<Path>) -> Result<M, WeightsError> {
    let path = path.as_ref();
    let read = |message: String| WeightsError::Read {
        path: path.to_owned(),
        message,
    };
    let mut in_file = file_shapes(path).map_err(read)?;
    for (tensor, expected) in shapes(&model) {
        let error = match in_file.remove(&tensor) {
            Some(found) if found == expected => continue,
            Some(found) => WeightsError::Shape {
                path: path.to_owned(),
                network: model.name().to_owned(),
                tensor,
                expected,
                found,
            },
            None => WeightsError::Missing {
                path: path.to_owned(),
                network: model.name().to_owned(),
                tensor,
            },
        };
        return Err(error);
    }
    if let Some(tensor) = in_file.into_keys().next() {
        return Err(WeightsError::Unused {
            path: path.to_owned(),
            network: model.name().to_owned(),
            tensor,
        });
    }
    model.try_load_file(path).map_err(|e| read(e.to_string()))
}

/// The tensors in a weight file, by name, with their shapes (their data is not read).
fn file_shapes(path: &Path) -> Result<BTreeMap<String, Vec<usize>>, String> {
    let reader = burn_pack::Reader::from_file(path).map_err(|e| e.to_string())?;
    let tensors = reader.into_tensors().map_err(|e| e.to_string())?;
    tensors
        .into_iter()
        .map(|tensor| {
            let (name, _, shape, _, _) = tensor.into_parts().map_err(|e| e.to_string())?;
            Ok((name, shape.to_vec()))
        })
        .collect()
}

/// Every parameter of `module`, by path (`conv1.weight`), with its shape, in module order.
fn shapes(module: &impl Module) -> Vec<(String, Vec<usize>)> {
    #[derive(Default)]
    struct Shapes {
        path: Vec<String>,
        found: Vec<(String, Vec<usize>)>,
    }
    impl ModuleVisitor for Shapes {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let shape = param.lazy_shape().to_vec();
            self.found.push((self.path.join("."), shape));
        }
    }
    let mut visitor = Shapes::default();
    module.visit(&mut visitor);
    visitor.found
}
