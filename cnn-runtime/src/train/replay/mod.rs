//! A training step recorded once on the GPU and replayed, so that the host's work per step
//! (autodiff, burn-fusion's planning, one launch per kernel: it paces a batch-64 step on an
//! H200) is done once.
//!
//! burn 0.22 records a step's kernel launches between `graph_start_capture` and
//! `graph_stop_capture`, and a replay runs the same launches on the same buffers. So every
//! buffer a step reads and later steps must see changed is written in place: the parameters
//! and Adam's moments ([`adam`]), the batch, the learning rate with Adam's bias corrections,
//! and the dropouts' noise ([`noise`]), all written before each replay. What the host computes
//! per step anyway (a new random seed, `1 - b1^t`) would otherwise replay frozen: burn's own
//! Adam and dropout cannot be replayed.
//!
//! The first [`WARM_UP`] steps run as ordinary steps, which compile and autotune the kernels
//! and allocate the buffers a recording reuses; the next step is recorded, and later ones of
//! the same batch shape replay it. A batch of another shape (an epoch's last) runs as an
//! ordinary step. Backends that cannot record (the CPU ones) find out at the fourth step and run
//! plain steps from then on.
//!
//! [`ReplayForward`] does the same for inference, where only the batch changes between passes.

pub mod adam;
mod forward;
pub mod noise;

pub use forward::ReplayForward;

use burn::backend::{Backend as _, BackendGraph, Dispatch};
use burn::optim::GradientsParams;
use burn::tensor::{Device, Int, Tensor, TensorData};

use crate::Network;
use crate::nn::loss::Targets;
use adam::{AdamSettings, Moments, Update};
use noise::Tape;

/// Ordinary steps before the one recorded (burn's own `capture` also warms up three times:
/// the first run of a fused block plans and tunes it, and later runs take other buffers).
pub const WARM_UP: usize = 3;

/// A step's loss (`[1]`) and logits (`[batch, classes]`), in buffers of their own.
pub struct StepOutput {
    pub loss: Tensor<1>,
    pub logits: Tensor<2>,
}

/// Trains `M` with Adam one batch at a time, replaying a recorded step where it can.
pub struct ReplayStep<M: Network> {
    model: Option<M>,
    settings: AdamSettings,
    moments: Moments,
    /// Adam's step count, for the bias corrections.
    time: usize,
    /// [`Targets::smoothed`]'s factor.
    label_smoothing: f32,
    /// The batch and Adam's factors the recorded step reads, rewritten before each step.
    inputs: Option<Inputs>,
    tape: Tape,
    stage: Stage,
    /// The model's device without autodiff: Adam's factors live there, and steps are
    /// recorded and replayed on it.
    device: Device,
}

struct Inputs {
    images: Tensor<4>,
    targets: Tensor<1, Int>,
    /// `[2]`, on the device without autodiff ([`adam::factors`]).
    factors: Tensor<1>,
}

/// A recorded step, and the outputs it writes.
struct Recorded {
    graph: BackendGraph<Dispatch>,
    output: StepOutput,
}

enum Stage {
    /// Ordinary steps on the inputs' buffers, this many so far.
    WarmingUp(usize),
    /// Replaying the recorded step.
    Replaying(Box<Recorded>),
    /// Steps as the recorded ones run, on the inputs' buffers with the noise tape, never
    /// recorded ([`ReplayStep::without_recording`]).
    Unrecorded,
    /// Plain steps on the caller's tensors, dropouts drawing their own masks, for the reason
    /// given: the backend cannot record, or a buffer could not be written in place.
    Ordinary(String),
}

impl<M: Network> ReplayStep<M> {
    /// `model` lives on an autodiff device, as for burn's optimizers.
    pub fn new(model: M, settings: AdamSettings) -> Self {
        let device = model.devices().into_iter().next();
        let device = device.expect("a model with parameters").without_autodiff();
        ReplayStep {
            device,
            model: Some(model),
            settings,
            moments: Moments::default(),
            time: 0,
            label_smoothing: 0.0,
            inputs: None,
            tape: Tape::default(),
            stage: Stage::WarmingUp(0),
        }
    }

