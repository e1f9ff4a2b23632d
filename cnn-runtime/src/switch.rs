//! `CNN_KERNELS=burn` in the environment makes generated networks run burn's own convolution
//! and dropout instead of [`crate::conv`] and [`crate::dropout`]: to compare the two, or to
//! rule our kernels out when something looks wrong. Read once per process.

use std::sync::OnceLock;

/// Whether our CPU kernels run (the default).
pub fn own_kernels() -> bool {
    static ON: OnceLock<bool> = OnceLock::new();
    *ON.get_or_init(|| std::env::var("CNN_KERNELS").map_or(true, |v| v != "burn"))
}
