//! The trainer's optimizers: burn's Adam and SGD, with the step of each parameter tensor done in
//! one pass ([`cnn_kernels::optim`]) where the tensors live on the CPU (`flex`, `f32`, whole
//! buffers). Elsewhere, and for any tensor that does not qualify, burn's own step runs.
//!
//! Their states are saved under burn's names (Adam's is burn's own type), so a checkpoint
//! written with burn's optimizer resumes with the fused one and back; and their steps give
//! burn's weights to the last bit (`tests/optim.rs`).

use burn::optim::momentum::MomentumConfig;
use burn::optim::{
    AdamConfig, AdamState, AdaptiveMomentumState, ModuleOptimizer, Optimizer, RecordState,
    SgdConfig, StateSink, StateSource, decay::WeightDecayConfig,
};
use burn::tensor::{Device, Tensor};
use cnn_kernels::optim as kernels;

use crate::nn::switch::{Rewrite, own};

/// Adam with burn's default betas, this epsilon and L2 penalty: fused on the CPU.
pub fn adam(epsilon: f32, weight_decay: Option<f32>) -> ModuleOptimizer {
    let config = AdamConfig::new()
        .with_epsilon(epsilon)
        .with_weight_decay(weight_decay.map(WeightDecayConfig::new));
    if !own(Rewrite::Optimizer) {
        return config.init();
    }
    ModuleOptimizer::from(FusedAdam {
        burn: config.build(),
        kernel: kernels::Adam::new(epsilon, weight_decay),
    })
}

/// Whether the step of parameter `t` runs fused: an `f32` tensor on the CPU backend whose
/// buffer holds exactly its elements (parameters are, unless sliced from another tensor).
pub fn fuses<const D: usize>(t: &Tensor<D>) -> bool {
    flex::whole(t)
}

/// burn's Adam, whose step runs as one pass per tensor on the CPU.
#[derive(Clone)]
pub struct FusedAdam {
    burn: burn::optim::Adam,
    kernel: kernels::Adam,
}

impl Optimizer for FusedAdam {
    type State<const D: usize> = AdamState<D>;

    fn step<const D: usize>(
        &self,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AdamState<D>>,
    ) -> (Tensor<D>, Option<AdamState<D>>) {
        let moments = state.as_ref().map(|s| &s.momentum);
        let fusable = [&tensor, &grad]
            .into_iter()
            .chain(moments.iter().flat_map(|m| [&m.moment_1, &m.moment_2]))
            .all(flex::whole)
            && moments.is_none_or(|m| m.max_moment_2.is_none());
        match fusable {
            true => self.fused(lr, tensor, grad, state),
            false => self.burn.step(lr, tensor, grad, state),
        }
    }

    fn to_device<const D: usize>(state: AdamState<D>, device: &Device) -> AdamState<D> {
        burn::optim::Adam::to_device(state, device)
    }
}

impl FusedAdam {
    fn fused<const D: usize>(
        &self,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<AdamState<D>>,
    ) -> (Tensor<D>, Option<AdamState<D>>) {
        let (time, first, second) = match state {
            Some(AdamState { momentum: m }) => (m.time + 1, m.moment_1, m.moment_2),
            None => (1, tensor.zeros_like(), tensor.zeros_like()),
        };
        let [mut param, grad, mut first, mut second] =
            [tensor, grad, first, second].map(flex::primitive);
        let moments = kernels::Moments {
            first: flex::elements(&mut first),
            second: flex::elements(&mut second),
        };
        let param_values = flex::elements(&mut param);
        self.kernel
            .step(lr, time, param_values, &flex::values(&grad), moments);
        let [param, first, second] = [param, first, second].map(flex::tensor);
        let state = AdamState::new(AdaptiveMomentumState::new(time, first, second));
        (param, Some(state))
    }
}

/// SGD with an L2 penalty and momentum (burn's `MomentumConfig`) when given: fused on the CPU.
pub fn sgd(weight_decay: Option<f32>, momentum: Option<MomentumConfig>) -> ModuleOptimizer {
    let config = SgdConfig::new()
        .with_weight_decay(weight_decay.map(WeightDecayConfig::new))
        .with_momentum(momentum.clone());
    if !own(Rewrite::Optimizer) {
        return config.init();
    }
    let momentum = momentum.map(|m| kernels::Momentum {
        momentum: m.momentum as f32,
        dampening: m.dampening,
        nesterov: m.nesterov,
    });
    ModuleOptimizer::from(FusedSgd {
        kernel: kernels::Sgd {
            weight_decay,
            momentum,
        },
    })
}

/// burn's SGD, whose step runs as one pass per tensor on the CPU. Its state is the momentum's
/// velocity, under the name burn's SGD gives it (`momentum.velocity`).
#[derive(Clone)]
pub struct FusedSgd {
    kernel: kernels::Sgd,
}

/// SGD's state: the velocity when there is momentum.
#[derive(Clone)]
pub struct SgdState<const D: usize> {
    pub velocity: Option<Tensor<D>>,
}

impl<const D: usize> RecordState for SgdState<D> {
    fn state_flatten(&self, prefix: &str, out: &mut StateSink) {
        if let Some(velocity) = &self.velocity {
            let prefix = burn::optim::join_path(prefix, "momentum");
            out.push_tensor(&prefix, "velocity", velocity.to_data());
        }
    }

