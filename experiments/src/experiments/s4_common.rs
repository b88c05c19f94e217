//! What the S4 experiments share (`logreg-synthetic`, `prob-distill-*`,
//! `privileged-synthetic`): the synthetic data draw, the probabilistic-distillation batch loss
//! for `nn::train::fit`, training one line of a report while recording its curves, teacher
//! answers and the cross-entropy against known class probabilities, and the teacher from the
//! model store (trained once, shared by every seed and experiment that asks for it).

use std::sync::{Arc, Mutex};

use anyhow::Result;
use autograd::Var;
use methods::distill::{prob_distill_loss, soft_targets, IndexSet, ProbDistillConfig};
use ndarray::{Array2, ArrayView2, Axis};
use nn::data::{DataFile, Dataset, SoftmaxData, SoftmaxDataConfig};
use nn::optim::{Adam, AdamConfig, Optimizer};
use nn::store::{ModelIdentity, TrainingRecord};
use nn::train::{
    fit, predict, Batch, BatchLoss, CrossEntropy, EpochReport, Evaluation, Observer, TrainConfig,
};
use nn::{Ctx, Module};
use rand::Rng;

use crate::experiment::{
    seed_stream, Compare, EpochProgress, Progress, Published, RunContext, RunRecord, TeacherConfig,
};

/// Where the published figures of the S4 experiments are printed.
pub const S4_TABLE: &str = "S4, probabilistic distillation table";

/// A published `mean ± std`, or none.
pub type Figure = Option<(f64, f64)>;

/// The report rows of one row of S4's table: `test_cross_entropy` then `test_accuracy` of
/// `line`, next to the published figures `(cross-entropy, accuracy)` of [`S4_TABLE`].
pub fn s4_rows(
    label: &'static str,
    line: &'static str,
    (cross_entropy, accuracy): (Figure, Figure),
    note: &'static str,
) -> [Compare; 2] {
    let published = |figure: Figure| {
        figure.map(|(mean, std)| Published {
            mean,
            std: Some(std),
            source: S4_TABLE,
        })
    };
    [
        Compare {
            label,
            line,
            metric: "test_cross_entropy",
            published: published(cross_entropy),
            note,
        },
        Compare {
            label,
            line,
            metric: "test_accuracy",
            published: published(accuracy),
            note,
        },
    ]
}

/// The S4 synthetic classification data (`X, W ~ N(0, 1)`, `y_i ~ Cat(softmax(x_i W))`) and
/// which seed draws it.
pub struct SyntheticDraw {
    /// Sizes.
    pub data: SoftmaxDataConfig,
    /// Every run seed draws its own data (else all share the draw of `data_seed`).
    pub redraw_per_seed: bool,
    /// The seed of the shared draw.
    pub data_seed: u64,
}

impl SyntheticDraw {
    /// The data of run `seed` (drawn from `seed_stream(·, "data")`), and its description for
    /// [`RunRecord::uses_data`].
    pub fn generate(&self, seed: u64) -> Result<(SoftmaxData<f32>, String)> {
        let data_seed = if self.redraw_per_seed {
            seed
        } else {
            self.data_seed
        };
        let c = &self.data;
        let data = c.generate::<f32, _>(&mut seed_stream(data_seed, "data"))?;
        let description =
            format!(
            "S4 synthetic classification data (generated): n = {}, K = {}, {} train / {} test, \
             {}",
            c.n_features,
            c.n_classes,
            c.m_train,
            c.m_test,
            if self.redraw_per_seed {
                "drawn afresh for every seed".to_owned()
            } else {
                format!("one draw (data_seed = {}) shared by every seed", self.data_seed)
            }
        );
        Ok((data, description))
    }
}

