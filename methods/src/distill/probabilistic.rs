//! Probabilistic distillation for classification (seed S4, Grabovoy 2021).
//!
//! The joint likelihood of true labels and teacher answers, `$p(y, S | X, g, I) = \prod_{i\notin I}
//! p(y_i|x_i,g) \prod_{i\in I} p(y_i, s_i|x_i,g)$`, with the weight `$\lambda \in[0, 1]$` splitting
//! each `$i \in I$` between its label and its teacher answer, gives the objective (maximised)
//!
//! ```math
//! \sum_{i\notin I} \log p(y_i|x_i,g) + (1-\lambda) \sum_{i\in I} \log p(y_i|x_i,g) +
//!   \lambda \sum_{i\in I} \log p(s_i|x_i,g).
//! ```
//!
//! For classification `$p(y|x,g) = \operatorname{Cat} (g(x))$` with `$g = \operatorname{softmax}
//! (z(x)/T)$` at `$T = 1$`, and `$p(s|x,g) = C \prod_k g_k(x)^{s_k}$` at `$T = T_{0}$`, so `$\log
//! p(s|x,g) = \log C + \sum_k s_k \log g_k$`. The seed's `$C = (-1)^K K^{K/2} 2^{-K(K-1)/2} \prod_k
//! g_k \log g_k$` contributes, up to a constant, `$\lambda \sum_{i\in I} \sum_k (\log g_k + \log
//! \log(1/g_k))$` at `$T = T_{0}$` — the optional "log C" term (see [`log_normalizer_term`] for its
//! numerical handling, and [`normalizing`](super::checks::normalizing) for whether `C` normalises
//! anything).

use autograd::functional::{soft_cross_entropy, Reduction};
use autograd::{Float, Var};
use ndarray::Array1;

use super::hinton::{check_temperature, check_unit};
use super::index_set::IndexSet;
use crate::{Error, Result};

/// Whether the objective includes the `log C` term, and how it is kept finite.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum LogNormalizer {
    /// The objective without `log C` (only the cross-entropy terms).
    Omit,
    /// The term `$\lambda \sum_{i\in I} \sum_k (\log g_k + \log \max(\log\frac{1}{g_k}, \delta))$`
    /// with `$\delta = -\ln(1 - \varepsilon)$`: `$\varepsilon$` is the theorem's margin
    /// `$\varepsilon < g_k < 1 - \varepsilon$` (see [`log_normalizer_term`]).
    Include {
        /// `$\varepsilon \in(0, 1/2)$`.
        epsilon: f64,
    },
}

/// `$\varepsilon$` of [`LogNormalizer::Include`] by default: our choice. It caps the gradient of
/// `$\log \log\frac{1}{g_k}$` with respect to `$\log g_k$` at `$1/\delta \approx 1/\varepsilon =
/// 1000$`; it is reached only when the student puts more than `$1 - \varepsilon = 0.999$` on one
/// class at `$T_{0}$`.
pub const DEFAULT_LOG_C_EPSILON: f64 = 1e-3;

/// The metaparameters of probabilistic distillation (classification).
///
/// ```
/// use methods::distill::{ProbDistillConfig, Reduction};
///
/// // The seed's objective as written: a sum over the objects.
/// let seed = ProbDistillConfig { lambda: 0.3, reduction: Reduction::Sum, ..ProbDistillConfig::default() };
/// assert!(seed.describe().ends_with("loss = −objective"));
/// assert_eq!(ProbDistillConfig::default().reduction, Reduction::Mean);
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProbDistillConfig {
    /// `$\lambda \in[0, 1]$`, the weight of the teacher answers for `$i \in I$`. Default 0.5: the
    /// seed names `$\lambda$` a metaparameter without a value; 0.5 is our choice (labels and
    /// teacher weigh the same).
    pub lambda: f64,
    /// `$T_{0}$`, the temperature of the teacher-answer term (and of the `log C` term). Default 2,
    /// the same choice as [`HintonConfig`](super::HintonConfig).
    pub temperature: f64,
    /// The `log C` term. Default: included with `$\varepsilon = 1e-3$`, since the seed's objective
    /// has it.
    pub log_normalizer: LogNormalizer,
    /// The negated objective as the seed writes it, a sum over the objects (`Reduction::Sum`),
    /// or divided by the batch size `B` (`Reduction::Mean`, the default: a batch loss).
    pub reduction: Reduction,
}

impl Default for ProbDistillConfig {
    fn default() -> Self {
        ProbDistillConfig {
            lambda: 0.5,
            temperature: 2.0,
            log_normalizer: LogNormalizer::Include {
                epsilon: DEFAULT_LOG_C_EPSILON,
            },
            reduction: Reduction::Mean,
        }
    }
}

impl ProbDistillConfig {
    /// Checks `$\lambda \in[0, 1]$`, `T0 > 0`, `$\varepsilon \in(0, 1/2)$`.
    pub fn validate(&self) -> Result<()> {
        check_unit("probabilistic distillation λ", self.lambda)?;
        check_temperature("probabilistic distillation T0", self.temperature)?;
        if let LogNormalizer::Include { epsilon } = self.log_normalizer {
            check_epsilon(epsilon)?;
        }
        Ok(())
    }

