//! MNIST handwritten digits: the four official IDX files, gzip'd or not, and a small embedded
//! subset that needs no files at all.

/// The folder its files go in under the data root ([`super::data_root`]), as its publisher
/// names it.
pub const FOLDER: &str = "mnist";

use std::path::Path;

use super::files::Source;
use super::{DataError, Dataset, idx};

const SOURCE: Source = Source {
    dataset: "MNIST",
    url: "http://yann.lecun.com/exdb/mnist/",
    files: idx::FILES,
    gz_ok: true,
};

const CLASS_NAMES: [&str; 10] = ["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"];

/// Full MNIST from `dir`: 60,000 training and 10,000 test images of `[1, 28, 28]`.
pub fn load(dir: &Path) -> Result<Dataset, DataError> {
    idx::load_dir(dir, &SOURCE, &CLASS_NAMES)
}

/// A class-stratified real subset of MNIST compiled into the library (2,000 training and 500
/// test images), so examples run on a fresh clone. `examples/make_mnist_small.rs` made it.
pub fn embedded() -> Dataset {
    macro_rules! asset {
        ($name:literal) => {
            (
                concat!("<embedded mnist-small>/", $name),
                include_bytes!(concat!("../../assets/mnist-small/", $name)).as_slice(),
            )
        };
    }
    let files = [
        asset!("train-images-idx3-ubyte.gz"),
        asset!("train-labels-idx1-ubyte.gz"),
        asset!("t10k-images-idx3-ubyte.gz"),
        asset!("t10k-labels-idx1-ubyte.gz"),
    ];
    idx::load_bytes("MNIST (embedded subset)", &CLASS_NAMES, files)
        .expect("the embedded MNIST subset is valid IDX (checked by the tests)")
}
