//! Packing of A and B blocks into the micro-kernels' panel layout. The blocks are packed into
//! the thread's reusable buffers of [`crate::kernels::scratch`].

use super::GemmScalar;

/// Packs the `m × kc` block of A at `a` (element (i, p) at `a + i·rs + p·cs`) into panels of
/// `mr` rows: panel `t` (at `dst + t·mr·kc`) holds, for each p, the `mr` values of rows
/// `t·mr ..`; rows past `m` are zero.
///
/// # Safety
/// `a` must address a valid `m × kc` block with these strides and `dst` must have room for
/// `⌈m / mr⌉·mr·kc` elements.
pub(super) unsafe fn pack_a<T: GemmScalar>(
    mr: usize,
    m: usize,
    kc: usize,
    a: *const T,
    rs: isize,
    cs: isize,
    dst: *mut T,
) {
    pack_panels(mr, m, kc, a, rs, cs, dst);
}

/// Packs the `kc × n` block of B at `b` (element (p, j) at `b + p·rs + j·cs`) into panels of
/// `nr` columns: panel `t` (at `dst + t·nr·kc`) holds, for each p, the `nr` values of columns
/// `t·nr ..`; columns past `n` are zero.
///
/// # Safety
/// `b` must address a valid `kc × n` block with these strides and `dst` must have room for
/// `⌈n / nr⌉·nr·kc` elements.
pub(super) unsafe fn pack_b<T: GemmScalar>(
    nr: usize,
    n: usize,
    kc: usize,
    b: *const T,
    rs: isize,
    cs: isize,
    dst: *mut T,
) {
    pack_panels(nr, n, kc, b, cs, rs, dst);
}

/// The common form of both packings: `len` lines (rows of A, columns of B) of `kc` values,
/// line `i` value `p` at `src + i·s_i + p·s_p`, into panels of `width` lines where value
/// (i, p) of a panel sits at `p·width + i`; lines past `len` are zero.
unsafe fn pack_panels<T: GemmScalar>(
    width: usize,
    len: usize,
    kc: usize,
    src: *const T,
    s_i: isize,
    s_p: isize,
    dst: *mut T,
) {
    let panels = len.div_ceil(width);
    if s_i == 1 {
        // The values of one p are contiguous (row-major B, transposed A). Read them in memory
        // order, p outer and all panels inner: one sequential stream, where panel after panel
        // would jump a whole row stride for every p (measured 2× slower for 1024² f32).
        for p in 0..kc {
            let s = src.offset(p as isize * s_p);
            for t in 0..panels {
                let lines = width.min(len - t * width);
                copy_line(
                    width,
                    lines,
                    s.add(t * width),
                    dst.add(t * width * kc + p * width),
                );
            }
        }
        return;
    }
    for t in 0..panels {
        let lines = width.min(len - t * width);
        let src = src.offset((t * width) as isize * s_i);
        let dst = dst.add(t * width * kc);
        if s_p == 1 {
            // Each line is contiguous: a transposition (row-major A, transposed B).
            T::pack_transposed(width, lines, kc, src, s_i, dst);
        } else {
            for p in 0..kc {
                let s = src.offset(p as isize * s_p);
                let d = dst.add(p * width);
                for i in 0..lines {
                    *d.add(i) = *s.offset(i as isize * s_i);
                }
                for i in lines..width {
                    *d.add(i) = T::ZERO;
                }
            }
        }
    }
}

/// `d[..lines] = s[..lines]`, `d[lines..width] = 0`. Full lines of the panel widths in use are
/// copied as fixed-size arrays (inline vector moves, not a `memcpy` call per line).
#[inline(always)]
unsafe fn copy_line<T: GemmScalar>(width: usize, lines: usize, s: *const T, d: *mut T) {
    #[inline(always)]
    unsafe fn fixed<T: Copy, const W: usize>(s: *const T, d: *mut T) {
        (d as *mut [T; W]).write_unaligned((s as *const [T; W]).read_unaligned());
    }
    if lines == width {
        match width {
            4 => return fixed::<T, 4>(s, d),
            6 => return fixed::<T, 6>(s, d),
            8 => return fixed::<T, 8>(s, d),
            12 => return fixed::<T, 12>(s, d),
            16 => return fixed::<T, 16>(s, d),
            32 => return fixed::<T, 32>(s, d),
            _ => {}
        }
    }
    std::ptr::copy_nonoverlapping(s, d, lines);
    for i in lines..width {
        *d.add(i) = T::ZERO;
    }
}

