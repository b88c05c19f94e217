//! The training loop every method reuses: epochs of shuffled mini-batches, a loss given as a
//! function of the batch, an optimiser step, an evaluation after each epoch, progress reports,
//! and an early stop with a clear message when the loss stops being finite.

pub mod resume;

use std::time::Instant;

use autograd::{Float, Tape, Var};
use ndarray::{Array2, Axis};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::data::{permutation, Dataset};
use crate::metrics::{accuracy, mean_cross_entropy};
use crate::optim::{LrSchedule, Optimizer};
use crate::{Ctx, Error, Module, Result};

pub use resume::Resume;

/// How long to train and in which order.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainConfig {
    /// Passes over the training set.
    pub epochs: usize,
    /// Samples per optimiser step.
    pub batch_size: usize,
    /// Seeds the shuffling and the dropout masks: the same seed gives the same run.
    pub seed: u64,
    /// Whether a last, smaller batch is dropped.
    pub drop_last: bool,
    /// Samples per forward pass when evaluating (no gradients: can be large).
    pub eval_batch_size: usize,
    /// Sets the learning rate at the start of each epoch (epochs counted from 0); `None`
    /// leaves the optimiser's rate as it is.
    pub schedule: Option<LrSchedule>,
    /// Save the state after epochs and continue from it when started again (see [`resume`]);
    /// `None`: nothing is written.
    pub resume: Option<Resume>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            epochs: 10,
            batch_size: 256,
            seed: 0,
            drop_last: false,
            eval_batch_size: 1000,
            schedule: None,
            resume: None,
        }
    }
}

/// One mini-batch: the inputs, labels, and the positions of its samples in the training set
/// (to look up per-sample targets such as a teacher's outputs).
pub struct Batch<'a, F: Float> {
    /// Inputs, `$b \times d$`.
    pub x: Array2<F>,
    /// Labels.
    pub labels: Vec<usize>,
    /// Indices of the samples in the training set.
    pub indices: &'a [usize],
}

/// Accuracy and mean cross-entropy of a classifier on a data set.
#[derive(Clone, Copy, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Evaluation {
    /// Fraction of samples classified correctly.
    pub accuracy: f64,
    /// Mean cross-entropy of the logits against the labels.
    pub cross_entropy: f64,
}

/// What happened in one epoch.
#[derive(Clone, Debug, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct EpochReport {
    /// From 1.
    pub epoch: usize,
    /// Mean training loss over the epoch's batches.
    pub train_loss: f64,
    /// The evaluation after the epoch, if an evaluation set was given.
    pub eval: Option<Evaluation>,
    /// The learning rate used in the epoch.
    pub learning_rate: f64,
    /// Wall time of the epoch's training (evaluation excluded).
    pub seconds: f64,
}

/// Receives progress: a progress bar, periodic lines, or nothing.
pub trait Observer {
    /// After each optimiser step (`batch` from 1 of `batches`).
    fn batch(&mut self, _epoch: usize, _batch: usize, _batches: usize, _loss: f64) {}
    /// After each epoch.
    fn epoch(&mut self, _report: &EpochReport) {}
}

/// Reports nothing.
pub struct Silent;

impl Observer for Silent {}

/// The loss of a batch: `loss(model, ctx, batch)` builds the forward pass on `ctx` and returns a
/// one-element variable.
pub trait BatchLoss<F: Float, M: ?Sized> {
    /// See the trait documentation.
    fn loss<'t>(&self, model: &M, ctx: &Ctx<'t, F>, batch: &Batch<'_, F>) -> Result<Var<'t, F>>;
}

/// Cross-entropy of the model's logits against the labels, the mean over the batch
/// (`Reduction::Mean`, as every training loop's step size assumes): the plain classification
/// loss.
pub struct CrossEntropy;

impl<F: Float, M: Module<F> + ?Sized> BatchLoss<F, M> for CrossEntropy {
    fn loss<'t>(&self, model: &M, ctx: &Ctx<'t, F>, batch: &Batch<'_, F>) -> Result<Var<'t, F>> {
        let logits = model.forward(ctx, ctx.input(batch.x.clone()))?;
        Ok(crate::loss::cross_entropy(
            logits,
            &batch.labels,
            crate::loss::Reduction::Mean,
        )?)
    }
}

