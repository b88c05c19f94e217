//! The Laplace approximation of the teacher's posterior at its trained weights.

use std::time::Instant;

use faer::Mat;
use ndarray::{Array1, ArrayView2};
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::curvature::{
    ggn_diagonal, ggn_full, gradient, hessian_diagonal, hessian_diagonal_hutchinson, hessian_full,
    kfac_factors, Data,
};
use super::gaussian::{DenseGaussian, DiagGaussian, Form};
use super::likelihood::{Likelihood, Targets};
use super::linalg::{cholesky, log_det_in_place, symmetrize, to_faer, Jitter};
use super::matrix_normal::MatrixNormal;
use super::mlp::NoBiasMlp;
use super::posterior::{Structured, WeightGaussian};
use crate::{Error, Result};

/// Which curvature of the negative log-likelihood the precision is built from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Curvature {
    /// The generalised Gauss–Newton matrix `$\sum_i J_i^{\top} \Lambda_i J_i$` (the default):
    /// positive semi-definite by construction, so with `$\alpha > 0$` the precision always exists,
    /// also at a teacher that is not exactly at a minimum; it equals the Hessian for a linear model
    /// with a Gaussian likelihood, and is the only curvature K-FAC approximates.
    #[default]
    Ggn,
    /// The exact Hessian, from Hessian-vector products on the tape: faithful to the Laplace
    /// approximation's definition, but indefinite wherever the teacher is not at a minimum.
    Hessian,
}

/// How the precision is structured.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Structure {
    /// Dense `$P \times P$` (feasible for the 6,050-weight synthetic teacher: 293 MB).
    Full,
    /// The diagonal only.
    Diagonal,
    /// Kronecker-factored per layer (K-FAC), for the 667,700-weight Fashion-MNIST teacher.
    Kfac,
}

/// How a Hessian diagonal is obtained (structure [`Structure::Diagonal`] with
/// [`Curvature::Hessian`]); the GGN diagonal is always exact.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DiagonalEstimator {
    /// `P` Hessian-vector products (exact; the cost of the full Hessian).
    Exact,
    /// Hutchinson's `$\mathbb{E}[v \odot \mathrm{Hv}]$` over `samples` Rademacher vectors drawn
    /// from `seed`. The estimate's variance per entry is `$\sum_{k\ne j} H_{jk}^{2} /
    /// \mathrm{samples}$`: where the off-diagonal mass dominates, entries come out negative and the
    /// diagonal precision is rejected ([`Error::NotPositiveDefinite`]); for optimal brain damage's
    /// `$h_{jj}$` use `curvature::hessian_diagonal_hutchinson` directly.
    Hutchinson {
        /// Number of Hessian-vector products (≥ 2).
        samples: usize,
        /// Seed of the Rademacher vectors.
        seed: u64,
    },
}

/// The settings of [`laplace`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LaplaceConfig {
    /// The curvature. Default [`Curvature::Ggn`].
    pub curvature: Curvature,
    /// The structure. Default [`Structure::Full`].
    pub structure: Structure,
    /// The prior precision `$\alpha \ge 0$` of `$p(u) = \mathcal{N}(0, \alpha^{-1} I)$` (`$\alpha =
    /// 0$`: a flat prior, and the precision may be singular). Default 1 (our choice: the seed does
    /// not state the teacher's prior; `$\alpha = 1$` is a unit Gaussian on each weight).
    pub prior_precision: f64,
    /// The likelihood. Default Gaussian with `$s^{2} = 0.1$` (the seed's `$\beta = 0.1$` read as a
    /// variance).
    pub likelihood: Likelihood,
    /// The Hessian diagonal's estimator. Default exact.
    pub diagonal: DiagonalEstimator,
    /// Objects per chunk of the curvature sums (memory, not result). Default 1000.
    pub batch_size: usize,
    /// The largest `P` for [`Structure::Full`]. Default 20,000 (a 3.2 GB matrix; the
    /// factorisation doubles it).
    pub max_full_weights: usize,
}

impl Default for LaplaceConfig {
    fn default() -> Self {
        LaplaceConfig {
            curvature: Curvature::Ggn,
            structure: Structure::Full,
            prior_precision: 1.0,
            likelihood: Likelihood::Gaussian { noise_var: 0.1 },
            diagonal: DiagonalEstimator::Exact,
            batch_size: 1000,
            max_full_weights: 20_000,
        }
    }
}

