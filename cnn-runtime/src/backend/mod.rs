//! Which burn backend runs a network, chosen at run time (burn 0.22 has no backend type
//! parameter: the backend is a property of the [`Device`]).

pub mod kernel_compilation;

use std::fmt;
use std::str::FromStr;

use burn::tensor::Device;

/// A compute backend compiled into this build (see the crate's cargo features).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Backend {
    /// burn's pure-Rust CPU backend (default; about 57x faster training than `ndarray`).
    Flex,
    /// burn's deprecated ndarray CPU backend.
    NdArray,
    /// GPU through wgpu (Vulkan, Metal, DX12), kernels compiled to WGSL.
    Wgpu,
    /// GPU through wgpu pinned to Vulkan, kernels compiled to SPIR-V (the `vulkan` feature).
    Vulkan,
    /// NVIDIA GPU through CUDA (needs burn's `cuda` build, which downloads LLVM).
    Cuda,
}

/// A backend that was asked for but is not compiled into this build.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BackendError {
    #[error("backend `{0}` is not compiled in; rebuild with `--features {0}` (compiled in: {1})")]
    NotCompiled(Backend, String),
    #[error("unknown backend `{0}`; expected one of flex, ndarray, wgpu, vulkan, cuda")]
    Unknown(String),
    #[error(
        "backend `{0}` found no GPU: no adapter on its graphics APIs (is the driver and its \
         Vulkan loader installed?); use --backend flex to train on the CPU"
    )]
    NoAdapter(Backend),
}

impl Backend {
    pub const ALL: [Backend; 5] = [
        Backend::Flex,
        Backend::NdArray,
        Backend::Wgpu,
        Backend::Vulkan,
        Backend::Cuda,
    ];

    pub fn name(self) -> &'static str {
        match self {
            Backend::Flex => "flex",
            Backend::NdArray => "ndarray",
            Backend::Wgpu => "wgpu",
            Backend::Vulkan => "vulkan",
            Backend::Cuda => "cuda",
        }
    }

    /// Whether the backend runs on a GPU, where the first batches compile and autotune kernels.
    pub fn is_gpu(self) -> bool {
        matches!(self, Backend::Wgpu | Backend::Vulkan | Backend::Cuda)
    }

    /// Whether this build can run the backend.
    pub fn is_compiled(self) -> bool {
        match self {
            Backend::Flex => cfg!(feature = "flex"),
            Backend::NdArray => cfg!(feature = "ndarray"),
            Backend::Wgpu => cfg!(feature = "wgpu"),
            Backend::Vulkan => cfg!(feature = "vulkan"),
            Backend::Cuda => cfg!(feature = "cuda"),
        }
    }

    /// The backends this build can run, fastest CPU one first.
    pub fn compiled() -> Vec<Backend> {
        Self::ALL.into_iter().filter(|b| b.is_compiled()).collect()
    }

    /// The device for this backend (without autodiff; call `.autodiff()` to train).
    pub fn device(self) -> Result<Device, BackendError> {
        match self {
            #[cfg(feature = "flex")]
            Backend::Flex => Ok(Device::flex()),
            #[cfg(feature = "ndarray")]
            #[allow(deprecated)]
            Backend::NdArray => Ok(Device::ndarray()),
            #[cfg(feature = "wgpu")]
            Backend::Wgpu => {
                crate::backend::kernel_compilation::keep_compiled_kernels();
                adapter(self, wgpu::Backends::all() - wgpu::Backends::BROWSER_WEBGPU)?;
                Ok(Device::wgpu(burn::tensor::DeviceKind::DefaultDevice))
            }
            #[cfg(feature = "vulkan")]
            Backend::Vulkan => {
                crate::backend::kernel_compilation::keep_compiled_kernels();
                adapter(self, wgpu::Backends::VULKAN)?;
                Ok(Device::vulkan(burn::tensor::DeviceKind::DefaultDevice))
            }
            #[cfg(feature = "cuda")]
            Backend::Cuda => Ok(Device::cuda(0usize)),
            #[allow(unreachable_patterns)]
            other => Err(BackendError::NotCompiled(other, compiled_names())),
        }
    }
}

