//! Adversarial (Wasserstein) transfer (seed S0, Kolesov 2022): strictly 1-Lipschitz critics,
//! `$W_{1}$` estimators against the exact `$W_{1}$`, and the transfer regularisers L2-penalty,
//! L2-SP, DELTA and the proposed per-layer Wasserstein regulariser.
//!
//! ```text
//! exact_w1      exact_w1 (Hungarian assignment, O(n³)), identity_plan_cost W̃1, min_cost_assignment
//! combination   lipschitz_combination α f(x) + β g(y), α = √(1 − β²) (the seed's third theorem)
//! critic        Critic: orthonormal + GroupSort | gradient penalty | spectral norm; gradient_penalty
//! dual          dual_value E_P f − E_Q f, train_critic (Adam ascent) → DualEstimate
//! regularizers  l2_penalty, l2_sp, feature_map_distance (DELTA), attentive_feature_map_distance,
//!               channel_attention, source_constants
//! wasserstein   layer_samples (one point per neuron / filter), WassersteinRegularizer:
//!               penalty (model descent), critic_ascent, measure (estimate vs exact W1)
//! checks        the three Lipschitz theorems, W1 ≤ W̃1, critic dual ≤ exact W1 (CheckOutcome)
//! ```
//!
//! The orthonormal linear layer itself is [`nn::layers::OrthonormalLinear`] (Björck on the
//! tape), MaxMin and GroupSort are [`nn::layers::Activation`]s, and the spectrally normalised
//! layer is [`nn::layers::SpectralNormLinear`].
//!
//! Symbols of the seed → names here: `W1(P, Q)` = [`exact_w1()`] (for clouds) or a critic's
//! [`dual_value`]; `$\tilde{W}_{1}$` = [`identity_plan_cost`]; `$f_{j,\varphi_j}$` =
//! [`LayerCritic::critic`]; `$\lambda_j$` = [`LayerCritic::lambda`]; `$p_j$`, `$q_j$` = the source
//! and target clouds of [`layer_samples`]; `$\alpha, \beta$` of the table = the weights of
//! [`l2_penalty`], [`l2_sp`] and [`feature_map_distance`]. Every penalty is a composite of autograd
//! ops.

pub mod checks;
pub mod combination;
pub mod critic;
pub mod dual;
pub mod exact_w1;
pub mod regularizers;
pub mod wasserstein;

pub use combination::{combination_weights, lipschitz_combination};
pub use critic::{gradient_penalty, Critic, CriticConfig, CriticKind, PENALTY_NORM_OFFSET};
pub use dual::{dual_value, train_critic, CriticTraining, DualEstimate};
pub use exact_w1::{distance_matrix, exact_w1, identity_plan_cost, min_cost_assignment, W1Plan};
pub use regularizers::{
    attentive_feature_map_distance, channel_attention, feature_map_distance, l2_penalty, l2_sp,
    source_constants,
};
pub use wasserstein::{
    layer_sample_array, layer_samples, LayerCritic, LayerW1, WassersteinConfig,
    WassersteinRegularizer,
};
