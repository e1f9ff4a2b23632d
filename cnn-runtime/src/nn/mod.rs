//! The layers generated networks are made of, each picking the fastest path for the tensor's
//! backend: our CPU kernels ([`cnn_kernels`]) on flex, rewrites of burn's operations on wgpu,
//! burn's own elsewhere. A hand-written burn network can call them too.
//!
//! With the `ab-switch` feature, `CNN_KERNELS=burn` in the environment puts burn's own layers
//! back, to compare the two (module `switch`).

pub mod conv;
pub mod dense;
pub mod dropout;
#[cfg(feature = "flex")]
pub(crate) mod flex_tensor;
pub mod init;
pub mod loss;
mod net;
pub mod pool;
pub mod precision;
mod sliding;
pub(crate) mod switch;

pub use net::{Net, NetError, check_file};
