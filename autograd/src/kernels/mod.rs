//! The kernel interface: every numeric inner loop the ops run goes through these functions, so
//! a faster kernel replaces one function here and no op changes. The GEMM is public for
//! benchmarks and for callers that manage their own buffers; the rest is internal.

pub(crate) mod conv;
pub(crate) mod elementwise;
pub mod gemm;
pub(crate) mod reduce;

pub use gemm::{gemm, gemm_batched, product, product_batched};
