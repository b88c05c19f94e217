//! Optimisers and schedules against values derived by hand (derivations in the comments) and
//! against Adam's published update rule written out independently as scalar loops.
//!
//! Tolerance: the weights are O(1) and each expected value is a handful of f64 operations away
//! from the inputs, each rounding by at most 2⁻⁵³ ≈ 1.1e-16 relative; `TOL = 1e-13` leaves a
//! margin of ~1000 roundings (the `1 − β₂ᵗ ≈ 2e-3` cancellation in Adam amplifies the rounding
//! of `β₂ᵗ` by ~500) and is still a billion times smaller than the smallest effect any test
//! looks for (a missing term moves a weight by ≥ 1e-4).

use approx::assert_abs_diff_eq;
use autograd::functional::{cross_entropy, Reduction};
use autograd::{IntoTensor, Tape};
use ndarray::{array, Array2};
use nn::layers::{mlp, Activation, Linear, Sequential};
use nn::optim::{Adam, AdamConfig, LrSchedule, OptimState, Optimizer, Sgd, SgdConfig};
use nn::{Ctx, Error, Grads, Module, Param};
use rand::{rngs::StdRng, Rng, SeedableRng};

const TOL: f64 = 1e-13;

/// `y = w₀x₀ + w₁x₁ + b` with `w = [1, −2]`, `b = 0`.
fn tiny() -> Linear<f64> {
    Linear::from_weights(array![[1.0, -2.0]], Some(array![0.0].into_tensor())).unwrap()
}

/// Gradients `gw` for the weight and `gb` for the bias.
fn grads_of(m: &Linear<f64>, gw: [f64; 2], gb: f64) -> Grads<f64> {
    let mut g = Grads::default();
    g.insert(m.weight(), array![[gw[0], gw[1]]].into_tensor());
    g.insert(m.bias().unwrap(), array![gb].into_tensor());
    g
}

/// `[w₀, w₁, b]`.
fn values(m: &Linear<f64>) -> [f64; 3] {
    let w = m.weight().value();
    [w[[0, 0]], w[[0, 1]], m.bias().unwrap().value()[[0]]]
}

fn assert_values(m: &Linear<f64>, expected: [f64; 3]) {
    let got = values(m);
    for (g, e) in got.iter().zip(expected) {
        assert_abs_diff_eq!(*g, e, epsilon = TOL);
    }
}

/// Runs `opt` on `tiny()` with the gradient pairs `(gw, gb)` in turn.
fn run(opt: &mut dyn Optimizer<f64>, steps: &[([f64; 2], f64)]) -> Linear<f64> {
    let mut m = tiny();
    for &(gw, gb) in steps {
        let g = grads_of(&m, gw, gb);
        opt.step(&mut m, &g).unwrap();
    }
    m
}

const G1: ([f64; 2], f64) = ([0.5, -1.0], 0.2);
const G2: ([f64; 2], f64) = ([-1.0, 2.0], 0.2);

#[test]
fn plain_sgd_step() {
    // w ← w − η g, η = 0.1: [1 − 0.05, −2 + 0.1, 0 − 0.02].
    let mut opt = Sgd::new(SgdConfig::new(0.1)).unwrap();
    assert_values(&run(&mut opt, &[G1]), [0.95, -1.9, -0.02]);
    assert_eq!(opt.steps(), 1);
    assert!(opt.state().tensors.is_empty(), "no momentum, no buffers");
}

#[test]
fn sgd_momentum_two_steps() {
    // μ = 0.9, η = 0.1. Step 1: b = g.            Step 2: b = μ b + g, w ← w − η b.
    // w₀: b = 0.5,  w = 0.95;   b = 0.45 − 1 = −0.55, w = 0.95 + 0.055 = 1.005
    // w₁: b = −1,   w = −1.9;   b = −0.9 + 2 = 1.1,   w = −1.9 − 0.11 = −2.01
    // b:  b = 0.2,  w = −0.02;  b = 0.18 + 0.2 = 0.38, w = −0.02 − 0.038 = −0.058
    let mut opt = Sgd::new(SgdConfig::new(0.1).momentum(0.9)).unwrap();
    assert_values(&run(&mut opt, &[G1, G2]), [1.005, -2.01, -0.058]);
}

