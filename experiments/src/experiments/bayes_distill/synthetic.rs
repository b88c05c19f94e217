//! `bayes-distill-neurons` and `bayes-distill-layers`: S4's synthetic regression, the teacher
//! `[10,100,50,1]` distilled into `[10,10,10,1]` (neuron removal) or `[10,50,1]` (neuron and
//! layer removal).
//!
//! Data (S4): `w ~ N(0, I_10)`, `X ~ N(0, 1)^{m×10}`, `y ~ N(Xw, β)`, `β = 0.1` read as the
//! noise variance (`nn::data::LinearRegressionConfig`), 900 train / 124 test objects, one
//! draw shared by the seeds (`data.data_seed`), as the teacher is. Teacher: a no-bias ReLU
//! MLP (no activation after the output, which is a regression value) trained by full-batch
//! Adam on the negative log posterior `−log N(y | f(X), s² I) + (α/2)‖u‖²` (`s² = β`), the
//! step size decayed to 0 by a cosine so that it ends at a minimum (the Laplace
//! approximation's assumption); kept in the model store.

use anyhow::Result;
use autograd::Tape;
use methods::bayes::laplace::Structure;
use methods::bayes::likelihood::{Likelihood, Targets};
use methods::bayes::mlp::{forward, NoBiasMlp};
use ndarray::{Array2, Axis, Ix2};
use nn::data::{DataFile, LinearRegressionConfig};
use nn::layers::{mlp, Activation};
use nn::optim::{Adam, AdamConfig, Optimizer};
use nn::store::{ModelIdentity, TrainingRecord};
use nn::train::EpochReport;
use nn::{Ctx, Module};
use serde::Serialize;

use super::core::{OwnedTargets, Problem, Split};
use super::lines::{line_count, run_students, LinesConfig, TEACHER};
use super::priors::{teacher_posterior, ObdCurvature, PosteriorInputs};
use super::sections::{BayesStudentConfig, HintonSection, PosteriorConfig};
use crate::config;
use crate::experiment::config::{ge, gt};
use crate::experiment::{seed_stream, Progress, RunContext, RunRecord};

config! {
    /// S4's synthetic regression data.
    pub struct RegressionDataConfig {
        /// n, features (S4: 10).
        #[allowed(ge(1).le(10_000))]
        pub n_features: usize = 10,
        /// Training objects (S4: 900).
        #[allowed(ge(2).le(1_000_000))]
        pub m_train: usize = 900,
        /// Test objects (S4: 124).
        #[allowed(ge(1).le(1_000_000))]
        pub m_test: usize = 124,
        /// β, the noise variance (S4: 0.1); also the likelihood's s² of teacher and students.
        #[allowed(gt(0.0).le(1e6))]
        pub noise_variance: f64 = 0.1,
        /// The seed of the one draw shared by every run seed (our choice).
        pub data_seed: u64 = 0,
    }
}

config! {
    /// The regression teacher: full-batch Adam on the negative log posterior.
    pub struct RegressionTeacherConfig {
        /// The hidden sizes (S4: [100, 50], the teacher [10, 100, 50, 1] of 6,050 weights).
        pub hidden: Vec<usize> = vec![100, 50],
        /// Full-batch Adam steps (our choice: the gradient norm of the negative log posterior
        /// at the end is reported as laplace_grad_norm).
        #[allowed(ge(1).le(10_000_000))]
        pub steps: usize = 20_000,
        /// The initial step size, decayed to 0 by a cosine (our choice).
        #[allowed(gt(0.0).le(10.0))]
        pub learning_rate: f64 = 3e-3,
        /// The seed of its initialisation (our choice).
        pub seed: u64 = 0,
    }
}

/// What the two synthetic experiments' configs share, by reference.
pub struct SyntheticParts<'a> {
    /// The student's hidden sizes.
    pub student_hidden: &'a [usize],
    /// The data.
    pub data: &'a RegressionDataConfig,
    /// The teacher.
    pub teacher: &'a RegressionTeacherConfig,
    /// The posterior and order.
    pub posterior: &'a PosteriorConfig,
    /// The students.
    pub student: &'a BayesStudentConfig,
    /// The Hinton line.
    pub hinton: &'a HintonSection,
}

impl SyntheticParts<'_> {
    /// `[n, hidden…, 1]` of the teacher and of the student.
    pub fn sizes(&self) -> (Vec<usize>, Vec<usize>) {
        let with = |hidden: &[usize]| {
            let mut s = vec![self.data.n_features];
            s.extend_from_slice(hidden);
            s.push(1);
            s
        };
        (with(&self.teacher.hidden), with(self.student_hidden))
    }
}

/// The training table of the stored teacher's identity.
#[derive(Serialize)]
struct TeacherTraining {
    objective: &'static str,
    steps: usize,
    learning_rate: f64,
    schedule: &'static str,
    prior_precision: f64,
    noise_variance: f64,
}

