//! The study in words: `report.md`, and the progress `cnn search status` prints.

use std::fmt::Write as _;

use crate::study::{Study, Trial, TrialState};

/// How far a study is.
#[derive(Debug, Clone, PartialEq)]
pub struct Progress {
    pub budget: usize,
    /// Trials per state, in [`TrialState::ALL`]'s order.
    pub counts: [usize; 6],
    pub best: Option<(i64, f64)>,
    /// Running trials and their workers.
    pub running: Vec<(i64, String)>,
}

/// The progress of `trials` against a budget of `budget` trained networks.
pub fn status(study: &Study, trials: &[Trial]) -> Progress {
    let mut counts = [0; 6];
    for t in trials {
        counts[TrialState::ALL
            .iter()
            .position(|s| *s == t.state)
            .unwrap_or(0)] += 1;
    }
    let best = super::best_trial(trials).and_then(|t| Some((t.number, t.reward?)));
    let running = trials
        .iter()
        .filter(|t| t.state == TrialState::Running)
        .map(|t| (t.number, t.worker.clone().unwrap_or_default()))
        .collect();
    Progress {
        budget: study.settings.trials,
        counts,
        best,
        running,
    }
}

impl std::fmt::Display for Progress {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let finished = self.counts[2] + self.counts[3] + self.counts[4];
        writeln!(f, "{finished} of {} trials finished", self.budget)?;
        let states: Vec<String> = TrialState::ALL
            .iter()
            .zip(self.counts)
            .filter(|(_, n)| *n > 0)
            .map(|(s, n)| format!("{n} {}", s.name()))
            .collect();
        writeln!(
            f,
            "trials: {}",
            if states.is_empty() {
                "none yet".into()
            } else {
                states.join(", ")
            }
        )?;
        if let Some((number, reward)) = self.best {
            writeln!(f, "best: trial {number}, reward {reward:.4}")?;
        }
        for (number, worker) in &self.running {
            writeln!(f, "running: trial {number} on {worker}")?;
        }
        Ok(())
    }
}

/// `report.md`.
pub fn markdown(study: &Study, trials: &[Trial], best: Option<&Trial>, weights: bool) -> String {
    let s = &study.settings;
    let mut out = format!("# Study `{}`\n\n", study.name);
    let _ = writeln!(
        out,
        "Strategy **{}**, seed {}; {}.\n",
        study.kind.name(),
        study.seed,
        s.describe()
    );
    let _ = writeln!(out, "{}", status(study, trials));
    if let Some(best) = best {
        let _ = writeln!(
            out,
            "## Best: trial {}\n\nValidation accuracy {:.2}%, reward {:.4}, {} parameters, {} multiply-adds per image. \
             `best.json` holds its ARCH (for `cnn_from_json!` or `cnn train`){}.\n\n```text\n{}```\n",
            best.number,
            100.0 * best.accuracy.unwrap_or(0.0),
            best.reward.unwrap_or(0.0),
            cnn_arch::thousands(best.params.unwrap_or(0) as u64),
            cnn_arch::thousands(best.macs.unwrap_or(0) as u64),
            if weights {
                " and `best.bpk` its trained weights"
            } else {
                "; its weights are on the machine that trained it"
            },
            summary(study, &best.arch),
        );
    }
    top_table(&mut out, trials);
    overhead(&mut out, trials);
    out
}

/// The summary `cnn summary` prints for a trial's network.
fn summary(study: &Study, arch: &str) -> String {
    study
        .network(arch, "BestNet")
        .map_or_else(|_| layers(arch) + "\n", |n| n.summary())
}

fn top_table(out: &mut String, trials: &[Trial]) {
    let mut trained: Vec<&Trial> = trials
        .iter()
        .filter(|t| t.reward.is_some() && t.accuracy.is_some())
        .collect();
    trained.sort_by(|a, b| b.reward.unwrap_or(0.0).total_cmp(&a.reward.unwrap_or(0.0)));
    out.push_str("## Top trials\n\n| trial | state | reward | accuracy | parameters | multiply-adds | epochs | seconds | layers |\n|---|---|---|---|---|---|---|---|---|\n");
    for t in trained.iter().take(10) {
        let _ = writeln!(
            out,
            "| {} | {} | {:.4} | {:.2}% | {} | {} | {} | {:.1} | `{}` |",
            t.number,
            t.state.name(),
            t.reward.unwrap_or(0.0),
            100.0 * t.accuracy.unwrap_or(0.0),
            cnn_arch::thousands(t.params.unwrap_or(0) as u64),
            cnn_arch::thousands(t.macs.unwrap_or(0) as u64),
            t.epochs,
            t.seconds.unwrap_or(0.0),
            layers(&t.arch)
        );
    }
    out.push('\n');
}

/// The study's own cost per trial (proposing, claiming, recording epochs) beside training.
fn overhead(out: &mut String, trials: &[Trial]) {
    let timed: Vec<&Trial> = trials
        .iter()
        .filter(|t| t.seconds.is_some_and(|s| s > 0.0))
        .collect();
    if timed.is_empty() {
        return;
    }
    let n = timed.len() as f64;
    let training = timed.iter().filter_map(|t| t.seconds).sum::<f64>() / n;
    let study = timed.iter().map(|t| t.overhead).sum::<f64>() / n;
    let _ = writeln!(
        out,
        "## Overhead\n\nPer trained trial: {training:.2} s of training, {:.1} ms in the study (proposal, claim, epoch reports): {:.3}% of the training time.",
        1000.0 * study,
        100.0 * study / training
    );
}

/// A one-line description of an ARCH file's layers: `C32 3x3/1, P max 2/2, FC128`.
pub fn layers(arch: &str) -> String {
    let Ok(file) = serde_json::from_str::<serde_json::Value>(arch) else {
        return String::new();
    };
    let Some(layers) = file["layers"].as_array() else {
        return String::new();
    };
    let size = |v: &serde_json::Value| {
        v.as_array()
            .map(|a| {
                a.iter()
                    .map(|x| x.to_string())
                    .collect::<Vec<_>>()
                    .join("x")
            })
            .unwrap_or_default()
    };
    layers
        .iter()
        .map(|l| match l["type"].as_str() {
            Some("C") => format!(
                "C{} {}/{}{}",
                l["num_output"],
                size(&l["kernel_size"]),
                l["stride"][0],
                if l["batch_norm"] == true { " bn" } else { "" }
            ),
            Some("P") => format!(
                "P {} {}/{}",
                l["pool"].as_str().unwrap_or(""),
                l["kernel_size"][0],
                l["stride"][0]
            ),
            Some("FC") => format!("FC{}", l["num_output"]),
            other => other.unwrap_or("?").to_owned(),
        })
        .collect::<Vec<_>>()
        .join(", ")
}
