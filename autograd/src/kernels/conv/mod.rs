//! 2-D convolution kernels by im2col + GEMM, and for the many-channel `f32` layers on AVX-512
//! directly (see below). Layouts: input `x[n, c, h, w]`, weight `w[o, c, kh, kw]`, output
//! `y[n, o, ho, wo]`.
//!
//! `col(x[n])` is the `(c·kh·kw) × (ho·wo)` matrix whose column `(p, q)` holds the input patch
//! read by output pixel `(p, q)`:
//! `col[(c·kh + i)·kw + j, p·wo + q] = x[n, c, p·s_h − pad_h + i·d_h, q·s_w − pad_w + j·d_w]`
//! (zero outside the image). Then, with `W` the `o × (c·kh·kw)` weight matrix and `G[n]` the
//! `o × (ho·wo)` output cotangent:
//!
//! * forward:      `y[n] = W · col(x[n])`
//! * input grad:   `x̄[n] = col2im(Wᵀ · G[n])`   (col2im adds each column back into its patch)
//! * weight grad:  `W̄ = Σ_n G[n] · col(x[n])ᵀ`
//!
//! **Groups of images.** One image's product is small (for a 32→64 3×3 layer on 14×14 images,
//! 64 × 288 × 196), and the GEMM pays its packing and edge tiles per call. So the forward and
//! the input gradient lay the images of a group side by side: `col` of a group is
//! `(c·kh·kw) × (g·ho·wo)` with image `b` in columns `b·ho·wo ..`, and likewise
//! `[G[n₀] … G[n₀+g−1]]`, and each is one wider GEMM per group. The weight gradient keeps the
//! group but sums its images' products one after the other into the group's partial (the
//! output is `o × c·kh·kw` either way, and one image's `col` stays in L2). Groups run in
//! parallel. The group size depends on the shapes only, never on the thread count, so every
//! result — the weight gradient summed per group, then over groups in order — has the same bits
//! at any thread count.
//!
//! **Matrices that are never written.** For "same" convolutions at stride 1 with a few channels
//! or more, the forward's GEMM packs its B panels straight from the images; the input gradient
//! always packs `[G[n₀] …]` straight from `ḡ` (it is the `col` of `ḡ` under a 1×1 kernel). See
//! [`panels`]. Nor is the forward's `o × (g·ho·wo)` product: its tiles go straight into the
//! `[g, o, ho·wo]` output ([`output`]).
//!
//! **No `col` at all.** For `f32` on AVX-512 at stride 1 with many channels, the forward and
//! the input gradient (at stride 1 itself a convolution, of `ḡ` with the filters turned) skip
//! im2col and its packing: a micro-kernel reads the zero-padded image directly ([`direct`]).
//!
//! The `col` buffers are the thread's reusable scratch buffer ([`super::scratch`]): a training
//! step calls these kernels with the same shapes every time.

use ndarray::{Array2, Array4, ArrayView2, ArrayView4, ArrayViewMut2, Ix4};
use rayon::prelude::*;

#[cfg(target_arch = "x86_64")]
mod direct;
mod output;
mod panels;

use self::output::GroupedOutput;
use self::panels::{GroupTables, ImplicitColumns, PanelTable};
use super::elementwise::written;
use super::gemm;
use super::pool;
use super::scratch::{self, Slot};
use crate::float::Float;
use crate::ops::Conv2dGeometry;

/// Spatial sizes of one convolution: input `h×w`, kernel `kh×kw`, output `ho×wo`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct Dims {
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) ho: usize,
    pub(crate) wo: usize,
}

impl Dims {
    /// Output pixels per image and channel, `ho·wo`.
    fn plane(&self) -> usize {
        self.ho * self.wo
    }

