//! A meta loop stopped mid-way and continued from its saved state ends with the same records,
//! bit for bit, as an uninterrupted one (`methods::meta::resume`, on `nn::train::resume`).

use methods::meta::{
    optimise_metaparameters, InnerOptimizer, LowerLevel, MetaData, MetaParams, MetaRun,
    MetaStrategy, MetaTrainConfig, PredictionSchedule, TemperatureRange,
};
use ndarray::Array2;
use nn::data::synthetic::sign_samples;
use nn::layers::{mlp, Activation, Sequential};
use nn::loss::TemperatureScaling;
use nn::optim::AdamConfig;
use nn::train::Resume;
use rand::rngs::StdRng;
use rand::SeedableRng;

fn student(seed: u64) -> Sequential<f32> {
    mlp(
        &[3, 8, 2],
        Activation::Tanh,
        true,
        &mut StdRng::seed_from_u64(seed),
    )
}

/// A run's records without its wall times (which differ between any two runs).
fn numbers(run: &MetaRun) -> MetaRun {
    MetaRun {
        seconds: 0.0,
        hypergradient_seconds: 0.0,
        ..run.clone()
    }
}

/// For each inner optimiser and strategy: a run of 15 iterations saved into a state directory,
/// then a run of 30 from that directory, equals an uninterrupted run of 30 in every record. The
/// continued run is handed a student of *another* initialisation, so it can only match if the
/// saved parameters, optimiser moments, λ, predictor window and batch positions were restored
/// (started afresh, it would train another student). Iteration 15 lies inside a prediction
/// phase (window 4, horizon 6: iterations 11–14 hypergradients, 15–20 predicted), and the
/// validation batches are drawn from their own stream, which must be replayed too.
#[test]
fn a_run_continued_from_its_saved_state_equals_an_uninterrupted_one() {
    let mut rng = StdRng::seed_from_u64(7);
    let train = sign_samples::<f32, _>(48, 0.5, &mut rng).unwrap();
    let validation = sign_samples::<f32, _>(24, 0.5, &mut rng).unwrap();
    let teacher = Array2::from_shape_fn((48, 2), |(i, k)| {
        let s = 2.0 * train.x()[[i, 0]] * train.x()[[i, 1]];
        if k == 0 {
            -s
        } else {
            s
        }
    });
    let data = MetaData {
        train: &train,
        teacher_logits: &teacher,
        validation: &validation,
        test: None,
    };
    let schedule = PredictionSchedule {
        window: 4,
        horizon: 6,
        max_residual: f64::INFINITY,
        max_val_rise: Some(0.05),
    };
    let init = MetaParams::from_raw([0.5, -0.5, -1.0], TemperatureRange::default()).unwrap();
    for optimizer in [
        InnerOptimizer::Adam(AdamConfig::adam(0.01)),
        InnerOptimizer::Sgd { lr: 0.1 },
    ] {
        for strategy in [
            MetaStrategy::Predicted(schedule),
            MetaStrategy::Hypergradient,
        ] {
            let cfg = MetaTrainConfig {
                steps: 30,
                batch_size: 16,
                val_batch_size: Some(8),
                lower: LowerLevel {
                    optimizer,
                    scaling: TemperatureScaling::None,
                },
                strategy,
                unroll_steps: 2,
                meta_lr: 50.0,
                meta_clip: Some(1.0),
                eval_every: 5,
                seed: 3,
            };
            let whole = optimise_metaparameters(&mut student(1), init, &data, &cfg, None).unwrap();

            let dir = tempfile::tempdir().unwrap();
            let resume = Resume {
                interval: std::time::Duration::ZERO,
                ..Resume::new(dir.path().join("line"), "test run")
            };
            let first = MetaTrainConfig { steps: 15, ..cfg };
            let part = optimise_metaparameters(&mut student(1), init, &data, &first, Some(&resume))
                .unwrap();
            assert_eq!(
                part.steps[..],
                whole.steps[..15],
                "{optimizer:?} {strategy:?}"
            );
            assert!(dir.path().join("line/state.json").is_file());

            let mut other = student(2);
            let continued =
                optimise_metaparameters(&mut other, init, &data, &cfg, Some(&resume)).unwrap();
            assert_eq!(
                numbers(&continued),
                numbers(&whole),
                "{optimizer:?} {strategy:?}"
            );
            // the saved wall times of the first part are carried over
            assert!(continued.seconds >= part.seconds);
            // and the student is the uninterrupted run's
            let mut reference = student(1);
            optimise_metaparameters(&mut reference, init, &data, &cfg, None).unwrap();
            let params = |m: &Sequential<f32>| {
                let mut out = Vec::new();
                nn::Module::visit_params(m, &mut |_, p| out.push(p.value().clone()));
                out
            };
            assert_eq!(params(&other), params(&reference));
        }
    }
}
