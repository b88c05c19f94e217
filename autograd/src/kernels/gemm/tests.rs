//! Tests of the GEMM against a naive triple loop, on every path this CPU supports.
//!
//! Tolerance. Every term α·a_ip·b_pj of an output element passes through at most k + 3
//! roundings: the product (or the FMA) and the additions of its K block (≤ k_b), the scaling by
//! α, the additions that merge the K blocks into C (≤ number of blocks), and the β·c product
//! (≤ k + 3 in all, since Σ k_b = k). The standard bound for floating-point sums of products
//! (Higham, *Accuracy and Stability of Numerical Algorithms*, §3.1) then gives
//! |computed − exact| ≤ γ_{k+3}·M with γ_n = n·u / (1 − n·u), u = ε/2 and
//! M = |α|·Σ_p |a_ip|·|b_pj| + |β|·|c_ij|, whatever the order of the additions. The reference is
//! computed in f64, so it carries the same bound with u = 2⁻⁵³; the test allows the sum of the two.
//! A wrong term (e.g. a missing a_ip·b_pj) is of the size of M / k, far above that for any k
//! tested; `tolerance_detects_a_missing_term` checks that it is.

use ndarray::{s, Array2, Array3, ArrayView2, ArrayViewMut2, Axis};
use proptest::prelude::*;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use super::*;

trait TestFloat: GemmScalar + PartialEq + std::fmt::Debug {
    const UNIT_ROUNDOFF: f64;
    fn from_f64(x: f64) -> Self;
    fn to_f64(self) -> f64;
}

impl TestFloat for f32 {
    const UNIT_ROUNDOFF: f64 = f32::EPSILON as f64 / 2.0;
    fn from_f64(x: f64) -> Self {
        x as f32
    }
    fn to_f64(self) -> f64 {
        self as f64
    }
}

impl TestFloat for f64 {
    const UNIT_ROUNDOFF: f64 = f64::EPSILON / 2.0;
    fn from_f64(x: f64) -> Self {
        x
    }
    fn to_f64(self) -> f64 {
        self
    }
}

fn gamma(n: usize, u: f64) -> f64 {
    let nu = n as f64 * u;
    assert!(nu < 0.5);
    nu / (1.0 - nu)
}

/// How an operand is laid out in memory, around the same logical matrix.
#[derive(Clone, Copy, Debug)]
enum Layout {
    /// Contiguous, row-major.
    RowMajor,
    /// The transpose of a contiguous row-major matrix (`x.t()`).
    Transposed,
    /// Every 2nd row and 3rd column of a larger matrix.
    Strided,
    /// Rows and columns in reverse order (negative strides).
    Reversed,
}

const LAYOUTS: [Layout; 4] = [
    Layout::RowMajor,
    Layout::Transposed,
    Layout::Strided,
    Layout::Reversed,
];

/// A matrix stored in a larger backing array, viewed with a layout.
struct Stored<T> {
    backing: Array2<T>,
    layout: Layout,
}

impl<T: TestFloat> Stored<T> {
    fn random(rows: usize, cols: usize, layout: Layout, rng: &mut StdRng) -> Self {
        let shape = match layout {
            Layout::RowMajor | Layout::Reversed => (rows, cols),
            Layout::Transposed => (cols, rows),
            Layout::Strided => (2 * rows, 3 * cols),
        };
        let backing = Array2::from_shape_simple_fn(shape, || T::from_f64(rng.gen_range(-1.0..1.0)));
        Stored { backing, layout }
    }

    fn view(&self) -> ArrayView2<'_, T> {
        match self.layout {
            Layout::RowMajor => self.backing.view(),
            Layout::Transposed => self.backing.t(),
            Layout::Strided => self.backing.slice(s![..;2, ..;3]),
            Layout::Reversed => self.backing.slice(s![..;-1, ..;-1]),
        }
    }

    fn view_mut(&mut self) -> ArrayViewMut2<'_, T> {
        match self.layout {
            Layout::RowMajor => self.backing.view_mut(),
            Layout::Transposed => self.backing.view_mut().reversed_axes(),
            Layout::Strided => self.backing.slice_mut(s![..;2, ..;3]),
            Layout::Reversed => self.backing.slice_mut(s![..;-1, ..;-1]),
        }
    }
}

