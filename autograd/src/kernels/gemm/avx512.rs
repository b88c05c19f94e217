//! AVX-512F micro-kernels: 12 × 32 (f32) and 12 × 16 (f64) tiles, i.e. 12 rows × 2 zmm vectors
//! = 24 accumulator registers of the 32, plus 2 for the B row and broadcasts of A folded into the
//! FMAs as memory operands. Per step of k: 2 vector loads, 12 broadcasts, 24 FMAs (and 4
//! prefetches when the B panel overflows L1, [`PREFETCH_STEPS`]). Their 8-row
//! variants (16 accumulators) serve products whose row count 12-row tiles would pad by much
//! (`best_kernel_for`).
//!
//! On Zen 4 a 512-bit FMA is executed as two 256-bit halves, so the FLOP rate per cycle equals
//! AVX2's; the gain over the AVX2 path comes from the twice larger tile (half the loads per FMA)
//! and half as many instructions.

use std::arch::x86_64::*;
use std::mem::MaybeUninit;

use super::{store_tile_scalar, Blocking, Isa, Kernel, Tile};

/// Steps of `k` ahead at which the micro-kernels prefetch their A and B values. A B panel of
/// `kc = 512` steps (64 KiB) does not fit a 32 or 48 KiB L1, so every tile streams it from L2
/// again, and the hardware prefetcher alone left the FMAs waiting. On the Intel AVX-512 VM (48
/// KiB L1, 2 threads, f64; the square 1024 product, a Cholesky trailing update and the GGN's
/// rank-900 update, medians of 5–7 alternated rounds): B 8 steps ahead +2–7 %, 16 or 32 steps
/// +4–6 %, 16 with A as well +10–13 %. Then `distillery bench`, four alternated rounds against
/// the kernels without prefetches: `gemm_f64_1024` +12 %, `gemm_f32_{512,1024,2048}` +2, +4,
/// +6 %, `laplace_ggn_full_6050` +10 %, `hvp_mlp_teacher` +3 %, the rest level. Not measured on
/// the Zen 4 (32 KiB L1), where the same panels overflow L1 as well.
const PREFETCH_STEPS: usize = 16;

/// Smallest B panel (bytes) for which the micro-kernels prefetch ([`PREFETCH_STEPS`]): one
/// that fits a 32 KiB L1 stays there over the tiles that use it, and the prefetches only take
/// load slots (`gemm_f32_256`, `kc = 256`: 3–6 % slower with them, level without).
const PREFETCH_MIN_B_BYTES: usize = 32 << 10;

macro_rules! avx512_kernel {
    (
        $name:ident, $t:ty, mr = $mr:literal, nv = $nv:literal, lanes = $lanes:literal,
        $vec:ty, $mask:ty, $zero:ident, $load:ident, $store:ident, $set1:ident, $fmadd:ident,
        $mul:ident, $add:ident, $maskz_load:ident, $mask_store:ident
    ) => {
        /// # Safety
        /// The CPU must support AVX-512F; `b` must hold `kc` packed steps and `a` the
        /// `MR × kc` values that [`MicroKernel`](super::MicroKernel) describes (`ROWS`: the
        /// row variant); `tile` must address a valid block of C.
        #[target_feature(enable = "avx512f")]
        #[allow(clippy::needless_range_loop)]
        unsafe fn $name<const ROWS: bool>(
            kc: usize,
            a: *const $t,
            a_stride: isize,
            b: *const $t,
            tile: &Tile<$t>,
        ) {
            const MR: usize = $mr;
            const NV: usize = $nv;
            const L: usize = $lanes;
            const NR: usize = NV * L;
            // C is needed only after the loop: fetch its tile into L1 meanwhile.
            if tile.cs == 1 {
                for i in 0..tile.m {
                    let row = tile.c.offset(i as isize * tile.rs) as *const i8;
                    _mm_prefetch::<_MM_HINT_T0>(row);
                    _mm_prefetch::<_MM_HINT_T0>(row.add(NR * std::mem::size_of::<$t>() - 1));
                }
            }
            let mut acc = [[$zero(); NV]; MR];
            let (a_row, a_step) = super::a_strides::<ROWS>(a_stride);
            let (mut a, mut b) = (a, b);
            // two loops rather than a test in one, which the compiler keeps in the loop
            if kc * NR * std::mem::size_of::<$t>() > PREFETCH_MIN_B_BYTES {
                for _ in 0..kc {
                    // the A and B values of the step PREFETCH_STEPS ahead, two cache lines of
                    // each (B: 128 bytes a step; A packed: 48 or 96), into L1. Addresses only: a
                    // prefetch never faults, and past a panel's end it is merely wasted.
                    let b_ahead = b.wrapping_add(NR * PREFETCH_STEPS) as *const i8;
                    let a_ahead = a.wrapping_offset(a_step * PREFETCH_STEPS as isize) as *const i8;
                    _mm_prefetch::<_MM_HINT_T0>(b_ahead);
                    _mm_prefetch::<_MM_HINT_T0>(b_ahead.wrapping_add(64));
                    _mm_prefetch::<_MM_HINT_T0>(a_ahead);
                    _mm_prefetch::<_MM_HINT_T0>(a_ahead.wrapping_add(64));
                    rank1_step!(acc, a, b, a_row, a_step, $zero, $load, $set1, $fmadd);
                }
            } else {
                for _ in 0..kc {
                    rank1_step!(acc, a, b, a_row, a_step, $zero, $load, $set1, $fmadd);
                }
            }

            // Accumulators spilled to an aligned block, read back through a pointer.
            #[allow(dead_code)]
            #[repr(align(64))]
            struct Acc([[$t; NR]; MR]);
            let mut buf = MaybeUninit::<Acc>::uninit();
            let accp = buf.as_mut_ptr() as *mut $t;
            for i in 0..MR {
                for v in 0..NV {
                    $store(accp.add(i * NR + v * L), acc[i][v]);
                }
            }
            let accp = accp as *const $t;

            if tile.cs != 1 {
                store_tile_scalar(accp, NR, tile);
                return;
            }
            // Same operations as `store_tile_scalar`, L lanes at a time.
            let alpha_one = tile.alpha == 1.0;
            let (beta_zero, beta_one) = (tile.beta == 0.0, tile.beta == 1.0);
            let (va, vb) = ($set1(tile.alpha), $set1(tile.beta));
            for i in 0..tile.m {
                let crow = tile.c.offset(i as isize * tile.rs);
                let arow = accp.add(i * NR);
                let mut j = 0;
                while j < tile.n {
                    let x = $load(arow.add(j));
                    let x = if alpha_one { x } else { $mul(va, x) };
                    let p = crow.add(j);
                    let rem = tile.n - j;
                    if rem >= L {
                        let y = if beta_zero {
                            x
                        } else if beta_one {
                            $add(x, $load(p))
                        } else {
                            $add(x, $mul(vb, $load(p)))
                        };
                        $store(p, y);
                    } else {
                        let mask = ((1u32 << rem) - 1) as $mask;
                        let y = if beta_zero {
                            x
                        } else if beta_one {
                            $add(x, $maskz_load(mask, p))
                        } else {
                            $add(x, $mul(vb, $maskz_load(mask, p)))
                        };
                        $mask_store(p, mask, y);
                    }
                    j += L;
                }
            }
        }
    };
}

