//! [`Dataset`]: a named dataset's class names, input shape and splits.

use super::ImageSet;
use super::sampling::SplitSize;

/// Which part of a dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Split {
    Train,
    Validation,
    Test,
}

/// A loaded dataset: every split holds images of `shape` labelled `0..class_names.len()`.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    pub name: String,
    pub class_names: Vec<String>,
    /// `[C, H, W]` of one image.
    pub shape: [usize; 3],
    pub train: ImageSet,
    pub test: ImageSet,
    /// Set by [`Dataset::with_validation`], or by the loader where the dataset has an official
    /// validation split (FER2013's PublicTest).
    pub validation: Option<ImageSet>,
}

impl Dataset {
    pub fn num_classes(&self) -> usize {
        self.class_names.len()
    }

    /// The split's images, if the dataset has that split.
    pub fn split(&self, split: Split) -> Option<&ImageSet> {
        match split {
            Split::Train => Some(&self.train),
            Split::Validation => self.validation.as_ref(),
            Split::Test => Some(&self.test),
        }
    }

    /// Moves a class-stratified, seeded `size` (fraction or count) of the training images into
    /// the validation split, replacing any validation split the dataset had.
    pub fn with_validation(mut self, size: impl Into<SplitSize>, seed: u64) -> Self {
        let (train, validation) = self.train.split_validation(size, seed);
        self.train = train;
        self.validation = Some(validation);
        self
    }

    /// Keeps a class-stratified, seeded subset of at most `n` training images.
    pub fn limit_train(mut self, n: usize, seed: u64) -> Self {
        self.train = self.train.limit_stratified(n, seed);
        self
    }

    /// Keeps a class-stratified, seeded subset of at most `n` test images.
    pub fn limit_test(mut self, n: usize, seed: u64) -> Self {
        self.test = self.test.limit_stratified(n, seed);
        self
    }

    /// Keeps a class-stratified, seeded subset of at most `n` validation images (if any).
    pub fn limit_validation(mut self, n: usize, seed: u64) -> Self {
        self.validation = self.validation.map(|v| v.limit_stratified(n, seed));
        self
    }
}