/// α·A·B + β·C in f64 (β = 0 ignores C), and the error scale M of each element.
fn reference<T: TestFloat>(
    alpha: T,
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    beta: T,
    c: ArrayView2<T>,
) -> (Array2<f64>, Array2<f64>) {
    let (m, k) = a.dim();
    let n = b.ncols();
    let (alpha, beta) = (alpha.to_f64(), beta.to_f64());
    let mut out = Array2::zeros((m, n));
    let mut scale = Array2::zeros((m, n));
    for i in 0..m {
        for j in 0..n {
            let (mut sum, mut abs) = (0.0, 0.0);
            for p in 0..k {
                let t = a[[i, p]].to_f64() * b[[p, j]].to_f64();
                sum += t;
                abs += t.abs();
            }
            let cij = c[[i, j]].to_f64();
            let (bc, bc_abs) = if beta == 0.0 {
                (0.0, 0.0)
            } else {
                (beta * cij, (beta * cij).abs())
            };
            out[[i, j]] = alpha * sum + bc;
            scale[[i, j]] = alpha.abs() * abs + bc_abs;
        }
    }
    (out, scale)
}

/// The allowed |computed − reference| for an element of error scale `scale`, summing over `k`.
fn tolerance<T: TestFloat>(k: usize, scale: f64) -> f64 {
    (gamma(k + 3, T::UNIT_ROUNDOFF) + gamma(k + 3, f64::EPSILON / 2.0)) * scale
}

/// Checks `got` against the reference within the tolerance; returns the first violation.
fn check<T: TestFloat>(
    got: ArrayView2<T>,
    want: &Array2<f64>,
    scale: &Array2<f64>,
    k: usize,
) -> Result<(), String> {
    for ((idx, g), (w, s)) in got.indexed_iter().zip(want.iter().zip(scale.iter())) {
        let g = g.to_f64();
        let tol = tolerance::<T>(k, *s);
        // Written so that a NaN error fails.
        let within = (g - w).abs() <= tol;
        if !within {
            return Err(format!(
                "element {idx:?}: got {g:e}, want {w:e}, |err| {:e} > tol {tol:e} (k = {k})",
                (g - w).abs()
            ));
        }
    }
    Ok(())
}

/// One random product: C ← α·A·B + β·C on the given path and layouts, checked element-wise,
/// and every backing element of C outside the view checked unchanged.
#[allow(clippy::too_many_arguments)]
fn run_case<T: TestFloat>(
    kernel: &Kernel<T>,
    blocking: Blocking,
    threads: usize,
    (m, n, k): (usize, usize, usize),
    layouts: [Layout; 3],
    alpha: f64,
    beta: f64,
    seed: u64,
) -> Result<(), String> {
    let mut rng = StdRng::seed_from_u64(seed);
    let a = Stored::<T>::random(m, k, layouts[0], &mut rng);
    let b = Stored::<T>::random(k, n, layouts[1], &mut rng);
    let mut c = Stored::<T>::random(m, n, layouts[2], &mut rng);
    let (alpha, beta) = (T::from_f64(alpha), T::from_f64(beta));
    let (want, scale) = reference(alpha, a.view(), b.view(), beta, c.view());
    let before = c.backing.clone();
    // Mark the backing elements the view covers.
    let mut covered = Stored {
        backing: Array2::from_elem(c.backing.dim(), false),
        layout: c.layout,
    };
    match covered.layout {
        Layout::RowMajor | Layout::Reversed => covered.backing.fill(true),
        Layout::Transposed => covered.backing.fill(true),
        Layout::Strided => covered.backing.slice_mut(s![..;2, ..;3]).fill(true),
    }
    gemm_with(
        kernel,
        blocking,
        threads,
        alpha,
        a.view(),
        b.view(),
        beta,
        c.view_mut(),
    );
    let ctx = format!(
        "{:?} {m}×{k}·{k}×{n} layouts {layouts:?} α {alpha:?} β {beta:?} threads {threads} {blocking:?}",
        kernel.isa
    );
    check(c.view(), &want, &scale, k).map_err(|e| format!("{ctx}: {e}"))?;
    for ((idx, now), (was, cov)) in c
        .backing
        .indexed_iter()
        .zip(before.iter().zip(covered.backing.iter()))
    {
        if !cov && now != was {
            return Err(format!("{ctx}: element {idx:?} outside C changed"));
        }
    }
    Ok(())
}