/// What [`laplace`] measured.
#[derive(Clone, Debug, PartialEq)]
pub struct LaplaceReport {
    /// Seconds to build the curvature (Hessian-vector products or Jacobians).
    pub build_seconds: f64,
    /// Seconds to factor the precision (Cholesky of the full matrix or of the K-FAC factors;
    /// 0 for the diagonal).
    pub factor_seconds: f64,
    /// `$\ln|\Lambda|$` of the posterior precision (K-FAC: `$\sum_l n_{in} \ln|P_l| +
    /// n_{\mathrm{out}} \ln|Q_l|$`).
    pub log_det_precision: f64,
    /// `$\|\nabla_u(-\log p(y|X,u) - \log p(u))\|_{2}$` at the teacher: how far the teacher is from
    /// the mode the Laplace approximation assumes (0 at an exact MAP).
    pub grad_norm: f64,
    /// The exact Hessian's largest `$|H_{ij} - H_{ji}|$` relative to `max |H_ij|` before it was
    /// symmetrised (rounding of the Hessian-vector products; 0 when not applicable).
    pub asymmetry: f64,
    /// Hessian-vector products used.
    pub hvps: usize,
}

/// The Laplace posterior and its report.
#[derive(Clone, Debug)]
pub struct Laplace {
    /// `$\mathcal{N}(u_{0}, \Lambda^{-1})$` in precision form, `u0` the teacher's weights.
    pub posterior: WeightGaussian,
    /// Timings and diagnostics.
    pub report: LaplaceReport,
}

