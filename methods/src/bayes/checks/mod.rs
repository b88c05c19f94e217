//! Numerical checks of Bayesian distillation's closed forms, as library functions returning
//! [`CheckOutcome`]s (for `distillery verify` and the tests).
//!
//! ```text
//! conditioning   neuron and layer removal: the conditional mean and covariance of the theorem
//!                (covariance and precision forms) = Monte-Carlo conditioning of samples
//! kfac           matrix-normal conditioning in factors = the dense theorem on U ⊗ V, and the
//!                K-FAC aligned prior = the dense aligned prior of the block-Kronecker matrix
//! laplace_blr    for Bayesian linear regression the Laplace posterior (Hessian, GGN; full,
//!                diagonal, K-FAC) is the exact posterior
//! kl_mc          KL(q ‖ p) for full, diagonal and K-FAC priors = Monte-Carlo E_q[ln q − ln p]
//! ```
//!
//! Monte-Carlo tolerances come from the sample size: a closed form passes when it lies within
//! [`Z_TOLERANCE`] standard errors of the estimate, the standard errors computed from the
//! same samples.

pub mod conditioning;
pub mod kfac;
pub mod kl_mc;
pub mod laplace_blr;

use faer::Mat;
use ndarray::{Array1, Array2};
use rand::Rng;
use rand_distr::StandardNormal;

pub use crate::distill::checks::{CheckKind, CheckOutcome};
pub use conditioning::{check_conditioning_mc, ConditioningMcConfig};
pub use kfac::{check_kfac_conditioning, KfacCheckConfig};
pub use kl_mc::{check_kl_mc, KlMcConfig};
pub use laplace_blr::{check_laplace_blr, LaplaceBlrConfig};

use super::linalg::{cholesky, Jitter};
use crate::Result;

/// Monte-Carlo checks pass when `|closed form − estimate| ≤ 5` standard errors for every compared
/// entry: with a few dozen entries per check, a correct closed form fails with probability
/// `$\approx 30 \cdot 5.7e-7 \approx 2e-5$` (the seeds are fixed, so the verdict is reproducible),
/// while an error of a few standard errors is caught.
pub const Z_TOLERANCE: f64 = 5.0;

/// A random symmetric positive-definite `$n \times n$` matrix `$B B^{\top} / n + \mathrm{shift}
/// \cdot I$` (`B` standard normal): eigenvalues in about `[shift, 4 + shift]`.
pub fn random_spd(n: usize, shift: f64, rng: &mut impl Rng) -> Mat<f64> {
    let b = Mat::from_fn(n, n, |_, _| rng.sample::<f64, _>(StandardNormal));
    let mut a = &b * b.transpose();
    for j in 0..n {
        for i in 0..n {
            a[(i, j)] /= n as f64;
        }
        a[(j, j)] += shift;
    }
    a
}

/// `n` samples (rows) of `N(mean, cov)`: `$x = m + L z$`, `$\mathrm{cov} = L L^{\top}$`.
pub fn sample_gaussian(
    mean: &Array1<f64>,
    cov: &Mat<f64>,
    n: usize,
    rng: &mut impl Rng,
) -> Result<Array2<f64>> {
    let d = mean.len();
    let chol = cholesky(cov, "the sampled covariance", Jitter::Never)?;
    let l = chol.L();
    let mut out = Array2::zeros((n, d));
    let mut z = vec![0.0; d];
    for mut row in out.rows_mut() {
        z.iter_mut()
            .for_each(|v| *v = rng.sample::<f64, _>(StandardNormal));
        for i in 0..d {
            row[i] = mean[i] + (0..=i).map(|k| l[(i, k)] * z[k]).sum::<f64>();
        }
    }
    Ok(out)
}

/// Every check of this module with its default configuration, in the order of the module
/// documentation. Takes a few seconds (the Monte-Carlo samples dominate).
pub fn run_all() -> Result<Vec<CheckOutcome>> {
    let mut out = check_conditioning_mc(&ConditioningMcConfig::default())?;
    out.push(check_kfac_conditioning(&KfacCheckConfig::default())?);
    out.push(check_laplace_blr(&LaplaceBlrConfig::default())?);
    out.extend(check_kl_mc(&KlMcConfig::default())?);
    Ok(out)
}
