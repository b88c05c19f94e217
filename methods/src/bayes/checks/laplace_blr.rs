//! The Laplace approximation on Bayesian linear regression, whose posterior is Gaussian: the
//! approximation must be exact there.

use ndarray::{Array1, Array2};
use nn::layers::Activation;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::{CheckKind, CheckOutcome};
use crate::bayes::gaussian::Form;
use crate::bayes::laplace::{laplace, Curvature, DiagonalEstimator, LaplaceConfig, Structure};
use crate::bayes::likelihood::{Likelihood, Targets};
use crate::bayes::linalg::{first_column, to_faer, Jitter};
use crate::bayes::mlp::NoBiasMlp;
use crate::{Error, Result};

/// The regression problem.
#[derive(Clone, Debug, PartialEq)]
pub struct LaplaceBlrConfig {
    /// Objects `N`. Default 60.
    pub samples: usize,
    /// Features `n`. Default 5.
    pub features: usize,
    /// Noise variance `$s^{2}$`. Default 0.5.
    pub noise_var: f64,
    /// Prior precision `$\alpha$`. Default 2.
    pub prior_precision: f64,
    /// Seed. Default 11.
    pub seed: u64,
    /// Pass when every precision and mean differs from the exact one by at most this, relative to
    /// the largest entry. Default 1e-10: the exact precision is a sum of `N` products (rounding ≲
    /// `$N \cdot 1.1e-16$` relative), the mean a Cholesky solve with `$\kappa ≲ 10^{2}$`.
    pub tolerance: f64,
}

impl Default for LaplaceBlrConfig {
    fn default() -> Self {
        LaplaceBlrConfig {
            samples: 60,
            features: 5,
            noise_var: 0.5,
            prior_precision: 2.0,
            seed: 11,
            tolerance: 1e-10,
        }
    }
}

