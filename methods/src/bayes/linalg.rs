//! Dense symmetric positive-definite linear algebra on faer matrices: Cholesky with a reported
//! jitter, log-determinants, principal submatrices, triangular solves, conversions.

use faer::{Mat, MatRef, Side};
use ndarray::{Array1, Array2, ArrayView1, ArrayView2};

use super::blocked;
use crate::{Error, Result};

/// What to do when a Cholesky factorisation meets a non-positive pivot.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Jitter {
    /// Fail: the matrix must be positive definite as given (a Laplace precision: a failure
    /// means the teacher is not at a minimum, and a jitter would hide that).
    Never,
    /// Retry with `$\tau I$` added, `$\tau = \tau_{0} \cdot \operatorname{mean}
    /// (\operatorname{diag} A) \cdot 100^k$` for `$k = 0, 1, 2, 3$` (from `$\tau_{0}$` to `$10^{6}
    /// \tau_{0}$` relative to the mean diagonal), and report the `$\tau$` that worked.
    /// [`DEFAULT_JITTER`] is the default start: an exactly singular block (say a covariance whose
    /// removed coordinates are linearly dependent) factors at `$\tau \approx 1e-12 \cdot
    /// \operatorname{mean} \operatorname{diag}$`, which moves a conditional mean by `$O(\tau \cdot
    /// \|A^{-1}\|)$` relative.
    Relative(f64),
}

/// The default relative jitter start `$\tau_{0} = 1e-12$` (about `$5000 \varepsilon$` of f64: the
/// smallest addition that turns a rounding-level negative pivot positive for matrices of a few
/// thousand rows).
pub const DEFAULT_JITTER: Jitter = Jitter::Relative(1e-12);

/// A Cholesky factorisation `$A + \tau I = L L^{\top}$` and the jitter `$\tau \ge 0$` it needed.
pub struct Cholesky {
    /// `L`, lower triangular (zeros above the diagonal).
    l: Mat<f64>,
    /// `$\tau$` (0 when `A` factored as given).
    pub jitter: f64,
}

impl Cholesky {
    /// The factor `L`.
    #[allow(non_snake_case)]
    pub fn L(&self) -> MatRef<'_, f64> {
        self.l.as_ref()
    }

    /// `$\ln|A + \tau I| = 2 \sum_i \ln L_{ii}$`.
    pub fn log_det(&self) -> f64 {
        log_det_from_factor(self.l.as_ref())
    }

    /// `$(A + \tau I)^{-1} B$` by two triangular solves.
    pub fn solve(&self, b: &Mat<f64>) -> Mat<f64> {
        let mut x = self.solve_lower(b);
        self.l
            .transpose()
            .solve_upper_triangular_in_place(x.as_mut());
        x
    }

    /// `$L^{-1} B$` (one forward substitution).
    pub fn solve_lower(&self, b: &Mat<f64>) -> Mat<f64> {
        let mut x = b.clone();
        self.l.solve_lower_triangular_in_place(x.as_mut());
        x
    }
}

/// `$\ln|A| = 2 \sum_i \ln L_{ii}$` from a Cholesky factor `L` of `$A = L L^{\top}$` (only
/// its diagonal is read).
fn log_det_from_factor(l: MatRef<'_, f64>) -> f64 {
    (0..l.nrows()).map(|i| 2.0 * l[(i, i)].ln()).sum()
}

/// What [`cholesky`]'s error says was tried under the policy `jitter`.
fn jitters_tried(jitter: Jitter) -> String {
    match jitter {
        Jitter::Never => "no jitter allowed".to_string(),
        Jitter::Relative(start) => format!(
            "also with a jitter of {start:.0e} … {:.0e} × mean diagonal",
            start * 1e6
        ),
    }
}

