//! A study on a synthetic evaluator: a known reward with no training, for tests of the
//! study's bookkeeping.

use cnn_runtime::train::Interrupt;
use cnn_search::Kind;
use cnn_search::study::{Claim, NewStudy, Settings};
use cnn_search::trial::{Evaluate, Evaluation, TrialEnd};

/// Where to test studies: a SQLite file in `dir`, and PostgreSQL where `CNN_TEST_POSTGRES`
/// names a database (`.ci/postgres.sh` starts one; `.ci/run` sets `CNN_REQUIRE_POSTGRES=1`,
/// which makes its absence a failure).
pub fn locations(dir: &std::path::Path, file: &str) -> Vec<String> {
    let mut out = vec![dir.join(file).display().to_string()];
    match std::env::var("CNN_TEST_POSTGRES") {
        Ok(url) => out.push(url),
        Err(_) if std::env::var_os("CNN_REQUIRE_POSTGRES").is_some() => {
            panic!("CNN_REQUIRE_POSTGRES is set but CNN_TEST_POSTGRES names no database")
        }
        Err(_) => eprintln!("skipped PostgreSQL: set CNN_TEST_POSTGRES=postgres://... to run it"),
    }
    out
}

/// A study name no other test run uses, for a database that outlives the tests.
pub fn unique_name(prefix: &str) -> String {
    let now = cnn_search::study::now();
    format!("{prefix}-{}-{}", std::process::id(), (now * 1000.0) as u64)
}

pub const SMALL_SPACE: &str = include_str!("spaces/small.py");

pub fn settings(trials: usize) -> Settings {
    Settings {
        dataset: "mnist".into(),
        input: [1, 28, 28],
        classes: 10,
        trials,
        epochs: 3,
        batch_size: 32,
        learning_rate: 1e-3,
        weight_decay: 0.0,
        train_images: Some(256),
        validation: 0.2,
        macs_penalty: 0.0,
        penalty: 0.0,
        prune_after: 1,
        prune_min_trials: 3,
        heartbeat_timeout: 30.0,
        max_attempts: 3,
    }
}

pub fn new_study(kind: Kind, trials: usize) -> NewStudy {
    NewStudy {
        kind,
        seed: 7,
        space_text: SMALL_SPACE.into(),
        settings: settings(trials),
    }
}

/// Accuracy grows with the number of filters of the first convolution and with each epoch;
/// it sleeps `pause` per epoch so that workers overlap.
pub struct Synthetic {
    pub pause: std::time::Duration,
}

impl Evaluate for Synthetic {
    fn evaluate(
        &mut self,
        claim: &Claim,
        network: &cnn_arch::Network,
        report: &mut dyn FnMut(usize, f64) -> bool,
        stop: &Interrupt,
    ) -> Result<Evaluation, TrialEnd> {
        let quality = 0.5 + 0.4 * (network.params() as f64 / 60000.0).min(1.0);
        let epochs = 3;
        for epoch in 1..=epochs {
            std::thread::sleep(self.pause);
            if stop.is_triggered() {
                return Err(TrialEnd::Interrupted);
            }
            let accuracy = quality * epoch as f64 / epochs as f64 + 0.001 * claim.number as f64;
            if !report(epoch, accuracy) {
                return Ok(Evaluation {
                    accuracy,
                    epochs: epoch,
                    stopped: true,
                    seconds: 0.01,
                });
            }
        }
        let accuracy = quality + 0.001 * claim.number as f64;
        Ok(Evaluation {
            accuracy,
            epochs,
            stopped: false,
            seconds: 0.01,
        })
    }
}
