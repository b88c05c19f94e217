//! The affine layer.

use autograd::{Float, Var};
use rand::Rng;

use crate::init::{fans, Init};
use crate::{Ctx, Module, Param, Result};

/// `y = x Wᵀ + b`, with `W` of shape `[out, in]` (PyTorch's layout) and an optional bias `b`
/// of shape `[out]`. The product reads `Wᵀ` through strides: no transpose is copied.
#[derive(Clone, Debug)]
pub struct Linear<F: Float> {
    /// `W`, `[out, in]`.
    pub weight: Param<F>,
    /// `b`, `[out]`; `None` for a layer without bias (the Bayesian distillation teachers).
    pub bias: Option<Param<F>>,
}

impl<F: Float> Linear<F> {
    /// A layer `in → out` with PyTorch's default initialisation, with or without bias.
    pub fn new(inputs: usize, outputs: usize, bias: bool, rng: &mut impl Rng) -> Self {
        Self::with_init(inputs, outputs, bias, Init::TorchDefault, rng)
    }

    /// A layer `in → out` whose weight is drawn from `init` (the bias as PyTorch does).
    pub fn with_init(
        inputs: usize,
        outputs: usize,
        bias: bool,
        init: Init,
        rng: &mut impl Rng,
    ) -> Self {
        let shape = [outputs, inputs];
        let weight = Param::new(init.sample::<F>(&shape, fans(&shape), rng));
        let bias =
            bias.then(|| Param::new(Init::TorchDefault.sample::<F>(&[outputs], fans(&shape), rng)));
        Linear { weight, bias }
    }

    /// `(in, out)`.
    pub fn dims(&self) -> (usize, usize) {
        (self.weight.shape()[1], self.weight.shape()[0])
    }
}

impl<F: Float> Module<F> for Linear<F> {
    fn forward<'t>(&self, ctx: &Ctx<'t, F>, x: Var<'t, F>) -> Result<Var<'t, F>> {
        let y = x.matmul_t(ctx.param(&self.weight), false, true)?;
        match &self.bias {
            Some(b) => Ok(y.try_add(ctx.param(b))?),
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
