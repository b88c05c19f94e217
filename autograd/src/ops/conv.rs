//! 2-D convolution (cross-correlation, as in every deep-learning library) with stride, padding
//! and dilation, and its two adjoints.
//!
//! All three ops are partial derivatives of one trilinear form of the input `x`, weight `w` and
//! output cotangent `g`:
//!
//! `T(x, w, g) = Σ_{n,o,c,p,q,i,j} g[n,o,p,q] · w[o,c,i,j] · x[n, c, p·s − pad + i·d, q·s − pad + j·d]`
//!
//! * `Conv2d(x, w)          = ∂T/∂g` — the forward convolution `y`;
//! * `Conv2dInputGrad(g, w) = ∂T/∂x` — the transposed convolution;
//! * `Conv2dWeightGrad(x, g) = ∂T/∂w`.
//!
//! For a bilinear `∂T/∂a (b, c)` and a cotangent `h` of `a`'s shape, the VJP with respect to `b`
//! is `∂T/∂b` evaluated with `a := h`: so each op's VJP is made of the other two, at every order.

use ndarray::Ix4;

use crate::float::Float;
use crate::kernels::conv::{conv2d, conv2d_input_grad, conv2d_weight_grad, Dims};
use crate::ops::{Grads, Op, OpKind, Vjp};
use crate::tape::Var;
use crate::{Error, Result};

/// Stride, zero padding and dilation of a 2-D convolution, each `[height, width]`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Conv2dGeometry {
    /// Step between output pixels.
    pub stride: [usize; 2],
    /// Zeros added on each side of the input.
    pub padding: [usize; 2],
    /// Spacing between kernel taps (1: dense kernel).
    pub dilation: [usize; 2],
}

impl Default for Conv2dGeometry {
    fn default() -> Self {
        Conv2dGeometry {
            stride: [1, 1],
            padding: [0, 0],
            dilation: [1, 1],
        }
    }
}

impl Conv2dGeometry {
    /// The same stride, padding and dilation along both axes.
    pub fn new(stride: usize, padding: usize, dilation: usize) -> Self {
        Conv2dGeometry {
            stride: [stride; 2],
            padding: [padding; 2],
            dilation: [dilation; 2],
        }
    }

    /// Output size along one axis: `⌊(size + 2·pad − dil·(k − 1) − 1) / stride⌋ + 1`.
    fn out_size(&self, axis: usize, size: usize, k: usize) -> Option<usize> {
        let span = self.dilation[axis] * (k - 1) + 1;
        (size + 2 * self.padding[axis])
            .checked_sub(span)
            .map(|r| r / self.stride[axis] + 1)
    }

    /// The spatial sizes for an input `h×w` and kernel `kh×kw`, or an error naming the shapes.
    pub(crate) fn dims(&self, x: &[usize], w: &[usize]) -> Result<Dims> {
        let err = |reason: String| Error::shape("conv2d", &[x, w], reason);
        if self.stride.contains(&0) || self.dilation.contains(&0) {
            return Err(Error::argument(
                "conv2d",
                format!(
                    "stride {:?} and dilation {:?} must be positive",
                    self.stride, self.dilation
                ),
            ));
        }
        if x.len() != 4 || w.len() != 4 {
            return Err(err(
                "input must be [n, c, h, w] and weight [o, c, kh, kw]".into()
            ));
        }
        if x[1] != w[1] {
            return Err(err(format!(
                "input has {} channels, the weight expects {}",
                x[1], w[1]
            )));
        }
        let (h, wd, kh, kw) = (x[2], x[3], w[2], w[3]);
        if kh == 0 || kw == 0 {
            return Err(err("the kernel is empty".into()));
        }
        match (self.out_size(0, h, kh), self.out_size(1, wd, kw)) {
            (Some(ho), Some(wo)) => Ok(Dims {
                h,
                w: wd,
                kh,
                kw,
                ho,
                wo,
            }),
            _ => Err(err(format!(
                "the dilated kernel is larger than the padded input (padding {:?}, dilation {:?})",
                self.padding, self.dilation
            ))),
        }
    }
}

#[derive(Clone, Debug)]
pub(crate) enum Conv {
    Forward {
        geom: Conv2dGeometry,
    },
    /// Inputs `(g, w)`.
    InputGrad {
        geom: Conv2dGeometry,
    },
    /// Inputs `(x, g)`.
    WeightGrad {
        geom: Conv2dGeometry,
    },
}

impl Conv {
    pub(crate) fn kind(&self) -> OpKind {
        match self {
            Conv::Forward { .. } => OpKind::Conv2d,
            Conv::InputGrad { .. } => OpKind::Conv2dInputGrad,
            Conv::WeightGrad { .. } => OpKind::Conv2dWeightGrad,
        }
    }