/// The Laplace approximation `$p(u | X, y) \approx \mathcal{N}(u_{0}, \Lambda^{-1})$` at the
/// teacher's weights `u0`:
///
/// `$\Lambda = \nabla^{2}_u E(u_{0}) + \alpha I$`, `E(u) = −log p(y | X, u) = −Σ_i log p(y_i |
/// f(x_i; u))`,
///
/// the curvature of the negative log posterior `$E(u) + (\alpha/2)\|u\|^{2}$` under the prior
/// `$p(u) = \mathcal{N}(0, \alpha^{-1} I)$`, with `$\nabla^{2}E$` the exact Hessian or the GGN
/// ([`Curvature`]) in the structure `cfg.structure`:
///
/// * full: `$\Lambda = C + \alpha I$`, `C` from `P` Hessian-vector products (`Tape::hvp`, one per
///   basis vector; symmetrised, the asymmetry reported) or from per-sample Jacobians
///   (`$J^{\top}J$`); factored by Cholesky to check positive definiteness and get `$\ln|\Lambda|$`;
/// * diagonal: `$\lambda_j = C_{jj} + \alpha$`, with the GGN diagonal exact from per-sample
///   quantities and the Hessian diagonal exact (`P` products) or by Hutchinson's estimator;
/// * K-FAC: per layer, with the summed factors `$A_l$` (inputs) and `$G_l$` (output roots) of
///   [`kfac_factors`] and `N` objects, `$\Lambda_l \approx P_l \otimes Q_l$` with `$P_l =
///   G_l/\sqrt{N} + \sqrt{\alpha} I$`, `$Q_l = A_l/\sqrt{N} + \sqrt{\alpha} I$` — the GGN block
///   `$\frac{1}{N} G_l \otimes A_l$` plus `$\alpha I$` approximated by a single Kronecker product
///   (Ritter et al. 2018; the cross terms `$\sqrt{\alpha/N} (G_l \otimes I + I \otimes A_l)$` are
///   the approximation's price).
///
/// Symbols → arguments: the teacher `f` with weights `u0` = `teacher`, `X` = `x`, `y` =
/// `targets`, `$\alpha$` = `cfg.prior_precision`.
///
/// Errors: bad data or settings; `P > cfg.max_full_weights` for the full structure; K-FAC with
/// the exact Hessian; a precision that is not positive definite (the exact Hessian at a
/// teacher that is not at a minimum: [`Error::NotPositiveDefinite`], with the advice to use
/// the GGN or a larger `$\alpha$`).
pub fn laplace<'a>(
    teacher: &NoBiasMlp,
    x: ArrayView2<'a, f64>,
    targets: Targets<'a>,
    cfg: &LaplaceConfig,
) -> Result<Laplace> {
    let alpha = cfg.prior_precision;
    if !(alpha.is_finite() && alpha >= 0.0) {
        return Err(Error::config(
            "Laplace prior precision α",
            format!("must be finite and ≥ 0, got {alpha}"),
        ));
    }
    if cfg.batch_size == 0 {
        return Err(Error::config("Laplace batch size", "must be ≥ 1"));
    }
    let data = Data { x, targets };
    data.validate(teacher, &cfg.likelihood)?;
    let lik = &cfg.likelihood;
    let batch = cfg.batch_size;
    let p = teacher.num_weights();
    let u0 = teacher.flat();
    let grad = gradient(teacher, &data, lik, batch)? + &u0.mapv(|v| alpha * v);
    let grad_norm = grad.dot(&grad).sqrt();
    let curvature_name = match cfg.curvature {
        Curvature::Ggn => "GGN",
        Curvature::Hessian => "exact Hessian",
    };
    let advice = match cfg.curvature {
        Curvature::Hessian => {
            "the teacher is not at a minimum of the negative log posterior (‖∇‖ = {g}); use the \
             GGN curvature or a larger prior precision α"
        }
        Curvature::Ggn => "increase the prior precision α (the GGN is only semi-definite)",
    }
    .replace("{g}", &format!("{grad_norm:.3e}"));
    let start = Instant::now();
    let mut report = LaplaceReport {
        build_seconds: 0.0,
        factor_seconds: 0.0,
        log_det_precision: 0.0,
        grad_norm,
        asymmetry: 0.0,
        hvps: 0,
    };
    let dist = match cfg.structure {
        Structure::Full => {
            if p > cfg.max_full_weights {
                return Err(Error::config(
                    "Laplace structure",
                    format!(
                        "full needs a {p}×{p} matrix ({:.1} GB) but max_full_weights is {}; use \
                         K-FAC or diagonal for this teacher",
                        (p * p * 8) as f64 / 1e9,
                        cfg.max_full_weights
                    ),
                ));
            }
            let mut c = match cfg.curvature {
                Curvature::Hessian => {
                    report.hvps = p * x.nrows().div_ceil(batch);
                    let mut h = hessian_full(teacher, &data, lik, batch)?;
                    report.asymmetry = symmetrize(&mut h);
                    h
                }
                // exactly symmetric as built (its lower triangle mirrored): nothing to measure
                Curvature::Ggn => ggn_full(teacher, &data, lik, batch)?,
            };
            for i in 0..p {
                c[(i, i)] += alpha;
            }
            report.build_seconds = start.elapsed().as_secs_f64();
            let t = Instant::now();
            let what = format!("the Laplace precision ({curvature_name} + αI, {p}×{p})");
            report.log_det_precision =
                log_det_in_place(&mut c, &what).map_err(|e| with_advice(e, &advice))?;
            report.factor_seconds = t.elapsed().as_secs_f64();
            Structured::Full(DenseGaussian::new(u0, c, Form::Precision)?)
        }
        Structure::Diagonal => {
            let d = match (cfg.curvature, cfg.diagonal) {
                (Curvature::Ggn, _) => ggn_diagonal(teacher, &data, lik, batch)?,
                (Curvature::Hessian, DiagonalEstimator::Exact) => {
                    report.hvps = p * x.nrows().div_ceil(batch);
                    hessian_diagonal(teacher, &data, lik, batch)?
                }
                (Curvature::Hessian, DiagonalEstimator::Hutchinson { samples, seed }) => {
                    report.hvps = samples * x.nrows().div_ceil(batch);
                    let mut rng = StdRng::seed_from_u64(seed);
                    hessian_diagonal_hutchinson(teacher, &data, lik, batch, samples, &mut rng)?.0
                }
            };
            let precision: Array1<f64> = d.mapv(|v| v + alpha);
            report.build_seconds = start.elapsed().as_secs_f64();
            report.log_det_precision = precision.iter().map(|v| v.ln()).sum();
            Structured::Diagonal(
                DiagGaussian::new(u0, precision).map_err(|e| with_advice(e, &advice))?,
            )
        }
        Structure::Kfac => {
            if cfg.curvature == Curvature::Hessian {
                return Err(Error::config(
                    "Laplace curvature",
                    "K-FAC approximates the generalised Gauss–Newton matrix, not the exact \
                     Hessian: use curvature = GGN with the K-FAC structure",
                ));
            }
            let factors = kfac_factors(teacher, &data, lik, batch)?;
            report.build_seconds = start.elapsed().as_secs_f64();
            let t = Instant::now();
            let n = x.nrows() as f64;
            let damp = |m: &ndarray::Array2<f64>| {
                let mut f = to_faer((m / n.sqrt()).view());
                for i in 0..f.nrows() {
                    f[(i, i)] += alpha.sqrt();
                }
                f
            };
            let mut layers = Vec::new();
            for (l, (a, g)) in factors.iter().enumerate() {
                let (pf, qf): (Mat<f64>, Mat<f64>) = (damp(g), damp(a));
                let lp = cholesky(
                    &pf,
                    &format!("the K-FAC row factor of layer {l}"),
                    Jitter::Never,
                )
                .map_err(|e| with_advice(e, &advice))?;
                let lq = cholesky(
                    &qf,
                    &format!("the K-FAC column factor of layer {l}"),
                    Jitter::Never,
                )
                .map_err(|e| with_advice(e, &advice))?;
                let (r, c) = (pf.nrows() as f64, qf.nrows() as f64);
                report.log_det_precision += c * lp.log_det() + r * lq.log_det();
                layers.push(MatrixNormal::new(
                    teacher.weights[l].clone(),
                    pf,
                    qf,
                    Form::Precision,
                )?);
            }
            report.factor_seconds = t.elapsed().as_secs_f64();
            Structured::Kfac(layers)
        }
    };
    Ok(Laplace {
        posterior: WeightGaussian::new(teacher.sizes(), dist)?,
        report,
    })
}

fn with_advice(e: Error, advice: &str) -> Error {
    match e {
        Error::NotPositiveDefinite { what, reason } => Error::NotPositiveDefinite {
            what,
            reason: format!("{reason}; {advice}"),
        },
        other => other,
    }
}
