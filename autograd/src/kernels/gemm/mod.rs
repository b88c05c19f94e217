//! Dense matrix product `C ← α·A·B + β·C` for `f32` and `f64`, on 2-D views with arbitrary strides.
//!
//! The algorithm is the BLIS one:
//!
//! ```text
//! for jc in steps of NC over the columns of C          (B block: KC × NC, shared, lives in L3)
//!   for pc in steps of KC over the summation index     (pack B̃ once, in parallel)
//!     for ic in blocks of ≈ MC rows of C               ← parallel tasks (rayon), each packs its Ã
//!       for jr in steps of NR:                         (B̃ micro-panel KC × NR stays in L1)
//!         for ir in steps of MR:                       (Ã, MC × KC, stays in L2)
//!           MR × NR register micro-kernel over KC
//! ```
//!
//! Operands are read through their strides while packing, so a transposed operand (`x.t()`) costs
//! nothing extra; a column-major C is handled by computing `Cᵀ = Bᵀ·Aᵀ` on swapped views.
//!
//! When C has few columns (at most `A_IN_PLACE_MAX_PANELS` B panels), a copy of A would be
//! reused over too few micro-kernel calls to pay for itself: A is then read in place wherever
//! its rows or its columns are contiguous (only a last, partial panel of rows is packed).
//!
//! A parallel product whose packed A block is small enough to sit whole in each core's L2
//! (`WHOLE_A_MAX_BYTES`) is split over C's columns instead of its rows.
//!
//! When there is one task per thread (a small product, or one whose rows fit a single block),
//! each task packs the B panels it uses itself, one `KC × NR` panel at a time right before the
//! micro-kernels sweep it, so the panel never leaves L1. The driver reads B only through
//! `PanelSource`, which lets a caller pack panels from data that is not a matrix: the
//! convolution packs its im2col matrix straight from the images (`kernels::conv::panels`). It
//! writes C only through `TileTarget`, so C need not be one strided matrix either: the
//! convolution writes its product image by image into its output (`kernels::conv::output`).
//!
//! **Reproducibility.** Each output element is the sum over `k` in the same order whatever the
//! thread count: `K` is never split across threads, the `KC` blocks depend only on `k`, and the
//! partition over `M`/`N` only decides *which thread* computes a tile, not *how*. The epilogue
//! (`α·acc + β·c`) uses separate multiply and add (no FMA) on every path — vector, masked and
//! scalar — so an element gets the same bits whether it sits in a full or an edge tile.
//!
//! **Micro-kernels** (chosen once at run time, `is_x86_feature_detected!`):
//!
//! | path | f32 tile | f64 tile | registers |
//! |---|---|---|---|
//! | AVX-512F | 12 × 32 | 12 × 16 | 24 accumulators of 32 zmm |
//! | AVX2 + FMA | 6 × 16 | 6 × 8 | 12 accumulators of 16 ymm |
//! | portable | 4 × 8 | 4 × 4 | plain Rust, auto-vectorised |
//!
//! Block sizes and the threading threshold were measured on the 2-core AMD EPYC machines the
//! project is developed on (a Zen 4 for the AVX-512 path, a Zen 3 for the AVX2 path); see
//! [`PAR_MIN_MNK`] and each path's blocking.
//!
//! The tests run every path the CPU has. On a CPU without AVX-512, `.ci/avx512-emulated` runs
//! them (and the convolution reference tests) on an emulated AVX-512 CPU; CI does so.

use std::sync::OnceLock;

use ndarray::{Array2, Array3, ArrayView2, ArrayView3, ArrayViewMut2, ArrayViewMut3};
use rayon::prelude::*;

use crate::kernels::scratch;

/// One step of `k` of the x86-64 micro-kernels (`avx2`, `avx512`): B's row of `NV` vectors of
/// `L` lanes loaded, each of A's `MR` values (`a + i·a_row`) broadcast and multiplied into its
/// row of accumulators, then both panels advanced (A by `a_step`, B by `NR`). `MR`, `NV`, `L`
/// and `NR` are the calling kernel's constants; the intrinsics are its vector type's.
#[cfg(target_arch = "x86_64")]
macro_rules! rank1_step {
    (
        $acc:ident, $a:ident, $b:ident, $a_row:ident, $a_step:ident,
        $zero:ident, $load:ident, $set1:ident, $fmadd:ident
    ) => {{
        let mut bv = [$zero(); NV];
        for v in 0..NV {
            bv[v] = $load($b.add(v * L));
        }
        for i in 0..MR {
            let ai = $set1(*$a.offset(i as isize * $a_row));
            for v in 0..NV {
                $acc[i][v] = $fmadd(ai, bv[v], $acc[i][v]);
            }
        }
        $a = $a.offset($a_step);
        $b = $b.add(NR);
    }};
}

#[cfg(target_arch = "x86_64")]
mod avx2;
#[cfg(target_arch = "x86_64")]
mod avx512;
mod pack;
mod portable;
#[cfg(test)]
mod tests;