#[test]
fn sgd_nesterov_two_steps() {
    // μ = 0.9, η = 0.1; b as with momentum, but the step uses g + μ b.
    // w₀: b = 0.5,   d = 0.5 + 0.45 = 0.95,  w = 0.905;
    //     b = −0.55, d = −1 − 0.495 = −1.495, w = 0.905 + 0.1495 = 1.0545
    // w₁: b = −1,    d = −1 − 0.9 = −1.9,    w = −1.81;
    //     b = 1.1,   d = 2 + 0.99 = 2.99,    w = −1.81 − 0.299 = −2.109
    // b:  b = 0.2,   d = 0.38,               w = −0.038;
    //     b = 0.38,  d = 0.2 + 0.342 = 0.542, w = −0.038 − 0.0542 = −0.0922
    let mut opt = Sgd::new(SgdConfig::new(0.1).momentum(0.9).nesterov(true)).unwrap();
    assert_values(&run(&mut opt, &[G1, G2]), [1.0545, -2.109, -0.0922]);
}

#[test]
fn sgd_weight_decay() {
    // λ = 0.01, η = 0.1, one step: d = g + λ w = [0.5 + 0.01, −1 − 0.02, 0.2 + 0]
    // w = [1 − 0.051, −2 + 0.102, −0.02].
    let mut opt = Sgd::new(SgdConfig::new(0.1).weight_decay(0.01)).unwrap();
    assert_values(&run(&mut opt, &[G1]), [0.949, -1.898, -0.02]);

    // With momentum 0.9 the decay enters the buffer (PyTorch's order). Step 2 for w₀:
    // d = −1 + 0.01·0.949 = −0.99051, b = 0.9·0.51 − 0.99051 = −0.53151,
    // w = 0.949 + 0.053151 = 1.002151. For w₁: d = 2 − 0.01898 = 1.98102,
    // b = 0.9·(−1.02) + 1.98102 = 1.06302, w = −1.898 − 0.106302 = −2.004302.
    // For b: d = 0.2 − 0.0002 = 0.1998, b = 0.18 + 0.1998 = 0.3798, w = −0.02 − 0.03798.
    let mut opt = Sgd::new(SgdConfig::new(0.1).momentum(0.9).weight_decay(0.01)).unwrap();
    assert_values(&run(&mut opt, &[G1, G2]), [1.002151, -2.004302, -0.05798]);
}

/// Adam, Algorithm 1 of Kingma & Ba (2015), for one scalar weight, with PyTorch's two weight
/// decays: `l2` adds `λw` to the gradient, `decoupled` shrinks `w` by `ηλw` first (AdamW).
fn adam_reference(w0: f64, grads: &[f64], cfg: AdamConfig, decoupled: bool) -> f64 {
    let (a, b1, b2, eps, lambda) = (cfg.lr, cfg.beta1, cfg.beta2, cfg.eps, cfg.weight_decay);
    let (mut w, mut m, mut v) = (w0, 0.0, 0.0);
    for (i, &g) in grads.iter().enumerate() {
        let t = (i + 1) as i32;
        let g = if decoupled { g } else { g + lambda * w };
        if decoupled {
            w -= a * lambda * w;
        }
        m = b1 * m + (1.0 - b1) * g;
        v = b2 * v + (1.0 - b2) * g * g;
        let m_hat = m / (1.0 - b1.powi(t));
        let v_hat = v / (1.0 - b2.powi(t));
        w -= a * m_hat / (v_hat.sqrt() + eps);
    }
    w
}

#[test]
fn adam_first_step_moves_each_weight_by_the_learning_rate() {
    // Step 1: m = (1−β₁)g, v = (1−β₂)g², so m̂ = g and v̂ = g² (bias correction) and
    // w ← w − η g/(|g| + ε): every weight moves by ≈ η, whatever the gradient's scale. Without
    // the correction it would move by η(1−β₁)/√(1−β₂) ≈ 3.16 η.
    let eta = 0.1;
    let mut opt = Adam::new(AdamConfig::adam(eta)).unwrap();
    let m = run(&mut opt, &[G1]);
    let step = |g: f64| eta * g / (g.abs() + 1e-8);
    assert_values(&m, [1.0 - step(0.5), -2.0 - step(-1.0), -step(0.2)]);
}