    /// A one-line description for run reports, naming the `log C` choice.
    pub fn describe(&self) -> String {
        let log_c = match self.log_normalizer {
            LogNormalizer::Omit => "without the log C term".to_string(),
            LogNormalizer::Include { epsilon } => format!(
                "with the log C term (log log(1/g) clamped at log(1/g) ≥ −ln(1−ε), ε = {epsilon})"
            ),
        };
        let loss = match self.reduction {
            Reduction::Sum => "loss = −objective",
            Reduction::Mean => "loss = −objective / B",
        };
        format!(
            "probabilistic distillation: λ = {}, T0 = {}, {log_c}; {loss}",
            self.lambda, self.temperature
        )
    }
}

fn check_epsilon(epsilon: f64) -> Result<()> {
    if epsilon > 0.0 && epsilon < 0.5 {
        Ok(())
    } else {
        Err(Error::config(
            "log C margin ε",
            format!("must lie in (0, 1/2), got {epsilon}"),
        ))
    }
}

/// The probabilistic distillation loss for classification: the seed's objective, negated, and
/// summed over the objects (`Reduction::Sum`, as the seed writes it) or divided by the batch
/// size `B` (`Reduction::Mean`) by `cfg.reduction`:
///
/// ```math
/// L = -\Big[ \sum_{i\notin I} \log g_{y_i}(x_i)|_{T=1} + (1-\lambda) \sum_{i\in I} \log
///   g_{y_i}(x_i)|_{T=1} + \lambda \sum_{i\in I} \sum_k s_{ik} \log g_k(x_i)|_{T=T_{0}}
///   + \lambda \cdot R \Big]
/// ```
///
/// (divided by `B` for the mean),
///
/// `$R = \sum_{i\in I} \sum_k (\log g_k + \log \log\frac{1}{g_k})|_{T=T_{0}}$` if
/// `cfg.log_normalizer` includes it ([`log_normalizer_term`]), else 0. `$g(x)|_T =
/// \operatorname{softmax} (z(x)/T)$`.
///
/// Symbols → arguments: `z` = `student_logits` (`[B, K]`), `y` = `labels`, `s` = `teacher_probs`
/// (`[|I|, K]`, the teacher answers `$s_i = f(x^{*}_i)$`, one row per element of `I` in the order
/// of `index.indices()`; e.g. [`soft_targets`](super::soft_targets) of the teacher's logits at
/// `$T_{0}$`), `I` = `index`, `$\lambda, T_{0}$` from `cfg`. Errors name `prob_distill_loss`.
///
/// Normalisation: one factor for every term, so the seed's relative weights are kept exactly, and
/// with `$I = \emptyset$` or `$\lambda = 0$` (and no `log C`) the loss is the cross-entropy with
/// the same reduction. The constant `$\lambda|I| \log(K^{K/2} 2^{-K(K-1)/2})$` of `log C` is left
/// out (no gradient).
///
/// ```
/// use autograd::Tape;
/// use methods::distill::{prob_distill_loss, IndexSet, LogNormalizer, ProbDistillConfig, Reduction};
/// use ndarray::array;
///
/// // B = 2, I = [1] with s_1 = (½, ½), λ = ½, T0 = 1, no log C. g_0 = (¾, ¼), g_1 = (¼, ¾),
/// // labels (0, 0): L = −[ln ¾ + ½ ln ¼ + ½ · ½ (ln ¼ + ln ¾)].
/// let cfg = ProbDistillConfig {
///     lambda: 0.5,
///     temperature: 1.0,
///     log_normalizer: LogNormalizer::Omit,
///     reduction: Reduction::Sum,
/// };
/// let tape = Tape::<f64>::new();
/// let z = tape.param(array![[3f64.ln(), 0.0], [0.0, 3f64.ln()]]);
/// let s = tape.constant(array![[0.5, 0.5]]);
/// let loss = prob_distill_loss(z, &[0, 0], s, &IndexSet::from_indices(2, &[1])?, &cfg)?;
/// let (l14, l34) = (0.25f64.ln(), 0.75f64.ln());
/// assert!((loss.item().unwrap() + l34 + 0.5 * l14 + 0.25 * (l14 + l34)).abs() < 1e-15);
/// # Ok::<(), methods::Error>(())
/// ```
pub fn prob_distill_loss<'t, F: Float>(
    student_logits: Var<'t, F>,
    labels: &[usize],
    teacher_probs: Var<'t, F>,
    index: &IndexSet,
    cfg: &ProbDistillConfig,
) -> Result<Var<'t, F>> {
    const OP: &str = "prob_distill_loss";
    cfg.validate()?;
    let shape = student_logits.shape();
    if shape.len() != 2 || shape[1] == 0 {
        return Err(Error::config(
            OP,
            format!("student logits must be [batch, classes], got {shape:?}"),
        ));
    }
    let (batch, classes) = (shape[0], shape[1]);
    let answers = teacher_probs.shape().first().copied().unwrap_or(0);
    index.check_answers(OP, batch, answers)?;
    if labels.len() != batch {
        return Err(Error::config(
            OP,
            format!("{} labels for a batch of {batch}", labels.len()),
        ));
    }
    if let Some(&bad) = labels.iter().find(|&&y| y >= classes) {
        return Err(Error::config(
            OP,
            format!("label {bad} is out of range for {classes} classes"),
        ));
    }
    if teacher_probs.shape() != [index.len(), classes] {
        return Err(Error::config(
            OP,
            format!(
                "teacher answers must be [|I|, K] = [{}, {classes}], got {:?}",
                index.len(),
                teacher_probs.shape()
            ),
        ));
    }
    let tape = student_logits.tape();

    // Σ_i w_i log g_{y_i}|_{T=1}, w_i = 1 (i ∉ I) or 1 − λ (i ∈ I).
    let picks: Vec<usize> = labels
        .iter()
        .enumerate()
        .map(|(i, &y)| i * classes + y)
        .collect();
    let log_g_y = student_logits
        .log_softmax(1)?
        .take_flat(picks.into(), &[batch])?;
    let weights = Array1::from_shape_fn(batch, |i| {
        let w = if index.contains(i) {
            1.0 - cfg.lambda
        } else {
            1.0
        };
        F::from_f64(w)
    });
    let mut objective = log_g_y.try_mul(tape.constant(weights))?.sum();

    if !index.is_empty() && cfg.lambda > 0.0 {
        // Answer row r is object index.indices()[r]: select the student's rows in that order.
        let z_i = student_logits.index_select(0, index.indices())?;
        // soft_cross_entropy (summed) = −Σ_{i∈I} Σ_k s_ik log g_k|_{T0}.
        let soft_sum = soft_cross_entropy(z_i, teacher_probs, cfg.temperature, Reduction::Sum)?
            .mul_scalar(-1.0);
        objective = objective.try_add(soft_sum.mul_scalar(cfg.lambda))?;
        if let LogNormalizer::Include { epsilon } = cfg.log_normalizer {
            let r = log_normalizer_term(z_i, cfg.temperature, epsilon)?;
            objective = objective.try_add(r.mul_scalar(cfg.lambda))?;
        }
    }
    Ok(cfg.reduction.scale(objective.mul_scalar(-1.0), batch))
}

