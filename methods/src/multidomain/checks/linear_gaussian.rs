//! The ELBO of our VAE code on a linear-Gaussian model, where everything has a closed form.
//!
//! Model: `$p(z) = \mathcal{N}(0, \sigma_p^{2} I_k)$`, `$p(x|z) = \mathcal{N}(W z + b, s^{2}
//! I_d)$`; encoder output `q(z|x) = N(m, diag v)`. Then
//!
//! * `p(x) = N(x; b, C)`, `$C = \sigma_p^{2} W W^{\top} + s^{2} I$`;
//! * the posterior is `$p(z|x) = \mathcal{N}(\mu^{*}, P^{-1})$`, `$P = I/\sigma_p^{2} +
//!   W^{\top}W/s^{2}$`, `$\mu^{*} = P^{-1} W^{\top}(x - b)/s^{2}$`;
//! * `$\log p(x) - \mathrm{ELBO}(q) = \mathrm{KL} (q \| p(z|x)) = \tfrac{1}{2} [\operatorname{tr}
//!   (P \operatorname{diag} v) + (\mu^{*} - m)^{\top} P (\mu^{*} - m) - k - \sum_j \ln v_j - \ln
//!   \det P] \ge 0$`, zero exactly when `q` is the posterior (possible for a diagonal `q` when
//!   `$W^{\top}W$` is diagonal, i.e. `W` has orthogonal columns);
//! * `$\mathrm{ELBO}(m, v, W, b) = -(d/2) \ln(2\pi s^{2}) - [\|r\|^{2} + \sum_j v_j
//!   \|W_j\|^{2}]/(2s^{2})
//!    - \tfrac{1}{2} \sum_j [(v_j + m_j^{2})/\sigma_p^{2} - 1 - \ln v_j + \ln \sigma_p^{2}]$`, `$r =
//!      x - W m - b$`, with gradients `$\partial m = W^{\top}r/s^{2} - m/\sigma_p^{2}$`,
//!      `$\partial(\ln v_j) = \tfrac{1}{2} - v_j \|W_j\|^{2}/(2s^{2}) - v_j/(2\sigma_p^{2})$`,
//!      `$\partial W = (r m^{\top} - W \operatorname{diag} v)/s^{2}$`, `$\partial b = r/s^{2}$`.
//!
//! Our ELBO ([`elbo()`] with [`Likelihood::Gaussian`], the linear decoder on the tape) is a
//! one-sample estimate, a quadratic polynomial in the noise `$\varepsilon$`. Its average over the
//! `2k` sigma points `$\varepsilon = \pm \sqrt{k} e_j$` (mean 0, covariance `I`, as the standard
//! normal) is therefore its expectation **exactly**: the checks compare that average with `log
//! p(x)` and the KL above, and the average of the reparameterised gradients over Monte-Carlo draws
//! of `$\varepsilon$` with the gradient formulas above.

use autograd::functional::{DiagGaussian, Reduction};
use autograd::Tape;
use ndarray::{Array1, Array2, Axis};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use crate::distill::checks::{CheckKind, CheckOutcome};
use crate::multidomain::vae::{elbo, reparameterize, Likelihood, Reconstruction};
use crate::{Error, Result};

