//! Ctrl-C as a flag the training loop checks between batches, so that it can save a
//! checkpoint before the process ends.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicBool, Ordering};

/// A shared "stop now" flag.
#[derive(Debug, Clone, Default)]
pub struct Interrupt(Arc<AtomicBool>);

static CTRL_C: OnceLock<Interrupt> = OnceLock::new();

impl Interrupt {
    /// A flag that only [`trigger`](Self::trigger) sets.
    pub fn new() -> Self {
        Self::default()
    }

    /// The process-wide flag set by Ctrl-C (SIGINT/SIGTERM). A second Ctrl-C while the first
    /// is being handled ends the process at once.
    pub fn ctrl_c() -> Self {
        CTRL_C
            .get_or_init(|| {
                let flag = Interrupt::new();
                let handler = flag.clone();
                let installed = ctrlc::set_handler(move || {
                    if handler.0.swap(true, Ordering::SeqCst) {
                        std::process::exit(130);
                    }
                    eprintln!("\ninterrupt: saving a checkpoint after this batch (Ctrl-C again to quit now)");
                });
                if let Err(e) = installed {
                    eprintln!("warning: cannot catch Ctrl-C ({e}); an interrupted run loses its last epoch");
                }
                flag
            })
            .clone()
    }

    pub fn trigger(&self) {
        self.0.store(true, Ordering::SeqCst);
    }

    pub fn is_triggered(&self) -> bool {
        self.0.load(Ordering::SeqCst)
    }
}
