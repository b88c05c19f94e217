//! The metaparameter optimisation of seed S3 (`methods::meta`): second-order gradient checks
//! through an SGD step, the hypergradient of a ReLU student under Adam, the training loop and
//! its errors on bad input.

use autograd::gradcheck::check_fn;
use autograd::{gradcheck, gradgradcheck, Tolerance};
use methods::meta::checks::{central_difference_hypergradient, worst_ratio};
use methods::meta::step::sgd_step;
use methods::meta::{
    hypergradient, optimise_metaparameters, train_loss, val_loss, InnerOptimizer, InnerState,
    LowerLevel, MetaData, MetaParams, MetaSource, MetaStrategy, MetaTrainConfig, MetaVars,
    PredictionSchedule, TemperatureRange, TrainBatch, ValBatch,
};
use ndarray::{array, Array1, Array2, ArrayD};
use nn::data::synthetic::sign_samples;
use nn::data::Dataset;
use nn::layers::{mlp, Activation, Linear, Sequential};
use nn::loss::TemperatureScaling;
use nn::optim::AdamConfig;
use nn::{Module, Param};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

fn normal(shape: &[usize], seed: u64) -> ArrayD<f64> {
    let mut rng = StdRng::seed_from_u64(seed);
    ArrayD::from_shape_simple_fn(shape, || rng.sample(StandardNormal))
}

/// The engine's error inside a method error (the gradient checks take autograd's).
fn unwrap_autograd(e: methods::Error) -> autograd::Error {
    match e {
        methods::Error::Autograd(e) => e,
        other => panic!("unexpected error: {other}"),
    }
}

/// `F(a, W) = L_val(W − γ ∇_W L_train(W, λ(a)))` for a linear student `z = x Wᵀ` (3 features,
/// 3 classes): the distillation loss differentiated through one SGD step. `gradcheck` checks
/// `∇_a F` (the hypergradient, which needs `∂²L_train/∂W∂a`) and `∇_W F`; `gradgradcheck`
/// checks their derivatives once more (third derivatives of `L_train`). Default tolerances
/// (justified in `autograd::Tolerance`), both scalings of the soft term.
#[test]
fn gradgradcheck_through_an_sgd_step() {
    let x_train = normal(&[5, 3], 1);
    let v_train = normal(&[5, 3], 2).mapv(|v| 2.0 * v);
    let x_val = normal(&[4, 3], 3);
    let (y_train, y_val) = ([0, 2, 1, 1, 0], [1, 0, 2, 2]);
    for scaling in [TemperatureScaling::None, TemperatureScaling::Squared] {
        let f = check_fn(|tape, xs| {
            let meta = MetaVars::from_raw_var(xs[0], TemperatureRange::default())
                .map_err(unwrap_autograd)?;
            let w = xs[1];
            let logits = tape.constant(x_train.clone()).matmul_t(w, false, true)?;
            let v = tape.constant(v_train.clone());
            let lt = train_loss(logits, &y_train, v, &meta, scaling).map_err(unwrap_autograd)?;
            let g = tape.grad_graph(lt, &[w])?.remove(0);
            let w1 = sgd_step(w, g, 0.7).map_err(unwrap_autograd)?;
            let val_logits = tape.constant(x_val.clone()).matmul_t(w1, false, true)?;
            val_loss(val_logits, &y_val).map_err(unwrap_autograd)
        });
        let inputs = [array![0.4, -0.3, 0.8].into_dyn(), normal(&[3, 3], 4)];
        let first = gradcheck(f, &inputs, Tolerance::default()).unwrap();
        assert!(first.passed(), "{scaling:?}: {first}");
        let second = gradgradcheck(f, &inputs, Tolerance::default()).unwrap();
        assert!(second.passed(), "{scaling:?}, second order: {second}");
    }
}

