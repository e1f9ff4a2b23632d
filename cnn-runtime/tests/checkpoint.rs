//! A checkpoint save stopped at each of its steps leaves one whole checkpoint, the last one or
//! the new one, and the next save tidies up what the stopped one left.

use std::path::Path;

use burn::optim::AdamConfig;
use cnn_runtime::Backend;
use cnn_runtime::nn::Net;
use cnn_runtime::train::{Checkpoint, OptimizerState, Progress};

fn net() -> Net {
    let text = "[{'type':'C','activation':'relu','num_output':2,'kernel_size':3}]";
    let overrides = cnn_arch::Overrides {
        input: Some([1, 8, 8]),
        classes: Some(3),
        ..Default::default()
    };
    let network = cnn_arch::check(text, &overrides).unwrap();
    Net::new(&network, &Backend::Flex.device().unwrap())
}

fn adam() -> OptimizerState<Net> {
    OptimizerState::Burn(AdamConfig::new().init())
}

/// Progress at the start of `epoch`: what tells the checkpoints apart.
fn at(epoch: usize) -> Progress {
    Progress {
        epoch,
        ..Progress::start()
    }
}

fn save(checkpoint: &Checkpoint, epoch: usize) {
    checkpoint.save(&net(), &adam(), &at(epoch)).unwrap();
}

/// The epoch of the checkpoint a resume would load.
fn loaded_epoch(checkpoint: &Checkpoint) -> usize {
    assert!(checkpoint.exists());
    let (_, _, progress) = checkpoint.load(net(), adam()).unwrap();
    progress.epoch
}

/// The names in `root`, sorted.
fn names(root: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(root)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

#[test]
fn a_save_stopped_between_its_renames_resumes_from_the_new_checkpoint() {
    let root = tempfile::tempdir().unwrap();
    let checkpoint = Checkpoint::new(root.path().join("checkpoint"));
    save(&checkpoint, 2);
    // Staged whole, the last checkpoint moved aside, the new one not yet in place.
    save(&Checkpoint::new(root.path().join("checkpoint.partial")), 3);
    std::fs::rename(
        root.path().join("checkpoint"),
        root.path().join("checkpoint.old"),
    )
    .unwrap();
    assert_eq!(loaded_epoch(&checkpoint), 3);
    save(&checkpoint, 4);
    assert_eq!(loaded_epoch(&checkpoint), 4);
    assert_eq!(names(root.path()), ["checkpoint"]);
}

#[test]
fn a_save_stopped_while_staging_resumes_from_the_last_checkpoint() {
    let root = tempfile::tempdir().unwrap();
    let checkpoint = Checkpoint::new(root.path().join("checkpoint"));
    // The first save of a run, stopped before its progress was written: no checkpoint yet.
    let staging = root.path().join("checkpoint.partial");
    std::fs::create_dir(&staging).unwrap();
    std::fs::write(staging.join("model.bpk"), b"half a mo").unwrap();
    assert!(!checkpoint.exists());
    save(&checkpoint, 2);
    // A later save stopped the same way leaves the last checkpoint in place.
    std::fs::create_dir(&staging).unwrap();
    std::fs::write(staging.join("model.bpk"), b"half a mo").unwrap();
    assert_eq!(loaded_epoch(&checkpoint), 2);
    save(&checkpoint, 3);
    assert_eq!(loaded_epoch(&checkpoint), 3);
    assert_eq!(names(root.path()), ["checkpoint"]);
}

#[test]
fn a_save_stopped_before_removing_the_last_checkpoint_resumes_from_the_new_one() {
    let root = tempfile::tempdir().unwrap();
    let checkpoint = Checkpoint::new(root.path().join("checkpoint"));
    save(&checkpoint, 2);
    save(&Checkpoint::new(root.path().join("checkpoint.old")), 1);
    assert_eq!(loaded_epoch(&checkpoint), 2);
    save(&checkpoint, 3);
    assert_eq!(names(root.path()), ["checkpoint"]);
}

#[test]
fn a_save_writes_each_file_once_into_a_directory_of_its_own() {
    let root = tempfile::tempdir().unwrap();
    let checkpoint = Checkpoint::new(root.path().join("checkpoint"));
    save(&checkpoint, 1);
    // Files of another run's optimizer do not survive a save.
    std::fs::write(checkpoint.dir().join("adam_steps.txt"), "7").unwrap();
    save(&checkpoint, 2);
    assert_eq!(
        names(checkpoint.dir()),
        ["model.bpk", "optimizer.bpk", "progress.json"]
    );
    let weights = cnn_runtime::weights::load(net(), checkpoint.model_path());
    assert!(weights.is_ok(), "{:?}", weights.err());
}
