//! The traps of the public API that used to give a wrong number without a word, each shown
//! fixed: the old misuse now gives the right number, or an error that names the function called.
//! The numbers are printed (`cargo test -p methods --test api_traps -- --nocapture`).
//!
//! Tolerances: the "same number" comparisons are exact (the fixed path does the same
//! floating-point operations on the same values as the reference path) unless stated.

use autograd::{Tape, Var};
use methods::distill::{
    generalized_distillation_loss, hinton_loss, prob_distill_loss, prob_regression_loss,
    soft_targets, solve_prob_regression, wls_form, HintonConfig, IndexSet, LogNormalizer,
    ProbDistillConfig, ProbRegressionConfig, Reduction,
};
use ndarray::{array, Array1, Array2, Axis};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

fn normal1(n: usize, rng: &mut StdRng) -> Array1<f64> {
    Array1::from_shape_simple_fn(n, || rng.sample(StandardNormal))
}

fn normal2(r: usize, c: usize, rng: &mut StdRng) -> Array2<f64> {
    Array2::from_shape_simple_fn((r, c), || rng.sample(StandardNormal))
}

const GIVEN: [usize; 3] = [7, 2, 5];
const SORTED: [usize; 3] = [2, 5, 7];

/// The case: `I = [7, 2, 5]` with the answers of objects 7, 2, 5 in that order. The
/// solvers used to read the answers in ascending order of `I` — the answer of 7 as that of 2 —
/// and returned another solution without a word; the set now keeps the order it was given.
#[test]
fn regression_answers_follow_the_order_of_the_index_set() {
    let mut rng = StdRng::seed_from_u64(23);
    let (n, p) = (10, 2);
    let x = normal2(n, p, &mut rng);
    let y = normal1(n, &mut rng);
    let teacher_all = x.dot(&array![2.0, -1.0]);
    let cfg = ProbRegressionConfig {
        lambda: 0.8,
        ..ProbRegressionConfig::default()
    };
    let answers = |order: &[usize]| teacher_all.select(Axis(0), order);
    let given = IndexSet::from_indices(n, &GIVEN).unwrap();
    let sorted = IndexSet::from_indices(n, &SORTED).unwrap();

    let right = solve_prob_regression(x.view(), y.view(), answers(&SORTED).view(), &sorted, &cfg)
        .unwrap()
        .w;
    let now = solve_prob_regression(x.view(), y.view(), answers(&GIVEN).view(), &given, &cfg)
        .unwrap()
        .w;
    // What the old code computed: the caller's answers read as those of 2, 5, 7.
    let old = solve_prob_regression(x.view(), y.view(), answers(&GIVEN).view(), &sorted, &cfg)
        .unwrap()
        .w;
    let rel = |w: &Array1<f64>| (w - &right).dot(&(w - &right)).sqrt() / right.dot(&right).sqrt();
    println!(
        "solve_prob_regression, I = {GIVEN:?}: right w = {right}, now {now} (rel. error {:.1e}), \
         old {old} (rel. error {:.3})",
        rel(&now),
        rel(&old)
    );
    assert_eq!(now, right);
    assert!(
        rel(&old) > 0.05,
        "the test case must separate the two readings"
    );

    let form_now = wls_form(y.view(), answers(&GIVEN).view(), &given, &cfg).unwrap();
    let form_right = wls_form(y.view(), answers(&SORTED).view(), &sorted, &cfg).unwrap();
    assert_eq!(form_now, form_right);

    let tape = Tape::<f64>::new();
    let w = tape.constant(right.clone().into_shape_with_order((p, 1)).unwrap());
    let pred = tape.constant(x.clone()).matmul(w).unwrap(); // [n, 1], as a Linear(p → 1)
    let loss = |order: &[usize], index: &IndexSet| {
        let s = tape.constant(answers(order));
        prob_regression_loss(pred, tape.constant(y.clone()), s, index, &cfg)
            .unwrap()
            .item()
            .unwrap()
    };
    let (l_now, l_right, l_old) = (
        loss(&GIVEN, &given),
        loss(&SORTED, &sorted),
        loss(&GIVEN, &sorted),
    );
    println!("prob_regression_loss: right {l_right:.6}, now {l_now:.6}, old {l_old:.6}");
    assert_eq!(l_now, l_right);
    assert!((l_old - l_right).abs() > 1e-2 * l_right);
}

