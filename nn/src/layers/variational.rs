//! Mean-field Gaussian (variational) parameters and the variational linear layer.

use autograd::{Float, Tensor, Var};
use ndarray::{ArrayD, IxDyn};
use rand::Rng;
use rand_distr::StandardNormal;

use crate::init::{fans, Init};
use crate::{Ctx, Error, Module, Param, Result};

/// A parameter tensor with a mean-field Gaussian distribution `q(w) = N(μ, diag(σ²))`, stored
/// as the mean `μ` and the log-variance `ρ = ln σ²` (both trainable, same shape).
///
/// A training pass draws `w = μ + exp(ρ/2) ⊙ ε`, `ε ~ N(0, I)` from the pass's seeded stream
/// ([`Ctx::with_rng`]): the reparameterisation trick, so `w` is differentiable in `μ` and `ρ`
/// (`∂w/∂μ = 1`, `∂w/∂ρ = ½ exp(ρ/2) ε`) and the noise is fixed by the pass's seed (two passes
/// with the same seed draw the same `ε`). An evaluation pass uses the mean, `w = μ`.
#[derive(Clone, Debug)]
pub struct GaussianParam<F: Float> {
    /// `μ`.
    pub mean: Param<F>,
    /// `ρ = ln σ²`.
    pub log_var: Param<F>,
}

impl<F: Float> GaussianParam<F> {
    /// A Gaussian parameter with mean `mean` and every log-variance equal to `log_var`
    /// (finite).
    pub fn new(mean: Tensor<F>, log_var: f64) -> Result<Self> {
        if !log_var.is_finite() {
            return Err(Error::config(
                "variational log-variance",
                format!("must be finite, got {log_var}"),
            ));
        }
        let rho = ArrayD::from_elem(IxDyn(mean.shape()), F::from_f64(log_var));
        Ok(GaussianParam {
            mean: Param::new(mean),
            log_var: Param::new(rho),
        })
    }

    /// The shape of the parameter.
    pub fn shape(&self) -> &[usize] {
        self.mean.shape()
    }

    /// `w` for this pass: a reparameterised draw when `sample` (noise from the pass's stream),
    /// the mean otherwise. Returns `w` with the variables bound to `μ` and `ρ`.
    pub fn draw<'t>(&self, ctx: &Ctx<'t, F>, sample: bool) -> Result<Var<'t, F>> {
        let mu = ctx.param(&self.mean);
        if !sample {
            return Ok(mu);
        }
        let rho = ctx.param(&self.log_var);
        let eps = ctx.with_rng(|rng| {
            ArrayD::from_shape_simple_fn(IxDyn(self.shape()), || {
                F::from_f64(rng.sample::<f64, _>(StandardNormal))
            })
        });
        let sigma = rho.mul_scalar(0.5).exp();
        Ok(mu.try_add(sigma.try_mul(ctx.input(eps))?)?)
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<F>)) {
        f(&format!("{prefix}.mean"), &self.mean);
        f(&format!("{prefix}.log_var"), &self.log_var);
    }

    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param<F>)) {
        f(&format!("{prefix}.mean"), &mut self.mean);
        f(&format!("{prefix}.log_var"), &mut self.log_var);
    }
}

/// The variational affine layer `y = x Wᵀ + b` with `W ~ q(W)`, `b ~ q(b)` mean-field
/// Gaussians ([`GaussianParam`]): in a training pass `W` and `b` are reparameterised draws
/// (one per pass, shared by the batch), in an evaluation pass their means. `W` is `[out, in]`
/// as in [`Linear`](super::Linear). Parameters: `weight.mean`, `weight.log_var`,
/// `bias.mean`, `bias.log_var`.
#[derive(Clone, Debug)]
pub struct VariationalLinear<F: Float> {
    /// `q(W)`.
    pub weight: GaussianParam<F>,
    /// `q(b)`; `None` for a layer without bias (the Bayesian distillation students).
    pub bias: Option<GaussianParam<F>>,
}

