//! Denormal floats flushed to zero on the threads that compute on the CPU.
//!
//! As a network converges, some gradients and activations fall below `f32`'s normal range
//! (about 1.2e-38). Intel cores take a microcode assist on every such operand, so a matrix
//! product over them runs hundreds of times slower, and a training run slows down epoch after
//! epoch for no visible reason. AMD cores pay little. TensorFlow flushes denormals to zero on
//! its CPU threads by default; PyTorch has `torch.set_flush_denormal(True)`.
//!
//! [`FlushDenormals`] sets flush-to-zero (FTZ: denormal results become zero) and
//! denormals-are-zero (DAZ: denormal operands read as zero) in the MXCSR register of the
//! calling thread and of every thread in the current rayon pool, where burn-flex, `gemm` and
//! our kernels compute. Each thread gets back the flags it had once the last guard is dropped,
//! so a program that embeds the library keeps its own floating-point settings outside training
//! and inference. Training, evaluation and prediction take a guard unless [`set_flush`] turned
//! it off (`--keep-denormals` on the command line).
//!
//! Only x86 and x86-64 have these flags; elsewhere the guard does nothing (ARM cores handle
//! denormals at full speed).
//!
//! ```
//! use cnn_kernels::denormals::{FlushDenormals, is_flushed};
//!
//! let before = is_flushed();
//! {
//!     let _flushed = FlushDenormals::new();
//!     // Anything that computes here, on this thread or rayon's, sees denormals as zero.
//!     # #[cfg(any(target_arch = "x86", target_arch = "x86_64"))]
//!     assert!(is_flushed());
//! }
//! assert_eq!(is_flushed(), before);
//! ```

use std::cell::Cell;
use std::marker::PhantomData;
use std::sync::atomic::{AtomicBool, Ordering};

static FLUSH: AtomicBool = AtomicBool::new(true);

/// Whether training, evaluation and prediction flush denormals (the default) or leave each
/// thread's flags alone, for this process.
pub fn set_flush(flush: bool) {
    FLUSH.store(flush, Ordering::Relaxed);
}

/// What [`set_flush`] last set: true unless it was turned off.
pub fn flushing() -> bool {
    FLUSH.load(Ordering::Relaxed)
}

/// A [`FlushDenormals`] guard, or none when [`set_flush`] turned flushing off.
pub fn scope() -> Option<FlushDenormals> {
    flushing().then(FlushDenormals::new)
}

/// Whether the calling thread flushes denormals (both FTZ and DAZ set); false where the
/// processor has no such flags.
pub fn is_flushed() -> bool {
    register::read().is_some_and(|flags| flags & register::FLUSH == register::FLUSH)
}

/// While alive, denormals are flushed to zero on this thread and on the current rayon pool's
/// threads. Guards nest, on one thread or several. It stays on the thread that made it, which
/// it restores on drop.
#[must_use = "denormals are flushed only while the guard lives"]
pub struct FlushDenormals {
    _not_send: PhantomData<*const ()>,
}

impl FlushDenormals {
    pub fn new() -> Self {
        // The pool first: were it started after the caller's flags changed, its threads would
        // inherit them as the state to restore.
        rayon::broadcast(|_| thread::enter());
        thread::enter();
        FlushDenormals {
            _not_send: PhantomData,
        }
    }
}

impl Default for FlushDenormals {
    fn default() -> Self {
        Self::new()
    }
}

impl Drop for FlushDenormals {
    fn drop(&mut self) {
        thread::leave();
        rayon::broadcast(|_| thread::leave());
    }
}

/// One thread's count of live guards, and the flags it had before the first.
mod thread {
    use super::*;

    thread_local! {
        static DEPTH: Cell<usize> = const { Cell::new(0) };
        static SAVED: Cell<u32> = const { Cell::new(0) };
    }

    pub(super) fn enter() {
        let Some(flags) = register::read() else {
            return;
        };
        if DEPTH.replace(DEPTH.get() + 1) == 0 {
            SAVED.set(flags);
            register::write(flags | register::FLUSH);
        }
    }

    pub(super) fn leave() {
        if register::read().is_none() {
            return;
        }
        let depth = DEPTH.get();
        if depth > 0 {
            DEPTH.set(depth - 1);
            if depth == 1 {
                register::write(SAVED.get());
            }
        }
    }
}

#[cfg(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse"
))]
mod register {
    use std::arch::asm;

