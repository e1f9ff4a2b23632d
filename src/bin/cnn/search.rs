//! `cnn search`: architecture search over a space file, in a study many workers share.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::{Args, Subcommand};
use cnn::runtime::Backend;
use cnn::search::study::{NewStudy, Settings, Study};
use cnn::search::trial::Training;
use cnn::search::worker::{self, WorkerEnd};
use cnn::search::{Kind, SearchSpace, report};

use crate::Failure;
use crate::dataset::DatasetName;

#[derive(Subcommand)]
pub enum SearchCommand {
    /// Run trials of a study until its budget is spent: start it (with --space), or join it
    /// as one more worker (with the same --study, from this or another machine).
    #[command(after_help = "Examples:
  cnn search run --study studies/mnist.db --space examples/search/small.py --dataset mnist --trials 20
  cnn search run --study studies/mnist.db          # a second worker joins the study
  cnn search run --study postgres://user@host/db --name fashion --space space.py --dataset fashion-mnist")]
    Run(RunArgs),
    /// Print how far a study is: trials per state, the best so far, the trials running.
    Status(StudyArgs),
    /// Write a study's report: trials.csv, report.md, plots, best.json and best.bpk.
    Report(ReportArgs),
    /// Check a search space file and list its decisions.
    Check {
        /// The search space: JSON, or a Python `SPACE = {...}` literal.
        space: PathBuf,
    },
}

#[derive(Args)]
pub struct StudyArgs {
    /// The study's database: a SQLite file (created if missing) or a postgres:// URL.
    #[arg(long)]
    study: String,
    /// The study's name in the database.
    #[arg(long, default_value = "search")]
    name: String,
    /// The study's directory: trial checkpoints and reports [default: the SQLite file's path
    /// without its extension; for PostgreSQL, search-NAME].
    #[arg(long)]
    dir: Option<PathBuf>,
}

#[derive(Args)]
pub struct ReportArgs {
    #[command(flatten)]
    study: StudyArgs,
    /// Where to write the report [default: the study's directory].
    #[arg(long)]
    out: Option<PathBuf>,
    /// Other studies (SQLite files or URLs, name `search`) whose best reward so far joins the
    /// plot, one line per study: to compare strategies.
    #[arg(long)]
    compare: Vec<String>,
}

#[derive(Args)]
pub struct RunArgs {
    #[command(flatten)]
    study: StudyArgs,
    /// The search space file; needed to start a study, optional to join one.
    #[arg(long)]
    space: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "mnist")]
    dataset: DatasetName,
    /// Folder with the dataset's official files (MNIST: the embedded subset without one).
    #[arg(long)]
    data_dir: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "reinforce")]
    strategy: StrategyName,
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Networks to train (invalid proposals do not count).
    #[arg(long, default_value_t = 20)]
    trials: usize,
    /// Epochs per trial.
    #[arg(long, default_value_t = 2)]
    epochs: usize,
    #[arg(long, default_value_t = 64)]
    batch_size: usize,
    #[arg(long, default_value_t = 1e-3)]
    lr: f64,
    #[arg(long, default_value_t = 1e-3)]
    weight_decay: f64,
    /// Train each trial on a class-stratified subset of this many images.
    #[arg(long)]
    train_limit: Option<usize>,
    /// Fraction of the training set held out to score trials on.
    #[arg(long, default_value_t = 0.1)]
    validation: f64,
    /// Subtract this much reward per million multiply-adds per image.
    #[arg(long, default_value_t = 0.0)]
    macs_penalty: f64,
    /// The reward of a proposal that cannot be trained.
    #[arg(long, default_value_t = 0.0)]
    penalty: f64,
    /// The median rule: from this epoch on, a trial trailing the median of finished trials
    /// at the same epoch stops...
    #[arg(long, default_value_t = 1)]
    prune_after: usize,
    /// ...once this many trials finished (0: never stop trials early).
    #[arg(long, default_value_t = 5)]
    prune_min_trials: usize,
    /// Seconds without a heartbeat after which a worker counts as dead and its trial runs
    /// again.
    #[arg(long, default_value_t = 60.0)]
    heartbeat_timeout: f64,
    /// Runs of a trial whose workers died before it is marked failed.
    #[arg(long, default_value_t = 3)]
    max_attempts: usize,
    /// Compute backend of this worker.
    #[arg(long, default_value_t = Backend::default())]
    backend: Backend,
}

#[derive(Clone, Copy, clap::ValueEnum)]
enum StrategyName {
    Random,
    Evolution,
    Reinforce,
}

impl From<StrategyName> for Kind {
    fn from(name: StrategyName) -> Kind {
        match name {
            StrategyName::Random => Kind::Random,
            StrategyName::Evolution => Kind::Evolution,
            StrategyName::Reinforce => Kind::Reinforce,
        }
    }
}

