//! Fuzzing the search space reader: mutated space files must give a space or located errors,
//! without a panic and within a time bound; a space that reads must describe itself as a file
//! that reads back to it, and its genomes must become ARCH files that `cnn_arch::check`
//! judges without a panic. `CNN_FUZZ_CASES` sets the number of inputs.

use std::time::{Duration, Instant};

use cnn_search::{SearchSpace, candidate};
use proptest::prelude::*;

/// Seeds of inputs that failed, replayed first (created on the first failure).
const REGRESSIONS: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/tests/fuzz.proptest-regressions"
);

#[path = "../../cnn-arch/tests/support/mutate.rs"]
mod mutate;

use mutate::{apply, fuzz, mutations};

const SEEDS: &[&str] = &[
    include_str!("spaces/small.py"),
    include_str!("../../examples/search/small.py"),
    include_str!("../../tests/search/tiny.py"),
    r#"{"conv_layers": [2, 2], "fc_layers": 1, "conv": {"num_output": 8, "stride": [1, 2]},
        "pool": {"pool": "avg"}, "fc": {"drop_out": [0, 50.0]},
        "constraints": {"max_macs": 1000000}}"#,
];

/// The space format's own tokens, besides the syntax's.
#[rustfmt::skip]
const SPACE_TOKENS: &[&str] = &[
    "33", "99.9", "'none'", "'max'", "'relu'", "'conv_layers'", "'fc_layers'", "'conv'",
    "'pool'", "'fc'", "'constraints'", "'num_output'", "'kernel_height'", "'stride'",
    "'drop_out'", "'min_spatial'",
];

fn tokens() -> &'static [&'static str] {
    static TOKENS: std::sync::OnceLock<Vec<&str>> = std::sync::OnceLock::new();
    TOKENS.get_or_init(|| mutate::with_syntax(SPACE_TOKENS))
}

const TIME_BOUND: Duration = Duration::from_secs(2);

#[test]
fn the_space_reader_never_panics() {
    let inputs = (0..SEEDS.len(), mutations(tokens().len(), 6), any::<u64>());
    fuzz(
        "space files",
        REGRESSIONS,
        100_000,
        inputs,
        |(seed, mutations, genome_seed)| {
            let bytes = apply(SEEDS[seed].as_bytes(), &mutations, tokens());
            let Ok(text) = cnn_arch::decode(&bytes) else {
                return Ok(false);
            };
            let started = Instant::now();
            let parsed = SearchSpace::parse(text);
            if let Ok(space) = &parsed {
                prop_assert_eq!(&SearchSpace::parse(&space.describe()).unwrap(), space);
                let mut strategy = cnn_search::Kind::Random.start(&space.choices(), genome_seed);
                for _ in 0..3 {
                    let genome = strategy.ask();
                    let _ = candidate::check(space, &genome, [1, 28, 28], 10);
                }
            }
            let took = started.elapsed();
            prop_assert!(took < TIME_BOUND, "{took:?}");
            Ok(parsed.is_ok())
        },
    );
}
