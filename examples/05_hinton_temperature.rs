//! Example 5 — Hinton distillation on a toy problem: what the temperature does to the soft
//! targets, and the high-temperature limit of the soft term's gradient.
//!
//! ```sh
//! cargo run --release --example 05_hinton_temperature
//! ```
//!
//! A teacher's logits `v` become soft targets `f = softmax(v/T)`: at `T = 1` the teacher's
//! answer, flatter as `T` grows (their entropy rises to `ln K`), so the small probabilities —
//! which wrong classes the teacher finds similar — carry weight. Hinton's loss
//! (`methods::distill::hinton_loss`) adds to the labels' cross-entropy the soft term
//! `S = −Σ_k f_k log softmax(z/T)_k`, whose gradient in the student's logits is exactly
//! `∂S/∂z = (softmax(z/T) − softmax(v/T)) / T`.
//!
//! For zero-mean logits and large `T`, `softmax(u/T)_k = (1 + u_k/T + O(T⁻²))/K`, so
//! `∂S/∂z ≈ (z − v)/(K T²)`: at high temperature, distillation matches logits (squared error),
//! which is why Hinton et al. multiply the soft term by `T²`. The next term of the expansion
//! gives the relative error of that approximation, `c₁/T + O(T⁻²)` with
//! `c₁ = ‖d − d̄‖ / (2‖z − v‖)`, `d = z² − v²` elementwise: `T·error → c₁`.

mod common;

use autograd::functional::Reduction;
use autograd::Tape;
use common::{Checks, Res};
use methods::distill::{hinton_loss, soft_targets, HintonConfig, TemperatureScaling};
use ndarray::{array, Array1, Axis};

fn softmax(u: &Array1<f64>, t: f64) -> Array1<f64> {
    let m = u.fold(f64::NEG_INFINITY, |a, &b| a.max(b));
    let e = u.mapv(|x| ((x - m) / t).exp());
    let s = e.sum();
    e / s
}

fn centred(u: Array1<f64>) -> Array1<f64> {
    let mean = u.mean().unwrap_or(0.0);
    u - mean
}

/// The example's body; `short` uses fewer temperatures.
pub fn run(short: bool) -> Res<()> {
    let mut checks = Checks::new();
    let v = centred(array![3.0, 1.0, 0.2, -1.0]);
    let z = centred(array![0.5, -0.3, 1.2, -0.4]);
    let k = v.len() as f64;

    // ---- the soft targets against T
    println!("soft targets f = softmax(v/T), v = {v:.2} (zero mean), K = {k}");
    println!(
        "{:>6}  {:>8} {:>8} {:>8} {:>8}   entropy/ln K",
        "T", "f_1", "f_2", "f_3", "f_4"
    );
    let temps = [1.0, 2.0, 4.0, 10.0, 100.0];
    let mut entropies = Vec::new();
    let mut worst_lib = 0.0f64;
    for &t in &temps {
        let f = softmax(&v, t);
        let lib = soft_targets(v.view().insert_axis(Axis(0)), t)?;
        worst_lib = worst_lib.max(common::max_abs_diff(lib.iter(), f.iter()));
        let h = -f.iter().map(|p| p * p.ln()).sum::<f64>();
        entropies.push(h);
        println!(
            "{t:>6}  {:>8.4} {:>8.4} {:>8.4} {:>8.4}   {:.4}",
            f[0],
            f[1],
            f[2],
            f[3],
            h / k.ln()
        );
    }
    checks.at_most(
        "methods::distill::soft_targets = softmax(v/T) by hand",
        worst_lib,
        1e-15,
        "the same shifted exponentials: a few ulps of values ≤ 1",
    );
    checks.holds(
        "the entropy of the soft targets rises with T",
        entropies.windows(2).all(|w| w[1] > w[0]),
        "dH/dT = Var_f(v)/T³ > 0 for non-constant logits",
    );

    // ---- the gradient of the soft term and its high-temperature limit
    let d = &z * &z - &v * &v;
    let d_centred = centred(d);
    let diff = &z - &v;
    let norm = |a: &Array1<f64>| a.dot(a).sqrt();
    let c1 = norm(&d_centred) / (2.0 * norm(&diff));
    println!("\nstudent z = {z:.2}; c₁ = ‖d − d̄‖/(2‖z − v‖) = {c1:.6}");
    println!(
        "{:>6}  {:>14} {:>16} {:>10} {:>16}",
        "T", "|tape − exact|", "rel. error ≈", "T·error", "|T·error − c₁|/c₁"
    );
    let grad_temps: &[f64] = if short {
        &[1.0, 10.0, 100.0, 1000.0]
    } else {
        &[1.0, 2.0, 5.0, 10.0, 20.0, 50.0, 100.0, 200.0, 500.0, 1000.0]
    };
    let mut worst_exact = 0.0f64;
    let mut errors = Vec::new();
    let mut last_gap = f64::NAN;
    for &t in grad_temps {
        let tape = Tape::<f64>::new();
        let zv = tape.param(z.clone().insert_axis(Axis(0)));
        let vv = tape.constant(v.clone().insert_axis(Axis(0)));
        // the soft term alone: hard weight 0, soft weight 1, no T², one object
        let cfg = HintonConfig {
            hard_weight: 0.0,
            soft_weight: 1.0,
            temperature: t,
            scaling: TemperatureScaling::None,
            reduction: Reduction::Sum,
        };
        let loss = hinton_loss(zv, &[0], vv, &cfg)?;
        let g: Array1<f64> = tape.grad(loss, &[zv])?[0].iter().copied().collect();
        let exact = (softmax(&z, t) - softmax(&v, t)) / t;
        let scale = norm(&exact);
        worst_exact = worst_exact.max(common::max_abs_diff(g.iter(), exact.iter()) / scale);
        let approx = &diff / (k * t * t);
        let rel = norm(&(&g - &approx)) / norm(&approx);
        errors.push(rel);
        last_gap = (t * rel - c1).abs() / c1;
        println!(
            "{t:>6}  {:>14.2e} {rel:>16.6e} {:>10.6} {last_gap:>16.3e}",
            common::max_abs_diff(g.iter(), exact.iter()),
            t * rel
        );
    }
    checks.at_most(
        "tape gradient of the soft term = (softmax(z/T) − softmax(v/T))/T, relative",
        worst_exact,
        1e-12,
        "differences of probabilities near 1/K cancel: ~u·T relative at T = 1000",
    );
    checks.holds(
        "the approximation's relative error falls as T grows",
        errors.windows(2).all(|w| w[1] < w[0]),
        "error = c₁/T + O(T⁻²)",
    );
    checks.at_most(
        "|T·error − c₁|/c₁ at the largest T",
        last_gap,
        1.0 / grad_temps[grad_temps.len() - 1],
        "the O(T⁻²) remainder of the relative error is O(1/T) after × T (measured ≈ 0.15/T)",
    );
    checks.finish()
}

fn main() -> std::process::ExitCode {
    common::exit_code(run(common::short_from_args()))
}