/// A ReLU student with a dead hidden unit (bias −100: its gradients are exactly 0, so Adam's
/// `v̂` is 0 there) under Adam: the hypergradient is finite (the plain chain rule through `√v̂`
/// would give NaN) and matches central finite differences (the dead unit stays dead under the
/// ±1e-5 perturbations, so the function is smooth where it is differenced). Tolerance: that of
/// the verify checks (1e-9 + 1e-6·|fd|, justified in `HypergradCheckConfig`).
#[test]
fn a_dead_relu_unit_under_adam_gives_a_finite_exact_hypergradient() {
    let mut rng = StdRng::seed_from_u64(7);
    let mut model: Sequential<f64> = mlp(&[3, 4, 2], Activation::Relu, true, &mut rng);
    let mut dead = 0;
    model.visit_params_mut(&mut |name, p: &mut Param<f64>| {
        if name == "0.bias" {
            p.value_mut()[0] = -100.0;
            dead += 1;
        }
    });
    assert_eq!(dead, 1);
    let batch = |rng: &mut StdRng| {
        let (x, y) = sign_samples::<f64, _>(16, 0.5, rng).unwrap().into_parts();
        let v = Array2::from_shape_fn((x.nrows(), 2), |(i, k)| {
            let s = 1.5 * x[[i, 0]] * x[[i, 1]];
            if k == 0 {
                -s
            } else {
                s
            }
        });
        TrainBatch {
            x,
            labels: y.to_vec(),
            teacher_logits: v,
        }
    };
    let train = vec![batch(&mut rng), batch(&mut rng)];
    let v = batch(&mut rng);
    let val = ValBatch {
        x: v.x,
        labels: v.labels,
    };
    let lower = LowerLevel {
        optimizer: InnerOptimizer::Adam(AdamConfig::adam(0.05)),
        scaling: TemperatureScaling::None,
    };
    let meta = MetaParams::from_raw([0.3, -0.5, 0.2], TemperatureRange::default()).unwrap();
    let state = InnerState::default();
    let exact = hypergradient(&model, &meta, &lower, &state, &train, &val).unwrap();
    assert!(exact.grad.iter().all(|g| g.is_finite()), "{:?}", exact.grad);
    let fd = central_difference_hypergradient(&model, &meta, &lower, &state, &train, &val, 1e-5)
        .unwrap();
    let ratio = worst_ratio(&exact.grad, &fd, 1e-9, 1e-6);
    assert!(ratio <= 1.0, "exact {:?} vs fd {fd:?}: {ratio}", exact.grad);
}

fn sign_data(n: usize, rng: &mut StdRng) -> (Dataset<f64>, Array2<f64>) {
    let data = sign_samples::<f64, _>(n, 0.5, rng).unwrap();
    let x = data.x();
    let v = Array2::from_shape_fn((n, 2), |(i, k)| {
        let s = 2.0 * x[[i, 0]] * x[[i, 1]];
        if k == 0 {
            -s
        } else {
            s
        }
    });
    (data, v)
}

fn config(strategy: MetaStrategy) -> MetaTrainConfig {
    MetaTrainConfig {
        steps: 30,
        batch_size: 16,
        val_batch_size: None,
        lower: LowerLevel {
            optimizer: InnerOptimizer::Adam(AdamConfig::adam(0.01)),
            scaling: TemperatureScaling::None,
        },
        strategy,
        unroll_steps: 2,
        meta_lr: 50.0,
        meta_clip: Some(1.0),
        eval_every: 10,
        seed: 3,
    }
}

