//! The training loop: determinism, the early stop on a non-finite loss, learning on synthetic
//! data, and the learning-sanity checks on real data (skipped loudly without DISTILLERY_DATA).

use std::time::Instant;

use autograd::{Conv2dGeometry, Float, Var};
use nn::data::testing::real_data_root;
use nn::data::{discover_in, load, Dataset, Part, SoftmaxDataConfig};
use nn::layers::{mlp, Activation, Conv2d, Flatten, Linear, MaxPool2d, Sequential};
use nn::optim::{Adam, AdamConfig, Optimizer, Sgd, SgdConfig};
use nn::train::{evaluate, fit, Batch, BatchLoss, CrossEntropy, EpochReport, Silent, TrainConfig};
use nn::{Ctx, Error, Module};
use rand::rngs::StdRng;
use rand::SeedableRng;

fn synthetic() -> (Dataset<f64>, Dataset<f64>) {
    let data = SoftmaxDataConfig::default()
        .generate::<f64, _>(&mut StdRng::seed_from_u64(4))
        .unwrap();
    (data.train, data.test)
}

fn train_logreg(seed: u64) -> (Vec<EpochReport>, Vec<f64>) {
    let (train, test) = synthetic();
    let mut model = mlp::<f64>(
        &[10, 3],
        Activation::Relu,
        true,
        &mut StdRng::seed_from_u64(seed),
    );
    let mut opt = Sgd::new(SgdConfig::new(0.1)).unwrap();
    let cfg = TrainConfig {
        epochs: 3,
        batch_size: 32,
        seed,
        ..TrainConfig::default()
    };
    let reports = fit(
        &mut model,
        &mut opt,
        &CrossEntropy,
        &train,
        Some(&test),
        &cfg,
        &mut Silent,
    )
    .unwrap();
    let mut params = Vec::new();
    model.visit_params(&mut |_, p| params.extend(p.value().iter().copied()));
    (reports, params)
}

/// The same seed gives the same losses, evaluations and parameters, bit for bit.
#[test]
fn training_is_deterministic() {
    let strip =
        |r: Vec<EpochReport>| -> Vec<_> { r.into_iter().map(|e| (e.train_loss, e.eval)).collect() };
    let (a, pa) = train_logreg(1);
    let (b, pb) = train_logreg(1);
    assert_eq!(strip(a), strip(b));
    assert_eq!(pa, pb);
    let (_, pc) = train_logreg(2);
    assert_ne!(pa, pc, "another seed must give another run");
}

/// Softmax regression on the S4 synthetic data learns: the training loss falls and the test
/// accuracy beats the majority class. (The labels are drawn from softmax(XW), so even the true
/// model is far from perfect; the majority class of K = 3 is ≈ 0.33–0.45.)
#[test]
fn softmax_regression_learns_the_synthetic_data() {
    let (reports, _) = train_logreg(0);
    let (_, test) = synthetic();
    let majority = *test.class_counts().iter().max().unwrap() as f64 / test.len() as f64;
    let first = &reports[0];
    let last = reports.last().unwrap();
    assert!(last.train_loss < first.train_loss, "{reports:?}");
    assert!(
        last.eval.unwrap().accuracy > majority + 0.15,
        "{last:?} vs majority {majority}"
    );
}

/// A loss that becomes NaN at the third batch stops training with an error naming the batch.
#[test]
fn a_non_finite_loss_stops_training_with_a_clear_error() {
    struct NanAtThird(std::cell::Cell<usize>);
    impl<F: Float, M: Module<F>> BatchLoss<F, M> for NanAtThird {
        fn loss<'t>(
            &self,
            model: &M,
            ctx: &Ctx<'t, F>,
            batch: &Batch<'_, F>,
        ) -> nn::Result<Var<'t, F>> {
            let l = CrossEntropy.loss(model, ctx, batch)?;
            let call = self.0.replace(self.0.get() + 1);
            Ok(if call == 2 { l.mul_scalar(f64::NAN) } else { l })
        }
    }
    let (train, _) = synthetic();
    let mut model = mlp::<f64>(
        &[10, 3],
        Activation::Relu,
        true,
        &mut StdRng::seed_from_u64(0),
    );
    let before: Vec<f64> = {
        let mut v = Vec::new();
        model.visit_params(&mut |_, p| v.extend(p.value().iter().copied()));
        v
    };
    let mut opt = Sgd::new(SgdConfig::new(0.1)).unwrap();
    let cfg = TrainConfig {
        epochs: 2,
        batch_size: 100,
        ..TrainConfig::default()
    };
    let nan = NanAtThird(std::cell::Cell::new(0));
    let err = fit(&mut model, &mut opt, &nan, &train, None, &cfg, &mut Silent).unwrap_err();
    assert!(
        matches!(
            err,
            Error::NonFiniteLoss {
                epoch: 1,
                batch: 3,
                ..
            }
        ),
        "{err}"
    );
    assert!(err.to_string().contains("epoch 1, batch 3"), "{err}");
    assert_eq!(opt.steps(), 2, "the NaN batch must not be applied");
    let mut after = Vec::new();
    model.visit_params(&mut |_, p| after.extend(p.value().iter().copied()));
    assert!(after.iter().all(|v| v.is_finite()) && after != before);
}

