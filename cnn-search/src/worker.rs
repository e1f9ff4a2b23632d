//! A worker: claims trials from a study, trains them, records how they ended, until the
//! study's budget is spent. Any number of workers, on one machine or many, share a study.

use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use cnn_runtime::train::Interrupt;

use crate::candidate;
use crate::study::{Claim, Next, Outcome, Study, StudyError, TrialState};
use crate::trial::{Evaluate, Evaluation, TrialEnd};

/// How a worker's run ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WorkerEnd {
    /// The study's budget is spent and no trial runs anywhere.
    Finished,
    /// Ctrl-C: the trial in hand went back to the queue, with its checkpoint.
    Interrupted,
}

/// What a worker did, for its last line.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WorkerCount {
    pub finished: usize,
    pub lost: usize,
}

/// A name for this process that is unique across machines: host, process id and start time.
pub fn worker_name() -> String {
    let host = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .or_else(|_| std::env::var("HOSTNAME"))
        .unwrap_or_else(|_| "host".into());
    let started = crate::study::now() as u64;
    format!("{host}-{}-{started}", std::process::id())
}

/// Runs trials of `study` with `evaluator` until the budget is spent or Ctrl-C, telling
/// `log` one line per trial.
pub fn run(
    study: &mut Study,
    evaluator: &mut dyn Evaluate,
    worker: &str,
    log: &mut dyn FnMut(&str),
) -> Result<(WorkerEnd, WorkerCount), StudyError> {
    let ctrl_c = Interrupt::ctrl_c();
    let mut count = WorkerCount::default();
    loop {
        if ctrl_c.is_triggered() {
            return Ok((WorkerEnd::Interrupted, count));
        }
        let asked = Instant::now();
        let claim = match study.next(worker)? {
            Next::Finished => return Ok((WorkerEnd::Finished, count)),
            Next::Wait => {
                let pause = study.settings.heartbeat_interval().clamp(0.05, 1.0);
                thread::sleep(Duration::from_secs_f64(pause));
                continue;
            }
            Next::Run(claim) => claim,
        };
        let overhead = asked.elapsed().as_secs_f64();
        match run_trial(study, evaluator, &claim, overhead, log)? {
            Ran::Finished => count.finished += 1,
            Ran::Lost => count.lost += 1,
            Ran::Interrupted => {
                study.release(&claim)?;
                log(&format!(
                    "trial {}: interrupted; it goes back to the queue",
                    claim.number
                ));
                return Ok((WorkerEnd::Interrupted, count));
            }
        }
    }
}

enum Ran {
    Finished,
    /// Taken back by the study (missed heartbeats): another worker runs it.
    Lost,
    Interrupted,
}

fn run_trial(
    study: &mut Study,
    evaluator: &mut dyn Evaluate,
    claim: &Claim,
    mut overhead: f64,
    log: &mut dyn FnMut(&str),
) -> Result<Ran, StudyError> {
    let s = study.settings.clone();
    let (_, network) = candidate::check(&study.space, &claim.genome, s.input, s.classes);
    if let Ok(network) = &network {
        log(&format!(
            "trial {}: {} ({} parameters, {} multiply-adds)",
            claim.number,
            crate::report::layers(&claim.arch),
            cnn_arch::thousands(network.params() as u64),
            cnn_arch::thousands(network.macs())
        ));
    }
    let stop = Interrupt::new();
    let heartbeat = Heartbeat::start(study, claim, &stop)?;
    let result = match network {
        Ok(network) => {
            let mut report = |epoch: usize, accuracy: f64| {
                let started = Instant::now();
                let go_on = study.report_epoch(claim, epoch, accuracy);
                overhead += started.elapsed().as_secs_f64();
                go_on.unwrap_or_else(|e| {
                    eprintln!("warning: trial {}: {e}", claim.number);
                    true
                })
            };
            let result = evaluator.evaluate(claim, &network, &mut report, &stop);
            result.map(|e| (e, network.macs()))
        }
        Err(message) => Err(TrialEnd::Failed(message)),
    };
    if heartbeat.stop() {
        log(&format!(
            "trial {}: taken back by the study after missed heartbeats",
            claim.number
        ));
        return Ok(Ran::Lost);
    }
    let outcome = match result {
        Err(TrialEnd::Interrupted) => return Ok(Ran::Interrupted),
        Ok((evaluation, macs)) => {
            trained(&evaluation, s.reward(evaluation.accuracy, macs), overhead)
        }
        Err(TrialEnd::Failed(message)) => Outcome {
            state: TrialState::Failed,
            accuracy: None,
            reward: s.penalty,
            epochs: 0,
            seconds: 0.0,
            overhead,
            message: Some(message),
        },
    };
    log(&describe(claim, &outcome));
    if !study.finish(claim, &outcome)? {
        return Ok(Ran::Lost);
    }
    evaluator.recorded(claim);
    Ok(Ran::Finished)
}

fn trained(e: &Evaluation, reward: f64, overhead: f64) -> Outcome {
    Outcome {
        state: if e.stopped {
            TrialState::Stopped
        } else {
            TrialState::Done
        },
        accuracy: Some(e.accuracy),
        reward,
        epochs: e.epochs,
        seconds: e.seconds,
        overhead,
        message: None,
    }
}

fn describe(claim: &Claim, o: &Outcome) -> String {
    let attempt = if claim.attempt > 1 {
        format!(" (attempt {})", claim.attempt)
    } else {
        String::new()
    };
    match (o.state, o.accuracy) {
        (TrialState::Failed, _) | (_, None) => format!(
            "trial {}{attempt}: failed: {}",
            claim.number,
            o.message.as_deref().unwrap_or("")
        ),
        (state, Some(accuracy)) => format!(
            "trial {}{attempt}: {} after {} epoch{}, validation accuracy {:.2}%, reward {:.4}, {:.1} s",
            claim.number,
            state.name(),
            o.epochs,
            if o.epochs == 1 { "" } else { "s" },
            100.0 * accuracy,
            o.reward,
            o.seconds
        ),
    }
}

/// A thread that tells the study, on a connection of its own, that this worker still holds
/// a trial; if the study took the trial back, it sets the trial's stop flag.
struct Heartbeat {
    done: mpsc::Sender<()>,
    thread: thread::JoinHandle<bool>,
}

impl Heartbeat {
    fn start(study: &Study, claim: &Claim, stop: &Interrupt) -> Result<Self, StudyError> {
        let mut own = study.reconnect()?;
        let interval = Duration::from_secs_f64(study.settings.heartbeat_interval().max(0.01));
        let (claim, stop) = (claim.clone(), stop.clone());
        let (done, wait) = mpsc::channel::<()>();
        let thread = thread::spawn(move || {
            while let Err(mpsc::RecvTimeoutError::Timeout) = wait.recv_timeout(interval) {
                match own.heartbeat(&claim) {
                    Ok(true) => {}
                    Ok(false) => {
                        stop.trigger();
                        return true;
                    }
                    Err(e) => eprintln!("warning: heartbeat of trial {}: {e}", claim.number),
                }
            }
            false
        });
        Ok(Heartbeat { done, thread })
    }

    /// Stops the thread; true when the trial was taken from this worker.
    fn stop(self) -> bool {
        drop(self.done);
        self.thread.join().unwrap_or(false)
    }
}