/// The Cholesky factorisation of the symmetric matrix `a` (its lower triangle is read), with
/// the jitter policy `jitter`. `what` names the matrix in errors.
///
/// Errors with [`Error::NotPositiveDefinite`] when no allowed jitter makes it factor; the
/// message gives the failed pivot and, for matrices of at most 3000 rows, the smallest
/// eigenvalue.
pub fn cholesky(a: &Mat<f64>, what: &str, jitter: Jitter) -> Result<Cholesky> {
    check_square_finite(a, what)?;
    let n = a.nrows();
    let factor = |mut l: Mat<f64>| blocked::cholesky_in_place(&mut l).map(|()| l);
    let first = match factor(blocked::large_matrix(n, n, |i, j| a[(i, j)])) {
        Ok(l) => return Ok(Cholesky { l, jitter: 0.0 }),
        Err(e) => format!("{e:?}"),
    };
    if let Jitter::Relative(start) = jitter {
        let mean_diag = (0..n).map(|i| a[(i, i)].abs()).sum::<f64>() / n.max(1) as f64;
        let mut tau = start * mean_diag.max(f64::MIN_POSITIVE);
        for _ in 0..4 {
            let shifted =
                blocked::large_matrix(n, n, |i, j| a[(i, j)] + if i == j { tau } else { 0.0 });
            if let Ok(l) = factor(shifted) {
                return Ok(Cholesky { l, jitter: tau });
            }
            tau *= 100.0;
        }
    }
    Err(not_positive_definite(
        a,
        what,
        &first,
        &jitters_tried(jitter),
    ))
}

/// `$\ln|A| = 2 \sum_i \ln L_{ii}$` of the symmetric positive-definite `a`, held whole (both
/// triangles equal), by a Cholesky factorisation `$A = L L^{\top}$` (no jitter) in `a`'s own
/// lower triangle, which is then restored from the upper one, untouched by the factorisation,
/// and the saved diagonal: `a` is as it was on return, on success and on error alike.
///
/// [`cholesky`] factors a copy; for the full Laplace precision of the 6,050-weight teacher
/// that copy is a fresh 293 MB matrix that the kernel clears page by page before it is
/// written, about a tenth of the posterior's time. Here the price is a pass over the lower
/// triangle to restore it.
///
/// Errors as [`cholesky`] with [`Jitter::Never`].
pub fn log_det_in_place(a: &mut Mat<f64>, what: &str) -> Result<f64> {
    check_square_finite(a, what)?;
    let n = a.nrows();
    debug_assert!(
        (0..n).all(|j| (j + 1..n).all(|i| a[(i, j)].to_bits() == a[(j, i)].to_bits())),
        "log_det_in_place: {what} must be held whole (exactly symmetric)"
    );
    let diagonal: Vec<f64> = (0..n).map(|i| a[(i, i)]).collect();
    let factored = blocked::factor_lower_in_place(a);
    let log_det = log_det_from_factor(a.as_ref());
    mirror_upper(a);
    for (i, &d) in diagonal.iter().enumerate() {
        a[(i, i)] = d;
    }
    match factored {
        Ok(()) => Ok(log_det),
        Err(e) => Err(not_positive_definite(
            a,
            what,
            &format!("{e:?}"),
            &jitters_tried(Jitter::Never),
        )),
    }
}

/// That `a` is square with a finite lower triangle, the checks before a factorisation.
fn check_square_finite(a: &Mat<f64>, what: &str) -> Result<()> {
    let n = a.nrows();
    if a.ncols() != n {
        return Err(Error::config(
            what,
            format!("must be square, got {}×{}", n, a.ncols()),
        ));
    }
    // column by column, down from the diagonal: faer's matrices are column-major
    if (0..n).any(|j| (j..n).any(|i| !a[(i, j)].is_finite())) {
        return Err(Error::NotPositiveDefinite {
            what: what.into(),
            reason: "it has a non-finite entry".into(),
        });
    }
    Ok(())
}

/// The error of a failed factorisation of `a`: the first failure `first`, the jitters `tried`,
/// and for matrices of at most 3000 rows the smallest eigenvalue.
fn not_positive_definite(a: &Mat<f64>, what: &str, first: &str, tried: &str) -> Error {
    let eigen = if a.nrows() <= 3000 {
        match a.self_adjoint_eigenvalues(Side::Lower) {
            Ok(ev) => format!("; its smallest eigenvalue is {:.3e}", ev[0]),
            Err(_) => String::new(),
        }
    } else {
        String::new()
    };
    Error::NotPositiveDefinite {
        what: what.into(),
        reason: format!("Cholesky failed ({first}; {tried}){eigen}"),
    }
}

/// `A[rows, cols]`.
pub fn submatrix(a: &Mat<f64>, rows: &[usize], cols: &[usize]) -> Mat<f64> {
    Mat::from_fn(rows.len(), cols.len(), |i, j| a[(rows[i], cols[j])])
}