/// The sizes, the random instances and the tolerances of the linear-Gaussian checks.
#[derive(Clone, Debug, PartialEq)]
pub struct LinearGaussianConfig {
    /// Random instances (model, data point, encoder output). Default 8.
    pub instances: usize,
    /// `d`, the observed dimension. Default 6.
    pub observed: usize,
    /// `k`, the latent dimension. Default 3.
    pub latent: usize,
    /// `$s^{2}$`, the decoder's noise variance. Default 0.5.
    pub noise_variance: f64,
    /// `$\sigma_p$`, the prior's standard deviation. Default 1.3 (not 1, so that a dropped
    /// `$\sigma_p$` shows).
    pub prior_std: f64,
    /// Seed of the instances and of the Monte-Carlo draws. Default 2014 (Kingma & Welling).
    pub seed: u64,
    /// Tolerance of the closed-form identities, relative to `max(1, |log p(x)|)`. Default
    /// 1e-10: every quantity is a sum of a few dozen f64 terms of order ≤ 10², so rounding is
    /// ≲ 1e-13 — the tolerance leaves a factor ≈ 10³, and a missing term is off by O(1).
    pub tolerance: f64,
    /// Monte-Carlo draws of `$\varepsilon$` for the gradient check. Default 4,000.
    pub gradient_samples: usize,
    /// The largest allowed `$|\operatorname{mean} - \mathrm{exact}| / (\mathrm{sd}/\sqrt{N})$` over
    /// the gradient's coordinates. Default 5: with `$k + k + d\cdot k + d = 30$` coordinates the
    /// chance that an unbiased estimator exceeds it anywhere is ≈ 30 × 5.7e-7 ≈ 2e-5, while a bias
    /// of 10% of a coordinate's size is ≳ 10 standard errors at N = 4,000.
    pub z_limit: f64,
}

impl Default for LinearGaussianConfig {
    fn default() -> Self {
        LinearGaussianConfig {
            instances: 8,
            observed: 6,
            latent: 3,
            noise_variance: 0.5,
            prior_std: 1.3,
            seed: 2014,
            tolerance: 1e-10,
            gradient_samples: 4_000,
            z_limit: 5.0,
        }
    }
}

impl LinearGaussianConfig {
    fn validate(&self) -> Result<()> {
        if self.instances == 0 || self.observed == 0 || self.latent == 0 {
            return Err(Error::config(
                "linear-Gaussian check",
                "instances, observed and latent sizes must be ≥ 1",
            ));
        }
        if self.gradient_samples < 2 {
            return Err(Error::config(
                "linear-Gaussian check",
                "needs at least 2 Monte-Carlo samples",
            ));
        }
        if !(self.noise_variance > 0.0 && self.prior_std > 0.0) {
            return Err(Error::config(
                "linear-Gaussian check",
                "s² and σ_p must be > 0",
            ));
        }
        Ok(())
    }
}

/// One linear-Gaussian model, a data point and an encoder output.
#[derive(Clone, Debug)]
pub struct Instance {
    /// `W`, `$d \times k$`.
    pub w: Array2<f64>,
    /// `b`, `d`.
    pub b: Array1<f64>,
    /// `x`, `d`.
    pub x: Array1<f64>,
    /// `m`, the encoder's mean, `k`.
    pub m: Array1<f64>,
    /// `ln v`, the encoder's log-variances, `k`.
    pub log_v: Array1<f64>,
}

/// Draws `$W \sim \mathcal{N}(0, 1)$` (with orthonormalised columns scaled by `U[0.5, 2]` when
/// `orthogonal`), `$b \sim \mathcal{N}(0, 1)$`, `x` from the model, `$m \sim \mathcal{N}(0, 1)$`,
/// `$\ln v \sim U[-2, 0.5]$`.
fn draw(c: &LinearGaussianConfig, orthogonal: bool, rng: &mut StdRng) -> Instance {
    let (d, k) = (c.observed, c.latent);
    let mut normal = |n: usize| Array1::from_shape_simple_fn(n, || rng.sample(StandardNormal));
    let mut w = Array2::from_shape_vec((d, k), normal(d * k).to_vec()).expect("d·k values");
    let b = normal(d);
    let z = normal(k).mapv(|v: f64| v * c.prior_std);
    let noise = normal(d).mapv(|v: f64| v * c.noise_variance.sqrt());
    let m = normal(k);
    if orthogonal {
        gram_schmidt(&mut w);
        for mut col in w.columns_mut() {
            let scale = rng.gen_range(0.5..2.0);
            col.mapv_inplace(|v| v * scale);
        }
    }
    let x = w.dot(&z) + &b + noise;
    let log_v = Array1::from_shape_simple_fn(k, || rng.gen_range(-2.0..0.5));
    Instance { w, b, x, m, log_v }
}

