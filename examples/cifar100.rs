//! The seed ARCH on CIFAR-100: `cargo run --release --example cifar100 -- --data-dir DIR` with
//! the official binary version (`train.bin`, `test.bin` and the label-name files) in DIR
//! (default `data/cifar-100-binary`); `--coarse` trains on the 20 superclasses.

use std::path::Path;
use std::process::ExitCode;

use clap::Parser;
use cnn::runtime::data::cifar100::{self, Cifar100Labels};
use cnn::runtime::experiment::{self, ExperimentArgs};

// Keeps freed training buffers for reuse instead of page-faulting them in every step.
#[global_allocator]
static ALLOCATOR: cnn::runtime::alloc::Allocator = cnn::runtime::alloc::Allocator;

cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = Cifar100Net,
    input = [3, 32, 32],
    classes = 100
);
cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = Cifar20Net,
    input = [3, 32, 32],
    classes = 20
);

#[derive(Parser)]
#[command(about = "Train the seed ARCH on CIFAR-100 (fine or coarse labels) and write a report")]
struct Args {
    /// The 20 coarse superclasses instead of the 100 fine classes.
    #[arg(long)]
    coarse: bool,
    #[command(flatten)]
    experiment: ExperimentArgs,
}

fn main() -> ExitCode {
    // SAFETY: the first statement of `main`: no other thread exists yet.
    unsafe { cnn::runtime::kernel_compilation::skip_library_backtraces() };
    let args = Args::parse();
    let load = |labels| {
        move |dir: Option<&Path>| {
            cifar100::load(dir.unwrap_or(Path::new("data/cifar-100-binary")), labels)
        }
    };
    let arch = "examples/arch/seed.arch";
    if args.coarse {
        experiment::main::<Cifar20Net>(
            "cifar100-coarse",
            args.experiment,
            arch,
            load(Cifar100Labels::Coarse),
        )
    } else {
        experiment::main::<Cifar100Net>(
            "cifar100",
            args.experiment,
            arch,
            load(Cifar100Labels::Fine),
        )
    }
}
