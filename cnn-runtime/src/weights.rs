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
    for Named {
        path: tensor,
        shape: expected,
        ..
    } in parameters(&model, false)
    {
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

/// One parameter of a module: its path (`conv1.weight`), shape and, when asked for, values.
pub(crate) struct Named {
    pub path: String,
    pub shape: Vec<usize>,
    #[cfg_attr(not(feature = "export"), allow(dead_code))]
    pub values: Option<Vec<f32>>,
}

/// Every float parameter of `module`, in module order; with `values`, their `f32` values
/// too (which initialises parameters burn has not yet).
pub(crate) fn parameters(module: &impl Module, values: bool) -> Vec<Named> {
    struct Collect {
        path: Vec<String>,
        values: bool,
        found: Vec<Named>,
    }
    impl ModuleVisitor for Collect {
        fn enter_module(&mut self, name: &str, _: &str) {
            self.path.push(name.to_owned());
        }
        fn exit_module(&mut self, _: &str, _: &str) {
            self.path.pop();
        }
        fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
            let values = self.values.then(|| {
                let data = param.val().into_data().convert::<f32>();
                data.try_to_vec::<f32>().unwrap_or_default()
            });
            self.found.push(Named {
                path: self.path.join("."),
                shape: param.lazy_shape().to_vec(),
                values,
            });
        }
    }
    let mut collect = Collect {
        path: Vec::new(),
        values,
        found: Vec::new(),
    };
    module.visit(&mut collect);
    collect.found
}
