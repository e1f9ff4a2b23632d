//! Turning images into f32 NCHW batch tensors, optionally standardized and augmented.

use std::sync::atomic::{AtomicU64, Ordering};

use burn::data::dataloader::batcher::Batcher;
use burn::tensor::{Device, Int, Tensor, TensorData};
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

use super::{Augment, ChannelStats, ImageItem, ImageSet};

/// A batch ready for a network: images `[B, C, H, W]` and class indices `[B]`.
#[derive(Debug, Clone)]
pub struct ImageBatch {
    pub images: Tensor<4>,
    pub targets: Tensor<1, Int>,
}

/// How the batcher turns `u8` pixels into network input.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct BatcherOptions {
    /// Subtract the per-channel mean and divide by the std (both in the `[0, 1]` scale, e.g.
    /// from [`ImageSet::channel_stats`]); `None` leaves pixels in `[0, 1]`.
    pub standardize: Option<ChannelStats>,
    /// A random crop of the zero-padded image, and a horizontal flip with probability 1/2
    /// where [`Augment::flip`] says so. The padding is black (pixel 0), standardized like any
    /// other pixel.
    pub augment: Option<Augment>,
    /// Seed of the augmentation; batch `k` of a batcher always gets the same draws.
    pub seed: u64,
}

/// Builds [`ImageBatch`]es, for burn's `DataLoader` or from indices.
///
/// With `augment`, the random draws of the `k`-th batch it builds depend only on the seed and
/// `k`, so a run with one loader worker is reproducible.
#[derive(Debug, Default)]
pub struct ImageBatcher {
    options: BatcherOptions,
    batches: AtomicU64,
}

impl ImageBatcher {
    pub fn new(options: BatcherOptions) -> Self {
        ImageBatcher {
            options,
            batches: AtomicU64::new(0),
        }
    }

    /// A batcher whose first batch draws like batch `batch` of [`ImageBatcher::new`]'s, to
    /// resume an interrupted epoch with the same augmentation.
    pub fn starting_at(options: BatcherOptions, batch: u64) -> Self {
        ImageBatcher {
            options,
            batches: AtomicU64::new(batch),
        }
    }

    pub fn options(&self) -> &BatcherOptions {
        &self.options
    }

    /// The images of `set` at `indices`, in that order, as one batch.
    pub fn batch_indices(&self, set: &ImageSet, indices: &[usize], device: &Device) -> ImageBatch {
        let images = indices.iter().map(|&i| (set.image(i), set.labels()[i]));
        self.build(set.shape(), images, device)
    }

    fn build<'a>(
        &self,
        shape: [usize; 3],
        images: impl ExactSizeIterator<Item = (&'a [u8], u16)>,
        device: &Device,
    ) -> ImageBatch {
        let n = images.len();
        let [c, h, w] = shape;
        let size = c * h * w;
        let luts = self.lookup_tables(c);
        let mut rng = self
            .options
            .augment
            .map(|augment| (augment, self.next_rng()));
        let mut data = vec![0f32; n * size];
        let mut targets = Vec::with_capacity(n);
        for ((pixels, label), out) in images.zip(data.chunks_exact_mut(size)) {
            assert_eq!(pixels.len(), size, "image does not have shape {shape:?}");
            match rng.as_mut() {
                None => {
                    for ((plane, out), lut) in
                        pixels.chunks(h * w).zip(out.chunks_mut(h * w)).zip(&luts)
                    {
                        for (o, &p) in out.iter_mut().zip(plane) {
                            *o = lut[usize::from(p)];
                        }
                    }
                }
                Some((augment, rng)) => {
                    let crop = Crop {
                        pad: augment.pad,
                        dy: rng.random_range(0..=2 * augment.pad),
                        dx: rng.random_range(0..=2 * augment.pad),
                        flip: augment.flip && rng.random_bool(0.5),
                    };
                    crop.apply([h, w], pixels, out, &luts);
                }
            }
            targets.push(i64::from(label));
        }
        ImageBatch {
            images: Tensor::from_data(TensorData::new(data, [n, c, h, w]), device),
            targets: Tensor::from_data(TensorData::new(targets, [n]), device),
        }
    }

    /// For each channel, the f32 value of each of the 256 pixel values.
    fn lookup_tables(&self, channels: usize) -> Vec<[f32; 256]> {
        let (mean, std) = match &self.options.standardize {
            Some(s) => {
                assert!(
                    s.mean.len() == channels && s.std.len() == channels,
                    "standardize has {} means and {} stds for {channels}-channel images",
                    s.mean.len(),
                    s.std.len()
                );
                (s.mean.clone(), s.std.clone())
            }
            None => (vec![0.0; channels], vec![1.0; channels]),
        };
        mean.iter()
            .zip(&std)
            .map(|(&m, &s)| {
                // A constant channel has std 0: leave it centred rather than dividing by zero.
                let s = if s > 0.0 { s } else { 1.0 };
                std::array::from_fn(|v| (v as f32 / 255.0 - m) / s)
            })
            .collect()
    }

    fn next_rng(&self) -> StdRng {
        let k = self.batches.fetch_add(1, Ordering::Relaxed);
        // Spread consecutive batch numbers over the seed space (golden-ratio increment).
        StdRng::seed_from_u64(self.options.seed ^ k.wrapping_mul(0x9E37_79B9_7F4A_7C15))
    }
}

/// One random crop of the padded image, then an optional horizontal flip.
struct Crop {
    pad: usize,
    dy: usize,
    dx: usize,
    flip: bool,
}

impl Crop {
    fn apply(&self, [h, w]: [usize; 2], pixels: &[u8], out: &mut [f32], luts: &[[f32; 256]]) {
        for ((plane, out), lut) in pixels.chunks(h * w).zip(out.chunks_mut(h * w)).zip(luts) {
            for (y, row) in out.chunks_mut(w).enumerate() {
                // Row `y` of the crop is row `y + dy - pad` of the unpadded image.
                let sy = (y + self.dy).checked_sub(self.pad).filter(|&sy| sy < h);
                for (x, o) in row.iter_mut().enumerate() {
                    let x = if self.flip { w - 1 - x } else { x };
                    let sx = (x + self.dx).checked_sub(self.pad).filter(|&sx| sx < w);
                    *o = match (sy, sx) {
                        (Some(sy), Some(sx)) => lut[usize::from(plane[sy * w + sx])],
                        _ => lut[0],
                    };
                }
            }
        }
    }
}

impl Batcher<ImageItem, ImageBatch> for ImageBatcher {
    fn batch(&self, items: Vec<ImageItem>, device: &Device) -> ImageBatch {
        let shape = items.first().map_or([0; 3], |i| i.shape);
        let images = items.iter().map(|i| {
            assert_eq!(i.shape, shape, "images of different shapes in one batch");
            (i.pixels.as_slice(), i.label)
        });
        self.build(shape, images, device)
    }
}

impl ImageSet {
    /// The images at `indices` as one batch built by `batcher` (for trainers that shuffle
    /// indices themselves instead of using burn's `DataLoader`).
    pub fn batch_tensor(
        &self,
        indices: &[usize],
        batcher: &ImageBatcher,
        device: &Device,
    ) -> ImageBatch {
        batcher.batch_indices(self, indices, device)
    }
}
