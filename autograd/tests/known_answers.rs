//! Known-answer tests: values derived by hand (the derivation is in each comment), numerically
//! delicate inputs, higher-order identities, and the engine's behaviour at its edges.

use autograd::functional::{cross_entropy, soft_cross_entropy, Reduction};
use autograd::{Error, Float, Tape, Var};
use ndarray::{array, Array1, Array2, ArrayD, IxDyn};
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

fn close(a: f64, b: f64, tol: f64) -> bool {
    (a - b).abs() <= tol * (1.0 + b.abs())
}

/// Logits of ±1e4 overflow a naive `exp` in both precisions (e^{1e4} = inf); the stable forms
/// subtract the row maximum first. Row `[1e4, −1e4, 0]`: logsumexp = 1e4 + ln(1 + e^{−2e4} +
/// e^{−1e4}) = 1e4 exactly in floating point; softmax = [1, 0, 0]; log_softmax = [0, −2e4, −1e4].
fn extreme_logits<F: Float>() {
    let tape = Tape::<F>::new();
    let c = |v: f64| F::from_f64(v);
    let z = tape.param(array![
        [c(1e4), c(-1e4), c(0.0)],
        [c(-1e4), c(-1e4), c(-1e4)]
    ]);
    let lse = z.logsumexp(1, false).unwrap().value();
    let row = |v: Var<'_, F>, i: usize| -> Vec<F> {
        v.value()
            .index_axis(ndarray::Axis(0), i)
            .iter()
            .copied()
            .collect()
    };
    let sm = z.softmax(1).unwrap();
    let lsm = z.log_softmax(1).unwrap();
    assert_eq!(lse[[0]].as_f64(), 1e4);
    // second row: three equal logits, logsumexp = −1e4 + ln 3
    assert!(close(lse[[1]].as_f64(), -1e4 + 3f64.ln(), 1e-6));
    assert_eq!(row(sm, 0), vec![F::one(), F::zero(), F::zero()]);
    for p in row(sm, 1) {
        assert!(close(p.as_f64(), 1.0 / 3.0, 1e-6));
    }
    assert_eq!(
        row(lsm, 0).iter().map(|v| v.as_f64()).collect::<Vec<_>>(),
        vec![0.0, -2e4, -1e4]
    );
    // gradients stay finite too: ∂/∂z Σ log_softmax = 1 − K·softmax
    let loss = z.log_softmax(1).unwrap().sum();
    let g = tape.grad(loss, &[z]).unwrap().remove(0);
    assert!(g.iter().all(|v| v.is_finite()), "{g:?}");
    assert!(close(g[[0, 0]].as_f64(), 1.0 - 3.0, 1e-6));
}

#[test]
fn softmax_family_is_finite_at_extreme_logits_f32() {
    extreme_logits::<f32>();
}

#[test]
fn softmax_family_is_finite_at_extreme_logits_f64() {
    extreme_logits::<f64>();
}

/// CE(z, y) = −(1/B) Σ_i [z_{i,y_i} − ln Σ_k e^{z_ik}], evaluated by hand for two rows.
/// Its gradient is (softmax(z) − onehot(y)) / B.
#[test]
fn cross_entropy_matches_the_hand_formula() {
    let z = array![[1.0, 2.0, 3.0], [0.5, -1.0, 0.0]];
    let y = [2usize, 0];
    let lse = |r: [f64; 3]| r.iter().map(|v| v.exp()).sum::<f64>().ln();
    let expected = -((3.0 - lse([1.0, 2.0, 3.0])) + (0.5 - lse([0.5, -1.0, 0.0]))) / 2.0;

    let tape = Tape::<f64>::new();
    let zv = tape.param(z.clone());
    let ce = cross_entropy(zv, &y, Reduction::Mean).unwrap();
    assert!(close(ce.item().unwrap(), expected, 1e-14));
    // The seeds' form: the sum over the rows, B = 2 times the mean.
    let sum = cross_entropy(zv, &y, Reduction::Sum).unwrap();
    assert!(close(sum.item().unwrap(), 2.0 * expected, 1e-14));

    let g = tape.grad(ce, &[zv]).unwrap().remove(0);
    for i in 0..2 {
        let row = z.row(i);
        let denom: f64 = row.iter().map(|v| v.exp()).sum();
        for k in 0..3 {
            let onehot = if k == y[i] { 1.0 } else { 0.0 };
            let want = (row[k].exp() / denom - onehot) / 2.0;
            assert!(
                close(g[[i, k]], want, 1e-14),
                "({i},{k}): {} vs {want}",
                g[[i, k]]
            );
        }
    }
}

