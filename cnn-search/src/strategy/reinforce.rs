//! REINFORCE over a per-decision softmax policy, after Zoph and Le (2017) with independent
//! decisions in place of their LSTM: each reward moves the log-probabilities of the choices
//! that earned it by its advantage over a moving-average baseline, plus an entropy bonus that
//! keeps the policy exploring. The gradient comes from burn's autodiff.

use burn::tensor::activation::log_softmax;
use burn::tensor::{Device, Tensor, TensorData};
use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Draws, Genome, Strategy};

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct ReinforceSettings {
    /// The step size on the logits.
    pub learning_rate: f64,
    /// How much of the previous baseline each reward keeps (an exponential moving average).
    pub baseline_decay: f64,
    /// The weight of the policy's entropy in the objective.
    pub entropy: f64,
}

impl Default for ReinforceSettings {
    fn default() -> Self {
        ReinforceSettings {
            learning_rate: 0.2,
            baseline_decay: 0.8,
            entropy: 0.01,
        }
    }
}

/// A softmax policy per decision, trained by policy gradient.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Reinforce {
    choices: Vec<usize>,
    settings: ReinforceSettings,
    /// Every decision's logits, one after another.
    logits: Vec<f32>,
    /// The moving average of rewards, and of squared advantages, which scales each step so
    /// that the step size does not depend on the scale of the rewards.
    baseline: Option<f64>,
    spread: Option<f64>,
    draws: Draws,
}

impl Reinforce {
    pub fn new(choices: &[usize], seed: u64, settings: ReinforceSettings) -> Self {
        Reinforce {
            choices: choices.to_vec(),
            settings,
            logits: vec![0.0; choices.iter().sum()],
            baseline: None,
            spread: None,
            draws: Draws::new(seed),
        }
    }

    /// Each decision's option probabilities under the current policy.
    pub fn probabilities(&self) -> Vec<Vec<f64>> {
        self.segments()
            .map(|(offset, n)| {
                let logits = &self.logits[offset..offset + n];
                let max = logits.iter().copied().fold(f32::NEG_INFINITY, f32::max);
                let exp: Vec<f64> = logits.iter().map(|&l| f64::from(l - max).exp()).collect();
                let sum: f64 = exp.iter().sum();
                exp.iter().map(|e| e / sum).collect()
            })
            .collect()
    }

    /// `(offset, options)` of each decision in `logits`.
    fn segments(&self) -> impl Iterator<Item = (usize, usize)> + '_ {
        self.choices.iter().scan(0, |offset, &n| {
            let segment = (*offset, n);
            *offset += n;
            Some(segment)
        })
    }

    /// The gradient of `-(advantage · log π(genome) + entropy weight · H(π))` on the logits.
    fn gradient(&self, genome: &[usize], advantage: f64) -> Vec<f32> {
        let device = Device::flex().autodiff();
        let n = self.logits.len();
        let logits = Tensor::<1>::from_data(TensorData::new(self.logits.clone(), [n]), &device)
            .require_grad();
        let mut log_prob = Tensor::<1>::zeros([1], &device);
        let mut entropy = Tensor::<1>::zeros([1], &device);
        for ((offset, options), &chosen) in self.segments().zip(genome) {
            let log_p = log_softmax(logits.clone().narrow(0, offset, options), 0);
            log_prob = log_prob + log_p.clone().narrow(0, chosen.min(options - 1), 1);
            entropy = entropy - (log_p.clone().exp() * log_p).sum();
        }
        let objective = log_prob.mul_scalar(advantage) + entropy.mul_scalar(self.settings.entropy);
        let grads = objective.neg().backward();
        let gradient = logits.grad(&grads).expect("the logits require a gradient");
        gradient
            .into_data()
            .try_to_vec::<f32>()
            .expect("f32 gradient")
    }
}

impl Strategy for Reinforce {
    fn ask(&mut self) -> Genome {
        let mut rng = self.draws.next();
        self.probabilities()
            .iter()
            .map(|p| {
                let u: f64 = rng.random();
                let mut total = 0.0;
                p.iter()
                    .position(|&q| {
                        total += q;
                        u < total
                    })
                    .unwrap_or(p.len() - 1)
            })
            .collect()
    }

    fn tell(&mut self, genome: &[usize], reward: f64) {
        let s = self.settings;
        let baseline = *self.baseline.get_or_insert(reward);
        let advantage = reward - baseline;
        let spread = self.spread.map_or(advantage * advantage, |v| {
            s.baseline_decay * v + (1.0 - s.baseline_decay) * advantage * advantage
        });
        self.spread = Some(spread);
        self.baseline = Some(s.baseline_decay * baseline + (1.0 - s.baseline_decay) * reward);
        let scaled = if spread > 0.0 {
            advantage / spread.sqrt()
        } else {
            0.0
        };
        let gradient = self.gradient(genome, scaled);
        for (logit, g) in self.logits.iter_mut().zip(gradient) {
            *logit -= (s.learning_rate * f64::from(g)) as f32;
        }
    }

    fn state(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("the state serialises")
    }
}
