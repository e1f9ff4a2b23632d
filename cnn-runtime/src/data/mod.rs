//! The datasets networks train on, read from their official files, and the batcher that turns
//! them into tensors for burn.
//!
//! Every loader returns a [`Dataset`] whose splits are [`ImageSet`]s: `u8` pixels in NCHW
//! order and `u16` labels, checked as a whole before anything is returned. An [`ImageSet`] is
//! a burn [`Dataset`](burn::data::dataset::Dataset) of [`ImageItem`]s, and [`ImageBatcher`]
//! turns items (or indices) into an [`ImageBatch`] of f32 tensors.

pub mod augment;
mod batcher;
mod cifar;
mod dataset;
mod error;
mod files;
mod image_set;
mod sampling;

pub mod cifar10;
pub mod cifar100;
pub mod fashion_mnist;
pub mod fer2013;
#[cfg(feature = "fetch")]
pub mod fetch;
pub mod idx;
pub mod mnist;

pub use augment::Augment;
pub use batcher::{BatcherOptions, ImageBatch, ImageBatcher};

/// Where datasets live unless a `--data-dir` says otherwise: `CNN_DATA_DIR`, else
/// `~/.cache/cnn/data`. Each dataset has its folder there, named as its publisher names it
/// (`mnist`, `fashion-mnist`, `cifar-10-batches-bin`, `cifar-100-binary`, `fer2013`).
pub fn data_root() -> std::path::PathBuf {
    if let Some(dir) = std::env::var_os("CNN_DATA_DIR") {
        return dir.into();
    }
    let home = std::env::var_os("HOME").unwrap_or_else(|| ".".into());
    std::path::Path::new(&home).join(".cache/cnn/data")
}
pub use cifar100::Cifar100Labels;
pub use dataset::{Dataset, Split};
pub use error::DataError;
pub use fer2013::Fer2013Mode;
pub use image_set::{ChannelStats, ImageItem, ImageSet};
pub use sampling::SplitSize;
