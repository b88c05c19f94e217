//! The data, the models and the lines of one `meta-distill` run: the problem (the seed's sign
//! data or Fashion-MNIST, its stored teacher, its student), and the training of each line with
//! `methods::meta`, recorded per evaluation.

use std::sync::Arc;

use anyhow::Result;
use methods::meta::{
    equal_budget_trials, optimise_metaparameters, random_search, sample_authors_start, train_fixed,
    InnerOptimizer, LowerLevel, MetaData, MetaParams, MetaRun, MetaStrategy, MetaTrainConfig,
    PredictionSchedule, TemperatureRange,
};
use nn::data::synthetic::SignDataConfig;
use nn::data::{load_train_test, DataFile, Dataset, DatasetId};
use nn::layers::{mlp, Activation, Linear};
use nn::loss::TemperatureScaling;
use nn::optim::AdamConfig;
use nn::Module;
use rand::Rng;

use super::fashion_teachers::{fashion_teacher, FashionTeacher};
use super::meta_distill::{DataSet, MetaDistillConfig};
use super::prob_distill_fashion_sweep::teacher_data;
use super::s4_common::{record_teacher, stored_teacher_on_rows, Teacher, TeacherSpec};
use crate::experiment::subset;
use crate::experiment::{seed_stream, Progress, RunContext, RunRecord};

/// The names of a data set's lines (each prefixed by the data set, so that the report's rows of
/// the other data set stay empty rather than compare our numbers with its published ones).
pub struct Lines {
    /// The student alone (`β2 ≈ 0`): the authors' "no distillation".
    pub alone: &'static str,
    /// `λ` fixed at the hypergradient runs' starting point.
    pub fixed: &'static str,
    /// A hypergradient step before every student step.
    pub hypergradient: &'static str,
    /// The same, each hypergradient through `k = unroll_steps` unrolled student steps.
    pub unrolled: &'static str,
    /// Prefix of the prediction lines, `"{prediction} n={n}"`.
    pub prediction: &'static str,
    /// The best fixed `λ` of a random search.
    pub random: &'static str,
    /// The stored teacher's own test metrics.
    pub teacher: &'static str,
}

/// The synthetic lines.
pub const SIGN_LINES: Lines = Lines {
    alone: "synthetic: without teacher",
    fixed: "synthetic: fixed λ",
    hypergradient: "synthetic: hypergradient",
    unrolled: "synthetic: unrolled hypergradient",
    prediction: "synthetic: prediction",
    random: "synthetic: random search",
    teacher: "synthetic: teacher (MLP)",
};

/// The Fashion-MNIST lines.
pub const FASHION_LINES: Lines = Lines {
    alone: "Fashion-MNIST: without teacher",
    fixed: "Fashion-MNIST: fixed λ",
    hypergradient: "Fashion-MNIST: hypergradient",
    unrolled: "Fashion-MNIST: unrolled hypergradient",
    prediction: "Fashion-MNIST: prediction",
    random: "Fashion-MNIST: random search",
    teacher: "Fashion-MNIST: teacher (784-800-50-10 MLP)",
};

impl Lines {
    /// The lines of `data`.
    pub fn of(data: DataSet) -> &'static Lines {
        match data {
            DataSet::Synthetic => &SIGN_LINES,
            DataSet::FashionMnist => &FASHION_LINES,
        }
    }

    /// The prediction line with period `n`.
    pub fn predicted(&self, n: usize) -> String {
        format!("{} n={n}", self.prediction)
    }
}

/// The student of a data set, built afresh from an RNG.
#[derive(Clone, Copy, Debug)]
enum Student {
    /// `3 → hidden → 2`, tanh.
    SignMlp { hidden: usize },
    /// Logistic regression `d → K`.
    Logistic { dim: usize, classes: usize },
}

impl Student {
    fn build(self, rng: &mut impl Rng) -> Box<dyn Module<f32>> {
        match self {
            Student::SignMlp { hidden } => {
                Box::new(mlp::<f32>(&[3, hidden, 2], Activation::Tanh, true, rng))
            }
            Student::Logistic { dim, classes } => {
                Box::new(Linear::<f32>::new(dim, classes, true, rng))
            }
        }
    }
}

/// One run's data and models.
struct Problem {
    train: Dataset<f32>,
    validation: Dataset<f32>,
    test: Dataset<f32>,
    teacher: Arc<Teacher>,
    student: Student,
}

/// Fashion-MNIST's classes.
const CLASSES: usize = 10;

