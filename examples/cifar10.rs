//! The seed ARCH on CIFAR-10: `cargo run --release --example cifar10 -- --data-dir DIR` with
//! the official binary version (`data_batch_1.bin` ... `test_batch.bin`, `batches.meta.txt`)
//! in DIR (default: `cifar-10-batches-bin` under `CNN_DATA_DIR`, else under
//! `~/.cache/cnn/data`, where `cnn data fetch cifar10` puts it). `--augment --standardize` are
//! recommended.

use std::process::ExitCode;

use cnn::runtime::cli::{self, NoOptions};
use cnn::runtime::data::cifar10;
use cnn::runtime::data::data_root;

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
        |dir| cifar10::load(dir.unwrap_or(&data_root().join(cifar10::FOLDER))),
    )
}
