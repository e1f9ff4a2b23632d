//! One command per experiment: the shared command line of the examples, and the run that
//! trains, evaluates and writes the report into a run directory.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use burn::tensor::Device;
use clap::FromArgMatches as _;
use serde::{Deserialize, Serialize};

use crate::data::{Augment, BatcherOptions, DataError, Dataset, ImageBatcher};
use crate::eval::evaluate::{Evaluation, evaluate, evaluate_replayed};
use crate::nn::precision::ConvPrecision;
use crate::report::{EpochMetrics, Report};
use crate::train::{Checkpoint, Console, Interrupt, Schedule, Stop, TrainConfig, Trainer};
use crate::{Backend, Network};

/// The options every example shares.
#[derive(Debug, Clone, clap::Args, Serialize, Deserialize)]
pub struct ExperimentArgs {
    /// Folder with the dataset's official files [default: the dataset's folder under
    /// CNN_DATA_DIR, else ~/.cache/cnn/data; for the mnist example, its embedded subset].
    #[arg(long)]
    pub data_dir: Option<PathBuf>,
    /// Passes over the training set [default: 5; on --resume, the saved run's].
    #[arg(long)]
    pub epochs: Option<usize>,
    #[arg(long, default_value_t = 64)]
    pub batch_size: usize,
    /// Adam's learning rate [default: 1e-3; on --resume, the saved run's, so that a run can
    /// go on at a lower rate].
    #[arg(long)]
    pub lr: Option<f64>,
    /// L2 weight decay (0 turns it off).
    #[arg(long, default_value_t = 1e-3)]
    pub weight_decay: f64,
    /// Learning-rate schedule: constant, step:EVERY:GAMMA, cosine or cosine:MIN.
    #[arg(long, default_value = "constant")]
    pub schedule: String,
    /// Stop when the validation loss has not improved for this many epochs.
    #[arg(long)]
    pub patience: Option<usize>,
    /// Train on a class-stratified subset of this many images.
    #[arg(long)]
    pub train_limit: Option<usize>,
    /// Test on a class-stratified subset of this many images.
    #[arg(long)]
    pub test_limit: Option<usize>,
    /// Fraction of the training set held out for validation (0 for none), unless the dataset
    /// has an official validation split.
    #[arg(long, default_value_t = 0.1)]
    pub validation: f64,
    /// Random crops of training images: `crop-flip` (the default; with horizontal flips) or
    /// `crop` (for digits), each with an optional padding, as in `crop:2` (4 pixels without).
    #[arg(long, num_args = 0..=1, default_missing_value = "crop-flip", value_name = "MODE")]
    #[serde(with = "crate::data::augment::compat", default)]
    pub augment: Option<Augment>,
    /// Label smoothing of the training loss, from 0 (none) to below 1; 0.1 is common.
    #[arg(long, default_value_t = 0.0, value_parser = parse_label_smoothing)]
    #[serde(default)]
    pub label_smoothing: f64,
    /// Standardise each channel with the training set's mean and std.
    #[arg(long)]
    pub standardize: bool,
    #[arg(long, default_value_t = 42)]
    pub seed: u64,
    /// Compute backend: flex, ndarray, wgpu, vulkan or cuda (compiled in by cargo features).
    #[arg(long, default_value_t = Backend::default())]
    pub backend: Backend,
    /// Float type convolutions multiply in: f32, or bf16 / f16 for mixed precision (weights
    /// and activations stay f32; for GPU tensor cores, slower on the CPU).
    #[arg(long, default_value_t = ConvPrecision::F32)]
    #[serde(default)]
    pub conv_precision: ConvPrecision,
    /// Replay a recorded training step, and a recorded forward pass when evaluating
    /// (`cnn::runtime::train::replay`): the same training, less host work per step. The default on GPU
    /// backends; on CPU ones steps run as ordinary ones either way. A run's checkpoints resume
    /// only with it.
    #[arg(long, conflicts_with = "no_replay")]
    #[serde(default)]
    pub replay: bool,
    /// Run every step and pass as an ordinary one on GPU backends too (refused when resuming a
    /// replayed run).
    #[arg(long)]
    #[serde(skip)]
    pub no_replay: bool,
    /// Leave denormal floats as they are instead of flushing them to zero on the CPU
    /// (`cnn::runtime::denormals`: on Intel CPUs they slow training down as it converges).
    #[arg(long)]
    #[serde(default)]
    pub keep_denormals: bool,
    /// Train and validate only, leaving the test set untouched, as when choosing a recipe on
    /// the validation split; `cnn evaluate RUN` tests the weights later.
    #[arg(long)]
    #[serde(default)]
    pub no_test: bool,
    /// Run directory [default: runs/EXAMPLE-TIMESTAMP].
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// Continue the run in this directory from its last checkpoint.
    #[arg(long)]
    #[serde(skip)]
    pub resume: Option<PathBuf>,
}

