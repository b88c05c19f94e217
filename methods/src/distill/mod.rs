//! Distillation: Hinton's loss, generalised distillation with privileged information (Vapnik),
//! and probabilistic distillation (seed S4, Grabovoy 2021) with its theorem checks.
//!
//! ```text
//! index_set      IndexSet: the objects I whose teacher answer is known, in the answers' order
//! hinton         HintonConfig (::seeds, ::imitation), hinton_loss (hard T=1 + soft T=T0,
//!                optional T²), soft_targets
//! privileged     generalized_distillation_loss: soft term on I only (teacher on x*, student on x)
//! probabilistic  prob_distill_loss (classification, optional log C term), log_normalizer_term
//! regression     prob_regression_loss, wls_form (the theorem's σ', y'')
//! wls            weighted_least_squares (faer Cholesky), solve_prob_regression, WlsSolution
//!                (with the posterior covariance from the factor)
//! data           privileged-information generator, Sentiment140 reader, hashed text features
//! checks         theorem and limit checks returning CheckOutcome (for `distillery verify`)
//! ```
//!
//! Every loss is a composite of autograd ops (no gradient rule of its own) and takes its
//! [`Reduction`] from its config: `Sum` over the objects, as the seeds write their objectives,
//! or `Mean` over the batch (each config's default is documented; [`HintonConfig::seeds`] is
//! `Sum`). Every function that takes teacher answers beside an [`IndexSet`] reads them in the
//! order of [`IndexSet::indices`], the order the set was built in, and its errors name it.

pub mod checks;
pub mod data;
pub mod hinton;
pub mod index_set;
pub mod privileged;
pub mod probabilistic;
pub mod regression;
pub mod wls;

pub use autograd::functional::Reduction;
pub use checks::{CheckKind, CheckOutcome};
pub use hinton::{hinton_loss, soft_targets, HintonConfig};
pub use index_set::IndexSet;
pub use nn::loss::TemperatureScaling;
pub use privileged::generalized_distillation_loss;
pub use probabilistic::{
    log_normalizer_term, prob_distill_loss, LogNormalizer, ProbDistillConfig, DEFAULT_LOG_C_EPSILON,
};
pub use regression::{prob_regression_loss, wls_form, ProbRegressionConfig, WlsForm};
pub use wls::{solve_prob_regression, weighted_least_squares, WlsSolution};