    /// Every step run as recorded ones run (the same buffers, Adam and dropout noise) but
    /// never recorded: for comparisons.
    pub fn without_recording(model: M, settings: AdamSettings) -> Self {
        ReplayStep {
            stage: Stage::Unrecorded,
            ..Self::new(model, settings)
        }
    }

    /// Continues from a checkpoint: `moments` as [`ReplayStep::moments`] gave them for this
    /// model, after `steps` steps.
    /// Trains against [`Targets::smoothed`] targets.
    pub fn with_label_smoothing(self, label_smoothing: f32) -> Self {
        ReplayStep {
            label_smoothing,
            ..self
        }
    }

    pub fn resume(model: M, settings: AdamSettings, moments: [M; 2], steps: usize) -> Self {
        ReplayStep {
            moments: Moments::from_models(&model, moments),
            time: steps,
            ..Self::new(model, settings)
        }
    }

    /// One step of Adam at `learning_rate` on a batch: `images` `[batch, C, H, W]` and class
    /// indices `targets` `[batch]`, on the model's device.
    pub fn step(
        &mut self,
        images: Tensor<4>,
        targets: Tensor<1, Int>,
        learning_rate: f64,
    ) -> StepOutput {
        self.time += 1;
        let factors = adam::factors(&self.settings, learning_rate, self.time);
        let fits = self
            .inputs
            .as_ref()
            .is_some_and(|i| i.images.dims() == images.dims());
        if matches!(self.stage, Stage::Ordinary(_)) || (!fits && self.inputs.is_some()) {
            return self.plain_step(images, targets, factors);
        }
        if !self.write_inputs(images, targets, factors) {
            // This step's values are in the inputs all the same; the next ones go plain.
            self.stage = ordinary("a batch or the dropouts' noise could not be written in place");
        }
        match self.stage {
            Stage::WarmingUp(0) if let Err(why) = prepare(&self.device) => {
                self.stage = Stage::Ordinary(why);
                self.run(true).0
            }
            Stage::WarmingUp(done) if done < WARM_UP => {
                let (output, in_place) = self.run(true);
                sync(&self.device);
                self.stage = match in_place {
                    true => Stage::WarmingUp(done + 1),
                    false => ordinary(MOVED),
                };
                output
            }
            Stage::WarmingUp(_) => self.record(),
            Stage::Replaying(_) => self.replay(),
            Stage::Unrecorded | Stage::Ordinary(_) => self.run(true).0,
        }
    }

    /// Adam's first and second moments as copies of the model, and how many steps it took:
    /// with [`ReplayStep::model`], what a checkpoint keeps.
    pub fn moments(&self) -> ([M; 2], usize) {
        let model = self.model.as_ref().expect("the model between steps");
        (self.moments.as_models(model), self.time)
    }

    /// Why steps run as plain ones for good, once they do: the backend cannot record (the
    /// CPU ones), a recording failed, or a buffer could not be written in place.
    pub fn not_replaying_because(&self) -> Option<&str> {
        match &self.stage {
            Stage::Ordinary(why) => Some(why),
            _ => None,
        }
    }

    /// Whether later steps of this batch shape replay a recorded step.
    pub fn is_replaying(&self) -> bool {
        matches!(self.stage, Stage::Replaying(_))
    }

    /// A copy of the model as trained so far: later steps overwrite the model's own buffers.
    pub fn model(&self) -> M {
        let model = self.model.as_ref().expect("the model between steps");
        model.clone().map(&mut Copies)
    }

    /// The model as trained; nothing replays into it afterwards.
    pub fn into_model(mut self) -> M {
        self.stage = ordinary("the model was taken out");
        self.model.take().expect("the model between steps")
    }

    /// Writes the batch and factors into the recorded step's buffers (the first batch becomes
    /// them), and draws new dropout noise; false when a buffer could not be written in place.
    fn write_inputs(
        &mut self,
        images: Tensor<4>,
        targets: Tensor<1, Int>,
        factors: [f32; 2],
    ) -> bool {
        let factors = self.factors(factors);
        let Some(inputs) = &mut self.inputs else {
            // Copies: the caller may hold the batch, and these buffers are written in place.
            self.inputs = Some(Inputs {
                images: images * 1.0,
                targets: targets + 0,
                factors,
            });
            return true;
        };
        let in_place = [
            overwrite(&mut inputs.images, images),
            overwrite(&mut inputs.targets, targets),
            overwrite(&mut inputs.factors, factors),
        ];
        self.tape.redraw() && in_place.iter().all(|&b| b)
    }

