//! Ops that move elements without arithmetic: reshape, permute, broadcast, slice, pad, concat.
//! Each VJP is the adjoint movement: reshape ↔ reshape back, permute ↔ inverse permute,
//! broadcast ↔ sum_to, slice ↔ zero-pad, concat ↔ slices.
//!
//! Every value on a tape is in standard (row-major, contiguous) layout, so reshape is free.

use ndarray::{concatenate, ArrayD, ArrayViewD, Axis, IxDyn, Slice};

use crate::float::Float;
use crate::ops::{normalize_axis, Grads, Op, OpKind, Vjp};
use crate::tape::Var;
use crate::{Error, Result};

#[derive(Clone, Debug)]
pub(crate) enum Movement {
    Reshape,
    Permute(Vec<usize>),
    BroadcastTo,
    /// Elements `start..end` along `axis`.
    Slice {
        axis: usize,
        start: usize,
        end: usize,
    },
    /// `before` zeros, the input, then zeros along `axis` (how many: the output's shape).
    Pad {
        axis: usize,
        before: usize,
    },
    Concat {
        axis: usize,
    },
}

impl Movement {
    pub(crate) fn kind(&self) -> OpKind {
        match self {
            Movement::Reshape => OpKind::Reshape,
            Movement::Permute(_) => OpKind::Permute,
            Movement::BroadcastTo => OpKind::BroadcastTo,
            Movement::Slice { .. } => OpKind::Slice,
            Movement::Pad { .. } => OpKind::Pad,
            Movement::Concat { .. } => OpKind::Concat,
        }
    }

    pub(crate) fn vjp<'t, F: Float>(&self, v: &Vjp<'_, 't, F>) -> Result<Grads<'t, F>> {
        let g = v.g;
        let one = |d: Var<'t, F>| Ok(vec![Some(d)]);
        match self {
            Movement::Reshape => one(g.reshape(&v.x[0].shape())?),
            Movement::Permute(axes) => {
                let mut inverse = vec![0; axes.len()];
                for (i, &a) in axes.iter().enumerate() {
                    inverse[a] = i;
                }
                one(g.permute(&inverse)?)
            }
            Movement::BroadcastTo => one(g.sum_to(&v.x[0].shape())?),
            &Movement::Slice { axis, start, end } => {
                let len = v.x[0].shape()[axis];
                one(g.pad(axis as isize, start, len - end)?)
            }
            &Movement::Pad { axis, before, .. } => {
                let len = v.x[0].shape()[axis];
                one(g.slice(axis as isize, before, before + len)?)
            }
            &Movement::Concat { axis } => {
                let mut start = 0;
                let mut grads = Vec::with_capacity(v.x.len());
                for (i, x) in v.x.iter().enumerate() {
                    let len = x.shape()[axis];
                    grads.push(v.grad_if(i, || g.slice(axis as isize, start, start + len))?);
                    start += len;
                }
                Ok(grads)
            }
        }
    }
}

