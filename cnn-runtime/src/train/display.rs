//! What a person sees while a network trains: a bar per epoch with loss, running error rate,
//! images/s and time left in a terminal; plain lines in CI logs and pipes.

use std::io::IsTerminal;
#[cfg(feature = "progress")]
use std::time::Duration;

#[cfg(feature = "progress")]
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::report::history::EpochMetrics;

/// Receives training events; [`Console`] is the default, tests may use [`Quiet`].
pub trait Observer {
    /// An epoch of `batches` batches starts (`first_batch` > 0 when resuming mid-epoch).
    fn epoch_start(&mut self, epoch: usize, epochs: usize, first_batch: usize, batches: usize);
    /// After each batch: running mean loss and error rate of the epoch so far.
    fn batch(&mut self, batch: usize, loss: f64, error: f64, images_per_second: f64);
    /// The epoch's summary line.
    fn epoch_end(&mut self, metrics: &EpochMetrics, epochs: usize);
    /// A message such as "checkpoint saved".
    fn note(&mut self, message: &str);
}

/// Prints nothing.
pub struct Quiet;

impl Observer for Quiet {
    fn epoch_start(&mut self, _: usize, _: usize, _: usize, _: usize) {}
    fn batch(&mut self, _: usize, _: f64, _: f64, _: f64) {}
    fn epoch_end(&mut self, _: &EpochMetrics, _: usize) {}
    fn note(&mut self, _: &str) {}
}

/// A progress bar on a terminal, plain lines (about ten per epoch) elsewhere.
pub struct Console {
    bar: Option<ProgressBar>,
    interactive: bool,
    epoch: usize,
    batches: usize,
}

impl Default for Console {
    fn default() -> Self {
        Console {
            bar: None,
            interactive: cfg!(feature = "progress") && std::io::stderr().is_terminal(),
            epoch: 0,
            batches: 0,
        }
    }
}

impl Console {
    /// Plain lines even on a terminal.
    pub fn plain() -> Self {
        Console {
            interactive: false,
            ..Console::default()
        }
    }
}

impl Observer for Console {
    fn epoch_start(&mut self, epoch: usize, epochs: usize, first_batch: usize, batches: usize) {
        self.epoch = epoch;
        self.batches = batches;
        if self.interactive {
            self.bar = bar(epoch, epochs, first_batch, batches);
        }
    }

    fn batch(&mut self, batch: usize, loss: f64, error: f64, images_per_second: f64) {
        let message = format!(
            "loss {loss:.4} err {:.2}% {images_per_second:.1} img/s",
            100.0 * error
        );
        match &self.bar {
            Some(bar) => {
                bar.set_position(batch as u64 + 1);
                bar.set_message(message);
            }
            None => {
                let step = (self.batches / 10).max(1);
                if (batch + 1).is_multiple_of(step) || batch + 1 == self.batches {
                    eprintln!(
                        "epoch {} batch {}/{}: {message}",
                        self.epoch,
                        batch + 1,
                        self.batches
                    );
                }
            }
        }
    }

    fn epoch_end(&mut self, m: &EpochMetrics, epochs: usize) {
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
        let valid = match (m.valid_loss, m.valid_error) {
            (Some(loss), Some(error)) => {
                format!(" | valid loss {loss:.4} err {:.2}%", 100.0 * error)
            }
            _ => String::new(),
        };
        println!(
            "epoch {}/{epochs}: train loss {:.4} err {:.2}%{valid} | lr {:.2e} | {:.1} img/s | {:.0} s",
            m.epoch,
            m.train_loss,
            100.0 * m.train_error,
            m.learning_rate,
            m.images_per_second,
            m.seconds
        );
    }

    fn note(&mut self, message: &str) {
        match &self.bar {
            Some(bar) => bar.println(message),
            None => eprintln!("{message}"),
        }
    }
}

/// A bar for an epoch of `batches` batches, at `first_batch`.
#[cfg(feature = "progress")]
fn bar(epoch: usize, epochs: usize, first_batch: usize, batches: usize) -> Option<ProgressBar> {
    let bar = ProgressBar::with_draw_target(Some(batches as u64), ProgressDrawTarget::stderr());
    let template = "epoch {prefix} [{bar:30}] {pos}/{len} {msg} eta {eta}";
    bar.set_style(
        ProgressStyle::with_template(template)
            .expect("valid template")
            .progress_chars("=> "),
    );
    bar.set_prefix(format!("{epoch}/{epochs}"));
    bar.set_position(first_batch as u64);
    bar.enable_steady_tick(Duration::from_millis(500));
    Some(bar)
}

/// Without the `progress` feature there is no bar: `Console` prints plain lines.
#[cfg(not(feature = "progress"))]
fn bar(_: usize, _: usize, _: usize, _: usize) -> Option<ProgressBar> {
    None
}

/// Stands in for indicatif's bar without the `progress` feature; never made.
#[cfg(not(feature = "progress"))]
enum ProgressBar {}

#[cfg(not(feature = "progress"))]
impl ProgressBar {
    fn set_position(&self, _: u64) {}
    fn set_message(&self, _: String) {}
    fn finish_and_clear(&self) {}
    fn println(&self, _: &str) {}
}