/// The `log C` term of the objective (without its constant), summed over the rows:
///
/// `$R = \sum_i \sum_k ( \log g_{ik} + \log \max(\log\frac{1}{g_{ik}}, \delta) )$`, `$g_i =
/// \operatorname{softmax} (z_i / T)$`, `$\delta = -\ln(1 - \varepsilon)$`.
///
/// Symbols → arguments: `z` = `logits` (`[n, K]`, the student on the objects of `I`),
/// `T` = `temperature` (the seed's `$T_{0}$`), `$\varepsilon$` = `epsilon`.
///
/// Why the clamp: `log log(1/g)` is undefined at `$g = 1$` and tends to `$-\infty$` (with an
/// unbounded gradient `$-1/(g \log\frac{1}{g})$`) as `$g \to 1$`. The seed's theorem assumes
/// `$\varepsilon < g_k < 1 - \varepsilon$`, i.e. `$\log\frac{1}{g_k} > -\ln(1 - \varepsilon) =
/// \delta$`; the clamp enforces exactly that bound on `$\log\frac{1}{g_k}$`. Inside the theorem's
/// range (`$g_k \le 1 - \varepsilon$`) the term and its gradient are unchanged; beyond it (`$g_k >
/// 1 - \varepsilon$`) the term is the constant `$\log \delta$` and contributes **zero gradient**
/// for that `k` (the `$\log g_k$` part still contributes), so the gradient of `$\log
/// \log\frac{1}{g_k}$` with respect to `$\log g_k$`, `$1/\log g_k$`, never exceeds `$1/\delta <
/// 1/\varepsilon$` in magnitude. `log(1/g)` is computed as `−log_softmax(z/T)`: finite for finite
/// logits, and exactly 0 when `g` rounds to 1. No lower clamp is needed: as `$g_k \to 0$`,
/// `$\log\frac{1}{g_k}$` grows and its logarithm stays finite.
pub fn log_normalizer_term<'t, F: Float>(
    logits: Var<'t, F>,
    temperature: f64,
    epsilon: f64,
) -> Result<Var<'t, F>> {
    check_temperature("log C temperature", temperature)?;
    check_epsilon(epsilon)?;
    let delta = -(-epsilon).ln_1p();
    let log_g = logits.mul_scalar(1.0 / temperature).log_softmax(-1)?;
    let log_log_inv = log_g.mul_scalar(-1.0).clamp(delta, f64::INFINITY).log();
    Ok(log_g.try_add(log_log_inv)?.sum())
}
