//! Known answers of the distillation losses on 2-class toy data, derived by hand in the
//! comments, and the identities that tie the losses together.
//!
//! Tolerances: the hand values are evaluated in f64 from their closed forms, the losses on the
//! tape in f64 through a handful of ops, so both are within a few ulps of the exact value;
//! `1e-12` (absolute, on values of order 1) leaves a factor ≈ 100 for that.

use autograd::{functional::cross_entropy, Tape};
use methods::distill::Reduction;
use methods::distill::{
    generalized_distillation_loss, hinton_loss, log_normalizer_term, prob_distill_loss,
    prob_regression_loss, HintonConfig, IndexSet, LogNormalizer, ProbDistillConfig,
    ProbRegressionConfig, TemperatureScaling,
};
use ndarray::{array, Array2};

const TOL: f64 = 1e-12;

fn close(got: f64, want: f64, what: &str) {
    assert!(
        (got - want).abs() <= TOL * want.abs().max(1.0),
        "{what}: got {got}, want {want}"
    );
}

#[test]
fn hinton_two_classes_by_hand() {
    // Student logits z = (0, ln 3): softmax(z) = (1/4, 3/4); label 1: hard = −ln(3/4) = ln(4/3).
    // Teacher logits v = (0, 0): f = (1/2, 1/2) at any T.
    // At T = 2: z/2 = (0, ln √3), g = (1, √3)/(1 + √3); soft = −½[ln g_0 + ln g_1]
    //   = ln(1 + √3) − ¼ ln 3.
    let hard = (4.0f64 / 3.0).ln();
    let soft = (1.0 + 3f64.sqrt()).ln() - 0.25 * 3f64.ln();
    for (scaling, factor) in [
        (TemperatureScaling::None, 1.0),
        (TemperatureScaling::Squared, 4.0),
    ] {
        let cfg = HintonConfig {
            hard_weight: 0.3,
            soft_weight: 0.9,
            temperature: 2.0,
            scaling,
            reduction: Reduction::Mean,
        };
        let tape = Tape::<f64>::new();
        let z = tape.param(array![[0.0, 3f64.ln()]]);
        let v = tape.constant(array![[0.0, 0.0]]);
        let loss = hinton_loss(z, &[1], v, &cfg).unwrap().item().unwrap();
        close(loss, 0.3 * hard + 0.9 * factor * soft, "hinton");
    }
}

#[test]
fn describe_names_the_temperature_scaling() {
    let plain = HintonConfig::seeds(2.0).unwrap().describe();
    assert!(
        plain.contains("unscaled") && plain.contains("sum over rows"),
        "{plain}"
    );
    let scaled = HintonConfig {
        scaling: TemperatureScaling::Squared,
        temperature: 3.0,
        reduction: Reduction::Mean,
        ..HintonConfig::seeds(2.0).unwrap()
    }
    .describe();
    assert!(
        scaled.contains("T0² = 9") && scaled.contains("mean over rows"),
        "{scaled}"
    );
    let omit = ProbDistillConfig {
        log_normalizer: LogNormalizer::Omit,
        ..ProbDistillConfig::default()
    };
    assert!(omit.describe().contains("without the log C"));
    assert!(ProbDistillConfig::default()
        .describe()
        .contains("with the log C"));
}

/// A 3-object batch with 3 classes for the identities below.
fn batch() -> (Array2<f64>, Array2<f64>, [usize; 3]) {
    (
        array![[0.2, -1.0, 0.7], [1.5, 0.1, -0.3], [-0.4, 0.9, 0.0]],
        array![[1.0, 0.0, -1.0], [0.3, 0.3, 2.0], [-2.0, 1.0, 0.5]],
        [2, 0, 1],
    )
}