#[test]
fn adam_and_adamw_two_steps_follow_the_published_rule() {
    let base = AdamConfig::adam(0.1).betas(0.8, 0.99).eps(1e-3);
    let cases = [
        (base, false),
        (base.weight_decay(0.1), false),
        (AdamConfig::adamw(0.1, 0.1).betas(0.8, 0.99).eps(1e-3), true),
    ];
    let mut results = Vec::new();
    for (cfg, decoupled) in cases {
        let mut opt = Adam::new(cfg).unwrap();
        let m = run(&mut opt, &[G1, G2]);
        let expected = [
            adam_reference(1.0, &[G1.0[0], G2.0[0]], cfg, decoupled),
            adam_reference(-2.0, &[G1.0[1], G2.0[1]], cfg, decoupled),
            adam_reference(0.0, &[G1.1, G2.1], cfg, decoupled),
        ];
        assert_values(&m, expected);
        results.push(values(&m));
    }
    // The three variants differ visibly, so each test above checks its own decay.
    assert!((results[0][0] - results[1][0]).abs() > 1e-3);
    assert!((results[1][0] - results[2][0]).abs() > 1e-3);
}

/// A parameter large enough for the update to be split over the threads (90,000 elements):
/// every element follows the scalar rule after two AdamW steps, and the weights have the same
/// bits in a 1-thread and a 2-thread pool.
#[test]
fn adam_on_a_large_parameter_follows_the_rule_at_any_thread_count() {
    let mut rng = StdRng::seed_from_u64(4);
    let (rows, cols) = (300, 300);
    let w0 = Array2::from_shape_simple_fn((rows, cols), || rng.gen_range(-1.0..1.0));
    let grads: Vec<Array2<f64>> = (0..2)
        .map(|_| Array2::from_shape_simple_fn((rows, cols), || rng.gen_range(-1.0..1.0)))
        .collect();
    let cfg = AdamConfig::adamw(1e-2, 0.1);
    let train = |threads: usize| -> Array2<f64> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let mut m = Linear::from_weights(w0.clone(), None).unwrap();
            let mut opt = Adam::new(cfg).unwrap();
            for g in &grads {
                let mut gs = Grads::default();
                gs.insert(m.weight(), g.clone().into_tensor());
                opt.step(&mut m, &gs).unwrap();
            }
            m.weight().value().to_owned().into_dimensionality().unwrap()
        })
    };
    let (one, two) = (train(1), train(2));
    assert!(one == two, "1 and 2 threads differ");
    for ((i, j), &w) in two.indexed_iter() {
        let want = adam_reference(w0[[i, j]], &[grads[0][[i, j]], grads[1][[i, j]]], cfg, true);
        assert_abs_diff_eq!(w, want, epsilon = TOL);
    }
}

#[test]
fn adam_second_step_by_hand() {
    // β₁ = 0.9, β₂ = 0.999, ε = 1e-8, η = 0.1, one weight w₀ = 1, g₁ = 0.5, g₂ = −1:
    // w₁ = 1 − 0.1·0.5/(0.5 + ε)
    // m₂ = 0.9·0.05 − 0.1 = −0.055, m̂₂ = −0.055/(1 − 0.81) = −0.055/0.19
    // v₂ = 0.999·0.00025 + 0.001 = 0.00124975, v̂₂ = 0.00124975/(1 − 0.998001) = 0.00124975/0.001999
    let w1 = 1.0 - 0.1 * 0.5 / (0.5 + 1e-8);
    let w2 = w1 - 0.1 * (-0.055 / 0.19) / ((0.00124975f64 / 0.001999).sqrt() + 1e-8);
    let mut opt = Adam::new(AdamConfig::adam(0.1)).unwrap();
    let m = run(&mut opt, &[G1, G2]);
    assert_abs_diff_eq!(values(&m)[0], w2, epsilon = TOL);
}

