//! The element type of tensors: `f32` or `f64`, behind one sealed trait.

use std::fmt::{Debug, Display};
use std::iter::Sum;
use std::ops::{AddAssign, DivAssign, MulAssign, SubAssign};

mod sealed {
    pub trait Sealed {}
    impl Sealed for f32 {}
    impl Sealed for f64 {}
}

/// A floating-point element type the engine computes in: `f32` (training) or `f64` (gradient
/// checks). Sealed: the kernels are written for exactly these two.
pub trait Float:
    num_traits::Float
    + ndarray::LinalgScalar
    + ndarray::ScalarOperand
    + AddAssign
    + SubAssign
    + MulAssign
    + DivAssign
    + Sum
    + Default
    + Debug
    + Display
    + Send
    + Sync
    + 'static
    + crate::kernels::gemm::GemmScalar
    + sealed::Sealed
{
    /// `"f32"` or `"f64"`, for messages and file metadata.
    const NAME: &'static str;

    /// Converts from `f64`, rounding to nearest for `f32`.
    fn from_f64(x: f64) -> Self;

    /// Converts to `f64` exactly. (Named so as not to collide with num-traits'
    /// `ToPrimitive::to_f64`, which returns an `Option`.)
    fn as_f64(self) -> f64;

    /// `n` as this type (exact for every `n` below 2^24 in `f32`).
    fn from_usize(n: usize) -> Self {
        Self::from_f64(n as f64)
    }

    /// `eˣ` as the engine's elementwise ops compute it: for `f32` a polynomial the compiler
    /// vectorises, within 0.51 ulp ([`exp_f32`](crate::kernels::transcendental::exp_f32)); for
    /// `f64` libm's `exp`.
    fn exp_elementwise(self) -> Self;

    /// `ln(1 + x)` as the engine's elementwise ops compute it: for `f32` vectorisable, within
    /// 0.51 ulp ([`ln_1p_f32`](crate::kernels::transcendental::ln_1p_f32)); for `f64` libm's
    /// `ln_1p`.
    fn ln_1p_elementwise(self) -> Self;
}

impl Float for f32 {
    const NAME: &'static str = "f32";
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn as_f64(self) -> f64 {
        self as f64
    }
    #[inline(always)]
    fn exp_elementwise(self) -> Self {
        crate::kernels::transcendental::exp_f32(self)
    }
    #[inline(always)]
    fn ln_1p_elementwise(self) -> Self {
        crate::kernels::transcendental::ln_1p_f32(self)
    }
}

impl Float for f64 {
    const NAME: &'static str = "f64";
    fn from_f64(x: f64) -> Self {
        x
    }
    fn as_f64(self) -> f64 {
        self
    }
    #[inline(always)]
    fn exp_elementwise(self) -> Self {
        self.exp()
    }
    #[inline(always)]
    fn ln_1p_elementwise(self) -> Self {
        self.ln_1p()
    }
}
