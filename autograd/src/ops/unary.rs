//! Elementwise unary ops. For each: the forward `y = f(x)` and the VJP `x̄ = ȳ · f'(x)`,
//! where `ȳ` (`g` in the code) is the cotangent of the output.
//!
//! Where `f'` is piecewise constant (abs, relu, clamp), the VJP multiplies by a constant mask:
//! its own derivative is zero almost everywhere, which is the exact second derivative there.

use std::ops::Neg;

use ndarray::{ArrayD, ArrayViewD};

use crate::float::Float;
use crate::kernels::elementwise::map;
use crate::ops::{Grads, Op, OpKind, Vjp};
use crate::tape::Var;
use crate::Result;

/// The unary ops; scalar parameters are stored as `f64` and rounded to the element type.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Unary {
    Neg,
    Exp,
    Log,
    Log1p,
    Sqrt,
    Abs,
    Relu,
    Sigmoid,
    Tanh,
    PowScalar(f64),
    AddScalar(f64),
    MulScalar(f64),
    Clamp { lo: f64, hi: f64 },
}

/// The logistic function `σ(x) = 1 / (1 + e^{−x})`, evaluated without overflow for either sign
/// of `x`.
pub(crate) fn sigmoid<F: Float>(x: F) -> F {
    if x >= F::zero() {
        F::one() / (F::one() + (-x).exp_elementwise())
    } else {
        let e = x.exp_elementwise();
        e / (F::one() + e)
    }
}

impl Unary {
    pub(crate) fn kind(&self) -> OpKind {
        match self {
            Unary::Neg => OpKind::Neg,
            Unary::Exp => OpKind::Exp,
            Unary::Log => OpKind::Log,
            Unary::Log1p => OpKind::Log1p,
            Unary::Sqrt => OpKind::Sqrt,
            Unary::Abs => OpKind::Abs,
            Unary::Relu => OpKind::Relu,
            Unary::Sigmoid => OpKind::Sigmoid,
            Unary::Tanh => OpKind::Tanh,
            Unary::PowScalar(_) => OpKind::PowScalar,
            Unary::AddScalar(_) => OpKind::AddScalar,
            Unary::MulScalar(_) => OpKind::MulScalar,
            Unary::Clamp { .. } => OpKind::Clamp,
        }
    }

    /// The scalar formula of the forward, its one definition. Inlined into the loops of
    /// [`Unary::forward`], each with a constant variant, so that the `match` folds away.
    #[inline(always)]
    fn apply<F: Float>(self, x: F) -> F {
        match self {
            Unary::Neg => -x,
            Unary::Exp => x.exp_elementwise(),
            Unary::Log => x.ln(),
            Unary::Log1p => x.ln_1p_elementwise(),
            Unary::Sqrt => x.sqrt(),
            Unary::Abs => x.abs(),
            Unary::Relu => x.max(F::zero()),
            Unary::Sigmoid => sigmoid(x),
            Unary::Tanh => x.tanh(),
            Unary::PowScalar(p) => {
                if p == p.round() && p.abs() < i32::MAX as f64 {
                    x.powi(p as i32)
                } else {
                    x.powf(F::from_f64(p))
                }
            }
            Unary::AddScalar(c) => x + F::from_f64(c),
            Unary::MulScalar(c) => x * F::from_f64(c),
            Unary::Clamp { lo, hi } => x.max(F::from_f64(lo)).min(F::from_f64(hi)),
        }
    }

    /// The derivative where it is piecewise constant (used as a constant mask in the VJP).
    /// Inlined like [`Unary::apply`] into the loops of [`Unary::mask_of`].
    #[inline(always)]
    fn mask<F: Float>(self, x: F) -> F {
        let indicator = |b: bool| if b { F::one() } else { F::zero() };
        match self {
            // sign(x), with 0 at 0 (a subgradient)
            Unary::Abs => {
                if x > F::zero() {
                    F::one()
                } else if x < F::zero() {
                    -F::one()
                } else {
                    F::zero()
                }
            }
            // 1[x > 0]: the derivative at 0 is taken as 0, as in PyTorch
            Unary::Relu => indicator(x > F::zero()),
            // 1[lo ≤ x ≤ hi]: the gradient passes at the bounds, as in PyTorch
            Unary::Clamp { lo, hi } => indicator(x >= F::from_f64(lo) && x <= F::from_f64(hi)),
            _ => unreachable!("only piecewise-linear ops have a mask"),
        }
    }

    /// `y = f(x)` elementwise: one loop per variant, whose closure names its variant as a
    /// constant so that [`Unary::apply`] inlines to that variant's formula alone (a `match` on
    /// a runtime variant inside the loop is evaluated per element and keeps it from vectorising).
    /// The `match` is exhaustive: a new variant cannot be forgotten here.
    fn forward<F: Float>(self, x: ArrayViewD<'_, F>) -> ArrayD<F> {
        match self {
            Unary::Neg => map(x, |e| Unary::Neg.apply(e)),
            Unary::Exp => map(x, |e| Unary::Exp.apply(e)),
            Unary::Log => map(x, |e| Unary::Log.apply(e)),
            Unary::Log1p => map(x, |e| Unary::Log1p.apply(e)),
            Unary::Sqrt => map(x, |e| Unary::Sqrt.apply(e)),
            Unary::Abs => map(x, |e| Unary::Abs.apply(e)),
            Unary::Relu => map(x, |e| Unary::Relu.apply(e)),
            Unary::Sigmoid => map(x, |e| Unary::Sigmoid.apply(e)),
            Unary::Tanh => map(x, |e| Unary::Tanh.apply(e)),
            Unary::PowScalar(p) => map(x, move |e| Unary::PowScalar(p).apply(e)),
            Unary::AddScalar(c) => map(x, move |e| Unary::AddScalar(c).apply(e)),
            Unary::MulScalar(c) => map(x, move |e| Unary::MulScalar(c).apply(e)),
            Unary::Clamp { lo, hi } => map(x, move |e| Unary::Clamp { lo, hi }.apply(e)),
        }
    }

