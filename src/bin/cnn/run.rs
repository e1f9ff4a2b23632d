//! What each subcommand does.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use cnn::arch::Overrides;
use cnn::burn::module::Module;
use cnn::burn::tensor::{Tensor, TensorData};
use cnn::runtime::cli::{self, ExperimentArgs};
use cnn::runtime::data::{BatcherOptions, ImageBatcher};
use cnn::runtime::eval::{evaluate as evaluate_split, infer};
use cnn::runtime::nn::{Net, NetError, check_file};
use cnn::runtime::train::Stop;
use cnn::runtime::{Network, weights};
use serde::{Deserialize, Serialize};

use crate::Failure;
use crate::dataset::DatasetName;

/// What `cnn train` adds to a run directory, for `evaluate` and `predict` to rebuild the run.
#[derive(Serialize, Deserialize)]
struct RunInfo {
    dataset: DatasetName,
    /// The architecture file's copy in the run directory.
    arch: String,
    class_names: Vec<String>,
}

const RUN_INFO: &str = "cnn-run.json";

/// The checked network in `file`, or every problem in it as the compiler reports them.
pub fn check(file: &Path, overrides: &Overrides) -> Result<ExitCode, Failure> {
    let network = read(file, overrides)?;
    let [c, h, w] = network.input;
    println!(
        "{}: {} layers, {} parameters, input {c}x{h}x{w}, {} classes",
        file.display(),
        network.layers.len(),
        cnn::arch::thousands(network.params() as u64),
        network.classes
    );
    Ok(ExitCode::SUCCESS)
}

pub fn summary(file: &Path, overrides: &Overrides) -> Result<ExitCode, Failure> {
    print!("{}", read(file, overrides)?.summary());
    Ok(ExitCode::SUCCESS)
}

fn read(file: &Path, overrides: &Overrides) -> Result<cnn::arch::Network, Failure> {
    let (network, _) = check_file(file, overrides).map_err(problems)?;
    Ok(network)
}

/// `error`, with each of a file's problems on a line of its own.
fn problems(error: NetError) -> Failure {
    match error {
        // `main` puts `error: ` before the first line; the others get theirs here.
        NetError::Invalid(lines) => lines.join("\nerror: ").into(),
        other => other.into(),
    }
}

/// Builds the file's network at run time and trains it as the examples train theirs.
pub fn train(file: &Path, dataset: DatasetName, args: ExperimentArgs) -> Result<ExitCode, Failure> {
    let template = network(file, dataset, &args)?;
    let mut class_names = Vec::new();
    let outcome = cli::run(
        dataset.name(),
        args,
        &file.to_string_lossy(),
        |device| template.fresh(device),
        |dir| {
            let data = dataset.load(dir)?;
            class_names.clone_from(&data.class_names);
            Ok(data)
        },
    )?;
    let arch = file.file_name().map(|f| f.to_string_lossy().into_owned());
    let info = RunInfo {
        dataset,
        arch: arch.unwrap_or_else(|| "arch.json".into()),
        class_names,
    };
    std::fs::write(
        outcome.dir.join(RUN_INFO),
        serde_json::to_string_pretty(&info)?,
    )?;
    Ok(match outcome.stop {
        Stop::Interrupted => ExitCode::from(130),
        _ => ExitCode::SUCCESS,
    })
}

/// The network in `file` for `dataset`'s images, on the backend `args` asks for.
fn network(file: &Path, dataset: DatasetName, args: &ExperimentArgs) -> Result<Net, Failure> {
    let (input, classes) = dataset.shape();
    let overrides = Overrides {
        name: None,
        input: Some(input),
        classes: Some(classes),
    };
    let device = args.backend.device()?;
    Net::from_file(file, &overrides, &device).map_err(problems)
}

/// A run directory's network with its trained weights, its saved options and what `cnn train`
/// recorded.
struct Run {
    net: Net,
    args: ExperimentArgs,
    info: RunInfo,
}

impl Run {
    fn open(dir: &Path) -> Result<Run, Failure> {
        let read = |name: &str| {
            std::fs::read_to_string(dir.join(name)).map_err(|e| {
                format!(
                    "{} is not a run directory of `cnn train` (no {name}: {e})",
                    dir.display()
                )
            })
        };
        let info: RunInfo = serde_json::from_str(&read(RUN_INFO)?)?;
        let args: ExperimentArgs = serde_json::from_str(&read("args.json")?)?;
        let net = network(&dir.join(&info.arch), info.dataset, &args)?;
        let net = weights::load(net, dir.join("model.bpk"))?.valid();
        Ok(Run { net, args, info })
    }
}

/// The run's network on its dataset's test split, prepared as training prepared it.
pub fn evaluate(dir: &Path, data_dir: Option<PathBuf>) -> Result<ExitCode, Failure> {
    let Run {
        net, args, info, ..
    } = Run::open(dir)?;
    let data_dir = data_dir.or(args.data_dir.clone());
    let data = info.dataset.load(data_dir.as_deref())?;
    let data = cli::prepare_data(data, &args);
    let options = BatcherOptions {
        standardize: args.standardize.then(|| data.train.channel_stats()),
        ..BatcherOptions::default()
    };
    let device = args.backend.device()?;
    let batcher = ImageBatcher::new(options);
    let test = evaluate_split(&net, &data.test, &batcher, args.batch_size, &device);
    println!(
        "{} on {}: test accuracy {:.2}% (error {:.2}%, loss {:.4}) on {} images",
        net.name(),
        data.name,
        100.0 * test.accuracy(),
        100.0 * test.error_rate(),
        test.loss,
        test.y_true.len()
    );
    Ok(ExitCode::SUCCESS)
}

/// The run's prediction for each image file.
pub fn predict(dir: &Path, images: &[PathBuf], invert: bool) -> Result<ExitCode, Failure> {
    let run = Run::open(dir)?;
    let device = run.args.backend.device()?;
    for path in images {
        let prediction = infer::predict_file(&run.net, path, invert, &device)?;
        let label = prediction.label;
        let name = run.info.class_names.get(label).cloned().unwrap_or_default();
        println!(
            "{}: {label} {name} ({:.1}%)",
            path.display(),
            100.0 * prediction.probabilities[label]
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The run's weights as safetensors for PyTorch at `out`; with `probe`, two fixed inputs and
/// the run's logits for them beside it.
pub fn export(dir: &Path, out: &Path, probe: bool) -> Result<ExitCode, Failure> {
    let run = Run::open(dir)?;
    cnn::runtime::export::save_safetensors(&run.net, out)?;
    println!("wrote {}", out.display());
    if probe {
        let [c, h, w] = run.net.input();
        let shape = [2, c, h, w];
        // Fixed values in [0, 1), the same on every machine.
        let values: Vec<f32> = (0..shape.iter().product::<usize>())
            .map(|i| ((i * 7919 + 13) % 1000) as f32 / 1000.0)
            .collect();
        let device = run.args.backend.device()?;
        let images = Tensor::<4>::from_data(TensorData::new(values.clone(), shape), &device);
        let logits: Vec<f32> = run.net.logits(images).into_data().try_to_vec()?;
        let probe = serde_json::json!({ "input": shape, "values": values, "logits": logits });
        let path = PathBuf::from(format!("{}.probe.json", out.display()));
        std::fs::write(&path, probe.to_string())?;
        println!("wrote {}", path.display());
    }
    Ok(ExitCode::SUCCESS)
}
