//! Inputs of the gradient checks: seeded values inside each op's domain, kept away from kinks
//! and ties by margins far larger than the finite-difference step (1e-6), so that every
//! checked function is smooth within ±ε of every point.

use ndarray::{ArrayD, IxDyn};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use crate::experiment::seed_stream;

/// The seed every check's inputs derive from (with the check's name as the stream).
pub const SEED: u64 = 20_240_601;

/// The random stream of the check called `name`.
pub fn rng_for(name: &str) -> StdRng {
    seed_stream(SEED, name)
}

/// Uniform values in `[lo, hi)`.
pub fn uniform(rng: &mut StdRng, shape: &[usize], lo: f64, hi: f64) -> ArrayD<f64> {
    ArrayD::from_shape_simple_fn(IxDyn(shape), || rng.gen_range(lo..hi))
}

/// Values in `(−2, 2)`, each at least `gap` from every point of `kinks`.
pub fn away_from(rng: &mut StdRng, shape: &[usize], kinks: &[f64], gap: f64) -> ArrayD<f64> {
    ArrayD::from_shape_simple_fn(IxDyn(shape), || loop {
        let v = rng.gen_range(-2.0..2.0);
        if kinks.iter().all(|k| (v - k).abs() >= gap) {
            return v;
        }
    })
}

/// Distinct values, pairwise at least 0.2 apart (max, sort, pooling: no ties within ε).
pub fn distinct(rng: &mut StdRng, shape: &[usize]) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    let mut ranks: Vec<usize> = (0..n).collect();
    ranks.shuffle(rng);
    let values = ranks
        .iter()
        .map(|&r| 0.25 * r as f64 - 0.125 * n as f64 + rng.gen_range(-0.02..0.02))
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), values).expect("n values for the shape")
}

/// Values on a grid of step 0.4 shifted by `offset`, jittered by at most 0.02: grids with
/// offsets 0 and 0.2 stay at least 0.16 apart, so `max(a, b)` has no tie near any point.
pub fn grid(rng: &mut StdRng, shape: &[usize], offset: f64) -> ArrayD<f64> {
    ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        0.4 * f64::from(rng.gen_range(-4i32..4)) + offset + rng.gen_range(-0.02..0.02)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn distinct_values_are_far_apart_and_grids_never_tie() {
        let mut rng = rng_for("t");
        let mut v: Vec<f64> = distinct(&mut rng, &[3, 4]).iter().copied().collect();
        v.sort_by(f64::total_cmp);
        assert!(v.windows(2).all(|w| w[1] - w[0] >= 0.2), "{v:?}");
        let a = grid(&mut rng, &[50], 0.0);
        let b = grid(&mut rng, &[50], 0.2);
        for x in &a {
            assert!(b.iter().all(|y| (x - y).abs() >= 0.15));
        }
        let kinked = away_from(&mut rng, &[100], &[0.0], 0.1);
        assert!(kinked.iter().all(|x| x.abs() >= 0.1));
    }
}
