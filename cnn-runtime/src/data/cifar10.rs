//! CIFAR-10, binary version: five training batches, one test batch and the class names.

/// The folder its files go in under the data root ([`super::data_root`]), as its publisher
/// names it.
pub const FOLDER: &str = "cifar-10-batches-bin";

use std::path::Path;

use super::files::{self, Source};
use super::{DataError, Dataset, ImageSet, cifar};

const CLASSES: usize = 10;

const SOURCE: Source = Source {
    dataset: "CIFAR-10",
    url: "https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz",
    files: &[
        "data_batch_1.bin",
        "data_batch_2.bin",
        "data_batch_3.bin",
        "data_batch_4.bin",
        "data_batch_5.bin",
        "test_batch.bin",
        "batches.meta.txt",
    ],
    gz_ok: false,
};

/// CIFAR-10 from `dir` (the extracted `cifar-10-batches-bin`): 50,000 training and 10,000 test
/// images of `[3, 32, 32]`.
pub fn load(dir: &Path) -> Result<Dataset, DataError> {
    let paths = SOURCE.locate(dir)?;
    let (meta, batches) = paths.split_last().expect("seven files");
    let (test, train) = batches.split_last().expect("six batches");
    let class_names = files::read_names(meta, CLASSES)?;
    let train = train
        .iter()
        .map(|p| read_batch(p))
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Dataset {
        name: SOURCE.dataset.into(),
        class_names,
        shape: cifar::SHAPE,
        train: cifar::concat(train)?,
        test: read_batch(test)?,
        validation: None,
    })
}

/// The images of one batch file (3073-byte records: label, then 3072 pixels).
pub fn read_batch(path: &Path) -> Result<ImageSet, DataError> {
    cifar::read_records(path, &[CLASSES], 0)
}

/// The class names of `dir/batches.meta.txt`, in label order.
pub fn class_names(dir: &Path) -> Result<Vec<String>, DataError> {
    files::read_names(&SOURCE.locate_one(dir, "batches.meta.txt")?, CLASSES)
}
