//! Every layer and loss, checked in f64 through the module API: the checked function binds the
//! checker's variables in place of the module's parameters (`Ctx::substitute`), so the gradients
//! with respect to the input and to every parameter are all compared with finite differences.

use autograd::gradcheck::check_fn;
use autograd::{gradcheck, gradgradcheck, Conv2dGeometry, Tape, Tolerance};
use ndarray::{ArrayD, IxDyn};
use nn::init::Init;
use nn::layers::{
    mlp, Activation, Conv2d, Dropout, Flatten, Linear, MaxPool2d, OrthonormalLinear, Sequential,
    SpectralNormLinear, VariationalLinear,
};
use nn::loss::{soft_target_loss, Reduction, TemperatureScaling};
use nn::{Ctx, Module, Param};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

/// Distinct input values at least 0.1 apart, so that ReLU, max-pooling and sorting have no kink
/// or tie within the finite-difference step of any checked point.
fn distinct(shape: &[usize], rng: &mut StdRng) -> ArrayD<f64> {
    let n: usize = shape.iter().product();
    let mut ranks: Vec<usize> = (0..n).collect();
    ranks.shuffle(rng);
    let values = ranks
        .iter()
        .map(|&r| 0.1 * r as f64 - 0.05 * n as f64 + 0.013)
        .collect();
    ArrayD::from_shape_vec(IxDyn(shape), values).unwrap()
}

/// The module's parameters, in visiting order.
fn params_of(m: &dyn Module<f64>) -> Vec<Param<f64>> {
    let mut out = Vec::new();
    m.visit_params(&mut |_, p| out.push(p.clone()));
    out
}

/// Checks `model` on `input` (first order; second order too if `second`).
fn check(name: &str, model: &dyn Module<f64>, input: ArrayD<f64>, training: bool, second: bool) {
    let params = params_of(model);
    let mut inputs = vec![input];
    inputs.extend(params.iter().map(|p| p.value().to_owned()));
    let f = check_fn(|tape, xs| {
        // a fixed dropout seed: the same mask at every evaluation
        let ctx = if training {
            Ctx::train(tape, 7)
        } else {
            Ctx::eval(tape)
        };
        for (p, &v) in params.iter().zip(&xs[1..]) {
            ctx.substitute(p, v);
        }
        model.forward(&ctx, xs[0]).map_err(|e| match e {
            nn::Error::Autograd(e) => e,
            other => panic!("{name}: {other}"),
        })
    });
    // every checked input must matter: a parameter that silently stopped reaching the output
    // would have zero analytic and zero numeric gradients, and pass vacuously
    let tape = Tape::new();
    let xs: Vec<_> = inputs.iter().map(|x| tape.param(x.view())).collect();
    let out = f(&tape, &xs).unwrap();
    // distinct weights per output element (a plain sum of a softmax would be constant)
    let n = out.numel();
    let weights = ArrayD::from_shape_vec(IxDyn(&out.shape()), (1..=n).map(|k| k as f64).collect());
    let weights = tape.constant(weights.unwrap());
    let grads = tape.grad(out.try_mul(weights).unwrap().sum(), &xs).unwrap();
    for (i, g) in grads.iter().enumerate() {
        assert!(
            g.iter().any(|&v| v != 0.0),
            "{name}: input {i} does not reach the output"
        );
    }
    let report = gradcheck(f, &inputs, Tolerance::default()).unwrap();
    assert!(report.passed(), "{name}: {report}");
    if second {
        let report = gradgradcheck(f, &inputs, Tolerance::default()).unwrap();
        assert!(report.passed(), "{name} (second order): {report}");
    }
}