impl<'t, F: Float> Var<'t, F> {
    /// The same elements in a new shape with as many elements (row-major order).
    pub fn reshape(self, shape: &[usize]) -> Result<Var<'t, F>> {
        let x = self.value();
        if x.shape() == shape {
            return Ok(self);
        }
        if x.len() != shape.iter().product::<usize>() {
            return Err(Error::shape(
                "reshape",
                &[x.shape(), shape],
                format!("{} elements cannot take the second shape", x.len()),
            ));
        }
        let value = x
            .into_shape_with_order(IxDyn(shape))
            .expect("tape values are contiguous, row-major");
        Ok(self
            .tape
            .push_op(Op::Movement(Movement::Reshape), &[self], value))
    }

    /// Flattens all axes from `start` on into one: `[a, b, c, d]` with start 1 is `[a, b·c·d]`.
    pub fn flatten_from(self, start: usize) -> Result<Var<'t, F>> {
        let shape = self.shape();
        if start > shape.len() {
            return Err(Error::argument(
                "flatten",
                format!("start axis {start} is beyond the {} axes", shape.len()),
            ));
        }
        let mut new = shape[..start].to_vec();
        new.push(shape[start..].iter().product());
        self.reshape(&new)
    }

    /// Reorders the axes: axis `i` of the result is axis `axes[i]` of the input.
    pub fn permute(self, axes: &[usize]) -> Result<Var<'t, F>> {
        let x = self.value();
        let mut seen = vec![false; x.ndim()];
        let valid = axes.len() == x.ndim()
            && axes
                .iter()
                .all(|&a| a < seen.len() && !std::mem::replace(&mut seen[a], true));
        if !valid {
            return Err(Error::argument(
                "permute",
                format!("{axes:?} is not a permutation of the {} axes", x.ndim()),
            ));
        }
        let value = x
            .view()
            .permuted_axes(IxDyn(axes))
            .as_standard_layout()
            .into_owned();
        Ok(self.tape.push_op(
            Op::Movement(Movement::Permute(axes.to_vec())),
            &[self],
            value,
        ))
    }

    /// Swaps the last two axes (the matrix transpose, batched over leading axes).
    pub fn t(self) -> Result<Var<'t, F>> {
        let n = self.ndim();
        if n < 2 {
            return Err(Error::argument(
                "t",
                format!("needs at least 2 axes, got {n}"),
            ));
        }
        let mut axes: Vec<usize> = (0..n).collect();
        axes.swap(n - 2, n - 1);
        self.permute(&axes)
    }

    /// Broadcasts to `shape` (NumPy rules), materialising the result.
    pub fn broadcast_to(self, shape: &[usize]) -> Result<Var<'t, F>> {
        let x = self.value();
        if x.shape() == shape {
            return Ok(self);
        }
        let view = x.broadcast(IxDyn(shape)).ok_or_else(|| {
            Error::shape(
                "broadcast_to",
                &[x.shape(), shape],
                "the first shape does not broadcast to the second",
            )
        })?;
        let value = view.to_owned();
        Ok(self
            .tape
            .push_op(Op::Movement(Movement::BroadcastTo), &[self], value))
    }

    /// Elements `start..end` along `axis`.
    pub fn slice(self, axis: isize, start: usize, end: usize) -> Result<Var<'t, F>> {
        let x = self.value();
        let axis = normalize_axis("slice", axis, x.ndim())?;
        let len = x.shape()[axis];
        if start > end || end > len {
            return Err(Error::argument(
                "slice",
                format!("range {start}..{end} is outside 0..{len} of axis {axis}"),
            ));
        }
        let value = x.slice_axis(Axis(axis), Slice::from(start..end)).to_owned();
        let op = Movement::Slice { axis, start, end };
        Ok(self.tape.push_op(Op::Movement(op), &[self], value))
    }

    /// `before` zeros, the input, then `after` zeros along `axis`.
    pub fn pad(self, axis: isize, before: usize, after: usize) -> Result<Var<'t, F>> {
        let x = self.value();
        let axis = normalize_axis("pad", axis, x.ndim())?;
        let len = x.shape()[axis];
        let mut shape = x.shape().to_vec();
        shape[axis] = before + len + after;
        let mut value = ArrayD::<F>::zeros(IxDyn(&shape));
        value
            .slice_axis_mut(Axis(axis), Slice::from(before..before + len))
            .assign(&x);
        let op = Movement::Pad { axis, before };
        Ok(self.tape.push_op(Op::Movement(op), &[self], value))
    }

    /// Joins `vars` along an existing `axis`; all other axes must agree.
    pub fn concat(vars: &[Var<'t, F>], axis: isize) -> Result<Var<'t, F>> {
        let first = vars
            .first()
            .ok_or_else(|| Error::argument("concat", "needs at least one input"))?;
        for v in vars {
            first.same_tape(v, "concat")?;
        }
        let values: Vec<_> = vars.iter().map(|v| v.value()).collect();
        let axis = normalize_axis("concat", axis, values[0].ndim())?;
        let views: Vec<ArrayViewD<'_, F>> = values.iter().map(|v| v.view()).collect();
        let value = concatenate(Axis(axis), &views).map_err(|_| {
            let shapes: Vec<&[usize]> = values.iter().map(|v| v.shape()).collect();
            Error::shape(
                "concat",
                &shapes,
                format!("all axes but {axis} must agree, and the axis counts too"),
            )
        })?;
        let value = value.as_standard_layout().into_owned();
        Ok(first
            .tape
            .push_op(Op::Movement(Movement::Concat { axis }), vars, value))
    }

    /// Stacks equally shaped `vars` along a new `axis` (`0..=ndim`).
    pub fn stack(vars: &[Var<'t, F>], axis: usize) -> Result<Var<'t, F>> {
        let first = vars
            .first()
            .ok_or_else(|| Error::argument("stack", "needs at least one input"))?;
        let shape = first.shape();
        if axis > shape.len() {
            return Err(Error::argument(
                "stack",
                format!("axis {axis} is beyond 0..={}", shape.len()),
            ));
        }
        let mut expanded = shape.clone();
        expanded.insert(axis, 1);
        let parts = vars
            .iter()
            .map(|v| {
                if v.shape() != shape {
                    return Err(Error::shape(
                        "stack",
                        &[&shape, &v.shape()],
                        "all inputs must have one shape",
                    ));
                }
                v.reshape(&expanded)
            })
            .collect::<Result<Vec<_>>>()?;
        Var::concat(&parts, axis as isize)
    }
}
