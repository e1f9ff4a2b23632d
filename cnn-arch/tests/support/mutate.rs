//! Byte-level mutations of seed files for the fuzzing harnesses (shared by the crates' tests):
//! overwrite a byte, insert a token of the format, delete a run, or copy a run elsewhere.
//! Positions are taken modulo the input's length, so every mutation applies to every input,
//! and proptest shrinks a failing list to the few mutations that matter.

use proptest::prelude::*;
use proptest::test_runner::{Config, FileFailurePersistence, TestCaseError, TestRunner};

/// Tokens of the JSON and Python-literal syntax that every text format's harness inserts.
#[rustfmt::skip]
pub const SYNTAX: &[&str] = &[
    "[", "]", "{", "}", "(", ")", ",", ":", "'", "\"", "0", "-1", "1", "2147483648",
    "9223372036854775807", "18446744073709551615", "1e2", "1e308", "0.5", "100", "True",
    "None", "null", "\u{feff}", "\r", "\n", "#", "//", "\\",
];

/// [`SYNTAX`] and a format's own `tokens`, as one list for [`apply`].
pub fn with_syntax(tokens: &[&'static str]) -> Vec<&'static str> {
    [SYNTAX, tokens].concat()
}

#[derive(Debug, Clone)]
pub enum Mutation {
    Overwrite(usize, u8),
    Insert(usize, usize),
    Delete(usize, usize),
    Copy(usize, usize, usize),
}

/// Up to `most` mutations, inserting tokens among `tokens` of them.
pub fn mutations(tokens: usize, most: usize) -> impl Strategy<Value = Vec<Mutation>> {
    let one = prop_oneof![
        (any::<usize>(), any::<u8>()).prop_map(|(at, byte)| Mutation::Overwrite(at, byte)),
        (any::<usize>(), 0..tokens.max(1)).prop_map(|(at, t)| Mutation::Insert(at, t)),
        (any::<usize>(), 1..64usize).prop_map(|(at, n)| Mutation::Delete(at, n)),
        (any::<usize>(), 1..256usize, any::<usize>())
            .prop_map(|(from, n, to)| Mutation::Copy(from, n, to)),
    ];
    prop::collection::vec(one, 0..=most)
}

/// `seed` with `mutations` applied in order.
pub fn apply<T: AsRef<[u8]>>(seed: &[u8], mutations: &[Mutation], tokens: &[T]) -> Vec<u8> {
    let mut bytes = seed.to_vec();
    let place = |i: usize, len: usize| i % (len + 1);
    for m in mutations {
        match *m {
            Mutation::Overwrite(i, b) if !bytes.is_empty() => {
                let i = i % bytes.len();
                bytes[i] = b;
            }
            Mutation::Overwrite(..) => {}
            Mutation::Insert(i, t) => {
                let i = place(i, bytes.len());
                let token = tokens.get(t).map_or(&[][..], |t| t.as_ref());
                bytes.splice(i..i, token.iter().copied());
            }
            Mutation::Delete(i, n) => {
                let i = place(i, bytes.len());
                let end = (i + n).min(bytes.len());
                bytes.drain(i..end);
            }
            Mutation::Copy(from, n, to) => {
                let from = place(from, bytes.len());
                let piece: Vec<u8> = bytes[from..(from + n).min(bytes.len())].to_vec();
                let to = place(to, bytes.len());
                bytes.splice(to..to, piece);
            }
        }
    }
    bytes
}

/// Runs `check` on `default` inputs from `inputs` (`CNN_FUZZ_CASES` sets another number, for a
/// long run), and prints how many ran and how many `check` accepted, which it returns. A
/// failing input is shrunk and its seed saved in the file `regressions` (committed, so that it
/// runs first ever after); then this panics with it.
pub fn fuzz<S: Strategy>(
    name: &str,
    regressions: &'static str,
    default: u32,
    inputs: S,
    check: impl Fn(S::Value) -> Result<bool, TestCaseError>,
) -> (u32, u32) {
    use std::sync::atomic::{AtomicU32, Ordering};
    let cases = std::env::var("CNN_FUZZ_CASES")
        .ok()
        .and_then(|n| n.parse().ok());
    let config = Config {
        cases: cases.unwrap_or(default),
        failure_persistence: Some(Box::new(FileFailurePersistence::Direct(regressions))),
        ..Config::default()
    };
    let (ran, accepted) = (AtomicU32::new(0), AtomicU32::new(0));
    let started = std::time::Instant::now();
    let result = TestRunner::new(config).run(&inputs, |input| {
        ran.fetch_add(1, Ordering::Relaxed);
        if check(input)? {
            accepted.fetch_add(1, Ordering::Relaxed);
        }
        Ok(())
    });
    let (ran, accepted) = (ran.into_inner(), accepted.into_inner());
    println!(
        "{name}: {ran} inputs, {accepted} accepted, {:.1} s",
        started.elapsed().as_secs_f64()
    );
    if let Err(failure) = result {
        panic!("{name}: {failure}");
    }
    (ran, accepted)
}
