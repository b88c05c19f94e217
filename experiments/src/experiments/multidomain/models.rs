//! The models `multidomain` keeps in the model store (`OUT/models/`), each trained once and
//! shared by the rows, the run seeds and later runs: the six teachers and the two VAEs.
//!
//! A model's data are built only when it has to be trained (a noisy or dilated copy of the big
//! part, the paired sample): a run that finds every model stored does not build them.

use anyhow::{Context, Result};
use methods::multidomain::vae::{PairedElbo, Vae};
use ndarray::Array2;
use nn::data::{DataFile, Dataset};
use nn::layers::{mlp, Activation, Sequential};
use nn::optim::{Adam, AdamConfig};
use nn::store::{ModelIdentity, Origin, StoredModel, TrainingRecord};
use nn::train::{fit, BatchLoss, EpochReport, Evaluation, TrainConfig};
use nn::Module;
use rand::Rng;

use super::config::VaeSection;
use crate::experiment::{seed_stream, EpochProgress, Progress, RunContext, TeacherConfig};

/// The teachers' hidden layers (the authors' 4-hidden-layer MLP).
pub const TEACHER_HIDDEN: [usize; 4] = [256, 128, 64, 64];
/// Classes of both data sets.
pub const CLASSES: usize = 10;

/// The revision of [`TeacherFactory::get`]'s training procedure (cross-entropy, Adam, the seed
/// streams `NAME init` and `NAME shuffle`): bump it when a change alters the weights an unchanged
/// config trains to, and the stored teachers are retrained.
pub const TEACHER_REVISION: u32 = 1;
/// The revision of [`vae`]'s training procedure (−ELBO of `PairedElbo`, Adam, the pairing and
/// the seed streams): bump it likewise.
pub const VAE_REVISION: u32 = 1;

/// A teacher as the students need it.
pub struct Teacher {
    /// The trained MLP.
    pub model: Sequential<f32>,
    /// Its accuracy and cross-entropy on its own test set after the last epoch.
    pub test: Evaluation,
    /// `NAME-HASH` of the stored model.
    pub stem: String,
}

/// An anyhow error inside a store's training closure (which returns `nn::Result`).
fn to_nn(e: anyhow::Error) -> nn::Error {
    nn::Error::config("multidomain model data", format!("{e:#}"))
}

/// How a stored model of this experiment is trained: Adam and its schedule.
struct AdamTraining {
    learning_rate: f64,
    epochs: usize,
    batch_size: usize,
}

/// The training data of a stored model: its loss, training set and optional test set.
type TrainingData<M> = (Box<dyn BatchLoss<f32, M>>, Dataset<f32>, Option<Dataset<f32>>);

/// The model `id` from the store, or, when it is not stored, `model` trained with Adam (`hyper`,
/// batch order from the seed stream `NAME shuffle`, resumable) on what `make_data` returns, then
/// stored. Data are built only when the model has to be trained. The run's progress advances by
/// one step per epoch either way.
#[allow(clippy::too_many_arguments)] // the two callers name every argument
fn stored_with_adam<M: Module<f32>>(
    ctx: &RunContext<'_>,
    id: &ModelIdentity,
    model: M,
    name: &str,
    seed: u64,
    hyper: AdamTraining,
    progress: &mut Progress,
    make_data: impl FnOnce() -> Result<TrainingData<M>>,
) -> Result<StoredModel<M>> {
    let stored = ctx.models().get_or_train(id, model, |model, resume| {
        let (loss, train, test) = make_data().map_err(to_nn)?;
        let mut adam = Adam::new(AdamConfig::adam(hyper.learning_rate))?;
        let train_config = TrainConfig {
            epochs: hyper.epochs,
            batch_size: hyper.batch_size,
            seed: seed_stream(seed, &format!("{name} shuffle")).gen(),
            resume: Some(resume),
            ..TrainConfig::default()
        };
        let mut observer = EpochProgress {
            what: name,
            progress: &mut *progress,
        };
        let curve = fit(
            model,
            &mut adam,
            loss.as_ref(),
            &train,
            test.as_ref(),
            &train_config,
            &mut observer,
        )?;
        let test = curve.last().and_then(|r| r.eval);
        Ok(TrainingRecord { curve, test })
    })?;
    if matches!(stored.origin, Origin::Loaded) {
        for _ in 0..hyper.epochs {
            progress.advance(&format!("{name}: loaded"));
        }
    }
    Ok(stored)
}

