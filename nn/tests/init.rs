//! Initialisers: each draws what its formula says. Statistical checks use 200,000 draws, so a
//! sample standard deviation is within ≈ 0.4 % of the true one at 5 standard errors
//! (relative s.e. of a std estimate ≈ 1/√(2n) ≈ 0.16 %).

use nn::init::{fans, Init, RELU_GAIN};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn draw(init: Init, shape: &[usize]) -> Vec<f64> {
    let t = init.sample::<f64>(shape, fans(shape), &mut StdRng::seed_from_u64(1));
    t.iter().copied().collect()
}

fn std_of(v: &[f64]) -> f64 {
    let mean = v.iter().sum::<f64>() / v.len() as f64;
    (v.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
}

const SHAPE: [usize; 2] = [400, 500]; // fan_in 500, fan_out 400, 200,000 draws
const REL: f64 = 0.008; // 5 relative standard errors of a std estimate (5 × 0.16 %)

#[test]
fn fans_follow_the_out_in_kernel_layout() {
    assert_eq!(fans(&[800, 784]), (784, 800));
    assert_eq!(fans(&[16, 6, 5, 5]), (150, 400));
    assert_eq!(fans(&[10]), (1, 10));
}

#[test]
fn uniform_initialisers_have_their_bounds_and_spread() {
    // U(−b, b) has standard deviation b/√3
    for (init, bound) in [
        (Init::TorchDefault, 1.0 / 500f64.sqrt()),
        (
            Init::KaimingUniform { gain: RELU_GAIN },
            RELU_GAIN * (3.0 / 500.0f64).sqrt(),
        ),
        (Init::XavierUniform { gain: 1.0 }, (6.0 / 900.0f64).sqrt()),
    ] {
        let v = draw(init, &SHAPE);
        assert!(
            v.iter().all(|x| x.abs() <= bound),
            "{init:?} exceeds ±{bound}"
        );
        let want = bound / 3f64.sqrt();
        assert!(
            (std_of(&v) / want - 1.0).abs() < REL,
            "{init:?}: std {} vs {want}",
            std_of(&v)
        );
    }
}

#[test]
fn normal_initialisers_have_their_spread() {
    for (init, want) in [
        (
            Init::KaimingNormal { gain: RELU_GAIN },
            RELU_GAIN / 500f64.sqrt(),
        ),
        (
            Init::XavierNormal { gain: 2.0 },
            2.0 * (2.0 / 900.0f64).sqrt(),
        ),
    ] {
        let v = draw(init, &SHAPE);
        assert!(
            (std_of(&v) / want - 1.0).abs() < REL,
            "{init:?}: std {} vs {want}",
            std_of(&v)
        );
    }
}

/// `W Wᵀ = gain² I` for a wide matrix (orthonormal rows) and `Wᵀ W = gain² I` for a tall one
/// (orthonormal columns), to f64 round-off of Gram–Schmidt on a few dozen vectors.
#[test]
fn orthogonal_init_has_orthonormal_rows_or_columns() {
    for (rows, cols) in [(5, 12), (12, 5), (7, 7)] {
        let gain = 1.5;
        let w = ndarray::Array2::from_shape_vec(
            (rows, cols),
            draw(Init::Orthogonal { gain }, &[rows, cols]),
        )
        .unwrap();
        let gram = if rows <= cols {
            w.dot(&w.t())
        } else {
            w.t().dot(&w)
        };
        for ((i, j), &g) in gram.indexed_iter() {
            let want = if i == j { gain * gain } else { 0.0 };
            assert!(
                (g - want).abs() < 1e-12,
                "({rows}×{cols}) gram[{i},{j}] = {g}"
            );
        }
    }
}

#[test]
fn constant_and_determinism() {
    assert!(draw(Init::Constant(0.25), &[3, 4])
        .iter()
        .all(|&x| x == 0.25));
    assert_eq!(
        draw(Init::KaimingNormal { gain: 1.0 }, &[8, 8]),
        draw(Init::KaimingNormal { gain: 1.0 }, &[8, 8])
    );
}
