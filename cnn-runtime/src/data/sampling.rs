//! Seeded, class-stratified choice of image indices (for subsets and validation splits).

use rand::SeedableRng;
use rand::rngs::StdRng;
use rand::seq::SliceRandom;

/// How many images to carve out of a set: a fraction of it or an exact count.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum SplitSize {
    /// A fraction in `[0, 1]` of the set (rounded to the nearest image).
    Fraction(f64),
    /// An exact number of images (capped at the set's size).
    Count(usize),
}

impl SplitSize {
    pub(crate) fn resolve(self, len: usize) -> usize {
        match self {
            SplitSize::Fraction(f) => (f.clamp(0.0, 1.0) * len as f64).round() as usize,
            SplitSize::Count(n) => n.min(len),
        }
    }
}

impl From<f64> for SplitSize {
    fn from(fraction: f64) -> Self {
        SplitSize::Fraction(fraction)
    }
}

impl From<usize> for SplitSize {
    fn from(count: usize) -> Self {
        SplitSize::Count(count)
    }
}

/// `n` indices into `labels`, in increasing order, chosen at random (seeded) within each class
/// so that every class keeps its share of the set (largest-remainder rounding).
pub(crate) fn stratified(labels: &[u16], classes: usize, n: usize, seed: u64) -> Vec<usize> {
    let len = labels.len();
    let n = n.min(len);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &label) in labels.iter().enumerate() {
        by_class[label as usize].push(i);
    }
    let quotas = quotas(&by_class.iter().map(Vec::len).collect::<Vec<_>>(), n);
    let mut rng = StdRng::seed_from_u64(seed);
    let mut chosen = Vec::with_capacity(n);
    for (members, quota) in by_class.iter_mut().zip(quotas) {
        // Shuffling every class, even one with a zero quota, keeps the random stream (and so
        // the choice in later classes) independent of `n`'s rounding in earlier ones.
        members.shuffle(&mut rng);
        chosen.extend_from_slice(&members[..quota]);
    }
    chosen.sort_unstable();
    chosen
}

/// Per-class counts summing to `n`, proportional to `counts`.
fn quotas(counts: &[usize], n: usize) -> Vec<usize> {
    let total: usize = counts.iter().sum();
    if total == 0 {
        return vec![0; counts.len()];
    }
    let mut quotas: Vec<usize> = counts.iter().map(|&c| c * n / total).collect();
    let mut left = n - quotas.iter().sum::<usize>();
    // Hand the remaining images to the largest remainders; ties go to the lower class.
    let mut order: Vec<usize> = (0..counts.len()).collect();
    order.sort_by_key(|&k| std::cmp::Reverse(counts[k] * n % total));
    for k in order {
        if left == 0 {
            break;
        }
        if quotas[k] < counts[k] {
            quotas[k] += 1;
            left -= 1;
        }
    }
    quotas
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotas_are_proportional_and_sum_to_n() {
        assert_eq!(quotas(&[980, 1135, 1032], 100), vec![31, 36, 33]);
        assert_eq!(quotas(&[5, 5, 0], 3), vec![2, 1, 0]);
        assert_eq!(quotas(&[1, 1], 2), vec![1, 1]);
    }

    #[test]
    fn stratified_is_seeded_sorted_and_balanced() {
        let labels: Vec<u16> = (0..100).map(|i| (i % 4) as u16).collect();
        let a = stratified(&labels, 4, 20, 7);
        assert_eq!(a, stratified(&labels, 4, 20, 7));
        assert_ne!(a, stratified(&labels, 4, 20, 8));
        assert!(a.windows(2).all(|w| w[0] < w[1]));
        for class in 0..4 {
            assert_eq!(a.iter().filter(|&&i| labels[i] == class).count(), 5);
        }
        assert_eq!(SplitSize::from(0.25).resolve(10), 3);
        assert_eq!(SplitSize::from(50usize).resolve(10), 10);
    }
}
