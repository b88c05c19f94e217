//! Gradient checks (f64, central differences, `autograd::gradcheck`) of every transfer
//! regulariser and of the critics' training objectives. The default tolerances are justified in
//! `autograd::Tolerance`. Piecewise-linear pieces (ReLU, GroupSort) are checked at random points,
//! which lie at a distance ≫ ε = 1e-6 from a kink with probability ≈ 1 (the draws are seeded,
//! so a pass is reproducible).

use autograd::gradcheck::check_fn;
use autograd::{gradcheck, gradgradcheck, Tape, Tolerance, Var};
use methods::transfer::{
    attentive_feature_map_distance, feature_map_distance, gradient_penalty, l2_penalty, l2_sp,
    lipschitz_combination, Critic, CriticConfig, WassersteinConfig, WassersteinRegularizer,
};
use ndarray::{array, Array2, ArrayD};
use nn::layers::{Conv2d, Linear};
use nn::{Ctx, Module, Param};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

fn normal(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    ArrayD::from_shape_simple_fn(shape, || rng.sample(StandardNormal))
}

fn unwrap_autograd(e: methods::Error) -> autograd::Error {
    match e {
        methods::Error::Autograd(e) => e,
        methods::Error::Nn(nn::Error::Autograd(e)) => e,
        other => panic!("{other}"),
    }
}

/// First- and second-order checks of `f` at `x`, with the default tolerances.
fn check_both<Fun>(name: &str, f: &Fun, x: &[ArrayD<f64>], second_order: bool)
where
    Fun: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> autograd::Result<Var<'t, f64>>,
{
    // every input must matter: one whose gradient is identically zero would pass vacuously
    let tape = Tape::new();
    let xs: Vec<_> = x.iter().map(|v| tape.param(v.clone())).collect();
    let out = f(&tape, &xs).unwrap().sum();
    for (i, g) in tape.grad(out, &xs).unwrap().iter().enumerate() {
        assert!(
            g.iter().any(|&v| v != 0.0),
            "{name}: input {i} does not reach the output"
        );
    }
    let report = gradcheck(f, x, Tolerance::default()).unwrap();
    assert!(report.passed(), "{name}: {report}");
    if second_order {
        let report = gradgradcheck(f, x, Tolerance::default()).unwrap();
        assert!(report.passed(), "{name}, second order: {report}");
    }
}

#[test]
fn l2_and_l2_sp() {
    let sources = [normal(&[3, 2], 1), normal(&[4], 2)];
    let f = check_fn(|tape, xs| {
        let l2 = l2_penalty(&xs[..2], 0.3).map_err(unwrap_autograd)?.unwrap();
        let src: Vec<_> = sources.iter().map(|s| tape.constant(s.clone())).collect();
        let sp = l2_sp(&xs[..2], &src, 1.7)
            .map_err(unwrap_autograd)?
            .unwrap();
        l2.try_add(sp)
    });
    check_both(
        "L2 + L2-SP",
        &f,
        &[normal(&[3, 2], 3), normal(&[4], 4)],
        true,
    );
}

#[test]
fn delta_plain_and_with_attention() {
    // two layers: a conv map [B, C, H, W] and a dense one [B, C]
    let sources = [normal(&[2, 3, 2, 2], 5), normal(&[2, 4], 6)];
    let weights = [array![0.2, 0.5, 0.3], array![0.1, 0.2, 0.3, 0.4]];
    let f = check_fn(|tape, xs| {
        let src: Vec<_> = sources.iter().map(|s| tape.constant(s.clone())).collect();
        let plain = feature_map_distance(xs, &src, 0.7)
            .map_err(unwrap_autograd)?
            .unwrap();
        let att = attentive_feature_map_distance(xs, &src, &weights, 1.3)
            .map_err(unwrap_autograd)?
            .unwrap();
        plain.try_add(att)
    });
    check_both(
        "DELTA",
        &f,
        &[normal(&[2, 3, 2, 2], 7), normal(&[2, 4], 8)],
        true,
    );
}

#[test]
fn lipschitz_combination_of_two_values() {
    let f = check_fn(|_, xs| {
        let fx = xs[0].tanh();
        let gy = xs[1].sin_like();
        lipschitz_combination(fx, gy, 0.6).map_err(unwrap_autograd)
    });
    check_both(
        "α f + β g",
        &f,
        &[normal(&[4, 1], 9), normal(&[4, 1], 10)],
        true,
    );
}

