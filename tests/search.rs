//! `cnn search` as users run it: a small real search on the embedded MNIST subset, workers
//! that share a study and die (SIGKILL) or are interrupted (Ctrl-C) in the middle of a trial,
//! on SQLite and, where `CNN_TEST_POSTGRES` names a server, on PostgreSQL.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use cnn::runtime::Network;
use cnn::runtime::nn::Net;
use cnn::search::study::{Study, Trial, TrialState};

#[allow(dead_code)]
#[path = "../cnn-search/tests/common.rs"]
mod common;

use common::{locations, unique_name};

const SPACE: &str = "tests/search/tiny.py";

/// The `cnn search run` arguments of the tests' studies: small trials on the embedded subset.
fn run_args(study: &str, name: &str, dir: &Path, trials: usize, epochs: usize) -> Vec<String> {
    let mut args: Vec<String> = ["search", "run", "--study", study, "--name", name, "--dir"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    args.push(dir.display().to_string());
    for (flag, value) in [
        ("--space", SPACE.to_owned()),
        ("--trials", trials.to_string()),
        ("--epochs", epochs.to_string()),
        ("--train-limit", "400".into()),
        ("--batch-size", "32".into()),
        ("--heartbeat-timeout", "3".into()),
        ("--strategy", "evolution".into()),
    ] {
        args.extend([flag.to_owned(), value]);
    }
    args
}

/// The command, with a data root holding no MNIST, so the embedded subset is used.
fn cnn(args: &[String], empty: &Path) -> Command {
    let mut command = Command::new(env!("CARGO_BIN_EXE_cnn"));
    command.args(args).env("CNN_DATA_DIR", empty);
    command
}

fn output(args: &[String], empty: &Path) -> Output {
    cnn(args, empty).output().unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

fn trials(location: &str, name: &str) -> Vec<Trial> {
    Study::open(location, name, None).unwrap().trials().unwrap()
}

/// Waits until `worker` (a process id) is in the middle of a trial: it holds one, and has
/// recorded at least one of its epochs.
fn wait_mid_trial(location: &str, name: &str, worker: u32) -> i64 {
    let tag = format!("-{worker}-");
    let deadline = Instant::now() + Duration::from_secs(300);
    while Instant::now() < deadline {
        if let Ok(mut study) = Study::open(location, name, None) {
            let trials = study.trials().unwrap();
            let epochs = study.epochs().unwrap();
            let held = trials.iter().find(|t| {
                t.state == TrialState::Running
                    && t.worker.as_deref().is_some_and(|w| w.contains(&tag))
                    && epochs.iter().any(|e| e.0 == t.number)
            });
            if let Some(trial) = held {
                return trial.number;
            }
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    panic!("worker {worker} never got into a trial");
}

fn wait(mut child: Child) -> Output {
    let deadline = Instant::now() + Duration::from_secs(600);
    while child.try_wait().unwrap().is_none() {
        assert!(Instant::now() < deadline, "the worker did not finish");
        std::thread::sleep(Duration::from_millis(100));
    }
    child.wait_with_output().unwrap()
}

/// Every trained trial finished once: final state, a reward, and one attempt, except `rerun`
/// which ran twice because its first worker died.
fn assert_each_trial_once(trials: &[Trial], budget: usize, rerun: Option<i64>) {
    let trained: Vec<&Trial> = trials
        .iter()
        .filter(|t| t.state != TrialState::Invalid)
        .collect();
    assert_eq!(trained.len(), budget, "{trials:#?}");
    for t in &trained {
        assert!(
            matches!(t.state, TrialState::Done | TrialState::Stopped),
            "{t:#?}"
        );
        assert!(t.reward.is_some() && t.accuracy.is_some(), "{t:#?}");
        let expected = if Some(t.number) == rerun { 2 } else { 1 };
        assert_eq!(t.attempts, expected, "trial {}", t.number);
    }
}

#[test]
fn a_small_search_writes_the_study_directory() {
    let (empty, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let db = out.path().join("mnist.db").display().to_string();
    let dir = out.path().join("mnist");
    let result = output(&run_args(&db, "search", &dir, 3, 2), empty.path());
    let stdout = text(&result.stdout);
    assert!(
        result.status.success(),
        "{stdout}\n{}",
        text(&result.stderr)
    );
    assert!(stdout.contains("trial 0: "), "{stdout}");
    for file in [
        "trials.csv",
        "report.md",
        "best.json",
        "best.bpk",
        "best_reward.png",
        "accuracy_vs_macs.png",
    ] {
        assert!(dir.join(file).is_file(), "{file} missing: {stdout}");
    }
    let trials = trials(&db, "search");
    assert_each_trial_once(&trials, 3, None);
    let csv = std::fs::read_to_string(dir.join("trials.csv")).unwrap();
    assert_eq!(csv.lines().count(), trials.len() + 1);

    // best.json is an ARCH file the macro and `Net` take as it is, and best.bpk its weights.
    let best = cnn::search::report::best_trial(&trials).unwrap();
    let device = cnn::runtime::Backend::Flex.device().unwrap();
    let net = Net::from_file(dir.join("best.json"), &Default::default(), &device).unwrap();
    assert_eq!(net.architecture().params() as i64, best.params.unwrap());
    assert_eq!(net.input(), [1, 28, 28]);
    cnn::runtime::weights::load(net, dir.join("best.bpk")).unwrap();

    let status = output(
        &["search", "status", "--study", &db].map(String::from),
        empty.path(),
    );
    let status = text(&status.stdout);
    assert!(status.contains("3 of 3 trials finished"), "{status}");
    assert!(
        status.contains(&format!("best: trial {}", best.number)),
        "{status}"
    );
}

#[test]
fn a_worker_killed_mid_trial_loses_nothing() {
    let (empty, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    for location in locations(out.path(), "study.db") {
        let name = unique_name("killed");
        let dir = out.path().join(&name);
        let args = run_args(&location, &name, &dir, 6, 3);
        let doomed = cnn(&args, empty.path())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let survivor = cnn(&args, empty.path())
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let killed_trial = wait_mid_trial(&location, &name, doomed.id());
        let mut doomed = doomed;
        doomed.kill().unwrap(); // SIGKILL
        doomed.wait().unwrap();
        let result = wait(survivor);
        assert!(result.status.success(), "{}", text(&result.stdout));
        let trials = trials(&location, &name);
        assert_each_trial_once(&trials, 6, Some(killed_trial));
        let rerun = trials.iter().find(|t| t.number == killed_trial).unwrap();
        assert!(
            rerun
                .worker
                .as_deref()
                .unwrap()
                .contains(&format!("-{}-", result_pid(&result)))
        );
        // The rerun resumed from the dead worker's checkpoint: its trial directory was reused.
        assert!(
            text(&result.stdout).contains(&format!("trial {killed_trial} (attempt 2)")),
            "{}",
            text(&result.stdout)
        );
    }
}

/// The survivor's process id, from its first line (`... worker HOST-PID-TIME`).
fn result_pid(result: &Output) -> String {
    let stdout = text(&result.stdout);
    let worker = stdout
        .lines()
        .find_map(|l| l.split(": worker ").nth(1))
        .unwrap();
    worker.rsplit('-').nth(1).unwrap().to_owned()
}

#[test]
fn ctrl_c_gives_the_trial_back_and_the_same_command_continues() {
    let (empty, out) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let db = out.path().join("interrupted.db").display().to_string();
    let dir: PathBuf = out.path().join("interrupted");
    let args = run_args(&db, "search", &dir, 3, 3);
    let worker = cnn(&args, empty.path())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let held = wait_mid_trial(&db, "search", worker.id());
    let sent = Command::new("kill")
        .args(["-INT", &worker.id().to_string()])
        .status()
        .unwrap();
    assert!(sent.success());
    let result = wait(worker);
    assert_eq!(result.status.code(), Some(130), "{}", text(&result.stdout));
    let after = trials(&db, "search");
    let queued = after.iter().find(|t| t.number == held).unwrap();
    assert_eq!((queued.state, queued.attempts), (TrialState::Queued, 0));

    let again = output(&args, empty.path());
    assert!(again.status.success(), "{}", text(&again.stdout));
    assert_each_trial_once(&trials(&db, "search"), 3, None);
}

#[test]
fn mistakes_in_a_space_file_are_located() {
    let empty = tempfile::tempdir().unwrap();
    let space = empty.path().join("space.py");
    std::fs::write(
        &space,
        "SPACE = {\n  'conv_layers': (3, 1),\n  'conv': {'num_outputs': [8]},\n}\n",
    )
    .unwrap();
    let result = output(
        &["search".into(), "check".into(), space.display().to_string()],
        empty.path(),
    );
    assert_eq!(result.status.code(), Some(1));
    let stderr = text(&result.stderr);
    assert!(
        stderr.contains("space.py:2:18: the range (3, 1) must have"),
        "{stderr}"
    );
    assert!(
        stderr.contains("space.py:3:12: unknown key `num_outputs`; did you mean `num_output`?"),
        "{stderr}"
    );
}
