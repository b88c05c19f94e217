//! The students of `multidomain`: the one-hidden-layer MLP, the multi-domain loss of a batch,
//! and one training that records its curves under every figure it appears in.

use anyhow::Result;
use autograd::Var;
use methods::multidomain::{multidomain_loss, MultiDomainConfig};
use ndarray::{Array2, Axis};
use nn::data::Dataset;
use nn::layers::{mlp, Activation, Sequential};
use nn::optim::{Adam, AdamConfig};
use nn::train::{fit, predict, Batch, BatchLoss, EpochReport, Evaluation, Observer, TrainConfig};
use nn::{Ctx, Module};
use rand::Rng;

use super::models::CLASSES;
use crate::experiment::{seed_stream, Progress, RunContext, RunRecord, StudentConfig};

/// The multi-domain loss of a batch: the teacher's logits `v(φ(x_i))` of the training objects,
/// looked up by the batch's sample indices.
pub struct Distilled<'a> {
    /// One row per training object of the student, in training-set order.
    pub teacher_logits: &'a Array2<f32>,
    /// `λ`, `T0`.
    pub loss: MultiDomainConfig,
}

impl<M: Module<f32>> BatchLoss<f32, M> for Distilled<'_> {
    fn loss<'t>(
        &self,
        model: &M,
        ctx: &Ctx<'t, f32>,
        batch: &Batch<'_, f32>,
    ) -> nn::Result<Var<'t, f32>> {
        let logits = model.forward(ctx, ctx.input(batch.x.clone()))?;
        let teacher = ctx.input(self.teacher_logits.select(Axis(0), batch.indices));
        multidomain_loss(logits, &batch.labels, teacher, &self.loss).map_err(|e| match e {
            methods::Error::Autograd(e) => nn::Error::Autograd(e),
            other => nn::Error::config("multi-domain loss", other.to_string()),
        })
    }
}

/// Records each epoch's test accuracy and cross-entropy of `line` under every plot of
/// `plots` (`(accuracy metric, cross-entropy metric)`), and advances the progress.
struct Curves<'a> {
    line: &'a str,
    plots: &'a [(&'static str, &'static str)],
    record: &'a mut RunRecord,
    progress: &'a mut Progress,
}

impl Observer for Curves<'_> {
    fn epoch(&mut self, r: &EpochReport) {
        let Some(e) = r.eval else {
            return;
        };
        self.progress.advance(&format!(
            "{}: epoch {}, test accuracy {:.3}",
            self.line, r.epoch, e.accuracy
        ));
        for &(accuracy, cross_entropy) in self.plots {
            self.record.push(self.line, accuracy, e.accuracy);
            self.record.push(self.line, cross_entropy, e.cross_entropy);
        }
    }
}

/// One student's training.
pub struct Student<'a> {
    /// The run's context (for the state directory).
    pub ctx: &'a RunContext<'a>,
    /// Width of the hidden layer.
    pub hidden: usize,
    /// Epochs, batch size, step size.
    pub config: &'a StudentConfig,
    /// The run seed: the student's initialisation and batch order (the same for every row, so
    /// that the rows differ only by their teachers).
    pub seed: u64,
    /// The test set, evaluated after every epoch.
    pub test: &'a Dataset<f32>,
}

impl Student<'_> {
    /// Trains the student called `line` on `train` with `loss`, records its per-epoch curves
    /// under `plots` and its final test accuracy and cross-entropy, and returns them.
    pub fn train(
        &self,
        line: &str,
        train: &Dataset<f32>,
        loss: &dyn BatchLoss<f32, Sequential<f32>>,
        plots: &[(&'static str, &'static str)],
        record: &mut RunRecord,
        progress: &mut Progress,
    ) -> Result<Evaluation> {
        let mut model = mlp::<f32>(
            &[train.dim(), self.hidden, CLASSES],
            Activation::Relu,
            true,
            &mut seed_stream(self.seed, "student init"),
        );
        let mut adam = Adam::new(AdamConfig::adam(self.config.learning_rate))?;
        let config = TrainConfig {
            epochs: self.config.epochs,
            batch_size: self.config.batch_size,
            seed: seed_stream(self.seed, "student shuffle").gen(),
            resume: self.ctx.resume(line)?,
            ..TrainConfig::default()
        };
        let mut observer = Curves {
            line,
            plots,
            record,
            progress,
        };
        let reports = fit(
            &mut model,
            &mut adam,
            loss,
            train,
            Some(self.test),
            &config,
            &mut observer,
        )?;
        let last = reports
            .last()
            .and_then(|r| r.eval)
            .ok_or_else(|| anyhow::anyhow!("{line}: no epoch was run"))?;
        record.set_final(line, "test_accuracy", last.accuracy);
        record.set_final(line, "test_cross_entropy", last.cross_entropy);
        Ok(last)
    }
}

/// The teacher's logits on the student's mapped inputs `φ(x)`, and their accuracy against the
/// student's labels (how well `f∘φ` alone classifies the student's data).
pub fn answers(
    teacher: &Sequential<f32>,
    mapped: &Array2<f32>,
    labels: &[usize],
) -> Result<(Array2<f32>, f64)> {
    let logits = predict(teacher, mapped, TrainConfig::default().eval_batch_size)?;
    let accuracy = nn::metrics::accuracy(logits.view(), labels);
    Ok((logits, accuracy))
}
