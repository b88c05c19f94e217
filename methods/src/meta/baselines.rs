//! The baselines the hypergradient is compared against: fixed metaparameters, and random
//! search over fixed metaparameters at the same budget; and the random starting points of the
//! hypergradient runs.

use autograd::Float;
use nn::train::Resume;
use nn::Module;
use rand::Rng;

use super::driver::{optimise_metaparameters, MetaData, MetaRun, MetaStrategy, MetaTrainConfig};
use super::metaparams::{MetaParams, MetaValues, TemperatureRange};
use crate::{Error, Result};

/// Trains `model` with `$\lambda$` fixed at `meta` for the run of `cfg` (its strategy is replaced
/// by [`MetaStrategy::Fixed`]): the "fixed metaparameters" baseline. [`MetaParams::centre`]
/// (`$\beta_{1} = \beta_{2} = 1/2$`, `$T = 5.05$`) is our default point. `resume` as in
/// [`optimise_metaparameters`].
pub fn train_fixed<F: Float>(
    model: &mut dyn Module<F>,
    meta: MetaParams,
    data: &MetaData<'_, F>,
    cfg: &MetaTrainConfig,
    resume: Option<&Resume>,
) -> Result<MetaRun> {
    let fixed = MetaTrainConfig {
        strategy: MetaStrategy::Fixed,
        ..*cfg
    };
    optimise_metaparameters(model, meta, data, &fixed, resume)
}

/// The authors' random starting point of a hypergradient run (a "restart"): `$a_{1}, a_{2} \sim
/// U(-1, 1)$`, `$a_{3} \sim U(-2, 0)$` (so `$\beta \in(0.27, 0.73)$`, `$T \in(1.3, 5.05)$` in their
/// range).
pub fn sample_authors_start<R: Rng + ?Sized>(
    range: TemperatureRange,
    rng: &mut R,
) -> Result<MetaParams> {
    let raw = [
        rng.gen_range(-1.0..1.0),
        rng.gen_range(-1.0..1.0),
        rng.gen_range(-2.0..0.0),
    ];
    MetaParams::from_raw(raw, range)
}

/// A random-search candidate: `$\beta_{1}, \beta_{2} \sim U(0, 1)$` and `T` log-uniform on `(T_min,
/// T_max)` (temperatures matter by ratio). Our choice; the authors' own baseline was a TPE search
/// (hyperopt), which we do not reproduce.
pub fn sample_search_point<R: Rng + ?Sized>(
    range: TemperatureRange,
    rng: &mut R,
) -> Result<MetaParams> {
    range.validate()?;
    // open interval: gen_range on [ε, 1 − ε] keeps σ⁻¹ finite
    let beta = |rng: &mut R| rng.gen_range(1e-6..1.0 - 1e-6);
    let (lo, hi) = (range.min.ln(), range.max.ln());
    let mut t = rng.gen_range(lo..hi).exp();
    // exp(ln T_min) can round to just below T_min; keep it strictly inside
    t = t.clamp(range.min * (1.0 + 1e-12), range.max * (1.0 - 1e-12));
    let values = MetaValues {
        beta1: beta(rng),
        beta2: beta(rng),
        temperature: t,
    };
    MetaParams::from_values(values, range)
}

/// One candidate of a random search.
#[derive(Clone, Debug, PartialEq)]
pub struct Trial {
    /// The fixed `$\lambda$` it trained with.
    pub meta: MetaParams,
    /// Its run.
    pub run: MetaRun,
}

/// The outcome of [`random_search`].
#[derive(Clone, Debug, PartialEq)]
pub struct RandomSearch {
    /// Every candidate, in the order drawn.
    pub trials: Vec<Trial>,
    /// The index of the chosen one: the lowest final validation cross-entropy, the objective
    /// the hypergradient minimises (the test split plays no part in the choice).
    pub best: usize,
}

impl RandomSearch {
    /// The chosen candidate.
    pub fn best(&self) -> &Trial {
        &self.trials[self.best]
    }
}

/// Random search over fixed metaparameters: `trials` candidates from
/// [`sample_search_point`], each trained from a fresh student (`new_student(i)` for trial
/// `i`) with the run of `cfg` held fixed, the best chosen by final validation cross-entropy.
/// An error naming `random search trials` if `trials = 0`. With `resume`, trial `i` keeps its
/// state in `resume.dir/trial-{i}` ([`train_fixed`]; the candidates are drawn from `rng` in
/// the same order whether a trial is resumed or not).
pub fn random_search<F: Float, R: Rng + ?Sized>(
    new_student: &mut dyn FnMut(usize) -> Box<dyn Module<F>>,
    data: &MetaData<'_, F>,
    cfg: &MetaTrainConfig,
    range: TemperatureRange,
    trials: usize,
    rng: &mut R,
    resume: Option<&Resume>,
) -> Result<RandomSearch> {
    if trials == 0 {
        return Err(Error::config("random search trials", "must be ≥ 1, got 0"));
    }
    let mut out = Vec::with_capacity(trials);
    for i in 0..trials {
        let meta = sample_search_point(range, rng)?;
        let mut student = new_student(i);
        let trial_resume = resume.map(|r| Resume {
            dir: r.dir.join(format!("trial-{i}")),
            identity: format!("{} / trial {i}", r.identity),
            interval: r.interval,
        });
        let run = train_fixed(student.as_mut(), meta, data, cfg, trial_resume.as_ref())?;
        out.push(Trial { meta, run });
    }
    let score = |t: &Trial| t.run.last_eval().validation.cross_entropy;
    let best = (0..out.len())
        .min_by(|&a, &b| score(&out[a]).total_cmp(&score(&out[b])))
        .expect("at least one trial");
    Ok(RandomSearch { trials: out, best })
}

/// The number of random-search trials that costs what `optimised` cost, measured in wall time
/// against one fixed-metaparameter run of the same length (`fixed`): `max(1,
/// round(optimised.seconds / fixed.seconds))`. The budget is time because a hypergradient's
/// cost in student steps depends on `k` and the model (see the measurements in the module
/// documentation).
pub fn equal_budget_trials(optimised: &MetaRun, fixed: &MetaRun) -> usize {
    if fixed.seconds.is_nan() || fixed.seconds <= 0.0 {
        return 1;
    }
    ((optimised.seconds / fixed.seconds).round() as usize).max(1)
}
