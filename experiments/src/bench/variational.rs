//! One training step of S4's Bayesian student (`methods::bayes`), as `bayes-distill-neurons`
//! takes it: the bias-free ReLU network `[10, 10, 10, 1]` (210 weights) with a mean-field
//! Gaussian posterior `q = N(μ, diag(e^ρ))` (ln σ² = −9 at the start), one reparameterised
//! draw per step, a Gaussian likelihood (`s² = 0.1`), the joint (full, 210 × 210) prior of the
//! aligned teacher, and Adam at 1e-3 on
//!
//! `(KL(q ‖ p) + (N/B) · (−log p(y_B | X_B, w))) / N`,   `N = 900`, `B = 64`.
//!
//! The prior here is a random positive-definite one (`Λ = I + A Aᵀ / 210`, mean `N(0, 0.1 I)`):
//! the step's cost does not depend on its values. Metric: samples per second.

use autograd::Tape;
use methods::bayes::gaussian::{DenseGaussian, Form};
use methods::bayes::kl::{kl_divergence, PreparedPrior};
use methods::bayes::likelihood::{Likelihood, Targets};
use methods::bayes::linalg::to_faer;
use methods::bayes::posterior::{Structured, WeightGaussian};
use methods::bayes::variational::VariationalMlp;
use ndarray::{Array1, Array2};
use nn::init::Init;
use nn::layers::Activation;
use nn::optim::{Adam, AdamConfig, Optimizer};
use nn::Ctx;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::{Metric, Prepared};

const SIZES: [usize; 4] = [10, 10, 10, 1];
const BATCH: usize = 64;
const TRAIN: usize = 900;

/// The random full prior over the student's `d` weights.
fn prior(d: usize, rng: &mut StdRng) -> PreparedPrior {
    let a = Array2::<f64>::from_shape_simple_fn((d, d), || rng.sample(StandardNormal));
    let precision = a.dot(&a.t()) / d as f64 + Array2::<f64>::eye(d);
    let mean =
        Array1::from_shape_simple_fn(d, || 0.1_f64.sqrt() * rng.sample::<f64, _>(StandardNormal));
    let dense = DenseGaussian::new(mean, to_faer(precision.view()), Form::Precision)
        .expect("a valid Gaussian");
    PreparedPrior::new(&WeightGaussian {
        sizes: SIZES.to_vec(),
        dist: Structured::Full(dense),
    })
    .expect("positive definite by construction")
}

/// One Adam step of the variational student on a fixed batch.
pub fn workload() -> Prepared {
    let mut rng = StdRng::seed_from_u64(super::workloads::SEED);
    let mut student = VariationalMlp::<f32>::new(
        &SIZES,
        Activation::Relu,
        Init::KaimingNormal {
            gain: std::f64::consts::SQRT_2,
        },
        -9.0,
        &mut rng,
    )
    .expect("valid sizes");
    let d: usize = SIZES.windows(2).map(|w| w[0] * w[1]).sum();
    let prior = prior(d, &mut rng);
    let x = Array2::<f32>::from_shape_simple_fn((BATCH, SIZES[0]), || rng.sample(StandardNormal));
    let y = Array2::<f64>::from_shape_simple_fn((BATCH, 1), || rng.sample(StandardNormal));
    let likelihood = Likelihood::Gaussian { noise_var: 0.1 };
    let mut adam = Adam::new(AdamConfig::adam(1e-3)).expect("valid settings");
    let mut pass = 0u64;
    Prepared {
        step: Box::new(move || {
            pass += 1;
            let grads = {
                let tape = Tape::new();
                let ctx = Ctx::train(&tape, pass);
                let kl = kl_divergence(&student.mean_field(&ctx), &prior).expect("sizes fit");
                let out = student
                    .forward_with(&ctx, ctx.input(x.clone()), true)
                    .expect("shapes fixed above");
                let data = likelihood
                    .neg_log_likelihood(out, &Targets::Real(y.view()))
                    .expect("shapes fixed above");
                let loss = kl
                    .mul_scalar(1.0 / TRAIN as f64)
                    .try_add(data.mul_scalar(1.0 / BATCH as f64))
                    .expect("scalars");
                ctx.grads(loss).expect("a scalar loss")
            };
            adam.step(&mut student, &grads).expect("shapes fixed above");
        }),
        metric: Metric::PerSecond {
            unit: "samples/s",
            count: BATCH as f64,
        },
    }
}
