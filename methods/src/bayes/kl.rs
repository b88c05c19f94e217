//! `$\mathrm{KL} (q \| p)$` between the student's mean-field Gaussian `q(w)` and a structured
//! Gaussian prior `p(w | A)` (full, diagonal or K-FAC), exactly, as a composite of tape ops.
//!
//! Direction convention: the first argument is `q`, the second `p` — `$\mathrm{KL} (q \| p) =
//! \mathbb{E}_q[\ln q - \ln p]$` — as the Gaussian value type planned for `autograd::functional`
//! (`kl(&q, &p)`), so the two can be unified.

use autograd::{Float, Var};
use faer::Mat;
use ndarray::{Array1, Array2};

use super::gaussian::Form;
use super::linalg::{cholesky, to_ndarray, Jitter};
use super::posterior::{kfac_precision, Structured, WeightGaussian};
use crate::{Error, Result};

/// A mean-field Gaussian `$q(w) = \mathcal{N}(\mu, \operatorname{diag} (e^{\rho}))$` over a
/// network's weights, per layer: the means `$\mu_l$` and log-variances `$\rho_l$` (`[out, in]`
/// each) as variables of one tape.
#[derive(Clone, Debug)]
pub struct MeanField<'t, F: Float> {
    /// `$\mu_l$`.
    pub means: Vec<Var<'t, F>>,
    /// `$\rho_l = \ln \sigma_l^{2}$`.
    pub log_vars: Vec<Var<'t, F>>,
}

/// A prior prepared for [`kl_divergence`]: precisions as constants and their log-determinants,
/// computed once (a Cholesky factorisation per matrix) rather than at every step.
#[derive(Clone, Debug)]
pub struct PreparedPrior {
    sizes: Vec<usize>,
    kind: Prepared,
}

#[derive(Clone, Debug)]
enum Prepared {
    Full {
        mean: Array1<f64>,
        precision: Array2<f64>,
        log_det: f64,
    },
    Diagonal {
        mean: Array1<f64>,
        precision: Array1<f64>,
    },
    Kfac(Vec<KfacLayer>),
}

#[derive(Clone, Debug)]
struct KfacLayer {
    mean: Array2<f64>,
    row: Array2<f64>,
    col: Array2<f64>,
    /// `$\operatorname{diag} (P) \operatorname{diag} (Q)^{\top}$`: the diagonal of `$P \otimes Q$`
    /// as an `[r, c]` matrix.
    diag: Array2<f64>,
    /// `c ln|P| + r ln|Q|`.
    log_det: f64,
}

fn log_det(m: &Mat<f64>, what: &str) -> Result<f64> {
    Ok(cholesky(m, what, Jitter::Never)?.log_det())
}

impl PreparedPrior {
    /// Prepares `prior` (a covariance form is inverted once by Cholesky); errors if a
    /// precision is not positive definite.
    pub fn new(prior: &WeightGaussian) -> Result<Self> {
        let kind = match &prior.dist {
            Structured::Full(g) => {
                let g = g.to_form(Form::Precision)?;
                Prepared::Full {
                    log_det: log_det(&g.matrix, "the prior precision")?,
                    mean: g.mean,
                    precision: to_ndarray(&g.matrix),
                }
            }
            Structured::Diagonal(g) => Prepared::Diagonal {
                mean: g.mean.clone(),
                precision: g.precision.clone(),
            },
            Structured::Kfac(layers) => {
                let mut out = Vec::new();
                for (l, m) in layers.iter().enumerate() {
                    let m = kfac_precision(m)?;
                    let (r, c) = m.dims();
                    let lp = log_det(&m.row, &format!("the prior's K-FAC row factor {l}"))?;
                    let lq = log_det(&m.col, &format!("the prior's K-FAC column factor {l}"))?;
                    out.push(KfacLayer {
                        diag: Array2::from_shape_fn((r, c), |(i, j)| m.row[(i, i)] * m.col[(j, j)]),
                        mean: m.mean.clone(),
                        row: to_ndarray(&m.row),
                        col: to_ndarray(&m.col),
                        log_det: c as f64 * lp + r as f64 * lq,
                    });
                }
                Prepared::Kfac(out)
            }
        };
        Ok(PreparedPrior {
            sizes: prior.sizes.clone(),
            kind,
        })
    }

    /// The sizes of the network the prior is over.
    pub fn sizes(&self) -> &[usize] {
        &self.sizes
    }
}

fn constant<'t, F: Float, D: ndarray::Dimension>(
    like: Var<'t, F>,
    a: &ndarray::Array<f64, D>,
) -> Var<'t, F> {
    like.tape().constant(a.mapv(F::from_f64))
}

