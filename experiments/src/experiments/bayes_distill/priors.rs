//! The teacher's Laplace posteriors (joint and diagonal), the neuron scores of the removal
//! orders, and the students' priors aligned from them. The posteriors and the deterministic
//! orders' scores depend on the teacher only, so they are computed once per process and
//! shared by the run seeds ([`TeacherPosterior`] through a [`Memo`]); the random order is
//! drawn per run seed.

use std::collections::BTreeMap;
use std::time::Instant;

use anyhow::{Context, Result};
use methods::bayes::alignment::{plan, NeuronScores};
use methods::bayes::curvature::{hessian_diagonal, Data};
use methods::bayes::gaussian::DiagGaussian;
use methods::bayes::kl::PreparedPrior;
use methods::bayes::laplace::{laplace, LaplaceConfig, LaplaceReport, Structure};
use methods::bayes::likelihood::Likelihood;
use methods::bayes::linalg::DEFAULT_JITTER;
use methods::bayes::mlp::NoBiasMlp;
use methods::bayes::orders::{neuron_scores, RemovalOrder};
use methods::bayes::posterior::{Structured, WeightGaussian};
use ndarray::{Array1, ArrayView2};

use super::core::OwnedTargets;
use super::sections::{order_by_name, PosteriorConfig, ORDERS};
use crate::experiment::ConfigError;
use crate::experiments::s4_common::Memo;

/// Where OBD's `h_jj` comes from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ObdCurvature {
    /// The exact Hessian diagonal from `P` Hessian-vector products (the small teacher).
    ExactHessian,
    /// The exact GGN diagonal (the large teacher; the "estimated" diagonal).
    GgnDiagonal,
}

/// The teacher's posteriors and the scores of the deterministic orders.
pub struct TeacherPosterior {
    /// The joint posterior (full for the synthetic teacher, K-FAC for Fashion-MNIST).
    pub joint: WeightGaussian,
    /// What building it measured.
    pub joint_report: LaplaceReport,
    /// The diagonal GGN posterior (the "distil-student" prior of the structure reading).
    pub diagonal: WeightGaussian,
    /// Scores of `obd`, `density-ratio` and `belsley`, when asked for, with the seconds each
    /// took.
    pub scores: BTreeMap<&'static str, (NeuronScores, f64)>,
}

static POSTERIORS: Memo<TeacherPosterior> = Memo::new();

/// What [`teacher_posterior`] needs besides the teacher.
pub struct PosteriorInputs<'a> {
    /// A key naming the teacher and its data uniquely within the process (the stored model's
    /// stem and the data's description).
    pub key: String,
    /// The objects of the curvature sums.
    pub x: ArrayView2<'a, f64>,
    /// Their targets.
    pub y: &'a OwnedTargets,
    /// The likelihood.
    pub likelihood: Likelihood,
    /// Full or K-FAC for the joint posterior.
    pub structure: Structure,
    /// OBD's `h_jj`.
    pub obd: ObdCurvature,
    /// Objects per chunk of the curvature sums.
    pub batch_size: usize,
}

/// The orders whose scores a run needs beyond the random one: the configured order and,
/// when `compare_orders`, all of them.
pub fn orders_needed(c: &PosteriorConfig) -> Vec<&'static str> {
    ORDERS
        .into_iter()
        .filter(|&o| o != "random" && (c.compare_orders || c.order == o))
        .collect()
}

