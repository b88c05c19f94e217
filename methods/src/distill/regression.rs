//! Probabilistic distillation for regression (seed S4) and the theorem's weighted least squares.
//!
//! The seed takes `p(y|x,g) = N(y | g(x), σ)`, `p(s|x,g) = N(s | g(x), σ_s)` and writes the
//! problem as
//!
//! `ĝ = argmin_g Σ_{i∉I} σ²(y_i − g(x_i))² + (1−λ) Σ_{i∈I} σ²(y_i − g(x_i))² + λ Σ_{i∈I} σ_s²(s_i − g(x_i))²`.
//!
//! **Reading.** For a Gaussian with standard deviation `σ` the negative log-likelihood weighs
//! `(y − g)²` by `1/(2σ²)`; the seed multiplies by `σ²` instead. We keep the seed's form: `σ` and
//! `σ_s` act as *precision-like* weights (a larger `σ_s` trusts the teacher more). The theorem
//! below is an identity about this weighted sum and holds in either reading, as long as the
//! weights are the ones that multiply the squares.
//!
//! **Theorem** (Grabovoy 2020). For linear `g(x) = wᵀx` the minimiser is the solution of the
//! linear regression `y'' = X w + ε`, `ε ~ N(0, Σ)`, `Σ^{-1} = diag(σ')`, `y'' = Σ y'`, with
//! `σ'_i = σ²` (`i ∉ I`) or `(1−λ)σ² + λσ_s²` (`i ∈ I`), and `y'_i = σ² y_i` (`i ∉ I`) or
//! `(1−λ)σ² y_i + λσ_s² s_i` (`i ∈ I`). Proof: for `i ∈ I`,
//! `(1−λ)σ²(y_i − g)² + λσ_s²(s_i − g)² = σ'_i (g − y'_i/σ'_i)² + const`, so the objective is
//! `Σ_i σ'_i (y''_i − wᵀx_i)² + const`: weighted least squares with weights `σ'_i` and targets
//! `y''_i = y'_i / σ'_i`. [`wls_form`] computes `(σ', y'')`; the solver is in
//! [`wls`](super::wls); the numerical check that the minimiser found by gradient descent on the
//! tape equals the closed form is [`check_regression_theorem`](super::checks::check_regression_theorem).

use autograd::{Float, Var};
use ndarray::{Array1, ArrayView1};

use super::hinton::check_unit;
use super::index_set::IndexSet;
use crate::{Error, Result};

/// The metaparameters of probabilistic distillation (regression).
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ProbRegressionConfig {
    /// `λ ∈ [0, 1]`, the weight of the teacher answers for `i ∈ I`. Default 0.5 (our choice).
    pub lambda: f64,
    /// `σ > 0`: `σ²` multiplies the label residuals (the seed's form). Default 1.
    pub sigma: f64,
    /// `σ_s > 0`: `σ_s²` multiplies the teacher residuals. Default 1.
    pub sigma_s: f64,
}

impl Default for ProbRegressionConfig {
    fn default() -> Self {
        ProbRegressionConfig {
            lambda: 0.5,
            sigma: 1.0,
            sigma_s: 1.0,
        }
    }
}

impl ProbRegressionConfig {
    /// Checks `λ ∈ [0, 1]` and `σ, σ_s` finite and `> 0` (so that every `σ'_i > 0`).
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
        format!(
            "probabilistic regression: λ = {}, σ = {}, σ_s = {} (σ², σ_s² multiply the squared \
             residuals, as the seed writes); loss = objective / B",
            self.lambda, self.sigma, self.sigma_s
        )
    }
}

fn check_lengths(op: &str, n: usize, y: usize, s: usize, index: &IndexSet) -> Result<()> {
    index.check_batch(op, n)?;
    if y != n {
        return Err(Error::config(op, format!("{y} labels for {n} predictions")));
    }
    if s != index.len() {
        return Err(Error::config(
            op,
            format!(
                "{s} teacher answers but I has {} elements (one per element of I, ascending)",
                index.len()
            ),
        ));
    }
    Ok(())
}

