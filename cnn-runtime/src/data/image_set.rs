//! [`ImageSet`]: one split of a dataset, as contiguous `u8` pixels (NCHW) and labels.

use burn::data::dataset::{Dataset as BurnDataset, DatasetError};

use super::DataError;
use super::sampling::{self, SplitSize};

/// Images of one shape `[C, H, W]` with their class labels, pixels stored as loaded (`u8`,
/// image after image, each channel-major then row-major).
#[derive(Debug, Clone, PartialEq)]
pub struct ImageSet {
    pixels: Vec<u8>,
    labels: Vec<u16>,
    shape: [usize; 3],
    classes: usize,
}

/// One image and its label: what burn's `Dataset::get` hands to the batcher.
#[derive(Debug, Clone, PartialEq)]
pub struct ImageItem {
    /// `C*H*W` pixels, channel-major then row-major.
    pub pixels: Vec<u8>,
    pub label: u16,
    pub shape: [usize; 3],
}

/// Per-channel mean and standard deviation of pixels scaled to `[0, 1]`.
#[derive(Debug, Clone, PartialEq)]
pub struct ChannelStats {
    pub mean: Vec<f32>,
    pub std: Vec<f32>,
}

impl ImageSet {
    /// Checks that `pixels` holds `labels.len()` images of `shape` and every label is below
    /// `classes`.
    pub fn new(
        pixels: Vec<u8>,
        labels: Vec<u16>,
        shape: [usize; 3],
        classes: usize,
    ) -> Result<Self, DataError> {
        let size: usize = shape.iter().product();
        if pixels.len() != labels.len() * size {
            return Err(DataError::InvalidSet(format!(
                "{} pixels for {} images of shape {shape:?}",
                pixels.len(),
                labels.len()
            )));
        }
        if let Some((i, &l)) = labels
            .iter()
            .enumerate()
            .find(|(_, l)| usize::from(**l) >= classes)
        {
            return Err(DataError::InvalidSet(format!(
                "label {l} of image {i} is not below {classes}"
            )));
        }
        Ok(ImageSet {
            pixels,
            labels,
            shape,
            classes,
        })
    }

    pub fn len(&self) -> usize {
        self.labels.len()
    }

    pub fn is_empty(&self) -> bool {
        self.labels.is_empty()
    }

    /// `[C, H, W]` of every image.
    pub fn shape(&self) -> [usize; 3] {
        self.shape
    }

    /// Number of classes the labels range over.
    pub fn num_classes(&self) -> usize {
        self.classes
    }

    /// `C*H*W`.
    pub fn image_size(&self) -> usize {
        self.shape.iter().product()
    }

    /// All pixels, NCHW.
    pub fn pixels(&self) -> &[u8] {
        &self.pixels
    }

    pub fn labels(&self) -> &[u16] {
        &self.labels
    }

    /// The pixels of image `index`. Panics when out of range, like slice indexing.
    pub fn image(&self, index: usize) -> &[u8] {
        let size = self.image_size();
        &self.pixels[index * size..(index + 1) * size]
    }

    /// How many images each class has.
    pub fn label_histogram(&self) -> Vec<usize> {
        let mut counts = vec![0; self.classes];
        for &l in &self.labels {
            counts[usize::from(l)] += 1;
        }
        counts
    }

    /// The images at `indices`, in that order.
    pub fn select(&self, indices: &[usize]) -> ImageSet {
        let mut pixels = Vec::with_capacity(indices.len() * self.image_size());
        for &i in indices {
            pixels.extend_from_slice(self.image(i));
        }
        ImageSet {
            pixels,
            labels: indices.iter().map(|&i| self.labels[i]).collect(),
            shape: self.shape,
            classes: self.classes,
        }
    }

    /// At most `n` images, chosen at random (seeded) within each class so that every class
    /// keeps its share; they stay in their original order.
    pub fn limit_stratified(&self, n: usize, seed: u64) -> ImageSet {
        if n >= self.len() {
            return self.clone();
        }
        self.select(&sampling::stratified(&self.labels, self.classes, n, seed))
    }

