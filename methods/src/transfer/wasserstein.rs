//! Seed S0's proposed regulariser: per-layer `$W_{1}$` between the source and target encoders'
//! parameters, estimated by strictly 1-Lipschitz critics, trained adversarially.
//!
//! **The reading of "a layer's parameters as a sample"** (the seed leaves it open; see
//! `docs/methods.md`): layer `j` with weight `$W_j$` of shape `$[\mathrm{out}, \mathrm{in},
//! k\dots]$` is the cloud of its `out` rows flattened to `$\mathbb{R}^{\mathrm{in}\cdot \prod k}$`
//! — one point per output neuron (dense layers) or per conv filter. Biases are not part of the
//! points. `$p_j$` is the source layer's cloud (fixed), `$q_j$` the target layer's (trained). Both
//! have `out` points, so the exact `$W_{1}(q_j, p_j)$` is an assignment problem
//! ([`super::exact_w1()`]) that the reports can show beside the critic's estimate.
//!
//! One training step, alternating as the seed's `$\max_{\varphi} \min_w$` prescribes:
//!
//! ```text
//! model step:  w ← w − η ∇_w [ task loss + Σ_j λ_j (E_{q_j} f_j(w_j^tgt) − E_{p_j} f_j(w_j^src)) ]
//!              (WassersteinRegularizer::penalty; critics fixed)
//! critic step: φ_j ← φ_j + η_c ∇_φ (E_{q_j} f_j − E_{p_j} f_j), critic_steps times per layer
//!              (WassersteinRegularizer::critic_ascent; model fixed)
//! ```

use autograd::{Float, Tape, Tensor, Var};
use ndarray::{Array2, Ix2};
use nn::optim::{Adam, AdamConfig, Optimizer};
use nn::{Ctx, Module};
use rand::Rng;

use super::critic::{Critic, CriticConfig};
use super::dual::dual_value;
use super::exact_w1::exact_w1;
use crate::{Error, Result};

/// The cloud of a layer's weight on the tape: `$[\mathrm{out}, \mathrm{in}, k\dots]$` →
/// `$[\mathrm{out}, \mathrm{in}\cdot \prod k]$` (one row per output neuron or filter). A 1-D weight
/// is refused (a bias is not a layer's weight).
pub fn layer_samples<'t, F: Float>(weight: Var<'t, F>) -> Result<Var<'t, F>> {
    if weight.ndim() < 2 {
        return Err(Error::config(
            "Wasserstein layer samples",
            format!(
                "needs a weight [out, in, …], got shape {:?}",
                weight.shape()
            ),
        ));
    }
    Ok(weight.flatten_from(1)?)
}

/// The cloud of a layer's weight as an `f64` matrix `$[\mathrm{out}, \mathrm{in}\cdot \prod k]$`
/// (for critics and the exact solver).
pub fn layer_sample_array<F: Float>(weight: &Tensor<F>) -> Result<Array2<f64>> {
    let shape = weight.shape();
    if shape.len() < 2 {
        return Err(Error::config(
            "Wasserstein layer samples",
            format!("needs a weight [out, in, …], got shape {shape:?}"),
        ));
    }
    let cols: usize = shape[1..].iter().product();
    Ok(weight
        .mapv(|v| v.as_f64())
        .into_shape_with_order((shape[0], cols))
        .expect("a contiguous copy")
        .into_dimensionality::<Ix2>()
        .expect("two axes"))
}

/// The settings shared by the critics of every layer.
#[derive(Clone, Debug, PartialEq)]
pub struct WassersteinConfig {
    /// The critic architecture (the input dimension is each layer's `$\mathrm{in}\cdot \prod k$`).
    /// Default: orthonormal + MaxMin with hidden widths `[64, 64]` (our choice; for layers with
    /// `$\mathrm{in}\cdot \prod k \ge 64$` the widths never grow, so `$\|\nabla f\| = 1$` a.e.
    /// holds exactly).
    pub critic: CriticConfig,
    /// Critic ascent steps per model step. Default 5 (`n_critic` of Arjovsky et al., 2017).
    pub critic_steps: usize,
    /// Adam step size of the critics. Default 1e-3.
    pub critic_learning_rate: f64,
}

