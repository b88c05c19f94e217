//! The typed divergences and the one `Reduction`: the KL's direction is the one its name says
//! (checked against a Monte-Carlo estimate of `E_q[log q − log p]`), the reductions differ by
//! the number of rows only, and shapes that used to broadcast silently are refused.

use autograd::functional::{
    cross_entropy, gaussian_nll, kl, soft_cross_entropy, squared_error, Categorical, DiagGaussian,
    Reduction,
};
use autograd::Tape;
use ndarray::{array, Array1};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

/// The closed form `KL(N(μ_a, σ_a²) ‖ N(μ_b, σ_b²))` summed over coordinates, in plain f64.
fn kl_by_hand(mu_a: &[f64], lv_a: &[f64], mu_b: &[f64], lv_b: &[f64]) -> f64 {
    (0..mu_a.len())
        .map(|j| {
            let d = mu_a[j] - mu_b[j];
            0.5 * (lv_b[j] - lv_a[j] + (lv_a[j].exp() + d * d) / lv_b[j].exp() - 1.0)
        })
        .sum()
}

/// The trap of `kl_diag_gaussian(mu_p, log_var_p, mu_q, log_var_q)`: four arguments of one
/// type, where swapping the pairs gave the reverse divergence without a word. With the pairs
/// bound into `DiagGaussian` values, `kl(&q, &p, ..)` is `KL(q ‖ p)` = `E_q[log q − log p]`,
/// which a Monte-Carlo estimate under `q` confirms; the reverse order is another number, far
/// outside the estimate's error.
#[test]
fn kl_direction_is_the_one_named_in_the_call() {
    let mut rng = StdRng::seed_from_u64(5);
    let mut draw = |scale: f64| -> Vec<f64> {
        (0..5)
            .map(|_| scale * rng.sample::<f64, _>(StandardNormal))
            .collect()
    };
    let (mu_q, lv_q, mu_p, lv_p) = (draw(1.0), draw(1.0), draw(1.0), draw(1.0));
    let tape = Tape::<f64>::new();
    let c = |v: &[f64]| tape.constant(Array1::from(v.to_vec()));
    let q = DiagGaussian::new(c(&mu_q), c(&lv_q)).unwrap();
    let p = DiagGaussian::new(c(&mu_p), c(&lv_p)).unwrap();
    let q_from_p = kl(&q, &p, Reduction::Sum).unwrap().item().unwrap();
    let p_from_q = kl(&p, &q, Reduction::Sum).unwrap().item().unwrap();
    // Same formula, a few ops in f64: within 1e-13 relative of the hand value.
    let want = kl_by_hand(&mu_q, &lv_q, &mu_p, &lv_p);
    assert!(
        (q_from_p - want).abs() <= 1e-13 * want,
        "{q_from_p} vs {want}"
    );

    // E_q[log q(x) − log p(x)] from N samples of q; the constant ln 2π cancels.
    let n = 200_000;
    let mut sampler = StdRng::seed_from_u64(6);
    let log_density = |x: f64, mu: f64, lv: f64| -0.5 * (lv + (x - mu).powi(2) / lv.exp());
    let values: Vec<f64> = (0..n)
        .map(|_| {
            (0..5)
                .map(|j| {
                    let x =
                        mu_q[j] + (0.5 * lv_q[j]).exp() * sampler.sample::<f64, _>(StandardNormal);
                    log_density(x, mu_q[j], lv_q[j]) - log_density(x, mu_p[j], lv_p[j])
                })
                .sum()
        })
        .collect();
    let mean = values.iter().sum::<f64>() / n as f64;
    let var = values.iter().map(|v| (v - mean).powi(2)).sum::<f64>() / (n - 1) as f64;
    let std_error = (var / n as f64).sqrt();
    println!(
        "KL(q‖p) = {q_from_p:.4}, KL(p‖q) = {p_from_q:.4}, Monte-Carlo E_q[log q − log p] = \
         {mean:.4} ± {std_error:.4}"
    );
    // 5 standard errors: a false failure has probability ≈ 6e-7.
    assert!((mean - q_from_p).abs() < 5.0 * std_error);
    assert!((mean - p_from_q).abs() > 100.0 * std_error);
}