#[test]
fn generalized_distillation_on_all_objects_is_hinton_and_on_none_is_cross_entropy() {
    let (z, v, y) = batch();
    let cfg = HintonConfig::imitation(0.4, 3.0, TemperatureScaling::Squared).unwrap();
    let tape = Tape::<f64>::new();
    let (zv, vv) = (tape.param(z.clone()), tape.constant(v.clone()));
    let all = generalized_distillation_loss(zv, &y, vv, &IndexSet::all(3), &cfg).unwrap();
    let hinton = hinton_loss(zv, &y, vv, &cfg).unwrap();
    close(all.item().unwrap(), hinton.item().unwrap(), "I = all");

    let none = generalized_distillation_loss(
        zv,
        &y,
        tape.constant(Array2::<f64>::zeros((0, 3))),
        &IndexSet::none(3),
        &cfg,
    )
    .unwrap();
    let ce = cross_entropy(zv, &y, Reduction::Mean)
        .unwrap()
        .item()
        .unwrap();
    close(none.item().unwrap(), 0.6 * ce, "I = ∅");

    // I = {1}: the soft term of object 1 alone, weighted 1/B (not 1/|I|).
    let one = IndexSet::from_indices(3, &[1]).unwrap();
    let v1 = tape.constant(v.slice(ndarray::s![1..2, ..]).to_owned());
    let partial = generalized_distillation_loss(zv, &y, v1, &one, &cfg).unwrap();
    let z1 = tape.param(z.slice(ndarray::s![1..2, ..]).to_owned());
    let soft_1 = hinton_loss(
        z1,
        &[y[1]],
        v1,
        &HintonConfig {
            hard_weight: 0.0,
            ..cfg
        },
    )
    .unwrap()
    .item()
    .unwrap();
    close(partial.item().unwrap(), 0.6 * ce + soft_1 / 3.0, "I = {1}");
}

#[test]
fn probabilistic_classification_by_hand() {
    // B = 2, K = 2, I = {1}, λ = 1/2, T0 = 1, teacher answer s_1 = (1/2, 1/2).
    // Object 0: z = (ln 3, 0) → g = (3/4, 1/4), label 0, i ∉ I: ln(3/4) with weight 1.
    // Object 1: z = (0, ln 3) → g = (1/4, 3/4), label 0, i ∈ I: ln(1/4) with weight 1 − λ = 1/2;
    //   teacher term λ Σ_k s_k ln g_k = ½ · ½ (ln(1/4) + ln(3/4));
    //   log C term λ Σ_k (ln g_k + ln ln(1/g_k)) = ½ (ln(1/4) + ln ln 4 + ln(3/4) + ln ln(4/3))
    //   (both g_k inside (ε, 1 − ε) for ε = 1e-3: the clamp is inactive).
    // Loss = −objective / B.
    let (l14, l34) = ((0.25f64).ln(), (0.75f64).ln());
    let without = l34 + 0.5 * l14 + 0.25 * (l14 + l34);
    let log_c = 0.5 * (l14 + 4f64.ln().ln() + l34 + (4.0f64 / 3.0).ln().ln());
    let index = IndexSet::from_indices(2, &[1]).unwrap();
    for (log_normalizer, objective) in [
        (LogNormalizer::Omit, without),
        (LogNormalizer::Include { epsilon: 1e-3 }, without + log_c),
    ] {
        let cfg = ProbDistillConfig {
            lambda: 0.5,
            temperature: 1.0,
            log_normalizer,
            reduction: Reduction::Mean,
        };
        let tape = Tape::<f64>::new();
        let z = tape.param(array![[3f64.ln(), 0.0], [0.0, 3f64.ln()]]);
        let s = tape.constant(array![[0.5, 0.5]]);
        let loss = prob_distill_loss(z, &[0, 0], s, &index, &cfg).unwrap();
        close(loss.item().unwrap(), -objective / 2.0, "probabilistic");
    }
}

#[test]
fn probabilistic_classification_reduces_to_cross_entropy_without_teacher_weight() {
    let (z, _, y) = batch();
    let tape = Tape::<f64>::new();
    let zv = tape.param(z);
    let ce = cross_entropy(zv, &y, Reduction::Mean)
        .unwrap()
        .item()
        .unwrap();
    let s = tape.constant(array![[0.2, 0.3, 0.5], [0.6, 0.2, 0.2]]);
    let index = IndexSet::from_indices(3, &[0, 2]).unwrap();
    let cfg = ProbDistillConfig {
        lambda: 0.0,
        ..ProbDistillConfig::default()
    };
    let loss = prob_distill_loss(zv, &y, s, &index, &cfg).unwrap();
    close(loss.item().unwrap(), ce, "λ = 0");
    let empty = tape.constant(Array2::<f64>::zeros((0, 3)));
    let cfg = ProbDistillConfig::default();
    let loss = prob_distill_loss(zv, &y, empty, &IndexSet::none(3), &cfg).unwrap();
    close(loss.item().unwrap(), ce, "I = ∅");
}

