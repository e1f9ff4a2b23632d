//! The IDX format of MNIST and Fashion-MNIST (big-endian u32 header, then u8 data), read and
//! written, plain or gzip'd.

use std::io::Write;
use std::path::{Path, PathBuf};

use flate2::Compression;
use flate2::write::GzEncoder;

use super::files::{self, Source};
use super::{DataError, Dataset, ImageSet};

const IMAGES_MAGIC: u32 = 0x0000_0803;
const LABELS_MAGIC: u32 = 0x0000_0801;
const SHAPE: [usize; 3] = [1, 28, 28];
const CLASSES: usize = 10;

/// The four files, in the order train images, train labels, test images, test labels.
pub(crate) const FILES: &[&str] = &[
    "train-images-idx3-ubyte",
    "train-labels-idx1-ubyte",
    "t10k-images-idx3-ubyte",
    "t10k-labels-idx1-ubyte",
];

/// Loads the four IDX files of an MNIST-like dataset from `dir`.
pub(crate) fn load_dir(
    dir: &Path,
    source: &Source,
    class_names: &[&str],
) -> Result<Dataset, DataError> {
    let paths = source.locate(dir)?;
    // One thread per file: inflating the training images is most of the work, and the other
    // three files are read beside it.
    let contents: Vec<Result<Vec<u8>, DataError>> = std::thread::scope(|s| {
        let readers: Vec<_> = paths.iter().map(|p| s.spawn(|| files::read(p))).collect();
        readers
            .into_iter()
            .map(|r| r.join().expect("IDX reader thread panicked"))
            .collect()
    });
    let files = paths
        .into_iter()
        .zip(contents)
        .map(|(path, bytes)| Ok((path, bytes?)))
        .collect::<Result<Vec<_>, DataError>>()?;
    from_files(source.dataset, class_names, files)
}

/// A dataset from in-memory (possibly gzip'd) IDX files, each `(name for errors, bytes)`.
pub(crate) fn load_bytes(
    name: &str,
    class_names: &[&str],
    inputs: [(&str, &[u8]); 4],
) -> Result<Dataset, DataError> {
    let files = inputs
        .into_iter()
        .map(|(file, bytes)| {
            let path = PathBuf::from(file);
            let bytes = files::decompress(&path, bytes.to_vec())?;
            Ok((path, bytes))
        })
        .collect::<Result<Vec<_>, DataError>>()?;
    from_files(name, class_names, files)
}

/// The dataset from its four decompressed files, in the order of [`FILES`].
fn from_files(
    name: &str,
    class_names: &[&str],
    files: Vec<(PathBuf, Vec<u8>)>,
) -> Result<Dataset, DataError> {
    let [train_images, train_labels, test_images, test_labels] =
        <[_; 4]>::try_from(files).expect("four IDX files");
    Ok(Dataset {
        name: name.to_owned(),
        class_names: class_names.iter().map(|&n| n.to_owned()).collect(),
        shape: SHAPE,
        train: parse_set(train_images, train_labels)?,
        test: parse_set(test_images, test_labels)?,
        validation: None,
    })
}

/// One split from its decompressed images and labels files.
fn parse_set(
    (images_path, images): (PathBuf, Vec<u8>),
    (labels_path, labels): (PathBuf, Vec<u8>),
) -> Result<ImageSet, DataError> {
    let pixels = parse_images(&images_path, images)?;
    let labels = parse_labels(&labels_path, &labels)?;
    let images_count = pixels.len() / SHAPE.iter().product::<usize>();
    if images_count != labels.len() {
        return Err(DataError::CountMismatch {
            images: images_path,
            images_count,
            labels: labels_path,
            labels_count: labels.len(),
        });
    }
    ImageSet::new(pixels, labels, SHAPE, CLASSES)
}

