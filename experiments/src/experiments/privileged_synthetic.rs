//! `privileged-synthetic` (beyond the seeds): generalised distillation with privileged
//! information — the teacher sees clean features `x*`, the student noisy ones `x = x* + ν ε` —
//! across the imitation weight `λ`, the temperature `T` and the noise `ν`, to show when the
//! teacher helps and when it does not.
//!
//! Data: `methods::distill::PrivilegedDataConfig` (labels `[αᵀx*/‖α‖ + δ > 0]`), drawn per
//! seed; the same draws of `x*`, `ε` and the labels serve every `ν` (only the scale of `ε`
//! changes), so the noise levels are paired. Teacher: logistic regression on `x*` of the objects
//! of `I`, trained once per seed. Students: logistic regression on `x`, from one initialisation
//! and batch order per seed, by the generalised distillation loss
//! `(1 − λ)·CE(y, g(x))|_{T=1} + λ·c(T)·CE(softmax(v(x*)/T), g(x)|_T)` (soft term over `I` only;
//! `c(T) = T²` by default) — and the student alone (plain cross-entropy).
//!
//! Per `ν` and `(λ, T)` the run records the gains over the student alone: `accuracy_gain`
//! (test accuracy minus the student alone's) and `cross_entropy_gain` (the student alone's
//! test cross-entropy minus this one's): positive means the teacher helped. `λ = 0` is the
//! student alone exactly (gain 0: a built-in check).

use anyhow::{ensure, Result};
use autograd::Var;
use methods::distill::data::PrivilegedDataConfig;
use methods::distill::{generalized_distillation_loss, HintonConfig, IndexSet, TemperatureScaling};
use ndarray::{Array2, Axis};
use nn::data::DataFile;
use nn::layers::Linear;
use nn::optim::{Adam, AdamConfig};
use nn::train::{Batch, BatchLoss, CrossEntropy, Evaluation, TrainConfig};
use nn::{Ctx, Module};
use rand::Rng;

use super::s4_common::{record_teacher, stored_teacher, to_nn, LineTrainer, TeacherSpec};
use crate::config;
use crate::experiment::config::{ge, gt, ConfigError};
use crate::experiment::{
    seed_stream, Compare, Experiment, HeatmapSpec, Info, PlotSpec, Progress, RunContext, RunRecord,
    TeacherConfig,
};

config! {
    /// Configuration of `privileged-synthetic`.
    pub struct PrivilegedSyntheticConfig {
        /// d, the features of both views (methods' default 50: the order of Lopez-Paz et
        /// al.'s synthetic experiments).
        #[allowed(ge(1).le(10_000))]
        pub features: usize = 50,
        /// Training objects (our choice, 200: few enough that the student is data-starved).
        #[allowed(ge(2).le(1_000_000))]
        pub train: usize = 200,
        /// Test objects (our choice, 1000: accuracy to ±0.015 at 0.8).
        #[allowed(ge(1).le(1_000_000))]
        pub test: usize = 1_000,
        /// τ, noise in the label's margin (methods' default 0: labels a function of x*).
        #[allowed(ge(0.0).le(100.0))]
        pub label_noise_std: f64 = 0.0,
        /// ρ = |I|/n, the share of training objects with privileged features (default 1).
        #[allowed(ge(0.0).le(1.0))]
        pub privileged_fraction: f64 = 1.0,
        /// ν values, the noise on the student's features; one heat map each (our choice: 0,
        /// where the student sees what the teacher sees, to 2, twice the signal per feature).
        pub noise_levels: Vec<f64> = vec![0.0, 1.0, 2.0],
        /// λ values (rows of the heat maps; λ = 0 is the student alone).
        pub lambdas: Vec<f64> = vec![0.0, 0.25, 0.5, 0.75, 1.0],
        /// T values (columns of the heat maps; our choice, Hinton et al.'s range 1–20).
        pub temperatures: Vec<f64> = vec![1.0, 2.0, 5.0, 10.0, 20.0],
        /// Whether the soft term is multiplied by T² (Hinton et al.), so that its gradient
        /// keeps its size as T grows and the temperatures are compared, not the gradient
        /// scales. Default true (our choice; the seeds' formula has no T²).
        pub temperature_squared: bool = true,
        /// The (λ, T) whose per-epoch curves are plotted beside the student alone's, for every
        /// ν (our choice).
        #[allowed(ge(0.0).le(1.0))]
        pub curve_lambda: f64 = 0.5,
        /// See `curve_lambda`.
        #[allowed(gt(0.0).le(1_000.0))]
        pub curve_temperature: f64 = 5.0,
        /// Student epochs (our choice: the student alone has levelled off by then).
        #[allowed(ge(1).le(100_000))]
        pub epochs: usize = 100,
        /// Teacher epochs (our choice).
        #[allowed(ge(1).le(100_000))]
        pub teacher_epochs: usize = 100,
        /// Samples per Adam step, teacher and students (our choice: 10 steps per epoch).
        #[allowed(ge(1).le(1_000_000))]
        pub batch_size: usize = 20,
        /// Adam's step size, teacher and students (our choice: 1e-2 suits these small linear
        /// models).
        #[allowed(gt(0.0).le(10.0))]
        pub learning_rate: f64 = 1e-2,
    }
}

