//! Bayesian distillation end to end on a small teacher: Laplace posterior (each structure) →
//! neuron scores (each order) → alignment → aligned prior → the student's objective; and the
//! errors for bad input.

use autograd::Tape;
use methods::bayes::gaussian::Form;
use methods::bayes::kl::PreparedPrior;
use methods::bayes::laplace::{laplace, Curvature, LaplaceConfig, Structure};
use methods::bayes::likelihood::{Likelihood, Targets};
use methods::bayes::linalg::DEFAULT_JITTER;
use methods::bayes::mlp::NoBiasMlp;
use methods::bayes::orders::{neuron_scores, RemovalOrder};
use methods::bayes::posterior::Structured;
use methods::bayes::variational::{variational_objective, VariationalConfig, VariationalMlp};
use methods::Error;
use ndarray::Array2;
use nn::layers::{mlp, Activation};
use nn::Ctx;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use rand_distr::StandardNormal;

const TEACHER: [usize; 4] = [4, 6, 5, 1];

fn data(rng: &mut StdRng) -> (Array2<f64>, Array2<f64>) {
    let x = Array2::from_shape_simple_fn((40, 4), || rng.sample::<f64, _>(StandardNormal));
    let w = Array2::from_shape_simple_fn((4, 1), || rng.sample::<f64, _>(StandardNormal));
    let noise =
        Array2::from_shape_simple_fn((40, 1), || 0.3 * rng.sample::<f64, _>(StandardNormal));
    let y = x.dot(&w) + noise;
    (x, y)
}

fn teacher(rng: &mut StdRng) -> NoBiasMlp {
    let model = mlp::<f64>(&TEACHER, Activation::Relu, false, rng);
    NoBiasMlp::from_module(&model, Activation::Relu).unwrap()
}

#[test]
fn every_structure_and_order_gives_a_usable_student_prior() {
    let mut rng = StdRng::seed_from_u64(4);
    let (x, y) = data(&mut rng);
    let teacher = teacher(&mut rng);
    let lik = Likelihood::Gaussian { noise_var: 0.1 };
    for structure in [Structure::Full, Structure::Diagonal, Structure::Kfac] {
        let cfg = LaplaceConfig {
            structure,
            likelihood: lik,
            batch_size: 16,
            ..LaplaceConfig::default()
        };
        let lap = laplace(&teacher, x.view(), Targets::Real(y.view()), &cfg).unwrap();
        assert!(lap.report.log_det_precision.is_finite());
        let orders = [
            RemovalOrder::Random { seed: 1 },
            RemovalOrder::OptimalBrainDamage,
            RemovalOrder::DensityRatio,
            RemovalOrder::Belsley,
        ];
        for order in orders {
            let scores = neuron_scores(order, &lap.posterior, None).unwrap();
            assert_eq!(scores.iter().map(Vec::len).collect::<Vec<_>>(), vec![6, 5]);
            assert!(scores.iter().flatten().all(|s| s.is_finite()), "{order:?}");
            for student in [vec![4, 3, 3, 1], vec![4, 5, 1]] {
                let (removals, aligned) = lap
                    .posterior
                    .align_to(&student, true, &scores, DEFAULT_JITTER)
                    .unwrap();
                assert!(!removals.is_empty());
                assert_eq!(aligned.prior.sizes, student);
                assert_eq!(
                    aligned.jitter, 0.0,
                    "a Laplace posterior's blocks factor as given"
                );
                // the diagonal prior keeps the teacher's surviving weights as its mean
                if let Structured::Diagonal(g) = &aligned.prior.dist {
                    let u = teacher.flat();
                    assert!(g.mean.iter().all(|m| u.iter().any(|v| v == m)));
                }
                let prepared = PreparedPrior::new(&aligned.prior).unwrap();
                let model =
                    VariationalMlp::<f64>::from_prior(&aligned.prior, Activation::Relu, -6.0)
                        .unwrap();
                let tape = Tape::new();
                let ctx = Ctx::train(&tape, 3);
                let cfg = VariationalConfig {
                    likelihood: lik,
                    train_size: 40,
                    kl_weight: 1.0,
                };
                let terms = variational_objective(
                    &ctx,
                    &model,
                    ctx.input(x.view()),
                    &Targets::Real(y.view()),
                    &prepared,
                    &cfg,
                )
                .unwrap();
                let (loss, kl) = (terms.loss.item().unwrap(), terms.kl.item().unwrap());
                assert!(
                    loss.is_finite() && kl >= 0.0,
                    "{structure:?} {order:?}: {loss} {kl}"
                );
            }
        }
    }
}