/// The same for the classification losses: the teacher rows follow `I`'s order.
#[test]
fn classification_answers_follow_the_order_of_the_index_set() {
    let mut rng = StdRng::seed_from_u64(24);
    let (n, k) = (8, 3);
    let z = normal2(n, k, &mut rng);
    let v_all = normal2(n, k, &mut rng).mapv(|v| 3.0 * v);
    let labels: Vec<usize> = (0..n).map(|i| i % k).collect();
    let given = IndexSet::from_indices(n, &GIVEN).unwrap();
    let sorted = IndexSet::from_indices(n, &SORTED).unwrap();
    let tape = Tape::<f64>::new();
    let zv = tape.param(z);
    let rows = |order: &[usize]| v_all.select(Axis(0), order);

    type Loss<'a> = dyn Fn(&[usize], &IndexSet) -> f64 + 'a;
    let prob_cfg = ProbDistillConfig {
        lambda: 0.7,
        ..ProbDistillConfig::default()
    };
    let prob: &Loss = &|order, index| {
        let s: Var<'_, f64> = tape.constant(soft_targets(rows(order).view(), 2.0).unwrap());
        prob_distill_loss(zv, &labels, s, index, &prob_cfg)
            .unwrap()
            .item()
            .unwrap()
    };
    let hinton_cfg = HintonConfig::seeds(2.0).unwrap();
    let generalized: &Loss = &|order, index| {
        generalized_distillation_loss(zv, &labels, tape.constant(rows(order)), index, &hinton_cfg)
            .unwrap()
            .item()
            .unwrap()
    };
    for (name, f) in [
        ("prob_distill_loss", prob),
        ("generalized_distillation_loss", generalized),
    ] {
        let (now, right, old) = (f(&GIVEN, &given), f(&SORTED, &sorted), f(&GIVEN, &sorted));
        println!("{name}, I = {GIVEN:?}: right {right:.6}, now {now:.6}, old {old:.6}");
        assert_eq!(now, right, "{name}");
        assert!(
            (old - right).abs() > 1e-2 * right.abs(),
            "{name}: {old} vs {right}"
        );
    }
}

/// A wrong number of answers stays an error, and the error names the function that was called
/// (it used to say "regression theorem" when `solve_prob_regression` was called).
#[test]
fn errors_name_the_function_called() {
    let index = IndexSet::from_indices(3, &[2, 0]).unwrap();
    let x = array![[1.0], [2.0], [3.0]];
    let y = array![0.0, 1.0, 2.0];
    let three = array![1.0, 2.0, 3.0];
    let cfg = ProbRegressionConfig::default();
    let message = "3 teacher answers but I has 2 elements";
    let e = solve_prob_regression(x.view(), y.view(), three.view(), &index, &cfg).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("solve_prob_regression: {message}")),
        "{e}"
    );
    let e = wls_form(y.view(), three.view(), &index, &cfg).unwrap_err();
    assert!(
        e.to_string().starts_with(&format!("wls_form: {message}")),
        "{e}"
    );

    let tape = Tape::<f64>::new();
    let (g, t) = (tape.param(y.clone()), tape.constant(y.clone()));
    let e = prob_regression_loss(g, t, tape.constant(three), &index, &cfg).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("prob_regression_loss: {message}")),
        "{e}"
    );
    let z = tape.param(Array2::<f64>::zeros((3, 2)));
    let s = tape.constant(Array2::from_elem((3, 2), 0.5));
    let prob = ProbDistillConfig::default();
    let e = prob_distill_loss(z, &[0, 1, 0], s, &index, &prob).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("prob_distill_loss: {message}")),
        "{e}"
    );
    let hinton = HintonConfig::seeds(2.0).unwrap();
    let e = generalized_distillation_loss(z, &[0, 1, 0], s, &index, &hinton).unwrap_err();
    assert!(
        e.to_string()
            .starts_with(&format!("generalized_distillation_loss: {message}")),
        "{e}"
    );
    // An index set over another number of objects than the batch.
    let other = IndexSet::from_indices(4, &[0]).unwrap();
    let e = prob_distill_loss(z, &[0, 1, 0], s.slice(0, 0, 1).unwrap(), &other, &prob);
    assert!(e
        .unwrap_err()
        .to_string()
        .contains("over 4 objects but the batch has 3"));
}

