//! Temperature limits of `softmax(z/T)`, and Hinton's high-temperature gradient, measured with
//! the engine (f64 tapes).
//!
//! * `$T \to 0$` (unique maximum `$z_m$`): `$\operatorname{softmax} (z/T) \to e_m$`. With `$d(T) =
//!   \|\operatorname{softmax} (z/T) - e_m\|_{1} = 2(1 - p_m)$` and `$p_k \le e^{(z_k - z_m)/T}$`:
//!   `$d(T) \le 2 \sum_{k\ne m} e^{-(z_m - z_k)/T}$`. (With a tie for the maximum the limit is
//!   uniform over the tied classes.)
//! * `$T \to \infty$`: `$\operatorname{softmax} (z/T) \to(1/K, \dots, 1/K)$`. With `$r = (\max z -
//!   \min z)/T$`, every `$p_k \in[e^{-r}/K, e^{r}/K]$`, so `$d(T) = \|\operatorname{softmax} (z/T) -
//!   1/K\|_{1} \le e^r - 1$`; to first order `$T\cdot d(T) \to\frac{1}{K} \sum_k |z_k - \bar{z}|$`.
//! * Hinton et al. (2015): for the soft-target loss `$-\sum_k p_k \log q_k$`, `$p =
//!   \operatorname{softmax} (v/T)$`, `$q = \operatorname{softmax} (z/T)$`, the gradient
//!   `$\partial/\partial z_i = (q_i - p_i)/T$` approaches `$(z_i - v_i)/(K T^{2})$` when `$\sum z =
//!   \sum v = 0$`. Expanding `$q_i = (1/K)(1 + z_i/T + (z_i^{2} - \operatorname{mean}
//!   z^{2})/(2T^{2})) + O(T^{-3})$`, the relative error is `$c_{1}/T + O(T^{-2})$` with `$c_{1} =
//!   \|d - \operatorname{mean} (d)\| / (2\|z - v\|)$`, `$d = z^{2} - v^{2}$` (elementwise).

use autograd::Tape;
use ndarray::Array1;
use nn::loss::{soft_target_loss, Reduction, TemperatureScaling};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::{CheckKind, CheckOutcome};
use crate::{Error, Result};

/// The logits and temperature sequences of the three checks.
#[derive(Clone, Debug, PartialEq)]
pub struct TemperatureConfig {
    /// `z` for the two softmax limits (unique maximum). Default `$[2, 1, 0.5, -1]$` (our choice:
    /// a gap of 1 to the runner-up).
    pub logits: Vec<f64>,
    /// Decreasing temperatures for `$T \to 0$`. Default 1, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01.
    pub low_temperatures: Vec<f64>,
    /// Increasing temperatures for `$T \to \infty$`. Default 1, 10, 10², 10³, 10⁴.
    pub high_temperatures: Vec<f64>,
    /// Increasing temperatures for Hinton's gradient. Default 1, 2, 5, 10, 20, 50 (the brief).
    pub gradient_temperatures: Vec<f64>,
    /// `K` for Hinton's gradient check. Default 10 (MNIST's classes, as in Hinton et al.).
    pub gradient_classes: usize,
    /// Seed of the zero-mean logits `z, v` (N(0,1), then centred). Default 2015.
    pub seed: u64,
    /// Tolerance on `|slope + 1|`, the log-log slope of the relative error between the last two
    /// gradient temperatures. Default 0.1: the slope is `$-1 + O(c_{2}/(c_{1} T))$`, and the
    /// `$O(T^{-2})$` share of the error, `$|T\cdot \mathrm{err} - c_{1}|/c_{1}$`, is printed (≈ 0.01–0.05
    /// at T = 20–50).
    pub slope_tolerance: f64,
}

impl Default for TemperatureConfig {
    fn default() -> Self {
        TemperatureConfig {
            logits: vec![2.0, 1.0, 0.5, -1.0],
            low_temperatures: vec![1.0, 0.5, 0.2, 0.1, 0.05, 0.02, 0.01],
            high_temperatures: vec![1.0, 1e1, 1e2, 1e3, 1e4],
            gradient_temperatures: vec![1.0, 2.0, 5.0, 10.0, 20.0, 50.0],
            gradient_classes: 10,
            seed: 2015,
            slope_tolerance: 0.1,
        }
    }
}

/// `softmax(z/T)` by the engine, in f64.
fn softmax_at(z: &[f64], t: f64) -> Result<Vec<f64>> {
    let tape = Tape::<f64>::new();
    let zv = tape.constant(Array1::from(z.to_vec()));
    let p = zv.mul_scalar(1.0 / t).softmax(0)?;
    Ok(p.value().iter().copied().collect())
}

