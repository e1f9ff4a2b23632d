//! The seed ARCH on MNIST: `cargo run --release --example mnist` trains on the embedded
//! 2,000-image subset (no download) and writes the report into `runs/mnist-<timestamp>/`.
//! `--data-dir DIR` reads the four official IDX files (gzip'd or not) from DIR instead.

use std::process::ExitCode;

use clap::Parser;
use cnn::runtime::data::mnist;
use cnn::runtime::experiment::{self, ExperimentArgs};

// Keeps freed training buffers for reuse instead of page-faulting them in every step.
#[global_allocator]
static ALLOCATOR: cnn::runtime::alloc::Allocator = cnn::runtime::alloc::Allocator;

cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = MnistNet,
    input = [1, 28, 28],
    classes = 10
);

#[derive(Parser)]
#[command(about = "Train the seed ARCH on MNIST and write a report")]
struct Args {
    #[command(flatten)]
    experiment: ExperimentArgs,
}

fn main() -> ExitCode {
    // SAFETY: the first statement of `main`: no other thread exists yet.
    unsafe { cnn::runtime::kernel_compilation::skip_library_backtraces() };
    let args = Args::parse();
    experiment::main::<MnistNet>("mnist", args.experiment, "examples/arch/seed.arch", |dir| {
        match dir {
            Some(dir) => mnist::load(dir),
            None => Ok(mnist::embedded()),
        }
    })
}
