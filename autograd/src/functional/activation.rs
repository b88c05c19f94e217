//! Activations composed from primitives.

use std::ops::Neg;

use crate::float::Float;
use crate::tape::Var;

impl<'t, F: Float> Var<'t, F> {
    /// `x²` (as `x · x`: exact, and its second derivative is the constant 2).
    pub fn square(self) -> Var<'t, F> {
        self.try_mul(self).expect("a variable has its own shape")
    }

    /// `softplus(x) = ln(1 + eˣ)`, computed as `max(x, 0) + ln(1 + e^{−|x|})`, which neither
    /// overflows for large `x` nor loses precision for very negative `x`. Derivative: `σ(x)`.
    pub fn softplus(self) -> Var<'t, F> {
        let tail = self.abs().neg().exp().log1p();
        self.relu().try_add(tail).expect("same shape")
    }

    /// Leaky ReLU `max(x, α·x)` for a slope `0 ≤ α < 1` on the negative side.
    pub fn leaky_relu(self, alpha: f64) -> Var<'t, F> {
        self.maximum(self.mul_scalar(alpha)).expect("same shape")
    }
}
