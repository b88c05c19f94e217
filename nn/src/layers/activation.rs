//! Activations as modules.

use autograd::{Float, Var};

use crate::{Ctx, Module, Param, Result};

/// A parameter-free nonlinearity applied elementwise (or along the last axis).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Activation {
    /// `max(x, 0)`.
    Relu,
    /// `$\max(x, \alpha x)$`.
    LeakyRelu(f64),
    /// `tanh x`.
    Tanh,
    /// `$1 / (1 + e^{-x})$`.
    Sigmoid,
    /// `softmax` along the last axis.
    Softmax,
    /// Pairs along the last axis become `(max, min)`: gradient-norm preserving.
    MaxMin,
    /// Groups of this size along the last axis are sorted (descending): gradient-norm
    /// preserving; `GroupSort(2)` is `MaxMin`.
    GroupSort(usize),
    /// `x` unchanged.
    Identity,
}

impl Activation {
    /// Applies the activation to `x`.
    pub fn apply<'t, F: Float>(self, x: Var<'t, F>) -> Result<Var<'t, F>> {
        Ok(match self {
            Activation::Relu => x.relu(),
            Activation::LeakyRelu(alpha) => x.leaky_relu(alpha),
            Activation::Tanh => x.tanh(),
            Activation::Sigmoid => x.sigmoid(),
            Activation::Softmax => x.softmax(-1)?,
            Activation::MaxMin => x.max_min(-1)?,
            Activation::GroupSort(g) => x.group_sort(g, -1)?,
            Activation::Identity => x,
        })
    }
}

impl<F: Float> Module<F> for Activation {
    fn forward<'t>(&self, _: &Ctx<'t, F>, x: Var<'t, F>) -> Result<Var<'t, F>> {
        self.apply(x)
    }

    fn visit_params(&self, _: &mut dyn FnMut(&str, &Param<F>)) {}

    fn visit_params_mut(&mut self, _: &mut dyn FnMut(&str, &mut Param<F>)) {}
}
