//! `CNN_KERNELS=burn` in the environment makes generated networks run burn's own convolution,
//! max pooling, dropout and fully connected layers instead of [`crate::conv`], [`crate::pool`],
//! [`crate::dropout`] and [`crate::dense`] (on the GPU too, where convolutions otherwise run as
//! input gradients, pooling's padding is rewritten and long fully connected inputs are split):
//! to compare the two, or to rule our code out when something looks wrong.
//! Read once per process.

use std::sync::OnceLock;

/// Whether our kernels and rewrites run (the default).
pub fn own_kernels() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("CNN_KERNELS").map_or(true, |v| v != "burn"))
}