/// The loop on the seed's data: each strategy takes its λ from where it should (fixed: never
/// changes; hypergradient: every step; predicted: hypergradients plus predictions, adding up
/// to the steps), the metaparameters stay in range, and evaluations are at 0, 10, 20, 30.
#[test]
fn the_training_loop_follows_each_strategy() {
    let mut rng = StdRng::seed_from_u64(11);
    let (train, teacher) = sign_data(64, &mut rng);
    let (validation, _) = sign_data(32, &mut rng);
    let (test, _) = sign_data(100, &mut rng);
    let data = MetaData {
        train: &train,
        teacher_logits: &teacher,
        validation: &validation,
        test: Some(&test),
    };
    let range = TemperatureRange::default();
    let init = MetaParams::from_raw([0.5, -0.5, -1.0], range).unwrap();
    let schedule = PredictionSchedule {
        window: 4,
        horizon: 6,
        max_residual: f64::INFINITY,
        max_val_rise: None,
    };
    for strategy in [
        MetaStrategy::Fixed,
        MetaStrategy::Hypergradient,
        MetaStrategy::Predicted(schedule),
    ] {
        let mut student = Linear::<f64>::new(3, 2, true, &mut StdRng::seed_from_u64(5));
        let run =
            optimise_metaparameters(&mut student, init, &data, &config(strategy), None).unwrap();
        assert_eq!(run.steps.len(), 30);
        let evals: Vec<usize> = run.evals.iter().map(|e| e.step).collect();
        assert_eq!(evals, [0, 10, 20, 30]);
        for s in &run.steps {
            let v = s.values;
            assert!(v.beta1 > 0.0 && v.beta1 < 1.0 && v.beta2 > 0.0 && v.beta2 < 1.0);
            assert!(v.temperature > range.min && v.temperature < range.max);
            assert!(s.train_loss.is_finite());
        }
        match strategy {
            MetaStrategy::Fixed => {
                assert!(run.steps.iter().all(|s| s.raw == init.raw));
                assert_eq!(run.hypergradients, 0);
            }
            MetaStrategy::Hypergradient => {
                assert_eq!(run.hypergradients, 30);
                assert!(run
                    .steps
                    .iter()
                    .all(|s| s.source == MetaSource::Hypergradient));
                assert_ne!(run.final_meta.raw, init.raw, "λ never moved");
            }
            MetaStrategy::Predicted(_) => {
                // m = 4 hypergradient steps, then k = 6 predicted ones, three times over:
                // 4 + 6 + 4 + 6 + 4 + 6 = 30, two switches back (the last phase runs out).
                assert_eq!((run.hypergradients, run.predicted), (12, 18));
                let predicted = run
                    .steps
                    .iter()
                    .filter(|s| s.source == MetaSource::Predicted)
                    .count();
                assert_eq!(predicted, 18);
                assert_eq!(run.switches.len(), 2);
            }
        }
    }
}

/// With the validation guard on, every iteration is still either a hypergradient or a
/// prediction, and a prediction phase ends on the horizon or on a rise of the validation loss.
#[test]
fn the_guarded_prediction_accounts_for_every_step() {
    let mut rng = StdRng::seed_from_u64(12);
    let (train, teacher) = sign_data(64, &mut rng);
    let (validation, _) = sign_data(32, &mut rng);
    let data = MetaData {
        train: &train,
        teacher_logits: &teacher,
        validation: &validation,
        test: None,
    };
    let schedule = PredictionSchedule {
        window: 3,
        horizon: 5,
        max_residual: f64::INFINITY,
        max_val_rise: Some(0.0),
    };
    let init = MetaParams::from_raw([0.5, -0.5, -1.0], TemperatureRange::default()).unwrap();
    let mut student = Linear::<f64>::new(3, 2, true, &mut StdRng::seed_from_u64(5));
    let cfg = config(MetaStrategy::Predicted(schedule));
    let run = optimise_metaparameters(&mut student, init, &data, &cfg, None).unwrap();
    assert_eq!(run.hypergradients + run.predicted, cfg.steps);
    assert!(run.predicted > 0 && !run.switches.is_empty());
}

