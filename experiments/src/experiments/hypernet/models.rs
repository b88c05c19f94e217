//! The models of `hypernet`: the per-λ variational networks and the two hypernetworks (both in
//! the model store, trained once per run seed), fine-tuning, and the pruning curves.

use anyhow::{Context, Result};
use methods::hypernet::{
    prune, ComplexityLoss, Hypernet, HypernetKind, HypernetLoss, PruneScope, VariationalMlp,
};
use nn::data::Dataset;
use nn::init::Init;
use nn::layers::Activation;
use nn::optim::{Adam, AdamConfig, Clipped, GradClip, Optimizer, Sgd, SgdConfig};
use nn::store::{ModelIdentity, TrainingRecord};
use nn::train::{evaluate, fit, BatchLoss, Silent, TrainConfig};
use nn::Module;
use rand::Rng;
use serde::Serialize;

use super::config::{HypernetConfig, Parsed, Training};
use super::data::Images;
use crate::experiment::{seed_stream, EpochProgress, Progress, RunContext};

/// The revision of the training procedures below (SGD with momentum from the seed streams
/// named here): bump it when a change alters the weights an unchanged config trains to.
pub const REVISION: u32 = 1;

/// What a run shares between its models.
pub struct Models<'a> {
    /// The run's context (the store).
    pub ctx: &'a RunContext<'a>,
    /// The config.
    pub config: &'a HypernetConfig,
    /// Its parsed strings.
    pub parsed: &'a Parsed,
    /// The images.
    pub images: &'a Images,
    /// The run seed.
    pub seed: u64,
}

/// A trained model from the store, with its training's wall time.
pub struct Trained<M> {
    /// The model.
    pub model: M,
    /// `NAME-HASH`.
    pub stem: String,
    /// Wall time of its training in seconds (as recorded when it was trained).
    pub seconds: f64,
}

/// The per-λ model's training table.
#[derive(Serialize)]
struct PerLambdaTraining<'a> {
    sgd: &'a Training,
    lambda: f64,
}

fn sizes(c: &HypernetConfig, dim: usize) -> [usize; 3] {
    [dim, c.hidden, 10]
}

fn architecture(c: &HypernetConfig, dim: usize, act: &str) -> String {
    format!(
        "variational MLP {dim}-{}-10, hidden {act}, biases, mean-field Gaussian weights",
        c.hidden
    )
}

