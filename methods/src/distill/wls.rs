//! Weighted least squares by Cholesky (faer): the closed form of the S4 regression theorem.

use faer::prelude::Solve;
use faer::{Mat, Side};
use ndarray::{Array1, ArrayView1, ArrayView2};

use super::index_set::IndexSet;
use super::regression::{wls_form, ProbRegressionConfig};
use crate::{Error, Result};

const OP: &str = "weighted least squares";

/// A weighted least-squares solution with the spectrum of its normal matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct WlsSolution {
    /// `w = (Xᵀ D X)^{-1} Xᵀ D y''`.
    pub w: Array1<f64>,
    /// The smallest eigenvalue of `A = Xᵀ D X` (the objective's curvature: `Σ d_i (y''_i −
    /// wᵀx_i)²` is `2 λ_min`-strongly convex).
    pub eigen_min: f64,
    /// The largest eigenvalue of `A`.
    pub eigen_max: f64,
    /// The condition number of the equilibrated matrix `Â = S^{-1} A S^{-1}`,
    /// `S = diag(√A_jj)`: the solution's relative error from rounding is of order
    /// `κ(Â) · 1.1e-16` (column scaling does not change the solution's accuracy).
    pub scaled_condition: f64,
}

impl WlsSolution {
    /// The condition number `κ(A) = λ_max / λ_min` of the unscaled normal matrix.
    pub fn condition(&self) -> f64 {
        self.eigen_max / self.eigen_min
    }
}

/// Minimises `Σ_i d_i (y''_i − wᵀx_i)²`:
///
/// `w = (Xᵀ D X)^{-1} Xᵀ D y''`, `D = diag(d)`,
///
/// solving the normal equations `A w = b` (`A = Xᵀ D X`, `b = Xᵀ D y''`) by a Cholesky
/// factorisation of the equilibrated matrix `Â = S^{-1} A S^{-1} = L Lᵀ`, `S = diag(√A_jj)`
/// (unit diagonal; `w = S^{-1} Â^{-1} S^{-1} b`), so that features of very different scales do
/// not count as ill-conditioning. Symbols → arguments: `X` = `x` (`[n, p]`), `d` = `weights`
/// (`[n]`, finite, `≥ 0`; the theorem's `σ'`), `y''` = `targets` (`[n]`).
///
/// Errors (never panics) when the shapes disagree, a value is not finite or a weight is
/// negative, or `A` is singular: a feature is zero on every object of positive weight
/// (`A_jj = 0`), or `Â` is numerically singular, `λ_min(Â) ≤ p · 2.2e-16 · λ_max(Â)` — there
/// the solution would carry no correct digit — or Cholesky meets a non-positive pivot.
pub fn weighted_least_squares(
    x: ArrayView2<'_, f64>,
    weights: ArrayView1<'_, f64>,
    targets: ArrayView1<'_, f64>,
) -> Result<WlsSolution> {
    let (n, p) = x.dim();
    if weights.len() != n || targets.len() != n {
        return Err(Error::config(
            OP,
            format!(
                "X has {n} rows but there are {} weights and {} targets",
                weights.len(),
                targets.len()
            ),
        ));
    }
    if p == 0 {
        return Err(Error::config(OP, "X has no columns"));
    }
    if let Some(bad) = weights.iter().find(|d| !(d.is_finite() && **d >= 0.0)) {
        return Err(Error::config(
            OP,
            format!("weights must be finite and ≥ 0, found {bad}"),
        ));
    }
    if x.iter().chain(targets.iter()).any(|v| !v.is_finite()) {
        return Err(Error::config(OP, "X and the targets must be finite"));
    }
    // A = Xᵀ D X, b = Xᵀ D y''.
    let a = Mat::<f64>::from_fn(p, p, |j, k| {
        (0..n).map(|i| weights[i] * x[[i, j]] * x[[i, k]]).sum()
    });
    let b = Mat::<f64>::from_fn(p, 1, |j, _| {
        (0..n).map(|i| weights[i] * x[[i, j]] * targets[i]).sum()
    });
    let singular = |reason: String| Error::Singular { op: OP, reason };
    if let Some(j) = (0..p).find(|&j| a[(j, j)] <= 0.0) {
        return Err(singular(format!(
            "XᵀDX ({p}×{p}) is singular: feature {j} is zero on every object of positive weight"
        )));
    }
    let eigenvalues = |m: &Mat<f64>, what: &str| {
        m.self_adjoint_eigenvalues(Side::Lower).map_err(|e| {
            singular(format!(
                "the eigenvalues of {what} did not converge ({e:?})"
            ))
        })
    };
    let scale: Vec<f64> = (0..p).map(|j| a[(j, j)].sqrt()).collect();
    let a_hat = Mat::<f64>::from_fn(p, p, |j, k| a[(j, k)] / (scale[j] * scale[k]));
    let b_hat = Mat::<f64>::from_fn(p, 1, |j, _| b[(j, 0)] / scale[j]);
    let eigen_hat = eigenvalues(&a_hat, "the equilibrated XᵀDX")?;
    let (hat_min, hat_max) = (eigen_hat[0], eigen_hat[p - 1]);
    // NaN eigenvalues fail this test too.
    let regular = hat_min > p as f64 * f64::EPSILON * hat_max;
    if !regular {
        return Err(singular(format!(
            "XᵀDX ({p}×{p}) is numerically singular: after scaling to a unit diagonal its \
             eigenvalues run from {hat_min:.3e} to {hat_max:.3e}; the features are (nearly) \
             linearly dependent on the weighted sample, or fewer objects than features carry \
             a positive weight"
        )));
    }
    let llt = a_hat
        .llt(Side::Lower)
        .map_err(|e| singular(format!("Cholesky factorisation of XᵀDX failed ({e:?})")))?;
    let solution = llt.solve(&b_hat);
    let w = Array1::from_shape_fn(p, |j| solution[(j, 0)] / scale[j]);
    let eigen = eigenvalues(&a, "XᵀDX")?;
    let (eigen_min, eigen_max) = (eigen[0], eigen[p - 1]);
    Ok(WlsSolution {
        w,
        eigen_min,
        eigen_max,
        scaled_condition: hat_max / hat_min,
    })
}

/// The closed-form minimiser of the probabilistic regression objective for linear `g(x) = wᵀx`
/// (the S4 theorem): [`wls_form`] then [`weighted_least_squares`]. `x` is `X` (`[n, p]`),
/// `targets` `y` (`[n]`), `teacher` the answers `s_i` (`[|I|]`, ascending `i ∈ I`).
pub fn solve_prob_regression(
    x: ArrayView2<'_, f64>,
    targets: ArrayView1<'_, f64>,
    teacher: ArrayView1<'_, f64>,
    index: &IndexSet,
    cfg: &ProbRegressionConfig,
) -> Result<WlsSolution> {
    let form = wls_form(targets, teacher, index, cfg)?;
    weighted_least_squares(x, form.weights.view(), form.targets.view())
}
