//! The seed ARCH on FER2013: `cargo run --release --example fer2013 -- --data-dir DIR` with
//! Kaggle's `fer2013.csv` (or `.csv.gz`) in DIR (default: `fer2013` under `CNN_DATA_DIR`, else
//! under `~/.cache/cnn/data`). Seven emotions, or
//! with `--binary` Angry versus Happy. Training uses `Training`, validation `PublicTest` and
//! the test `PrivateTest`.

use std::path::Path;
use std::process::ExitCode;

use cnn::runtime::cli;
use cnn::runtime::data::data_root;
use cnn::runtime::data::fer2013::{self, Fer2013Mode};

// Optional: keeps freed training buffers for reuse instead of page-faulting them in again.
cnn::use_mimalloc!();

cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = FerNet,
    input = [1, 48, 48],
    classes = 7
);
cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = FerBinaryNet,
    input = [1, 48, 48],
    classes = 2
);

#[derive(clap::Args)]
struct Mode {
    /// Angry (0) versus Happy (3) only, relabelled 0 and 1.
    #[arg(long)]
    binary: bool,
}

fn main() -> ExitCode {
    let about = "Train the seed ARCH on FER2013 (7 emotions, or Angry vs Happy) and write a report";
    let (mode, args) = cli::parse::<Mode>(about);
    let load = |mode| {
        move |dir: Option<&Path>| {
            fer2013::load(dir.unwrap_or(&data_root().join(fer2013::FOLDER)), mode)
        }
    };
    let arch = "examples/arch/seed.arch";
    match mode.binary {
        true => cli::main(
            "fer2013-binary",
            args,
            arch,
            FerBinaryNet::new,
            load(Fer2013Mode::Binary),
        ),
        false => cli::main(
            "fer2013",
            args,
            arch,
            FerNet::new,
            load(Fer2013Mode::SevenClass),
        ),
    }
}
