//! Probabilistic distillation for regression (seed S4) and the theorem's weighted least squares.
//!
//! The seed takes `$p(y|x,g) = \mathcal{N}(y | g(x), \sigma)$`, `$p(s|x,g) = \mathcal{N}(s | g(x),
//! \sigma_s)$` and writes the problem as
//!
//! ```math
//! \hat{g} = \operatorname{argmin} _g \sum_{i\notin I} \sigma^{2}(y_i - g(x_i))^{2} +
//!   (1-\lambda) \sum_{i\in I} \sigma^{2}(y_i - g(x_i))^{2} + \lambda \sum_{i\in I}
//!   \sigma_s^{2}(s_i - g(x_i))^{2}.
//! ```
//!
//! **Reading.** For a Gaussian with standard deviation `$\sigma$` the negative log-likelihood
//! weighs `$(y - g)^{2}$` by `$1/(2\sigma^{2})$`; the seed multiplies by `$\sigma^{2}$` instead. We
//! keep the seed's form: `$\sigma$` and `$\sigma_s$` act as *precision-like* weights (a larger
//! `$\sigma_s$` trusts the teacher more). The theorem below is an identity about this weighted sum
//! and holds in either reading, as long as the weights are the ones that multiply the squares.
//!
//! **Theorem** (Grabovoy 2020). For linear `$g(x) = w^{\top}x$` the minimiser is the solution of
//! the linear regression `$y'' = X w + \varepsilon$`, `$\varepsilon \sim \mathcal{N}(0, \Sigma)$`,
//! `$\Sigma^{-1} = \operatorname{diag} (\sigma')$`, `$y'' = \Sigma y'$`, with `$\sigma'_i =
//! \sigma^{2}$` (`$i \notin I$`) or `$(1-\lambda)\sigma^{2} + \lambda \sigma_s^{2}$` (`$i \in I$`),
//! and `$y'_i = \sigma^{2} y_i$` (`$i \notin I$`) or `$(1-\lambda)\sigma^{2} y_i + \lambda
//! \sigma_s^{2} s_i$` (`$i \in I$`). Proof: for `$i \in I$`, `$(1-\lambda)\sigma^{2}(y_i - g)^{2} +
//! \lambda \sigma_s^{2}(s_i - g)^{2} = \sigma'_i (g - y'_i/\sigma'_i)^{2} + \text{ const }$`, so
//! the objective is `$\sum_i \sigma'_i (y''_i - w^{\top}x_i)^{2} + \text{ const }$`: weighted least
//! squares with weights `$\sigma'_i$` and targets `$y''_i = y'_i / \sigma'_i$`. [`wls_form`]
//! computes `$(\sigma', y'')$`; the solver is in [`wls`](super::wls); the numerical check that the
//! minimiser found by gradient descent on the tape equals the closed form is
//! [`check_regression_theorem`](super::checks::check_regression_theorem).

use autograd::functional::Reduction;
use autograd::{Float, Var};
use ndarray::{Array1, ArrayView1};

use super::hinton::check_unit;
use super::index_set::IndexSet;
use crate::{Error, Result};

/// The metaparameters of probabilistic distillation (regression).
///
/// ```
/// use methods::distill::{ProbRegressionConfig, Reduction};
///
/// let seed = ProbRegressionConfig { sigma_s: 2.0, reduction: Reduction::Sum, ..ProbRegressionConfig::default() };
/// assert!(seed.validate().is_ok() && seed.describe().ends_with("loss = objective"));
/// assert!(ProbRegressionConfig { sigma: 0.0, ..seed }.validate().is_err());
/// ```
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProbRegressionConfig {
    /// `$\lambda \in[0, 1]$`, the weight of the teacher answers for `$i \in I$`. Default 0.5 (our
    /// choice).
    pub lambda: f64,
    /// `$\sigma > 0$`: `$\sigma^{2}$` multiplies the label residuals (the seed's form). Default 1.
    pub sigma: f64,
    /// `$\sigma_s > 0$`: `$\sigma_s^{2}$` multiplies the teacher residuals. Default 1.
    pub sigma_s: f64,
    /// The seed's objective as written (`Reduction::Sum`) or divided by the batch size `B`
    /// (`Reduction::Mean`, the default: a batch loss). The minimiser is the same.
    pub reduction: Reduction,
}

impl Default for ProbRegressionConfig {
    fn default() -> Self {
        ProbRegressionConfig {
            lambda: 0.5,
            sigma: 1.0,
            sigma_s: 1.0,
            reduction: Reduction::Mean,
        }
    }
}

