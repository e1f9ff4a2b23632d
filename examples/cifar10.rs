//! The seed ARCH on CIFAR-10: `cargo run --release --example cifar10 -- --data-dir DIR` with
//! the official binary version (`data_batch_1.bin` ... `test_batch.bin`, `batches.meta.txt`)
//! in DIR (default `data/cifar-10-batches-bin`). `--augment --standardize` are recommended.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use cnn::runtime::data::cifar10;
use cnn::runtime::experiment::{self, ExperimentArgs};

// Keeps freed training buffers for reuse instead of page-faulting them in every step.
#[global_allocator]
static ALLOCATOR: cnn::runtime::alloc::Allocator = cnn::runtime::alloc::Allocator;

cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = Cifar10Net,
    input = [3, 32, 32],
    classes = 10
);

#[derive(Parser)]
#[command(about = "Train the seed ARCH on CIFAR-10 and write a report")]
struct Args {
    #[command(flatten)]
    experiment: ExperimentArgs,
}

fn main() -> ExitCode {
    // SAFETY: the first statement of `main`: no other thread exists yet.
    unsafe { cnn::runtime::kernel_compilation::skip_library_backtraces() };
    let args = Args::parse();
    experiment::main::<Cifar10Net>(
        "cifar10",
        args.experiment,
        "examples/arch/seed.arch",
        |dir| cifar10::load(dir.unwrap_or(Path::new("data/cifar-10-batches-bin"))),
    )
}
