//! Hinton distillation (seed S1, and the `L_st` of seed S4 with `x* = x`).
//!
//! The seeds write, for a teacher `f = softmax(v/T)` and a student `g = softmax(z/T)`,
//!
//! `L = − Σ_i Σ_k y_ik log g_k(x_i)|_{T=1} − Σ_i Σ_k f_k(x_i)|_{T=T0} log g_k(x_i)|_{T=T0}`.
//!
//! We give the two terms weights (`α` hard, `β` soft; the seeds' loss is `α = β = 1`), average
//! over the batch instead of summing (which divides the whole loss by `B` and changes no
//! minimiser), and offer Hinton et al.'s `T²` factor on the soft term as an explicit option —
//! off by default, because the seeds' formula has none.

use autograd::functional::cross_entropy;
use autograd::{Float, Var};
use ndarray::{Array2, ArrayView2, Axis};
use nn::loss::{soft_target_loss, TemperatureScaling};

use crate::{Error, Result};

/// The weights, the temperature and the `T²` choice of a Hinton distillation loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HintonConfig {
    /// `α`, the weight of the hard-label term (cross-entropy at `T = 1`). Default 1: the seeds'
    /// loss has no weights.
    pub hard_weight: f64,
    /// `β`, the weight of the soft-target term (at `T = T0`). Default 1, as in the seeds.
    pub soft_weight: f64,
    /// `T0`, the temperature of the soft-target term. Default 2: the seeds give no value; 2 is
    /// our choice (Hinton et al. report 2–20; a low value keeps the soft term informative for
    /// few classes).
    pub temperature: f64,
    /// Whether the soft term is multiplied by `T0²`. Default: not, as the seeds write it.
    pub scaling: TemperatureScaling,
}

impl Default for HintonConfig {
    fn default() -> Self {
        HintonConfig {
            hard_weight: 1.0,
            soft_weight: 1.0,
            temperature: 2.0,
            scaling: TemperatureScaling::None,
        }
    }
}

impl HintonConfig {
    /// Lopez-Paz et al.'s imitation parameter: `α = 1 − λ`, `β = λ` (generalised distillation
    /// writes the loss as `(1 − λ)·hard + λ·soft`).
    pub fn imitation(lambda: f64, temperature: f64, scaling: TemperatureScaling) -> Result<Self> {
        check_unit("imitation parameter λ", lambda)?;
        let cfg = HintonConfig {
            hard_weight: 1.0 - lambda,
            soft_weight: lambda,
            temperature,
            scaling,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks the ranges: weights finite and `≥ 0`, temperature finite and `> 0`.
    pub fn validate(&self) -> Result<()> {
        for (what, v) in [
            ("Hinton hard weight α", self.hard_weight),
            ("Hinton soft weight β", self.soft_weight),
        ] {
            if !(v.is_finite() && v >= 0.0) {
                return Err(Error::config(
                    what,
                    format!("must be finite and ≥ 0, got {v}"),
                ));
            }
        }
        check_temperature("Hinton temperature T0", self.temperature)
    }

    /// A one-line description for run reports, naming the `T²` choice, e.g.
    /// `hinton: 1·CE(T=1) + 0.5·CE_soft(T0=4), soft term unscaled (as the seeds write it)`.
    pub fn describe(&self) -> String {
        let scaling = match self.scaling {
            TemperatureScaling::None => "soft term unscaled (as the seeds write it)".to_string(),
            TemperatureScaling::Squared => format!(
                "soft term × T0² = {} (Hinton et al. 2015)",
                self.temperature * self.temperature
            ),
        };
        format!(
            "hinton: {}·CE(T=1) + {}·CE_soft(T0={}), {scaling}",
            self.hard_weight, self.soft_weight, self.temperature
        )
    }
}

/// Hinton's distillation loss, averaged over the batch:
///
/// `L = α · (−(1/B) Σ_i log g_{y_i}(x_i)|_{T=1}) + β · c(T0) · (−(1/B) Σ_i Σ_k f_ik log g_k(x_i)|_{T=T0})`
///
/// with `g(x_i)|_T = softmax(z_i / T)`, `f_i = softmax(v_i / T0)`, `c(T0) = 1` or `T0²`
/// ([`HintonConfig::scaling`]). Symbols → arguments: `z` = `student_logits` (`[B, K]`),
/// `y` = `labels` (class indices), `v` = `teacher_logits` (`[B, K]`, treated as constants),
/// `α, β, T0` = `cfg.hard_weight, cfg.soft_weight, cfg.temperature`.
///
/// The soft term is [`nn::loss::soft_target_loss`]; this function only weights and adds.
pub fn hinton_loss<'t, F: Float>(
    student_logits: Var<'t, F>,
    labels: &[usize],
    teacher_logits: Var<'t, F>,
    cfg: &HintonConfig,
) -> Result<Var<'t, F>> {
    cfg.validate()?;
    let hard = cross_entropy(student_logits, labels)?;
    let soft = soft_target_loss(student_logits, teacher_logits, cfg.temperature, cfg.scaling)?;
    Ok(hard
        .mul_scalar(cfg.hard_weight)
        .try_add(soft.mul_scalar(cfg.soft_weight))?)
}

/// The teacher's answers as probabilities, `s_i = softmax(v_i / T)` row-wise, computed stably
/// in `f64` (shift by the row maximum). `teacher_logits` is `v` (`[n, K]`), `temperature` is
/// `T`. This is the `s_i = f(x*_i)` that the probabilistic objective takes.
pub fn soft_targets(teacher_logits: ArrayView2<'_, f64>, temperature: f64) -> Result<Array2<f64>> {
    check_temperature("soft-target temperature T", temperature)?;
    let mut s = teacher_logits.mapv(|v| v / temperature);
    for mut row in s.axis_iter_mut(Axis(0)) {
        let m = row.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
        row.mapv_inplace(|v| (v - m).exp());
        let total = row.sum();
        row.mapv_inplace(|v| v / total);
    }
    Ok(s)
}

pub(crate) fn check_temperature(what: &str, t: f64) -> Result<()> {
    if t.is_finite() && t > 0.0 {
        Ok(())
    } else {
        Err(Error::config(
            what,
            format!("must be finite and > 0, got {t}"),
        ))
    }
}

pub(crate) fn check_unit(what: &str, v: f64) -> Result<()> {
    if (0.0..=1.0).contains(&v) {
        Ok(())
    } else {
        Err(Error::config(what, format!("must lie in [0, 1], got {v}")))
    }
}
