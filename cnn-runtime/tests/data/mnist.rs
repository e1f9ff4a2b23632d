use cnn_runtime::data::{Split, fashion_mnist, idx, mnist};

use crate::{TempDir, data_dir, full_mnist};

const TRAIN_HISTOGRAM: [usize; 10] = [5923, 6742, 5958, 6131, 5842, 5421, 5918, 6265, 5851, 5949];
const TEST_HISTOGRAM: [usize; 10] = [980, 1135, 1032, 1010, 982, 892, 958, 1028, 974, 1009];

#[test]
fn full_mnist_has_the_published_counts_labels_and_mean() {
    let Some(full_mnist) = full_mnist() else {
        return;
    };
    let d = full_mnist;
    assert_eq!(d.name, "MNIST");
    assert_eq!(d.shape, [1, 28, 28]);
    assert_eq!(
        d.class_names,
        (0..10).map(|i| i.to_string()).collect::<Vec<_>>()
    );
    assert_eq!((d.train.len(), d.test.len()), (60_000, 10_000));
    assert_eq!(d.train.pixels().len(), 60_000 * 784);
    assert_eq!(d.train.labels()[..10], [5, 0, 4, 1, 9, 2, 1, 3, 1, 4]);
    assert_eq!(d.test.labels()[..10], [7, 2, 1, 0, 4, 1, 4, 9, 5, 9]);
    assert_eq!(d.train.label_histogram(), TRAIN_HISTOGRAM);
    assert_eq!(d.test.label_histogram(), TEST_HISTOGRAM);
    assert!(d.validation.is_none());
    // README: the train pixel mean is 33.318 = 0.1307 * 255.
    let stats = d.train.channel_stats();
    assert!((stats.mean[0] * 255.0 - 33.318).abs() < 1e-3, "{stats:?}");
    assert!((stats.std[0] - 0.3081).abs() < 1e-3, "{stats:?}");
}

#[test]
fn limits_and_validation_are_stratified_and_seeded() {
    let Some(full_mnist) = full_mnist() else {
        return;
    };
    let d = full_mnist
        .clone()
        .limit_test(300, 5)
        .with_validation(0.1, 3);
    assert_eq!(d.test.len(), 300);
    // 300 of 10,000 keeps every class's share within one image.
    for (got, full) in d.test.label_histogram().iter().zip(TEST_HISTOGRAM) {
        assert!(
            (*got as f64 - full as f64 * 0.03).abs() < 1.0,
            "{got} vs {full}"
        );
    }
    let validation = d.split(Split::Validation).unwrap();
    assert_eq!((d.train.len(), validation.len()), (54_000, 6_000));
    let sum: Vec<usize> = d
        .train
        .label_histogram()
        .iter()
        .zip(validation.label_histogram())
        .map(|(a, b)| a + b)
        .collect();
    assert_eq!(sum, TRAIN_HISTOGRAM);
    let again = full_mnist
        .clone()
        .limit_test(300, 5)
        .with_validation(0.1, 3);
    assert_eq!(again, d);
    let other = full_mnist.clone().with_validation(0.1, 4);
    assert_ne!(other.validation, d.validation);
    let limited = full_mnist.clone().limit_train(1000, 1);
    assert_eq!(limited.train.len(), 1000);
    assert_eq!(limited.test.len(), 10_000);
}

#[test]
fn embedded_subset_is_the_stratified_subset_of_the_real_files() {
    let Some(full_mnist) = full_mnist() else {
        return;
    };
    let e = mnist::embedded();
    assert_eq!(e.shape, [1, 28, 28]);
    assert_eq!((e.train.len(), e.test.len()), (2_000, 500));
    assert_eq!(
        e.test.label_histogram(),
        [49, 57, 52, 50, 49, 45, 48, 51, 49, 50]
    );
    // The same selection as examples/make_mnist_small.rs (seed 0).
    let full = full_mnist;
    assert_eq!(e.train, full.train.limit_stratified(2_000, 0));
    assert_eq!(e.test, full.test.limit_stratified(500, 0));
    let bytes: u64 = std::fs::read_dir(concat!(env!("CARGO_MANIFEST_DIR"), "/assets/mnist-small"))
        .unwrap()
        .map(|f| f.unwrap().metadata().unwrap().len())
        .sum();
    assert!(bytes < 1_000_000, "{bytes} bytes embedded");
}

#[test]
fn uncompressed_idx_files_load_too() {
    let dir = TempDir::new("idx-plain");
    let d = mnist::embedded();
    idx::write_split(dir.path(), "train", &d.train, false).unwrap();
    idx::write_split(dir.path(), "t10k", &d.test, false).unwrap();
    assert_eq!(
        std::fs::metadata(dir.join("t10k-images-idx3-ubyte"))
            .unwrap()
            .len(),
        16 + 500 * 784
    );
    let back = mnist::load(dir.path()).unwrap();
    assert_eq!((back.train, back.test), (d.train, d.test));
}

#[test]
fn fashion_mnist_has_6000_and_1000_per_class() {
    let Some(fashion_mnist_dir) = data_dir("fashion-mnist") else {
        return;
    };
    let d = fashion_mnist::load(&fashion_mnist_dir).unwrap();
    assert_eq!(d.name, "Fashion-MNIST");
    assert_eq!(d.shape, [1, 28, 28]);
    assert_eq!(d.class_names[0], "T-shirt/top");
    assert_eq!(d.class_names[9], "Ankle boot");
    assert_eq!(d.train.label_histogram(), [6000; 10]);
    assert_eq!(d.test.label_histogram(), [1000; 10]);
    assert_eq!(d.train.labels()[..10], [9, 0, 0, 3, 0, 2, 7, 2, 5, 5]);
    assert_eq!(d.test.labels()[..10], [9, 2, 1, 1, 6, 1, 4, 6, 5, 7]);
}
