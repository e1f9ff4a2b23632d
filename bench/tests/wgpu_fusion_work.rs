//! `cnn_bench::fusion_work` on a wgpu device: what burn-fusion handled per step. Needs a
//! GPU, or Mesa's software one, so it is ignored by default and CI skips it:
//!
//! `cargo test --release -p cnn-bench --no-default-features --features wgpu --test wgpu_fusion_work -- --ignored`
#![cfg(feature = "wgpu")]

use burn::tensor::{Device, DeviceKind, Distribution, Tensor};
use cnn_bench::fusion_work::{self, FusionWork};

fn watched(device: &Device, step: impl FnMut()) -> FusionWork {
    fusion_work::per_step(device, 4, step)
        .expect("device sync")
        .expect("a wgpu device runs burn-fusion")
}

/// Read back, so that each step leaves nothing queued.
fn read<const D: usize>(t: Tensor<D>) {
    std::hint::black_box(t.into_data().as_bytes());
}

/// Counts, and each kind of block with how many ran per step.
fn summary(work: &FusionWork) -> (f64, f64, f64, Vec<(&str, f64)>) {
    let mut kinds: Vec<(&str, f64)> = work
        .kinds
        .iter()
        .map(|k| (k.kind.as_str(), k.per_step))
        .collect();
    kinds.sort_by(|a, b| a.0.cmp(b.0));
    (work.operations, work.blocks, work.fused_blocks, kinds)
}

/// Two element-wise operations: two operations, one fused block. A reshape after them: one
/// operation and one block more, named by its operation. Each block took time on the thread.
#[test]
#[ignore = "needs a wgpu device"]
fn elementwise_operations_fuse_into_one_block_and_a_view_takes_its_own() {
    let device = Device::wgpu(DeviceKind::DefaultDevice);
    let x = Tensor::<2>::random([8, 16], Distribution::Default, &device);
    let fused = watched(&device, || read((x.clone() + 1.0) * 2.0));
    let expected = (2.0, 1.0, 1.0, vec![("fused elementwise", 1.0)]);
    assert_eq!(summary(&fused), expected);
    let with_view = watched(&device, || read(((x.clone() + 1.0) * 2.0).reshape([16, 8])));
    let expected = (
        3.0,
        2.0,
        1.0,
        vec![("BaseFloat.Reshape", 1.0), ("fused elementwise", 1.0)],
    );
    assert_eq!(summary(&with_view), expected);
    assert!(with_view.kinds.iter().all(|k| k.median_us > 0.0));
}
