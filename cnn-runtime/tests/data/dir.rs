//! Where the real datasets are, for tests and benchmarks.

use std::io::Write as _;
use std::path::{Path, PathBuf};

/// The real dataset `name` in `CNN_DATA_DIR` (relative to the repository root; default
/// `../shared/data`, beside the checkout). Where it is absent the calling test is skipped with
/// one line naming the variable (`None`), unless `CNN_REQUIRE_DATA=1`: then it fails.
pub fn data_dir(name: &str) -> Option<PathBuf> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("the repository root");
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
    // Past the test harness's capture, so that the line shows beside a passing test.
    let _ = writeln!(std::io::stderr(), "skipped: {message}");
    None
}
