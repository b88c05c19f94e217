//! Convolution, max-pooling and flattening.

use autograd::{Conv2dGeometry, Float, IntoTensor, Tensor, Var};
use rand::Rng;

use super::linear::{check_bias, visit_weight_bias, visit_weight_bias_mut};
use crate::init::{fans, Init};
use crate::{Ctx, Error, Module, Param, Result};

/// `$y[n, o] = b[o] + \sum_c W[o, c] \star x[n, c]$` (cross-correlation with stride, padding and
/// dilation), `W` of shape `[out, in, kh, kw]`.
///
/// The weight and the bias are private (a layer always has a 4-axis `W` and a bias of its
/// `out`): build one with [`new`](Conv2d::new) or [`from_weights`](Conv2d::from_weights) and
/// reach the parameters through [`weight`](Conv2d::weight) and [`bias`](Conv2d::bias). The
/// geometry stays public: every value is checked against the input at the forward pass.
///
/// ```
/// use autograd::Conv2dGeometry;
/// use nn::layers::Conv2d;
/// use rand::{rngs::StdRng, SeedableRng};
///
/// let mut rng = StdRng::seed_from_u64(0);
/// let mut conv = Conv2d::<f32>::new(3, 8, 5, Conv2dGeometry::new(1, 2, 1), true, &mut rng);
/// assert_eq!(conv.weight().shape(), &[8, 3, 5, 5]);
/// assert_eq!(conv.bias().map(|b| b.numel()), Some(8));
/// conv.geometry.stride = [2, 2];
/// ```
#[derive(Clone, Debug)]
pub struct Conv2d<F: Float> {
    weight: Param<F>,
    bias: Option<Param<F>>,
    /// Stride, padding and dilation.
    pub geometry: Conv2dGeometry,
}

impl<F: Float> Conv2d<F> {
    /// A `$k\times k$` convolution `$\mathrm{in} \to \mathrm{out}$` channels with PyTorch's default
    /// initialisation.
    pub fn new(
        inputs: usize,
        outputs: usize,
        kernel: usize,
        geometry: Conv2dGeometry,
        bias: bool,
        rng: &mut impl Rng,
    ) -> Self {
        let shape = [outputs, inputs, kernel, kernel];
        let weight = Param::new(Init::TorchDefault.sample::<F>(&shape, fans(&shape), rng));
        let bias =
            bias.then(|| Param::new(Init::TorchDefault.sample::<F>(&[outputs], fans(&shape), rng)));
        Conv2d {
            weight,
            bias,
            geometry,
        }
    }

    /// A convolution with the given weight `W` (`[out, in, kh, kw]`), bias `b` (`[out]`, or
    /// `None`) and geometry. Errors when `W` does not have four axes or `b` is not `[out]`.
    ///
    /// ```
    /// use autograd::{Conv2dGeometry, IntoTensor, Tape};
    /// use ndarray::{array, Array4};
    /// use nn::{layers::Conv2d, Ctx, Module};
    ///
    /// // One 2×2 box filter plus 1, on a 1-channel 2×2 image: one output pixel, 1+2+3+4+1.
    /// let weight = Array4::<f64>::ones((1, 1, 2, 2));
    /// let conv = Conv2d::from_weights(weight, Some(array![1.0].into_tensor()), Conv2dGeometry::default())?;
    /// let tape = Tape::new();
    /// let ctx = Ctx::eval(&tape);
    /// let image = Array4::from_shape_vec((1, 1, 2, 2), vec![1.0, 2.0, 3.0, 4.0]).unwrap();
    /// assert_eq!(conv.forward(&ctx, ctx.input(image))?.item(), Some(11.0));
    /// # Ok::<(), nn::Error>(())
    /// ```
    pub fn from_weights(
        weight: impl IntoTensor<F>,
        bias: Option<Tensor<F>>,
        geometry: Conv2dGeometry,
    ) -> Result<Self> {
        let weight = weight.into_tensor();
        if weight.ndim() != 4 {
            return Err(Error::config(
                "Conv2d::from_weights",
                format!(
                    "the weight must be [out, in, kh, kw], got shape {:?}",
                    weight.shape()
                ),
            ));
        }
        let bias = check_bias("Conv2d::from_weights", weight.shape()[0], bias)?;
        Ok(Conv2d {
            weight: Param::new(weight),
            bias: bias.map(Param::new),
            geometry,
        })
    }

    /// `W`, `[out, in, kh, kw]`.
    pub fn weight(&self) -> &Param<F> {
        &self.weight
    }

    /// `W`, mutable: to freeze it or [`set`](Param::set) a value of the same shape.
    pub fn weight_mut(&mut self) -> &mut Param<F> {
        &mut self.weight
    }

    /// `b`, `[out]`, if the layer has a bias.
    pub fn bias(&self) -> Option<&Param<F>> {
        self.bias.as_ref()
    }

    /// `b`, mutable.
    pub fn bias_mut(&mut self) -> Option<&mut Param<F>> {
        self.bias.as_mut()
    }
}

impl<F: Float> Module<F> for Conv2d<F> {
    fn forward<'t>(&self, ctx: &Ctx<'t, F>, x: Var<'t, F>) -> Result<Var<'t, F>> {
        let bias = self.bias.as_ref().map(|b| ctx.param(b));
        Ok(x.conv2d(ctx.param(&self.weight), bias, self.geometry)?)
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &Param<F>)) {
        visit_weight_bias(&self.weight, self.bias.as_ref(), f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit_weight_bias_mut(&mut self.weight, self.bias.as_mut(), f);
    }
}

/// Max-pooling over `kernel` windows with step `stride`, no padding.
#[derive(Clone, Copy, Debug)]
pub struct MaxPool2d {
    /// Window `[h, w]`.
    pub kernel: [usize; 2],
    /// Step `[h, w]`.
    pub stride: [usize; 2],
}

impl MaxPool2d {
    /// A square `$k\times k$` window with step `k` (non-overlapping), as `nn.MaxPool2d(k)`.
    pub fn new(k: usize) -> Self {
        MaxPool2d {
            kernel: [k, k],
            stride: [k, k],
        }
    }
}

impl<F: Float> Module<F> for MaxPool2d {
    fn forward<'t>(&self, _: &Ctx<'t, F>, x: Var<'t, F>) -> Result<Var<'t, F>> {
        Ok(x.max_pool2d(self.kernel, self.stride)?)
    }

    fn visit_params(&self, _: &mut dyn FnMut(&str, &Param<F>)) {}

    fn visit_params_mut(&mut self, _: &mut dyn FnMut(&str, &mut Param<F>)) {}
}

/// Flattens every axis after the first: `$[n, a, b, \dots] \to[n, a\cdot b\cdot \dots]$`. An input
/// that is already `[n, d]` passes unchanged.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flatten;

impl<F: Float> Module<F> for Flatten {
    fn forward<'t>(&self, _: &Ctx<'t, F>, x: Var<'t, F>) -> Result<Var<'t, F>> {
        Ok(x.flatten_from(1)?)
    }

    fn visit_params(&self, _: &mut dyn FnMut(&str, &Param<F>)) {}

    fn visit_params_mut(&mut self, _: &mut dyn FnMut(&str, &mut Param<F>)) {}
}