    /// FTZ (bit 15) and DAZ (bit 6).
    pub const FLUSH: u32 = (1 << 15) | (1 << 6);

    pub fn read() -> Option<u32> {
        let mut flags = 0u32;
        // SAFETY: stores the 32-bit MXCSR into a local.
        unsafe { asm!("stmxcsr [{}]", in(reg) &mut flags, options(nostack, preserves_flags)) };
        Some(flags)
    }

    /// Rust assumes the default floating-point environment; FTZ and DAZ change only results
    /// and operands below the normal range, which the code computing under them accepts.
    pub fn write(flags: u32) {
        // SAFETY: loads MXCSR from a local; the flags come from `read`, with FTZ/DAZ toggled.
        unsafe {
            asm!("ldmxcsr [{}]", in(reg) &flags, options(nostack, preserves_flags, readonly))
        };
    }
}

#[cfg(not(all(
    any(target_arch = "x86", target_arch = "x86_64"),
    target_feature = "sse"
)))]
mod register {
    pub const FLUSH: u32 = 0;

    pub fn read() -> Option<u32> {
        None
    }

    pub fn write(_: u32) {}
}

#[cfg(all(test, any(target_arch = "x86", target_arch = "x86_64")))]
mod tests {
    use super::*;

    fn pool_flushed(pool: &rayon::ThreadPool) -> Vec<bool> {
        pool.broadcast(|_| is_flushed())
    }

    #[test]
    fn sets_flags_on_caller_and_pool_and_restores_them() {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(3)
            .build()
            .unwrap();
        pool.install(|| {
            assert!(!is_flushed());
            assert_eq!(pool_flushed(&pool), [false; 3]);
            {
                let _outer = FlushDenormals::new();
                {
                    let _inner = FlushDenormals::new();
                    assert_eq!(pool_flushed(&pool), [true; 3]);
                }
                assert_eq!(
                    pool_flushed(&pool),
                    [true; 3],
                    "the outer guard still holds"
                );
            }
            assert_eq!(pool_flushed(&pool), [false; 3]);
        });
    }

    #[test]
    fn a_caller_outside_the_pool_is_restored() {
        std::thread::spawn(|| {
            assert!(!is_flushed());
            let guard = FlushDenormals::new();
            assert!(is_flushed());
            assert!(rayon::broadcast(|_| is_flushed()).into_iter().all(|f| f));
            drop(guard);
            assert!(!is_flushed());
        })
        .join()
        .unwrap();
    }

    #[test]
    fn a_thread_that_flushed_already_keeps_its_flags() {
        std::thread::spawn(|| {
            let own = register::read().unwrap() | register::FLUSH;
            register::write(own);
            drop(FlushDenormals::new());
            assert_eq!(register::read(), Some(own));
        })
        .join()
        .unwrap();
    }

    #[test]
    fn denormal_products_become_zero() {
        let tiny = f32::MIN_POSITIVE / 4.0;
        let product = |a: f32, b: f32| std::hint::black_box(a) * std::hint::black_box(b);
        std::thread::spawn(move || {
            assert_eq!(product(tiny, 2.0), tiny * 2.0);
            assert!(product(tiny, 2.0) > 0.0);
            let _flushed = FlushDenormals::new();
            assert_eq!(
                product(tiny, 2.0),
                0.0,
                "DAZ: a denormal operand reads as zero"
            );
            assert_eq!(
                product(f32::MIN_POSITIVE, 0.25),
                0.0,
                "FTZ: a denormal result"
            );
        })
        .join()
        .unwrap();
    }

    #[test]
    fn our_convolution_gives_zeros_on_denormals() {
        let g = crate::conv::Geometry {
            batch: 2,
            channels: 8,
            height: 16,
            width: 16,
            filters: 8,
            kernel: [3, 3],
            stride: [1, 1],
            pad: [1, 1],
            out: [16, 16],
        };
        let x = vec![f32::MIN_POSITIVE / 4.0; g.batch * g.image_len()];
        let weight = vec![1.0; g.filters * g.patch_len()];
        let conv = || crate::conv::forward(&g, &x, &weight, None);
        // On a pool of its own, so that no other test's guard reaches it.
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(2)
            .build()
            .unwrap();
        pool.install(|| {
            assert!(
                conv().iter().all(|&v| v > 0.0),
                "without the flags denormals add up"
            );
            let _flushed = FlushDenormals::new();
            assert!(conv().iter().all(|&v| v == 0.0));
        });
    }
}
