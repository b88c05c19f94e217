//! The no-bias MLP of Bayesian distillation, `$f = U_T \circ \sigma \circ \dots \circ \sigma \circ
//! U_1$` (no activation after the last layer: it outputs a regression value or logits), as plain
//! f64 weights.

use autograd::{Float, Var};
use ndarray::{Array1, Array2};
use nn::layers::Activation;
use nn::Module;

use super::alignment::layer_offsets;
use crate::{Error, Result};

/// The weights `$U_1, \dots, U_T$` (`$U_t$` is `$[n_t, n_{t-1}]$`) and the activation `$\sigma$`.
#[derive(Clone, Debug)]
pub struct NoBiasMlp {
    /// `$U_1, \dots, U_T$`, each `[out, in]`.
    pub weights: Vec<Array2<f64>>,
    /// `$\sigma$`, applied after every layer but the last.
    pub activation: Activation,
}

/// One forward pass on a tape: the output and, per layer `l`, its input `$a_l$` (`$[B, n_l]$`,
/// `$a_0 = x$`) and pre-activation `$z_l = a_l U_{l+1}^{\top}$` (`$[B, n_{l+1}]$`); the output is
/// `$z_{T-1}$`.
pub struct Pass<'t, F: Float> {
    /// `f(x)` (`$[B, n_T]$`).
    pub output: Var<'t, F>,
    /// `$a_l$`, the input of each layer.
    pub inputs: Vec<Var<'t, F>>,
    /// `$z_l$`, the pre-activation of each layer.
    pub preacts: Vec<Var<'t, F>>,
}

/// Whether `$\sigma \circ \sigma = \sigma$`: ReLU, the identity, and the sorting activations
/// (MaxMin, GroupSort).
pub fn is_idempotent(activation: Activation) -> bool {
    matches!(
        activation,
        Activation::Relu | Activation::Identity | Activation::MaxMin | Activation::GroupSort(_)
    )
}

/// The forward pass `$a_0 = x$`, `$z_l = a_l W_l^{\top}$`, `$a_{l+1} = \sigma(z_l)$`, output
/// `$z_{T-1}$`, for weights given as variables (`[out, in]` each).
pub fn forward<'t, F: Float>(
    weights: &[Var<'t, F>],
    x: Var<'t, F>,
    activation: Activation,
) -> Result<Pass<'t, F>> {
    let mut inputs = Vec::with_capacity(weights.len());
    let mut preacts = Vec::with_capacity(weights.len());
    let mut a = x;
    for (l, &w) in weights.iter().enumerate() {
        inputs.push(a);
        let z = a.matmul_t(w, false, true)?;
        preacts.push(z);
        if l + 1 < weights.len() {
            a = activation.apply(z)?;
        }
    }
    let output = *preacts
        .last()
        .ok_or_else(|| Error::config("no-bias MLP", "it has no layer"))?;
    Ok(Pass {
        output,
        inputs,
        preacts,
    })
}

impl NoBiasMlp {
    /// An MLP from its weights; errors unless consecutive shapes chain (`$U_{t+1}$` has as many
    /// columns as `$U_t$` rows) and every weight is finite.
    pub fn new(weights: Vec<Array2<f64>>, activation: Activation) -> Result<Self> {
        if weights.is_empty() {
            return Err(Error::config("no-bias MLP", "it needs at least one layer"));
        }
        for (t, pair) in weights.windows(2).enumerate() {
            if pair[1].ncols() != pair[0].nrows() {
                return Err(Error::config(
                    "no-bias MLP",
                    format!(
                        "layer {} is {:?} but layer {} is {:?}: shapes must chain ([out, in])",
                        t,
                        pair[0].dim(),
                        t + 1,
                        pair[1].dim()
                    ),
                ));
            }
        }
        if weights.iter().any(|w| w.iter().any(|v| !v.is_finite())) {
            return Err(Error::config("no-bias MLP", "a weight is not finite"));
        }
        Ok(NoBiasMlp {
            weights,
            activation,
        })
    }

    /// The weights of an `nn` model (e.g. `nn::layers::mlp(sizes, Relu, false, rng)`), in
    /// visiting order; errors if a parameter is not a 2-D weight (a bias: the seed's networks
    /// have none) or the shapes do not chain.
    pub fn from_module<F: Float>(model: &dyn Module<F>, activation: Activation) -> Result<Self> {
        let mut weights = Vec::new();
        let mut bad = None;
        model.visit_params(&mut |name, p| {
            if p.shape().len() == 2 {
                let (r, c) = (p.shape()[0], p.shape()[1]);
                let values = p.value().iter().map(|v| v.as_f64()).collect();
                weights.push(Array2::from_shape_vec((r, c), values).expect("r·c values"));
            } else if bad.is_none() {
                bad = Some(format!("{name} has shape {:?}", p.shape()));
            }
        });
        if let Some(b) = bad {
            return Err(Error::config(
                "Bayesian distillation teacher",
                format!(
                    "must be a no-bias MLP (only [out, in] weights), but {b}: build it with \
                     bias = false"
                ),
            ));
        }
        Self::new(weights, activation)
    }

    /// The sizes `$[n_0, \dots, n_T]$`.
    pub fn sizes(&self) -> Vec<usize> {
        let mut s = vec![self.weights[0].ncols()];
        s.extend(self.weights.iter().map(|w| w.nrows()));
        s
    }

    /// The number of weights `P`.
    pub fn num_weights(&self) -> usize {
        self.weights.iter().map(|w| w.len()).sum()
    }

    /// The weight vector `u` (row-major layers in order; see `super::alignment`).
    pub fn flat(&self) -> Array1<f64> {
        self.weights
            .iter()
            .flat_map(|w| w.iter().copied())
            .collect()
    }

    /// The MLP of sizes `sizes` with the weight vector `u`.
    pub fn from_flat(sizes: &[usize], u: &[f64], activation: Activation) -> Result<Self> {
        let (offsets, total) = layer_offsets(sizes);
        if u.len() != total || sizes.len() < 2 {
            return Err(Error::config(
                "no-bias MLP",
                format!("sizes {sizes:?} need {total} weights, got {}", u.len()),
            ));
        }
        let weights = offsets
            .iter()
            .enumerate()
            .map(|(l, &o)| {
                let (r, c) = (sizes[l + 1], sizes[l]);
                Array2::from_shape_vec((r, c), u[o..o + r * c].to_vec()).expect("r·c values")
            })
            .collect();
        Self::new(weights, activation)
    }

    /// Whether `$\sigma \circ \sigma = \sigma$` (layer removal needs it).
    pub fn idempotent_activation(&self) -> bool {
        is_idempotent(self.activation)
    }
}