/// Products with fewer than this many multiply-adds (`m·n·k`) run on the calling thread; larger
/// ones are split over the current rayon pool.
///
/// Measured on the 2-core Zen 4 (AVX-512 path, square n, median of 5 blocks, both timings in a
/// 2-thread pool; three sittings): f32 n = 64: 6.9–7.6 µs on 1 thread vs 7.3–16.7 on 2;
/// n = 80: 14.0–15.5 vs 15.1–16.0; n = 96: 18.8–19.6 vs 16.1–17.6; n = 128: 43–47 vs 32–35.
/// f64 n = 80: 22.8–23.8 vs 21.6–21.9; n = 104: 50.9 vs 42.3; n = 128: 86–90 vs 65–94.
/// Two threads start to pay at about n = 96 (the rayon round trip and the second core's idle
/// wake-up cost ~5–10 µs); 100³ sits just above that, so the split is never a loss.
pub const PAR_MIN_MNK: usize = 100 * 100 * 100;

/// Most B panels (`⌈n / NR⌉`) for which the driver reads A in place, where its rows or its
/// columns are contiguous, instead of packing it. Packing copies A once per K block so that
/// every micro-kernel reads one contiguous stream; the copy pays when it is reused over many B
/// panels, and over few it costs more than it saves (for `n = 50` a quarter of the product's
/// time went into packing A).
///
/// Measured on the Zen 3 (AVX2 path, `NR = 16`; medians of 300 calls, packed and in place
/// alternated), GFLOP/s packed → in place, one thread, row-major A, `m = 256`, `k = 800`:
/// n = 16: 28.5 → 57.8; 50: 40.2 → 48.2 and 57.1 → 68.3; 64: 53.6 → 65.0 and 57.1 → 66.1;
/// 128 (8 panels): 59.5 → 62.8 and 72.9 → 76.9; 200: 60.9 → 61.3 and 62.3 → 61.1;
/// 400: 65.4 → 62.5 and 87.2 → 86.9; 800: 65.6 → 61.0 and 67.7 → 60.8. Column-major A
/// (`Aᵀ` of a row-major `256 × 800`, n = 50): 40.4 → 50.4. Two threads alike (n = 50:
/// 65.6 → 79.3; 800: 106.1 → 99.7).
///
/// The AVX-512 path (`NR = 32`, `MR = 12`) takes the same limit in panels, unmeasured: no CPU we
/// had could time it. Its results are tested (in CI on an emulated CPU, `.ci/avx512-emulated`).
pub(crate) const A_IN_PLACE_MAX_PANELS: usize = 8;

/// Largest B block (bytes) that each task packs for itself when there is one task per thread.
const PRIVATE_B_MAX_BYTES: usize = 512 * 1024;

/// Largest `m × kc` block of a packed A (bytes) that a parallel product keeps whole: one row
/// block, which every thread packs, and C's columns split over the threads instead of its
/// rows. Each thread then packs the B panels it uses itself, one at a time (see the driver),
/// instead of all threads packing a shared B̃ in a parallel region of its own and then each
/// streaming it from the shared cache. The price is that every thread packs all of A. 320 KiB
/// leaves room for a B panel and C in the 512 KiB L2 of the Zen 3 it was measured on. An A read
/// in place keeps the row split: the threads would each read all of it, and it usually lies in
/// the L2 of the thread that wrote it (the convolution's weight gradient).
///
/// Measured there (AVX2 path, 2 threads, GFLOP/s, medians of 200–300 calls with the two splits
/// alternated, row split → whole A, five sittings):
/// - `x·W₁ᵀ` of the 784-800-50-10 MLP, 256 × 784 × 800 (A 268 KiB per K block): 126.5 → 127.6,
///   120.8 → 126.8, 90.3 → 106.4, 55.0 → 57.9, 71.5 → 77.4, and with `mc` raised to 264 instead
///   (the same split) 98.5 → 120.2, 111.7 → 126.6, 125.7 → 133.5.
/// - its `ḡ₂·W₂`, 256 × 50 × 800: 105.1 → 109.7, 86.8 → 113.1, 87.1 → 87.4, 74.6 → 99.4,
///   87.1 → 88.4.
/// - the 32→64 convolution's input gradient, 288 × 64 × 784 (column-major A): 119.3 → 125.3,
///   108.1 → 122.4, 88.2 → 90.5, 62.4 → 66.4, 62.9 → 64.9.
/// - 256³: 122.7 → 134.4, 130.4 → 129.3, 91.3 → 89.4, 64.4 → 65.3, 65.0 → 65.7 (level).
///
/// With `mc` raised instead, 320 × 784 × 800 (335 KiB) was level in one block and in two
/// (91.3 and 90.9; 116.2 and 116.7) and 384 × 784 × 800 (402 KiB) slower in one (109.8 against
/// 113.6). Whole training steps, the two splits alternated step by step in one process
/// (medians of 200): the MLP step 1.030, 1.033 and 1.011 times as fast, the 32→64 convolution
/// forward and backward 1.004, 1.015 and 0.996 (level).
const WHOLE_A_MAX_BYTES: usize = 320 * 1024;

