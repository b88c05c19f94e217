//! Example 10 — one network for every complexity weight `λ`: a hypernetwork (seed S2,
//! `methods::hypernet`).
//!
//! ```sh
//! cargo run --release --example 10_hypernetwork
//! ```
//!
//! A network with mean-field Gaussian weights `q(w) = N(μ, diag σ²)` is trained by the
//! complexity-weighted objective (`methods::hypernet::complexity_loss`, per object)
//!
//! `L(q; λ) = E_q[−log p(y | x, w)] + (λ / N) KL(q ‖ p)`,  `p = N(0, s² I)`.
//!
//! `λ = 0` is plain (noisy) maximum likelihood; a large `λ` pulls `q` to the prior. Instead of a
//! network per `λ`, the linear hypernetwork `G(λ) = t(λ) b₂ + b₃` gives every `μ` and `ln σ²`
//! as a function of `λ` (through `t(λ) = ln(1 + λ/λ_min) / ln(1 + λ_max/λ_min)`), trained on
//! `E_{λ ~ U(Λ)} L(G(λ); λ)` with several `λ` drawn per batch. Then, for any `λ`, `G(λ)` is a
//! model at once: its KL to the prior must fall as `λ` grows. Last, pruning by the relative
//! density at zero removes the weights with the smallest `μ²/σ²` first.
//!
//! The toy data: two Gaussian blobs in the plane, labels by blob, 400 points.

mod common;

use common::{Checks, Res};
use methods::hypernet::{
    kl_to_prior, prune, ComplexityConfig, Hypernet, HypernetKind, HypernetLoss, LambdaEncoding,
    LambdaSampler, LambdaScale, PruneScope, VariationalMlp,
};
use ndarray::{Array1, Array2};
use nn::data::Dataset;
use nn::init::Init;
use nn::layers::Activation;
use nn::optim::{Adam, AdamConfig};
use nn::train::{evaluate, fit, Silent, TrainConfig};
use nn::Ctx;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

/// `n` points, half around (−1.5, 0) with label 0 and half around (1.5, 0) with label 1.
fn blobs(n: usize, rng: &mut StdRng) -> Res<Dataset<f64>> {
    let labels: Array1<usize> = (0..n).map(|i| i % 2).collect();
    let x = Array2::from_shape_fn((n, 2), |(i, j)| {
        let centre = if j == 0 {
            3.0 * labels[i] as f64 - 1.5
        } else {
            0.0
        };
        centre + rng.sample::<f64, _>(StandardNormal)
    });
    Ok(Dataset::new(x, labels)?)
}

/// The example's body; `short` trains fewer epochs.
pub fn run(short: bool) -> Res<()> {
    let mut checks = Checks::new();
    let mut rng = StdRng::seed_from_u64(10);
    let train = blobs(400, &mut rng)?;
    let test = blobs(400, &mut rng)?;
    let (lambda_min, lambda_max) = (0.01, 100.0);
    let target = VariationalMlp::<f64>::with_biases(
        &[2, 16, 2],
        Activation::Relu,
        Init::XavierUniform { gain: 1.0 },
        -6.0,
        &mut rng,
    )?;
    let mut hypernet = Hypernet::new(
        target,
        HypernetKind::Linear,
        LambdaEncoding::log1p(lambda_min, lambda_max)?,
        &mut rng,
    )?;
    let loss = HypernetLoss {
        sampler: LambdaSampler {
            scale: LambdaScale::Log,
            min: lambda_min,
            max: lambda_max,
            zero_probability: 1.0 / 6.0,
        },
        per_batch: 5,
        config: ComplexityConfig::new(0.1, train.len())?,
    };
    let epochs = if short { 15 } else { 60 };
    let mut adam = Adam::new(AdamConfig::adam(1e-2))?;
    let config = TrainConfig {
        epochs,
        batch_size: 40,
        seed: 10,
        ..TrainConfig::default()
    };
    fit(
        &mut hypernet,
        &mut adam,
        &loss,
        &train,
        None,
        &config,
        &mut Silent,
    )?;
    println!("linear hypernetwork trained {epochs} epochs, 5 values of λ per batch\n");

    println!("{:>8}  {:>12}  {:>14}", "λ", "KL(q_λ ‖ p)", "test accuracy");
    let mut kls = Vec::new();
    for lambda in [0.0, 0.1, 1.0, 10.0, 100.0] {
        let model = hypernet.model_at(lambda)?;
        let tape = autograd::Tape::new();
        let kl = kl_to_prior(&Ctx::eval(&tape), &model, loss.config.prior_variance)?
            .item()
            .unwrap_or(f64::NAN);
        let accuracy = evaluate(&model, &test, 400)?.accuracy;
        println!("{lambda:>8}  {kl:>12.2}  {accuracy:>14.3}");
        kls.push((lambda, kl, accuracy));
    }
    let (kl_0, kl_100) = (kls[0].1, kls[4].1);
    checks.holds(
        "KL(q_λ ‖ p) at λ = 100 is below its value at λ = 0",
        kl_100 < kl_0,
        "λ weighs the KL term, so the generated q moves toward the prior as λ grows",
    );
    checks.at_most(
        "test error of G(0)",
        1.0 - kls[0].2,
        0.15,
        "blobs at ±1.5 with unit variance: the Bayes error is Φ(−1.5) ≈ 6.7 %; 400 test points \
         add ±1.3 % (one s.e.), and a noisy q a little more",
    );

    // ---- pruning G(1): exactly the fraction asked, smallest μ²/σ² first
    let mut model = hypernet.model_at(1.0)?;
    let report = prune(&mut model, 0.5, PruneScope::PerLayer)?;
    println!(
        "\npruned G(1): {} of {} weights removed; test accuracy {:.3}",
        report.removed,
        report.total,
        evaluate(&model, &test, 400)?.accuracy
    );
    // two weight matrices of 2 × 16 and 16 × 2 = 32 weights each: round(0.5 · 32) = 16 of each
    checks.holds(
        "pruning removes exactly half of the weights of each layer",
        report.removed == 16 + 16 && report.total == 32 + 32,
        "round(0.5 · 32) of each 32-weight layer; biases are kept",
    );
    checks.finish()
}

fn main() -> std::process::ExitCode {
    common::exit_code(run(common::short_from_args()))
}
