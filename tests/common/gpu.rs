//! The GPU that a test binary's ignored GPU tests run on.

use cnn::burn::tensor::Device;
use cnn::runtime::Backend;

/// `CNN_TEST_GPU` names its backend (`wgpu` unless set; `vulkan` in a build with that feature).
pub fn gpu() -> Device {
    let name = std::env::var("CNN_TEST_GPU").unwrap_or_else(|_| "wgpu".to_owned());
    let backend: Backend = name.parse().unwrap_or_else(|e| panic!("CNN_TEST_GPU: {e}"));
    backend.device().unwrap_or_else(|e| panic!("{e}"))
}
