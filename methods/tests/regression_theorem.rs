//! The weighted least-squares solver and the S4 regression theorem.

use autograd::Tape;
use methods::distill::checks::{check_regression_theorem, RegressionTheoremConfig};
use methods::distill::{
    prob_regression_loss, solve_prob_regression, weighted_least_squares, wls_form, IndexSet,
    ProbRegressionConfig, Reduction,
};
use methods::Error;
use ndarray::{array, Array1, Array2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

#[test]
fn wls_two_by_two_by_hand() {
    // X = [[1,0],[0,1],[1,1]], d = (1,2,1), y'' = (1,2,4):
    // XᵀDX = [[2,1],[1,3]], XᵀDy'' = (1 + 4, 4 + 4) = (5, 8), det = 5,
    // w = (1/5)[[3,−1],[−1,2]](5, 8) = (7/5, 11/5).
    let x = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
    let sol = weighted_least_squares(
        x.view(),
        array![1.0, 2.0, 1.0].view(),
        array![1.0, 2.0, 4.0].view(),
    )
    .unwrap();
    // Cholesky of a 2×2 with κ ≈ 2.6: a few ulps.
    assert!(
        (sol.w[0] - 1.4).abs() < 1e-14 && (sol.w[1] - 2.2).abs() < 1e-14,
        "{:?}",
        sol.w
    );
    // eigenvalues of [[2,1],[1,3]]: (5 ± √5)/2
    assert!((sol.eigen_min - (5.0 - 5f64.sqrt()) / 2.0).abs() < 1e-14);
    assert!((sol.eigen_max - (5.0 + 5f64.sqrt()) / 2.0).abs() < 1e-14);
}

#[test]
fn wls_reports_singular_and_malformed_systems_as_errors() {
    // Rank 1: the second column is twice the first.
    let x = array![[1.0, 2.0], [2.0, 4.0], [3.0, 6.0]];
    let ones = Array1::from_elem(3, 1.0);
    let err = weighted_least_squares(x.view(), ones.view(), ones.view()).unwrap_err();
    assert!(matches!(err, Error::Singular { .. }), "{err}");
    // Full-rank X, but the only object that sees feature 2 has weight 0.
    let x = array![[1.0, 0.0], [0.0, 1.0]];
    let d = array![1.0, 0.0];
    let err = weighted_least_squares(x.view(), d.view(), d.view()).unwrap_err();
    assert!(matches!(err, Error::Singular { .. }), "{err}");
    // Nearly collinear: X = [[1, 1], [0, t]], t = 2e-8. Equilibrated, XᵀX has off-diagonal
    // 1/√(1 + t²) ≈ 1 − 2e-16: eigenvalues 2 and ≈ 2e-16, κ ≈ 1e16 > 1/(2 · 2.2e-16). Cholesky
    // alone would succeed (pivot ≈ 4e-16 > 0) and return digits that mean nothing.
    let x = array![[1.0, 1.0], [0.0, 2e-8]];
    let y = array![1.0, 1.0];
    let err = weighted_least_squares(x.view(), y.view(), y.view()).unwrap_err();
    assert!(matches!(err, Error::Singular { .. }), "{err}");
    // Badly scaled but well-posed: X = diag(1, 1e-9) has κ(XᵀX) = 1e18 but is solved exactly
    // after equilibration: w = (1, 1e9) for y'' = (1, 1).
    let x = array![[1.0, 0.0], [0.0, 1e-9]];
    let sol = weighted_least_squares(x.view(), y.view(), y.view()).unwrap();
    assert!(
        (sol.w[0] - 1.0).abs() < 1e-15 && (sol.w[1] / 1e9 - 1.0).abs() < 1e-15,
        "{:?}",
        sol.w
    );
    assert!(sol.scaled_condition < 1.0 + 1e-12);
    // Negative weight, NaN target, wrong lengths, no columns.
    let x = array![[1.0, 0.0], [0.0, 1.0]];
    let y = array![1.0, 1.0];
    assert!(matches!(
        weighted_least_squares(x.view(), array![1.0, -1.0].view(), y.view()),
        Err(Error::Config { .. })
    ));
    assert!(weighted_least_squares(x.view(), y.view(), array![1.0, f64::NAN].view()).is_err());
    assert!(weighted_least_squares(x.view(), array![1.0].view(), y.view()).is_err());
    let empty = Array2::<f64>::zeros((2, 0));
    assert!(weighted_least_squares(empty.view(), y.view(), y.view()).is_err());
}

#[test]
fn wls_form_by_hand() {
    // y = (1, 2), I = {1} with s_1 = 4, λ = 1/4, σ = 2, σ_s = 1:
    // σ'_0 = σ² = 4, y''_0 = σ² y_0 / σ'_0 = 1;
    // σ'_1 = (3/4)·4 + (1/4)·1 = 3.25, y'_1 = (3/4)·4·2 + (1/4)·1·4 = 7, y''_1 = 7/3.25.
    let cfg = ProbRegressionConfig {
        lambda: 0.25,
        sigma: 2.0,
        sigma_s: 1.0,
        reduction: Reduction::Mean,
    };
    let index = IndexSet::from_indices(2, &[1]).unwrap();
    let form = wls_form(array![1.0, 2.0].view(), array![4.0].view(), &index, &cfg).unwrap();
    assert_eq!(form.weights, array![4.0, 3.25]);
    assert!((form.targets[0] - 1.0).abs() < 1e-15);
    assert!((form.targets[1] - 7.0 / 3.25).abs() < 1e-15);
    assert!(wls_form(
        array![1.0, 2.0].view(),
        array![4.0, 5.0].view(),
        &index,
        &cfg
    )
    .is_err());
}

/// The identity behind the theorem: L(w) − Σ_i σ'_i (y''_i − x_iᵀw)² does not depend on w
/// (`L` the objective as the seed writes it, `Reduction::Sum`).
#[test]
fn objective_minus_weighted_squares_is_constant_in_w() {
    let mut rng = StdRng::seed_from_u64(7);
    let (n, p) = (9, 3);
    let x = Array2::from_shape_simple_fn((n, p), || rng.sample::<f64, _>(StandardNormal));
    let y = Array1::from_shape_simple_fn(n, || rng.sample::<f64, _>(StandardNormal));
    let index = IndexSet::from_indices(n, &[0, 4, 5, 8]).unwrap();
    let s = Array1::from_shape_simple_fn(4, || rng.sample::<f64, _>(StandardNormal));
    let cfg = ProbRegressionConfig {
        lambda: 0.7,
        sigma: 1.3,
        sigma_s: 0.4,
        reduction: Reduction::Sum,
    };
    let form = wls_form(y.view(), s.view(), &index, &cfg).unwrap();
    let gap = |w: &Array1<f64>| {
        let tape = Tape::<f64>::new();
        let pred = tape.constant(x.dot(w));
        let loss = prob_regression_loss(
            pred,
            tape.constant(y.clone()),
            tape.constant(s.clone()),
            &index,
            &cfg,
        )
        .unwrap()
        .item()
        .unwrap();
        let r = &form.targets - &x.dot(w);
        loss - (&form.weights * &r * &r).sum()
    };
    let first = gap(&Array1::zeros(p));
    for _ in 0..5 {
        let w = Array1::from_shape_simple_fn(p, || 3.0 * rng.sample::<f64, _>(StandardNormal));
        let g = gap(&w);
        // Both sides are sums of ~10 terms of size ≲ 1e2: rounding ≲ 1e-12.
        assert!((g - first).abs() < 1e-10, "{g} vs {first}");
    }
}

#[test]
fn regression_theorem_holds_on_random_instances() {
    let outcome = check_regression_theorem(&RegressionTheoremConfig::default()).unwrap();
    println!("{outcome}");
    assert!(outcome.passed, "{outcome}");
    assert!(outcome.measured <= outcome.tolerance);
}

/// The check can fail: the closed form with the teacher ignored (plain least squares on the
/// labels, weight σ² everywhere) differs from the distilled minimiser far beyond the tolerance.
#[test]
fn regression_theorem_check_separates_a_wrong_closed_form() {
    let mut rng = StdRng::seed_from_u64(3);
    let (n, p) = (30, 3);
    let x = Array2::from_shape_simple_fn((n, p), || rng.sample::<f64, _>(StandardNormal));
    let y = Array1::from_shape_simple_fn(n, || rng.sample::<f64, _>(StandardNormal));
    let index = IndexSet::from_mask((0..n).map(|i| i % 2 == 0).collect());
    let s = Array1::from_shape_simple_fn(index.len(), || rng.sample::<f64, _>(StandardNormal));
    let cfg = ProbRegressionConfig {
        lambda: 0.5,
        sigma: 1.0,
        sigma_s: 1.5,
        reduction: Reduction::Mean,
    };
    let right = solve_prob_regression(x.view(), y.view(), s.view(), &index, &cfg).unwrap();
    let ones = Array1::from_elem(n, 1.0);
    let wrong = weighted_least_squares(x.view(), ones.view(), y.view()).unwrap();
    let d = &right.w - &wrong.w;
    let rel = d.dot(&d).sqrt() / right.w.dot(&right.w).sqrt();
    assert!(
        rel > 1e3 * RegressionTheoremConfig::default().tolerance,
        "{rel}"
    );
}

#[test]
fn regression_theorem_check_refuses_bad_configs() {
    let cfg = RegressionTheoremConfig {
        samples: 2,
        features: 3,
        ..RegressionTheoremConfig::default()
    };
    assert!(check_regression_theorem(&cfg).is_err());
}

#[test]
fn regression_theorem_check_fails_when_descent_stops_early() {
    let cfg = RegressionTheoremConfig {
        max_steps: 3,
        ..RegressionTheoremConfig::default()
    };
    let outcome = check_regression_theorem(&cfg).unwrap();
    assert!(!outcome.passed, "{outcome}");
    assert!(outcome.detail.contains("did not converge"));
}

/// `covariance()` is `(XᵀDX)^{-1}`: by hand on the 2×2 case, and `A·Σ = I` on a badly scaled
/// system (`X = diag(1, 1e-9)`, κ(XᵀX) = 1e18) that the factor of the equilibrated matrix
/// inverts exactly — the inverse computed by factoring `A` itself would carry no digit.
#[test]
fn wls_covariance_is_the_inverse_normal_matrix() {
    let x = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
    let sol = weighted_least_squares(
        x.view(),
        array![1.0, 2.0, 1.0].view(),
        array![1.0, 2.0, 4.0].view(),
    )
    .unwrap();
    // (1/5)[[3, −1], [−1, 2]]; κ ≈ 2.6, a few ulps.
    let want = array![[0.6, -0.2], [-0.2, 0.4]];
    let cov = sol.covariance();
    assert!(
        cov.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-15),
        "{cov}"
    );

    let x = array![[1.0, 0.0], [0.0, 1e-9]];
    let ones = array![1.0, 1.0];
    let cov = weighted_least_squares(x.view(), ones.view(), ones.view())
        .unwrap()
        .covariance();
    // diag(1, 1e18): each entry within a few ulps of its own size.
    assert!((cov[[0, 0]] - 1.0).abs() < 1e-15 && (cov[[1, 1]] / 1e18 - 1.0).abs() < 1e-15);
    assert!(cov[[0, 1]] == 0.0 && cov[[1, 0]] == 0.0, "{cov}");
}