/// The magic number and the `dims` u32s that follow it.
fn header<const N: usize>(
    path: &Path,
    bytes: &[u8],
    kind: &'static str,
    magic: u32,
) -> Result<[usize; N], DataError> {
    let word = |i: usize| {
        bytes
            .get(4 * i..4 * i + 4)
            .map(|b| u32::from_be_bytes(b.try_into().expect("4 bytes")))
    };
    let found = word(0).ok_or_else(|| truncated_header(path, bytes, N))?;
    if found != magic {
        return Err(DataError::BadMagic {
            path: path.to_path_buf(),
            kind,
            expected: magic,
            found,
        });
    }
    let mut dims = [0; N];
    for (i, d) in dims.iter_mut().enumerate() {
        *d = word(i + 1).ok_or_else(|| truncated_header(path, bytes, N))? as usize;
    }
    Ok(dims)
}

fn truncated_header(path: &Path, bytes: &[u8], dims: usize) -> DataError {
    // The header counts as record 0 here: there is no record before it.
    DataError::Truncated {
        path: path.to_path_buf(),
        record: 0,
        size: 4 * (dims + 1),
        found: bytes.len(),
    }
}

/// Checks the header and the data length, then returns just the pixels.
fn parse_images(path: &Path, mut bytes: Vec<u8>) -> Result<Vec<u8>, DataError> {
    let [count, rows, cols] = header::<3>(path, &bytes, "images", IMAGES_MAGIC)?;
    if [1, rows, cols] != SHAPE {
        return Err(DataError::BadShape {
            path: path.to_path_buf(),
            expected: SHAPE,
            found: [1, rows, cols],
        });
    }
    check_size(
        path,
        count,
        count.saturating_mul(rows * cols),
        bytes.len() - 16,
    )?;
    bytes.drain(..16);
    Ok(bytes)
}

fn parse_labels(path: &Path, bytes: &[u8]) -> Result<Vec<u16>, DataError> {
    let [count] = header::<1>(path, bytes, "labels", LABELS_MAGIC)?;
    let data = &bytes[8..];
    check_size(path, count, count, data.len())?;
    if let Some(record) = data.iter().position(|&l| usize::from(l) >= CLASSES) {
        return Err(DataError::LabelOutOfRange {
            path: path.to_path_buf(),
            record,
            label: data[record].into(),
            classes: CLASSES,
        });
    }
    Ok(data.iter().map(|&l| l.into()).collect())
}

fn check_size(path: &Path, count: usize, expected: usize, actual: usize) -> Result<(), DataError> {
    if expected == actual {
        return Ok(());
    }
    Err(DataError::SizeMismatch {
        path: path.to_path_buf(),
        count,
        expected,
        actual,
    })
}

/// Writes `set` as the IDX images and labels files `dir/{prefix}-images-idx3-ubyte[.gz]` and
/// `dir/{prefix}-labels-idx1-ubyte[.gz]` (`prefix` is `train` or `t10k`); gzip'd (level 9,
/// no name, mtime 0, so the bytes are reproducible) when `gzip`.
pub fn write_split(dir: &Path, prefix: &str, set: &ImageSet, gzip: bool) -> std::io::Result<()> {
    let [_, rows, cols] = set.shape();
    let count = set.len() as u32;
    let mut images = header_bytes(IMAGES_MAGIC, &[count, rows as u32, cols as u32]);
    images.extend_from_slice(set.pixels());
    let mut labels = header_bytes(LABELS_MAGIC, &[count]);
    labels.extend(set.labels().iter().map(|&l| l as u8));
    let suffix = if gzip { ".gz" } else { "" };
    write(
        &dir.join(format!("{prefix}-images-idx3-ubyte{suffix}")),
        &images,
        gzip,
    )?;
    write(
        &dir.join(format!("{prefix}-labels-idx1-ubyte{suffix}")),
        &labels,
        gzip,
    )
}

fn header_bytes(magic: u32, dims: &[u32]) -> Vec<u8> {
    std::iter::once(magic)
        .chain(dims.iter().copied())
        .flat_map(u32::to_be_bytes)
        .collect()
}

fn write(path: &Path, bytes: &[u8], gzip: bool) -> std::io::Result<()> {
    if !gzip {
        return std::fs::write(path, bytes);
    }
    let mut encoder = GzEncoder::new(Vec::new(), Compression::best());
    encoder.write_all(bytes)?;
    std::fs::write(path, encoder.finish()?)
}
