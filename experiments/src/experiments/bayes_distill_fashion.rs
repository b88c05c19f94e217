//! `bayes-distill-fashion`: S4's Bayesian distillation on Fashion-MNIST, the teacher
//! `[784,800,50,10]` (667,700 weights, no biases) distilled into `[784,50,10]` (39,700):
//! 750 neurons of the first hidden layer removed, then the (now square) middle layer
//! conditioned on the identity. The joint posterior is K-FAC (per layer `Λ_l ≈ P_l ⊗ Q_l`,
//! conditioned in closed form in the factors), the diagonal one the exact GGN diagonal.

use anyhow::Result;
use methods::bayes::laplace::Structure;
use methods::bayes::likelihood::Likelihood;
use methods::bayes::mlp::NoBiasMlp;
use nn::data::{data_identity, load_train_test, permutation, DataFile, Dataset, DatasetId};
use nn::layers::{mlp, Activation};
use nn::metrics::mean_cross_entropy;
use nn::optim::{Adam, AdamConfig};
use nn::store::{ModelIdentity, TrainingRecord};
use nn::train::{fit, predict, CrossEntropy, TrainConfig};
use rand::Rng;

use super::bayes_distill::core::{OwnedTargets, Problem, Split};
use super::bayes_distill::lines::{
    comparison, curve_steps, line_count, plots, run_students, shared_notes, LinesConfig,
    PublishedAreas, TEACHER,
};
use super::bayes_distill::priors::{check_reachable, teacher_posterior, ObdCurvature, PosteriorInputs};
use super::bayes_distill::sections::{BayesStudentConfig, HintonSection, PosteriorConfig};
use crate::config;
use crate::experiment::config::ge;
use crate::experiment::{
    EpochProgress,
    seed_stream, Compare, ConfigError, DataNeed, Experiment, Info, PlotSpec, Progress,
    RunContext, RunRecord, TeacherConfig,
};

const CLASSES: usize = 10;
const PIXELS: usize = 784;

config! {
    /// Configuration of `bayes-distill-fashion`.
    pub struct BayesFashionConfig {
        /// Training images (the first n of a permutation from `data_seed` when fewer than
        /// 60,000). Default: all (S4).
        #[allowed(ge(1).le(60_000))]
        pub train_size: usize = 60_000,
        /// Test images (likewise). Default: all 10,000 (S4).
        #[allowed(ge(1).le(10_000))]
        pub test_size: usize = 10_000,
        /// The seed of the subsets (our choice).
        pub data_seed: u64 = 0,
        /// The teacher's hidden sizes (S4: [800, 50]).
        pub teacher_hidden: Vec<usize> = vec![800, 50],
        /// The student's hidden sizes (S4: [50], the student [784, 50, 10]).
        pub student_hidden: Vec<usize> = vec![50],
        /// Training objects in the curvature sums of the Laplace posterior (a random subset
        /// from `data_seed`; our choice: 10,000 — the K-FAC factors are averages, and the
        /// cost grows linearly).
        #[allowed(ge(1).le(60_000))]
        pub laplace_samples: usize = 10_000,
        /// The teacher (no biases): S4 does not say how it is trained. Ours: Adam 1e-3, batch
        /// 256, 5 epochs (the teacher only has to be good; its training is stored).
        pub teacher: TeacherConfig = TeacherConfig {
            batch_size: 256,
            epochs: 5,
            ..TeacherConfig::default()
        },
        /// The posterior: K-FAC for the joint prior. Our default skips the orders' comparison
        /// here (three more students of 39,700 weights; the synthetic experiments compare the
        /// orders): set compare_orders = true to run it.
        pub posterior: PosteriorConfig = PosteriorConfig {
            compare_orders: false,
            ..PosteriorConfig::default()
        },
        /// The students: batch 128, 3 epochs (1,407 steps), the curve every 47 steps (31
        /// points); our choice, to keep the run within ~20 CPU minutes on 2 shared cores.
        pub student: BayesStudentConfig = BayesStudentConfig {
            epochs: 3,
            batch_size: 128,
            eval_every: 47,
            ..BayesStudentConfig::default()
        },
        /// The Hinton-distilled student.
        pub hinton: HintonSection = HintonSection::default(),
    }
}

impl BayesFashionConfig {
    fn sizes(&self) -> (Vec<usize>, Vec<usize>) {
        let with = |hidden: &[usize]| {
            let mut s = vec![PIXELS];
            s.extend_from_slice(hidden);
            s.push(CLASSES);
            s
        };
        (with(&self.teacher_hidden), with(&self.student_hidden))
    }

    fn lines(&self) -> LinesConfig<'_> {
        LinesConfig {
            posterior: &self.posterior,
            student: &self.student,
            hinton: &self.hinton,
        }
    }
}

