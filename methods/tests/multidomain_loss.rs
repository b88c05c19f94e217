//! The multi-domain loss of S1: gradient checks (f64, central differences, first and second
//! order; default tolerances justified in `autograd::Tolerance`), known answers by hand, its
//! limits `λ = 1` (no teacher) and `λ = 0` (teacher only), and bad arguments.
//!
//! Known answers: hand values in f64 from closed forms against the loss on the tape in f64
//! through a handful of ops, both within a few ulps of the exact value; `1e-12` (absolute, on
//! values of order 1) leaves a factor ≈ 100.

use autograd::functional::{cross_entropy, Reduction};
use autograd::gradcheck::check_fn;
use autograd::{gradcheck, gradgradcheck, Tape, Tolerance, Var};
use methods::multidomain::{multidomain_loss, multidomain_regression_loss, MultiDomainConfig};
use ndarray::{array, ArrayD};
use nn::loss::{soft_target_loss, TemperatureScaling};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

const TOL: f64 = 1e-12;
const B: usize = 5;
const K: usize = 4;
const LABELS: [usize; B] = [3, 0, 1, 1, 2];

fn normal(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    ArrayD::from_shape_simple_fn(shape, || rng.sample(StandardNormal))
}

fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= TOL * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

/// First- and second-order checks of `f` at `x`, with the default tolerances.
fn check_both<Fun>(name: &str, f: &Fun, x: &[ArrayD<f64>])
where
    Fun: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> autograd::Result<Var<'t, f64>>,
{
    let report = gradcheck(f, x, Tolerance::default()).unwrap();
    assert!(report.passed(), "{name}: {report}");
    let report = gradgradcheck(f, x, Tolerance::default()).unwrap();
    assert!(report.passed(), "{name}, second order: {report}");
}

/// The checks want `autograd::Result`; the losses return `methods::Result`. Every error these
/// tests can meet is an engine error; anything else is a bug in the test.
fn unwrap_autograd(e: methods::Error) -> autograd::Error {
    match e {
        methods::Error::Autograd(e) => e,
        other => panic!("unexpected error: {other}"),
    }
}

#[test]
fn classification_form_first_and_second_order() {
    let teacher = normal(&[B, K], 1);
    for (lambda, temperature, scaling) in [
        (0.5, 1.0, TemperatureScaling::None),
        (0.2, 3.0, TemperatureScaling::Squared),
        (0.0, 2.0, TemperatureScaling::None),
        (1.0, 1.0, TemperatureScaling::None),
    ] {
        let cfg = MultiDomainConfig {
            lambda,
            temperature,
            scaling,
            reduction: Reduction::Mean,
        };
        let f = check_fn(|tape, xs| {
            let v = tape.constant(teacher.clone());
            multidomain_loss(xs[0], &LABELS, v, &cfg).map_err(unwrap_autograd)
        });
        check_both(
            &format!("classification λ = {lambda}"),
            &f,
            &[normal(&[B, K], 2)],
        );
    }
}

#[test]
fn regression_form_first_and_second_order_in_predictions_and_through_a_linear_model() {
    for shape in [vec![B], vec![B, 3]] {
        let y = normal(&shape, 3);
        let teacher = normal(&shape, 4);
        let f = check_fn(|tape, xs| {
            let (y, t) = (tape.constant(y.clone()), tape.constant(teacher.clone()));
            multidomain_regression_loss(xs[0], y, t, 0.3, Reduction::Mean).map_err(unwrap_autograd)
        });
        check_both(&format!("regression {shape:?}"), &f, &[normal(&shape, 5)]);
    }
    // g(x) = X w, the student the seed's regression form has in mind
    let design = normal(&[B, 2], 6);
    let (y, teacher) = (normal(&[B], 7), normal(&[B], 8));
    let g = check_fn(|tape, xs| {
        let pred = tape.constant(design.clone()).matmul(xs[0])?.reshape(&[B])?;
        let (y, t) = (tape.constant(y.clone()), tape.constant(teacher.clone()));
        multidomain_regression_loss(pred, y, t, 0.6, Reduction::Sum).map_err(unwrap_autograd)
    });
    check_both("regression in w", &g, &[normal(&[2, 1], 9)]);
}

#[test]
fn classification_by_hand() {
    // One object, K = 2: z = (0, ln 3) → g = (1/4, 3/4) at T = 1; label 1: CE = ln(4/3).
    // Teacher logits v = (ln 3, 0) → f = (3/4, 1/4) at T0 = 1:
    //   teacher term = −(3/4 ln(1/4) + 1/4 ln(3/4)).
    // L = λ · ln(4/3) + (1 − λ) · teacher term, λ = 0.3.
    let hard = (4.0f64 / 3.0).ln();
    let soft = -(0.75 * 0.25f64.ln() + 0.25 * 0.75f64.ln());
    let tape = Tape::<f64>::new();
    let z = tape.param(array![[0.0, 3f64.ln()]]);
    let v = tape.constant(array![[3f64.ln(), 0.0]]);
    let cfg = MultiDomainConfig::seeds(0.3, 1.0).unwrap();
    let loss = multidomain_loss(z, &[1], v, &cfg).unwrap().item().unwrap();
    close(loss, 0.3 * hard + 0.7 * soft, "λ = 0.3, T0 = 1");
}

