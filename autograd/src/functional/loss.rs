//! Losses and divergences, each a composite with its formula stated here. Batch losses are
//! means over the rows (the batch axis 0) unless stated otherwise.

use std::f64::consts::PI;

use std::ops::Neg;

use crate::float::Float;
use crate::tape::Var;
use crate::{Error, Result};

fn check_logits(op: &'static str, logits: &[usize]) -> Result<()> {
    if logits.len() != 2 || logits[1] == 0 {
        return Err(Error::shape(
            op,
            &[logits],
            "logits must be [batch, classes] with classes ≥ 1",
        ));
    }
    Ok(())
}

fn check_same(op: &'static str, a: &[usize], b: &[usize]) -> Result<()> {
    if a != b {
        return Err(Error::shape(
            op,
            &[a, b],
            "both arguments must have one shape",
        ));
    }
    Ok(())
}

/// Cross-entropy with integer labels, averaged over the batch:
///
/// `CE(z, y) = −(1/B) Σ_i log softmax(z_i)_{y_i}`
///
/// `logits` is `z` (`[B, K]`), `labels` is `y` (`B` class indices in `0..K`).
pub fn cross_entropy<'t, F: Float>(logits: Var<'t, F>, labels: &[usize]) -> Result<Var<'t, F>> {
    let shape = logits.shape();
    check_logits("cross_entropy", &shape)?;
    let (b, k) = (shape[0], shape[1]);
    if labels.len() != b {
        return Err(Error::argument(
            "cross_entropy",
            format!("{} labels for a batch of {b}", labels.len()),
        ));
    }
    if let Some(&bad) = labels.iter().find(|&&y| y >= k) {
        return Err(Error::argument(
            "cross_entropy",
            format!("label {bad} is out of range for {k} classes"),
        ));
    }
    let picks: Vec<usize> = labels.iter().enumerate().map(|(i, &y)| i * k + y).collect();
    let picked = logits.log_softmax(1)?.take_flat(picks.into(), &[b])?;
    Ok(picked.mean().neg())
}

/// Cross-entropy against soft targets at temperature `T`, averaged over the batch:
///
/// `CE_T(p, z) = −(1/B) Σ_i Σ_k p_ik · log softmax(z_i / T)_k`
///
/// `targets` is `p` (`[B, K]`, rows are distributions, e.g. a teacher's `softmax(v/T)`),
/// `logits` is the student's `z`. This is the soft-target term of Hinton distillation as the
/// seed works write it, without the `T²` factor (callers that want it multiply by `T²`).
pub fn soft_cross_entropy<'t, F: Float>(
    logits: Var<'t, F>,
    targets: Var<'t, F>,
    temperature: f64,
) -> Result<Var<'t, F>> {
    let shape = logits.shape();
    check_logits("soft_cross_entropy", &shape)?;
    check_same("soft_cross_entropy", &shape, &targets.shape())?;
    if !(temperature > 0.0 && temperature.is_finite()) {
        return Err(Error::argument(
            "soft_cross_entropy",
            format!("temperature must be positive and finite, got {temperature}"),
        ));
    }
    let log_q = logits.mul_scalar(1.0 / temperature).log_softmax(1)?;
    let per_row = targets.try_mul(log_q)?.sum_axis(1, false)?;
    Ok(per_row.mean().neg())
}

/// The KL divergence between categorical distributions given by log-probabilities, summed over
/// the classes (last axis) and averaged over the rows:
///
/// `KL(P ‖ Q) = (1/B) Σ_i Σ_k p_ik (log p_ik − log q_ik)`, with `p = exp(log_p)`.
///
/// Both arguments must be finite log-probabilities (e.g. from `log_softmax`).
pub fn kl_categorical<'t, F: Float>(log_p: Var<'t, F>, log_q: Var<'t, F>) -> Result<Var<'t, F>> {
    let shape = log_p.shape();
    check_same("kl_categorical", &shape, &log_q.shape())?;
    if shape.is_empty() {
        return Err(Error::shape(
            "kl_categorical",
            &[&shape],
            "needs a class axis",
        ));
    }
    let per_row = log_p
        .exp()
        .try_mul(log_p.try_sub(log_q)?)?
        .sum_axis(-1, false)?;
    Ok(per_row.mean())
}

/// The KL divergence between diagonal Gaussians, summed over all elements (the usual ELBO term):
///
/// `KL(N(μ_p, σ_p²) ‖ N(μ_q, σ_q²)) = ½ Σ_j [ln σ_q² − ln σ_p² + (σ_p² + (μ_p − μ_q)²) / σ_q² − 1]`
///
/// Variances are given as log-variances `ln σ²` (`log_var_p`, `log_var_q`); all four arguments
/// broadcast together.
pub fn kl_diag_gaussian<'t, F: Float>(
    mu_p: Var<'t, F>,
    log_var_p: Var<'t, F>,
    mu_q: Var<'t, F>,
    log_var_q: Var<'t, F>,
) -> Result<Var<'t, F>> {
    let ratio = log_var_p.exp().try_add(mu_p.try_sub(mu_q)?.square())?;
    let ratio = ratio.try_mul(log_var_q.neg().exp())?;
    let terms = log_var_q
        .try_sub(log_var_p)?
        .try_add(ratio)?
        .add_scalar(-1.0);
    Ok(terms.sum().mul_scalar(0.5))
}

/// Mean squared error `(1/n) Σ_j (ŷ_j − y_j)²` over all elements.
pub fn mse<'t, F: Float>(pred: Var<'t, F>, target: Var<'t, F>) -> Result<Var<'t, F>> {
    check_same("mse", &pred.shape(), &target.shape())?;
    Ok(pred.try_sub(target)?.square().mean())
}

/// The Gaussian negative log-likelihood, averaged over all elements:
///
/// `NLL = (1/n) Σ_j ½ [ln 2π + ln σ_j² + (y_j − μ_j)² / σ_j²]`
///
/// `mean` is `μ`, `log_var` is `ln σ²` (broadcasts against `μ`), `target` is `y`.
pub fn gaussian_nll<'t, F: Float>(
    mean: Var<'t, F>,
    log_var: Var<'t, F>,
    target: Var<'t, F>,
) -> Result<Var<'t, F>> {
    check_same("gaussian_nll", &mean.shape(), &target.shape())?;
    let sq = target
        .try_sub(mean)?
        .square()
        .try_mul(log_var.neg().exp())?;
    let terms = sq.try_add(log_var)?.add_scalar((2.0 * PI).ln());
    Ok(terms.mean().mul_scalar(0.5))
}
