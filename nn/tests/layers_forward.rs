//! Known answers for the layers' forward passes (gradient checks only test backward against
//! forward, so a wrong forward would pass them).

use autograd::{Conv2dGeometry, IntoTensor, Tape};
use ndarray::{array, Array4, ArrayD, IxDyn};
use nn::layers::{mlp, Activation, Conv2d, Dropout, Linear};
use nn::{Ctx, Module, ModuleExt};
use rand::rngs::StdRng;
use rand::SeedableRng;

/// y = x Wᵀ + b with W = [[1, 2], [3, 4], [5, 6]], b = [0.5, −1, 0], x = [1, −1]:
/// y = [1−2+0.5, 3−4−1, 5−6+0] = [−0.5, −2, −1].
#[test]
fn linear_is_x_w_transposed_plus_b() {
    let mut layer = Linear::<f64>::new(2, 3, true, &mut StdRng::seed_from_u64(0));
    layer
        .weight_mut()
        .set(array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
        .unwrap();
    layer
        .bias_mut()
        .unwrap()
        .set(array![0.5, -1.0, 0.0])
        .unwrap();
    let tape = Tape::new();
    let ctx = Ctx::eval(&tape);
    let y = layer.forward(&ctx, ctx.input(array![[1.0, -1.0]])).unwrap();
    let expected = array![[-0.5, -2.0, -1.0]].into_dyn().into_shared();
    assert_eq!(y.value(), expected);
    // The same layer from its weights.
    let given = Linear::from_weights(
        array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]],
        Some(array![0.5, -1.0, 0.0].into_tensor()),
    )
    .unwrap();
    let y = given.forward(&ctx, ctx.input(array![[1.0, -1.0]])).unwrap();
    assert_eq!(y.value(), expected);
}

/// A layer can no longer be assembled from mismatched parts (the struct literal of public
/// fields accepted a bias of any length, and the error came at the first forward pass, from
/// the addition): `from_weights` refuses it, naming itself and the shapes.
#[test]
fn from_weights_refuses_mismatched_parts() {
    let w = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
    let err = Linear::<f64>::from_weights(w.clone(), Some(array![0.5, -1.0].into_tensor()))
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("Linear::from_weights") && err.contains("[3]") && err.contains("[2]"),
        "{err}"
    );
    assert!(Linear::<f64>::from_weights(array![1.0, 2.0], None).is_err());
    assert!(Linear::<f64>::from_weights(w, None)
        .unwrap()
        .bias()
        .is_none());
    let err = Conv2d::<f64>::from_weights(
        Array4::<f64>::ones((2, 1, 3, 3)),
        Some(array![1.0].into_tensor()),
        Conv2dGeometry::default(),
    )
    .unwrap_err()
    .to_string();
    assert!(err.contains("Conv2d::from_weights"), "{err}");
    assert!(Conv2d::<f64>::from_weights(array![[1.0]], None, Conv2dGeometry::default()).is_err());
}

/// A 2×2 all-ones kernel over a 3×3 image 1..9 (stride 1, no padding) sums each 2×2 window:
/// [[1+2+4+5, 2+3+5+6], [4+5+7+8, 5+6+8+9]] = [[12, 16], [24, 28]], plus the bias 0.5.
#[test]
fn conv2d_sums_windows_and_adds_the_bias_per_channel() {
    let mut conv = Conv2d::<f64>::new(
        1,
        1,
        2,
        Conv2dGeometry::default(),
        true,
        &mut StdRng::seed_from_u64(0),
    );
    conv.weight_mut()
        .set(Array4::<f64>::ones((1, 1, 2, 2)))
        .unwrap();
    conv.bias_mut().unwrap().set(array![0.5]).unwrap();
    let x = ArrayD::from_shape_vec(IxDyn(&[1, 1, 3, 3]), (1..=9).map(f64::from).collect()).unwrap();
    let tape = Tape::new();
    let ctx = Ctx::eval(&tape);
    let y = conv.forward(&ctx, ctx.input(x)).unwrap().value();
    let expected =
        ArrayD::from_shape_vec(IxDyn(&[1, 1, 2, 2]), vec![12.5, 16.5, 24.5, 28.5]).unwrap();
    assert_eq!(y, expected.into_shared());
}

