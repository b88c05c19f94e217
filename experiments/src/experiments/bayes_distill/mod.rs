//! S4's Bayesian distillation (Grabovoy 2021, second half), what its three experiments
//! share: the teacher's Laplace posterior, aligned to the student's architecture by Gaussian
//! conditioning (`methods::bayes`), is the prior of a variational student. The experiments
//! are thin files beside this folder: `bayes_distill_neurons.rs` ([10,100,50,1] →
//! [10,10,10,1]), `bayes_distill_layers.rs` (→ [10,50,1]) and `bayes_distill_fashion.rs`
//! ([784,800,50,10] → [784,50,10], K-FAC).
//!
//! ```text
//! mod.rs        the synthetic experiments' config (synthetic_config!), checks, notes, labels
//! synthetic.rs  the regression data and teacher of the two synthetic experiments, their run
//! sections.rs   [posterior], [student], [hinton]: the shared config sections
//! priors.rs     the teacher's posteriors and order scores (once per process), aligned priors
//! core.rs       one variational student: training, its test log-likelihood curve, the area
//! lines.rs      the students of a run, what they record, the report rows and shared notes
//! ```

pub mod core;
pub mod lines;
pub mod priors;
pub mod sections;
pub mod synthetic;

use self::lines::{curve_steps, shared_notes, LinesConfig};
use self::priors::check_reachable;
use self::sections::{BayesStudentConfig, HintonSection, PosteriorConfig};
use self::synthetic::{RegressionDataConfig, RegressionTeacherConfig, SyntheticParts};
use crate::config;
use crate::experiment::ConfigError;

/// Declares the config of a synthetic experiment: the same keys, the student's default
/// hidden sizes differing.
macro_rules! synthetic_config {
    ($(#[doc = $doc:literal])* $name:ident, $hidden_doc:literal, [$($hidden:expr),*]) => {
        config! {
            $(#[doc = $doc])*
            pub struct $name {
                #[doc = $hidden_doc]
                pub student_hidden: Vec<usize> = vec![$($hidden),*],
                /// The data (S4's synthetic regression).
                pub data: RegressionDataConfig = RegressionDataConfig::default(),
                /// The teacher [10, 100, 50, 1].
                pub teacher: RegressionTeacherConfig = RegressionTeacherConfig::default(),
                /// The posterior: full (6,050 × 6,050) for the joint prior.
                pub posterior: PosteriorConfig = PosteriorConfig::default(),
                /// The students: 100 epochs of 15 steps, the curve every epoch (our choice).
                pub student: BayesStudentConfig = BayesStudentConfig::default(),
                /// The Hinton-distilled student.
                pub hinton: HintonSection = HintonSection::default(),
            }
        }

        impl $name {
            /// The keys the two synthetic experiments share.
            pub fn parts(&self) -> SyntheticParts<'_> {
                SyntheticParts {
                    student_hidden: &self.student_hidden,
                    data: &self.data,
                    teacher: &self.teacher,
                    posterior: &self.posterior,
                    student: &self.student,
                    hinton: &self.hinton,
                }
            }

            /// The `--quick` form: a [10, 30, 20, 1] teacher, 5 student epochs.
            pub fn quick(self) -> Self {
                $name {
                    teacher: RegressionTeacherConfig {
                        hidden: vec![30, 20],
                        steps: 3000,
                        ..self.teacher
                    },
                    student: BayesStudentConfig {
                        epochs: 5,
                        eval_every: 5,
                        ..self.student
                    },
                    ..self
                }
            }
        }
    };
}

synthetic_config!(
    /// Configuration of `bayes-distill-neurons`.
    BayesNeuronsConfig,
    "The student's hidden sizes (S4: [10, 10], the student [10, 10, 10, 1] of 210 weights).",
    [10, 10]
);

synthetic_config!(
    /// Configuration of `bayes-distill-layers`.
    BayesLayersConfig,
    "The student's hidden sizes (S4: [50], the student [10, 50, 1] of 550 weights).",
    [50]
);

/// Checks the keys beyond their ranges: the order, the curvature, the teacher's sizes, and
/// that a removal sequence reaches the student (`student_hidden`).
pub fn check_synthetic(p: &SyntheticParts<'_>) -> Result<(), ConfigError> {
    p.posterior.check()?;
    if p.teacher.hidden.is_empty() || p.teacher.hidden.contains(&0) {
        return Err(ConfigError {
            key: "teacher.hidden".into(),
            message: format!("must be ≥ 1 positive sizes, got {:?}", p.teacher.hidden),
        });
    }
    let (teacher, student) = p.sizes();
    check_reachable(&teacher, &student, "student_hidden")
}

/// The report's notes of a synthetic experiment.
pub fn synthetic_notes(p: &SyntheticParts<'_>) -> Vec<String> {
    let (teacher, student) = p.sizes();
    let mut notes = vec![format!(
        "Teacher {teacher:?} (no biases, ReLU between layers, none after the output) trained \
         by {} full-batch Adam steps (step {} decayed to 0 by a cosine) on the negative log \
         posterior with α = {} and s² = β = {}; its Laplace posterior is full ({}): the {} \
         curvature plus αI, Cholesky-factored; the student {student:?}. OBD's h_jj is the \
         exact Hessian diagonal (one Hessian-vector product per weight).",
        p.teacher.steps,
        p.teacher.learning_rate,
        p.posterior.prior_precision,
        p.data.noise_variance,
        teacher.windows(2).map(|w| w[0] * w[1]).sum::<usize>(),
        p.posterior.curvature
    )];
    notes.extend(shared_notes(&LinesConfig {
        posterior: p.posterior,
        student: p.student,
        hinton: p.hinton,
    }));
    notes
}

/// The curves' steps as the plots' x values.
pub fn steps_f64(n: usize, c: &BayesStudentConfig) -> Vec<f64> {
    curve_steps(n, c).into_iter().map(|s| s as f64).collect()
}

/// The report rows' labels of `bayes-distill-neurons`.
pub const NEURON_LABELS: [&str; 11] = [
    "neuron removal, student (no teacher)",
    "neuron removal, Hinton-distilled",
    "neuron removal, distil-student (structure reading)",
    "neuron removal, distil-student-all (structure reading)",
    "neuron removal, distil-student (initialisation reading)",
    "neuron removal, distil-student-all (initialisation reading)",
    "neuron removal, order: random",
    "neuron removal, order: OBD",
    "neuron removal, order: density ratio",
    "neuron removal, order: Belsley",
    "neuron removal, teacher posterior",
];

/// The report rows' labels of `bayes-distill-layers`.
pub const LAYER_LABELS: [&str; 11] = [
    "layer removal, student (no teacher)",
    "layer removal, Hinton-distilled",
    "layer removal, distil-student (structure reading)",
    "layer removal, distil-student-all (structure reading)",
    "layer removal, distil-student (initialisation reading)",
    "layer removal, distil-student-all (initialisation reading)",
    "layer removal, order: random",
    "layer removal, order: OBD",
    "layer removal, order: density ratio",
    "layer removal, order: Belsley",
    "layer removal, teacher posterior",
];