fn kernels<T: TestFloat>() -> Vec<Kernel<T>> {
    let isas = Isa::under_test();
    eprintln!("GEMM paths tested on this CPU: {isas:?}");
    let ks: Vec<_> = isas.iter().filter_map(|&isa| T::kernel(isa)).collect();
    // Every path under test has its kernel (the portable one always among them, unless
    // DISTILLERY_TEST_ISA names others).
    assert_eq!(ks.len(), isas.len(), "a GEMM path under test has no kernel");
    // and the paths' short variants, which `best_kernel_for` picks for some row counts
    let short = isas.iter().filter_map(|&isa| T::short_kernel(isa));
    ks.into_iter().chain(short).collect()
}

/// Small blocks, so that small products cross every block boundary (several K blocks, several
/// N blocks, several row blocks per task).
fn tiny_blocking<T>(kernel: &Kernel<T>) -> Blocking {
    Blocking {
        mc: 2 * kernel.mr,
        kc: 5,
        nc: 2 * kernel.nr,
    }
}

/// Sizes around which things change: 1, tile and block edges, primes.
fn size() -> impl Strategy<Value = usize> {
    prop_oneof![
        prop::sample::select(vec![
            1usize, 2, 3, 4, 5, 7, 8, 11, 12, 13, 16, 17, 31, 32, 33, 127
        ]),
        1usize..=70,
    ]
}

fn layout() -> impl Strategy<Value = Layout> {
    prop::sample::select(LAYOUTS.to_vec())
}

fn scalar() -> impl Strategy<Value = f64> {
    prop::sample::select(vec![0.0, 1.0, -1.0, 0.5, -2.25, 3.0])
}

fn proptest_all_paths<T: TestFloat>() {
    let kernels = kernels::<T>();
    let mut runner = proptest::test_runner::TestRunner::new(ProptestConfig {
        cases: 96,
        ..ProptestConfig::default()
    });
    let strategy = (
        (size(), size(), size()),
        [layout(), layout(), layout()],
        scalar(),
        scalar(),
        0usize..3,
        prop::bool::ANY,
        any::<u64>(),
    );
    runner
        .run(
            &strategy,
            |(shape, layouts, alpha, beta, threads_ix, tiny, seed)| {
                for kernel in &kernels {
                    let blocking = if tiny {
                        tiny_blocking(kernel)
                    } else {
                        kernel.blocking
                    };
                    let threads = [1, 2, 3][threads_ix];
                    run_case(kernel, blocking, threads, shape, layouts, alpha, beta, seed)
                        .map_err(TestCaseError::fail)?;
                }
                Ok(())
            },
        )
        .unwrap();
}

#[test]
fn random_products_f32_every_path() {
    proptest_all_paths::<f32>();
}

#[test]
fn random_products_f64_every_path() {
    proptest_all_paths::<f64>();
}