/// `dst[p·width + i] = src[i·s_i + p]` for `i < lines`, zero for `lines ≤ i < width`, `p < kc`:
/// the scalar form of [`GemmScalar::pack_transposed`]. All lines advance together (p outer), so
/// the hardware prefetcher sees `lines` concurrent sequential streams instead of one short one
/// at a time (measured: reading one line after the other was 3× slower).
/// On x86-64 the SIMD versions below replace it (the tests compare them with it).
#[cfg_attr(target_arch = "x86_64", allow(dead_code))]
pub(super) unsafe fn pack_transposed_scalar<T: GemmScalar>(
    width: usize,
    lines: usize,
    kc: usize,
    src: *const T,
    s_i: isize,
    dst: *mut T,
) {
    for p in 0..kc {
        let d = dst.add(p * width);
        for i in 0..lines {
            *d.add(i) = *src.offset(i as isize * s_i + p as isize);
        }
        for i in lines..width {
            *d.add(i) = T::ZERO;
        }
    }
}

/// Prefetches value `ahead` of each of the `width` lines of a panel, or past the panel's end the
/// matching value at the start of the next panel's lines (where the packing goes next). The
/// lines of a panel are short streams (`kc` values) a whole row stride apart, which the hardware
/// prefetcher picks up late: measured, the loads of the transposing packers stalled on memory.
#[cfg(target_arch = "x86_64")]
#[inline(always)]
unsafe fn prefetch_lines<T>(width: usize, kc: usize, src: *const T, s_i: isize, ahead: usize) {
    use std::arch::x86_64::{_mm_prefetch, _MM_HINT_T0};
    let (base, p) = if ahead < kc {
        (src, ahead)
    } else {
        (src.wrapping_offset(width as isize * s_i), ahead - kc)
    };
    for i in 0..width {
        // Addresses only: a prefetch never faults, and past the matrix it is merely wasted.
        let line = base.wrapping_offset(i as isize * s_i).wrapping_add(p);
        _mm_prefetch::<_MM_HINT_T0>(line as *const i8);
    }
}

/// [`pack_transposed_scalar`] for f32 with 4 × 4 SSE transposes (SSE is part of x86-64):
/// 4 loads, 8 shuffles and 4 stores per 16 values instead of 16 scalar loads and stores.
#[cfg(target_arch = "x86_64")]
pub(super) unsafe fn pack_transposed_f32(
    width: usize,
    lines: usize,
    kc: usize,
    src: *const f32,
    s_i: isize,
    dst: *mut f32,
) {
    use std::arch::x86_64::*;
    let groups = lines / 4;
    let pair = lines % 4 >= 2;
    let vector_lines = groups * 4 + if pair { 2 } else { 0 };
    let kc4 = kc / 4 * 4;
    // p in chunks of 16 (a cache line per line), all groups per chunk: every line streams.
    let mut p0 = 0;
    while p0 < kc4 {
        let p1 = (p0 + 16).min(kc4);
        prefetch_lines(width, kc, src, s_i, p0 + 4 * 16);
        for g in 0..groups {
            let i0 = g * 4;
            let r0 = src.offset(i0 as isize * s_i);
            let (r1, r2, r3) = (r0.offset(s_i), r0.offset(2 * s_i), r0.offset(3 * s_i));
            let mut p = p0;
            while p < p1 {
                let a = _mm_loadu_ps(r0.add(p));
                let b = _mm_loadu_ps(r1.add(p));
                let c = _mm_loadu_ps(r2.add(p));
                let d = _mm_loadu_ps(r3.add(p));
                let ab_lo = _mm_unpacklo_ps(a, b);
                let ab_hi = _mm_unpackhi_ps(a, b);
                let cd_lo = _mm_unpacklo_ps(c, d);
                let cd_hi = _mm_unpackhi_ps(c, d);
                let o = dst.add(p * width + i0);
                _mm_storeu_ps(o, _mm_movelh_ps(ab_lo, cd_lo));
                _mm_storeu_ps(o.add(width), _mm_movehl_ps(cd_lo, ab_lo));
                _mm_storeu_ps(o.add(2 * width), _mm_movelh_ps(ab_hi, cd_hi));
                _mm_storeu_ps(o.add(3 * width), _mm_movehl_ps(cd_hi, ab_hi));
                p += 4;
            }
        }
        if pair {
            // Two lines left (width 6 of the AVX2 path): 2 × 4 interleaves, 2 values per p.
            let r0 = src.offset((groups * 4) as isize * s_i);
            let r1 = r0.offset(s_i);
            let mut p = p0;
            while p < p1 {
                let a = _mm_loadu_ps(r0.add(p));
                let b = _mm_loadu_ps(r1.add(p));
                let lo = _mm_castps_pd(_mm_unpacklo_ps(a, b));
                let hi = _mm_castps_pd(_mm_unpackhi_ps(a, b));
                let o = dst.add(p * width + groups * 4);
                _mm_storel_pd(o as *mut f64, lo);
                _mm_storeh_pd(o.add(width) as *mut f64, lo);
                _mm_storel_pd(o.add(2 * width) as *mut f64, hi);
                _mm_storeh_pd(o.add(3 * width) as *mut f64, hi);
                p += 4;
            }
        }
        p0 = p1;
    }
    pack_transposed_rest(width, lines, vector_lines, kc4, kc, src, s_i, dst);
}