fn sign_problem(
    c: &MetaDistillConfig,
    seed: u64,
    ctx: &RunContext<'_>,
    record: &mut RunRecord,
    progress: &mut Progress,
) -> Result<Problem> {
    let s = &c.synthetic;
    let sizes = SignDataConfig {
        n_teacher: s.teacher_samples,
        n_student: s.student_samples,
        n_validation: s.validation_samples,
        n_test: s.test_samples,
        noise_std: s.noise_std,
    };
    let data = sizes.generate::<f32, _>(&mut seed_stream(s.data_seed, "sign data"))?;
    let description = format!(
        "S3 sign data (generated): teacher {} / student {} / validation {} / test {}, \
         σ_δ = {}, one draw (data_seed = {}) shared by every seed",
        s.teacher_samples,
        s.student_samples,
        s.validation_samples,
        s.test_samples,
        s.noise_std,
        s.data_seed
    );
    record.uses_data(description.clone());
    let teacher_seed = s.teacher.seed_for(seed);
    let hidden = s.teacher_hidden;
    let rows_name = format!("meta-distill student split of: {description}");
    let teacher = stored_teacher_on_rows(
        ctx,
        TeacherSpec {
            name: &format!("sign-mlp-3-{hidden}-2"),
            architecture: &format!("MLP 3-{hidden}-2, tanh, biases"),
            data: vec![DataFile::generated("sign data", &description)],
        },
        mlp::<f32>(
            &[3, hidden, 2],
            Activation::Tanh,
            true,
            &mut seed_stream(teacher_seed, "teacher init"),
        ),
        &s.teacher,
        teacher_seed,
        &data.teacher,
        &data.test,
        (&rows_name, data.student.x()),
        progress,
    )?;
    Ok(Problem {
        train: data.student,
        validation: data.validation,
        test: data.test,
        teacher,
        student: Student::SignMlp {
            hidden: s.student_hidden,
        },
    })
}

fn fashion_problem(
    c: &MetaDistillConfig,
    seed: u64,
    ctx: &RunContext<'_>,
    record: &mut RunRecord,
    progress: &mut Progress,
) -> Result<Problem> {
    let f = &c.fashion;
    let located = ctx.images(DatasetId::FashionMnist)?;
    let full = load_train_test::<f32>(located)?;
    // The teacher's subsets exactly as `prob-distill-fashion` draws them, so that both
    // experiments share one stored teacher.
    let teacher_train = subset(
        full.train.clone(),
        f.teacher_samples,
        f.data_seed,
        "train subset",
    )?;
    let test = subset(full.test, f.test_samples, f.data_seed, "test subset")?;
    // The student's splits: disjoint, from the whole training set.
    let (student_pool, _) = full.train.split(
        f.student_samples + f.validation_samples,
        &mut seed_stream(f.data_seed, "meta-distill student splits"),
    )?;
    let (train, validation) = student_pool.split(
        f.student_samples,
        &mut seed_stream(f.data_seed, "meta-distill validation"),
    )?;
    record.uses_data(format!(
        "{}: teacher on {} train images; student {} train / {} validation images (drawn \
         from the 60,000); {} test images",
        located.dataset.description(),
        teacher_train.len(),
        train.len(),
        validation.len(),
        test.len()
    ));
    let teacher_seed = f.teacher.seed_for(seed);
    let data = teacher_data(located, (f.teacher_samples, f.test_samples, f.data_seed))?;
    let rows_name = format!(
        "meta-distill Fashion-MNIST student split: {} + {} images, data_seed {}",
        f.student_samples, f.validation_samples, f.data_seed
    );
    let teacher = fashion_teacher(
        ctx,
        FashionTeacher::Mlp,
        &f.teacher,
        teacher_seed,
        data,
        (&teacher_train, &test),
        Some((&rows_name, train.x())),
        progress,
    )?;
    let dim = train.dim();
    Ok(Problem {
        train,
        validation,
        test,
        teacher,
        student: Student::Logistic {
            dim,
            classes: CLASSES,
        },
    })
}

/// `a2` of the "without teacher" line: `β2 = σ(−40) ≈ 4·10⁻¹⁸`, a soft term far below f32's
/// resolution of the hard term, so the line trains on the labels alone, by the same loop.
const ALONE_A2: f64 = -40.0;

/// Which curves a line records.
#[derive(Clone, Copy, Debug)]
struct Curves {
    /// `test_accuracy` and `validation_cross_entropy` (the main comparison).
    main: bool,
    /// `test_accuracy_by_period` (the prediction periods, the seed's "restarts" plot).
    by_period: bool,
    /// `beta1`, `beta2`, `temperature` (lines whose `λ` moves).
    meta: bool,
}

