//! Regularized (aging) evolution, after Real et al. (2019): tournaments over a population
//! from which the oldest member, not the worst, leaves.

use std::collections::VecDeque;

use rand::RngExt;
use serde::{Deserialize, Serialize};

use super::{Draws, Genome, Strategy, uniform};

#[derive(Debug, Clone, Copy, Serialize, Deserialize)]
pub struct EvolutionSettings {
    /// How many of the latest results compete; until that many arrived, proposals are random.
    pub population: usize,
    /// How many members each tournament samples.
    pub sample: usize,
}

impl Default for EvolutionSettings {
    fn default() -> Self {
        EvolutionSettings {
            population: 10,
            sample: 3,
        }
    }
}

/// Proposes a mutation of the best of a random sample of the population.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Evolution {
    choices: Vec<usize>,
    settings: EvolutionSettings,
    population: VecDeque<(Genome, f64)>,
    draws: Draws,
}

impl Evolution {
    pub fn new(choices: &[usize], seed: u64, settings: EvolutionSettings) -> Self {
        Evolution {
            choices: choices.to_vec(),
            settings,
            population: VecDeque::new(),
            draws: Draws::new(seed),
        }
    }
}

impl Strategy for Evolution {
    fn ask(&mut self) -> Genome {
        let mut rng = self.draws.next();
        if self.population.len() < self.settings.population {
            return uniform(&self.choices, &mut rng);
        }
        let parent = (0..self.settings.sample.max(1))
            .map(|_| &self.population[rng.random_range(0..self.population.len())])
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .expect("the sample is not empty");
        let mut child = parent.0.clone();
        let mutable: Vec<usize> = (0..self.choices.len())
            .filter(|&d| self.choices[d] > 1)
            .collect();
        if !mutable.is_empty() {
            let d = mutable[rng.random_range(0..mutable.len())];
            // Another option than the parent's: a shift of 1..n-1, modulo n.
            child[d] = (child[d] + rng.random_range(1..self.choices[d])) % self.choices[d];
        }
        child
    }

    fn tell(&mut self, genome: &[usize], reward: f64) {
        self.population.push_back((genome.to_vec(), reward));
        if self.population.len() > self.settings.population {
            self.population.pop_front();
        }
    }

    fn state(&self) -> serde_json::Value {
        serde_json::to_value(self).expect("the state serialises")
    }
}
