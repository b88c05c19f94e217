//! Log-softmax along an axis as one fused op: the building block of softmax and of every
//! cross-entropy, in one pass over each line instead of the seven tape ops of its composite.
//!
//! Forward, along the axis of each line `z` (stable for logits of any magnitude):
//! `y = log_softmax(z) = (z − m) − ln Σ_k e^{z_k − m}` with `m = max_k z_k`. The shift by `m`
//! is exact (the value does not depend on it) and keeps every exponent ≤ 0; subtracting `m`
//! first, rather than forming `z − logsumexp(z)`, keeps `f32` results accurate at `|z| ≈ 1e4`.
//!
//! VJP: with `p = softmax(z) = e^{y}`, `∂y_j/∂z_i = δ_ij − p_i`, so
//! `z̄ = ȳ − p ⊙ Σ_j ȳ_j` (the sum along the axis, broadcast back). It is written with tape ops
//! on the output `y` (`exp`, `sum`, `mul`, `sub`), so it is itself differentiable: every order
//! of derivative goes through the same rule.

use ndarray::ArrayD;

use crate::float::Float;
use crate::ops::{normalize_axis, Grads, Op, OpKind, Vjp};
use crate::tape::Var;
use crate::Result;

/// `log_softmax` along `axis` (resolved).
#[derive(Clone, Debug)]
pub(crate) struct LogSoftmax {
    axis: usize,
}

impl LogSoftmax {
    pub(crate) fn kind(&self) -> OpKind {
        OpKind::LogSoftmax
    }

    /// `z̄ = ȳ − e^{y} ⊙ Σ_axis ȳ`.
    pub(crate) fn vjp<'t, F: Float>(&self, v: &Vjp<'_, 't, F>) -> Result<Grads<'t, F>> {
        let (y, g) = (v.y, v.g);
        let total = g.sum_axis(self.axis as isize, true)?;
        Ok(vec![Some(g.try_sub(y.exp().try_mul(total)?)?)])
    }
}

/// The forward on standard-layout data of `shape`, lines of `n = shape[axis]` values `inner`
/// apart: one pass for the maximum, one for the sum of exponentials, one to write.
fn forward<F: Float>(x: &[F], shape: &[usize], axis: usize) -> Vec<F> {
    let n = shape[axis];
    let inner: usize = shape[axis + 1..].iter().product();
    let mut out = vec![F::zero(); x.len()];
    if n == 0 || x.is_empty() {
        return out;
    }
    for (xs, ys) in x
        .chunks_exact(n * inner)
        .zip(out.chunks_exact_mut(n * inner))
    {
        for i in 0..inner {
            let line = xs[i..].iter().step_by(inner).take(n);
            let m = line.clone().fold(F::neg_infinity(), |m, &v| m.max(v));
            // A non-finite maximum (a +∞ logit, or every logit −∞): no shift; the result is
            // then whatever NaN or infinity the arithmetic gives, never a finite wrong value.
            let m = if m.is_finite() { m } else { F::zero() };
            let sum = line.clone().fold(F::zero(), |s, &v| s + (v - m).exp());
            let log_sum = sum.ln();
            for (y, &v) in ys[i..].iter_mut().step_by(inner).zip(line) {
                *y = (v - m) - log_sum;
            }
        }
    }
    out
}

impl<'t, F: Float> Var<'t, F> {
    /// `log softmax(z)_k = z_k − ln Σ_j e^{z_j}` along `axis` (negative counts from the end).
    pub fn log_softmax(self, axis: isize) -> Result<Var<'t, F>> {
        let axis = normalize_axis("log_softmax", axis, self.ndim())?;
        let value = self.with_value(|x| {
            let shape = x.shape().to_vec();
            let data = forward(
                x.as_slice().expect("tape values are contiguous"),
                &shape,
                axis,
            );
            ArrayD::from_shape_vec(shape, data).expect("same length")
        });
        Ok(self
            .tape
            .push_op(Op::LogSoftmax(LogSoftmax { axis }), &[self], value))
    }
}
