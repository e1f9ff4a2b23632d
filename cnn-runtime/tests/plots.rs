//! The plots are written as PNG files of the documented size, and failures are errors.

use std::path::Path;

use cnn_runtime::eval::metrics::ConfusionMatrix;
use cnn_runtime::report::history::EpochMetrics;
use cnn_runtime::report::plots::{
    CURVES_SIZE, PlotError, confusion_matrix_size, plot_confusion_matrix, plot_training_curves,
};

/// Width and height from a PNG's signature and IHDR chunk.
fn png_size(path: &Path) -> (u32, u32) {
    let bytes = std::fs::read(path).unwrap();
    assert!(
        bytes.len() > 33,
        "{} is too short for a PNG",
        path.display()
    );
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n", "PNG signature");
    assert_eq!(&bytes[12..16], b"IHDR", "first chunk is IHDR");
    let be = |at: usize| u32::from_be_bytes(bytes[at..at + 4].try_into().unwrap());
    (be(16), be(20))
}

fn history(epochs: usize, validation: bool) -> Vec<EpochMetrics> {
    (1..=epochs)
        .map(|epoch| {
            let t = epoch as f64;
            EpochMetrics {
                epoch,
                train_loss: 1.0 / t,
                train_error: 0.5 / t,
                valid_loss: validation.then_some(1.2 / t),
                valid_error: validation.then_some(0.6 / t),
                ..Default::default()
            }
        })
        .collect()
}

fn matrix(n: usize) -> ConfusionMatrix {
    let y_true: Vec<usize> = (0..10 * n).map(|i| i % n).collect();
    let y_pred: Vec<usize> = y_true
        .iter()
        .enumerate()
        .map(|(i, &t)| if i % 3 == 0 { (t + 1) % n } else { t })
        .collect();
    ConfusionMatrix::new(&y_true, &y_pred, n).unwrap()
}

#[test]
fn training_curves_are_pngs_of_the_documented_size() {
    let dir = tempfile::tempdir().unwrap();
    for (name, h) in [
        ("full.png", history(12, true)),
        ("one_epoch.png", history(1, true)),
        ("no_validation.png", history(5, false)),
    ] {
        let path = dir.path().join(name);
        plot_training_curves(&h, &path).unwrap();
        assert_eq!(png_size(&path), CURVES_SIZE, "{name}");
    }
}

#[test]
fn training_curves_skip_non_finite_values() {
    let dir = tempfile::tempdir().unwrap();
    let mut h = history(3, true);
    h[1].train_loss = f64::NAN;
    h[2].valid_loss = Some(f64::INFINITY);
    let path = dir.path().join("nan.png");
    plot_training_curves(&h, &path).unwrap();
    assert_eq!(png_size(&path), CURVES_SIZE);
}

#[test]
fn empty_history_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let err = plot_training_curves(&[], dir.path().join("x.png")).unwrap_err();
    assert!(matches!(err, PlotError::EmptyHistory));
}

#[test]
fn confusion_matrices_are_pngs_of_the_documented_size() {
    let dir = tempfile::tempdir().unwrap();
    for n in [1, 2, 10, 100] {
        let cm = matrix(n);
        let path = dir.path().join(format!("cm{n}.png"));
        plot_confusion_matrix(&cm, &[] as &[&str], &path).unwrap();
        let size = confusion_matrix_size(cm.class_names()).unwrap();
        assert_eq!(png_size(&path), size, "{n} classes");
    }
    // The image grows with the number of classes and stays a sensible size.
    let (w10, h10) = confusion_matrix_size(matrix(10).class_names()).unwrap();
    let (w100, h100) = confusion_matrix_size(matrix(100).class_names()).unwrap();
    assert!((500..1000).contains(&w10) && (500..1000).contains(&h10));
    assert!(w100 > w10 && h100 > h10 && w100 < 2000 && h100 < 2000);
}

#[test]
fn confusion_matrix_takes_explicit_names() {
    let dir = tempfile::tempdir().unwrap();
    let names = ["cat", "dog", "a rather long class name"];
    let path = dir.path().join("named.png");
    plot_confusion_matrix(&matrix(3), &names, &path).unwrap();
    assert_eq!(png_size(&path), confusion_matrix_size(&names).unwrap());
    let err = plot_confusion_matrix(&matrix(3), &["a"], dir.path().join("bad.png")).unwrap_err();
    assert!(matches!(
        err,
        PlotError::ClassNameCount {
            expected: 3,
            got: 1
        }
    ));
}

#[test]
fn unwritable_path_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("no such folder").join("plot.png");
    let err = plot_training_curves(&history(3, true), &missing).unwrap_err();
    assert!(matches!(err, PlotError::Draw { .. }), "{err:?}");
    let err = plot_confusion_matrix(&matrix(3), &[] as &[&str], &missing).unwrap_err();
    assert!(
        matches!(&err, PlotError::Draw { path, .. } if path == &missing),
        "{err:?}"
    );
    assert!(!missing.exists());
}
