//! Random instances of the variational losses: the complexity objective of `methods::hypernet`
//! with its KL to the prior, and the Bayesian-distilled student's KL to the aligned
//! (conditioned) prior with its variational objective (`methods::bayes`).

use anyhow::Result;
use autograd::op_table::Instance;
use methods::bayes::alignment::{Alignment, Removal};
use methods::bayes::gaussian::{DenseGaussian, DiagGaussian, Form};
use methods::bayes::kl::{kl_divergence, MeanField, PreparedPrior};
use methods::bayes::likelihood::{Likelihood, Targets};
use methods::bayes::linalg::{to_faer, Jitter};
use methods::bayes::matrix_normal::MatrixNormal;
use methods::bayes::posterior::{Structured, WeightGaussian};
use methods::bayes::variational::{variational_objective, VariationalConfig};
use methods::hypernet::{complexity_loss, kl_to_prior, ComplexityConfig, VariationalMlp};
use ndarray::{Array1, Array2, ArrayD, Ix2};
use nn::init::Init;
use nn::layers::Activation;
use nn::{Ctx, Param};
use rand::rngs::StdRng;
use rand::Rng;

use super::{engine_error, labels, normal, params_of, pass_with};

/// The teacher whose posterior is conditioned, and the student it is conditioned to (neuron 1
/// of the hidden layer removed).
const TEACHER: [usize; 3] = [3, 5, 2];
const STUDENT: [usize; 3] = [3, 4, 2];

/// The parameters' values, the checked inputs. The checked functions substitute the checker's
/// variables for them in a training pass whose seed (7) fixes the reparameterisation noise `ε`,
/// so that the objective is a fixed function of the means and log-variances.
fn values_of(params: &[Param<f64>]) -> Vec<ArrayD<f64>> {
    params.iter().map(|p| p.value().to_owned()).collect()
}

/// The complexity objective at `λ = 0.5` of a `[3, 4, 2]` tanh network with biases, in every
/// mean and log-variance.
pub(super) fn complexity(rng: &mut StdRng) -> Result<Instance> {
    let net =
        VariationalMlp::with_biases(&STUDENT, Activation::Tanh, Init::TorchDefault, -1.5, rng)?;
    let (x, y) = (normal(rng, &[5, 3], 1.0), labels(rng, 5, 2));
    let cfg = ComplexityConfig::new(0.1, 50)?;
    let params = params_of(&net);
    Ok(Instance {
        inputs: values_of(&params),
        f: Box::new(move |tape, xs| {
            let ctx = pass_with(tape, 7, &params, xs);
            let terms = complexity_loss(&ctx, &net, ctx.input(x.view()), &y, 0.5, &cfg)
                .map_err(engine_error)?;
            Ok(terms.loss)
        }),
    })
}

/// `KL(q ‖ N(0, s² I))` at `s² = 0.1`, in every mean and log-variance.
pub(super) fn kl_prior(rng: &mut StdRng) -> Result<Instance> {
    let net =
        VariationalMlp::with_biases(&STUDENT, Activation::Tanh, Init::TorchDefault, -1.5, rng)?;
    let params = params_of(&net);
    Ok(Instance {
        inputs: values_of(&params),
        f: Box::new(move |tape, xs| {
            let ctx = Ctx::eval(tape);
            for (p, &v) in params.iter().zip(xs) {
                ctx.substitute(p, v);
            }
            kl_to_prior(&ctx, &net, 0.1).map_err(engine_error)
        }),
    })
}

/// `B Bᵀ / n + I/2`: symmetric positive definite, condition number ≲ 10.
fn spd(rng: &mut StdRng, n: usize) -> Array2<f64> {
    let b = normal(rng, &[n, n], 1.0)
        .into_dimensionality::<Ix2>()
        .expect("2-D");
    b.dot(&b.t()) / n as f64 + Array2::<f64>::eye(n) * 0.5
}

