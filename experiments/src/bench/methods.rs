//! The methods' characteristic steps as benchmark workloads, under the names
//! `benches/pytorch/torch_bench.py` uses for their PyTorch equivalents. Inputs are random from a
//! fixed seed: the cost of these steps does not depend on the values.

use autograd::functional::Reduction;
use autograd::Tape;
use methods::bayes::laplace::{laplace, Curvature, LaplaceConfig, Structure};
use methods::bayes::likelihood::{Likelihood, Targets};
use methods::bayes::mlp::NoBiasMlp;
use methods::hypernet::HypernetKind;
use methods::multidomain::vae::{Vae, VaeConfig};
use ndarray::Array2;
use nn::layers::{mlp, Activation};
use nn::optim::{Adam, AdamConfig, Optimizer};
use nn::Ctx;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

use super::hypergradient::{self, Opt};
use super::hypernet::{self, Step};
use super::{variational, wasserstein};
use super::{Metric, Prepared, Workload};

const SEED: u64 = 0;

/// The method workloads, after the kernels' in `distillery bench --list`.
pub const METHOD_WORKLOADS: &[Workload] = &[
    Workload {
        name: "vae_train_step",
        prepare: vae_train_step,
    },
    Workload {
        name: "laplace_ggn_full_6050",
        prepare: laplace_ggn_full_6050,
    },
    Workload {
        name: "exact_w1_100",
        prepare: || exact_w1_clouds(100),
    },
    Workload {
        name: "exact_w1_500",
        prepare: || exact_w1_clouds(500),
    },
    Workload {
        name: "exact_w1_1000",
        prepare: || exact_w1_clouds(1000),
    },
    Workload {
        name: "bayes_variational_step",
        prepare: variational::workload,
    },
    Workload {
        name: "wasserstein_transfer_step",
        prepare: wasserstein::workload,
    },
    Workload {
        name: "hypernet_per_lambda_step",
        prepare: || hypernet::workload(Step::PerLambda),
    },
    Workload {
        name: "hypernet_linear_step_5",
        prepare: || hypernet::workload(Step::Hypernet(HypernetKind::Linear)),
    },
    Workload {
        name: "hypernet_low_rank_step_5",
        prepare: || {
            hypernet::workload(Step::Hypernet(HypernetKind::LowRank {
                rank: 1,
                hidden: 50,
            }))
        },
    },
    // the cost of one hypergradient of methods::meta against the unrolled steps k, and its
    // peak memory (the peaks have no PyTorch counterpart)
    Workload {
        name: "hypergrad_sgd_step",
        prepare: || hypergradient::workload(Opt::Sgd, None),
    },
    Workload {
        name: "hypergrad_sgd_k1",
        prepare: || hypergradient::workload(Opt::Sgd, Some(1)),
    },
    Workload {
        name: "hypergrad_sgd_k2",
        prepare: || hypergradient::workload(Opt::Sgd, Some(2)),
    },
    Workload {
        name: "hypergrad_sgd_k5",
        prepare: || hypergradient::workload(Opt::Sgd, Some(5)),
    },
    Workload {
        name: "hypergrad_sgd_k10",
        prepare: || hypergradient::workload(Opt::Sgd, Some(10)),
    },
    Workload {
        name: "hypergrad_adam_step",
        prepare: || hypergradient::workload(Opt::Adam, None),
    },
    Workload {
        name: "hypergrad_adam_k1",
        prepare: || hypergradient::workload(Opt::Adam, Some(1)),
    },
    Workload {
        name: "hypergrad_adam_k2",
        prepare: || hypergradient::workload(Opt::Adam, Some(2)),
    },
    Workload {
        name: "hypergrad_adam_k5",
        prepare: || hypergradient::workload(Opt::Adam, Some(5)),
    },
    Workload {
        name: "hypergrad_adam_k10",
        prepare: || hypergradient::workload(Opt::Adam, Some(10)),
    },
    Workload {
        name: "peak_rss_hypergrad_sgd_step",
        prepare: || hypergradient::peak("hypergrad_sgd_step"),
    },
    Workload {
        name: "peak_rss_hypergrad_sgd_k1",
        prepare: || hypergradient::peak("hypergrad_sgd_k1"),
    },
    Workload {
        name: "peak_rss_hypergrad_sgd_k2",
        prepare: || hypergradient::peak("hypergrad_sgd_k2"),
    },
    Workload {
        name: "peak_rss_hypergrad_sgd_k5",
        prepare: || hypergradient::peak("hypergrad_sgd_k5"),
    },
    Workload {
        name: "peak_rss_hypergrad_sgd_k10",
        prepare: || hypergradient::peak("hypergrad_sgd_k10"),
    },
    Workload {
        name: "peak_rss_hypergrad_adam_step",
        prepare: || hypergradient::peak("hypergrad_adam_step"),
    },
    Workload {
        name: "peak_rss_hypergrad_adam_k1",
        prepare: || hypergradient::peak("hypergrad_adam_k1"),
    },
    Workload {
        name: "peak_rss_hypergrad_adam_k2",
        prepare: || hypergradient::peak("hypergrad_adam_k2"),
    },
    Workload {
        name: "peak_rss_hypergrad_adam_k5",
        prepare: || hypergradient::peak("hypergrad_adam_k5"),
    },
    Workload {
        name: "peak_rss_hypergrad_adam_k10",
        prepare: || hypergradient::peak("hypergrad_adam_k10"),
    },
];

