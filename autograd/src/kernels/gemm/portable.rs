//! Portable micro-kernels: plain Rust over fixed-size arrays, which the compiler vectorises for
//! the baseline target (SSE2 on x86-64: 16 registers of 4 f32 / 2 f64). Used where neither
//! AVX-512 nor AVX2+FMA is available. Multiply and add are separate roundings here (Rust never
//! fuses them), so results differ from the FMA paths in the last bits.

use super::{store_tile_scalar, Blocking, Isa, Kernel, Tile};

macro_rules! portable_kernel {
    ($name:ident, $t:ty, $mr:literal, $nr:literal) => {
        /// # Safety
        /// `b` must hold `kc` packed steps and `a` the `MR × kc` values that
        /// [`MicroKernel`](super::MicroKernel) describes (`ROWS`: the row variant); `tile` must
        /// address a valid block of C.
        #[allow(clippy::needless_range_loop)]
        unsafe fn $name<const ROWS: bool>(
            kc: usize,
            a: *const $t,
            a_stride: isize,
            b: *const $t,
            tile: &Tile<$t>,
        ) {
            const MR: usize = $mr;
            const NR: usize = $nr;
            let mut acc = [[0.0 as $t; NR]; MR];
            for p in 0..kc {
                let ap: [$t; MR] = if ROWS {
                    std::array::from_fn(|i| *a.offset(i as isize * a_stride + p as isize))
                } else {
                    *(a.offset(p as isize * a_stride) as *const [$t; MR])
                };
                let bp = &*(b.add(p * NR) as *const [$t; NR]);
                for i in 0..MR {
                    for j in 0..NR {
                        acc[i][j] += ap[i] * bp[j];
                    }
                }
            }
            store_tile_scalar(acc.as_ptr() as *const $t, NR, tile);
        }
    };
}

portable_kernel!(ukr_f32, f32, 4, 8);
portable_kernel!(ukr_f64, f64, 4, 4);

pub(super) const F32: Kernel<f32> = Kernel {
    isa: Isa::Portable,
    mr: 4,
    nr: 8,
    blocking: Blocking {
        mc: 64,
        kc: 256,
        nc: 2048,
    },
    ukr: ukr_f32::<false>,
    ukr_rows: ukr_f32::<true>,
};

pub(super) const F64: Kernel<f64> = Kernel {
    isa: Isa::Portable,
    mr: 4,
    nr: 4,
    blocking: Blocking {
        mc: 64,
        kc: 256,
        nc: 2048,
    },
    ukr: ukr_f64::<false>,
    ukr_rows: ukr_f64::<true>,
};