/// The experiment (registered in `super`).
pub struct PrivilegedSynthetic;

const TEACHER: &str = "teacher (on clean x*)";
const CLASSES: usize = 2;

/// The report's rows: the teacher, and at each default `ν` the student alone and the plotted
/// setting `λ = 0.5, T = 5` (a test checks these against [`alone`] and [`taught`]).
pub(super) const ROWS: [(&str, &str); 7] = [
    ("teacher on clean x*", TEACHER),
    ("ν = 0, student alone", "ν=0: without teacher"),
    ("ν = 0, λ = 0.5, T = 5", "ν=0: λ=0.5, T=5"),
    ("ν = 1, student alone", "ν=1: without teacher"),
    ("ν = 1, λ = 0.5, T = 5", "ν=1: λ=0.5, T=5"),
    ("ν = 2, student alone", "ν=2: without teacher"),
    ("ν = 2, λ = 0.5, T = 5", "ν=2: λ=0.5, T=5"),
];

/// The line of the student alone at noise `nu`.
pub(super) fn alone(nu: f64) -> String {
    format!("ν={nu}: without teacher")
}

/// The line of the student taught with `(lambda, t)` at noise `nu`.
pub(super) fn taught(nu: f64, lambda: f64, t: f64) -> String {
    format!("ν={nu}: λ={lambda}, T={t}")
}

/// The generalised distillation loss of a batch: the teacher's logits on `x*` of the
/// training objects in `I`, looked up by the batch's sample indices.
struct GeneralizedBatch<'a> {
    teacher_logits: &'a Array2<f32>,
    index: &'a IndexSet,
    config: HintonConfig,
}

impl<M: Module<f32>> BatchLoss<f32, M> for GeneralizedBatch<'_> {
    fn loss<'t>(
        &self,
        model: &M,
        ctx: &Ctx<'t, f32>,
        batch: &Batch<'_, f32>,
    ) -> nn::Result<Var<'t, f32>> {
        let logits = model.forward(ctx, ctx.input(batch.x.clone()))?;
        let (index, rows) = self.index.restrict(batch.indices).map_err(to_nn)?;
        let teacher = ctx.input(self.teacher_logits.select(Axis(0), &rows));
        generalized_distillation_loss(logits, &batch.labels, teacher, &index, &self.config)
            .map_err(to_nn)
    }
}

impl Experiment for PrivilegedSynthetic {
    type Config = PrivilegedSyntheticConfig;

    fn info(&self) -> Info {
        Info {
            name: "privileged-synthetic",
            description: "Generalised distillation with privileged information on synthetic \
                          data: a teacher on clean features, a student on noisy ones, across \
                          λ, T and the noise (heat maps of the gain over the student alone).",
            reproduces: "nothing published (beyond the seeds): Vapnik's privileged-information \
                         setting of S4, after Lopez-Paz et al. (2016)",
            revision: 1,
        }
    }

    fn quick_config(&self) -> PrivilegedSyntheticConfig {
        PrivilegedSyntheticConfig {
            noise_levels: vec![0.0, 2.0],
            lambdas: vec![0.0, 0.5, 1.0],
            temperatures: vec![1.0, 5.0],
            epochs: 10,
            teacher_epochs: 10,
            ..PrivilegedSyntheticConfig::default()
        }
    }

