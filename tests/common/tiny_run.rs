//! A small network and the examples' command line, for tests that run whole experiments.

use clap::Parser;
use cnn::runtime::cli::{self, ExperimentArgs};
use cnn::runtime::data::mnist;

cnn::cnn_from_json!(
    "tests/arch/tiny.arch",
    name = TinyNet,
    input = [1, 28, 28],
    classes = 10
);

#[derive(Parser)]
struct Cli {
    #[command(flatten)]
    experiment: ExperimentArgs,
}

/// The examples' arguments on a 300-image subset with batches of 32, plus `extra`.
pub fn args(extra: &[&str]) -> ExperimentArgs {
    let base = [
        "test",
        "--train-limit",
        "300",
        "--test-limit",
        "100",
        "--batch-size",
        "32",
    ];
    Cli::parse_from(base.iter().chain(extra)).experiment
}

/// Trains [`TinyNet`] on the embedded MNIST subset.
pub fn run(args: ExperimentArgs) -> cli::RunOutcome {
    cli::run("mnist", args, "tests/arch/tiny.arch", TinyNet::new, |dir| {
        assert!(dir.is_none());
        Ok(mnist::embedded())
    })
    .unwrap()
}
