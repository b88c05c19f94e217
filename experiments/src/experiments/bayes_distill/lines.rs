//! The lines of one run of a Bayesian-distillation experiment, what they record, and the
//! report rows and notes the three experiments share.
//!
//! Lines (every student has the same architecture, likelihood, optimiser, batch order and
//! reparameterisation noise; the random-start ones also the same initial means):
//!
//! | line | prior `p(w)` | start |
//! |---|---|---|
//! | [`NONE`] | `N(0, α⁻¹ I)` | random |
//! | [`HINTON`] | `N(0, α⁻¹ I)`, data term mixed with the teacher's answers | random |
//! | [`DIAG`] | diagonal Laplace posterior, kept weights (conditioning leaves independent weights as they are) | random |
//! | [`JOINT`] | joint Laplace posterior (full or K-FAC) conditioned on the removals | random |
//! | [`JOINT_INIT`] | the same | the prior's mean (the aligned teacher) |
//! | [`ORDER_LINES`] | [`JOINT_INIT`] under each of the four removal orders | the prior's mean |

use anyhow::Result;
use ndarray::Array2;

use super::core::{area_difference, train_line, Hint, LineSpec, Problem, Start, Trained};
use super::priors::{aligned, isotropic, scores_for, TeacherPosterior};
use super::sections::{BayesStudentConfig, HintonSection, PosteriorConfig, ORDERS};
use crate::experiment::{Compare, PlotSpec, Progress, Published, RunRecord};
use autograd::Float;

/// The student trained without a teacher (the metric's zero).
pub const NONE: &str = "student, no teacher";
/// The Hinton-distilled student.
pub const HINTON: &str = "Hinton-distilled student";
/// The Bayesian student with the diagonal prior.
pub const DIAG: &str = "Bayesian, diagonal prior";
/// The Bayesian student with the jointly conditioned prior, random start.
pub const JOINT: &str = "Bayesian, joint prior";
/// The Bayesian student with the jointly conditioned prior, started at its mean.
pub const JOINT_INIT: &str = "Bayesian, joint prior, teacher init";
/// The teacher (its test log-likelihood, and the posterior's costs).
pub const TEACHER: &str = "teacher";
/// [`JOINT_INIT`] under each order of [`ORDERS`], in that order.
pub const ORDER_LINES: [&str; 4] = [
    "order: random",
    "order: obd",
    "order: density-ratio",
    "order: belsley",
];

/// The curve metric of the main students.
pub const CURVE: &str = "test_log_likelihood";
/// The curve metric of the orders' comparison.
pub const ORDERS_CURVE: &str = "orders_test_log_likelihood";
/// The main students' curves on a log scale, `log10(1 + max(0, −ℓ))` (lower is better): the
/// teacher-initialised students start orders of magnitude below the others.
pub const CURVE_LOG: &str = "log10_test_nll";
/// The orders' curves on that log scale.
pub const ORDERS_CURVE_LOG: &str = "orders_log10_test_nll";

/// The settings of the students of a run.
pub struct LinesConfig<'a> {
    /// The posterior and the order.
    pub posterior: &'a PosteriorConfig,
    /// How students train.
    pub student: &'a BayesStudentConfig,
    /// The Hinton line.
    pub hinton: &'a HintonSection,
}

/// How many students a run trains.
pub fn line_count(c: &PosteriorConfig) -> usize {
    if c.compare_orders {
        8
    } else {
        5
    }
}

/// The steps at which every curve is evaluated, for `n` training objects.
pub fn curve_steps(n: usize, c: &BayesStudentConfig) -> Vec<usize> {
    let total = c.epochs * n.div_ceil(c.batch_size);
    let mut steps: Vec<usize> = (0..=total).step_by(c.eval_every).collect();
    if steps.last() != Some(&total) {
        steps.push(total);
    }
    steps
}

