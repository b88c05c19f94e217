//! Convolution, max-pooling and flattening.

use autograd::{Conv2dGeometry, Float, Var};
use rand::Rng;

use crate::init::{fans, Init};
use crate::{Ctx, Module, Param, Result};

/// `y[n, o] = b[o] + Σ_c W[o, c] ⋆ x[n, c]` (cross-correlation with stride, padding and
/// dilation), `W` of shape `[out, in, kh, kw]`.
#[derive(Clone, Debug)]
pub struct Conv2d<F: Float> {
    /// `W`, `[out, in, kh, kw]`.
    pub weight: Param<F>,
    /// `b`, `[out]`.
    pub bias: Option<Param<F>>,
    /// Stride, padding and dilation.
    pub geometry: Conv2dGeometry,
}

impl<F: Float> Conv2d<F> {
    /// A `k×k` convolution `in → out` channels with PyTorch's default initialisation.
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
}

impl<F: Float> Module<F> for Conv2d<F> {
    fn forward<'t>(&self, ctx: &Ctx<'t, F>, x: Var<'t, F>) -> Result<Var<'t, F>> {
        let y = x.conv2d(ctx.param(&self.weight), self.geometry)?;
        match &self.bias {
            Some(b) => {
                let channels = self.weight.shape()[0];
                Ok(y.try_add(ctx.param(b).reshape(&[1, channels, 1, 1])?)?)
            }
            None => Ok(y),
        }
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &Param<F>)) {
        f("weight", &self.weight);
        if let Some(b) = &self.bias {
            f("bias", b);
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Param<F>)) {
        f("weight", &mut self.weight);
        if let Some(b) = &mut self.bias {
            f("bias", b);
        }
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
    /// A square `k×k` window with step `k` (non-overlapping), as `nn.MaxPool2d(k)`.
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

/// Flattens every axis after the first: `[n, a, b, …] → [n, a·b·…]`. An input that is already
/// `[n, d]` passes unchanged.
#[derive(Clone, Copy, Debug, Default)]
pub struct Flatten;

impl<F: Float> Module<F> for Flatten {
    fn forward<'t>(&self, _: &Ctx<'t, F>, x: Var<'t, F>) -> Result<Var<'t, F>> {
        Ok(x.flatten_from(1)?)
    }

    fn visit_params(&self, _: &mut dyn FnMut(&str, &Param<F>)) {}

    fn visit_params_mut(&mut self, _: &mut dyn FnMut(&str, &mut Param<F>)) {}
}