/// `bayes-distill-fashion` (registered in `super`).
pub struct BayesDistillFashion;

fn subset(data: Dataset<f32>, n: usize, seed: u64, purpose: &str) -> Result<Dataset<f32>> {
    if n >= data.len() {
        return Ok(data);
    }
    let idx: Vec<usize> = permutation(data.len(), &mut seed_stream(seed, purpose))[..n].to_vec();
    Ok(data.select(&idx)?)
}

impl Experiment for BayesDistillFashion {
    type Config = BayesFashionConfig;

    fn info(&self) -> Info {
        Info {
            name: "bayes-distill-fashion",
            description: "Bayesian distillation on Fashion-MNIST: the no-bias teacher \
                          [784,800,50,10]'s K-FAC Laplace posterior, conditioned on 750 \
                          removed neurons and on its middle layer being the identity, is the \
                          prior of a variational [784,50,10] student; against no teacher and \
                          Hinton distillation.",
            reproduces: "S4 (Grabovoy, 2021), Bayesian distillation table, row \
                         \"Fashion-MNIST\"",
            revision: 1,
        }
    }

    fn quick_config(&self) -> BayesFashionConfig {
        BayesFashionConfig {
            train_size: 2000,
            test_size: 500,
            teacher_hidden: vec![100, 20],
            student_hidden: vec![20],
            laplace_samples: 500,
            teacher: TeacherConfig {
                epochs: 2,
                batch_size: 128,
                ..TeacherConfig::default()
            },
            posterior: PosteriorConfig {
                compare_orders: true,
                ..PosteriorConfig::default()
            },
            student: BayesStudentConfig {
                epochs: 2,
                batch_size: 128,
                eval_every: 4,
                ..BayesStudentConfig::default()
            },
            ..BayesFashionConfig::default()
        }
    }

    fn check_config(&self, c: &BayesFashionConfig) -> Result<(), ConfigError> {
        c.posterior.check()?;
        if c.teacher_hidden.is_empty() || c.teacher_hidden.contains(&0) {
            return Err(ConfigError {
                key: "teacher_hidden".into(),
                message: format!("must be ≥ 1 positive sizes, got {:?}", c.teacher_hidden),
            });
        }
        if c.posterior.curvature == "hessian" {
            return Err(ConfigError {
                key: "posterior.curvature".into(),
                message: "K-FAC approximates the GGN, not the exact Hessian: use \"ggn\" here"
                    .into(),
            });
        }
        let (teacher, student) = c.sizes();
        check_reachable(&teacher, &student, "student_hidden")
    }

    fn data(&self, _c: &BayesFashionConfig) -> Vec<DataNeed> {
        vec![DataNeed::Images(DatasetId::FashionMnist)]
    }