/// `$\mathrm{KL} (q \| p)$` for a mean-field `$q = \mathcal{N}(\mu, \operatorname{diag} (s))$`, `$s =
/// e^{\rho}$`, and a Gaussian prior `$p = \mathcal{N}(m, \Lambda^{-1})$` over `d` weights:
///
/// ```math
/// \mathrm{KL} (q \| p) = \tfrac{1}{2} [ \operatorname{tr} (\Lambda \operatorname{diag}
///   (s)) + (\mu - m)^{\top} \Lambda(\mu - m) - d - \ln|\Lambda| - \sum_j \rho_j ]
/// ```
///
/// (`$\mathbb{E}_q[\ln q] = -\tfrac{1}{2} \sum_j (\ln 2\pi + \rho_j + 1)$`, `$\mathbb{E}_q[\ln p] =
/// \tfrac{1}{2} \ln|\Lambda| - (d/2) \ln 2\pi - \tfrac{1}{2} \mathbb{E}_q[(w - m)^{\top}\Lambda(w -
/// m)]$`, and `$\mathbb{E}_q[(w - m)^{\top}\Lambda(w - m)] = \operatorname{tr} (\Lambda
/// \operatorname{diag} (s)) + (\mu - m)^{\top}\Lambda(\mu - m)$`). By structure of `$\Lambda$`:
///
/// * full: `$\operatorname{tr} (\Lambda \operatorname{diag} (s)) = \sum_j \Lambda_{jj} s_j$`; the
///   quadratic form with `$\Lambda$` as a constant matrix;
/// * diagonal `$\Lambda = \operatorname{diag} (\lambda)$`: `$\tfrac{1}{2} \sum_j [\lambda_j s_j +
///   \lambda_j (\mu_j - m_j)^{2} - 1 - \ln \lambda_j - \rho_j]$`;
/// * K-FAC, per layer `$\Lambda_l = P \otimes Q$` (row-major `vec`), `$D = \mu_l - M_l$` (`$r
///   \times c$`): `$\operatorname{tr} (\Lambda_l \operatorname{diag} (s_l)) = \sum_{ij} P_{ii}
///   Q_{jj} s_{ij}$`, `$\operatorname{vec} (D)^{\top} (P \otimes Q) \operatorname{vec} (D) = \sum(P
///   D) \odot(D Q)$` (two products of the factors with `D`, never `$P \otimes Q$`),
///   `$\ln|\Lambda_l| = c \ln|P| + r \ln|Q|$`.
///
/// Symbols → arguments: `q` = `q` (per-layer `$\mu_l$`, `$\rho_l$`, shapes `$[n_{l+1}, n_l]$`), `p` =
/// `prior`. Every term is a composite of tape ops (twice differentiable in `$\mu$` and `$\rho$`).
pub fn kl_divergence<'t, F: Float>(
    q: &MeanField<'t, F>,
    prior: &PreparedPrior,
) -> Result<Var<'t, F>> {
    let sizes = &prior.sizes;
    let layers = sizes.len() - 1;
    if q.means.len() != layers || q.log_vars.len() != layers {
        return Err(Error::config(
            "KL(q ‖ p)",
            format!(
                "the prior has {layers} layers, q {} means and {} log-variances",
                q.means.len(),
                q.log_vars.len()
            ),
        ));
    }
    for l in 0..layers {
        let want = vec![sizes[l + 1], sizes[l]];
        if q.means[l].shape() != want || q.log_vars[l].shape() != want {
            return Err(Error::config(
                "KL(q ‖ p)",
                format!(
                    "layer {l}: the prior is {want:?}, q's mean {:?} and log-variance {:?}",
                    q.means[l].shape(),
                    q.log_vars[l].shape()
                ),
            ));
        }
    }
    let first = q.means[0];
    let flat = |vars: &[Var<'t, F>]| -> Result<Var<'t, F>> {
        let rows: Vec<Var<'t, F>> = vars
            .iter()
            .map(|v| v.reshape(&[1, v.numel()]))
            .collect::<autograd::Result<_>>()?;
        Ok(Var::concat(&rows, 1)?)
    };
    let d: usize = q.means.iter().map(|v| v.numel()).sum();
    let sum_rho = flat(&q.log_vars)?.sum();
    // trace + quadratic − ln|Λ|, by structure
    let (inner, log_det) = match &prior.kind {
        Prepared::Full {
            mean,
            precision,
            log_det,
        } => {
            let mu = flat(&q.means)?;
            let s = flat(&q.log_vars)?.exp();
            let delta = mu.try_sub(constant(first, &mean.clone().insert_axis(ndarray::Axis(0))))?;
            let quad = delta
                .matmul(constant(first, precision))?
                .try_mul(delta)?
                .sum();
            let diag = precision.diag().to_owned().insert_axis(ndarray::Axis(0));
            let trace = s.try_mul(constant(first, &diag))?.sum();
            (trace.try_add(quad)?, *log_det)
        }
        Prepared::Diagonal { mean, precision } => {
            let mu = flat(&q.means)?;
            let s = flat(&q.log_vars)?.exp();
            let lam = constant(first, &precision.clone().insert_axis(ndarray::Axis(0)));
            let delta = mu.try_sub(constant(first, &mean.clone().insert_axis(ndarray::Axis(0))))?;
            let inner = s.try_add(delta.square())?.try_mul(lam)?.sum();
            (inner, precision.iter().map(|v| v.ln()).sum())
        }
        Prepared::Kfac(factors) => {
            let mut total: Option<Var<'t, F>> = None;
            let mut log_det = 0.0;
            for ((f, mu), rho) in factors.iter().zip(&q.means).zip(&q.log_vars) {
                let delta = mu.try_sub(constant(first, &f.mean))?;
                let left = constant(first, &f.row).matmul(delta)?;
                let right = delta.matmul(constant(first, &f.col))?;
                let quad = left.try_mul(right)?.sum();
                let trace = rho.exp().try_mul(constant(first, &f.diag))?.sum();
                let term = trace.try_add(quad)?;
                total = Some(match total {
                    None => term,
                    Some(t) => t.try_add(term)?,
                });
                log_det += f.log_det;
            }
            (total.expect("at least one layer"), log_det)
        }
    };
    Ok(inner
        .try_sub(sum_rho)?
        .add_scalar(-(d as f64) - log_det)
        .mul_scalar(0.5))
}