/// A column vector from a slice of values.
pub fn column(v: impl IntoIterator<Item = f64>) -> Mat<f64> {
    let v: Vec<f64> = v.into_iter().collect();
    Mat::from_fn(v.len(), 1, |i, _| v[i])
}

/// The first column of `m` as an ndarray vector.
pub fn first_column(m: &Mat<f64>) -> Array1<f64> {
    Array1::from_shape_fn(m.nrows(), |i| m[(i, 0)])
}

/// An ndarray matrix as a faer matrix.
pub fn to_faer(a: ArrayView2<'_, f64>) -> Mat<f64> {
    Mat::from_fn(a.nrows(), a.ncols(), |i, j| a[[i, j]])
}

/// A faer matrix as an ndarray matrix.
pub fn to_ndarray(a: &Mat<f64>) -> Array2<f64> {
    Array2::from_shape_fn((a.nrows(), a.ncols()), |(i, j)| a[(i, j)])
}

/// The side of the square tiles [`symmetrize`] and [`mirror_lower`] walk a matrix in: a tile
/// and its mirror image (`2 · 64² · 8` bytes) stay in the L1 and L2 caches, where walking
/// whole columns would read the mirror a cache line per element.
const TILE: usize = 64;

/// Calls `f(i, j)` for every `i ≥ j` of an `n × n` matrix, tile by tile ([`TILE`]).
fn for_each_lower(n: usize, mut f: impl FnMut(usize, usize)) {
    for j0 in (0..n).step_by(TILE) {
        for i0 in (j0..n).step_by(TILE) {
            for j in j0..(j0 + TILE).min(n) {
                for i in i0.max(j)..(i0 + TILE).min(n) {
                    f(i, j);
                }
            }
        }
    }
}

/// `$(A + A^{\top})/2$`, and the largest `$|A_{ij} - A_{ji}|$` relative to `max |A_ij|` (0 for a
/// zero matrix).
pub fn symmetrize(a: &mut Mat<f64>) -> f64 {
    let (mut worst, mut largest) = (0.0_f64, 0.0_f64);
    for_each_lower(a.nrows(), |i, j| {
        let (x, y) = (a[(i, j)], a[(j, i)]);
        worst = worst.max((x - y).abs());
        largest = largest.max(x.abs()).max(y.abs());
        let mean = 0.5 * (x + y);
        a[(i, j)] = mean;
        a[(j, i)] = mean;
    });
    if largest > 0.0 {
        worst / largest
    } else {
        0.0
    }
}

/// Copies the lower triangle of the square `a` onto its upper one: `$A_{ji} = A_{ij}$`, `i > j`.
pub fn mirror_lower(a: &mut Mat<f64>) {
    for_each_lower(a.nrows(), |i, j| a[(j, i)] = a[(i, j)]);
}

/// Copies the upper triangle of the square `a` onto its lower one: `$A_{ij} = A_{ji}$`, `i > j`.
pub fn mirror_upper(a: &mut Mat<f64>) {
    for_each_lower(a.nrows(), |i, j| a[(i, j)] = a[(j, i)]);
}

/// `$v^{\top} A v$` for a symmetric `A`.
pub fn quadratic_form(a: &Mat<f64>, v: ArrayView1<'_, f64>) -> f64 {
    let n = v.len();
    (0..n)
        .map(|j| v[j] * (0..n).map(|i| a[(i, j)] * v[i]).sum::<f64>())
        .sum()
}

/// `$A^{-1}$` of a symmetric positive-definite `A` by its Cholesky factorisation (two triangular
/// solves against the identity). Used only where a whole inverse is the quantity wanted (a
/// covariance from a precision in the checks, a prior given in covariance form for the KL):
/// its relative error is of order `$\kappa(A) \cdot \varepsilon$`.
pub fn spd_inverse(a: &Mat<f64>, what: &str) -> Result<Mat<f64>> {
    let chol = cholesky(a, what, Jitter::Never)?;
    let mut inv = chol.solve(&Mat::identity(a.nrows(), a.nrows()));
    symmetrize(&mut inv);
    Ok(inv)
}

#[cfg(test)]
mod tests {
    use super::{cholesky, log_det_in_place, mirror_lower, mirror_upper, symmetrize, Jitter};
    use crate::Error;
    use faer::Mat;

