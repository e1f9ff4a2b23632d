//! The datasets `cnn train` takes, where their files are looked for, and what each needs.

use std::path::Path;

use cnn::runtime::data::{
    Cifar100Labels, DataError, Dataset, Fer2013Mode, cifar10, cifar100, data_root, fashion_mnist,
    fer2013, mnist,
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, clap::ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    /// Handwritten digits, 28x28 grey (embedded 2,000-image subset without --data-dir).
    Mnist,
    /// Clothing, 28x28 grey.
    FashionMnist,
    /// 10 classes of 32x32 colour images.
    Cifar10,
    /// 100 fine classes of 32x32 colour images.
    Cifar100,
    /// CIFAR-100's 20 coarse superclasses.
    Cifar100Coarse,
    /// 7 facial expressions, 48x48 grey.
    Fer2013,
    /// FER2013's Angry (0) against Happy (3).
    Fer2013Binary,
}

impl DatasetName {
    /// The name runs are called by: `mnist`, `cifar100-coarse`, ...
    pub fn name(self) -> &'static str {
        match self {
            DatasetName::Mnist => "mnist",
            DatasetName::FashionMnist => "fashion-mnist",
            DatasetName::Cifar10 => "cifar10",
            DatasetName::Cifar100 => "cifar100",
            DatasetName::Cifar100Coarse => "cifar100-coarse",
            DatasetName::Fer2013 => "fer2013",
            DatasetName::Fer2013Binary => "fer2013-binary",
        }
    }

    /// The dataset called `name` (as [`name`](Self::name) gives it).
    pub fn from_name(name: &str) -> Option<Self> {
        use clap::ValueEnum;
        Self::value_variants()
            .iter()
            .copied()
            .find(|d| d.name() == name)
    }

    /// The input shape and number of classes a network for it has.
    pub fn shape(self) -> ([usize; 3], usize) {
        match self {
            DatasetName::Mnist | DatasetName::FashionMnist => ([1, 28, 28], 10),
            DatasetName::Cifar10 => ([3, 32, 32], 10),
            DatasetName::Cifar100 => ([3, 32, 32], 100),
            DatasetName::Cifar100Coarse => ([3, 32, 32], 20),
            DatasetName::Fer2013 => ([1, 48, 48], 7),
            DatasetName::Fer2013Binary => ([1, 48, 48], 2),
        }
    }

    /// The folder under the data root that holds its files, as their publishers name it.
    fn folder(self) -> &'static str {
        match self {
            DatasetName::Mnist => mnist::FOLDER,
            DatasetName::FashionMnist => fashion_mnist::FOLDER,
            DatasetName::Cifar10 => cifar10::FOLDER,
            DatasetName::Cifar100 | DatasetName::Cifar100Coarse => cifar100::FOLDER,
            DatasetName::Fer2013 | DatasetName::Fer2013Binary => fer2013::FOLDER,
        }
    }

    /// The dataset from `dir`, else from its folder under the data root; MNIST without
    /// either is the embedded subset. A missing folder's error says where to get the files.
    pub fn load(self, dir: Option<&Path>) -> Result<Dataset, DataError> {
        let local = data_root().join(self.folder());
        if dir.is_none() && !local.exists() && self == DatasetName::Mnist {
            eprintln!(
                "no MNIST in {}: using the embedded subset (2,000 training and 500 test \
                 images); for the full set put the four IDX files there, or pass --data-dir",
                local.display()
            );
            return Ok(mnist::embedded());
        }
        self.read(dir.unwrap_or(&local))
    }

    fn read(self, dir: &Path) -> Result<Dataset, DataError> {
        match self {
            DatasetName::Mnist => mnist::load(dir),
            DatasetName::FashionMnist => fashion_mnist::load(dir),
            DatasetName::Cifar10 => cifar10::load(dir),
            DatasetName::Cifar100 => cifar100::load(dir, Cifar100Labels::Fine),
            DatasetName::Cifar100Coarse => cifar100::load(dir, Cifar100Labels::Coarse),
            DatasetName::Fer2013 => fer2013::load(dir, Fer2013Mode::SevenClass),
            DatasetName::Fer2013Binary => fer2013::load(dir, Fer2013Mode::Binary),
        }
    }
}
