//! The two dense kernels of the full Laplace posterior, blocked so that nearly all of their
//! multiply-adds run in the project's GEMM (`autograd::kernels::gemm`): the symmetric rank-`k`
//! update `$C \mathrel{+}= \alpha A A^{\top}$` (lower triangle) that builds the GGN
//! `$J^{\top} J$`, and the Cholesky factorisation `$A = L L^{\top}$` of the precision.
//!
//! On two threads of a 2-core Intel AVX-512 VM, the 6,050² precision of `laplace_ggn_full_6050`
//! factored in 0.93–0.95 s with faer's `Llt` (77–80 GFLOP/s), 0.71 s here (104), 0.70–0.72 s
//! with LAPACK's under PyTorch (MKL); one thread: 1.40–1.45, 1.24–1.27 and 1.20–1.23 s. The
//! rank-900 update of the GGN takes 0.31 s (116 GFLOP/s), level with faer's triangular product
//! (the build around it, 0.51–0.53 s before, 0.53–0.55 after). Here faer keeps only what is
//! small: the diagonal blocks of the factorisation and the triangular solves against them,
//! each sequential, in row chunks of a fixed size.
//!
//! **Bits.** Every chunk of work is cut by sizes fixed here, never by the thread count, and the
//! GEMM's sums do not depend on it either: the results are the same bits on any number of
//! threads.
//!
//! Matrices are faer's (column-major); the GEMM sees them as strided `ndarray` views.

use faer::dyn_stack::{MemBuffer, MemStack};
use faer::linalg::cholesky::llt::factor::{
    cholesky_in_place as factor_in_place, cholesky_in_place_scratch, LltError, LltRegularization,
};
use faer::linalg::triangular_solve::solve_lower_triangular_in_place;
use faer::{Mat, MatMut, MatRef, Par};
use ndarray::{s, Array2, ArrayView2, ArrayViewMut2, Ix2, ShapeBuilder, StrideShape};
use rayon::prelude::*;

/// Columns of `C` per GEMM call of [`syrk_lower`], and the order of the diagonal blocks of
/// [`cholesky_in_place`]. The trailing update of a Cholesky step is a product of inner
/// dimension `BLOCK`: too thin and the GEMM runs below its rate, too thick and the sequential
/// diagonal factorisations and triangular solves grow (`BLOCK²·n/2` multiply-adds in all). For
/// `n = 6050` on two threads: 0.93 s (128), 0.88 (256), 0.80 (384), 0.74 (512), 0.80 (768),
/// with faer's parallel triangular solve in the probe that chose it.
const BLOCK: usize = 512;

/// Rows of the panel per task of [`solve_panel`].
const PANEL_ROWS: usize = 256;

/// The pivot at which a factorisation stopped: the leading minor of this order + 1 is not
/// positive definite.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct NonPositivePivot {
    /// Index of the pivot (0-based) in the whole matrix.
    pub index: usize,
}

/// `$C \leftarrow C + \alpha A A^{\top}$` on the lower triangle of the square `c` (`m × m`), `a`
/// being `m × k`; the strict upper triangle is not touched. Column block `[j, j + w)` (`w` =
/// 512) is two GEMMs: its diagonal block `$\alpha A[j..j+w, :] A[j..j+w, :]^{\top}$` into a
/// scratch whose lower triangle is then added to `C`, and the rows below it, `$C[j+w.., j..j+w]
/// \mathrel{+}= \alpha A[j+w.., :] A[j..j+w, :]^{\top}$`: `$(m - j) \cdot w \cdot k$`
/// multiply-adds per block, about half those of the full product in all.
pub fn syrk_lower(alpha: f64, a: ArrayView2<'_, f64>, mut c: ArrayViewMut2<'_, f64>) {
    let m = a.nrows();
    assert!(
        c.nrows() == m && c.ncols() == m,
        "syrk_lower: A is {m} × {}, C must be {m} × {m}, got {:?}",
        a.ncols(),
        c.dim()
    );
    // column-major like faer's matrices, so that the GEMM sees the same layout as for the
    // blocks below it
    let mut diagonal = Array2::<f64>::zeros((BLOCK.min(m), BLOCK.min(m)).f());
    for j in (0..m).step_by(BLOCK) {
        let w = BLOCK.min(m - j);
        let top = a.slice(s![j..j + w, ..]);
        let mut d = diagonal.slice_mut(s![..w, ..w]);
        autograd::kernels::gemm(alpha, top, top.t(), 0.0, d.view_mut());
        for jj in 0..w {
            for ii in jj..w {
                c[[j + ii, j + jj]] += d[[ii, jj]];
            }
        }
        if j + w < m {
            let below = a.slice(s![j + w.., ..]);
            let target = c.slice_mut(s![j + w.., j..j + w]);
            autograd::kernels::gemm(alpha, below, top.t(), 1.0, target);
        }
    }
}

