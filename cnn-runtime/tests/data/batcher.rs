use burn::data::dataloader::DataLoaderBuilder;
use burn::data::dataloader::batcher::Batcher;
use burn::data::dataset::Dataset as _;
use burn::tensor::Device;
use cnn_runtime::Backend;
use cnn_runtime::data::{
    Augment, BatcherOptions, ChannelStats, ImageBatch, ImageBatcher, ImageSet, mnist,
};

fn device() -> Device {
    Backend::default().device().unwrap()
}

fn floats(batch: &ImageBatch) -> Vec<f32> {
    batch.images.to_data().try_to_vec::<f32>().unwrap()
}

fn targets(batch: &ImageBatch) -> Vec<i64> {
    batch.targets.to_data().iter::<i64>().collect()
}

/// Two 3x4x4 images with distinct pixels: image `n`, channel `c`, row `y`, column `x` is
/// `100n + 16c + 4y + x`.
fn rgb() -> ImageSet {
    let pixels = (0..2)
        .flat_map(|n| (0..48).map(move |i| (100 * n + i) as u8))
        .collect();
    ImageSet::new(pixels, vec![1, 0], [3, 4, 4], 2).unwrap()
}

#[test]
fn plain_batches_are_pixels_over_255_in_nchw() {
    let set = rgb();
    let batch = set.batch_tensor(&[1, 0], &ImageBatcher::default(), &device());
    assert_eq!(batch.images.dims(), [2, 3, 4, 4]);
    let expected: Vec<f32> = set
        .image(1)
        .iter()
        .chain(set.image(0))
        .map(|&p| f32::from(p) / 255.0)
        .collect();
    assert_eq!(floats(&batch), expected);
    assert_eq!(targets(&batch), [0, 1]);
}

#[test]
fn standardization_uses_the_channel_stats() {
    let set = rgb();
    let stats = ChannelStats {
        mean: vec![0.1, 0.2, 0.3],
        std: vec![0.5, 0.25, 2.0],
    };
    let batcher = ImageBatcher::new(BatcherOptions {
        standardize: Some(stats.clone()),
        ..Default::default()
    });
    let got = floats(&set.batch_tensor(&[0], &batcher, &device()));
    for (i, (&g, &p)) in got.iter().zip(set.image(0)).enumerate() {
        let c = i / 16;
        let want = (f32::from(p) / 255.0 - stats.mean[c]) / stats.std[c];
        assert!((g - want).abs() < 1e-6, "{i}: {g} vs {want}");
    }
    // Standardizing with the set's own stats gives mean 0 and std 1 per channel.
    let d = mnist::embedded();
    let own = ImageBatcher::new(BatcherOptions {
        standardize: Some(d.test.channel_stats()),
        ..Default::default()
    });
    let all: Vec<usize> = (0..d.test.len()).collect();
    let x = floats(&d.test.batch_tensor(&all, &own, &device()));
    let n = x.len() as f64;
    let mean = x.iter().map(|&v| f64::from(v)).sum::<f64>() / n;
    let var = x
        .iter()
        .map(|&v| (f64::from(v) - mean).powi(2))
        .sum::<f64>()
        / n;
    assert!(
        mean.abs() < 1e-5 && (var - 1.0).abs() < 1e-5,
        "{mean} {var}"
    );
}

/// The `(dy, dx, flip)` with which `out` (one 3x4x4 image, in [0,1]) is `image` cropped at
/// offset `(dy, dx)` of its `pad`-pixel zero padding and then maybe flipped.
fn crops_of(out: &[f32], image: &[u8], pad: i32) -> Vec<(i32, i32, bool)> {
    let mut found = Vec::new();
    for dy in 0..=2 * pad {
        for dx in 0..=2 * pad {
            for flip in [false, true] {
                let matches = out.iter().enumerate().all(|(i, &o)| {
                    let (c, y, x) = (i / 16, i / 4 % 4, i % 4);
                    let x = if flip { 3 - x } else { x };
                    let (sy, sx) = (y as i32 + dy - pad, x as i32 + dx - pad);
                    let inside = (0..4).contains(&sy) && (0..4).contains(&sx);
                    let p = if inside {
                        image[c * 16 + sy as usize * 4 + sx as usize]
                    } else {
                        0
                    };
                    o == f32::from(p) / 255.0
                });
                if matches {
                    found.push((dy, dx, flip));
                }
            }
        }
    }
    found
}

