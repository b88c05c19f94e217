//! The Bayesian-distilled student's variational objective: gradient checks (f64, central
//! differences, the default tolerances justified in `autograd::Tolerance`) with the noise fixed
//! by the pass's seed, against full, diagonal and K-FAC priors and both likelihoods; and the
//! exact KL's structures against each other.

use autograd::gradcheck::check_fn;
use autograd::{gradcheck, gradgradcheck, Tape, Tolerance};
use faer::Mat;
use methods::bayes::gaussian::{DenseGaussian, DiagGaussian, Form};
use methods::bayes::kl::{kl_divergence, MeanField, PreparedPrior};
use methods::bayes::likelihood::{Likelihood, Targets};
use methods::bayes::matrix_normal::MatrixNormal;
use methods::bayes::posterior::{Structured, WeightGaussian};
use methods::bayes::variational::{variational_objective, VariationalConfig, VariationalMlp};
use ndarray::{Array1, Array2, ArrayD};
use nn::init::Init;
use nn::layers::Activation;
use nn::{Ctx, Module, Param};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

const SIZES: [usize; 3] = [3, 4, 2];

fn normal(rng: &mut StdRng, r: usize, c: usize, scale: f64) -> Array2<f64> {
    Array2::from_shape_simple_fn((r, c), || scale * rng.sample::<f64, _>(StandardNormal))
}

/// `B Bᵀ / n + I/2`: symmetric positive definite, condition number ≲ 10.
fn spd(rng: &mut StdRng, n: usize) -> Mat<f64> {
    let b = normal(rng, n, n, 1.0);
    let a = b.dot(&b.t()) / n as f64;
    Mat::from_fn(n, n, |i, j| a[[i, j]] + if i == j { 0.5 } else { 0.0 })
}

/// The three prior structures over `SIZES`, with random means and matrices.
fn priors(rng: &mut StdRng) -> Vec<WeightGaussian> {
    let d = 3 * 4 + 4 * 2;
    let mean: Array1<f64> = (0..d)
        .map(|_| 0.5 * rng.sample::<f64, _>(StandardNormal))
        .collect();
    let full = DenseGaussian::new(mean.clone(), spd(rng, d), Form::Precision).unwrap();
    let diag_p: Array1<f64> = (0..d).map(|_| rng.gen_range(0.5..3.0)).collect();
    let diag = DiagGaussian::new(mean, diag_p).unwrap();
    let kfac = (0..2)
        .map(|l| {
            let (r, c) = (SIZES[l + 1], SIZES[l]);
            let m = normal(rng, r, c, 0.5);
            MatrixNormal::new(m, spd(rng, r), spd(rng, c), Form::Precision).unwrap()
        })
        .collect();
    vec![
        WeightGaussian::new(SIZES.to_vec(), Structured::Full(full)).unwrap(),
        WeightGaussian::new(SIZES.to_vec(), Structured::Diagonal(diag)).unwrap(),
        WeightGaussian::new(SIZES.to_vec(), Structured::Kfac(kfac)).unwrap(),
    ]
}

fn params_of(m: &dyn Module<f64>) -> Vec<Param<f64>> {
    let mut out = Vec::new();
    m.visit_params(&mut |_, p| out.push(p.clone()));
    out
}

fn unwrap_autograd(e: methods::Error) -> autograd::Error {
    match e {
        methods::Error::Autograd(e) => e,
        methods::Error::Nn(nn::Error::Autograd(e)) => e,
        other => panic!("unexpected error: {other}"),
    }
}