/// The Cholesky factor of the symmetric positive-definite `a` in place: on return its lower
/// triangle holds `L` with `$A = L L^{\top}$` and its strict upper triangle zeros. Only the lower
/// triangle of `a` is read.
///
/// # Errors
/// The first pivot that is not positive (or not finite); `a` is then partly overwritten.
pub fn cholesky_in_place(a: &mut Mat<f64>) -> Result<(), NonPositivePivot> {
    factor_lower_in_place(a)?;
    for j in 1..a.ncols() {
        for i in 0..j {
            a[(i, j)] = 0.0;
        }
    }
    Ok(())
}

/// [`cholesky_in_place`] on the lower triangle alone: on return the lower triangle of `a` holds
/// `L` and its strict upper triangle is as it was (so a matrix held whole keeps `$A$` there).
///
/// Right-looking, in blocks of 512: per step `k`, `$L_{kk}$` = the Cholesky factor of the
/// diagonal block (faer, sequential), the panel below it `$L_{\cdot k} = A_{\cdot k}
/// L_{kk}^{-\top}$` (faer's sequential triangular solve, in chunks of 256 rows in parallel),
/// and the trailing matrix `$A \mathrel{-}= L_{\cdot k} L_{\cdot k}^{\top}$` ([`syrk_lower`]).
///
/// # Errors
/// As [`cholesky_in_place`]; the lower triangle is then partly overwritten, the upper one not.
pub fn factor_lower_in_place(a: &mut Mat<f64>) -> Result<(), NonPositivePivot> {
    let n = a.nrows();
    assert_eq!(a.ncols(), n, "factor_lower_in_place: a square matrix");
    let scratch = cholesky_in_place_scratch::<f64>(BLOCK.min(n), Par::Seq, Default::default());
    let mut buffer = MemBuffer::new(scratch);
    // faer's factorisation of a diagonal block writes the block's strict upper triangle too:
    // it is kept here and put back
    let mut upper = Mat::<f64>::zeros(BLOCK.min(n), BLOCK.min(n));
    for k in (0..n).step_by(BLOCK) {
        let b = BLOCK.min(n - k);
        let mut diagonal = a.as_mut().submatrix_mut(k, k, b, b);
        upper
            .as_mut()
            .submatrix_mut(0, 0, b, b)
            .copy_from_strict_triangular_upper(diagonal.as_ref());
        let factored = factor_in_place(
            diagonal.as_mut(),
            LltRegularization::default(),
            Par::Seq,
            MemStack::new(&mut buffer),
            Default::default(),
        );
        diagonal.copy_from_strict_triangular_upper(upper.as_ref().submatrix(0, 0, b, b));
        factored.map_err(|LltError::NonPositivePivot { index }| NonPositivePivot {
            index: k + index,
        })?;
        let rest = n - k - b;
        if rest == 0 {
            break;
        }
        let (top, below) = a.as_mut().split_at_row_mut(k + b);
        let (mut left, trailing) = below.split_at_col_mut(k + b);
        solve_panel(
            top.as_ref().submatrix(k, k, b, b),
            left.as_mut().submatrix_mut(0, k, rest, b),
        );
        let panel = left.as_ref().submatrix(0, k, rest, b);
        syrk_lower(-1.0, view(panel), view_mut(trailing));
    }
    Ok(())
}