/// Orthonormalises the columns of `w` in place (classical Gram–Schmidt, twice for stability).
fn gram_schmidt(w: &mut Array2<f64>) {
    for _ in 0..2 {
        for j in 0..w.ncols() {
            for i in 0..j {
                let proj = w.column(i).dot(&w.column(j));
                let ci = w.column(i).to_owned();
                w.column_mut(j).scaled_add(-proj, &ci);
            }
            let norm = w.column(j).dot(&w.column(j)).sqrt();
            w.column_mut(j).mapv_inplace(|v| v / norm);
        }
    }
}

/// The lower Cholesky factor of a symmetric positive definite matrix.
fn cholesky(a: &Array2<f64>) -> Result<Array2<f64>> {
    let n = a.nrows();
    let mut l = Array2::<f64>::zeros((n, n));
    for i in 0..n {
        for j in 0..=i {
            let s: f64 = (0..j).map(|p| l[[i, p]] * l[[j, p]]).sum();
            if i == j {
                let pivot = a[[i, i]] - s;
                if pivot <= 0.0 {
                    return Err(Error::Singular {
                        op: "linear-Gaussian check",
                        reason: format!("pivot {i} is {pivot}"),
                    });
                }
                l[[i, i]] = pivot.sqrt();
            } else {
                l[[i, j]] = (a[[i, j]] - s) / l[[j, j]];
            }
        }
    }
    Ok(l)
}

/// `$A^{-1} y$` for `$A = L L^{\top}$`.
fn cholesky_solve(l: &Array2<f64>, y: &Array1<f64>) -> Array1<f64> {
    let n = l.nrows();
    let mut u = y.clone();
    for i in 0..n {
        u[i] = (u[i] - (0..i).map(|p| l[[i, p]] * u[p]).sum::<f64>()) / l[[i, i]];
    }
    for i in (0..n).rev() {
        u[i] = (u[i] - (i + 1..n).map(|p| l[[p, i]] * u[p]).sum::<f64>()) / l[[i, i]];
    }
    u
}

/// The closed forms of one instance.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ClosedForms {
    /// `log p(x)`.
    pub log_evidence: f64,
    /// `$\mathrm{KL} (q \| p(z|x))$`.
    pub kl_to_posterior: f64,
    /// The exact ELBO from the formula of the module documentation.
    pub elbo: f64,
}

/// `log p(x)`, `$\mathrm{KL} (q \| p(z|x))$` and the ELBO formula for `inst` (see the module
/// documentation).
pub fn closed_forms(inst: &Instance, c: &LinearGaussianConfig) -> Result<ClosedForms> {
    let (d, k) = (c.observed, c.latent);
    let (s2, p2) = (c.noise_variance, c.prior_std * c.prior_std);
    let cov = inst.w.dot(&inst.w.t()) * p2 + Array2::<f64>::eye(d) * s2;
    let l = cholesky(&cov)?;
    let centred = &inst.x - &inst.b;
    let quad = centred.dot(&cholesky_solve(&l, &centred));
    let log_det = 2.0 * l.diag().iter().map(|v| v.ln()).sum::<f64>();
    let log_evidence = -0.5 * (d as f64 * (2.0 * std::f64::consts::PI).ln() + log_det + quad);

    let precision = inst.w.t().dot(&inst.w) / s2 + Array2::<f64>::eye(k) / p2;
    let lp = cholesky(&precision)?;
    let post_mean = cholesky_solve(&lp, &inst.w.t().dot(&centred).mapv(|v| v / s2));
    let v = inst.log_v.mapv(f64::exp);
    let diff = &post_mean - &inst.m;
    let trace: f64 = (0..k).map(|j| precision[[j, j]] * v[j]).sum();
    let log_det_p = 2.0 * lp.diag().iter().map(|v| v.ln()).sum::<f64>();
    let kl_to_posterior =
        0.5 * (trace + diff.dot(&precision.dot(&diff)) - k as f64 - inst.log_v.sum() - log_det_p);

    let r = &centred - &inst.w.dot(&inst.m);
    let col_norms: Array1<f64> = inst.w.columns().into_iter().map(|c| c.dot(&c)).collect();
    let reconstruction = -0.5 * d as f64 * (2.0 * std::f64::consts::PI * s2).ln()
        - (r.dot(&r) + v.dot(&col_norms)) / (2.0 * s2);
    let kl_prior: f64 = (0..k)
        .map(|j| (v[j] + inst.m[j].powi(2)) / p2 - 1.0 - inst.log_v[j] + p2.ln())
        .sum::<f64>()
        * 0.5;
    Ok(ClosedForms {
        log_evidence,
        kl_to_posterior,
        elbo: reconstruction - kl_prior,
    })
}

