//! The record format shared by the CIFAR-10 and CIFAR-100 binary versions: label byte(s), then
//! 3072 pixels (1024 R, 1024 G, 1024 B, each plane 32x32 row-major), which is already CHW.

use std::path::Path;

use super::{DataError, ImageSet, files};

pub(crate) const SHAPE: [usize; 3] = [3, 32, 32];
const PIXELS: usize = 3 * 32 * 32;

/// The records of one `.bin` file. Each starts with one label byte per entry of
/// `label_limits` (the byte must be below it); `label_at` picks the label to keep.
pub(crate) fn read_records(
    path: &Path,
    label_limits: &[usize],
    label_at: usize,
) -> Result<ImageSet, DataError> {
    let bytes = files::read(path)?;
    let label_bytes = label_limits.len();
    let size = label_bytes + PIXELS;
    let records = bytes.chunks_exact(size);
    if !records.remainder().is_empty() {
        return Err(DataError::Truncated {
            path: path.to_path_buf(),
            record: bytes.len() / size,
            size,
            found: records.remainder().len(),
        });
    }
    let count = bytes.len() / size;
    let mut pixels = Vec::with_capacity(count * PIXELS);
    let mut labels = Vec::with_capacity(count);
    for (record, r) in records.enumerate() {
        // Every label byte is checked, so a CIFAR-100 file with a bad coarse label is rejected
        // even when fine labels are asked for.
        for (&label, &classes) in r.iter().zip(label_limits) {
            if usize::from(label) >= classes {
                return Err(DataError::LabelOutOfRange {
                    path: path.to_path_buf(),
                    record,
                    label: label.into(),
                    classes,
                });
            }
        }
        labels.push(r[label_at].into());
        pixels.extend_from_slice(&r[label_bytes..]);
    }
    ImageSet::new(pixels, labels, SHAPE, label_limits[label_at])
}

/// Concatenates sets of the same shape and classes (the five CIFAR-10 training batches).
pub(crate) fn concat(sets: Vec<ImageSet>) -> Result<ImageSet, DataError> {
    let classes = sets.first().map_or(0, ImageSet::num_classes);
    let mut pixels = Vec::with_capacity(sets.iter().map(|s| s.pixels().len()).sum());
    let mut labels = Vec::new();
    for set in &sets {
        pixels.extend_from_slice(set.pixels());
        labels.extend_from_slice(set.labels());
    }
    ImageSet::new(pixels, labels, SHAPE, classes)
}