impl<F: Float> VariationalLinear<F> {
    /// A layer `in → out` whose means are drawn from `init` (the bias mean as PyTorch draws a
    /// bias) and whose log-variances all equal `log_var`.
    pub fn new(
        inputs: usize,
        outputs: usize,
        bias: bool,
        init: Init,
        log_var: f64,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        let shape = [outputs, inputs];
        let weight = GaussianParam::new(init.sample::<F>(&shape, fans(&shape), rng), log_var)?;
        let bias = if bias {
            let b = Init::TorchDefault.sample::<F>(&[outputs], fans(&shape), rng);
            Some(GaussianParam::new(b, log_var)?)
        } else {
            None
        };
        Ok(VariationalLinear { weight, bias })
    }

    /// `(in, out)`.
    pub fn dims(&self) -> (usize, usize) {
        (self.weight.shape()[1], self.weight.shape()[0])
    }

    /// The forward pass with a draw when `sample`, the means otherwise (the [`Module`]
    /// forward samples exactly in training passes).
    pub fn forward_with<'t>(
        &self,
        ctx: &Ctx<'t, F>,
        x: Var<'t, F>,
        sample: bool,
    ) -> Result<Var<'t, F>> {
        let w = self.weight.draw(ctx, sample)?;
        let y = x.matmul_t(w, false, true)?;
        match &self.bias {
            Some(b) => Ok(y.try_add(b.draw(ctx, sample)?)?),
            None => Ok(y),
        }
    }
}

impl<F: Float> Module<F> for VariationalLinear<F> {
    fn forward<'t>(&self, ctx: &Ctx<'t, F>, x: Var<'t, F>) -> Result<Var<'t, F>> {
        self.forward_with(ctx, x, ctx.training())
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &Param<F>)) {
        self.weight.visit("weight", f);
        if let Some(b) = &self.bias {
            b.visit("bias", f);
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Param<F>)) {
        self.weight.visit_mut("weight", f);
        if let Some(b) = &mut self.bias {
            b.visit_mut("bias", f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use autograd::Tape;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// Same seed → same draw; evaluation → the mean; the draw is `μ + exp(ρ/2) ε` with `ε`
    /// recovered from `(w − μ) / σ` having sample mean ≈ 0 and variance ≈ 1 (4000 draws:
    /// standard errors 0.016 and 0.022; tolerances 5 of them).
    #[test]
    fn draws_are_seeded_reparameterised_gaussians() {
        let mut rng = StdRng::seed_from_u64(0);
        let layer =
            VariationalLinear::<f64>::new(2000, 2, false, Init::TorchDefault, -2.0, &mut rng)
                .unwrap();
        let x = ndarray::Array2::<f64>::eye(2000);
        let run = |seed: Option<u64>| {
            let tape = Tape::new();
            let ctx = match seed {
                Some(s) => Ctx::train(&tape, s),
                None => Ctx::eval(&tape),
            };
            // x = I: the output rows are the columns of Wᵀ, i.e. the sampled weights
            layer.forward(&ctx, ctx.input(x.view())).unwrap().value()
        };
        assert_eq!(run(Some(5)), run(Some(5)));
        assert_ne!(run(Some(5)), run(Some(6)));
        let mean = layer.weight.mean.value().t().to_owned();
        assert_eq!(run(None), mean);
        let sigma = (-1.0f64).exp();
        let eps: Vec<f64> = run(Some(5))
            .iter()
            .zip(mean.iter())
            .map(|(w, m)| (w - m) / sigma)
            .collect();
        let n = eps.len() as f64;
        let m = eps.iter().sum::<f64>() / n;
        let v = eps.iter().map(|e| (e - m).powi(2)).sum::<f64>() / (n - 1.0);
        assert!(m.abs() < 5.0 * (1.0 / n).sqrt(), "mean {m}");
        assert!((v - 1.0).abs() < 5.0 * (2.0 / n).sqrt(), "variance {v}");
        assert!(
            VariationalLinear::<f64>::new(2, 2, true, Init::TorchDefault, f64::NAN, &mut rng)
                .is_err()
        );
    }
}