/// Our ELBO code on the instance, with the noise rows `eps` (`[n, k]`) as the batch: the mean of
/// the one-sample estimates (`Reduction::Mean`), and the gradients in `(m, ln v, W, b)` flattened
/// in that order.
fn tape_elbo(
    inst: &Instance,
    c: &LinearGaussianConfig,
    eps: Array2<f64>,
) -> Result<(f64, Array1<f64>)> {
    let n = eps.nrows();
    let tape = Tape::<f64>::new();
    let row = |v: &Array1<f64>| v.clone().insert_axis(Axis(0));
    let m = tape.param(row(&inst.m));
    let log_v = tape.param(row(&inst.log_v));
    let w = tape.param(inst.w.clone());
    let b = tape.param(row(&inst.b));
    let ones = tape.constant(Array2::<f64>::ones((n, 1)));
    let mean = ones.matmul(m)?;
    let log_var = ones.matmul(log_v)?;
    let q = DiagGaussian::new(mean, log_var)?;
    let z = reparameterize(&q, tape.constant(eps))?;
    let decoded = z.matmul_t(w, false, true)?.try_add(b)?;
    let target = tape.constant(
        row(&inst.x)
            .broadcast((n, inst.x.len()))
            .expect("rows")
            .to_owned(),
    );
    let recon = [Reconstruction {
        decoded,
        target,
        likelihood: Likelihood::Gaussian {
            log_variance: c.noise_variance.ln(),
        },
    }];
    let value = elbo(&recon, &q, c.prior_std, Reduction::Mean)?;
    let grads = tape.grad(value, &[m, log_v, w, b])?;
    let flat = grads.iter().flat_map(|g| g.iter().copied()).collect();
    Ok((value.item().expect("a scalar"), flat))
}

/// The `2k` sigma points `$\pm \sqrt{k} e_j$`: mean 0, covariance `I`.
fn sigma_points(k: usize) -> Array2<f64> {
    let r = (k as f64).sqrt();
    Array2::from_shape_fn((2 * k, k), |(p, j)| {
        if p % k == j {
            if p < k {
                r
            } else {
                -r
            }
        } else {
            0.0
        }
    })
}

/// The exact gradient of the ELBO in `(m, ln v, W, b)`, flattened like [`tape_elbo`]'s.
fn exact_gradient(inst: &Instance, c: &LinearGaussianConfig) -> Array1<f64> {
    let (s2, p2) = (c.noise_variance, c.prior_std * c.prior_std);
    let v = inst.log_v.mapv(f64::exp);
    let r = &inst.x - &inst.w.dot(&inst.m) - &inst.b;
    let dm = inst.w.t().dot(&r) / s2 - &inst.m / p2;
    let dlogv: Array1<f64> = (0..v.len())
        .map(|j| {
            let norm = inst.w.column(j).dot(&inst.w.column(j));
            0.5 - v[j] * norm / (2.0 * s2) - v[j] / (2.0 * p2)
        })
        .collect();
    let outer = r
        .view()
        .insert_axis(Axis(1))
        .dot(&inst.m.view().insert_axis(Axis(0)));
    let dw = (outer - &inst.w * &v) / s2;
    let db = &r / s2;
    dm.iter()
        .chain(&dlogv)
        .chain(dw.iter())
        .chain(db.iter())
        .copied()
        .collect()
}

