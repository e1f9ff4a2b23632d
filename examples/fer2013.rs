//! The seed ARCH on FER2013: `cargo run --release --example fer2013 -- --data-dir DIR` with
//! Kaggle's `fer2013.csv` (or `.csv.gz`) in DIR (default `data/fer2013`). Seven emotions, or
//! with `--binary` Angry versus Happy. Training uses `Training`, validation `PublicTest` and
//! the test `PrivateTest`.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use cnn::runtime::data::fer2013::{self, Fer2013Mode};
use cnn::runtime::experiment::{self, ExperimentArgs};

// Keeps freed training buffers for reuse instead of page-faulting them in every step.
#[global_allocator]
static ALLOCATOR: cnn::runtime::alloc::Allocator = cnn::runtime::alloc::Allocator;

cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = FerNet,
    input = [1, 48, 48],
    classes = 7
);
cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = FerBinaryNet,
    input = [1, 48, 48],
    classes = 2
);

#[derive(Parser)]
#[command(
    about = "Train the seed ARCH on FER2013 (7 emotions, or Angry vs Happy) and write a report"
)]
struct Args {
    /// Angry (0) versus Happy (3) only, relabelled 0 and 1.
    #[arg(long)]
    binary: bool,
    #[command(flatten)]
    experiment: ExperimentArgs,
}

fn main() -> ExitCode {
    // SAFETY: the first statement of `main`: no other thread exists yet.
    unsafe { cnn::runtime::kernel_compilation::skip_library_backtraces() };
    let args = Args::parse();
    let load = |mode| {
        move |dir: Option<&Path>| fer2013::load(dir.unwrap_or(Path::new("data/fer2013")), mode)
    };
    let arch = "examples/arch/seed.arch";
    if args.binary {
        experiment::main::<FerBinaryNet>(
            "fer2013-binary",
            args.experiment,
            arch,
            load(Fer2013Mode::Binary),
        )
    } else {
        experiment::main::<FerNet>(
            "fer2013",
            args.experiment,
            arch,
            load(Fer2013Mode::SevenClass),
        )
    }
}
