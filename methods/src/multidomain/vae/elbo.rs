//! The pieces of a VAE's evidence lower bound, each a composite of autograd ops:
//! the reparameterisation, the decoders' log-likelihoods, the KL term, and the ELBO of several
//! reconstructions from one latent sample.
//!
//! For an encoder `q(z|x) = N(μ(x), diag σ²(x))`, a prior `p(z) = N(0, σ_p² I)` and decoders
//! `p(x_t|z)`, `t = 1 … T` (S1's VAE has two: the clothes image and its paired digit),
//!
//! `ELBO(x) = E_{z~q(z|x)} [Σ_t log p(x_t|z)] − KL(q(z|x) ‖ p(z)) ≤ log p(x_1, …, x_T)`,
//!
//! estimated with one reparameterised sample `z = μ + σ ⊙ ε`, `ε ~ N(0, I)` (Kingma & Welling,
//! 2014), the KL in closed form. The noise `ε` is an argument: fixed, the estimate is a smooth
//! function of everything else (gradient-checked); drawn afresh per batch, its gradient is an
//! unbiased estimate of the gradient of the expectation (checked in
//! [`checks`](crate::multidomain::checks)).

use std::ops::Neg;

use autograd::{Float, Var};

use crate::{Error, Result};

/// The likelihood `p(x|z)` of a decoder, given its output for `z`.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub enum Likelihood {
    /// Bernoulli per pixel, the decoder's output being logits `l`:
    /// `log p(x|z) = Σ_j [x_j log σ(l_j) + (1 − x_j) log(1 − σ(l_j))] = Σ_j [x_j l_j − softplus(l_j)]`.
    /// The default, for pixel intensities `x_j ∈ [0, 1]` as Kingma & Welling and the authors'
    /// code use it: the intensity is read as the probability of a lit pixel. For intensities
    /// strictly inside `(0, 1)` this is a cross-entropy rather than a normalised density over
    /// `[0, 1]` (the continuous Bernoulli would add `log C(l)`); the reconstruction
    /// `σ(l)` is the decoder's mean image. Computed from the logits, so no clamp is needed
    /// (the authors clamp `σ(l)` to `[0.01, 0.99]`).
    #[default]
    Bernoulli,
    /// Gaussian with a fixed variance `s²` (`log_variance = ln s²`), the decoder's output being
    /// the mean `m`: `log p(x|z) = −½ Σ_j [ln 2π + ln s² + (x_j − m_j)² / s²]`. Used by the
    /// linear-Gaussian checks, where the ELBO and `log p(x)` have closed forms.
    Gaussian {
        /// `ln s²`.
        log_variance: f64,
    },
}

/// `z = μ + exp(½ ln σ²) ⊙ ε`: a sample of `N(μ, diag σ²)` as a differentiable function of
/// `μ` (`mean`) and `ln σ²` (`log_var`), all three of one shape (`[B, k]`), `ε` = `noise`.
pub fn reparameterize<'t, F: Float>(
    mean: Var<'t, F>,
    log_var: Var<'t, F>,
    noise: Var<'t, F>,
) -> Result<Var<'t, F>> {
    same_shape(
        "reparameterisation",
        &[("mean", mean), ("log variance", log_var), ("noise", noise)],
    )?;
    Ok(mean.try_add(log_var.mul_scalar(0.5).exp().try_mul(noise)?)?)
}

/// `log p(x_i|z_i)` of every row `i`, summed over the features `j` (shape `[B]`): `decoded` is
/// the decoder's output (`[B, d]`: logits or means, see [`Likelihood`]), `target` is `x`
/// (`[B, d]`, a constant).
pub fn log_likelihood<'t, F: Float>(
    decoded: Var<'t, F>,
    target: Var<'t, F>,
    likelihood: Likelihood,
) -> Result<Var<'t, F>> {
    same_shape(
        "log-likelihood",
        &[("decoder output", decoded), ("target", target)],
    )?;
    let per_feature = match likelihood {
        Likelihood::Bernoulli => target.try_mul(decoded)?.try_sub(decoded.softplus())?,
        Likelihood::Gaussian { log_variance } => {
            if !log_variance.is_finite() {
                return Err(Error::config(
                    "Gaussian likelihood ln s²",
                    format!("must be finite, got {log_variance}"),
                ));
            }
            let constant = -0.5 * ((2.0 * std::f64::consts::PI).ln() + log_variance);
            target
                .try_sub(decoded)?
                .square()
                .mul_scalar(-0.5 * (-log_variance).exp())
                .add_scalar(constant)
        }
    };
    Ok(per_feature.sum_axis(1, false)?)
}

