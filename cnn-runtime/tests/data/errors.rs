//! Every kind of bad input gives a `DataError` naming the file and the record or line.

use std::path::Path;

use cnn_runtime::data::{
    Cifar100Labels, DataError, Fer2013Mode, cifar10, cifar100, fer2013, idx, mnist,
};

use crate::TempDir;
use crate::fer2013::csv;

/// A directory with the embedded MNIST subset as plain IDX files.
fn idx_dir(name: &str) -> TempDir {
    let dir = TempDir::new(name);
    let d = mnist::embedded();
    idx::write_split(dir.path(), "train", &d.train.limit_stratified(30, 0), false).unwrap();
    idx::write_split(dir.path(), "t10k", &d.test.limit_stratified(20, 0), false).unwrap();
    dir
}

fn patch(path: &Path, f: impl FnOnce(&mut Vec<u8>)) {
    let mut bytes = std::fs::read(path).unwrap();
    f(&mut bytes);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn missing_directory_names_it_the_files_and_the_source() {
    let err = mnist::load(Path::new("/no/such/mnist")).unwrap_err();
    assert!(matches!(err, DataError::MissingDir { .. }), "{err:?}");
    let message = err.to_string();
    for part in [
        "/no/such/mnist",
        "train-images-idx3-ubyte[.gz]",
        "t10k-labels-idx1-ubyte[.gz]",
        "http",
    ] {
        assert!(message.contains(part), "{message}");
    }
}

#[test]
fn missing_file_names_it() {
    let dir = idx_dir("missing-file");
    std::fs::remove_file(dir.join("t10k-labels-idx1-ubyte")).unwrap();
    let err = mnist::load(dir.path()).unwrap_err();
    match &err {
        DataError::MissingFile { path, .. } => assert!(path.ends_with("t10k-labels-idx1-ubyte")),
        other => panic!("{other:?}"),
    }
    let err = fer2013::load(dir.path(), Fer2013Mode::SevenClass).unwrap_err();
    assert!(err.to_string().contains("fer2013.csv"), "{err}");
}

#[test]
fn wrong_magic_number() {
    let dir = idx_dir("magic");
    patch(&dir.join("train-labels-idx1-ubyte"), |b| b[3] = 0x03);
    let err = mnist::load(dir.path()).unwrap_err();
    assert!(
        matches!(&err, DataError::BadMagic { path, found: 0x803, .. } if path.ends_with("train-labels-idx1-ubyte")),
        "{err:?}"
    );
    assert!(err.to_string().contains("0x00000803"), "{err}");
}

#[test]
fn count_that_disagrees_with_the_file_size() {
    let dir = idx_dir("count");
    patch(&dir.join("t10k-images-idx3-ubyte"), |b| b[7] += 1);
    let err = mnist::load(dir.path()).unwrap_err();
    assert!(
        matches!(&err, DataError::SizeMismatch { path, count: 21, actual, .. } if path.ends_with("t10k-images-idx3-ubyte") && *actual == 20 * 784),
        "{err:?}"
    );
    // Images and labels that disagree with each other.
    let dir = idx_dir("count-pair");
    patch(&dir.join("t10k-labels-idx1-ubyte"), |b| {
        b[7] -= 1;
        b.pop();
    });
    let err = mnist::load(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::CountMismatch {
                images_count: 20,
                labels_count: 19,
                ..
            }
        ),
        "{err:?}"
    );
}

#[test]
fn label_out_of_range() {
    let dir = idx_dir("label");
    patch(&dir.join("train-labels-idx1-ubyte"), |b| b[8 + 4] = 10);
    let err = mnist::load(dir.path()).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                record: 4,
                label: 10,
                classes: 10,
                ..
            }
        ),
        "{err:?}"
    );

    let dir = TempDir::new("cifar-label");
    let mut bytes = vec![0u8; 3 * 3074];
    bytes[2 * 3074] = 20; // coarse label of record 2
    std::fs::write(dir.join("test.bin"), &bytes).unwrap();
    let err = cifar100::read_file(&dir.join("test.bin"), Cifar100Labels::Fine).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::LabelOutOfRange {
                record: 2,
                label: 20,
                classes: 20,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("record 2"), "{err}");
}

#[test]
fn truncated_cifar_record() {
    let dir = TempDir::new("cifar-truncated");
    std::fs::write(dir.join("data_batch_1.bin"), vec![1u8; 2 * 3073 + 100]).unwrap();
    let err = cifar10::read_batch(&dir.join("data_batch_1.bin")).unwrap_err();
    assert!(
        matches!(
            err,
            DataError::Truncated {
                record: 2,
                size: 3073,
                found: 100,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .contains("data_batch_1.bin: record 2 is truncated"),
        "{err}"
    );
}

/// `csv()` with line `line` (1-based, header is 1) passed through `f`.
fn fer_error(name: &str, line: usize, f: impl Fn(&str) -> String) -> DataError {
    let dir = TempDir::new(name);
    let text: Vec<String> = csv()
        .lines()
        .enumerate()
        .map(|(i, l)| if i + 1 == line { f(l) } else { l.to_owned() })
        .collect();
    std::fs::write(dir.join("fer2013.csv"), text.join("\n")).unwrap();
    fer2013::load(&dir.join("fer2013.csv"), Fer2013Mode::Binary).unwrap_err()
}

#[test]
fn csv_row_with_the_wrong_pixel_count() {
    // Line 6 is row 4 (emotion 4, Sad): dropped by the binary mode but still checked.
    let drop_last_pixel = |l: &str| {
        let (emotion, rest) = l.split_once(',').unwrap();
        let (pixels, usage) = rest.split_once(',').unwrap();
        format!("{emotion},{},{usage}", pixels.rsplit_once(' ').unwrap().0)
    };
    let err = fer_error("fer-pixels", 6, drop_last_pixel);
    assert!(
        matches!(
            err,
            DataError::PixelCount {
                line: 6,
                found: 2303,
                expected: 2304,
                ..
            }
        ),
        "{err:?}"
    );
    assert!(err.to_string().contains("fer2013.csv: line 6"), "{err}");
}

#[test]
fn csv_row_with_a_bad_usage_or_emotion() {
    let err = fer_error("fer-usage", 3, |l| l.replace("PublicTest", "Validation"));
    assert!(
        matches!(&err, DataError::BadUsage { line: 3, value, .. } if value == "Validation"),
        "{err:?}"
    );
    let err = fer_error("fer-emotion", 4, |l| format!("7{}", &l[1..]));
    assert!(matches!(err, DataError::Csv { line: 4, .. }), "{err:?}");
    assert!(err.to_string().contains("emotion `7`"), "{err}");
    let err = fer_error("fer-header", 1, |_| "label,pixels,Usage".into());
    assert!(matches!(err, DataError::Csv { line: 1, .. }), "{err:?}");
}