#[test]
fn lambda_one_is_cross_entropy_and_lambda_zero_is_the_teacher_term() {
    let tape = Tape::<f64>::new();
    let z = tape.param(normal(&[B, K], 10));
    let v = tape.constant(normal(&[B, K], 11));
    let at = |lambda| {
        let cfg = MultiDomainConfig {
            lambda,
            temperature: 2.5,
            scaling: TemperatureScaling::Squared,
            reduction: Reduction::Mean,
        };
        multidomain_loss(z, &LABELS, v, &cfg)
            .unwrap()
            .item()
            .unwrap()
    };
    let ce = cross_entropy(z, &LABELS, Reduction::Mean)
        .unwrap()
        .item()
        .unwrap();
    let soft = soft_target_loss(z, v, 2.5, TemperatureScaling::Squared, Reduction::Mean)
        .unwrap()
        .item()
        .unwrap();
    close(at(1.0), ce, "λ = 1");
    close(at(0.0), soft, "λ = 0");
    close(at(0.25), 0.25 * ce + 0.75 * soft, "λ = 0.25");
}

/// S1 sums over the objects; the batch mean divides both forms by `B`, nothing else.
#[test]
fn the_seeds_sum_is_b_times_the_batch_mean() {
    let tape = Tape::<f64>::new();
    let z = tape.param(normal(&[B, K], 16));
    let v = tape.constant(normal(&[B, K], 17));
    let sum = MultiDomainConfig::seeds(0.4, 2.0).unwrap();
    let mean = MultiDomainConfig {
        reduction: Reduction::Mean,
        ..sum
    };
    let value = |cfg| {
        multidomain_loss(z, &LABELS, v, &cfg)
            .unwrap()
            .item()
            .unwrap()
    };
    close(value(sum), B as f64 * value(mean), "classification");
    let (g, y, t) = (
        tape.param(normal(&[B, 2], 18)),
        tape.constant(normal(&[B, 2], 19)),
        tape.constant(normal(&[B, 2], 20)),
    );
    let value = |r| {
        multidomain_regression_loss(g, y, t, 0.7, r)
            .unwrap()
            .item()
            .unwrap()
    };
    close(
        value(Reduction::Sum),
        B as f64 * value(Reduction::Mean),
        "regression",
    );
}

#[test]
fn regression_by_hand_and_the_teacher_is_a_constant() {
    // B = 2, d = 1: y = (1, 0), g = (0.5, 2), f∘φ = (0, 1), λ = 0.25:
    // labels: (0.25 + 4)/2 = 2.125; imitation: (0.25 + 1)/2 = 0.625;
    // L = 0.25 · 2.125 + 0.75 · 0.625 = 1.0.
    let tape = Tape::<f64>::new();
    let g = tape.param(array![0.5, 2.0]);
    let y = tape.constant(array![1.0, 0.0]);
    let teacher = tape.param(array![0.0, 1.0]);
    let loss = multidomain_regression_loss(g, y, teacher, 0.25, Reduction::Mean).unwrap();
    close(loss.item().unwrap(), 1.0, "regression");
    // ∂L/∂g_i = (2/B)[λ(g_i − y_i) + (1 − λ)(g_i − f_i)]: g_0: 0.25·(−0.5) + 0.75·0.5 = 0.25;
    // g_1: 0.25·2 + 0.75·1 = 1.25. The teacher gets no gradient (detached).
    let grads = tape.grad(loss, &[g, teacher]).unwrap();
    close(grads[0][[0]], 0.25, "∂L/∂g_0");
    close(grads[0][[1]], 1.25, "∂L/∂g_1");
    assert!(grads[1].iter().all(|&v| v == 0.0), "{:?}", grads[1]);
}

#[test]
fn bad_arguments_are_errors_naming_them() {
    let tape = Tape::<f64>::new();
    let z = tape.param(normal(&[B, K], 12));
    let v = tape.constant(normal(&[B, K], 13));
    for (lambda, temperature, needle) in [
        (1.5, 1.0, "λ (lambda)"),
        (-0.1, 1.0, "λ (lambda)"),
        (f64::NAN, 1.0, "λ (lambda)"),
        (0.5, 0.0, "T0 (temperature)"),
        (0.5, -2.0, "T0 (temperature)"),
    ] {
        let cfg = MultiDomainConfig {
            lambda,
            temperature,
            scaling: TemperatureScaling::None,
            reduction: Reduction::Sum,
        };
        let err = multidomain_loss(z, &LABELS, v, &cfg)
            .unwrap_err()
            .to_string();
        assert!(err.contains(needle), "{err}");
        assert!(
            err.contains("[0, 1]") || err.contains("> 0"),
            "the allowed range: {err}"
        );
    }
    let p = tape.param(normal(&[B], 14));
    let err = multidomain_regression_loss(p, p, p, 2.0, Reduction::Mean).unwrap_err();
    assert!(
        err.to_string().contains("must lie in [0, 1], got 2"),
        "{err}"
    );
    let wide = tape.constant(normal(&[B, 2], 15));
    let err = multidomain_regression_loss(p, wide, p, 0.5, Reduction::Mean).unwrap_err();
    assert!(err.to_string().contains("targets have shape"), "{err}");
}

#[test]
fn describe_names_the_weights_and_the_temperature() {
    let text = MultiDomainConfig::seeds(0.5, 1.0).unwrap().describe();
    assert!(
        text.contains("0.5·CE(y, g) + 0.5·CE(f∘φ at T0 = 1"),
        "{text}"
    );
    assert!(text.contains("unscaled"), "{text}");
    assert!(text.ends_with("sum over rows"), "{text}");
}
