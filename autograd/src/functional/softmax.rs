//! Logsumexp and softmax along an axis, stable for logits of any magnitude (log-softmax itself
//! is a primitive: `ops/softmax.rs`).
//!
//! With `m = max_k z_k` held constant (detached) and the shifted logits `s = z − m` (all ≤ 0,
//! and exact for logits near the maximum):
//!
//! * `logsumexp(z) = m + ln Σ_k e^{s_k}`
//! * `softmax(z) = e^{log_softmax(z)}`, where the primitive computes
//!   `log_softmax(z) = s − ln Σ_k e^{s_k}` in one pass
//!
//! The values do not depend on `m`, so neither do the gradients: detaching `m` is exact. Working
//! with `s` rather than `z − logsumexp(z)` matters in `f32`: at `|z| ≈ 1e4` the latter cancels
//! two large numbers and keeps only about 4 significant digits.

use crate::float::Float;
use crate::ops::normalize_axis;
use crate::tape::Var;
use crate::Result;

impl<'t, F: Float> Var<'t, F> {
    /// The resolved axis, `m = max(z)` (detached, kept as a size-1 axis) and `s = z − m`.
    fn shifted(self, op: &'static str, axis: isize) -> Result<(isize, Var<'t, F>, Var<'t, F>)> {
        let a = normalize_axis(op, axis, self.ndim())? as isize;
        let m = self.detach().max_axis(a, true)?;
        Ok((a, m, self.try_sub(m)?))
    }

    /// `ln Σ_k exp(z_k)` along `axis`, kept as a size-1 axis if `keepdim`.
    pub fn logsumexp(self, axis: isize, keepdim: bool) -> Result<Var<'t, F>> {
        let (a, m, s) = self.shifted("logsumexp", axis)?;
        let lse = s.exp().sum_axis(a, true)?.log().try_add(m)?;
        if keepdim {
            Ok(lse)
        } else {
            let mut shape = lse.shape();
            shape.remove(a as usize);
            lse.reshape(&shape)
        }
    }

    /// `softmax(z)_k = e^{z_k} / Σ_j e^{z_j}` along `axis`: `exp(log_softmax(z))`, whose
    /// exponents are all ≤ 0.
    pub fn softmax(self, axis: isize) -> Result<Var<'t, F>> {
        Ok(self.log_softmax(axis)?.exp())
    }
}
