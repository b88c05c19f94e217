//! Neuron and layer removal: the closed-form conditional (both forms of the theorem) against
//! Monte-Carlo conditioning of samples from a random Gaussian.
//!
//! Monte-Carlo conditioning: for jointly Gaussian `(x', x'')`, `E[x' | x'']` is affine in `x''` and
//! the residual covariance does not depend on `x''`. So the ordinary least-squares fit of the kept
//! coordinates on `[1, x'']` over the samples estimates the conditional mean at `a` (the fit's
//! prediction) and the conditional covariance (the residuals' covariance), from sample moments only
//! — no use of the closed form — with standard errors from the same samples:
//! `$\mathrm{SE}(\operatorname{mean} _k) = \sqrt{\hat{\Sigma}_{kk} \cdot z_a^{\top}
//! (Z^{\top}Z)^{-1} z_a}$`, `$z_a = [1, a]$`, and, for the covariance (Wishart with `$\nu = N - 1 - |R|$`
//! degrees of freedom), `$\mathrm{SE}(\hat{\Sigma}_{ij}) = \sqrt{(\hat{\Sigma}_{ii}
//! \hat{\Sigma}_{jj} + \hat{\Sigma}_{ij}^{2})/\nu}$`.

use ndarray::{concatenate, Array1, Array2, Axis};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::{random_spd, sample_gaussian, CheckKind, CheckOutcome, Z_TOLERANCE};
use crate::bayes::alignment::{align, layer_offsets, Removal};
use crate::bayes::gaussian::{condition, DenseGaussian, Form};
use crate::bayes::linalg::{cholesky, to_faer, to_ndarray, Jitter};
use crate::{Error, Result};

/// The random Gaussian and the sample size.
#[derive(Clone, Debug, PartialEq)]
pub struct ConditioningMcConfig {
    /// The MLP whose weight vector is Gaussian. Default `[2, 3, 3, 1]` (18 weights, a square
    /// middle layer so that both removals apply).
    pub sizes: Vec<usize>,
    /// Monte-Carlo samples. Default 200,000 (standard errors ≈ 0.2–1.5 % of the conditional
    /// standard deviations).
    pub samples: usize,
    /// Seed of the Gaussian and of the samples. Default 17.
    pub seed: u64,
}

impl Default for ConditioningMcConfig {
    fn default() -> Self {
        ConditioningMcConfig {
            sizes: vec![2, 3, 3, 1],
            samples: 200_000,
            seed: 17,
        }
    }
}

/// The Monte-Carlo conditional: mean, covariance and their standard errors.
struct McConditional {
    mean: Array1<f64>,
    mean_se: Array1<f64>,
    cov: Array2<f64>,
    cov_se: Array2<f64>,
}

fn mc_conditional(
    samples: &Array2<f64>,
    kept: &[usize],
    removed: &[usize],
    a: &[f64],
) -> Result<McConditional> {
    let n = samples.nrows();
    let ones = Array2::ones((n, 1));
    let z = concatenate![Axis(1), ones, samples.select(Axis(1), removed)];
    let y = samples.select(Axis(1), kept);
    let ztz = to_faer(z.t().dot(&z).view());
    let chol = cholesky(&ztz, "ZᵀZ of the Monte-Carlo regression", Jitter::Never)?;
    let beta = to_ndarray(&chol.solve(&to_faer(z.t().dot(&y).view())));
    let resid = &y - &z.dot(&beta);
    let dof = (n - 1 - removed.len()) as f64;
    let cov = resid.t().dot(&resid) / dof;
    let mut za = vec![1.0];
    za.extend_from_slice(a);
    let za = Array1::from(za);
    let mean = za.dot(&beta);
    let leverage = za.dot(&crate::bayes::linalg::first_column(
        &chol.solve(&crate::bayes::linalg::column(za.iter().copied())),
    ));
    let k = kept.len();
    let mean_se = Array1::from_shape_fn(k, |i| (cov[[i, i]] * leverage).sqrt());
    let cov_se = Array2::from_shape_fn((k, k), |(i, j)| {
        ((cov[[i, i]] * cov[[j, j]] + cov[[i, j]].powi(2)) / dof).sqrt()
    });
    Ok(McConditional {
        mean,
        mean_se,
        cov,
        cov_se,
    })
}

/// The largest `$|\mathrm{closed} - \mathrm{mc}| / \mathrm{SE}$` over the mean and the covariance
/// entries.
fn worst_z(mean: &Array1<f64>, cov: &Array2<f64>, mc: &McConditional) -> (f64, f64) {
    let zm = mean
        .iter()
        .zip(&mc.mean)
        .zip(&mc.mean_se)
        .map(|((a, b), s)| (a - b).abs() / s)
        .fold(0.0, f64::max);
    let zc = cov
        .iter()
        .zip(&mc.cov)
        .zip(&mc.cov_se)
        .map(|((a, b), s)| (a - b).abs() / s)
        .fold(0.0, f64::max);
    // a NaN (a failed closed form) must not pass
    let nan = mean.iter().chain(cov.iter()).any(|v| v.is_nan());
    if nan {
        (f64::NAN, f64::NAN)
    } else {
        (zm, zc)
    }
}