/// The f32 kernel of `$mr` rows × 2 vectors of 16 lanes.
macro_rules! f32_kernel {
    ($name:ident, $mr:literal) => {
        avx512_kernel!(
            $name,
            f32,
            mr = $mr,
            nv = 2,
            lanes = 16,
            __m512,
            __mmask16,
            _mm512_setzero_ps,
            _mm512_loadu_ps,
            _mm512_storeu_ps,
            _mm512_set1_ps,
            _mm512_fmadd_ps,
            _mm512_mul_ps,
            _mm512_add_ps,
            _mm512_maskz_loadu_ps,
            _mm512_mask_storeu_ps
        );
    };
}

/// The f64 kernel of `$mr` rows × 2 vectors of 8 lanes.
macro_rules! f64_kernel {
    ($name:ident, $mr:literal) => {
        avx512_kernel!(
            $name,
            f64,
            mr = $mr,
            nv = 2,
            lanes = 8,
            __m512d,
            __mmask8,
            _mm512_setzero_pd,
            _mm512_loadu_pd,
            _mm512_storeu_pd,
            _mm512_set1_pd,
            _mm512_fmadd_pd,
            _mm512_mul_pd,
            _mm512_add_pd,
            _mm512_maskz_loadu_pd,
            _mm512_mask_storeu_pd
        );
    };
}

f32_kernel!(ukr_f32, 12);
f32_kernel!(ukr_f32_short, 8);
f64_kernel!(ukr_f64, 12);
f64_kernel!(ukr_f64_short, 8);

pub(super) const F32: Kernel<f32> = Kernel {
    isa: Isa::Avx512,
    mr: 12,
    nr: 32,
    blocking: Blocking {
        mc: 144,
        kc: 512,
        nc: 2048,
    },
    ukr: ukr_f32::<false>,
    ukr_rows: ukr_f32::<true>,
};

pub(super) const F64: Kernel<f64> = Kernel {
    isa: Isa::Avx512,
    mr: 12,
    nr: 16,
    blocking: Blocking {
        mc: 144,
        kc: 512,
        nc: 1024,
    },
    ukr: ukr_f64::<false>,
    ukr_rows: ukr_f64::<true>,
};

/// The 8-row variant of [`F32`], for products whose row count is a multiple of 8 but not of 12
/// (a 64-channel convolution: 12-row tiles would compute 72 rows for 64, 11 % of the work on
/// padding). Same blocking; 16 accumulators leave the FMA units as busy on Zen 4, whose
/// 512-bit FMAs issue one per cycle.
pub(super) const F32_SHORT: Kernel<f32> = Kernel {
    isa: Isa::Avx512,
    mr: 8,
    nr: 32,
    blocking: F32.blocking,
    ukr: ukr_f32_short::<false>,
    ukr_rows: ukr_f32_short::<true>,
};

/// The 8-row variant of [`F64`] (see [`F32_SHORT`]).
pub(super) const F64_SHORT: Kernel<f64> = Kernel {
    isa: Isa::Avx512,
    mr: 8,
    nr: 16,
    blocking: F64.blocking,
    ukr: ukr_f64_short::<false>,
    ukr_rows: ukr_f64_short::<true>,
};