/// `$\mathrm{ELBO} \le \log p(x)$`, with `$\log p(x) - \mathrm{ELBO} = \mathrm{KL} (q \| p(z|x))$`,
/// on random encoders: our ELBO code averaged over the sigma points (its exact expectation) against
/// the closed forms.
pub fn check_elbo_bound(c: &LinearGaussianConfig) -> Result<CheckOutcome> {
    c.validate()?;
    let mut rng = StdRng::seed_from_u64(c.seed);
    let mut worst: f64 = 0.0;
    let mut above = 0;
    let mut detail = String::from(
        "instance  log p(x)       ELBO (ours)    gap            KL(q‖p(z|x))   ELBO formula\n",
    );
    for i in 0..c.instances {
        let inst = draw(c, false, &mut rng);
        let exact = closed_forms(&inst, c)?;
        let (ours, _) = tape_elbo(&inst, c, sigma_points(c.latent))?;
        let gap = exact.log_evidence - ours;
        let scale = exact.log_evidence.abs().max(1.0);
        let error =
            ((gap - exact.kl_to_posterior).abs() / scale).max((ours - exact.elbo).abs() / scale);
        worst = worst.max(error);
        if gap < -c.tolerance * scale {
            above += 1;
        }
        detail.push_str(&format!(
            "{i:<9} {:<14.8} {ours:<14.8} {gap:<14.8} {:<14.8} {:.8}\n",
            exact.log_evidence, exact.kl_to_posterior, exact.elbo
        ));
    }
    let passed = worst <= c.tolerance && above == 0;
    detail.push_str(&format!(
        "measured: max over instances of |gap − KL| and |ours − formula|, relative to \
         max(1, |log p(x)|); ELBO above log p(x) in {above} instance(s)\n\
         d = {}, k = {}, s² = {}, σ_p = {}; the sigma-point average of the one-sample estimate \
         is its exact expectation (a quadratic in ε)",
        c.observed, c.latent, c.noise_variance, c.prior_std
    ));
    Ok(CheckOutcome {
        name: "s1-elbo-bound".into(),
        kind: CheckKind::Property,
        statement: "ELBO(q) = log p(x) − KL(q ‖ p(z|x)) ≤ log p(x) for our ELBO on a \
                    linear-Gaussian VAE, random encoders"
            .into(),
        measured: worst,
        tolerance: c.tolerance,
        passed,
        detail,
    })
}

/// Equality at the exact posterior: with orthogonal columns of `W` the posterior is diagonal,
/// and our ELBO with the encoder set to it equals `log p(x)`.
pub fn check_elbo_exact_posterior(c: &LinearGaussianConfig) -> Result<CheckOutcome> {
    c.validate()?;
    let mut rng = StdRng::seed_from_u64(c.seed ^ 1);
    let (s2, p2) = (c.noise_variance, c.prior_std * c.prior_std);
    let mut worst: f64 = 0.0;
    let mut detail = String::from("instance  log p(x)       ELBO at the posterior\n");
    for i in 0..c.instances {
        let mut inst = draw(c, true, &mut rng);
        // P = I/σ_p² + WᵀW/s² is diagonal: the posterior is N(P⁻¹Wᵀ(x − b)/s², P⁻¹)
        let precision: Array1<f64> = inst
            .w
            .columns()
            .into_iter()
            .map(|col| 1.0 / p2 + col.dot(&col) / s2)
            .collect();
        inst.m = inst.w.t().dot(&(&inst.x - &inst.b)) / s2 / &precision;
        inst.log_v = precision.mapv(|p| -p.ln());
        let exact = closed_forms(&inst, c)?;
        let (ours, _) = tape_elbo(&inst, c, sigma_points(c.latent))?;
        let scale = exact.log_evidence.abs().max(1.0);
        worst = worst.max((exact.log_evidence - ours).abs() / scale);
        detail.push_str(&format!(
            "{i:<9} {:<14.10} {ours:.10}\n",
            exact.log_evidence
        ));
    }
    detail.push_str(
        "measured: max |log p(x) − ELBO| / max(1, |log p(x)|); W has orthogonal columns \
         (scaled by U[0.5, 2]) so that the exact posterior is a diagonal Gaussian",
    );
    Ok(CheckOutcome {
        name: "s1-elbo-exact-posterior".into(),
        kind: CheckKind::Property,
        statement: "ELBO(q) = log p(x) when q(z|x) is the exact posterior (linear-Gaussian VAE)"
            .into(),
        measured: worst,
        tolerance: c.tolerance,
        passed: worst <= c.tolerance,
        detail,
    })
}