#[test]
fn adam_in_f32_matches_the_f64_rule() {
    // f32 rounds to 2⁻²⁴ ≈ 6e-8 relative: with |w| ≤ 2 each rounding of w is ≤ 1.2e-7, and the
    // update itself (≈ 0.1) carries ≤ ~10 roundings ≈ 6e-8; two steps stay below 1e-6.
    let cfg = AdamConfig::adamw(0.1, 0.1);
    let mut m = Linear::<f32>::from_weights(array![[1.0f32, -2.0]], None).unwrap();
    let mut opt = Adam::new(cfg).unwrap();
    for gw in [G1.0, G2.0] {
        let mut g = Grads::default();
        g.insert(
            m.weight(),
            array![[gw[0] as f32, gw[1] as f32]].into_tensor(),
        );
        opt.step(&mut m, &g).unwrap();
    }
    let expected = [
        adam_reference(1.0, &[G1.0[0], G2.0[0]], cfg, true),
        adam_reference(-2.0, &[G1.0[1], G2.0[1]], cfg, true),
    ];
    for (got, e) in m.weight().value().iter().zip(expected) {
        assert_abs_diff_eq!(f64::from(*got), e, epsilon = 1e-6);
    }
}

#[test]
fn frozen_and_gradient_free_parameters_are_untouched_and_get_no_state() {
    let optimizers: Vec<Box<dyn Optimizer<f64>>> = vec![
        Box::new(Sgd::new(SgdConfig::new(0.1).momentum(0.9).weight_decay(0.1)).unwrap()),
        Box::new(Adam::new(AdamConfig::adamw(0.1, 0.1)).unwrap()),
    ];
    for mut opt in optimizers {
        // Frozen weight with a gradient (inserted by hand, as Ctx would never report one).
        let mut m = tiny();
        m.weight_mut().frozen = true;
        let g = grads_of(&m, G1.0, G1.1);
        opt.step(&mut m, &g).unwrap();
        assert_eq!(values(&m)[..2], [1.0, -2.0]);
        assert_ne!(values(&m)[2], 0.0, "the bias is trained");
        // A parameter without a gradient (unused in the forward pass).
        let mut g = Grads::default();
        g.insert(m.weight(), array![[1.0, 1.0]].into_tensor());
        m.weight_mut().frozen = false;
        let bias_before = values(&m)[2];
        opt.step(&mut m, &g).unwrap();
        assert_eq!(values(&m)[2].to_bits(), bias_before.to_bits());
        assert_eq!(opt.steps(), 2);
    }
    // Only trained parameters have state.
    let mut opt = Adam::new(AdamConfig::adam(0.1)).unwrap();
    let mut m = tiny();
    m.weight_mut().frozen = true;
    let g = grads_of(&m, G1.0, G1.1);
    opt.step(&mut m, &g).unwrap();
    let keys: Vec<_> = opt.state().tensors.into_keys().collect();
    assert_eq!(keys, ["m.bias", "v.bias"]);
}

#[test]
fn a_parameter_that_joins_late_is_bias_corrected_from_its_own_first_step() {
    // Step 1 trains only the weight; step 2 the bias too. The bias's own t is 1 at step 2, so
    // m̂ = g and v̂ = g² and it moves by η g/(|g| + ε) (with the optimiser's step count, 2, it
    // would move by η (1−β₁)g/(1−β₁²) / (√((1−β₂)g²/(1−β₂²)) + ε) ≈ 0.53 η · √2.0 ≈ 0.74 η).
    let mut opt = Adam::new(AdamConfig::adam(0.1)).unwrap();
    let mut m = tiny();
    let mut g = Grads::default();
    g.insert(m.weight(), array![[1.0, 1.0]].into_tensor());
    opt.step(&mut m, &g).unwrap();
    let g = grads_of(&m, [1.0, 1.0], 0.2);
    opt.step(&mut m, &g).unwrap();
    assert_abs_diff_eq!(values(&m)[2], -0.1 * 0.2 / (0.2 + 1e-8), epsilon = TOL);
    assert_eq!(opt.state().scalars["t.bias"], 1.0);
    assert_eq!(opt.state().scalars["t.weight"], 2.0);
}

/// A two-layer MLP from a fixed seed (the same initial weights every call).
fn net(hidden: usize, bias: bool) -> Sequential<f64> {
    mlp(
        &[3, hidden, 2],
        Activation::Tanh,
        bias,
        &mut StdRng::seed_from_u64(7),
    )
}

