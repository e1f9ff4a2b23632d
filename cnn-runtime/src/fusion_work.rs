//! What burn-fusion handles per step on the GPU backends: the operations recorded, and the
//! blocks it runs (each fused kernel, each view, each operation run on its own). Its thread
//! paces batch-64 `f16` training steps on an H200, and its work follows the blocks more than
//! the operations: operations merged into one fused kernel cost it little (docs/gpu.md). The
//! `speed` example reports both, counted over a few steps after the timed ones, since
//! watching the server costs it time.

use burn::backend::ExecutionError;
use burn::tensor::Device;

/// Per step, averaged over the steps watched.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FusionWork {
    /// Operations recorded, each tensor operation and each drop of a tensor no operation
    /// consumed.
    pub operations: f64,
    /// Blocks run: fused kernels, views, and operations run on their own.
    pub blocks: f64,
    /// The blocks that fused several operations into one kernel.
    pub fused_blocks: f64,
}

/// Runs `step` `steps` times with burn-fusion's server watched, and returns what it handled
/// per step. `step` must leave nothing queued (end with a device sync or a read), so that
/// the counts cover its work and nothing else; so does this function before it starts.
/// `None`, without running `step`, in builds without a GPU backend (none has fusion); `None`
/// too when nothing was recorded (a device of a backend without fusion).
pub fn per_step(
    device: &Device,
    steps: usize,
    step: impl FnMut(),
) -> Result<Option<FusionWork>, ExecutionError> {
    #[cfg(any(feature = "wgpu", feature = "cuda"))]
    return watched::per_step(device, steps, step);
    #[cfg(not(any(feature = "wgpu", feature = "cuda")))]
    {
        let _ = (device, steps, step);
        Ok(None)
    }
}

#[cfg(any(feature = "wgpu", feature = "cuda"))]
mod watched {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};

    use burn::backend::ExecutionError;
    use burn::backend::fusion::custom::OperationIr;
    use burn::backend::fusion::observer::{BlockOperations, FusionObservation, FusionObserver};
    use burn::tensor::Device;

    use super::FusionWork;

    pub fn per_step(
        device: &Device,
        steps: usize,
        mut step: impl FnMut(),
    ) -> Result<Option<FusionWork>, ExecutionError> {
        device.sync()?;
        let counts = Arc::new(Counts::default());
        let observation = FusionObservation::new(counts.clone());
        for _ in 0..steps {
            step();
        }
        device.sync()?;
        drop(observation);
        let per_step = |count: &AtomicUsize| count.load(Ordering::Relaxed) as f64 / steps as f64;
        let work = FusionWork {
            operations: per_step(&counts.operations),
            blocks: per_step(&counts.blocks),
            fused_blocks: per_step(&counts.fused_blocks),
        };
        Ok((work.operations > 0.0).then_some(work))
    }

    #[derive(Debug, Default)]
    struct Counts {
        operations: AtomicUsize,
        blocks: AtomicUsize,
        fused_blocks: AtomicUsize,
    }

    impl FusionObserver for Counts {
        fn registered(&self, _: &OperationIr) {
            self.operations.fetch_add(1, Ordering::Relaxed);
        }

        fn block_starts(&self, block: BlockOperations<'_>) {
            self.blocks.fetch_add(1, Ordering::Relaxed);
            if block.iter().len() > 1 {
                self.fused_blocks.fetch_add(1, Ordering::Relaxed);
            }
        }

        fn block_ran(&self) {}
    }
}

#[cfg(all(test, not(any(feature = "wgpu", feature = "cuda"))))]
mod tests {
    use super::*;

    #[test]
    fn builds_without_fusion_count_nothing_and_run_nothing() {
        let work = per_step(&Device::default(), 3, || panic!("no step should run")).unwrap();
        assert_eq!(work, None);
    }
}
