//! Full-MNIST loading time and batcher throughput at batch 64.
//!
//! `cargo bench -p cnn-runtime --bench data`; reads MNIST from `CNN_DATA_DIR` (default `../shared/data`).

use std::hint::black_box;

use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset as _;
use cnn_runtime::Backend;
use cnn_runtime::data::{BatcherOptions, ImageBatcher, mnist};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

#[path = "../tests/data/dir.rs"]
mod dir;
const BATCH: usize = 64;

fn load(c: &mut Criterion) {
    let Some(dir) = dir::data_dir("mnist") else {
        return;
    };
    let mut group = c.benchmark_group("mnist");
    group.sample_size(10);
    group.bench_function("load_full_gz", |b| {
        b.iter(|| mnist::load(black_box(&dir)).unwrap())
    });
    group.finish();
}

fn batch(c: &mut Criterion) {
    let Some(dir) = dir::data_dir("mnist") else {
        return;
    };
    let train = mnist::load(&dir).unwrap().train;
    let device = Backend::default().device().unwrap();
    let stats = train.channel_stats();
    let mut group = c.benchmark_group("batch64");
    group.throughput(Throughput::Elements(1)); // one batch: "elem/s" reads as batches/s
    for (name, options) in [
        ("plain", BatcherOptions::default()),
        (
            "standardize",
            BatcherOptions {
                standardize: Some(stats.clone()),
                ..Default::default()
            },
        ),
        (
            "standardize_augment",
            BatcherOptions {
                standardize: Some(stats),
                augment: Some(cnn_runtime::data::Augment::CROP_FLIP),
                seed: 1,
            },
        ),
    ] {
        let batcher = ImageBatcher::new(options);
        let mut start = 0;
        group.bench_function(format!("indices_{name}"), |b| {
            b.iter(|| {
                // Strided indices, as after a shuffle: no two images of a batch are neighbours.
                let indices: Vec<usize> = (0..BATCH)
                    .map(|k| (start + k * 937) % train.len())
                    .collect();
                start += BATCH;
                train.batch_tensor(&indices, &batcher, &device)
            })
        });
    }
    let batcher = ImageBatcher::new(BatcherOptions::default());
    let mut start = 0;
    group.bench_function("items_plain", |b| {
        b.iter(|| {
            let items = (0..BATCH)
                .map(|k| train.get((start + k * 937) % train.len()).unwrap())
                .collect();
            start += BATCH;
            batcher.batch(items, &device)
        })
    });
    group.finish();
}

criterion_group!(benches, load, batch);
criterion_main!(benches);
