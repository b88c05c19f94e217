//! The students of one run: a variational no-bias MLP per line, trained by
//! `KL(q ‖ p) − log p(y | X, w)` with its line's prior, its curve of `log p(y_test | X_test, w)`
//! per iteration, and the seed's area-difference metric.

use anyhow::{anyhow, Result};
use autograd::{Float, Tape, Var};
use methods::bayes::kl::{kl_divergence, PreparedPrior};
use methods::bayes::likelihood::{Likelihood, Targets};
use methods::bayes::posterior::WeightGaussian;
use methods::bayes::variational::VariationalMlp;
use methods::distill::{hinton_loss, HintonConfig, Reduction, TemperatureScaling};
use ndarray::{Array2, Axis};
use nn::data::permutation;
use nn::init::Init;
use nn::layers::Activation;
use nn::optim::{Adam, AdamConfig, Optimizer};
use nn::Ctx;
use rand::Rng;

use super::sections::{BayesStudentConfig, HintonSection};
use crate::experiment::seed_stream;

/// Targets owned by a split: regression values `[N, K]` or class labels.
#[derive(Clone, Debug)]
pub enum OwnedTargets {
    /// Real targets `[N, K]`.
    Real(Array2<f64>),
    /// Class indices.
    Labels(Vec<usize>),
}

impl OwnedTargets {
    /// As the likelihood takes them.
    pub fn view(&self) -> Targets<'_> {
        match self {
            OwnedTargets::Real(y) => Targets::Real(y.view()),
            OwnedTargets::Labels(y) => Targets::Labels(y),
        }
    }

    /// The objects `rows`, in that order.
    fn select(&self, rows: &[usize]) -> OwnedTargets {
        match self {
            OwnedTargets::Real(y) => OwnedTargets::Real(y.select(Axis(0), rows)),
            OwnedTargets::Labels(y) => OwnedTargets::Labels(rows.iter().map(|&i| y[i]).collect()),
        }
    }
}

/// Inputs and targets of one split.
pub struct Split<F> {
    /// `X`, `[N, n_0]`.
    pub x: Array2<F>,
    /// `y`.
    pub y: OwnedTargets,
}

/// What every student of a run shares.
pub struct Problem<F> {
    /// The training set.
    pub train: Split<F>,
    /// The test set (the curves' `log p(y | X, w)`).
    pub test: Split<F>,
    /// `p(y | x, w)`, the teacher's.
    pub likelihood: Likelihood,
    /// The student's sizes `[n_0, …, n_L]`.
    pub sizes: Vec<usize>,
}

/// Where a student's means start.
#[derive(Clone, Copy)]
pub enum Start<'a> {
    /// Kaiming-normal draws from the run seed (the same for every line of the run).
    Random,
    /// The prior's mean: the aligned teacher weights.
    PriorMean(&'a WeightGaussian),
}

/// The teacher's answers for the Hinton-distilled line: regression outputs or logits on
/// every training object, `[N, K]`.
pub struct Hint<'a> {
    /// `f(x_i)`, in training-set order.
    pub answers: &'a Array2<f64>,
    /// `λ` and `T0`.
    pub config: &'a HintonSection,
}

/// One student.
pub struct LineSpec<'a> {
    /// Its prior `p(w | A)` (or the teacher-free `N(0, α⁻¹ I)`).
    pub prior: &'a PreparedPrior,
    /// Its initial means.
    pub start: Start<'a>,
    /// The teacher's answers, for the Hinton-distilled line.
    pub hint: Option<Hint<'a>>,
}

/// A trained student's curve and final metrics.
#[derive(Clone, Debug, PartialEq)]
pub struct Trained {
    /// The steps at which the curve was evaluated (0: the initial network).
    pub steps: Vec<usize>,
    /// `log p(y_test | X_test, μ)` at those steps (summed over the test objects).
    pub log_likelihood: Vec<f64>,
    /// The final test accuracy (classification).
    pub accuracy: Option<f64>,
    /// The final `KL(q ‖ p)` (at the last step's parameters).
    pub kl: f64,
}