/// With one-hot targets at T = 1, the soft-target cross-entropy is the label cross-entropy.
#[test]
fn soft_cross_entropy_with_one_hot_targets_is_cross_entropy() {
    let tape = Tape::<f64>::new();
    let z = tape.param(array![[0.3, -1.2, 2.0], [1.0, 1.0, -0.5]]);
    let targets = tape.constant(array![[0.0, 0.0, 1.0], [1.0, 0.0, 0.0]]);
    let soft = soft_cross_entropy(z, targets, 1.0, Reduction::Mean)
        .unwrap()
        .item()
        .unwrap();
    let hard = cross_entropy(z, &[2, 0], Reduction::Mean)
        .unwrap()
        .item()
        .unwrap();
    assert!(close(soft, hard, 1e-15));
}

/// For f(x) = xᵀAx the Hessian is A + Aᵀ, so H·v = (A + Aᵀ)v. With small integers every
/// product and sum is exact in f64, so the comparison is exact equality.
#[test]
fn hvp_of_a_quadratic_form_is_exact() {
    let mut rng = StdRng::seed_from_u64(7);
    let n = 6;
    let a = Array2::from_shape_simple_fn((n, n), || rng.gen_range(-5..=5) as f64);
    let x = Array2::from_shape_simple_fn((n, 1), || rng.gen_range(-5..=5) as f64);
    let v = Array2::from_shape_simple_fn((n, 1), || rng.gen_range(-5..=5) as f64);

    let tape = Tape::<f64>::new();
    let xv = tape.param(x);
    let av = tape.constant(a.clone());
    let f = xv
        .t()
        .unwrap()
        .matmul(av.matmul(xv).unwrap())
        .unwrap()
        .sum();
    let hv = tape
        .hvp(f, &[xv], &[v.clone().into_dyn().into_shared()])
        .unwrap()
        .remove(0);
    let expected = (&a + &a.t()).dot(&v);
    assert_eq!(hv, expected.into_dyn().into_shared());
}

/// The Rust peer candle detaches gradients, so its d²/dx² x³ at 2 is 8; the right value is
/// 6x = 12 (and the first derivative 3x² = 12, the third 6).
#[test]
fn third_power_has_the_right_second_and_third_derivatives() {
    let tape = Tape::<f64>::new();
    let x = tape.param(ndarray::arr0(2.0));
    let y = x.powf(3.0);
    let d1 = tape.grad_graph(y, &[x]).unwrap()[0];
    let d2 = tape.grad_graph(d1, &[x]).unwrap()[0];
    let d3 = tape.grad(d2, &[x]).unwrap().remove(0);
    assert_eq!(d1.item(), Some(12.0));
    assert_eq!(d2.item(), Some(12.0));
    assert_eq!(d3[[]], 6.0);
}

/// J·v by the double-VJP trick against the explicit Jacobian of y = W x (J = W) and of the
/// elementwise y = x² (J = diag(2x)).
#[test]
fn jvp_matches_the_explicit_jacobian() {
    let tape = Tape::<f64>::new();
    let w = array![[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]];
    let x = tape.param(array![[0.5], [-1.0]]);
    let y = tape.constant(w.clone()).matmul(x).unwrap();
    let v = array![[2.0], [1.0]];
    let jv = tape
        .jvp(y, &[x], &[v.clone().into_dyn().into_shared()])
        .unwrap();
    assert_eq!(jv, w.dot(&v).into_dyn().into_shared());

    let sq = x.square();
    let jv = tape.jvp(sq, &[x], &[v.into_dyn().into_shared()]).unwrap();
    assert_eq!(
        jv,
        // diag(2x)·v = [2·0.5·2, 2·(−1)·1]
        array![[2.0], [-2.0]].into_dyn().into_shared()
    );
}

/// y = Σ_{i<n} x + x·x·x uses x n + 3 times: dy/dx = n + 3x².
#[test]
fn gradients_accumulate_over_every_use() {
    let tape = Tape::<f64>::new();
    let x = tape.param(ndarray::arr0(1.5));
    let n = 200;
    let mut y = x * x * x;
    for _ in 0..n {
        y = y + x;
    }
    let g = tape.grad(y, &[x]).unwrap().remove(0);
    assert_eq!(g[[]], n as f64 + 3.0 * 1.5 * 1.5);
}

/// Backward is an iterative sweep: a chain far deeper than any recursion could take works, for
/// plain and recorded gradients. y = x · 1.0001^n, so dy/dx = 1.0001^n.
#[test]
fn a_deep_chain_does_not_overflow_the_stack() {
    let n = 100_000;
    let tape = Tape::<f64>::new();
    let x = tape.param(ndarray::arr0(1.0));
    let mut y = x;
    for _ in 0..n {
        y = y.mul_scalar(1.0001);
    }
    let g = tape.grad(y, &[x]).unwrap().remove(0)[[]];
    assert!(close(g, 1.0001f64.powi(n), 1e-9));
    let g = tape.grad_graph(y, &[x]).unwrap()[0].item().unwrap();
    assert!(close(g, 1.0001f64.powi(n), 1e-9));
}

