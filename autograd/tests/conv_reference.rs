//! The convolution kernels against a direct nested-loop reference, over random geometries
//! (stride, padding, dilation, odd sizes), and their independence of the thread count.

use autograd::{Conv2dGeometry, Tape, Tensor};
use ndarray::{Array4, ArrayD, IxDyn};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// `y[n,o,p,q] = Σ_{c,i,j} w[o,c,i,j] · x[n, c, p·s − pad + i·d, q·s − pad + j·d]`, term by term.
fn direct(x: &Array4<f64>, w: &Array4<f64>, g: Conv2dGeometry) -> Array4<f64> {
    let (n, c, h, wd) = x.dim();
    let (o, _, kh, kw) = w.dim();
    let out = |size: usize, k: usize, a: usize| {
        (size + 2 * g.padding[a] - g.dilation[a] * (k - 1) - 1) / g.stride[a] + 1
    };
    let (ho, wo) = (out(h, kh, 0), out(wd, kw, 1));
    let mut y = Array4::zeros((n, o, ho, wo));
    for ((b, oc, p, q), v) in y.indexed_iter_mut() {
        for ch in 0..c {
            for i in 0..kh {
                for j in 0..kw {
                    let a = (p * g.stride[0] + i * g.dilation[0]) as isize - g.padding[0] as isize;
                    let e = (q * g.stride[1] + j * g.dilation[1]) as isize - g.padding[1] as isize;
                    if a >= 0 && e >= 0 && (a as usize) < h && (e as usize) < wd {
                        *v += w[[oc, ch, i, j]] * x[[b, ch, a as usize, e as usize]];
                    }
                }
            }
        }
    }
    y
}

fn random4(rng: &mut StdRng, shape: (usize, usize, usize, usize)) -> Array4<f64> {
    Array4::from_shape_simple_fn(shape, || rng.gen_range(-1.0..1.0))
}

/// A random geometry and shapes whose dilated kernel fits the padded input.
fn case(seed: u64) -> (Array4<f64>, Array4<f64>, Conv2dGeometry) {
    let mut rng = StdRng::seed_from_u64(seed);
    let g = Conv2dGeometry {
        stride: [rng.gen_range(1..=3), rng.gen_range(1..=3)],
        padding: [rng.gen_range(0..=2), rng.gen_range(0..=2)],
        dilation: [rng.gen_range(1..=3), rng.gen_range(1..=3)],
    };
    let (kh, kw) = (rng.gen_range(1..=5), rng.gen_range(1..=4));
    let h = (g.dilation[0] * (kh - 1) + 1).max(1) + rng.gen_range(0..9);
    let w = (g.dilation[1] * (kw - 1) + 1).max(1) + rng.gen_range(0..9);
    let (n, c, o) = (
        rng.gen_range(1..=9),
        rng.gen_range(1..=4),
        rng.gen_range(1..=7),
    );
    (
        random4(&mut rng, (n, c, h, w)),
        random4(&mut rng, (o, c, kh, kw)),
        g,
    )
}

/// Each output is a sum of at most c·kh·kw ≤ 80 products of values in [−1, 1]: the kernels and
/// the reference sum in different orders, so they may differ by ≈ 80 · 2⁻⁵² per element.
const TOL: f64 = 1e-13;

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn forward_matches_the_direct_loops(seed in any::<u64>()) {
        let (x, w, g) = case(seed);
        let tape = Tape::<f64>::new();
        let y = tape.constant(x.clone()).conv2d(tape.constant(w.clone()), None, g).unwrap().value();
        let expected = direct(&x, &w, g).into_dyn();
        prop_assert_eq!(y.shape(), expected.shape());
        let err = (&y - &expected).iter().fold(0.0f64, |m, v| m.max(v.abs()));
        prop_assert!(err <= TOL, "max error {}", err);
    }

    /// The input and weight gradients are the adjoints of the forward: for any `h`,
    /// `⟨h, conv(x, w)⟩ = ⟨convᵀ(h, w), x⟩ = ⟨∂w(x, h), w⟩`, all three evaluated by the kernels
    /// and the first by the direct loops.
    #[test]
    fn backward_kernels_are_the_adjoints(seed in any::<u64>()) {
        let (x, w, g) = case(seed);
        let y = direct(&x, &w, g);
        let mut rng = StdRng::seed_from_u64(seed ^ 1);
        let h = random4(&mut rng, y.dim());
        let tape = Tape::<f64>::new();
        let (xv, wv, hv) = (tape.constant(x.clone()), tape.constant(w.clone()), tape.constant(h.clone()));
        let dx = hv.conv2d_input_grad(wv, g, [x.dim().2, x.dim().3]).unwrap().value();
        let dw = hv.conv2d_weight_grad(xv, g, [w.dim().2, w.dim().3]).unwrap().value();
        let lhs = (&h * &y).sum();
        let via_x = (&dx * &x.into_dyn()).sum();
        let via_w = (&dw * &w.into_dyn()).sum();
        let scale = 1.0 + lhs.abs();
        prop_assert!((lhs - via_x).abs() <= 1e-11 * scale, "{} vs {}", lhs, via_x);
        prop_assert!((lhs - via_w).abs() <= 1e-11 * scale, "{} vs {}", lhs, via_w);
    }
}