/// Trains every student of run `seed` and records their curves and finals: `area_difference`
/// (against [`NONE`]), `final_test_log_likelihood`, `kl`, `test_accuracy` (classification);
/// for the priors, `align_seconds` and `jitter`.
pub fn run_students<F: Float>(
    problem: &Problem<F>,
    posterior: &TeacherPosterior,
    teacher_answers: &Array2<f64>,
    c: &LinesConfig<'_>,
    seed: u64,
    record: &mut RunRecord,
    progress: &mut Progress,
) -> Result<()> {
    let sizes = &problem.sizes;
    let plain = isotropic(sizes, c.posterior.prior_precision)?;
    let scores = scores_for(posterior, &c.posterior.order, seed)?;
    let diag = aligned(&posterior.diagonal, sizes, &scores)?;
    let joint = aligned(&posterior.joint, sizes, &scores)?;
    for (line, p) in [(DIAG, &diag), (JOINT, &joint)] {
        record.set_final(line, "align_seconds", p.seconds);
        record.set_final(line, "jitter", p.jitter);
    }
    let mut train = |line: &str, spec: LineSpec<'_>| -> Result<Trained> {
        let mut tick = |epoch: usize| progress.advance(&format!("{line}: epoch {epoch}"));
        train_line(problem, &spec, c.student, seed, &mut tick)
    };
    let none = train(
        NONE,
        LineSpec {
            prior: &plain,
            start: Start::Random,
            hint: None,
        },
    )?;
    let mut results: Vec<(&str, Trained)> = vec![(NONE, none.clone())];
    results.push((
        HINTON,
        train(
            HINTON,
            LineSpec {
                prior: &plain,
                start: Start::Random,
                hint: Some(Hint {
                    answers: teacher_answers,
                    config: c.hinton,
                }),
            },
        )?,
    ));
    for (line, p, start) in [
        (DIAG, &diag, Start::Random),
        (JOINT, &joint, Start::Random),
        (JOINT_INIT, &joint, Start::PriorMean(&joint.prior)),
    ] {
        let spec = LineSpec {
            prior: &p.prepared,
            start,
            hint: None,
        };
        results.push((line, train(line, spec)?));
    }
    for (line, trained) in &results {
        record_line(record, line, (CURVE, CURVE_LOG), trained, &none)?;
    }
    if c.posterior.compare_orders {
        for (order, line) in ORDERS.iter().zip(ORDER_LINES) {
            let trained = if *order == c.posterior.order {
                results.last().expect("the teacher-init line").1.clone()
            } else {
                let p = aligned(
                    &posterior.joint,
                    sizes,
                    &scores_for(posterior, order, seed)?,
                )?;
                record.set_final(line, "align_seconds", p.seconds);
                record.set_final(line, "jitter", p.jitter);
                train(
                    line,
                    LineSpec {
                        prior: &p.prepared,
                        start: Start::PriorMean(&p.prior),
                        hint: None,
                    },
                )?
            };
            if let Some((_, seconds)) = posterior.scores.get(order) {
                record.set_final(line, "scores_seconds", *seconds);
            }
            record_line(
                record,
                line,
                (ORDERS_CURVE, ORDERS_CURVE_LOG),
                &trained,
                &none,
            )?;
        }
    }
    let r = &posterior.joint_report;
    record.set_final(TEACHER, "laplace_build_seconds", r.build_seconds);
    record.set_final(TEACHER, "laplace_factor_seconds", r.factor_seconds);
    record.set_final(TEACHER, "laplace_grad_norm", r.grad_norm);
    record.set_final(TEACHER, "laplace_log_det_precision", r.log_det_precision);
    Ok(())
}

fn record_line(
    record: &mut RunRecord,
    line: &str,
    (curve, curve_log): (&str, &str),
    trained: &Trained,
    none: &Trained,
) -> Result<()> {
    for &v in &trained.log_likelihood {
        record.push(line, curve, v);
        record.push(line, curve_log, (1.0 + (-v).max(0.0)).log10());
    }
    record.set_final(line, "area_difference", area_difference(trained, none)?);
    let last = *trained.log_likelihood.last().expect("≥ 1 point");
    record.set_final(line, "final_test_log_likelihood", last);
    record.set_final(line, "kl", trained.kl);
    if let Some(a) = trained.accuracy {
        record.set_final(line, "test_accuracy", a);
    }
    Ok(())
}

/// The published area differences of one experiment (S4's Bayesian table; the Hinton figure
/// from the authors' slides).
pub struct PublishedAreas {
    /// The `distil-student` column.
    pub distil_student: f64,
    /// The `distil-student-all` column.
    pub distil_student_all: f64,
    /// The Hinton-distilled row of the slides, when given.
    pub hinton: Option<f64>,
}

const TABLE: &str = "S4, Bayesian distillation table";
const SLIDES: &str = "S4 thesis slides";
const READING_S: &str = "structure reading: distil-student = diagonal prior, -all = all \
                         weights conditioned jointly";
const READING_I: &str = "initialisation reading: distil-student = joint prior only, -all = \
                         prior and initial weights from the teacher";