/// `λ` to pass to the seed's objective so that it equals the authors' code's objective with
/// `lambda` (up to a constant factor): their code takes `.mean()` of the teacher terms over the
/// batch **and the `K` classes**, i.e. weighs them by `λ/K` against `(1 − λ)` for the labels.
/// `(1 − λ)·CE + (λ/K)·T ∝ (1 − λ')·CE + λ'·T` for `λ' = λ / (λ + K(1 − λ))`. With
/// `class_averaged = false` the seed's objective is used as written: `λ' = λ`.
pub fn effective_lambda(lambda: f64, classes: usize, class_averaged: bool) -> f64 {
    if !class_averaged || lambda >= 1.0 {
        return lambda;
    }
    lambda / (lambda + classes as f64 * (1.0 - lambda))
}

/// The probabilistic distillation loss of a batch ([`prob_distill_loss`]): the teacher answers
/// of the training objects in `I`, looked up by the batch's sample indices.
pub struct ProbDistillBatch {
    /// `s_i` for `i ∈ I`: one row per element of `index`, in the order of `index.indices()`.
    pub answers: Array2<f32>,
    /// `I`, over the training set.
    pub index: IndexSet,
    /// `λ`, `T0` and the `log C` choice.
    pub config: ProbDistillConfig,
}

impl<M: Module<f32>> BatchLoss<f32, M> for ProbDistillBatch {
    fn loss<'t>(
        &self,
        model: &M,
        ctx: &Ctx<'t, f32>,
        batch: &Batch<'_, f32>,
    ) -> nn::Result<Var<'t, f32>> {
        let logits = model.forward(ctx, ctx.input(batch.x.clone()))?;
        let (index, rows) = self.index.restrict(batch.indices).map_err(to_nn)?;
        let answers = ctx.input(self.answers.select(Axis(0), &rows));
        prob_distill_loss(logits, &batch.labels, answers, &index, &self.config).map_err(to_nn)
    }
}

/// A methods error as an nn error (for a [`BatchLoss`]).
pub fn to_nn(e: methods::Error) -> nn::Error {
    match e {
        methods::Error::Autograd(e) => nn::Error::Autograd(e),
        methods::Error::Nn(e) => e,
        other => nn::Error::config("distillation loss", other.to_string()),
    }
}

/// Records each epoch of one line (`train_loss`, the line's own objective; `test_accuracy`;
/// `test_cross_entropy`) when `curves`, and advances the run's progress by one step.
struct LineCurves<'a> {
    line: &'a str,
    curves: bool,
    record: &'a mut RunRecord,
    progress: &'a mut Progress,
}

impl Observer for LineCurves<'_> {
    fn epoch(&mut self, r: &EpochReport) {
        let mut message = format!("{}: epoch {}", self.line, r.epoch);
        if let Some(e) = r.eval {
            message = format!("{message}, test accuracy {:.3}", e.accuracy);
        }
        self.progress.advance(&message);
        if !self.curves {
            return;
        }
        self.record.push(self.line, "train_loss", r.train_loss);
        if let Some(e) = r.eval {
            self.record.push(self.line, "test_accuracy", e.accuracy);
            self.record
                .push(self.line, "test_cross_entropy", e.cross_entropy);
        }
    }
}

/// Trains the lines of one run with `nn::train::fit`, all on the same data and with the same
/// batch order (`config.seed`), recording into `record`; each line keeps its per-epoch state
/// under its name in the run's state directory (`RunContext::resume`).
pub struct LineTrainer<'a> {
    /// The run's context (for the state directory).
    pub ctx: &'a RunContext<'a>,
    /// The training set.
    pub train: &'a Dataset<f32>,
    /// The test set, evaluated after every epoch.
    pub test: &'a Dataset<f32>,
    /// Epochs, batch size, shuffling seed.
    pub config: TrainConfig,
    /// Where the curves and final values go.
    pub record: &'a mut RunRecord,
    /// One step per epoch.
    pub progress: &'a mut Progress,
}