#[test]
fn every_layer_passes_gradcheck() {
    let mut rng = StdRng::seed_from_u64(11);
    let r = &mut rng;
    check(
        "linear",
        &Linear::new(5, 3, true, r),
        distinct(&[4, 5], r),
        false,
        true,
    );
    check(
        "linear without bias",
        &Linear::new(5, 3, false, r),
        distinct(&[2, 5], r),
        false,
        true,
    );
    // through all Björck iterations (the default 15, and 3 where the iterate is still far from
    // orthonormal), wide, square and tall, from a generic (not orthogonal) weight
    for (i, o, iterations) in [(5, 3, 15), (4, 4, 3), (3, 5, 15)] {
        let mut layer = OrthonormalLinear::new(i, o, true, r).with_iterations(iterations);
        layer.weight = Linear::new(i, o, false, r).weight().clone();
        let name = format!("orthonormal linear {i}→{o}, {iterations} Björck iterations");
        check(&name, &layer, distinct(&[3, i], r), false, true);
    }
    // ũ, ṽ are constants of the tape and come from the parameter's stored value: the
    // finite differences hold them fixed too
    check(
        "spectral-norm linear",
        &SpectralNormLinear::new(5, 3, true, r),
        distinct(&[4, 5], r),
        false,
        true,
    );
    for (stride, pad, dil) in [(1, 0, 1), (2, 1, 1), (1, 2, 2)] {
        let conv = Conv2d::new(2, 3, 3, Conv2dGeometry::new(stride, pad, dil), true, r);
        let name = format!("conv2d stride {stride} pad {pad} dilation {dil}");
        check(&name, &conv, distinct(&[2, 2, 7, 6], r), false, true);
    }
    check(
        "max_pool2d",
        &MaxPool2d::new(2),
        distinct(&[2, 2, 4, 6], r),
        false,
        true,
    );
    check("flatten", &Flatten, distinct(&[2, 3, 2], r), false, true);
    // a fixed noise seed (the check's training pass): the same draw at every evaluation
    check(
        "variational linear (training)",
        &VariationalLinear::new(5, 3, true, Init::TorchDefault, -1.0, r).unwrap(),
        distinct(&[4, 5], r),
        true,
        true,
    );
    check(
        "dropout (training)",
        &Dropout::new(0.3).unwrap(),
        distinct(&[4, 6], r),
        true,
        true,
    );
    check(
        "dropout (eval)",
        &Dropout::new(0.3).unwrap(),
        distinct(&[4, 6], r),
        false,
        true,
    );
    for act in [
        Activation::Relu,
        Activation::LeakyRelu(0.1),
        Activation::Tanh,
        Activation::Sigmoid,
        Activation::Softmax,
        Activation::MaxMin,
        Activation::GroupSort(3),
        Activation::Identity,
    ] {
        check(&format!("{act:?}"), &act, distinct(&[3, 6], r), false, true);
    }
    let lenet = Sequential::new()
        .push(Conv2d::new(1, 2, 3, Conv2dGeometry::new(1, 1, 1), true, r))
        .push(Activation::Relu)
        .push(MaxPool2d::new(2))
        .push(Flatten)
        .push(Linear::new(8, 3, true, r));
    check(
        "small CNN",
        &lenet,
        distinct(&[2, 1, 4, 4], r),
        false,
        false,
    );
    check(
        "mlp",
        &mlp::<f64>(&[4, 6, 5, 3], Activation::Tanh, true, r),
        distinct(&[3, 4], r),
        false,
        true,
    );
}

/// The soft-target term at several temperatures, with and without `T²`, with respect to the
/// student's logits. (The teacher's logits are detached by design, so they enter as a constant;
/// `soft_target_loss_does_not_train_the_teacher` checks that no gradient reaches them.)
#[test]
fn soft_target_loss_passes_gradcheck() {
    let mut rng = StdRng::seed_from_u64(5);
    let teacher = ArrayD::from_shape_simple_fn(IxDyn(&[3, 4]), || rng.gen_range(-2.0..2.0));
    for t in [1.0, 2.5, 8.0] {
        for scaling in [TemperatureScaling::None, TemperatureScaling::Squared] {
            let student = distinct(&[3, 4], &mut rng);
            let f = check_fn(|tape, xs| {
                let v = tape.constant(teacher.clone());
                soft_target_loss(xs[0], v, t, scaling, Reduction::Mean).map_err(|e| match e {
                    nn::Error::Autograd(e) => e,
                    other => panic!("{other}"),
                })
            });
            let report =
                gradcheck(f, std::slice::from_ref(&student), Tolerance::default()).unwrap();
            assert!(report.passed(), "T = {t}, {scaling:?}: {report}");
            let report = gradgradcheck(f, &[student], Tolerance::default()).unwrap();
            assert!(
                report.passed(),
                "T = {t}, {scaling:?} (second order): {report}"
            );
        }
    }
}

/// With `T²` scaling the loss is exactly `T²` times the unscaled one.
#[test]
fn temperature_scaling_multiplies_by_t_squared() {
    let tape = Tape::<f64>::new();
    let z = tape.param(ndarray::array![[0.2, -1.0, 3.0]]);
    let v = tape.constant(ndarray::array![[1.0, 0.5, -0.5]]);
    let plain = soft_target_loss(z, v, 3.0, TemperatureScaling::None, Reduction::Mean).unwrap();
    let scaled = soft_target_loss(z, v, 3.0, TemperatureScaling::Squared, Reduction::Mean).unwrap();
    assert_eq!(scaled.item().unwrap(), 9.0 * plain.item().unwrap());
}

/// The teacher's logits are constants of the soft-target loss: no gradient reaches them even
/// when they are parameters.
#[test]
fn soft_target_loss_does_not_train_the_teacher() {
    let tape = Tape::<f64>::new();
    let z = tape.param(ndarray::array![[0.2, -1.0, 3.0]]);
    let v = tape.param(ndarray::array![[1.0, 0.5, -0.5]]);
    let loss = soft_target_loss(z, v, 2.0, TemperatureScaling::None, Reduction::Mean).unwrap();
    let g = tape.grad(loss, &[z, v]).unwrap();
    assert!(g[0].iter().any(|&x| x != 0.0));
    assert!(g[1].iter().all(|&x| x == 0.0));
}