    /// A 1×1 kernel over `ho × wo` planes (with stride 1 and no padding: the identity geometry),
    /// under which `col` of output-shaped images is those images laid side by side.
    fn one_by_one(ho: usize, wo: usize) -> Dims {
        Dims {
            h: ho,
            w: wo,
            kh: 1,
            kw: 1,
            ho,
            wo,
        }
    }
}

/// Columns a group of images aims for: enough to make the GEMM's N (forward, input gradient)
/// wide, while a group's `col` stays within a few hundred KiB to 1 MiB for the layers of these
/// workloads.
const GROUP_COLUMNS: usize = 1024;
/// Most images in one group (so that a batch still splits into several groups for the threads).
const MAX_GROUP: usize = 8;

/// Groups come in multiples of this (as far as the batch allows), so that they share out evenly
/// over 1, 2 or 4 threads.
const GROUP_MULTIPLE: usize = 4;

/// Images per group for a batch of `n` with `plane = ho·wo` output pixels: about
/// [`GROUP_COLUMNS`] columns (at most [`MAX_GROUP`] images), then evened out so that the number
/// of groups is a multiple of [`GROUP_MULTIPLE`]. A function of the shape alone.
fn group_size(n: usize, plane: usize) -> usize {
    let widest = (GROUP_COLUMNS / plane.max(1)).clamp(1, MAX_GROUP);
    let groups = n
        .div_ceil(widest)
        .next_multiple_of(GROUP_MULTIPLE)
        .min(n.max(1));
    n.div_ceil(groups).max(1)
}

/// The range of output positions `o` (of `n_out`) whose input coordinate `o·s − pad + k·d`
/// falls inside `0..size`, for kernel tap `k` along one axis.
#[inline]
fn valid_outputs(
    k: usize,
    stride: usize,
    pad: usize,
    dil: usize,
    size: usize,
    n_out: usize,
) -> (usize, usize) {
    let offset = k * dil;
    // first o with o·s + offset ≥ pad
    let lo = pad.saturating_sub(offset).div_ceil(stride);
    // last o with o·s + offset − pad ≤ size − 1
    let hi = if size + pad > offset {
        (size + pad - offset - 1) / stride + 1
    } else {
        0
    };
    (lo.min(n_out), hi.min(n_out).max(lo.min(n_out)))
}

/// Zeroes `s`, the few values of a row that a tap reads outside the image. With a small kernel
/// they are one or two, and `s.fill(0)` compiles to a `memset` call for each, 4 bytes a call: in
/// the 32→64 layer's forward and backward (3×3, padding 1) those calls from `im2col` and
/// `col2im` were 4.9 % of the samples.
#[inline(always)]
fn zero_edge<F: Float>(s: &mut [F]) {
    match s {
        [] => {}
        [a] => *a = F::zero(),
        [a, b] => (*a, *b) = (F::zero(), F::zero()),
        _ => s.fill(F::zero()),
    }
}