    fn check_config(&self, c: &PrivilegedSyntheticConfig) -> Result<(), ConfigError> {
        type Rule = fn(f64) -> bool;
        let lists: [(&str, &[f64], Rule, &str); 3] = [
            ("noise_levels", &c.noise_levels, |v| v >= 0.0, "≥ 0"),
            (
                "lambdas",
                &c.lambdas,
                |v| (0.0..=1.0).contains(&v),
                "in [0, 1]",
            ),
            ("temperatures", &c.temperatures, |v| v > 0.0, "> 0"),
        ];
        for (key, values, ok, range) in lists {
            if values.is_empty() || values.iter().any(|&v| !(v.is_finite() && ok(v))) {
                return Err(ConfigError {
                    key: key.to_owned(),
                    message: format!(
                        "{values:?}: needs at least one value, each finite and {range}"
                    ),
                });
            }
        }
        Ok(())
    }

    fn run(
        &self,
        c: &PrivilegedSyntheticConfig,
        seed: u64,
        ctx: &RunContext<'_>,
        progress: &mut Progress,
    ) -> Result<RunRecord> {
        let grid = c.lambdas.len() * c.temperatures.len();
        let trainings = c.noise_levels.len() * (1 + grid);
        progress.set_total((c.teacher_epochs + trainings * c.epochs) as u64);
        let mut record = RunRecord::default();
        let adam = || Adam::new(AdamConfig::adam(c.learning_rate));
        let config = |epochs, purpose| TrainConfig {
            epochs,
            batch_size: c.batch_size,
            seed: seed_stream(seed, purpose).gen(),
            ..TrainConfig::default()
        };
        let scaling = if c.temperature_squared {
            TemperatureScaling::Squared
        } else {
            TemperatureScaling::None
        };

        // The teacher depends on x*, the labels and I only: the same for every ν.
        let first = self.data(c, c.noise_levels[0], seed)?;
        ensure!(
            !first.index.is_empty(),
            "no training object has privileged features (ρ = 0)"
        );
        let privileged_train = nn::data::Dataset::new(
            first.train_privileged.clone(),
            first.train.select(first.index.indices())?.y().clone(),
        )?
        .with_classes(CLASSES)?;
        let privileged_test =
            nn::data::Dataset::new(first.test_privileged.clone(), first.test.y().clone())?
                .with_classes(CLASSES)?;
        let teacher_model = Linear::<f32>::new(
            c.features,
            CLASSES,
            true,
            &mut seed_stream(seed, "teacher init"),
        );
        // One teacher per run seed, on that seed's draw of the data.
        let teacher_config = TeacherConfig {
            epochs: c.teacher_epochs,
            batch_size: c.batch_size,
            learning_rate: c.learning_rate,
            seed,
            per_seed: true,
        };
        let draw = format!(
            "privileged-information data: features={} train={} test={} label_noise_std={} \
             privileged_fraction={} seed={seed}",
            c.features, c.train, c.test, c.label_noise_std, c.privileged_fraction
        );
        let teacher = stored_teacher(
            ctx,
            TeacherSpec {
                name: "privileged-logreg",
                architecture: &format!("logistic regression {} → 2 on x*", c.features),
                data: vec![DataFile::generated("privileged", &draw)],
            },
            teacher_model,
            &teacher_config,
            seed,
            &privileged_train,
            &privileged_test,
            progress,
        )?;
        record_teacher(&teacher, TEACHER, &mut record);
        record.uses_data(format!(
            "privileged-information data (generated per seed): d = {}, {} train / {} test, \
             τ = {}, |I| = {} of {}, ν ∈ {:?} on the same draws",
            c.features,
            c.train,
            c.test,
            c.label_noise_std,
            first.index.len(),
            c.train,
            c.noise_levels
        ));

        for &nu in &c.noise_levels {
            let data = self.data(c, nu, seed)?;
            let mut trainer = LineTrainer {
                ctx,
                train: &data.train,
                test: &data.test,
                config: config(c.epochs, "shuffle"),
                record: &mut record,
                progress,
            };
            let student =
                || Linear::<f32>::new(c.features, CLASSES, true, &mut seed_stream(seed, "init"));
            let base = trainer.train(
                &alone(nu),
                &mut student(),
                &mut adam()?,
                &CrossEntropy,
                true,
            )?;
            for &lambda in &c.lambdas {
                for &t in &c.temperatures {
                    let loss = GeneralizedBatch {
                        teacher_logits: &teacher.train_logits,
                        index: &data.index,
                        config: HintonConfig::imitation(lambda, t, scaling)?,
                    };
                    let line = taught(nu, lambda, t);
                    let curves = lambda == c.curve_lambda && t == c.curve_temperature;
                    let e = trainer.train(&line, &mut student(), &mut adam()?, &loss, curves)?;
                    record_gains(trainer.record, &line, &base, &e);
                }
            }
        }
        Ok(record)
    }

