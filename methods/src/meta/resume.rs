//! A meta loop killed mid-way continues from its last saved iteration, with the same numbers,
//! bit for bit, as a run that was never interrupted — by the mechanism of `nn::train::fit`
//! ([`nn::train::resume`]: the same files, identity check, save interval and test switch).
//!
//! What is saved after iteration `t` (`save`), and why that is enough:
//!
//! ```text
//! epoch-{t}.safetensors   the student's parameters, and the inner optimiser's state as an
//!                         nn OptimState of kind "meta-adam" / "meta-sgd": tensors "m.{name}",
//!                         "v.{name}" (Adam's moments), scalar "steps"
//! state.json              MetaProgress: the step and evaluation records so far, the counters,
//!                         the coordinates a of λ, the predictor's state, the wall times
//! ```
//!
//! Everything random in [`optimise_metaparameters`](super::optimise_metaparameters) comes from
//! the batch streams, which draw one permutation per pass over a split in an order that does
//! not depend on the training: on resumption they replay the batches of the `t` iterations
//! done (the validation stream those of the hypergradients computed) without training. The
//! hypergradient, the step and the evaluations are deterministic given these.

use autograd::Float;
use nn::optim::OptimState;
use nn::train::resume::{restore_state, save_state};
use nn::train::Resume;
use nn::Module;

use super::driver::{EvalRecord, MetaRun, StepRecord};
use super::predict::PredictorState;
use super::step::{InnerOptimizer, InnerState};
use crate::Result;

/// What the meta loop saves beside the checkpoint (see the module documentation).
#[derive(serde::Serialize, serde::Deserialize)]
pub(crate) struct MetaProgress {
    pub(crate) steps: Vec<StepRecord>,
    pub(crate) evals: Vec<EvalRecord>,
    pub(crate) hypergradients: usize,
    pub(crate) predicted: usize,
    /// The coordinates `a` of `$\lambda$` after the last iteration.
    pub(crate) raw: [f64; 3],
    pub(crate) predictor: Option<PredictorState>,
    pub(crate) seconds: f64,
    pub(crate) hypergradient_seconds: f64,
}

impl MetaProgress {
    /// The progress of `run` so far, `$\lambda$` at `raw`.
    pub(crate) fn of(run: &MetaRun, raw: [f64; 3], predictor: Option<PredictorState>) -> Self {
        MetaProgress {
            steps: run.steps.clone(),
            evals: run.evals.clone(),
            hypergradients: run.hypergradients,
            predicted: run.predicted,
            raw,
            predictor,
            seconds: run.seconds,
            hypergradient_seconds: run.hypergradient_seconds,
        }
    }
}

/// The `kind` of the inner optimiser's saved state.
fn kind(opt: &InnerOptimizer) -> &'static str {
    match opt {
        InnerOptimizer::Sgd { .. } => "meta-sgd",
        InnerOptimizer::Adam(_) => "meta-adam",
    }
}

/// The trainable parameters' names, in the visiting order of [`InnerState`]'s moments.
fn trainable_names<F: Float>(model: &dyn Module<F>) -> Vec<String> {
    let mut names = Vec::new();
    model.visit_params(&mut |name, p| {
        if !p.frozen {
            names.push(name.to_string());
        }
    });
    names
}

/// `state` as an [`OptimState`] of `model`'s parameters.
fn to_optim_state<F: Float>(
    state: &InnerState<F>,
    opt: &InnerOptimizer,
    model: &dyn Module<F>,
) -> OptimState<F> {
    let mut out = OptimState::new(kind(opt));
    out.scalars.insert("steps".to_owned(), state.steps as f64);
    let names = trainable_names(model);
    for (buffer, values) in [("m", &state.m), ("v", &state.v)] {
        for (name, value) in names.iter().zip(values) {
            out.tensors
                .insert(format!("{buffer}.{name}"), value.clone());
        }
    }
    out
}

