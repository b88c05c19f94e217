//! Weighted least squares by Cholesky (faer): the closed form of the S4 regression theorem.

use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
use faer::prelude::Solve;
use faer::{Mat, Par, Side};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use super::index_set::IndexSet;
use super::regression::{wls_form_for, ProbRegressionConfig};
use crate::{Error, Result};

/// A weighted least-squares solution with the spectrum of its normal matrix and the Cholesky
/// factor it was solved with, from which [`covariance`](WlsSolution::covariance) computes
/// `$(X^{\top}\mathrm{DX})^{-1}$` without inverting `$X^{\top}\mathrm{DX}$`.
#[derive(Clone, Debug, PartialEq)]
pub struct WlsSolution {
    /// `$w = (X^{\top} D X)^{-1} X^{\top} D y''$`.
    pub w: Array1<f64>,
    /// The smallest eigenvalue of `$A = X^{\top} D X$` (the objective's curvature: `$\sum d_i
    /// (y''_i - w^{\top}x_i)^{2}$` is `$2 \lambda_{\min}$`-strongly convex).
    pub eigen_min: f64,
    /// The largest eigenvalue of `A`.
    pub eigen_max: f64,
    /// The condition number of the equilibrated matrix `$\hat{A} = S^{-1} A S^{-1}$`, `$S =
    /// \operatorname{diag} (\sqrt{A_{jj}})$`: the solution's relative error from rounding is of
    /// order `$\kappa(\hat{A}) \cdot 1.1e-16$` (column scaling does not change the solution's
    /// accuracy).
    pub scaled_condition: f64,
    /// `L`, lower triangular, `$\hat{A} = L L^{\top}$`.
    factor: Array2<f64>,
    /// `$S = \operatorname{diag} (\sqrt{A_{jj}})$`.
    scale: Array1<f64>,
}

impl WlsSolution {
    /// The condition number `$\kappa(A) = \lambda_{\max} / \lambda_{\min}$` of the unscaled normal
    /// matrix.
    pub fn condition(&self) -> f64 {
        self.eigen_max / self.eigen_min
    }

    /// `$(X^{\top}\mathrm{DX})^{-1}$`, the posterior covariance of `w` in the Bayesian linear
    /// regression `$y'' = \mathrm{Xw} + \varepsilon$`, `$\varepsilon \sim \mathcal{N}(0, D^{-1})$`,
    /// under a flat prior (the Laplace approximation of that model is exact); `w` is its posterior
    /// mean. `[p, p]`, symmetric.
    ///
    /// Computed from the Cholesky factor of the solve, never by inverting `$A =
    /// X^{\top}\mathrm{DX}$`: `$A = S \hat{A} S$`, `$\hat{A} = L L^{\top}$`, so `$A^{-1} = S^{-1}
    /// L^{-T} L^{-1} S^{-1}$`, with `$M = L^{-1}$` from one triangular solve against the identity
    /// and `$A^{-1} = S^{-1} M^{\top} M S^{-1}$`. Its relative error is of order `$\kappa(\hat{A})
    /// \cdot 1.1e-16$`, like `w`'s ([`scaled_condition`](Self::scaled_condition)).
    ///
    /// ```
    /// use methods::distill::weighted_least_squares;
    /// use ndarray::array;
    ///
    /// // X = [[1,0],[0,1],[1,1]], d = (1,2,1): XᵀDX = [[2,1],[1,3]], its inverse
    /// // (1/5)[[3,−1],[−1,2]].
    /// let x = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
    /// let sol = weighted_least_squares(x.view(), array![1.0, 2.0, 1.0].view(), array![1.0, 2.0, 4.0].view())?;
    /// let cov = sol.covariance();
    /// let want = array![[0.6, -0.2], [-0.2, 0.4]];
    /// assert!(cov.iter().zip(&want).all(|(a, b)| (a - b).abs() < 1e-15));
    /// # Ok::<(), methods::Error>(())
    /// ```
    pub fn covariance(&self) -> Array2<f64> {
        let p = self.scale.len();
        let l = Mat::<f64>::from_fn(p, p, |j, k| self.factor[[j, k]]);
        let mut m = Mat::<f64>::identity(p, p);
        solve_lower_triangular_in_place(l.as_ref(), m.as_mut(), Par::Seq);
        // (Mᵀ M)_jk = Σ_i M_ij M_ik; M is lower triangular, so i runs from max(j, k).
        Array2::from_shape_fn((p, p), |(j, k)| {
            let inner: f64 = (j.max(k)..p).map(|i| m[(i, j)] * m[(i, k)]).sum();
            inner / (self.scale[j] * self.scale[k])
        })
    }
}

