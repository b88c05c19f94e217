//! Hinton distillation (seed S1, and the `$L_{st}$` of seed S4 with `$x^{*} = x$`).
//!
//! The seeds write, for a teacher `$f = \operatorname{softmax} (v/T)$` and a student `$g =
//! \operatorname{softmax} (z/T)$`,
//!
//! ```math
//! L = - \sum_i \sum_k y_{ik} \log g_k(x_i)|_{T=1} - \sum_i \sum_k f_k(x_i)|_{T=T_{0}} \log
//!   g_k(x_i)|_{T=T_{0}}.
//! ```
//!
//! We give the two terms weights (`$\alpha$` hard, `$\beta$` soft; the seeds' loss is `$\alpha =
//! \beta = 1$`), a [`Reduction`] (the seeds sum over the objects; a batch mean divides the whole
//! loss by `B` and changes no minimiser), and Hinton et al.'s `$T^{2}$` factor on the soft term as
//! an explicit option — off in the seeds' form, because their formula has none.
//! [`HintonConfig::seeds`] is the formula exactly as the seeds write it.

use autograd::functional::{cross_entropy, Reduction};
use autograd::{Float, Var};
use ndarray::{Array2, ArrayView2, Axis};
use nn::loss::{soft_target_loss, TemperatureScaling};

use crate::{Error, Result};

/// The weights, the temperature, the `$T^{2}$` choice and the reduction of a Hinton distillation
/// loss. There is no `Default`: the seeds give no temperature, so every constructor asks for one
/// ([`seeds`](HintonConfig::seeds), [`imitation`](HintonConfig::imitation)), and a struct
/// literal names every field.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HintonConfig {
    /// `$\alpha$`, the weight of the hard-label term (cross-entropy at `$T = 1$`). The seeds: 1.
    pub hard_weight: f64,
    /// `$\beta$`, the weight of the soft-target term (at `$T = T_{0}$`). The seeds: 1.
    pub soft_weight: f64,
    /// `$T_{0}$`, the temperature of the soft-target term. The seeds give no value (Hinton et al.
    /// report 2–20; a low value keeps the soft term informative for few classes).
    pub temperature: f64,
    /// Whether the soft term is multiplied by `$T_{0}^{2}$`. The seeds: not.
    pub scaling: TemperatureScaling,
    /// The sum over the objects (the seeds) or the batch mean.
    pub reduction: Reduction,
}