fn check_logits(z: &[f64], temps: &[f64]) -> Result<()> {
    if z.len() < 2 || temps.is_empty() || temps.iter().any(|t| !(t.is_finite() && *t > 0.0)) {
        return Err(Error::config(
            "temperature check",
            "needs ≥ 2 logits and a non-empty list of finite, positive temperatures",
        ));
    }
    Ok(())
}

fn strictly_decreasing(v: &[f64]) -> bool {
    v.windows(2)
        .all(|w| w[1] < w[0] || (w[1] == 0.0 && w[0] == 0.0))
}

/// `$\operatorname{softmax} (z/T) \to e_m$` as `$T \to 0$`: along `cfg.low_temperatures`, `d(T)`
/// must not increase and stay below the bound `$2 \sum_{k\ne m} e^{-(z_m - z_k)/T}$` plus rounding
/// (`$2K \cdot 1.1e-16$`). Measured: `d` at the smallest `T`; tolerance: the bound there.
pub fn check_low_temperature_limit(cfg: &TemperatureConfig) -> Result<CheckOutcome> {
    let z = &cfg.logits;
    check_logits(z, &cfg.low_temperatures)?;
    let m = (0..z.len()).fold(0, |m, k| if z[k] > z[m] { k } else { m });
    if z.iter().filter(|&&v| v == z[m]).count() > 1 {
        return Err(Error::config(
            "temperature check",
            "the maximum logit must be unique",
        ));
    }
    let rounding = 2.0 * z.len() as f64 * f64::EPSILON;
    let mut detail = String::from("T        ‖softmax(z/T) − e_m‖₁   bound 2Σ e^(−(z_m−z_k)/T)\n");
    let (mut distances, mut within) = (Vec::new(), true);
    let mut last_bound = 0.0;
    for &t in &cfg.low_temperatures {
        let p = softmax_at(z, t)?;
        let d = 2.0 * (1.0 - p[m]);
        let bound: f64 = 2.0
            * (0..z.len())
                .filter(|&k| k != m)
                .map(|k| (-(z[m] - z[k]) / t).exp())
                .sum::<f64>();
        within &= d <= bound + rounding;
        detail.push_str(&format!("{t:<8} {d:.6e}            {bound:.6e}\n"));
        distances.push(d);
        last_bound = bound + rounding;
    }
    let monotone = strictly_decreasing(&distances);
    let measured = *distances.last().expect("non-empty");
    Ok(CheckOutcome {
        name: "softmax-low-temperature".into(),
        kind: CheckKind::Property,
        statement: "softmax(z/T) → one-hot at the unique argmax as T → 0".into(),
        measured,
        tolerance: last_bound,
        passed: monotone && within && measured <= last_bound,
        detail: format!("{detail}decreasing: {monotone}; within the bound at every T: {within}\n"),
    })
}

/// `$\operatorname{softmax} (z/T) \to \mathrm{uniform}$` as `$T \to \infty$`: along
/// `cfg.high_temperatures`, `d(T)` must decrease and stay below `$e^{r} - 1$`, `$r = (\max z - \min
/// z)/T$`. Measured: `d` at the largest `T`; tolerance: the bound there. The detail also prints
/// `$T\cdot d(T)$` against its limit `$\frac{1}{K} \sum|z_k - \bar{z}|$`.
pub fn check_high_temperature_limit(cfg: &TemperatureConfig) -> Result<CheckOutcome> {
    let z = &cfg.logits;
    check_logits(z, &cfg.high_temperatures)?;
    let k = z.len() as f64;
    let mean = z.iter().sum::<f64>() / k;
    let limit = z.iter().map(|v| (v - mean).abs()).sum::<f64>() / k;
    let range = z.iter().copied().fold(f64::NEG_INFINITY, f64::max)
        - z.iter().copied().fold(f64::INFINITY, f64::min);
    let mut detail =
        format!("T        ‖softmax(z/T) − 1/K‖₁   bound e^r − 1   T·d(T) (→ {limit:.6})\n");
    let (mut distances, mut within, mut last_bound) = (Vec::new(), true, 0.0);
    for &t in &cfg.high_temperatures {
        let p = softmax_at(z, t)?;
        let d: f64 = p.iter().map(|pk| (pk - 1.0 / k).abs()).sum();
        let bound = (range / t).exp_m1();
        within &= d <= bound;
        detail.push_str(&format!(
            "{t:<8} {d:.6e}            {bound:.3e}       {:.6}\n",
            t * d
        ));
        distances.push(d);
        last_bound = bound;
    }
    let monotone = strictly_decreasing(&distances);
    let measured = *distances.last().expect("non-empty");
    Ok(CheckOutcome {
        name: "softmax-high-temperature".into(),
        kind: CheckKind::Property,
        statement: "softmax(z/T) → uniform (1/K) as T → ∞".into(),
        measured,
        tolerance: last_bound,
        passed: monotone && within,
        detail: format!("{detail}decreasing: {monotone}; within the bound at every T: {within}\n"),
    })
}

