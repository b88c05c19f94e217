//! The ELBO is a lower bound on the log evidence, tight at the exact posterior: checked on
//! Bayesian linear regression with known noise, where every term is closed form.

use autograd::functional::{kl, DiagGaussian, Reduction};
use autograd::Tape;
use faer::Mat;
use ndarray::{Array1, Array2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::{CheckKind, CheckOutcome};
use crate::bayes::linalg::{cholesky, to_faer, to_ndarray, Jitter};
use crate::{Error, Result};

/// The regression problem and the `q` tried.
#[derive(Clone, Debug, PartialEq)]
pub struct ElboBoundConfig {
    /// Objects `n`.
    pub objects: usize,
    /// Weights `d`.
    pub dims: usize,
    /// `$s_n^{2}$`, the known noise variance.
    pub noise_variance: f64,
    /// `$s^{2}$`, the prior variance (the seed's 0.1).
    pub prior_variance: f64,
    /// Random `q` tried besides the exact posterior (perturbed means, diagonal covariances).
    pub trials: usize,
    /// The seed of the data and the trials.
    pub seed: u64,
}

impl Default for ElboBoundConfig {
    fn default() -> Self {
        ElboBoundConfig {
            objects: 30,
            dims: 3,
            noise_variance: 0.25,
            prior_variance: 0.1,
            trials: 20,
            seed: 0,
        }
    }
}

/// `$\mathrm{KL} (\mathcal{N}(m, S) \| \mathcal{N}(0, s^{2} I)) = \tfrac{1}{2} [\operatorname{tr} S
/// / s^{2} + \|m\|^{2} / s^{2} - d - \ln|S| + d \ln s^{2}]$` (full `S`).
fn kl_full(m: &Array1<f64>, s: &Array2<f64>, prior_variance: f64) -> Result<f64> {
    let d = m.len() as f64;
    let log_det = cholesky(&to_faer(s.view()), "q's covariance", Jitter::Never)?.log_det();
    Ok(0.5
        * (s.diag().sum() / prior_variance + m.dot(m) / prior_variance - d - log_det
            + d * prior_variance.ln()))
}

/// `$\mathbb{E}_q \log p(y | X, w) = -(n/2) \ln(2\pi s_n^{2}) - (\|y - X m\|^{2} +
/// \operatorname{tr} (X^{\top}X S)) / (2 s_n^{2})$`.
fn expected_log_lik(
    x: &Array2<f64>,
    y: &Array1<f64>,
    m: &Array1<f64>,
    s: &Array2<f64>,
    sn2: f64,
) -> f64 {
    let n = y.len() as f64;
    let r = y - &x.dot(m);
    let xtx = x.t().dot(x);
    let trace = (&xtx * s).sum();
    -0.5 * n * (2.0 * std::f64::consts::PI * sn2).ln() - (r.dot(&r) + trace) / (2.0 * sn2)
}

/// `$\mathrm{KL} (q \| p(w | D))$` between full Gaussians `N(m, S)` and `N(m*, S*)`.
fn kl_between(
    m: &Array1<f64>,
    s: &Array2<f64>,
    m_post: &Array1<f64>,
    precision_post: &Array2<f64>,
) -> Result<f64> {
    let d = m.len() as f64;
    let diff = m - m_post;
    let ld_s = cholesky(&to_faer(s.view()), "q's covariance", Jitter::Never)?.log_det();
    let ld_p = cholesky(
        &to_faer(precision_post.view()),
        "posterior precision",
        Jitter::Never,
    )?
    .log_det();
    Ok(0.5 * ((precision_post * s).sum() + diff.dot(&precision_post.dot(&diff)) - d - ld_s - ld_p))
}

/// For `$y = X w + \varepsilon$`, `$\varepsilon \sim \mathcal{N}(0, s_n^{2} I)$`, prior `$w \sim
/// \mathcal{N}(0, s^{2} I)$` (random `X`, `w`, `$\varepsilon$`): `log p(D) = log N(y; 0, s_n² I +
/// s² X Xᵀ)` (Cholesky of the `$n \times n$` covariance) against `$\mathrm{ELBO}(q) = \mathbb{E}_q
/// \log p(y | X, w) - \mathrm{KL} (q \| p)$`.
///
/// Two outcomes: (1) at the exact posterior `$q^{*} = \mathcal{N}(m^{*}, S^{*})$`, `$S^{*} =
/// (X^{\top}X/s_n^{2} + I/s^{2})^{-1}$`, `$m^{*} = S^{*} X^{\top}y / s_n^{2}$`,
/// `$|\mathrm{ELBO}(q^{*}) - \log p(D)| \le 1e-9 (1 + |\log p(D)|)$` (f64 round-off of a few dozen
/// terms); (2) for the best mean-field `q` (posterior mean, `$S = \operatorname{diag}
/// (1/\Lambda^{*}_{jj})$`) and `trials` random diagonal `q`, `ELBO(q) < log p(D)`, and the gap
/// equals `$\mathrm{KL} (q \| p(w | D))$` to the same tolerance (so a wrong ELBO term cannot pass
/// by luck). The KL of the diagonal `q` to the prior is the engine's [`kl`] of [`DiagGaussian`]s.
pub fn check_elbo_bound(cfg: &ElboBoundConfig) -> Result<Vec<CheckOutcome>> {
    let (n, d) = (cfg.objects, cfg.dims);
    if n == 0 || d == 0 || !(cfg.noise_variance > 0.0 && cfg.prior_variance > 0.0) {
        return Err(Error::config(
            "ELBO check",
            "needs n, d ≥ 1 and positive variances",
        ));
    }
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut normal = || rng.sample::<f64, _>(StandardNormal);
    let x = Array2::from_shape_simple_fn((n, d), &mut normal);
    let w = Array1::from_shape_simple_fn(d, &mut normal) * cfg.prior_variance.sqrt();
    let noise = Array1::from_shape_simple_fn(n, &mut normal) * cfg.noise_variance.sqrt();
    let y = x.dot(&w) + noise;
    let (sn2, s2) = (cfg.noise_variance, cfg.prior_variance);

    // log p(D)
    let cov = Array2::eye(n) * sn2 + x.dot(&x.t()) * s2;
    let chol = cholesky(
        &to_faer(cov.view()),
        "the evidence covariance",
        Jitter::Never,
    )?;
    let alpha = chol.solve(&Mat::from_fn(n, 1, |i, _| y[i]));
    let quad: f64 = (0..n).map(|i| y[i] * alpha[(i, 0)]).sum();
    let log_evidence =
        -0.5 * (quad + chol.log_det() + n as f64 * (2.0 * std::f64::consts::PI).ln());

    // the exact posterior
    let precision = x.t().dot(&x) / sn2 + Array2::<f64>::eye(d) / s2;
    let pchol = cholesky(
        &to_faer(precision.view()),
        "the posterior precision",
        Jitter::Never,
    )?;
    let s_post = to_ndarray(&pchol.solve(&Mat::<f64>::identity(d, d)));
    let m_post = s_post.dot(&x.t().dot(&y)) / sn2;
    let elbo_post =
        expected_log_lik(&x, &y, &m_post, &s_post, sn2) - kl_full(&m_post, &s_post, s2)?;
    let tol = 1e-9 * (1.0 + log_evidence.abs());
    let equality = (elbo_post - log_evidence).abs();

    // diagonal q: the best mean-field one, then random ones
    let mut tried: Vec<(Array1<f64>, Array1<f64>)> =
        vec![(m_post.clone(), precision.diag().mapv(|p| 1.0 / p))];
    let mut rng = StdRng::seed_from_u64(cfg.seed ^ 0x5eed);
    for _ in 0..cfg.trials {
        let m = &m_post
            + &Array1::from_shape_simple_fn(d, || 0.3 * rng.sample::<f64, _>(StandardNormal));
        let v = Array1::from_shape_simple_fn(d, || (rng.gen_range(-6.0..0.0f64)).exp());
        tried.push((m, v));
    }
    let mut worst_gap = f64::NEG_INFINITY; // max of ELBO(q) − log p(D): must be < 0
    let mut worst_identity = 0.0f64; // max |gap − KL(q ‖ posterior)|
    let mut lines = String::new();
    for (i, (m, v)) in tried.iter().enumerate() {
        let s = Array2::from_diag(v);
        let kl_prior = {
            let tape = Tape::<f64>::new();
            let q = DiagGaussian::new(tape.constant(m.clone()), tape.constant(v.mapv(f64::ln)))?;
            let p = DiagGaussian::new(tape.scalar(0.0), tape.scalar(s2.ln()))?;
            kl(&q, &p, Reduction::Sum)?.item().unwrap_or(f64::NAN)
        };
        let elbo = expected_log_lik(&x, &y, m, &s, sn2) - kl_prior;
        let gap = log_evidence - elbo;
        let identity = (gap - kl_between(m, &s, &m_post, &precision)?).abs();
        worst_gap = worst_gap.max(elbo - log_evidence);
        worst_identity = worst_identity.max(if identity.is_nan() {
            f64::INFINITY
        } else {
            identity
        });
        if i < 4 {
            lines.push_str(&format!(
                "q{i}{}: ELBO {elbo:.6}, gap {gap:.3e}, |gap − KL(q‖posterior)| {identity:.1e}\n",
                if i == 0 { " (best mean-field)" } else { "" }
            ));
        }
    }
    let bound_holds = worst_gap < 0.0 && worst_identity <= tol;
    Ok(vec![
        CheckOutcome {
            name: "s2-elbo-tight-at-posterior".into(),
            kind: CheckKind::Property,
            statement: "Bayesian linear regression, known noise: ELBO(q*) = log p(D) at the \
                        exact posterior q*"
                .into(),
            measured: equality,
            tolerance: tol,
            passed: equality <= tol,
            detail: format!(
                "n = {n}, d = {d}, s_n² = {sn2}, s² = {s2}: log p(D) = {log_evidence:.10}, \
                 ELBO(q*) = {elbo_post:.10}; tolerance 1e-9·(1 + |log p(D)|), f64 round-off"
            ),
        },
        CheckOutcome {
            name: "s2-elbo-lower-bound".into(),
            kind: CheckKind::Property,
            statement: "ELBO(q) < log p(D) for every other q tried, by exactly KL(q ‖ p(w|D))"
                .into(),
            measured: worst_identity,
            tolerance: tol,
            passed: bound_holds,
            detail: format!(
                "{} diagonal q (the best mean-field one and {} random): max ELBO(q) − log p(D) \
                 = {worst_gap:.3e} (must be < 0); measured: max |gap − KL(q ‖ posterior)|\n{lines}",
                tried.len(),
                cfg.trials
            ),
        },
    ])
}
