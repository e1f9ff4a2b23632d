//! How the next architecture is chosen: random search, regularized evolution and REINFORCE,
//! behind one ask/tell interface.
//!
//! A strategy sees only genomes (one option index per [`Decision`](crate::Decision)) and
//! rewards. Its whole state, random generator included, is a JSON value that the study keeps
//! in its database, so any worker can continue it, and the same seed and the same rewards give
//! the same proposals.

mod evolution;
mod random;
mod reinforce;

use rand::SeedableRng;
use rand::rngs::StdRng;
use serde::{Deserialize, Serialize};

pub use evolution::{Evolution, EvolutionSettings};
pub use random::RandomSearch;
pub use reinforce::{Reinforce, ReinforceSettings};

/// One option index per decision.
pub type Genome = Vec<usize>;

/// Proposes genomes and learns from their rewards.
pub trait Strategy {
    /// The next genome to evaluate.
    fn ask(&mut self) -> Genome;
    /// The reward one of its genomes earned (in any order, once each).
    fn tell(&mut self, genome: &[usize], reward: f64);
    /// Everything needed to continue: [`Kind::restore`] takes it back.
    fn state(&self) -> serde_json::Value;
}

/// The strategies a study can use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Kind {
    Random,
    Evolution,
    Reinforce,
}

impl Kind {
    pub const ALL: [Kind; 3] = [Kind::Random, Kind::Evolution, Kind::Reinforce];

    pub fn name(self) -> &'static str {
        match self {
            Kind::Random => "random",
            Kind::Evolution => "evolution",
            Kind::Reinforce => "reinforce",
        }
    }

    pub fn from_name(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.name() == name)
    }

    /// A new strategy over decisions with `choices` options each.
    pub fn start(self, choices: &[usize], seed: u64) -> Box<dyn Strategy> {
        match self {
            Kind::Random => Box::new(RandomSearch::new(choices, seed)),
            Kind::Evolution => {
                Box::new(Evolution::new(choices, seed, EvolutionSettings::default()))
            }
            Kind::Reinforce => {
                Box::new(Reinforce::new(choices, seed, ReinforceSettings::default()))
            }
        }
    }

    /// The strategy a [`Strategy::state`] describes.
    pub fn restore(self, state: serde_json::Value) -> Result<Box<dyn Strategy>, serde_json::Error> {
        Ok(match self {
            Kind::Random => Box::new(serde_json::from_value::<RandomSearch>(state)?),
            Kind::Evolution => Box::new(serde_json::from_value::<Evolution>(state)?),
            Kind::Reinforce => Box::new(serde_json::from_value::<Reinforce>(state)?),
        })
    }
}

/// A seeded generator and how many draws it made, serialisable as two numbers: each draw
/// uses a generator seeded from both, so a restored one continues the same sequence.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct Draws {
    seed: u64,
    count: u64,
}

impl Draws {
    pub(crate) fn new(seed: u64) -> Self {
        Draws { seed, count: 0 }
    }

    /// A generator for the next draw.
    pub(crate) fn next(&mut self) -> StdRng {
        self.count += 1;
        let mixed = self.seed ^ self.count.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        StdRng::seed_from_u64(mixed)
    }
}

/// A uniformly random genome.
pub(crate) fn uniform(choices: &[usize], rng: &mut StdRng) -> Genome {
    use rand::RngExt;
    choices
        .iter()
        .map(|&n| rng.random_range(0..n.max(1)))
        .collect()
}
