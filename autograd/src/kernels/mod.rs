//! The kernel interface: every numeric inner loop the ops run goes through these functions, so
//! a faster kernel replaces one function here and no op changes. The GEMM is public for
//! benchmarks and for callers that manage their own buffers; the rest is internal.

pub(crate) mod conv;
pub(crate) mod elementwise;

use ndarray::{ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3, Axis};

use crate::float::Float;

/// `C ← α·A·B + β·C` for 2-D views of any strides (a transposed operand is a view with swapped
/// strides, never a copy). The caller has checked the shapes.
pub fn gemm<F: Float>(
    alpha: F,
    a: ArrayView2<'_, F>,
    b: ArrayView2<'_, F>,
    beta: F,
    mut c: ArrayViewMut2<'_, F>,
) {
    ndarray::linalg::general_mat_mul(alpha, &a, &b, beta, &mut c);
}

/// `C[i] ← α·A[i]·B[i] + β·C[i]` over the first axis.
pub fn gemm_batched<F: Float>(
    alpha: F,
    a: ArrayView3<'_, F>,
    b: ArrayView3<'_, F>,
    beta: F,
    mut c: ArrayViewMut3<'_, F>,
) {
    for ((a, b), c) in a
        .axis_iter(Axis(0))
        .zip(b.axis_iter(Axis(0)))
        .zip(c.axis_iter_mut(Axis(0)))
    {
        gemm(alpha, a, b, beta, c);
    }
}
