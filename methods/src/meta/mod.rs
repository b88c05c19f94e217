//! Gradient-based optimisation of distillation metaparameters (seed S3, Gorpinich 2021).
//!
//! The bilevel problem: the student's parameters `w` minimise `L_train(w, λ)`, the
//! metaparameters `λ = [β1, β2, T]` minimise the validation loss `L_val` of the trained `w`.
//! Greedily, one optimiser step `U` at a time: `λ ← λ − γ_λ ∇_λ L_val(U(w, λ))`, the
//! hypergradient taken exactly by differentiating through the step on the tape.
//!
//! ```text
//! metaparams  MetaParams (a ∈ R³), MetaValues (β1, β2, T), TemperatureRange, MetaVars (on a tape)
//! loss        train_loss (β1·CE + β2·c(T)·soft term at a variable T), soft_term, val_loss
//! step        InnerOptimizer (SGD, Adam), InnerState; sgd_step, adam_step as tape ops
//! hypergrad   hypergradient (exact, k unrolled steps), unrolled_val_loss, apply_step
//! predict     fit_line (degree-1 least squares), TrajectoryPredictor (when to predict, when not)
//! driver      optimise_metaparameters: the training loop (fixed, hypergradient, predicted λ)
//! baselines   train_fixed, random_search at equal budget, the authors' random starting points
//! checks      exact hypergradient = finite differences; the authors' slipped estimate is caught
//! ```
//!
//! Symbols of the seed → names in the code:
//!
//! | seed | code |
//! |---|---|
//! | `λ = [β1, β2, T]` | [`MetaValues`]; its coordinates `a` with `β = σ(a)`: [`MetaParams::raw`] |
//! | `T0` (the soft term's temperature) | [`MetaValues::temperature`] |
//! | `f(x)` teacher, `g(x, w)` student | `teacher_logits`, the student `Module`'s logits |
//! | `U(w, λ) = w − γ ∇_w L_train(w, λ)` | [`step::sgd_step`]; Adam: [`step::adam_step`] |
//! | `∇_λ L_val(U(w, λ), λ)` | [`hypergradient`] (gradient in `a`) |

pub mod baselines;
pub mod checks;
pub mod driver;
pub mod hypergrad;
pub mod loss;
pub mod metaparams;
pub mod predict;
pub mod step;

pub use baselines::{
    equal_budget_trials, random_search, sample_authors_start, sample_search_point, train_fixed,
    RandomSearch, Trial,
};
pub use driver::{
    meta_step, optimise_metaparameters, EvalRecord, MetaData, MetaRun, MetaSource, MetaStrategy,
    MetaTrainConfig, StepRecord,
};
pub use hypergrad::{
    apply_step, hypergradient, unrolled_val_loss, Hypergradient, LowerLevel, TrainBatch, ValBatch,
};
pub use loss::{soft_term, train_loss, val_loss};
pub use metaparams::{sigmoid, MetaParams, MetaValues, MetaVars, TemperatureRange};
pub use predict::{
    fit_line, Decision, LinearFit, PredictionSchedule, SwitchReason, TrajectoryPredictor,
};
pub use step::{InnerOptimizer, InnerState};
