//! The multi-domain distillation loss of seed S1, in its classification and regression forms.
//!
//! A teacher `f: X_s → Y` is trained on the big source domain, a student `g: X_t → Y` on the
//! small target domain, and a known map `φ: X_t → X_s` carries a student input to where the
//! teacher can read it. With the distillation weight `λ ∈ [0, 1]` the seed writes
//!
//! * regression: `L = λ ‖y − g(x)‖² + (1 − λ) ‖g(x) − (f∘φ)(x)‖²`
//! * classification: `L = −λ Σ_i Σ_r [y_i = r] log g^r(x_i) − (1 − λ) Σ_i Σ_r (f∘φ)^r(x_i) log g^r(x_i)`
//!
//! so `λ` weights the labels and `1 − λ` the teacher: `λ = 1` is training without a teacher,
//! `λ = 0` imitation of the teacher alone.
//!
//! **Temperature.** The seed's multi-domain formula carries no temperature; its Hinton loss of
//! the same section evaluates the teacher term at `T = T0`. We keep `T0` (the teacher's
//! `f = softmax(v/T0)` and the student's `log softmax(z/T0)` in the teacher term, `T = 1` in the
//! label term), with the default `T0 = 1`, which is the multi-domain formula as written and the
//! authors' code's default. Hinton et al.'s `T0²` factor is an option, off by default.
//!
//! Both losses are averaged over the batch instead of summed (a factor `1/B`, no change of the
//! minimiser), and both are composites of autograd ops with no gradient rule of their own: the
//! classification form is [`hinton_loss`] with weights `(λ, 1 − λ)`, whose teacher term is
//! [`nn::loss::soft_target_loss`].

use autograd::{Float, Var};
use nn::loss::TemperatureScaling;

use crate::distill::hinton::{check_temperature, check_unit};
use crate::distill::{hinton_loss, HintonConfig, Reduction};
use crate::{Error, Result};

/// `λ`, `T0` and the `T0²` choice of the multi-domain loss.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MultiDomainConfig {
    /// `λ ∈ [0, 1]`, the weight of the labels; `1 − λ` weights the teacher. Default 0.5: the
    /// seed gives no value, and the authors' code adds the two terms with equal weights, which
    /// is `λ = 1/2` up to a factor 2 of the whole loss.
    pub lambda: f64,
    /// `T0 > 0`, the temperature of the teacher term. Default 1 (see the module documentation).
    pub temperature: f64,
    /// Whether the teacher term is multiplied by `T0²`. Default: not, as the seed writes it.
    pub scaling: TemperatureScaling,
}

impl Default for MultiDomainConfig {
    fn default() -> Self {
        MultiDomainConfig {
            lambda: 0.5,
            temperature: 1.0,
            scaling: TemperatureScaling::None,
        }
    }
}

impl MultiDomainConfig {
    /// Checks `λ ∈ [0, 1]` and `T0` finite and `> 0`; the error names the argument.
    pub fn validate(&self) -> Result<()> {
        check_unit("multi-domain distillation weight λ (lambda)", self.lambda)?;
        check_temperature(
            "multi-domain teacher temperature T0 (temperature)",
            self.temperature,
        )
    }

    /// The equivalent Hinton weights: `α = λ` on the labels, `β = 1 − λ` on the teacher.
    pub fn hinton(&self) -> HintonConfig {
        HintonConfig {
            hard_weight: self.lambda,
            soft_weight: 1.0 - self.lambda,
            temperature: self.temperature,
            scaling: self.scaling,
            reduction: Reduction::Mean,
        }
    }

    /// A one-line description for run reports.
    pub fn describe(&self) -> String {
        let scaling = match self.scaling {
            TemperatureScaling::None => "unscaled (as the seed writes it)".to_owned(),
            TemperatureScaling::Squared => format!("× T0² = {}", self.temperature.powi(2)),
        };
        format!(
            "multi-domain: {}·CE(y, g) + {}·CE(f∘φ at T0 = {}, g at T0), teacher term {scaling}",
            self.lambda,
            1.0 - self.lambda,
            self.temperature
        )
    }
}

/// The classification form of the multi-domain loss, averaged over the batch:
///
/// `L = λ · (−(1/B) Σ_i log g_{y_i}(x_i)|_{T=1}) + (1 − λ) · c(T0) · (−(1/B) Σ_i Σ_r (f∘φ)^r(x_i)|_{T=T0} log g^r(x_i)|_{T=T0})`
///
/// with `g(x)|_T = softmax(z(x)/T)`, `(f∘φ)(x)|_{T0} = softmax(v(φ(x))/T0)` and `c(T0) = 1` or
/// `T0²`. Symbols → arguments: `z(x_i)` = `student_logits` (`[B, K]`), `y` = `labels`,
/// `v(φ(x_i))` = `teacher_logits` (`[B, K]`, the teacher's logits on the mapped inputs; treated
/// as constants), `λ, T0, c` from `cfg`.
pub fn multidomain_loss<'t, F: Float>(
    student_logits: Var<'t, F>,
    labels: &[usize],
    teacher_logits: Var<'t, F>,
    cfg: &MultiDomainConfig,
) -> Result<Var<'t, F>> {
    cfg.validate()?;
    hinton_loss(student_logits, labels, teacher_logits, &cfg.hinton())
}

/// The regression form of the multi-domain loss, averaged over the batch:
///
/// `L = (λ/B) Σ_i ‖y_i − g(x_i)‖² + ((1 − λ)/B) Σ_i ‖g(x_i) − (f∘φ)(x_i)‖²`
///
/// Symbols → arguments: `g(x_i)` = `predictions`, `y_i` = `targets`, `(f∘φ)(x_i)` = `teacher`
/// (treated as constants), all three of one shape, `[B]` (scalar outputs) or `[B, d]` (the norm
/// runs over the `d` outputs); `λ` = `lambda`.
pub fn multidomain_regression_loss<'t, F: Float>(
    predictions: Var<'t, F>,
    targets: Var<'t, F>,
    teacher: Var<'t, F>,
    lambda: f64,
) -> Result<Var<'t, F>> {
    const OP: &str = "multi-domain regression loss";
    check_unit("multi-domain distillation weight λ (lambda)", lambda)?;
    let shape = predictions.shape();
    if !(1..=2).contains(&shape.len()) || shape[0] == 0 {
        return Err(Error::config(
            OP,
            format!("predictions must be [B] or [B, d] with B ≥ 1, got shape {shape:?}"),
        ));
    }
    for (what, v) in [("targets", targets), ("teacher", teacher)] {
        if v.shape() != shape {
            return Err(Error::config(
                OP,
                format!(
                    "{what} have shape {:?}, the predictions {shape:?}: they must agree",
                    v.shape()
                ),
            ));
        }
    }
    let batch = 1.0 / shape[0] as f64;
    let labels = targets.try_sub(predictions)?.square().sum();
    let imitation = predictions.try_sub(teacher.detach())?.square().sum();
    Ok(labels
        .mul_scalar(lambda * batch)
        .try_add(imitation.mul_scalar((1.0 - lambda) * batch))?)
}