/// One temperature of Hinton's gradient check.
#[derive(Clone, Debug, PartialEq)]
pub struct GradientErrorRow {
    /// `T`.
    pub temperature: f64,
    /// `$\|\nabla_z L_T - (z - v)/(K T^{2})\|_{2} / \|(z - v)/(K T^{2})\|_{2}$`, the gradient from
    /// the tape.
    pub relative_error: f64,
}

/// The zero-mean logits `z, v` (drawn `z` then `v`, N(0,1), each centred) and, per
/// temperature, the relative error of Hinton's approximation, with the gradient of
/// [`soft_target_loss`] (unscaled, batch of one) taken on the tape. Also returns `$c_{1}$`.
pub fn hinton_gradient_errors(cfg: &TemperatureConfig) -> Result<(Vec<GradientErrorRow>, f64)> {
    let k = cfg.gradient_classes;
    check_logits(&vec![0.0; k], &cfg.gradient_temperatures)?;
    let mut rng = StdRng::seed_from_u64(cfg.seed);
    let mut centred = || {
        let raw: Vec<f64> = (0..k).map(|_| rng.sample(StandardNormal)).collect();
        let mean = raw.iter().sum::<f64>() / k as f64;
        Array1::from_iter(raw.into_iter().map(|v| v - mean))
    };
    let z = centred();
    let v = centred();
    let diff = &z - &v;
    let d = &z * &z - &v * &v;
    let d_centred = &d - d.sum() / k as f64;
    let c1 = d_centred.dot(&d_centred).sqrt() / (2.0 * diff.dot(&diff).sqrt());
    let mut rows = Vec::new();
    for &t in &cfg.gradient_temperatures {
        let tape = Tape::<f64>::new();
        let zv = tape.param(z.clone().into_shape_with_order((1, k)).expect("1×K"));
        let vv = tape.constant(v.clone().into_shape_with_order((1, k)).expect("1×K"));
        let loss = soft_target_loss(zv, vv, t, TemperatureScaling::None, Reduction::Mean)?;
        let grad = tape.grad(loss, &[zv])?.remove(0);
        let grad = Array1::from_iter(grad.iter().copied());
        let approx = diff.mapv(|x| x / (k as f64 * t * t));
        let err = &grad - &approx;
        rows.push(GradientErrorRow {
            temperature: t,
            relative_error: err.dot(&err).sqrt() / approx.dot(&approx).sqrt(),
        });
    }
    Ok((rows, c1))
}

/// Hinton's high-temperature gradient: the relative error must decrease along
/// `cfg.gradient_temperatures` and fall like `1/T` — the log-log slope between the last two
/// temperatures within `cfg.slope_tolerance` of −1. Measured: `|slope + 1|`.
pub fn check_high_temperature_gradient(cfg: &TemperatureConfig) -> Result<CheckOutcome> {
    let (rows, c1) = hinton_gradient_errors(cfg)?;
    if rows.len() < 2 {
        return Err(Error::config(
            "Hinton gradient check",
            "needs at least two temperatures",
        ));
    }
    let errors: Vec<f64> = rows.iter().map(|r| r.relative_error).collect();
    let monotone = strictly_decreasing(&errors);
    let (a, b) = (&rows[rows.len() - 2], &rows[rows.len() - 1]);
    let slope = (b.relative_error / a.relative_error).ln() / (b.temperature / a.temperature).ln();
    let mut detail = format!(
        "K = {}, zero-mean z, v ~ N(0,1) (seed {}); c₁ = {c1:.6}\n\
         T      relative error   T·error   |T·error − c₁|/c₁\n",
        cfg.gradient_classes, cfg.seed
    );
    for r in &rows {
        let te = r.temperature * r.relative_error;
        detail.push_str(&format!(
            "{:<6} {:.6e}     {:.6}  {:.3e}\n",
            r.temperature,
            r.relative_error,
            te,
            (te - c1).abs() / c1
        ));
    }
    detail.push_str(&format!(
        "decreasing: {monotone}; log-log slope between T = {} and {}: {slope:.4} (−1 expected)\n",
        a.temperature, b.temperature
    ));
    let measured = (slope + 1.0).abs();
    Ok(CheckOutcome {
        name: "hinton-high-temperature-gradient".into(),
        kind: CheckKind::Property,
        statement: "for zero-mean logits, ∂/∂z_i of −Σ_k softmax(v/T)_k log softmax(z/T)_k → \
                    (z_i − v_i)/(K T²), relative error shrinking like 1/T"
            .into(),
        measured,
        tolerance: cfg.slope_tolerance,
        passed: monotone && measured <= cfg.slope_tolerance,
        detail,
    })
}