impl LineTrainer<'_> {
    /// Trains `model` on `loss`, records the final `test_accuracy` and `test_cross_entropy` of
    /// `line` (and its per-epoch curves when `curves`), and returns the final evaluation.
    pub fn train<M: Module<f32>>(
        &mut self,
        line: &str,
        model: &mut M,
        optimizer: &mut dyn Optimizer<f32>,
        loss: &dyn BatchLoss<f32, M>,
        curves: bool,
    ) -> Result<Evaluation> {
        let mut observer = LineCurves {
            line,
            curves,
            record: self.record,
            progress: self.progress,
        };
        let config = TrainConfig {
            resume: self.ctx.resume(line)?,
            ..self.config.clone()
        };
        let reports = fit(
            model,
            optimizer,
            loss,
            self.train,
            Some(self.test),
            &config,
            &mut observer,
        )?;
        let last = reports
            .last()
            .and_then(|r| r.eval)
            .ok_or_else(|| anyhow::anyhow!("{line}: no epoch was run"))?;
        self.record.set_final(line, "test_accuracy", last.accuracy);
        self.record
            .set_final(line, "test_cross_entropy", last.cross_entropy);
        Ok(last)
    }
}

/// A trained teacher, as the students need it: its logits on every training object, its own
/// test metrics for the report, and which stored model it is.
pub struct Teacher {
    /// `v(x*_i)` for every training object, in training-set order (for
    /// [`stored_teacher_on_rows`]: on the rows asked for, in their order).
    pub train_logits: Array2<f32>,
    /// Its accuracy and cross-entropy on the test set after the last epoch.
    pub test: Evaluation,
    /// `NAME-HASH` of the stored model (`OUT/models/`).
    pub stem: String,
}

/// What identifies a teacher in the store besides its training table: its name, its
/// architecture in words, and the data it is trained on.
pub struct TeacherSpec<'a> {
    /// File-name-safe, e.g. `fashion-mlp-784-800-50-10`.
    pub name: &'a str,
    /// In words, e.g. `MLP 784-800-50-10, ReLU, biases`.
    pub architecture: &'a str,
    /// The training data by content (`nn::data::data_identity`, or `DataFile::generated`),
    /// together with whatever selects the subset used.
    pub data: Vec<DataFile>,
}

/// The revision of [`stored_teacher`]'s training procedure (cross-entropy, Adam, the seed
/// streams `teacher init` and `teacher shuffle`): bump it when a change alters the weights an
/// unchanged config trains to, and the stored teachers are retrained.
pub const TEACHER_REVISION: u32 = 1;

/// The teachers of the last identity asked for in this process, with their training logits.
static TEACHERS: Memo<Teacher> = Memo::new();

/// The teacher of `spec` trained as `config` says from `seed` (`config.seed_for(run seed)`):
/// loaded from the run's model store when it was trained before, else `model` (freshly
/// initialised from `seed`) trained on `train` by the mean cross-entropy with Adam — resuming
/// mid-way after a crash — and stored. Returns its training logits and test metrics.
#[allow(clippy::too_many_arguments)] // one call per experiment; a struct would only rename them
pub fn stored_teacher<M: Module<f32>>(
    ctx: &RunContext<'_>,
    spec: TeacherSpec<'_>,
    model: M,
    config: &TeacherConfig,
    seed: u64,
    train: &Dataset<f32>,
    test: &Dataset<f32>,
    progress: &mut Progress,
) -> Result<Arc<Teacher>> {
    teacher_answering(ctx, spec, model, config, seed, train, test, None, progress)
}

/// [`stored_teacher`], but with [`Teacher::train_logits`] the teacher's logits on `rows`
/// (called `rows_name`, which must name them uniquely within the process: it keys the memo)
/// instead of on its own training set: for a student trained on another sample than the
/// teacher's (`meta-distill`).
#[allow(clippy::too_many_arguments)] // as stored_teacher
pub fn stored_teacher_on_rows<M: Module<f32>>(
    ctx: &RunContext<'_>,
    spec: TeacherSpec<'_>,
    model: M,
    config: &TeacherConfig,
    seed: u64,
    train: &Dataset<f32>,
    test: &Dataset<f32>,
    (rows_name, rows): (&str, &Array2<f32>),
    progress: &mut Progress,
) -> Result<Arc<Teacher>> {
    teacher_answering(
        ctx,
        spec,
        model,
        config,
        seed,
        train,
        test,
        Some((rows_name, rows)),
        progress,
    )
}

