//! Matrix-normal layer Gaussians (the K-FAC structure) and their closed-form conditioning on
//! removed rows or columns, kept in the Kronecker factors.

use faer::Mat;
use ndarray::{Array2, ArrayView2, Axis};

use super::gaussian::{split_coordinates, DenseGaussian, Form};
use super::linalg::{cholesky, submatrix, symmetrize, to_faer, to_ndarray, Jitter};
use crate::{Error, Result};

/// A matrix-normal distribution of a layer's weight matrix `W` (`$r \times c$`, `[out, in]` as
/// `nn::layers::Linear` stores it):
///
/// `$\operatorname{vec} (W) \sim \mathcal{N}(\operatorname{vec} (M), U \otimes V)$`, i.e.
/// `$\operatorname{Cov} (W_{ij}, W_{kl}) = U_{ik} V_{jl}$`,
///
/// with `vec` the row-major vectorisation (index `$i\cdot c + j$`, the order of the weights in
/// memory and in the parameter vector `u`), `U` (`$r \times r$`) the covariance among rows and `V`
/// (`$c \times c$`) among columns. In precision form the factors are `$P = U^{-1}$`, `$Q = V^{-1}$`
/// and the precision of `vec(W)` is `$P \otimes Q$`. K-FAC's layer posterior is of this form, with
/// `$P \propto \mathbb{E}[g g^{\top}]$` (output-gradient second moments) and `$Q \propto
/// \mathbb{E}[a a^{\top}]$` (input second moments). The pair is defined up to `(sU, V/s)`.
#[derive(Clone, Debug)]
pub struct MatrixNormal {
    /// The mean `M` (`$r \times c$`).
    pub mean: Array2<f64>,
    /// The row factor: `U` (covariance form) or `$P = U^{-1}$` (precision form), `$r \times r$`.
    pub row: Mat<f64>,
    /// The column factor: `V` or `$Q = V^{-1}$`, `$c \times c$`.
    pub col: Mat<f64>,
    /// Whether the factors are covariances or precisions.
    pub form: Form,
}

/// `$A \otimes B$`: entry `$(i\cdot p + k, j\cdot q + l)$` is `$A_{ij} B_{kl}$` (`B` is `$p \times
/// q$`).
pub fn kron(a: &Mat<f64>, b: &Mat<f64>) -> Mat<f64> {
    let (p, q) = (b.nrows(), b.ncols());
    Mat::from_fn(a.nrows() * p, a.ncols() * q, |r, s| {
        a[(r / p, s / q)] * b[(r % p, s % q)]
    })
}

impl MatrixNormal {
    /// A matrix normal from its mean and factors; errors if the shapes disagree or a value is
    /// not finite.
    pub fn new(mean: Array2<f64>, row: Mat<f64>, col: Mat<f64>, form: Form) -> Result<Self> {
        let (r, c) = mean.dim();
        if row.nrows() != r || row.ncols() != r || col.nrows() != c || col.ncols() != c {
            return Err(Error::config(
                "matrix-normal layer",
                format!(
                    "a {r}×{c} mean needs a {r}×{r} row factor and a {c}×{c} column factor, got \
                     {}×{} and {}×{}",
                    row.nrows(),
                    row.ncols(),
                    col.nrows(),
                    col.ncols()
                ),
            ));
        }
        let finite =
            |m: &Mat<f64>| (0..m.ncols()).all(|j| (0..m.nrows()).all(|i| m[(i, j)].is_finite()));
        if !(mean.iter().all(|v| v.is_finite()) && finite(&row) && finite(&col)) {
            return Err(Error::config(
                "matrix-normal layer",
                "the mean and the factors must be finite",
            ));
        }
        Ok(MatrixNormal {
            mean,
            row,
            col,
            form,
        })
    }

    /// `(r, c)`.
    pub fn dims(&self) -> (usize, usize) {
        self.mean.dim()
    }

    /// The distribution of `$W^{\top}$`: mean `$M^{\top}$`, factors swapped.
    pub fn transposed(&self) -> MatrixNormal {
        MatrixNormal {
            mean: self.mean.t().to_owned(),
            row: self.col.clone(),
            col: self.row.clone(),
            form: self.form,
        }
    }