/// The "same"-padding geometries (stride 1, as many output as input columns), which im2col
/// and col2im move as one shifted run per kernel tap: the forward against the direct loops and
/// the input gradient as its adjoint, with odd sizes and dilation. Two input channels take the
/// forward through an im2col matrix, three through panels packed from the images.
#[test]
fn same_padding_matches_the_direct_loops() {
    let mut rng = StdRng::seed_from_u64(17);
    // (kernel, padding, dilation) with 2·padding = dilation·(kernel − 1)
    for (k, pad, dil) in [(3, 1, 1), (5, 2, 1), (3, 2, 2), (1, 0, 1), (3, 3, 3)] {
        for (h, w) in [(14, 14), (7, 9), (1, 5), (9, 2)] {
            let g = Conv2dGeometry {
                stride: [1, 1],
                padding: [pad, pad],
                dilation: [dil, dil],
            };
            for channels in [2, 3] {
                let x = random4(&mut rng, (3, channels, h, w));
                let wt = random4(&mut rng, (4, channels, k, k));
                let tape = Tape::<f64>::new();
                let y = tape
                    .constant(x.clone())
                    .conv2d(tape.constant(wt.clone()), None, g)
                    .unwrap()
                    .value();
                let expected = direct(&x, &wt, g).into_dyn();
                assert_eq!(y.shape(), expected.shape());
                let err = (&y - &expected).iter().fold(0.0f64, |m, v| m.max(v.abs()));
                assert!(
                    err <= TOL,
                    "k {k} pad {pad} dil {dil} on {channels}×{h}×{w}: max error {err}"
                );
                // and the transposed convolution is its adjoint: ⟨r, conv(x, w)⟩ = ⟨convᵀ(r, w), x⟩
                let r = random4(&mut rng, (3, 4, h, w));
                let (rv, wv) = (tape.constant(r.clone()), tape.constant(wt.clone()));
                let dx = rv.conv2d_input_grad(wv, g, [h, w]).unwrap().value();
                let lhs = (&r.into_dyn() * &expected).sum();
                let rhs = (&dx * &x.into_dyn()).sum();
                assert!(
                    (lhs - rhs).abs() <= 1e-11 * (1.0 + lhs.abs()),
                    "k {k} pad {pad} dil {dil} on {h}×{w}: {lhs} vs {rhs}"
                );
            }
        }
    }
}

/// Forward, input gradient and weight gradient of a batch of 37 images (several chunks, one
/// partial) have the same bits in a pool of 1 thread and of 2.
#[test]
fn conv_results_do_not_depend_on_the_thread_count() {
    let mut rng = StdRng::seed_from_u64(9);
    let x = ArrayD::from_shape_simple_fn(IxDyn(&[37, 3, 12, 12]), || rng.gen_range(-1.0f32..1.0));
    let w = ArrayD::from_shape_simple_fn(IxDyn(&[8, 3, 3, 3]), || rng.gen_range(-1.0f32..1.0));
    let g = Conv2dGeometry::new(1, 1, 1);
    let run = |threads: usize| -> Vec<Tensor<f32>> {
        let pool = rayon::ThreadPoolBuilder::new()
            .num_threads(threads)
            .build()
            .unwrap();
        pool.install(|| {
            let tape = Tape::<f32>::new();
            let (xv, wv) = (tape.param(x.clone()), tape.param(w.clone()));
            let y = xv.conv2d(wv, None, g).unwrap();
            let loss = y.square().sum();
            let mut out = vec![y.value()];
            out.extend(tape.grad(loss, &[xv, wv]).unwrap());
            out
        })
    };
    assert_eq!(run(1), run(2));
}

/// The optional bias adds `b[o]` to every pixel of output channel `o` (against the direct loops
/// plus the bias by hand), and a bias that is not `[o]` is an error naming `conv2d`.
#[test]
fn conv_bias_is_added_per_output_channel() {
    let (x, w, g) = case(11);
    let o = w.dim().0;
    let bias = ndarray::Array1::from_shape_fn(o, |k| k as f64 - 0.5);
    let tape = Tape::<f64>::new();
    let (xv, wv) = (tape.constant(x.clone()), tape.constant(w.clone()));
    let y = xv
        .conv2d(wv, Some(tape.constant(bias.clone())), g)
        .unwrap()
        .value();
    let mut expected = direct(&x, &w, g);
    for ((_, oc, _, _), v) in expected.indexed_iter_mut() {
        *v += bias[oc];
    }
    let err = (&y - &expected.into_dyn())
        .iter()
        .fold(0.0f64, |m, v| m.max(v.abs()));
    assert!(err <= TOL, "max error {err}");
    let wrong = tape.constant(ndarray::Array1::<f64>::zeros(o + 1));
    let msg = xv.conv2d(wv, Some(wrong), g).unwrap_err().to_string();
    assert!(msg.starts_with("conv2d") && msg.contains("bias"), "{msg}");
}
