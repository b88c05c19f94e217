//! Example 8 — tuning one distillation metaparameter by its hypergradient (seed S3,
//! `methods::meta`).
//!
//! ```sh
//! cargo run --release --example 08_hypergradient
//! ```
//!
//! The student's training loss weighs the labels by `β1` and the teacher by `β2`:
//! `L_train(w, λ) = β1·CE(y, g(x, w)) + β2·S(g, f, T)` (`methods::meta::train_loss`). One SGD step
//! `w₁ = U(w, λ) = w − γ ∇_w L_train(w, λ)` depends on `λ`, so the validation loss after it does
//! too, and its gradient — the hypergradient — is
//!
//! `∂L_val(U(w, λ))/∂λ = −γ (∂²L_train/∂λ∂w) ∇_w L_val(w₁)`,
//!
//! which `methods::meta::hypergradient` takes exactly by differentiating through the step on the
//! tape (example 3 did it by hand for a step size). `β2 = σ(a₂)` is tuned through its
//! unconstrained coordinate `a₂`; `β1` and `T` stay fixed.
//!
//! The toy problem: `x ~ N(0, I₂)`, labels drawn from `P(y = 1 | x) = σ(w*ᵀx)`, a teacher whose
//! logits `(0, w*ᵀx)` give exactly those probabilities, and only 24 training labels. The labels
//! are noisy draws and the teacher is the truth, so the hypergradient should raise `β2`.

mod common;

use common::{Checks, Res};
use methods::meta::{
    apply_step, hypergradient, meta_step, unrolled_val_loss, InnerOptimizer, InnerState,
    LowerLevel, MetaParams, MetaValues, TemperatureRange, TrainBatch, ValBatch,
};
use ndarray::Array2;
use nn::layers::Linear;
use nn::loss::TemperatureScaling;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

const W_STAR: [f64; 2] = [2.0, -1.0];

/// `n` samples: inputs, labels drawn from the true model, the teacher's logits.
fn draw(n: usize, rng: &mut StdRng) -> (Array2<f64>, Vec<usize>, Array2<f64>) {
    let x = Array2::from_shape_simple_fn((n, 2), || rng.sample::<f64, _>(StandardNormal));
    let mut labels = Vec::with_capacity(n);
    let mut teacher = Array2::zeros((n, 2));
    for i in 0..n {
        let s = W_STAR[0] * x[(i, 0)] + W_STAR[1] * x[(i, 1)];
        teacher[(i, 1)] = s;
        let p = 1.0 / (1.0 + (-s).exp());
        labels.push(usize::from(rng.gen::<f64>() < p));
    }
    (x, labels, teacher)
}

/// The example's body; `short` runs fewer training steps.
pub fn run(short: bool) -> Res<()> {
    let mut checks = Checks::new();
    let mut rng = StdRng::seed_from_u64(8);
    let (x, labels, teacher_logits) = draw(24, &mut rng);
    let train = [TrainBatch {
        x,
        labels,
        teacher_logits,
    }];
    let (vx, vlabels, _) = draw(400, &mut rng);
    let val = ValBatch {
        x: vx,
        labels: vlabels,
    };
    let mut model = Linear::<f64>::new(2, 2, true, &mut rng);
    let range = TemperatureRange::default();
    let start = MetaValues {
        beta1: 0.5,
        beta2: 0.1,
        temperature: 1.0,
    };
    let mut meta = MetaParams::from_values(start, range)?;
    let lower = LowerLevel {
        optimizer: InnerOptimizer::Sgd { lr: 0.5 },
        scaling: TemperatureScaling::None,
    };
    let mut state = InnerState::default();

    // the hypergradient against a central difference in a₂
    let fd_check =
        |model: &Linear<f64>, meta: &MetaParams, state: &InnerState<f64>| -> Res<(f64, f64)> {
            let h = hypergradient(model, meta, &lower, state, &train, &val)?.grad[1];
            let eps = 1e-5;
            let at = |d: f64| {
                let mut raw = meta.raw;
                raw[1] += d;
                unrolled_val_loss(model, &meta.with_raw(raw), &lower, state, &train, &val)
            };
            Ok((h, (at(eps)? - at(-eps)?) / (2.0 * eps)))
        };
    let (h0, fd0) = fd_check(&model, &meta, &state)?;
    println!("at the start: ∂L_val/∂a₂ = {h0:.10} (tape), {fd0:.10} (central difference)");
    checks.at_most(
        "hypergradient = central difference (start)",
        (h0 - fd0).abs(),
        1e-8,
        "ε = 1e-5: truncation ε²·|f'''|/6 ≈ 1e-11, rounding u·L/ε ≈ 1e-11",
    );

    // the greedy loop: a hypergradient step on a₂, then a training step
    let steps = if short { 30 } else { 150 };
    let meta_lr = 20.0;
    println!(
        "{:>5} {:>10} {:>12} {:>14}",
        "step", "β2", "L_val", "∂L_val/∂a₂"
    );
    let mut first_h = None;
    for step in 0..steps {
        let h = hypergradient(&model, &meta, &lower, &state, &train, &val)?;
        first_h.get_or_insert(h.grad[1]);
        if step % (steps / 6) == 0 || step + 1 == steps {
            println!(
                "{step:>5} {:>10.4} {:>12.6} {:>14.6e}",
                meta.values().beta2,
                h.val_loss,
                h.grad[1]
            );
        }
        meta = meta_step(&meta, [0.0, h.grad[1], 0.0], meta_lr, None)?;
        apply_step(&mut model, &meta, &lower, &mut state, &train[0])?;
    }
    let (h1, fd1) = fd_check(&model, &meta, &state)?;
    println!("at the end: ∂L_val/∂a₂ = {h1:.10} (tape), {fd1:.10} (central difference)");
    checks.at_most(
        "hypergradient = central difference (end)",
        (h1 - fd1).abs(),
        1e-8,
        "as at the start",
    );
    let end = meta.values();
    println!(
        "β2: {:.4} → {:.4} (β1 = {:.2}, T = {:.2} fixed)",
        start.beta2, end.beta2, end.beta1, end.temperature
    );
    checks.holds(
        "the first hypergradient asks for more teacher (∂L_val/∂a₂ < 0)",
        first_h.is_some_and(|h| h < 0.0),
        "24 noisy labels against a teacher that knows P(y | x)",
    );
    checks.holds(
        "β2 rose during training",
        end.beta2 > start.beta2,
        "the same reason, over the whole run",
    );
    checks.finish()
}

fn main() -> std::process::ExitCode {
    common::exit_code(run(common::short_from_args()))
}