/// Records the curves (one point per evaluation) and the finals of `run`, which started at
/// `start`.
fn record_run(
    record: &mut RunRecord,
    line: &str,
    run: &MetaRun,
    start: &MetaParams,
    curves: Curves,
) {
    for e in &run.evals {
        let test = e.test.map_or(f64::NAN, |t| t.accuracy);
        if curves.main {
            record.push(line, "test_accuracy", test);
            record.push(line, "validation_cross_entropy", e.validation.cross_entropy);
        }
        if curves.by_period {
            record.push(line, "test_accuracy_by_period", test);
        }
        if curves.meta {
            let v = match e.step {
                0 => start.values(),
                s => run.steps[s - 1].values,
            };
            record.push(line, "beta1", v.beta1);
            record.push(line, "beta2", v.beta2);
            record.push(line, "temperature", v.temperature);
        }
    }
    let last = run.last_eval();
    if let Some(t) = last.test {
        record.set_final(line, "test_accuracy", t.accuracy);
        record.set_final(line, "test_cross_entropy", t.cross_entropy);
    }
    record.set_final(
        line,
        "validation_cross_entropy",
        last.validation.cross_entropy,
    );
    let v = run.final_meta.values();
    record.set_final(line, "beta1", v.beta1);
    record.set_final(line, "beta2", v.beta2);
    record.set_final(line, "temperature", v.temperature);
    record.set_final(line, "hypergradients", run.hypergradients as f64);
    record.set_final(line, "hypergradients_saved", run.predicted as f64);
    record.set_final(line, "seconds", run.seconds);
    record.set_final(line, "hypergradient_seconds", run.hypergradient_seconds);
    if run.hypergradients > 0 {
        record.set_final(
            line,
            "seconds_per_hypergradient",
            run.hypergradient_seconds / run.hypergradients as f64,
        );
    }
}

/// The settings of `methods::meta`'s loop for run `seed` on `data` (the strategy is set per
/// line).
pub fn train_config(c: &MetaDistillConfig, data: DataSet, seed: u64) -> MetaTrainConfig {
    let learning_rate = match data {
        DataSet::Synthetic => c.synthetic.student_learning_rate,
        DataSet::FashionMnist => c.fashion.student_learning_rate,
    };
    MetaTrainConfig {
        steps: c.steps,
        batch_size: c.batch_size,
        // the whole validation split: L_val deterministic, as the prediction guard assumes
        val_batch_size: None,
        lower: LowerLevel {
            optimizer: InnerOptimizer::Adam(AdamConfig::adam(learning_rate)),
            // the seed's objective: no T² on the soft term
            scaling: TemperatureScaling::None,
        },
        strategy: MetaStrategy::Hypergradient,
        // the greedy one-step hypergradient; the unrolled line sets c.unroll_steps
        unroll_steps: 1,
        meta_lr: c.meta_lr,
        meta_clip: Some(c.meta_clip),
        eval_every: c.eval_every,
        seed: seed_stream(seed, "batch order").gen(),
    }
}

/// The prediction schedule of period `n`: `m` hypergradient steps, then `(n − 1)·m` predicted
/// ones (the authors' "train the splines every n-th epoch" with an epoch of `m` iterations).
pub fn schedule(c: &MetaDistillConfig, n: usize) -> PredictionSchedule {
    PredictionSchedule {
        window: c.prediction_window,
        horizon: n.saturating_sub(1) * c.prediction_window,
        max_residual: f64::INFINITY,
        max_val_rise: c.validation_guard.then_some(c.max_val_rise),
    }
}

