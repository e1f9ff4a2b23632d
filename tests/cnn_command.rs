//! The `cnn` command as a user runs it: `check` gives the compiler's messages, `train` writes a
//! run directory that `evaluate` and `predict` use, and mistakes exit with 1 or 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use cnn::runtime::data::mnist;

#[path = "common/ui_cases.rs"]
mod ui_cases;

fn cnn(args: &[&str], data_root: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cnn"))
        .args(args)
        .env("CNN_DATA_DIR", data_root)
        .output()
        .unwrap()
}

/// A scratch directory with an empty data root (so `mnist` is the embedded subset) and the
/// architecture file `name` holding `arch`.
fn scratch(name: &str, arch: &str) -> (tempfile::TempDir, PathBuf, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let empty = dir.path().join("data");
    std::fs::create_dir(&empty).unwrap();
    let file = dir.path().join(name);
    std::fs::write(&file, arch).unwrap();
    (dir, empty, file)
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

#[test]
fn check_gives_the_compilers_messages_and_exit_code_1() {
    let empty = tempfile::tempdir().unwrap();
    for case in ui_cases::cases() {
        let mut args = vec!["check".to_owned(), case.file.display().to_string()];
        if let Some([c, h, w]) = case.overrides.input {
            args.extend(["--input".into(), format!("{c},{h},{w}")]);
        }
        if let Some(classes) = case.overrides.classes {
            args.extend(["--classes".into(), classes.to_string()]);
        }
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let output = cnn(&args, empty.path());
        assert_eq!(output.status.code(), Some(1), "{}", case.name);
        let found: Vec<String> = text(&output.stderr)
            .lines()
            .map(|line| ui_cases::as_compiled(line.strip_prefix("error: ").unwrap_or(line)))
            .collect();
        assert_eq!(found, case.expected, "{}", case.name);
    }
}

#[test]
fn summary_prints_the_table_and_usage_mistakes_exit_with_2() {
    let empty = tempfile::tempdir().unwrap();
    let args = [
        "summary",
        "examples/arch/seed.arch",
        "--input",
        "1,28,28",
        "--classes",
        "10",
    ];
    let output = cnn(&args, empty.path());
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("Total params: 3,157,002"));
    let output = cnn(
        &["summary", "examples/arch/seed.arch", "--input", "1,28"],
        empty.path(),
    );
    assert_eq!(output.status.code(), Some(2));
    assert!(
        text(&output.stderr).contains("expected C,H,W"),
        "{}",
        text(&output.stderr)
    );
    let output = cnn(&["check", "no/such.arch"], empty.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).starts_with("error: cannot read architecture file no/such.arch"));
}

/// `cnn train` on the embedded MNIST subset (the data root is empty), then `evaluate` and
/// `predict` on its run directory.
#[test]
fn train_writes_a_run_that_evaluate_and_predict_use() {
    let (dir, empty, arch) = scratch(
        "small.arch",
        "ARCH = [\n{'type':'C','activation':'relu','num_output':8,'kernel_size':(3,3)},\n\
         {'type':'P','pool':'max','kernel_size':(2,2)},\n{'type':'DO','drop_out':10},\n\
         {'type':'FC','activation':'relu','num_output':16},\n{'type':'T','activation':None}]\n",
    );
    let run = dir.path().join("run");
    let (arch, run_dir) = (arch.to_str().unwrap(), run.to_str().unwrap());
    let args = [
        "train",
        arch,
        "--dataset",
        "mnist",
        "--epochs",
        "1",
        "--train-limit",
        "300",
        "--test-limit",
        "100",
        "--batch-size",
        "32",
        "--out",
        run_dir,
    ];
    let output = cnn(&args, &empty);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stderr).contains("using the embedded subset"));
    for file in [
        "report.md",
        "metrics.csv",
        "metrics.json",
        "model.bpk",
        "args.json",
    ] {
        assert!(run.join(file).is_file(), "{file} missing");
    }
    assert!(run.join("small.arch").is_file() && run.join("checkpoint").is_dir());
    assert!(run.join("cnn-run.json").is_file());

    let output = cnn(&["evaluate", run_dir], &empty);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("test accuracy") && stdout.contains("on 100 images"),
        "{stdout}"
    );

    let test = mnist::embedded().test;
    let image = dir.path().join("digit.png");
    image::GrayImage::from_raw(28, 28, test.image(0).to_vec())
        .unwrap()
        .save(&image)
        .unwrap();
    let output = cnn(&["predict", run_dir, image.to_str().unwrap()], &empty);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let line = text(&output.stdout);
    assert!(
        line.starts_with(&format!("{}: ", image.display())),
        "{line}"
    );
    assert!(line.trim_end().ends_with("%)"), "{line}");

    let output = cnn(&["evaluate", dir.path().to_str().unwrap()], &empty);
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("is not a run directory"));
}

