//! `cnn data fetch` and `cnn data list`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use cnn::runtime::data::fetch::{self, FER2013_HOWTO, Fetch, SOURCES};
use cnn::runtime::data::{data_root, fer2013};
use indicatif::{ProgressBar, ProgressStyle};

use crate::Failure;

#[derive(clap::Subcommand)]
pub enum DataCommand {
    /// Download a dataset from its publisher, verify it and unpack it where `cnn train` and the
    /// examples look (an interrupted fetch resumes).
    #[command(after_help = "Examples:
  cnn data fetch mnist
  cnn data fetch cifar10 --to /data/cnn
  cnn data fetch mnist --mirror https://ossci-datasets.s3.amazonaws.com/mnist")]
    Fetch {
        /// mnist, fashion-mnist, cifar10, cifar100 (fer2013: says how to get it)
        name: String,
        /// The data root [default: CNN_DATA_DIR, else ~/.cache/cnn/data].
        #[arg(long)]
        to: Option<PathBuf>,
        /// A base URL that serves the same files instead of the publisher.
        #[arg(long)]
        mirror: Option<String>,
        /// Seconds to wait for a connection, and between two reads.
        #[arg(long, default_value_t = 30)]
        timeout: u64,
    },
    /// Show which datasets are present and verified under the data root.
    List {
        /// The data root [default: CNN_DATA_DIR, else ~/.cache/cnn/data].
        #[arg(long)]
        root: Option<PathBuf>,
    },
}

pub fn run(command: DataCommand) -> Result<ExitCode, Failure> {
    match command {
        DataCommand::Fetch {
            name,
            to,
            mirror,
            timeout,
        } => fetch(&name, to.unwrap_or_else(data_root), mirror, timeout),
        DataCommand::List { root } => list(root.unwrap_or_else(data_root)),
    }
}

fn fetch(
    name: &str,
    root: PathBuf,
    mirror: Option<String>,
    timeout: u64,
) -> Result<ExitCode, Failure> {
    if name.starts_with("fer2013") {
        let folder = root.join(fer2013::FOLDER);
        return Err(format!("{FER2013_HOWTO} {}", folder.display()).into());
    }
    let source = fetch::source(name)?;
    let bar = ProgressBar::hidden();
    bar.set_draw_target(indicatif::ProgressDrawTarget::stderr());
    bar.set_style(
        ProgressStyle::with_template("{msg} [{bar:30}] {bytes}/{total_bytes} {bytes_per_sec}")
            .expect("a valid template")
            .progress_chars("=> "),
    );
    let mut progress = |file: &str, done: u64, total: Option<u64>| {
        bar.set_message(file.to_owned());
        bar.set_length(total.unwrap_or(done));
        bar.set_position(done);
    };
    let mut fetch = Fetch {
        root,
        mirror,
        timeout: Duration::from_secs(timeout),
        progress: &mut progress,
    };
    let folder = fetch.run(source)?;
    bar.finish_and_clear();
    println!("{}: verified in {}", source.name, folder.display());
    Ok(ExitCode::SUCCESS)
}

fn list(root: PathBuf) -> Result<ExitCode, Failure> {
    println!("data root: {}", root.display());
    for source in &SOURCES {
        let status = fetch::status(source, &root);
        let verified = status.iter().filter(|(_, s)| s.is_ok()).count();
        let state = match verified {
            n if n == status.len() => "present, verified".to_owned(),
            0 if !root.join(source.folder).exists() => "absent".to_owned(),
            n => format!("{n} of {} files verified", status.len()),
        };
        println!("  {:<14} {:<24} {state}", source.name, source.folder);
    }
    let fer = root.join(fer2013::FOLDER);
    let fer_state = match fer.join("fer2013.csv").is_file() || fer.join("fer2013.csv.gz").is_file()
    {
        true => "present (no published checksum)",
        false => "absent (see `cnn data fetch fer2013`)",
    };
    println!("  {:<14} {:<24} {fer_state}", "fer2013", fer2013::FOLDER);
    Ok(ExitCode::SUCCESS)
}