    /// The same distribution as a dense Gaussian over `vec(W)` (row-major): matrix `$U \otimes V$`
    /// or `$P \otimes Q$`. For checks on small layers (`$(\mathrm{rc})^{2}$` entries).
    pub fn to_dense(&self) -> DenseGaussian {
        DenseGaussian {
            mean: self.mean.iter().copied().collect(),
            matrix: kron(&self.row, &self.col),
            form: self.form,
        }
    }

    /// Conditions the rows `rows` of `W` on the values `values` (`$|R| \times c$`, row `k` for
    /// `rows[k]`), in closed form in the factors.
    ///
    /// **Theorem.** If `$\operatorname{vec} (W) \sim \mathcal{N}(\operatorname{vec} (M), U \otimes
    /// V)$` (row-major `vec`) and the rows are split into kept `K` and removed `R`, then
    ///
    /// ```math
    /// W_K | W_R = A \sim \mathrm{MN}( M_K + U_{KR} U_{RR}^{-1} (A - M_R), U_{KK} - U_{KR}
    ///   U_{RR}^{-1} U_{RK}, V ):
    /// ```
    ///
    /// the column factor is unchanged and the row factor is the Schur complement. Proof: the
    /// cross-covariance of `vec(W_K)` and `vec(W_R)` is `$U_{KR} \otimes V$`, so [`condition`]'s
    /// covariance is `$U_{KK} \otimes V - (U_{KR} \otimes V)(U_{RR} \otimes V)^{-1}(U_{RK} \otimes
    /// V) = (U_{KK} - U_{KR} U_{RR}^{-1} U_{RK}) \otimes V$` by the mixed-product rule, and its
    /// mean shift is `$(U_{KR} U_{RR}^{-1} \otimes I) \operatorname{vec} (A - M_R) =
    /// \operatorname{vec} (U_{KR} U_{RR}^{-1} (A - M_R))$`. In precision form (`$P = U^{-1}$`, `$Q =
    /// V^{-1}$`) the same is `$\mathrm{MN}(M_K - P_{KK}^{-1} P_{KR} (A - M_R), \text{precision }
    /// \text{factors } P_{KK}, Q)$`. A neuron removal `$\varphi(t, u)$` conditions one row of layer
    /// `t` (its incoming weights) and one column of layer `t + 1` (its outgoing weights) on zero:
    /// under K-FAC the layers are independent, so each is this closed form in its own factors.
    ///
    /// [`condition`]: super::gaussian::condition
    ///
    /// Numerics as in [`condition`]: a Cholesky factorisation of `$U_{RR}$` (covariance form) or
    /// `$P_{KK}$` (precision form), with the jitter policy `jitter`; returns the conditional and
    /// the jitter `$\tau$` used (0 if none).
    pub fn condition_rows(
        &self,
        rows: &[usize],
        values: ArrayView2<'_, f64>,
        jitter: Jitter,
    ) -> Result<(MatrixNormal, f64)> {
        let (r, c) = self.dims();
        let kept = split_coordinates(r, rows, values.nrows())?;
        if values.ncols() != c {
            return Err(Error::config(
                "matrix-normal row conditioning",
                format!("values have {} columns, the layer {c}", values.ncols()),
            ));
        }
        if values.iter().any(|v| !v.is_finite()) {
            return Err(Error::config(
                "matrix-normal row conditioning",
                "the conditioning values must be finite",
            ));
        }
        let m_kept = to_faer(self.mean.select(Axis(0), &kept).view());
        if rows.is_empty() {
            return Ok((self.clone(), 0.0));
        }
        let shift = to_faer((&values - &self.mean.select(Axis(0), rows)).view());
        let kk = submatrix(&self.row, &kept, &kept);
        let (mean, row, tau) = match self.form {
            Form::Covariance => {
                let rr = submatrix(&self.row, rows, rows);
                let chol = cholesky(
                    &rr,
                    "the removed rows' block U_RR of the row factor",
                    jitter,
                )?;
                let w = chol.solve_lower(&submatrix(&self.row, rows, &kept));
                let z = chol.solve_lower(&shift);
                let mean = &m_kept + w.transpose() * &z;
                let mut u = &kk - w.transpose() * &w;
                symmetrize(&mut u);
                (mean, u, chol.jitter)
            }
            Form::Precision => {
                let chol = cholesky(&kk, "the kept rows' block P_KK of the row factor", jitter)?;
                let kr = submatrix(&self.row, &kept, rows);
                let mean = &m_kept - chol.solve(&(&kr * &shift));
                let mut p = kk;
                for i in 0..p.nrows() {
                    p[(i, i)] += chol.jitter;
                }
                (mean, p, chol.jitter)
            }
        };
        let out = MatrixNormal {
            mean: to_ndarray(&mean),
            row,
            col: self.col.clone(),
            form: self.form,
        };
        Ok((out, tau))
    }

