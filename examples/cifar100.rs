//! The seed ARCH on CIFAR-100: `cargo run --release --example cifar100 -- --data-dir DIR` with
//! the official binary version (`train.bin`, `test.bin` and the label-name files) in DIR
//! (default: `cifar-100-binary` under `CNN_DATA_DIR`, else under `~/.cache/cnn/data`, where
//! `cnn data fetch cifar100` puts it); `--coarse` trains on the 20 superclasses.

use std::path::Path;
use std::process::ExitCode;

use cnn::runtime::cli;
use cnn::runtime::data::cifar100::{self, Cifar100Labels};
use cnn::runtime::data::data_root;

// Optional: keeps freed training buffers for reuse instead of page-faulting them in again.
cnn::use_mimalloc!();

cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = Cifar100Net,
    input = [3, 32, 32],
    classes = 100
);
cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = Cifar20Net,
    input = [3, 32, 32],
    classes = 20
);

#[derive(clap::Args)]
struct Labels {
    /// The 20 coarse superclasses instead of the 100 fine classes.
    #[arg(long)]
    coarse: bool,
}

fn main() -> ExitCode {
    let about = "Train the seed ARCH on CIFAR-100 (fine or coarse labels) and write a report";
    let (labels, args) = cli::parse::<Labels>(about);
    let load = |labels| {
        move |dir: Option<&Path>| {
            cifar100::load(dir.unwrap_or(&data_root().join(cifar100::FOLDER)), labels)
        }
    };
    let arch = "examples/arch/seed.arch";
    match labels.coarse {
        true => cli::main(
            "cifar100-coarse",
            args,
            arch,
            Cifar20Net::new,
            load(Cifar100Labels::Coarse),
        ),
        false => cli::main(
            "cifar100",
            args,
            arch,
            Cifar100Net::new,
            load(Cifar100Labels::Fine),
        ),
    }
}