impl Default for WassersteinConfig {
    fn default() -> Self {
        WassersteinConfig {
            critic: CriticConfig::orthonormal(&[64, 64]),
            critic_steps: 5,
            critic_learning_rate: 1e-3,
        }
    }
}

/// The critic of one layer.
#[derive(Clone, Debug)]
pub struct LayerCritic<F: Float> {
    /// The parameter's name in the target model (`"0.weight"`).
    pub name: String,
    /// `$\lambda_j$`.
    pub lambda: f64,
    /// `$p_j$`: the source layer's cloud, `$[\mathrm{out}, \mathrm{in}\cdot \prod k]$`.
    pub source: Array2<f64>,
    /// `$f_{j, \varphi_j}$`.
    pub critic: Critic<F>,
    optimizer: Adam<F>,
}

/// The per-layer Wasserstein regulariser (see the module documentation).
#[derive(Clone, Debug)]
pub struct WassersteinRegularizer<F: Float> {
    layers: Vec<LayerCritic<F>>,
    critic_steps: usize,
}

/// A layer's measurements: the critic's dual estimate and the exact `$W_{1}$` of the two clouds.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LayerW1 {
    /// `$\mathbb{E}_{q_j} f_j - \mathbb{E}_{p_j} f_j$` on the whole clouds.
    pub estimate: f64,
    /// `$W_{1}(q_j, p_j)$`, exact ([`exact_w1`]).
    pub exact: f64,
}

impl<F: Float> WassersteinRegularizer<F> {
    /// One critic per listed layer of `source` (the source model: its parameter values give the
    /// fixed clouds `$p_j$`): `layers` holds `$(\text{parameter name}, \lambda_j)$`.
    /// Errors if a name is not a parameter of `source`, is not a weight of ≥ 2 axes, or a
    /// `$\lambda_j$` is negative or not finite.
    pub fn new(
        source: &dyn Module<F>,
        layers: &[(&str, f64)],
        cfg: &WassersteinConfig,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let mut out = Vec::with_capacity(layers.len());
        for &(name, lambda) in layers {
            if !(lambda.is_finite() && lambda >= 0.0) {
                return Err(Error::config(
                    format!("Wasserstein λ of {name}"),
                    format!("must be finite and ≥ 0, got {lambda}"),
                ));
            }
            let cloud = param_value(source, name)?;
            let source = layer_sample_array(&cloud)?;
            let critic = Critic::new(source.ncols(), &cfg.critic, rng)?;
            out.push(LayerCritic {
                name: name.to_string(),
                lambda,
                source,
                critic,
                optimizer: Adam::new(AdamConfig::adam(cfg.critic_learning_rate).betas(0.5, 0.9))?,
            });
        }
        Ok(WassersteinRegularizer {
            layers: out,
            critic_steps: cfg.critic_steps,
        })
    }

    /// The layers' critics, in the order given to [`WassersteinRegularizer::new`].
    pub fn layers(&self) -> &[LayerCritic<F>] {
        &self.layers
    }

