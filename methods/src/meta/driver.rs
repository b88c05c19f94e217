//! The training loop of the experiment: the student learns by `$U(w, \lambda)$` while `$\lambda$`
//! follows its hypergradient, its local-linear prediction, or stays fixed.
//!
//! One iteration: (1) update `$\lambda$` — a hypergradient step on the coming `k` training batches,
//! a predicted point, or nothing; (2) one real step `$w \leftarrow U(w, \lambda)$` on the first of
//! those batches ([`apply_step`]); (3) every `eval_every` iterations, the validation and test
//! accuracy. This loop is specific to the method (the metaparameter step sits between the student's
//! steps), which is why it is not `nn::train::fit`.

use std::collections::VecDeque;
use std::time::Instant;

use autograd::Float;
use ndarray::{Array2, Axis};
use nn::data::{permutation, Dataset};
use nn::loss::TemperatureScaling;
use nn::optim::AdamConfig;
use nn::train::{evaluate, Evaluation, Resume};
use nn::Module;
use rand::rngs::StdRng;
use rand::SeedableRng;

use super::hypergrad::{apply_step, hypergradient, LowerLevel, TrainBatch, ValBatch};
use super::metaparams::{MetaParams, MetaValues};
use super::predict::{Decision, PredictionSchedule, SwitchReason, TrajectoryPredictor};
use super::resume::{self, MetaProgress};
use super::step::{InnerOptimizer, InnerState};
use crate::{Error, Result};

/// The data of one run. The teacher enters only through its logits on the training rows (the
/// teacher itself is trained elsewhere, on its own larger sample).
#[derive(Clone, Copy, Debug)]
pub struct MetaData<'a, F> {
    /// The student's training split.
    pub train: &'a Dataset<F>,
    /// The teacher's logits on `train`'s rows, `[n_train, K]`.
    pub teacher_logits: &'a Array2<F>,
    /// The validation split, on which `L_val` is measured.
    pub validation: &'a Dataset<F>,
    /// A test split for the accuracy curves, if any.
    pub test: Option<&'a Dataset<F>>,
}

/// How `$\lambda$` moves during training.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum MetaStrategy {
    /// `$\lambda$` stays at its initial value (the baseline).
    Fixed,
    /// A hypergradient step before every student step.
    Hypergradient,
    /// Hypergradient steps alternating with local-linear prediction.
    Predicted(PredictionSchedule),
}

/// The settings of [`optimise_metaparameters`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct MetaTrainConfig {
    /// Student steps (iterations).
    pub steps: usize,
    /// Training rows per step.
    pub batch_size: usize,
    /// Validation rows per hypergradient; `None`: the whole validation split (deterministic
    /// `L_val`, which the prediction guard assumes).
    pub val_batch_size: Option<usize>,
    /// The student's optimiser and the soft term's scaling.
    pub lower: LowerLevel,
    /// How `$\lambda$` moves.
    pub strategy: MetaStrategy,
    /// `k`, the student steps unrolled per hypergradient (1: the greedy hypergradient).
    pub unroll_steps: usize,
    /// `$\gamma_{\lambda}$` of the metaparameter step `$a \leftarrow a - \gamma_{\lambda}
    /// \mathrm{clip}(h)$`.
    pub meta_lr: f64,
    /// Elementwise clipping of the hypergradient to `$[-c, c]$` before the step (the authors
    /// clipped at 1); `None`: no clipping.
    pub meta_clip: Option<f64>,
    /// Evaluate every this many iterations (and at 0 and at the end).
    pub eval_every: usize,
    /// Seeds the batch order.
    pub seed: u64,
}

impl Default for MetaTrainConfig {
    /// Our defaults for the seed's synthetic problem (small data, a small student); the
    /// experiment's config overrides them.
    fn default() -> Self {
        MetaTrainConfig {
            // a few hundred passes over a 100-sample student split at batch 32
            steps: 1000,
            batch_size: 32,
            // the whole validation split: L_val deterministic, as the prediction guard assumes
            val_batch_size: None,
            lower: LowerLevel {
                // the authors' student optimiser (PyTorch's Adam defaults but the step size,
                // 1e-2 ours: 1e-3 barely moves a small student in 1000 steps)
                optimizer: InnerOptimizer::Adam(AdamConfig::adam(1e-2)),
                // the seed's loss has no T² factor
                scaling: TemperatureScaling::None,
            },
            strategy: MetaStrategy::Hypergradient,
            // the seed's greedy one-step hypergradient
            unroll_steps: 1,
            // our choice: exact hypergradients here are 1e-4…1e-3 per step (the authors'
            // SGD step of 1e4 on the CIFAR runs offset the ε² of their slip)
            meta_lr: 100.0,
            // the authors clipped each hypergradient component at 1
            meta_clip: Some(1.0),
            eval_every: 50,
            seed: 0,
        }
    }
}

