//! Learning-rate schedules: the learning rate as a function of the epoch (or step) `t`.

use std::f64::consts::PI;

use autograd::Float;

use super::{check_lr, check_non_negative, Optimizer};
use crate::{Error, Result};

/// A learning-rate schedule `$\eta(t)$` for `$t = 0, 1, 2, \dots$` (epochs or steps, as the caller
/// counts; `$\eta(0)$` is the base rate `$\eta$`). Built by the checked constructors; set an
/// optimiser's rate with [`LrSchedule::apply`] at the start of each epoch.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LrSchedule(Kind);

#[derive(Clone, Copy, Debug, PartialEq)]
enum Kind {
    Constant {
        lr: f64,
    },
    StepDecay {
        lr: f64,
        gamma: f64,
        step_size: usize,
    },
    Cosine {
        lr: f64,
        lr_min: f64,
        period: usize,
    },
}

impl LrSchedule {
    /// `$\eta(t) = \eta$` (`lr`).
    pub fn constant(lr: f64) -> Result<Self> {
        check_lr("constant schedule", lr)?;
        Ok(LrSchedule(Kind::Constant { lr }))
    }

    /// Step decay, `$\eta(t) = \eta \cdot \gamma^{\lfloor}t/s\rfloor$` with `$\eta$` = `lr`,
    /// `$\gamma$` = `$\mathrm{gamma} \in(0, 1]$`, `s` = `step_size ≥ 1` (PyTorch's `StepLR`).
    pub fn step_decay(lr: f64, gamma: f64, step_size: usize) -> Result<Self> {
        check_lr("step-decay schedule", lr)?;
        if !(gamma > 0.0 && gamma <= 1.0) {
            return Err(Error::config(
                "step-decay schedule gamma (γ)",
                format!("must be in (0, 1], got {gamma}"),
            ));
        }
        if step_size == 0 {
            return Err(Error::config(
                "step-decay schedule step size (s)",
                "must be at least 1, got 0",
            ));
        }
        Ok(LrSchedule(Kind::StepDecay {
            lr,
            gamma,
            step_size,
        }))
    }

    /// Cosine annealing from `$\eta$` (`lr`) down to `$\eta_{\min}$` (`lr_min`) over `T`
    /// (`$\mathrm{period} \ge 1$`) epochs (Loshchilov & Hutter 2017, without restarts):
    ///
    /// ```text
    /// η(t) = η_min + (η − η_min) (1 + cos(π t / T)) / 2     for t ≤ T
    /// η(t) = η_min                                          for t > T
    /// ```
    ///
    /// After `T` the rate stays at `$\eta_{\min}$` (PyTorch's `CosineAnnealingLR` would follow the
    /// cosine back up instead: a restart nobody asked for). `$0 \le \eta_{\min} \le \eta$`.
    pub fn cosine(lr: f64, lr_min: f64, period: usize) -> Result<Self> {
        check_lr("cosine schedule", lr)?;
        check_non_negative(
            "cosine schedule minimum learning rate (lr_min, η_min)",
            lr_min,
        )?;
        if lr_min > lr {
            return Err(Error::config(
                "cosine schedule minimum learning rate (lr_min, η_min)",
                format!("must not exceed the learning rate {lr}, got {lr_min}"),
            ));
        }
        if period == 0 {
            return Err(Error::config(
                "cosine schedule period (T)",
                "must be at least 1, got 0",
            ));
        }
        Ok(LrSchedule(Kind::Cosine { lr, lr_min, period }))
    }

    /// The learning rate at epoch (or step) `t`.
    pub fn lr_at(&self, t: usize) -> f64 {
        match self.0 {
            Kind::Constant { lr } => lr,
            Kind::StepDecay {
                lr,
                gamma,
                step_size,
            } => {
                let k = t / step_size;
                lr * gamma.powf(k as f64)
            }
            Kind::Cosine { lr, lr_min, period } => {
                if t >= period {
                    lr_min
                } else {
                    let phase = PI * t as f64 / period as f64;
                    lr_min + (lr - lr_min) * (1.0 + phase.cos()) / 2.0
                }
            }
        }
    }

    /// Sets `optimizer`'s learning rate to `$\eta(t)$`.
    pub fn apply<F: Float>(&self, optimizer: &mut dyn Optimizer<F>, t: usize) -> Result<()> {
        optimizer.set_learning_rate(self.lr_at(t))
    }
}
