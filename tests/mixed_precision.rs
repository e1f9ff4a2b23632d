//! `--conv-precision`: a run trains with its convolutions in a half type, says so, and a run
//! saved before the option existed resumes in `f32`. Its own test binary because the setting
//! is process-wide.

#[path = "common/tiny_run.rs"]
mod tiny_run;

use cnn::runtime::precision::{ConvPrecision, conv_precision};
use tiny_run::{args, run};

/// The message of a non-finite loss, which names the way out of mixed precision when on.
fn nan_message() -> String {
    let error = cnn::runtime::train::TrainError::NonFiniteLoss {
        epoch: 1,
        batch: 2,
        value: f32::NAN,
        checkpoint: None,
    };
    error.to_string()
}

fn read(path: std::path::PathBuf) -> String {
    std::fs::read_to_string(path).unwrap()
}

#[test]
fn trains_in_half_precision_and_resumes_older_runs_in_f32() {
    let dir = tempfile::tempdir().unwrap();
    let out = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let exact = run(args(&["--epochs", "1", "--out", &out("f32")]));
    let half = run(args(&[
        "--epochs",
        "1",
        "--conv-precision",
        "bf16",
        "--out",
        &out("bf16"),
    ]));
    assert_eq!(conv_precision(), ConvPrecision::Bf16);
    let message = nan_message();
    assert!(
        message.ends_with("or convolutions in f32 (they ran in bf16: --conv-precision f32)"),
        "{message}"
    );

    let report = read(half.dir.join("report.md"));
    assert!(report.contains("flex (convolutions in bf16)"), "{report}");
    assert!(read(half.dir.join("args.json")).contains(r#""conv_precision": "bf16""#));
    // Different arithmetic, the same learning: bf16 rounds every product's inputs.
    let loss = |o: &cnn::runtime::cli::RunOutcome| {
        let json: serde_json::Value =
            serde_json::from_str(&read(o.dir.join("metrics.json"))).unwrap();
        json["history"][0]["train_loss"].as_f64().unwrap()
    };
    let (exact_loss, half_loss) = (loss(&exact), loss(&half));
    assert_ne!(exact_loss, half_loss);
    assert!(
        (exact_loss - half_loss).abs() < 0.05 * exact_loss,
        "{exact_loss} {half_loss}"
    );
    let accuracy = |o: &cnn::runtime::cli::RunOutcome| o.test.as_ref().unwrap().accuracy();
    assert!((accuracy(&exact) - accuracy(&half)).abs() <= 0.05);

    // args.json written before --conv-precision existed: the run resumes, in f32.
    let saved = exact.dir.join("args.json");
    let mut old: serde_json::Value = serde_json::from_str(&read(saved.clone())).unwrap();
    old.as_object_mut()
        .unwrap()
        .remove("conv_precision")
        .unwrap();
    std::fs::write(&saved, old.to_string()).unwrap();
    run(args(&["--epochs", "2", "--resume", &out("f32")]));
    assert_eq!(conv_precision(), ConvPrecision::F32);
    assert!(nan_message().ends_with("try a lower learning rate"));
}
