//! Random shapes and values inside ops' domains, for the gradient checks.

use ndarray::{ArrayD, IxDyn};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

/// A shape of rank `lo..=hi` with sizes 1..=4.
pub fn shape(rng: &mut StdRng, lo: usize, hi: usize) -> Vec<usize> {
    let rank = rng.gen_range(lo..=hi);
    (0..rank).map(|_| rng.gen_range(1..=4)).collect()
}

/// A shape that broadcasts against `s`: some leading axes dropped, some sizes set to 1.
pub fn broadcast_partner(rng: &mut StdRng, s: &[usize]) -> Vec<usize> {
    let drop = rng.gen_range(0..=s.len());
    s[drop..]
        .iter()
        .map(|&d| if rng.gen_bool(0.35) { 1 } else { d })
        .collect()
}

pub fn uniform(rng: &mut StdRng, s: &[usize], lo: f64, hi: f64) -> ArrayD<f64> {
    ArrayD::from_shape_simple_fn(IxDyn(s), || rng.gen_range(lo..hi))
}

/// Values in `(−2, 2)` at least `gap` away from every point of `kinks`.
pub fn away_from(rng: &mut StdRng, s: &[usize], kinks: &[f64], gap: f64) -> ArrayD<f64> {
    ArrayD::from_shape_simple_fn(IxDyn(s), || loop {
        let v = rng.gen_range(-2.0..2.0);
        if kinks.iter().all(|k| (v - k).abs() >= gap) {
            return v;
        }
    })
}

/// Distinct values, pairwise at least 0.2 apart (for max, sort, pooling: no ties within ε).
pub fn distinct(rng: &mut StdRng, s: &[usize]) -> ArrayD<f64> {
    let n: usize = s.iter().product();
    let mut ranks: Vec<usize> = (0..n).collect();
    ranks.shuffle(rng);
    let values = ranks
        .iter()
        .map(|&r| 0.25 * r as f64 - 0.125 * n as f64 + rng.gen_range(-0.02..0.02))
        .collect();
    ArrayD::from_shape_vec(IxDyn(s), values).unwrap()
}

/// Values on a grid of step 0.4 offset by `offset` (plus jitter ≤ 0.02): two grids with offsets
/// 0 and 0.2 never come closer than 0.16, so `max(a, b)` has no ties near any drawn point.
pub fn grid(rng: &mut StdRng, s: &[usize], offset: f64) -> ArrayD<f64> {
    ArrayD::from_shape_simple_fn(IxDyn(s), || {
        0.4 * rng.gen_range(-4..4) as f64 + offset + rng.gen_range(-0.02..0.02)
    })
}

pub fn axis(rng: &mut StdRng, s: &[usize]) -> isize {
    let a = rng.gen_range(0..s.len()) as isize;
    if rng.gen_bool(0.5) {
        a - s.len() as isize
    } else {
        a
    }
}
