//! From architecture search to a frozen network: the ARCH file named on the command line is
//! built at run time (`Net`), trained briefly on the embedded MNIST subset and saved; then the
//! struct `cnn_from_json!` generates from the seed ARCH loads those weights and predicts the
//! same labels. A file of another architecture trains all the same, and the last step says
//! which tensor does not fit.
//!
//! `cargo run --release --example runtime -- examples/arch/seed.arch`

use std::error::Error;
use std::path::PathBuf;
use std::process::ExitCode;

use clap::Parser;
use cnn::arch::Overrides;
use cnn::burn::module::Module;
use cnn::runtime::data::{BatcherOptions, ImageBatcher, mnist};
use cnn::runtime::eval::evaluate;
use cnn::runtime::nn::Net;
use cnn::runtime::train::{Console, Interrupt, TrainConfig, Trainer};
use cnn::runtime::{Backend, Network, weights};

cnn::use_mimalloc!();

cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = MnistNet,
    input = [1, 28, 28],
    classes = 10
);

#[derive(Parser)]
#[command(about = "Build a network from an ARCH file at run time, train it, freeze it")]
struct Args {
    /// The architecture file (JSON or a Python `ARCH = [...]` list).
    arch: PathBuf,
    #[arg(long, default_value_t = 1)]
    epochs: usize,
    /// Training images (a class-stratified subset of the embedded 2,000).
    #[arg(long, default_value_t = 500)]
    train_limit: usize,
    /// Where the weights and the architecture go.
    #[arg(long, default_value = "runs/runtime")]
    out: PathBuf,
    #[arg(long, default_value_t = Backend::default())]
    backend: Backend,
}

fn main() -> ExitCode {
    match run(Args::parse()) {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            eprintln!("error: {error}");
            ExitCode::FAILURE
        }
    }
}

fn run(args: Args) -> Result<(), Box<dyn Error>> {
    let device = args.backend.device()?;
    let overrides = Overrides {
        name: Some("SearchNet".into()),
        input: Some([1, 28, 28]),
        classes: Some(10),
    };
    // Every problem in the file at once, as the compiler would report them.
    let built = Net::from_file(&args.arch, &overrides, &device)?;
    println!("{}", built.summary());
    let architecture = built.architecture().clone();

    let data = mnist::embedded().limit_train(args.train_limit, 1);
    let mut console = Console::default();
    let mut trainer = Trainer {
        config: TrainConfig {
            epochs: args.epochs,
            ..TrainConfig::default()
        },
        device: device.clone(),
        checkpoint: None,
        interrupt: Interrupt::ctrl_c(),
        observer: &mut console,
    };
    let trained = trainer.fit(|device| Net::new(&architecture, device), &data, false)?;
    let net = trained.model.valid();
    let test = evaluate(
        &net,
        &data.test,
        &ImageBatcher::new(BatcherOptions::default()),
        64,
        &device,
    );
    println!(
        "{}: test accuracy {:.2}%",
        net.name(),
        100.0 * test.accuracy()
    );

    std::fs::create_dir_all(&args.out)?;
    let file = args.out.join("model.bpk");
    net.clone().save_file(&file)?;
    std::fs::write(args.out.join("arch.json"), net.arch_text())?;
    println!("saved {} and arch.json", file.display());

    // Freeze: the generated struct takes the weights the runtime network saved.
    match weights::load(MnistNet::new(&device), &file) {
        Ok(frozen) => {
            let again = evaluate(
                &frozen,
                &data.test,
                &ImageBatcher::new(BatcherOptions::default()),
                64,
                &device,
            );
            let same = again.y_pred == test.y_pred;
            println!(
                "MnistNet (generated) loaded them: test accuracy {:.2}%, the same predictions: {same}",
                100.0 * again.accuracy()
            );
        }
        Err(error) => println!("not the seed ARCH, so MnistNet cannot take them: {error}"),
    }
    Ok(())
}
