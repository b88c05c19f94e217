//! The closed-form KL of diagonal Gaussians against a Monte-Carlo estimate.

use autograd::functional::{kl, DiagGaussian, Reduction};
use autograd::Tape;
use ndarray::Array1;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::{CheckKind, CheckOutcome};
use crate::bayes::checks::Z_TOLERANCE;
use crate::{Error, Result};

/// The sizes of the check.
#[derive(Clone, Debug, PartialEq)]
pub struct DiagKlMcConfig {
    /// Coordinates of each Gaussian.
    pub dims: usize,
    /// Random pairs `(q, p)`.
    pub pairs: usize,
    /// Draws `$w \sim q$` per pair.
    pub samples: usize,
    /// The seed.
    pub seed: u64,
}

impl Default for DiagKlMcConfig {
    fn default() -> Self {
        DiagKlMcConfig {
            dims: 5,
            pairs: 4,
            samples: 100_000,
            seed: 0,
        }
    }
}

/// `ln N(w; μ, diag e^ρ)`.
fn log_density(w: &Array1<f64>, mu: &Array1<f64>, rho: &Array1<f64>) -> f64 {
    let ln_2pi = (2.0 * std::f64::consts::PI).ln();
    w.iter()
        .zip(mu)
        .zip(rho)
        .map(|((w, m), r)| -0.5 * (ln_2pi + r + (w - m).powi(2) * (-r).exp()))
        .sum()
}

/// For `pairs` random `$q = \mathcal{N}(\mu_q, \operatorname{diag} e^{\rho_q})$`, `$p =
/// \mathcal{N}(\mu_p, \operatorname{diag} e^{\rho_p})$`: the engine's [`kl`]`(&q, &p,
/// Reduction::Sum)` against the mean of `$\ln q(w) - \ln p(w)$` over `samples` draws `$w \sim q$`.
/// Measured: the largest `$|\mathrm{closed} - \mathrm{MC}| / \mathrm{SE}$`, `SE` the sample
/// standard deviation over `$\sqrt{\mathrm{samples}}$`; passes at ≤ [`Z_TOLERANCE`].
pub fn check_diag_kl_mc(cfg: &DiagKlMcConfig) -> Result<CheckOutcome> {
    if cfg.samples < 100 || cfg.dims == 0 || cfg.pairs == 0 {
        return Err(Error::config(
            "diagonal KL check",
            "needs ≥ 100 samples, ≥ 1 dimension and ≥ 1 pair",
        ));
    }
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut worst = 0.0f64;
    let mut detail = String::new();
    for pair in 0..cfg.pairs {
        let mut draw = |scale: f64, shift: f64| {
            Array1::from_shape_simple_fn(cfg.dims, || {
                shift + scale * rng.sample::<f64, _>(StandardNormal)
            })
        };
        let (mu_q, rho_q, mu_p, rho_p) = (
            draw(1.0, 0.0),
            draw(0.5, -1.0),
            draw(1.0, 0.0),
            draw(0.5, 0.0),
        );
        let closed = {
            let tape = Tape::<f64>::new();
            let q = DiagGaussian::new(tape.constant(mu_q.clone()), tape.constant(rho_q.clone()))?;
            let p = DiagGaussian::new(tape.constant(mu_p.clone()), tape.constant(rho_p.clone()))?;
            kl(&q, &p, Reduction::Sum)?.item().unwrap_or(f64::NAN)
        };
        let sd_q = rho_q.mapv(|r| (0.5 * r).exp());
        let (mut sum, mut sum2) = (0.0, 0.0);
        for _ in 0..cfg.samples {
            let eps =
                Array1::from_shape_simple_fn(cfg.dims, || rng.sample::<f64, _>(StandardNormal));
            let w = &mu_q + &(&sd_q * &eps);
            let v = log_density(&w, &mu_q, &rho_q) - log_density(&w, &mu_p, &rho_p);
            sum += v;
            sum2 += v * v;
        }
        let m = cfg.samples as f64;
        let mean = sum / m;
        let se = ((sum2 / m - mean * mean).max(0.0) / (m - 1.0)).sqrt();
        let z = (closed - mean).abs() / se;
        worst = worst.max(if z.is_nan() { f64::INFINITY } else { z });
        detail.push_str(&format!(
            "pair {pair}: closed form {closed:.6}, Monte-Carlo {mean:.6} ± {se:.1e} (z = {z:.2})\n"
        ));
    }
    Ok(CheckOutcome {
        name: "s2-diag-kl-monte-carlo".into(),
        kind: CheckKind::Property,
        statement: "KL(q ‖ p) of diagonal Gaussians (closed form, the engine's kl) = \
                    Monte-Carlo E_q[ln q − ln p]"
            .into(),
        measured: worst,
        tolerance: Z_TOLERANCE,
        passed: worst <= Z_TOLERANCE,
        detail: format!(
            "{} pairs in {} dimensions, {} draws each; tolerance {} standard errors\n{detail}",
            cfg.pairs, cfg.dims, cfg.samples, Z_TOLERANCE
        ),
    })
}