/// First and second order, with respect to every mean and log-variance, for every prior
/// structure and both likelihoods. The activation is tanh (smooth: no kink within a
/// finite-difference step). The training pass's seed (7) fixes `ε`.
#[test]
fn variational_objective_passes_gradcheck() {
    let mut rng = StdRng::seed_from_u64(1);
    let x = normal(&mut rng, 5, 3, 1.0);
    let y = normal(&mut rng, 5, 2, 1.0);
    let labels = [0, 1, 1, 0, 1];
    let student =
        VariationalMlp::<f64>::new(&SIZES, Activation::Tanh, Init::TorchDefault, -1.5, &mut rng)
            .unwrap();
    let params = params_of(&student);
    let inputs: Vec<ArrayD<f64>> = params.iter().map(|p| p.value().to_owned()).collect();
    assert_eq!(inputs.len(), 4, "two layers × (mean, log-variance)");
    for prior in priors(&mut rng) {
        let prepared = PreparedPrior::new(&prior).unwrap();
        for (likelihood, targets) in [
            (
                Likelihood::Gaussian { noise_var: 0.3 },
                Targets::Real(y.view()),
            ),
            (Likelihood::Categorical, Targets::Labels(&labels)),
        ] {
            let cfg = VariationalConfig {
                likelihood,
                train_size: 50,
                kl_weight: 1.0,
            };
            let f = check_fn(|tape, xs| {
                let ctx = Ctx::train(tape, 7);
                for (p, &v) in params.iter().zip(xs) {
                    ctx.substitute(p, v);
                }
                let terms = variational_objective(
                    &ctx,
                    &student,
                    ctx.input(x.view()),
                    &targets,
                    &prepared,
                    &cfg,
                )
                .map_err(unwrap_autograd)?;
                Ok(terms.loss)
            });
            let name = format!("{} prior, {likelihood:?}", prior.structure_name());
            let report = gradcheck(f, &inputs, Tolerance::default()).unwrap();
            assert!(report.passed(), "{name}: {report}");
            let report = gradgradcheck(f, &inputs, Tolerance::default()).unwrap();
            assert!(report.passed(), "{name}, second order: {report}");
        }
    }
}

/// The KL evaluated on a tape as f64.
fn kl_value(prior: &WeightGaussian, means: &[Array2<f64>], log_vars: &[Array2<f64>]) -> f64 {
    let tape = Tape::<f64>::new();
    let q = MeanField {
        means: means.iter().map(|m| tape.constant(m.view())).collect(),
        log_vars: log_vars.iter().map(|m| tape.constant(m.view())).collect(),
    };
    let prepared = PreparedPrior::new(prior).unwrap();
    kl_divergence(&q, &prepared).unwrap().item().unwrap()
}

/// The K-FAC and diagonal KLs equal the full KL against the same prior densified (block
/// `P ⊗ Q` per layer; `diag(λ)`), and the KL of a prior with itself-as-q (diagonal) is 0.
/// Sums of a few dozen O(1) terms: rounding ≲ 1e-13; tolerance 1e-10.
#[test]
fn kl_structures_agree_and_vanish_at_equality() {
    let mut rng = StdRng::seed_from_u64(2);
    let means: Vec<Array2<f64>> = (0..2)
        .map(|l| normal(&mut rng, SIZES[l + 1], SIZES[l], 0.7))
        .collect();
    let log_vars: Vec<Array2<f64>> = (0..2)
        .map(|l| normal(&mut rng, SIZES[l + 1], SIZES[l], 0.3) - 1.0)
        .collect();
    for prior in priors(&mut rng).into_iter().skip(1) {
        let dense = WeightGaussian::new(
            SIZES.to_vec(),
            Structured::Full(prior.to_dense(Form::Precision).unwrap()),
        )
        .unwrap();
        let (a, b) = (
            kl_value(&prior, &means, &log_vars),
            kl_value(&dense, &means, &log_vars),
        );
        assert!(
            (a - b).abs() < 1e-10 * b.abs().max(1.0),
            "{}: {a} vs {b}",
            prior.structure_name()
        );
        // a covariance-form dense prior gives the same KL (inverted once, κ ≲ 100)
        let cov = WeightGaussian::new(
            SIZES.to_vec(),
            Structured::Full(prior.to_dense(Form::Covariance).unwrap()),
        )
        .unwrap();
        let c = kl_value(&cov, &means, &log_vars);
        assert!(
            (c - b).abs() < 1e-9 * b.abs().max(1.0),
            "covariance form: {c} vs {b}"
        );
    }
    let mut rng = StdRng::seed_from_u64(3);
    let diag = &priors(&mut rng)[1];
    let Structured::Diagonal(g) = &diag.dist else {
        unreachable!()
    };
    let split = |v: &Array1<f64>| -> Vec<Array2<f64>> {
        vec![
            Array2::from_shape_vec((4, 3), v.as_slice().unwrap()[..12].to_vec()).unwrap(),
            Array2::from_shape_vec((2, 4), v.as_slice().unwrap()[12..].to_vec()).unwrap(),
        ]
    };
    let zero = kl_value(
        diag,
        &split(&g.mean),
        &split(&g.precision.mapv(|p| -p.ln())),
    );
    assert!(zero.abs() < 1e-12, "KL(p ‖ p) = {zero}");
}