pub fn run(command: SearchCommand) -> Result<ExitCode, Failure> {
    match command {
        SearchCommand::Run(args) => run_worker(args),
        SearchCommand::Status(args) => {
            let mut study = Study::open(&args.study, &args.name, None)?;
            let trials = study.trials()?;
            print!("{}", report::status(&study, &trials));
            Ok(ExitCode::SUCCESS)
        }
        SearchCommand::Report(args) => {
            let mut study = Study::open(&args.study.study, &args.study.name, None)?;
            let dir = args.study.dir();
            let out = args.out.unwrap_or_else(|| dir.clone());
            let others = compared(&args.compare)?;
            for file in report::write(&mut study, &dir, &out, &others)? {
                println!("wrote {}", file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
        SearchCommand::Check { space } => check(&space),
    }
}

impl StudyArgs {
    fn dir(&self) -> PathBuf {
        if let Some(dir) = &self.dir {
            return dir.clone();
        }
        if self.study.contains("://") {
            return PathBuf::from(format!("search-{}", self.name));
        }
        Path::new(&self.study).with_extension("")
    }
}

fn run_worker(args: RunArgs) -> Result<ExitCode, Failure> {
    let new = args
        .space
        .as_ref()
        .map(|path| new_study(&args, path))
        .transpose()?;
    let mut study = Study::open(&args.study.study, &args.study.name, new.as_ref())?;
    let dir = args.study.dir();
    let settings = study.settings.clone();
    let dataset = DatasetName::from_name(&settings.dataset).ok_or_else(|| {
        format!(
            "the study's dataset `{}` is not one this command knows",
            settings.dataset
        )
    })?;
    let mut data = dataset.load(args.data_dir.as_deref())?;
    if data.validation.is_none() {
        data = data.with_validation(settings.validation, study.seed);
    }
    if let Some(n) = settings.train_images {
        data = data.limit_train(n, study.seed);
    }
    let name = worker::worker_name();
    println!(
        "study `{}` in {} ({} search, {} trials of {} epochs on {} training and {} validation images): worker {name}",
        study.name,
        study.location(),
        study.kind.name(),
        settings.trials,
        settings.epochs,
        data.train.len(),
        data.validation.as_ref().map_or(0, |v| v.len()),
    );
    let mut training = Training {
        data,
        settings,
        seed: study.seed,
        dir: dir.clone(),
        device: args.backend.device()?,
    };
    let (end, count) = worker::run(&mut study, &mut training, &name, &mut |line| {
        println!("{line}")
    })?;
    match end {
        WorkerEnd::Interrupted => {
            println!(
                "interrupted after {} trials; run the same command again to continue",
                count.finished
            );
            Ok(ExitCode::from(130))
        }
        WorkerEnd::Finished => {
            for file in report::write(&mut study, &dir, &dir, &[])? {
                println!("wrote {}", file.display());
            }
            Ok(ExitCode::SUCCESS)
        }
    }
}

fn new_study(args: &RunArgs, path: &Path) -> Result<NewStudy, Failure> {
    let space_text = read_space(path)?;
    let (input, classes) = args.dataset.shape();
    let settings = Settings {
        dataset: args.dataset.name().into(),
        input,
        classes,
        trials: args.trials,
        epochs: args.epochs,
        batch_size: args.batch_size,
        learning_rate: args.lr,
        weight_decay: args.weight_decay,
        train_images: args.train_limit,
        validation: args.validation,
        macs_penalty: args.macs_penalty,
        penalty: args.penalty,
        prune_after: args.prune_after,
        prune_min_trials: args.prune_min_trials,
        heartbeat_timeout: args.heartbeat_timeout,
        max_attempts: args.max_attempts,
    };
    settings
        .check()
        .map_err(|problem| format!("invalid setting: {problem}"))?;
    Ok(NewStudy {
        kind: args.strategy.into(),
        seed: args.seed,
        space_text,
        settings,
    })
}

/// A space file's text, once it reads as a valid space.
fn read_space(path: &Path) -> Result<String, Failure> {
    let bytes = std::fs::read(path)
        .map_err(|e| format!("cannot read search space file {}: {e}", path.display()))?;
    let file = path.display().to_string();
    let text = cnn::arch::decode(&bytes).map_err(|d| d.render(&file))?;
    SearchSpace::parse(text).map_err(|errors| {
        let errors: Vec<String> = errors.iter().map(|e| e.render(&file)).collect();
        errors.join("\nerror: ")
    })?;
    Ok(text.to_owned())
}

fn check(path: &Path) -> Result<ExitCode, Failure> {
    let space = SearchSpace::parse(&read_space(path)?).expect("read_space checked it");
    let decisions = space.decisions();
    let size: f64 = decisions.iter().map(|d| d.choices as f64).product();
    println!(
        "{}: {} decisions, {size:.3e} genomes",
        path.display(),
        decisions.len()
    );
    for d in decisions.iter().filter(|d| d.choices > 1) {
        println!("  {} ({} options)", d.name, d.choices);
    }
    Ok(ExitCode::SUCCESS)
}

fn compared(locations: &[String]) -> Result<Vec<report::StudyTrials>, Failure> {
    let open = |location: &String| -> Result<report::StudyTrials, Failure> {
        let mut study = Study::open(location, "search", None)?;
        Ok(report::StudyTrials::of(&mut study)?)
    };
    locations.iter().map(open).collect()
}
