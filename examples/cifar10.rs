//! The seed ARCH on CIFAR-10: `cargo run --release --example cifar10 -- --data-dir DIR` with
//! the official binary version (`data_batch_1.bin` ... `test_batch.bin`, `batches.meta.txt`)
//! in DIR (default `data/cifar-10-batches-bin`). `--augment --standardize` are recommended.

use std::path::Path;
use std::process::ExitCode;

use cnn::runtime::cli::{self, NoOptions};
use cnn::runtime::data::cifar10;

// Optional: keeps freed training buffers for reuse instead of page-faulting them in again.
cnn::use_mimalloc!();

cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = Cifar10Net,
    input = [3, 32, 32],
    classes = 10
);

fn main() -> ExitCode {
    let (_, args) = cli::parse::<NoOptions>("Train the seed ARCH on CIFAR-10 and write a report");
    cli::main(
        "cifar10",
        args,
        "examples/arch/seed.arch",
        Cifar10Net::new,
        |dir| cifar10::load(dir.unwrap_or(Path::new("data/cifar-10-batches-bin"))),
    )
}
