//! The seed ARCH on Fashion-MNIST: `cargo run --release --example fashion_mnist -- --data-dir DIR`
//! with the four official IDX files (gzip'd or not) in DIR (default: `fashion-mnist` under
//! `CNN_DATA_DIR`, else under `~/.cache/cnn/data`, where `cnn data fetch fashion-mnist` puts it).

use std::process::ExitCode;

use cnn::runtime::cli::{self, NoOptions};
use cnn::runtime::data::data_root;
use cnn::runtime::data::fashion_mnist;

// Optional: keeps freed training buffers for reuse instead of page-faulting them in again.
cnn::use_mimalloc!();

cnn::cnn_from_json!(
    "examples/arch/seed.arch",
    name = FashionNet,
    input = [1, 28, 28],
    classes = 10
);

fn main() -> ExitCode {
    let about = "Train the seed ARCH on Fashion-MNIST and write a report";
    let (_, args) = cli::parse::<NoOptions>(about);
    cli::main(
        "fashion_mnist",
        args,
        "examples/arch/seed.arch",
        FashionNet::new,
        |dir| fashion_mnist::load(dir.unwrap_or(&data_root().join(fashion_mnist::FOLDER))),
    )
}