impl ProbRegressionConfig {
    /// Checks `$\lambda \in[0, 1]$` and `$\sigma, \sigma_s$` finite and `> 0` (so that every
    /// `$\sigma'_i > 0$`).
    pub fn validate(&self) -> Result<()> {
        check_unit("probabilistic regression λ", self.lambda)?;
        for (what, v) in [
            ("probabilistic regression σ", self.sigma),
            ("probabilistic regression σ_s", self.sigma_s),
        ] {
            if !(v.is_finite() && v > 0.0) {
                return Err(Error::config(
                    what,
                    format!("must be finite and > 0, got {v}"),
                ));
            }
        }
        Ok(())
    }

    /// A one-line description for run reports.
    pub fn describe(&self) -> String {
        let loss = match self.reduction {
            Reduction::Sum => "loss = objective",
            Reduction::Mean => "loss = objective / B",
        };
        format!(
            "probabilistic regression: λ = {}, σ = {}, σ_s = {} (σ², σ_s² multiply the squared \
             residuals, as the seed writes); {loss}",
            self.lambda, self.sigma, self.sigma_s
        )
    }
}

/// A `[B]` or `[B, 1]` variable as `[B]` (a `$\mathrm{Linear}(p \to 1)$` gives `[B, 1]`); anything
/// else is an error naming `op` and `what`.
fn as_column<'t, F: Float>(op: &str, what: &str, v: Var<'t, F>) -> Result<Var<'t, F>> {
    match v.shape().as_slice() {
        [_] => Ok(v),
        &[b, 1] => Ok(v.reshape(&[b])?),
        shape => Err(Error::config(
            op,
            format!("{what} must be [B] or [B, 1], got shape {shape:?}"),
        )),
    }
}

/// The probabilistic regression objective of the seed, reduced by `cfg.reduction` (`Sum`: as
/// written; `Mean`: divided by the batch size `B`):
///
/// ```math
/// L = \sum_{i\notin I} \sigma^{2}(y_i - g_i)^{2} + (1-\lambda) \sum_{i\in I}
///   \sigma^{2}(y_i - g_i)^{2} + \lambda \sum_{i\in I} \sigma_s^{2}(s_i - g_i)^{2}
/// ```
///
/// Symbols → arguments: `$g_i = g(x_i)$` = `predictions`, `y` = `targets` (both `[B]` or `[B, 1]`,
/// e.g. the output of a `$\mathrm{Linear}(p \to 1)$`), `s` = `teacher` (`[|I|]` or `[|I|, 1]`: the
/// answers `$s_i = f(x^{*}_i)$` for `$i \in I$`, in the order of `index.indices()`), `I` = `index`,
/// `$\lambda, \sigma, \sigma_s$` from `cfg`. Errors (naming `prob_regression_loss`) on any other
/// shape or a number of answers other than `|I|`.
///
/// ```
/// use autograd::Tape;
/// use methods::distill::{prob_regression_loss, IndexSet, ProbRegressionConfig, Reduction};
/// use ndarray::array;
///
/// // B = 2, g = (1, 2), y = (0, 0), I = {1} with s_1 = 3, λ = ½, σ = 2, σ_s = 1:
/// // L = σ²·1 + (1 − λ)σ²·4 + λσ_s²·1 = 4 + 8 + ½ (summed), 6.25 (mean).
/// let cfg = ProbRegressionConfig { lambda: 0.5, sigma: 2.0, sigma_s: 1.0, reduction: Reduction::Sum };
/// let tape = Tape::<f64>::new();
/// let g = tape.param(array![[1.0], [2.0]]); // [B, 1], as from Linear(p → 1)
/// let (y, s) = (tape.constant(array![0.0, 0.0]), tape.constant(array![3.0]));
/// let index = IndexSet::from_indices(2, &[1])?;
/// assert_eq!(prob_regression_loss(g, y, s, &index, &cfg)?.item(), Some(12.5));
/// let mean = ProbRegressionConfig { reduction: Reduction::Mean, ..cfg };
/// assert_eq!(prob_regression_loss(g, y, s, &index, &mean)?.item(), Some(6.25));
/// # Ok::<(), methods::Error>(())
/// ```
pub fn prob_regression_loss<'t, F: Float>(
    predictions: Var<'t, F>,
    targets: Var<'t, F>,
    teacher: Var<'t, F>,
    index: &IndexSet,
    cfg: &ProbRegressionConfig,
) -> Result<Var<'t, F>> {
    const OP: &str = "prob_regression_loss";
    cfg.validate()?;
    let predictions = as_column(OP, "predictions", predictions)?;
    let targets = as_column(OP, "targets", targets)?;
    let teacher = as_column(OP, "teacher answers", teacher)?;
    let n = predictions.numel();
    if targets.numel() != n {
        return Err(Error::config(
            OP,
            format!("{} targets for {n} predictions", targets.numel()),
        ));
    }
    index.check_answers(OP, n, teacher.numel())?;
    let tape = predictions.tape();
    let sigma2 = cfg.sigma * cfg.sigma;
    let label_weights = Array1::from_shape_fn(n, |i| {
        let w = if index.contains(i) {
            1.0 - cfg.lambda
        } else {
            1.0
        };
        F::from_f64(w * sigma2)
    });
    let mut total = targets
        .try_sub(predictions)?
        .square()
        .try_mul(tape.constant(label_weights))?
        .sum();
    if !index.is_empty() {
        // Row r of the answers is object index.indices()[r]: select the predictions in that order.
        let g_i = predictions.index_select(0, index.indices())?;
        let teacher_term = teacher.try_sub(g_i)?.square().sum();
        total = total.try_add(teacher_term.mul_scalar(cfg.lambda * cfg.sigma_s * cfg.sigma_s))?;
    }
    Ok(cfg.reduction.scale(total, n))
}

