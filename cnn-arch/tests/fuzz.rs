//! Fuzzing the ARCH reader: mutated seed files (the corpus in `tests/corpus`, every UI-test
//! fixture and the example files) in JSON and Python form. Each input must give a result
//! without a panic and within a time bound, and an accepted network's shapes, parameters and
//! multiply-adds must equal an independent recomputation in 128-bit arithmetic.
//!
//! `CNN_FUZZ_CASES` sets the number of inputs (CI runs the default; a long local run sets
//! more). A failing input is shrunk and its seed kept in `tests/fuzz.proptest-regressions`,
//! to be committed; the inputs that failed before this harness existed are corpus files named
//! `regression_*`.

use std::path::Path;
use std::time::{Duration, Instant};

use cnn_arch::{
    Layer, MAX_MACS, MAX_PARAMS, MAX_SIZE, MAX_VALUES, Network, Overrides, Padding, Shape,
};
use proptest::prelude::*;

/// Seeds of inputs that failed, replayed first (created on the first failure).
const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fuzz.proptest-regressions"
);

#[path = "support/mutate.rs"]
mod mutate;

use mutate::{apply, fuzz, mutations};

/// The slowest an input may take (a debug build, on a shared machine).
const TIME_BOUND: Duration = Duration::from_secs(2);

fn corpus() -> &'static [Vec<u8>] {
    static CORPUS: std::sync::OnceLock<Vec<Vec<u8>>> = std::sync::OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut files = Vec::new();
        for dir in [
            "tests/corpus",
            "../tests/ui/pass",
            "../tests/ui/fail",
            "../examples/arch",
            "../tests/arch",
        ] {
            let mut entries: Vec<_> = std::fs::read_dir(dir)
                .unwrap()
                .flatten()
                .map(|e| e.path())
                .collect();
            entries.sort();
            for path in entries {
                if path.extension().is_some_and(|e| e == "json" || e == "arch") {
                    files.push(std::fs::read(&path).unwrap());
                }
            }
        }
        assert!(files.len() > 30, "only {} seed files", files.len());
        files
    })
}

/// Tokens that reach the reader's and planner's edge cases, besides the syntax's.
#[rustfmt::skip]
const ARCH_TOKENS: &[&str] = &[
    "3", "4611686018427387904", "'C'", "'P'", "'FC'", "'DO'", "'T'", "'type'", "'num_output'",
    "'kernel_size'", "'stride'", "'padding'", "'valid'", "'same'", "'input'", "'classes'",
    "'name'", "'batch_norm'", "'drop_out'", "'softmax'", "ARCH = ",
];

fn tokens() -> &'static [&'static str] {
    static TOKENS: std::sync::OnceLock<Vec<&str>> = std::sync::OnceLock::new();
    TOKENS.get_or_init(|| mutate::with_syntax(ARCH_TOKENS))
}

#[test]
fn the_arch_reader_never_panics_and_counts_right() {
    let inputs = (
        0..corpus().len(),
        mutations(tokens().len(), 6),
        any::<bool>(),
    );
    let (ran, accepted) = fuzz(
        "ARCH text",
        REGRESSIONS,
        300_000,
        inputs,
        |(seed, mutations, give_shape)| {
            let bytes = apply(&corpus()[seed], &mutations, tokens());
            let overrides = match give_shape {
                true => Overrides {
                    input: Some([1, 28, 28]),
                    classes: Some(10),
                    ..Default::default()
                },
                false => Overrides::default(),
            };
            let started = Instant::now();
            let checked = cnn_arch::decode(&bytes).map(|text| cnn_arch::check(text, &overrides));
            let took = started.elapsed();
            prop_assert!(took < TIME_BOUND, "{took:?} for {} bytes", bytes.len());
            match checked {
                Ok(Ok(network)) => recount(&network).map(|()| true),
                _ => Ok(false),
            }
        },
    );
    // The mutations keep enough files valid for the recount to see real networks.
    assert!(
        accepted > ran / 100,
        "only {accepted} of {ran} inputs were accepted"
    );
}

