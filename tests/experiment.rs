//! The examples' command: train, evaluate and write the whole run directory; resume it.

#[path = "common/tiny_run.rs"]
mod tiny_run;

use cnn::runtime::cli;
use cnn::runtime::data::mnist;
use cnn::runtime::train::Stop;
use tiny_run::{TinyNet, args, run};

#[test]
fn writes_the_report_and_resumes_with_more_epochs() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let outcome = run(args(&["--epochs", "1", "--out", out.to_str().unwrap()]));
    assert_eq!(outcome.stop, Stop::Completed);
    assert_eq!(outcome.test.as_ref().unwrap().y_true.len(), 100);
    for file in [
        "report.md",
        "metrics.csv",
        "metrics.json",
        "curves.png",
        "confusion.png",
        "model.bpk",
        "tiny.arch",
        "args.json",
    ] {
        assert!(out.join(file).is_file(), "{file} missing");
    }
    let png = std::fs::read(out.join("curves.png")).unwrap();
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n");
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    assert_eq!(csv.lines().count(), 2, "{csv}");
    let report = std::fs::read_to_string(out.join("report.md")).unwrap();
    let accuracy = format!(
        "| test accuracy | **{:.2}%** |",
        100.0 * outcome.test.as_ref().unwrap().accuracy()
    );
    assert!(report.contains(&accuracy), "{report}");
    assert!(
        report.contains("              precision    recall  f1-score   support"),
        "{report}"
    );
    assert!(report.contains("![confusion matrix](confusion.png)"));
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("metrics.json")).unwrap()).unwrap();
    assert_eq!(json["history"].as_array().unwrap().len(), 1);
    assert_eq!(json["confusion_matrix"].as_array().unwrap().len(), 10);

    // --resume with more epochs continues the same run directory from its checkpoint.
    // --resume with more epochs and a lower learning rate continues the same run directory.
    let resumed = run(args(&[
        "--epochs",
        "2",
        "--lr",
        "0.0001",
        "--resume",
        out.to_str().unwrap(),
    ]));
    assert_eq!(resumed.dir, out);
    let csv = std::fs::read_to_string(out.join("metrics.csv")).unwrap();
    let rates: Vec<&str> = csv
        .lines()
        .skip(1)
        .map(|l| l.split(',').nth(5).unwrap())
        .collect();
    assert_eq!(rates, ["0.001", "0.0001"], "{csv}");
    let saved: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(out.join("args.json")).unwrap()).unwrap();
    assert_eq!(
        (saved["epochs"].as_u64(), saved["lr"].as_f64()),
        (Some(2), Some(0.0001))
    );
}

#[test]
fn resuming_a_directory_without_a_run_is_an_error() {
    let dir = tempfile::tempdir().unwrap();
    let error = cli::run(
        "mnist",
        args(&["--resume", dir.path().to_str().unwrap()]),
        "a",
        TinyNet::new,
        |_| Ok(mnist::embedded()),
    )
    .err()
    .unwrap();
    assert!(
        error.to_string().contains("is it a run directory?"),
        "{error}"
    );
}

/// A replayed run's checkpoint holds the replayed Adam's state, so it resumes replayed (on the
/// CPU its steps are ordinary ones all the same) and refuses `--no-replay` rather than drop it.
#[test]
fn a_replayed_run_resumes_replayed_and_refuses_no_replay() {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("run");
    let out = out.to_str().unwrap();
    run(args(&["--epochs", "1", "--replay", "--out", out]));
    let saved = std::fs::read_to_string(dir.path().join("run/args.json")).unwrap();
    assert!(saved.contains("\"replay\": true"), "{saved}");

    let resumed = ["--epochs", "2", "--resume", out];
    let error = cli::run(
        "mnist",
        args(&[&resumed[..], &["--no-replay"]].concat()),
        "tests/arch/tiny.arch",
        TinyNet::new,
        |_| Ok(mnist::embedded()),
    )
    .err()
    .unwrap();
    assert!(error.to_string().contains("with --no-replay"), "{error}");
    assert_eq!(run(args(&resumed)).stop, Stop::Completed);
}