/// The Laplace posteriors of `teacher` and the scores of the orders [`orders_needed`] (once
/// per process for the same key and config). Errors: a precision that is not positive
/// definite (the exact Hessian at the trained teacher), the full structure for too large a
/// teacher.
pub fn teacher_posterior(
    teacher: &NoBiasMlp,
    inputs: &PosteriorInputs<'_>,
    c: &PosteriorConfig,
) -> Result<std::sync::Arc<TeacherPosterior>> {
    let key = format!(
        "{} α={} {} {:?} {:?}",
        inputs.key,
        c.prior_precision,
        c.curvature,
        inputs.structure,
        orders_needed(c)
    );
    POSTERIORS.get_or_make(&key, || {
        let base = LaplaceConfig {
            curvature: c.curvature()?,
            prior_precision: c.prior_precision,
            likelihood: inputs.likelihood,
            batch_size: inputs.batch_size,
            ..LaplaceConfig::default()
        };
        let targets = inputs.y.view();
        let joint = laplace(
            teacher,
            inputs.x,
            targets,
            &LaplaceConfig {
                structure: inputs.structure,
                ..base
            },
        )
        .context("the teacher's Laplace posterior (posterior.curvature)")?;
        let diagonal = laplace(
            teacher,
            inputs.x,
            targets,
            &LaplaceConfig {
                structure: Structure::Diagonal,
                ..base
            },
        )
        .context("the teacher's diagonal Laplace posterior")?;
        let mut scores = BTreeMap::new();
        for name in orders_needed(c) {
            let start = Instant::now();
            let order = order_by_name(name, 0)?;
            let s = match order {
                RemovalOrder::OptimalBrainDamage => {
                    let h = match inputs.obd {
                        ObdCurvature::ExactHessian => hessian_diagonal(
                            teacher,
                            &Data {
                                x: inputs.x,
                                targets,
                            },
                            &inputs.likelihood,
                            inputs.batch_size,
                        )?,
                        ObdCurvature::GgnDiagonal => {
                            diagonal_precision(&diagonal.posterior)? - c.prior_precision
                        }
                    };
                    neuron_scores(order, &joint.posterior, Some(&h))?
                }
                _ => neuron_scores(order, &joint.posterior, None)?,
            };
            scores.insert(name, (s, start.elapsed().as_secs_f64()));
        }
        Ok(TeacherPosterior {
            joint: joint.posterior,
            joint_report: joint.report,
            diagonal: diagonal.posterior,
            scores,
        })
    })
}

fn diagonal_precision(g: &WeightGaussian) -> Result<Array1<f64>> {
    match &g.dist {
        Structured::Diagonal(d) => Ok(d.precision.clone()),
        _ => Ok(g.precision_diagonal()?),
    }
}

/// The scores of the order `name` for run `seed` (random: drawn from the seed).
pub fn scores_for(posterior: &TeacherPosterior, name: &str, seed: u64) -> Result<NeuronScores> {
    let order = order_by_name(name, seed)?;
    match order {
        RemovalOrder::Random { .. } => Ok(neuron_scores(order, &posterior.joint, None)?),
        _ => posterior
            .scores
            .get(name)
            .map(|(s, _)| s.clone())
            .with_context(|| format!("the scores of order {name} were not computed")),
    }
}

/// A prior aligned to the student, ready for the KL, with what the alignment cost.
pub struct AlignedPrior {
    /// `p(w | A)`.
    pub prior: WeightGaussian,
    /// Prepared for the KL.
    pub prepared: PreparedPrior,
    /// The jitter the conditioning needed (0: none).
    pub jitter: f64,
    /// Seconds to condition and prepare.
    pub seconds: f64,
}

/// `posterior` aligned to `student` by the removals of [`plan`] under `scores`.
pub fn aligned(
    posterior: &WeightGaussian,
    student: &[usize],
    scores: &NeuronScores,
) -> Result<AlignedPrior> {
    let start = Instant::now();
    let (_, a) = posterior.align_to(student, true, scores, DEFAULT_JITTER)?;
    let prepared = PreparedPrior::new(&a.prior)?;
    Ok(AlignedPrior {
        prior: a.prior,
        prepared,
        jitter: a.jitter,
        seconds: start.elapsed().as_secs_f64(),
    })
}

/// The teacher-free prior `N(0, α⁻¹ I)` over a network of sizes `sizes`.
pub fn isotropic(sizes: &[usize], alpha: f64) -> Result<PreparedPrior> {
    let (_, total) = methods::bayes::alignment::layer_offsets(sizes);
    let g = DiagGaussian::new(Array1::zeros(total), Array1::from_elem(total, alpha))?;
    Ok(PreparedPrior::new(&WeightGaussian::new(
        sizes.to_vec(),
        Structured::Diagonal(g),
    )?)?)
}

/// Checks, before anything is trained, that some removal sequence turns `teacher` into
/// `student` (ReLU: layer removal allowed); the error names `key`.
pub fn check_reachable(teacher: &[usize], student: &[usize], key: &str) -> Result<(), ConfigError> {
    let zero: NeuronScores = teacher[1..teacher.len().saturating_sub(1)]
        .iter()
        .map(|&n| vec![0.0; n])
        .collect();
    plan(teacher, student, true, &zero)
        .map(|_| ())
        .map_err(|e| ConfigError {
            key: key.to_owned(),
            message: e.to_string(),
        })
}