/// The inverse of [`to_optim_state`]: an error if the kind, a moment's name or shape, or the
/// step count does not fit.
fn from_optim_state<F: Float>(
    mut saved: OptimState<F>,
    opt: &InnerOptimizer,
    model: &dyn Module<F>,
) -> nn::Result<InnerState<F>> {
    let bad = |why: String| nn::Error::config("meta loop optimiser state", why);
    if saved.kind != kind(opt) {
        return Err(bad(format!(
            "was written by {:?}, this run uses {:?}",
            saved.kind,
            kind(opt)
        )));
    }
    let steps = saved.scalars.get("steps").copied().unwrap_or(f64::NAN);
    if !(steps >= 0.0 && steps.fract() == 0.0) {
        return Err(bad(format!("has no whole step count (got {steps})")));
    }
    let mut shapes = Vec::new();
    model.visit_params(&mut |_, p| {
        if !p.frozen {
            shapes.push(p.shape().to_vec());
        }
    });
    let names = trainable_names(model);
    let mut take = |buffer: &str| -> nn::Result<Vec<_>> {
        let found: Vec<_> = names
            .iter()
            .map(|n| saved.tensors.remove(&format!("{buffer}.{n}")))
            .collect();
        if found.iter().all(Option::is_none) {
            return Ok(Vec::new());
        }
        found
            .into_iter()
            .zip(&names)
            .zip(&shapes)
            .map(|((t, n), shape)| match t {
                Some(t) if t.shape() == shape.as_slice() => Ok(t),
                Some(t) => Err(bad(format!("{buffer}.{n} has shape {:?}", t.shape()))),
                None => Err(bad(format!("lacks {buffer}.{n}"))),
            })
            .collect()
    };
    let (m, v) = (take("m")?, take("v")?);
    if let Some(extra) = saved.tensors.keys().next() {
        return Err(bad(format!("holds an unexpected tensor {extra}")));
    }
    Ok(InnerState {
        m,
        v,
        steps: steps as u64,
    })
}

/// Saves the loop's state after iteration `progress.steps.len()`.
pub(crate) fn save<F: Float>(
    resume: &Resume,
    model: &dyn Module<F>,
    opt: &InnerOptimizer,
    state: &InnerState<F>,
    progress: &MetaProgress,
) -> Result<()> {
    let optim = to_optim_state(state, opt, model);
    save_state(resume, model, Some(&optim), progress.steps.len(), progress)?;
    Ok(())
}

/// Restores a saved state of a loop of `steps` iterations into `model`, returning the inner
/// optimiser's state and the progress; `None` (with a warning, the state deleted) when there is
/// none that fits.
pub(crate) fn restore<F: Float>(
    resume: &Resume,
    model: &mut dyn Module<F>,
    opt: &InnerOptimizer,
    steps: usize,
) -> Option<(InnerState<F>, MetaProgress)> {
    let mut inner = None;
    let mut accept = |saved, model: &dyn Module<F>| {
        inner = Some(from_optim_state(saved, opt, model)?);
        Ok(())
    };
    let check = |done: usize, p: &MetaProgress| {
        if done == 0 || done > steps || p.steps.len() != done || p.evals.is_empty() {
            return Err(format!(
                "it records iteration {done} with {} step records and {} evaluations, for a \
                 run of {steps} iterations",
                p.steps.len(),
                p.evals.len()
            ));
        }
        Ok(())
    };
    let (_, progress) = restore_state(resume, model, Some(&mut accept), check)?;
    Some((inner?, progress))
}

#[cfg(test)]
mod tests {
    use super::*;
    use nn::layers::{mlp, Activation};
    use nn::optim::AdamConfig;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// Adam's moments go through the checkpoint's OptimState and back unchanged (a copy, no
    /// arithmetic: exact), and a state of the other optimiser is refused by name.
    #[test]
    fn the_inner_state_round_trips_and_the_kind_is_checked() {
        let model = mlp::<f32>(
            &[3, 4, 2],
            Activation::Tanh,
            true,
            &mut StdRng::seed_from_u64(1),
        );
        let (values, _) = super::super::hypergrad::trainable_values(&model);
        let moments =
            |s: f32| -> Vec<_> { values.iter().map(|v| v.mapv(|x| x * s + 0.5)).collect() };
        let state = InnerState {
            m: moments(2.0),
            v: moments(3.0),
            steps: 7,
        };
        let adam = InnerOptimizer::Adam(AdamConfig::adam(1e-3));
        let saved = to_optim_state(&state, &adam, &model);
        let back = from_optim_state(saved.clone(), &adam, &model).unwrap();
        assert_eq!(
            (back.m, back.v, back.steps),
            (state.m, state.v, state.steps)
        );
        let err = from_optim_state(saved, &InnerOptimizer::Sgd { lr: 0.1 }, &model).unwrap_err();
        assert!(err.to_string().contains("meta-adam"), "{err}");
    }
}
