//! Max-pooling against a direct nested-loop reference: the pooled values and which input gets
//! each output's gradient (the first maximum of its window in row-major order), over random
//! windows, strides (overlapping, touching and gapped windows), odd sizes and many ties, and
//! inputs large enough for the parallel path.

use autograd::Tape;
use ndarray::{Array4, ArrayD, IxDyn};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

/// For each output pixel: the window's first maximum (row-major) as `(value, (row, col))`.
fn direct(x: &Array4<f64>, k: [usize; 2], s: [usize; 2]) -> Array4<(f64, (usize, usize))> {
    let (n, c, h, w) = x.dim();
    let (ho, wo) = ((h - k[0]) / s[0] + 1, (w - k[1]) / s[1] + 1);
    Array4::from_shape_fn((n, c, ho, wo), |(b, ch, p, q)| {
        let mut best = (f64::NEG_INFINITY, (0, 0));
        for i in 0..k[0] {
            for j in 0..k[1] {
                let (r, e) = (p * s[0] + i, q * s[1] + j);
                if x[[b, ch, r, e]] > best.0 {
                    best = (x[[b, ch, r, e]], (r, e));
                }
            }
        }
        best
    })
}

/// Checks values and gradient routing of one case; inputs are small integers, so most windows
/// hold ties.
fn check(n: usize, c: usize, h: usize, w: usize, k: [usize; 2], s: [usize; 2], seed: u64) {
    let mut rng = StdRng::seed_from_u64(seed);
    let x = Array4::from_shape_simple_fn((n, c, h, w), || rng.gen_range(-3..=3) as f64);
    let expected = direct(&x, k, s);
    let tape = Tape::<f64>::new();
    let xv = tape.param(x.clone().into_dyn());
    let y = xv.max_pool2d(k, s).unwrap();
    assert_eq!(y.shape(), expected.shape());
    let values = y.value();
    for (got, want) in values.iter().zip(expected.iter()) {
        assert_eq!(*got, want.0, "value of a window");
    }
    // Weights r on the outputs: the gradient of Σ r·y puts each r on its window's first maximum.
    let r = ArrayD::from_shape_vec(
        IxDyn(expected.shape()),
        (1..=expected.len()).map(|v| v as f64).collect(),
    )
    .unwrap();
    let loss = (y * tape.constant(r.clone())).sum();
    let grad = tape.grad(loss, &[xv]).unwrap().remove(0);
    let mut want = ArrayD::<f64>::zeros(IxDyn(&[n, c, h, w]));
    for ((b, ch, p, q), (_, (row, col))) in expected.indexed_iter() {
        want[[b, ch, *row, *col]] += r[[b, ch, p, q]];
    }
    assert_eq!(grad, want, "gradient routed to the first maximum");
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn max_pool_matches_the_direct_loops(
        n in 1usize..=3, c in 1usize..=3, kh in 1usize..=4, kw in 1usize..=4,
        sh in 1usize..=4, sw in 1usize..=4, extra_h in 0usize..=9, extra_w in 0usize..=9,
        seed in any::<u64>(),
    ) {
        check(n, c, kh + extra_h, kw + extra_w, [kh, kw], [sh, sw], seed);
    }
}

/// Above the parallel threshold (2 · 8 · 64 · 65 = 66,560 elements), planes are pooled in
/// parallel: same values and routing.
#[test]
fn large_inputs_take_the_parallel_path_and_agree() {
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(2)
        .build()
        .unwrap();
    pool.install(|| check(2, 8, 64, 65, [2, 2], [2, 2], 5));
    pool.install(|| check(1, 17, 63, 64, [3, 3], [2, 2], 6));
}

/// 2×2 windows at stride 2 (LeNet's pooling, which has a path of its own) on every small size,
/// odd ones leaving a last row or column out.
#[test]
fn two_by_two_windows_at_stride_two_on_every_small_size() {
    for h in 2..=9 {
        for w in 2..=9 {
            check(2, 3, h, w, [2, 2], [2, 2], (h * 16 + w) as u64);
        }
    }
}