/// What a finished run produced.
pub struct RunOutcome {
    pub dir: PathBuf,
    pub test: Option<Evaluation>,
    pub stop: Stop,
}

type Error = Box<dyn std::error::Error>;

/// No options beyond the shared ones, for [`parse`].
#[derive(Debug, Clone, clap::Args)]
pub struct NoOptions {}

/// Parses the command line of an example described by `about`: the options `E` adds, and the
/// shared [`ExperimentArgs`]. Prints help or the error and exits as clap does. It first stops
/// library errors from capturing stack traces
/// ([`skip_library_backtraces`](crate::backend::kernel_compilation::skip_library_backtraces)).
pub fn parse<E: clap::Args + clap::FromArgMatches>(about: &'static str) -> (E, ExperimentArgs) {
    crate::backend::kernel_compilation::skip_library_backtraces();
    use clap::Args as _;
    let name = std::env::current_exe()
        .ok()
        .and_then(|path| Some(path.file_stem()?.to_string_lossy().into_owned()))
        .unwrap_or_else(|| "cnn".into());
    let command = clap::Command::new(name).about(about);
    let matches = ExperimentArgs::augment_args(E::augment_args(command)).get_matches();
    let extra = E::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    let shared = ExperimentArgs::from_arg_matches(&matches).unwrap_or_else(|e| e.exit());
    (extra, shared)
}