/// Whether `device` is a wgpu device (Vulkan, Metal, DX12), with or without autodiff: where
/// [`crate::nn::conv`] and [`crate::nn::dense`] rewrite burn's operations for its kernels.
#[cfg(feature = "wgpu")]
pub(crate) fn on_wgpu(device: &Device) -> bool {
    wgpu_device(device.as_dispatch()).is_some()
}

/// On a wgpu device (with or without autodiff), the most bytes one buffer can hold there
/// (cubecl's largest memory page: wgpu's `max_storage_buffer_binding_size` and
/// `max_buffer_size`, or on Vulkan with 64-bit indexing the device heap); `None` elsewhere.
/// Mesa's software GPU refuses buffers of 321 MB, which the seed network's conv4 weight
/// gradient needs at batch 64 in one piece.
#[cfg(feature = "wgpu")]
pub fn buffer_limit(device: &Device) -> Option<u64> {
    let device = wgpu_device(device.as_dispatch())?;
    Some(device.client().properties().memory.max_page_size)
}

/// On a wgpu device, the byte alignment a view into a buffer must start and end on (wgpu's
/// offset alignments); burn copies a slice that does not (`burn-cubecl`'s `slice`). `None`
/// elsewhere.
#[cfg(feature = "wgpu")]
pub fn view_alignment(device: &Device) -> Option<u64> {
    let device = wgpu_device(device.as_dispatch())?;
    Some(device.client().properties().memory.alignment)
}

/// The wgpu device `device` is, or wraps in autodiff.
#[cfg(feature = "wgpu")]
fn wgpu_device(device: &burn::backend::DispatchDevice) -> Option<&burn::backend::CubeDevice> {
    use burn::backend::{CubeDevice, DispatchDevice};
    match device {
        DispatchDevice::Cube(cube @ CubeDevice::Wgpu(_)) => Some(cube),
        DispatchDevice::Autodiff(inner) => wgpu_device(inner),
        #[allow(unreachable_patterns)]
        _ => None,
    }
}

/// Without the `wgpu` feature there is no wgpu device: `None`.
#[cfg(not(feature = "wgpu"))]
pub fn buffer_limit(_device: &Device) -> Option<u64> {
    None
}

/// Without the `wgpu` feature there is no wgpu device: `None`.
#[cfg(not(feature = "wgpu"))]
pub fn view_alignment(_device: &Device) -> Option<u64> {
    None
}

/// Whether wgpu finds an adapter (a GPU, or a software one) on `apis`.
#[cfg(feature = "wgpu")]
fn adapter(backend: Backend, apis: wgpu::Backends) -> Result<(), BackendError> {
    use std::future::Future;
    use std::task::{Context, Poll, Waker};
    let instance = wgpu::Instance::new(wgpu::InstanceDescriptor {
        backends: apis,
        ..wgpu::InstanceDescriptor::new_without_display_handle()
    });
    let mut listing = std::pin::pin!(instance.enumerate_adapters(apis));
    // Native wgpu lists adapters synchronously: the future is ready when first polled.
    match listing
        .as_mut()
        .poll(&mut Context::from_waker(Waker::noop()))
    {
        Poll::Ready(adapters) if adapters.is_empty() => Err(BackendError::NoAdapter(backend)),
        _ => Ok(()),
    }
}

fn compiled_names() -> String {
    let names: Vec<&str> = Backend::compiled().into_iter().map(Backend::name).collect();
    if names.is_empty() {
        "none".into()
    } else {
        names.join(", ")
    }
}

impl Default for Backend {
    /// The first compiled backend in the order flex, ndarray, wgpu, vulkan, cuda.
    fn default() -> Self {
        Backend::compiled()
            .first()
            .copied()
            .unwrap_or(Backend::Flex)
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

impl FromStr for Backend {
    type Err = BackendError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|b| b.name().eq_ignore_ascii_case(s))
            .ok_or_else(|| BackendError::Unknown(s.to_owned()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_explains_missing_backends() {
        assert_eq!("Flex".parse::<Backend>(), Ok(Backend::Flex));
        assert!(matches!(
            "tpu".parse::<Backend>(),
            Err(BackendError::Unknown(_))
        ));
        for backend in Backend::ALL {
            match backend.device() {
                Ok(_) => assert!(backend.is_compiled()),
                Err(e) => {
                    assert!(!backend.is_compiled());
                    assert!(
                        e.to_string().contains(&format!("--features {backend}")),
                        "{e}"
                    );
                }
            }
        }
    }
}