/// The cross-entropy gradient of `model` on a fixed batch (a different batch each `step`).
fn batch_grads(model: &Sequential<f64>, step: u64) -> Grads<f64> {
    let mut rng = StdRng::seed_from_u64(100 + step);
    let x = Array2::from_shape_fn((5, 3), |_| rng.gen_range(-1.0..1.0));
    let labels: Vec<usize> = (0..5).map(|_| rng.gen_range(0..2)).collect();
    let tape = Tape::new();
    let ctx = Ctx::train(&tape, step);
    let loss = cross_entropy(
        model.forward(&ctx, ctx.input(x)).unwrap(),
        &labels,
        Reduction::Mean,
    )
    .unwrap();
    ctx.grads(loss).unwrap()
}

fn bits(model: &dyn Module<f64>) -> Vec<(String, Vec<u64>)> {
    let mut out = Vec::new();
    model.visit_params(&mut |n, p| {
        out.push((
            n.to_string(),
            p.value().iter().map(|v| v.to_bits()).collect(),
        ))
    });
    out
}

#[test]
fn exported_state_resumes_bit_identically() {
    type Make = fn(f64) -> Box<dyn Optimizer<f64>>;
    let makers: [Make; 3] = [
        |lr| {
            Box::new(
                Sgd::new(
                    SgdConfig::new(lr)
                        .momentum(0.9)
                        .nesterov(true)
                        .weight_decay(0.01),
                )
                .unwrap(),
            )
        },
        |lr| Box::new(Adam::new(AdamConfig::adam(lr).weight_decay(0.01)).unwrap()),
        |lr| Box::new(Adam::new(AdamConfig::adamw(lr, 0.01)).unwrap()),
    ];
    for make in makers {
        let mut straight = net(4, true);
        let mut opt = make(0.05);
        for step in 0..3 {
            let g = batch_grads(&straight, step);
            opt.step(&mut straight, &g).unwrap();
        }

        let mut resumed = net(4, true);
        let mut first = make(0.05);
        for step in 0..2 {
            let g = batch_grads(&resumed, step);
            first.step(&mut resumed, &g).unwrap();
        }
        let state = first.state();
        // A fresh optimiser with another learning rate: the state brings back 0.05.
        let mut second = make(0.5);
        second.load_state(state, &resumed).unwrap();
        assert_eq!(second.learning_rate(), 0.05);
        let g = batch_grads(&resumed, 2);
        second.step(&mut resumed, &g).unwrap();

        assert_eq!(bits(&straight), bits(&resumed));
        assert_eq!(opt.state(), second.state());
        assert_eq!(second.steps(), 3);
    }
}

/// Adam after two steps on `net(4, true)`.
fn trained_adam() -> (Adam<f64>, Sequential<f64>) {
    let mut model = net(4, true);
    let mut opt = Adam::new(AdamConfig::adam(0.05)).unwrap();
    for step in 0..2 {
        let g = batch_grads(&model, step);
        opt.step(&mut model, &g).unwrap();
    }
    (opt, model)
}

fn load_err(state: OptimState<f64>, model: &dyn Module<f64>) -> String {
    let (mut opt, _) = trained_adam();
    let before = opt.state();
    let err = opt.load_state(state, model).unwrap_err();
    assert_eq!(opt.state(), before, "a failed load changes nothing");
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    err.to_string()
}

