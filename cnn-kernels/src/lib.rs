//! CPU kernels for the layers of cnn networks, on `f32` slices in NCHW layout, with no
//! dependency on burn: [`conv`] (forward pass and both gradients by im2col, kernel rows or
//! Winograd's algorithms), [`pool`] (max pooling), [`dropout`] (masks), [`optim`] (Adam and
//! SGD steps in one pass) and [`denormals`] (flush-to-zero on the threads that run them). Work
//! is spread over the current rayon pool.
//!
//! `cnn-runtime` calls them on burn's flex backend; they are tested here against direct
//! definitions.

pub mod conv;
pub mod denormals;
pub mod dropout;
pub mod optim;
pub mod pool;