#[test]
fn augmentation_is_a_seeded_crop_and_flip() {
    let set = rgb();
    let options = BatcherOptions {
        augment: Some(Augment::CROP_FLIP),
        seed: 42,
        ..Default::default()
    };
    let a = ImageBatcher::new(options.clone());
    let b = ImageBatcher::new(options);
    let indices = [0, 1, 0, 1, 0, 1, 0, 1];
    let first: Vec<Vec<f32>> = (0..4)
        .map(|_| floats(&set.batch_tensor(&indices, &a, &device())))
        .collect();
    let again: Vec<Vec<f32>> = (0..4)
        .map(|_| floats(&set.batch_tensor(&indices, &b, &device())))
        .collect();
    assert_eq!(first, again, "same seed, same batches");
    assert_ne!(first[0], first[1], "each batch gets new draws");
    let mut flipped = 0;
    let mut centred = 0;
    for batch in &first {
        for (k, out) in batch.chunks(48).enumerate() {
            let crops = crops_of(out, set.image(indices[k]), 4);
            assert!(!crops.is_empty(), "image {k} is not a crop: {out:?}");
            // Only fully padded crops (all black) match several transforms.
            if crops.len() == 1 {
                flipped += usize::from(crops[0].2);
                centred += usize::from((crops[0].0, crops[0].1) == (4, 4));
            }
        }
    }
    // 32 draws: flips are about half, unshifted crops about 1 in 81.
    assert!((4..=28).contains(&flipped), "{flipped} of 32 flipped");
    assert!(centred < 8, "{centred} of 32 unshifted");
    let resumed = ImageBatcher::starting_at(
        BatcherOptions {
            augment: Some(Augment::CROP_FLIP),
            seed: 42,
            ..Default::default()
        },
        2,
    );
    assert_eq!(
        floats(&set.batch_tensor(&indices, &resumed, &device())),
        first[2]
    );
    let other = ImageBatcher::new(BatcherOptions {
        augment: Some(Augment::CROP_FLIP),
        seed: 43,
        ..Default::default()
    });
    assert_ne!(
        floats(&set.batch_tensor(&indices, &other, &device())),
        first[0]
    );
}

#[test]
fn crops_for_digits_shift_by_their_padding_and_never_flip() {
    let set = rgb();
    let batcher = ImageBatcher::new(BatcherOptions {
        augment: Some("crop:1".parse().unwrap()),
        seed: 7,
        ..Default::default()
    });
    let indices = [0, 1, 0, 1, 0, 1, 0, 1];
    let mut shifts = std::collections::BTreeSet::new();
    for _ in 0..4 {
        let batch = floats(&set.batch_tensor(&indices, &batcher, &device()));
        for (k, out) in batch.chunks(48).enumerate() {
            let crops = crops_of(out, set.image(indices[k]), 1);
            assert!(
                crops.iter().any(|&(_, _, flip)| !flip),
                "image {k} is not an unflipped crop within 1 pixel: {crops:?}"
            );
            if let [(dy, dx, flip)] = crops[..] {
                assert!(!flip);
                shifts.insert((dy, dx));
            }
        }
    }
    // 32 draws over 9 offsets: several of them show up.
    assert!(shifts.len() >= 4, "offsets drawn: {shifts:?}");
}

#[test]
fn burn_dataloader_yields_every_image_once() {
    let test = mnist::embedded().test;
    let loader = DataLoaderBuilder::new(ImageBatcher::default())
        .batch_size(64)
        .shuffle(7)
        .set_device(device())
        .build(test.clone());
    let mut sizes = Vec::new();
    let mut histogram = vec![0; 10];
    let mut ink = 0.0;
    for batch in loader.iter() {
        let batch = batch.unwrap();
        sizes.push(batch.images.dims()[0]);
        for t in targets(&batch) {
            histogram[t as usize] += 1;
        }
        ink += floats(&batch).iter().sum::<f32>();
    }
    assert_eq!(sizes, [64, 64, 64, 64, 64, 64, 64, 52]);
    assert_eq!(histogram, test.label_histogram());
    let expected: f32 = test.pixels().iter().map(|&p| f32::from(p) / 255.0).sum();
    assert!(
        (ink - expected).abs() / expected < 1e-4,
        "{ink} vs {expected}"
    );
    // The trait path gives the same tensor as the index path.
    let items = vec![test.get(3).unwrap(), test.get(0).unwrap()];
    let via_items = ImageBatcher::default().batch(items, &device());
    let via_indices = test.batch_tensor(&[3, 0], &ImageBatcher::default(), &device());
    assert_eq!(floats(&via_items), floats(&via_indices));
    assert_eq!(targets(&via_items), targets(&via_indices));
}