    fn state_unflatten(prefix: &str, src: &mut StateSource, device: &Device) -> Option<Self> {
        let prefix = burn::optim::join_path(prefix, "momentum");
        let velocity = src
            .take_tensor(&prefix, "velocity")
            .map(|data| Tensor::from_data(data, device));
        Some(SgdState { velocity })
    }
}

impl Optimizer for FusedSgd {
    type State<const D: usize> = SgdState<D>;

    fn step<const D: usize>(
        &self,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        state: Option<SgdState<D>>,
    ) -> (Tensor<D>, Option<SgdState<D>>) {
        let velocity = state.and_then(|s| s.velocity);
        let first = velocity.is_none();
        let velocity = self
            .kernel
            .momentum
            .map(|_| velocity.unwrap_or_else(|| tensor.zeros_like()));
        let fusable = [&tensor, &grad]
            .into_iter()
            .chain(velocity.iter())
            .all(flex::whole);
        let (tensor, velocity) = match fusable {
            true => self.fused(lr, tensor, grad, velocity, first),
            false => self.burn_step(lr, tensor, grad, velocity, first),
        };
        (tensor, Some(SgdState { velocity }))
    }

    fn to_device<const D: usize>(state: SgdState<D>, device: &Device) -> SgdState<D> {
        SgdState {
            velocity: state.velocity.map(|v| v.to_device(device)),
        }
    }
}

impl FusedSgd {
    fn fused<const D: usize>(
        &self,
        lr: f64,
        tensor: Tensor<D>,
        grad: Tensor<D>,
        velocity: Option<Tensor<D>>,
        first: bool,
    ) -> (Tensor<D>, Option<Tensor<D>>) {
        let mut param = flex::primitive(tensor);
        let grad = flex::primitive(grad);
        let mut velocity = velocity.map(flex::primitive);
        self.kernel.step(
            lr,
            flex::elements(&mut param),
            &flex::values(&grad),
            velocity.as_mut().map(flex::elements),
            first,
        );
        (flex::tensor(param), velocity.map(flex::tensor))
    }

    /// burn's SGD arithmetic as tensor operations (`sgd.rs`, `momentum.rs`, `decay.rs`), for
    /// tensors off the CPU.
    fn burn_step<const D: usize>(
        &self,
        lr: f64,
        tensor: Tensor<D>,
        mut grad: Tensor<D>,
        velocity: Option<Tensor<D>>,
        first: bool,
    ) -> (Tensor<D>, Option<Tensor<D>>) {
        if let Some(penalty) = self.kernel.weight_decay {
            grad = tensor.clone().mul_scalar(penalty).add(grad);
        }
        let (grad, velocity) = match (self.kernel.momentum, velocity) {
            (Some(m), Some(v)) => {
                let v = match first {
                    true => grad.clone(),
                    false => grad
                        .clone()
                        .mul_scalar(1.0 - m.dampening)
                        .add(v.mul_scalar(m.momentum)),
                };
                let step = match m.nesterov {
                    true => v.clone().mul_scalar(m.momentum).add(grad),
                    false => v.clone(),
                };
                (step, Some(v))
            }
            _ => (grad, None),
        };
        (tensor - grad.mul_scalar(lr), velocity)
    }
}

/// Flex tensors as the kernels take them.
#[cfg(feature = "flex")]
mod flex {
    use std::borrow::Cow;

    use burn::backend::Flex;
    use burn::backend::flex::FlexTensor;
    use burn::tensor::{DType, Device, Tensor};

    /// Whether `t` is an `f32` tensor on the CPU backend whose buffer is exactly its elements,
    /// in order: what a kernel may update in place.
    pub fn whole<const D: usize>(t: &Tensor<D>) -> bool {
        if t.dtype() != DType::F32 || t.device() != Device::flex() {
            return false;
        }
        t.clone().try_into_primitive::<Flex>().is_ok_and(|p| {
            let len = p.bytes().len() / size_of::<f32>();
            p.layout().contiguous_offsets() == Some((0, len))
        })
    }

    /// The flex tensor of a tensor [`whole`] accepted.
    pub fn primitive<const D: usize>(t: Tensor<D>) -> FlexTensor {
        t.try_into_primitive::<Flex>()
            .expect("a tensor on the CPU backend")
    }

    pub fn tensor<const D: usize>(t: FlexTensor) -> Tensor<D> {
        Tensor::from_primitive::<Flex>(t)
    }

    pub fn values(t: &FlexTensor) -> Cow<'_, [f32]> {
        crate::nn::flex_tensor::values(t)
    }

    /// The elements to update: in place when the buffer is not shared, else on a copy
    /// (burn-flex's copy-on-write), so that no other tensor sees the change.
    pub fn elements(t: &mut FlexTensor) -> &mut [f32] {
        t.storage_mut()
    }
}

/// Without the CPU backend nothing is fused.
#[cfg(not(feature = "flex"))]
mod flex {
    use burn::tensor::Tensor;

    pub fn whole<const D: usize>(_: &Tensor<D>) -> bool {
        false
    }

    pub struct Never;

    pub fn primitive<const D: usize>(_: Tensor<D>) -> Never {
        unreachable!("nothing is fused without the CPU backend")
    }

    pub fn tensor<const D: usize>(_: Never) -> Tensor<D> {
        unreachable!("nothing is fused without the CPU backend")
    }

    pub fn values(_: &Never) -> &[f32] {
        unreachable!("nothing is fused without the CPU backend")
    }

    pub fn elements(_: &mut Never) -> &mut [f32] {
        unreachable!("nothing is fused without the CPU backend")
    }
}
