//! The kernels on the seed network's layers at batch 64 (the shapes of `examples/arch/seed.arch`
//! on MNIST): each convolution's forward pass and both gradients, a max pooling both ways, and
//! a dropout mask. `cargo bench -p cnn-kernels`; `RAYON_NUM_THREADS` sets the threads.

use std::hint::black_box;

use cnn_kernels::conv::{self, Geometry, Wanted};
use cnn_kernels::{dropout, pool};
use criterion::{Criterion, criterion_group, criterion_main};

const BATCH: usize = 64;

/// A TF-SAME, stride-1 convolution of `channels` to `filters` maps of `size` pixels square.
fn same(channels: usize, filters: usize, size: usize, kernel: usize) -> Geometry {
    Geometry {
        batch: BATCH,
        channels,
        height: size,
        width: size,
        filters,
        kernel: [kernel; 2],
        stride: [1, 1],
        pad: [(kernel - 1) / 2; 2],
        out: [size; 2],
    }
}

fn values(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| ((i * 7919) % 1000) as f32 / 1000.0 - 0.5)
        .collect()
}

fn convolutions(c: &mut Criterion) {
    let layers = [
        ("conv1", same(1, 32, 28, 3)),
        ("conv2", same(32, 64, 28, 3)),
        ("conv3", same(64, 128, 14, 3)),
        ("conv4", same(128, 256, 14, 5)),
    ];
    let mut group = c.benchmark_group("conv");
    group.sample_size(10);
    for (name, g) in layers {
        let x = values(g.batch * g.image_len());
        let w = values(g.filters * g.patch_len());
        let bias = values(g.filters);
        let grad = values(g.batch * g.output_len());
        group.bench_function(format!("{name}/forward"), |b| {
            b.iter(|| conv::forward(&g, black_box(&x), &w, Some(&bias)))
        });
        let all = Wanted {
            x: true,
            weight: true,
            bias: true,
        };
        group.bench_function(format!("{name}/backward"), |b| {
            b.iter(|| conv::backward(&g, black_box(&x), &w, &grad, all))
        });
    }
    group.finish();
}

fn pooling_and_dropout(c: &mut Criterion) {
    let g = pool::Geometry {
        planes: BATCH * 64,
        height: 28,
        width: 28,
        kernel: [2, 2],
        stride: [2, 2],
        pad: [0, 0],
        out: [14, 14],
    };
    let x = values(g.planes * 28 * 28);
    let grad = values(g.planes * 14 * 14);
    let mut group = c.benchmark_group("layers");
    group.bench_function("max_pool/forward", |b| {
        b.iter(|| pool::forward(&g, black_box(&x), true))
    });
    let (_, from) = pool::forward(&g, &x, true);
    let from = from.expect("positions kept");
    group.bench_function("max_pool/backward", |b| {
        b.iter(|| pool::backward(&g, black_box(&from), &grad))
    });
    group.bench_function("dropout/mask", |b| {
        b.iter(|| dropout::mask(black_box(BATCH * 64 * 28 * 28), 0.167, 7))
    });
    group.finish();
}

criterion_group!(benches, convolutions, pooling_and_dropout);
criterion_main!(benches);
