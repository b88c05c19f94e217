//! Multivariate Gaussians over a parameter vector (dense or diagonal) and Gaussian conditioning,
//! the theorem behind both removals of Bayesian distillation.

use faer::Mat;
use ndarray::{Array1, ArrayView1};

use super::linalg::{cholesky, column, first_column, spd_inverse, submatrix, Jitter};
use crate::{Error, Result};

/// Which matrix parametrises a Gaussian: its covariance `$\Sigma$` or its precision `$\Lambda =
/// \Sigma^{-1}$`.
///
/// A Laplace approximation produces a precision (the curvature of the negative log
/// posterior); the seed states its theorems with covariances. Conditioning works in either
/// form without converting ([`condition`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Form {
    /// The matrix is the covariance `$\Sigma$`.
    Covariance,
    /// The matrix is the precision `$\Lambda = \Sigma^{-1}$`.
    Precision,
}

/// `$\mathcal{N}(m, \Sigma)$` over `$\mathbb{R}^d$` with a dense symmetric positive-definite
/// matrix, stored as `$\Sigma$` or as `$\Lambda = \Sigma^{-1}$` (see [`Form`]).
#[derive(Clone, Debug)]
pub struct DenseGaussian {
    /// The mean `m` (`[d]`).
    pub mean: Array1<f64>,
    /// `$\Sigma$` or `$\Lambda$` (`$d \times d$`), as `form` says.
    pub matrix: Mat<f64>,
    /// Which of the two `matrix` is.
    pub form: Form,
}

impl DenseGaussian {
    /// A Gaussian from its mean and matrix; errors if the shapes disagree or a value is not
    /// finite (positive definiteness is checked where a factorisation needs it).
    pub fn new(mean: Array1<f64>, matrix: Mat<f64>, form: Form) -> Result<Self> {
        let d = mean.len();
        if matrix.nrows() != d || matrix.ncols() != d {
            return Err(Error::config(
                "dense Gaussian",
                format!(
                    "a mean of length {d} needs a {d}×{d} matrix, got {}×{}",
                    matrix.nrows(),
                    matrix.ncols()
                ),
            ));
        }
        let finite = mean.iter().all(|v| v.is_finite())
            && (0..d).all(|j| (0..d).all(|i| matrix[(i, j)].is_finite()));
        if !finite {
            return Err(Error::config(
                "dense Gaussian",
                "the mean and the matrix must be finite",
            ));
        }
        Ok(DenseGaussian { mean, matrix, form })
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// The same Gaussian with its matrix in `form` (a Cholesky inverse when the form changes:
    /// relative error `$O(\kappa \varepsilon)$`).
    pub fn to_form(&self, form: Form) -> Result<DenseGaussian> {
        if form == self.form {
            return Ok(self.clone());
        }
        let what = match self.form {
            Form::Covariance => "the covariance (to invert it into a precision)",
            Form::Precision => "the precision (to invert it into a covariance)",
        };
        Ok(DenseGaussian {
            mean: self.mean.clone(),
            matrix: spd_inverse(&self.matrix, what)?,
            form,
        })
    }
}

/// `$\mathcal{N}(m, \operatorname{diag} \frac{1}{\lambda})$`: independent coordinates, stored by
/// their precisions `$\lambda_j > 0$`.
#[derive(Clone, Debug, PartialEq)]
pub struct DiagGaussian {
    /// The mean `m` (`[d]`).
    pub mean: Array1<f64>,
    /// The precisions `$\lambda_j = 1/\sigma_j^{2}$` (`[d]`).
    pub precision: Array1<f64>,
}

impl DiagGaussian {
    /// A diagonal Gaussian; errors unless the lengths agree, the mean is finite and every
    /// precision is finite and `> 0`.
    pub fn new(mean: Array1<f64>, precision: Array1<f64>) -> Result<Self> {
        if mean.len() != precision.len() {
            return Err(Error::config(
                "diagonal Gaussian",
                format!("{} means but {} precisions", mean.len(), precision.len()),
            ));
        }
        if let Some((j, p)) = precision
            .iter()
            .enumerate()
            .find(|(_, p)| !(p.is_finite() && **p > 0.0))
        {
            return Err(Error::NotPositiveDefinite {
                what: "the diagonal precision".into(),
                reason: format!("entry {j} is {p} (each must be finite and > 0)"),
            });
        }
        if mean.iter().any(|v| !v.is_finite()) {
            return Err(Error::config(
                "diagonal Gaussian",
                "the mean must be finite",
            ));
        }
        Ok(DiagGaussian { mean, precision })
    }

    /// The dimension `d`.
    pub fn dim(&self) -> usize {
        self.mean.len()
    }

