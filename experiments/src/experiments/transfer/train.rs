//! The trainings of `transfer`: the source models (from the model store) and the target
//! trainings of the six methods, with the test accuracy and the per-layer `W1` to the source
//! after every epoch.

use std::cell::RefCell;
use std::time::Instant;

use anyhow::{Context, Result};
use autograd::{Tape, Var};
use methods::transfer::{
    exact_w1, feature_map_distance, identity_plan_cost, l2_penalty, l2_sp, layer_sample_array,
    source_constants, CriticConfig, WassersteinConfig, WassersteinRegularizer,
};
use nn::data::{DataFile, Dataset};
use nn::loss::{cross_entropy, Reduction};
use nn::optim::{Adam, AdamConfig};
use nn::store::{ModelIdentity, TrainingRecord};
use nn::train::{fit, Batch, BatchLoss, Evaluation, Silent, TrainConfig};
use nn::{Ctx, Module};
use rand::Rng;

use super::config::TransferConfig;
use super::net::{ConvNet, Widths, ENCODER_PARAMS, ENCODER_WEIGHTS};
use crate::experiment::{seed_stream, EpochProgress, Progress, RunContext};

/// The revision of [`source_model`]'s training procedure (cross-entropy, Adam, the seed streams
/// `NAME init` and `NAME shuffle`): bump it when a change alters the weights an unchanged config
/// trains to.
pub const SOURCE_REVISION: u32 = 1;

/// The methods, in the order of the report.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Method {
    /// The whole net from a random initialisation, on the target only.
    Scratch,
    /// Fine-tuning from the source encoder without a regulariser.
    FineTune,
    /// `Ω = α ‖w‖²` (the seed's baseline).
    L2,
    /// `Ω = β ‖w_enc − w_enc^src‖² + α ‖w_cl‖²`.
    L2Sp,
    /// `Ω = β Σ_j ‖FM_j^tgt − FM_j^src‖² + α ‖w_cl‖²` (plain form).
    Delta,
    /// `Ω = Σ_j λ_j [E_q f_j − E_p f_j]`, critics ascending between model steps.
    Wasserstein,
}

impl Method {
    /// Every method, in report order.
    pub const ALL: [Method; 6] = [
        Method::Scratch,
        Method::FineTune,
        Method::L2,
        Method::L2Sp,
        Method::Delta,
        Method::Wasserstein,
    ];
    /// The four methods of the seed's table, ranked against each other.
    pub const RANKED: [Method; 4] = [Method::L2, Method::L2Sp, Method::Delta, Method::Wasserstein];

    /// The report line.
    pub fn line(self) -> &'static str {
        match self {
            Method::Scratch => "from scratch",
            Method::FineTune => "fine-tuning",
            Method::L2 => "L2-penalty",
            Method::L2Sp => "L2-SP",
            Method::Delta => "DELTA",
            Method::Wasserstein => "Wasserstein",
        }
    }
}

/// The line of the Wasserstein critics' dual estimate on the `W1` plots.
pub const CRITIC_LINE: &str = "Wasserstein: critic estimate";
/// The line of the identity-plan cost `W̃1` of the Wasserstein run on the `W1` plots.
pub const IDENTITY_LINE: &str = "Wasserstein: identity-plan W̃1";

/// A source model as the targets need it.
pub struct Source {
    /// The trained net.
    pub model: ConvNet<f32>,
    /// Its test metrics on its own domain after the last epoch.
    pub test: Evaluation,
    /// `NAME-HASH` of the stored model.
    pub stem: String,
}

/// The net's widths in the config.
pub fn widths(c: &TransferConfig) -> Widths {
    Widths {
        conv1: c.conv1_channels,
        conv2: c.conv2_channels,
        hidden: c.hidden,
    }
}

/// The source model `name` trained on `train` (tested on `test`): from the store, or trained by
/// cross-entropy with Adam (the `[source]` section) and stored. One step of progress per epoch.
pub fn source_model(
    ctx: &RunContext<'_>,
    c: &TransferConfig,
    name: &str,
    train: &Dataset<f32>,
    test: &Dataset<f32>,
    identity: Vec<DataFile>,
    progress: &mut Progress,
) -> Result<Source> {
    let s = &c.source;
    let seed = s.seed;
    let model = ConvNet::<f32>::new(widths(c), &mut seed_stream(seed, &format!("{name} init")));
    let id = ModelIdentity::of(
        name,
        &widths(c).describe(),
        &model,
        &s.training(),
        seed,
        identity,
    )?
    .revised(SOURCE_REVISION);
    let mut trained = false;
    let stored = ctx.models().get_or_train(&id, model, |model, resume| {
        trained = true;
        let mut adam = Adam::new(AdamConfig::adam(s.learning_rate))?;
        let config = TrainConfig {
            epochs: s.epochs,
            batch_size: s.batch_size,
            seed: seed_stream(seed, &format!("{name} shuffle")).gen(),
            resume: Some(resume),
            ..TrainConfig::default()
        };
        let mut observer = EpochProgress {
            what: name,
            progress,
        };
        let curve = fit(
            model,
            &mut adam,
            &nn::train::CrossEntropy,
            train,
            Some(test),
            &config,
            &mut observer,
        )?;
        let test = curve.last().and_then(|r| r.eval);
        Ok(TrainingRecord { curve, test })
    })?;
    if !trained {
        for _ in 0..s.epochs {
            progress.advance(&format!("{name}: loaded"));
        }
    }
    let test = stored
        .sidecar
        .training
        .test
        .with_context(|| format!("the stored source model {} has no test metrics", stored.stem()))?;
    Ok(Source {
        stem: stored.stem(),
        model: stored.model,
        test,
    })
}

