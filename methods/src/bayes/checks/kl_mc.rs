//! The exact `$\mathrm{KL} (q \| p)$` (mean-field `q`; full, diagonal and K-FAC `p`) against
//! Monte-Carlo estimates of `$\mathbb{E}_q[\ln q(w) - \ln p(w)]$`.

use std::f64::consts::PI;

use autograd::Tape;
use faer::Mat;
use ndarray::{Array1, Array2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::{random_spd, CheckKind, CheckOutcome, Z_TOLERANCE};
use crate::bayes::gaussian::{DenseGaussian, DiagGaussian, Form};
use crate::bayes::kl::{kl_divergence, MeanField, PreparedPrior};
use crate::bayes::linalg::{cholesky, quadratic_form, Jitter};
use crate::bayes::matrix_normal::MatrixNormal;
use crate::bayes::posterior::{Structured, WeightGaussian};
use crate::{Error, Result};

/// The random instances and the sample size.
#[derive(Clone, Debug, PartialEq)]
pub struct KlMcConfig {
    /// The network the Gaussians are over. Default `[3, 4, 2]` (20 weights).
    pub sizes: Vec<usize>,
    /// Monte-Carlo samples. Default 200,000.
    pub samples: usize,
    /// Seed. Default 23.
    pub seed: u64,
}

impl Default for KlMcConfig {
    fn default() -> Self {
        KlMcConfig {
            sizes: vec![3, 4, 2],
            samples: 200_000,
            seed: 23,
        }
    }
}

/// One prior per structure: random means, precisions `$\mathrm{BB}^{\top}/n + I/2$` (full and K-FAC
/// factors), `U[0.5, 3)` (diagonal).
fn random_priors(sizes: &[usize], rng: &mut StdRng) -> Result<Vec<WeightGaussian>> {
    let d: usize = sizes.windows(2).map(|w| w[0] * w[1]).sum();
    let mean: Array1<f64> = (0..d)
        .map(|_| 0.5 * rng.sample::<f64, _>(StandardNormal))
        .collect();
    let full = DenseGaussian::new(mean.clone(), random_spd(d, 0.5, rng), Form::Precision)?;
    let diag = DiagGaussian::new(mean, (0..d).map(|_| rng.gen_range(0.5..3.0)).collect())?;
    let mut layers = Vec::new();
    for w in sizes.windows(2) {
        let (r, c) = (w[1], w[0]);
        let m = Array2::from_shape_simple_fn((r, c), || 0.5 * rng.sample::<f64, _>(StandardNormal));
        layers.push(MatrixNormal::new(
            m,
            random_spd(r, 0.5, rng),
            random_spd(c, 0.5, rng),
            Form::Precision,
        )?);
    }
    Ok(vec![
        WeightGaussian::new(sizes.to_vec(), Structured::Full(full))?,
        WeightGaussian::new(sizes.to_vec(), Structured::Diagonal(diag))?,
        WeightGaussian::new(sizes.to_vec(), Structured::Kfac(layers))?,
    ])
}

/// For each prior structure, a random mean-field `q` (means `$\mathcal{N}(0, 0.7^{2})$`,
/// log-variances `$\mathcal{N}(-1, 0.3^{2})$`) and `$\mathrm{KL} (q \| p)$` from [`kl_divergence`]
/// (the structured closed form, on a tape) against the Monte-Carlo mean of `$\ln q(w) - \ln p(w)$`
/// over `samples` draws `$w \sim q$`, with `ln p` from the prior densified (`$P \otimes Q$` blocks
/// for K-FAC) and factored by Cholesky — independent of the structured formulas. Measured:
/// `$|\mathrm{closed} - \mathrm{MC}| / \mathrm{SE}$`, `SE` the sample standard deviation over
/// `$\sqrt{\mathrm{samples}}$`; passes at ≤ [`Z_TOLERANCE`]. One outcome per structure.
pub fn check_kl_mc(cfg: &KlMcConfig) -> Result<Vec<CheckOutcome>> {
    if cfg.samples < 100 || cfg.sizes.len() < 2 {
        return Err(Error::config(
            "KL check",
            "needs ≥ 100 samples and ≥ 2 sizes",
        ));
    }
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let sizes = &cfg.sizes;
    let priors = random_priors(sizes, &mut rng)?;
    let shapes: Vec<(usize, usize)> = sizes.windows(2).map(|w| (w[1], w[0])).collect();
    let means: Vec<Array2<f64>> = shapes
        .iter()
        .map(|&s| Array2::from_shape_simple_fn(s, || 0.7 * rng.sample::<f64, _>(StandardNormal)))
        .collect();
    let log_vars: Vec<Array2<f64>> = shapes
        .iter()
        .map(|&s| {
            Array2::from_shape_simple_fn(s, || -1.0 + 0.3 * rng.sample::<f64, _>(StandardNormal))
        })
        .collect();
    let mu: Array1<f64> = means.iter().flat_map(|m| m.iter().copied()).collect();
    let rho: Array1<f64> = log_vars.iter().flat_map(|m| m.iter().copied()).collect();
    let sd = rho.mapv(|r| (0.5 * r).exp());
    let d = mu.len();
    let mut out = Vec::new();
    for prior in &priors {
        let closed = {
            let tape = Tape::<f64>::new();
            let q = MeanField {
                means: means.iter().map(|m| tape.constant(m.view())).collect(),
                log_vars: log_vars.iter().map(|m| tape.constant(m.view())).collect(),
            };
            kl_divergence(&q, &PreparedPrior::new(prior)?)?
                .item()
                .expect("a scalar")
        };
        let dense = prior.to_dense(Form::Precision)?;
        let log_det = cholesky(
            &dense.matrix,
            "the densified prior precision",
            Jitter::Never,
        )?
        .log_det();
        let precision: Mat<f64> = dense.matrix;
        let (mut sum, mut sum_sq) = (0.0, 0.0);
        let mut w = Array1::<f64>::zeros(d);
        for _ in 0..cfg.samples {
            let mut log_q = 0.0;
            for j in 0..d {
                let z: f64 = rng.sample(StandardNormal);
                w[j] = mu[j] + sd[j] * z;
                log_q += -0.5 * (2.0 * PI).ln() - 0.5 * rho[j] - 0.5 * z * z;
            }
            let delta = &w - &dense.mean;
            let log_p = 0.5 * log_det
                - 0.5 * d as f64 * (2.0 * PI).ln()
                - 0.5 * quadratic_form(&precision, delta.view());
            let v = log_q - log_p;
            sum += v;
            sum_sq += v * v;
        }
        let n = cfg.samples as f64;
        let mc = sum / n;
        let se = ((sum_sq / n - mc * mc).max(0.0) * n / (n - 1.0) / n).sqrt();
        let z = (closed - mc).abs() / se;
        let name = prior.structure_name();
        out.push(CheckOutcome {
            name: format!("bayes-kl-{name}"),
            kind: CheckKind::Property,
            statement: format!(
                "KL(q ‖ p) in closed form (mean-field q, {name} prior p, through the factors) = \
                 the Monte-Carlo E_q[ln q − ln p]"
            ),
            measured: z,
            tolerance: Z_TOLERANCE,
            passed: z <= Z_TOLERANCE,
            detail: format!(
                "{d} weights {sizes:?}: closed form {closed:.6}, Monte Carlo {mc:.6} ± {se:.2e} \
                 (SE, {} samples); |difference| = {z:.2} SE; tolerance {Z_TOLERANCE} SE",
                cfg.samples
            ),
        });
    }
    Ok(out)
}