/// Bayesian linear regression `$y = \mathrm{Xw} + \varepsilon$`, `$\varepsilon \sim \mathcal{N}(0,
/// s^{2} I)$`, prior `$w \sim \mathcal{N}(0, \alpha^{-1} I)$`: the exact posterior is
/// `$\mathcal{N}(m, \Lambda^{-1})$` with `$\Lambda = X^{\top}X / s^{2} + \alpha I$` and `$m =
/// \Lambda^{-1} X^{\top} y / s^{2}$`. The teacher is the one-layer no-bias network `$f(x) =
/// w^{\top}x$` at `$w = m$` (the posterior mode).
///
/// Compared with the exact `$\Lambda$`: the Laplace precision with the exact Hessian
/// (Hessian-vector products) and with the GGN, full and diagonal (the negative log posterior is
/// quadratic, so its Hessian is `$\Lambda$` everywhere, and the GGN equals the Hessian for a model
/// linear in `w`); and K-FAC with `$\alpha = 0$` against `$X^{\top}X / s^{2}$` (one output: `$G =
/// N/s^{2}$` is a scalar and the Kronecker product is exact; with `$\alpha > 0$` the damped factors
/// are an approximation by design). Also: the gradient of the negative log posterior at `m`
/// (`$\|\nabla \|$` relative to `$\|X^{\top}y\|/s^{2}$`), which must vanish (the mean of the
/// Laplace posterior is the mode). Measured: the largest of these relative errors.
pub fn check_laplace_blr(cfg: &LaplaceBlrConfig) -> Result<CheckOutcome> {
    let (n, p) = (cfg.samples, cfg.features);
    if n == 0 || p == 0 || !(cfg.noise_var > 0.0 && cfg.prior_precision > 0.0) {
        return Err(Error::config(
            "Laplace BLR check",
            "needs N, n ≥ 1 and s², α > 0",
        ));
    }
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let x = Array2::from_shape_simple_fn((n, p), || rng.sample::<f64, _>(StandardNormal));
    let w_true = Array1::from_shape_simple_fn(p, || rng.sample::<f64, _>(StandardNormal));
    let noise = Array1::from_shape_simple_fn(n, || rng.sample::<f64, _>(StandardNormal));
    let y = (x.dot(&w_true) + noise * cfg.noise_var.sqrt()).insert_axis(ndarray::Axis(1));
    let (s2, alpha) = (cfg.noise_var, cfg.prior_precision);
    let xtx = x.t().dot(&x) / s2;
    let exact = &xtx + &(Array2::<f64>::eye(p) * alpha);
    let rhs = x.t().dot(&y.column(0)) / s2;
    let chol =
        crate::bayes::linalg::cholesky(&to_faer(exact.view()), "XᵀX/s² + αI", Jitter::Never)?;
    let m = first_column(&chol.solve(&crate::bayes::linalg::column(rhs.iter().copied())));
    let teacher = NoBiasMlp::new(
        vec![m.clone().insert_axis(ndarray::Axis(0))],
        Activation::Identity,
    )?;
    let base = LaplaceConfig {
        likelihood: Likelihood::Gaussian { noise_var: s2 },
        prior_precision: alpha,
        ..LaplaceConfig::default()
    };
    let max_abs = |a: &Array2<f64>| a.iter().fold(0.0_f64, |acc, v| acc.max(v.abs()));
    let mut worst: f64 = 0.0;
    let mut detail =
        format!("N = {n}, n = {p}, s² = {s2}, α = {alpha}; exact Λ = XᵀX/s² + αI, m = Λ⁻¹Xᵀy/s²\n");
    let mut record = |label: String, rel: f64, detail: &mut String| {
        detail.push_str(&format!("{label:<42} max relative error {rel:.2e}\n"));
        worst = if rel.is_nan() || worst.is_nan() {
            f64::NAN
        } else {
            worst.max(rel)
        };
    };
    let cases = [
        (Curvature::Hessian, Structure::Full),
        (Curvature::Ggn, Structure::Full),
        (Curvature::Hessian, Structure::Diagonal),
        (Curvature::Ggn, Structure::Diagonal),
    ];
    for (curvature, structure) in cases {
        let cfg_l = LaplaceConfig {
            curvature,
            structure,
            diagonal: DiagonalEstimator::Exact,
            ..base
        };
        let lap = laplace(&teacher, x.view(), Targets::Real(y.view()), &cfg_l)?;
        let dense = lap.posterior.to_dense(Form::Precision)?;
        let got = Array2::from_shape_fn((p, p), |(i, j)| dense.matrix[(i, j)]);
        let want = if structure == Structure::Full {
            exact.clone()
        } else {
            Array2::from_diag(&exact.diag())
        };
        let rel = max_abs(&(&got - &want)) / max_abs(&want);
        record(
            format!("{curvature:?} {structure:?} precision"),
            rel,
            &mut detail,
        );
        let mean_rel = (&dense.mean - &m)
            .iter()
            .fold(0.0_f64, |a, v| a.max(v.abs()))
            / m.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
        record(
            format!("{curvature:?} {structure:?} mean"),
            mean_rel,
            &mut detail,
        );
        if curvature == Curvature::Hessian && structure == Structure::Full {
            let scale = rhs.iter().fold(0.0_f64, |a, v| a.max(v.abs()));
            record(
                "‖∇(−log posterior)(m)‖ / ‖Xᵀy/s²‖".into(),
                lap.report.grad_norm / scale,
                &mut detail,
            );
        }
    }
    let kfac_cfg = LaplaceConfig {
        structure: Structure::Kfac,
        prior_precision: 0.0,
        ..base
    };
    let lap = laplace(&teacher, x.view(), Targets::Real(y.view()), &kfac_cfg)?;
    let dense = lap.posterior.to_dense(Form::Precision)?;
    let got = Array2::from_shape_fn((p, p), |(i, j)| dense.matrix[(i, j)]);
    let rel = max_abs(&(&got - &xtx)) / max_abs(&xtx);
    record(
        "Ggn Kfac precision (α = 0) vs XᵀX/s²".into(),
        rel,
        &mut detail,
    );
    detail.push_str(&format!("tolerance {:.0e}", cfg.tolerance));
    Ok(CheckOutcome {
        name: "bayes-laplace-blr".into(),
        kind: CheckKind::Property,
        statement: "Bayesian linear regression: the Laplace posterior (exact Hessian from HVPs, \
                    GGN; full, diagonal; K-FAC at α = 0) = the exact posterior N(m, (XᵀX/s² + \
                    αI)⁻¹), and the gradient vanishes at m"
            .into(),
        measured: worst,
        tolerance: cfg.tolerance,
        passed: worst <= cfg.tolerance,
        detail,
    })
}
