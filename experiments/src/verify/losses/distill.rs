//! Random instances of the distillation losses (`methods::distill`, `methods::multidomain`) and
//! of the metaparameter objectives (`methods::meta`), for the loss table.

use anyhow::Result;
use autograd::op_table::Instance;
use methods::distill::{
    generalized_distillation_loss, hinton_loss, prob_distill_loss, prob_regression_loss,
    soft_targets, HintonConfig, IndexSet, LogNormalizer, ProbDistillConfig, ProbRegressionConfig,
    Reduction, TemperatureScaling,
};
use methods::meta::step::sgd_step;
use methods::meta::{train_loss, val_loss, MetaVars, TemperatureRange};
use methods::multidomain::{multidomain_loss, multidomain_regression_loss, MultiDomainConfig};
use ndarray::Ix2;
use rand::rngs::StdRng;

use super::{engine_error, labels, normal, uniform};

/// `B` objects, `K` classes in every classification instance.
const B: usize = 5;
const K: usize = 3;

/// Hinton's loss in the student logits, with the `T0²` factor and unequal weights (so that a
/// mistake in either weight or in the factor shows).
pub(super) fn hinton(rng: &mut StdRng) -> Result<Instance> {
    let (teacher, y) = (normal(rng, &[B, K], 2.0), labels(rng, B, K));
    let cfg = HintonConfig {
        hard_weight: 0.7,
        soft_weight: 0.4,
        temperature: 3.0,
        scaling: TemperatureScaling::Squared,
        reduction: Reduction::Sum,
    };
    Ok(Instance {
        inputs: vec![normal(rng, &[B, K], 1.0)],
        f: Box::new(move |tape, xs| {
            let v = tape.constant(teacher.clone());
            hinton_loss(xs[0], &y, v, &cfg).map_err(engine_error)
        }),
    })
}

/// Generalised distillation: the soft term on three of the five objects only.
pub(super) fn generalized(rng: &mut StdRng) -> Result<Instance> {
    let index = IndexSet::from_indices(B, &[1, 3, 4])?;
    let (teacher, y) = (normal(rng, &[3, K], 2.0), labels(rng, B, K));
    let cfg = HintonConfig::imitation(0.6, 2.5, TemperatureScaling::Squared)?;
    Ok(Instance {
        inputs: vec![normal(rng, &[B, K], 1.0)],
        f: Box::new(move |tape, xs| {
            let v = tape.constant(teacher.clone());
            generalized_distillation_loss(xs[0], &y, v, &index, &cfg).map_err(engine_error)
        }),
    })
}

/// Probabilistic distillation with the `log C` term. The logits lie in `[−1.5, 1.5]`, so at
/// `T0 = 2` every `g_k ≤ 1/(1 + 2e^{−1.5}) ≈ 0.69 < 1 − ε`: the clamp of `log C` (whose kink
/// is not differentiable) is never active near the point checked.
pub(super) fn prob_distill(rng: &mut StdRng) -> Result<Instance> {
    let index = IndexSet::from_indices(B, &[0, 2, 3])?;
    let teacher = normal(rng, &[3, K], 1.5).into_dimensionality::<Ix2>()?;
    let s = soft_targets(teacher.view(), 2.0)?.into_dyn();
    let y = labels(rng, B, K);
    let cfg = ProbDistillConfig {
        lambda: 0.35,
        temperature: 2.0,
        log_normalizer: LogNormalizer::Include { epsilon: 1e-3 },
        reduction: Reduction::Sum,
    };
    Ok(Instance {
        inputs: vec![uniform(rng, &[B, K], 1.5)],
        f: Box::new(move |tape, xs| {
            let s = tape.constant(s.clone());
            prob_distill_loss(xs[0], &y, s, &index, &cfg).map_err(engine_error)
        }),
    })
}

