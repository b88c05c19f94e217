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
//!
//! On [`Var`]: `x.conv2d(w, bias, geom)` (the bias optional, added as a composite), and the two
//! adjoints as methods of the output cotangent, `g.conv2d_input_grad(w, geom, input_hw)` and
//! `g.conv2d_weight_grad(x, geom, kernel_hw)`.

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
                    v.grad_if(0, || h.conv2d_input_grad(w, geom, [ih, iw]))?,
                    v.grad_if(1, || h.conv2d_weight_grad(x, geom, [kh, kw]))?,
                ])
            }
            // x̄ = ∂T/∂x (g, w):  ḡ = ∂T/∂g (h, w) = conv(h, w),  w̄ = ∂T/∂w (h, g)
            Conv::InputGrad { geom } => {
                let (g, w) = (v.x[0], v.x[1]);
                let [kh, kw] = [w.shape()[2], w.shape()[3]];
                Ok(vec![
                    v.grad_if(0, || h.conv2d(w, None, geom))?,
                    v.grad_if(1, || g.conv2d_weight_grad(h, geom, [kh, kw]))?,
                ])
            }
            // w̄ = ∂T/∂w (x, g):  x̄ = ∂T/∂x (g, h),  ḡ = ∂T/∂g (x, h) = conv(x, h)
            Conv::WeightGrad { geom } => {
                let (x, g) = (v.x[0], v.x[1]);
                let [ih, iw] = [x.shape()[2], x.shape()[3]];
                Ok(vec![
                    v.grad_if(0, || g.conv2d_input_grad(h, geom, [ih, iw]))?,
                    v.grad_if(1, || x.conv2d(h, None, geom))?,
                ])
            }
        }
    }
}

fn view4<F: Float>(t: &crate::Tensor<F>) -> ndarray::ArrayView4<'_, F> {
    t.view().into_dimensionality::<Ix4>().expect("checked 4-D")
}