    /// Adam's two factors ([`adam::factors`]) as a `[2]` tensor on the device.
    fn factors(&self, values: [f32; 2]) -> Tensor<1> {
        Tensor::from_data(TensorData::new(values.to_vec(), [2]), &self.device)
    }

    /// The step on the inputs' buffers, with the dropouts reading the tape when `taped`;
    /// whether every update stayed in place.
    fn run(&mut self, taped: bool) -> (StepOutput, bool) {
        let inputs = self.inputs.as_ref().expect("inputs before a step");
        let (images, targets) = (inputs.images.clone(), inputs.targets.clone());
        let factors = inputs.factors.clone();
        self.train(images, targets, factors, taped)
    }

    fn train(
        &mut self,
        images: Tensor<4>,
        targets: Tensor<1, Int>,
        factors: Tensor<1>,
        taped: bool,
    ) -> (StepOutput, bool) {
        let model = self.model.take().expect("the model between steps");
        let targets = Targets::new(targets, model.classes()).smoothed(self.label_smoothing);
        let forward = || {
            let logits = model.logits(images);
            let loss = crate::nn::loss::cross_entropy_of(logits.clone(), targets);
            (loss, logits)
        };
        let (loss, logits) = match taped {
            true => self.tape.serve(forward),
            false => forward(),
        };
        let grads = GradientsParams::from_grads(loss.backward(), &model);
        let output = StepOutput {
            loss: loss.detach(),
            logits: logits.detach(),
        };
        let mut update = Update {
            settings: self.settings,
            grads,
            moments: &mut self.moments,
            factors: [0, 1].map(|i| factors.clone().slice(i..i + 1)),
            in_place: true,
        };
        self.model = Some(model.map(&mut update));
        (output, update.in_place)
    }

    /// Records this step (which runs nothing), then replays it.
    fn record(&mut self) -> StepOutput {
        let device = self.device.clone();
        let dispatch = device.as_dispatch();
        if let Err(e) = Dispatch::graph_start_capture(dispatch) {
            self.stage = Stage::Ordinary(one_line(&e));
            return self.run(true).0;
        }
        let (output, in_place) = self.run(true);
        match (Dispatch::graph_stop_capture(dispatch), in_place) {
            (Ok(graph), in_place) => {
                self.stage = Stage::Replaying(Box::new(Recorded { graph, output }));
                let output = self.replay();
                if !in_place {
                    // The one replay took the step into the buffers it moved to; later ones
                    // would read the old buffers again.
                    self.stage = ordinary(MOVED);
                }
                output
            }
            // Nothing ran, and every buffer the step would have written holds what it held
            // before: the step runs again as an ordinary one.
            (Err(e), true) => {
                self.stage = Stage::Ordinary(one_line(&e));
                self.run(true).0
            }
            (Err(e), false) => panic!(
                "recording a training step failed ({e:?}) after the step had moved a \
                 parameter to a buffer nothing wrote: the model's values are lost"
            ),
        }
    }

    fn replay(&mut self) -> StepOutput {
        let Stage::Replaying(recorded) = &self.stage else {
            unreachable!("replay while replaying");
        };
        // SAFETY: every tensor the recorded step read or wrote is alive and in its buffer:
        // the model, moments, inputs and tape are held here and only written in place, the
        // outputs are held in `self.stage`, and the step's own intermediates are pinned by the
        // graph. All of it is queued on this thread's stream, the one recorded on.
        unsafe { Dispatch::graph_replay(self.device.as_dispatch(), &recorded.graph) }
            .expect("replaying a recorded training step");
        StepOutput {
            loss: recorded.output.loss.clone() * 1.0,
            logits: recorded.output.logits.clone() * 1.0,
        }
    }

