//! The `cnn` command: check, summarize, train, evaluate and predict with any ARCH file, with
//! no Rust code to write. `cnn --help` lists the subcommands; each has its own `--help`.
//!
//! Exit codes: 0 on success, 1 on a mistake in the input (one clear message), 2 on a mistake
//! in the command line.

mod data;
mod dataset;
mod run;
mod search;

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use cnn::arch::Overrides;
use cnn::runtime::cli::ExperimentArgs;

use dataset::DatasetName;

cnn::use_mimalloc!();

#[derive(Parser)]
#[command(
    name = "cnn",
    version,
    about = "Check, summarize, train, evaluate and predict with CNN architecture files",
    after_help = "Examples:
  cnn check arch.json --input 1,28,28 --classes 10
  cnn summary examples/arch/seed.arch --input 1,28,28 --classes 10
  cnn train examples/arch/seed.arch --dataset mnist --epochs 1
  cnn evaluate runs/mnist-20261206-120000
  cnn predict runs/mnist-20261206-120000 digit.png
  cnn data fetch mnist
  cnn search run --study studies/mnist.db --space examples/search/small.py --trials 20"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Check an architecture file: every problem at once, as the compiler reports them.
    #[command(after_help = "Example:\n  cnn check arch.json --input 1,28,28 --classes 10")]
    Check(FileArgs),
    /// Print a file's layers, output shapes, parameters and multiply-adds.
    #[command(
        after_help = "Example:\n  cnn summary examples/arch/seed.arch --input 3,32,32 --classes 10"
    )]
    Summary(FileArgs),
    /// Train the network a file describes on a dataset, and write a run directory (report,
    /// metrics, plots, weights, the file, checkpoints).
    #[command(after_help = "Examples:
  cnn train examples/arch/seed.arch --dataset mnist --epochs 1
  cnn train arch.py --dataset cifar10 --data-dir data/cifar-10-batches-bin --augment --standardize
  cnn train arch.py --dataset mnist --resume runs/mnist-20261206-120000 --epochs 5")]
    Train(TrainArgs),
    /// Evaluate a run's weights on the test split of its dataset.
    #[command(after_help = "Example:\n  cnn evaluate runs/mnist-20261206-120000")]
    Evaluate(EvaluateArgs),
    /// Predict the class of image files (PNG, JPEG) with a run's weights.
    #[command(after_help = "Example:\n  cnn predict runs/mnist-20261206-120000 digit.png --invert")]
    Predict(PredictArgs),
    /// Write a run's weights for PyTorch: safetensors under the names and layout of the module
    /// `bench/seed_torch.py` builds from the same file.
    #[command(
        after_help = "Example:\n  cnn export runs/mnist-20261206-120000 --format safetensors --out seed.safetensors"
    )]
    Export(ExportArgs),
    /// Fetch datasets from their publishers, or list those present.
    #[command(subcommand)]
    Data(data::DataCommand),
    /// Search for architectures: propose networks from a space file, train each briefly, keep
    /// every trial in a study (SQLite or PostgreSQL) that many workers share.
    #[command(subcommand)]
    Search(search::SearchCommand),
}

/// An architecture file and the shapes it may leave out.
#[derive(clap::Args)]
struct FileArgs {
    /// The architecture: strict JSON, or a pasted Python `ARCH = [...]` list.
    file: PathBuf,
    /// Input shape `C,H,W`, where the file gives none (or to override it).
    #[arg(long, value_parser = parse_shape)]
    input: Option<[usize; 3]>,
    /// Number of classes, where the file gives none (or to override it).
    #[arg(long)]
    classes: Option<usize>,
}

#[derive(clap::Args)]
struct TrainArgs {
    /// The architecture: strict JSON, or a pasted Python `ARCH = [...]` list.
    file: PathBuf,
    /// The dataset; its images set the input shape and classes.
    #[arg(long, value_enum)]
    dataset: DatasetName,
    #[command(flatten)]
    experiment: ExperimentArgs,
}

#[derive(clap::Args)]
struct EvaluateArgs {
    /// A run directory written by `cnn train`.
    run: PathBuf,
    /// Where the dataset is, if not where the run found it.
    #[arg(long)]
    data_dir: Option<PathBuf>,
}

#[derive(clap::Args)]
struct PredictArgs {
    /// A run directory written by `cnn train`.
    run: PathBuf,
    /// PNG or JPEG files; each is converted to the network's channels and size.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Invert the grey levels (dark strokes on white paper, unlike MNIST).
    #[arg(long)]
    invert: bool,
}

#[derive(clap::Args)]
struct ExportArgs {
    /// A run directory written by `cnn train`.
    run: PathBuf,
    #[arg(long, value_enum)]
    format: ExportFormat,
    /// The file to write [default: RUN/model.safetensors].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Also write OUT.probe.json: two fixed inputs and their logits, for
    /// `bench/export_check.py` to compare PyTorch's with.
    #[arg(long)]
    probe: bool,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum ExportFormat {
    Safetensors,
}

fn parse_shape(text: &str) -> Result<[usize; 3], String> {
    let numbers: Vec<usize> = text
        .split(',')
        .map(|n| n.trim().parse().map_err(|_| format!("`{n}` is not a size")))
        .collect::<Result<_, _>>()?;
    numbers
        .try_into()
        .map_err(|_| format!("expected C,H,W such as 1,28,28, found `{text}`"))
}

impl FileArgs {
    fn overrides(&self) -> Overrides {
        Overrides {
            name: None,
            input: self.input,
            classes: self.classes,
        }
    }
}

/// A mistake in the input: its message, and exit code 1.
type Failure = Box<dyn std::error::Error>;

fn main() -> ExitCode {
    cnn::runtime::backend::kernel_compilation::skip_library_backtraces();
    let result = match Cli::parse().command {
        Command::Check(args) => run::check(&args.file, &args.overrides()),
        Command::Summary(args) => run::summary(&args.file, &args.overrides()),
        Command::Train(args) => run::train(&args.file, args.dataset, args.experiment),
        Command::Evaluate(args) => run::evaluate(&args.run, args.data_dir),
        Command::Predict(args) => run::predict(&args.run, &args.images, args.invert),
        Command::Export(args) => {
            let ExportFormat::Safetensors = args.format;
            let out = args
                .out
                .unwrap_or_else(|| args.run.join("model.safetensors"));
            run::export(&args.run, &out, args.probe)
        }
        Command::Data(command) => data::run(command),
        Command::Search(command) => search::run(command),
    };
    match result {
        Ok(code) => code,
        Err(failure) => {
            eprintln!("error: {failure}");
            ExitCode::FAILURE
        }
    }
}
