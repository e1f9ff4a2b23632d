//! The seed ARCH on MNIST: `cargo run --release --example mnist` trains on the embedded
//! 2,000-image subset (no download) and writes the report into `runs/mnist-<timestamp>/`.
//! `--data-dir DIR` reads the four official IDX files (gzip'd or not) from DIR instead.

use std::process::ExitCode;

use cnn::runtime::cli::{self, NoOptions};
use cnn::runtime::data::mnist;

// Optional: keeps freed training buffers for reuse instead of page-faulting them in again.
cnn::use_mimalloc!();

cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = MnistNet,
    input = [1, 28, 28],
    classes = 10
);

fn main() -> ExitCode {
    let (_, args) = cli::parse::<NoOptions>("Train the seed ARCH on MNIST and write a report");
    cli::main(
        "mnist",
        args,
        "examples/arch/seed.arch",
        MnistNet::new,
        |dir| match dir {
            Some(dir) => mnist::load(dir),
            None => Ok(mnist::embedded()),
        },
    )
}