#[test]
fn log_c_clamp_keeps_value_and_gradient_finite_and_exact_inside() {
    // Inside (ε, 1 − ε) the term is Σ_k (ln g_k + ln ln(1/g_k)) exactly.
    let tape = Tape::<f64>::new();
    let z = tape.param(array![[0.0, 3f64.ln()]]);
    let r = log_normalizer_term(z, 1.0, 1e-3).unwrap().item().unwrap();
    let want = (0.25f64).ln() + 4f64.ln().ln() + (0.75f64).ln() + (4.0f64 / 3.0).ln().ln();
    close(r, want, "log C inside");

    // z = (20, 0) at T = 1: g_0 = 1/(1 + e^{−20}) > 1 − ε, so ln(1/g_0) ≈ 2.06e-9 < δ and the
    // k = 0 double log is the constant ln δ: its gradient is zero. The remaining gradient is
    //   ∂/∂z [ln g_0 + ln g_1] = (1 − 2 g_0, 1 − 2 g_1)   (∂ ln g_k/∂z = e_k − g)
    //   + (1/ln g_1)(e_1 − g)                          (∂ ln ln(1/g_1)/∂ ln g_1 = 1/ln g_1).
    // Without the clamp the k = 0 part would add (1/ln g_0)(e_0 − g) ≈ −4.9e8·(e_0 − g).
    let eps: f64 = 1e-3;
    let delta = -(-eps).ln_1p();
    let tape = Tape::<f64>::new();
    let z = tape.param(array![[20.0, 0.0]]);
    let r = log_normalizer_term(z, 1.0, eps).unwrap();
    let grad = tape.grad(r, &[z]).unwrap().remove(0);
    let g1 = 1.0 / (1.0 + 20f64.exp());
    let g0 = 1.0 - g1;
    let ln_g1 = -(1.0 + 20f64.exp()).ln();
    let ln_g0 = -(-20f64).exp().ln_1p();
    let want_value = ln_g0 + delta.ln() + ln_g1 + (-ln_g1).ln();
    close(r.item().unwrap(), want_value, "log C clamped value");
    let want = [
        1.0 - 2.0 * g0 - g0 / ln_g1,
        1.0 - 2.0 * g1 + (1.0 - g1) / ln_g1,
    ];
    for k in 0..2 {
        close(grad[[0, k]], want[k], "log C clamped gradient");
    }
}

#[test]
fn probabilistic_regression_by_hand() {
    // n = 2, g = (1, 2), y = (0, 0), I = {1} with s_1 = 3, λ = 1/2, σ = 2, σ_s = 1:
    // L = ½ [σ²(0 − 1)² + (1 − λ)σ²(0 − 2)² + λσ_s²(3 − 2)²] = ½ [4 + 8 + ½] = 6.25.
    let cfg = ProbRegressionConfig {
        lambda: 0.5,
        sigma: 2.0,
        sigma_s: 1.0,
        reduction: Reduction::Mean,
    };
    let tape = Tape::<f64>::new();
    let g = tape.param(array![1.0, 2.0]);
    let y = tape.constant(array![0.0, 0.0]);
    let s = tape.constant(array![3.0]);
    let index = IndexSet::from_indices(2, &[1]).unwrap();
    let loss = prob_regression_loss(g, y, s, &index, &cfg).unwrap();
    close(loss.item().unwrap(), 6.25, "regression");
}

