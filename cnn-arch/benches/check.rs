//! What `cnn_from_json!` spends on the seed ARCH at compile time, apart from token output:
//! parse, validate, infer shapes and render the summary. `cargo bench -p cnn-arch`.

use cnn_arch::{Overrides, check};
use criterion::{Criterion, criterion_group, criterion_main};

const SEED: &str = include_str!("../../examples/arch/seed.arch");

fn seed(c: &mut Criterion) {
    let overrides = Overrides {
        input: Some([1, 28, 28]),
        classes: Some(10),
        ..Default::default()
    };
    c.bench_function("check_and_summary/seed_arch", |b| {
        b.iter(|| {
            check(std::hint::black_box(SEED), &overrides)
                .unwrap()
                .summary()
        })
    });
}

criterion_group!(benches, seed);
criterion_main!(benches);