    /// A matrix whose every entry differs, of a size that is not a multiple of the tile.
    fn distinct(n: usize) -> Mat<f64> {
        Mat::from_fn(n, n, |i, j| (i * n + j) as f64 * 0.37 - (j as f64).sqrt())
    }

    /// The tiled walks touch every pair `i ≥ j` once: against the formulas entry by entry.
    #[test]
    fn tiled_symmetrize_and_mirror_match_the_entrywise_formulas() {
        for n in [1, 63, 64, 65, 150] {
            let a = distinct(n);
            let mut s = a.clone();
            let asym = symmetrize(&mut s);
            let mut worst = 0.0_f64;
            let largest = (0..n)
                .flat_map(|i| (0..n).map(move |j| (i, j)))
                .map(|(i, j)| a[(i, j)].abs())
                .fold(0.0, f64::max);
            for i in 0..n {
                for j in 0..n {
                    assert_eq!(
                        s[(i, j)],
                        0.5 * (a[(i, j)] + a[(j, i)]),
                        "({i}, {j}) of {n}"
                    );
                    worst = worst.max((a[(i, j)] - a[(j, i)]).abs());
                }
            }
            assert_eq!(asym, if largest > 0.0 { worst / largest } else { 0.0 });
            let mut m = a.clone();
            mirror_lower(&mut m);
            for i in 0..n {
                for j in 0..n {
                    assert_eq!(m[(i, j)], a[(i.max(j), i.min(j))], "({i}, {j}) of {n}");
                }
            }
            let mut m = a.clone();
            mirror_upper(&mut m);
            for i in 0..n {
                for j in 0..n {
                    assert_eq!(m[(i, j)], a[(i.min(j), i.max(j))], "({i}, {j}) of {n}");
                }
            }
        }
    }

    /// `B Bᵀ + shift·I` for a `B` of `n × 30` distinct entries: exactly symmetric as built.
    fn spd(n: usize, shift: f64) -> Mat<f64> {
        let b = Mat::from_fn(n, 30, |i, j| ((i * 31 + j * 17) % 23) as f64 / 23.0 - 0.5);
        let mut a = &b * b.transpose();
        mirror_lower(&mut a);
        for i in 0..n {
            a[(i, i)] += shift;
        }
        a
    }

    fn same_bits(a: &Mat<f64>, b: &Mat<f64>) -> bool {
        (0..a.ncols()).all(|j| (0..a.nrows()).all(|i| a[(i, j)].to_bits() == b[(i, j)].to_bits()))
    }

    /// The in-place log-determinant is the copy's, to the bit (the same factorisation of the
    /// same lower triangle), and leaves the matrix as it found it; sizes below, at and past a
    /// block of the blocked factorisation.
    #[test]
    fn the_log_det_in_place_is_the_copys_and_restores_the_matrix() {
        for n in [1, 40, 700, 1100] {
            let a = spd(n, 0.5);
            let want = cholesky(&a, "A", Jitter::Never).unwrap().log_det();
            let mut m = a.clone();
            let got = log_det_in_place(&mut m, "A").unwrap();
            assert_eq!(got.to_bits(), want.to_bits(), "n = {n}: {got} vs {want}");
            assert!(same_bits(&m, &a), "n = {n}: the matrix was not restored");
        }
    }

    /// An indefinite matrix (a pivot in the second block turned negative) gets the error of
    /// [`cholesky`] word for word, and is restored too.
    #[test]
    fn the_log_det_in_place_fails_as_cholesky_does_and_restores_the_matrix() {
        let n = 700;
        let mut a = spd(n, 0.5);
        a[(600, 600)] = -1.0;
        let mut m = a.clone();
        let got = log_det_in_place(&mut m, "A").unwrap_err();
        let want = cholesky(&a, "A", Jitter::Never).err().unwrap();
        match (&got, &want) {
            (
                Error::NotPositiveDefinite { reason: r1, .. },
                Error::NotPositiveDefinite { reason: r2, .. },
            ) => {
                assert_eq!(r1, r2);
                assert!(r1.contains("index: 600"), "{r1}");
            }
            other => panic!("{other:?}"),
        }
        assert!(same_bits(&m, &a), "the matrix was not restored");
    }
}