/// Layer removal keeps the function when the removed layer is the identity: a teacher whose
/// middle layer is I and whose removed neurons are silent computes what the aligned mean
/// network computes, and the conditioned mean of the K-FAC / diagonal prior is exactly those
/// weights (nothing moves when the teacher already satisfies the conditions).
#[test]
fn aligned_means_reproduce_an_already_aligned_teacher() {
    let mut rng = StdRng::seed_from_u64(8);
    let (x, y) = data(&mut rng);
    let mut t = teacher(&mut rng);
    // silence neuron 5 of hidden layer 0 (row 5 of U_1 and column 5 of U_2 = 0), make U_2 = I
    // on the rest
    t.weights[0].row_mut(5).fill(0.0);
    t.weights[1] = Array2::from_shape_fn((5, 6), |(i, j)| if i == j { 1.0 } else { 0.0 });
    let scores = vec![vec![0.0, 0.0, 0.0, 0.0, 0.0, 1.0], vec![0.0; 5]];
    for structure in [Structure::Diagonal, Structure::Kfac] {
        let cfg = LaplaceConfig {
            structure,
            likelihood: Likelihood::Gaussian { noise_var: 0.1 },
            ..LaplaceConfig::default()
        };
        let lap = laplace(&t, x.view(), Targets::Real(y.view()), &cfg).unwrap();
        let (_, aligned) = lap
            .posterior
            .align_to(&[4, 5, 1], true, &scores, DEFAULT_JITTER)
            .unwrap();
        let student = NoBiasMlp::from_flat(
            &[4, 5, 1],
            aligned.prior.mean().as_slice().unwrap(),
            Activation::Relu,
        )
        .unwrap();
        let run = |m: &NoBiasMlp| {
            let tape = Tape::<f64>::new();
            let w: Vec<_> = m.weights.iter().map(|w| tape.constant(w.view())).collect();
            methods::bayes::mlp::forward(&w, tape.constant(x.view()), m.activation)
                .unwrap()
                .output
                .value()
        };
        let (a, b) = (run(&t), run(&student));
        // the same sums in a different order: rounding only
        for (p, q) in a.iter().zip(b.iter()) {
            assert!((p - q).abs() < 1e-12, "{structure:?}: {p} vs {q}");
        }
    }
}

#[test]
fn bad_input_gives_clear_errors() {
    let mut rng = StdRng::seed_from_u64(5);
    let (x, y) = data(&mut rng);
    let t = teacher(&mut rng);
    // an untrained ReLU teacher with no prior: the exact Hessian is indefinite
    let cfg = LaplaceConfig {
        curvature: Curvature::Hessian,
        prior_precision: 0.0,
        ..LaplaceConfig::default()
    };
    let err = laplace(&t, x.view(), Targets::Real(y.view()), &cfg).unwrap_err();
    assert!(matches!(err, Error::NotPositiveDefinite { .. }), "{err}");
    let msg = err.to_string();
    assert!(
        msg.contains("not at a minimum") && msg.contains("GGN"),
        "{msg}"
    );
    // K-FAC of the exact Hessian
    let cfg = LaplaceConfig {
        curvature: Curvature::Hessian,
        structure: Structure::Kfac,
        ..LaplaceConfig::default()
    };
    let msg = laplace(&t, x.view(), Targets::Real(y.view()), &cfg)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("K-FAC approximates"), "{msg}");
    // a full structure too large
    let cfg = LaplaceConfig {
        max_full_weights: 10,
        ..LaplaceConfig::default()
    };
    let msg = laplace(&t, x.view(), Targets::Real(y.view()), &cfg)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("max_full_weights"), "{msg}");
    // a teacher with biases, labels with a Gaussian likelihood
    let biased = mlp::<f64>(&TEACHER, Activation::Relu, true, &mut rng);
    let msg = NoBiasMlp::from_module(&biased, Activation::Relu)
        .unwrap_err()
        .to_string();
    assert!(msg.contains("bias"), "{msg}");
    let labels = vec![0usize; 40];
    let msg = laplace(
        &t,
        x.view(),
        Targets::Labels(&labels),
        &LaplaceConfig::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(msg.contains("real targets"), "{msg}");
    // unreachable students and layer removal with a non-idempotent activation
    let lap = laplace(
        &t,
        x.view(),
        Targets::Real(y.view()),
        &LaplaceConfig::default(),
    )
    .unwrap();
    let scores = neuron_scores(RemovalOrder::Random { seed: 0 }, &lap.posterior, None).unwrap();
    for (student, idem, needle) in [
        (vec![4, 7, 1], true, "cannot be split"),
        (vec![4, 5, 1], false, "σ ∘ σ = σ"),
        (vec![3, 5, 1], true, "input and the output"),
    ] {
        let err = lap
            .posterior
            .align_to(&student, idem, &scores, DEFAULT_JITTER)
            .unwrap_err();
        assert!(matches!(err, Error::Alignment { .. }), "{err}");
        assert!(err.to_string().contains(needle), "{err}");
    }
    // the dense form covers every weight: 4·6 + 6·5 + 5·1
    assert_eq!(lap.posterior.to_dense(Form::Precision).unwrap().dim(), 59);
}
