//! Adam whose every write lands in the buffer it replaces, with the step's scalars read from
//! the device, so that a recorded step replays correctly (see [`super`]).
//!
//! The arithmetic is burn's `Adam` with L2 weight decay (`burn-optim`'s `adam.rs`): the
//! gradient plus `decay * param`, both moments, and the step
//! `lr * m * sqrt(1 - b2^t) / (1 - b1^t) / (sqrt(v) + eps * sqrt(1 - b2^t))`. burn folds the
//! learning rate and the bias corrections into scalars at each launch, which a replay would
//! repeat unchanged; here they are the two elements of [`factors`], written before each step.

use std::collections::HashMap;

use burn::module::{Module, ModuleMapper, ModuleVisitor, Param, ParamId};
use burn::optim::GradientsParams;
use burn::tensor::Tensor;
use burn::tensor::kind::BridgeTensor;

/// Adam's settings (burn's `AdamConfig` defaults for the betas), shared with the CPU's fused
/// step.
pub use cnn_kernels::optim::Adam as AdamSettings;

/// The two per-step scalars of step `time` (from 1) at `learning_rate`: the step's scale
/// `lr * sqrt(1 - b2^t) / (1 - b1^t)` and the denominator's `eps * sqrt(1 - b2^t)`.
pub fn factors(settings: &AdamSettings, learning_rate: f64, time: usize) -> [f32; 2] {
    let time = time.min(i32::MAX as usize) as i32;
    let correction_2 = (1.0 - f64::from(settings.beta_2).powi(time)).sqrt();
    let correction_1 = 1.0 - f64::from(settings.beta_1).powi(time);
    [
        (learning_rate * correction_2 / correction_1) as f32,
        (f64::from(settings.epsilon) * correction_2) as f32,
    ]
}

/// Adam's moments per parameter, in the buffers every step writes back into.
#[derive(Default)]
pub struct Moments {
    by_param: HashMap<ParamId, [BridgeTensor; 2]>,
}

impl Moments {
    /// The first and second moments as two copies of `model`, in buffers of their own (zeros
    /// for a parameter not stepped yet): what a checkpoint saves.
    pub fn as_models<M: Module>(&self, model: &M) -> [M; 2] {
        [0, 1].map(|which| {
            model.clone().map(&mut AsModel {
                moments: self,
                which,
            })
        })
    }

    /// The moments [`Moments::as_models`] gave for `model`, matched to its parameters in order.
    pub fn from_models<M: Module>(model: &M, [first, second]: [M; 2]) -> Self {
        let mut ids = Ids::default();
        model.visit(&mut ids);
        let [first, second] = [first, second].map(|m| {
            let mut values = Values::default();
            m.visit(&mut values);
            values.0
        });
        let by_param = ids
            .0
            .into_iter()
            .zip(first.into_iter().zip(second))
            .map(|(id, (m, v))| (id, [m, v]))
            .collect();
        Moments { by_param }
    }
}

/// Replaces each parameter by its moment `which`.
struct AsModel<'a> {
    moments: &'a Moments,
    which: usize,
}

impl ModuleMapper for AsModel<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let moment = self.moments.by_param.get(&param.id);
        let moment = moment.map(|m| Tensor::<D>::from_bridge(m[self.which].clone()));
        param.map(|t| {
            let require_grad = t.is_require_grad();
            let value = match moment {
                Some(moment) => moment * 1.0,
                None => t.inner().zeros_like(),
            };
            Tensor::from_inner(value).set_require_grad(require_grad)
        })
    }
}

/// A module's parameter ids, in order.
#[derive(Default)]
struct Ids(Vec<ParamId>);

impl ModuleVisitor for Ids {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.id);
    }
}

/// A module's parameter values, in order, without autodiff.
#[derive(Default)]
struct Values(Vec<BridgeTensor>);

impl ModuleVisitor for Values {
    fn visit_float<const D: usize>(&mut self, param: &Param<Tensor<D>>) {
        self.0.push(param.val().inner().into_bridge());
    }
}

/// One optimizer step over a module's parameters ([`burn::module::Module::map`]).
pub struct Update<'a> {
    pub settings: AdamSettings,
    pub grads: GradientsParams,
    pub moments: &'a mut Moments,
    /// [`factors`] of this step, `[1]` each, on the parameters' device: split once per step,
    /// as each split of a `[2]` tensor is a copy (see [`super::noise`]).
    pub factors: [Tensor<1>; 2],
    /// False once a parameter or moment could not be written in place.
    pub in_place: bool,
}

impl ModuleMapper for Update<'_> {
    fn map_float<const D: usize>(&mut self, param: Param<Tensor<D>>) -> Param<Tensor<D>> {
        let (id, tensor, mapper) = param.consume();
        let Some(grad) = self.grads.remove::<D>(id) else {
            return Param::from_mapped_value(id, tensor, mapper);
        };
        let require_grad = tensor.is_require_grad();
        let param = tensor.inner();
        let [m, v] = match self.moments.by_param.remove(&id) {
            Some(moments) => moments.map(Tensor::<D>::from_bridge),
            None => [0; 2].map(|_| param.zeros_like()),
        };
        let s = self.settings;
        let grad = match s.weight_decay {
            Some(decay) => grad + param.clone() * decay,
            None => grad,
        };
        let m_next = m.clone() * s.beta_1 + grad.clone() * (1.0 - s.beta_1);
        let v_next = v.clone() * s.beta_2 + grad.square() * (1.0 - s.beta_2);
        let [scale, epsilon] = self.factors.clone().map(|factor| factor.reshape([1; D]));
        let param_next = param.clone() - m_next.clone() * scale / (v_next.clone().sqrt() + epsilon);
        let m = self.write(m, m_next);
        let v = self.write(v, v_next);
        let param = self.write(param, param_next);
        self.moments
            .by_param
            .insert(id, [m.into_bridge(), v.into_bridge()]);
        let param = Tensor::from_inner(param).set_require_grad(require_grad);
        Param::from_mapped_value(id, param, mapper)
    }
}

impl Update<'_> {
    /// `value` written over the whole of `target`, in `target`'s buffer when nothing else
    /// holds it.
    fn write<const D: usize>(&mut self, mut target: Tensor<D>, value: Tensor<D>) -> Tensor<D> {
        self.in_place &= super::overwrite(&mut target, value);
        target
    }
}
