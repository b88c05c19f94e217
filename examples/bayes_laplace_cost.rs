//! Time and peak memory of the Laplace posteriors of Bayesian distillation (seed S4), stage by
//! stage, for the seeds' two teachers:
//!
//! ```sh
//! cargo run --release --example bayes_laplace_cost -- synthetic   # [10,100,50,1], 6,050 weights
//! cargo run --release --example bayes_laplace_cost -- fashion [N] # [784,800,50,10], K-FAC
//! ```
//!
//! `synthetic`: the seed's regression data (`n = 10`, `m = 900`, `y ~ N(Xw, 0.1)`), the
//! teacher trained by full-batch Adam on the negative log posterior (`α = 1`); then the full
//! GGN and the full exact Hessian posteriors (built, symmetrised, Cholesky-factored), the four
//! removal orders, and the alignments to `[10,10,10,1]` and `[10,50,1]`. `fashion`: a randomly
//! initialised `[784,800,50,10]` teacher on `N` (default 3000) random inputs and labels — the
//! cost does not depend on the values — with K-FAC and diagonal GGN posteriors, the orders,
//! and the alignment to `[784,50,10]`. Peak memory is the process's high-water mark (`VmHWM`
//! of `/proc/self/status`), read after each stage (it only grows).

use std::time::Instant;

use autograd::Tape;
use methods::bayes::curvature::{hessian_diagonal_hutchinson, Data};
use methods::bayes::kl::PreparedPrior;
use methods::bayes::laplace::{laplace, Curvature, LaplaceConfig, Structure};
use methods::bayes::likelihood::{Likelihood, Targets};
use methods::bayes::linalg::DEFAULT_JITTER;
use methods::bayes::mlp::NoBiasMlp;
use methods::bayes::orders::{neuron_scores, RemovalOrder};
use methods::bayes::posterior::WeightGaussian;
use ndarray::{Array2, Ix2};
use nn::init::Init;
use nn::layers::{mlp, Activation};
use nn::optim::{Adam, AdamConfig, Optimizer};
use nn::{Ctx, Module};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

type Res<T> = Result<T, Box<dyn std::error::Error + Send + Sync>>;

fn main() -> Res<()> {
    rayon::ThreadPoolBuilder::new().build()?.install(run)
}

fn run() -> Res<()> {
    let mut args = std::env::args().skip(1);
    match args.next().as_deref() {
        Some("synthetic") => synthetic(),
        Some("fashion") => {
            let n = args.next().map(|s| s.parse()).transpose()?.unwrap_or(3000);
            fashion(n)
        }
        _ => Err("usage: bayes_laplace_cost synthetic | fashion [N]".into()),
    }
}

/// The process's peak resident memory, MiB.
fn peak_mib() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find(|l| l.starts_with("VmHWM:"))
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|kb| kb.parse::<f64>().ok())
        .map_or(f64::NAN, |kb| kb / 1024.0)
}

fn stage<T>(name: &str, f: impl FnOnce() -> Res<T>) -> Res<T> {
    let t = Instant::now();
    let out = f()?;
    println!(
        "{name:<58} {:>8.2} s   peak {:>7.0} MiB",
        t.elapsed().as_secs_f64(),
        peak_mib()
    );
    Ok(out)
}

fn normal(shape: (usize, usize), rng: &mut StdRng) -> Array2<f64> {
    Init::KaimingNormal { gain: 1.0 }
        .sample::<f64>(&[shape.0, shape.1], (1, 1), rng)
        .into_dimensionality::<Ix2>()
        .expect("2-D")
        .to_owned()
}

/// Full-batch Adam (step size 3e-3, cosine decay to 0) on `(−log p(y|X,u) + α/2 ‖u‖²) / N`.
fn train_teacher(
    sizes: &[usize],
    x: &Array2<f64>,
    y: &Array2<f64>,
    lik: Likelihood,
    alpha: f64,
    steps: usize,
) -> Res<NoBiasMlp> {
    let mut rng = StdRng::seed_from_u64(1);
    let mut model = mlp::<f64>(sizes, Activation::Relu, false, &mut rng);
    let mut adam = Adam::new(AdamConfig::adam(3e-3))?;
    let n = x.nrows() as f64;
    let mut last = f64::NAN;
    for step in 0..steps {
        // cosine decay to 0: the Laplace approximation needs the teacher at a minimum
        let progress = step as f64 / steps as f64;
        adam.set_learning_rate(3e-3 * 0.5 * (1.0 + (std::f64::consts::PI * progress).cos()))?;
        let tape = Tape::new();
        let ctx = Ctx::train(&tape, 0);
        let out = model.forward(&ctx, ctx.input(x.view()))?;
        let mut loss = lik.neg_log_likelihood(out, &Targets::Real(y.view()))?;
        for (_, w) in ctx.bind_all(&model) {
            loss = loss.try_add(w.square().sum().mul_scalar(0.5 * alpha))?;
        }
        let loss = loss.mul_scalar(1.0 / n);
        last = loss.item().unwrap_or(f64::NAN);
        let grads = ctx.grads(loss)?;
        drop(tape);
        adam.step(&mut model, &grads)?;
    }
    println!("teacher trained: {steps} Adam steps, final (−log posterior)/N = {last:.4}");
    Ok(NoBiasMlp::from_module(&model, Activation::Relu)?)
}