    /// The coordinates `kept` (the conditional of independent coordinates is their marginal).
    pub fn select(&self, kept: &[usize]) -> DiagGaussian {
        DiagGaussian {
            mean: kept.iter().map(|&j| self.mean[j]).collect(),
            precision: kept.iter().map(|&j| self.precision[j]).collect(),
        }
    }
}

/// The result of [`condition`]: the conditional Gaussian of the kept coordinates and the
/// jitter its factorisation needed.
#[derive(Clone, Debug)]
pub struct Conditioned {
    /// `$\mathcal{N}(m'_c, \Sigma'_c)$` over the kept coordinates, in ascending order of their
    /// index, in the form of the input.
    pub gaussian: DenseGaussian,
    /// The kept coordinates (ascending): the complement of the removed ones.
    pub kept: Vec<usize>,
    /// The jitter `$\tau$` added to the diagonal of the factored block (`$\Sigma''$` in covariance
    /// form, `$\Lambda'$` in precision form); 0 when it factored as given. The result is then the
    /// exact conditional of the Gaussian with that block replaced by block `$+ \tau I$`.
    pub jitter: f64,
}

/// Checks `removed` (distinct, in range, at least one coordinate kept) against `values` and
/// returns the kept coordinates, ascending.
pub(crate) fn split_coordinates(d: usize, removed: &[usize], values: usize) -> Result<Vec<usize>> {
    const WHAT: &str = "Gaussian conditioning";
    if values != removed.len() {
        return Err(Error::config(
            WHAT,
            format!("{} removed coordinates but {values} values", removed.len()),
        ));
    }
    let mut is_removed = vec![false; d];
    for &j in removed {
        if j >= d {
            return Err(Error::config(
                WHAT,
                format!("removed coordinate {j} is out of range 0..{d}"),
            ));
        }
        if std::mem::replace(&mut is_removed[j], true) {
            return Err(Error::config(
                WHAT,
                format!("coordinate {j} is removed twice"),
            ));
        }
    }
    let kept: Vec<usize> = (0..d).filter(|&j| !is_removed[j]).collect();
    if kept.is_empty() {
        return Err(Error::config(
            WHAT,
            "every coordinate is removed: nothing is left to condition",
        ));
    }
    Ok(kept)
}

/// Gaussian conditioning: the distribution of the kept coordinates `x'` of `$x \sim \mathcal{N}(m,
/// \Sigma)$` given that the removed coordinates `x''` take the values `a`.
///
/// **Theorem.** Partition `$x = (x', x'')$`, `$m = (m', m'')$`, `$\Sigma = [[\Sigma',
/// \Sigma'_{\prime\prime}], [\Sigma''_{\prime}, \Sigma'']]$` with `$\Sigma''$` positive definite.
/// Then
///
/// ```math
/// x' | x'' = a \sim \mathcal{N}( m' + \Sigma'_{\prime\prime} \Sigma''^{-1} (a - m''),
///   \Sigma' - \Sigma'_{\prime\prime} \Sigma''^{-1} \Sigma''_{\prime} ).
/// ```
///
/// In precision form, with `$\Lambda = \Sigma^{-1}$` partitioned the same way, the same
/// distribution is
///
/// ```math
/// x' | x'' = a \sim \mathcal{N}( m' - \Lambda'^{-1} \Lambda'_{\prime\prime} (a - m''),
///   \text{precision } \Lambda' ),
/// ```
///
/// since block inversion gives `$\Lambda' = (\Sigma' - \Sigma'_{\prime\prime} \Sigma''^{-1}
/// \Sigma''_{\prime})^{-1}$` (the Schur complement) and `$\Lambda'^{-1} \Lambda'_{\prime\prime} = -\Sigma'_{\prime\prime}
/// \Sigma''^{-1}$`. Proof of the first form: `$z = x' - \Sigma'_{\prime\prime}\Sigma''^{-1}x''$` is
/// uncorrelated with, hence (jointly Gaussian) independent of, `x''`; so `$x' = z +
/// \Sigma'_{\prime\prime}\Sigma''^{-1}x''$` given `$x'' = a$` has the mean `$E z +
/// \Sigma'_{\prime\prime}\Sigma''^{-1} a$` and the covariance `$\operatorname{Cov} z = \Sigma' -
/// \Sigma'_{\prime\prime}\Sigma''^{-1}\Sigma''_{\prime}$`.
///
/// In Bayesian distillation `x` is the teacher's weight vector `$u \sim \mathcal{N}(u_{0},
/// \Sigma_{0})$`, the removed coordinates `u''` are the weights a removal deletes and `a` is `0`
/// (neuron removal `$\varphi(t, u)$`: its incoming row and outgoing column) or `vec(I)` (layer
/// removal `$\psi(t)$`); the conditional is the prior `p(u' | X, y)` of the student. Conditioning
/// on `A` and then on `B` equals conditioning on `$A \cup B$` at once (the theorem applied twice),
/// so a sequence of removals is one call.
///
/// Numerics: no inverse is formed. Covariance form: `$\Sigma'' = L L^{\top}$`, `$W = L^{-1}
/// \Sigma''_{\prime}$`, mean `$m' + W^{\top} L^{-1} (a - m'')$`, covariance `$\Sigma' - W^{\top}
/// W$` (symmetric by construction). Precision form: `$\Lambda' = L L^{\top}$`, mean `$m' -
/// L^{-\top} L^{-1} \Lambda'_{\prime\prime} (a - m'')$`, precision `$\Lambda'$` itself — the cheap
/// form when few coordinates are kept (a 6,050-weight teacher conditioned down to a 210-weight
/// student factors a 210 × 210 block). If the factored block is numerically singular, `jitter`
/// ([`Jitter`]) decides whether to add `$\tau I$`; the `$\tau$` used is returned in
/// [`Conditioned::jitter`].
///
/// Symbols → arguments: `$\mathcal{N}(m, \Sigma)$` = `gaussian` (either form), the removed
/// coordinates `x''` = `removed` (indices into `0..d`, distinct, any order), `a` = `values`
/// (`values[k]` for `removed[k]`).
///
/// Errors: mismatched lengths, an index out of range or repeated, every coordinate removed,
/// a non-finite value, or a block that does not factor ([`Error::NotPositiveDefinite`]).
pub fn condition(
    gaussian: &DenseGaussian,
    removed: &[usize],
    values: ArrayView1<'_, f64>,
    jitter: Jitter,
) -> Result<Conditioned> {
    let d = gaussian.dim();
    let kept = split_coordinates(d, removed, values.len())?;
    if values.iter().any(|v| !v.is_finite()) {
        return Err(Error::config(
            "Gaussian conditioning",
            "the conditioning values must be finite",
        ));
    }
    let m = &gaussian.mean;
    let m_kept = first_column(&column(kept.iter().map(|&j| m[j])));
    if removed.is_empty() {
        return Ok(Conditioned {
            gaussian: gaussian.clone(),
            kept,
            jitter: 0.0,
        });
    }
    // a − m''
    let shift = column(removed.iter().zip(values).map(|(&j, &a)| a - m[j]));
    let kk = submatrix(&gaussian.matrix, &kept, &kept);
    let (mean, matrix, tau) = match gaussian.form {
        Form::Covariance => {
            let rr = submatrix(&gaussian.matrix, removed, removed);
            let chol = cholesky(&rr, "the removed block Σ'' of the covariance", jitter)?;
            let w = chol.solve_lower(&submatrix(&gaussian.matrix, removed, &kept));
            let z = chol.solve_lower(&shift);
            let mean = &m_kept + &first_column(&(w.transpose() * &z));
            let mut cov = &kk - w.transpose() * &w;
            super::linalg::symmetrize(&mut cov);
            (mean, cov, chol.jitter)
        }
        Form::Precision => {
            let chol = cholesky(&kk, "the kept block Λ' of the precision", jitter)?;
            let kr = submatrix(&gaussian.matrix, &kept, removed);
            let step = chol.solve(&(&kr * &shift));
            let mean = &m_kept - &first_column(&step);
            let mut precision = kk;
            for i in 0..precision.nrows() {
                precision[(i, i)] += chol.jitter;
            }
            (mean, precision, chol.jitter)
        }
    };
    Ok(Conditioned {
        gaussian: DenseGaussian {
            mean,
            matrix,
            form: gaussian.form,
        },
        kept,
        jitter: tau,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    fn mat3(rows: [[f64; 3]; 3]) -> Mat<f64> {
        Mat::from_fn(3, 3, |i, j| rows[i][j])
    }

    /// `$x \sim \mathcal{N}((1, 2, 3), \Sigma)$`, `$\Sigma = [[4, 2, 1], [2, 3, 1], [1, 1, 2]]$`,
    /// condition on `$x_{3} = 5$`. By hand: `$\Sigma'_{\prime\prime} = (1, 1)^{\top}$`, `$\Sigma'' =
    /// 2$`, so the mean is `$(1, 2) + (1, 1)\cdot(5 - 3)/2 = (2, 3)$` and the covariance `$[[4, 2],
    /// [2, 3]] - (1, 1)^{\top}(1, 1)/2 = [[3.5, 1.5], [1.5, 2.5]]$`. Then on `$x_{1} = 0$` as well
    /// (removing two coordinates, listed out of order): `$\Sigma'' = [[4, 1], [1, 2]]$` (det 7,
    /// inverse `$[[2, -1], [-1, 4]]/7$`), `$\Sigma'_{\prime\prime} = (2, 1)$`: mean `$2 + (2, 1)\cdot[[2, -1],
    /// [-1, 4]]/7\cdot(-1, 2) = 2 + (3, 2)\cdot(-1, 2)/7 = 2 + 1/7 = 15/7$`, variance `$3 - (3, 2)\cdot(2, 1)/7 =
    /// 3 - 8/7 = 13/7$`.
    #[test]
    fn three_dimensional_gaussian_by_hand() {
        let sigma = mat3([[4.0, 2.0, 1.0], [2.0, 3.0, 1.0], [1.0, 1.0, 2.0]]);
        let g = DenseGaussian::new(array![1.0, 2.0, 3.0], sigma, Form::Covariance).unwrap();
        let c = condition(&g, &[2], array![5.0].view(), Jitter::Never).unwrap();
        assert_eq!(c.kept, vec![0, 1]);
        assert_eq!(c.jitter, 0.0);
        let want_mean = [2.0, 3.0];
        let want_cov = [[3.5, 1.5], [1.5, 2.5]];
        // rounding of a 1×1 Cholesky and one product: a few ulps of values ≤ 4
        for i in 0..2 {
            assert!((c.gaussian.mean[i] - want_mean[i]).abs() < 1e-14);
            for (j, want) in want_cov[i].iter().enumerate() {
                assert!((c.gaussian.matrix[(i, j)] - want).abs() < 1e-14);
            }
        }
        let c2 = condition(&g, &[2, 0], array![5.0, 0.0].view(), Jitter::Never).unwrap();
        assert_eq!(c2.kept, vec![1]);
        assert!((c2.gaussian.mean[0] - 15.0 / 7.0).abs() < 1e-14);
        assert!((c2.gaussian.matrix[(0, 0)] - 13.0 / 7.0).abs() < 1e-14);
        // the precision form gives the same conditional: its precision is Λ' = 7/13
        let p = g.to_form(Form::Precision).unwrap();
        let cp = condition(&p, &[0, 2], array![0.0, 5.0].view(), Jitter::Never).unwrap();
        // Λ = Σ⁻¹ by a Cholesky inverse of a matrix with κ ≈ 10: error ≲ 1e-15 · 10
        assert!((cp.gaussian.mean[0] - 15.0 / 7.0).abs() < 1e-13);
        assert!((cp.gaussian.matrix[(0, 0)] - 7.0 / 13.0).abs() < 1e-13);
        // conditioning in two steps equals conditioning at once
        let step = condition(&c.gaussian, &[0], array![0.0].view(), Jitter::Never).unwrap();
        assert!((step.gaussian.mean[0] - 15.0 / 7.0).abs() < 1e-14);
    }

    /// A singular removed block (two removed coordinates that are equal almost surely): fails
    /// without jitter, and with jitter conditions and reports a positive τ.
    #[test]
    fn singular_block_needs_and_reports_jitter() {
        let sigma = mat3([[1.0, 1.0, 0.5], [1.0, 1.0, 0.5], [0.5, 0.5, 1.0]]);
        let g = DenseGaussian::new(array![0.0, 0.0, 0.0], sigma, Form::Covariance).unwrap();
        let err = condition(&g, &[0, 1], array![1.0, 1.0].view(), Jitter::Never).unwrap_err();
        assert!(matches!(err, Error::NotPositiveDefinite { .. }), "{err}");
        let c = condition(
            &g,
            &[0, 1],
            array![1.0, 1.0].view(),
            Jitter::Relative(1e-12),
        )
        .unwrap();
        assert!(c.jitter > 0.0 && c.jitter <= 1e-6, "{}", c.jitter);
        // E[x₃ | x₁ = x₂ = 1] = 0.5 (x₃ regressed on x₁ with slope 0.5), up to O(τ)
        assert!(
            (c.gaussian.mean[0] - 0.5).abs() < 1e-4,
            "{}",
            c.gaussian.mean[0]
        );
    }

    #[test]
    fn bad_arguments_are_errors() {
        let g = DenseGaussian::new(array![0.0, 0.0, 0.0], Mat::identity(3, 3), Form::Covariance)
            .unwrap();
        let v = array![0.0];
        assert!(condition(&g, &[3], v.view(), Jitter::Never).is_err());
        assert!(condition(&g, &[0, 0], array![0.0, 0.0].view(), Jitter::Never).is_err());
        assert!(condition(&g, &[0, 1], v.view(), Jitter::Never).is_err());
        assert!(condition(&g, &[0, 1, 2], array![0.0, 0.0, 0.0].view(), Jitter::Never).is_err());
        assert!(condition(&g, &[0], array![f64::NAN].view(), Jitter::Never).is_err());
        assert!(DiagGaussian::new(array![0.0], array![0.0]).is_err());
    }
}