#[test]
fn mismatched_state_is_rejected_naming_every_entry() {
    let (opt, model) = trained_adam();
    // Another architecture: every moment of the hidden layer has the wrong shape.
    let msg = load_err(opt.state(), &net(5, true));
    for name in [
        "m.0.weight",
        "v.0.weight",
        "m.0.bias",
        "v.0.bias",
        "m.2.weight",
    ] {
        assert!(
            msg.contains(&format!("{name:?} has shape")),
            "{name}: {msg}"
        );
    }
    assert!(!msg.contains("m.2.bias"), "2.bias fits: {msg}");
    assert!(
        !msg.contains("needs both"),
        "rejected moments are reported once: {msg}"
    );
    // Names the model does not have.
    let msg = load_err(opt.state(), &net(4, false));
    for name in ["m.0.bias", "v.0.bias", "m.2.bias", "v.2.bias"] {
        assert!(
            msg.contains(&format!("{name:?} is the state of a parameter")),
            "{msg}"
        );
    }
    // A missing scalar, an out-of-range one, an unknown one, a torn set of moments.
    let mut state = opt.state();
    state.scalars.remove("lr");
    state.scalars.insert("momentum".into(), 0.9);
    state.tensors.remove("v.2.bias");
    let msg = load_err(state, &model);
    assert!(msg.contains("\"lr\" is missing"), "{msg}");
    assert!(msg.contains("unexpected scalar \"momentum\""), "{msg}");
    assert!(msg.contains("\"t.2.bias\" needs both"), "{msg}");
    let mut state = opt.state();
    state.scalars.insert("beta2".into(), 1.0);
    state.scalars.insert("t.0.bias".into(), 1.5);
    let msg = load_err(state, &model);
    assert!(msg.contains("beta2") && msg.contains("[0, 1)"), "{msg}");
    assert!(msg.contains("\"t.0.bias\" must be a whole number"), "{msg}");
    // Another kind of optimiser.
    let sgd = Sgd::<f64>::new(SgdConfig::new(0.1)).unwrap();
    let msg = load_err(sgd.state(), &model);
    assert!(msg.contains("\"sgd\"") && msg.contains("\"adam\""), "{msg}");
    let adamw = Adam::<f64>::new(AdamConfig::adamw(0.1, 0.0)).unwrap();
    assert!(load_err(adamw.state(), &model).contains("\"adamw\""));
}

#[test]
fn a_step_with_a_misshapen_gradient_changes_nothing() {
    let mut m = tiny();
    let mut g = grads_of(&m, G1.0, G1.1);
    g.insert(m.weight(), array![1.0, 2.0].into_tensor());
    let mut opt = Sgd::new(SgdConfig::new(0.1)).unwrap();
    let err = opt.step(&mut m, &g).unwrap_err().to_string();
    assert!(
        err.contains("\"weight\"") && err.contains("[2]") && err.contains("[1, 2]"),
        "{err}"
    );
    assert_eq!(
        values(&m),
        [1.0, -2.0, 0.0],
        "the bias, whose gradient fits, is not updated either"
    );
    assert_eq!(Optimizer::<f64>::steps(&opt), 0);
}

/// Expects a `Config` error whose message contains every piece of `needles`.
fn assert_config<T: std::fmt::Debug>(result: nn::Result<T>, needles: &[&str]) {
    let err = result.unwrap_err();
    assert!(matches!(err, Error::Config { .. }), "{err:?}");
    let msg = err.to_string();
    for needle in needles {
        assert!(msg.contains(needle), "{needle:?} not in {msg:?}");
    }
}

#[test]
fn settings_out_of_range_are_config_errors_naming_them() {
    type S = Sgd<f32>;
    type A = Adam<f32>;
    for lr in [0.0, -1.0, f64::NAN, f64::INFINITY] {
        assert_config(S::new(SgdConfig::new(lr)), &["SGD learning rate", "> 0"]);
        assert_config(A::new(AdamConfig::adam(lr)), &["Adam learning rate", "> 0"]);
        assert_config(A::new(AdamConfig::adamw(lr, 0.0)), &["AdamW learning rate"]);
    }
    for mu in [1.0, -0.1, f64::NAN] {
        assert_config(
            S::new(SgdConfig::new(0.1).momentum(mu)),
            &["momentum", "[0, 1)"],
        );
    }
    assert_config(
        S::new(SgdConfig::new(0.1).nesterov(true)),
        &["nesterov", "μ > 0"],
    );
    for wd in [-0.1, f64::NAN, f64::INFINITY] {
        assert_config(
            S::new(SgdConfig::new(0.1).weight_decay(wd)),
            &["weight decay", ">= 0"],
        );
        assert_config(
            A::new(AdamConfig::adamw(0.1, wd)),
            &["AdamW weight decay", ">= 0"],
        );
    }
    for beta in [1.0, -0.1, f64::NAN] {
        assert_config(
            A::new(AdamConfig::adam(0.1).betas(beta, 0.9)),
            &["beta1", "[0, 1)"],
        );
        assert_config(
            A::new(AdamConfig::adam(0.1).betas(0.9, beta)),
            &["beta2", "[0, 1)"],
        );
    }
    for eps in [0.0, -1e-8, f64::NAN] {
        assert_config(A::new(AdamConfig::adam(0.1).eps(eps)), &["eps", "> 0"]);
    }
    // The boundaries that are allowed.
    S::new(SgdConfig::new(0.1).momentum(0.0).weight_decay(0.0)).unwrap();
    A::new(AdamConfig::adam(0.1).betas(0.0, 0.0)).unwrap();
    // A schedule may anneal to 0, so a rate set later may be 0; never negative or NaN.
    let mut opt = A::new(AdamConfig::adam(0.1)).unwrap();
    opt.set_learning_rate(0.0).unwrap();
    assert_config(opt.set_learning_rate(-1e-3), &["learning rate", ">= 0"]);
    assert_config(opt.set_learning_rate(f64::NAN), &["learning rate"]);
    assert_eq!(Optimizer::<f32>::learning_rate(&opt), 0.0);
}