/// The probabilistic regression objective of the seed, divided by the batch size `B`:
///
/// `L = (1/B) [ Σ_{i∉I} σ²(y_i − g_i)² + (1−λ) Σ_{i∈I} σ²(y_i − g_i)² + λ Σ_{i∈I} σ_s²(s_i − g_i)² ]`
///
/// Symbols → arguments: `g_i = g(x_i)` = `predictions` (`[B]`), `y` = `targets` (`[B]`),
/// `s` = `teacher` (`[|I|]`, the answers `s_i = f(x*_i)` for `i ∈ I`, ascending), `I` = `index`,
/// `λ, σ, σ_s` from `cfg`. Dividing by `B` does not move the minimiser.
pub fn prob_regression_loss<'t, F: Float>(
    predictions: Var<'t, F>,
    targets: Var<'t, F>,
    teacher: Var<'t, F>,
    index: &IndexSet,
    cfg: &ProbRegressionConfig,
) -> Result<Var<'t, F>> {
    const OP: &str = "probabilistic regression loss";
    cfg.validate()?;
    for (what, v) in [
        ("predictions", predictions),
        ("targets", targets),
        ("teacher", teacher),
    ] {
        if v.ndim() != 1 {
            return Err(Error::config(
                OP,
                format!("{what} must be a vector, got shape {:?}", v.shape()),
            ));
        }
    }
    let n = predictions.numel();
    check_lengths(OP, n, targets.numel(), teacher.numel(), index)?;
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
        let g_i = predictions.index_select(0, index.indices())?;
        let teacher_term = teacher.try_sub(g_i)?.square().sum();
        total = total.try_add(teacher_term.mul_scalar(cfg.lambda * cfg.sigma_s * cfg.sigma_s))?;
    }
    Ok(total.mul_scalar(1.0 / n as f64))
}

/// The theorem's weighted least-squares data: per object the weight `σ'_i` (the diagonal of
/// `Σ^{-1}`) and the target `y''_i = y'_i / σ'_i`.
#[derive(Clone, Debug, PartialEq)]
pub struct WlsForm {
    /// `σ'_i = σ²` (`i ∉ I`) or `(1−λ)σ² + λσ_s²` (`i ∈ I`).
    pub weights: Array1<f64>,
    /// `y''_i = y'_i / σ'_i`, `y'_i = σ² y_i` (`i ∉ I`) or `(1−λ)σ² y_i + λσ_s² s_i` (`i ∈ I`).
    pub targets: Array1<f64>,
}

/// The theorem's `(σ', y'')` for labels `y` (`targets`, `[n]`), teacher answers `s`
/// (`teacher`, `[|I|]`, ascending `i ∈ I`), index set `I` and `λ, σ, σ_s` (see the module
/// documentation for the formulas).
pub fn wls_form(
    targets: ArrayView1<'_, f64>,
    teacher: ArrayView1<'_, f64>,
    index: &IndexSet,
    cfg: &ProbRegressionConfig,
) -> Result<WlsForm> {
    cfg.validate()?;
    let n = targets.len();
    check_lengths("regression theorem", n, n, teacher.len(), index)?;
    let (sigma2, sigma_s2, lambda) = (cfg.sigma.powi(2), cfg.sigma_s.powi(2), cfg.lambda);
    let mut weights = Array1::from_elem(n, sigma2);
    let mut y_prime = targets.mapv(|y| sigma2 * y);
    for (&i, &s) in index.indices().iter().zip(teacher) {
        weights[i] = (1.0 - lambda) * sigma2 + lambda * sigma_s2;
        y_prime[i] = (1.0 - lambda) * sigma2 * targets[i] + lambda * sigma_s2 * s;
    }
    let targets = &y_prime / &weights;
    Ok(WlsForm { weights, targets })
}
