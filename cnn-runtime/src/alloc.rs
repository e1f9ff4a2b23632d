//! A global allocator for programs that train: mimalloc, told to keep freed memory for reuse.
//!
//! A training step allocates and frees the same large activation and gradient buffers every
//! time. The system allocator hands buffers above its mmap threshold back to the kernel on
//! free, so every step page-faults them in again and the kernel zeroes each page: a
//! measurable share of a training step (docs/performance.md). Optional: through the `cnn`
//! crate, one line at the top level of a binary that trains,
//!
//! ```ignore
//! cnn::use_mimalloc!();
//! ```

use std::alloc::{GlobalAlloc, Layout};
use std::ffi::c_void;
use std::sync::atomic::{AtomicBool, Ordering};

use libmimalloc_sys as mi;

/// mimalloc's `mi_option_purge_delay` (`mimalloc.h`, v2 and v3): milliseconds before freed
/// memory goes back to the OS; -1 never.
const PURGE_DELAY: mi::mi_option_t = 15;

static CONFIGURED: AtomicBool = AtomicBool::new(false);

/// mimalloc that never returns freed memory to the OS, so the next step reuses it without
/// page faults. The process's resident memory stays at its peak.
pub struct Allocator;

impl Allocator {
    #[inline]
    fn configure() {
        if !CONFIGURED.load(Ordering::Relaxed) {
            // SAFETY: sets one integer option; it neither allocates nor touches memory.
            unsafe { mi::mi_option_set(PURGE_DELAY, -1) };
            CONFIGURED.store(true, Ordering::Relaxed);
        }
    }
}

// SAFETY: every call forwards to mimalloc's aligned allocation functions, which honour
// `layout`'s size and alignment.
unsafe impl GlobalAlloc for Allocator {
    #[inline]
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        Self::configure();
        unsafe { mi::mi_malloc_aligned(layout.size(), layout.align()).cast() }
    }

    #[inline]
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        Self::configure();
        unsafe { mi::mi_zalloc_aligned(layout.size(), layout.align()).cast() }
    }

    #[inline]
    unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
        unsafe { mi::mi_free(ptr.cast::<c_void>()) }
    }

    #[inline]
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        unsafe { mi::mi_realloc_aligned(ptr.cast::<c_void>(), new_size, layout.align()).cast() }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn allocates_aligned_zeroed_and_resized_blocks() {
        let allocator = Allocator;
        for (size, align) in [(8, 8), (1 << 20, 64), (40 << 20, 4096)] {
            let layout = Layout::from_size_align(size, align).unwrap();
            // SAFETY: the layouts are valid and non-zero; each block is freed once.
            unsafe {
                let p = allocator.alloc_zeroed(layout);
                assert!(!p.is_null() && (p as usize).is_multiple_of(align));
                assert!(std::slice::from_raw_parts(p, size).iter().all(|&b| b == 0));
                let q = allocator.realloc(p, layout, size * 2);
                assert!(!q.is_null() && (q as usize).is_multiple_of(align));
                allocator.dealloc(q, Layout::from_size_align(size * 2, align).unwrap());
            }
        }
        // SAFETY: reads one integer option.
        assert_eq!(unsafe { mi::mi_option_get(PURGE_DELAY) }, -1);
    }
}