impl HintonConfig {
    /// The seeds' loss as they write it, `$L = - \sum_i \log g_{y_i}(x_i)|_{T=1} - \sum_i \sum_k
    /// f_k(x_i)|_{T=T_{0}} \log g_k(x_i)|_{T=T_{0}}$`: `$\alpha = \beta = 1$`, no `$T^{2}$` factor,
    /// summed over the objects (`Reduction::Sum`), at the temperature `$T_{0}$` the caller gives
    /// (errors unless finite and `> 0`).
    ///
    /// ```
    /// use methods::distill::{HintonConfig, Reduction, TemperatureScaling};
    ///
    /// let cfg = HintonConfig::seeds(4.0)?;
    /// assert_eq!((cfg.hard_weight, cfg.soft_weight, cfg.temperature), (1.0, 1.0, 4.0));
    /// assert_eq!((cfg.scaling, cfg.reduction), (TemperatureScaling::None, Reduction::Sum));
    /// // The batch mean is one field away.
    /// let mean = HintonConfig { reduction: Reduction::Mean, ..HintonConfig::seeds(4.0)? };
    /// assert!(mean.describe().ends_with("mean over rows"));
    /// assert!(HintonConfig::seeds(0.0).is_err());
    /// # Ok::<(), methods::Error>(())
    /// ```
    pub fn seeds(temperature: f64) -> Result<Self> {
        let cfg = HintonConfig {
            hard_weight: 1.0,
            soft_weight: 1.0,
            temperature,
            scaling: TemperatureScaling::None,
            reduction: Reduction::Sum,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Lopez-Paz et al.'s imitation parameter: `$\alpha = 1 - \lambda$`, `$\beta = \lambda$`
    /// (generalised distillation writes the loss as `$(1 - \lambda)\cdot \mathrm{hard} + \lambda
    /// \cdot \mathrm{soft}$`), averaged over the batch (`Reduction::Mean`). Errors unless `$\lambda
    /// \in[0, 1]$` and `$T_{0}$` finite and `> 0`.
    ///
    /// ```
    /// use methods::distill::{HintonConfig, Reduction, TemperatureScaling};
    ///
    /// let cfg = HintonConfig::imitation(0.25, 2.0, TemperatureScaling::Squared)?;
    /// assert_eq!((cfg.hard_weight, cfg.soft_weight, cfg.reduction), (0.75, 0.25, Reduction::Mean));
    /// assert!(HintonConfig::imitation(1.5, 2.0, TemperatureScaling::None).is_err());
    /// # Ok::<(), methods::Error>(())
    /// ```
    pub fn imitation(lambda: f64, temperature: f64, scaling: TemperatureScaling) -> Result<Self> {
        check_unit("imitation parameter λ", lambda)?;
        let cfg = HintonConfig {
            hard_weight: 1.0 - lambda,
            soft_weight: lambda,
            temperature,
            scaling,
            reduction: Reduction::Mean,
        };
        cfg.validate()?;
        Ok(cfg)
    }

    /// Checks the ranges: weights finite and `$\ge 0$`, temperature finite and `> 0`.
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

    /// A one-line description for run reports, naming the `$T^{2}$` choice and the reduction, e.g.
    /// `hinton: 1·CE(T=1) + 1·CE_soft(T0=4), soft term unscaled (as the seeds write it), sum over
    /// rows`.
    pub fn describe(&self) -> String {
        let scaling = match self.scaling {
            TemperatureScaling::None => "soft term unscaled (as the seeds write it)".to_string(),
            TemperatureScaling::Squared => format!(
                "soft term × T0² = {} (Hinton et al. 2015)",
                self.temperature * self.temperature
            ),
        };
        format!(
            "hinton: {}·CE(T=1) + {}·CE_soft(T0={}), {scaling}, {}",
            self.hard_weight, self.soft_weight, self.temperature, self.reduction
        )
    }
}

/// Hinton's distillation loss, `$\sum_i \ell_i$` or `$\frac{1}{B} \sum_i \ell_i$` by
/// `cfg.reduction`, with
///
/// ```math
/// \ell_i = \alpha \cdot(-\log g_{y_i}(x_i)|_{T=1}) + \beta \cdot c(T_{0}) \cdot(-\sum_k
///   f_{ik} \log g_k(x_i)|_{T=T_{0}})
/// ```
///
/// and `$g(x_i)|_T = \operatorname{softmax} (z_i / T)$`, `$f_i = \operatorname{softmax} (v_i /
/// T_{0})$`, `$c(T_{0}) = 1$` or `$T_{0}^{2}$` ([`HintonConfig::scaling`]). Symbols → arguments:
/// `z` = `student_logits` (`[B, K]`), `y` = `labels` (class indices), `v` = `teacher_logits` (`[B,
/// K]`, treated as constants), `$\alpha, \beta, T_{0}$` = `cfg.hard_weight, cfg.soft_weight,
/// cfg.temperature`.
///
/// The soft term is [`nn::loss::soft_target_loss`]; this function only weights and adds.
///
/// ```
/// use autograd::Tape;
/// use methods::distill::{hinton_loss, HintonConfig};
/// use ndarray::array;
///
/// // One object: z = (0, ln 3) → g = (¼, ¾), label 1: hard = ln(4/3). Teacher v = (0, 0):
/// // f = (½, ½), and at T0 = 1 the soft term is −½ (ln ¼ + ln ¾).
/// let tape = Tape::<f64>::new();
/// let z = tape.param(array![[0.0, 3f64.ln()]]);
/// let v = tape.constant(array![[0.0, 0.0]]);
/// let loss = hinton_loss(z, &[1], v, &HintonConfig::seeds(1.0)?)?.item().unwrap();
/// let want = (4.0f64 / 3.0).ln() - 0.5 * (0.25f64.ln() + 0.75f64.ln());
/// assert!((loss - want).abs() < 1e-15);
/// # Ok::<(), methods::Error>(())
/// ```
pub fn hinton_loss<'t, F: Float>(
    student_logits: Var<'t, F>,
    labels: &[usize],
    teacher_logits: Var<'t, F>,
    cfg: &HintonConfig,
) -> Result<Var<'t, F>> {
    cfg.validate()?;
    let hard = cross_entropy(student_logits, labels, cfg.reduction)?;
    let soft = soft_target_loss(
        student_logits,
        teacher_logits,
        cfg.temperature,
        cfg.scaling,
        cfg.reduction,
    )?;
    Ok(hard
        .mul_scalar(cfg.hard_weight)
        .try_add(soft.mul_scalar(cfg.soft_weight))?)
}

/// The teacher's answers as probabilities, `$s_i = \operatorname{softmax} (v_i / T)$` row-wise,
/// computed stably in `f64` (shift by the row maximum). `teacher_logits` is `v` (`[n, K]`),
/// `temperature` is `T`. This is the `$s_i = f(x^{*}_i)$` that the probabilistic objective takes.
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
