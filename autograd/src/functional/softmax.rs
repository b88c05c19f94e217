//! Logsumexp, softmax and log-softmax along an axis, stable for logits of any magnitude.
//!
//! `logsumexp(z) = m + ln Σ_k e^{z_k − m}` with `m = max_k z_k` held constant (detached): the
//! value does not depend on `m`, so neither does the gradient, and every exponent is ≤ 0.
//! Then `log_softmax(z) = z − logsumexp(z)` and `softmax(z) = exp(log_softmax(z))`.

use crate::float::Float;
use crate::ops::normalize_axis;
use crate::tape::Var;
use crate::Result;

impl<'t, F: Float> Var<'t, F> {
    /// `ln Σ_k exp(z_k)` along `axis`, kept as a size-1 axis if `keepdim`.
    pub fn logsumexp(self, axis: isize, keepdim: bool) -> Result<Var<'t, F>> {
        let a = normalize_axis("logsumexp", axis, self.ndim())?;
        let m = self.detach().max_axis(a as isize, true)?;
        let lse = self
            .try_sub(m)?
            .exp()
            .sum_axis(a as isize, true)?
            .log()
            .try_add(m)?;
        if keepdim {
            Ok(lse)
        } else {
            let mut shape = lse.shape();
            shape.remove(a);
            lse.reshape(&shape)
        }
    }

    /// `log softmax(z)_k = z_k − ln Σ_j e^{z_j}` along `axis`.
    pub fn log_softmax(self, axis: isize) -> Result<Var<'t, F>> {
        self.try_sub(self.logsumexp(axis, true)?)
    }

    /// `softmax(z)_k = e^{z_k} / Σ_j e^{z_j}` along `axis`.
    pub fn softmax(self, axis: isize) -> Result<Var<'t, F>> {
        Ok(self.log_softmax(axis)?.exp())
    }
}
