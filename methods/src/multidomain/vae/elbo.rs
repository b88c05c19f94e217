//! The pieces of a VAE's evidence lower bound, each a composite of autograd ops: the
//! reparameterisation, the decoders' log-likelihoods, and the ELBO of several reconstructions
//! from one latent sample (its KL term is the engine's `kl(&q, &prior, reduction)`).
//!
//! For an encoder `$q(z|x) = \mathcal{N}(\mu(x), \operatorname{diag} \sigma^{2}(x))$`, a prior
//! `$p(z) = \mathcal{N}(0, \sigma_p^{2} I)$` and decoders `$p(x_t|z)$`, `$t = 1 \dots T$` (S1's VAE
//! has two: the clothes image and its paired digit),
//!
//! ```math
//! \mathrm{ELBO}(x) = \mathbb{E}_{z\sim q(z|x)} [\sum_t \log p(x_t|z)] - \mathrm{KL}
//!   (q(z|x) \| p(z)) \le \log p(x_1, \dots, x_T),
//! ```
//!
//! estimated with one reparameterised sample `$z = \mu + \sigma \odot \varepsilon$`, `$\varepsilon
//! \sim \mathcal{N}(0, I)$` (Kingma & Welling, 2014), the KL in closed form. The noise
//! `$\varepsilon$` is an argument: fixed, the estimate is a smooth function of everything else
//! (gradient-checked); drawn afresh per batch, its gradient is an unbiased estimate of the gradient
//! of the expectation (checked in [`checks`](crate::multidomain::checks)).
//!
//! Every function reduces over the rows (axis 0, one object each) by a [`Reduction`]: the sum
//! is the ELBO of the whole batch, the mean (training) that divided by `B`.

use std::ops::Neg;

use autograd::functional::{gaussian_nll, kl, DiagGaussian, Reduction};
use autograd::{Float, Var};

use crate::{Error, Result};

/// The likelihood `p(x|z)` of a decoder, given its output for `z`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Likelihood {
    /// Bernoulli per pixel, the decoder's output being logits `l`: `$\log p(x|z) = \sum_j [x_j \log
    /// \sigma(l_j) + (1 - x_j) \log(1 - \sigma(l_j))] = \sum_j [x_j l_j -
    /// \mathrm{softplus}(l_j)]$`. S1's VAE uses it for pixel intensities `$x_j \in[0, 1]$`, as
    /// Kingma & Welling and the authors' code do: the intensity is read as the probability of a lit
    /// pixel. For intensities strictly inside `(0, 1)` this is a cross-entropy rather than a
    /// normalised density over `[0, 1]` (the continuous Bernoulli would add `log C(l)`); the
    /// reconstruction `$\sigma(l)$` is the decoder's mean image. Computed from the logits, so no
    /// clamp is needed (the authors clamp `$\sigma(l)$` to `[0.01, 0.99]`).
    Bernoulli,
    /// Gaussian with a fixed variance `$s^{2}$` (`log_variance = ln s²`), the decoder's output
    /// being the mean `m`: `$\log p(x|z) = -\tfrac{1}{2} \sum_j [\ln 2\pi + \ln s^{2} + (x_j -
    /// m_j)^{2} / s^{2}]$`. Used by the linear-Gaussian checks, where the ELBO and `log p(x)` have
    /// closed forms.
    Gaussian {
        /// `$\ln s^{2}$`.
        log_variance: f64,
    },
}

/// `$z = \mu + \exp(\tfrac{1}{2} \ln \sigma^{2}) \odot \varepsilon$`: a sample of `$q =
/// \mathcal{N}(\mu, \operatorname{diag} \sigma^{2})$` as a differentiable function of `q`'s mean
/// and log-variance, `$\varepsilon$` = `noise` (the shape of `q`'s mean).
pub fn reparameterize<'t, F: Float>(
    q: &DiagGaussian<'t, F>,
    noise: Var<'t, F>,
) -> Result<Var<'t, F>> {
    if noise.shape() != q.shape() {
        return Err(Error::config(
            "reparameterisation",
            format!(
                "the noise has shape {:?}, the distribution {:?}: they must agree",
                noise.shape(),
                q.shape()
            ),
        ));
    }
    Ok(q.mean()
        .try_add(q.log_var().mul_scalar(0.5).exp().try_mul(noise)?)?)
}

