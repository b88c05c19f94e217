//! Activations composed from primitives.

use crate::float::Float;
use crate::tape::Var;

impl<'t, F: Float> Var<'t, F> {
    /// `x²` (as `x · x`: exact, and its second derivative is the constant 2).
    pub fn square(self) -> Var<'t, F> {
        self.try_mul(self).expect("a variable has its own shape")
    }

    /// `softplus(x) = ln(1 + eˣ)`, computed as `p + ln(1 + eᵗ)` with `p = m·x`, `t = s·x`, where
    /// `m = 1[x > 0]` and `s = 1 − 2m` are constant masks: `p = max(x, 0)`, `t = −|x|`, so it
    /// neither overflows for large `x` nor loses precision for very negative `x`.
    ///
    /// Derivative `m + s·σ(t) = σ(x)` and second derivative `s²·σ'(t) = σ'(x)` everywhere,
    /// `x = 0` included (`½` and `¼`). Written as `relu(x) + ln(1 + e^{−|x|})`, the two kinks'
    /// subgradients at `x = 0` (`relu' = 0`, `sign 0 = 0`) would give `softplus'(0) = 0`.
    pub fn softplus(self) -> Var<'t, F> {
        let positive =
            self.with_value(|x| x.mapv(|v| if v > F::zero() { F::one() } else { F::zero() }));
        let sign = positive.mapv(|m| F::one() - m - m);
        let p = self
            .try_mul(self.tape.constant(positive))
            .expect("a mask of the variable's shape");
        let t = self
            .try_mul(self.tape.constant(sign))
            .expect("a mask of the variable's shape");
        p.try_add(t.exp().log1p()).expect("same shape")
    }

    /// Leaky ReLU `max(x, α·x)` for a slope `0 ≤ α < 1` on the negative side.
    pub fn leaky_relu(self, alpha: f64) -> Var<'t, F> {
        self.maximum(self.mul_scalar(alpha)).expect("same shape")
    }
}
