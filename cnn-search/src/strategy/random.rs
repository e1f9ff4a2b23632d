//! Random search: the honest baseline.

use serde::{Deserialize, Serialize};

use super::{Draws, Genome, Strategy, uniform};

/// Every genome drawn uniformly, whatever the rewards.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct RandomSearch {
    choices: Vec<usize>,
    draws: Draws,
}

impl RandomSearch {
    pub fn new(choices: &[usize], seed: u64) -> Self {
        RandomSearch {
            choices: choices.to_vec(),
            draws: Draws::new(seed),
        }
    }
}

impl Strategy for RandomSearch {
    fn ask(&mut self) -> Genome {
        uniform(&self.choices, &mut self.draws.next())
    }

    fn tell(&mut self, _: &[usize], _: f64) {}

    fn state(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("the state serialises")
    }
}
