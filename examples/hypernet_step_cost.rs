//! The cost of one hypernetwork training step (`methods::hypernet`) next to one step of a
//! model trained at a single `λ`: the seed S2's network 784-100-10 with mean-field Gaussian
//! weights and biases, a batch of 64 (the authors' size), f32, SGD, on random data.
//!
//! ```sh
//! cargo run --release --example hypernet_step_cost -- [REPEATS]
//! ```
//!
//! Each step is a forward pass with a fresh reparameterised draw, the KL, the backward pass and
//! the optimiser's update; the hypernetwork step also generates every mean and log-variance from
//! `λ` (and its backward pass goes through the generators), once per sampled `λ`. Printed: the
//! median wall time of `REPEATS` steps (default 50, after 5 warm-up steps) and the ratio to the
//! per-λ step. Wall times: on a shared machine, compare the ratios rather than the absolute
//! figures.

use std::time::Instant;

use methods::hypernet::{
    ComplexityConfig, ComplexityLoss, Hypernet, HypernetKind, HypernetLoss, LambdaEncoding,
    LambdaSampler, LambdaScale, VariationalMlp,
};
use ndarray::Array2;
use nn::init::Init;
use nn::layers::Activation;
use nn::optim::{Optimizer, Sgd, SgdConfig};
use nn::train::{Batch, BatchLoss};
use nn::{Ctx, Module};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

const BATCH: usize = 64;

/// The median wall time in milliseconds of `repeats` steps of `loss` on `model`.
fn time_steps<M: Module<f32>>(
    model: &mut M,
    loss: &dyn BatchLoss<f32, M>,
    repeats: usize,
    rng: &mut StdRng,
) -> f64 {
    let x = Array2::from_shape_simple_fn((BATCH, 784), || rng.gen::<f32>());
    let labels: Vec<usize> = (0..BATCH).map(|_| rng.gen_range(0..10)).collect();
    let indices: Vec<usize> = (0..BATCH).collect();
    let mut sgd = Sgd::new(SgdConfig::new(0.01).momentum(0.9)).expect("valid SGD");
    let mut times = Vec::new();
    for i in 0..repeats + 5 {
        let start = Instant::now();
        let grads = {
            let tape = autograd::Tape::new();
            let ctx = Ctx::train(&tape, i as u64);
            let batch = Batch {
                x: x.clone(),
                labels: labels.clone(),
                indices: &indices,
            };
            let l = loss.loss(model, &ctx, &batch).expect("a finite loss");
            ctx.grads(l).expect("gradients")
        };
        sgd.step(model, &grads).expect("a step");
        if i >= 5 {
            times.push(start.elapsed().as_secs_f64() * 1e3);
        }
    }
    times.sort_by(f64::total_cmp);
    times[times.len() / 2]
}

fn run(repeats: usize) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut rng = StdRng::seed_from_u64(0);
    let config = ComplexityConfig::new(0.1, 60_000)?;
    let sampler = LambdaSampler {
        scale: LambdaScale::Log,
        min: 0.01,
        max: 100.0,
        zero_probability: 1.0 / 6.0,
    };
    let encoding = LambdaEncoding::log1p(0.01, 100.0)?;
    for activation in [Activation::Softmax, Activation::Relu] {
        let target = || {
            VariationalMlp::<f32>::with_biases(
                &[784, 100, 10],
                activation,
                Init::XavierUniform { gain: 1.0 },
                -6.0,
                &mut StdRng::seed_from_u64(1),
            )
        };
        let mut single = target()?;
        let per_lambda = ComplexityLoss {
            lambda: 1.0,
            config,
        };
        let base = time_steps(&mut single, &per_lambda, repeats, &mut rng);
        println!("{activation:?}: per-λ model step {base:.2} ms");
        for kind in [
            HypernetKind::Linear,
            HypernetKind::LowRank {
                rank: 1,
                hidden: 50,
            },
        ] {
            for per_batch in [1, 5] {
                let mut hyper = Hypernet::new(target()?, kind, encoding, &mut rng)?;
                let loss = HypernetLoss {
                    sampler,
                    per_batch,
                    config,
                };
                let t = time_steps(&mut hyper, &loss, repeats, &mut rng);
                println!(
                    "{activation:?}: {kind:?}, {per_batch} λ per batch: {t:.2} ms ({:.2}× the \
                     per-λ step; {} parameters)",
                    t / base,
                    nn::ModuleExt::param_count(&hyper)
                );
            }
        }
    }
    Ok(())
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let repeats = std::env::args()
        .nth(1)
        .map(|s| s.parse::<usize>())
        .transpose()?
        .unwrap_or(50)
        .max(1);
    rayon::ThreadPoolBuilder::new()
        .build()?
        .install(|| run(repeats))
}