/// Minimises `$\sum_i d_i (y''_i - w^{\top}x_i)^{2}$`:
///
/// `$w = (X^{\top} D X)^{-1} X^{\top} D y''$`, `D = diag(d)`,
///
/// solving the normal equations `$A w = b$` (`$A = X^{\top} D X$`, `$b = X^{\top} D y''$`) by a
/// Cholesky factorisation of the equilibrated matrix `$\hat{A} = S^{-1} A S^{-1} = L L^{\top}$`,
/// `$S = \operatorname{diag} (\sqrt{A_{jj}})$` (unit diagonal; `$w = S^{-1} \hat{A}^{-1} S^{-1}
/// b$`), so that features of very different scales do not count as ill-conditioning. Symbols →
/// arguments: `X` = `x` (`[n, p]`), `d` = `weights` (`[n]`, finite, `$\ge 0$`; the theorem's
/// `$\sigma'$`), `y''` = `targets` (`[n]`).
///
/// Errors (never panics) when the shapes disagree, a value is not finite or a weight is negative,
/// or `A` is singular: a feature is zero on every object of positive weight (`$A_{jj} = 0$`), or
/// `$\hat{A}$` is numerically singular, `$\lambda_{\min}(\hat{A}) \le p \cdot 2.2e-16 \cdot
/// \lambda_{\max}(\hat{A})$` — there the solution would carry no correct digit — or Cholesky meets
/// a non-positive pivot. Errors name `weighted_least_squares`. The posterior covariance
/// `$(X^{\top}\mathrm{DX})^{-1}$` is [`WlsSolution::covariance`].
///
/// ```
/// use methods::distill::weighted_least_squares;
/// use ndarray::array;
///
/// // XᵀDX = [[2,1],[1,3]], XᵀDy'' = (5, 8): w = (1/5)[[3,−1],[−1,2]](5, 8) = (7/5, 11/5).
/// let x = array![[1.0, 0.0], [0.0, 1.0], [1.0, 1.0]];
/// let sol = weighted_least_squares(x.view(), array![1.0, 2.0, 1.0].view(), array![1.0, 2.0, 4.0].view())?;
/// assert!((sol.w[0] - 1.4).abs() < 1e-14 && (sol.w[1] - 2.2).abs() < 1e-14);
/// let rank_one = array![[1.0, 2.0], [2.0, 4.0]];
/// let err = weighted_least_squares(rank_one.view(), array![1.0, 1.0].view(), array![1.0, 1.0].view());
/// assert!(err.unwrap_err().to_string().starts_with("weighted_least_squares: XᵀDX (2×2) is"));
/// # Ok::<(), methods::Error>(())
/// ```
pub fn weighted_least_squares(
    x: ArrayView2<'_, f64>,
    weights: ArrayView1<'_, f64>,
    targets: ArrayView1<'_, f64>,
) -> Result<WlsSolution> {
    solve_wls("weighted_least_squares", x, weights, targets)
}