/// `$\log p(x_i|z_i)$` summed over the features `j` of every row `i`, reduced over the rows by
/// `reduction`: `decoded` is the decoder's output (`[B, d]`: logits or means, see
/// [`Likelihood`]), `target` is `x` (`[B, d]`, a constant).
pub fn log_likelihood<'t, F: Float>(
    decoded: Var<'t, F>,
    target: Var<'t, F>,
    likelihood: Likelihood,
    reduction: Reduction,
) -> Result<Var<'t, F>> {
    if decoded.shape() != target.shape() || decoded.ndim() != 2 {
        return Err(Error::config(
            "log-likelihood",
            format!(
                "the decoder output {:?} and the target {:?} must be one [B, d] shape",
                decoded.shape(),
                target.shape()
            ),
        ));
    }
    match likelihood {
        Likelihood::Bernoulli => {
            let terms = target.try_mul(decoded)?.try_sub(decoded.softplus())?;
            Ok(reduction.reduce(terms))
        }
        Likelihood::Gaussian { log_variance } => {
            if !log_variance.is_finite() {
                return Err(Error::config(
                    "Gaussian likelihood ln s²",
                    format!("must be finite, got {log_variance}"),
                ));
            }
            let s2 = decoded.tape().scalar(F::from_f64(log_variance));
            let dist = DiagGaussian::new(decoded, s2)?;
            Ok(gaussian_nll(&dist, target, reduction)?.neg())
        }
    }
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

/// The one-sample ELBO estimate, reduced over the rows by `reduction`:
///
/// `$\mathrm{ELBO} = R_i [\sum_t \log p(x_{t,i} | z_i) - \mathrm{KL} (\mathcal{N}(\mu_i,
/// \operatorname{diag} \sigma_i^{2}) \| \mathcal{N}(0, \sigma_p^{2} I))]$`, `$R_i$` = `$\sum_i$` or
/// `$\frac{1}{B} \sum_i$`,
///
/// with `$z_i$` the sample the decoders were given (from [`reparameterize`]), one
/// [`Reconstruction`] per decoder `t` (S1: the clothes image and its paired digit, both from the
/// same `$z_i$`), `$q = \mathcal{N}(\mu, \operatorname{diag} \sigma^{2})$` the encoder's output
/// (`[B, k]`), `$\sigma_p$` = `prior_std`. The KL is `kl(&q, &N(0, σ_p²), reduction)`:
/// `$\tfrac{1}{2} \sum_j [(\sigma_{ij}^{2} + \mu_{ij}^{2})/\sigma_p^{2} - 1 - \ln \sigma_{ij}^{2} +
/// \ln \sigma_p^{2}]$` per row.
pub fn elbo<'t, F: Float>(
    reconstructions: &[Reconstruction<'t, F>],
    q: &DiagGaussian<'t, F>,
    prior_std: f64,
    reduction: Reduction,
) -> Result<Var<'t, F>> {
    check_prior_std(prior_std)?;
    let rows = q.rows();
    if reconstructions.is_empty() || q.shape().len() != 2 || rows == 0 {
        return Err(Error::config(
            "ELBO",
            format!(
                "needs at least one reconstruction and a [B ≥ 1, k] encoder output, got {} and \
                 {:?}",
                reconstructions.len(),
                q.shape()
            ),
        ));
    }
    let tape = q.mean().tape();
    let prior = DiagGaussian::new(
        tape.scalar(F::zero()),
        tape.scalar(F::from_f64(2.0 * prior_std.ln())),
    )?;
    let mut total = kl(q, &prior, reduction)?.neg();
    for r in reconstructions {
        if r.decoded.shape().first() != Some(&rows) {
            return Err(Error::config(
                "ELBO",
                format!(
                    "a reconstruction has shape {:?}, the encoder {rows} rows",
                    r.decoded.shape()
                ),
            ));
        }
        total = total.try_add(log_likelihood(
            r.decoded,
            r.target,
            r.likelihood,
            reduction,
        )?)?;
    }
    Ok(total)
}

/// Checks `$\sigma_p$` finite and `> 0`.
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