/// A small network built generically: conv, pool, matmul, softmax cross-entropy.
fn small_net<'t, F: Float>(
    tape: &'t Tape<F>,
    params: &[Var<'t, F>],
    x: &ArrayD<f64>,
) -> Var<'t, F> {
    let x = tape.constant(x.mapv(F::from_f64));
    let h = x
        .conv2d(params[0], None, autograd::Conv2dGeometry::new(1, 1, 1))
        .unwrap()
        .relu();
    let h = h
        .max_pool2d([2, 2], [2, 2])
        .unwrap()
        .flatten_from(1)
        .unwrap();
    let logits = h.matmul(params[1]).unwrap().tanh();
    cross_entropy(logits, &[1, 0, 2], Reduction::Mean).unwrap()
}

/// The same computation in f32 and f64 gives the same gradients to f32 precision: relative
/// error ≈ (number of rounding steps along the longest path) · 6e-8, here ≲ 1e-5.
#[test]
fn f32_and_f64_agree_to_f32_precision() {
    let mut rng = StdRng::seed_from_u64(3);
    let x = ArrayD::from_shape_simple_fn(IxDyn(&[3, 2, 6, 6]), || rng.gen_range(-1.0..1.0));
    let w0 = ArrayD::from_shape_simple_fn(IxDyn(&[4, 2, 3, 3]), || rng.gen_range(-0.5..0.5));
    let w1 = ArrayD::from_shape_simple_fn(IxDyn(&[36, 3]), || rng.gen_range(-0.5..0.5));

    let grads = |params: [ArrayD<f64>; 2]| -> (Vec<ArrayD<f64>>, Vec<ArrayD<f64>>) {
        let t64 = Tape::<f64>::new();
        let p64: Vec<_> = params.iter().map(|p| t64.param(p.clone())).collect();
        let l64 = small_net(&t64, &p64, &x);
        let g64 = t64.grad(l64, &p64).unwrap();
        let t32 = Tape::<f32>::new();
        let p32: Vec<_> = params
            .iter()
            .map(|p| t32.param(p.mapv(|v| v as f32)))
            .collect();
        let l32 = small_net(&t32, &p32, &x);
        let g32 = t32.grad(l32, &p32).unwrap();
        (
            g64.iter().map(|g| g.to_owned()).collect(),
            g32.iter().map(|g| g.mapv(|v| v as f64)).collect(),
        )
    };
    let (g64, g32) = grads([w0, w1]);
    for (a, b) in g64.iter().zip(&g32) {
        let scale = a.iter().fold(0.0f64, |m, v| m.max(v.abs()));
        let err = (a - b).iter().fold(0.0f64, |m, v| m.max(v.abs()));
        assert!(scale > 1e-3, "the test needs non-trivial gradients");
        assert!(err <= 1e-5 * scale, "max error {err} against scale {scale}");
    }
}

#[test]
fn grad_leaves_the_tape_as_it_was() {
    let tape = Tape::<f64>::new();
    let x = tape.param(array![1.0, 2.0, 3.0]);
    let y = x.exp().sum();
    let before = tape.len();
    let _ = tape.grad(y, &[x]).unwrap();
    let _ = tape
        .hvp(y, &[x], &[array![1.0, 0.0, 0.0].into_dyn().into_shared()])
        .unwrap();
    assert_eq!(tape.len(), before);
}

#[test]
fn no_grad_builds_constants() {
    let tape = Tape::<f64>::new();
    let x = tape.param(array![1.0, 2.0]);
    let y = tape.without_grad(|| x.exp().sum());
    assert!(!y.requires_grad());
    assert!(tape.is_recording(), "recording is restored");
    let z = x.exp().sum();
    assert!(z.requires_grad());
    // y does not depend on x on the tape: asking for dy/dx is asking for the gradient of a
    // constant output, which is zero
    assert_eq!(
        tape.grad(y, &[x]).unwrap()[0],
        array![0.0, 0.0].into_dyn().into_shared()
    );
}