/// Trains every line of run `seed` and records it.
pub fn run_lines(
    c: &MetaDistillConfig,
    seed: u64,
    ctx: &RunContext<'_>,
    progress: &mut Progress,
) -> Result<RunRecord> {
    let data_set = c.data_set()?;
    let lines = Lines::of(data_set);
    let mut record = RunRecord::default();
    let teacher_epochs = match data_set {
        DataSet::Synthetic => c.synthetic.teacher.epochs,
        DataSet::FashionMnist => c.fashion.teacher.epochs,
    } as u64;
    let trainings = 4 + c.prediction_periods.len() + c.random_search_trials;
    progress.set_total(teacher_epochs + (trainings * c.steps) as u64);
    let problem = match data_set {
        DataSet::Synthetic => sign_problem(c, seed, ctx, &mut record, progress)?,
        DataSet::FashionMnist => fashion_problem(c, seed, ctx, &mut record, progress)?,
    };
    let mut done = teacher_epochs;
    progress.set_position(done, "teacher ready");
    record_teacher(&problem.teacher, lines.teacher, &mut record);

    let data = MetaData {
        train: &problem.train,
        teacher_logits: &problem.teacher.train_logits,
        validation: &problem.validation,
        test: Some(&problem.test),
    };
    let range = TemperatureRange::new(c.t_min, c.t_max)?;
    let base = train_config(c, data_set, seed);
    // Every line starts from the same student and (but the student alone) the same λ.
    let student = || {
        problem
            .student
            .build(&mut seed_stream(seed, "student init"))
    };
    let start = sample_authors_start(range, &mut seed_stream(seed, "metaparameter start"))?;
    let mut advance = |progress: &mut Progress, line: &str, steps: usize| {
        done += steps as u64;
        progress.set_position(done, &format!("{line} done"));
    };
    let all = Curves {
        main: true,
        by_period: true,
        meta: true,
    };
    let main_only = Curves {
        main: true,
        by_period: false,
        meta: false,
    };

    // each line keeps its state under its own name: a killed run continues mid-line
    let resume = |line: &str| ctx.resume(line);
    let hyper = optimise_metaparameters(
        student().as_mut(),
        start,
        &data,
        &base,
        resume(lines.hypergradient)?.as_ref(),
    )?;
    record_run(&mut record, lines.hypergradient, &hyper, &start, all);
    advance(progress, lines.hypergradient, c.steps);

    let unrolled_cfg = MetaTrainConfig {
        unroll_steps: c.unroll_steps,
        meta_lr: c.unrolled_meta_lr,
        ..base
    };
    let unrolled = optimise_metaparameters(
        student().as_mut(),
        start,
        &data,
        &unrolled_cfg,
        resume(lines.unrolled)?.as_ref(),
    )?;
    let meta_curves = Curves {
        by_period: false,
        ..all
    };
    record_run(&mut record, lines.unrolled, &unrolled, &start, meta_curves);
    record.set_final(lines.unrolled, "unroll_steps", c.unroll_steps as f64);
    advance(progress, lines.unrolled, c.steps);

    let fixed = train_fixed(
        student().as_mut(),
        start,
        &data,
        &base,
        resume(lines.fixed)?.as_ref(),
    )?;
    record_run(&mut record, lines.fixed, &fixed, &start, main_only);
    advance(progress, lines.fixed, c.steps);

    let alone_meta = MetaParams::from_raw([0.0, ALONE_A2, 0.0], range)?;
    let alone = train_fixed(
        student().as_mut(),
        alone_meta,
        &data,
        &base,
        resume(lines.alone)?.as_ref(),
    )?;
    record_run(&mut record, lines.alone, &alone, &alone_meta, main_only);
    advance(progress, lines.alone, c.steps);

    for (i, &n) in c.prediction_periods.iter().enumerate() {
        let cfg = MetaTrainConfig {
            strategy: MetaStrategy::Predicted(schedule(c, n)),
            ..base
        };
        let line = lines.predicted(n);
        let run = optimise_metaparameters(
            student().as_mut(),
            start,
            &data,
            &cfg,
            resume(&line)?.as_ref(),
        )?;
        // the first period is the table's prediction line
        let curves = Curves {
            main: i == 0,
            ..all
        };
        record_run(&mut record, &line, &run, &start, curves);
        advance(progress, &line, c.steps);
    }

    let search = random_search(
        &mut |_| student(),
        &data,
        &base,
        range,
        c.random_search_trials,
        &mut seed_stream(seed, "random search"),
        resume(lines.random)?.as_ref(),
    )?;
    let best = search.best();
    record_run(&mut record, lines.random, &best.run, &best.meta, main_only);
    record.set_final(lines.random, "trials", search.trials.len() as f64);
    // what an equal wall-time budget would have bought on this machine (the trials are a
    // fixed number, so that runs are reproducible)
    record.set_final(
        lines.random,
        "equal_budget_trials",
        equal_budget_trials(&hyper, &fixed) as f64,
    );
    advance(progress, lines.random, c.steps * c.random_search_trials);

    let predicted: Vec<String> = c
        .prediction_periods
        .iter()
        .map(|&n| lines.predicted(n))
        .collect();
    record_gains(&mut record, lines, &predicted);
    Ok(record)
}

/// The paired differences of final test accuracy (same seed, student, batches and start):
/// `accuracy_gain_over_fixed` and `accuracy_gain_over_random_search` of the lines whose `λ`
/// moves (the greedy and the unrolled hypergradient, the prediction lines), and `accuracy_change_from_prediction` (prediction minus hypergradient) of the
/// prediction lines.
fn record_gains(record: &mut RunRecord, lines: &Lines, predicted: &[String]) {
    let acc = |record: &RunRecord, line: &str| record.final_value(line, "test_accuracy");
    let (Some(fixed), Some(random), Some(hyper)) = (
        acc(record, lines.fixed),
        acc(record, lines.random),
        acc(record, lines.hypergradient),
    ) else {
        return;
    };
    let moving = [lines.hypergradient, lines.unrolled]
        .into_iter()
        .chain(predicted.iter().map(String::as_str));
    for line in moving.collect::<Vec<_>>() {
        let Some(a) = acc(record, line) else { continue };
        record.set_final(line, "accuracy_gain_over_fixed", a - fixed);
        record.set_final(line, "accuracy_gain_over_random_search", a - random);
        if predicted.iter().any(|p| p == line) {
            record.set_final(line, "accuracy_change_from_prediction", a - hyper);
        }
    }
}