impl Models<'_> {
    /// The target network of activation `act`: the same initialisation for every λ and both
    /// hypernetworks of a run seed.
    pub fn target(&self, act: (&str, Activation)) -> Result<VariationalMlp<f32>> {
        Ok(VariationalMlp::with_biases(
            &sizes(self.config, self.images.train.dim()),
            act.1,
            Init::XavierUniform { gain: 1.0 },
            self.config.init_log_var,
            &mut seed_stream(self.seed, &format!("init {}", act.0)),
        )?)
    }

    /// The configured optimiser (SGD with momentum, or Adam), its gradients clipped by value
    /// when `clip_value > 0`.
    fn optimizer(&self) -> Result<Box<dyn Optimizer<f32>>> {
        fn clipped<O: Optimizer<f32> + 'static>(o: O, clip: f64) -> Result<Box<dyn Optimizer<f32>>> {
            Ok(if clip > 0.0 {
                Box::new(Clipped::new(o, GradClip::Value(clip))?)
            } else {
                Box::new(o)
            })
        }
        let c = self.config;
        match c.optimizer.as_str() {
            "adam" => clipped(Adam::new(AdamConfig::adam(c.learning_rate))?, c.clip_value),
            _ => clipped(
                Sgd::new(SgdConfig::new(c.learning_rate).momentum(c.momentum))?,
                c.clip_value,
            ),
        }
    }

    fn train_config(&self, purpose: &str, resume: nn::train::Resume) -> TrainConfig {
        TrainConfig {
            epochs: self.config.epochs,
            batch_size: self.config.batch_size,
            seed: seed_stream(self.seed, purpose).gen(),
            resume: Some(resume),
            ..TrainConfig::default()
        }
    }

    /// The model trained at `lambda` alone, from the store.
    pub fn per_lambda(
        &self,
        act: (&str, Activation),
        lambda: f64,
        progress: &mut Progress,
    ) -> Result<Trained<VariationalMlp<f32>>> {
        let c = self.config;
        let dim = self.images.train.dim();
        let model = self.target(act)?;
        let sgd_table = c.training("NLL_B/B + λ KL/N");
        let name = format!("hypernet-per-lambda-{}-{lambda}", act.0);
        let id = ModelIdentity::of(
            &name,
            &architecture(c, dim, act.0),
            &model,
            &PerLambdaTraining {
                sgd: &sgd_table,
                lambda,
            },
            self.seed,
            self.images.identity.clone(),
        )?
        .revised(REVISION);
        let loss = ComplexityLoss {
            lambda,
            config: c.complexity(self.images.train.len()),
        };
        self.stored(&id, &name, model, &loss, Some(&self.images.test), progress)
    }

    /// The hypernetwork of `kind`, from the store.
    pub fn hypernet(
        &self,
        act: (&str, Activation),
        kind: (&str, HypernetKind),
        progress: &mut Progress,
    ) -> Result<Trained<Hypernet<f32>>> {
        let c = self.config;
        let dim = self.images.train.dim();
        let model = Hypernet::new(
            self.target(act)?,
            kind.1,
            self.parsed.encoding,
            &mut seed_stream(self.seed, &format!("hypernet init {} {}", act.0, kind.0)),
        )?;
        let name = format!("hypernet-{}-{}", kind.0.replace('_', "-"), act.0);
        let id = ModelIdentity::of(
            &name,
            &format!("{:?} hypernetwork over the {}", kind.1, architecture(c, dim, act.0)),
            &model,
            &c.hypernet_training(),
            self.seed,
            self.images.identity.clone(),
        )?
        .revised(REVISION);
        let loss = HypernetLoss {
            sampler: self.parsed.sampler,
            per_batch: c.lambdas_per_batch,
            config: c.complexity(self.images.train.len()),
        };
        self.stored(&id, &name, model, &loss, None, progress)
    }

    /// `model` from the store under `id`, trained when it is not there: the configured
    /// optimiser on `loss` over the training images, evaluated on `test` after each epoch when
    /// given. A model loaded instead advances `progress` by its epochs, as "loaded".
    fn stored<M: Module<f32>>(
        &self,
        id: &ModelIdentity,
        name: &str,
        model: M,
        loss: &dyn BatchLoss<f32, M>,
        test: Option<&Dataset<f32>>,
        progress: &mut Progress,
    ) -> Result<Trained<M>> {
        let mut trained = false;
        let stored = self.ctx.models().get_or_train(id, model, |model, resume| {
            trained = true;
            let mut optimizer = self.optimizer().map_err(to_nn)?;
            let cfg = self.train_config(&format!("shuffle {name}"), resume);
            let mut observer = EpochProgress {
                what: name,
                progress,
            };
            let curve = fit(
                model,
                optimizer.as_mut(),
                loss,
                &self.images.train,
                test,
                &cfg,
                &mut observer,
            )?;
            let test = curve.last().and_then(|r| r.eval);
            Ok(TrainingRecord { curve, test })
        })
        .with_context(|| format!("training {name}"))?;
        if !trained {
            for _ in 0..self.config.epochs {
                progress.advance(&format!("{name}: loaded"));
            }
        }
        Ok(Trained {
            stem: stored.stem(),
            seconds: stored.sidecar.wall_time_s,
            model: stored.model,
        })
    }

    /// Test accuracy of `model` with each fraction of its weights removed (from the unpruned
    /// model each time; the levels nest), fine-tuned at `lambda` for `finetune_steps` after
    /// pruning when `finetune` is given (its stream's purpose).
    pub fn pruned_curve(
        &self,
        model: &VariationalMlp<f32>,
        scope: PruneScope,
        finetune: Option<(f64, &str)>,
    ) -> Result<Vec<f64>> {
        let mut out = Vec::new();
        for (level, fraction) in self.config.fractions().into_iter().enumerate() {
            let mut m = model.clone();
            prune(&mut m, fraction, scope)?;
            if let Some((lambda, purpose)) = finetune {
                self.finetune(&mut m, lambda, &format!("{purpose} level {level}"))?;
            }
            out.push(evaluate(&m, &self.images.test, 1000)?.accuracy);
        }
        Ok(out)
    }

    /// `finetune_steps` SGD steps on the per-λ objective at `lambda` (pruned weights held at 0
    /// by their masks), on batches drawn from the training set.
    fn finetune(&self, model: &mut VariationalMlp<f32>, lambda: f64, purpose: &str) -> Result<()> {
        let c = self.config;
        let n = self.images.train.len();
        let wanted = c.finetune_steps * c.batch_size;
        let mut rng = seed_stream(self.seed, purpose);
        let (data, epochs): (Dataset<f32>, usize) = if wanted >= n {
            (self.images.train.clone(), wanted.div_ceil(n))
        } else {
            (self.images.train.split(wanted, &mut rng)?.0, 1)
        };
        let loss = ComplexityLoss {
            lambda,
            config: c.complexity(n),
        };
        let cfg = TrainConfig {
            epochs,
            batch_size: c.batch_size,
            seed: rng.gen(),
            ..TrainConfig::default()
        };
        let mut sgd = self.optimizer()?;
        fit(model, sgd.as_mut(), &loss, &data, None, &cfg, &mut Silent)
            .with_context(|| format!("fine-tuning at λ = {lambda}"))?;
        Ok(())
    }
}

/// An anyhow error inside a store's training closure (which returns `nn::Result`).
fn to_nn(e: anyhow::Error) -> nn::Error {
    nn::Error::config("hypernet model", format!("{e:#}"))
}