/// Every combination of layouts (the four transposition variants among them), on every path.
fn all_layouts<T: TestFloat>() {
    for kernel in kernels::<T>() {
        for (i, la) in LAYOUTS.into_iter().enumerate() {
            for (j, lb) in LAYOUTS.into_iter().enumerate() {
                for (l, lc) in LAYOUTS.into_iter().enumerate() {
                    let seed = (i * 16 + j * 4 + l) as u64;
                    for (shape, blocking) in [
                        ((37, 29, 41), kernel.blocking),
                        ((37, 29, 41), tiny_blocking(&kernel)),
                    ] {
                        run_case(&kernel, blocking, 2, shape, [la, lb, lc], -1.5, 0.75, seed)
                            .unwrap();
                    }
                }
            }
        }
    }
}

#[test]
fn every_layout_combination_f32() {
    all_layouts::<f32>();
}

#[test]
fn every_layout_combination_f64() {
    all_layouts::<f64>();
}

/// Shapes just past the real block sizes of each path (MC, KC, NC), and the threshold sizes.
fn straddling_real_blocks<T: TestFloat>() {
    for kernel in kernels::<T>() {
        let Blocking { mc, kc, nc } = kernel.blocking;
        for (shape, layouts) in [
            ((mc + 1, 33, kc + 1), [Layout::RowMajor; 3]),
            (
                (mc - 1, 17, 2 * kc + 3),
                [Layout::Transposed, Layout::RowMajor, Layout::RowMajor],
            ),
            ((3, nc + 1, 5), [Layout::RowMajor; 3]),
            (
                (5, nc + kernel.nr + 3, kc - 1),
                [Layout::RowMajor, Layout::Transposed, Layout::RowMajor],
            ),
            (
                (2 * mc + 7, 2 * kernel.nr + 1, 9),
                [Layout::RowMajor, Layout::RowMajor, Layout::Transposed],
            ),
        ] {
            for threads in [1, 2] {
                run_case(
                    &kernel,
                    kernel.blocking,
                    threads,
                    shape,
                    layouts,
                    1.0,
                    0.0,
                    7,
                )
                .unwrap();
                run_case(
                    &kernel,
                    kernel.blocking,
                    threads,
                    shape,
                    layouts,
                    0.5,
                    -1.0,
                    8,
                )
                .unwrap();
            }
        }
    }
}

#[test]
fn shapes_straddling_block_sizes_f32() {
    straddling_real_blocks::<f32>();
}

#[test]
fn shapes_straddling_block_sizes_f64() {
    straddling_real_blocks::<f64>();
}

/// The checker itself: the computed product passes, and the same product with one term
/// a_ip·b_pj left out of one element fails, for a long sum (k = 1000) where the tolerance is
/// largest.
#[test]
fn tolerance_detects_a_missing_term() {
    let (m, n, k) = (4, 5, 1000);
    let mut rng = StdRng::seed_from_u64(1);
    let a = Array2::from_shape_simple_fn((m, k), || rng.gen_range(-1.0f32..1.0));
    let b = Array2::from_shape_simple_fn((k, n), || rng.gen_range(-1.0f32..1.0));
    let mut c = Array2::zeros((m, n));
    gemm(1.0, a.view(), b.view(), 0.0, c.view_mut());
    let (want, scale) = reference(1.0, a.view(), b.view(), 0.0, c.view());
    check(c.view(), &want, &scale, k).unwrap();
    // Leave out a typical term (the median magnitude) of element (2, 3).
    let mut terms: Vec<usize> = (0..k).collect();
    terms.sort_by(|&p, &q| {
        (a[[2, p]] * b[[p, 3]])
            .abs()
            .total_cmp(&(a[[2, q]] * b[[q, 3]]).abs())
    });
    let median = terms[k / 2];
    let mut wrong = c.clone();
    wrong[[2, 3]] -= a[[2, median]] * b[[median, 3]];
    assert!(check(wrong.view(), &want, &scale, k).is_err());
}

