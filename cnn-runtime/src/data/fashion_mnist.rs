//! Fashion-MNIST (Zalando): MNIST's four IDX files and shapes, with clothing classes.

/// The folder its files go in under the data root ([`super::data_root`]), as its publisher
/// names it.
pub const FOLDER: &str = "fashion-mnist";

use std::path::Path;

use super::files::Source;
use super::{DataError, Dataset, idx};

const SOURCE: Source = Source {
    dataset: "Fashion-MNIST",
    url: "https://github.com/zalandoresearch/fashion-mnist",
    files: idx::FILES,
    gz_ok: true,
};

const CLASS_NAMES: [&str; 10] = [
    "T-shirt/top",
    "Trouser",
    "Pullover",
    "Dress",
    "Coat",
    "Sandal",
    "Shirt",
    "Sneaker",
    "Bag",
    "Ankle boot",
];

/// Full Fashion-MNIST from `dir`: 60,000 training and 10,000 test images of `[1, 28, 28]`.
pub fn load(dir: &Path) -> Result<Dataset, DataError> {
    idx::load_dir(dir, &SOURCE, &CLASS_NAMES)
}