    fn run(
        &self,
        c: &BayesFashionConfig,
        seed: u64,
        ctx: &RunContext<'_>,
        progress: &mut Progress,
    ) -> Result<RunRecord> {
        let located = ctx.images(DatasetId::FashionMnist)?;
        let full = load_train_test::<f32>(located)?;
        let train = subset(full.train, c.train_size, c.data_seed, "train subset")?;
        let test = subset(full.test, c.test_size, c.data_seed, "test subset")?;
        let mut record = RunRecord::default();
        let description = format!(
            "{}: {} train / {} test images used",
            located.dataset.description(),
            train.len(),
            test.len()
        );
        record.uses_data(description.clone());
        progress.set_total(
            (c.teacher.epochs + line_count(&c.posterior) * c.student.epochs) as u64,
        );

        let (teacher_sizes, student_sizes) = c.sizes();
        let teacher_seed = c.teacher.seed_for(seed);
        let mut data = data_identity(located)?;
        data.push(DataFile::generated(
            "subsets",
            &format!(
                "train_size={} test_size={} data_seed={}",
                c.train_size, c.test_size, c.data_seed
            ),
        ));
        let model = mlp::<f32>(
            &teacher_sizes,
            Activation::Relu,
            false,
            &mut seed_stream(teacher_seed, "teacher init"),
        );
        let name = format!(
            "fashion-mlp-nobias-{}",
            teacher_sizes
                .iter()
                .map(usize::to_string)
                .collect::<Vec<_>>()
                .join("-")
        );
        let identity = ModelIdentity::of(
            &name,
            "MLP, ReLU, no biases",
            &model,
            &c.teacher.training(),
            teacher_seed,
            data,
        )?;
        let stored = ctx.models().get_or_train(&identity, model, |model, resume| {
            let mut adam = Adam::new(AdamConfig::adam(c.teacher.learning_rate))?;
            let config = TrainConfig {
                epochs: c.teacher.epochs,
                batch_size: c.teacher.batch_size,
                seed: seed_stream(teacher_seed, "teacher shuffle").gen(),
                resume: Some(resume),
                ..TrainConfig::default()
            };
            let curve = fit(
                model,
                &mut adam,
                &CrossEntropy,
                &train,
                Some(&test),
                &config,
                &mut EpochProgress { what: "teacher", progress },
            )?;
            let test = curve.last().and_then(|r| r.eval);
            Ok(TrainingRecord { curve, test })
        })?;
        progress.set_position(c.teacher.epochs as u64, "teacher ready");
        record.uses_model(TEACHER, stored.stem());
        let teacher = NoBiasMlp::from_module(&stored.model, Activation::Relu)?;
        let train_logits = predict(&stored.model, train.x(), 1000)?.mapv(f64::from);
        let test_logits = predict(&stored.model, test.x(), 1000)?;
        let test_labels = test.y().to_vec();
        let teacher_ce = mean_cross_entropy(test_logits.view(), &test_labels);
        record.set_final(
            TEACHER,
            "final_test_log_likelihood",
            -teacher_ce * test.len() as f64,
        );
        record.set_final(
            TEACHER,
            "test_accuracy",
            nn::metrics::accuracy(test_logits.view(), &test_labels),
        );

        let laplace_rows: Vec<usize> =
            permutation(train.len(), &mut seed_stream(c.data_seed, "laplace subset"))
                [..c.laplace_samples.min(train.len())]
                .to_vec();
        let laplace_x = train.x().select(ndarray::Axis(0), &laplace_rows).mapv(f64::from);
        let laplace_y =
            OwnedTargets::Labels(laplace_rows.iter().map(|&i| train.y()[i]).collect());
        let posterior = teacher_posterior(
            &teacher,
            &PosteriorInputs {
                key: format!("{} {description} {}", stored.stem(), c.laplace_samples),
                x: laplace_x.view(),
                y: &laplace_y,
                likelihood: Likelihood::Categorical,
                structure: Structure::Kfac,
                obd: ObdCurvature::GgnDiagonal,
                batch_size: 500,
            },
            &c.posterior,
        )?;
        drop(laplace_x);
        let problem = Problem {
            train: Split {
                x: train.x().clone(),
                y: OwnedTargets::Labels(train.y().to_vec()),
            },
            test: Split {
                x: test.x().clone(),
                y: OwnedTargets::Labels(test_labels),
            },
            likelihood: Likelihood::Categorical,
            sizes: student_sizes,
        };
        run_students(
            &problem,
            &posterior,
            &train_logits,
            &c.lines(),
            seed,
            &mut record,
            progress,
        )?;
        Ok(record)
    }

    fn comparison(&self) -> Vec<Compare> {
        comparison(
            &PublishedAreas {
                distil_student: 1165.0,
                distil_student_all: 1145.0,
                hinton: None,
            },
            &FASHION_LABELS,
        )
    }

    fn plots(&self) -> Vec<PlotSpec> {
        plots()
    }

    fn x_values(&self, c: &BayesFashionConfig, _metric: &str) -> Option<Vec<f64>> {
        Some(
            curve_steps(c.train_size, &c.student)
                .into_iter()
                .map(|s| s as f64)
                .collect(),
        )
    }

    fn notes(&self, c: &BayesFashionConfig) -> Vec<String> {
        let (teacher, student) = c.sizes();
        let mut notes = vec![format!(
            "Teacher {teacher:?} without biases (S4's networks have none), trained by \
             cross-entropy with Adam ({} epochs, batch {}), kept in the model store. Its \
             Laplace posterior at α = {}: K-FAC (GGN) for the joint prior, from {} training \
             objects; the exact GGN diagonal for the diagonal prior and for OBD's h_jj. The \
             student {student:?}; the likelihood Cat(softmax(g(x))), the Hinton line's soft \
             targets at T0 = {} (T0²-scaled).",
            c.teacher.epochs,
            c.teacher.batch_size,
            c.posterior.prior_precision,
            c.laplace_samples,
            c.hinton.temperature
        )];
        notes.extend(shared_notes(&c.lines()));
        notes
    }
}


/// The report rows' labels.
const FASHION_LABELS: [&str; 11] = [
    "Fashion-MNIST, student (no teacher)",
    "Fashion-MNIST, Hinton-distilled",
    "Fashion-MNIST, distil-student (structure reading)",
    "Fashion-MNIST, distil-student-all (structure reading)",
    "Fashion-MNIST, distil-student (initialisation reading)",
    "Fashion-MNIST, distil-student-all (initialisation reading)",
    "Fashion-MNIST, order: random",
    "Fashion-MNIST, order: OBD",
    "Fashion-MNIST, order: density ratio",
    "Fashion-MNIST, order: Belsley",
    "Fashion-MNIST, teacher posterior",
];
