//! Training minutes until the seed network first reaches a test accuracy on MNIST (99% by
//! default), with the test set evaluated after every epoch (evaluation time not counted).
//! `bench/mnist_torch.py` does the same in PyTorch; `bench/time_to_accuracy.sh` runs both.
//!
//! `cargo run --release -p cnn-bench --bin time_to_accuracy -- --data-dir ../shared/data/mnist`

use std::path::PathBuf;

use clap::Parser;
use cnn::runtime::Backend;
use cnn::runtime::data::mnist;
use cnn::runtime::train::{Console, Interrupt, Schedule, TrainConfig, Trainer};

use cnn_bench::SeedNet;

#[derive(Parser, Debug)]
struct Args {
    /// Folder with the four MNIST IDX files (gzip'd or not).
    #[arg(long)]
    data_dir: PathBuf,
    #[arg(long, default_value_t = 4)]
    epochs: usize,
    /// Learning-rate schedule: `constant`, `step:EVERY:GAMMA` or `cosine[:MIN]`.
    #[arg(long, default_value = "step:2:0.1")]
    schedule: Schedule,
    /// Test accuracy to reach, in [0, 1].
    #[arg(long, default_value_t = 0.99)]
    target: f64,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    #[arg(long, default_value_t = 42)]
    seed: u64,
    #[arg(long, default_value = "flex")]
    backend: Backend,
    /// Leave denormal floats as they are (`cnn::runtime::denormals`), to time their cost.
    #[arg(long)]
    keep_denormals: bool,
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    cnn::runtime::backend::kernel_compilation::skip_library_backtraces();
    let args = Args::parse();
    cnn::runtime::denormals::set_flush(!args.keep_denormals);
    let mut data = mnist::load(&args.data_dir)?;
    // Validation after each epoch is then the full test set.
    data.validation = Some(data.test.clone());
    let config = TrainConfig {
        epochs: args.epochs,
        batch_size: args.batch_size,
        seed: args.seed,
        schedule: args.schedule,
        ..TrainConfig::default()
    };
    let mut console = Console::plain();
    let mut trainer = Trainer {
        config,
        device: args.backend.device()?,
        checkpoint: None,
        interrupt: Interrupt::ctrl_c(),
        observer: &mut console,
    };
    let trained = trainer.fit(SeedNet::new, &data, false)?;
    let mut seconds = 0.0;
    let mut reached = None;
    let mut epochs = Vec::new();
    for m in &trained.history {
        seconds += m.seconds;
        let accuracy = 1.0 - m.valid_error.unwrap_or(1.0);
        if accuracy >= args.target && reached.is_none() {
            reached = Some(seconds / 60.0);
        }
        epochs.push(serde_json::json!({"epoch": m.epoch, "train_minutes": seconds / 60.0, "test_accuracy": accuracy}));
    }
    let line = serde_json::json!({
        "framework": "burn",
        "network": SeedNet::NAME,
        "target": args.target,
        "minutes_to_target": reached,
        "epochs": epochs,
    });
    println!("{line}");
    Ok(())
}
