//! Weighted least squares by Cholesky (faer): the closed form of the S4 regression theorem.

use faer::prelude::Solve;
use faer::{Mat, Side};
use ndarray::{Array1, ArrayView1, ArrayView2};

use super::index_set::IndexSet;
use super::regression::{wls_form, ProbRegressionConfig};
use crate::{Error, Result};

const OP: &str = "weighted least squares";

/// A weighted least-squares solution with the spectrum bounds of its normal matrix.
#[derive(Clone, Debug, PartialEq)]
pub struct WlsSolution {
    /// `w = (Xᵀ D X)^{-1} Xᵀ D y''`.
    pub w: Array1<f64>,
    /// The smallest eigenvalue of `Xᵀ D X`.
    pub eigen_min: f64,
    /// The largest eigenvalue of `Xᵀ D X`.
    pub eigen_max: f64,
}

impl WlsSolution {
    /// The condition number `κ = λ_max / λ_min` of the normal matrix: the solution's relative
    /// error from rounding is of order `κ · 1.1e-16`.
    pub fn condition(&self) -> f64 {
        self.eigen_max / self.eigen_min
    }
}

/// Minimises `Σ_i d_i (y''_i − wᵀx_i)²`:
///
/// `w = (Xᵀ D X)^{-1} Xᵀ D y''`, `D = diag(d)`,
///
/// solving the normal equations by a Cholesky factorisation `Xᵀ D X = L Lᵀ`. Symbols →
/// arguments: `X` = `x` (`[n, p]`), `d` = `weights` (`[n]`, finite, `≥ 0`; the theorem's `σ'`),
/// `y''` = `targets` (`[n]`).
///
/// Errors (never panics) when the shapes disagree, a value is not finite or a weight is
/// negative, or `Xᵀ D X` is singular: not positive definite (Cholesky meets a non-positive
/// pivot), or numerically singular, `λ_min ≤ p · 2.2e-16 · λ_max` — there the solution would
/// carry no correct digit.
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
    let eigen = a
        .self_adjoint_eigenvalues(Side::Lower)
        .map_err(|e| Error::Singular {
            op: OP,
            reason: format!("the eigenvalues of XᵀDX did not converge ({e:?})"),
        })?;
    let (eigen_min, eigen_max) = (eigen[0], eigen[p - 1]);
    // NaN eigenvalues fail this test too.
    let regular = eigen_min > p as f64 * f64::EPSILON * eigen_max;
    if !regular {
        return Err(Error::Singular {
            op: OP,
            reason: format!(
                "XᵀDX ({p}×{p}) is singular: eigenvalues from {eigen_min:.3e} to \
                 {eigen_max:.3e}; the features are (numerically) linearly dependent on the \
                 weighted sample, or fewer objects than features carry a positive weight"
            ),
        });
    }
    let llt = a.llt(Side::Lower).map_err(|e| Error::Singular {
        op: OP,
        reason: format!("Cholesky factorisation of XᵀDX failed ({e:?})"),
    })?;
    let solution = llt.solve(&b);
    let w = Array1::from_shape_fn(p, |j| solution[(j, 0)]);
    Ok(WlsSolution {
        w,
        eigen_min,
        eigen_max,
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