/// The teacher of `p` on `(x, y)`: from the model store, else trained and stored.
fn stored_regression_teacher(
    ctx: &RunContext<'_>,
    p: &SyntheticParts<'_>,
    data_description: &str,
    x: &Array2<f64>,
    y: &Array2<f64>,
    progress: &mut Progress,
) -> Result<(NoBiasMlp, String)> {
    let (sizes, _) = p.sizes();
    let t = p.teacher;
    let model = mlp::<f64>(
        &sizes,
        Activation::Relu,
        false,
        &mut seed_stream(t.seed, "teacher init"),
    );
    let alpha = p.posterior.prior_precision;
    let lik = Likelihood::Gaussian {
        noise_var: p.data.noise_variance,
    };
    let name = format!(
        "s4-regression-mlp-{}",
        sizes
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("-")
    );
    let identity = ModelIdentity::of(
        &name,
        "no-bias ReLU MLP, regression output",
        &model,
        &TeacherTraining {
            objective: "full-batch −log N(y | f(X), s²) + (α/2)‖u‖²",
            steps: t.steps,
            learning_rate: t.learning_rate,
            schedule: "cosine to 0",
            prior_precision: alpha,
            noise_variance: p.data.noise_variance,
        },
        t.seed,
        vec![DataFile::generated("s4-regression", data_description)],
    )?;
    let stored = ctx
        .models()
        .get_or_train(&identity, model, |model, _resume| {
            let mut adam = Adam::new(AdamConfig::adam(t.learning_rate))?;
            let n = x.nrows() as f64;
            let mut curve = Vec::new();
            let report_every = (t.steps / 20).max(1);
            for step in 0..t.steps {
                let progress_frac = step as f64 / t.steps as f64;
                adam.set_learning_rate(
                    t.learning_rate * 0.5 * (1.0 + (std::f64::consts::PI * progress_frac).cos()),
                )?;
                let tape = Tape::new();
                let ctx = Ctx::train(&tape, 0);
                let out = model.forward(&ctx, ctx.input(x.view()))?;
                let mut loss = lik
                    .neg_log_likelihood(out, &Targets::Real(y.view()))
                    .map_err(super::super::s4_common::to_nn)?;
                for (_, w) in ctx.bind_all(&*model) {
                    loss = loss.try_add(w.square().sum().mul_scalar(0.5 * alpha))?;
                }
                let loss = loss.mul_scalar(1.0 / n);
                let grads = ctx.grads(loss)?;
                if (step + 1) % report_every == 0 {
                    let value = loss.item().unwrap_or(f64::NAN);
                    curve.push(EpochReport {
                        epoch: step + 1,
                        train_loss: value,
                        eval: None,
                        learning_rate: adam.learning_rate(),
                        seconds: 0.0,
                    });
                    progress.advance(&format!("teacher: step {}, loss {value:.4}", step + 1));
                }
                drop(tape);
                adam.step(model, &grads)?;
            }
            Ok(TrainingRecord { curve, test: None })
        })?;
    Ok((
        NoBiasMlp::from_module(&stored.model, Activation::Relu)?,
        stored.stem(),
    ))
}

/// One run of a synthetic experiment.
pub fn run_synthetic(
    p: &SyntheticParts<'_>,
    seed: u64,
    ctx: &RunContext<'_>,
    progress: &mut Progress,
) -> Result<RunRecord> {
    let d = p.data;
    let data = LinearRegressionConfig {
        n_features: d.n_features,
        m_train: d.m_train,
        m_test: d.m_test,
        noise_variance: d.noise_variance,
    }
    .generate::<f64, _>(&mut seed_stream(d.data_seed, "data"))?;
    let description = format!(
        "S4 synthetic regression (generated): n = {}, {} train / {} test, noise variance {}, \
         one draw (data_seed = {}) shared by every seed",
        d.n_features, d.m_train, d.m_test, d.noise_variance, d.data_seed
    );
    let mut record = RunRecord::default();
    record.uses_data(description.clone());
    let teacher_ticks = 20;
    progress.set_total((teacher_ticks + line_count(p.posterior) * p.student.epochs) as u64);
    let column = |v: &ndarray::Array1<f64>| v.clone().insert_axis(Axis(1));
    let (x, y) = (data.train.x().clone(), column(data.train.y()));
    let (x_test, y_test) = (data.test.x().clone(), column(data.test.y()));
    let (teacher, stem) = stored_regression_teacher(ctx, p, &description, &x, &y, progress)?;
    progress.set_position(teacher_ticks as u64, "teacher ready");
    record.uses_model(TEACHER, stem.clone());
    let lik = Likelihood::Gaussian {
        noise_var: d.noise_variance,
    };
    let answers = teacher_outputs(&teacher, &x)?;
    let test_answers = teacher_outputs(&teacher, &x_test)?;
    let tape = Tape::<f64>::new();
    let teacher_nll = lik
        .neg_log_likelihood(tape.constant(test_answers), &Targets::Real(y_test.view()))?
        .item()
        .unwrap_or(f64::NAN);
    record.set_final(TEACHER, "final_test_log_likelihood", -teacher_nll);
    let targets = OwnedTargets::Real(y.clone());
    let posterior = teacher_posterior(
        &teacher,
        &PosteriorInputs {
            key: format!("{stem} {description}"),
            x: x.view(),
            y: &targets,
            likelihood: lik,
            structure: Structure::Full,
            obd: ObdCurvature::ExactHessian,
            batch_size: 1000,
        },
        p.posterior,
    )?;
    let (_, student_sizes) = p.sizes();
    let problem = Problem {
        train: Split { x, y: targets },
        test: Split {
            x: x_test,
            y: OwnedTargets::Real(y_test),
        },
        likelihood: lik,
        sizes: student_sizes,
    };
    run_students(
        &problem,
        &posterior,
        &answers,
        &LinesConfig {
            posterior: p.posterior,
            student: p.student,
            hinton: p.hinton,
        },
        seed,
        &mut record,
        progress,
    )?;
    Ok(record)
}

/// The teacher's outputs on `x` (`[N, 1]`).
fn teacher_outputs(teacher: &NoBiasMlp, x: &Array2<f64>) -> Result<Array2<f64>> {
    let tape = Tape::<f64>::new();
    let weights: Vec<_> = teacher
        .weights
        .iter()
        .map(|w| tape.constant(w.clone()))
        .collect();
    let pass = forward(&weights, tape.constant(x.clone()), teacher.activation)?;
    Ok(pass.output.value().into_dimensionality::<Ix2>()?.to_owned())
}
