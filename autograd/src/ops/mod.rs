//! The primitive ops: one family per file, each op's forward and vector-Jacobian product (VJP)
//! side by side.
//!
//! Every VJP is written with the tape's own ops, so the same rule serves first-order backward
//! (run with recording off: nothing is kept) and higher-order gradients (recording on: the
//! backward pass is itself on the tape and can be differentiated). Everything that is not here
//! (softmax, cross-entropy, max over an axis, pooling, sort, ...) is a composite of these, in
//! `crate::functional`, with no gradient rule of its own. One composite was made a primitive
//! for speed: log-softmax (`softmax.rs`), under every softmax and cross-entropy.
//!
//! Adding an op: add its variant to a family enum, its kind to `op_kinds!` (the compiler asks
//! for both through the exhaustive matches), and an entry to the gradient-check table in
//! `tests/op_table.rs`, whose coverage test fails until every kind is exercised.

pub(crate) mod binary;
pub(crate) mod conv;
pub(crate) mod index;
pub(crate) mod linalg;
pub(crate) mod movement;
pub(crate) mod reduce;
pub(crate) mod softmax;
pub(crate) mod unary;

use crate::float::Float;
use crate::tape::Var;
use crate::Result;

pub use conv::Conv2dGeometry;

macro_rules! op_kinds {
    ($($kind:ident),* $(,)?) => {
        /// The name of every primitive op, without its parameters.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum OpKind { $($kind),* }

        impl OpKind {
            /// Every primitive op of the engine.
            pub const ALL: &'static [OpKind] = &[$(OpKind::$kind),*];
        }
    };
}

op_kinds!(
    // unary.rs
    Neg,
    Exp,
    Log,
    Log1p,
    Sqrt,
    Abs,
    Relu,
    Sigmoid,
    Tanh,
    PowScalar,
    AddScalar,
    MulScalar,
    Clamp,
    // binary.rs
    Add,
    Sub,
    Mul,
    Div,
    Maximum,
    Minimum,
    // reduce.rs
    Sum,
    // softmax.rs
    LogSoftmax,
    // movement.rs
    Reshape,
    Permute,
    BroadcastTo,
    Slice,
    Pad,
    Concat,
    // index.rs
    Take,
    ScatterAdd,
    // linalg.rs
    MatMul,
    // conv.rs
    Conv2d,
    Conv2dInputGrad,
    Conv2dWeightGrad,
);

/// A primitive op with its parameters, as stored on a tape node.
#[derive(Clone, Debug)]
pub(crate) enum Op {
    Unary(unary::Unary),
    Binary(binary::Binary),
    Sum(reduce::Sum),
    LogSoftmax(softmax::LogSoftmax),
    Movement(movement::Movement),
    Index(index::Index),
    MatMul(linalg::MatMul),
    Conv(conv::Conv),
}

impl Op {
    pub(crate) fn kind(&self) -> OpKind {
        match self {
            Op::Unary(op) => op.kind(),
            Op::Binary(op) => op.kind(),
            Op::Sum(_) => OpKind::Sum,
            Op::LogSoftmax(op) => op.kind(),
            Op::Movement(op) => op.kind(),
            Op::Index(op) => op.kind(),
            Op::MatMul(_) => OpKind::MatMul,
            Op::Conv(op) => op.kind(),
        }
    }

    /// The vector-Jacobian product: the cotangents of the inputs given the output's, `vjp.g`.
    pub(crate) fn vjp<'t, F: Float>(&self, vjp: &Vjp<'_, 't, F>) -> Result<Grads<'t, F>> {
        match self {
            Op::Unary(op) => op.vjp(vjp),
            Op::Binary(op) => op.vjp(vjp),
            Op::Sum(op) => op.vjp(vjp),
            Op::LogSoftmax(op) => op.vjp(vjp),
            Op::Movement(op) => op.vjp(vjp),
            Op::Index(op) => op.vjp(vjp),
            Op::MatMul(op) => op.vjp(vjp),
            Op::Conv(op) => op.vjp(vjp),
        }
    }
}

/// What a VJP rule sees: the op's inputs `x`, its output `y`, the output's cotangent `g`, and
/// which inputs need a cotangent at all (a rule skips the others: no gradient for data).
pub(crate) struct Vjp<'a, 't, F: Float> {
    pub(crate) x: &'a [Var<'t, F>],
    pub(crate) y: Var<'t, F>,
    pub(crate) g: Var<'t, F>,
    pub(crate) needs: &'a [bool],
}

/// The cotangents of an op's inputs, in input order; `None` where not needed.
pub(crate) type Grads<'t, F> = Vec<Option<Var<'t, F>>>;

impl<'t, F: Float> Vjp<'_, 't, F> {
    /// `Some(f())` if input `i` needs a cotangent.
    pub(crate) fn grad_if(
        &self,
        i: usize,
        f: impl FnOnce() -> Result<Var<'t, F>>,
    ) -> Result<Option<Var<'t, F>>> {
        if self.needs[i] {
            f().map(Some)
        } else {
            Ok(None)
        }
    }
}

/// Resolves a possibly negative `axis` (`-1` is the last) against `ndim` axes.
pub(crate) fn normalize_axis(op: &'static str, axis: isize, ndim: usize) -> Result<usize> {
    let resolved = if axis < 0 { axis + ndim as isize } else { axis };
    if (0..ndim as isize).contains(&resolved) {
        Ok(resolved as usize)
    } else {
        Err(crate::Error::argument(
            op,
            format!("axis {axis} is out of range for {ndim} axes (allowed: -{ndim}..{ndim})"),
        ))
    }
}