    /// A step on the caller's tensors: a batch whose shape is not the recorded one's, or any
    /// batch once recording is impossible.
    fn plain_step(
        &mut self,
        images: Tensor<4>,
        targets: Tensor<1, Int>,
        factors: [f32; 2],
    ) -> StepOutput {
        let factors = self.factors(factors);
        let (output, in_place) = self.train(images, targets, factors, false);
        if !in_place && self.is_replaying() {
            // A parameter moved: the recording would read its old buffer.
            self.stage = Stage::WarmingUp(0);
        }
        output
    }
}

/// Readies `device`'s allocator for a recording after the warm-up; an error where the backend
/// cannot record.
fn prepare(device: &Device) -> Result<(), String> {
    #[cfg(feature = "wgpu")]
    if let Some(why) = profiler::refuses_recording() {
        return Err(why.to_owned());
    }
    Dispatch::graph_prepare(device.as_dispatch()).map_err(|e| one_line(&e))
}

/// cubecl's profiler, which times every launch on its own: a recording cannot hold that
/// measurement, and cubecl then panics on burn-fusion's thread, mid-step.
#[cfg(feature = "wgpu")]
mod profiler {
    use burn::cubecl::config::{CubeClRuntimeConfig, RuntimeConfig, profiling::ProfilingLogLevel};

    /// Why steps cannot be recorded in this process, when cubecl's profiler is on.
    pub(super) fn refuses_recording() -> Option<&'static str> {
        refusal(CubeClRuntimeConfig::get().profiling.logger.level)
    }

    fn refusal(level: ProfilingLogLevel) -> Option<&'static str> {
        match level {
            // `minimal` lists the kernels that ran without timing them.
            ProfilingLogLevel::Disabled | ProfilingLogLevel::Minimal => None,
            ProfilingLogLevel::Basic | ProfilingLogLevel::Medium | ProfilingLogLevel::Full => Some(
                "cubecl's profiler times each kernel (CUBECL_DEBUG_OPTION or [profiling] in \
                     cubecl.toml), which a recording cannot",
            ),
        }
    }

    #[cfg(test)]
    mod tests {
        use super::*;

        #[test]
        fn only_timing_levels_refuse_recording() {
            assert_eq!(refusal(ProfilingLogLevel::Disabled), None);
            assert_eq!(refusal(ProfilingLogLevel::Minimal), None);
            for level in [
                ProfilingLogLevel::Basic,
                ProfilingLogLevel::Medium,
                ProfilingLogLevel::Full,
            ] {
                assert!(refusal(level).unwrap().contains("profiler"), "{level:?}");
            }
        }
    }
}

/// Why steps go plain when an update could not stay in its buffer.
const MOVED: &str = "a parameter or Adam moment could not be written in place";

fn ordinary(why: &str) -> Stage {
    Stage::Ordinary(why.to_owned())
}

/// burn's error text on one line, without its "An error happened during execution / Caused
/// by:" frame.
fn one_line(error: &impl std::fmt::Display) -> String {
    let text = error.to_string();
    let frame = |line: &&str| {
        line.is_empty() || *line == "Caused by:" || line.starts_with("An error happened")
    };
    let lines: Vec<&str> = text.lines().map(str::trim).filter(|l| !frame(l)).collect();
    lines.join("; ")
}

/// `target`'s values replaced by `value`'s, in `target`'s buffer when nothing else holds it;
/// whether they were.
fn overwrite<const D: usize, K>(target: &mut Tensor<D, K>, value: Tensor<D, K>) -> bool
where
    K: burn::tensor::kind::Basic,
{
    let in_place = target.can_mut();
    let whole = target.dims().map(|d| 0..d);
    target.inplace(|t| t.slice_assign(whole, value));
    in_place
}

fn sync(device: &Device) {
    device.sync().expect("the device runs the training step");
}

/// Maps every parameter to a copy in a buffer of its own.
struct Copies;

impl burn::module::ModuleMapper for Copies {
    fn map_float<const D: usize>(
        &mut self,
        param: burn::module::Param<Tensor<D>>,
    ) -> burn::module::Param<Tensor<D>> {
        param.map(|t| {
            let require_grad = t.is_require_grad();
            Tensor::from_inner(t.inner() * 1.0).set_require_grad(require_grad)
        })
    }
}
