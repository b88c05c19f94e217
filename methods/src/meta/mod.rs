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

pub mod checks;
pub mod hypergrad;
pub mod loss;
pub mod metaparams;
pub mod step;

pub use hypergrad::{
    apply_step, hypergradient, unrolled_val_loss, Hypergradient, LowerLevel, TrainBatch, ValBatch,
};
pub use loss::{soft_term, train_loss, val_loss};
pub use metaparams::{sigmoid, MetaParams, MetaValues, MetaVars, TemperatureRange};
pub use step::{InnerOptimizer, InnerState};
