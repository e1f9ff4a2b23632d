//! Dataset loaders against the real files in `CNN_DATA_DIR` (default: `shared/data` beside the
//! checkout) and against small files written in the official formats.

mod batcher;
mod cifar;
mod errors;
mod fer2013;
mod mnist;

mod dir;

pub use dir::data_dir;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cnn_runtime::data::{Dataset, mnist as mnist_loader};

/// Full MNIST, loaded once for all tests; `None` where the data is absent ([`data_dir`]).
pub fn full_mnist() -> Option<&'static Dataset> {
    static MNIST: OnceLock<Dataset> = OnceLock::new();
    let dir = data_dir("mnist")?;
    Some(MNIST.get_or_init(|| mnist_loader::load(&dir).expect("staged MNIST loads")))
}

/// A fresh directory under the system temp dir, removed when dropped.
pub struct TempDir(PathBuf);

impl TempDir {
    pub fn new(name: &str) -> Self {
        let dir = std::env::temp_dir().join(format!("cnn-runtime-{}-{name}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        TempDir(dir)
    }

    pub fn path(&self) -> &Path {
        &self.0
    }

    pub fn join(&self, name: &str) -> PathBuf {
        self.0.join(name)
    }
}

impl Drop for TempDir {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// `bytes` gzip'd.
pub fn gzip(bytes: &[u8]) -> Vec<u8> {
    use std::io::Write;
    let mut e = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    e.write_all(bytes).unwrap();
    e.finish().unwrap()
}
