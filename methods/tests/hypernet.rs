//! Seed S2 (`methods::hypernet`): gradient checks (f64, central differences, the default
//! tolerances justified in `autograd::Tolerance`) of the complexity objective with the noise
//! fixed by the pass's seed and of both hypernetworks through `λ`; pruning's exact fraction and
//! order, and a pruned weight staying zero through fine-tuning; the bad inputs; the checks.

use autograd::gradcheck::check_fn;
use autograd::{gradcheck, gradgradcheck, Tape, Tolerance};
use methods::hypernet::{
    checks, complexity_loss, kl_to_prior, prune, removal_scores, ComplexityConfig, ComplexityLoss,
    Hypernet, HypernetKind, HypernetLoss, LambdaEncoding, LambdaSampler, LambdaScale, PruneScope,
    VariationalMlp,
};
use ndarray::{Array1, Array2, ArrayD};
use nn::data::Dataset;
use nn::init::Init;
use nn::layers::Activation;
use nn::optim::{Sgd, SgdConfig};
use nn::train::{fit, Silent, TrainConfig};
use nn::{Ctx, Module, Param};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

const SIZES: [usize; 3] = [3, 4, 2];
const LABELS: [usize; 5] = [0, 1, 1, 0, 1];

fn normal(rng: &mut StdRng, r: usize, c: usize, scale: f64) -> Array2<f64> {
    Array2::from_shape_simple_fn((r, c), || scale * rng.sample::<f64, _>(StandardNormal))
}

fn params_of(m: &dyn Module<f64>) -> Vec<Param<f64>> {
    let mut out = Vec::new();
    m.visit_params(&mut |_, p| out.push(p.clone()));
    out
}

fn unwrap_autograd(e: methods::Error) -> autograd::Error {
    match e {
        methods::Error::Autograd(e) => e,
        methods::Error::Nn(nn::Error::Autograd(e)) => e,
        other => panic!("unexpected error: {other}"),
    }
}

fn model(activation: Activation, rng: &mut StdRng) -> VariationalMlp<f64> {
    VariationalMlp::with_biases(&SIZES, activation, Init::TorchDefault, -1.5, rng).unwrap()
}

fn config() -> ComplexityConfig {
    ComplexityConfig::new(0.1, 50).unwrap()
}

/// First and second order with respect to every mean and log-variance (weights and biases),
/// at λ = 0, 0.5 and 10, for the seed's softmax hidden layer and tanh (both smooth: no kink
/// within a finite-difference step). The training pass's seed (7) fixes ε.
#[test]
fn the_complexity_objective_passes_gradcheck() {
    let mut rng = StdRng::seed_from_u64(1);
    let x = normal(&mut rng, 5, 3, 1.0);
    for activation in [Activation::Softmax, Activation::Tanh] {
        let net = model(activation, &mut rng);
        let params = params_of(&net);
        assert_eq!(
            params.len(),
            8,
            "two layers × (weight, bias) × (mean, log-variance)"
        );
        let inputs: Vec<ArrayD<f64>> = params.iter().map(|p| p.value().to_owned()).collect();
        for lambda in [0.0, 0.5, 10.0] {
            let f = check_fn(|tape, xs| {
                let ctx = Ctx::train(tape, 7);
                for (p, &v) in params.iter().zip(xs) {
                    ctx.substitute(p, v);
                }
                let terms =
                    complexity_loss(&ctx, &net, ctx.input(x.view()), &LABELS, lambda, &config())
                        .map_err(unwrap_autograd)?;
                Ok(terms.loss)
            });
            let report = gradcheck(f, &inputs, Tolerance::default()).unwrap();
            assert!(report.passed(), "{activation:?}, λ = {lambda}: {report}");
            let report = gradgradcheck(f, &inputs, Tolerance::default()).unwrap();
            assert!(
                report.passed(),
                "{activation:?}, λ = {lambda}, second order: {report}"
            );
        }
    }
}