/// An error of `methods` inside a batch loss (which returns `nn::Result`).
fn to_nn(e: methods::Error) -> nn::Error {
    match e {
        methods::Error::Nn(e) => e,
        methods::Error::Autograd(e) => nn::Error::Autograd(e),
        other => nn::Error::config("transfer regulariser", other.to_string()),
    }
}

/// The target's objective: cross-entropy plus the method's `Ω`.
struct Objective<'a> {
    method: Method,
    source: &'a ConvNet<f32>,
    c: &'a TransferConfig,
    critics: Option<RefCell<WassersteinRegularizer<f32>>>,
}

impl Objective<'_> {
    /// `Ω` of the method on this batch (`None` for scratch and plain fine-tuning).
    fn penalty<'t>(
        &self,
        ctx: &Ctx<'t, f32>,
        batch: &Batch<'_, f32>,
        bound: &[(String, Var<'t, f32>)],
        maps: &[Var<'t, f32>],
    ) -> methods::Result<Option<Var<'t, f32>>> {
        let pick = |names: &[&str]| -> Vec<Var<'t, f32>> {
            bound
                .iter()
                .filter(|(n, _)| names.contains(&n.as_str()))
                .map(|(_, v)| *v)
                .collect()
        };
        let head = pick(&["head.weight", "head.bias"]);
        let classifier = || l2_penalty(&head, self.c.classifier_alpha);
        let omega = match self.method {
            Method::Scratch | Method::FineTune => None,
            Method::L2 => {
                let all: Vec<_> = bound.iter().map(|(_, v)| *v).collect();
                l2_penalty(&all, self.c.l2_alpha)?
            }
            Method::L2Sp => {
                let source: Vec<_> = source_constants(ctx, self.source)
                    .into_iter()
                    .filter(|(n, _)| ENCODER_PARAMS.contains(&n.as_str()))
                    .map(|(_, v)| v)
                    .collect();
                sum(l2_sp(&pick(&ENCODER_PARAMS), &source, self.c.l2sp_beta)?, classifier()?)?
            }
            Method::Delta => {
                let source = source_maps(self.source, &batch.x)?;
                let source: Vec<_> = source.into_iter().map(|t| ctx.input(t)).collect();
                sum(
                    feature_map_distance(maps, &source, self.c.delta_beta)?,
                    classifier()?,
                )?
            }
            Method::Wasserstein => {
                let critics = self.critics.as_ref().expect("built for the method");
                Some(critics.borrow().penalty(bound)?)
            }
        };
        Ok(omega)
    }
}

/// `a + b` of two optional penalties.
fn sum<'t>(
    a: Option<Var<'t, f32>>,
    b: Option<Var<'t, f32>>,
) -> methods::Result<Option<Var<'t, f32>>> {
    Ok(match (a, b) {
        (Some(a), Some(b)) => Some(a.try_add(b)?),
        (a, b) => a.or(b),
    })
}

/// The source encoder's feature maps on `x`, computed on a tape of their own without recording
/// (constants of the target's step).
fn source_maps(source: &ConvNet<f32>, x: &ndarray::Array2<f32>) -> nn::Result<Vec<autograd::Tensor<f32>>> {
    let tape = Tape::<f32>::new();
    let _no_grad = tape.no_grad();
    let ctx = Ctx::eval(&tape);
    let (maps, _) = source.features(&ctx, ctx.input(x.clone()))?;
    Ok(maps.iter().map(|m| m.value()).collect())
}

impl BatchLoss<f32, ConvNet<f32>> for Objective<'_> {
    fn loss<'t>(
        &self,
        model: &ConvNet<f32>,
        ctx: &Ctx<'t, f32>,
        batch: &Batch<'_, f32>,
    ) -> nn::Result<Var<'t, f32>> {
        if let Some(critics) = &self.critics {
            // the critics' step, at the model's current weights, before the model's step
            critics.borrow_mut().critic_ascent(model).map_err(to_nn)?;
        }
        let (maps, logits) = model.features(ctx, ctx.input(batch.x.clone()))?;
        let task = cross_entropy(logits, &batch.labels, Reduction::Mean)?;
        let bound = ctx.bind_all(model);
        match self.penalty(ctx, batch, &bound, &maps).map_err(to_nn)? {
            Some(omega) => Ok(task.try_add(omega)?),
            None => Ok(task),
        }
    }
}