/// `log p(y | X, μ)` of the mean network on a split, and its accuracy for labels.
pub fn evaluate<F: Float>(
    student: &VariationalMlp<F>,
    split: &Split<F>,
    likelihood: &Likelihood,
) -> Result<(f64, Option<f64>)> {
    let tape = Tape::new();
    let ctx = Ctx::eval(&tape);
    let out = student.forward_with(&ctx, ctx.input(split.x.view()), false)?;
    let nll = likelihood.neg_log_likelihood(out, &split.y.view())?;
    let value = -nll.item().map_or(f64::NAN, |v| v.as_f64());
    let accuracy = match &split.y {
        OwnedTargets::Labels(labels) => {
            let logits = out.value();
            let hits = logits
                .outer_iter()
                .zip(labels)
                .filter(|(row, &y)| {
                    let best = row
                        .iter()
                        .enumerate()
                        .max_by(|a, b| a.1.partial_cmp(b.1).unwrap_or(std::cmp::Ordering::Equal))
                        .map(|(k, _)| k);
                    best == Some(y)
                })
                .count();
            Some(hits as f64 / labels.len().max(1) as f64)
        }
        OwnedTargets::Real(_) => None,
    };
    Ok((value, accuracy))
}

/// The batch's data term: `−log p(y_B | X_B, w)`, or for the Hinton-distilled line
/// `(1 − λ)(−log p(y_B | w)) + λ · teacher term` — regression: `−log N(s_i | g(x_i), s²)`;
/// classification: `T0² · (−Σ_k softmax(s_i/T0)_k log softmax(g(x_i)/T0)_k)`
/// ([`hinton_loss`]) — summed over the batch.
fn data_term<'t, F: Float>(
    out: Var<'t, F>,
    targets: &OwnedTargets,
    rows: &[usize],
    likelihood: &Likelihood,
    hint: Option<&Hint<'_>>,
) -> Result<Var<'t, F>> {
    let Some(hint) = hint else {
        return Ok(likelihood.neg_log_likelihood(out, &targets.view())?);
    };
    let lambda = hint.config.lambda;
    let answers = hint.answers.select(Axis(0), rows);
    match targets {
        OwnedTargets::Real(_) => {
            let own = likelihood.neg_log_likelihood(out, &targets.view())?;
            let teacher = likelihood.neg_log_likelihood(out, &Targets::Real(answers.view()))?;
            Ok(own
                .mul_scalar(1.0 - lambda)
                .try_add(teacher.mul_scalar(lambda))?)
        }
        OwnedTargets::Labels(labels) => {
            let cfg = HintonConfig {
                hard_weight: 1.0 - lambda,
                soft_weight: lambda,
                temperature: hint.config.temperature,
                scaling: TemperatureScaling::Squared,
                reduction: Reduction::Sum,
            };
            let v = out.tape().constant(answers.mapv(F::from_f64));
            Ok(hinton_loss(out, labels, v, &cfg)?)
        }
    }
}