/// The report rows: our `area_difference` of each line next to the published figure, under
/// both readings of the two columns, then the orders (no published figure).
///
/// `labels`: no teacher, Hinton, the two rows of each reading, the four orders, the costs.
pub fn comparison(p: &PublishedAreas, labels: &'static [&'static str; 11]) -> Vec<Compare> {
    let published = |mean, source| {
        Some(Published {
            mean,
            std: None,
            source,
        })
    };
    let row = |label, line, published, note| Compare {
        label,
        line,
        metric: "area_difference",
        published,
        note,
    };
    let mut rows = vec![
        row(labels[0], NONE, published(0.0, TABLE), "the metric's zero"),
        row(
            labels[1],
            HINTON,
            p.hinton.and_then(|h| published(h, SLIDES)),
            "",
        ),
        row(
            labels[2],
            DIAG,
            published(p.distil_student, TABLE),
            READING_S,
        ),
        row(
            labels[3],
            JOINT,
            published(p.distil_student_all, TABLE),
            READING_S,
        ),
        row(
            labels[4],
            JOINT,
            published(p.distil_student, TABLE),
            READING_I,
        ),
        row(
            labels[5],
            JOINT_INIT,
            published(p.distil_student_all, TABLE),
            READING_I,
        ),
    ];
    for (k, line) in ORDER_LINES.into_iter().enumerate() {
        rows.push(row(labels[6 + k], line, None, "joint prior, teacher init"));
    }
    rows.push(Compare {
        label: labels[10],
        line: TEACHER,
        metric: "laplace_build_seconds",
        published: None,
        note: "the joint posterior's curvature, once per process",
    });
    rows.push(Compare {
        label: labels[10],
        line: TEACHER,
        metric: "laplace_factor_seconds",
        published: None,
        note: "",
    });
    rows
}

/// The plots: the main students' curves and the orders', each as `log p(y | X, w)` and on the
/// log scale of [`CURVE_LOG`].
pub fn plots() -> Vec<PlotSpec> {
    [CURVE, CURVE_LOG, ORDERS_CURVE, ORDERS_CURVE_LOG]
        .map(|metric| PlotSpec {
            metric,
            x_label: "iteration",
        })
        .to_vec()
}

/// The notes the three experiments share.
pub fn shared_notes(c: &LinesConfig<'_>) -> Vec<String> {
    vec![
        "Metric (S4: \"the difference of the areas under the graph of p(y|X,w)\", larger is \
         better): ∫ (ℓ_line(t) − ℓ_none(t)) dt over the training iterations t (trapezoidal \
         rule on the evaluated steps), ℓ = log p(y_test | X_test, μ) of the student's mean \
         network summed over the test objects. S4 states neither the units nor the number of \
         iterations, so our figures are on our scale: compare signs and orderings with the \
         published ones, not magnitudes."
            .to_owned(),
        format!(
            "The columns distil-student / distil-student-all are not defined in S4. We report \
             both readings. Structure reading: distil-student has the diagonal Laplace \
             posterior as prior (conditioning leaves independent weights unchanged: the kept \
             weights' marginals), distil-student-all the posterior with all weights \
             conditioned jointly (full or K-FAC). Initialisation reading: distil-student has \
             the joint prior with a random start, distil-student-all also starts at the \
             prior's mean (the aligned teacher). Both rows of each reading are in the table; \
             the line \"{JOINT}\" serves both readings."
        ),
        format!(
            "Every student is the same variational no-bias ReLU MLP q(w) = N(μ, diag e^ρ), \
             trained by (κ KL(q ‖ p) − (N/B) log p(y_B | X_B, w)) / N with one \
             reparameterised draw per step (κ = {}), Adam at {}, batch {}, {} epochs, ρ \
             starting at {}. The KL against the full, diagonal or K-FAC prior is exact. The \
             Hinton-distilled student has the teacher-free prior N(0, α⁻¹ I) and the data term \
             (1 − λ)(−log p(y | w)) + λ·(teacher term), λ = {}.",
            c.student.kl_weight,
            c.student.learning_rate,
            c.student.batch_size,
            c.student.epochs,
            c.student.init_log_var,
            c.hinton.lambda
        ),
        format!(
            "Removal order: {} (S4's experiment used the random order; it is drawn per run \
             seed). The orders' plot trains the teacher-initialised joint-prior student under \
             each of the four orders: random, optimal brain damage (h_jj u_j²/2 summed over a \
             neuron's weights), posterior density ratio (−½ u0_Sᵀ Σ_SS⁻¹ u0_S of a neuron's \
             weights S) and Belsley (the condition index of the direction dominating a weight's \
             variance proportions, maximum over the neuron). Scores are computed once at the \
             teacher's posterior.",
            c.posterior.order
        ),
    ]
}