/// β = 0 overwrites C even where it holds NaN or infinity; α = 0 leaves A·B out entirely
/// (NaN in A does not reach C); k = 0 scales C by β.
fn special_scalars<T: TestFloat>() {
    for kernel in kernels::<T>() {
        let mut rng = StdRng::seed_from_u64(3);
        let (m, n, k) = (19, 45, 23);
        let a = Stored::<T>::random(m, k, Layout::RowMajor, &mut rng);
        let b = Stored::<T>::random(k, n, Layout::RowMajor, &mut rng);
        let zeros = Array2::from_elem((m, n), T::ZERO);
        let (want, scale) = reference(T::ONE, a.view(), b.view(), T::ZERO, zeros.view());
        for layout in LAYOUTS {
            let mut c = Stored::<T>::random(m, n, layout, &mut rng);
            c.view_mut().fill(T::from_f64(f64::NAN));
            c.view_mut()[[0, 0]] = T::from_f64(f64::INFINITY);
            gemm_with(
                &kernel,
                kernel.blocking,
                2,
                T::ONE,
                a.view(),
                b.view(),
                T::ZERO,
                c.view_mut(),
            );
            check(c.view(), &want, &scale, k).unwrap();
        }

        let mut nan_a = a.backing.clone();
        nan_a[[1, 1]] = T::from_f64(f64::NAN);
        let mut c = Array2::from_elem((m, n), T::from_f64(2.0));
        gemm_with(
            &kernel,
            kernel.blocking,
            1,
            T::ZERO,
            nan_a.view(),
            b.view(),
            T::from_f64(-0.5),
            c.view_mut(),
        );
        assert!(c.iter().all(|&x| x == T::from_f64(-1.0)));
        c.fill(T::from_f64(f64::NAN));
        gemm_with(
            &kernel,
            kernel.blocking,
            1,
            T::ZERO,
            nan_a.view(),
            b.view(),
            T::ZERO,
            c.view_mut(),
        );
        assert!(c.iter().all(|&x| x == T::ZERO));

        let empty_a = Array2::<T>::from_elem((m, 0), T::ONE);
        let empty_b = Array2::<T>::from_elem((0, n), T::ONE);
        let mut c = Array2::from_elem((m, n), T::from_f64(3.0));
        gemm_with(
            &kernel,
            kernel.blocking,
            1,
            T::ONE,
            empty_a.view(),
            empty_b.view(),
            T::from_f64(2.0),
            c.view_mut(),
        );
        assert!(c.iter().all(|&x| x == T::from_f64(6.0)));
        // Empty C: nothing to do, nothing touched.
        let mut c0 = Array2::<T>::from_elem((0, n), T::ONE);
        gemm(
            T::ONE,
            Array2::from_elem((0, k), T::ONE).view(),
            b.view(),
            T::ZERO,
            c0.view_mut(),
        );
    }
}

#[test]
fn special_scalars_f32() {
    special_scalars::<f32>();
}

#[test]
fn special_scalars_f64() {
    special_scalars::<f64>();
}

#[test]
#[should_panic(expected = "disagree")]
fn mismatched_shapes_panic() {
    let a = Array2::<f32>::zeros((3, 4));
    let b = Array2::<f32>::zeros((5, 6));
    let mut c = Array2::<f32>::zeros((3, 6));
    gemm(1.0, a.view(), b.view(), 0.0, c.view_mut());
}