/// Trains `model` with `optimizer` on `train` for `config.epochs` epochs, evaluating on `eval`
/// after each one. Returns one report per epoch.
///
/// Stops with [`Error::NonFiniteLoss`] at the first batch whose loss is NaN or infinite.
///
/// Speed: call it from a thread of a rayon pool (`pool.install(|| fit(..))`, as the `distillery`
/// command and `examples/train_mlp.rs` do). Called from any other thread, every parallel kernel
/// is handed to the pool and waited for, op by op.
pub fn fit<F: Float, M: Module<F>>(
    model: &mut M,
    optimizer: &mut dyn Optimizer<F>,
    loss: &dyn BatchLoss<F, M>,
    train: &Dataset<F>,
    eval: Option<&Dataset<F>>,
    config: &TrainConfig,
    observer: &mut dyn Observer,
) -> Result<Vec<EpochReport>> {
    if config.batch_size == 0 || config.eval_batch_size == 0 {
        return Err(Error::config("batch size", "must be at least 1"));
    }
    let mut rng = StdRng::seed_from_u64(config.seed);
    let mut reports = Vec::with_capacity(config.epochs);
    if let Some(resume) = &config.resume {
        if let Some(restored) = resume::restore(resume, model, optimizer, config.epochs) {
            for report in restored.reports {
                // the draws of a finished epoch: its permutation, then one seed per batch
                let _ = permutation(train.len(), &mut rng);
                for _ in 0..batches_per_epoch(train.len(), config) {
                    let _: u64 = rng.gen();
                }
                observer.epoch(&report);
                reports.push(report);
            }
        }
    }
    let mut last_save = Instant::now();
    for epoch in reports.len() + 1..=config.epochs {
        if let Some(schedule) = &config.schedule {
            schedule.apply(optimizer, epoch - 1)?;
        }
        let start = Instant::now();
        let order = permutation(train.len(), &mut rng);
        let batches = batches_per_epoch(order.len(), config);
        let usable = order.len().min(batches * config.batch_size);
        let mut total = 0.0;
        for (b, indices) in order[..usable].chunks(config.batch_size).enumerate() {
            let batch = Batch {
                x: train.x().select(Axis(0), indices),
                labels: indices.iter().map(|&i| train.y()[i]).collect(),
                indices,
            };
            let (l, grads) = {
                let tape = Tape::new();
                let ctx = Ctx::train(&tape, rng.gen());
                let value = loss.loss(model, &ctx, &batch)?;
                let l = value.item().map_or(f64::NAN, |v| v.as_f64());
                if !l.is_finite() {
                    return Err(Error::NonFiniteLoss {
                        value: l,
                        epoch,
                        batch: b + 1,
                    });
                }
                (l, ctx.grads(value)?)
            };
            // the tape is gone: the parameters' values are no longer shared with it, so the
            // optimiser updates them in place instead of copying them first
            optimizer.step(model, &grads)?;
            total += l;
            observer.batch(epoch, b + 1, batches, l);
        }
        let seconds = start.elapsed().as_secs_f64();
        let report = EpochReport {
            epoch,
            train_loss: total / batches.max(1) as f64,
            eval: eval
                .map(|d| evaluate(model, d, config.eval_batch_size))
                .transpose()?,
            learning_rate: optimizer.learning_rate(),
            seconds,
        };
        observer.epoch(&report);
        reports.push(report);
        if let Some(resume) = &config.resume {
            if epoch == config.epochs || last_save.elapsed() >= resume.interval {
                resume::save(resume, model, optimizer, &reports)?;
                last_save = Instant::now();
            }
        }
    }
    Ok(reports)
}

/// Optimiser steps per epoch.
fn batches_per_epoch(n: usize, config: &TrainConfig) -> usize {
    let usable = if config.drop_last {
        n - n % config.batch_size
    } else {
        n
    };
    usable.div_ceil(config.batch_size)
}

/// The model's logits on every sample of `data`, computed in batches without recording.
pub fn predict<F: Float>(
    model: &dyn Module<F>,
    x: &Array2<F>,
    batch_size: usize,
) -> Result<Array2<F>> {
    let mut parts = Vec::new();
    for chunk in x.axis_chunks_iter(Axis(0), batch_size.max(1)) {
        let tape = Tape::new();
        let _no_grad = tape.no_grad();
        let ctx = Ctx::eval(&tape);
        let out = model.forward(&ctx, ctx.input(chunk.to_owned()))?.value();
        let out = out.into_dimensionality::<ndarray::Ix2>().map_err(|_| {
            Error::config("predict", "the model must output a [batch, classes] matrix")
        })?;
        parts.push(out.to_owned());
    }
    let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
    ndarray::concatenate(Axis(0), &views)
        .map_err(|_| Error::config("predict", "no samples to predict"))
}

/// Accuracy and mean cross-entropy of a classifier's logits on `data`.
pub fn evaluate<F: Float>(
    model: &dyn Module<F>,
    data: &Dataset<F>,
    batch_size: usize,
) -> Result<Evaluation> {
    let logits = predict(model, data.x(), batch_size)?;
    let labels = data.y().to_vec();
    Ok(Evaluation {
        accuracy: accuracy(logits.view(), &labels),
        cross_entropy: mean_cross_entropy(logits.view(), &labels),
    })
}

/// Prints a line to stderr at most every `interval` seconds and after every epoch: progress for
/// logs and non-terminal output.
pub struct Lines {
    label: String,
    interval: f64,
    last: Instant,
}

impl Lines {
    /// Lines prefixed with `label`, at most one per `interval` seconds during an epoch.
    pub fn new(label: impl Into<String>, interval: f64) -> Self {
        Lines {
            label: label.into(),
            interval,
            last: Instant::now(),
        }
    }
}

impl Observer for Lines {
    fn batch(&mut self, epoch: usize, batch: usize, batches: usize, loss: f64) {
        if self.last.elapsed().as_secs_f64() >= self.interval {
            eprintln!(
                "{}: epoch {epoch}, batch {batch}/{batches}, loss {loss:.4}",
                self.label
            );
            self.last = Instant::now();
        }
    }

    fn epoch(&mut self, r: &EpochReport) {
        let eval = r.eval.map_or(String::new(), |e| {
            format!(
                ", test accuracy {:.4}, test CE {:.4}",
                e.accuracy, e.cross_entropy
            )
        });
        eprintln!(
            "{}: epoch {} done in {:.1}s, train loss {:.4}{eval}",
            self.label, r.epoch, r.seconds, r.train_loss
        );
        self.last = Instant::now();
    }
}
