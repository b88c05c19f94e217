//! Sequential composition and the MLP builder.

use autograd::{Float, Var};
use rand::Rng;

use crate::layers::{Activation, Linear};
use crate::module::{visit_child, visit_child_mut};
use crate::{Ctx, Module, Param, Result};

/// Modules applied in order; the parameters of the `i`-th are named `"{i}.{name}"`.
#[derive(Default)]
pub struct Sequential<F: Float> {
    layers: Vec<Box<dyn Module<F>>>,
}

impl<F: Float> Sequential<F> {
    /// An empty sequence.
    pub fn new() -> Self {
        Sequential { layers: Vec::new() }
    }

    /// Appends a module.
    pub fn push(mut self, layer: impl Module<F> + 'static) -> Self {
        self.layers.push(Box::new(layer));
        self
    }

    /// The number of modules.
    pub fn len(&self) -> usize {
        self.layers.len()
    }

    /// Whether there are no modules.
    pub fn is_empty(&self) -> bool {
        self.layers.is_empty()
    }

    /// The forward pass of the first `n` modules only (features of an intermediate layer).
    pub fn forward_prefix<'t>(
        &self,
        ctx: &Ctx<'t, F>,
        x: Var<'t, F>,
        n: usize,
    ) -> Result<Var<'t, F>> {
        self.layers[..n.min(self.layers.len())]
            .iter()
            .try_fold(x, |h, layer| layer.forward(ctx, h))
    }
}

impl<F: Float> Module<F> for Sequential<F> {
    fn forward<'t>(&self, ctx: &Ctx<'t, F>, x: Var<'t, F>) -> Result<Var<'t, F>> {
        self.forward_prefix(ctx, x, self.layers.len())
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &Param<F>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            visit_child(&i.to_string(), layer.as_ref(), f);
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Param<F>)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            visit_child_mut(&i.to_string(), layer.as_mut(), f);
        }
    }
}

/// A multilayer perceptron from a size list: `[784, 800, 50, 10]` is
/// `Linear(784→800), act, Linear(800→50), act, Linear(50→10)` (no activation after the last
/// layer: it outputs logits). Parameters are named `"0.weight"`, `"0.bias"`, `"2.weight"`, …
/// as in PyTorch's `nn.Sequential`.
pub fn mlp<F: Float>(
    sizes: &[usize],
    activation: Activation,
    bias: bool,
    rng: &mut impl Rng,
) -> Sequential<F> {
    let mut model = Sequential::new();
    for (i, w) in sizes.windows(2).enumerate() {
        model = model.push(Linear::new(w[0], w[1], bias, rng));
        if i + 2 < sizes.len() {
            model = model.push(activation);
        }
    }
    model
}
