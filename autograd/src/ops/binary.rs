//! Elementwise binary ops with NumPy broadcasting. For `y = f(a, b)` the VJP is
//! `ā = sum_to(ȳ · ∂f/∂a, shape(a))`, `b̄ = sum_to(ȳ · ∂f/∂b, shape(b))`: the cotangent of a
//! broadcast input is summed over the axes it was broadcast along.

use std::ops::{self, Neg};

use ndarray::{ArrayD, ArrayViewD};

use crate::float::Float;
use crate::kernels::elementwise::zip_map;
use crate::ops::{Grads, Op, OpKind, Vjp};
use crate::tape::Var;
use crate::{Error, Result};

#[derive(Clone, Copy, Debug)]
pub(crate) enum Binary {
    Add,
    Sub,
    Mul,
    Div,
    Maximum,
    Minimum,
}

/// The NumPy broadcast of two shapes: align at the right, each pair of axes must be equal or
/// contain a 1.
pub(crate) fn broadcast_shape(op: &'static str, a: &[usize], b: &[usize]) -> Result<Vec<usize>> {
    let n = a.len().max(b.len());
    let axis = |s: &[usize], i: usize| {
        if i + s.len() >= n {
            s[i + s.len() - n]
        } else {
            1
        }
    };
    (0..n)
        .map(|i| match (axis(a, i), axis(b, i)) {
            (x, y) if x == y || y == 1 => Ok(x),
            (1, y) => Ok(y),
            (x, y) => Err(Error::shape(
                op,
                &[a, b],
                format!("axis {i} of the broadcast has sizes {x} and {y}; they must be equal or 1"),
            )),
        })
        .collect()
}

impl Binary {
    pub(crate) fn kind(&self) -> OpKind {
        match self {
            Binary::Add => OpKind::Add,
            Binary::Sub => OpKind::Sub,
            Binary::Mul => OpKind::Mul,
            Binary::Div => OpKind::Div,
            Binary::Maximum => OpKind::Maximum,
            Binary::Minimum => OpKind::Minimum,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Binary::Add => "add",
            Binary::Sub => "sub",
            Binary::Mul => "mul",
            Binary::Div => "div",
            Binary::Maximum => "maximum",
            Binary::Minimum => "minimum",
        }
    }

    /// Whether `maximum`/`minimum` takes its value (and its gradient, see the VJP) from `a`:
    /// `a ≥ b` for the maximum, `a ≤ b` for the minimum. Ties go to `a`.
    #[inline(always)]
    fn picks_a<F: Float>(self, a: F, b: F) -> bool {
        match self {
            Binary::Maximum => a >= b,
            Binary::Minimum => a <= b,
            _ => unreachable!("only maximum and minimum pick an operand"),
        }
    }

    /// The scalar formula of the forward, its one definition. Inlined into the loops of
    /// [`Binary::forward`], each with a constant variant, so that the `match` folds away.
    #[inline(always)]
    fn apply<F: Float>(self, a: F, b: F) -> F {
        match self {
            Binary::Add => a + b,
            Binary::Sub => a - b,
            Binary::Mul => a * b,
            Binary::Div => a / b,
            Binary::Maximum | Binary::Minimum => {
                if self.picks_a(a, b) {
                    a
                } else {
                    b
                }
            }
        }
    }

    /// `y = f(a, b)` with `a`, `b` broadcast to `shape`: one loop per variant, whose closure
    /// names its variant as a constant so that [`Binary::apply`] inlines to that variant's
    /// formula alone (a `match` on a runtime variant inside the loop is evaluated per element
    /// and keeps it from vectorising). The `match` is exhaustive.
    fn forward<F: Float>(
        self,
        a: ArrayViewD<'_, F>,
        b: ArrayViewD<'_, F>,
        shape: &[usize],
    ) -> ArrayD<F> {
        match self {
            Binary::Add => zip_map(a, b, shape, |p, q| Binary::Add.apply(p, q)),
            Binary::Sub => zip_map(a, b, shape, |p, q| Binary::Sub.apply(p, q)),
            Binary::Mul => zip_map(a, b, shape, |p, q| Binary::Mul.apply(p, q)),
            Binary::Div => zip_map(a, b, shape, |p, q| Binary::Div.apply(p, q)),
            Binary::Maximum => zip_map(a, b, shape, |p, q| Binary::Maximum.apply(p, q)),
            Binary::Minimum => zip_map(a, b, shape, |p, q| Binary::Minimum.apply(p, q)),
        }
    }

    /// The mask `1[the value comes from a]` of `maximum`/`minimum`, broadcast to `shape`; one
    /// loop per variant like [`Binary::forward`].
    fn mask_a<F: Float>(
        self,
        a: ArrayViewD<'_, F>,
        b: ArrayViewD<'_, F>,
        shape: &[usize],
    ) -> ArrayD<F> {
        let indicator = |first: bool| if first { F::one() } else { F::zero() };
        match self {
            Binary::Maximum => {
                zip_map(a, b, shape, |p, q| indicator(Binary::Maximum.picks_a(p, q)))
            }
            Binary::Minimum => {
                zip_map(a, b, shape, |p, q| indicator(Binary::Minimum.picks_a(p, q)))
            }
            _ => unreachable!("only maximum and minimum have a mask"),
        }
    }