/// Pixel intensities in `[0, 1)`.
fn pixels(rng: &mut StdRng, rows: usize) -> Array2<f32> {
    Array2::from_shape_simple_fn((rows, 784), || rng.gen::<f32>())
}

/// One Adam step (step size 1e-3) of S1's VAE (encoder 784-200-(64, 64), two decoders
/// 64-200-784) on the mean −ELBO of a batch of 128 clothes images and their paired digits, the
/// latent noise drawn afresh each step, as `multidomain` trains it. Metric: samples per second.
fn vae_train_step() -> Prepared {
    const BATCH: usize = 128;
    let mut rng = StdRng::seed_from_u64(SEED);
    let mut vae = Vae::<f32>::new(VaeConfig::default(), &mut rng).expect("the default is valid");
    let (clothes, digits) = (pixels(&mut rng, BATCH), pixels(&mut rng, BATCH));
    let mut adam = Adam::new(AdamConfig::adam(1e-3)).expect("valid settings");
    Prepared {
        step: Box::new(move || {
            let noise = vae.draw_noise(BATCH, &mut rng);
            let grads = {
                let tape = Tape::new();
                let ctx = Ctx::train(&tape, 0);
                let elbo = vae
                    .elbo(
                        &ctx,
                        ctx.input(clothes.view()),
                        ctx.input(digits.view()),
                        ctx.input(noise.view()),
                        Reduction::Mean,
                    )
                    .expect("shapes fixed above");
                ctx.grads(-elbo).expect("scalar loss")
            };
            adam.step(&mut vae, &grads).expect("shapes fixed above");
        }),
        metric: Metric::PerSecond {
            unit: "samples/s",
            count: BATCH as f64,
        },
    }
}

/// The Laplace posterior of S4's synthetic teacher (`[10, 100, 50, 1]`, no biases, 6,050
/// weights) on 900 objects with a Gaussian likelihood (`s² = 0.1`) and prior precision 1: the
/// full generalised Gauss-Newton precision `Λ = α I + (1/s²) Σ_i J_iᵀ J_i` built and
/// Cholesky-factored. Metric: posteriors per second.
fn laplace_ggn_full_6050() -> Prepared {
    const OBJECTS: usize = 900;
    let mut rng = StdRng::seed_from_u64(SEED);
    let model = mlp::<f64>(&[10, 100, 50, 1], Activation::Relu, false, &mut rng);
    let teacher = NoBiasMlp::from_module(&model, Activation::Relu).expect("a bias-free MLP");
    let x = Array2::from_shape_simple_fn((OBJECTS, 10), || rng.sample::<f64, _>(StandardNormal));
    let y = Array2::from_shape_simple_fn((OBJECTS, 1), || rng.sample::<f64, _>(StandardNormal));
    let config = LaplaceConfig {
        curvature: Curvature::Ggn,
        structure: Structure::Full,
        prior_precision: 1.0,
        likelihood: Likelihood::Gaussian { noise_var: 0.1 },
        ..LaplaceConfig::default()
    };
    Prepared {
        step: Box::new(move || {
            laplace(&teacher, x.view(), Targets::Real(y.view()), &config)
                .expect("the GGN with a unit prior is positive definite");
        }),
        metric: Metric::PerSecond {
            unit: "posteriors/s",
            count: 1.0,
        },
    }
}

/// `methods::transfer::exact_w1` (distance matrix and Hungarian assignment, `O(n³)`) between
/// two independent clouds of `n` points in `R^64` (the dimension of a small layer's filters), from
/// `N(0, I)` and `N(1, I)`. Metric: solves per second (its inverse is the
/// seconds per solve).
fn exact_w1_clouds(n: usize) -> Prepared {
    let mut rng = StdRng::seed_from_u64(SEED);
    let p: Array2<f64> = Array2::from_shape_simple_fn((n, 64), || rng.sample(StandardNormal));
    let q: Array2<f64> =
        Array2::from_shape_simple_fn((n, 64), || 1.0 + rng.sample::<f64, _>(StandardNormal));
    Prepared {
        step: Box::new(move || {
            let plan =
                methods::transfer::exact_w1(p.view(), q.view()).expect("equal finite clouds");
            assert!(plan.value.is_finite());
        }),
        metric: Metric::PerSecond {
            unit: "solves/s",
            count: 1.0,
        },
    }
}