/// Bad input from outside gives an error naming the key, not a panic.
#[test]
fn bad_input_names_the_key() {
    let mut rng = StdRng::seed_from_u64(2);
    let (train, teacher) = sign_data(20, &mut rng);
    let (validation, _) = sign_data(10, &mut rng);
    let empty = Dataset::new(Array2::<f64>::zeros((0, 3)), Array1::<usize>::zeros(0)).unwrap();
    let init = MetaParams::centre(TemperatureRange::default()).unwrap();
    let run = |data: &MetaData<'_, f64>, cfg: &MetaTrainConfig| {
        let mut student = Linear::<f64>::new(3, 2, true, &mut StdRng::seed_from_u64(1));
        optimise_metaparameters(&mut student, init, data, cfg, None)
            .unwrap_err()
            .to_string()
    };
    let good = MetaData {
        train: &train,
        teacher_logits: &teacher,
        validation: &validation,
        test: None,
    };
    let no_val = MetaData {
        validation: &empty,
        ..good
    };
    let base = config(MetaStrategy::Hypergradient);
    let err = run(&no_val, &base);
    assert!(err.contains("validation split"), "{err}");
    let err = run(
        &good,
        &MetaTrainConfig {
            unroll_steps: 0,
            ..base
        },
    );
    assert!(err.contains("unroll steps k"), "{err}");
    let window = PredictionSchedule {
        window: 1,
        ..PredictionSchedule::default()
    };
    let err = run(
        &good,
        &MetaTrainConfig {
            strategy: MetaStrategy::Predicted(window),
            ..base
        },
    );
    assert!(err.contains("prediction window m"), "{err}");
    let err = MetaParams::from_raw(
        [0.0; 3],
        TemperatureRange {
            min: 0.0,
            max: 10.0,
        },
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("t_min"), "{err}");
    // the library functions directly
    let student = Linear::<f64>::new(3, 2, true, &mut StdRng::seed_from_u64(1));
    let lower = base.lower;
    let val = ValBatch {
        x: Array2::<f64>::zeros((0, 3)),
        labels: vec![],
    };
    let batch = TrainBatch {
        x: train.x().clone(),
        labels: train.y().to_vec(),
        teacher_logits: teacher.clone(),
    };
    let state = InnerState::default();
    let err = hypergradient(&student, &init, &lower, &state, &[batch], &val).unwrap_err();
    assert!(err.to_string().contains("validation split"), "{err}");
    let val = ValBatch {
        x: validation.x().clone(),
        labels: validation.y().to_vec(),
    };
    let err = hypergradient(&student, &init, &lower, &state, &[], &val).unwrap_err();
    assert!(err.to_string().contains("unroll steps k"), "{err}");
}

/// Random search draws its candidates inside the ranges, trains each from a fresh student
/// and picks the lowest final validation cross-entropy; zero trials is an error naming the key.
#[test]
fn random_search_picks_the_lowest_validation_loss() {
    use methods::meta::{random_search, sample_search_point};
    let mut rng = StdRng::seed_from_u64(4);
    let (train, teacher) = sign_data(48, &mut rng);
    let (validation, _) = sign_data(24, &mut rng);
    let data = MetaData {
        train: &train,
        teacher_logits: &teacher,
        validation: &validation,
        test: None,
    };
    let range = TemperatureRange::new(0.5, 4.0).unwrap();
    for _ in 0..200 {
        let v = sample_search_point(range, &mut rng).unwrap().values();
        assert!(v.beta1 > 0.0 && v.beta1 < 1.0 && v.beta2 > 0.0 && v.beta2 < 1.0);
        assert!(
            v.temperature > 0.5 && v.temperature < 4.0,
            "{}",
            v.temperature
        );
    }
    let cfg = MetaTrainConfig {
        steps: 10,
        eval_every: 5,
        ..config(MetaStrategy::Hypergradient)
    };
    let mut new_student = |i: usize| -> Box<dyn Module<f64>> {
        Box::new(Linear::<f64>::new(
            3,
            2,
            true,
            &mut StdRng::seed_from_u64(i as u64),
        ))
    };
    let search = random_search(&mut new_student, &data, &cfg, range, 4, &mut rng, None).unwrap();
    assert_eq!(search.trials.len(), 4);
    let scores: Vec<f64> = search
        .trials
        .iter()
        .map(|t| t.run.last_eval().validation.cross_entropy)
        .collect();
    let min = scores.iter().copied().fold(f64::INFINITY, f64::min);
    assert_eq!(scores[search.best], min, "{scores:?}");
    for t in &search.trials {
        assert_eq!(t.run.hypergradients, 0, "a trial's λ must stay fixed");
        assert!(t.run.steps.iter().all(|s| s.raw == t.meta.raw));
    }
    let err = random_search(&mut new_student, &data, &cfg, range, 0, &mut rng, None).unwrap_err();
    assert!(err.to_string().contains("random search trials"), "{err}");
}