/// The theorem's weighted least-squares data: per object the weight `$\sigma'_i$` (the diagonal of
/// `$\Sigma^{-1}$`) and the target `$y''_i = y'_i / \sigma'_i$`.
#[derive(Clone, Debug, PartialEq)]
pub struct WlsForm {
    /// `$\sigma'_i = \sigma^{2}$` (`$i \notin I$`) or `$(1-\lambda)\sigma^{2} + \lambda
    /// \sigma_s^{2}$` (`$i \in I$`).
    pub weights: Array1<f64>,
    /// `$y''_i = y'_i / \sigma'_i$`, `$y'_i = \sigma^{2} y_i$` (`$i \notin I$`) or
    /// `$(1-\lambda)\sigma^{2} y_i + \lambda \sigma_s^{2} s_i$` (`$i \in I$`).
    pub targets: Array1<f64>,
}

/// The theorem's `$(\sigma', y'')$` for labels `y` (`targets`, `[n]`), teacher answers `s`
/// (`teacher`, `[|I|]`, in the order of `index.indices()`), index set `I` and `$\lambda, \sigma,
/// \sigma_s$` (see the module documentation for the formulas). `cfg.reduction` plays no part (it
/// scales the objective, not its minimiser). Errors naming `wls_form` when there are not `|I|`
/// answers.
///
/// ```
/// use methods::distill::{wls_form, IndexSet, ProbRegressionConfig, Reduction};
/// use ndarray::array;
///
/// // y = (1, 2), I = {1}, s_1 = 4, λ = ¼, σ = 2, σ_s = 1: σ' = (4, 3.25), y''_1 = 7 / 3.25.
/// let cfg = ProbRegressionConfig { lambda: 0.25, sigma: 2.0, sigma_s: 1.0, reduction: Reduction::Sum };
/// let index = IndexSet::from_indices(2, &[1])?;
/// let form = wls_form(array![1.0, 2.0].view(), array![4.0].view(), &index, &cfg)?;
/// assert_eq!(form.weights, array![4.0, 3.25]);
/// let err = wls_form(array![1.0, 2.0].view(), array![4.0, 5.0].view(), &index, &cfg).unwrap_err();
/// assert!(err.to_string().starts_with("wls_form: 2 teacher answers but I has 1 elements"));
/// # Ok::<(), methods::Error>(())
/// ```
pub fn wls_form(
    targets: ArrayView1<'_, f64>,
    teacher: ArrayView1<'_, f64>,
    index: &IndexSet,
    cfg: &ProbRegressionConfig,
) -> Result<WlsForm> {
    wls_form_for("wls_form", targets, teacher, index, cfg)
}

/// [`wls_form`] with errors naming `op`, the public function that was called.
pub(crate) fn wls_form_for(
    op: &str,
    targets: ArrayView1<'_, f64>,
    teacher: ArrayView1<'_, f64>,
    index: &IndexSet,
    cfg: &ProbRegressionConfig,
) -> Result<WlsForm> {
    cfg.validate()?;
    let n = targets.len();
    index.check_answers(op, n, teacher.len())?;
    let (sigma2, sigma_s2, lambda) = (cfg.sigma.powi(2), cfg.sigma_s.powi(2), cfg.lambda);
    let mut weights = Array1::from_elem(n, sigma2);
    let mut y_prime = targets.mapv(|y| sigma2 * y);
    // Answer r belongs to object index.indices()[r].
    for (&i, &s) in index.indices().iter().zip(teacher) {
        weights[i] = (1.0 - lambda) * sigma2 + lambda * sigma_s2;
        y_prime[i] = (1.0 - lambda) * sigma2 * targets[i] + lambda * sigma_s2 * s;
    }
    let targets = &y_prime / &weights;
    Ok(WlsForm { weights, targets })
}
