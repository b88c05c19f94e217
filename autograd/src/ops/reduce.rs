//! Sum over axes, the one primitive reduction, and the reductions composed from it.
//!
//! `y = Σ_{axes} x`: the VJP broadcasts the cotangent back, `x̄ = broadcast(ȳ, shape(x))`.

use crate::float::Float;
use crate::kernels;
use crate::ops::{normalize_axis, Grads, Op, Vjp};
use crate::tape::Var;
use crate::{Error, Result};

/// Sum over `axes` (sorted, distinct); `keepdim` keeps them as size-1 axes.
#[derive(Clone, Debug)]
pub(crate) struct Sum {
    axes: Vec<usize>,
    keepdim: bool,
}

impl Sum {
    pub(crate) fn vjp<'t, F: Float>(&self, v: &Vjp<'_, 't, F>) -> Result<Grads<'t, F>> {
        let shape = v.x[0].shape();
        let mut g = v.g;
        if !self.keepdim {
            let kept: Vec<usize> = (0..shape.len())
                .map(|i| if self.axes.contains(&i) { 1 } else { shape[i] })
                .collect();
            g = g.reshape(&kept)?;
        }
        Ok(vec![Some(g.broadcast_to(&shape)?)])
    }
}

impl<'t, F: Float> Var<'t, F> {
    /// Sum over the given axes (negative counts from the end); `keepdim` keeps them with size 1.
    ///
    /// The order of the additions depends on the shape alone, not on the number of threads, so
    /// results are reproducible; it is a blocked order (sixteen interleaved partial sums along
    /// contiguous runs), whose rounding error is at most `γ_h·Σ|x|` with `h` well below the
    /// `n − 1` of a plain left-to-right sum of `n` terms.
    pub fn sum_axes(self, axes: &[isize], keepdim: bool) -> Result<Var<'t, F>> {
        let ndim = self.ndim();
        let mut resolved = axes
            .iter()
            .map(|&a| normalize_axis("sum", a, ndim))
            .collect::<Result<Vec<_>>>()?;
        resolved.sort_unstable();
        if resolved.windows(2).any(|w| w[0] == w[1]) {
            return Err(Error::argument(
                "sum",
                format!("axes {axes:?} repeat an axis"),
            ));
        }
        let value = self.with_value(|x| kernels::reduce::sum_axes(x.view(), &resolved, keepdim));
        let op = Sum {
            axes: resolved,
            keepdim,
        };
        Ok(self.tape.push_op(Op::Sum(op), &[self], value))
    }

    /// Sum over one axis.
    pub fn sum_axis(self, axis: isize, keepdim: bool) -> Result<Var<'t, F>> {
        self.sum_axes(&[axis], keepdim)
    }

    /// Sum of all elements: a 0-dimensional result.
    pub fn sum(self) -> Var<'t, F> {
        let axes: Vec<isize> = (0..self.ndim() as isize).collect();
        self.sum_axes(&axes, false).expect("all axes are valid")
    }

    /// Mean of all elements, `(1/n) Σ x`.
    pub fn mean(self) -> Var<'t, F> {
        let n = self.numel().max(1);
        self.sum().mul_scalar(1.0 / n as f64)
    }

    /// Mean over the given axes.
    pub fn mean_axes(self, axes: &[isize], keepdim: bool) -> Result<Var<'t, F>> {
        let shape = self.shape();
        let mut n = 1;
        for &a in axes {
            n *= shape[normalize_axis("mean", a, shape.len())?];
        }
        Ok(self
            .sum_axes(axes, keepdim)?
            .mul_scalar(1.0 / n.max(1) as f64))
    }

    /// Mean over one axis.
    pub fn mean_axis(self, axis: isize, keepdim: bool) -> Result<Var<'t, F>> {
        self.mean_axes(&[axis], keepdim)
    }

    /// Sums `self` down to `shape`, the inverse of broadcasting `shape` up to `self.shape()`:
    /// leading extra axes are summed away, axes where `shape` has 1 are summed with keepdim.
    /// This is how the cotangent of a broadcast input is reduced.
    pub fn sum_to(self, shape: &[usize]) -> Result<Var<'t, F>> {
        if self.has_shape(shape) {
            return Ok(self);
        }
        let own = self.shape();
        let lead = own.len().checked_sub(shape.len()).ok_or_else(|| {
            Error::shape(
                "sum_to",
                &[&own, shape],
                "the target has more axes than the input",
            )
        })?;
        let mut axes: Vec<isize> = (0..lead as isize).collect();
        for (i, (&have, &want)) in own[lead..].iter().zip(shape).enumerate() {
            if want == 1 && have != 1 {
                axes.push((lead + i) as isize);
            } else if want != have {
                return Err(Error::shape(
                    "sum_to",
                    &[&own, shape],
                    format!(
                        "axis {} has size {have}, which does not reduce to {want}",
                        lead + i
                    ),
                ));
            }
        }
        self.sum_axes(&axes, true)?.reshape(shape)
    }
}