fn orders_and_alignments(
    posterior: &WeightGaussian,
    hessian_diag: Option<&ndarray::Array1<f64>>,
    students: &[Vec<usize>],
) -> Res<()> {
    for order in [
        RemovalOrder::Random { seed: 0 },
        RemovalOrder::OptimalBrainDamage,
        RemovalOrder::DensityRatio,
        RemovalOrder::Belsley,
    ] {
        let scores = stage(
            &format!(
                "  scores: {} ({})",
                order.name(),
                posterior.structure_name()
            ),
            || Ok(neuron_scores(order, posterior, hessian_diag)?),
        )?;
        for student in students {
            let (_, aligned) = stage(&format!("    align to {student:?}"), || {
                Ok(posterior.align_to(student, true, &scores, DEFAULT_JITTER)?)
            })?;
            stage("    prepare the prior for the KL", || {
                Ok(PreparedPrior::new(&aligned.prior)?)
            })?;
            if aligned.jitter > 0.0 {
                println!("    jitter {:.3e}", aligned.jitter);
            }
        }
    }
    Ok(())
}

fn synthetic() -> Res<()> {
    let mut rng = StdRng::seed_from_u64(0);
    let (n, m) = (10, 900);
    let w = normal((n, 1), &mut rng);
    let x = normal((m, n), &mut rng);
    let noise_var: f64 = 0.1;
    let y = x.dot(&w) + normal((m, 1), &mut rng) * noise_var.sqrt();
    let lik = Likelihood::Gaussian { noise_var };
    let sizes = [10, 100, 50, 1];
    let teacher = stage("train the teacher (full-batch Adam, 20000 steps)", || {
        train_teacher(&sizes, &x, &y, lik, 1.0, 20_000)
    })?;
    println!(
        "teacher {:?}: {} weights; {m} objects",
        teacher.sizes(),
        teacher.num_weights()
    );
    let mut hessian_diag = None;
    let mut ggn_posterior = None;
    for curvature in [Curvature::Ggn, Curvature::Hessian] {
        let cfg = LaplaceConfig {
            curvature,
            structure: Structure::Full,
            likelihood: lik,
            ..LaplaceConfig::default()
        };
        let lap = stage(
            &format!("Laplace, full, {curvature:?}: build + factor"),
            || Ok(laplace(&teacher, x.view(), Targets::Real(y.view()), &cfg)),
        )?;
        match lap {
            Ok(lap) => {
                let r = &lap.report;
                println!(
                    "  build {:.2} s, Cholesky {:.2} s, ln|Λ| = {:.1}, ‖∇‖ = {:.2e}, asymmetry {:.1e}, {} HVPs",
                    r.build_seconds, r.factor_seconds, r.log_det_precision, r.grad_norm, r.asymmetry, r.hvps
                );
                if curvature == Curvature::Hessian {
                    hessian_diag = Some(lap.posterior.precision_diagonal()?.mapv(|v| v - 1.0));
                } else {
                    ggn_posterior = Some(lap.posterior);
                }
            }
            Err(e) => println!("  {e}"),
        }
    }
    if hessian_diag.is_none() {
        // OBD needs h_jj, not a positive-definite posterior: the exact diagonal costs what the
        // full Hessian did (P products); Hutchinson's estimate takes `samples` products
        let data = Data {
            x: x.view(),
            targets: Targets::Real(y.view()),
        };
        let (h, se) = stage("Hessian diagonal by Hutchinson (200 HVPs)", || {
            let mut rng = StdRng::seed_from_u64(0);
            Ok(hessian_diagonal_hutchinson(
                &teacher, &data, &lik, 1000, 200, &mut rng,
            )?)
        })?;
        let negative = h.iter().filter(|v| **v < 0.0).count();
        let mean_se = se.mean().unwrap_or(f64::NAN);
        println!(
            "  {negative} of {} estimates negative; mean standard error {mean_se:.3e}",
            h.len()
        );
        hessian_diag = Some(h);
    }
    let posterior = ggn_posterior.ok_or("no GGN posterior")?;
    println!("orders (OBD with the exact or Hutchinson Hessian diagonal, else the GGN's):");
    orders_and_alignments(
        &posterior,
        hessian_diag.as_ref(),
        &[vec![10, 10, 10, 1], vec![10, 50, 1]],
    )?;
    Ok(())
}

fn fashion(n: usize) -> Res<()> {
    let mut rng = StdRng::seed_from_u64(0);
    let sizes = [784, 800, 50, 10];
    let model = mlp::<f64>(&sizes, Activation::Relu, false, &mut rng);
    let teacher = NoBiasMlp::from_module(&model, Activation::Relu)?;
    let x = Array2::from_shape_simple_fn((n, 784), || rng.gen::<f64>());
    let labels: Vec<usize> = (0..n).map(|_| rng.gen_range(0..10)).collect();
    println!(
        "teacher {:?}: {} weights (random init); {n} random objects",
        teacher.sizes(),
        teacher.num_weights()
    );
    let base = LaplaceConfig {
        likelihood: Likelihood::Categorical,
        batch_size: 500,
        ..LaplaceConfig::default()
    };
    let kfac = stage("Laplace, K-FAC, GGN: build + factor", || {
        Ok(laplace(
            &teacher,
            x.view(),
            Targets::Labels(&labels),
            &LaplaceConfig {
                structure: Structure::Kfac,
                ..base
            },
        )?)
    })?;
    println!(
        "  build {:.2} s, factor {:.2} s, ln|Λ| = {:.1}",
        kfac.report.build_seconds, kfac.report.factor_seconds, kfac.report.log_det_precision
    );
    let diag = stage("Laplace, diagonal, GGN (exact diagonal)", || {
        Ok(laplace(
            &teacher,
            x.view(),
            Targets::Labels(&labels),
            &LaplaceConfig {
                structure: Structure::Diagonal,
                ..base
            },
        )?)
    })?;
    println!("orders:");
    orders_and_alignments(&kfac.posterior, None, &[vec![784, 50, 10]])?;
    orders_and_alignments(&diag.posterior, None, &[vec![784, 50, 10]])?;
    Ok(())
}
