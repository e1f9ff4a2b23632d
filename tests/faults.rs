//! Training under faults, as `cnn train` meets them: killed (SIGKILL) at random moments, a
//! disk that fills up, and checkpoint or weight files that are truncated or corrupted.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use cnn::arch::Overrides;
use cnn::runtime::nn::Net;
use cnn::runtime::train::Checkpoint;
use rand::rngs::StdRng;
use rand::{RngExt, SeedableRng};

#[path = "common/parameters.rs"]
mod parameters;
#[path = "common/serial.rs"]
mod serial;

use serial::serial;

const ARCH: &str = "tests/arch/tiny.arch";
const EPOCHS: usize = 6;

/// `cnn train` of the tiny network on 512 embedded MNIST images: a fresh run into `dir`, or
/// with `resume` the continuation of the run there.
fn train(dir: &Path, resume: bool, epochs: usize) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cnn"));
    command.args([
        "train",
        ARCH,
        "--dataset",
        "mnist",
        "--train-limit",
        "256",
        "--test-limit",
        "100",
    ]);
    command.args([
        "--batch-size",
        "32",
        "--seed",
        "7",
        "--epochs",
        &epochs.to_string(),
    ]);
    command
        .arg(if resume { "--resume" } else { "--out" })
        .arg(dir);
    // No MNIST under the data root: the embedded subset.
    command.env("CNN_DATA_DIR", dir.with_extension("no-data"));
    command
}

fn cnn(args: &[&str], dir: &Path) -> Output {
    Command::new(env!("CARGO_BIN_EXE_cnn"))
        .args(args)
        .env("CNN_DATA_DIR", dir.with_extension("no-data"))
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Whether the run in `dir` has a checkpoint to resume, as `cnn train --resume` finds it.
fn has_checkpoint(dir: &Path) -> bool {
    Checkpoint::new(dir.join("checkpoint")).exists()
}

/// A finished run into `dir`, and how long it took.
fn uninterrupted(dir: &Path, epochs: usize) -> Duration {
    let started = Instant::now();
    let output = train(dir, false, epochs).output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    started.elapsed()
}

/// Every parameter of the run's final weights, by name.
fn weights(dir: &Path) -> Vec<(String, Vec<f32>)> {
    let overrides = Overrides {
        input: Some([1, 28, 28]),
        classes: Some(10),
        ..Default::default()
    };
    let device = cnn::runtime::Backend::Flex.device().unwrap();
    let net = Net::from_file(ARCH, &overrides, &device).unwrap();
    let net = cnn::runtime::weights::load(net, dir.join("model.bpk")).unwrap();
    parameters::parameters(&net)
}

/// Asserts bit-identical weights without printing thousands of values.
fn assert_same_weights(dir: &Path, reference: &Path) {
    let (found, expected) = (weights(dir), weights(reference));
    assert_eq!(found.len(), expected.len());
    for ((name, a), (_, b)) in found.iter().zip(&expected) {
        let same = a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x.to_bits() == y.to_bits());
        assert!(same, "{name} differs from the uninterrupted run's");
    }
}

#[test]
fn a_run_killed_at_random_moments_resumes_to_the_same_weights() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    let reference = root.path().join("reference");
    // The first run also pays for loading the program: time a second one.
    uninterrupted(&root.path().join("warm-up"), EPOCHS);
    let duration = uninterrupted(&reference, EPOCHS);
    let dir = root.path().join("killed");
    let mut rng = StdRng::seed_from_u64(1);
    let (mut kills, mut resumed, mut mid_write, mut finished) = (0, 0, 0, 0);
    let mut longest = 0.7;
    while kills < 8 {
        let resume = has_checkpoint(&dir);
        resumed += usize::from(resume);
        let mut child = train(&dir, resume, EPOCHS)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        // Early kills land in start-up, later ones in training and in checkpoint writes.
        let delay = duration.mul_f64(rng.random_range(0.0..longest));
        let started = Instant::now();
        while started.elapsed() < delay && child.try_wait().unwrap().is_none() {
            std::thread::sleep(Duration::from_millis(2));
        }
        if child.try_wait().unwrap().is_some() {
            // The run got to its end between kills: it must end as the uninterrupted one did.
            let output = child.wait_with_output().unwrap();
            assert!(output.status.success(), "{}", text(&output.stderr));
            assert_same_weights(&dir, &reference);
            finished += 1;
            std::fs::remove_dir_all(&dir).unwrap();
            longest *= 0.8;
            continue;
        }
        child.kill().unwrap();
        child.wait().unwrap();
        kills += 1;
        mid_write += usize::from(dir.join("checkpoint.partial").exists());
    }
    // Finish the run the last kill interrupted.
    let resume = has_checkpoint(&dir);
    let output = train(&dir, resume, EPOCHS).output().unwrap();
    assert!(output.status.success(), "{}", text(&output.stderr));
    assert_same_weights(&dir, &reference);
    finished += 1;
    println!(
        "{kills} kills ({mid_write} during a checkpoint write), {resumed} resumed runs, {finished} finished runs, all with the uninterrupted run's weights"
    );
}

