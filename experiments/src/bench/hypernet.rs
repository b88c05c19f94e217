//! The training step of S2's hypernetworks (`methods::hypernet`) beside one step of a model
//! trained at a single `λ`, as the `hypernet` experiment takes them: the network 784-100-10
//! ReLU with mean-field Gaussian weights and biases (ln σ² = −6 at the start), a batch of 64,
//! f32, SGD at 0.05 with momentum 0.9 and every gradient entry clipped to [−1, 1], prior
//! `N(0, 0.1 I)`, `N = 60,000`. A hypernetwork step draws 5 values of `λ` (log-uniform on
//! [0.01, 100], `λ = 0` with probability 1/6), generates every mean and log-variance from each
//! (a rank-1 correction through `f` of 50 ReLU units, or linear), and averages the 5
//! per-`λ` objectives, each with its own reparameterised draw. Metric: samples per second
//! (64 per step, whatever the number of `λ`).

use methods::hypernet::{
    ComplexityConfig, ComplexityLoss, Hypernet, HypernetKind, HypernetLoss, LambdaEncoding,
    LambdaSampler, LambdaScale, VariationalMlp,
};
use ndarray::Array2;
use nn::init::Init;
use nn::layers::Activation;
use nn::optim::{Clipped, GradClip, Optimizer, Sgd, SgdConfig};
use nn::train::{Batch, BatchLoss};
use nn::{Ctx, Module};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::{Metric, Prepared};

const BATCH: usize = 64;

/// Which model the step trains.
#[derive(Clone, Copy)]
pub enum Step {
    /// One model at `λ = 1`.
    PerLambda,
    /// A hypernetwork of this kind, 5 values of `λ` per batch.
    Hypernet(HypernetKind),
}

/// One training step of `step`'s model.
pub fn workload(step: Step) -> Prepared {
    let mut rng = StdRng::seed_from_u64(super::workloads::SEED);
    let config = ComplexityConfig::new(0.1, 60_000).expect("valid prior and N");
    let target = VariationalMlp::<f32>::with_biases(
        &[784, 100, 10],
        Activation::Relu,
        Init::XavierUniform { gain: 1.0 },
        -6.0,
        &mut rng,
    )
    .expect("valid sizes");
    match step {
        Step::PerLambda => {
            let loss = ComplexityLoss {
                lambda: 1.0,
                config,
            };
            prepared(target, loss, rng)
        }
        Step::Hypernet(kind) => {
            let encoding = LambdaEncoding::log1p(0.01, 100.0).expect("a valid range");
            let hyper = Hypernet::new(target, kind, encoding, &mut rng).expect("a valid kind");
            let loss = HypernetLoss {
                sampler: LambdaSampler {
                    scale: LambdaScale::Log,
                    min: 0.01,
                    max: 100.0,
                    zero_probability: 1.0 / 6.0,
                },
                per_batch: 5,
                config,
            };
            prepared(hyper, loss, rng)
        }
    }
}

fn prepared<M, L>(mut model: M, loss: L, mut rng: StdRng) -> Prepared
where
    M: Module<f32> + 'static,
    L: BatchLoss<f32, M> + 'static,
{
    let x = Array2::from_shape_simple_fn((BATCH, 784), || rng.gen::<f32>());
    let labels: Vec<usize> = (0..BATCH).map(|_| rng.gen_range(0..10)).collect();
    let indices: Vec<usize> = (0..BATCH).collect();
    let sgd = Sgd::new(SgdConfig::new(0.05).momentum(0.9)).expect("valid SGD");
    let mut optimizer = Clipped::new(sgd, GradClip::Value(1.0)).expect("a positive clip");
    let mut pass = 0u64;
    Prepared {
        step: Box::new(move || {
            pass += 1;
            let grads = {
                let tape = autograd::Tape::new();
                let ctx = Ctx::train(&tape, pass);
                let batch = Batch {
                    x: x.clone(),
                    labels: labels.clone(),
                    indices: &indices,
                };
                let l = loss.loss(&model, &ctx, &batch).expect("a finite loss");
                ctx.grads(l).expect("a scalar loss")
            };
            optimizer
                .step(&mut model, &grads)
                .expect("shapes fixed above");
        }),
        metric: Metric::PerSecond {
            unit: "samples/s",
            count: BATCH as f64,
        },
    }
}