#[allow(clippy::too_many_arguments)] // as stored_teacher
fn teacher_answering<M: Module<f32>>(
    ctx: &RunContext<'_>,
    spec: TeacherSpec<'_>,
    model: M,
    config: &TeacherConfig,
    seed: u64,
    train: &Dataset<f32>,
    test: &Dataset<f32>,
    rows: Option<(&str, &Array2<f32>)>,
    progress: &mut Progress,
) -> Result<Arc<Teacher>> {
    let identity = ModelIdentity::of(
        spec.name,
        spec.architecture,
        &model,
        &config.training(),
        seed,
        spec.data,
    )?
    .revised(TEACHER_REVISION);
    let key = format!(
        "{} {} {}",
        ctx.models().dir().display(),
        identity.stem(),
        rows.map_or("its training set", |(name, _)| name)
    );
    TEACHERS.get_or_make(&key, || {
        let stored = ctx
            .models()
            .get_or_train(&identity, model, |model, resume| {
                let mut adam = Adam::new(AdamConfig::adam(config.learning_rate))?;
                let train_config = TrainConfig {
                    epochs: config.epochs,
                    batch_size: config.batch_size,
                    seed: seed_stream(seed, "teacher shuffle").gen(),
                    resume: Some(resume),
                    ..TrainConfig::default()
                };
                let curve = fit(
                    model,
                    &mut adam,
                    &CrossEntropy,
                    train,
                    Some(test),
                    &train_config,
                    &mut EpochProgress {
                        what: "teacher",
                        progress,
                    },
                )?;
                let test = curve.last().and_then(|r| r.eval);
                Ok(TrainingRecord { curve, test })
            })?;
        let test = stored.sidecar.training.test.ok_or_else(|| {
            anyhow::anyhow!("the stored teacher {} has no test metrics", stored.stem())
        })?;
        Ok(Teacher {
            train_logits: predict(
                &stored.model,
                rows.map_or(train.x(), |(_, rows)| rows),
                TrainConfig::default().eval_batch_size,
            )?,
            test,
            stem: stored.stem(),
        })
    })
}

/// Records the teacher's test metrics as the finals of `line`, and which stored model it is.
pub fn record_teacher(teacher: &Teacher, line: &str, record: &mut RunRecord) {
    record.set_final(line, "test_accuracy", teacher.test.accuracy);
    record.set_final(line, "test_cross_entropy", teacher.test.cross_entropy);
    record.uses_model(line, teacher.stem.clone());
}

/// The teacher's answers `s_i = softmax(v_i / T)` of its logits `v` (computed in f64).
pub fn soft_answers(logits: ArrayView2<'_, f32>, temperature: f64) -> Result<Array2<f32>> {
    let s = soft_targets(logits.mapv(f64::from).view(), temperature)?;
    Ok(s.mapv(|v| v as f32))
}

/// The mean cross-entropy of a model's predictions against known class probabilities `p`:
/// `(1/m) Σ_i −Σ_k p_ik log softmax(z_i)_k`, in f64 (stable log-softmax).
pub fn cross_entropy_against(p: ArrayView2<'_, f32>, logits: ArrayView2<'_, f32>) -> f64 {
    let mut total = 0.0;
    for (p, z) in p.rows().into_iter().zip(logits.rows()) {
        let max = z
            .iter()
            .fold(f64::NEG_INFINITY, |m, &v| m.max(f64::from(v)));
        let log_sum = z
            .iter()
            .map(|&v| (f64::from(v) - max).exp())
            .sum::<f64>()
            .ln()
            + max;
        total -= p
            .iter()
            .zip(z)
            .map(|(&p, &z)| f64::from(p) * (f64::from(z) - log_sum))
            .sum::<f64>();
    }
    total / p.nrows().max(1) as f64
}

