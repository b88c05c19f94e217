//! Variational optimisation with complexity control by a hypernetwork (seed S2, Grebenkova
//! 2020): a network with mean-field Gaussian weights trained by `E_q log p(D | w) − λ KL(q ‖ p)`
//! for a complexity weight `λ ≥ 0`, a hypernetwork that gives the variational parameters for
//! every `λ` at once, and pruning by relative density at zero.
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
//! | `f(x, w) = w_2ᵀ softmax(w_1ᵀ x + b_1) + b_2` | [`VariationalMlp`] of sizes `[784, 100, 10]` with biases, activation `Softmax` (or `Relu`) |
//! | `p(w) = N(μ, A_pr⁻¹)` | `N(0, s² I)`, `s²` = [`ComplexityConfig::prior_variance`] |
//! | `q(w) = N(m, A_ps⁻¹)` | per tensor `μ` = `GaussianParam::mean`, `ln σ²` = `GaussianParam::log_var` |
//! | `log p(D | w) − λ D_KL(q(w) ‖ p(w))` | [`complexity_loss`] (negated, per object) |
//! | `G: Λ × U → W` | [`Hypernet`]; `U` = its parameters ([`nn::Module::visit_params`]) |
//! | `G_lowrank(λ) = (f(λ)U1)(f(λ)U2)ᵀ + b1` | [`HypernetKind::LowRank`] (`f` → `f_weight`, `f_bias`; `U1`, `U2`, `b1` by name) |
//! | `G_linear(λ) = λ b2 + b3` | [`HypernetKind::Linear`] (`b2`, `b3` by name) |
//! | `λ` in `G(λ)` | `t` = [`LambdaEncoding::encode`]`(λ)` |
//! | `E_{λ ~ U(Λ)}[…] → max_U` | [`HypernetLoss`] with [`LambdaSampler`] |
//! | `ρ(w_i) ≈ exp(μ_i²/2σ_i²)` | [`removal_scores`] `μ²/σ²`, smallest removed first by [`prune()`] |
//!
//! Readings where the seed is silent or ambiguous (each documented at its item): `λ` enters the
//! hypernetwork through a log-like encoding `t(λ)` with `t(0) = 0` (the authors' code fed it
//! `ln λ` rescaled, undefined at 0); the training draws `λ` log-uniformly on `[0.01, 100]` with
//! an atom at 0 (the authors: log-uniform, no 0); the objective is scaled per object
//! (`NLL_B / B + λ KL / N`, the authors' code); biases are not pruned.

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