#[test]
fn errors_name_the_op_and_the_shapes() {
    let tape = Tape::<f64>::new();
    let a = tape.param(Array2::<f64>::zeros((2, 3)));
    let b = tape.param(Array2::<f64>::zeros((4, 5)));
    let msg = a.matmul(b).unwrap_err().to_string();
    assert!(
        msg.contains("matmul") && msg.contains("[2, 3]") && msg.contains("[4, 5]"),
        "{msg}"
    );
    let msg = a.try_add(b).unwrap_err().to_string();
    assert!(
        msg.contains("add") && msg.contains("[2, 3]") && msg.contains("[4, 5]"),
        "{msg}"
    );
    let msg = a.reshape(&[7]).unwrap_err().to_string();
    assert!(
        msg.contains("reshape") && msg.contains("[2, 3]") && msg.contains("[7]"),
        "{msg}"
    );
    let msg = a.sum_axis(2, false).unwrap_err().to_string();
    assert!(msg.contains("sum") && msg.contains("axis 2"), "{msg}");
}

#[test]
#[should_panic(expected = "add: axis 1 of the broadcast has sizes 3 and 5")]
fn operators_panic_with_the_shape_error() {
    let tape = Tape::<f64>::new();
    let a = tape.param(Array2::<f64>::zeros((2, 3)));
    let b = tape.param(Array2::<f64>::zeros((2, 5)));
    let _ = a + b;
}

#[test]
fn grad_of_a_non_scalar_output_needs_a_seed() {
    let tape = Tape::<f64>::new();
    let x = tape.param(array![1.0, 2.0]);
    let y = x.exp();
    assert!(matches!(
        tape.grad(y, &[x]),
        Err(Error::NonScalarOutput { .. })
    ));
    // with a seed it is the vector-Jacobian product: seed ⊙ eˣ
    let seed = tape.constant(array![1.0, 0.5]);
    let g = tape.vjp(y, seed, &[x], false).unwrap()[0].value();
    assert_eq!(
        g,
        array![1f64.exp(), 0.5 * 2f64.exp()]
            .into_dyn()
            .into_shared()
    );
}

#[test]
fn grad_with_respect_to_a_constant_is_an_error() {
    let tape = Tape::<f64>::new();
    let x = tape.param(array![1.0]);
    let c = tape.constant(array![2.0]);
    let y = x.try_mul(c).unwrap().sum();
    let err = tape.grad(y, &[x, c]).unwrap_err();
    assert!(
        matches!(err, Error::NotDifferentiable { index: 1 }),
        "{err}"
    );
}

#[test]
fn vars_of_different_tapes_do_not_mix() {
    let (t1, t2) = (Tape::<f64>::new(), Tape::<f64>::new());
    let a = t1.param(Array1::<f64>::zeros(2));
    let b = t2.param(Array1::<f64>::zeros(2));
    assert!(matches!(
        a.try_add(b),
        Err(Error::DifferentTapes { op: "add" })
    ));
}

/// The gradient of max goes to the first maximum on ties; argmax agrees.
#[test]
fn max_ties_go_to_the_first_index() {
    let tape = Tape::<f64>::new();
    let x = tape.param(array![[1.0, 3.0, 3.0], [2.0, 2.0, 2.0]]);
    assert_eq!(x.argmax(1).unwrap(), vec![1, 0]);
    let m = x.max_axis(1, false).unwrap().sum();
    let g = tape.grad(m, &[x]).unwrap().remove(0);
    assert_eq!(
        g,
        array![[0.0, 1.0, 0.0], [1.0, 0.0, 0.0]]
            .into_dyn()
            .into_shared()
    );
}

/// `softplus' = σ` and `softplus'' = σ(1 − σ)` at `x = 0` exactly (½ and ¼), where the stable
/// form's pieces `max(x, 0)` and `−|x|` have kinks: a composite that took their subgradients
/// (`relu'(0) = 0`, `sign 0 = 0`) gave 0 and 0. Also far out: `softplus(±800)` neither overflows
/// nor underflows to a wrong derivative (σ(800) = 1, σ(−800) = e^{−800} rounds to 0).
#[test]
fn softplus_derivatives_at_zero_and_far_out() {
    let tape = Tape::<f64>::new();
    let x = tape.param(array![0.0, 800.0, -800.0, 1.5]);
    let y = x.softplus();
    let v = y.value();
    assert_eq!(v[[0]], 2f64.ln());
    assert_eq!(v[[1]], 800.0);
    assert_eq!(v[[2]], 0.0);
    let g = tape.grad_graph(y.sum(), &[x]).unwrap().remove(0);
    let sigma = |t: f64| 1.0 / (1.0 + (-t).exp());
    let gv = g.value();
    assert_eq!(gv[[0]], 0.5);
    assert_eq!(gv[[1]], 1.0);
    assert_eq!(gv[[2]], 0.0);
    assert!((gv[[3]] - sigma(1.5)).abs() < 1e-15);
    let h = tape.grad(g.sum(), &[x]).unwrap().remove(0);
    assert_eq!(h[[0]], 0.25);
    assert!((h[[3]] - sigma(1.5) * (1.0 - sigma(1.5))).abs() < 1e-15);
}