#[test]
fn every_corpus_file_reads_without_a_panic() {
    for bytes in corpus() {
        if let Ok(text) = cnn_arch::decode(bytes) {
            let overrides = Overrides {
                input: Some([1, 28, 28]),
                classes: Some(10),
                ..Default::default()
            };
            if let Ok(network) = cnn_arch::check(text, &overrides) {
                recount(&network).unwrap();
            }
        }
    }
    assert!(Path::new("tests/corpus/regression_deep_nesting.json").is_file());
}

/// Recomputes every layer's output shape, parameters and multiply-adds from its spec and its
/// input in `u128`, as TensorFlow and PyTorch define them, and compares.
fn recount(network: &Network) -> Result<(), TestCaseError> {
    let mut shape = Shape::Image(network.input);
    let (mut params, mut macs) = (0u128, 0u128);
    for layer in &network.layers {
        prop_assert_eq!(layer.input, shape);
        let (output, p, m) = if layer.is_output() {
            dense(shape, network.classes as u128, false)
        } else {
            expected(&layer.layer, shape)
        };
        prop_assert_eq!(layer.output, output, "layer {}", layer.index);
        prop_assert_eq!(layer.params as u128, p, "layer {}", layer.index);
        prop_assert_eq!(u128::from(layer.macs), m, "layer {}", layer.index);
        let values = match output {
            Shape::Image([c, h, w]) => c as u128 * h as u128 * w as u128,
            Shape::Flat(n) => n as u128,
        };
        prop_assert!(values <= MAX_VALUES && p <= MAX_PARAMS && m <= MAX_MACS);
        params += p;
        macs += m;
        shape = output;
    }
    prop_assert!(params <= MAX_PARAMS && macs <= MAX_MACS);
    prop_assert_eq!(network.params() as u128, params);
    prop_assert_eq!(u128::from(network.macs()), macs);
    prop_assert!(network.input.iter().all(|&d| (1..=MAX_SIZE).contains(&d)));
    Ok(())
}

fn expected(layer: &Layer, input: Shape) -> (Shape, u128, u128) {
    match (layer, input) {
        (Layer::Dense(d), _) => dense(input, d.num_output as u128, d.batch_norm),
        (Layer::Conv(c), Shape::Image([ch, h, w])) => {
            let [oh, ow] = window([h, w], c.kernel_size, c.stride, c.padding);
            let per_filter = c.kernel_size[0] as u128 * c.kernel_size[1] as u128 * ch as u128;
            let filters = c.num_output as u128;
            let norm = if c.batch_norm { 2 * filters } else { 0 };
            let output = Shape::Image([c.num_output, oh as usize, ow as usize]);
            (
                output,
                per_filter * filters + filters + norm,
                oh * ow * filters * per_filter,
            )
        }
        (Layer::Pool(p), Shape::Image([ch, h, w])) => {
            let [oh, ow] = window([h, w], p.kernel_size, p.stride, p.padding);
            (Shape::Image([ch, oh as usize, ow as usize]), 0, 0)
        }
        (Layer::DropOut(_), _) => (input, 0, 0),
        (other, input) => panic!("{other:?} was accepted after {input:?}"),
    }
}

fn dense(input: Shape, units: u128, batch_norm: bool) -> (Shape, u128, u128) {
    let n = match input {
        Shape::Image([c, h, w]) => c as u128 * h as u128 * w as u128,
        Shape::Flat(n) => n as u128,
    };
    let norm = if batch_norm { 2 * units } else { 0 };
    (
        Shape::Flat(units as usize),
        n * units + units + norm,
        n * units,
    )
}

/// TensorFlow's `SAME` (ceil(input / stride)), `VALID` (floor((input - kernel) / stride) + 1),
/// and explicit zeros on both sides as PyTorch pads.
fn window(
    input: [usize; 2],
    kernel: [usize; 2],
    stride: [usize; 2],
    padding: Padding,
) -> [u128; 2] {
    [0, 1].map(|i| {
        let (n, k, s) = (input[i] as u128, kernel[i] as u128, stride[i] as u128);
        match padding {
            Padding::Same => n.div_ceil(s),
            Padding::Valid => (n - k) / s + 1,
            Padding::Explicit(p) => (n + 2 * p[i] as u128 - k) / s + 1,
        }
    })
}