    fn comparison(&self) -> Vec<Compare> {
        // Lines of the default config (other noise levels or settings show "—" here; the heat
        // maps and summary.csv have every line).
        ROWS.iter()
            .flat_map(|&(label, line)| {
                ["test_accuracy", "test_cross_entropy"].map(|metric| Compare {
                    label,
                    line,
                    metric,
                    published: None,
                    note: "",
                })
            })
            .collect()
    }

    fn plots(&self) -> Vec<PlotSpec> {
        ["test_accuracy", "test_cross_entropy"]
            .map(PlotSpec::per_epoch)
            .to_vec()
    }

    fn heatmaps(&self, c: &PrivilegedSyntheticConfig) -> Vec<HeatmapSpec> {
        let mut maps = Vec::new();
        for (i, &nu) in c.noise_levels.iter().enumerate() {
            for (metric, what) in [
                ("accuracy_gain", "test accuracy gain"),
                ("cross_entropy_gain", "test cross-entropy reduction"),
            ] {
                maps.push(HeatmapSpec {
                    file: format!("{metric}_noise_{i}"),
                    title: format!("ν = {nu}: {what} over the student alone"),
                    metric: metric.to_owned(),
                    x_label: "temperature T".to_owned(),
                    x_ticks: c.temperatures.iter().map(|t| format!("T = {t}")).collect(),
                    y_label: "λ".to_owned(),
                    y_ticks: c.lambdas.iter().map(|l| format!("λ = {l}")).collect(),
                    lines: c
                        .lambdas
                        .iter()
                        .map(|&l| c.temperatures.iter().map(|&t| taught(nu, l, t)).collect())
                        .collect(),
                    diverging: true,
                });
            }
        }
        maps
    }

    fn notes(&self, c: &PrivilegedSyntheticConfig) -> Vec<String> {
        vec![
            "Beyond the seeds: S4 states Vapnik's privileged-information loss but runs no such \
             experiment. The data are the classic clean-vs-noisy setting of Lopez-Paz et al. \
             (2016), generated by methods::distill::PrivilegedDataConfig; every size, noise \
             level and optimiser setting here is our choice (see config.toml)."
                .to_owned(),
            format!(
                "Loss: methods::distill::generalized_distillation_loss with the imitation \
                 weights (1 − λ, λ), the student's soft term at T as the seeds write it, {}.",
                if c.temperature_squared {
                    "multiplied by T² (Hinton et al.) so that its gradient does not shrink as \
                     T grows"
                } else {
                    "without T² (as the seeds write it)"
                }
            ),
            "Gains are paired: within a seed every student starts from the same weights and \
             sees the same batches, so the λ = 0 row is exactly 0 and the other cells show the \
             teacher's effect alone; cells are means over seeds (the tables give ± std)."
                .to_owned(),
        ]
    }
}

impl PrivilegedSynthetic {
    /// The data of run `seed` at noise `nu` (the same draws for every `nu`).
    fn data(
        &self,
        c: &PrivilegedSyntheticConfig,
        nu: f64,
        seed: u64,
    ) -> Result<methods::distill::data::PrivilegedData<f32>> {
        let config = PrivilegedDataConfig {
            features: c.features,
            train: c.train,
            test: c.test,
            noise_std: nu,
            label_noise_std: c.label_noise_std,
            privileged_fraction: c.privileged_fraction,
        };
        Ok(config.generate(&mut seed_stream(seed, "data"))?)
    }
}

/// The gains of a taught student over the student alone.
fn record_gains(record: &mut RunRecord, line: &str, alone: &Evaluation, taught: &Evaluation) {
    record.set_final(line, "accuracy_gain", taught.accuracy - alone.accuracy);
    record.set_final(
        line,
        "cross_entropy_gain",
        alone.cross_entropy - taught.cross_entropy,
    );
}
