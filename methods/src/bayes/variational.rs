//! The student of Bayesian distillation: a no-bias MLP with mean-field Gaussian weights,
//! trained by the variational objective `$\mathrm{KL} (q(w) \| p(w | A)) - \log p(y | X, w)$`.

use autograd::{Float, Var};
use ndarray::ArrayD;
use nn::init::Init;
use nn::layers::{Activation, GaussianParam, VariationalLinear};
use nn::{Ctx, Module, Param};
use rand::Rng;

use super::kl::{kl_divergence, MeanField, PreparedPrior};
use super::likelihood::{Likelihood, Targets};
use super::posterior::WeightGaussian;
use crate::{Error, Result};

/// `$g = W_L \circ \sigma \circ \dots \circ \sigma \circ W_1$` with `$q(W_l)$` mean-field Gaussians
/// and no biases.
#[derive(Clone, Debug)]
pub struct VariationalMlp<F: Float> {
    /// The layers (`nn::layers::VariationalLinear` without bias).
    pub layers: Vec<VariationalLinear<F>>,
    /// `$\sigma$`.
    pub activation: Activation,
}

impl<F: Float> VariationalMlp<F> {
    /// A student of sizes `sizes` with means from `init` and every log-variance `log_var`.
    pub fn new(
        sizes: &[usize],
        activation: Activation,
        init: Init,
        log_var: f64,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        Self::build(sizes, activation, init, log_var, false, rng)
    }

    /// The same network with a mean-field Gaussian bias in every layer (`$q(b_l)$`, its mean drawn
    /// as PyTorch draws a bias): the seed S2's `$f(x, w) = W_2^{\top} \sigma(W_1^{\top} x + b_1) +
    /// b_2$`. [`variational_objective`] refuses it (its structured prior is over the weights).
    pub fn with_biases(
        sizes: &[usize],
        activation: Activation,
        init: Init,
        log_var: f64,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        Self::build(sizes, activation, init, log_var, true, rng)
    }

    fn build(
        sizes: &[usize],
        activation: Activation,
        init: Init,
        log_var: f64,
        bias: bool,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        if sizes.len() < 2 || sizes.contains(&0) {
            return Err(Error::config(
                "variational student sizes",
                format!("need ≥ 2 positive sizes, got {sizes:?}"),
            ));
        }
        let layers = sizes
            .windows(2)
            .map(|w| VariationalLinear::new(w[0], w[1], bias, init, log_var, rng))
            .collect::<nn::Result<_>>()?;
        Ok(VariationalMlp { layers, activation })
    }

    /// A student whose means start at the prior's mean (the aligned teacher weights) and
    /// whose log-variances all equal `log_var`.
    pub fn from_prior(
        prior: &WeightGaussian,
        activation: Activation,
        log_var: f64,
    ) -> Result<Self> {
        let mut rng = rand::rngs::mock::StepRng::new(0, 0);
        let mut model = Self::new(
            &prior.sizes,
            activation,
            Init::Constant(0.0),
            log_var,
            &mut rng,
        )?;
        for (l, layer) in model.layers.iter_mut().enumerate() {
            let m = prior.layer_mean(l).mapv(F::from_f64).into_dyn();
            layer.weight.mean.set(m)?;
        }
        Ok(model)
    }

    /// `$[n_0, \dots, n_L]$`.
    pub fn sizes(&self) -> Vec<usize> {
        let mut s = vec![self.layers[0].dims().0];
        s.extend(self.layers.iter().map(|l| l.dims().1));
        s
    }

    /// The forward pass with a reparameterised draw of every weight when `sample`, the means
    /// otherwise.
    pub fn forward_with<'t>(
        &self,
        ctx: &Ctx<'t, F>,
        x: Var<'t, F>,
        sample: bool,
    ) -> Result<Var<'t, F>> {
        let mut h = x;
        for (l, layer) in self.layers.iter().enumerate() {
            h = layer.forward_with(ctx, h, sample)?;
            if l + 1 < self.layers.len() {
                h = self.activation.apply(h)?;
            }
        }
        Ok(h)
    }

    /// Every mean-field Gaussian of the network in visiting order: per layer the weight, then
    /// the bias when there is one.
    pub fn gaussians(&self) -> Vec<&GaussianParam<F>> {
        self.layers
            .iter()
            .flat_map(|l| std::iter::once(&l.weight).chain(l.bias.as_ref()))
            .collect()
    }

    /// [`VariationalMlp::gaussians`], mutably.
    pub fn gaussians_mut(&mut self) -> Vec<&mut GaussianParam<F>> {
        self.layers
            .iter_mut()
            .flat_map(|l| std::iter::once(&mut l.weight).chain(l.bias.as_mut()))
            .collect()
    }

    /// Whether the layers have biases.
    pub fn has_biases(&self) -> bool {
        self.layers.iter().any(|l| l.bias.is_some())
    }

    /// `q(w)` as variables of this pass (binding `$\mu_l$`, `$\rho_l$`; the forward pass uses the
    /// same bindings).
    pub fn mean_field<'t>(&self, ctx: &Ctx<'t, F>) -> MeanField<'t, F> {
        MeanField {
            means: self
                .layers
                .iter()
                .map(|l| ctx.param(&l.weight.mean))
                .collect(),
            log_vars: self
                .layers
                .iter()
                .map(|l| ctx.param(&l.weight.log_var))
                .collect(),
        }
    }
}