/// Element types the GEMM supports (implemented for f32 and f64 only).
pub trait GemmScalar: Copy + Send + Sync + 'static {
    #[doc(hidden)]
    const ZERO: Self;
    #[doc(hidden)]
    const ONE: Self;
    /// The micro-kernel and blocking of an instruction-set path, `None` if this CPU lacks it.
    #[doc(hidden)]
    fn kernel(isa: Isa) -> Option<Kernel<Self>>;
    /// The path's variant with fewer rows per tile, when it has one (see [`best_kernel_for`]).
    #[doc(hidden)]
    fn short_kernel(isa: Isa) -> Option<Kernel<Self>>;
    #[doc(hidden)]
    fn mul(self, other: Self) -> Self;
    #[doc(hidden)]
    fn add(self, other: Self) -> Self;
    #[doc(hidden)]
    fn is_zero(self) -> bool;
    #[doc(hidden)]
    fn is_one(self) -> bool;
    /// `dst[p·width + i] = src[i·s_i + p]` for `i < lines`, zero for `lines ≤ i < width`,
    /// `p < kc` (see `pack.rs`).
    ///
    /// # Safety
    /// `src` must address `lines` valid lines of `kc` contiguous values, `dst` `width·kc` values.
    #[doc(hidden)]
    unsafe fn pack_transposed(
        width: usize,
        lines: usize,
        kc: usize,
        src: *const Self,
        s_i: isize,
        dst: *mut Self,
    );
}

/// An instruction-set path of the GEMM.
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Isa {
    Avx512,
    Avx2Fma,
    Portable,
}

impl Isa {
    pub const ALL: [Isa; 3] = [Isa::Avx512, Isa::Avx2Fma, Isa::Portable];

    /// Whether this CPU can run the path.
    pub fn available(self) -> bool {
        match self {
            #[cfg(target_arch = "x86_64")]
            Isa::Avx512 => is_x86_feature_detected!("avx512f"),
            #[cfg(target_arch = "x86_64")]
            Isa::Avx2Fma => is_x86_feature_detected!("avx2") && is_x86_feature_detected!("fma"),
            Isa::Portable => true,
            #[allow(unreachable_patterns)]
            _ => false,
        }
    }

    /// The paths the tests run: every one this CPU has, or only those that
    /// `DISTILLERY_TEST_ISA` names (comma-separated `avx512`, `avx2`, `portable`). The emulated
    /// AVX-512 run (`.ci/avx512-emulated`) names `avx512`, so that its slow instructions go to
    /// the path it exists for. A named path this CPU lacks is a test failure, never a skip.
    #[cfg(test)]
    pub(crate) fn under_test() -> Vec<Isa> {
        let Ok(names) = std::env::var("DISTILLERY_TEST_ISA") else {
            return Isa::ALL.into_iter().filter(|isa| isa.available()).collect();
        };
        let named = |name: &str| match name.trim() {
            "avx512" => Isa::Avx512,
            "avx2" => Isa::Avx2Fma,
            "portable" => Isa::Portable,
            other => panic!("DISTILLERY_TEST_ISA: unknown path {other:?} (avx512, avx2, portable)"),
        };
        let isas: Vec<Isa> = names.split(',').map(named).collect();
        for isa in &isas {
            assert!(
                isa.available(),
                "DISTILLERY_TEST_ISA names {isa:?}, which this CPU lacks"
            );
        }
        isas
    }

    /// The best path of this CPU (detected once).
    pub fn best() -> Isa {
        static BEST: OnceLock<Isa> = OnceLock::new();
        *BEST.get_or_init(|| {
            Isa::ALL
                .into_iter()
                .find(|isa| isa.available())
                .unwrap_or(Isa::Portable)
        })
    }
}

/// Cache blocking: rows of the packed A block (`mc`), depth of a packed block (`kc`), columns of
/// the packed B block (`nc`).
#[doc(hidden)]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Blocking {
    pub mc: usize,
    pub kc: usize,
    pub nc: usize,
}

/// Where a micro-kernel writes its `m × n` (≤ `MR × NR`) tile: `c[i·rs + j·cs] ← α·acc + β·c`.
pub(crate) struct Tile<T> {
    pub(crate) c: *mut T,
    pub(crate) rs: isize,
    pub(crate) cs: isize,
    pub(crate) m: usize,
    pub(crate) n: usize,
    pub(crate) alpha: T,
    pub(crate) beta: T,
}

/// `kc` steps of the rank-1 update over an `MR × kc` A panel and a packed B panel (`kc` groups
/// of `NR`), then the epilogue into `tile`. [`Kernel::ukr`] reads A value (i, p) at
/// `a + i + p·a_stride`: a packed panel (`a_stride = MR`) or a column-major A in place (its
/// column stride). [`Kernel::ukr_rows`] reads it at `a + i·a_stride + p`: a row-major A in
/// place (its row stride).
pub(crate) type MicroKernel<T> =
    unsafe fn(kc: usize, a: *const T, a_stride: isize, b: *const T, tile: &Tile<T>);

/// The strides `(row, step)` at which a micro-kernel reads its A panel, value (i, p) at
/// `a + i·row + p·step`: `(1, a_stride)` for [`Kernel::ukr`], `(a_stride, 1)` for the row
/// variant [`Kernel::ukr_rows`] (`ROWS`), as [`MicroKernel`] says. `ROWS` is a constant of each
/// kernel, so the unit stride folds into its addressing.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
pub(super) const fn a_strides<const ROWS: bool>(a_stride: isize) -> (isize, isize) {
    if ROWS {
        (a_stride, 1)
    } else {
        (1, a_stride)
    }
}

/// A micro-kernel with its tile shape and cache blocking.
#[doc(hidden)]
#[derive(Clone, Copy)]
pub struct Kernel<T> {
    pub isa: Isa,
    pub mr: usize,
    pub nr: usize,
    pub blocking: Blocking,
    /// The micro-kernel on a packed A panel, or on a column-major A in place.
    ukr: MicroKernel<T>,
    /// The micro-kernel on a row-major A in place.
    ukr_rows: MicroKernel<T>,
}