/// `KL(N(μ_i, diag σ_i²) ‖ N(0, σ_p² I))` of every row `i` (shape `[B]`):
///
/// `KL_i = ½ Σ_j [(σ_ij² + μ_ij²) / σ_p² − 1 − ln σ_ij² + ln σ_p²]`
///
/// `μ` = `mean`, `ln σ²` = `log_var` (both `[B, k]`), `σ_p` = `prior_std` (`> 0`).
pub fn kl_to_prior<'t, F: Float>(
    mean: Var<'t, F>,
    log_var: Var<'t, F>,
    prior_std: f64,
) -> Result<Var<'t, F>> {
    same_shape(
        "KL to the prior",
        &[("mean", mean), ("log variance", log_var)],
    )?;
    check_prior_std(prior_std)?;
    let prior_var = prior_std * prior_std;
    let terms = log_var
        .exp()
        .try_add(mean.square())?
        .mul_scalar(1.0 / prior_var)
        .try_sub(log_var)?
        .add_scalar(prior_var.ln() - 1.0);
    Ok(terms.sum_axis(1, false)?.mul_scalar(0.5))
}

/// One decoder's term of an ELBO: its output for the sampled `z`, the data it reconstructs, and
/// its likelihood.
#[derive(Clone, Copy, Debug)]
pub struct Reconstruction<'t, F: Float> {
    /// The decoder's output for `z` (`[B, d]`).
    pub decoded: Var<'t, F>,
    /// The data reconstructed (`[B, d]`).
    pub target: Var<'t, F>,
    /// How `decoded` parametrises `p(target|z)`.
    pub likelihood: Likelihood,
}

/// The one-sample ELBO estimate, averaged over the batch:
///
/// `ELBO = (1/B) Σ_i [Σ_t log p(x_{t,i} | z_i) − KL(N(μ_i, diag σ_i²) ‖ N(0, σ_p² I))]`
///
/// with `z_i` the sample the decoders were given (from [`reparameterize`]), one
/// [`Reconstruction`] per decoder `t` (S1: the clothes image and its paired digit, both from the
/// same `z_i`), `μ` = `mean`, `ln σ²` = `log_var`, `σ_p` = `prior_std`.
pub fn elbo<'t, F: Float>(
    reconstructions: &[Reconstruction<'t, F>],
    mean: Var<'t, F>,
    log_var: Var<'t, F>,
    prior_std: f64,
) -> Result<Var<'t, F>> {
    let batch = mean.shape().first().copied().unwrap_or(0);
    if reconstructions.is_empty() || batch == 0 {
        return Err(Error::config(
            "ELBO",
            "needs at least one reconstruction and one row",
        ));
    }
    let mut per_row = kl_to_prior(mean, log_var, prior_std)?.neg();
    for r in reconstructions {
        if r.decoded.shape()[0] != batch {
            return Err(Error::config(
                "ELBO",
                format!(
                    "a reconstruction has {} rows, the encoder {batch}",
                    r.decoded.shape()[0]
                ),
            ));
        }
        per_row = per_row.try_add(log_likelihood(r.decoded, r.target, r.likelihood)?)?;
    }
    Ok(per_row.mean())
}

/// Checks `σ_p` finite and `> 0`.
pub(crate) fn check_prior_std(prior_std: f64) -> Result<()> {
    if prior_std.is_finite() && prior_std > 0.0 {
        Ok(())
    } else {
        Err(Error::config(
            "VAE prior standard deviation σ_p (prior_std)",
            format!("must be finite and > 0, got {prior_std}"),
        ))
    }
}

fn same_shape<F: Float>(op: &str, vars: &[(&str, Var<'_, F>)]) -> Result<()> {
    let (first, v0) = vars[0];
    let shape = v0.shape();
    if shape.len() != 2 {
        return Err(Error::config(
            op,
            format!("{first} must be [B, features], got shape {shape:?}"),
        ));
    }
    for &(what, v) in &vars[1..] {
        if v.shape() != shape {
            return Err(Error::config(
                op,
                format!(
                    "{what} has shape {:?}, {first} {shape:?}: they must agree",
                    v.shape()
                ),
            ));
        }
    }
    Ok(())
}
