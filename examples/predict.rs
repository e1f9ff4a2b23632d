//! Predicts the digit in an image file with the weights of an `mnist` run:
//! `cargo run --release --example predict -- runs/mnist-<timestamp>/model.bpk digit.png`.
//! Add `--invert` for dark ink on a light background.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use cnn::runtime::Backend;
use cnn::runtime::eval::infer;

cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = MnistNet,
    input = [1, 28, 28],
    classes = 10
);

#[derive(Parser)]
#[command(about = "Predict the digit in image files with a trained MNIST network")]
struct Args {
    /// Weights saved by the mnist example (`model.bpk` in its run directory).
    weights: PathBuf,
    /// PNG or JPEG files; each is converted to grey and resized to 28x28.
    #[arg(required = true)]
    images: Vec<PathBuf>,
    /// Invert the grey levels (dark strokes on white paper, unlike MNIST).
    #[arg(long)]
    invert: bool,
    #[arg(long, default_value_t = Backend::default())]
    backend: Backend,
}

fn main() -> ExitCode {
    cnn::runtime::backend::kernel_compilation::skip_library_backtraces();
    let args = Args::parse();
    match run(&args) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: &Args) -> Result<(), Box<dyn std::error::Error>> {
    let device = args.backend.device()?;
    let model = infer::load(MnistNet::new(&device), &args.weights)?;
    for path in &args.images {
        let prediction = infer::predict_file(&model, path, args.invert, &device)?;
        let confidence = prediction.probabilities[prediction.label];
        println!(
            "{}: {} ({:.1}%)",
            path.display(),
            prediction.label,
            100.0 * confidence
        );
    }
    Ok(())
}