/// Checks the conditioning theorem on the two removals of Bayesian distillation, each in
/// covariance and precision form, against Monte-Carlo conditioning (see the module
/// documentation): neuron removal `$\varphi$` (neuron 1 of the first hidden layer: its incoming row
/// and outgoing column conditioned on 0) and layer removal `$\psi$` (a neuron of each hidden
/// layer removed, then the now-square middle layer conditioned on `I`).
///
/// The Gaussian: mean `$\mathcal{N}(0, 0.5^{2})$` per coordinate, covariance `$B B^{\top}/d + 0.3
/// I$`. Measured: the largest standardised error `$|\mathrm{closed} - \mathrm{MC}| / \mathrm{SE}$`
/// over all mean and covariance entries of both forms; passes at ≤ [`Z_TOLERANCE`]. One outcome per
/// removal.
pub fn check_conditioning_mc(cfg: &ConditioningMcConfig) -> Result<Vec<CheckOutcome>> {
    if cfg.samples < 1000 || cfg.sizes.len() != 4 || cfg.sizes[2] < 2 {
        return Err(Error::config(
            "conditioning check",
            "needs ≥ 1000 samples and sizes [n0, n1, n2, n3] with n2 ≥ 2",
        ));
    }
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let sizes = &cfg.sizes;
    let d = layer_offsets(sizes).1;
    let mean: Array1<f64> = (0..d)
        .map(|_| 0.5 * rng.sample::<f64, _>(StandardNormal))
        .collect();
    let cov = random_spd(d, 0.3, &mut rng);
    let gaussian = DenseGaussian::new(mean.clone(), cov.clone(), Form::Covariance)?;
    let precision = gaussian.to_form(Form::Precision)?;
    let samples = sample_gaussian(&mean, &cov, cfg.samples, &mut rng)?;
    // make the middle layer square: shrink both hidden layers to min(n1, n2) − 1 ≥ 1
    let width = sizes[1].min(sizes[2]) - 1;
    let shrink = |h: usize| Removal::Neurons {
        layer: h,
        neurons: (width..sizes[h + 1]).collect(),
    };
    let cases = [
        (
            "neuron",
            "φ: neuron 1 of hidden layer 0 (row 1 of U_1, column 1 of U_2) conditioned on 0",
            vec![Removal::Neurons {
                layer: 0,
                neurons: vec![1],
            }],
        ),
        (
            "layer",
            "ψ: hidden layers shrunk to a square middle layer, which is conditioned on I",
            vec![shrink(0), shrink(1), Removal::Layer { layer: 1 }],
        ),
    ];
    let mut out = Vec::new();
    for (name, what, removals) in cases {
        let alignment = align(sizes, &removals, true)?;
        let (removed, values) = alignment.removed();
        let kept = alignment.kept();
        let mc = mc_conditional(&samples, &kept, &removed, &values)?;
        let values = Array1::from(values);
        let by_cov = condition(&gaussian, &removed, values.view(), Jitter::Never)?;
        let by_prec = condition(&precision, &removed, values.view(), Jitter::Never)?;
        let prec_as_cov = by_prec.gaussian.to_form(Form::Covariance)?;
        let (zm_c, zc_c) = worst_z(
            &by_cov.gaussian.mean,
            &to_ndarray(&by_cov.gaussian.matrix),
            &mc,
        );
        let (zm_p, zc_p) = worst_z(&prec_as_cov.mean, &to_ndarray(&prec_as_cov.matrix), &mc);
        let measured = [zm_c, zc_c, zm_p, zc_p].into_iter().fold(0.0, |a: f64, b| {
            if b.is_nan() {
                f64::NAN
            } else {
                a.max(b)
            }
        });
        let rel_se = mc
            .mean_se
            .iter()
            .zip(mc.cov.diag())
            .map(|(s, v)| s / v.sqrt())
            .fold(0.0, f64::max);
        let detail = format!(
            "{what}; {} teacher weights, {} removed, {} kept; {} samples\n\
             covariance form: max z {zm_c:.2} (mean), {zc_c:.2} (covariance)\n\
             precision form:  max z {zm_p:.2} (mean), {zc_p:.2} (covariance)\n\
             largest SE of a conditional mean: {rel_se:.3} conditional standard deviations\n\
             tolerance: {Z_TOLERANCE} standard errors per entry",
            d,
            removed.len(),
            kept.len(),
            cfg.samples
        );
        out.push(CheckOutcome {
            name: format!("bayes-conditioning-{name}"),
            kind: CheckKind::Property,
            statement: format!(
                "{name} removal: the conditional N(m' + Σ'_''Σ''⁻¹(a − m''), Σ' − \
                 Σ'_''Σ''⁻¹Σ''_') (and its precision form) = Monte-Carlo conditioning of samples"
            ),
            measured,
            tolerance: Z_TOLERANCE,
            passed: measured <= Z_TOLERANCE,
            detail,
        });
    }
    Ok(out)
}
