//! Optimisers and learning-rate schedules.
//!
//! An optimiser updates a model's parameters in place from their gradients:
//!
//! ```text
//! sgd       Sgd: momentum, Nesterov, L2 weight decay (PyTorch's formulation)
//! adam      Adam (Kingma & Ba 2015, Algorithm 1) and AdamW (Loshchilov & Hutter 2019)
//! schedule  LrSchedule: constant, step decay, cosine annealing
//! clip      Clipped: any optimiser with its gradients clipped by value or global norm
//! state     OptimState: hyperparameters, step count and per-parameter buffers as plain data
//! ```
//!
//! Every optimiser walks the model with [`Module::visit_params_mut`] and updates each parameter
//! that has a gradient in the [`Grads`] and is not frozen; the others (frozen, or unused in the
//! forward pass) are left alone and get no state. Per-parameter state (momentum buffers, Adam's
//! moments) is keyed by the parameter's **name**, which is stable across runs, so it can be
//! saved in a checkpoint ([`crate::checkpoint`]) and restored into a rebuilt model.
//!
//! A step first checks every gradient and buffer against its parameter's shape and only then
//! changes anything: a step that fails leaves the model and the optimiser as they were.
//!
//! ```
//! use nn::optim::{Adam, AdamConfig, LrSchedule, Optimizer};
//! use nn::{layers::Linear, Grads, Module};
//! use rand::{rngs::StdRng, SeedableRng};
//!
//! let mut model = Linear::<f64>::new(3, 2, true, &mut StdRng::seed_from_u64(0));
//! let mut opt = Adam::new(AdamConfig::adamw(1e-3, 1e-2))?;
//! let schedule = LrSchedule::cosine(1e-3, 0.0, 10)?;
//! let mut grads = Grads::default();
//! grads.insert(model.weight(), ndarray::Array2::<f64>::ones((2, 3)).into_dyn().into_shared());
//! for epoch in 0..10 {
//!     schedule.apply(&mut opt, epoch)?;
//!     opt.step(&mut model, &grads)?;
//! }
//! assert_eq!(opt.steps(), 10);
//! # Ok::<(), nn::Error>(())
//! ```

mod adam;
mod clip;
mod schedule;
mod sgd;
mod state;

pub use adam::{Adam, AdamConfig, WeightDecay};
pub use clip::{Clipped, GradClip};
pub use schedule::LrSchedule;
pub use sgd::{Sgd, SgdConfig};
pub use state::OptimState;

use autograd::Float;

use crate::{Error, Grads, Module, Result};

/// An optimiser: updates parameters in place from their gradients, and can export and restore
/// its state.
pub trait Optimizer<F: Float> {
    /// One update of every parameter of `model` that has a gradient in `grads` and is not
    /// frozen. Fails, changing nothing, if a gradient or a buffer does not have its parameter's
    /// shape, or if two parameters share a name.
    fn step(&mut self, model: &mut dyn Module<F>, grads: &Grads<F>) -> Result<()>;

    /// The current learning rate `$\eta$`.
    fn learning_rate(&self) -> f64;

    /// Sets `$\eta$` (a schedule does this each epoch). Any finite `$\eta \ge 0$` is accepted here
    /// — a cosine schedule ends at `$\eta_{\min}$`, which may be 0 — unlike the constructors, which
    /// require `$\eta > 0$`.
    fn set_learning_rate(&mut self, lr: f64) -> Result<()>;

    /// How many times [`Optimizer::step`] has run (restored by [`Optimizer::load_state`]).
    fn steps(&self) -> u64;

    /// The full state: hyperparameters, step count and per-parameter buffers.
    fn state(&self) -> OptimState<F>;

    /// Replaces the whole state (hyperparameters included, as PyTorch's `load_state_dict`
    /// does) with `state`, exported by an optimiser of the same kind. Fails, changing nothing,
    /// if the kind differs, a hyperparameter is missing or out of range, or a buffer names a
    /// parameter `model` does not have or has another shape than it; the error names every
    /// offending entry.
    fn load_state(&mut self, state: OptimState<F>, model: &dyn Module<F>) -> Result<()>;
}

/// Checks a learning rate given to a constructor: finite and `> 0`.
fn check_lr(what: &str, lr: f64) -> Result<()> {
    if lr.is_finite() && lr > 0.0 {
        Ok(())
    } else {
        Err(Error::config(
            format!("{what} learning rate (lr, η)"),
            format!("must be finite and > 0, got {lr}"),
        ))
    }
}

/// Checks a learning rate set later (by a schedule or a restored state): finite and `$\ge 0$`.
fn check_lr_settable(what: &str, lr: f64) -> Result<()> {
    check_non_negative(&format!("{what} learning rate (lr, η)"), lr)
}

/// Checks that `x` lies in `[0, 1)` (momentum, β₁, β₂).
fn check_unit(what: &str, x: f64) -> Result<()> {
    if (0.0..1.0).contains(&x) {
        Ok(())
    } else {
        Err(Error::config(what, format!("must be in [0, 1), got {x}")))
    }
}

/// Checks that `x` is finite and `$\ge 0$` (weight decay).
fn check_non_negative(what: &str, x: f64) -> Result<()> {
    if x.is_finite() && x >= 0.0 {
        Ok(())
    } else {
        Err(Error::config(
            what,
            format!("must be finite and >= 0, got {x}"),
        ))
    }
}

/// Checks that `x` is finite and `> 0` (ε).
fn check_positive(what: &str, x: f64) -> Result<()> {
    if x.is_finite() && x > 0.0 {
        Ok(())
    } else {
        Err(Error::config(
            what,
            format!("must be finite and > 0, got {x}"),
        ))
    }
}