/// The KL to `N(0, s² I)` against the closed form summed by hand, and its gradient check.
#[test]
fn the_kl_to_the_prior_is_the_closed_form() {
    let mut rng = StdRng::seed_from_u64(2);
    let net = model(Activation::Tanh, &mut rng);
    let s2: f64 = 0.1;
    let mut expected = 0.0;
    for g in net.gaussians() {
        for (m, r) in g.mean.value().iter().zip(g.log_var.value().iter()) {
            expected += 0.5 * (s2.ln() - r + (r.exp() + m * m) / s2 - 1.0);
        }
    }
    let tape = Tape::new();
    let ctx = Ctx::eval(&tape);
    let got = kl_to_prior(&ctx, &net, s2).unwrap().item().unwrap();
    // a sum of 46 terms of size ≲ 10: f64 round-off ≲ 1e-13
    assert!((got - expected).abs() < 1e-12, "{got} vs {expected}");
    let params = params_of(&net);
    let inputs: Vec<ArrayD<f64>> = params.iter().map(|p| p.value().to_owned()).collect();
    let f = check_fn(|tape, xs| {
        let ctx = Ctx::eval(tape);
        for (p, &v) in params.iter().zip(xs) {
            ctx.substitute(p, v);
        }
        kl_to_prior(&ctx, &net, s2).map_err(unwrap_autograd)
    });
    assert!(gradcheck(f, &inputs, Tolerance::default())
        .unwrap()
        .passed());
    assert!(gradgradcheck(f, &inputs, Tolerance::default())
        .unwrap()
        .passed());
}

fn sampler() -> LambdaSampler {
    LambdaSampler {
        scale: LambdaScale::Log,
        min: 0.01,
        max: 100.0,
        zero_probability: 0.2,
    }
}

/// Both hypernetworks: the batch loss over 3 sampled λ (including the seed's objective at each)
/// differentiated through G(λ) with respect to every hypernetwork parameter, first and second
/// order. The low-rank form has a ReLU in f: with a fixed seed its units' pre-activations
/// `t a + c` are away from 0 by far more than the finite-difference step, so the check does
/// not straddle the kink (a crossing would show as a failure, not pass silently).
#[test]
fn both_hypernetworks_pass_gradcheck_through_lambda() {
    let mut rng = StdRng::seed_from_u64(3);
    let x = normal(&mut rng, 5, 3, 1.0);
    let encoding = LambdaEncoding::log1p(0.01, 100.0).unwrap();
    for kind in [
        HypernetKind::Linear,
        HypernetKind::LowRank { rank: 2, hidden: 3 },
    ] {
        let mut hyper = Hypernet::new(
            model(Activation::Softmax, &mut rng),
            kind,
            encoding,
            &mut rng,
        )
        .unwrap();
        // move the linear slopes off zero, so that λ matters
        hyper.visit_params_mut(&mut |_, p| {
            let v = p.value().mapv(|v| v + 0.05);
            p.set(v).unwrap();
        });
        let params = params_of(&hyper);
        let inputs: Vec<ArrayD<f64>> = params.iter().map(|p| p.value().to_owned()).collect();
        let loss = HypernetLoss {
            sampler: sampler(),
            per_batch: 3,
            config: config(),
        };
        let f = check_fn(|tape, xs| {
            let ctx = Ctx::train(tape, 11);
            for (p, &v) in params.iter().zip(xs) {
                ctx.substitute(p, v);
            }
            let (l, lambdas) = loss
                .terms(&hyper, &ctx, ctx.input(x.view()), &LABELS)
                .map_err(unwrap_autograd)?;
            assert_eq!(lambdas.len(), 3);
            Ok(l)
        });
        let report = gradcheck(f, &inputs, Tolerance::default()).unwrap();
        assert!(report.passed(), "{kind:?}: {report}");
        let report = gradgradcheck(f, &inputs, Tolerance::default()).unwrap();
        assert!(report.passed(), "{kind:?}, second order: {report}");
    }
}

