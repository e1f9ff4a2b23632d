use cnn_runtime::data::{Cifar100Labels, DataError, cifar10, cifar100};

use crate::{TempDir, data_dir};

const CIFAR10_LABELS: [u16; 20] = [3, 8, 8, 0, 6, 6, 1, 6, 3, 1, 0, 9, 5, 7, 9, 8, 5, 7, 8, 6];
const FINE: [u16; 20] = [
    49, 33, 72, 51, 71, 92, 15, 14, 23, 0, 71, 75, 81, 69, 40, 43, 92, 97, 70, 53,
];
const COARSE: [u16; 20] = [
    10, 10, 0, 4, 10, 2, 11, 7, 10, 4, 10, 12, 19, 19, 5, 8, 2, 8, 2, 4,
];

#[test]
fn cifar10_real_test_records() {
    let Some(dir) = data_dir("cifar-10-test20") else {
        return;
    };
    let test = cifar10::read_batch(&dir.join("test_batch.bin")).unwrap();
    assert_eq!(
        (test.len(), test.shape(), test.num_classes()),
        (20, [3, 32, 32], 10)
    );
    assert_eq!(test.labels(), CIFAR10_LABELS);
    assert_eq!(test.label_histogram(), [2, 2, 0, 2, 0, 2, 4, 2, 4, 2]);
    // Record 0 (a cat): R row 0 starts 158 159 165 166 160 156 162 159 158 159.
    assert_eq!(
        test.image(0)[..10],
        [158, 159, 165, 166, 160, 156, 162, 159, 158, 159]
    );
    let names = cifar10::class_names(&dir).unwrap();
    assert_eq!(names[0], "airplane");
    assert_eq!(names[3], "cat");
    assert_eq!(names[9], "truck");
}

#[test]
fn cifar10_full_layout_round_trips() {
    let Some(staged) = data_dir("cifar-10-test20") else {
        return;
    };
    let real = std::fs::read(staged.join("test_batch.bin")).unwrap();
    let dir = TempDir::new("cifar10");
    // Batch k holds records 4k..4k+4 of the real file; the test batch all 20.
    for k in 0..5 {
        std::fs::write(
            dir.join(&format!("data_batch_{}.bin", k + 1)),
            &real[4 * k * 3073..4 * (k + 1) * 3073],
        )
        .unwrap();
    }
    std::fs::write(dir.join("test_batch.bin"), &real).unwrap();
    std::fs::copy(
        staged.join("batches.meta.txt"),
        dir.join("batches.meta.txt"),
    )
    .unwrap();
    let d = cifar10::load(dir.path()).unwrap();
    assert_eq!((d.name.as_str(), d.shape), ("CIFAR-10", [3, 32, 32]));
    assert_eq!(d.class_names.len(), 10);
    assert_eq!(d.train, d.test);
    assert_eq!(d.train.labels(), CIFAR10_LABELS);
}

#[test]
fn cifar10_staged_subset_lacks_the_training_batches() {
    let Some(staged) = data_dir("cifar-10-test20") else {
        return;
    };
    let err = cifar10::load(&staged).unwrap_err();
    let message = err.to_string();
    assert!(matches!(err, DataError::MissingFile { .. }), "{err:?}");
    assert!(
        message.contains("data_batch_1.bin") && message.contains("test_batch.bin"),
        "{message}"
    );
    assert!(message.contains("cifar-10-binary.tar.gz"), "{message}");
}

#[test]
fn cifar100_real_test_records_fine_and_coarse() {
    let Some(dir) = data_dir("cifar-100-test20") else {
        return;
    };
    let fine = cifar100::read_file(&dir.join("test.bin"), Cifar100Labels::Fine).unwrap();
    let coarse = cifar100::read_file(&dir.join("test.bin"), Cifar100Labels::Coarse).unwrap();
    assert_eq!(
        (fine.len(), fine.shape(), fine.num_classes()),
        (20, [3, 32, 32], 100)
    );
    assert_eq!(coarse.num_classes(), 20);
    assert_eq!(fine.labels(), FINE);
    assert_eq!(coarse.labels(), COARSE);
    assert_eq!(fine.pixels(), coarse.pixels());
    assert_eq!(fine.image(0)[..6], [199, 196, 195, 195, 196, 197]);
    let hist = coarse.label_histogram();
    assert_eq!((hist[10], hist[2], hist[4], hist[8]), (5, 3, 3, 2));
    let names = cifar100::class_names(&dir, Cifar100Labels::Fine).unwrap();
    assert_eq!((names.len(), names[49].as_str()), (100, "mountain"));
    let names = cifar100::class_names(&dir, Cifar100Labels::Coarse).unwrap();
    assert_eq!(
        (names.len(), names[10].as_str()),
        (20, "large_natural_outdoor_scenes")
    );
}

#[test]
fn cifar100_full_layout_round_trips() {
    let Some(src) = data_dir("cifar-100-test20") else {
        return;
    };
    let dir = TempDir::new("cifar100");
    let real = std::fs::read(src.join("test.bin")).unwrap();
    std::fs::write(dir.join("train.bin"), &real[..12 * 3074]).unwrap();
    std::fs::write(dir.join("test.bin"), &real[12 * 3074..]).unwrap();
    for f in ["fine_label_names.txt", "coarse_label_names.txt"] {
        std::fs::copy(src.join(f), dir.join(f)).unwrap();
    }
    let fine = cifar100::load(dir.path(), Cifar100Labels::Fine).unwrap();
    assert_eq!((fine.train.len(), fine.test.len()), (12, 8));
    assert_eq!(fine.train.labels(), &FINE[..12]);
    assert_eq!(fine.test.labels(), &FINE[12..]);
    assert_eq!(fine.class_names.len(), 100);
    let coarse = cifar100::load(dir.path(), Cifar100Labels::Coarse).unwrap();
    assert_eq!(coarse.test.labels(), &COARSE[12..]);
    assert_eq!(
        (coarse.name.as_str(), coarse.class_names.len()),
        ("CIFAR-100 (coarse)", 20)
    );
}