/// An `nrows × ncols` matrix filled by `f(i, j)`, column by column, whose memory is advised to
/// the kernel as a candidate for transparent huge pages before its first touch
/// (`madvise(MADV_HUGEPAGE)`: where `/sys/kernel/mm/transparent_hugepage/enabled` says
/// `madvise`, the usual default, only advised memory gets them; elsewhere the advice changes
/// nothing). For the full Laplace posterior's 6,050² matrices (293 MB each: the GGN and, at
/// the time, a copy for its factorisation, since factored in place), faulted in 4 KiB at a
/// time, the faults cost 0.11 s and 0.13 s of a 1.5 s posterior on two threads of an Intel
/// VM; in 2 MiB pages 512 times fewer are taken, and `laplace_ggn_full_6050` went from
/// 0.66–0.69 to 0.75–0.78 posteriors/s. The GGN's Jacobian (`$P \times NK$`, 43 MB for 900
/// objects) is one too.
pub fn large_matrix(nrows: usize, ncols: usize, f: impl FnMut(usize, usize) -> f64) -> Mat<f64> {
    let mut m = Mat::<f64>::with_capacity(nrows, ncols);
    let bytes = m.col_stride().max(0) as usize * ncols * std::mem::size_of::<f64>();
    advise_huge_pages(m.as_ptr_mut().cast(), bytes);
    m.resize_with(nrows, ncols, f);
    m
}

/// The size of a transparent huge page on x86-64 (and aarch64 with 4 KiB base pages).
const HUGE_PAGE: usize = 2 << 20;

/// Smallest block that gets the advice: glibc serves a block this large from a mapping of its
/// own whatever its thresholds, where a smaller one may share heap pages with other blocks.
const ADVISED_BYTES: usize = 32 << 20;

/// The whole huge pages inside `[start, start + bytes)`, as `(first, length)`, for a block of
/// at least [`ADVISED_BYTES`].
fn huge_pages_within(start: usize, bytes: usize) -> Option<(usize, usize)> {
    let first = start.next_multiple_of(HUGE_PAGE);
    let end = (start + bytes) / HUGE_PAGE * HUGE_PAGE;
    (bytes >= ADVISED_BYTES && end > first).then(|| (first, end - first))
}

/// Advises the whole huge pages inside the allocation at `ptr` ([`huge_pages_within`]).
fn advise_huge_pages(ptr: *mut u8, bytes: usize) {
    #[cfg(target_os = "linux")]
    {
        // <sys/mman.h>: int madvise(void *addr, size_t length, int advice)
        extern "C" {
            fn madvise(addr: *mut std::ffi::c_void, length: usize, advice: i32) -> i32;
        }
        const MADV_HUGEPAGE: i32 = 14;
        if let Some((first, length)) = huge_pages_within(ptr as usize, bytes) {
            // SAFETY: the range lies inside an allocation of ours; madvise only changes how the
            // kernel backs it, not its contents or validity. A failure (EINVAL where THP is
            // compiled out) leaves the memory as it was.
            unsafe { madvise(first as *mut std::ffi::c_void, length, MADV_HUGEPAGE) };
        }
    }
    #[cfg(not(target_os = "linux"))]
    let _ = (ptr, bytes);
}

