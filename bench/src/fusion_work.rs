//! What burn-fusion handles per step on the GPU backends: the operations recorded, and the
//! blocks it runs (each fused kernel, each view, each operation run on its own), with the time
//! its thread spends running each kind of block. That thread paces batch-64 `f16` training
//! steps on an H200, and its work follows the blocks more than the operations: operations
//! merged into one fused kernel cost it little (docs/gpu.md). The `speed` example reports all
//! of it, counted over a few steps after the timed ones, since watching the server costs it
//! time.

use burn::backend::ExecutionError;
use burn::tensor::Device;

mod kind;

pub use kind::{block_kind, operation_name};

/// Per step, averaged over the steps watched.
#[derive(Debug, Clone, PartialEq)]
pub struct FusionWork {
    /// Operations recorded, each tensor operation and each drop of a tensor no operation
    /// consumed.
    pub operations: f64,
    /// Blocks run: fused kernels, views, and operations run on their own.
    pub blocks: f64,
    /// The blocks that fused several operations into one kernel.
    pub fused_blocks: f64,
    /// The blocks by kind ([`block_kind`]), the most time per step first.
    pub kinds: Vec<BlockKind>,
}

/// One kind of block, and the time burn-fusion's thread spent running one: building and
/// launching its kernels, or changing a view's metadata, not the device's work. Where the
/// device is the slower of the two (Mesa's software GPU), a block also waits there for room
/// to launch, which the median leaves out unless most blocks of the kind wait.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockKind {
    pub kind: String,
    pub per_step: f64,
    /// Microseconds, the median over every block of this kind watched.
    pub median_us: f64,
}

impl BlockKind {
    /// The thread's time per step in blocks of this kind, at the median.
    pub fn us_per_step(&self) -> f64 {
        self.per_step * self.median_us
    }
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
    use std::collections::HashMap;
    use std::sync::{Arc, Mutex, PoisonError};
    use std::time::Instant;

    use burn::backend::ExecutionError;
    use burn::backend::fusion::custom::OperationIr;
    use burn::backend::fusion::observer::{BlockOperations, FusionObservation, FusionObserver};
    use burn::tensor::Device;

    use super::{BlockKind, FusionWork, block_kind};

    pub fn per_step(
        device: &Device,
        steps: usize,
        mut step: impl FnMut(),
    ) -> Result<Option<FusionWork>, ExecutionError> {
        device.sync()?;
        let watch = Arc::new(Watch::default());
        let observation = FusionObservation::new(watch.clone());
        for _ in 0..steps {
            step();
        }
        device.sync()?;
        drop(observation);
        let seen = std::mem::take(&mut *watch.lock());
        Ok((seen.operations > 0).then(|| seen.per_step(steps as f64)))
    }

    /// Everything watched, on burn-fusion's thread.
    #[derive(Debug, Default)]
    struct Watch(Mutex<Seen>);

    impl Watch {
        fn lock(&self) -> std::sync::MutexGuard<'_, Seen> {
            // Nothing under the lock panics, so a poisoned lock holds whole counts.
            self.0.lock().unwrap_or_else(PoisonError::into_inner)
        }
    }

    #[derive(Debug, Default)]
    struct Seen {
        operations: usize,
        fused_blocks: usize,
        /// The block running now, and when it started.
        running: Option<(String, Instant)>,
        /// Each kind's blocks, in microseconds.
        times: HashMap<String, Vec<f64>>,
    }

    impl Seen {
        fn per_step(mut self, steps: f64) -> FusionWork {
            let blocks = self.times.values().map(Vec::len).sum::<usize>();
            let mut kinds: Vec<BlockKind> = self
                .times
                .drain()
                .map(|(kind, mut times)| {
                    times.sort_by(f64::total_cmp);
                    BlockKind {
                        kind,
                        per_step: times.len() as f64 / steps,
                        median_us: times[times.len() / 2],
                    }
                })
                .collect();
            kinds.sort_by(|a, b| b.us_per_step().total_cmp(&a.us_per_step()));
            FusionWork {
                operations: self.operations as f64 / steps,
                blocks: blocks as f64 / steps,
                fused_blocks: self.fused_blocks as f64 / steps,
                kinds,
            }
        }
    }

    impl FusionObserver for Watch {
        fn registered(&self, _: &OperationIr) {
            self.lock().operations += 1;
        }

        fn block_starts(&self, block: BlockOperations<'_>) {
            // Named before the clock starts: naming formats the operations.
            let kind = block_kind(block.iter());
            let mut seen = self.lock();
            if block.iter().len() > 1 {
                seen.fused_blocks += 1;
            }
            seen.running = Some((kind, Instant::now()));
        }

        fn block_ran(&self) {
            let ended = Instant::now();
            let mut seen = self.lock();
            if let Some((kind, started)) = seen.running.take() {
                let us = (ended - started).as_secs_f64() * 1e6;
                seen.times.entry(kind).or_default().push(us);
            }
        }
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