/// `prob_regression_loss` takes `[B]` or `[B, 1]` for each of its three inputs (a `Linear(p →
/// 1)` gives `[B, 1]`; it used to refuse that), and the same values give the same number in
/// either layout. A `[B, 2]` prediction is refused, naming the function.
#[test]
fn regression_loss_accepts_columns() {
    let cfg = ProbRegressionConfig {
        lambda: 0.3,
        sigma: 1.5,
        sigma_s: 0.5,
        reduction: Reduction::Sum,
    };
    let index = IndexSet::from_indices(3, &[1]).unwrap();
    let tape = Tape::<f64>::new();
    let flat = prob_regression_loss(
        tape.param(array![1.0, 2.0, 3.0]),
        tape.constant(array![0.5, 2.5, 2.0]),
        tape.constant(array![1.0]),
        &index,
        &cfg,
    )
    .unwrap()
    .item()
    .unwrap();
    let column = prob_regression_loss(
        tape.param(array![[1.0], [2.0], [3.0]]),
        tape.constant(array![[0.5], [2.5], [2.0]]),
        tape.constant(array![[1.0]]),
        &index,
        &cfg,
    )
    .unwrap()
    .item()
    .unwrap();
    // By hand, σ² = 2.25, σ_s² = 0.25, λ = 0.3: the labels 2.25·(0.25 + 0.7·0.25 + 1) = 3.20625,
    // the answer of object 1: 0.3·0.25·(1 − 2)² = 0.075; in all 3.28125.
    assert!((flat - 3.28125).abs() < 1e-14, "{flat}");
    assert_eq!(flat, column);
    let wide = tape.param(Array2::<f64>::zeros((3, 2)));
    let e = prob_regression_loss(
        wide,
        tape.constant(array![0.0, 0.0, 0.0]),
        tape.constant(array![1.0]),
        &index,
        &cfg,
    );
    let e = e.unwrap_err().to_string();
    assert!(
        e.starts_with("prob_regression_loss: predictions must be [B] or [B, 1]"),
        "{e}"
    );
}

/// The seeds' Hinton loss is one call, `HintonConfig::seeds(T0)`: α = β = 1, no `T²`, summed
/// over the objects. `HintonConfig::default()` (which silently meant `T0 = 2` and a batch mean)
/// no longer exists. Every distillation loss's `Sum` is `B` times its `Mean`.
#[test]
fn the_seeds_formula_is_one_call_and_reductions_differ_by_b() {
    // Two objects, K = 2, T0 = 1. z_0 = (0, ln 3) → g = (¼, ¾), label 1; z_1 = (0, 0) →
    // g = (½, ½), label 0. Teacher v = (0, 0) for both: f = (½, ½).
    // L = −ln ¾ − ln ½ − ½(ln ¼ + ln ¾) − ½(ln ½ + ln ½).
    let tape = Tape::<f64>::new();
    let z = tape.param(array![[0.0, 3f64.ln()], [0.0, 0.0]]);
    let v = tape.constant(array![[0.0, 0.0], [0.0, 0.0]]);
    let seeds = HintonConfig::seeds(1.0).unwrap();
    let got = hinton_loss(z, &[1, 0], v, &seeds).unwrap().item().unwrap();
    let (l4, l34, l2) = (0.25f64.ln(), 0.75f64.ln(), 0.5f64.ln());
    let want = -l34 - l2 - 0.5 * (l4 + l34) - l2;
    assert!((got - want).abs() < 1e-14, "{got} vs {want}");

    let mean = HintonConfig {
        reduction: Reduction::Mean,
        ..seeds
    };
    let all = IndexSet::all(2);
    let s = tape.constant(array![[0.5, 0.5], [0.5, 0.5]]);
    // Columns 0 as [B, 1] regression inputs.
    let (z1, v1, s1) = (
        z.slice(1, 0, 1).unwrap(),
        v.slice(1, 0, 1).unwrap(),
        s.slice(1, 0, 1).unwrap(),
    );
    let sum_mean = |r: Reduction| {
        let prob = ProbDistillConfig {
            log_normalizer: LogNormalizer::Omit,
            reduction: r,
            ..ProbDistillConfig::default()
        };
        let reg = ProbRegressionConfig {
            reduction: r,
            ..ProbRegressionConfig::default()
        };
        let h = HintonConfig {
            reduction: r,
            ..mean
        };
        [
            hinton_loss(z, &[1, 0], v, &h).unwrap(),
            generalized_distillation_loss(z, &[1, 0], v, &all, &h).unwrap(),
            prob_distill_loss(z, &[1, 0], s, &all, &prob).unwrap(),
            prob_regression_loss(z1, v1, s1, &all, &reg).unwrap(),
        ]
        .map(|l| l.item().unwrap())
    };
    let (sums, means) = (sum_mean(Reduction::Sum), sum_mean(Reduction::Mean));
    for (s, m) in sums.iter().zip(means) {
        // One multiplication by ½ apart: exact.
        assert_eq!(*s, 2.0 * m);
    }
}