/// Writes `col(x)` for one image `image` (`c × h × w`, contiguous) into `col`, whose row `r`
/// starts at `col[r·ld]` (`ld ≥ ho·wo`: the images of a group share the rows).
pub(super) fn im2col<F: Float>(image: &[F], g: &Conv2dGeometry, d: Dims, col: &mut [F], ld: usize) {
    let ([sh, sw], [ph, pw], [dh, dw]) = (g.stride, g.padding, g.dilation);
    let (plane, channels) = (d.plane(), image.len() / (d.h * d.w));
    for c in 0..channels {
        let image = &image[c * d.h * d.w..(c + 1) * d.h * d.w];
        for i in 0..d.kh {
            let (p_lo, p_hi) = valid_outputs(i, sh, ph, dh, d.h, d.ho);
            for j in 0..d.kw {
                let row = (c * d.kh + i) * d.kw + j;
                let out = &mut col[row * ld..row * ld + plane];
                let (q_lo, q_hi) = valid_outputs(j, sw, pw, dw, d.w, d.wo);
                out[..p_lo * d.wo].fill(F::zero());
                out[p_hi * d.wo..].fill(F::zero());
                if sh == 1 && sw == 1 && d.wo == d.w && p_lo < p_hi && q_lo < q_hi {
                    // Stride 1 with as many output as input columns ("same" padding): output
                    // pixel t = p·w + q reads image[t + shift], so the valid rows are one
                    // shifted run of the image. Copy it at once, then zero the columns outside
                    // the image, which the run brought in from the neighbouring rows.
                    let (t0, t1) = (p_lo * d.w + q_lo, (p_hi - 1) * d.w + q_hi);
                    let s0 = (p_lo + i * dh - ph) * d.w + q_lo + j * dw - pw;
                    out[t0..t1].copy_from_slice(&image[s0..s0 + (t1 - t0)]);
                    for o in out[p_lo * d.w..p_hi * d.w].chunks_exact_mut(d.w) {
                        zero_edge(&mut o[..q_lo]);
                        zero_edge(&mut o[q_hi..]);
                    }
                    continue;
                }
                for p in p_lo..p_hi {
                    let a = p * sh + i * dh - ph;
                    let line = &image[a * d.w..(a + 1) * d.w];
                    let o = &mut out[p * d.wo..(p + 1) * d.wo];
                    zero_edge(&mut o[..q_lo]);
                    zero_edge(&mut o[q_hi..]);
                    if q_lo == q_hi {
                        continue;
                    }
                    let b0 = q_lo * sw + j * dw - pw;
                    if sw == 1 {
                        o[q_lo..q_hi].copy_from_slice(&line[b0..b0 + (q_hi - q_lo)]);
                    } else {
                        for (v, &s) in o[q_lo..q_hi].iter_mut().zip(line[b0..].iter().step_by(sw)) {
                            *v = s;
                        }
                    }
                }
            }
        }
    }
}

/// Adds each column of `col` (row `r` at `col[r·ld]`) back into the patch of `image`
/// (`c × h × w`, contiguous) it was read from: `image += col2im(col)`. May overwrite the
/// entries of `col` that read outside the image (padding) with zeros.
fn col2im<F: Float>(col: &mut [F], ld: usize, g: &Conv2dGeometry, d: Dims, image: &mut [F]) {
    let ([sh, sw], [ph, pw], [dh, dw]) = (g.stride, g.padding, g.dilation);
    let channels = image.len() / (d.h * d.w);
    for c in 0..channels {
        let image = &mut image[c * d.h * d.w..(c + 1) * d.h * d.w];
        for i in 0..d.kh {
            let (p_lo, p_hi) = valid_outputs(i, sh, ph, dh, d.h, d.ho);
            for j in 0..d.kw {
                let row = (c * d.kh + i) * d.kw + j;
                let from = &mut col[row * ld..row * ld + d.plane()];
                let (q_lo, q_hi) = valid_outputs(j, sw, pw, dw, d.w, d.wo);
                if q_lo == q_hi {
                    continue;
                }
                if sh == 1 && sw == 1 && d.wo == d.w && p_lo < p_hi {
                    // "Same" padding at stride 1, as in `im2col`: output pixel t = p·w + q
                    // belongs to image[t + shift], so the valid rows add as one shifted run once
                    // the entries of columns outside the image (which the run would add into
                    // the neighbouring rows) are zero.
                    for o in from[p_lo * d.w..p_hi * d.w].chunks_exact_mut(d.w) {
                        zero_edge(&mut o[..q_lo]);
                        zero_edge(&mut o[q_hi..]);
                    }
                    let (t0, t1) = (p_lo * d.w + q_lo, (p_hi - 1) * d.w + q_hi);
                    let s0 = (p_lo + i * dh - ph) * d.w + q_lo + j * dw - pw;
                    for (x, &v) in image[s0..s0 + (t1 - t0)].iter_mut().zip(&from[t0..t1]) {
                        *x += v;
                    }
                    continue;
                }
                for p in p_lo..p_hi {
                    let a = p * sh + i * dh - ph;
                    let line = &mut image[a * d.w..(a + 1) * d.w];
                    let f = &from[p * d.wo + q_lo..p * d.wo + q_hi];
                    let b0 = q_lo * sw + j * dw - pw;
                    if sw == 1 {
                        // contiguous: a vectorised add
                        for (x, &v) in line[b0..b0 + f.len()].iter_mut().zip(f) {
                            *x += v;
                        }
                    } else {
                        for (x, &v) in line[b0..].iter_mut().step_by(sw).zip(f) {
                            *x += v;
                        }
                    }
                }
            }
        }
    }
}