/// Trains one student of `problem` as `line` says with `config`, from the run `seed`: the
/// same initial means (for [`Start::Random`]), batch order and reparameterisation noise for
/// every line of the run. Each step minimises `(κ · KL(q ‖ p) + (N/B) · data term) / N`; the
/// curve is evaluated at step 0 and every `config.eval_every` steps and at the last step.
/// `tick` is called once per epoch. Errors on a non-finite loss (naming the step) rather
/// than letting a NaN reach the report.
pub fn train_line<F: Float>(
    problem: &Problem<F>,
    line: &LineSpec<'_>,
    config: &BayesStudentConfig,
    seed: u64,
    tick: &mut dyn FnMut(usize),
) -> Result<Trained> {
    let mut student = match line.start {
        Start::Random => VariationalMlp::<F>::new(
            &problem.sizes,
            Activation::Relu,
            Init::KaimingNormal {
                gain: std::f64::consts::SQRT_2,
            },
            config.init_log_var,
            &mut seed_stream(seed, "student init"),
        )?,
        Start::PriorMean(prior) => {
            VariationalMlp::from_prior(prior, Activation::Relu, config.init_log_var)?
        }
    };
    if student.sizes() != problem.sizes {
        return Err(anyhow!(
            "the student is {:?} but the problem asks for {:?}",
            student.sizes(),
            problem.sizes
        ));
    }
    let mut adam = Adam::new(AdamConfig::adam(config.learning_rate))?;
    let n = problem.train.x.nrows();
    let mut shuffle = seed_stream(seed, "student shuffle");
    let mut noise = seed_stream(seed, "student noise");
    let mut out = Trained {
        steps: vec![0],
        log_likelihood: vec![evaluate(&student, &problem.test, &problem.likelihood)?.0],
        accuracy: None,
        kl: f64::NAN,
    };
    let mut step = 0;
    for epoch in 0..config.epochs {
        let order = permutation(n, &mut shuffle);
        for rows in order.chunks(config.batch_size) {
            let tape = Tape::new();
            let ctx = Ctx::train(&tape, noise.gen());
            let q = student.mean_field(&ctx);
            let kl = kl_divergence(&q, line.prior)?;
            let x = ctx.input(problem.train.x.select(Axis(0), rows));
            let output = student.forward_with(&ctx, x, true)?;
            let targets = problem.train.y.select(rows);
            let data = data_term(
                output,
                &targets,
                rows,
                &problem.likelihood,
                line.hint.as_ref(),
            )?;
            let loss = kl
                .mul_scalar(config.kl_weight / n as f64)
                .try_add(data.mul_scalar(1.0 / rows.len() as f64))?;
            let value = loss.item().map_or(f64::NAN, |v| v.as_f64());
            if !value.is_finite() {
                return Err(anyhow!(
                    "the variational objective is {value} at step {} (epoch {}): lower \
                     student.learning_rate or raise student.init_log_var",
                    step + 1,
                    epoch + 1
                ));
            }
            out.kl = kl.item().map_or(f64::NAN, |v| v.as_f64());
            let grads = ctx.grads(loss)?;
            drop(tape);
            adam.step(&mut student, &grads)?;
            step += 1;
            if step % config.eval_every == 0 {
                out.steps.push(step);
                out.log_likelihood
                    .push(evaluate(&student, &problem.test, &problem.likelihood)?.0);
            }
        }
        tick(epoch + 1);
    }
    let (last, accuracy) = evaluate(&student, &problem.test, &problem.likelihood)?;
    if out.steps.last() != Some(&step) {
        out.steps.push(step);
        out.log_likelihood.push(last);
    }
    out.accuracy = accuracy;
    if let Some(bad) = out.log_likelihood.iter().find(|v| !v.is_finite()) {
        return Err(anyhow!(
            "the student's test log-likelihood became {bad}: its weights diverged"
        ));
    }
    Ok(out)
}

/// The seed's metric: the area between the curve of `log p(y_test | X_test, w)` of a student
/// and that of the student without a teacher, over the training iterations —
/// `∫ (ℓ_line(t) − ℓ_none(t)) dt` by the trapezoidal rule on the evaluated steps (both curves
/// are evaluated at the same steps). Units: nats of the whole test set × iterations (S4 does
/// not state its units; larger is better, 0 for the student without teacher).
pub fn area_difference(line: &Trained, none: &Trained) -> Result<f64> {
    if line.steps != none.steps {
        return Err(anyhow!(
            "the two curves were evaluated at different steps; they cannot be compared"
        ));
    }
    let gap: Vec<f64> = line
        .log_likelihood
        .iter()
        .zip(&none.log_likelihood)
        .map(|(a, b)| a - b)
        .collect();
    Ok(trapezoid(&line.steps, &gap))
}

/// `∫ y dx` by the trapezoidal rule.
pub fn trapezoid(x: &[usize], y: &[f64]) -> f64 {
    x.windows(2)
        .zip(y.windows(2))
        .map(|(x, y)| (x[1] - x[0]) as f64 * 0.5 * (y[0] + y[1]))
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_area_is_the_trapezoid_of_the_gap() {
        // gap 0, 2, 4 at steps 0, 10, 20 (a straight line): area ½·20·4 = 40
        let none = Trained {
            steps: vec![0, 10, 20],
            log_likelihood: vec![-5.0, -5.0, -5.0],
            accuracy: None,
            kl: 0.0,
        };
        let line = Trained {
            log_likelihood: vec![-5.0, -3.0, -1.0],
            ..none.clone()
        };
        assert_eq!(area_difference(&line, &none).unwrap(), 40.0);
        assert_eq!(area_difference(&none, &none).unwrap(), 0.0);
        // uneven spacing: the last interval is 5 steps
        assert_eq!(trapezoid(&[0, 10, 15], &[0.0, 2.0, 2.0]), 10.0 + 10.0);
        let other = Trained {
            steps: vec![0, 10],
            ..line
        };
        assert!(area_difference(&other, &none).is_err());
    }
}