impl<'t, F: Float> Var<'t, F> {
    /// 2-D convolution of `self` (`[n, c, h, w]`) with `weight` (`[o, c, kh, kw]`) and an
    /// optional `bias` (`[o]`):
    ///
    /// `y[n,o,p,q] = b[o] + Σ_{c,i,j} w[o,c,i,j] · x[n, c, p·s − pad + i·d, q·s − pad + j·d]`
    ///
    /// (cross-correlation, as every deep-learning library calls convolution; `s, pad, d` from
    /// `geom`). The bias is added as a composite (`y + b` broadcast as `[1, o, 1, 1]`).
    ///
    /// Its two adjoints are methods of the output cotangent `g` (`[n, o, ho, wo]`):
    /// [`g.conv2d_input_grad(w, ..)`](Var::conv2d_input_grad) (the transposed convolution, `x̄`)
    /// and [`g.conv2d_weight_grad(x, ..)`](Var::conv2d_weight_grad) (`w̄`). The bias's adjoint is
    /// `g` summed over every axis but 1.
    ///
    /// ```
    /// use autograd::{Conv2dGeometry, Tape};
    /// use ndarray::{Array, Array4};
    ///
    /// let tape = Tape::<f64>::new();
    /// let x = tape.param(Array::from_shape_fn((1, 1, 3, 3), |(_, _, i, j)| (3 * i + j) as f64));
    /// let w = tape.param(Array4::<f64>::ones((2, 1, 2, 2))); // two 2×2 box filters
    /// let b = tape.param(ndarray::array![0.5, -1.0]);
    /// let y = x.conv2d(w, Some(b), Conv2dGeometry::default())?;
    /// assert_eq!(y.shape(), vec![1, 2, 2, 2]);
    /// // Top-left window: 0 + 1 + 3 + 4 = 8, plus each channel's bias.
    /// let v = y.value();
    /// assert_eq!((v[[0, 0, 0, 0]], v[[0, 1, 0, 0]]), (8.5, 7.0));
    /// # Ok::<(), autograd::Error>(())
    /// ```
    pub fn conv2d(
        self,
        weight: Var<'t, F>,
        bias: Option<Var<'t, F>>,
        geom: Conv2dGeometry,
    ) -> Result<Var<'t, F>> {
        self.same_tape(&weight, "conv2d")?;
        let (x, w) = (self.value(), weight.value());
        let d = geom.dims(x.shape(), w.shape())?;
        let channels = w.shape()[0];
        if let Some(b) = bias {
            self.same_tape(&b, "conv2d")?;
            if b.shape() != [channels] {
                return Err(Error::shape(
                    "conv2d",
                    &[x.shape(), w.shape(), &b.shape()],
                    format!("the bias must have one value per output channel, [{channels}]"),
                ));
            }
        }
        let y = conv2d(view4(&x), view4(&w), &geom, d);
        let y = self
            .tape
            .push_op(Op::Conv(Conv::Forward { geom }), &[self, weight], y);
        match bias {
            Some(b) => y.try_add(b.reshape(&[1, channels, 1, 1])?),
            None => Ok(y),
        }
    }

    /// The transposed convolution, the adjoint of [`conv2d`](Var::conv2d) in its input: for an
    /// output cotangent `self = g` (`[n, o, ho, wo]`) and the weight `w` (`[o, c, kh, kw]`),
    /// the input cotangent `x̄` (`[n, c, h, w]` with `h×w = input_hw`):
    ///
    /// `x̄[n,c,a,b] = Σ_{o,p,q,i,j : p·s − pad + i·d = a, q·s − pad + j·d = b} g[n,o,p,q] · w[o,c,i,j]`.
    ///
    /// `input_hw` is needed because several input sizes give one output size when the stride is
    /// above 1.
    ///
    /// ```
    /// use autograd::{Conv2dGeometry, Tape};
    /// use ndarray::{Array, Array4};
    ///
    /// // x̄ = g.conv2d_input_grad(w, ..) is the gradient of Σ g ⊙ conv2d(x, w) in x.
    /// let tape = Tape::<f64>::new();
    /// let geom = Conv2dGeometry::new(2, 1, 1);
    /// let x = tape.param(Array::from_shape_fn((1, 2, 4, 4), |(_, c, i, j)| (c + i * j) as f64));
    /// let w = tape.constant(Array::from_shape_fn((3, 2, 3, 3), |(o, c, i, j)| (o + c + i) as f64 - j as f64));
    /// let y = x.conv2d(w, None, geom)?;
    /// let g = tape.constant(Array4::from_shape_fn((1, 3, 2, 2), |(_, o, p, q)| (o * p) as f64 - q as f64));
    /// let by_tape = tape.grad(y.try_mul(g)?.sum(), &[x])?.remove(0);
    /// let adjoint = g.conv2d_input_grad(w, geom, [4, 4])?.value();
    /// assert_eq!(by_tape, adjoint);
    /// # Ok::<(), autograd::Error>(())
    /// ```
    pub fn conv2d_input_grad(
        self,
        weight: Var<'t, F>,
        geom: Conv2dGeometry,
        input_hw: [usize; 2],
    ) -> Result<Var<'t, F>> {
        self.same_tape(&weight, "conv2d_input_grad")?;
        let (gv, w) = (self.value(), weight.value());
        let (gs, ws) = (gv.shape(), w.shape());
        if gs.len() != 4 {
            return Err(Error::shape(
                "conv2d_input_grad",
                &[gs, ws],
                "the output cotangent must be [n, o, ho, wo]",
            ));
        }
        let x_shape = [
            gs[0],
            ws.get(1).copied().unwrap_or(0),
            input_hw[0],
            input_hw[1],
        ];
        let d = check_cotangent(&geom, &x_shape, ws, gs)?;
        let x = conv2d_input_grad(view4(&gv), view4(&w), &geom, d);
        let op = Conv::InputGrad { geom };
        Ok(self.tape.push_op(Op::Conv(op), &[self, weight], x))
    }

    /// The adjoint of [`conv2d`](Var::conv2d) in its weight: for an output cotangent
    /// `self = g` (`[n, o, ho, wo]`) and the input `x` (`[n, c, h, w]`), the weight cotangent
    /// `w̄` (`[o, c, kh, kw]` with `kh×kw = kernel_hw`):
    ///
    /// `w̄[o,c,i,j] = Σ_{n,p,q} g[n,o,p,q] · x[n, c, p·s − pad + i·d, q·s − pad + j·d]`.
    ///
    /// ```
    /// use autograd::{Conv2dGeometry, Tape};
    /// use ndarray::{Array, Array4};
    ///
    /// // w̄ = g.conv2d_weight_grad(x, ..) is the gradient of Σ g ⊙ conv2d(x, w) in w.
    /// let tape = Tape::<f64>::new();
    /// let geom = Conv2dGeometry::new(1, 1, 2);
    /// let x = tape.constant(Array::from_shape_fn((2, 1, 5, 5), |(n, _, i, j)| (n + i) as f64 - j as f64));
    /// let w = tape.param(Array4::<f64>::ones((2, 1, 2, 2)));
    /// let y = x.conv2d(w, None, geom)?;
    /// let g = tape.constant(Array4::from_shape_fn((2, 2, 5, 5), |(n, o, p, q)| (n + o * p) as f64 - q as f64));
    /// let by_tape = tape.grad(y.try_mul(g)?.sum(), &[w])?.remove(0);
    /// let adjoint = g.conv2d_weight_grad(x, geom, [2, 2])?.value();
    /// assert_eq!(by_tape, adjoint);
    /// # Ok::<(), autograd::Error>(())
    /// ```
    pub fn conv2d_weight_grad(
        self,
        x: Var<'t, F>,
        geom: Conv2dGeometry,
        kernel_hw: [usize; 2],
    ) -> Result<Var<'t, F>> {
        x.same_tape(&self, "conv2d_weight_grad")?;
        let (xv, gv) = (x.value(), self.value());
        let (xs, gs) = (xv.shape(), gv.shape());
        if gs.len() != 4 || xs.len() != 4 {
            return Err(Error::shape(
                "conv2d_weight_grad",
                &[xs, gs],
                "the input must be [n, c, h, w] and the output cotangent [n, o, ho, wo]",
            ));
        }
        let w_shape = [gs[1], xs[1], kernel_hw[0], kernel_hw[1]];
        let d = check_cotangent(&geom, xs, &w_shape, gs)?;
        let w = conv2d_weight_grad(view4(&xv), view4(&gv), &geom, d);
        let op = Conv::WeightGrad { geom };
        // The op's inputs stay (x, g), the order of the trilinear form's partials.
        Ok(self.tape.push_op(Op::Conv(op), &[x, self], w))
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