/// Inverted dropout keeps E[y] = x: over 100,000 ones with p = 0.3 the kept fraction is
/// 0.7 ± 5σ (σ = √(0.3·0.7/1e5) ≈ 0.00145) and kept values are 1/0.7. In eval it is the identity.
#[test]
fn dropout_drops_a_fraction_p_and_rescales() {
    let n = 100_000;
    let tape = Tape::<f64>::new();
    let x = ArrayD::<f64>::ones(IxDyn(&[n]));
    let ctx = Ctx::train(&tape, 3);
    let y = Dropout::new(0.3)
        .unwrap()
        .forward(&ctx, ctx.input(x.clone()))
        .unwrap()
        .value();
    let kept = y.iter().filter(|&&v| v != 0.0).count() as f64 / n as f64;
    assert!(
        (kept - 0.7).abs() < 5.0 * (0.3f64 * 0.7 / n as f64).sqrt(),
        "kept {kept}"
    );
    assert!(y.iter().all(|&v| v == 0.0 || (v - 1.0 / 0.7).abs() < 1e-15));
    let ctx = Ctx::eval(&tape);
    let y = Dropout::new(0.3)
        .unwrap()
        .forward(&ctx, ctx.input(x.clone()))
        .unwrap()
        .value();
    assert_eq!(y, x.into_shared());
    assert!(Dropout::new(1.0).is_err() && Dropout::new(-0.1).is_err());
}

/// The teacher MLP of the seeds, named as PyTorch's nn.Sequential names them: 668,560
/// parameters with biases; without biases 784·800 + 800·50 + 50·10 = 667,700, the count the
/// Bayesian-distillation table gives for its bias-free teacher.
#[test]
fn mlp_builder_names_and_counts_parameters() {
    let model = mlp::<f32>(
        &[784, 800, 50, 10],
        Activation::Relu,
        true,
        &mut StdRng::seed_from_u64(0),
    );
    assert_eq!(
        model.param_count(),
        784 * 800 + 800 + 800 * 50 + 50 + 50 * 10 + 10
    );
    assert_eq!(
        model.param_names(),
        ["0.weight", "0.bias", "2.weight", "2.bias", "4.weight", "4.bias"]
    );
    let logreg = mlp::<f32>(
        &[784, 10],
        Activation::Relu,
        true,
        &mut StdRng::seed_from_u64(0),
    );
    assert_eq!(
        logreg.param_count(),
        7850,
        "the seed's logistic-regression student"
    );
    let bias_free = mlp::<f32>(
        &[784, 800, 50, 10],
        Activation::Relu,
        false,
        &mut StdRng::seed_from_u64(0),
    );
    assert_eq!(bias_free.param_count(), 667_700);
}

/// A frozen parameter is bound as a constant: `grads` has no entry for it.
#[test]
fn frozen_parameters_get_no_gradient() {
    let mut model = mlp::<f64>(
        &[3, 4, 2],
        Activation::Tanh,
        true,
        &mut StdRng::seed_from_u64(1),
    );
    model.visit_params_mut(&mut |name, p| p.frozen = name.starts_with('0'));
    let tape = Tape::new();
    let ctx = Ctx::train(&tape, 0);
    let out = model
        .forward(&ctx, ctx.input(array![[1.0, 2.0, 3.0]]))
        .unwrap()
        .sum();
    let grads = ctx.grads(out).unwrap();
    let mut seen = Vec::new();
    model.visit_params(&mut |name, p| seen.push((name.to_string(), grads.get(p).is_some())));
    assert_eq!(
        seen,
        [
            ("0.weight", false),
            ("0.bias", false),
            ("2.weight", true),
            ("2.bias", true)
        ]
        .map(|(n, g)| (n.to_string(), g))
    );
}
