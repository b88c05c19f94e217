//! The transfer pieces in use: a critic trained on two clouds estimates their `W1` from below,
//! and the Wasserstein regulariser, alternating critic ascent and model descent, pulls a layer's
//! weights towards the source layer's distribution (the exact `W1` falls).

use autograd::Tape;
use methods::transfer::{
    dual_value, exact_w1, identity_plan_cost, train_critic, CriticConfig, CriticTraining,
    WassersteinConfig, WassersteinRegularizer,
};
use methods::transfer::{layer_sample_array, Critic};
use ndarray::{Array1, Array2};
use nn::layers::Linear;
use nn::optim::{Adam, AdamConfig, Optimizer};
use nn::Ctx;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

fn cloud(n: usize, d: usize, rng: &mut StdRng) -> Array2<f64> {
    Array2::from_shape_simple_fn((n, d), || rng.sample(StandardNormal))
}

/// Two Gaussian clouds, one shifted by `a = (2, 1)`: the trained orthonormal critic's dual value
/// is below the exact empirical `W1` (it is 1-Lipschitz: a deterministic inequality on these very
/// clouds, up to round-off ~1e-12) and within 1 % of it (measured: 2.5311 against 2.5340, 0.12 % below; the optimal potential
/// here is nearly linear, which the critic represents exactly).
#[test]
fn trained_critic_estimates_w1_from_below() {
    let mut rng = StdRng::seed_from_u64(1);
    let p = cloud(200, 2, &mut rng);
    let q = &cloud(200, 2, &mut rng) + &Array1::from(vec![2.0, 1.0]);
    let exact = exact_w1(p.view(), q.view()).unwrap().value;
    let mut critic =
        Critic::<f64>::new(2, &CriticConfig::orthonormal(&[16, 16]), &mut rng).unwrap();
    let before = dual_value(&critic, p.view(), q.view()).unwrap();
    let est = train_critic(
        &mut critic,
        p.view(),
        q.view(),
        &CriticTraining::default(),
        &mut rng,
    )
    .unwrap();
    assert!(est.value <= exact + 1e-12, "{} > {exact}", est.value);
    assert!(
        est.value >= 0.99 * exact,
        "{} vs {exact} (untrained: {before})",
        est.value
    );
    assert!(
        est.value > before + 0.5,
        "training did not move the estimate: {before} → {}",
        est.value
    );
    assert_eq!(est.history.len(), CriticTraining::default().steps);
}

/// A target layer 8×10 starts from an independent draw; only the Wasserstein penalty trains it
/// (λ = 1, Adam 0.01, one critic of [16, 16] per step doing 5 ascent steps). The exact `W1`
/// between its rows and the source's must fall below a third of its start in 300 steps
/// (measured: 1.83 → 0.145, ≈ 1/12), and every critic estimate stays below the exact value.
#[test]
fn wasserstein_regularizer_pulls_the_layer_to_the_source() {
    let mut rng = StdRng::seed_from_u64(2);
    let source = Linear::<f64>::new(10, 8, true, &mut rng);
    let mut target = Linear::<f64>::new(10, 8, true, &mut rng);
    // make the target's rows clearly further away: scaled by 3 and shifted
    target
        .weight_mut()
        .value_mut()
        .mapv_inplace(|v| 3.0 * v + 0.2);
    let cfg = WassersteinConfig {
        critic: CriticConfig::orthonormal(&[16, 16]),
        critic_steps: 5,
        critic_learning_rate: 0.01,
    };
    let mut reg = WassersteinRegularizer::new(&source, &[("weight", 1.0)], &cfg, &mut rng).unwrap();
    let rows = |m: &Linear<f64>| layer_sample_array(m.weight().value()).unwrap();
    let start = exact_w1(rows(&target).view(), rows(&source).view())
        .unwrap()
        .value;
    let tilde = identity_plan_cost(rows(&target).view(), rows(&source).view()).unwrap();
    assert!(start <= tilde);
    let mut opt = Adam::<f64>::new(AdamConfig::adam(0.01)).unwrap();
    for step in 0..300 {
        reg.critic_ascent(&target).unwrap();
        let grads = {
            let tape = Tape::new();
            let ctx = Ctx::train(&tape, step);
            let bound = ctx.bind_all(&target);
            ctx.grads(reg.penalty(&bound).unwrap()).unwrap()
        };
        opt.step(&mut target, &grads).unwrap();
        if step % 50 == 0 {
            for m in reg.measure(&target).unwrap() {
                assert!(m.estimate <= m.exact + 1e-12, "step {step}: {m:?}");
            }
        }
    }
    let end = exact_w1(rows(&target).view(), rows(&source).view())
        .unwrap()
        .value;
    assert!(end < start / 3.0, "W1 {start} → {end}");
    // the bias takes no part: only the weight is a sample
    assert!(reg
        .penalty(&[(
            "bias".into(),
            Tape::<f64>::new().param(ndarray::array![1.0])
        )])
        .is_err());
}