/// Runs an experiment and turns any error into a message and exit code 1 (130 when
/// interrupted), for an example's `main`.
pub fn main<M: Network>(
    experiment: &str,
    args: ExperimentArgs,
    arch_file: &str,
    init: impl Fn(&Device) -> M,
    load: impl FnOnce(Option<&Path>) -> Result<Dataset, DataError>,
) -> ExitCode {
    match run(experiment, args, arch_file, init, load) {
        Ok(outcome) if outcome.stop == Stop::Interrupted => ExitCode::from(130),
        Ok(_) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Loads the data, trains the network `init` builds (`MnistNet::new`, or a closure building
/// a [`crate::nn::Net`]), or resumes it, evaluates it on the test split and writes the report,
/// the weights (`model.bpk`) and a copy of the architecture file into the run directory.
pub fn run<M: Network>(
    experiment: &str,
    args: ExperimentArgs,
    arch_file: &str,
    init: impl Fn(&Device) -> M,
    load: impl FnOnce(Option<&Path>) -> Result<Dataset, DataError>,
) -> Result<RunOutcome, Error> {
    let (args, dir, resume) = prepare(experiment, args)?;
    let config = train_config(&args)?;
    let device = args.backend.device()?;
    args.conv_precision.select(&device)?;
    crate::denormals::set_flush(!args.keep_denormals);
    let data = prepare_data(load(args.data_dir.as_deref())?, &args);
    // Only once everything above has succeeded, so that a mistake leaves no empty run; a
    // resumed run records its new epochs and learning rate for the next resume.
    std::fs::create_dir_all(&dir).map_err(|e| format!("cannot create {}: {e}", dir.display()))?;
    crate::durable::write(&dir.join("args.json"), serde_json::to_string_pretty(&args)?)?;
    // Built once to describe it before training starts; the trainer builds its own, seeded.
    let network = init(&device);
    println!("{}", network.summary());
    println!(
        "{} on {}: {} training, {} validation, {} test images; backend {}; run directory {}",
        network.name(),
        data.name,
        data.train.len(),
        data.validation.as_ref().map_or(0, |v| v.len()),
        data.test.len(),
        backend_label(&args),
        dir.display()
    );
    if args.backend.is_gpu() {
        println!(
            "the first batches compile and autotune GPU kernels (one to two minutes with a \
             cold cache on an H200, over two with --conv-precision f16); later runs reuse the \
             tuning, and on Vulkan the same build's compiled kernels (target/environment/ of \
             the Cargo project around the working directory, else ~/.cache/cubecl/)"
        );
    }
    let mut console = Console::default();
    let mut trainer = Trainer {
        config: config.clone(),
        device: device.clone(),
        checkpoint: Some(Checkpoint::new(dir.join("checkpoint"))),
        interrupt: Interrupt::ctrl_c(),
        observer: &mut console,
    };
    drop(network);
    let trained = trainer.fit(init, &data, resume)?;
    if trained.stop == Stop::Interrupted {
        return Ok(RunOutcome {
            dir,
            test: None,
            stop: trained.stop,
        });
    }
    let model = trained.model.valid();
    save_network(&model, &dir, arch_file)?;
    if args.no_test {
        return validated_only(dir, &trained.history, trained.stop);
    }
    let options = BatcherOptions {
        standardize: config.standardize.then(|| data.train.channel_stats()),
        augment: None,
        seed: 0,
    };
    let evaluate = match config.replay {
        true => evaluate_replayed,
        false => evaluate,
    };
    let test = evaluate(
        &model,
        &data.test,
        &ImageBatcher::new(options),
        config.batch_size,
        &device,
    );
    let sizes = [
        data.train.len(),
        data.validation.as_ref().map_or(0, |v| v.len()),
        data.test.len(),
    ];
    let backend = backend_label(&args);
    let report = Report {
        experiment,
        network: model.name(),
        summary: model.summary(),
        dataset: &data.name,
        class_names: &data.class_names,
        sizes,
        backend: &backend,
        config: &config,
        history: &trained.history,
        test: &test,
        seconds: trained.seconds,
        stop: trained.stop,
    };
    report.write(&dir)?;
    println!(
        "test accuracy {:.2}% (error {:.2}%) on {} images; report: {}",
        100.0 * test.accuracy(),
        100.0 * test.error_rate(),
        test.y_true.len(),
        dir.join("report.md").display()
    );
    Ok(RunOutcome {
        dir,
        test: Some(test),
        stop: trained.stop,
    })
}

/// The weights (`model.bpk`) and the architecture file, into the run directory.
fn save_network<M: Network>(model: &M, dir: &Path, arch_file: &str) -> Result<(), Error> {
    let save = |staged: &Path| {
        model
            .clone()
            .save_file(staged)
            .map_err(std::io::Error::other)
    };
    crate::durable::replace(&dir.join("model.bpk"), save)
        .map_err(|e| format!("cannot save the weights: {e}"))?;
    crate::durable::write(&dir.join(arch_name(arch_file)), model.arch_text())?;
    Ok(())
}

/// The end of a `--no-test` run: the per-epoch metrics and curves, and the last validation
/// accuracy; no test, no report.
fn validated_only(dir: PathBuf, history: &[EpochMetrics], stop: Stop) -> Result<RunOutcome, Error> {
    std::fs::write(
        dir.join("metrics.csv"),
        crate::report::history::to_csv(history),
    )?;
    #[cfg(feature = "plots")]
    if !history.is_empty() {
        crate::report::plots::plot_training_curves(history, dir.join("curves.png"))?;
    }
    let valid = history.last().and_then(|m| m.valid_error);
    match valid {
        Some(error) => println!(
            "validation accuracy {:.2}% (error {:.2}%); the test set was not used; \
             `cnn evaluate {}` tests the weights",
            100.0 * (1.0 - error),
            100.0 * error,
            dir.display()
        ),
        None => println!("no validation split; the test set was not used"),
    }
    Ok(RunOutcome {
        dir,
        test: None,
        stop,
    })
}

/// The backend, and the convolutions' precision when it is not `f32`.
fn backend_label(args: &ExperimentArgs) -> String {
    match args.conv_precision {
        ConvPrecision::F32 => args.backend.to_string(),
        half => format!("{} (convolutions in {half})", args.backend),
    }
}

/// The run directory and the arguments to use: a fresh directory (created by the caller), or the
/// resumed run's saved arguments (with `--epochs`, `--lr`, `--backend` and
/// `--conv-precision` from the command line).
fn prepare(
    experiment: &str,
    args: ExperimentArgs,
) -> Result<(ExperimentArgs, PathBuf, bool), Error> {
    if let Some(dir) = args.resume.clone() {
        let saved = dir.join("args.json");
        let text = std::fs::read_to_string(&saved).map_err(|e| {
            format!(
                "cannot resume from {}: {e} (is it a run directory?)",
                dir.display()
            )
        })?;
        let mut resumed: ExperimentArgs = serde_json::from_str(&text)?;
        resumed.epochs = args.epochs.or(resumed.epochs);
        resumed.lr = args.lr.or(resumed.lr);
        resumed.backend = args.backend;
        resumed.conv_precision = args.conv_precision;
        if args.no_replay && resumed.replay {
            return Err(format!(
                "cannot resume {} with --no-replay: it was trained with replayed steps, and its \
                 checkpoint keeps their Adam's state, which only they resume",
                dir.display()
            )
            .into());
        }
        resumed.replay |= args.replay;
        let checkpoint = Checkpoint::new(dir.join("checkpoint"));
        if !checkpoint.exists() {
            return Err(format!(
                "{} holds no checkpoint to resume from",
                checkpoint.dir().display()
            )
            .into());
        }
        return Ok((resumed, dir, true));
    }
    let dir = match &args.out {
        Some(dir) => dir.clone(),
        None => PathBuf::from("runs").join(format!("{experiment}-{}", timestamp())),
    };
    let mut fresh = args;
    fresh.replay = replays_by_default(&fresh);
    fresh.epochs = Some(fresh.epochs.unwrap_or(DEFAULT_EPOCHS));
    fresh.lr = Some(fresh.lr.unwrap_or(TrainConfig::default().learning_rate));
    Ok((fresh, dir, false))
}

/// Whether a fresh run replays its steps: on GPU backends unless `--no-replay` says otherwise,
/// because there the host's work per step paces training (`docs/gpu.md` has the figures).
fn replays_by_default(args: &ExperimentArgs) -> bool {
    args.replay || (args.backend.is_gpu() && !args.no_replay)
}

/// Epochs of a fresh run when `--epochs` is not given.
const DEFAULT_EPOCHS: usize = 5;

fn train_config(args: &ExperimentArgs) -> Result<TrainConfig, Error> {
    let schedule: Schedule = args.schedule.parse()?;
    let defaults = TrainConfig::default();
    Ok(TrainConfig {
        epochs: args.epochs.unwrap_or(DEFAULT_EPOCHS),
        batch_size: args.batch_size,
        learning_rate: args.lr.unwrap_or(defaults.learning_rate),
        weight_decay: args.weight_decay,
        seed: args.seed,
        schedule,
        early_stopping: args.patience,
        augment: args.augment,
        label_smoothing: args.label_smoothing,
        standardize: args.standardize,
        replay: args.replay,
        ..defaults
    })
}

fn parse_label_smoothing(text: &str) -> Result<f64, String> {
    match text.parse::<f64>() {
        Ok(v) if (0.0..1.0).contains(&v) => Ok(v),
        _ => Err(format!(
            "`{text}` is not a number from 0 up to (not including) 1"
        )),
    }
}

/// `data` as a run with `args` trains on it: the validation split and the subsets they ask for.
pub fn prepare_data(mut data: Dataset, args: &ExperimentArgs) -> Dataset {
    if data.validation.is_none() && args.validation > 0.0 {
        data = data.with_validation(args.validation, args.seed);
    }
    if let Some(n) = args.train_limit {
        data = data.limit_train(n, args.seed);
    }
    if let Some(n) = args.test_limit {
        data = data.limit_test(n, args.seed);
    }
    data
}

fn arch_name(arch_file: &str) -> String {
    Path::new(arch_file)
        .file_name()
        .map_or_else(|| "arch.json".into(), |f| f.to_string_lossy().into_owned())
}

/// `20261126-031356`, UTC.
fn timestamp() -> String {
    let now = humantime::format_rfc3339_seconds(std::time::SystemTime::now()).to_string();
    now.trim_end_matches('Z')
        .replace(['-', ':'], "")
        .replace('T', "-")
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        experiment: ExperimentArgs,
    }

    fn parse(extra: &[&str]) -> Result<ExperimentArgs, clap::Error> {
        Cli::try_parse_from(["test"].iter().chain(extra)).map(|cli| cli.experiment)
    }

    #[test]
    fn gpu_backends_replay_unless_told_not_to() {
        let replays = |extra: &[&str]| replays_by_default(&parse(extra).unwrap());
        assert!(!replays(&["--backend", "flex"]));
        assert!(replays(&["--backend", "flex", "--replay"]));
        for gpu in ["wgpu", "vulkan", "cuda"] {
            assert!(replays(&["--backend", gpu]), "{gpu}");
            assert!(!replays(&["--backend", gpu, "--no-replay"]), "{gpu}");
        }
    }

    #[test]
    fn replay_and_no_replay_together_are_refused() {
        let error = parse(&["--replay", "--no-replay"]).err().unwrap();
        assert_eq!(error.kind(), clap::error::ErrorKind::ArgumentConflict);
    }
}
