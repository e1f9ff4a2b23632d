//! A GPU device from `Backend::device` has cubecl keep its compiled kernels on disk, which
//! cubecl 0.11 does not by default (`cnn_runtime::backend::kernel_compilation`). Its own test binary,
//! because cubecl's configuration is set once per process. Needs no GPU: the setting is made
//! before the adapter is looked for.
//!
//! `cargo test -p cnn-runtime --no-default-features --features wgpu --test wgpu_kernel_cache`
#![cfg(feature = "wgpu")]

use cnn_runtime::Backend;
use cnn_runtime::burn::cubecl::config::{CubeClRuntimeConfig, RuntimeConfig};

#[test]
fn a_wgpu_device_keeps_compiled_kernels() {
    // Run from the crate's directory, where no cubecl.toml or burn.toml governs.
    let _ = Backend::Wgpu.device();
    assert!(CubeClRuntimeConfig::get().compilation.cache);
}