/// A smooth nonlinearity for the second argument (`x / (1 + x²)`), so that the two terms
/// differ.
trait SinLike<'t> {
    fn sin_like(self) -> Var<'t, f64>;
}

impl<'t> SinLike<'t> for Var<'t, f64> {
    fn sin_like(self) -> Var<'t, f64> {
        self.try_div(self.square().add_scalar(1.0)).unwrap()
    }
}

/// The critic's parameters, in visiting order.
fn params_of(m: &dyn Module<f64>) -> Vec<Param<f64>> {
    let mut out = Vec::new();
    m.visit_params(&mut |_, p| out.push(p.clone()));
    out
}

/// The gradient penalty as a function of the critic's parameters: a second-order quantity
/// (the penalty contains `∇_x f`), differentiated once more by the check.
#[test]
fn gradient_penalty_in_the_critic_parameters() {
    let mut rng = StdRng::seed_from_u64(11);
    // tanh instead of the default ReLU: with ReLU the biases reach ∇_x f only through the
    // (piecewise constant) masks, so their gradient would be zero and the check vacuous
    let mut cfg = CriticConfig::gradient_penalty(&[5, 4]);
    cfg.activation = nn::layers::Activation::Tanh;
    let critic = Critic::<f64>::new(3, &cfg, &mut rng).unwrap();
    // the output layer's bias does not change ∇_x f: it is left out (bound as itself)
    let mut params = params_of(&critic);
    assert_eq!(params.pop().unwrap().shape(), [1]);
    let p = Array2::from_shape_simple_fn((4, 3), || rng.sample(StandardNormal));
    let q = Array2::from_shape_simple_fn((4, 3), || rng.sample::<f64, _>(StandardNormal) + 1.0);
    let eps = [0.1, 0.4, 0.7, 0.95];
    let f = check_fn(|tape, xs| {
        let ctx = Ctx::train(tape, 0);
        for (param, &v) in params.iter().zip(xs) {
            ctx.substitute(param, v);
        }
        gradient_penalty(&critic, &ctx, &p, &q, &eps, 10.0).map_err(unwrap_autograd)
    });
    let inputs: Vec<_> = params.iter().map(|p| p.value().to_owned()).collect();
    check_both("gradient penalty", &f, &inputs, true);
}

/// The orthonormal critic's dual objective in its parameters (through every Björck
/// iteration), and the Wasserstein penalty in the target layer's weights (through the fixed
/// critic), for a dense and a conv layer.
#[test]
fn wasserstein_objectives() {
    let mut rng = StdRng::seed_from_u64(12);
    let critic = Critic::<f64>::new(3, &CriticConfig::orthonormal(&[4, 2]), &mut rng).unwrap();
    let params = params_of(&critic);
    let (a, b) = (normal(&[5, 3], 13), normal(&[5, 3], 14));
    let f = check_fn(|tape, xs| {
        let ctx = Ctx::train(tape, 0);
        for (param, &v) in params.iter().zip(xs) {
            ctx.substitute(param, v);
        }
        critic
            .mean_gap(&ctx, tape.constant(a.clone()), tape.constant(b.clone()))
            .map_err(unwrap_autograd)
    });
    let inputs: Vec<_> = params.iter().map(|p| p.value().to_owned()).collect();
    check_both("orthonormal critic objective", &f, &inputs, true);

    let dense = Linear::<f64>::new(6, 4, true, &mut rng);
    let conv = Conv2d::<f64>::new(
        2,
        3,
        2,
        autograd::Conv2dGeometry::new(1, 0, 1),
        false,
        &mut rng,
    );
    let cfg = WassersteinConfig {
        critic: CriticConfig::orthonormal(&[4, 2]),
        ..Default::default()
    };
    for (model, name, shape) in [
        (&dense as &dyn Module<f64>, "weight", vec![4, 6]),
        (&conv as &dyn Module<f64>, "weight", vec![3, 2, 2, 2]),
    ] {
        let reg = WassersteinRegularizer::new(model, &[(name, 0.8)], &cfg, &mut rng).unwrap();
        let f = check_fn(|_, xs| {
            reg.penalty(&[(name.to_string(), xs[0])])
                .map_err(unwrap_autograd)
        });
        check_both(
            &format!("Wasserstein penalty {shape:?}"),
            &f,
            &[normal(&shape, 15)],
            true,
        );
    }
}