/// `Reduction::Mean` divides by the rows of `q` (axis 0), `Sum` is the divergence of the joint
/// distributions; a `[]` prior broadcasts; a prior that does not broadcast to `q` is an error.
#[test]
fn gaussian_kl_reduces_over_the_rows_of_q() {
    let tape = Tape::<f64>::new();
    // Rows: (μ = 1, σ² = 1) twice → ½·1 each coordinate against N(0, 1); 2 rows × 3 coordinates.
    let q = DiagGaussian::new(tape.param(ndarray::Array2::ones((2, 3))), tape.scalar(0.0)).unwrap();
    let prior = DiagGaussian::standard(&tape);
    assert_eq!(kl(&q, &prior, Reduction::Sum).unwrap().item(), Some(3.0));
    assert_eq!(kl(&q, &prior, Reduction::Mean).unwrap().item(), Some(1.5));
    let wide = DiagGaussian::new(
        tape.constant(ndarray::Array2::zeros((4, 3))),
        tape.scalar(0.0),
    )
    .unwrap();
    let err = kl(&q, &wide, Reduction::Sum).unwrap_err().to_string();
    assert!(err.contains("kl (diagonal Gaussians)"), "{err}");
}

#[test]
fn categorical_kl_by_hand_and_shapes_checked() {
    let tape = Tape::<f64>::new();
    // Rows (¼, ¾) ‖ (½, ½) and (½, ½) ‖ (½, ½) = 0.
    let q = Categorical::from_logits(tape.param(array![[0.0, 3f64.ln()], [1.0, 1.0]])).unwrap();
    let p = Categorical::from_logits(tape.param(array![[2.0, 2.0], [0.0, 0.0]])).unwrap();
    let first = 0.25 * 0.5f64.ln() + 0.75 * 1.5f64.ln();
    let sum = kl(&q, &p, Reduction::Sum).unwrap().item().unwrap();
    let mean = kl(&q, &p, Reduction::Mean).unwrap().item().unwrap();
    assert!((sum - first).abs() < 1e-15 && (mean - first / 2.0).abs() < 1e-15);
    let three = Categorical::from_logits(tape.param(array![[0.0, 0.0, 0.0]])).unwrap();
    assert!(kl(&q, &three, Reduction::Sum).is_err());
    assert!(Categorical::from_logits(tape.scalar(1.0)).is_err());
    assert!(Categorical::from_logits_at(tape.param(array![1.0]), 0.0).is_err());
}

/// Every loss: `Sum` is `B` times `Mean`, with `B` the length of axis 0.
#[test]
fn every_loss_sums_or_averages_over_rows() {
    let tape = Tape::<f64>::new();
    let z = tape.param(array![[0.3, -1.0, 0.2], [1.5, 0.0, -0.7], [0.1, 0.1, 0.9]]);
    let t = tape.constant(array![[0.2, 0.3, 0.5], [0.6, 0.2, 0.2], [0.1, 0.1, 0.8]]);
    let dist = DiagGaussian::new(z, tape.param(array![0.1, -0.2, 0.3])).unwrap();
    let losses = |r: Reduction| {
        [
            cross_entropy(z, &[2, 0, 1], r).unwrap(),
            soft_cross_entropy(z, t, 2.0, r).unwrap(),
            squared_error(z, t, r).unwrap(),
            gaussian_nll(&dist, t, r).unwrap(),
            kl(
                &Categorical::from_logits(z).unwrap(),
                &Categorical::from_logits(t).unwrap(),
                r,
            )
            .unwrap(),
        ]
        .map(|l| l.item().unwrap())
    };
    let (sums, means) = (losses(Reduction::Sum), losses(Reduction::Mean));
    for (s, m) in sums.iter().zip(means) {
        // One multiplication by 1/3 apart: a few ulps.
        assert!((s - 3.0 * m).abs() <= 1e-14 * s.abs(), "{s} vs 3 × {m}");
    }
}

/// `squared_error` of a `[B, 1]` prediction against a `[B]` target would broadcast to a
/// `[B, B]` matrix of residuals (here rows summing to 28 instead of 0): it stays a shape error,
/// as `mse` was.
#[test]
fn squared_error_refuses_shapes_that_would_broadcast() {
    let tape = Tape::<f64>::new();
    let column = tape.param(array![[1.0], [2.0], [4.0]]);
    let vector = tape.constant(array![1.0, 2.0, 4.0]);
    let err = squared_error(column, vector, Reduction::Mean)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("squared_error") && err.contains("[3, 1], [3]"),
        "{err}"
    );
    let flat = column.reshape(&[3]).unwrap();
    assert_eq!(
        squared_error(flat, vector, Reduction::Mean).unwrap().item(),
        Some(0.0)
    );
}