fn matrix<F: Float>(data: &[F], rows: usize, cols: usize) -> ArrayView2<'_, F> {
    ArrayView2::from_shape((rows, cols), &data[..rows * cols]).expect("sizes computed above")
}

fn matrix_mut<F: Float>(data: &mut [F], rows: usize, cols: usize) -> ArrayViewMut2<'_, F> {
    ArrayViewMut2::from_shape((rows, cols), &mut data[..rows * cols]).expect("sizes computed above")
}

/// Input channels from which the forward packs the GEMM's panels straight from the images
/// ([`panels`]) rather than through an im2col matrix, for "same" convolutions at stride 1 (whose
/// panel rows are nearly all plain or masked copies). With few channels each (panel, tap) entry
/// serves few rows, and building the table costs more than the matrix it saves. Measured on one
/// thread (forward alone, medians of 300 alternated calls, 3×3 or 5×5 "same"), implicit vs
/// im2col in GFLOP/s: 1→6 channels on 128×28×28 (5×5) 11.0 vs 15.1; 3→16 on 128×28×28 22.7 vs
/// 21.2; 8→16 on 64×14×14 25.5 vs 22.3; 16→32 on 32×14×14 46.6 vs 43.1; 32→64 52.6 vs 46.5
/// (two threads: 89.6 vs 81.9); 64→64 59.7 vs 50.9.
const IMPLICIT_MIN_CHANNELS: usize = 3;