/// `model_at(λ)` holds what `bind` substitutes: the two give the same evaluation output; a
/// fresh linear hypernetwork gives its target at every λ; different λ give different models
/// once trained parameters depend on λ.
#[test]
fn model_at_matches_the_bound_pass() {
    let mut rng = StdRng::seed_from_u64(4);
    let x = normal(&mut rng, 5, 3, 1.0);
    let encoding = LambdaEncoding::log1p(0.01, 100.0).unwrap();
    let target = model(Activation::Relu, &mut rng);
    let fresh = Hypernet::new(target.clone(), HypernetKind::Linear, encoding, &mut rng).unwrap();
    for lambda in [0.0, 1.0, 100.0] {
        let m = fresh.model_at(lambda).unwrap();
        for (a, b) in m.gaussians().iter().zip(target.gaussians()) {
            assert_eq!(a.mean.value(), b.mean.value());
            assert_eq!(a.log_var.value(), b.log_var.value());
        }
    }
    let mut hyper = Hypernet::new(
        target,
        HypernetKind::LowRank { rank: 1, hidden: 5 },
        encoding,
        &mut rng,
    )
    .unwrap();
    hyper.visit_params_mut(&mut |_, p| {
        let v = p.value().mapv(|v| v * 1.5);
        p.set(v).unwrap();
    });
    let eval = |m: &dyn Module<f64>| {
        let tape = Tape::new();
        let ctx = Ctx::eval(&tape);
        m.forward(&ctx, ctx.input(x.view())).unwrap().value()
    };
    let mut outputs = Vec::new();
    for lambda in [0.0, 1.0] {
        let direct = eval(&hyper.model_at(lambda).unwrap());
        let tape = Tape::new();
        let (params, pass) = (Ctx::eval(&tape), Ctx::eval(&tape));
        hyper.bind(&params, &pass, lambda).unwrap();
        let bound = hyper
            .target()
            .forward(&pass, pass.input(x.view()))
            .unwrap()
            .value();
        assert_eq!(direct, bound);
        outputs.push(direct);
    }
    assert_ne!(outputs[0], outputs[1]);
    assert!(hyper
        .forward(&Ctx::eval(&Tape::new()), Tape::new().scalar(0.0))
        .is_err());
}

/// Exactly round(f·n) weights go, those of smallest μ²/σ² first (per layer and globally),
/// successive prunings nest, biases stay, and the pruned network's output is the masked one.
#[test]
fn pruning_removes_the_exact_fraction_in_order() {
    let mut rng = StdRng::seed_from_u64(5);
    let base = VariationalMlp::<f64>::with_biases(
        &[20, 10, 3],
        Activation::Relu,
        Init::TorchDefault,
        -2.0,
        &mut rng,
    )
    .unwrap();
    let mut base = base;
    // log-variances that differ, so that μ²/σ² and |μ| order differently
    for g in base.gaussians_mut() {
        let v = g.log_var.value().mapv(|_| rng.gen_range(-3.0..-1.0));
        g.log_var.set(v).unwrap();
    }
    let sizes = [200usize, 30];
    for fraction in [0.0, 0.1, 0.37, 0.9, 1.0] {
        let mut m = base.clone();
        let report = prune(&mut m, fraction, PruneScope::PerLayer).unwrap();
        let expected: usize = sizes
            .iter()
            .map(|&n| (fraction * n as f64).round() as usize)
            .sum();
        assert_eq!(
            (report.removed, report.total),
            (expected, 230),
            "{fraction}"
        );
        for (layer, orig) in m.layers.iter().zip(&base.layers) {
            let mask = layer.weight.mask.as_ref().unwrap();
            let scores = removal_scores(&orig.weight);
            // every removed score ≤ every kept score
            let removed = scores.iter().zip(mask.iter()).filter(|(_, &k)| k == 0.0);
            let kept = scores.iter().zip(mask.iter()).filter(|(_, &k)| k == 1.0);
            let max_removed = removed.map(|(s, _)| *s).fold(f64::NEG_INFINITY, f64::max);
            let min_kept = kept.map(|(s, _)| *s).fold(f64::INFINITY, f64::min);
            assert!(
                max_removed <= min_kept,
                "{fraction}: {max_removed} > {min_kept}"
            );
            for (mu, &k) in layer.weight.mean.value().iter().zip(mask.iter()) {
                assert!(k == 1.0 || *mu == 0.0);
            }
            assert!(layer.bias.as_ref().unwrap().mask.is_none());
        }
        let mut g = base.clone();
        let report = prune(&mut g, fraction, PruneScope::Global).unwrap();
        assert_eq!(report.removed, (fraction * 230.0).round() as usize);
    }
    // nesting: 30% then 60% = 60% at once
    let (mut a, mut b) = (base.clone(), base.clone());
    prune(&mut a, 0.3, PruneScope::PerLayer).unwrap();
    prune(&mut a, 0.6, PruneScope::PerLayer).unwrap();
    prune(&mut b, 0.6, PruneScope::PerLayer).unwrap();
    for (la, lb) in a.layers.iter().zip(&b.layers) {
        assert_eq!(la.weight.mask, lb.weight.mask);
    }
    for bad in [-0.1, 1.1, f64::NAN] {
        let err = prune(&mut base.clone(), bad, PruneScope::PerLayer).unwrap_err();
        assert!(err.to_string().contains("pruning fraction"), "{err}");
    }
}