/// The same product on every task partition gives the same bits: `threads` only changes the
/// partition over M and N, never the order of a k-sum. The shapes include a packed A of one K
/// block just inside [`WHOLE_A_MAX_BYTES`] (split over columns) and one just past it (over rows).
fn partition_independence<T: TestFloat>() {
    for kernel in kernels::<T>() {
        let kc = kernel.blocking.kc;
        let whole_rows = WHOLE_A_MAX_BYTES / (kc * std::mem::size_of::<T>());
        // Past the in-place limit, so that A is packed.
        let wide = (A_IN_PLACE_MAX_PANELS + 1) * kernel.nr + 3;
        for (shape, blocking) in [
            ((203, 157, 301), kernel.blocking),
            ((kernel.mr + 1, 300, 77), kernel.blocking),
            ((1, 100, 64), kernel.blocking),
            ((61, 59, 67), tiny_blocking(&kernel)),
            ((whole_rows, wide, kc), kernel.blocking),
            ((whole_rows + kernel.mr + 1, wide, kc), kernel.blocking),
        ] {
            let (m, n, k) = shape;
            let mut rng = StdRng::seed_from_u64(11);
            let a = Stored::<T>::random(m, k, Layout::Transposed, &mut rng);
            let b = Stored::<T>::random(k, n, Layout::RowMajor, &mut rng);
            let c0 = Stored::<T>::random(m, n, Layout::RowMajor, &mut rng);
            let run = |threads: usize| {
                let mut c = c0.backing.clone();
                gemm_with(
                    &kernel,
                    blocking,
                    threads,
                    T::from_f64(0.7),
                    a.view(),
                    b.view(),
                    T::from_f64(-1.3),
                    c.view_mut(),
                );
                c
            };
            let one = run(1);
            for threads in [2, 3, 4, 7, 16] {
                assert!(
                    run(threads) == one,
                    "{:?} {shape:?}: {threads} tasks differ from 1",
                    kernel.isa
                );
            }
        }
    }
}

#[test]
fn partition_independence_f32() {
    partition_independence::<f32>();
}

#[test]
fn partition_independence_f64() {
    partition_independence::<f64>();
}

fn in_pool<R: Send>(threads: usize, f: impl FnOnce() -> R + Send) -> R {
    rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .build()
        .unwrap()
        .install(f)
}

/// The public functions in rayon pools of 1 and 2 threads give bitwise equal results, for sizes
/// above the threading threshold (so the 2-thread pool really splits the work).
fn pool_independence<T: TestFloat>() {
    let mut rng = StdRng::seed_from_u64(5);
    for (m, n, k) in [
        (256, 256, 256),
        (300, 7, 900),
        (5, 700, 400),
        (130, 130, 700),
    ] {
        assert!(m * n * k >= PAR_MIN_MNK);
        let a = Stored::<T>::random(m, k, Layout::RowMajor, &mut rng);
        let b = Stored::<T>::random(k, n, Layout::Transposed, &mut rng);
        let run = |threads| {
            in_pool(threads, || {
                let mut c = Array2::from_elem((m, n), T::ONE);
                gemm(
                    T::from_f64(1.5),
                    a.view(),
                    b.view(),
                    T::from_f64(0.5),
                    c.view_mut(),
                );
                c
            })
        };
        assert!(run(1) == run(2), "{m}×{n}×{k}: 1 and 2 threads differ");
    }
    // Batched: small products (spread over threads) and large ones (each split).
    for (batch, m, n, k) in [(9, 20, 30, 40), (2, 120, 130, 140)] {
        let a =
            Array3::from_shape_simple_fn((batch, m, k), || T::from_f64(rng.gen_range(-1.0..1.0)));
        let b =
            Array3::from_shape_simple_fn((batch, k, n), || T::from_f64(rng.gen_range(-1.0..1.0)));
        let run = |threads| {
            in_pool(threads, || {
                let mut c = Array3::from_elem((batch, m, n), T::ONE);
                gemm_batched(T::ONE, a.view(), b.view(), T::ZERO, c.view_mut());
                c
            })
        };
        assert!(
            run(1) == run(2),
            "batched {batch}×{m}×{n}×{k}: 1 and 2 threads differ"
        );
    }
}

#[test]
fn pool_independence_f32() {
    pool_independence::<f32>();
}

#[test]
fn pool_independence_f64() {
    pool_independence::<f64>();
}

