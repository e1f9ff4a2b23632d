//! CIFAR-100, binary version: `train.bin`, `test.bin` and the fine and coarse class names.

/// The folder its files go in under the data root ([`super::data_root`]), as its publisher
/// names it.
pub const FOLDER: &str = "cifar-100-binary";

use std::path::Path;

use super::files::{self, Source};
use super::{DataError, Dataset, ImageSet, cifar};

const SOURCE: Source = Source {
    dataset: "CIFAR-100",
    url: "https://www.cs.toronto.edu/~kriz/cifar-100-binary.tar.gz",
    files: &[
        "train.bin",
        "test.bin",
        "fine_label_names.txt",
        "coarse_label_names.txt",
    ],
    gz_ok: false,
};

/// Which of the two labels of every CIFAR-100 image to train on.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Cifar100Labels {
    /// The 100 classes.
    Fine,
    /// The 20 superclasses.
    Coarse,
}

impl Cifar100Labels {
    pub fn num_classes(self) -> usize {
        match self {
            Cifar100Labels::Fine => 100,
            Cifar100Labels::Coarse => 20,
        }
    }

    fn kind(self) -> &'static str {
        match self {
            Cifar100Labels::Fine => "fine",
            Cifar100Labels::Coarse => "coarse",
        }
    }

    /// Position of the label in a record: coarse first, then fine.
    fn byte(self) -> usize {
        match self {
            Cifar100Labels::Coarse => 0,
            Cifar100Labels::Fine => 1,
        }
    }

    fn names_file(self) -> &'static str {
        match self {
            Cifar100Labels::Fine => "fine_label_names.txt",
            Cifar100Labels::Coarse => "coarse_label_names.txt",
        }
    }
}

/// CIFAR-100 from `dir` (the extracted `cifar-100-binary`): 50,000 training and 10,000 test
/// images of `[3, 32, 32]`, labelled with the `labels` kind.
pub fn load(dir: &Path, labels: Cifar100Labels) -> Result<Dataset, DataError> {
    let paths = SOURCE.locate(dir)?;
    let names = if labels == Cifar100Labels::Fine {
        &paths[2]
    } else {
        &paths[3]
    };
    Ok(Dataset {
        name: format!("CIFAR-100 ({})", labels.kind()),
        class_names: files::read_names(names, labels.num_classes())?,
        shape: cifar::SHAPE,
        train: read_file(&paths[0], labels)?,
        test: read_file(&paths[1], labels)?,
        validation: None,
    })
}

/// The images of `train.bin` or `test.bin` (3074-byte records: coarse label, fine label, then
/// 3072 pixels).
pub fn read_file(path: &Path, labels: Cifar100Labels) -> Result<ImageSet, DataError> {
    cifar::read_records(path, &[20, 100], labels.byte())
}

/// The fine or coarse class names of `dir`, in label order.
pub fn class_names(dir: &Path, labels: Cifar100Labels) -> Result<Vec<String>, DataError> {
    let path = SOURCE.locate_one(dir, labels.names_file())?;
    files::read_names(&path, labels.num_classes())
}
