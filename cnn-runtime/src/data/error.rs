//! Everything that can be wrong with a dataset's files. Each error names the file and, where
//! it applies, the record (0-based) or CSV line (1-based, the header is line 1).

use std::io;
use std::path::PathBuf;

/// A dataset could not be loaded; nothing of it was returned.
#[derive(Debug, thiserror::Error)]
pub enum DataError {
    #[error(
        "{dataset}: directory {} not found; it should hold {}. Get the dataset from {url}",
        path.display(), expected.join(", ")
    )]
    MissingDir {
        dataset: &'static str,
        path: PathBuf,
        expected: Vec<String>,
        url: &'static str,
    },

    #[error(
        "{dataset}: file {} not found; the directory should hold {}. Get the dataset from {url}",
        path.display(), expected.join(", ")
    )]
    MissingFile {
        dataset: &'static str,
        path: PathBuf,
        expected: Vec<String>,
        url: &'static str,
    },

    #[error("cannot read {}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: io::Error,
    },

    #[error("{}: bad magic number {found:#010x}, expected {expected:#010x} (not an IDX {kind} file?)", path.display())]
    BadMagic {
        path: PathBuf,
        kind: &'static str,
        expected: u32,
        found: u32,
    },

    #[error("{}: header says {count} records ({expected} bytes of data) but the file holds {actual} bytes", path.display())]
    SizeMismatch {
        path: PathBuf,
        count: usize,
        expected: usize,
        actual: usize,
    },

    #[error("{}: record {record} is truncated: {found} of {size} bytes", path.display())]
    Truncated {
        path: PathBuf,
        record: usize,
        size: usize,
        found: usize,
    },

    #[error("{}: images are {found:?}, expected {expected:?}", path.display())]
    BadShape {
        path: PathBuf,
        expected: [usize; 3],
        found: [usize; 3],
    },

    #[error("{}: record {record} has label {label}, expected below {classes}", path.display())]
    LabelOutOfRange {
        path: PathBuf,
        record: usize,
        label: usize,
        classes: usize,
    },

    #[error("{images_count} images in {} but {labels_count} labels in {}", images.display(), labels.display())]
    CountMismatch {
        images: PathBuf,
        images_count: usize,
        labels: PathBuf,
        labels_count: usize,
    },

    #[error("{}: {found} class names, expected {expected}", path.display())]
    ClassNames {
        path: PathBuf,
        expected: usize,
        found: usize,
    },

    #[error("{}: line {line}: {message}", path.display())]
    Csv {
        path: PathBuf,
        line: u64,
        message: String,
    },

    #[error("{}: line {line}: {found} pixels, expected {expected}", path.display())]
    PixelCount {
        path: PathBuf,
        line: u64,
        found: usize,
        expected: usize,
    },

    #[error("{}: line {line}: Usage `{value}` is not Training, PublicTest or PrivateTest", path.display())]
    BadUsage {
        path: PathBuf,
        line: u64,
        value: String,
    },

    #[error("invalid image set: {0}")]
    InvalidSet(String),
}
