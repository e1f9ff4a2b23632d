//! Regenerates `assets/mnist-small/`, the MNIST subset embedded by `data::mnist::embedded()`:
//! 2,000 training and 500 test images chosen class-stratified (seed 0) from full MNIST.
//!
//! `cargo run -p cnn-runtime --example make_mnist_small -- [MNIST_DIR] [OUT_DIR]`
//! (defaults: `../shared/data/mnist` and `cnn-runtime/assets/mnist-small`).

use std::path::PathBuf;

use cnn_runtime::data::{idx, mnist};

const TRAIN: usize = 2_000;
const TEST: usize = 500;
const SEED: u64 = 0;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let root = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    let mut args = std::env::args_os().skip(1).map(PathBuf::from);
    let from = args
        .next()
        .unwrap_or_else(|| root.join("../../shared/data/mnist"));
    let to = args
        .next()
        .unwrap_or_else(|| root.join("assets/mnist-small"));
    let full = mnist::load(&from)?;
    let train = full.train.limit_stratified(TRAIN, SEED);
    let test = full.test.limit_stratified(TEST, SEED);
    std::fs::create_dir_all(&to)?;
    idx::write_split(&to, "train", &train, true)?;
    idx::write_split(&to, "t10k", &test, true)?;
    println!(
        "wrote {} train and {} test images to {} (train classes {:?}, test classes {:?})",
        train.len(),
        test.len(),
        to.display(),
        train.label_histogram(),
        test.label_histogram()
    );
    Ok(())
}