#[test]
fn a_full_disk_stops_the_run_with_a_clear_error_and_keeps_the_last_checkpoint() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    let reference = root.path().join("reference");
    uninterrupted(&reference, 2);
    let dir = root.path().join("full");
    uninterrupted(&dir, 1);
    let model = dir.join("checkpoint/model.bpk");
    let limit = std::fs::metadata(&model).unwrap().len() / 2;
    // Files may grow to half the checkpoint's size: its next write fails with EFBIG (SIGXFSZ
    // ignored, as a process that handles a full disk sees it).
    let command = train(&dir, true, 2);
    let program = command.get_program().to_owned();
    let args: Vec<_> = command.get_args().map(|a| a.to_owned()).collect();
    let output = Command::new("bash")
        .arg("-c")
        .arg(format!(
            "trap '' XFSZ; ulimit -f {}; exec \"$0\" \"$@\"",
            limit / 1024
        ))
        .arg(program)
        .args(args)
        .env("CNN_DATA_DIR", dir.with_extension("no-data"))
        .output()
        .unwrap();
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("checkpoint") && stderr.contains("File too large"),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    // The checkpoint of epoch 1 is whole: the run resumes from it and ends as the reference.
    let resumed = train(&dir, true, 2).output().unwrap();
    assert!(resumed.status.success(), "{}", text(&resumed.stderr));
    assert_same_weights(&dir, &reference);
}

/// The run directory `reference` copied to `to`, with `file` cut to half its length or, with
/// `garbage`, overwritten with bytes of the same length.
fn damaged(reference: &Path, to: &Path, file: &str, garbage: bool) -> PathBuf {
    copy_dir(reference, to);
    let path = to.join(file);
    let bytes = std::fs::read(&path).unwrap();
    let damaged = if garbage {
        vec![0xA5; bytes.len()]
    } else {
        bytes[..bytes.len() / 2].to_vec()
    };
    std::fs::write(&path, damaged).unwrap();
    path
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for entry in std::fs::read_dir(from).unwrap() {
        let entry = entry.unwrap();
        let target = to.join(entry.file_name());
        if entry.file_type().unwrap().is_dir() {
            copy_dir(&entry.path(), &target);
        } else {
            std::fs::copy(entry.path(), target).unwrap();
        }
    }
}

fn assert_names_file(output: &Output, path: &Path, what: &str) {
    let stderr = text(&output.stderr);
    assert_eq!(output.status.code(), Some(1), "{what}: {stderr}");
    assert!(!stderr.contains("panicked"), "{what}: {stderr}");
    let name = path.file_name().unwrap().to_str().unwrap();
    assert!(
        stderr.contains(name),
        "{what}: the message does not name {name}: {stderr}"
    );
}

#[test]
fn damaged_checkpoint_and_weight_files_are_errors_that_name_them() {
    let _serial = serial();
    let root = tempfile::tempdir().unwrap();
    let reference = root.path().join("reference");
    uninterrupted(&reference, 1);
    let image = root.path().join("digit.png");
    image::GrayImage::new(28, 28).save(&image).unwrap();
    for garbage in [false, true] {
        for file in [
            "checkpoint/model.bpk",
            "checkpoint/optimizer.bpk",
            "checkpoint/progress.json",
        ] {
            let dir = root
                .path()
                .join(format!("{}-{garbage}", file.replace('/', "-")));
            let path = damaged(&reference, &dir, file, garbage);
            let output = train(&dir, true, 2).output().unwrap();
            assert_names_file(&output, &path, &format!("resume with {file} damaged"));
        }
        let dir = root.path().join(format!("weights-{garbage}"));
        let path = damaged(&reference, &dir, "model.bpk", garbage);
        let run = dir.to_str().unwrap();
        assert_names_file(&cnn(&["evaluate", run], &dir), &path, "evaluate");
        assert_names_file(
            &cnn(&["predict", run, image.to_str().unwrap()], &dir),
            &path,
            "predict",
        );
    }
}