/// One micro-kernel call but for its tile: `kc` steps over the A panel at `a` (read with
/// `a_stride` as `ukr` reads it, see [`MicroKernel`]) and the packed B panel at `b`.
#[derive(Clone, Copy)]
pub(crate) struct Step<T> {
    ukr: MicroKernel<T>,
    kc: usize,
    a: *const T,
    a_stride: isize,
    b: *const T,
}

impl<T> Step<T> {
    /// Runs the step into `tile`.
    ///
    /// # Safety
    /// The panels must hold what the micro-kernel reads (see [`MicroKernel`]) and the tile must
    /// address a valid block of C.
    #[inline(always)]
    pub(crate) unsafe fn run(&self, tile: &Tile<T>) {
        (self.ukr)(self.kc, self.a, self.a_stride, self.b, tile)
    }
}

macro_rules! impl_scalar {
    ($t:ty, $avx512:path, $avx512_short:path, $avx2:path, $portable:path, $pack_t:path) => {
        impl GemmScalar for $t {
            const ZERO: Self = 0.0;
            const ONE: Self = 1.0;
            fn kernel(isa: Isa) -> Option<Kernel<Self>> {
                if !isa.available() {
                    return None;
                }
                match isa {
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx512 => Some($avx512),
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx2Fma => Some($avx2),
                    Isa::Portable => Some($portable),
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }
            fn short_kernel(isa: Isa) -> Option<Kernel<Self>> {
                if !isa.available() {
                    return None;
                }
                match isa {
                    #[cfg(target_arch = "x86_64")]
                    Isa::Avx512 => Some($avx512_short),
                    #[allow(unreachable_patterns)]
                    _ => None,
                }
            }
            #[inline(always)]
            fn mul(self, other: Self) -> Self {
                self * other
            }
            #[inline(always)]
            fn add(self, other: Self) -> Self {
                self + other
            }
            #[inline(always)]
            fn is_zero(self) -> bool {
                self == 0.0
            }
            #[inline(always)]
            fn is_one(self) -> bool {
                self == 1.0
            }
            unsafe fn pack_transposed(
                width: usize,
                lines: usize,
                kc: usize,
                src: *const Self,
                s_i: isize,
                dst: *mut Self,
            ) {
                $pack_t(width, lines, kc, src, s_i, dst)
            }
        }
    };
}

#[cfg(target_arch = "x86_64")]
impl_scalar!(
    f32,
    avx512::F32,
    avx512::F32_SHORT,
    avx2::F32,
    portable::F32,
    pack::pack_transposed_f32
);
#[cfg(target_arch = "x86_64")]
impl_scalar!(
    f64,
    avx512::F64,
    avx512::F64_SHORT,
    avx2::F64,
    portable::F64,
    pack::pack_transposed_f64
);
#[cfg(not(target_arch = "x86_64"))]
impl_scalar!(
    f32,
    portable::F32,
    portable::F32,
    portable::F32,
    portable::F32,
    pack::pack_transposed_scalar
);
#[cfg(not(target_arch = "x86_64"))]
impl_scalar!(
    f64,
    portable::F64,
    portable::F64,
    portable::F64,
    portable::F64,
    pack::pack_transposed_scalar
);

/// Scalar epilogue of a tile: `tile` holds the accumulators (row stride `ld`); writes
/// `c ← α·acc + β·c` as separate multiply and add, exactly like the vector epilogues.
/// `β = 0` never reads `c`.
#[inline(always)]
unsafe fn store_tile_scalar<T: GemmScalar>(acc: *const T, ld: usize, tile: &Tile<T>) {
    for i in 0..tile.m {
        for j in 0..tile.n {
            let x = *acc.add(i * ld + j);
            let x = if tile.alpha.is_one() {
                x
            } else {
                tile.alpha.mul(x)
            };
            let p = tile.c.offset(i as isize * tile.rs + j as isize * tile.cs);
            *p = if tile.beta.is_zero() {
                x
            } else if tile.beta.is_one() {
                x.add(*p)
            } else {
                x.add(tile.beta.mul(*p))
            };
        }
    }
}

/// C ← α·A·B + β·C for 2-D views with ARBITRARY strides (a transposed operand is just `x.t()`,
/// a view with swapped strides: never copied by the caller; packing reads strided data).
/// Panics only if shapes disagree (the caller checks them first and reports errors).
/// β = 0 overwrites C without reading it (C may hold NaN, or be uninitialised memory: see
/// [`product`]).
pub fn gemm<T: GemmScalar>(
    alpha: T,
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    beta: T,
    c: ArrayViewMut2<T>,
) {
    let (m, k) = a.dim();
    let n = b.ncols();
    // the rows of C as the micro-kernels see them (`gemm_with` swaps a column-major C)
    let rows = if c.strides()[1] != 1 && c.strides()[0] == 1 {
        n
    } else {
        m
    };
    let kernel = best_kernel_for::<T>(rows);
    let threads = threads_for(m, n, k);
    if threads > 1 {
        super::pool::keep_warm();
    }
    gemm_with(&kernel, kernel.blocking, threads, alpha, a, b, beta, c);
}

/// `A·B` in a new array. The array is not zero-filled first: a β = 0 product writes every
/// element of C and never reads one, so the fill would be a wasted pass over the output.
pub fn product<T: GemmScalar>(a: ArrayView2<T>, b: ArrayView2<T>) -> Array2<T> {
    let mut c = Array2::<T>::uninit((a.nrows(), b.ncols()));
    // SAFETY: the view covers exactly the allocation of `c`, in its standard layout; `gemm`
    // with β = 0 writes all m·n elements without reading any (see `gemm`), so `c` is fully
    // initialised afterwards.
    unsafe {
        let view = ArrayViewMut2::from_shape_ptr(c.raw_dim(), c.as_mut_ptr() as *mut T);
        gemm(T::ONE, a, b, T::ZERO, view);
        c.assume_init()
    }
}

/// [`product`] for stacks: `A[i]·B[i]` over the first axis, in a new array (not zero-filled).
pub fn product_batched<T: GemmScalar>(a: ArrayView3<T>, b: ArrayView3<T>) -> Array3<T> {
    let mut c = Array3::<T>::uninit((a.dim().0, a.dim().1, b.dim().2));
    // SAFETY: as in `product`: `gemm_batched` with β = 0 writes every element of every product.
    unsafe {
        let view = ArrayViewMut3::from_shape_ptr(c.raw_dim(), c.as_mut_ptr() as *mut T);
        gemm_batched(T::ONE, a, b, T::ZERO, view);
        c.assume_init()
    }
}

/// Batched: `C[i] ← α·A[i]·B[i] + β·C[i]` over the first axis (3-D views, arbitrary strides).
///
/// Products too small to be worth splitting ([`PAR_MIN_MNK`]) are spread over the threads one
/// whole product each; larger ones run one after the other, each split like [`gemm`]. Either way
/// every product is computed exactly as [`gemm`] computes it.
pub fn gemm_batched<T: GemmScalar>(
    alpha: T,
    a: ArrayView3<T>,
    b: ArrayView3<T>,
    beta: T,
    mut c: ArrayViewMut3<T>,
) {
    let (batch, m, k) = a.dim();
    let (batch_b, k_b, n) = b.dim();
    assert!(
        batch == batch_b && k == k_b && c.dim() == (batch, m, n),
        "gemm_batched: shapes {:?} · {:?} → {:?} disagree",
        a.dim(),
        b.dim(),
        c.dim()
    );
    let kernel = best_kernel::<T>();
    let per_product = threads_for(m, n, k);
    let pool = rayon::current_num_threads();
    let spread = per_product == 1 && pool > 1 && batch > 1 && batch * m * n * k >= PAR_MIN_MNK;
    if spread || per_product > 1 {
        super::pool::keep_warm();
    }
    if spread {
        let outs: Vec<ArrayViewMut2<T>> = c.outer_iter_mut().collect();
        outs.into_par_iter().enumerate().for_each(|(i, ci)| {
            gemm_with(
                &kernel,
                kernel.blocking,
                1,
                alpha,
                a.index_axis(ndarray::Axis(0), i),
                b.index_axis(ndarray::Axis(0), i),
                beta,
                ci,
            );
        });
    } else {
        for (i, ci) in c.outer_iter_mut().enumerate() {
            gemm_with(
                &kernel,
                kernel.blocking,
                per_product,
                alpha,
                a.index_axis(ndarray::Axis(0), i),
                b.index_axis(ndarray::Axis(0), i),
                beta,
                ci,
            );
        }
    }
}

pub(crate) fn best_kernel<T: GemmScalar>() -> Kernel<T> {
    T::kernel(Isa::best())
        .or_else(|| T::kernel(Isa::Portable))
        .expect("the portable GEMM path is always available")
}

/// The best path's kernel for a product whose C has `m` rows: its short variant (fewer rows
/// per tile) when that computes at least 5 % fewer padded rows, `⌈m/mr⌉·mr`, else the usual one.
/// A 64-row C takes 72 rows of 12-row tiles but 64 of 8-row ones; 256 rows take 264 or 256,
/// too close to give up the wider tile's fewer loads per FMA. Each element of C gets the same
/// sums in the same order from either kernel (the tile shape only groups them), so the choice
/// changes no bits.
pub(crate) fn best_kernel_for<T: GemmScalar>(m: usize) -> Kernel<T> {
    let usual = best_kernel::<T>();
    let padded = |mr: usize| m.div_ceil(mr) * mr;
    match T::short_kernel(usual.isa) {
        Some(short) if padded(short.mr) * 20 <= padded(usual.mr) * 19 => short,
        _ => usual,
    }
}

/// How many threads a product of this size uses: 1 below [`PAR_MIN_MNK`], else the current rayon
/// pool's size. (Inner loops ask this too; only the entries [`gemm`] and [`gemm_batched`] also
/// keep the pool's workers awake, see the `pool` module.)
pub(crate) fn threads_for(m: usize, n: usize, k: usize) -> usize {
    if m.saturating_mul(n).saturating_mul(k) < PAR_MIN_MNK {
        1
    } else {
        rayon::current_num_threads()
    }
}

/// [`gemm`] on a given path, blocking and thread count (`threads` = number of parallel tasks the
/// work is shaped for; 1 = run on the calling thread). The result does not depend on `threads`.
#[doc(hidden)]
#[allow(clippy::too_many_arguments)]
pub fn gemm_with<T: GemmScalar>(
    kernel: &Kernel<T>,
    blocking: Blocking,
    threads: usize,
    alpha: T,
    a: ArrayView2<T>,
    b: ArrayView2<T>,
    beta: T,
    c: ArrayViewMut2<T>,
) {
    let (m, k) = a.dim();
    let (k_b, n) = b.dim();
    assert!(
        k == k_b && c.dim() == (m, n),
        "gemm: shapes {:?} · {:?} → {:?} disagree",
        a.dim(),
        b.dim(),
        c.dim()
    );
    // The micro-kernels store rows of C with vectors when C's column stride is 1. For a
    // column-major C compute Cᵀ = Bᵀ·Aᵀ instead: the same sums, on swapped views.
    let (a, b) = (a.view(), b.view()); // one lifetime for both, so that they can trade places
    let (a, b, c) = if c.strides()[1] != 1 && c.strides()[0] == 1 {
        (b.reversed_axes(), a.reversed_axes(), c.reversed_axes())
    } else {
        (a, b, c)
    };
    gemm_from_panels(
        kernel,
        blocking,
        threads,
        alpha,
        a,
        &MatPtr::of(&b),
        beta,
        c,
    );
}

/// [`gemm_with`] with B given by a [`PanelSource`] of `a.ncols() × c.ncols()` values instead of
/// a view. C is written through its strides as it is (there is no B view to swap with, so a
/// column-major C takes the micro-kernels' strided stores). Every element gets the same sums in
/// the same order as [`gemm_with`] computes for a view holding the same B.
#[allow(clippy::too_many_arguments)]
pub(crate) fn gemm_from_panels<T: GemmScalar>(
    kernel: &Kernel<T>,
    blocking: Blocking,
    threads: usize,
    alpha: T,
    a: ArrayView2<T>,
    b: &impl PanelSource<T>,
    beta: T,
    mut c: ArrayViewMut2<T>,
) {
    let (m, k) = a.dim();
    let n = c.ncols();
    assert_eq!(c.nrows(), m, "gemm: A has {m} rows but C has {}", c.nrows());
    if m == 0 || n == 0 {
        return;
    }
    if k == 0 || alpha.is_zero() {
        scale(beta, c);
        return;
    }
    let cm = MatPtr::of_mut(&mut c);
    // SAFETY: C, a mutable view of the checked shape, aliases neither itself nor A (nor a B
    // view), and the driver writes each of its tiles from one task.
    unsafe { driver(kernel, blocking, threads, alpha, a, b, n, beta, &cm) }
}

/// [`gemm_from_panels`] into a [`TileTarget`] of `a.nrows() × n` instead of a view: the first
/// K block overwrites the target's tiles (β = 0, nothing read), later ones add to them (β = 1).
///
/// # Safety
/// `target` must take every tile of an `a.nrows() × n` matrix, disjoint tiles concurrently.
#[allow(clippy::too_many_arguments)]
pub(crate) unsafe fn gemm_to_target<T: GemmScalar>(
    kernel: &Kernel<T>,
    blocking: Blocking,
    threads: usize,
    alpha: T,
    a: ArrayView2<T>,
    b: &impl PanelSource<T>,
    n: usize,
    target: &impl TileTarget<T>,
) {
    let k = a.ncols();
    assert!(
        k > 0 && !alpha.is_zero(),
        "gemm_to_target: an empty sum (k = {k}, α = 0?) is not written"
    );
    if a.nrows() > 0 && n > 0 {
        driver(kernel, blocking, threads, alpha, a, b, n, T::ZERO, target)
    }
}

/// A view as the [`PanelSource`] of a product (for [`gemm_to_target`]).
pub(crate) fn view_panels<'a, T: GemmScalar>(b: &'a ArrayView2<'a, T>) -> impl PanelSource<T> + 'a {
    MatPtr::of(b)
}

/// C ← β·C (β = 0 writes zeros, whatever C held).
fn scale<T: GemmScalar>(beta: T, mut c: ArrayViewMut2<T>) {
    if beta.is_zero() {
        c.fill(T::ZERO);
    } else if !beta.is_one() {
        c.map_inplace(|x| *x = beta.mul(*x));
    }
}

/// A raw strided matrix: element (i, j) at `ptr + i·rs + j·cs`.
struct MatPtr<T> {
    ptr: *mut T,
    rs: isize,
    cs: isize,
}

impl<T> Clone for MatPtr<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for MatPtr<T> {}
// SAFETY: a MatPtr is only shared between the tasks of one product, which read A, B and the
// packed buffers and write disjoint tiles of C.
unsafe impl<T: Send> Send for MatPtr<T> {}
unsafe impl<T: Sync> Sync for MatPtr<T> {}

impl<T> MatPtr<T> {
    /// The element pointer and strides of a view (read only through it).
    fn of(v: &ArrayView2<T>) -> Self {
        MatPtr {
            ptr: v.as_ptr() as *mut T,
            rs: v.strides()[0],
            cs: v.strides()[1],
        }
    }

    /// The element pointer and strides of a mutable view.
    fn of_mut(v: &mut ArrayViewMut2<T>) -> Self {
        MatPtr {
            ptr: v.as_mut_ptr(),
            rs: v.strides()[0],
            cs: v.strides()[1],
        }
    }

    /// The pointer (a method, so that closures capture the `Send` wrapper, not the field).
    #[inline(always)]
    fn base(self) -> *mut T {
        self.ptr
    }

    #[inline(always)]
    unsafe fn at(self, i: usize, j: usize) -> *mut T {
        self.ptr.offset(i as isize * self.rs + j as isize * self.cs)
    }
}

/// The B operand as the driver reads it: whatever can write a `kc × cols` block of B — rows
/// `pc ..`, columns `j0 ..` — into panels of `nr` columns, in the layout of [`pack::pack_b`]
/// (panel `t` at `dst + t·nr·kc`, value (p, j) at `p·nr + j`, columns past `cols` zero). A
/// strided matrix is one; a convolution's image, packed as its im2col matrix without the matrix
/// ever being written, is another (`kernels::conv`).
pub(crate) trait PanelSource<T>: Sync {
    /// # Safety
    /// `dst` must have room for `⌈cols / nr⌉·nr·kc` values, `j0` must be a multiple of `nr`, and
    /// the block must lie inside B.
    unsafe fn pack(&self, nr: usize, pc: usize, kc: usize, j0: usize, cols: usize, dst: *mut T);
}

impl<T: GemmScalar> PanelSource<T> for MatPtr<T> {
    unsafe fn pack(&self, nr: usize, pc: usize, kc: usize, j0: usize, cols: usize, dst: *mut T) {
        pack::pack_b(nr, cols, kc, self.at(pc, j0), self.rs, self.cs, dst);
    }
}

/// Where the driver writes the tiles of C: a strided matrix, or any layout that can place each
/// tile (the convolution's forward writes the tiles of `W · [col(x[n₀]) …]` straight into the
/// `[g, o, ho·wo]` output, where C's columns jump from image to image: `kernels::conv`).
pub(crate) trait TileTarget<T>: Sync {
    /// Runs `step` and writes the `m × n` tile of C at `at = [row, col]` as `α·acc + β·c`.
    ///
    /// # Safety
    /// `step` must be runnable (see [`Step::run`]) and the tile must lie inside C; tiles reach
    /// the target from several tasks at once, but never the same one.
    unsafe fn update(&self, step: &Step<T>, at: [usize; 2], size: [usize; 2], alpha: T, beta: T);
}

impl<T: GemmScalar> TileTarget<T> for MatPtr<T> {
    unsafe fn update(
        &self,
        step: &Step<T>,
        [row, col]: [usize; 2],
        [m, n]: [usize; 2],
        alpha: T,
        beta: T,
    ) {
        let tile = Tile {
            c: self.at(row, col),
            rs: self.rs,
            cs: self.cs,
            m,
            n,
            alpha,
            beta,
        };
        step.run(&tile);
    }
}

/// Runs `f(0..tasks)`, on the rayon pool when `parallel`.
fn for_each_task(tasks: usize, parallel: bool, f: impl Fn(usize) + Send + Sync) {
    if parallel && tasks > 1 {
        (0..tasks).into_par_iter().with_max_len(1).for_each(f);
    } else {
        (0..tasks).for_each(f);
    }
}

/// The blocked product `α·A·B (+ β·C)` of an `m × k` view A and a `k × n` [`PanelSource`] B,
/// its tiles written through `cm`. `m, n, k ≥ 1`.
///
/// # Safety
/// As for [`TileTarget::update`]; the driver asks `b` only for blocks inside `k × n`, into
/// buffers with room for them, which is what the [`PanelSource`] contract needs.
#[allow(clippy::too_many_arguments)]
unsafe fn driver<T: GemmScalar>(
    kernel: &Kernel<T>,
    blocking: Blocking,
    threads: usize,
    alpha: T,
    a: ArrayView2<T>,
    b: &impl PanelSource<T>,
    n: usize,
    beta: T,
    cm: &impl TileTarget<T>,
) {
    let ((m, k), a, threads) = (a.dim(), MatPtr::of(&a), threads.max(1));
    let (mr, nr, ukr) = (kernel.mr, kernel.nr, kernel.ukr);
    let size = std::mem::size_of::<T>();
    // With few B panels to reuse a packed copy of A over, A is read in place where its rows
    // or its columns are contiguous: the panels of a full `MR` rows; a last, partial one is
    // packed, zero rows and all.
    let in_place_a: Option<(MicroKernel<T>, isize)> = match (a.rs, a.cs) {
        _ if n.div_ceil(nr) > A_IN_PLACE_MAX_PANELS => None,
        (rs, 1) => Some((kernel.ukr_rows, rs)),
        (1, cs) => Some((ukr, cs)),
        _ => None,
    };
    let m_full = if in_place_a.is_some() { m / mr } else { 0 };
    // K blocks of equal depth: the split depends on k alone, never on the threads. As few
    // blocks as keep each within 5/4·kc: every block costs an epilogue per tile and a pass over
    // C. One block up to 5/4·kc (64 × 288 × 784, a 32-channel 3×3 convolution of 4 images:
    // 71.4 → 74.8 GFLOP/s against two blocks, median of 15 interleaved rounds, one thread,
    // AVX2 path); k = 784 in 3 blocks of 262 instead of 4 of 196 (256 × 784 × 800, the MLP's
    // first layer: +1.6 to +9.4 % over seven sittings of 300 alternated calls, two threads;
    // +1 % on one). Multiples of kc up to 4·kc keep blocks of exactly kc; 2048² now takes
    // 7 blocks of 293 instead of 8 of 256, measured level (five sittings, two threads).
    let kc_target = blocking.kc.max(1);
    let k_blocks = k.div_ceil(kc_target + kc_target / 4);
    let kc_max = k.div_ceil(k_blocks);
    let nc_max = blocking.nc.max(nr).div_ceil(nr) * nr;
    let panels_per_block = (blocking.mc / mr).max(1);
    let parallel = threads > 1;
    let m_panels = m.div_ceil(mr);
    let whole_a = parallel && in_place_a.is_none() && m * kc_max * size <= WHOLE_A_MAX_BYTES;

    for jc in (0..n).step_by(nc_max) {
        let nc = nc_max.min(n - jc);
        let n_panels = nc.div_ceil(nr);
        // Task grid: `m_tasks` row blocks × `n_tasks` column ranges. One thread: blocks of at
        // most `mc` rows. Several: when all of C's rows fit one block (at most `mc` rows, or
        // `whole_a`), one column range per thread; otherwise a multiple of `threads` row blocks
        // of equal size, and if C has fewer row panels than threads, column ranges as well.
        let mut m_tasks = if whole_a {
            1
        } else {
            m_panels.div_ceil(panels_per_block)
        };
        let mut n_tasks = 1;
        if parallel && m_tasks == 1 && n_panels >= threads {
            n_tasks = threads;
        } else if parallel {
            m_tasks = (m_tasks.div_ceil(threads) * threads).min(m_panels);
            if m_tasks < threads {
                n_tasks = threads.div_ceil(m_tasks).min(n_panels);
            }
        }
        // With one task per thread, every task packs the B panels it uses itself, one panel at
        // a time just before the micro-kernels use it: the panel stays in L1, there is no
        // second parallel region per K block, and each core reads B̃ from its own cache instead
        // of half of it from the other core's. When several row blocks use the same columns
        // this packs them once per row block, so it is done only for a B block that fits in L2
        // (measured for 256² f32 on 2 threads: 155–172 GFLOP/s shared, 169–187 private; for
        // 512², where each task would repack 4× more, private was 5 % slower).
        let private_b = m_tasks * n_tasks <= threads
            && (m_tasks == 1 || n_panels * nr * kc_max * size <= PRIVATE_B_MAX_BYTES);
        for kb in 0..k_blocks {
            let pc = kb * kc_max;
            let kc = kc_max.min(k - pc);
            let beta = if kb == 0 { beta } else { T::ONE };
            let task = |t: usize, shared_b: Option<*mut T>| {
                let (i, j) = (t / n_tasks, t % n_tasks);
                let (p0, p1) = (i * m_panels / m_tasks, (i + 1) * m_panels / m_tasks);
                let (q0, q1) = (j * n_panels / n_tasks, (j + 1) * n_panels / n_tasks);
                if p0 == p1 || q0 == q1 {
                    return;
                }
                // Panels p0..in_place are read where they lie, in_place..p1 packed.
                let in_place = m_full.clamp(p0, p1);
                let a_len = ((p1 - in_place) * mr * kc).next_multiple_of(64);
                let b_len = if shared_b.is_some() { 0 } else { nr * kc };
                scratch::with_buffer(scratch::Slot::PackA, (a_len + b_len) * size, |buf| {
                    let abuf = buf as *mut T;
                    if in_place < p1 {
                        let rows = (p1 * mr).min(m) - in_place * mr;
                        pack::pack_a(mr, rows, kc, a.at(in_place * mr, pc), a.rs, a.cs, abuf);
                    }
                    for q in q0..q1 {
                        let bp = match shared_b {
                            Some(bbuf) => bbuf.add(q * nr * kc),
                            None => {
                                let bp = abuf.add(a_len);
                                b.pack(nr, pc, kc, jc + q * nr, nr.min(nc - q * nr), bp);
                                bp
                            }
                        };
                        let col = jc + q * nr;
                        let cols = nr.min(nc - q * nr);
                        for p in p0..p1 {
                            let row = p * mr;
                            let (ukr, a_panel, a_stride) = match in_place_a {
                                Some((in_place_ukr, stride)) if p < in_place => {
                                    (in_place_ukr, a.at(row, pc), stride)
                                }
                                _ => (ukr, abuf.add((p - in_place) * mr * kc), mr as isize),
                            };
                            let step = Step {
                                ukr,
                                kc,
                                a: a_panel,
                                a_stride,
                                b: bp,
                            };
                            cm.update(&step, [row, col], [mr.min(m - row), cols], alpha, beta);
                        }
                    }
                });
            };
            if private_b {
                for_each_task(m_tasks * n_tasks, parallel, |t| task(t, None));
                continue;
            }
            scratch::with_buffer(scratch::Slot::PackB, n_panels * nr * kc * size, |bbuf| {
                let bbuf = MatPtr {
                    ptr: bbuf as *mut T,
                    rs: 0,
                    cs: 0,
                };
                // Pack B̃ (kc × nc) in chunks of whole panels.
                let chunks = if parallel {
                    (threads * 4).min(n_panels)
                } else {
                    1
                };
                for_each_task(chunks, parallel, |t| {
                    let (q0, q1) = (t * n_panels / chunks, (t + 1) * n_panels / chunks);
                    let cols = (q1 * nr).min(nc) - q0 * nr;
                    b.pack(
                        nr,
                        pc,
                        kc,
                        jc + q0 * nr,
                        cols,
                        bbuf.base().add(q0 * nr * kc),
                    );
                });
                for_each_task(m_tasks * n_tasks, parallel, |t| task(t, Some(bbuf.base())));
            });
        }
    }
}