/// The Bayesian reading: for `y'' = X w + ε`, `ε ~ N(0, D^{-1})`, the posterior covariance of `w`
/// under a flat prior equals the sampling covariance of the estimate `ŵ` over noise draws. Both
/// are estimated here, the second from 20,000 draws of the noise, each solved by
/// `weighted_least_squares`.
#[test]
fn wls_covariance_matches_the_spread_of_the_estimate() {
    let mut rng = StdRng::seed_from_u64(11);
    let (n, p) = (12, 3);
    let x = Array2::from_shape_simple_fn((n, p), || rng.sample::<f64, _>(StandardNormal));
    let d = Array1::from_shape_simple_fn(n, || rng.gen_range(0.5f64..4.0));
    let w_true = array![1.0, -2.0, 0.5];
    let mean_target = x.dot(&w_true);
    let draws = 20_000;
    let estimates: Vec<Array1<f64>> = (0..draws)
        .map(|_| {
            let y = Array1::from_shape_fn(n, |i| {
                mean_target[i] + rng.sample::<f64, _>(StandardNormal) / d[i].sqrt()
            });
            weighted_least_squares(x.view(), d.view(), y.view())
                .unwrap()
                .w
        })
        .collect();
    let cov = weighted_least_squares(x.view(), d.view(), mean_target.view())
        .unwrap()
        .covariance();
    let mean = estimates.iter().fold(Array1::<f64>::zeros(p), |a, w| a + w) / draws as f64;
    for j in 0..p {
        for k in 0..p {
            let sample = estimates
                .iter()
                .map(|w| (w[j] - mean[j]) * (w[k] - mean[k]))
                .sum::<f64>()
                / (draws - 1) as f64;
            // Standard error of a Gaussian sample covariance: √((Σ_jj Σ_kk + Σ_jk²) / N);
            // 5 of them, over 9 entries: a false failure has probability ≈ 5e-6.
            let se = ((cov[[j, j]] * cov[[k, k]] + cov[[j, k]].powi(2)) / draws as f64).sqrt();
            assert!(
                (sample - cov[[j, k]]).abs() < 5.0 * se,
                "({j},{k}): sample {sample} vs covariance() {} (se {se})",
                cov[[j, k]]
            );
        }
    }
}