/// `y = conv(x, w)`: per group of images, `[y[n₀] … ] = W · [col(x[n₀]) …]`; groups in parallel.
/// For many-channel "same" convolutions at stride 1, `col` is never written: the GEMM packs its
/// panels straight from the images ([`panels`]).
pub(crate) fn conv2d<F: Float>(
    x: ArrayView4<'_, F>,
    w: ArrayView4<'_, F>,
    g: &Conv2dGeometry,
    d: Dims,
) -> Array4<F> {
    let (n, c, o) = (x.shape()[0], x.shape()[1], w.shape()[0]);
    let (k, plane) = (c * d.kh * d.kw, d.plane());
    if n * c * o == 0 {
        return Array4::zeros((n, o, d.ho, d.wo));
    }
    pool::keep_warm();
    let x = x.as_slice().expect("tape values are contiguous");
    #[cfg(target_arch = "x86_64")]
    if direct::applies::<F>(g, c, o) {
        let ws = w.as_slice().expect("tape values are contiguous");
        // SAFETY: `direct::conv2d` writes every one of the n·o·ho·wo values.
        return unsafe {
            written(Ix4(n, o, d.ho, d.wo), |y| {
                direct::conv2d(x, ws, y, [n, c, o], g, d)
            })
        };
    }
    let w2 = w.into_shape_with_order((o, k)).expect("contiguous");
    let kernel = gemm::best_kernel_for::<F>(o);
    let group = group_size(n, plane);
    // One table per group size (the full groups, and the last one if it is smaller).
    let implicit = c >= IMPLICIT_MIN_CHANNELS && g.stride == [1, 1] && d.wo == d.w;
    let tables = implicit.then(|| {
        GroupTables::new(n, group, |images| {
            PanelTable::shared::<F>(kernel.nr, images * plane, g, d, c)
        })
    });
    let mut y: Vec<F> = Vec::with_capacity(n * o * plane);
    y.spare_capacity_mut()
        .par_chunks_mut(group * o * plane)
        .zip(x.par_chunks(group * c * d.h * d.w))
        .for_each(|(ys, xs)| {
            let cols = ys.len() / o;
            let target = GroupedOutput::new(ys, o, plane);
            let (one, blocking, threads) =
                (F::one(), kernel.blocking, gemm::threads_for(o, cols, k));
            match &tables {
                Some(tables) => {
                    let source = ImplicitColumns::new(xs, tables.for_cols(cols));
                    // SAFETY: the target takes the whole o × cols product, disjoint tiles at once.
                    unsafe {
                        gemm::gemm_to_target(
                            &kernel, blocking, threads, one, w2, &source, cols, &target,
                        )
                    };
                }
                None => {
                    scratch::with_slice(Slot::Conv, k * cols, |col: &mut [F]| {
                        for (b, image) in xs.chunks_exact(c * d.h * d.w).enumerate() {
                            im2col(image, g, d, &mut col[b * plane..], cols);
                        }
                        let col = matrix(col, k, cols);
                        let source = gemm::view_panels(&col);
                        // SAFETY: as above.
                        unsafe {
                            gemm::gemm_to_target(
                                &kernel, blocking, threads, one, w2, &source, cols, &target,
                            )
                        };
                    })
                }
            }
        });
    // SAFETY: the chunks above cover the whole capacity, and each group's product (β = 0)
    // wrote every element of its chunk.
    unsafe { y.set_len(n * o * plane) };
    Array4::from_shape_vec((n, o, d.ho, d.wo), y).expect("length n·o·ho·wo")
}

/// `x̄ = convᵀ(ḡ, w)`: per group, `[x̄[n₀] …] = col2im(Wᵀ · [G[n₀] …])`; groups in parallel.
/// `[G[n₀] …]` is never written out: it is the im2col matrix of the output cotangent under a
/// 1×1 kernel, so the GEMM packs it from `ḡ` like the forward packs its images ([`panels`]).
pub(crate) fn conv2d_input_grad<F: Float>(
    gy: ArrayView4<'_, F>,
    w: ArrayView4<'_, F>,
    g: &Conv2dGeometry,
    d: Dims,
) -> Array4<F> {
    let (n, o, c) = (gy.shape()[0], gy.shape()[1], w.shape()[1]);
    let (k, plane) = (c * d.kh * d.kw, d.plane());
    if n * c * o == 0 {
        return Array4::zeros((n, c, d.h, d.w));
    }
    pool::keep_warm();
    let gy = gy.as_slice().expect("tape values are contiguous");
    #[cfg(target_arch = "x86_64")]
    if direct::applies_to_input_grad::<F>(g, c, o, d) {
        let ws = w.as_slice().expect("tape values are contiguous");
        // SAFETY: `direct::input_grad` writes every one of the n·c·h·w values.
        return unsafe {
            written(Ix4(n, c, d.h, d.w), |x| {
                direct::input_grad(gy, ws, x, [n, c, o], g, d)
            })
        };
    }
    let w2 = w.into_shape_with_order((o, k)).expect("contiguous");
    let kernel = gemm::best_kernel::<F>();
    let group = group_size(n, plane);
    let (one_by_one, planes) = (Conv2dGeometry::new(1, 0, 1), Dims::one_by_one(d.ho, d.wo));
    let tables = GroupTables::new(n, group, |images| {
        PanelTable::shared::<F>(kernel.nr, images * plane, &one_by_one, planes, o)
    });
    let mut x = vec![F::zero(); n * c * d.h * d.w];
    x.par_chunks_mut(group * c * d.h * d.w)
        .zip(gy.par_chunks(group * o * plane))
        .for_each(|(xs, gs)| {
            let cols = gs.len() / o;
            let sides = ImplicitColumns::new(gs, tables.for_cols(cols));
            scratch::with_slice(Slot::Conv, k * cols, |col: &mut [F]| {
                let col2 = matrix_mut(col, k, cols);
                let (one, zero) = (F::one(), F::zero());
                let (blocking, threads) = (kernel.blocking, gemm::threads_for(k, cols, o));
                gemm::gemm_from_panels(&kernel, blocking, threads, one, w2.t(), &sides, zero, col2);
                for (b, image) in xs.chunks_exact_mut(c * d.h * d.w).enumerate() {
                    col2im(&mut col[b * plane..], cols, g, d, image);
                }
            });
        });
    Array4::from_shape_vec((n, c, d.h, d.w), x).expect("length n·c·h·w")
}