    /// The model step's penalty, with the critics fixed:
    ///
    /// ```math
    /// \Omega = \sum_j \lambda_j [ \frac{1}{n_j} \sum_k f_j(q_{jk}) - \frac{1}{n_j} \sum_k f_j(p_{jk})
    ///   ],
    /// ```
    ///
    /// `$q_{jk}$` = row `k` of [`layer_samples`] of the target's weight `j` (a variable: the model
    /// descends through the critic), `$p_{jk}$` = the source's rows (constants). `bound` is the
    /// target's parameters on the step's tape by name (`Ctx::bind_all`). The second term does not
    /// depend on the model; it makes `$\Omega$` the `$\lambda$`-weighted sum of the critics'
    /// `$W_{1}$` estimates.
    pub fn penalty<'t>(&self, bound: &[(String, Var<'t, F>)]) -> Result<Var<'t, F>> {
        let tape = match bound.first() {
            Some((_, v)) => v.tape(),
            None => {
                return Err(Error::config(
                    "Wasserstein penalty",
                    "no target parameters were given",
                ))
            }
        };
        let mut total = tape.scalar(F::zero());
        for layer in &self.layers {
            let w = bound
                .iter()
                .find(|(n, _)| *n == layer.name)
                .map(|(_, v)| *v)
                .ok_or_else(|| missing(&layer.name))?;
            let q = layer_samples(w)?;
            if q.shape() != [layer.source.nrows(), layer.source.ncols()] {
                return Err(Error::config(
                    format!("Wasserstein layer {}", layer.name),
                    format!(
                        "target weight {:?} does not match the source's cloud {:?}",
                        q.shape(),
                        layer.source.dim()
                    ),
                ));
            }
            let p = tape.constant(layer.source.mapv(F::from_f64));
            let gap = layer
                .critic
                .mean_gap(&layer.critic.frozen_ctx(tape), q, p)?;
            total = total.try_add(gap.mul_scalar(layer.lambda))?;
        }
        Ok(total)
    }

    /// The critics' step, with the model fixed: `critic_steps` Adam ascent steps per layer on
    /// `$\mathbb{E}_{q_j} f_j - \mathbb{E}_{p_j} f_j$` over the whole clouds (`target` is the
    /// target model). Returns each layer's estimate after its steps.
    pub fn critic_ascent(&mut self, target: &dyn Module<F>) -> Result<Vec<f64>> {
        let mut estimates = Vec::with_capacity(self.layers.len());
        for layer in &mut self.layers {
            let q = layer_sample_array(&param_value(target, &layer.name)?)?;
            let (qf, pf) = (q.mapv(F::from_f64), layer.source.mapv(F::from_f64));
            for _ in 0..self.critic_steps {
                let grads = {
                    let tape = Tape::<F>::new();
                    let ctx = Ctx::train(&tape, 0);
                    let (qv, pv) = (ctx.input(qf.clone()), ctx.input(pf.clone()));
                    // ascent on E_q f − E_p f = descent on its negative
                    ctx.grads(layer.critic.mean_gap(&ctx, qv, pv)?.mul_scalar(-1.0))?
                };
                layer.optimizer.step(&mut layer.critic, &grads)?;
                layer.critic.refresh();
            }
            estimates.push(dual_value(&layer.critic, q.view(), layer.source.view())?);
        }
        Ok(estimates)
    }

    /// Each layer's critic estimate and exact `$W_{1}$` between the target's current cloud and the
    /// source's (for the reports; the exact solver is `$O(\mathrm{out}^{3})$`).
    pub fn measure(&self, target: &dyn Module<F>) -> Result<Vec<LayerW1>> {
        self.layers
            .iter()
            .map(|layer| {
                let q = layer_sample_array(&param_value(target, &layer.name)?)?;
                Ok(LayerW1 {
                    estimate: dual_value(&layer.critic, q.view(), layer.source.view())?,
                    exact: exact_w1(q.view(), layer.source.view())?.value,
                })
            })
            .collect()
    }
}

fn missing(name: &str) -> Error {
    Error::config(
        "Wasserstein regulariser",
        format!("the model has no parameter named {name:?}"),
    )
}

/// The value of the parameter `name` of `model`.
fn param_value<F: Float>(model: &dyn Module<F>, name: &str) -> Result<Tensor<F>> {
    let mut found = None;
    model.visit_params(&mut |n, p| {
        if n == name {
            found = Some(p.value().clone());
        }
    });
    found.ok_or_else(|| missing(name))
}