/// What one target training measured, per epoch.
pub struct TargetRun {
    /// Test accuracy after each epoch.
    pub accuracy: Vec<f64>,
    /// Exact `W1` between the target's and the source's clouds of each encoder layer, after
    /// each epoch (empty for training from scratch).
    pub exact_w1: Vec<[f64; 3]>,
    /// The Wasserstein critics' dual estimates (Wasserstein only).
    pub critic: Vec<[f64; 3]>,
    /// The identity-plan cost `W̃1` (Wasserstein only).
    pub identity: Vec<[f64; 3]>,
    /// Wall time of the training, evaluations included.
    pub seconds: f64,
}

/// What a target training starts from and learns on.
pub struct Target<'a> {
    /// The source model.
    pub source: &'a ConvNet<f32>,
    /// The target's training images.
    pub train: &'a Dataset<f32>,
    /// The target's test images.
    pub test: &'a Dataset<f32>,
    /// Names the direction in the seed streams.
    pub direction: &'a str,
}

/// Trains the target net of `method`: the seed's initialisation (the same for every method),
/// the encoder loaded from the source unless from scratch, Adam on cross-entropy + `Ω` in the
/// seed's batch order (the same for every method), with the measurements after every epoch.
pub fn train_target(
    method: Method,
    t: &Target<'_>,
    c: &TransferConfig,
    seed: u64,
    progress: &mut Progress,
) -> Result<TargetRun> {
    let start = Instant::now();
    let dir = t.direction;
    let mut model = ConvNet::<f32>::new(widths(c), &mut seed_stream(seed, &format!("{dir} init")));
    if method != Method::Scratch {
        model.load_encoder(t.source)?;
    }
    let critics = if method == Method::Wasserstein {
        let layers: Vec<(&str, f64)> = ENCODER_WEIGHTS
            .iter()
            .copied()
            .zip(c.wasserstein_lambda.iter().copied())
            .collect();
        let cfg = WassersteinConfig {
            critic: CriticConfig::orthonormal(&[c.critic_hidden, c.critic_hidden]),
            critic_steps: c.critic_steps,
            critic_learning_rate: c.critic_learning_rate,
        };
        let mut rng = seed_stream(seed, &format!("{dir} critics"));
        Some(RefCell::new(WassersteinRegularizer::new(t.source, &layers, &cfg, &mut rng)?))
    } else {
        None
    };
    let objective = Objective {
        method,
        source: t.source,
        c,
        critics,
    };
    let mut adam = Adam::new(AdamConfig::adam(c.target.learning_rate))?;
    let mut order = seed_stream(seed, &format!("{dir} shuffle"));
    let sources = source_clouds(t.source)?;
    let mut run = TargetRun {
        accuracy: Vec::new(),
        exact_w1: Vec::new(),
        critic: Vec::new(),
        identity: Vec::new(),
        seconds: 0.0,
    };
    for epoch in 1..=c.target.epochs {
        let config = TrainConfig {
            epochs: 1,
            batch_size: c.target.batch_size,
            seed: order.gen(),
            eval_batch_size: 500,
            ..TrainConfig::default()
        };
        let reports = fit(&mut model, &mut adam, &objective, t.train, Some(t.test), &config, &mut Silent)
            .with_context(|| format!("{dir}, {}, epoch {epoch}", method.line()))?;
        let acc = reports
            .last()
            .and_then(|r| r.eval)
            .map(|e| e.accuracy)
            .context("fit returned no evaluation")?;
        run.accuracy.push(acc);
        let mut message = format!("{dir}, {}: epoch {epoch}, test accuracy {acc:.3}", method.line());
        if method != Method::Scratch {
            let mut exact = [0.0; 3];
            let mut identity = [0.0; 3];
            for (j, (name, p)) in ENCODER_WEIGHTS.iter().zip(&sources).enumerate() {
                let q = layer_sample_array(&param(&model, name)?)?;
                exact[j] = exact_w1(q.view(), p.view())?.value;
                identity[j] = identity_plan_cost(q.view(), p.view())?;
            }
            run.exact_w1.push(exact);
            if let Some(critics) = &objective.critics {
                let measured = critics.borrow().measure(&model)?;
                let mut estimate = [0.0; 3];
                for (j, m) in measured.iter().enumerate() {
                    estimate[j] = m.estimate;
                }
                run.critic.push(estimate);
                run.identity.push(identity);
                message.push_str(&format!(", W1 {exact:.3?}, critic {estimate:.3?}"));
            }
        }
        progress.advance(&message);
    }
    run.seconds = start.elapsed().as_secs_f64();
    Ok(run)
}

/// The source's clouds of the encoder layers, `[out, in·Πk]` each.
fn source_clouds(source: &ConvNet<f32>) -> Result<Vec<ndarray::Array2<f64>>> {
    ENCODER_WEIGHTS
        .iter()
        .map(|name| Ok(layer_sample_array(&param(source, name)?)?))
        .collect()
}

/// The value of the parameter `name` of `model`.
fn param(model: &ConvNet<f32>, name: &str) -> Result<autograd::Tensor<f32>> {
    let mut found = None;
    model.visit_params(&mut |n, p| {
        if n == name {
            found = Some(p.value().clone());
        }
    });
    found.with_context(|| format!("the net has no parameter {name}"))
}
