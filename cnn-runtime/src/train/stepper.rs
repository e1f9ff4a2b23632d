//! The model being trained with the optimizer that steps it: burn's Adam, or the replayed
//! step's ([`crate::train::replay`], with [`super::TrainConfig::replay`]).

use burn::optim::{GradientsParams, ModuleOptimizer};
use burn::tensor::{Int, Tensor};

use super::checkpoint::OptimizerState;
use crate::Network;
use crate::nn::loss::Targets;
use crate::train::replay::ReplayStep;

pub(super) enum Stepper<M: Network> {
    Burn {
        /// `None` only within a step.
        model: Option<M>,
        optimizer: ModuleOptimizer,
        /// [`Targets::smoothed`]'s factor.
        label_smoothing: f32,
    },
    Replayed(Box<ReplayStep<M>>),
}

impl<M: Network> Stepper<M> {
    /// One step on a batch; its loss and logits, detached.
    pub fn step(
        &mut self,
        images: Tensor<4>,
        targets: Tensor<1, Int>,
        rate: f64,
    ) -> (Tensor<1>, Tensor<2>) {
        match self {
            Stepper::Burn {
                model,
                optimizer,
                label_smoothing,
            } => {
                let stepped = model.take().expect("the model between steps");
                let targets = Targets::new(targets, stepped.classes()).smoothed(*label_smoothing);
                let logits = stepped.logits(images);
                let loss = crate::nn::loss::cross_entropy_of(logits.clone(), targets);
                let grads = GradientsParams::from_grads(loss.backward(), &stepped);
                *model = Some(optimizer.step(rate, stepped, grads));
                (loss.detach(), logits.detach())
            }
            Stepper::Replayed(step) => {
                let output = step.step(images, targets, rate);
                (output.loss, output.logits)
            }
        }
    }

    /// Whether steps replay a recorded one.
    pub fn is_replaying(&self) -> bool {
        matches!(self, Stepper::Replayed(step) if step.is_replaying())
    }

    /// Why steps do not replay, where replaying was asked for and given up.
    pub fn not_replaying_because(&self) -> Option<&str> {
        match self {
            Stepper::Replayed(step) => step.not_replaying_because(),
            Stepper::Burn { .. } => None,
        }
    }

    /// The model as trained so far, for evaluation: later steps do not change it.
    pub fn model(&self) -> M {
        match self {
            Stepper::Burn { model, .. } => model.clone().expect("the model between steps"),
            Stepper::Replayed(step) => step.model(),
        }
    }

    pub fn into_model(self) -> M {
        match self {
            Stepper::Burn { model, .. } => model.expect("the model between steps"),
            Stepper::Replayed(step) => step.into_model(),
        }
    }

    /// What a checkpoint keeps of the optimizer.
    pub fn optimizer_state(&self) -> OptimizerState<M> {
        match self {
            Stepper::Burn { optimizer, .. } => OptimizerState::Burn(optimizer.clone()),
            Stepper::Replayed(step) => {
                let (moments, steps) = step.moments();
                OptimizerState::Replayed { moments, steps }
            }
        }
    }
}