    pub(crate) fn vjp<'t, F: Float>(&self, v: &Vjp<'_, 't, F>) -> Result<Grads<'t, F>> {
        let h = v.g;
        match *self {
            // y = ∂T/∂g (x, w):  x̄ = ∂T/∂x (h, w),  w̄ = ∂T/∂w (x, h)
            Conv::Forward { geom } => {
                let (x, w) = (v.x[0], v.x[1]);
                let [ih, iw] = [x.shape()[2], x.shape()[3]];
                let [kh, kw] = [w.shape()[2], w.shape()[3]];
                Ok(vec![
                    v.grad_if(0, || Var::conv2d_input_grad(h, w, geom, [ih, iw]))?,
                    v.grad_if(1, || Var::conv2d_weight_grad(x, h, geom, [kh, kw]))?,
                ])
            }
            // x̄ = ∂T/∂x (g, w):  ḡ = ∂T/∂g (h, w) = conv(h, w),  w̄ = ∂T/∂w (h, g)
            Conv::InputGrad { geom } => {
                let (g, w) = (v.x[0], v.x[1]);
                let [kh, kw] = [w.shape()[2], w.shape()[3]];
                Ok(vec![
                    v.grad_if(0, || h.conv2d(w, geom))?,
                    v.grad_if(1, || Var::conv2d_weight_grad(h, g, geom, [kh, kw]))?,
                ])
            }
            // w̄ = ∂T/∂w (x, g):  x̄ = ∂T/∂x (g, h),  ḡ = ∂T/∂g (x, h) = conv(x, h)
            Conv::WeightGrad { geom } => {
                let (x, g) = (v.x[0], v.x[1]);
                let [ih, iw] = [x.shape()[2], x.shape()[3]];
                Ok(vec![
                    v.grad_if(0, || Var::conv2d_input_grad(g, h, geom, [ih, iw]))?,
                    v.grad_if(1, || x.conv2d(h, geom))?,
                ])
            }
        }
    }
}

fn view4<F: Float>(t: &crate::Tensor<F>) -> ndarray::ArrayView4<'_, F> {
    t.view().into_dimensionality::<Ix4>().expect("checked 4-D")
}

impl<'t, F: Float> Var<'t, F> {
    /// 2-D convolution of `self` (`[n, c, h, w]`) with `weight` (`[o, c, kh, kw]`), no bias:
    /// `y[n,o,p,q] = Σ_{c,i,j} w[o,c,i,j] · x[n, c, p·s − pad + i·d, q·s − pad + j·d]`.
    pub fn conv2d(self, weight: Var<'t, F>, geom: Conv2dGeometry) -> Result<Var<'t, F>> {
        self.same_tape(&weight, "conv2d")?;
        let (x, w) = (self.value(), weight.value());
        let d = geom.dims(x.shape(), w.shape())?;
        let y = conv2d(view4(&x), view4(&w), &geom, d);
        Ok(self
            .tape
            .push_op(Op::Conv(Conv::Forward { geom }), &[self, weight], y))
    }

    /// The transposed convolution: the input cotangent `x̄` (`[n, c, h, w]` with `h×w =
    /// input_hw`) for an output cotangent `g` (`[n, o, ho, wo]`) and weight `w`.
    pub fn conv2d_input_grad(
        g: Var<'t, F>,
        weight: Var<'t, F>,
        geom: Conv2dGeometry,
        input_hw: [usize; 2],
    ) -> Result<Var<'t, F>> {
        g.same_tape(&weight, "conv2d_input_grad")?;
        let (gv, w) = (g.value(), weight.value());
        let (gs, ws) = (gv.shape(), w.shape());
        let x_shape = [gs[0], ws[1], input_hw[0], input_hw[1]];
        let d = check_cotangent(&geom, &x_shape, ws, gs)?;
        let x = conv2d_input_grad(view4(&gv), view4(&w), &geom, d);
        let op = Conv::InputGrad { geom };
        Ok(g.tape.push_op(Op::Conv(op), &[g, weight], x))
    }

    /// The weight cotangent `w̄` (`[o, c, kh, kw]` with `kh×kw = kernel_hw`) for an input `x`
    /// and output cotangent `g`.
    pub fn conv2d_weight_grad(
        x: Var<'t, F>,
        g: Var<'t, F>,
        geom: Conv2dGeometry,
        kernel_hw: [usize; 2],
    ) -> Result<Var<'t, F>> {
        x.same_tape(&g, "conv2d_weight_grad")?;
        let (xv, gv) = (x.value(), g.value());
        let (xs, gs) = (xv.shape(), gv.shape());
        let w_shape = [gs[1], xs[1], kernel_hw[0], kernel_hw[1]];
        let d = check_cotangent(&geom, xs, &w_shape, gs)?;
        let w = conv2d_weight_grad(view4(&xv), view4(&gv), &geom, d);
        let op = Conv::WeightGrad { geom };
        Ok(x.tape.push_op(Op::Conv(op), &[x, g], w))
    }
}

/// Checks that an output cotangent of shape `g` fits an input `x` and weight `w`.
fn check_cotangent(geom: &Conv2dGeometry, x: &[usize], w: &[usize], g: &[usize]) -> Result<Dims> {
    let d = geom.dims(x, w)?;
    let expected = [x[0], w[0], d.ho, d.wo];
    if g.len() != 4 || g != expected {
        return Err(Error::shape(
            "conv2d backward",
            &[x, w, g],
            format!("the output cotangent must have shape {expected:?}"),
        ));
    }
    Ok(d)
}