/// Where the `$\lambda$` of an iteration came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum MetaSource {
    /// Not updated.
    Fixed,
    /// A hypergradient step.
    Hypergradient,
    /// The local-linear prediction.
    Predicted,
}

/// One iteration of a run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct StepRecord {
    /// From 1.
    pub step: usize,
    /// `$\lambda$` used for the student's step.
    pub values: MetaValues,
    /// Its coordinates `a`.
    pub raw: [f64; 3],
    /// Where it came from.
    pub source: MetaSource,
    /// `$L_{\mathrm{train}}(w, \lambda)$` before the step.
    pub train_loss: f64,
    /// The hypergradient `$\nabla_a L_{\mathrm{val}}$` when one was computed.
    pub hypergradient: Option<[f64; 3]>,
}

/// An evaluation during a run.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EvalRecord {
    /// Iterations done (0: before training).
    pub step: usize,
    /// On the validation split.
    pub validation: Evaluation,
    /// On the test split, if given.
    pub test: Option<Evaluation>,
}

/// Everything a run measured.
#[derive(Clone, Debug, PartialEq)]
pub struct MetaRun {
    /// Per iteration.
    pub steps: Vec<StepRecord>,
    /// Every `eval_every` iterations.
    pub evals: Vec<EvalRecord>,
    /// Hypergradients computed.
    pub hypergradients: usize,
    /// Iterations whose `$\lambda$` was predicted (hypergradients saved).
    pub predicted: usize,
    /// Why each prediction phase ended.
    pub switches: Vec<SwitchReason>,
    /// `$\lambda$` at the end.
    pub final_meta: MetaParams,
    /// Wall time of the run, evaluations excluded.
    pub seconds: f64,
    /// Of which computing hypergradients.
    pub hypergradient_seconds: f64,
}

impl MetaRun {
    /// The last evaluation (the run always has one).
    pub fn last_eval(&self) -> &EvalRecord {
        self.evals.last().expect("a run evaluates at the end")
    }
}

impl MetaTrainConfig {
    /// Checks the settings; errors name the key (`unroll steps k`, `meta_lr`, …).
    pub fn validate(&self) -> Result<()> {
        let at_least_one = [
            ("steps", self.steps),
            ("batch_size", self.batch_size),
            ("unroll steps k", self.unroll_steps),
            ("eval_every", self.eval_every),
            ("val_batch_size", self.val_batch_size.unwrap_or(1)),
        ];
        for (what, v) in at_least_one {
            if v == 0 {
                return Err(Error::config(what, "must be ≥ 1, got 0"));
            }
        }
        if !(self.meta_lr.is_finite() && self.meta_lr >= 0.0) {
            return Err(Error::config(
                "meta_lr",
                format!("must be finite and ≥ 0, got {}", self.meta_lr),
            ));
        }
        if let Some(c) = self.meta_clip {
            if c.is_nan() || c <= 0.0 {
                return Err(Error::config("meta_clip", format!("must be > 0, got {c}")));
            }
        }
        if let MetaStrategy::Predicted(s) = &self.strategy {
            s.validate()?;
        }
        self.lower.optimizer.validate()
    }
}

fn check_data<F: Float>(data: &MetaData<'_, F>) -> Result<()> {
    if data.validation.is_empty() {
        return Err(Error::config(
            "validation split",
            "must hold at least one sample, got 0",
        ));
    }
    if data.train.is_empty() {
        return Err(Error::config(
            "training split",
            "must hold at least one sample, got 0",
        ));
    }
    if data.teacher_logits.nrows() != data.train.len() {
        return Err(Error::config(
            "teacher logits",
            format!(
                "need one row per training sample: {} rows for {} samples",
                data.teacher_logits.nrows(),
                data.train.len()
            ),
        ));
    }
    Ok(())
}

/// An endless sequence of batches of row indices: epochs of a fresh random permutation each,
/// cut into batches (the last one of an epoch may be smaller). `peek(k)` looks ahead without
/// consuming, for the unrolled hypergradient.
struct BatchStream {
    n: usize,
    batch_size: usize,
    rng: StdRng,
    queue: VecDeque<Vec<usize>>,
}