/// Batched products over non-contiguous 3-D views (permuted axes, stepped slices), each slice
/// checked against the reference, with α, β ≠ 1, 0; and each slice equal bit for bit to `gemm`
/// on that slice.
fn batched<T: TestFloat>() {
    let mut rng = StdRng::seed_from_u64(9);
    for (batch, m, n, k) in [
        (1, 7, 9, 11),
        (5, 33, 17, 29),
        (3, 130, 120, 150),
        (4, 1, 1, 1),
    ] {
        let rand = |rng: &mut StdRng| T::from_f64(rng.gen_range(-1.0..1.0));
        // A stored as (m, batch, k) and permuted; B as every 2nd of a (2·batch, k, n); C as the
        // transpose of each (n, m) slice.
        let a_store = Array3::from_shape_simple_fn((m, batch, k), || rand(&mut rng));
        let b_store = Array3::from_shape_simple_fn((2 * batch, k, n), || rand(&mut rng));
        let mut c_store = Array3::from_shape_simple_fn((batch, n, m), || rand(&mut rng));
        let a = a_store.view().permuted_axes([1, 0, 2]);
        let b = b_store.slice(s![..;2, .., ..]);
        let c_before = c_store.clone();
        let (alpha, beta) = (T::from_f64(-0.75), T::from_f64(1.25));
        gemm_batched(
            alpha,
            a,
            b,
            beta,
            c_store.view_mut().permuted_axes([0, 2, 1]),
        );
        for i in 0..batch {
            let ai = a.index_axis(Axis(0), i);
            let bi = b.index_axis(Axis(0), i);
            let before = c_before.index_axis(Axis(0), i);
            let (want, scale) = reference(alpha, ai, bi, beta, before.t());
            let got = c_store.index_axis(Axis(0), i);
            check(got.t(), &want, &scale, k).unwrap();
            let mut single = before.t().to_owned();
            gemm(alpha, ai, bi, beta, single.view_mut());
            assert!(single == got.t(), "slice {i} differs from gemm on it");
        }
    }
}

/// `product` and `product_batched` (outputs never zero-filled) equal `gemm` / `gemm_batched`
/// with β = 0 into a NaN-filled C, bit for bit, including empty operands and k = 0 (all zeros).
fn products_into_new_arrays<T: TestFloat>() {
    let mut rng = StdRng::seed_from_u64(21);
    for (m, n, k) in [
        (37, 45, 53),
        (1, 1, 1),
        (130, 120, 150),
        (0, 5, 3),
        (4, 0, 3),
        (6, 7, 0),
    ] {
        let a = Stored::<T>::random(m, k, Layout::Transposed, &mut rng);
        let b = Stored::<T>::random(k, n, Layout::RowMajor, &mut rng);
        let mut want = Array2::from_elem((m, n), T::from_f64(f64::NAN));
        gemm(T::ONE, a.view(), b.view(), T::ZERO, want.view_mut());
        let got = product(a.view(), b.view());
        assert!(got == want, "product {m}×{n}×{k}");
        let a3 = Array3::from_shape_fn((3, m, k), |(i, r, c)| {
            a.view()[[r, c]].mul(T::from_f64(i as f64 + 1.0))
        });
        let b3 = Array3::from_shape_fn((3, k, n), |(_, r, c)| b.view()[[r, c]]);
        let mut want3 = Array3::from_elem((3, m, n), T::from_f64(f64::NAN));
        gemm_batched(T::ONE, a3.view(), b3.view(), T::ZERO, want3.view_mut());
        assert!(
            product_batched(a3.view(), b3.view()) == want3,
            "product_batched {m}×{n}×{k}"
        );
    }
}

#[test]
fn products_into_new_arrays_f32() {
    products_into_new_arrays::<f32>();
}

#[test]
fn products_into_new_arrays_f64() {
    products_into_new_arrays::<f64>();
}

#[test]
fn batched_f32() {
    batched::<f32>();
}

#[test]
fn batched_f64() {
    batched::<f64>();
}

