//! Dataset loaders against the real files in `CNN_DATA_DIR` (default: `shared/data` beside the
//! checkout) and against small files written in the official formats.

mod batcher;
mod cifar;
mod errors;
mod fer2013;
mod mnist;

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use cnn_runtime::data::{Dataset, mnist as mnist_loader};

/// The real dataset `name` in `CNN_DATA_DIR` (relative to the repository root; default
/// `../shared/data`, beside the checkout). Where it is absent the calling test is skipped with
/// one line naming the variable (`None`), unless `CNN_REQUIRE_DATA=1`: then it fails.
pub fn data_dir(name: &str) -> Option<PathBuf> {
    let root = Path::new(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    let base = std::env::var_os("CNN_DATA_DIR").unwrap_or_else(|| "../shared/data".into());
    let dir = root.join(base).join(name);
    if dir.exists() {
        return Some(dir);
    }
    let message = format!(
        "{} does not exist: set CNN_DATA_DIR to the folder that holds `{name}`",
        dir.display()
    );
    assert!(
        std::env::var("CNN_REQUIRE_DATA").as_deref() != Ok("1"),
        "{message} (CNN_REQUIRE_DATA=1 makes missing data an error)"
    );
    eprintln!("skipped: {message}");
    None
}

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
