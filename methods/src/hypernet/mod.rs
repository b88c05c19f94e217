//! Variational optimisation with complexity control by a hypernetwork (seed S2, Grebenkova 2020): a
//! network with mean-field Gaussian weights trained by `$\mathbb{E}_q \log p(D | w) - \lambda
//! \mathrm{KL} (q \| p)$` for a complexity weight `$\lambda \ge 0$`, a hypernetwork that gives the
//! variational parameters for every `$\lambda$` at once, and pruning by relative density at zero.
//!
//! ```text
//! objective     ComplexityConfig (prior N(0, s² I), N), kl_to_prior, complexity_loss (the
//!               seed's objective per object), ComplexityLoss (one model per λ, for fit)
//! hypernetwork  HypernetKind (linear, low rank), Hypernet (bind: G(λ) substituted into the
//!               target network's parameters on a pass; model_at), HypernetLoss (λ ~ U(Λ),
//!               several per batch)
//! lambda        LambdaEncoding (t = e(λ), the hypernetwork's input), LambdaSampler (U(Λ), log
//!               or linear scale, an atom at λ = 0)
//! prune         removal_scores (μ²/σ²), prune (an exact fraction, per layer or global: masks)
//! checks        the ELBO bound on Bayesian linear regression, the diagonal KL against
//!               Monte-Carlo
//! ```
//!
//! The variational network is the Bayesian distillation's [`VariationalMlp`] built
//! [`with_biases`](VariationalMlp::with_biases), made of nn's `VariationalLinear` layers of
//! `GaussianParam`s (one home for the layer, the reparameterisation and the mask of a pruned
//! weight); the KL is the engine's `kl` of `DiagGaussian`s.
//!
//! Symbols of the seed → code:
//!
//! | seed | code |
//! |---|---|
//! | `$f(x, w) = w_2^{\top} \operatorname{softmax} (w_1^{\top} x + b_1) + b_2$` | [`VariationalMlp`] of sizes `[784, 100, 10]` with biases, activation `Softmax` (or `Relu`) |
//! | `$p(w) = \mathcal{N}(\mu, A_{pr}^{-1})$` | `$\mathcal{N}(0, s^{2} I)$`, `$s^{2}$` = [`ComplexityConfig::prior_variance`] |
//! | `$q(w) = \mathcal{N}(m, A_{ps}^{-1})$` | per tensor `$\mu$` = `GaussianParam::mean`, `$\ln \sigma^{2}$` = `GaussianParam::log_var` |
//! | `$\log p(D \vert w) - \lambda D_{\mathrm{KL}}(q(w) \Vert p(w))$` | [`complexity_loss`] (negated, per object) |
//! | `$G: \Lambda \times U \to W$` | [`Hypernet`]; `U` = its parameters ([`nn::Module::visit_params`]) |
//! | `$G_{\mathrm{lowrank}}(\lambda) = (f(\lambda)U_{1})(f(\lambda)U_{2})^{\top} + b_{1}$` | [`HypernetKind::LowRank`] (`f` → `f_weight`, `f_bias`; `$U_{1}$`, `$U_{2}$`, `b1` by name) |
//! | `$G_{\mathrm{linear}}(\lambda) = \lambda b_{2} + b_{3}$` | [`HypernetKind::Linear`] (`b2`, `b3` by name) |
//! | `$\lambda$` in `$G(\lambda)$` | `t` = [`LambdaEncoding::encode`]`$(\lambda)$` |
//! | `$\mathbb{E}_{\lambda \sim U(\Lambda)}[\dots] \to \max_U$` | [`HypernetLoss`] with [`LambdaSampler`] |
//! | `$\rho(w_i) \approx \exp(\mu_i^{2}/2\sigma_i^{2})$` | [`removal_scores`] `$\mu^{2}/\sigma^{2}$`, smallest removed first by [`prune()`] |
//!
//! Readings where the seed is silent or ambiguous (each documented at its item): `$\lambda$` enters
//! the hypernetwork through a log-like encoding `$t(\lambda)$` with `$t(0) = 0$` (the authors' code
//! fed it `$\ln \lambda$` rescaled, undefined at 0); the training draws `$\lambda$` log-uniformly
//! on `[0.01, 100]` with an atom at 0 (the authors: log-uniform, no 0); the objective is scaled per
//! object (`$\mathrm{NLL}_B / B + \lambda \mathrm{KL} / N$`, the authors' code); biases are not
//! pruned.

pub mod checks;
pub mod hypernetwork;
pub mod lambda;
pub mod objective;
pub mod prune;

pub use crate::bayes::variational::VariationalMlp;
pub use checks::{CheckKind, CheckOutcome};
pub use hypernetwork::{Hypernet, HypernetKind, HypernetLoss, LOW_RANK_INIT_STD};
pub use lambda::{check_lambda, LambdaEncoding, LambdaSampler, LambdaScale};
pub use objective::{
    complexity_loss, kl_to_prior, ComplexityConfig, ComplexityLoss, ComplexityTerms,
};
pub use prune::{prune, removal_scores, PruneReport, PruneScope};
