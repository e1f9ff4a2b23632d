//! The strategies learn: on a reward with a planted optimum, REINFORCE and regularized
//! evolution find better genomes than random search within the same budget.

use cnn_search::strategy::{Kind, Reinforce, ReinforceSettings, Strategy};

/// Twelve decisions of 2 to 5 options, like a small space's.
const CHOICES: [usize; 12] = [3, 4, 2, 5, 3, 3, 4, 2, 5, 3, 4, 3];
const TRIALS: usize = 60;
const SEEDS: u64 = 20;

/// The planted optimum of seed `seed`: a different one for each seed.
fn planted(seed: u64) -> Vec<usize> {
    CHOICES
        .iter()
        .enumerate()
        .map(|(d, &n)| (seed as usize * 7 + d * 3) % n)
        .collect()
}

/// The share of decisions that match the planted optimum: 1 at the optimum only.
fn reward(genome: &[usize], planted: &[usize]) -> f64 {
    let matches = genome.iter().zip(planted).filter(|(g, p)| g == p).count();
    matches as f64 / planted.len() as f64
}

/// The best reward a strategy found in `TRIALS` trials.
fn best(strategy: &mut dyn Strategy, planted: &[usize]) -> f64 {
    let mut best = f64::NEG_INFINITY;
    for _ in 0..TRIALS {
        let genome = strategy.ask();
        let r = reward(&genome, planted);
        strategy.tell(&genome, r);
        best = best.max(r);
    }
    best
}

fn mean_best(kind: Kind) -> f64 {
    let total: f64 = (0..SEEDS)
        .map(|seed| best(kind.start(&CHOICES, seed).as_mut(), &planted(seed)))
        .sum();
    total / SEEDS as f64
}

#[test]
fn reinforce_and_evolution_beat_random_search() {
    let [random, evolution, reinforce] = Kind::ALL.map(mean_best);
    println!(
        "mean best reward over {SEEDS} seeds, {TRIALS} trials: random {random:.3}, evolution {evolution:.3}, reinforce {reinforce:.3}"
    );
    // The margin is stated: at least 0.08 of the reward (about one decision in twelve).
    assert!(
        evolution > random + 0.08,
        "evolution {evolution:.3} vs random {random:.3}"
    );
    assert!(
        reinforce > random + 0.08,
        "reinforce {reinforce:.3} vs random {random:.3}"
    );
}

#[test]
fn reinforce_moves_probability_onto_the_planted_choices() {
    let planted = planted(3);
    let mut policy = Reinforce::new(&CHOICES, 3, ReinforceSettings::default());
    let on_planted = |p: &Reinforce| -> f64 {
        p.probabilities()
            .iter()
            .zip(&planted)
            .map(|(q, &c)| q[c])
            .sum::<f64>()
            / planted.len() as f64
    };
    let before = on_planted(&policy);
    best(&mut policy, &planted);
    let after = on_planted(&policy);
    println!("mean probability of the planted choices: {before:.3} before, {after:.3} after");
    assert!(after > before + 0.1, "before {before:.3}, after {after:.3}");
}

#[test]
fn the_same_seed_and_rewards_give_the_same_proposals_after_a_restore() {
    for kind in Kind::ALL {
        let planted = planted(5);
        let mut a = kind.start(&CHOICES, 9);
        let mut proposals = Vec::new();
        for _ in 0..25 {
            let genome = a.ask();
            a.tell(&genome, reward(&genome, &planted));
            proposals.push(genome);
        }
        // The same run, stopped and restored from its saved state every step.
        let mut state = kind.start(&CHOICES, 9).state();
        for expected in &proposals {
            let mut b = kind.restore(state).unwrap();
            let genome = b.ask();
            assert_eq!(&genome, expected, "{}", kind.name());
            b.tell(&genome, reward(&genome, &planted));
            state = b.state();
        }
    }
}