/// A random teacher posterior of the given structure over `TEACHER`, conditioned on the
/// removal of hidden neuron 1: the student's prior `p(w | A)` over `STUDENT`.
fn aligned_prior(rng: &mut StdRng, structure: &str) -> Result<PreparedPrior> {
    let d = 3 * 5 + 5 * 2;
    let mean: Array1<f64> = (0..d).map(|_| 0.5 * rng.gen_range(-1.0..1.0)).collect();
    let dist = match structure {
        "full" => Structured::Full(DenseGaussian::new(
            mean,
            to_faer(spd(rng, d).view()),
            Form::Precision,
        )?),
        "diagonal" => {
            let precision: Array1<f64> = (0..d).map(|_| rng.gen_range(0.5..3.0)).collect();
            Structured::Diagonal(DiagGaussian::new(mean, precision)?)
        }
        _ => Structured::Kfac(
            (0..2)
                .map(|l| {
                    let (r, c) = (TEACHER[l + 1], TEACHER[l]);
                    let m = normal(rng, &[r, c], 0.5).into_dimensionality::<Ix2>()?;
                    let (p, q) = (spd(rng, r), spd(rng, c));
                    Ok(MatrixNormal::new(
                        m,
                        to_faer(p.view()),
                        to_faer(q.view()),
                        Form::Precision,
                    )?)
                })
                .collect::<Result<_>>()?,
        ),
    };
    let teacher = WeightGaussian::new(TEACHER.to_vec(), dist)?;
    let mut alignment = Alignment::new(&TEACHER, false)?;
    alignment.apply(&Removal::Neurons {
        layer: 0,
        neurons: vec![1],
    })?;
    let aligned = teacher.condition_on(&alignment, Jitter::Never)?;
    Ok(PreparedPrior::new(&aligned.prior)?)
}

/// `KL(q ‖ p(w | A))` in the student's per-layer means and log-variances (`[4, 3], [2, 4]`
/// each), for the prior structure `structure`.
fn bayes_kl(rng: &mut StdRng, structure: &str) -> Result<Instance> {
    let prior = aligned_prior(rng, structure)?;
    let inputs = vec![
        normal(rng, &[4, 3], 0.5),
        normal(rng, &[2, 4], 0.5),
        normal(rng, &[4, 3], 0.3).mapv(|v| v - 1.0),
        normal(rng, &[2, 4], 0.3).mapv(|v| v - 1.0),
    ];
    Ok(Instance {
        inputs,
        f: Box::new(move |_, xs| {
            let q = MeanField {
                means: vec![xs[0], xs[1]],
                log_vars: vec![xs[2], xs[3]],
            };
            kl_divergence(&q, &prior).map_err(engine_error)
        }),
    })
}

pub(super) fn bayes_kl_full(rng: &mut StdRng) -> Result<Instance> {
    bayes_kl(rng, "full")
}

pub(super) fn bayes_kl_diagonal(rng: &mut StdRng) -> Result<Instance> {
    bayes_kl(rng, "diagonal")
}

pub(super) fn bayes_kl_kfac(rng: &mut StdRng) -> Result<Instance> {
    bayes_kl(rng, "kfac")
}

/// The Bayesian-distilled student's objective against the aligned full prior, categorical
/// likelihood, a `[3, 4, 2]` tanh student without biases, in every mean and log-variance.
pub(super) fn bayes_elbo(rng: &mut StdRng) -> Result<Instance> {
    let prior = aligned_prior(rng, "full")?;
    let student = VariationalMlp::new(&STUDENT, Activation::Tanh, Init::TorchDefault, -1.5, rng)?;
    let (x, y) = (normal(rng, &[5, 3], 1.0), labels(rng, 5, 2));
    let cfg = VariationalConfig {
        likelihood: Likelihood::Categorical,
        train_size: 50,
        kl_weight: 1.0,
    };
    let params = params_of(&student);
    Ok(Instance {
        inputs: values_of(&params),
        f: Box::new(move |tape, xs| {
            let ctx = pass_with(tape, 7, &params, xs);
            let terms = variational_objective(
                &ctx,
                &student,
                ctx.input(x.view()),
                &Targets::Labels(&y),
                &prior,
                &cfg,
            )
            .map_err(engine_error)?;
            Ok(terms.loss)
        }),
    })
}
