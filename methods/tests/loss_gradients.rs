//! Gradient checks (f64, central differences, `autograd::gradcheck`) of every distillation loss,
//! at first and second order. The default tolerances are justified in `autograd::Tolerance`.

use autograd::gradcheck::check_fn;
use autograd::{gradcheck, gradgradcheck, Tape, Tolerance, Var};
use methods::distill::{
    generalized_distillation_loss, hinton_loss, log_normalizer_term, prob_distill_loss,
    prob_regression_loss, soft_targets, HintonConfig, IndexSet, LogNormalizer, ProbDistillConfig,
    ProbRegressionConfig, Reduction, TemperatureScaling,
};
use ndarray::ArrayD;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

fn normal(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    ArrayD::from_shape_simple_fn(shape, || rng.sample(StandardNormal))
}

const B: usize = 5;
const K: usize = 3;
const LABELS: [usize; B] = [0, 2, 1, 1, 0];

/// First- and second-order checks of `f` at `x`, with the default tolerances.
fn check_both<Fun>(name: &str, f: &Fun, x: &[ArrayD<f64>], second_order: bool)
where
    Fun: for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> autograd::Result<Var<'t, f64>>,
{
    let report = gradcheck(f, x, Tolerance::default()).unwrap();
    assert!(report.passed(), "{name}: {report}");
    if second_order {
        let report = gradgradcheck(f, x, Tolerance::default()).unwrap();
        assert!(report.passed(), "{name}, second order: {report}");
    }
}

#[test]
fn hinton_loss_first_and_second_order() {
    let teacher = normal(&[B, K], 1);
    for (scaling, reduction) in [
        (TemperatureScaling::None, Reduction::Sum),
        (TemperatureScaling::Squared, Reduction::Mean),
    ] {
        let cfg = HintonConfig {
            hard_weight: 0.7,
            soft_weight: 0.4,
            temperature: 3.0,
            scaling,
            reduction,
        };
        let f = check_fn(|tape, xs| {
            let v = tape.constant(teacher.clone());
            hinton_loss(xs[0], &LABELS, v, &cfg).map_err(unwrap_autograd)
        });
        let x = [normal(&[B, K], 2)];
        check_both("hinton", &f, &x, true);
    }
}

#[test]
fn generalized_distillation_first_and_second_order() {
    let index = IndexSet::from_indices(B, &[1, 3, 4]).unwrap();
    let teacher = normal(&[3, K], 3);
    let cfg = HintonConfig::imitation(0.6, 2.5, TemperatureScaling::Squared).unwrap();
    let f = check_fn(|tape, xs| {
        let v = tape.constant(teacher.clone());
        generalized_distillation_loss(xs[0], &LABELS, v, &index, &cfg).map_err(unwrap_autograd)
    });
    let x = [normal(&[B, K], 4)];
    check_both("generalized", &f, &x, true);
}

fn teacher_probs(rows: usize, seed: u64, t: f64) -> ArrayD<f64> {
    let v = normal(&[rows, K], seed)
        .into_dimensionality::<ndarray::Ix2>()
        .unwrap();
    soft_targets(v.view(), t).unwrap().into_dyn()
}

#[test]
fn probabilistic_classification_with_and_without_log_c() {
    let index = IndexSet::from_indices(B, &[0, 2, 3]).unwrap();
    let s = teacher_probs(3, 5, 2.0);
    let z = normal(&[B, K], 6);
    // Away from the clamp: every g_k at T0 below 1 − ε (the clamp's kink is not differentiable).
    let g = soft_targets(z.view().into_dimensionality().unwrap(), 2.0).unwrap();
    assert!(
        g.iter().all(|&p| p < 1.0 - 1e-3),
        "test point too close to the clamp"
    );
    for (log_normalizer, reduction) in [
        (LogNormalizer::Omit, Reduction::Mean),
        (LogNormalizer::Include { epsilon: 1e-3 }, Reduction::Sum),
    ] {
        let cfg = ProbDistillConfig {
            lambda: 0.35,
            temperature: 2.0,
            log_normalizer,
            reduction,
        };
        let f = check_fn(|tape, xs| {
            let s = tape.constant(s.clone());
            prob_distill_loss(xs[0], &LABELS, s, &index, &cfg).map_err(unwrap_autograd)
        });
        let x = [z.clone()];
        check_both("prob distill", &f, &x, true);
    }
}

#[test]
fn log_normalizer_term_alone() {
    let f = check_fn(|_, xs| log_normalizer_term(xs[0], 1.5, 1e-3).map_err(unwrap_autograd));
    let x = [normal(&[4, K], 7)];
    check_both("log C", &f, &x, true);
}

#[test]
fn probabilistic_regression_in_predictions_and_in_linear_weights() {
    let n = 6;
    let index = IndexSet::from_indices(n, &[1, 2, 5]).unwrap();
    let y = normal(&[n], 8);
    let s = normal(&[3], 9);
    let cfg = ProbRegressionConfig {
        lambda: 0.3,
        sigma: 1.7,
        sigma_s: 0.6,
        reduction: Reduction::Sum,
    };
    let f = check_fn(|tape, xs| {
        let (y, s) = (tape.constant(y.clone()), tape.constant(s.clone()));
        prob_regression_loss(xs[0], y, s, &index, &cfg).map_err(unwrap_autograd)
    });
    let x = [normal(&[n], 10)];
    check_both("regression", &f, &x, true);

    // Through a linear model g = X w, the setting of the theorem.
    let design = normal(&[n, 2], 11);
    let g = check_fn(|tape, xs| {
        let pred = tape.constant(design.clone()).matmul(xs[0])?.reshape(&[n])?;
        let (y, s) = (tape.constant(y.clone()), tape.constant(s.clone()));
        prob_regression_loss(pred, y, s, &index, &cfg).map_err(unwrap_autograd)
    });
    let w = [normal(&[2, 1], 12)];
    check_both("regression in w", &g, &w, false);
}

/// The checks want `autograd::Result`; our losses return `methods::Result`. Every error these
/// tests can meet is an engine error; anything else is a bug in the test.
fn unwrap_autograd(e: methods::Error) -> autograd::Error {
    match e {
        methods::Error::Autograd(e) => e,
        other => panic!("unexpected error: {other}"),
    }
}
