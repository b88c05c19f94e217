//! Random instances of the transfer objectives (`methods::transfer`): the Wasserstein
//! regulariser in the target layer's weights, the critic's dual objective and the gradient
//! penalty in the critic's parameters, L2-SP and DELTA.

use anyhow::{ensure, Result};
use autograd::op_table::Instance;
use methods::transfer::{
    attentive_feature_map_distance, feature_map_distance, gradient_penalty, l2_penalty, l2_sp,
    Critic, CriticConfig, WassersteinConfig, WassersteinRegularizer,
};
use ndarray::{array, Ix2};
use nn::layers::{Activation, Linear};
use rand::rngs::StdRng;
use rand::Rng;

use super::{engine_error, normal, params_of, pass_with};

/// The Wasserstein penalty of a dense layer (`[4, 6]`: four points of `R⁶`) at `λ = 0.8`, in the
/// target weight, through a fixed orthonormal GroupSort critic (piecewise linear: the random
/// point lies ≫ ε from a kink with probability ≈ 1, and the seed fixes the draw).
pub(super) fn wasserstein_penalty(rng: &mut StdRng) -> Result<Instance> {
    let source = Linear::<f64>::new(6, 4, true, rng);
    let cfg = WassersteinConfig {
        critic: CriticConfig::orthonormal(&[4, 2]),
        ..Default::default()
    };
    let reg = WassersteinRegularizer::new(&source, &[("weight", 0.8)], &cfg, rng)?;
    Ok(Instance {
        inputs: vec![normal(rng, &[4, 6], 1.0)],
        f: Box::new(move |_, xs| {
            reg.penalty(&[("weight".to_string(), xs[0])])
                .map_err(engine_error)
        }),
    })
}

/// The critic's dual objective on two clouds of five points of `R³`, in the parameters of an
/// orthonormal critic (through every Björck iteration). The output layer's bias cancels in the
/// difference of the two means (its gradient is exactly 0): it is left out of the checked inputs.
pub(super) fn critic_dual(rng: &mut StdRng) -> Result<Instance> {
    let critic = Critic::<f64>::new(3, &CriticConfig::orthonormal(&[4, 2]), rng)?;
    let mut params = params_of(&critic);
    let bias = params.pop();
    ensure!(
        bias.is_some_and(|b| b.shape() == [1]),
        "the critic's last parameter is not its output bias"
    );
    let (a, b) = (normal(rng, &[5, 3], 1.0), normal(rng, &[5, 3], 1.0));
    Ok(Instance {
        inputs: params.iter().map(|p| p.value().to_owned()).collect(),
        f: Box::new(move |tape, xs| {
            let ctx = pass_with(tape, 0, &params, xs);
            critic
                .mean_gap(&ctx, tape.constant(a.clone()), tape.constant(b.clone()))
                .map_err(engine_error)
        }),
    })
}

/// The gradient penalty (`λ = 10`) of a tanh critic in its parameters: a second-order quantity
/// (it contains `∇_x f`) differentiated once and twice more. Tanh rather than the default ReLU:
/// with ReLU the biases reach `∇_x f` only through piecewise constant masks (zero gradient). The
/// output layer's bias does not change `∇_x f` and is left out.
pub(super) fn critic_gradient_penalty(rng: &mut StdRng) -> Result<Instance> {
    let mut cfg = CriticConfig::gradient_penalty(&[5, 4]);
    cfg.activation = Activation::Tanh;
    let critic = Critic::<f64>::new(3, &cfg, rng)?;
    let mut params = params_of(&critic);
    let bias = params.pop();
    ensure!(
        bias.is_some_and(|b| b.shape() == [1]),
        "the critic's last parameter is not its output bias"
    );
    let p = normal(rng, &[4, 3], 1.0).into_dimensionality::<Ix2>()?;
    let q = normal(rng, &[4, 3], 1.0)
        .mapv(|v| v + 1.0)
        .into_dimensionality::<Ix2>()?;
    let eps: Vec<f64> = (0..4).map(|_| rng.gen_range(0.05..0.95)).collect();
    Ok(Instance {
        inputs: params.iter().map(|p| p.value().to_owned()).collect(),
        f: Box::new(move |tape, xs| {
            let ctx = pass_with(tape, 0, &params, xs);
            gradient_penalty(&critic, &ctx, &p, &q, &eps, 10.0).map_err(engine_error)
        }),
    })
}

/// L2-SP: `α ‖w_cl‖² + β ‖w_enc − w_enc^src‖²`, in a classifier weight and two encoder tensors.
pub(super) fn l2_sp_penalty(rng: &mut StdRng) -> Result<Instance> {
    let sources = [normal(rng, &[3, 2], 1.0), normal(rng, &[4], 1.0)];
    Ok(Instance {
        inputs: vec![
            normal(rng, &[2, 3], 1.0),
            normal(rng, &[3, 2], 1.0),
            normal(rng, &[4], 1.0),
        ],
        f: Box::new(move |tape, xs| {
            let classifier = l2_penalty(&xs[..1], 0.3).map_err(engine_error)?;
            let src: Vec<_> = sources.iter().map(|s| tape.constant(s.clone())).collect();
            let sp = l2_sp(&xs[1..], &src, 1.7).map_err(engine_error)?;
            match (classifier, sp) {
                (Some(c), Some(s)) => c.try_add(s),
                _ => Err(autograd::Error::Argument {
                    op: "L2-SP",
                    reason: "a penalty of a non-empty list was None".into(),
                }),
            }
        }),
    })
}

/// DELTA's plain feature-map distance over a conv map `[B, C, H, W]` and a dense one `[B, C]`.
pub(super) fn delta(rng: &mut StdRng) -> Result<Instance> {
    let sources = [normal(rng, &[2, 3, 2, 2], 1.0), normal(rng, &[2, 4], 1.0)];
    Ok(Instance {
        inputs: vec![normal(rng, &[2, 3, 2, 2], 1.0), normal(rng, &[2, 4], 1.0)],
        f: Box::new(move |tape, xs| {
            let src: Vec<_> = sources.iter().map(|s| tape.constant(s.clone())).collect();
            let omega = feature_map_distance(xs, &src, 0.7).map_err(engine_error)?;
            omega.ok_or_else(|| autograd::Error::Argument {
                op: "DELTA",
                reason: "the penalty of a non-empty list was None".into(),
            })
        }),
    })
}

/// DELTA with channel attention, the same maps, fixed attention weights per channel.
pub(super) fn delta_attentive(rng: &mut StdRng) -> Result<Instance> {
    let sources = [normal(rng, &[2, 3, 2, 2], 1.0), normal(rng, &[2, 4], 1.0)];
    let weights = [array![0.2, 0.5, 0.3], array![0.1, 0.2, 0.3, 0.4]];
    Ok(Instance {
        inputs: vec![normal(rng, &[2, 3, 2, 2], 1.0), normal(rng, &[2, 4], 1.0)],
        f: Box::new(move |tape, xs| {
            let src: Vec<_> = sources.iter().map(|s| tape.constant(s.clone())).collect();
            let omega =
                attentive_feature_map_distance(xs, &src, &weights, 1.3).map_err(engine_error)?;
            omega.ok_or_else(|| autograd::Error::Argument {
                op: "DELTA",
                reason: "the penalty of a non-empty list was None".into(),
            })
        }),
    })
}