/// [`pack_transposed_scalar`] for f64 with 2 × 2 SSE2 transposes (SSE2 is part of x86-64).
#[cfg(target_arch = "x86_64")]
pub(super) unsafe fn pack_transposed_f64(
    width: usize,
    lines: usize,
    kc: usize,
    src: *const f64,
    s_i: isize,
    dst: *mut f64,
) {
    use std::arch::x86_64::*;
    let pairs = lines / 2;
    let kc2 = kc / 2 * 2;
    let mut p0 = 0;
    while p0 < kc2 {
        let p1 = (p0 + 8).min(kc2);
        prefetch_lines(width, kc, src, s_i, p0 + 4 * 8);
        for g in 0..pairs {
            let i0 = g * 2;
            let r0 = src.offset(i0 as isize * s_i);
            let r1 = r0.offset(s_i);
            let mut p = p0;
            while p < p1 {
                let a = _mm_loadu_pd(r0.add(p));
                let b = _mm_loadu_pd(r1.add(p));
                let o = dst.add(p * width + i0);
                _mm_storeu_pd(o, _mm_unpacklo_pd(a, b));
                _mm_storeu_pd(o.add(width), _mm_unpackhi_pd(a, b));
                p += 2;
            }
        }
        p0 = p1;
    }
    pack_transposed_rest(width, lines, pairs * 2, kc2, kc, src, s_i, dst);
}

/// What the vector loops of a transposing packer leave: the values `p ≥ vector_kc` of lines
/// `..vector_lines`, lines `vector_lines..lines` whole, and the zero lines `lines..width`. Each
/// part loops only over what it writes: a loop over all `kc` that skipped the vector part took
/// a quarter of the packer's samples for full 16-line panels, which need only `kc % 4` values.
#[cfg(target_arch = "x86_64")]
#[allow(clippy::too_many_arguments)]
unsafe fn pack_transposed_rest<T: GemmScalar>(
    width: usize,
    lines: usize,
    vector_lines: usize,
    vector_kc: usize,
    kc: usize,
    src: *const T,
    s_i: isize,
    dst: *mut T,
) {
    for p in vector_kc..kc {
        let d = dst.add(p * width);
        for i in 0..vector_lines {
            *d.add(i) = *src.offset(i as isize * s_i + p as isize);
        }
    }
    if vector_lines == width {
        return;
    }
    for p in 0..kc {
        let d = dst.add(p * width);
        for i in vector_lines..lines {
            *d.add(i) = *src.offset(i as isize * s_i + p as isize);
        }
        for i in lines..width {
            *d.add(i) = T::ZERO;
        }
    }
}