    /// The mask `f'(x)` of a piecewise-linear op, one loop per variant like [`Unary::forward`].
    fn mask_of<F: Float>(self, x: ArrayViewD<'_, F>) -> ArrayD<F> {
        match self {
            Unary::Abs => map(x, |e| Unary::Abs.mask(e)),
            Unary::Relu => map(x, |e| Unary::Relu.mask(e)),
            Unary::Clamp { lo, hi } => map(x, move |e| Unary::Clamp { lo, hi }.mask(e)),
            _ => unreachable!("only piecewise-linear ops have a mask"),
        }
    }

    pub(crate) fn vjp<'t, F: Float>(&self, v: &Vjp<'_, 't, F>) -> Result<Grads<'t, F>> {
        let (x, y, g) = (v.x[0], v.y, v.g);
        let mask = |op: Unary| -> Var<'t, F> {
            let m = x.with_value(|x| op.mask_of(x.view()));
            x.tape.constant(m)
        };
        let dx = match *self {
            // d(−x) = −1
            Unary::Neg => g.neg(),
            // d eˣ = eˣ = y
            Unary::Exp => g.try_mul(y)?,
            // d ln x = 1/x
            Unary::Log => g.try_div(x)?,
            // d ln(1+x) = 1/(1+x)
            Unary::Log1p => g.try_div(x.add_scalar(1.0))?,
            // d √x = 1/(2√x) = 1/(2y)
            Unary::Sqrt => g.try_div(y)?.mul_scalar(0.5),
            op @ (Unary::Abs | Unary::Relu | Unary::Clamp { .. }) => g.try_mul(mask(op))?,
            // σ' = σ(1 − σ) = y − y²
            Unary::Sigmoid => g.try_mul(y.try_sub(y.square())?)?,
            // tanh' = 1 − tanh² = 1 − y², applied as ȳ − (ȳ·y)·y (three ops)
            Unary::Tanh => g.try_sub(g.try_mul(y)?.try_mul(y)?)?,
            // d xᵖ = p xᵖ⁻¹
            Unary::PowScalar(p) => {
                if p == 0.0 {
                    g.mul_scalar(0.0)
                } else if p == 1.0 {
                    g
                } else {
                    g.try_mul(x.powf(p - 1.0))?.mul_scalar(p)
                }
            }
            // d(x + c) = 1
            Unary::AddScalar(_) => g,
            // d(c x) = c
            Unary::MulScalar(c) => g.mul_scalar(c),
        };
        Ok(vec![Some(dx)])
    }
}

/// `−x`.
impl<'t, F: Float> std::ops::Neg for Var<'t, F> {
    type Output = Var<'t, F>;
    fn neg(self) -> Var<'t, F> {
        self.unary(Unary::Neg)
    }
}

impl<'t, F: Float> Var<'t, F> {
    fn unary(self, op: Unary) -> Var<'t, F> {
        let value = self.with_value(|x| op.forward(x.view()));
        self.tape.push_op(Op::Unary(op), &[self], value)
    }

    /// `eˣ`.
    pub fn exp(self) -> Var<'t, F> {
        self.unary(Unary::Exp)
    }

    /// The natural logarithm `ln x`.
    pub fn log(self) -> Var<'t, F> {
        self.unary(Unary::Log)
    }

    /// `ln(1 + x)`, accurate for small `x`.
    pub fn log1p(self) -> Var<'t, F> {
        self.unary(Unary::Log1p)
    }

    /// `√x`.
    pub fn sqrt(self) -> Var<'t, F> {
        self.unary(Unary::Sqrt)
    }

    /// `|x|`; its gradient at 0 is 0.
    pub fn abs(self) -> Var<'t, F> {
        self.unary(Unary::Abs)
    }

    /// `max(x, 0)`; its gradient at 0 is 0.
    pub fn relu(self) -> Var<'t, F> {
        self.unary(Unary::Relu)
    }

    /// The logistic function `σ(x) = 1 / (1 + e^{−x})`.
    pub fn sigmoid(self) -> Var<'t, F> {
        self.unary(Unary::Sigmoid)
    }

    /// `tanh x`.
    pub fn tanh(self) -> Var<'t, F> {
        self.unary(Unary::Tanh)
    }

    /// `xᵖ` for a scalar exponent `p` (integer exponents are exact for negative `x`).
    pub fn powf(self, p: f64) -> Var<'t, F> {
        self.unary(Unary::PowScalar(p))
    }

    /// `x + c`.
    pub fn add_scalar(self, c: f64) -> Var<'t, F> {
        self.unary(Unary::AddScalar(c))
    }

    /// `c · x`.
    pub fn mul_scalar(self, c: f64) -> Var<'t, F> {
        self.unary(Unary::MulScalar(c))
    }

    /// `min(max(x, lo), hi)`; the gradient is 1 on `[lo, hi]` (bounds included) and 0 outside.
    pub fn clamp(self, lo: f64, hi: f64) -> Var<'t, F> {
        self.unary(Unary::Clamp { lo, hi })
    }
}
