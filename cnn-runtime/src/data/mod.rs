//! The datasets networks train on, read from their official files, and the batcher that turns
//! them into tensors for burn.
//!
//! Every loader returns a [`Dataset`] whose splits are [`ImageSet`]s: `u8` pixels in NCHW
//! order and `u16` labels, checked as a whole before anything is returned. An [`ImageSet`] is
//! a burn [`Dataset`](burn::data::dataset::Dataset) of [`ImageItem`]s, and [`ImageBatcher`]
//! turns items (or indices) into an [`ImageBatch`] of f32 tensors.

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
pub mod idx;
pub mod mnist;

pub use batcher::{BatcherOptions, ImageBatch, ImageBatcher};
pub use cifar100::Cifar100Labels;
pub use dataset::{Dataset, Split};
pub use error::DataError;
pub use fer2013::Fer2013Mode;
pub use image_set::{ChannelStats, ImageItem, ImageSet};
pub use sampling::SplitSize;
