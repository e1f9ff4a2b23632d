//! Inference with saved weights: load a run's `model.bpk` into its network (generated, or built
//! at run time from the same file), then predict labels and probabilities for a batch or for
//! an image file.

use std::path::{Path, PathBuf};

use burn::tensor::activation::softmax;
use burn::tensor::{Device, Tensor, TensorData};

use crate::Network;
use crate::eval::evaluate::argmax;
use crate::weights::WeightsError;

#[derive(Debug, thiserror::Error)]
pub enum InferError {
    #[error(transparent)]
    Weights(#[from] WeightsError),
    #[error("cannot read image {path}: {source}")]
    Image {
        path: PathBuf,
        source: image::ImageError,
    },
    #[error(
        "{network} takes {channels} channels; only 1 (grey) and 3 (RGB) can be read from image files"
    )]
    Channels { network: String, channels: usize },
}

/// One prediction: the most likely class and every class's probability.
#[derive(Debug, Clone, PartialEq)]
pub struct Prediction {
    pub label: usize,
    pub probabilities: Vec<f32>,
}

/// `model` with the weights saved at `path` (e.g. a run's `model.bpk`), ready for inference:
/// `load(MnistNet::new(&device), path)`. A file of another architecture is an error naming the
/// first tensor that differs ([`crate::weights`]).
pub fn load<M: Network>(model: M, path: impl AsRef<Path>) -> Result<M, InferError> {
    Ok(crate::weights::load(model, path)?)
}

/// Predictions for a batch `[N, C, H, W]` of images scaled like the training data, with
/// denormals flushed to zero ([`crate::denormals`]).
pub fn predict<M: Network>(model: &M, images: Tensor<4>) -> Vec<Prediction> {
    let _flushed = crate::denormals::scope();
    let probabilities: Vec<f32> = softmax(model.logits(images), 1)
        .into_data()
        .try_to_vec()
        .expect("f32 probabilities");
    probabilities
        .chunks(model.classes())
        .map(|row| Prediction {
            label: argmax(row),
            probabilities: row.to_vec(),
        })
        .collect()
}

/// An image file (PNG, JPEG) as a `[1, C, H, W]` tensor for `model`: converted to grey or RGB,
/// resized to the network's input, pixels scaled to [0, 1]. With `invert`, dark strokes on a
/// light background become light on dark, as in MNIST.
pub fn image_tensor(
    model: &impl Network,
    path: impl AsRef<Path>,
    invert: bool,
    device: &Device,
) -> Result<Tensor<4>, InferError> {
    let path = path.as_ref();
    let [c, h, w] = model.input();
    let image = image::open(path).map_err(|source| InferError::Image {
        path: path.to_owned(),
        source,
    })?;
    let image = image.resize_exact(w as u32, h as u32, image::imageops::FilterType::Triangle);
    let interleaved: Vec<u8> = match c {
        1 => image.to_luma8().into_raw(),
        3 => image.to_rgb8().into_raw(),
        channels => {
            return Err(InferError::Channels {
                network: model.name().to_owned(),
                channels,
            });
        }
    };
    let mut planar = vec![0f32; c * h * w];
    for (i, value) in interleaved.iter().enumerate() {
        let scaled = f32::from(*value) / 255.0;
        planar[(i % c) * h * w + i / c] = if invert { 1.0 - scaled } else { scaled };
    }
    Ok(Tensor::from_data(
        TensorData::new(planar, [1, c, h, w]),
        device,
    ))
}

/// The prediction for one image file.
pub fn predict_file<M: Network>(
    model: &M,
    path: impl AsRef<Path>,
    invert: bool,
    device: &Device,
) -> Result<Prediction, InferError> {
    let images = image_tensor(model, path, invert, device)?;
    Ok(predict(model, images).remove(0))
}