/// Fashion-MNIST, or `None` after a loud SKIPPED line.
fn real(dataset: &str) -> Option<nn::data::Discovery> {
    let root = real_data_root(dataset)?;
    Some(discover_in(vec![nn::data::discover::SearchRoot {
        origin: nn::data::discover::RootOrigin::EnvVar,
        path: root,
    }]))
}

/// Issue acceptance: logistic regression on a slice of Fashion-MNIST reaches ≥ 0.80 test
/// accuracy within seconds. 20,000 training images, 3 epochs of Adam (lr 1e-3, batch 64), the
/// full 10,000-image test set.
#[test]
fn logistic_regression_reaches_80_percent_on_fashion_mnist() {
    let Some(found) = real("logistic_regression_fashion_mnist") else {
        return;
    };
    let located = found.fashion_mnist().unwrap();
    let train = load::<f32>(located, Part::Train).unwrap().take(20_000);
    let test = load::<f32>(located, Part::Test).unwrap();
    let mut model = mlp::<f32>(
        &[784, 10],
        Activation::Relu,
        true,
        &mut StdRng::seed_from_u64(0),
    );
    let mut opt = Adam::new(AdamConfig::adam(1e-3)).unwrap();
    let cfg = TrainConfig {
        epochs: 3,
        batch_size: 64,
        ..TrainConfig::default()
    };
    let start = Instant::now();
    fit(
        &mut model,
        &mut opt,
        &CrossEntropy,
        &train,
        None,
        &cfg,
        &mut Silent,
    )
    .unwrap();
    let eval = evaluate(&model, &test, 1000).unwrap();
    eprintln!("logistic regression: {eval:?} in {:.2?}", start.elapsed());
    assert!(eval.accuracy >= 0.80, "{eval:?}");
}

/// Reshapes flat 784-pixel rows into `[n, 1, 28, 28]` images for a convolutional model.
struct Images<M>(M);

impl<M: Module<f32>> Module<f32> for Images<M> {
    fn forward<'t>(&self, ctx: &Ctx<'t, f32>, x: Var<'t, f32>) -> nn::Result<Var<'t, f32>> {
        let x = x.reshape(&[x.shape()[0], 1, 28, 28])?;
        self.0.forward(ctx, x)
    }
    fn visit_params(&self, f: &mut dyn FnMut(&str, &nn::Param<f32>)) {
        self.0.visit_params(f)
    }
    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut nn::Param<f32>)) {
        self.0.visit_params_mut(f)
    }
}

fn train_and_evaluate<M: Module<f32>>(
    model: &mut M,
    train: &Dataset<f32>,
    test: &Dataset<f32>,
) -> nn::train::Evaluation {
    let mut opt = Adam::new(AdamConfig::adam(1e-3)).unwrap();
    let cfg = TrainConfig {
        epochs: 2,
        batch_size: 64,
        ..TrainConfig::default()
    };
    fit(
        model,
        &mut opt,
        &CrossEntropy,
        train,
        None,
        &cfg,
        &mut Silent,
    )
    .unwrap();
    evaluate(model, test, 1000).unwrap()
}

/// Issue acceptance: a small CNN on the MNIST set beats logistic regression trained the same
/// way (an 80/20 split of the set found, 2 epochs of Adam).
#[test]
fn a_small_cnn_beats_logistic_regression_on_mnist() {
    let Some(found) = real("small_cnn_mnist") else {
        return;
    };
    let located = found.mnist().unwrap();
    let all = load::<f32>(located, Part::All).unwrap().take(10_000);
    let (train, test) = all
        .split(all.len() * 4 / 5, &mut StdRng::seed_from_u64(0))
        .unwrap();
    let mut rng = StdRng::seed_from_u64(1);
    let mut cnn = Images(
        Sequential::new()
            .push(Conv2d::new(
                1,
                8,
                5,
                Conv2dGeometry::new(1, 2, 1),
                true,
                &mut rng,
            ))
            .push(Activation::Relu)
            .push(MaxPool2d::new(2))
            .push(Conv2d::new(
                8,
                16,
                5,
                Conv2dGeometry::default(),
                true,
                &mut rng,
            ))
            .push(Activation::Relu)
            .push(MaxPool2d::new(2))
            .push(Flatten)
            .push(Linear::new(16 * 5 * 5, 10, true, &mut rng)),
    );
    let mut logreg = mlp::<f32>(&[784, 10], Activation::Relu, true, &mut rng);
    let start = Instant::now();
    let cnn_eval = train_and_evaluate(&mut cnn, &train, &test);
    let logreg_eval = train_and_evaluate(&mut logreg, &train, &test);
    eprintln!(
        "{located}: CNN {cnn_eval:?}, logistic regression {logreg_eval:?}, {:.2?}",
        start.elapsed()
    );
    assert!(
        cnn_eval.accuracy > logreg_eval.accuracy,
        "CNN {cnn_eval:?} vs logreg {logreg_eval:?}"
    );
}
