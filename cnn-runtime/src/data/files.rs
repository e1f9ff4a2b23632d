//! Finding a dataset's files (plain or `.gz`) and reading them whole into memory.

use std::io::Read;
use std::path::{Path, PathBuf};

use flate2::read::MultiGzDecoder;

use super::DataError;

/// Where a dataset's files come from, for the "file not found" messages.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Source {
    pub dataset: &'static str,
    pub url: &'static str,
    /// The file names the directory must hold (each may also be gzip'd when `gz_ok`).
    pub files: &'static [&'static str],
    pub gz_ok: bool,
}

impl Source {
    fn expected(&self) -> Vec<String> {
        let suffix = if self.gz_ok { "[.gz]" } else { "" };
        self.files.iter().map(|f| format!("{f}{suffix}")).collect()
    }

    /// The paths of all of `self.files` in `dir`, checked to exist before anything is read,
    /// so a missing file is reported at once and with the full list.
    pub fn locate(&self, dir: &Path) -> Result<Vec<PathBuf>, DataError> {
        if !dir.is_dir() {
            return Err(DataError::MissingDir {
                dataset: self.dataset,
                path: dir.to_path_buf(),
                expected: self.expected(),
                url: self.url,
            });
        }
        self.files
            .iter()
            .map(|name| self.locate_one(dir, name))
            .collect()
    }

    /// `dir/name`, or `dir/name.gz` when that exists instead.
    pub fn locate_one(&self, dir: &Path, name: &str) -> Result<PathBuf, DataError> {
        let plain = dir.join(name);
        if plain.is_file() {
            return Ok(plain);
        }
        let gz = dir.join(format!("{name}.gz"));
        if self.gz_ok && gz.is_file() {
            return Ok(gz);
        }
        Err(DataError::MissingFile {
            dataset: self.dataset,
            path: plain,
            expected: self.expected(),
            url: self.url,
        })
    }
}

/// The file's bytes, decompressed when it is gzip'd (detected by its magic bytes, not its name).
pub(crate) fn read(path: &Path) -> Result<Vec<u8>, DataError> {
    let bytes = std::fs::read(path).map_err(|source| io_error(path, source))?;
    decompress(path, bytes)
}

/// `bytes` decompressed when they are a gzip stream, else unchanged.
pub(crate) fn decompress(path: &Path, bytes: Vec<u8>) -> Result<Vec<u8>, DataError> {
    if !bytes.starts_with(&[0x1f, 0x8b]) {
        return Ok(bytes);
    }
    // The gzip trailer holds the uncompressed size (mod 2^32): allocating it up front avoids
    // repeated reallocation and copying of the ~47 MB MNIST training images.
    let hint = bytes
        .last_chunk::<4>()
        .map_or(0, |t| u32::from_le_bytes(*t) as usize);
    let mut out = Vec::with_capacity(hint.min(1 << 30));
    MultiGzDecoder::new(bytes.as_slice())
        .read_to_end(&mut out)
        .map_err(|source| io_error(path, source))?;
    Ok(out)
}

pub(crate) fn io_error(path: &Path, source: std::io::Error) -> DataError {
    DataError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// One name per non-empty line (the CIFAR `*.txt` name files).
pub(crate) fn read_names(path: &Path, expected: usize) -> Result<Vec<String>, DataError> {
    let text = String::from_utf8_lossy(&read(path)?).into_owned();
    let names: Vec<String> = text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(str::to_owned)
        .collect();
    if names.len() != expected {
        return Err(DataError::ClassNames {
            path: path.to_path_buf(),
            expected,
            found: names.len(),
        });
    }
    Ok(names)
}