    pub(crate) fn vjp<'t, F: Float>(&self, v: &Vjp<'_, 't, F>) -> Result<Grads<'t, F>> {
        let (a, b, y, g) = (v.x[0], v.x[1], v.y, v.g);
        let (da, db) = match self {
            // ∂(a + b) = (1, 1)
            Binary::Add => (Some(g), Some(g)),
            // ∂(a − b) = (1, −1)
            Binary::Sub => (Some(g), v.grad_if(1, || Ok(g.neg()))?),
            // ∂(a b) = (b, a)
            Binary::Mul => (
                v.grad_if(0, || g.try_mul(b))?,
                v.grad_if(1, || g.try_mul(a))?,
            ),
            // ∂(a / b) = (1/b, −a/b²) = (1/b, −y/b)
            Binary::Div => {
                let q = g.try_div(b)?;
                (Some(q), v.grad_if(1, || Ok(q.try_mul(y)?.neg()))?)
            }
            // ∂max(a, b) = (1[a ≥ b], 1[a < b]); ∂min(a, b) = (1[a ≤ b], 1[a > b])
            Binary::Maximum | Binary::Minimum => {
                let (av, bv) = (a.value(), b.value());
                let to_a = self.mask_a(av.view(), bv.view(), &y.shape());
                let to_b = to_a.mapv(|m| F::one() - m);
                let tape = g.tape;
                (
                    v.grad_if(0, || g.try_mul(tape.constant(to_a)))?,
                    v.grad_if(1, || g.try_mul(tape.constant(to_b)))?,
                )
            }
        };
        let reduce = |i: usize, d: Option<Var<'t, F>>| -> Result<Option<Var<'t, F>>> {
            match d {
                Some(d) if v.needs[i] && d.same_shape(&v.x[i]) => Ok(Some(d)),
                Some(d) if v.needs[i] => d.sum_to(&v.x[i].shape()).map(Some),
                _ => Ok(None),
            }
        };
        Ok(vec![reduce(0, da)?, reduce(1, db)?])
    }
}

impl<'t, F: Float> Var<'t, F> {
    fn binary(self, op: Binary, other: Var<'t, F>) -> Result<Var<'t, F>> {
        self.same_tape(&other, op.name())?;
        let value = {
            let nodes = self.tape.nodes.borrow();
            let (a, b) = (&nodes[self.id].value, &nodes[other.id].value);
            if a.shape() == b.shape() {
                op.forward(a.view(), b.view(), a.shape())
            } else {
                let shape = broadcast_shape(op.name(), a.shape(), b.shape())?;
                op.forward(a.view(), b.view(), &shape)
            }
        };
        Ok(self.tape.push_op(Op::Binary(op), &[self, other], value))
    }

    /// `a + b` with broadcasting.
    pub fn try_add(self, other: Var<'t, F>) -> Result<Var<'t, F>> {
        self.binary(Binary::Add, other)
    }

    /// `a − b` with broadcasting.
    pub fn try_sub(self, other: Var<'t, F>) -> Result<Var<'t, F>> {
        self.binary(Binary::Sub, other)
    }

    /// `a · b` (elementwise) with broadcasting.
    pub fn try_mul(self, other: Var<'t, F>) -> Result<Var<'t, F>> {
        self.binary(Binary::Mul, other)
    }

    /// `a / b` (elementwise) with broadcasting.
    pub fn try_div(self, other: Var<'t, F>) -> Result<Var<'t, F>> {
        self.binary(Binary::Div, other)
    }

    /// Elementwise `max(a, b)` with broadcasting. At ties the gradient goes to `a` (the receiver).
    pub fn maximum(self, other: Var<'t, F>) -> Result<Var<'t, F>> {
        self.binary(Binary::Maximum, other)
    }

    /// Elementwise `min(a, b)` with broadcasting. At ties the gradient goes to `a` (the receiver).
    pub fn minimum(self, other: Var<'t, F>) -> Result<Var<'t, F>> {
        self.binary(Binary::Minimum, other)
    }
}

/// Operators: the panicking twins of `try_add`, `try_sub`, `try_mul`, `try_div` (like ndarray's
/// operators, they panic when the shapes do not broadcast; the message is the shape error).
/// Use the `try_` methods where shapes come from outside the program.
macro_rules! var_operator {
    ($trait:ident, $method:ident, $try:ident, $scalar:expr) => {
        impl<'t, F: Float> ops::$trait for Var<'t, F> {
            type Output = Var<'t, F>;
            fn $method(self, rhs: Var<'t, F>) -> Var<'t, F> {
                self.$try(rhs).unwrap_or_else(|e| panic!("{e}"))
            }
        }

        /// With a scalar on the right.
        impl<'t, F: Float> ops::$trait<F> for Var<'t, F> {
            type Output = Var<'t, F>;
            fn $method(self, rhs: F) -> Var<'t, F> {
                #[allow(clippy::redundant_closure_call)]
                ($scalar)(self, rhs.as_f64())
            }
        }
    };
}

var_operator!(Add, add, try_add, |x: Var<'t, F>, c: f64| x.add_scalar(c));
var_operator!(Sub, sub, try_sub, |x: Var<'t, F>, c: f64| x.add_scalar(-c));
var_operator!(Mul, mul, try_mul, |x: Var<'t, F>, c: f64| x.mul_scalar(c));
var_operator!(Div, div, try_div, |x: Var<'t, F>, c: f64| x
    .mul_scalar(1.0 / c));