/// What the teachers of a run share: the store, how they are trained, and their seed.
pub struct TeacherFactory<'a> {
    /// The run's context (for the model store).
    pub ctx: &'a RunContext<'a>,
    /// Epochs, batch size, step size.
    pub config: &'a TeacherConfig,
    /// The seed of every teacher's initialisation and batch order.
    pub seed: u64,
}

impl TeacherFactory<'_> {
    /// The teacher `name` (an `input_dim`-256-128-64-64-10 ReLU MLP) trained on the data of
    /// `identity`: loaded from the store, or trained by cross-entropy with Adam on
    /// `make_data()`'s `(train, test)` and stored. The run's progress advances by one step per
    /// epoch either way.
    pub fn get(
        &self,
        name: &str,
        input_dim: usize,
        identity: Vec<DataFile>,
        make_data: impl FnOnce() -> Result<(Dataset<f32>, Dataset<f32>)>,
        progress: &mut Progress,
    ) -> Result<Teacher> {
        teacher(self.ctx, name, input_dim, identity, self.config, self.seed, make_data, progress)
    }
}

#[allow(clippy::too_many_arguments)] // called through TeacherFactory::get
fn teacher(
    ctx: &RunContext<'_>,
    name: &str,
    input_dim: usize,
    identity: Vec<DataFile>,
    config: &TeacherConfig,
    seed: u64,
    make_data: impl FnOnce() -> Result<(Dataset<f32>, Dataset<f32>)>,
    progress: &mut Progress,
) -> Result<Teacher> {
    let sizes: Vec<usize> = std::iter::once(input_dim)
        .chain(TEACHER_HIDDEN)
        .chain([CLASSES])
        .collect();
    let model = mlp::<f32>(
        &sizes,
        Activation::Relu,
        true,
        &mut seed_stream(seed, &format!("{name} init")),
    );
    let architecture = format!(
        "MLP {}, ReLU, biases",
        sizes
            .iter()
            .map(usize::to_string)
            .collect::<Vec<_>>()
            .join("-")
    );
    let id = ModelIdentity::of(
        name,
        &architecture,
        &model,
        &config.training(),
        seed,
        identity,
    )?
    .revised(TEACHER_REVISION);
    let hyper = AdamTraining {
        learning_rate: config.learning_rate,
        epochs: config.epochs,
        batch_size: config.batch_size,
    };
    let stored = stored_with_adam(ctx, &id, model, name, seed, hyper, progress, || {
        let (train, test) = make_data()?;
        Ok((Box::new(nn::train::CrossEntropy) as Box<_>, train, Some(test)))
    })?;
    let test = stored
        .sidecar
        .training
        .test
        .with_context(|| format!("the stored teacher {} has no test metrics", stored.stem()))?;
    Ok(Teacher {
        stem: stored.stem(),
        model: stored.model,
        test,
    })
}

/// A trained VAE, with its training curve.
pub struct StoredVae {
    /// The model.
    pub vae: Vae<f32>,
    /// `NAME-HASH` of the stored model.
    pub stem: String,
    /// One report per epoch; `train_loss` is the mean −ELBO.
    pub curve: Vec<EpochReport>,
}

/// The VAE `name` of `section` trained on the paired sample of `identity`: loaded from the
/// store, or trained by −ELBO with Adam on `make_pairs()`'s clothes (with labels) and their
/// paired digits (row `i` with clothes image `i`) and stored.
pub fn vae(
    ctx: &RunContext<'_>,
    name: &str,
    section: &VaeSection,
    identity: Vec<DataFile>,
    make_pairs: impl FnOnce() -> Result<(Dataset<f32>, Array2<f32>)>,
    progress: &mut Progress,
) -> Result<StoredVae> {
    let seed = section.seed;
    let model = Vae::<f32>::new(section.model(), &mut seed_stream(seed, &format!("{name} init")))?;
    let id = ModelIdentity::of(
        name,
        &section.model().describe(),
        &model,
        &section.training(),
        seed,
        identity,
    )?
    .revised(VAE_REVISION);
    let hyper = AdamTraining {
        learning_rate: section.learning_rate,
        epochs: section.epochs,
        batch_size: section.batch_size,
    };
    let stored = stored_with_adam(ctx, &id, model, name, seed, hyper, progress, || {
        let (clothes, digits) = make_pairs()?;
        Ok((Box::new(PairedElbo { digits }) as Box<_>, clothes, None))
    })?;
    Ok(StoredVae {
        stem: stored.stem(),
        curve: stored.sidecar.training.curve,
        vae: stored.model,
    })
}