impl<F: Float> Module<F> for VariationalMlp<F> {
    fn forward<'t>(&self, ctx: &Ctx<'t, F>, x: Var<'t, F>) -> nn::Result<Var<'t, F>> {
        let mut h = x;
        for (l, layer) in self.layers.iter().enumerate() {
            h = layer.forward(ctx, h)?;
            if l + 1 < self.layers.len() {
                h = self.activation.apply(h)?;
            }
        }
        Ok(h)
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &Param<F>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            nn::module::visit_child(&i.to_string(), layer, f);
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Param<F>)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            nn::module::visit_child_mut(&i.to_string(), layer, f);
        }
    }
}

/// The settings of [`variational_objective`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VariationalConfig {
    /// The student's likelihood `p(y | x, w)`.
    pub likelihood: Likelihood,
    /// `N`, the size of the training set (the batch's likelihood is scaled by `N/B`).
    pub train_size: usize,
    /// A factor on the KL term (1 is the seed's objective; other values are tempered
    /// posteriors, for ablations).
    pub kl_weight: f64,
}

/// The terms of one evaluation of the objective, as tape variables.
#[derive(Clone, Copy, Debug)]
pub struct VariationalTerms<'t, F: Float> {
    /// The loss to minimise: `(kl_weight · KL + (N/B) · NLL) / N`.
    pub loss: Var<'t, F>,
    /// `$\mathrm{KL} (q \| p)$`.
    pub kl: Var<'t, F>,
    /// `$-\log p(y_B | X_B, w)$` of the batch at the drawn `w`.
    pub nll: Var<'t, F>,
}

/// The variational objective of the Bayesian-distilled student (the seed's `$\hat{w} =
/// \operatorname{argmin} _{q} \mathrm{KL} (q(w) \| p(w | A)) - \log p(y | X, w)$`), estimated on a
/// batch `$(X_B, y_B)$` of `B` objects out of `N` with one reparameterised draw `$w = \mu +
/// e^{\rho/2} \odot \varepsilon$`:
///
/// ```math
/// L(\mu, \rho) = \frac{1}{N} [ \kappa \cdot \mathrm{KL} (q \| p) - (N/B) \log p(y_B | X_B, w) ],
/// ```
///
/// an unbiased estimate of the negative evidence lower bound per training object (`$\kappa = 1$`:
/// the seed's objective). `KL` is exact ([`kl_divergence`]); the draw's noise comes from the
/// pass's seeded stream, so a fixed seed fixes the objective as a function of `$(\mu, \rho)$` (the
/// gradient checks rely on that). In an evaluation pass the means are used (`$w = \mu$`).
///
/// Symbols → arguments: `q` = `student`, `p(w | A)` = `prior`, `$X_B$` = `x` (`$[B, n_0]$`),
/// `$y_B$` = `targets`, `N`, `$\kappa$` and the likelihood from `cfg`.
pub fn variational_objective<'t, F: Float>(
    ctx: &Ctx<'t, F>,
    student: &VariationalMlp<F>,
    x: Var<'t, F>,
    targets: &Targets<'_>,
    prior: &PreparedPrior,
    cfg: &VariationalConfig,
) -> Result<VariationalTerms<'t, F>> {
    if student.sizes() != prior.sizes() {
        return Err(Error::config(
            "variational objective",
            format!(
                "the student is {:?} but the prior is over {:?}",
                student.sizes(),
                prior.sizes()
            ),
        ));
    }
    if student.has_biases() {
        return Err(Error::config(
            "variational objective",
            "the student has biases; the structured prior is over the weights only (build it \
             with VariationalMlp::new)",
        ));
    }
    if cfg.train_size == 0 || !(cfg.kl_weight.is_finite() && cfg.kl_weight >= 0.0) {
        return Err(Error::config(
            "variational objective",
            format!(
                "needs N ≥ 1 and a finite KL weight ≥ 0, got N = {} and {}",
                cfg.train_size, cfg.kl_weight
            ),
        ));
    }
    let q = student.mean_field(ctx);
    let kl = kl_divergence(&q, prior)?;
    let output = student.forward_with(ctx, x, ctx.training())?;
    let nll = cfg.likelihood.neg_log_likelihood(output, targets)?;
    let b = targets.len() as f64;
    let n = cfg.train_size as f64;
    let loss = kl
        .mul_scalar(cfg.kl_weight / n)
        .try_add(nll.mul_scalar(1.0 / b))?;
    Ok(VariationalTerms { loss, kl, nll })
}

/// The weights of every layer's mean as `[out, in]` arrays (e.g. to evaluate the student's
/// mean network).
pub fn mean_weights<F: Float>(student: &VariationalMlp<F>) -> Vec<ArrayD<F>> {
    student
        .layers
        .iter()
        .map(|l| l.weight.mean.value().to_owned())
        .collect()
}
