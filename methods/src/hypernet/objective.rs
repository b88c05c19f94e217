//! The complexity-controlled variational objective `$\mathbb{E}_q \log p(D | w) - \lambda
//! \mathrm{KL} (q(w) \| p(w))$` of a network with mean-field Gaussian weights and biases, its
//! prior, and the batch loss that trains one model per `$\lambda$`.

use autograd::functional::{kl, DiagGaussian, Reduction};
use autograd::{Float, Var};
use nn::train::{Batch, BatchLoss};
use nn::Ctx;

use super::lambda::check_lambda;
use crate::bayes::variational::VariationalMlp;
use crate::{Error, Result};

/// The prior and the scale of the objective.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ComplexityConfig {
    /// `$A_{pr}^{-1} = s^{2} I$`: the variance of the prior `$p(w) = \mathcal{N}(0, s^{2} I)$` of
    /// every weight and bias (the seed's experiment: 0.1; the prior mean `$\mu = 0$`, as the
    /// authors' code).
    pub prior_variance: f64,
    /// `N`, the size of the training set.
    pub train_size: usize,
}

impl ComplexityConfig {
    /// Errors naming the setting unless `$s^{2} > 0$` is finite and `$N \ge 1$`.
    pub fn new(prior_variance: f64, train_size: usize) -> Result<Self> {
        if !(prior_variance > 0.0 && prior_variance.is_finite()) {
            return Err(Error::config(
                "prior_variance",
                format!("must be a finite number > 0, got {prior_variance}"),
            ));
        }
        if train_size == 0 {
            return Err(Error::config("train_size", "must be at least 1"));
        }
        Ok(ComplexityConfig {
            prior_variance,
            train_size,
        })
    }
}

/// `$\mathrm{KL} (q(w) \| p(w))$` for the mean-field `q` of every weight and bias of `model` (read
/// through `ctx`, so substituted means and log-variances — a hypernetwork's — are used) and the
/// prior `$p = \mathcal{N}(0, s^{2} I)$`:
///
/// ```math
/// \mathrm{KL} = \sum_j \tfrac{1}{2} [\ln s^{2} - \rho_j + (e^{\rho_j} + \mu_j^{2}) / s^{2}
///   - 1],
/// ```
///
/// the engine's [`kl`] of diagonal Gaussians, `Reduction::Sum` per tensor (the KL between the
/// joint distributions). Entries removed by a mask are included: their `q` no longer reaches the
/// likelihood, and under this term it relaxes to the prior (their mean stays 0, its gradient
/// `$\mu/s^{2}$` being 0).
pub fn kl_to_prior<'t, F: Float>(
    ctx: &Ctx<'t, F>,
    model: &VariationalMlp<F>,
    prior_variance: f64,
) -> Result<Var<'t, F>> {
    let tape = ctx.tape();
    let prior = DiagGaussian::new(
        tape.scalar(F::zero()),
        tape.scalar(F::from_f64(prior_variance.ln())),
    )?;
    let mut total: Option<Var<'t, F>> = None;
    for g in model.gaussians() {
        let q = DiagGaussian::new(ctx.param(&g.mean), ctx.param(&g.log_var))?;
        let term = kl(&q, &prior, Reduction::Sum)?;
        total = Some(match total {
            Some(t) => t.try_add(term)?,
            None => term,
        });
    }
    total.ok_or_else(|| Error::config("kl_to_prior", "the model has no layers"))
}

/// The terms of one evaluation of [`complexity_loss`], as tape variables.
#[derive(Clone, Copy, Debug)]
pub struct ComplexityTerms<'t, F: Float> {
    /// The loss to minimise, `$\mathrm{NLL}_B / B + (\lambda/N) \mathrm{KL}$`.
    pub loss: Var<'t, F>,
    /// `$-\log p(y_B | X_B, w)$` of the batch at the drawn `w` (a sum over the batch).
    pub nll: Var<'t, F>,
    /// `$\mathrm{KL} (q \| p)$`.
    pub kl: Var<'t, F>,
}

/// The seed's objective `$\mathbb{E}_q \log p(D | w) - \lambda \mathrm{KL} (q(w) \| p(w)) \to
/// \max$`, estimated on a batch of `B` of the `N` training objects with one reparameterised draw
/// `$w \sim q$` (the pass's stream), negated and divided by `N` so that its scale does not depend
/// on the data set's size:
///
/// `L(q; λ) = −(1/B) Σ_{i∈B} log p(y_i | x_i, w) + (λ/N) KL(q ‖ p)`,
///
/// `$p(y | x, w) = \operatorname{softmax} (f(x, w))_y$`. `$\lambda = 1$` is the negative evidence
/// lower bound per object (the ELBO of `$\log p(D) \ge -\mathrm{KL} (q \| p) + \mathbb{E}_q \log
/// p(D | w)$`), `$\lambda = 0$` maximum likelihood under weight noise. Symbols → arguments: `q` =
/// `model` (its means and log-variances as bound in `ctx`), `$D_B$` = (`x`, `labels`), `$\lambda$` =
/// `lambda`, `p` and `N` from `cfg`. In an evaluation pass the means are used.
pub fn complexity_loss<'t, F: Float>(
    ctx: &Ctx<'t, F>,
    model: &VariationalMlp<F>,
    x: Var<'t, F>,
    labels: &[usize],
    lambda: f64,
    cfg: &ComplexityConfig,
) -> Result<ComplexityTerms<'t, F>> {
    check_lambda(lambda, "complexity objective")?;
    let logits = model.forward_with(ctx, x, ctx.training())?;
    let nll = nn::loss::cross_entropy(logits, labels, Reduction::Sum)?;
    let kl = kl_to_prior(ctx, model, cfg.prior_variance)?;
    let loss = nll
        .mul_scalar(1.0 / labels.len().max(1) as f64)
        .try_add(kl.mul_scalar(lambda / cfg.train_size as f64))?;
    Ok(ComplexityTerms { loss, nll, kl })
}

/// Trains one model at a fixed `$\lambda$` with [`nn::train::fit`]: the batch loss is
/// [`complexity_loss`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ComplexityLoss {
    /// `$\lambda \ge 0$`.
    pub lambda: f64,
    /// The prior and `N`.
    pub config: ComplexityConfig,
}

impl<F: Float> BatchLoss<F, VariationalMlp<F>> for ComplexityLoss {
    fn loss<'t>(
        &self,
        model: &VariationalMlp<F>,
        ctx: &Ctx<'t, F>,
        batch: &Batch<'_, F>,
    ) -> nn::Result<Var<'t, F>> {
        let x = ctx.input(batch.x.clone());
        complexity_loss(ctx, model, x, &batch.labels, self.lambda, &self.config)
            .map(|t| t.loss)
            .map_err(to_nn)
    }
}

/// A methods error inside an nn training loop.
pub(crate) fn to_nn(e: Error) -> nn::Error {
    match e {
        Error::Nn(e) => e,
        other => nn::Error::config("hypernet objective", other.to_string()),
    }
}