/// A faer matrix view as an `ndarray` view of the same elements (no copy).
///
/// # Panics
/// On a negative stride (a reversed faer view), which `ndarray` cannot take from a pointer.
pub fn view(m: MatRef<'_, f64>) -> ArrayView2<'_, f64> {
    let shape = layout(m.nrows(), m.ncols(), m.row_stride(), m.col_stride());
    // SAFETY: the view addresses the same `nrows × ncols` elements, at the same strides, for the
    // same lifetime as `m`.
    unsafe { ArrayView2::from_shape_ptr(shape, m.as_ptr()) }
}

/// A mutable faer matrix view as a mutable `ndarray` view of the same elements (no copy).
///
/// # Panics
/// As [`view`].
pub fn view_mut(m: MatMut<'_, f64>) -> ArrayViewMut2<'_, f64> {
    let shape = layout(m.nrows(), m.ncols(), m.row_stride(), m.col_stride());
    // SAFETY: as in `view`; `m` is consumed, so the new view is the only access to its elements.
    unsafe { ArrayViewMut2::from_shape_ptr(shape, m.as_ptr_mut()) }
}

/// The `ndarray` shape of a faer view: its size and its (element) strides, which must not be
/// negative.
fn layout(rows: usize, cols: usize, row_stride: isize, col_stride: isize) -> StrideShape<Ix2> {
    assert!(
        row_stride >= 0 && col_stride >= 0,
        "a faer view with negative strides ({row_stride}, {col_stride}) has no ndarray view"
    );
    (rows, cols).strides((row_stride as usize, col_stride as usize))
}

/// `$P \leftarrow P L^{-\top}$` for the lower-triangular `l` (`b × b`) and the panel `p`
/// (`rows × b`): row by row independent (`$L X_{i}^{\top} = P_{i}^{\top}$`), so solved in chunks
/// of [`PANEL_ROWS`] rows in parallel, each by faer's sequential triangular solve.
fn solve_panel(l: MatRef<'_, f64>, p: MatMut<'_, f64>) {
    let mut chunks = Vec::with_capacity(p.nrows().div_ceil(PANEL_ROWS));
    let mut rest = p;
    while rest.nrows() > PANEL_ROWS {
        let (chunk, tail) = rest.split_at_row_mut(PANEL_ROWS);
        chunks.push(chunk);
        rest = tail;
    }
    chunks.push(rest);
    chunks
        .into_par_iter()
        .for_each(|chunk| solve_lower_triangular_in_place(l, chunk.transpose_mut(), Par::Seq));
}

#[cfg(test)]
mod tests {
    //! The blocked kernels against their definitions, on sizes that cut blocks and chunks
    //! partly, and the same bits on one and on three threads.
    use super::{
        cholesky_in_place, factor_lower_in_place, huge_pages_within, large_matrix, syrk_lower,
        NonPositivePivot, ADVISED_BYTES, BLOCK, HUGE_PAGE,
    };
    use faer::Mat;
    use ndarray::Array2;
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    fn random(rows: usize, cols: usize, rng: &mut StdRng) -> Array2<f64> {
        Array2::from_shape_simple_fn((rows, cols), || rng.gen_range(-1.0..1.0))
    }

    /// `A Aᵀ + shift·I`: positive definite with eigenvalues ≥ `shift`.
    fn spd(a: &Array2<f64>, shift: f64) -> Mat<f64> {
        let m = a.nrows();
        Mat::from_fn(m, m, |i, j| {
            a.row(i).dot(&a.row(j)) + if i == j { shift } else { 0.0 }
        })
    }

    #[test]
    fn the_advice_covers_exactly_the_whole_huge_pages_of_a_large_block() {
        let mb = 1 << 20;
        let large = ADVISED_BYTES;
        // a block starting 1 MiB past a huge page boundary: its first whole page is 1 MiB in
        assert_eq!(
            huge_pages_within(10 * HUGE_PAGE + mb, large),
            Some((11 * HUGE_PAGE, large - HUGE_PAGE))
        );
        assert_eq!(
            huge_pages_within(10 * HUGE_PAGE, large),
            Some((10 * HUGE_PAGE, large))
        );
        // smaller blocks get none, even those holding whole huge pages or none at all
        assert_eq!(huge_pages_within(10 * HUGE_PAGE, large - 1), None);
        assert_eq!(huge_pages_within(10 * HUGE_PAGE + mb, 4096), None);
    }

    #[test]
    fn a_large_matrix_holds_what_its_function_gives() {
        // 4.5 MB, so not advised; the advice's range is the test above
        let m = large_matrix(800, 700, |i, j| (i * 1000 + j) as f64);
        assert_eq!((m.nrows(), m.ncols()), (800, 700));
        for j in 0..700 {
            for i in 0..800 {
                assert_eq!(m[(i, j)], (i * 1000 + j) as f64);
            }
        }
    }

    #[test]
    fn syrk_lower_matches_the_product_on_the_lower_triangle() {
        let mut rng = StdRng::seed_from_u64(11);
        for (m, k) in [(1, 3), (BLOCK + 37, 20), (2 * BLOCK + 1, 7)] {
            let a = random(m, k, &mut rng);
            let c0 = random(m, m, &mut rng);
            let mut c = c0.clone();
            syrk_lower(-0.5, a.view(), c.view_mut());
            for j in 0..m {
                for i in j..m {
                    let want = c0[[i, j]] - 0.5 * a.row(i).dot(&a.row(j));
                    // both sides sum k products of numbers in (−1, 1) and add c0 (|c0| < 1):
                    // each is within (k + 1)·ε·(k + 1) of the exact value, so they are within
                    // twice that of each other
                    let scale = 2.0 * ((k + 1) as f64).powi(2) * f64::EPSILON;
                    assert!(
                        (c[[i, j]] - want).abs() <= scale,
                        "({i}, {j}) of {m}×{k}: {} vs {want}",
                        c[[i, j]]
                    );
                }
                for i in 0..j {
                    assert_eq!(c[[i, j]], c0[[i, j]], "upper ({i}, {j}) of {m}×{k} written");
                }
            }
        }
    }

    #[test]
    fn cholesky_reproduces_the_matrix_and_zeroes_the_upper_triangle() {
        let mut rng = StdRng::seed_from_u64(12);
        for m in [1, 5, BLOCK, BLOCK + 300, 2 * BLOCK + 3] {
            let a = spd(&random(m, 40, &mut rng), 1.0);
            let mut l = a.clone();
            cholesky_in_place(&mut l).expect("positive definite");
            let llt = &l * l.transpose();
            // backward stability of Cholesky: |A − LLᵀ| ≤ c·m·ε·|L||Lᵀ|, and |L||Lᵀ| ≤ the
            // largest diagonal of A (41 at most here) on every entry
            let bound = 4.0 * m as f64 * f64::EPSILON * 41.0;
            for j in 0..m {
                for i in 0..m {
                    if i < j {
                        assert_eq!(l[(i, j)], 0.0, "upper ({i}, {j}) of {m}");
                    }
                    assert!(
                        (llt[(i, j)] - a[(i, j)]).abs() <= bound,
                        "({i}, {j}) of {m}: {} vs {}",
                        llt[(i, j)],
                        a[(i, j)]
                    );
                }
            }
        }
    }

    #[test]
    fn the_lower_factor_leaves_the_upper_triangle_and_matches_the_full_one() {
        let mut rng = StdRng::seed_from_u64(15);
        for m in [7, BLOCK + 300, 2 * BLOCK + 3] {
            let a = spd(&random(m, 40, &mut rng), 1.0);
            // an upper triangle unlike A's, to tell whether the factorisation read or wrote it
            let mut lower = Mat::from_fn(m, m, |i, j| if i >= j { a[(i, j)] } else { -7.0 });
            let mut full = a.clone();
            factor_lower_in_place(&mut lower).expect("positive definite");
            cholesky_in_place(&mut full).expect("positive definite");
            for j in 0..m {
                for i in 0..m {
                    let want = if i >= j { full[(i, j)] } else { -7.0 };
                    assert_eq!(lower[(i, j)].to_bits(), want.to_bits(), "({i}, {j}) of {m}");
                }
            }
        }
    }

    #[test]
    fn cholesky_names_the_first_non_positive_pivot_in_a_later_block() {
        let mut rng = StdRng::seed_from_u64(13);
        let m = BLOCK + 20;
        let mut a = spd(&random(m, 30, &mut rng), 1.0);
        // the leading minor of order BLOCK + 11 turns indefinite at its last pivot
        let at = BLOCK + 10;
        for j in 0..m {
            a[(at, j)] = 0.0;
            a[(j, at)] = 0.0;
        }
        a[(at, at)] = -1.0;
        assert_eq!(
            cholesky_in_place(&mut a),
            Err(NonPositivePivot { index: at })
        );
    }

    #[test]
    fn cholesky_gives_the_same_bits_on_any_thread_count() {
        let mut rng = StdRng::seed_from_u64(14);
        let a = spd(&random(BLOCK + 300, 50, &mut rng), 1.0);
        let factor = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                let mut l = a.clone();
                cholesky_in_place(&mut l).expect("positive definite");
                let n = l.nrows();
                (0..n)
                    .flat_map(|j| (0..n).map(move |i| (i, j)))
                    .map(|(i, j)| l[(i, j)].to_bits())
                    .collect::<Vec<_>>()
            })
        };
        assert_eq!(factor(1), factor(3));
    }
}