/// Probabilistic regression in the predictions `g`.
pub(super) fn prob_regression(rng: &mut StdRng) -> Result<Instance> {
    let n = 6;
    let index = IndexSet::from_indices(n, &[1, 2, 5])?;
    let (y, s) = (normal(rng, &[n], 1.0), normal(rng, &[3], 1.0));
    let cfg = ProbRegressionConfig {
        lambda: 0.3,
        sigma: 1.7,
        sigma_s: 0.6,
        reduction: Reduction::Sum,
    };
    Ok(Instance {
        inputs: vec![normal(rng, &[n], 1.0)],
        f: Box::new(move |tape, xs| {
            let (y, s) = (tape.constant(y.clone()), tape.constant(s.clone()));
            prob_regression_loss(xs[0], y, s, &index, &cfg).map_err(engine_error)
        }),
    })
}

/// The multi-domain loss (classification) at `λ = 0.3`, `T0 = 2`, in the student logits.
pub(super) fn multidomain(rng: &mut StdRng) -> Result<Instance> {
    let (teacher, y) = (normal(rng, &[B, K], 2.0), labels(rng, B, K));
    let cfg = MultiDomainConfig::seeds(0.3, 2.0)?;
    Ok(Instance {
        inputs: vec![normal(rng, &[B, K], 1.0)],
        f: Box::new(move |tape, xs| {
            let v = tape.constant(teacher.clone());
            multidomain_loss(xs[0], &y, v, &cfg).map_err(engine_error)
        }),
    })
}

/// The multi-domain loss (regression, two outputs) at `λ = 0.3`, in the predictions.
pub(super) fn multidomain_regression(rng: &mut StdRng) -> Result<Instance> {
    let (y, teacher) = (normal(rng, &[4, 2], 1.0), normal(rng, &[4, 2], 1.0));
    Ok(Instance {
        inputs: vec![normal(rng, &[4, 2], 1.0)],
        f: Box::new(move |tape, xs| {
            let (y, t) = (tape.constant(y.clone()), tape.constant(teacher.clone()));
            multidomain_regression_loss(xs[0], y, t, 0.3, Reduction::Sum).map_err(engine_error)
        }),
    })
}

/// `L_train` in the student logits and in the metaparameter coordinates `a` (so the
/// temperature is differentiated through both softmaxes), with the `T²` factor.
pub(super) fn meta_train(rng: &mut StdRng) -> Result<Instance> {
    let (teacher, y) = (normal(rng, &[B, K], 2.0), labels(rng, B, K));
    Ok(Instance {
        inputs: vec![normal(rng, &[B, K], 1.0), normal(rng, &[3], 0.5)],
        f: Box::new(move |tape, xs| {
            let meta =
                MetaVars::from_raw_var(xs[1], TemperatureRange::default()).map_err(engine_error)?;
            let v = tape.constant(teacher.clone());
            train_loss(xs[0], &y, v, &meta, TemperatureScaling::Squared).map_err(engine_error)
        }),
    })
}

/// The hypergradient's objective `L_val(W − γ ∇_W L_train(W, λ(a)))` of a linear student
/// (3 features, 3 classes), in `a` and `W`: its first derivatives are second derivatives of
/// `L_train`, its second-order check third derivatives.
pub(super) fn meta_unrolled(rng: &mut StdRng) -> Result<Instance> {
    let (x_train, v_train) = (normal(rng, &[B, 3], 1.0), normal(rng, &[B, K], 2.0));
    let x_val = normal(rng, &[4, 3], 1.0);
    let (y_train, y_val) = (labels(rng, B, K), labels(rng, 4, K));
    Ok(Instance {
        inputs: vec![normal(rng, &[3], 0.5), normal(rng, &[K, 3], 1.0)],
        f: Box::new(move |tape, xs| {
            let meta =
                MetaVars::from_raw_var(xs[0], TemperatureRange::default()).map_err(engine_error)?;
            let w = xs[1];
            let logits = tape.constant(x_train.clone()).matmul_t(w, false, true)?;
            let v = tape.constant(v_train.clone());
            let lt = train_loss(logits, &y_train, v, &meta, TemperatureScaling::None)
                .map_err(engine_error)?;
            let g = tape.grad_graph(lt, &[w])?.remove(0);
            let w1 = sgd_step(w, g, 0.7).map_err(engine_error)?;
            let val_logits = tape.constant(x_val.clone()).matmul_t(w1, false, true)?;
            val_loss(val_logits, &y_val).map_err(engine_error)
        }),
    })
}
