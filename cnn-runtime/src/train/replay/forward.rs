//! Inference recorded once and replayed: a network's forward pass over batches of one shape,
//! for evaluation on GPUs, where the host's work per batch (burn-fusion's planning, one launch
//! per kernel) paces inference as it paces a training step.
//!
//! The same scheme as [`super::ReplayStep`], with less to write in place: the batch alone,
//! since the weights do not change while this holds them.

use burn::backend::{Backend as _, BackendGraph, Dispatch};
use burn::tensor::{Device, Tensor};

use super::{WARM_UP, one_line, overwrite, prepare, sync};
use crate::Network;

/// Runs `M`'s forward pass one batch at a time, replaying a recorded one where it can.
pub struct ReplayForward<M: Network> {
    /// An inference copy (`valid()`), held so that the buffers a recording reads keep their
    /// values: nothing else writes them in place while this holds them.
    model: M,
    /// The model's device: passes are recorded and replayed on it.
    device: Device,
    /// The batch the recorded pass reads, rewritten before each pass.
    images: Option<Tensor<4>>,
    stage: Stage,
}

enum Stage {
    /// Passes on the batch's buffer, this many so far.
    WarmingUp(usize),
    /// Replaying the recorded pass, which writes these logits.
    Replaying(Box<(BackendGraph<Dispatch>, Tensor<2>)>),
    /// Plain passes on the caller's tensors, for the reason given: the backend cannot record,
    /// or the batch could not be written in place.
    Ordinary(String),
}

impl<M: Network> ReplayForward<M> {
    /// `model` is an inference copy (`model.valid()`), on a device without autodiff.
    pub fn new(model: M) -> Self {
        let device = model.devices().into_iter().next();
        ReplayForward {
            device: device.expect("a model with parameters"),
            model,
            images: None,
            stage: Stage::WarmingUp(0),
        }
    }

    /// The logits `[batch, classes]` of `images` `[batch, C, H, W]`, in a buffer of their own.
    pub fn logits(&mut self, images: Tensor<4>) -> Tensor<2> {
        let fits = self.images.as_ref().map(|b| b.dims() == images.dims());
        if matches!(self.stage, Stage::Ordinary(_)) || fits == Some(false) {
            return self.model.logits(images);
        }
        let in_place = match &mut self.images {
            Some(batch) => overwrite(batch, images),
            None => {
                // A copy: the caller may hold the batch, and this buffer is written in place.
                self.images = Some(images * 1.0);
                true
            }
        };
        if !in_place {
            self.stage = Stage::Ordinary("the batch could not be written in place".into());
            return self.run();
        }
        match self.stage {
            Stage::WarmingUp(0) if let Err(why) = prepare(&self.device) => {
                self.stage = Stage::Ordinary(why);
                self.run()
            }
            Stage::WarmingUp(done) if done < WARM_UP => {
                let logits = self.run();
                sync(&self.device);
                self.stage = Stage::WarmingUp(done + 1);
                logits
            }
            Stage::WarmingUp(_) => self.record(),
            Stage::Replaying(_) => self.replay(),
            Stage::Ordinary(_) => unreachable!("ordinary passes return above"),
        }
    }

    /// Whether later batches of this shape replay a recorded pass.
    pub fn is_replaying(&self) -> bool {
        matches!(self.stage, Stage::Replaying(_))
    }

    /// Why passes run as plain ones for good, once they do.
    pub fn not_replaying_because(&self) -> Option<&str> {
        match &self.stage {
            Stage::Ordinary(why) => Some(why),
            _ => None,
        }
    }

    /// The pass on the batch's buffer.
    fn run(&self) -> Tensor<2> {
        let images = self.images.clone().expect("a batch before a pass");
        self.model.logits(images)
    }

    /// Records this pass (which runs nothing), then replays it.
    fn record(&mut self) -> Tensor<2> {
        let dispatch = self.device.as_dispatch();
        if let Err(e) = Dispatch::graph_start_capture(dispatch) {
            self.stage = Stage::Ordinary(one_line(&e));
            return self.run();
        }
        let logits = self.run();
        match Dispatch::graph_stop_capture(dispatch) {
            Ok(graph) => {
                self.stage = Stage::Replaying(Box::new((graph, logits)));
                self.replay()
            }
            // Nothing ran: the pass runs again as an ordinary one.
            Err(e) => {
                self.stage = Stage::Ordinary(one_line(&e));
                self.run()
            }
        }
    }

    fn replay(&self) -> Tensor<2> {
        let Stage::Replaying(recorded) = &self.stage else {
            unreachable!("replay while replaying");
        };
        let (graph, logits) = recorded.as_ref();
        // SAFETY: every tensor the recorded pass read or wrote is alive and in its buffer:
        // the model and the batch are held here (the batch only written in place), the logits
        // in `self.stage`, and the pass's own intermediates are pinned by the graph. All of it
        // is queued on this thread's stream, the one recorded on.
        unsafe { Dispatch::graph_replay(self.device.as_dispatch(), graph) }
            .expect("replaying a recorded forward pass");
        logits.clone() * 1.0
    }
}