impl BatchStream {
    fn new(n: usize, batch_size: usize, seed: u64) -> Self {
        BatchStream {
            n,
            batch_size,
            rng: StdRng::seed_from_u64(seed),
            queue: VecDeque::new(),
        }
    }

    fn peek(&mut self, k: usize) -> Vec<Vec<usize>> {
        while self.queue.len() < k {
            let order = permutation(self.n, &mut self.rng);
            self.queue
                .extend(order.chunks(self.batch_size).map(<[usize]>::to_vec));
        }
        self.queue.iter().take(k).cloned().collect()
    }

    fn advance(&mut self) -> Vec<usize> {
        self.peek(1);
        self.queue.pop_front().expect("peek(1) filled the queue")
    }

    /// Replays `n` batches without using them (the draws do not depend on their use).
    fn skip(&mut self, n: usize) {
        for _ in 0..n {
            self.advance();
        }
    }
}

fn train_batch<F: Float>(data: &MetaData<'_, F>, idx: &[usize]) -> TrainBatch<F> {
    TrainBatch {
        x: data.train.x().select(Axis(0), idx),
        labels: idx.iter().map(|&i| data.train.y()[i]).collect(),
        teacher_logits: data.teacher_logits.select(Axis(0), idx),
    }
}

fn val_batch<F: Float>(data: &Dataset<F>, idx: Option<&[usize]>) -> ValBatch<F> {
    match idx {
        Some(idx) => ValBatch {
            x: data.x().select(Axis(0), idx),
            labels: idx.iter().map(|&i| data.y()[i]).collect(),
        },
        None => ValBatch {
            x: data.x().clone(),
            labels: data.y().to_vec(),
        },
    }
}

/// The metaparameter step `$a \leftarrow a - \gamma_{\lambda} \mathrm{clip}_c(h)$`,
/// `$\mathrm{clip}_c(h)_i = \max(-c, \min(c, h_i))$`. A non-finite hypergradient is an error (the
/// authors replaced NaN by 0; ours is exact, so a NaN would be a bug to surface).
pub fn meta_step(meta: &MetaParams, h: [f64; 3], lr: f64, clip: Option<f64>) -> Result<MetaParams> {
    if h.iter().any(|v| !v.is_finite()) {
        return Err(Error::config(
            "hypergradient",
            format!("is not finite: {h:?}"),
        ));
    }
    let c = clip.unwrap_or(f64::INFINITY);
    let raw = std::array::from_fn(|i| meta.raw[i] - lr * h[i].clamp(-c, c));
    MetaParams::from_raw(raw, meta.range)
}

const EVAL_BATCH: usize = 1000;

fn evaluation<F: Float>(
    model: &dyn Module<F>,
    data: &MetaData<'_, F>,
    step: usize,
) -> Result<EvalRecord> {
    Ok(EvalRecord {
        step,
        validation: evaluate(model, data.validation, EVAL_BATCH)?,
        test: data
            .test
            .map(|t| evaluate(model, t, EVAL_BATCH))
            .transpose()?,
    })
}