    /// `(rest, validation)`: a class-stratified, seeded validation set of `size` images and the
    /// images left for training. The same seed always gives the same split.
    pub fn split_validation(&self, size: impl Into<SplitSize>, seed: u64) -> (ImageSet, ImageSet) {
        let n = size.into().resolve(self.len());
        let validation = sampling::stratified(&self.labels, self.classes, n, seed);
        let mut in_validation = vec![false; self.len()];
        for &i in &validation {
            in_validation[i] = true;
        }
        let rest: Vec<usize> = (0..self.len()).filter(|&i| !in_validation[i]).collect();
        (self.select(&rest), self.select(&validation))
    }

    /// Per-channel mean and (population) standard deviation, in the `[0, 1]` pixel scale the
    /// batcher produces; feed it to [`BatcherOptions::standardize`](super::BatcherOptions).
    pub fn channel_stats(&self) -> ChannelStats {
        let [c, h, w] = self.shape;
        let plane = h * w;
        // Exact integer sums: f32 accumulation over 47 M MNIST pixels would drift.
        let mut sum = vec![0u64; c];
        let mut sum_sq = vec![0u64; c];
        for image in self.pixels.chunks_exact(c * plane) {
            for (ch, values) in image.chunks_exact(plane).enumerate() {
                let (s, q) = values.iter().fold((0u64, 0u64), |(s, q), &v| {
                    let v = u64::from(v);
                    (s + v, q + v * v)
                });
                sum[ch] += s;
                sum_sq[ch] += q;
            }
        }
        let count = (self.len() * plane).max(1) as f64;
        let (mean, std) = sum
            .iter()
            .zip(&sum_sq)
            .map(|(&s, &q)| {
                let mean = s as f64 / count;
                let var = (q as f64 / count - mean * mean).max(0.0);
                ((mean / 255.0) as f32, (var.sqrt() / 255.0) as f32)
            })
            .unzip();
        ChannelStats { mean, std }
    }
}

impl BurnDataset<ImageItem> for ImageSet {
    fn get(&self, index: usize) -> Result<ImageItem, DatasetError> {
        Ok(ImageItem {
            pixels: self.image(index).to_vec(),
            label: self.labels[index],
            shape: self.shape,
        })
    }

    fn len(&self) -> usize {
        self.labels.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// 12 images of 2x1x2: image i has pixels [i, 2i] and label i % 3.
    fn tiny() -> ImageSet {
        let pixels = (0..12u8).flat_map(|i| [i, 2 * i]).collect();
        let labels = (0..12).map(|i| i % 3).collect();
        ImageSet::new(pixels, labels, [2, 1, 1], 3).unwrap()
    }

    #[test]
    fn new_rejects_inconsistent_sets() {
        assert!(ImageSet::new(vec![0; 5], vec![0, 1], [1, 1, 2], 2).is_err());
        assert!(ImageSet::new(vec![0; 4], vec![0, 2], [1, 1, 2], 2).is_err());
    }

    #[test]
    fn select_limit_and_split_keep_images_with_their_labels() {
        let set = tiny();
        let sub = set.limit_stratified(6, 1);
        assert_eq!(sub.label_histogram(), vec![2, 2, 2]);
        for i in 0..sub.len() {
            let p = sub.image(i);
            assert_eq!(p[1], 2 * p[0]);
            assert_eq!(sub.labels()[i], u16::from(p[0]) % 3);
        }
        let (rest, val) = set.split_validation(0.25, 9);
        assert_eq!((rest.len(), val.len()), (9, 3));
        assert_eq!(val.label_histogram(), vec![1, 1, 1]);
        let mut all: Vec<u8> = rest.pixels().iter().chain(val.pixels()).copied().collect();
        all.sort_unstable();
        let mut original = set.pixels().to_vec();
        original.sort_unstable();
        assert_eq!(all, original);
        assert_eq!(set.split_validation(0.25, 9), (rest, val));
    }

    #[test]
    fn channel_stats_and_items() {
        let set = ImageSet::new(vec![0, 255, 255, 255], vec![0, 1], [2, 1, 1], 2).unwrap();
        let stats = set.channel_stats();
        assert_eq!(stats.mean, vec![0.5, 1.0]);
        assert_eq!(stats.std, vec![0.5, 0.0]);
        let item = set.get(1).unwrap();
        assert_eq!(
            (item.pixels, item.label, item.shape),
            (vec![255, 255], 1, [2, 1, 1])
        );
        assert_eq!(BurnDataset::len(&set), 2);
    }
}