/// A recipe run (`--augment crop:2 --label-smoothing 0.1`) with `--no-test` trains and
/// validates, writes the weights and curves but no test report, and records the recipe for
/// `evaluate`, which tests it later.
#[test]
fn no_test_runs_leave_the_test_set_to_evaluate() {
    let (dir, empty, arch) = scratch(
        "tiny.json",
        r#"[{"type": "C", "activation": "relu", "num_output": 4, "kernel_size": 3, "batch_norm": true},
            {"type": "P", "pool": "max", "kernel_size": 2, "stride": 2}]"#,
    );
    let run = dir.path().join("run");
    let (arch, run_dir) = (arch.to_str().unwrap(), run.to_str().unwrap());
    let common = ["train", arch, "--dataset", "mnist", "--epochs", "1"];
    let recipe = [
        "--train-limit",
        "300",
        "--augment",
        "crop:2",
        "--label-smoothing",
        "0.1",
        "--no-test",
        "--out",
        run_dir,
    ];
    let output = cnn(&[&common[..], &recipe].concat(), &empty);
    assert!(output.status.success(), "{}", text(&output.stderr));
    let stdout = text(&output.stdout);
    assert!(
        stdout.contains("validation accuracy") && stdout.contains("the test set was not used"),
        "{stdout}"
    );
    assert!(!stdout.contains("test accuracy"), "{stdout}");
    for file in ["metrics.csv", "model.bpk", "args.json", "cnn-run.json"] {
        assert!(run.join(file).is_file(), "{file} missing");
    }
    assert!(!run.join("report.md").exists() && !run.join("metrics.json").exists());
    let saved = std::fs::read_to_string(run.join("args.json")).unwrap();
    assert!(saved.contains(r#""augment": "crop:2""#), "{saved}");
    assert!(saved.contains(r#""label_smoothing": 0.1"#), "{saved}");
    let output = cnn(&["evaluate", run_dir], &empty);
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert!(text(&output.stdout).contains("test accuracy"));

    for (flag, value, says) in [
        ("--label-smoothing", "1", "from 0 up to"),
        ("--augment", "flip", "unknown augmentation `flip`"),
        ("--augment", "crop:0", "from 1 to 16"),
    ] {
        let output = cnn(&[&common[..], &[flag, value]].concat(), &empty);
        assert_eq!(output.status.code(), Some(2), "{flag} {value}");
        assert!(
            text(&output.stderr).contains(says),
            "{}",
            text(&output.stderr)
        );
    }
}

#[test]
fn data_list_and_the_datasets_that_cannot_be_fetched() {
    let root = tempfile::tempdir().unwrap();
    let output = cnn(&["data", "list"], root.path());
    assert!(output.status.success(), "{}", text(&output.stderr));
    let listing = text(&output.stdout);
    assert!(listing.contains(&format!("data root: {}", root.path().display())));
    for name in ["mnist", "fashion-mnist", "cifar10", "cifar100", "fer2013"] {
        assert!(listing.contains(name), "{listing}");
    }
    assert!(
        listing.lines().filter(|l| l.contains("absent")).count() == 5,
        "{listing}"
    );

    let output = cnn(&["data", "fetch", "fer2013"], root.path());
    assert_eq!(output.status.code(), Some(1));
    let message = text(&output.stderr);
    assert!(message.contains("no public direct download") && message.contains("Kaggle"));
    assert!(message.contains(&root.path().join("fer2013").display().to_string()));

    let output = cnn(&["data", "fetch", "imagenet"], root.path());
    assert_eq!(output.status.code(), Some(1));
    assert!(text(&output.stderr).contains("known: mnist, fashion-mnist, cifar10, cifar100"));
}
