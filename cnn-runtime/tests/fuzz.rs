//! Fuzzing every reader of outside files: IDX (MNIST), CIFAR records, the FER2013 CSV,
//! checkpoints (`progress.json`, `model.bpk`, `optimizer.bpk`), weight files and the images
//! given to `predict`. Each harness mutates valid seed files written in the official format;
//! every input must give a value or an error, without a panic and within a time bound.
//! `CNN_FUZZ_CASES` sets the number of inputs per harness.

use std::path::Path;
use std::sync::OnceLock;
use std::time::{Duration, Instant};

use burn::optim::AdamConfig;
use cnn_runtime::Backend;
use cnn_runtime::data::{Fer2013Mode, cifar10, fer2013, idx, mnist};
use cnn_runtime::nn::Net;
use cnn_runtime::train::{Checkpoint, OptimizerState, Progress};
use proptest::prelude::*;

/// Seeds of inputs that failed, replayed first (created on the first failure).
const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fuzz.proptest-regressions"
);

// The text formats' tokens go unused by these binary ones.
#[allow(dead_code)]
#[path = "../../cnn-arch/tests/support/mutate.rs"]
mod mutate;

use mutate::{apply, fuzz, mutations};

const TIME_BOUND: Duration = Duration::from_secs(5);
/// Lengths and counts that sit on the formats' edges.
const NUMBERS: &[&[u8]] = &[
    &[0, 0, 0, 0],
    &[0xff, 0xff, 0xff, 0xff],
    &[0x7f, 0xff, 0xff, 0xff],
    &[0, 0, 8, 3],
    &[0, 0, 8, 1],
    &[0, 0, 0, 28],
    b"0",
    b"255",
    b"256",
    b"-1",
    b",",
    b"\n",
    b" ",
    b"\"",
    b"{",
    b"}",
    b"null",
    b"1e400",
    b"99999999999999999999",
];

/// A small valid set of every seed, written once.
struct Seeds {
    idx: Vec<(String, Vec<u8>)>,
    cifar: Vec<u8>,
    fer: Vec<u8>,
    checkpoint: Vec<(String, Vec<u8>)>,
    images: Vec<(String, Vec<u8>)>,
}

fn seeds() -> &'static Seeds {
    static SEEDS: OnceLock<Seeds> = OnceLock::new();
    SEEDS.get_or_init(|| {
        let dir = tempfile::tempdir().unwrap();
        let data = mnist::embedded().limit_train(20, 1).limit_test(10, 1);
        idx::write_split(dir.path(), "train", &data.train, false).unwrap();
        idx::write_split(dir.path(), "t10k", &data.test, true).unwrap();
        let checkpoint = Checkpoint::new(dir.path().join("checkpoint"));
        checkpoint
            .save(&net(), &adam(), &Progress::start())
            .unwrap();
        Seeds {
            idx: files(dir.path(), &["-idx"]),
            cifar: (0..4u8)
                .flat_map(|label| std::iter::once(label).chain((0..3072).map(|i| (i % 251) as u8)))
                .collect(),
            fer: fer_csv().into_bytes(),
            checkpoint: files(checkpoint.dir(), &[".bpk", ".json"]),
            images: images(),
        }
    })
}

/// The files of `dir` whose names contain one of `parts`, sorted by name.
fn files(dir: &Path, parts: &[&str]) -> Vec<(String, Vec<u8>)> {
    let mut out: Vec<(String, Vec<u8>)> = std::fs::read_dir(dir)
        .unwrap()
        .flatten()
        .filter(|e| e.path().is_file())
        .map(|e| {
            (
                e.file_name().to_string_lossy().into_owned(),
                std::fs::read(e.path()).unwrap(),
            )
        })
        .filter(|(name, _)| parts.iter().any(|p| name.contains(p)))
        .collect();
    out.sort();
    assert!(!out.is_empty(), "no seed files in {}", dir.display());
    out
}

fn fer_csv() -> String {
    let mut text = String::from("emotion,pixels,Usage\n");
    for (i, usage) in ["Training", "PublicTest", "PrivateTest"].iter().enumerate() {
        let pixels: Vec<String> = (0..48 * 48)
            .map(|j| ((i * 7 + j) % 256).to_string())
            .collect();
        text += &format!("{},{},{usage}\n", [0, 3, 6][i], pixels.join(" "));
    }
    text
}

fn images() -> Vec<(String, Vec<u8>)> {
    let image = image::GrayImage::from_fn(28, 28, |x, y| image::Luma([(x * 9 + y) as u8]));
    ["png", "jpg"]
        .iter()
        .map(|ext| {
            let mut bytes = std::io::Cursor::new(Vec::new());
            let format = image::ImageFormat::from_extension(ext).unwrap();
            image.write_to(&mut bytes, format).unwrap();
            (format!("digit.{ext}"), bytes.into_inner())
        })
        .collect()
}

