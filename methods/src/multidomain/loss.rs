//! The multi-domain distillation loss of seed S1, in its classification and regression forms.
//!
//! A teacher `$f: X_s \to Y$` is trained on the big source domain, a student `$g: X_t \to Y$` on
//! the small target domain, and a known map `$\varphi : X_t \to X_s$` carries a student input to
//! where the teacher can read it. With the distillation weight `$\lambda \in[0, 1]$` the seed
//! writes
//!
//! * regression: `$L = \lambda \|y - g(x)\|^{2} + (1 - \lambda) \|g(x) - (f\circ
//!   \varphi)(x)\|^{2}$`
//! * classification: `$L = -\lambda \sum_i \sum_r [y_i = r] \log g^r(x_i) - (1 - \lambda) \sum_i
//!   \sum_r (f\circ \varphi)^r(x_i) \log g^r(x_i)$`
//!
//! so `$\lambda$` weights the labels and `$1 - \lambda$` the teacher: `$\lambda = 1$` is training
//! without a teacher, `$\lambda = 0$` imitation of the teacher alone.
//!
//! **Temperature.** The seed's multi-domain formula carries no temperature; its Hinton loss of the
//! same section evaluates the teacher term at `$T = T_{0}$`. We keep `$T_{0}$` (the teacher's `$f =
//! \operatorname{softmax} (v/T_{0})$` and the student's `log softmax(z/T0)` in the teacher term,
//! `$T = 1$` in the label term); `$T_{0} = 1$` is the multi-domain formula as written and the
//! authors' code's default. Hinton et al.'s `$T_{0}^{2}$` factor is an option, off in S1's form.
//!
//! The seed sums over the objects; a [`Reduction`] chooses that sum or the batch mean (a factor
//! `1/B`, no change of the minimiser). Both losses are composites of autograd ops with no gradient
//! rule of their own: the classification form is [`hinton_loss`] with weights `$(\lambda, 1 -
//! \lambda)$`, whose teacher term is [`nn::loss::soft_target_loss`]; the regression form is two
//! [`squared_error`]s.

use autograd::functional::{squared_error, Reduction};
use autograd::{Float, Var};
use nn::loss::TemperatureScaling;

use crate::distill::hinton::{check_temperature, check_unit};
use crate::distill::{hinton_loss, HintonConfig};
use crate::{Error, Result};

/// `$\lambda$`, `$T_{0}$`, the `$T_{0}^{2}$` choice and the reduction of the multi-domain loss.
/// There is no `Default`: S1 gives neither `$\lambda$` nor `$T_{0}$`, so
/// [`seeds`](MultiDomainConfig::seeds) asks for both and a struct literal names every field.
///
/// ```
/// use methods::multidomain::MultiDomainConfig;
/// use methods::distill::{Reduction, TemperatureScaling};
///
/// let cfg = MultiDomainConfig::seeds(0.5, 1.0)?;
/// assert_eq!((cfg.scaling, cfg.reduction), (TemperatureScaling::None, Reduction::Sum));
/// let mean = MultiDomainConfig { reduction: Reduction::Mean, ..cfg };
/// assert_eq!(mean.hinton().hard_weight, 0.5);
/// assert!(MultiDomainConfig::seeds(1.5, 1.0).is_err());
/// # Ok::<(), methods::Error>(())
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MultiDomainConfig {
    /// `$\lambda \in[0, 1]$`, the weight of the labels; `$1 - \lambda$` weights the teacher. S1
    /// gives no value; the authors' code adds the two terms with equal weights, which is `$\lambda =
    /// 1/2$` up to a factor 2 of the whole loss.
    pub lambda: f64,
    /// `T0 > 0`, the temperature of the teacher term (see the module documentation; the
    /// authors' code: 1).
    pub temperature: f64,
    /// Whether the teacher term is multiplied by `$T_{0}^{2}$`. S1: not.
    pub scaling: TemperatureScaling,
    /// The sum over the objects (S1) or the batch mean.
    pub reduction: Reduction,
}

