//! Benchmark tools for cnn networks, kept out of the library: the binaries `speed`,
//! `layer_times` and `time_to_accuracy`, the criterion bench `seed_network`, and
//! [`fusion_work`], which counts what burn-fusion does per step on a GPU. The scripts beside
//! this crate (`compare.sh`, `time_to_accuracy.sh`, `gpu/`) run them beside PyTorch.

pub mod fusion_work;
