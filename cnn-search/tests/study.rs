//! The study's bookkeeping on SQLite (and on PostgreSQL where `CNN_TEST_POSTGRES` names a
//! database): budgets, claims, dead workers, pruning, reports.

mod common;

use std::time::Duration;

use cnn_search::study::{Next, Study, TrialState};
use cnn_search::{Kind, worker};

use common::{Synthetic, locations, new_study, unique_name};

fn quiet(_: &str) {}

#[test]
fn a_worker_spends_the_budget_and_the_report_holds_the_best() {
    let dir = tempfile::tempdir().unwrap();
    for location in locations(dir.path(), "one.db") {
        let name = unique_name("one");
        let mut study =
            Study::open(&location, &name, Some(&new_study(Kind::Evolution, 12))).unwrap();
        let mut evaluator = Synthetic {
            pause: Duration::ZERO,
        };
        let (end, count) = worker::run(&mut study, &mut evaluator, "w1", &mut quiet).unwrap();
        assert_eq!(end, worker::WorkerEnd::Finished);
        assert_eq!(count.finished, 12);
        let trials = study.trials().unwrap();
        let trained: Vec<_> = trials
            .iter()
            .filter(|t| t.state != TrialState::Invalid)
            .collect();
        assert_eq!(trained.len(), 12);
        assert!(
            trained
                .iter()
                .all(|t| matches!(t.state, TrialState::Done | TrialState::Stopped))
        );
        assert!(
            trained
                .iter()
                .all(|t| t.attempts == 1 && t.reward.is_some())
        );
        // The median rule stopped some trials: the synthetic accuracy is spread out.
        let stopped = trained
            .iter()
            .filter(|t| t.state == TrialState::Stopped)
            .count();
        assert!(stopped > 0, "no trial was stopped early");
        for t in trials.iter().filter(|t| t.state == TrialState::Invalid) {
            let message = t.message.as_deref().unwrap();
            assert!(
                message.contains("max_params")
                    || message.contains("min_spatial")
                    || message.contains("layer"),
                "{message}"
            );
            assert_eq!(t.reward, Some(0.0));
        }
        // Numbers are 0, 1, 2, ... with none missing.
        let numbers: Vec<i64> = trials.iter().map(|t| t.number).collect();
        assert_eq!(numbers, (0..trials.len() as i64).collect::<Vec<_>>());
        // Another worker finds nothing to do.
        assert!(matches!(study.next("w2").unwrap(), Next::Finished));

        let out = dir.path().join(format!("report-{}", numbers.len()));
        let files = cnn_search::report::write(&mut study, &out, &out, &[]).unwrap();
        for name in [
            "trials.csv",
            "report.md",
            "best.json",
            "best_reward.png",
            "accuracy_vs_macs.png",
        ] {
            assert!(
                files.contains(&out.join(name)),
                "{name} missing from {files:?}"
            );
        }
        let csv = std::fs::read_to_string(out.join("trials.csv")).unwrap();
        assert_eq!(csv.lines().count(), trials.len() + 1);
        let best = cnn_search::report::best_trial(&trials).unwrap();
        let best_json = std::fs::read_to_string(out.join("best.json")).unwrap();
        let network = cnn_arch::check(&best_json, &Default::default()).unwrap();
        assert_eq!(network.params() as i64, best.params.unwrap());
        assert_eq!(network.name, "BestNet");
        let report = std::fs::read_to_string(out.join("report.md")).unwrap();
        assert!(
            report.contains(&format!("## Best: trial {}", best.number)),
            "{report}"
        );
    }
}

#[test]
fn workers_sharing_a_study_never_take_the_same_trial() {
    let dir = tempfile::tempdir().unwrap();
    for location in locations(dir.path(), "shared.db") {
        let name = unique_name("shared");
        Study::open(&location, &name, Some(&new_study(Kind::Reinforce, 16))).unwrap();
        let workers: Vec<_> = (0..3)
            .map(|i| {
                let (location, name) = (location.clone(), name.clone());
                std::thread::spawn(move || {
                    let mut study =
                        Study::open(&location, &name, Some(&new_study(Kind::Reinforce, 16)))
                            .unwrap();
                    let mut evaluator = Synthetic {
                        pause: Duration::from_millis(20),
                    };
                    worker::run(&mut study, &mut evaluator, &format!("w{i}"), &mut quiet)
                        .unwrap()
                        .1
                })
            })
            .collect();
        let finished: usize = workers
            .into_iter()
            .map(|w| w.join().unwrap().finished)
            .sum();
        assert_eq!(finished, 16);
        let mut study = Study::open(&location, &name, None).unwrap();
        let trials = study.trials().unwrap();
        let trained: Vec<_> = trials
            .iter()
            .filter(|t| t.state != TrialState::Invalid)
            .collect();
        assert_eq!(trained.len(), 16);
        assert!(
            trained
                .iter()
                .all(|t| t.attempts == 1 && t.state.is_final())
        );
        let workers: std::collections::HashSet<_> =
            trained.iter().filter_map(|t| t.worker.clone()).collect();
        assert!(workers.len() > 1, "only {workers:?} worked");
    }
}

#[test]
fn a_trial_whose_worker_died_runs_again() {
    let dir = tempfile::tempdir().unwrap();
    for location in locations(dir.path(), "dead.db") {
        let name = unique_name("dead");
        let mut new = new_study(Kind::Random, 4);
        new.settings.heartbeat_timeout = 0.3;
        let mut study = Study::open(&location, &name, Some(&new)).unwrap();
        // A worker claims a trial and dies: no heartbeat, no result.
        let Next::Run(lost) = study.next("ghost").unwrap() else {
            panic!("no trial to claim")
        };
        std::thread::sleep(Duration::from_millis(400));
        let mut evaluator = Synthetic {
            pause: Duration::ZERO,
        };
        worker::run(&mut study, &mut evaluator, "rescuer", &mut quiet).unwrap();
        let trials = study.trials().unwrap();
        let again = trials.iter().find(|t| t.number == lost.number).unwrap();
        assert_eq!(again.attempts, 2);
        assert_eq!(again.worker.as_deref(), Some("rescuer"));
        assert!(again.state.is_final());
        // The ghost's late result is refused: the trial is no longer its own.
        let outcome = cnn_search::study::Outcome {
            state: TrialState::Done,
            accuracy: Some(1.0),
            reward: 1.0,
            epochs: 3,
            seconds: 1.0,
            overhead: 0.0,
            message: None,
        };
        assert!(!study.finish(&lost, &outcome).unwrap());
        let trained = trials
            .iter()
            .filter(|t| t.state != TrialState::Invalid)
            .count();
        assert_eq!(trained, 4);
    }
}

#[test]
fn a_study_is_joined_only_with_the_same_settings() {
    let dir = tempfile::tempdir().unwrap();
    let location = dir.path().join("s.db").to_string_lossy().into_owned();
    Study::open(&location, "s", Some(&new_study(Kind::Random, 5))).unwrap();
    let error = Study::open(&location, "s", Some(&new_study(Kind::Evolution, 5)))
        .err()
        .unwrap();
    let message = error.to_string();
    assert!(
        message.contains("already exists with strategy random")
            && message.contains("strategy evolution"),
        "{message}"
    );
    let missing = Study::open(&location, "other", None)
        .err()
        .unwrap()
        .to_string();
    assert!(missing.contains("no study `other`"), "{missing}");
}
