//! The seed ARCH on Fashion-MNIST: `cargo run --release --example fashion_mnist -- --data-dir DIR`
//! with the four official IDX files (gzip'd or not) in DIR (default `data/fashion-mnist`).

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use cnn::runtime::data::fashion_mnist;
use cnn::runtime::experiment::{self, ExperimentArgs};

// Keeps freed training buffers for reuse instead of page-faulting them in every step.
#[global_allocator]
static ALLOCATOR: cnn::runtime::alloc::Allocator = cnn::runtime::alloc::Allocator;

cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = FashionNet,
    input = [1, 28, 28],
    classes = 10
);

#[derive(Parser)]
#[command(about = "Train the seed ARCH on Fashion-MNIST and write a report")]
struct Args {
    #[command(flatten)]
    experiment: ExperimentArgs,
}

fn main() -> ExitCode {
    // SAFETY: the first statement of `main`: no other thread exists yet.
    unsafe { cnn::runtime::kernel_compilation::skip_library_backtraces() };
    let args = Args::parse();
    experiment::main::<FashionNet>(
        "fashion_mnist",
        args.experiment,
        "examples/arch/seed.arch",
        |dir| fashion_mnist::load(dir.unwrap_or(Path::new("data/fashion-mnist"))),
    )
}
