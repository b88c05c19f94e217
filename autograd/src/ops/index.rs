//! Gather and scatter by flat (row-major) element index: the two primitives that every indexing
//! op is composed of (index_select, gather, max over an axis, sort, max-pooling, label picking).
//!
//! * `Take`: `y[i] = x[idx[i]]` (flat indices), `y` of any shape with `len(idx)` elements.
//!   VJP: `x̄ = ScatterAdd(ȳ)`: `x̄[idx[i]] += ȳ[i]`.
//! * `ScatterAdd`: `y = 0 (of a given shape); y[idx[i]] += x[i]`.
//!   VJP: `x̄ = Take(ȳ)`: `x̄[i] = ȳ[idx[i]]`.
//!
//! The two are each other's adjoint, so every order of derivative is a gather or a scatter.

use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};

use crate::float::Float;
use crate::ops::{Grads, Op, OpKind, Vjp};
use crate::tape::Var;
use crate::{Error, Result};

#[derive(Clone, Debug)]
pub(crate) enum Index {
    /// Gather `indices` from the input.
    Take(Arc<[usize]>),
    /// Scatter-add the input at `indices` into zeros.
    ScatterAdd(Arc<[usize]>),
}

impl Index {
    pub(crate) fn kind(&self) -> OpKind {
        match self {
            Index::Take(_) => OpKind::Take,
            Index::ScatterAdd(_) => OpKind::ScatterAdd,
        }
    }

    pub(crate) fn vjp<'t, F: Float>(&self, v: &Vjp<'_, 't, F>) -> Result<Grads<'t, F>> {
        let x_shape = v.x[0].shape();
        // The indices were checked against these shapes when the op was recorded.
        let dx = match self {
            Index::Take(indices) => v.g.scatter_add_checked(indices.clone(), &x_shape),
            Index::ScatterAdd(indices) => v.g.take_checked(indices.clone(), &x_shape),
        };
        Ok(vec![Some(dx)])
    }
}

impl<'t, F: Float> Var<'t, F> {
    /// Gathers elements by flat row-major index: `y.flat[i] = x.flat[indices[i]]`, shaped
    /// `shape` (whose element count must be `indices.len()`).
    pub fn take_flat(self, indices: Arc<[usize]>, shape: &[usize]) -> Result<Var<'t, F>> {
        check_indices("take", &indices, self.numel(), shape)?;
        Ok(self.take_checked(indices, shape))
    }

    /// [`take_flat`](Self::take_flat) for indices already known to fit (`shape` has
    /// `indices.len()` elements, every index addresses `self`).
    pub(crate) fn take_checked(self, indices: Arc<[usize]>, shape: &[usize]) -> Var<'t, F> {
        let data: Vec<F> = self.with_value(|x| {
            let src = x.as_slice().expect("tape values are contiguous, row-major");
            indices.iter().map(|&i| src[i]).collect()
        });
        let value = ArrayD::from_shape_vec(IxDyn(shape), data).expect("length checked");
        self.take_picked(indices, value)
    }

    /// Records the gather `value.flat[i] = self.flat[indices[i]]` whose result the caller has
    /// already computed while choosing the indices (max-pooling): no second pass over the data.
    pub(crate) fn take_picked(self, indices: Arc<[usize]>, value: ArrayD<F>) -> Var<'t, F> {
        debug_assert_eq!(indices.len(), value.len());
        self.tape
            .push_op(Op::Index(Index::Take(indices)), &[self], value)
    }

    /// Scatters with addition: `y = 0` of `shape`, then `y.flat[indices[i]] += x.flat[i]`
    /// (repeated indices accumulate).
    pub fn scatter_add_flat(self, indices: Arc<[usize]>, shape: &[usize]) -> Result<Var<'t, F>> {
        let len: usize = shape.iter().product();
        check_indices("scatter_add", &indices, len, &self.shape())?;
        Ok(self.scatter_add_checked(indices, shape))
    }

    /// [`scatter_add_flat`](Self::scatter_add_flat) for indices already known to fit (`self`
    /// has `indices.len()` elements, every index addresses `shape`).
    pub(crate) fn scatter_add_checked(self, indices: Arc<[usize]>, shape: &[usize]) -> Var<'t, F> {
        let mut value = ArrayD::<F>::zeros(IxDyn(shape));
        self.with_value(|x| {
            let src = x.as_slice().expect("tape values are contiguous, row-major");
            let dst = value.as_slice_mut().expect("fresh array");
            for (&i, &e) in indices.iter().zip(src) {
                dst[i] += e;
            }
        });
        self.tape
            .push_op(Op::Index(Index::ScatterAdd(indices)), &[self], value)
    }
}

/// `indices` must address `0..source_len` and have as many entries as `shape` has elements.
fn check_indices(
    op: &'static str,
    indices: &[usize],
    source_len: usize,
    shape: &[usize],
) -> Result<()> {
    let count: usize = shape.iter().product();
    if indices.len() != count {
        return Err(Error::argument(
            op,
            format!(
                "{} indices for a shape {shape:?} of {count} elements",
                indices.len()
            ),
        ));
    }
    if let Some(&bad) = indices.iter().find(|&&i| i >= source_len) {
        return Err(Error::argument(
            op,
            format!("index {bad} is out of range for {source_len} elements"),
        ));
    }
    Ok(())
}