#[test]
#[should_panic(expected = "disagree")]
fn batched_mismatched_shapes_panic() {
    let a = Array3::<f64>::zeros((2, 3, 4));
    let b = Array3::<f64>::zeros((3, 4, 5));
    let mut c = Array3::<f64>::zeros((2, 3, 5));
    gemm_batched(1.0, a.view(), b.view(), 0.0, c.view_mut());
}

/// The SIMD transposing packers equal the scalar one, for every panel width of the paths and
/// every count of valid lines and depth around the 4- and 2-wide steps and the 16-value chunks.
fn pack_transposed_matches_scalar<T: TestFloat>() {
    let mut rng = StdRng::seed_from_u64(13);
    for width in [4, 6, 8, 12, 16, 32] {
        for lines in 1..=width {
            for kc in [1, 2, 3, 4, 5, 7, 15, 16, 17, 33, 64] {
                let stride = kc + 3;
                let src: Vec<T> = (0..lines * stride)
                    .map(|_| T::from_f64(rng.gen_range(-1.0..1.0)))
                    .collect();
                let mut want = vec![T::from_f64(f64::NAN); width * kc];
                let mut got = want.clone();
                unsafe {
                    pack::pack_transposed_scalar(
                        width,
                        lines,
                        kc,
                        src.as_ptr(),
                        stride as isize,
                        want.as_mut_ptr(),
                    );
                    T::pack_transposed(
                        width,
                        lines,
                        kc,
                        src.as_ptr(),
                        stride as isize,
                        got.as_mut_ptr(),
                    );
                }
                assert!(got == want, "width {width} lines {lines} kc {kc}");
                assert!(want[(kc - 1) * width + lines - 1] == src[(lines - 1) * stride + kc - 1]);
            }
        }
    }
}

#[test]
fn pack_transposed_matches_scalar_f32() {
    pack_transposed_matches_scalar::<f32>();
}

#[test]
fn pack_transposed_matches_scalar_f64() {
    pack_transposed_matches_scalar::<f64>();
}

/// A path's short kernel gives the same bits as its usual one (the tile shape only groups the
/// elements of C; each gets the same k-sum in the same order), so `best_kernel_for` may pick
/// either by the row count. Shapes with row counts on and off both tile heights, in every
/// layout of A, several K blocks.
fn short_kernels_match_bits<T: TestFloat>() {
    for isa in Isa::under_test() {
        let (Some(usual), Some(short)) = (T::kernel(isa), T::short_kernel(isa)) else {
            continue;
        };
        for (m, n, k) in [(64, 784, 288), (8, 33, 1100), (13, 5, 7), (97, 130, 515)] {
            for layout in [Layout::RowMajor, Layout::Transposed] {
                let mut rng = StdRng::seed_from_u64(12);
                let a = Stored::<T>::random(m, k, layout, &mut rng);
                let b = Stored::<T>::random(k, n, Layout::RowMajor, &mut rng);
                let c0 = Stored::<T>::random(m, n, Layout::RowMajor, &mut rng);
                let run = |kernel: &Kernel<T>| {
                    let mut c = c0.backing.clone();
                    let (alpha, beta) = (T::from_f64(0.7), T::from_f64(-1.3));
                    let blocking = kernel.blocking;
                    gemm_with(
                        kernel,
                        blocking,
                        2,
                        alpha,
                        a.view(),
                        b.view(),
                        beta,
                        c.view_mut(),
                    );
                    c
                };
                assert!(
                    run(&usual) == run(&short),
                    "{isa:?} {m}×{k}·{k}×{n} ({layout:?} A): the short kernel's bits differ"
                );
            }
        }
    }
}

#[test]
fn short_kernels_match_bits_f32() {
    short_kernels_match_bits::<f32>();
}

#[test]
fn short_kernels_match_bits_f64() {
    short_kernels_match_bits::<f64>();
}