    /// Conditions the columns `cols` of `W` on `values` (`$r \times|C|$`, column `k` for
    /// `cols[k]`): [`MatrixNormal::condition_rows`] on `$W^{\top}$`, whose row factor is `V`. The
    /// result: `$W_{:,K} | W_{:,C} = B \sim \mathrm{MN}(M_{:,K} + (B - M_{:,C}) V_{CC}^{-1} V_{CK},
    /// U, V_{KK} - V_{KC} V_{CC}^{-1} V_{CK})$`.
    pub fn condition_cols(
        &self,
        cols: &[usize],
        values: ArrayView2<'_, f64>,
        jitter: Jitter,
    ) -> Result<(MatrixNormal, f64)> {
        let (t, tau) = self.transposed().condition_rows(cols, values.t(), jitter)?;
        Ok((t.transposed(), tau))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::bayes::gaussian::condition;
    use ndarray::{array, Array1};

    fn spd(n: usize, seed: f64) -> Mat<f64> {
        // B Bᵀ + n I with a deterministic B
        let b = Mat::from_fn(n, n, |i, j| ((i * 7 + j * 3) as f64 * seed).sin());
        let mut a = &b * b.transpose();
        for i in 0..n {
            a[(i, i)] += n as f64;
        }
        a
    }

    /// Row and column conditioning in factors = the dense theorem on `$U \otimes V$`, in both
    /// forms.
    #[test]
    fn factors_match_the_dense_formula() {
        let mean = Array2::from_shape_fn((4, 3), |(i, j)| (i as f64) - 0.5 * j as f64);
        for form in [Form::Covariance, Form::Precision] {
            let mn = MatrixNormal::new(mean.clone(), spd(4, 0.3), spd(3, 0.7), form).unwrap();
            let values = array![[0.5, -1.0, 2.0]];
            let (rows, _) = mn
                .condition_rows(&[2], values.view(), Jitter::Never)
                .unwrap();
            let (both, _) = rows
                .condition_cols(&[0], array![[1.0], [0.0], [-1.0]].view(), Jitter::Never)
                .unwrap();
            // dense: remove row 2 (indices 6, 7, 8) and column 0 of the kept rows (0, 3, 9)
            let removed = [6, 7, 8, 0, 3, 9];
            let vals: Array1<f64> = array![0.5, -1.0, 2.0, 1.0, 0.0, -1.0];
            let dense = condition(&mn.to_dense(), &removed, vals.view(), Jitter::Never).unwrap();
            let closed = both.to_dense();
            // rounding of 12×12 Cholesky solves on matrices with κ ≲ 10: ≲ 1e-14 · 10 · 12
            for (a, b) in dense.gaussian.mean.iter().zip(&closed.mean) {
                assert!((a - b).abs() < 1e-12, "{form:?}: mean {a} vs {b}");
            }
            for i in 0..6 {
                for j in 0..6 {
                    let (a, b) = (dense.gaussian.matrix[(i, j)], closed.matrix[(i, j)]);
                    assert!(
                        (a - b).abs() < 1e-12 * a.abs().max(1.0),
                        "{form:?}: {a} vs {b}"
                    );
                }
            }
        }
    }
}