impl MultiDomainConfig {
    /// S1's loss as it writes it, for a `$\lambda$` and a `$T_{0}$` the caller gives: no
    /// `$T_{0}^{2}$` factor, summed over the objects. Errors unless `$\lambda \in[0, 1]$` and
    /// `$T_{0}$` finite and `> 0`.
    pub fn seeds(lambda: f64, temperature: f64) -> Result<Self> {
        let cfg = MultiDomainConfig {
            lambda,
            temperature,
            scaling: TemperatureScaling::None,
            reduction: Reduction::Sum,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks `$\lambda \in[0, 1]$` and `$T_{0}$` finite and `> 0`; the error names the argument.
    pub fn validate(&self) -> Result<()> {
        check_unit("multi-domain distillation weight λ (lambda)", self.lambda)?;
        check_temperature(
            "multi-domain teacher temperature T0 (temperature)",
            self.temperature,
        )
    }

    /// The equivalent Hinton weights: `$\alpha = \lambda$` on the labels, `$\beta = 1 - \lambda$`
    /// on the teacher.
    pub fn hinton(&self) -> HintonConfig {
        HintonConfig {
            hard_weight: self.lambda,
            soft_weight: 1.0 - self.lambda,
            temperature: self.temperature,
            scaling: self.scaling,
            reduction: self.reduction,
        }
    }

    /// A one-line description for run reports.
    pub fn describe(&self) -> String {
        let scaling = match self.scaling {
            TemperatureScaling::None => "unscaled (as the seed writes it)".to_owned(),
            TemperatureScaling::Squared => format!("× T0² = {}", self.temperature.powi(2)),
        };
        format!(
            "multi-domain: {}·CE(y, g) + {}·CE(f∘φ at T0 = {}, g at T0), teacher term {scaling}, \
             {}",
            self.lambda,
            1.0 - self.lambda,
            self.temperature,
            self.reduction
        )
    }
}

/// The classification form of the multi-domain loss, `$\sum_i \ell_i$` or `$\frac{1}{B} \sum_i
/// \ell_i$` by `cfg.reduction`, with
///
/// ```math
/// \ell_i = \lambda \cdot(-\log g_{y_i}(x_i)|_{T=1}) + (1 - \lambda) \cdot c(T_{0})
///   \cdot(-\sum_r (f\circ \varphi)^r(x_i)|_{T=T_{0}} \log g^r(x_i)|_{T=T_{0}})
/// ```
///
/// and `$g(x)|_T = \operatorname{softmax} (z(x)/T)$`, `$(f\circ \varphi)(x)|_{T_{0}} =
/// \operatorname{softmax} (v(\varphi(x))/T_{0})$` and `$c(T_{0}) = 1$` or `$T_{0}^{2}$`. Symbols →
/// arguments: `$z(x_i)$` = `student_logits` (`[B, K]`), `y` = `labels`, `$v(\varphi(x_i))$` =
/// `teacher_logits` (`[B, K]`, the teacher's logits on the mapped inputs; treated as constants),
/// `$\lambda, T_{0}, c$` from `cfg`.
pub fn multidomain_loss<'t, F: Float>(
    student_logits: Var<'t, F>,
    labels: &[usize],
    teacher_logits: Var<'t, F>,
    cfg: &MultiDomainConfig,
) -> Result<Var<'t, F>> {
    cfg.validate()?;
    hinton_loss(student_logits, labels, teacher_logits, &cfg.hinton())
}

/// The regression form of the multi-domain loss, `$\sum_i \ell_i$` or `$\frac{1}{B} \sum_i \ell_i$`
/// by `reduction`, with
///
/// ```math
/// \ell_i = \lambda \|y_i - g(x_i)\|^{2} + (1 - \lambda) \|g(x_i) - (f\circ
///   \varphi)(x_i)\|^{2}
/// ```
///
/// Symbols → arguments: `$g(x_i)$` = `predictions`, `$y_i$` = `targets`, `$(f\circ \varphi)(x_i)$` =
/// `teacher` (treated as constants), all three of one shape, `[B]` (scalar outputs) or `[B, d]`
/// (the norm runs over the `d` outputs); `$\lambda$` = `lambda`.
pub fn multidomain_regression_loss<'t, F: Float>(
    predictions: Var<'t, F>,
    targets: Var<'t, F>,
    teacher: Var<'t, F>,
    lambda: f64,
    reduction: Reduction,
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
    let labels = squared_error(predictions, targets, reduction)?;
    let imitation = squared_error(predictions, teacher.detach(), reduction)?;
    Ok(labels
        .mul_scalar(lambda)
        .try_add(imitation.mul_scalar(1.0 - lambda))?)
}