/// A small network, built once; each input gets a copy.
fn net() -> Net {
    static NET: OnceLock<Net> = OnceLock::new();
    let net = NET.get_or_init(|| {
        let text = "[{'type':'C','activation':'relu','num_output':2,'kernel_size':3},{'type':'P','pool':'max','kernel_size':2,'stride':2}]";
        let overrides = cnn_arch::Overrides {
            input: Some([1, 28, 28]),
            classes: Some(10),
            ..Default::default()
        };
        let network = cnn_arch::check(text, &overrides).unwrap();
        Net::new(&network, &Backend::Flex.device().unwrap())
    });
    net.clone()
}

fn adam() -> OptimizerState<Net> {
    OptimizerState::Burn(AdamConfig::new().init())
}

/// Writes `bytes` as `name` in a fresh directory, with the other `files` beside it unchanged,
/// runs `read` on the directory, checks the time it took, and says whether `read` accepted it.
fn with_files(
    files: &[(String, Vec<u8>)],
    name: &str,
    bytes: &[u8],
    read: impl FnOnce(&Path) -> bool,
) -> Result<bool, TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    for (other, content) in files {
        std::fs::write(dir.path().join(other), content).unwrap();
    }
    std::fs::write(dir.path().join(name), bytes).unwrap();
    let started = Instant::now();
    let accepted = read(dir.path());
    let took = started.elapsed();
    prop_assert!(took < TIME_BOUND, "{took:?} reading {name}");
    Ok(accepted)
}

/// Inputs per harness in CI (`CNN_FUZZ_CASES` for more).
const CASES: u32 = 20_000;

#[test]
fn idx_files() {
    let inputs = (0..4usize, mutations(NUMBERS.len(), 6));
    fuzz("IDX files", REGRESSIONS, CASES, inputs, |(file, m)| {
        let (name, seed) = &seeds().idx[file];
        with_files(&seeds().idx, name, &apply(seed, &m, NUMBERS), |dir| {
            mnist::load(dir).is_ok()
        })
    });
}

#[test]
fn cifar_records() {
    fuzz(
        "CIFAR records",
        REGRESSIONS,
        CASES,
        mutations(NUMBERS.len(), 6),
        |m| {
            with_files(
                &[],
                "data_batch_1.bin",
                &apply(&seeds().cifar, &m, NUMBERS),
                |dir| cifar10::read_batch(&dir.join("data_batch_1.bin")).is_ok(),
            )
        },
    );
}

#[test]
fn fer2013_csv() {
    let inputs = (mutations(NUMBERS.len(), 6), any::<bool>());
    fuzz("FER2013 CSV", REGRESSIONS, CASES, inputs, |(m, binary)| {
        let mode = if binary {
            Fer2013Mode::Binary
        } else {
            Fer2013Mode::SevenClass
        };
        with_files(
            &[],
            "fer2013.csv",
            &apply(&seeds().fer, &m, NUMBERS),
            |dir| fer2013::load(&dir.join("fer2013.csv"), mode).is_ok(),
        )
    });
}

#[test]
fn checkpoint_files() {
    let inputs = (0..3usize, mutations(NUMBERS.len(), 6));
    fuzz(
        "checkpoints",
        REGRESSIONS,
        CASES / 4,
        inputs,
        |(file, m)| {
            let (name, seed) = &seeds().checkpoint[file % seeds().checkpoint.len()];
            with_files(
                &seeds().checkpoint,
                name,
                &apply(seed, &m, NUMBERS),
                |dir| Checkpoint::new(dir).load(net(), adam()).is_ok(),
            )
        },
    );
}

#[test]
fn weight_files() {
    fuzz(
        "weight files",
        REGRESSIONS,
        CASES / 4,
        mutations(NUMBERS.len(), 6),
        |m| {
            let (_, seed) = seeds()
                .checkpoint
                .iter()
                .find(|(n, _)| n == "model.bpk")
                .unwrap();
            with_files(&[], "model.bpk", &apply(seed, &m, NUMBERS), |dir| {
                cnn_runtime::weights::load(net(), dir.join("model.bpk")).is_ok()
            })
        },
    );
}

#[test]
fn images_given_to_predict() {
    let device = Backend::Flex.device().unwrap();
    let inputs = (0..2usize, mutations(NUMBERS.len(), 6));
    fuzz("images", REGRESSIONS, CASES / 4, inputs, |(file, m)| {
        let (name, seed) = &seeds().images[file];
        with_files(&[], name, &apply(seed, &m, NUMBERS), |dir| {
            let tensor =
                cnn_runtime::eval::infer::image_tensor(&net(), dir.join(name), false, &device);
            tensor.is_ok()
        })
    });
}
