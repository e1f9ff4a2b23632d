//! Optimizer steps in one pass over each parameter tensor.
//!
//! burn's Adam and SGD run a step as a chain of element-wise tensor operations, each a pass over
//! memory into a new temporary: about twelve for Adam. Here each element is read once, and the
//! parameter and the optimizer's moments are updated in place. The arithmetic is burn's (burn
//! 0.22.1, `burn-optim`'s `adam.rs`, `sgd.rs`, `momentum.rs` and `decay.rs`): the same `f32`
//! operations in the same order, each rounded as burn's are, so the results are the same bits.

use rayon::prelude::*;

/// Elements per parallel task: large enough to amortise a task, small enough to share a
/// 3M-parameter tensor among threads.
const CHUNK: usize = 1 << 14;

/// Adam's settings, as burn's `AdamConfig` holds them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Adam {
    pub beta_1: f32,
    pub beta_2: f32,
    pub epsilon: f32,
    /// L2 penalty added to the gradient (burn's `WeightDecayConfig`).
    pub weight_decay: Option<f32>,
}

/// Adam's moments of one tensor.
pub struct Moments<'a> {
    pub first: &'a mut [f32],
    pub second: &'a mut [f32],
}

impl Adam {
    /// burn's default betas (0.9 and 0.999) with this epsilon and L2 penalty.
    pub fn new(epsilon: f32, weight_decay: Option<f32>) -> Self {
        Adam {
            beta_1: 0.9,
            beta_2: 0.999,
            epsilon,
            weight_decay,
        }
    }

    /// One step of one tensor: `time` counts steps including this one (1 on the first, when
    /// the moments' old values are ignored, as burn starts them from this gradient alone).
    pub fn step(&self, lr: f64, time: usize, param: &mut [f32], grad: &[f32], moments: Moments) {
        assert!(time >= 1, "Adam's steps count from 1");
        let n = param.len();
        assert!(grad.len() == n && moments.first.len() == n && moments.second.len() == n);
        let scalars = self.scalars(lr, time);
        param
            .par_chunks_mut(CHUNK)
            .zip(grad.par_chunks(CHUNK))
            .zip(moments.first.par_chunks_mut(CHUNK))
            .zip(moments.second.par_chunks_mut(CHUNK))
            .for_each(|(((p, g), m1), m2)| scalars.run(p, g, m1, m2));
    }

    /// The per-step scalars, computed as burn computes them.
    fn scalars(&self, lr: f64, time: usize) -> AdamScalars {
        let time_i32 = time as i32;
        let bias_correction2_sqrt = (1.0 - self.beta_2.powi(time_i32)).sqrt();
        AdamScalars {
            first_step: time == 1,
            penalty: self.weight_decay,
            beta_1: self.beta_1,
            beta_2: self.beta_2,
            factor_1: 1.0 - self.beta_1,
            factor_2: 1.0 - self.beta_2,
            combined: bias_correction2_sqrt / (1.0 - self.beta_1.powi(time_i32)),
            epsilon: self.epsilon * bias_correction2_sqrt,
            lr: lr as f32,
        }
    }
}

#[derive(Clone, Copy)]
struct AdamScalars {
    first_step: bool,
    penalty: Option<f32>,
    beta_1: f32,
    beta_2: f32,
    factor_1: f32,
    factor_2: f32,
    combined: f32,
    epsilon: f32,
    lr: f32,
}

impl AdamScalars {
    /// Branches are hoisted out of the loop so that each variant vectorises.
    fn run(&self, p: &mut [f32], g: &[f32], m1: &mut [f32], m2: &mut [f32]) {
        match (self.first_step, self.penalty) {
            (true, Some(penalty)) => self.each::<true>(p, g, m1, m2, |p, g| p * penalty + g),
            (true, None) => self.each::<true>(p, g, m1, m2, |_, g| g),
            (false, Some(penalty)) => self.each::<false>(p, g, m1, m2, |p, g| p * penalty + g),
            (false, None) => self.each::<false>(p, g, m1, m2, |_, g| g),
        }
    }

    #[inline(always)]
    fn each<const FIRST: bool>(
        &self,
        p: &mut [f32],
        g: &[f32],
        m1: &mut [f32],
        m2: &mut [f32],
        decayed: impl Fn(f32, f32) -> f32,
    ) {
        for (((p, &g), m1), m2) in p.iter_mut().zip(g).zip(m1).zip(m2) {
            let g = decayed(*p, g);
            let (moment_1, moment_2) = if FIRST {
                (g * self.factor_1, (g * g) * self.factor_2)
            } else {
                (
                    *m1 * self.beta_1 + g * self.factor_1,
                    *m2 * self.beta_2 + (g * g) * self.factor_2,
                )
            };
            *m1 = moment_1;
            *m2 = moment_2;
            let update = (moment_1 * self.combined) / (moment_2.sqrt() + self.epsilon);
            *p -= update * self.lr;
        }
    }
}

/// SGD's settings, as burn's `SgdConfig` and `MomentumConfig` hold them.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Sgd {
    pub weight_decay: Option<f32>,
    pub momentum: Option<Momentum>,
}

#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Momentum {
    pub momentum: f32,
    pub dampening: f64,
    pub nesterov: bool,
}

impl Sgd {
    /// One step of one tensor. `velocity` is the momentum's state when the settings have one;
    /// `first` says it holds nothing yet (burn starts it at the first gradient).
    pub fn step(
        &self,
        lr: f64,
        param: &mut [f32],
        grad: &[f32],
        velocity: Option<&mut [f32]>,
        first: bool,
    ) {
        let n = param.len();
        assert_eq!(grad.len(), n);
        let lr = lr as f32;
        let penalty = self.weight_decay;
        let decayed = move |p: f32, g: f32| match penalty {
            Some(penalty) => p * penalty + g,
            None => g,
        };
        match (self.momentum, velocity) {
            (Some(m), Some(velocity)) => {
                assert_eq!(velocity.len(), n);
                param
                    .par_chunks_mut(CHUNK)
                    .zip(grad.par_chunks(CHUNK))
                    .zip(velocity.par_chunks_mut(CHUNK))
                    .for_each(|((p, g), v)| m.run(lr, first, p, g, v, decayed));
            }
            (None, _) => param
                .par_chunks_mut(CHUNK)
                .zip(grad.par_chunks(CHUNK))
                .for_each(|(p, g)| {
                    for (p, &g) in p.iter_mut().zip(g) {
                        *p -= decayed(*p, g) * lr;
                    }
                }),
            (Some(_), None) => panic!("SGD with momentum needs its velocity"),
        }
    }
}

impl Momentum {
    fn run(
        &self,
        lr: f32,
        first: bool,
        p: &mut [f32],
        g: &[f32],
        v: &mut [f32],
        decayed: impl Fn(f32, f32) -> f32,
    ) {
        let keep = (1.0 - self.dampening) as f32;
        for ((p, &g), v) in p.iter_mut().zip(g).zip(v) {
            let g = decayed(*p, g);
            let velocity = if first {
                g
            } else {
                g * keep + *v * self.momentum
            };
            *v = velocity;
            let step = if self.nesterov {
                velocity * self.momentum + g
            } else {
                velocity
            };
            *p -= step * lr;
        }
    }
}