/// [`weighted_least_squares`] with errors naming `op`, the public function that was called.
fn solve_wls(
    op: &'static str,
    x: ArrayView2<'_, f64>,
    weights: ArrayView1<'_, f64>,
    targets: ArrayView1<'_, f64>,
) -> Result<WlsSolution> {
    let (n, p) = x.dim();
    if weights.len() != n || targets.len() != n {
        return Err(Error::config(
            op,
            format!(
                "X has {n} rows but there are {} weights and {} targets",
                weights.len(),
                targets.len()
            ),
        ));
    }
    if p == 0 {
        return Err(Error::config(op, "X has no columns"));
    }
    if let Some(bad) = weights.iter().find(|d| !(d.is_finite() && **d >= 0.0)) {
        return Err(Error::config(
            op,
            format!("weights must be finite and ≥ 0, found {bad}"),
        ));
    }
    if x.iter().chain(targets.iter()).any(|v| !v.is_finite()) {
        return Err(Error::config(op, "X and the targets must be finite"));
    }
    // A = Xᵀ D X, b = Xᵀ D y''.
    let a = Mat::<f64>::from_fn(p, p, |j, k| {
        (0..n).map(|i| weights[i] * x[[i, j]] * x[[i, k]]).sum()
    });
    let b = Mat::<f64>::from_fn(p, 1, |j, _| {
        (0..n).map(|i| weights[i] * x[[i, j]] * targets[i]).sum()
    });
    let singular = |reason: String| Error::Singular { op, reason };
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
    let l = llt.L();
    Ok(WlsSolution {
        w,
        eigen_min,
        eigen_max,
        scaled_condition: hat_max / hat_min,
        factor: Array2::from_shape_fn((p, p), |(j, k)| if k <= j { l[(j, k)] } else { 0.0 }),
        scale: Array1::from(scale),
    })
}

/// The closed-form minimiser of the probabilistic regression objective for linear `$g(x) =
/// w^{\top}x$` (the S4 theorem): [`wls_form`](super::wls_form) then [`weighted_least_squares`]. `x`
/// is `X` (`[n, p]`), `targets` `y` (`[n]`), `teacher` the answers `$s_i$` (`[|I|]`, in the order
/// of `index.indices()`). Errors name `solve_prob_regression`.
///
/// ```
/// use methods::distill::{solve_prob_regression, IndexSet, ProbRegressionConfig};
/// use ndarray::array;
///
/// // Answers for objects 2 and 0, in that order: s_2 = 5, s_0 = 1.
/// let x = array![[1.0], [2.0], [3.0]];
/// let y = array![0.0, 3.0, 3.0];
/// let index = IndexSet::from_indices(3, &[2, 0])?;
/// let cfg = ProbRegressionConfig { lambda: 1.0, ..ProbRegressionConfig::default() };
/// // λ = 1: the targets are (s_0, y_1, s_2) = (1, 3, 5), equal weights:
/// // w = Σ x_i t_i / Σ x_i² = (1 + 6 + 15) / 14 (the answers swapped would give 14 / 14).
/// let sol = solve_prob_regression(x.view(), y.view(), array![5.0, 1.0].view(), &index, &cfg)?;
/// assert!((sol.w[0] - 22.0 / 14.0).abs() < 1e-15);
/// let err = solve_prob_regression(x.view(), y.view(), array![5.0].view(), &index, &cfg);
/// assert!(err.unwrap_err().to_string().starts_with("solve_prob_regression:"));
/// # Ok::<(), methods::Error>(())
/// ```
pub fn solve_prob_regression(
    x: ArrayView2<'_, f64>,
    targets: ArrayView1<'_, f64>,
    teacher: ArrayView1<'_, f64>,
    index: &IndexSet,
    cfg: &ProbRegressionConfig,
) -> Result<WlsSolution> {
    const OP: &str = "solve_prob_regression";
    let form = wls_form_for(OP, targets, teacher, index, cfg)?;
    solve_wls(OP, x, form.weights.view(), form.targets.view())
}