#[test]
fn schedules_at_known_epochs() {
    let c = LrSchedule::constant(0.1).unwrap();
    assert_eq!([c.lr_at(0), c.lr_at(1000)], [0.1, 0.1]);
    // η γ^⌊t/s⌋ with η = 0.1, γ = 0.5, s = 10.
    let s = LrSchedule::step_decay(0.1, 0.5, 10).unwrap();
    for (t, lr) in [(0, 0.1), (9, 0.1), (10, 0.05), (19, 0.05), (25, 0.025)] {
        assert_abs_diff_eq!(s.lr_at(t), lr, epsilon = 1e-15);
    }
    // η_min + (η − η_min)(1 + cos(πt/T))/2 with η = 0.1, η_min = 0.01, T = 100:
    // t = 25: cos(π/4) = 1/√2; t = 50: the midpoint 0.055; t ≥ 100: η_min.
    let k = LrSchedule::cosine(0.1, 0.01, 100).unwrap();
    let quarter = 0.01 + 0.09 * (1.0 + std::f64::consts::FRAC_1_SQRT_2) / 2.0;
    for (t, lr) in [
        (0, 0.1),
        (25, quarter),
        (50, 0.055),
        (100, 0.01),
        (150, 0.01),
    ] {
        assert_abs_diff_eq!(k.lr_at(t), lr, epsilon = 1e-15);
    }
    let mut opt = Sgd::<f64>::new(SgdConfig::new(1.0)).unwrap();
    s.apply(&mut opt, 25).unwrap();
    assert_eq!(opt.learning_rate(), s.lr_at(25));

    assert_config(LrSchedule::constant(0.0), &["learning rate"]);
    assert_config(LrSchedule::step_decay(0.1, 0.0, 10), &["gamma", "(0, 1]"]);
    assert_config(LrSchedule::step_decay(0.1, 1.5, 10), &["gamma"]);
    assert_config(LrSchedule::step_decay(0.1, 0.5, 0), &["step size"]);
    assert_config(
        LrSchedule::cosine(0.1, 0.2, 10),
        &["lr_min", "must not exceed"],
    );
    assert_config(LrSchedule::cosine(0.1, -0.1, 10), &["lr_min", ">= 0"]);
    assert_config(LrSchedule::cosine(0.1, 0.0, 0), &["period"]);
}

/// Two parameters under one name: state keyed by name would mix them up.
struct Twins {
    a: Param<f64>,
    b: Param<f64>,
}

impl Module<f64> for Twins {
    fn forward<'t>(
        &self,
        _: &Ctx<'t, f64>,
        x: autograd::Var<'t, f64>,
    ) -> nn::Result<autograd::Var<'t, f64>> {
        Ok(x)
    }
    fn visit_params(&self, f: &mut dyn FnMut(&str, &Param<f64>)) {
        f("w", &self.a);
        f("w", &self.b);
    }
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Param<f64>)) {
        f("w", &mut self.a);
        f("w", &mut self.b);
    }
}

#[test]
fn duplicate_parameter_names_are_rejected() {
    let mut m = Twins {
        a: Param::new(array![1.0]),
        b: Param::new(array![2.0]),
    };
    let mut g = Grads::default();
    g.insert(&m.a, array![1.0].into_tensor());
    let mut opt = Adam::new(AdamConfig::adam(0.1)).unwrap();
    assert_config(opt.step(&mut m, &g), &["two parameters are named \"w\""]);
}
