//! Example 7 — a 1-Lipschitz network, and the Wasserstein distance its dual value estimates.
//!
//! ```sh
//! cargo run --release --example 07_lipschitz
//! ```
//!
//! A critic `f` built from orthonormal linear layers (Björck's iteration on the tape,
//! `nn::layers::OrthonormalLinear`) and the MaxMin activation has `‖∇f(x)‖ = 1` wherever it is
//! differentiable when no layer widens (seed S0's theorem 2), and `≤ 1` in any case. So for any
//! such `f` and two clouds `P̂, Q̂` of `n` points, by Kantorovich–Rubinstein duality,
//!
//! `E_P̂ f − E_Q̂ f ≤ W1(P̂, Q̂) = min over pairings of the mean distance`,
//!
//! and training `f` to maximise the left side estimates `W1`. `methods::transfer::exact_w1`
//! solves the assignment problem exactly (Hungarian algorithm), so the estimate can be checked.

mod common;

use common::{Checks, Res};
use methods::transfer::checks::lipschitz::gradient_norms;
use methods::transfer::{exact_w1, train_critic, Critic, CriticConfig, CriticTraining};
use ndarray::{array, Array2};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

fn cloud(n: usize, d: usize, scale: f64, rng: &mut StdRng) -> Array2<f64> {
    Array2::from_shape_simple_fn((n, d), || scale * rng.sample::<f64, _>(StandardNormal))
}

/// The example's body; `short` trains the critic on fewer points for fewer steps.
pub fn run(short: bool) -> Res<()> {
    let mut checks = Checks::new();
    let mut rng = StdRng::seed_from_u64(7);

    // ---- gradient norms of a never-widening critic 16 → 16 → 16 → 8 → 1
    let critic = Critic::<f64>::new(16, &CriticConfig::orthonormal(&[16, 16, 8]), &mut rng)?;
    let x = cloud(if short { 50 } else { 500 }, 16, 3.0, &mut rng);
    let norms = gradient_norms(&critic, &x)?;
    let (lo, hi) = norms
        .iter()
        .fold((f64::INFINITY, 0.0f64), |(a, b), &v| (a.min(v), b.max(v)));
    println!(
        "critic 16→16→16→8→1 (orthonormal + MaxMin): ‖∇f(x)‖ at {} random x ∈ [{lo:.12}, {hi:.12}]",
        norms.len()
    );
    checks.at_most(
        "max |‖∇f(x)‖ − 1| (never-widening orthonormal critic)",
        norms.iter().fold(0.0f64, |m, v| m.max((v - 1.0).abs())),
        1e-10,
        "Björck's 15 iterations converge to orthonormal within ~1e-13; 1e-10 as `distillery verify`",
    );

    // ---- a critic's dual value against the exact W1 of two small clouds
    let n = if short { 40 } else { 100 };
    let p = cloud(n, 2, 1.0, &mut rng);
    let q = &cloud(n, 2, 1.0, &mut rng) + &array![2.0, 1.0];
    let exact = exact_w1(p.view(), q.view())?.value;
    let mut critic = Critic::<f64>::new(2, &CriticConfig::orthonormal(&[32, 32]), &mut rng)?;
    let training = CriticTraining {
        steps: if short { 200 } else { 500 },
        ..CriticTraining::default()
    };
    let est = train_critic(&mut critic, p.view(), q.view(), &training, &mut rng)?;
    println!(
        "N(0, I) vs N((2, 1), I), {n} points each: exact W1 = {exact:.6} (‖a‖ = {:.6} for the \
         distributions), critic after {} Adam steps: {:.6}",
        5f64.sqrt(),
        training.steps,
        est.value
    );
    for (step, v) in est.history.iter().enumerate() {
        if step % (training.steps / 5) == 0 {
            println!("  step {step:>4}: E_P f − E_Q f = {v:.6}");
        }
    }
    checks.at_most(
        "dual value − exact W1 (≤ 0: duality)",
        (est.value - exact).max(0.0),
        1e-9,
        "f is 1-Lipschitz up to Björck's residual (~1e-13 relative)",
    );
    checks.at_most(
        "(exact W1 − dual value) / W1",
        (exact - est.value) / exact,
        0.05,
        "a trained critic reaches within a few % on 2-D clouds (verify's s0 check: ≤ 5 % at 200 points)",
    );
    checks.finish()
}

fn main() -> std::process::ExitCode {
    common::exit_code(run(common::short_from_args()))
}
