//! The kernel interface: every numeric inner loop the ops run goes through these functions, so
//! a faster kernel replaces one function here and no op changes. The GEMM is public for
//! benchmarks and for callers that manage their own buffers; the rest is internal.

pub(crate) mod conv;
pub(crate) mod elementwise;
pub mod gemm;
pub(crate) mod pool;
pub(crate) mod reduce;
pub(crate) mod scratch;
pub mod simd;
pub mod transcendental;

pub use gemm::{gemm, gemm_batched, product, product_batched};
pub use simd::widest;

/// Whether elementwise work on `len` elements is worth splitting over the current rayon pool
/// (the rule every elementwise kernel here follows; exported for elementwise loops elsewhere,
/// such as optimiser updates). When it is, the pool's other workers are kept awake for the
/// split (see the `pool` module).
pub fn parallel_worthwhile(len: usize) -> bool {
    elementwise::parallel(len)
}

/// How many elements one task takes when elementwise work on `len` elements is split over the
/// pool (about four tasks per thread, none very short): the rule of the elementwise kernels
/// here, for loops elsewhere that split after [`parallel_worthwhile`] said yes.
pub fn parallel_task_len(len: usize) -> usize {
    elementwise::task_len(len, 1)
}
