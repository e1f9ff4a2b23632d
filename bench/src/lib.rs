//! Benchmark tools for cnn networks, kept out of the library: the binaries `speed`,
//! `layer_times` and `time_to_accuracy`, the criterion bench `seed_network`, the seed network
//! they all time ([`SeedNet`]), and
//! [`fusion_work`], which counts what burn-fusion does per step on a GPU. The scripts beside
//! this crate (`compare.sh`, `time_to_accuracy.sh`, `gpu/`) run them beside PyTorch.

pub mod fusion_work;

cnn::cnn_from_json!(
    "../examples/arch/seed.arch",
    name = SeedNet,
    input = [1, 28, 28],
    classes = 10
);

// Every benchmark keeps freed training buffers for reuse, as the examples do.
cnn::use_mimalloc!();