/// Per coordinate, `$|\operatorname{mean} - \mathrm{exact}| / (\mathrm{sd}/\sqrt{N})$` of `N`
/// reparameterised one-sample gradients, the noise drawn as `noise_scale · N(0, 1)` (1 for the
/// estimator; another value makes a biased one, for the tests).
fn gradient_z_scores(
    inst: &Instance,
    c: &LinearGaussianConfig,
    noise_scale: f64,
    rng: &mut StdRng,
) -> Result<(Array1<f64>, Array1<f64>)> {
    let exact = exact_gradient(inst, c);
    let n = c.gradient_samples;
    let mut sum = Array1::<f64>::zeros(exact.len());
    let mut sum_sq = Array1::<f64>::zeros(exact.len());
    for _ in 0..n {
        let eps = Array2::from_shape_simple_fn((1, c.latent), || {
            noise_scale * rng.sample::<f64, _>(StandardNormal)
        });
        let (_, g) = tape_elbo(inst, c, eps)?;
        sum += &g;
        sum_sq += &g.mapv(|v| v * v);
    }
    let nf = n as f64;
    let mean = &sum / nf;
    let z = (0..exact.len())
        .map(|i| {
            let var = ((sum_sq[i] - nf * mean[i] * mean[i]) / (nf - 1.0)).max(0.0);
            let diff = (mean[i] - exact[i]).abs();
            if var == 0.0 {
                // a coordinate without noise must be exact (to rounding)
                if diff <= 1e-12 * exact[i].abs().max(1.0) {
                    0.0
                } else {
                    f64::INFINITY
                }
            } else {
                diff / (var / nf).sqrt()
            }
        })
        .collect();
    Ok((z, exact))
}

/// The reparameterised ELBO gradient is unbiased: the mean of `N` one-sample gradients of our
/// ELBO in `(m, ln v, W, b)` equals the exact gradient of the expectation within `z_limit`
/// standard errors in every coordinate.
pub fn check_reparameterized_gradient(c: &LinearGaussianConfig) -> Result<CheckOutcome> {
    c.validate()?;
    let mut rng = StdRng::seed_from_u64(c.seed ^ 2);
    let inst = draw(c, false, &mut rng);
    let (z, exact) = gradient_z_scores(&inst, c, 1.0, &mut rng)?;
    let worst = z
        .iter()
        .fold(0.0f64, |m, &v| if v.is_nan() { v } else { m.max(v) });
    let k = c.latent;
    let d = c.observed;
    let part = |range: std::ops::Range<usize>| {
        z.slice(ndarray::s![range])
            .iter()
            .fold(0.0f64, |m, &v| m.max(v))
    };
    let detail = format!(
        "max z = |mean − exact| / (sd/√N) per block, N = {}: m {:.2}, ln v {:.2}, W {:.2}, b \
         {:.2}\nexact gradient ‖·‖ = {:.4}; d = {d}, k = {k}, s² = {}, σ_p = {}\n\
         z_limit {}: an unbiased estimator exceeds it somewhere with probability ≈ {:.0e}",
        c.gradient_samples,
        part(0..k),
        part(k..2 * k),
        part(2 * k..2 * k + d * k),
        part(2 * k + d * k..z.len()),
        exact.dot(&exact).sqrt(),
        c.noise_variance,
        c.prior_std,
        c.z_limit,
        z.len() as f64 * two_sided_tail(c.z_limit),
    );
    Ok(CheckOutcome {
        name: "s1-reparameterized-gradient".into(),
        kind: CheckKind::Property,
        statement: "E_ε[∇ ELBO₁(ε)] = ∇ E_ε[ELBO₁(ε)] for our reparameterised ELBO \
                    (linear-Gaussian VAE, gradient in m, ln v, W, b)"
            .into(),
        measured: worst,
        tolerance: c.z_limit,
        passed: worst <= c.z_limit,
        detail,
    })
}

