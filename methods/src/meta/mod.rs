//! Gradient-based optimisation of distillation metaparameters (seed S3, Gorpinich 2021).
//!
//! The bilevel problem: the student's parameters `w` minimise `$L_{\mathrm{train}}(w, \lambda)$`,
//! the metaparameters `$\lambda = [\beta_{1}, \beta_{2}, T]$` minimise the validation loss `L_val`
//! of the trained `w`. Greedily, one optimiser step `U` at a time: `$\lambda \leftarrow \lambda -
//! \gamma_{\lambda} \nabla_{\lambda} L_{\mathrm{val}}(U(w, \lambda))$`, the hypergradient taken
//! exactly by differentiating through the step on the tape.
//!
//! ```text
//! metaparams  MetaParams (a ∈ R³), MetaValues (β1, β2, T), TemperatureRange, MetaVars (on a tape)
//! loss        train_loss (β1·CE + β2·c(T)·soft term at a variable T), soft_term, val_loss
//! step        InnerOptimizer (SGD, Adam), InnerState; sgd_step, adam_step as tape ops
//! hypergrad   hypergradient (exact, k unrolled steps), unrolled_val_loss, apply_step
//! predict     fit_line (degree-1 least squares), TrajectoryPredictor (when to predict, when not)
//! driver      optimise_metaparameters: the training loop (fixed, hypergradient, predicted λ)
//! resume      the loop's state saved and restored mid-way (nn::train::resume's mechanism)
//! baselines   train_fixed, random_search at equal budget, the authors' random starting points
//! checks      exact hypergradient = finite differences; the authors' slipped estimate is caught
//! ```
//!
//! Symbols of the seed → names in the code:
//!
//! | seed | code |
//! |---|---|
//! | `$\lambda = [\beta_{1}, \beta_{2}, T]$` | [`MetaValues`]; its coordinates `a` (`$\beta = \sigma(a)$`): [`MetaParams::raw`] |
//! | `$T_{0}$` (the soft term's temperature, optimised) | [`MetaValues::temperature`] |
//! | `f(x)` teacher, `g(x, w)` student | `teacher_logits`, the student `Module`'s logits |
//! | `$L_{\mathrm{train}}(w, \lambda)$`, `$L_{\mathrm{val}}(w, \lambda)$` | [`train_loss`], [`val_loss`] |
//! | `$U(w, \lambda) = w - \gamma \nabla_w L_{\mathrm{train}}(w, \lambda)$` | [`step::sgd_step`]; Adam: [`step::adam_step`] |
//! | `$\nabla_{\lambda} L_{\mathrm{val}}(U(w, \lambda), \lambda)$` | [`hypergradient`] (the gradient in `a`; `k` unrolled steps) |
//! | `$\lambda' = \lambda - \gamma_{\lambda} \nabla_{\lambda} L_{\mathrm{val}}$` | [`meta_step`] (on `a`, with the authors' clipping) |
//! | the local-linear model of the trajectory | [`fit_line`], [`TrajectoryPredictor`] |
//!
//! Where we differ from the authors' code (`MetaOptDistillation`), on purpose:
//! * their hypergradient takes `$\partial^{2}L_{\mathrm{train}}/\partial w\partial \lambda \cdot
//!   d$` by a finite difference with a precedence slip (`$(p - n)/2\cdot \varepsilon$`, i.e. the
//!   intended value times `$\varepsilon^{2} = 10^{-4}/\|d\|^{2}$`; their metaparameter step size of
//!   10⁴ on the CIFAR runs compensates roughly), and with an Adam step it uses SGD's formula (no
//!   Jacobian of Adam's normalisation); ours is exact through either step, and [`checks`] shows
//!   both facts numerically;
//! * their soft term is `$\mathrm{KL} (\operatorname{softmax} (z/T) \| \operatorname{softmax}
//!   (v/T))$` with the student on both sides, their `lambda1` weighs it; we follow the seed
//!   (cross-entropy against the teacher, `$\beta_{1}$` hard, `$\beta_{2}$` soft);
//! * they set NaN hypergradients to 0; ours cannot be NaN where the step is differentiable
//!   ([`step::root_where_positive`]), and a NaN is an error.
//!
//! Cost of one hypergradient against `k` (`cargo run --release --example hypergradient_cost --
//! 21`: f32, median of 21 calls; peak memory is the heap's high-water mark above its level
//! before the call). Measured on the shared 2-core machine at load ≈ 10, so the times are
//! indicative (an op that waits for a busy pool thread costs milliseconds: Adam's plain step
//! of ~15 elementwise ops is slower than SGD's of 2 for that reason); the memory is exact.
//!
//! | student (batch) | optimiser | one step | k = 1 | k = 2 | k = 5 | k = 10 |
//! |---|---|---|---|---|---|---|
//! | 3-32-2 tanh (64) | SGD | 0.06 ms | 0.14 ms | 0.30 ms | 0.91 ms | 1.5 ms |
//! | | peak memory | | 0.22 MiB | 0.45 MiB | 1.15 MiB | 2.33 MiB |
//! | 3-32-2 tanh (64) | Adam | 0.07 ms | 0.17 ms | 0.32 ms | 0.79 ms | 1.7 ms |
//! | | peak memory | | 0.24 MiB | 0.51 MiB | 1.30 MiB | 2.62 MiB |
//! | 784-128-10 ReLU (128) | SGD | 0.9 ms | 7.0 ms | 12.9 ms | 33 ms | 82 ms |
//! | | peak memory | | 5.2 MiB | 9.5 MiB | 22.6 MiB | 44.4 MiB |
//! | 784-128-10 ReLU (128) | Adam | 6.6 ms | 12.4 ms | 23 ms | 58 ms | 112 ms |
//! | | peak memory | | 16.1 MiB | 32.9 MiB | 83.2 MiB | 167 MiB |
//!
//! Memory grows linearly with `k`, the tape keeping every unrolled step: 4.4 MiB per step with
//! SGD, 16.8 MiB with Adam (whose step records about ten parameter-sized tensors, and their
//! backward as many again), for 0.39 MiB of parameters. Time grows linearly too, about 7 ms
//! per unrolled step for the larger student whatever the optimiser.
//!
//! The larger student's rows are also workloads of `distillery bench`
//! (`hypergrad_{sgd,adam}_k{1,2,5,10}` for the time, `peak_rss_hypergrad_…` for the peak
//! resident memory of a process computing a few), to measure them again on any machine.

pub mod baselines;
pub mod checks;
pub mod driver;
pub mod hypergrad;
pub mod loss;
pub mod metaparams;
pub mod predict;
pub mod resume;
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
    fit_line, Decision, LinearFit, PredictionSchedule, PredictorState, SwitchReason,
    TrajectoryPredictor,
};
pub use step::{InnerOptimizer, InnerState};