/// A pruned weight stays exactly zero (its mean and its effective value) through fine-tuning
/// by SGD with momentum on the complexity objective; the kept weights do move.
#[test]
fn a_pruned_weight_stays_zero_through_fine_tuning() {
    let mut rng = StdRng::seed_from_u64(6);
    let mut net = VariationalMlp::<f64>::with_biases(
        &[6, 5, 3],
        Activation::Softmax,
        Init::TorchDefault,
        -4.0,
        &mut rng,
    )
    .unwrap();
    prune(&mut net, 0.5, PruneScope::PerLayer).unwrap();
    let before = net.clone();
    let x = normal(&mut rng, 40, 6, 1.0);
    let y: Array1<usize> = (0..40).map(|i| i % 3).collect();
    let data = Dataset::new(x, y).unwrap();
    let mut sgd = Sgd::new(SgdConfig::new(0.1).momentum(0.9)).unwrap();
    let loss = ComplexityLoss {
        lambda: 1.0,
        config: ComplexityConfig::new(0.1, 40).unwrap(),
    };
    let cfg = TrainConfig {
        epochs: 5,
        batch_size: 8,
        ..TrainConfig::default()
    };
    fit(&mut net, &mut sgd, &loss, &data, None, &cfg, &mut Silent).unwrap();
    let mut moved = 0;
    for (l, l0) in net.layers.iter().zip(&before.layers) {
        let mask = l.weight.mask.as_ref().unwrap();
        for ((mu, mu0), &k) in l
            .weight
            .mean
            .value()
            .iter()
            .zip(l0.weight.mean.value().iter())
            .zip(mask.iter())
        {
            if k == 0.0 {
                assert_eq!(*mu, 0.0);
            } else if mu != mu0 {
                moved += 1;
            }
        }
    }
    assert!(moved > 10, "{moved} kept weights moved");
}

#[test]
fn bad_inputs_are_errors_naming_the_setting() {
    let mut rng = StdRng::seed_from_u64(7);
    let net = model(Activation::Relu, &mut rng);
    let tape = Tape::new();
    let ctx = Ctx::eval(&tape);
    let x = ctx.input(normal(&mut rng, 5, 3, 1.0));
    let err = complexity_loss(&ctx, &net, x, &LABELS, -1.0, &config()).unwrap_err();
    assert!(
        err.to_string().contains("λ must be a finite number ≥ 0"),
        "{err}"
    );
    for bad in [0.0, -1.0, f64::INFINITY] {
        let err = ComplexityConfig::new(bad, 10).unwrap_err().to_string();
        assert!(err.contains("prior_variance"), "{err}");
    }
    let encoding = LambdaEncoding::Identity;
    for kind in [
        HypernetKind::LowRank { rank: 0, hidden: 5 },
        HypernetKind::LowRank { rank: 1, hidden: 0 },
    ] {
        let err = Hypernet::new(net.clone(), kind, encoding, &mut rng).unwrap_err();
        assert!(err.to_string().contains("low-rank hypernetwork"), "{err}");
    }
    let hyper = Hypernet::new(net, HypernetKind::Linear, encoding, &mut rng).unwrap();
    assert!(hyper.model_at(-0.5).is_err());
}

#[test]
fn the_verify_checks_hold() {
    for outcome in checks::run_all().unwrap() {
        assert!(outcome.passed, "{outcome}");
    }
}