/// `w̄ = Σ_n ḡ[n] · col(x[n])ᵀ`: per group, the products of its images accumulated in order
/// into one partial, groups in parallel; then the partials added in group order.
///
/// Each product is computed transposed, `w̄ᵀ += col(x[n]) · ḡ[n]ᵀ`: the same sums in the same
/// order (the bits do not change), but the large operand `col` (`c·kh·kw × ho·wo`, in L2) is
/// now A, which the GEMM reads in place for a layer of few output channels
/// (`gemm::A_IN_PLACE_MAX_PANELS`), and only the small `ḡ[n]` is packed. The other way round,
/// both were packed with a transposing copy, `col` for every image.
pub(crate) fn conv2d_weight_grad<F: Float>(
    x: ArrayView4<'_, F>,
    gy: ArrayView4<'_, F>,
    g: &Conv2dGeometry,
    d: Dims,
) -> Array4<F> {
    let (n, c, o) = (x.shape()[0], x.shape()[1], gy.shape()[1]);
    let (k, plane) = (c * d.kh * d.kw, d.plane());
    if n * c * o == 0 {
        return Array4::zeros((o, c, d.kh, d.kw));
    }
    pool::keep_warm();
    let (x, gy) = (
        x.as_slice().expect("tape values are contiguous"),
        gy.as_slice().expect("tape values are contiguous"),
    );
    let group = group_size(n, plane);
    let (kernel, threads) = (gemm::best_kernel::<F>(), gemm::threads_for(k, o, plane));
    let partials: Vec<Array2<F>> = x
        .par_chunks(group * c * d.h * d.w)
        .zip(gy.par_chunks(group * o * plane))
        .map(|(xs, gs)| {
            // w̄ᵀ of the group, `k × o`.
            let mut partial = Array2::<F>::zeros((k, o));
            scratch::with_slice(Slot::Conv, k * plane, |col: &mut [F]| {
                let images = xs
                    .chunks_exact(c * d.h * d.w)
                    .zip(gs.chunks_exact(o * plane));
                for (b, (image, gn)) in images.enumerate() {
                    im2col(image, g, d, col, plane);
                    let beta = if b == 0 { F::zero() } else { F::one() };
                    let (gn, col) = (matrix(gn, o, plane), matrix(col, k, plane));
                    // Not `gemm`: an entry point, which keeps the pool awake, is called on the
                    // caller's thread only (see the `pool` module).
                    let (one, blocking, out) = (F::one(), kernel.blocking, partial.view_mut());
                    gemm::gemm_with(&kernel, blocking, threads, one, col, gn.t(), beta, out);
                }
            });
            partial
        })
        .collect();
    let mut total = Array2::<F>::zeros((k, o));
    for p in &partials {
        total += p;
    }
    // w̄ = (w̄ᵀ)ᵀ, laid out as `[o, c, kh, kw]`.
    total
        .reversed_axes()
        .as_standard_layout()
        .into_owned()
        .into_shape_with_order((o, c, d.kh, d.kw))
        .expect("contiguous")
}