/// A one-slot memo: the value of the last key asked for, kept for the rest of the process (a
/// stored teacher's training logits, a featurised sample), so that the seeds of one command
/// compute it once. Nothing is written to disk: what must outlive the process goes to the
/// model store.
pub struct Memo<T> {
    slot: Mutex<Option<(String, Arc<T>)>>,
}

impl<T> Memo<T> {
    /// An empty memo (for a `static`).
    pub const fn new() -> Self {
        Memo {
            slot: Mutex::new(None),
        }
    }

    /// The value for `key`: the kept one if the last key was `key`, else `make()` (then kept
    /// in place of the last). The lock is held while `make` runs, so concurrent callers with
    /// the same key compute it once.
    pub fn get_or_make(&self, key: &str, make: impl FnOnce() -> Result<T>) -> Result<Arc<T>> {
        let mut slot = self
            .slot
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if let Some((k, v)) = slot.as_ref() {
            if k == key {
                return Ok(Arc::clone(v));
            }
        }
        *slot = None;
        let value = Arc::new(make()?);
        *slot = Some((key.to_owned(), Arc::clone(&value)));
        Ok(value)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::array;

    #[test]
    fn effective_lambda_reproduces_the_class_averaged_weights() {
        // λ = 0.25, K = 10: weights 0.75 (labels) and 0.025 (teacher), ratio 1/30 = λ'/(1−λ')
        let l = effective_lambda(0.25, 10, true);
        assert!((l - 1.0 / 31.0).abs() < 1e-15, "{l}");
        assert!((l / (1.0 - l) - 0.025 / 0.75).abs() < 1e-15);
        assert_eq!(effective_lambda(0.25, 10, false), 0.25);
        assert_eq!(effective_lambda(0.0, 3, true), 0.0);
        assert_eq!(effective_lambda(1.0, 3, true), 1.0);
        // λ = 0.75, K = 3: 0.75 / (0.75 + 0.75) = 0.5
        assert!((effective_lambda(0.75, 3, true) - 0.5).abs() < 1e-15);
    }

    #[test]
    fn cross_entropy_against_known_probabilities() {
        // logits (0, ln 3): softmax (1/4, 3/4); p = (1/2, 1/2): −(ln ¼ + ln ¾)/2
        let z = array![[0.0f32, 3f32.ln()]];
        let p = array![[0.5f32, 0.5]];
        let expected = -(0.25f64.ln() + 0.75f64.ln()) / 2.0;
        assert!((cross_entropy_against(p.view(), z.view()) - expected).abs() < 1e-6);
        // two rows: the mean; a one-hot p gives the ordinary cross-entropy of that class
        let z = array![[0.0f32, 3f32.ln()], [1000.0, 0.0]];
        let p = array![[0.0f32, 1.0], [1.0, 0.0]];
        let expected = -(0.75f64.ln()) / 2.0;
        assert!((cross_entropy_against(p.view(), z.view()) - expected).abs() < 1e-6);
    }

    #[test]
    fn the_memo_keeps_the_last_key_only() {
        let memo = Memo::<u32>::new();
        let calls = std::cell::Cell::new(0);
        let get = |key: &str, v: u32| {
            *memo
                .get_or_make(key, || {
                    calls.set(calls.get() + 1);
                    Ok(v)
                })
                .unwrap()
        };
        assert_eq!(get("a", 1), 1);
        assert_eq!(get("a", 2), 1); // kept
        assert_eq!(get("b", 3), 3);
        assert_eq!(get("a", 4), 4); // "a" was replaced by "b"
        assert_eq!(calls.get(), 3);
        let failing = memo.get_or_make("c", || anyhow::bail!("no"));
        assert!(failing.is_err());
        assert_eq!(*memo.get_or_make("c", || Ok(5)).unwrap(), 5);
    }
}