/// `P(|Z| > t)` for a standard normal `Z`, by the complementary error function's continued
/// fraction bound `$\varphi(t)/t$` (within 4% for `$t \ge 5$`): only printed.
fn two_sided_tail(t: f64) -> f64 {
    2.0 * (-0.5 * t * t).exp() / (t * (2.0 * std::f64::consts::PI).sqrt())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sigma_points_have_mean_zero_and_unit_covariance() {
        let p = sigma_points(3);
        assert_eq!(p.nrows(), 6);
        assert!(p.mean_axis(Axis(0)).unwrap().iter().all(|&v| v == 0.0));
        let cov = p.t().dot(&p) / 6.0;
        for ((i, j), &v) in cov.indexed_iter() {
            let want = if i == j { 1.0 } else { 0.0 };
            assert!((v - want).abs() < 1e-15, "{cov}");
        }
    }

    #[test]
    fn cholesky_solves_a_known_system() {
        // A = [[4, 2], [2, 3]] = L Lᵀ with L = [[2, 0], [1, √2]]; A (1, 1) = (6, 5)
        let a = ndarray::array![[4.0, 2.0], [2.0, 3.0]];
        let l = cholesky(&a).unwrap();
        assert!((l[[1, 1]] - 2f64.sqrt()).abs() < 1e-15);
        let u = cholesky_solve(&l, &ndarray::array![6.0, 5.0]);
        assert!(
            (u[0] - 1.0).abs() < 1e-14 && (u[1] - 1.0).abs() < 1e-14,
            "{u}"
        );
        assert!(cholesky(&ndarray::array![[1.0, 2.0], [2.0, 1.0]]).is_err());
    }

    #[test]
    fn the_three_checks_hold() {
        let c = LinearGaussianConfig::default();
        for outcome in [
            check_elbo_bound(&c).unwrap(),
            check_elbo_exact_posterior(&c).unwrap(),
            check_reparameterized_gradient(&c).unwrap(),
        ] {
            assert!(outcome.passed, "{outcome}");
            println!("{outcome}");
        }
    }

    /// The gradient check can fail: noise drawn with the wrong scale (a biased estimator of the
    /// gradient of the expectation) is far outside the limit.
    #[test]
    fn a_biased_gradient_estimator_is_caught() {
        let c = LinearGaussianConfig::default();
        let mut rng = StdRng::seed_from_u64(3);
        let inst = draw(&c, false, &mut rng);
        let (z, _) = gradient_z_scores(&inst, &c, 1.3, &mut rng).unwrap();
        let worst = z.iter().fold(0.0f64, |m, &v| m.max(v));
        assert!(worst > 2.0 * c.z_limit, "z = {worst}");
    }

    /// The bound check can fail: a closed form with the KL term dropped disagrees.
    #[test]
    fn the_gap_is_the_kl_to_the_posterior_not_zero() {
        let c = LinearGaussianConfig::default();
        let mut rng = StdRng::seed_from_u64(4);
        let inst = draw(&c, false, &mut rng);
        let exact = closed_forms(&inst, &c).unwrap();
        assert!(exact.kl_to_posterior > 1e-3, "{exact:?}");
        let (ours, _) = tape_elbo(&inst, &c, sigma_points(c.latent)).unwrap();
        assert!(exact.log_evidence - ours > 1e-3);
    }
}