#[test]
fn losses_refuse_bad_arguments() {
    let tape = Tape::<f64>::new();
    let z = tape.param(array![[0.0, 1.0], [1.0, 0.0]]);
    let s_ok = tape.constant(array![[0.5, 0.5]]);
    let index = IndexSet::from_indices(2, &[0]).unwrap();
    let cfg = ProbDistillConfig::default();
    // teacher answers for two objects but |I| = 1
    let s_bad = tape.constant(array![[0.5, 0.5], [0.5, 0.5]]);
    assert!(prob_distill_loss(z, &[0, 1], s_bad, &index, &cfg).is_err());
    // label out of range, wrong number of labels, I over a different batch size
    assert!(prob_distill_loss(z, &[0, 2], s_ok, &index, &cfg).is_err());
    assert!(prob_distill_loss(z, &[0], s_ok, &index, &cfg).is_err());
    let other = IndexSet::from_indices(3, &[0]).unwrap();
    assert!(prob_distill_loss(z, &[0, 1], s_ok, &other, &cfg).is_err());
    // λ outside [0, 1], ε outside (0, 1/2), T0 ≤ 0
    for bad in [
        ProbDistillConfig { lambda: 1.5, ..cfg },
        ProbDistillConfig {
            log_normalizer: LogNormalizer::Include { epsilon: 0.0 },
            ..cfg
        },
        ProbDistillConfig {
            temperature: 0.0,
            ..cfg
        },
    ] {
        assert!(prob_distill_loss(z, &[0, 1], s_ok, &index, &bad).is_err());
    }
    assert!(HintonConfig::imitation(-0.1, 2.0, TemperatureScaling::None).is_err());
    let neg = HintonConfig {
        soft_weight: -1.0,
        ..HintonConfig::seeds(2.0).unwrap()
    };
    assert!(hinton_loss(z, &[0, 1], z, &neg).is_err());
    let reg = ProbRegressionConfig {
        sigma_s: 0.0,
        ..ProbRegressionConfig::default()
    };
    let v = tape.param(array![1.0, 2.0]);
    let s = tape.constant(array![0.0]);
    assert!(prob_regression_loss(v, v, s, &index, &reg).is_err());
}

#[test]
fn losses_in_f32_agree_with_f64() {
    // Training runs in f32. Each loss is a dozen ops on values of order 1, each rounding with
    // u = 6e-8, so f32 and f64 agree to ≈ 1e-6 relative; 1e-5 leaves a factor of 10.
    let (z, v, y) = batch();
    let index = IndexSet::from_indices(3, &[0, 2]).unwrap();
    let s =
        methods::distill::soft_targets(v.select(ndarray::Axis(0), &[0, 2]).view(), 2.0).unwrap();
    let hinton = HintonConfig {
        reduction: Reduction::Mean,
        ..HintonConfig::seeds(2.0).unwrap()
    };
    let prob = ProbDistillConfig::default();
    let reg = ProbRegressionConfig::default();
    fn losses<F: autograd::Float>(
        z: &Array2<f64>,
        v: &Array2<f64>,
        s: &Array2<f64>,
        y: &[usize],
        index: &IndexSet,
        cfgs: (&HintonConfig, &ProbDistillConfig, &ProbRegressionConfig),
    ) -> [f64; 3] {
        let tape = Tape::<F>::new();
        let c = |a: &Array2<f64>| tape.param(a.mapv(F::from_f64));
        let (zv, vv, sv) = (c(z), c(v), c(s));
        let h = hinton_loss(zv, y, vv, cfgs.0).unwrap();
        let p = prob_distill_loss(zv, y, sv.detach(), index, cfgs.1).unwrap();
        let col = |a: &Array2<f64>, j: usize| tape.constant(a.column(j).mapv(F::from_f64));
        let r = prob_regression_loss(col(z, 0), col(z, 1), col(s, 0), index, cfgs.2).unwrap();
        [h, p, r].map(|l| l.item().unwrap().as_f64())
    }
    let cfgs = (&hinton, &prob, &reg);
    let single = losses::<f32>(&z, &v, &s, &y, &index, cfgs);
    let double = losses::<f64>(&z, &v, &s, &y, &index, cfgs);
    for (a, b) in single.iter().zip(&double) {
        assert!(
            (a - b).abs() <= 1e-5 * b.abs().max(1.0),
            "f32 {a} vs f64 {b}"
        );
    }
}