/// Trains the student `model` from its current parameters for `cfg.steps` iterations with the
/// metaparameters starting at `init` and moving by `cfg.strategy` (see the module
/// documentation); returns the trajectory, the evaluations and the costs. The teacher enters
/// through `data.teacher_logits`. Errors: bad settings or data, each naming its key (an empty
/// validation split: `"validation split"`; `$k = 0$`: `"unroll steps k"`; a window `m < 2`:
/// `"prediction window m"`), or a non-finite loss or hypergradient.
///
/// With `resume`, the loop saves its state (at most once per `resume.interval`, and after the
/// last iteration) and, started again with the same `resume`, continues from the last saved
/// iteration with the same numbers as an uninterrupted run (wall times aside): see
/// [`super::resume`]. `model` must then be the same freshly initialised student.
pub fn optimise_metaparameters<F: Float>(
    model: &mut dyn Module<F>,
    init: MetaParams,
    data: &MetaData<'_, F>,
    cfg: &MetaTrainConfig,
    resume: Option<&Resume>,
) -> Result<MetaRun> {
    cfg.validate()?;
    check_data(data)?;
    init.range.validate()?;
    let mut batches = BatchStream::new(data.train.len(), cfg.batch_size, cfg.seed);
    let mut val_batches = cfg
        .val_batch_size
        .map(|b| BatchStream::new(data.validation.len(), b, cfg.seed ^ 0x5eed));
    let mut predictor = match cfg.strategy {
        MetaStrategy::Predicted(s) => Some(TrajectoryPredictor::new(s)?),
        _ => None,
    };
    let mut meta = init;
    let mut state = InnerState::<F>::default();
    let mut run = MetaRun {
        steps: Vec::with_capacity(cfg.steps),
        evals: Vec::new(),
        hypergradients: 0,
        predicted: 0,
        switches: Vec::new(),
        final_meta: init,
        seconds: 0.0,
        hypergradient_seconds: 0.0,
    };
    let restored = resume.and_then(|r| resume::restore(r, model, &cfg.lower.optimizer, cfg.steps));
    if let Some((saved_state, progress)) = restored {
        meta = MetaParams::from_raw(progress.raw, init.range)?;
        state = saved_state;
        if let (MetaStrategy::Predicted(s), Some(saved)) = (cfg.strategy, progress.predictor) {
            predictor = Some(TrajectoryPredictor::with_state(s, saved)?);
        }
        batches.skip(progress.steps.len());
        if let Some(v) = &mut val_batches {
            v.skip(progress.hypergradients);
        }
        run.steps = progress.steps;
        run.evals = progress.evals;
        run.hypergradients = progress.hypergradients;
        run.predicted = progress.predicted;
        run.seconds = progress.seconds;
        run.hypergradient_seconds = progress.hypergradient_seconds;
    } else {
        run.evals.push(evaluation(&*model, data, 0)?);
    }
    let mut last_save = Instant::now();
    for step in run.steps.len() + 1..=cfg.steps {
        let start = Instant::now();
        let mut source = MetaSource::Fixed;
        let mut h = None;
        let decision = match (&cfg.strategy, &mut predictor) {
            (MetaStrategy::Fixed, _) => None,
            (_, Some(p)) => {
                let guard = if p.wants_val_loss() {
                    Some(evaluate(&*model, data.validation, EVAL_BATCH)?.cross_entropy)
                } else {
                    None
                };
                Some(p.decide(guard)?)
            }
            _ => Some(Decision::Hypergradient),
        };
        match decision {
            None => {}
            Some(Decision::Predict(raw)) => {
                meta = MetaParams::from_raw(raw, meta.range)?;
                source = MetaSource::Predicted;
                run.predicted += 1;
            }
            Some(Decision::Hypergradient) => {
                let hyper_start = Instant::now();
                let coming: Vec<_> = batches
                    .peek(cfg.unroll_steps)
                    .iter()
                    .map(|idx| train_batch(data, idx))
                    .collect();
                let val_idx = val_batches.as_mut().map(BatchStream::advance);
                let val = val_batch(data.validation, val_idx.as_deref());
                let hg = hypergradient(&*model, &meta, &cfg.lower, &state, &coming, &val)?;
                meta = meta_step(&meta, hg.grad, cfg.meta_lr, cfg.meta_clip)?;
                if let Some(p) = &mut predictor {
                    p.record(meta.raw);
                }
                run.hypergradients += 1;
                run.hypergradient_seconds += hyper_start.elapsed().as_secs_f64();
                source = MetaSource::Hypergradient;
                h = Some(hg.grad);
            }
        }
        let batch = train_batch(data, &batches.advance());
        let train_loss = apply_step(model, &meta, &cfg.lower, &mut state, &batch)?;
        run.seconds += start.elapsed().as_secs_f64();
        run.steps.push(StepRecord {
            step,
            values: meta.values(),
            raw: meta.raw,
            source,
            train_loss,
            hypergradient: h,
        });
        if step % cfg.eval_every == 0 || step == cfg.steps {
            run.evals.push(evaluation(&*model, data, step)?);
        }
        if let Some(r) = resume {
            if step == cfg.steps || last_save.elapsed() >= r.interval {
                let predicted = predictor.as_ref().map(TrajectoryPredictor::state);
                let progress = MetaProgress::of(&run, meta.raw, predicted);
                resume::save(r, &*model, &cfg.lower.optimizer, &state, &progress)?;
                last_save = Instant::now();
            }
        }
    }
    if let Some(p) = &predictor {
        run.switches = p.switches().to_vec();
    }
    run.final_meta = meta;
    Ok(run)
}
