//! The forward convolution computed directly, without im2col, for `f32` on AVX-512 at stride 1
//! and no dilation: the path of the many-channel layers ([`applies`]).
//!
//! The GEMM path packs `col(x)` — every input value copied `kh·kw` times — into its panels
//! before the micro-kernel reads them: 15 % of a 32 → 64 channel 3×3 forward's time, on top of
//! a micro-kernel at its peak. Here the micro-kernel reads the (zero-padded) image itself:
//!
//! `y[n, o, p, q] = Σ_c Σ_i Σ_j w[o, c, i, j] · x̃[n, c, p + i, q + j]`,
//!
//! `x̃` the image with `pad_h` zero rows above and below and `pad_w` zero columns on each side.
//! A register block holds 28 accumulators: 16 output channels (one vector of weights) of
//! [`PIXELS`] = 14 consecutive pixels in each of [`ROWS`] = 2 output rows ([`Shape::Tall`]), or
//! 32 channels (two vectors) of 14 pixels in one row ([`Shape::Wide`]). Per `(c, i, j)` it
//! loads the weights `w[o₀.., c, i, j]` (packed contiguously once per call, 16 channels a
//! block) and broadcasts each input value `x̃[c, p + r + i, q₀ + u + j]` it reads into one FMA
//! per weight vector. The results, one vector of 16 channels per pixel, are transposed in
//! registers into each channel's row of pixels and stored. The taps whose input lies in the
//! zero border are skipped ([`Image::edges`]): 9.3 % of the FMAs of a 3 × 3 kernel with
//! padding 1 on 14 × 14 images. With at most one column of padding a side that skips every
//! read of the border, and the blocks read the image where it is, no copy made; with more, they
//! read a zero-padded copy of it (one per image, [`with_padded`]).
//!
//! Which shape runs depends on the core ([`Shape::best`]). The tall block needs one load per
//! FMA (28 broadcasts and a weight vector per 28 FMAs), the wide one 16 per 28. Zen 4 issues
//! one 512-bit FMA per cycle, so the tall block's loads are free: the 32 → 64 forward ran at
//! 204 GFLOP/s on two Zen 4 threads in wide blocks, 211–213 in tall ones computing the border's
//! zero products, 233 skipping them (one thread: 111.8 → 122.7, where the machine's FMA peak is
//! 117: the skipped FMAs count in the nominal `2·n·o·ho·wo·c·kh·kw` FLOP). An Intel core with
//! two 512-bit FMA pipes needs two loads per cycle to feed tall blocks: there the wide ones ran
//! it at 305–312 GFLOP/s against 262–263 (two threads; one thread 156 against 139; the
//! machine's FMA peak, from minute to minute, 422–472 and 217–238).
//!
//! The taps are chosen at run time ([`reduce`]: any kernel, edge and block), but the one-row
//! block of a 3 × 3 kernel, the common case on such a core, runs straight code with its edge
//! skips as constants ([`reduce_3x3_row`]): 70–75 → 77–83 % of the two threads' FMA peak.
//!
//! **Bits.** Every output is one sum over `(c, i, j)` in that order, whatever the block, its
//! shape, the task or thread, so results depend neither on the thread count nor on the shape a
//! CPU gets; they differ from the GEMM path's in the last bits (its sums run over blocks of
//! `k`), as any two summation orders do. A skipped border product is `0 · w`, nothing to add,
//! unless `w` is infinite or NaN: there the GEMM path (and this one, at a border pixel it does
//! not skip) gives NaN and the skip gives the sum of the image's terms — the convolution of the
//! zero-padded image as written above.

use std::any::TypeId;
#[cfg(target_arch = "x86_64")]
use std::arch::x86_64::*;
use std::mem::MaybeUninit;
use std::sync::OnceLock;

use rayon::prelude::*;

use super::Dims;
use crate::float::Float;
use crate::kernels::gemm::Isa;
use crate::ops::Conv2dGeometry;

/// Output channels of one weight vector: 16 `f32` lanes. A register block holds one or two.
const OC_BLOCK: usize = 16;

/// Output pixels of one row of a register block.
const PIXELS: usize = 14;

/// Most output rows of a register block ([`Shape::Tall`]).
const ROWS: usize = 2;

/// The shape of a register block, 28 accumulators either way. Per tap `(c, i, j)` a block
/// loads its weight vectors and broadcasts each input value it reads into the FMAs of all of
/// them; the shapes differ in loads per FMA, which matters on a core that issues two 512-bit
/// FMAs per cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Shape {
    /// 16 channels (one weight vector) × 2 rows of 14 pixels: 1 weight load and 28 broadcasts
    /// (folded into the FMAs as memory operands) per 28 FMAs. On Zen 4, which executes a
    /// 512-bit FMA as two 256-bit halves, one FMA issues per cycle and its one load rides along:
    /// 233 GFLOP/s on two threads for the 32 → 64 forward (`docs/performance.md`).
    Tall,
    /// 32 channels (two weight vectors) × 1 row of 14 pixels: 2 weight loads and 14 broadcasts,
    /// each feeding two FMAs, per 28 FMAs. A core with two full-width 512-bit FMA pipes (Intel's
    /// AVX-512 server cores; Zen 5's desktop and server parts, not measured here) needs two
    /// loads per cycle to feed [`Shape::Tall`], and about one here.
    Wide,
}

impl Shape {
    /// Both shapes, for the tests.
    #[cfg(test)]
    const ALL: [Shape; 2] = [Shape::Tall, Shape::Wide];

    /// [`Shape::Tall`] on Zen 4 (AMD family 19h, the only AVX-512 family that executes its
    /// 512-bit FMAs in two halves), [`Shape::Wide`] on any other CPU (detected once).
    fn best() -> Shape {
        static BEST: OnceLock<Shape> = OnceLock::new();
        *BEST.get_or_init(|| if is_zen4() { Shape::Tall } else { Shape::Wide })
    }

    /// Weight vectors (16 channels each) of a full block.
    fn vectors(self) -> usize {
        match self {
            Shape::Tall => 1,
            Shape::Wide => 2,
        }
    }

    /// Output rows of a full block.
    fn rows(self) -> usize {
        match self {
            Shape::Tall => ROWS,
            Shape::Wide => 1,
        }
    }
}

/// Whether this CPU is an AMD family 19h core (Zen 3 and Zen 4; of the two only Zen 4 has
/// AVX-512, the only case in which [`Shape::best`] asks).
fn is_zen4() -> bool {
    #[cfg(target_arch = "x86_64")]
    {
        // CPUID leaves 0 (the vendor) and 1 (the signature) exist on every x86-64 CPU
        let (vendor, signature) = (__cpuid(0), __cpuid(1));
        let amd = [vendor.ebx, vendor.edx, vendor.ecx] == [0x6874_7541, 0x6974_6e65, 0x444d_4163];
        // the family: base family (bits 8..12) plus extended family (bits 20..28) when base is 15
        let base = (signature.eax >> 8) & 0xf;
        let family = if base == 0xf {
            base + ((signature.eax >> 20) & 0xff)
        } else {
            base
        };
        amd && family == 0x19
    }
    #[cfg(not(target_arch = "x86_64"))]
    false
}

/// Fewest input channels for the direct path. A block's epilogue (per row a 16 × 16 transpose,
/// 64 shuffles, and 16 masked stores) is small beside its `28·c·kh·kw` FMAs once the reduction
/// is long: 4,032 FMAs for 16 channels of a 3×3 kernel. Only the 32 → 64 layer has been
/// measured (`conv_32_64_*` in `docs/performance.md`); below 16 channels (LeNet's layers) the
/// GEMM path stays, as measured there.
const MIN_CHANNELS: usize = 16;

/// Whether [`conv2d`] serves this convolution: `f32`, stride 1, no dilation, at least
/// [`MIN_CHANNELS`] input and [`OC_BLOCK`] output channels, on a CPU whose best GEMM path is
/// AVX-512.
pub(super) fn applies<F: Float>(g: &Conv2dGeometry, c: usize, o: usize) -> bool {
    TypeId::of::<F>() == TypeId::of::<f32>()
        && g.stride == [1, 1]
        && g.dilation == [1, 1]
        && c >= MIN_CHANNELS
        && o >= OC_BLOCK
        && Isa::best() == Isa::Avx512
}

/// `y = conv(x, w)` into the uninitialised `y` (`n·o·ho·wo` values, every one written): images
/// in parallel. `x` is `[n, c, h, w]`, `w` is `[o, c, kh, kw]`, both standard layout.
///
/// # Panics
/// When [`applies`] is false for these arguments.
pub(super) fn conv2d<F: Float>(
    x: &[F],
    w: &[F],
    y: &mut [MaybeUninit<F>],
    [n, c, o]: [usize; 3],
    g: &Conv2dGeometry,
    d: Dims,
) {
    conv2d_with(Shape::best(), x, w, y, [n, c, o], g, d);
}

/// [`conv2d`] in register blocks of the given shape (the same bits whatever the shape: every
/// output is the same sum in the same order).
fn conv2d_with<F: Float>(
    shape: Shape,
    x: &[F],
    w: &[F],
    y: &mut [MaybeUninit<F>],
    [n, c, o]: [usize; 3],
    g: &Conv2dGeometry,
    d: Dims,
) {
    assert!(
        applies::<F>(g, c, o),
        "the direct convolution does not apply"
    );
    assert_eq!(x.len(), n * c * d.h * d.w, "x is [n, c, h, w]");
    assert_eq!(w.len(), o * c * d.kh * d.kw, "w is [o, c, kh, kw]");
    assert_eq!(y.len(), n * o * d.plane(), "y is [n, o, ho, wo]");
    assert_eq!(
        [d.ho, d.wo],
        [
            d.h + 2 * g.padding[0] + 1 - d.kh,
            d.w + 2 * g.padding[1] + 1 - d.kw
        ],
        "the output size of a stride-1 convolution"
    );
    // SAFETY: `applies` checked that `F` is `f32`.
    let (x, w, y) = unsafe {
        (
            std::slice::from_raw_parts(x.as_ptr().cast::<f32>(), x.len()),
            std::slice::from_raw_parts(w.as_ptr().cast::<f32>(), w.len()),
            std::slice::from_raw_parts_mut(y.as_mut_ptr().cast::<MaybeUninit<f32>>(), y.len()),
        )
    };
    let taps = d.kh * d.kw;
    let blocks = o.div_ceil(OC_BLOCK);
    // Blocks of 16 filters taken `shape.vectors()` at a time (the last group may hold fewer).
    let groups = blocks.div_ceil(shape.vectors());
    // Each block of 16 filters is packed by the first thread that needs it; the threads start
    // at groups spread evenly, so that they pack in parallel, each its share, rather than one
    // packing all while the others wait. The order of the groups does not change any result.
    let packed: Vec<OnceLock<Vec<f32>>> = (0..blocks).map(|_| OnceLock::new()).collect();
    // SAFETY (of the packing closure's call): `applies` checked AVX-512F.
    let weights = |b: usize| packed[b].get_or_init(|| unsafe { pack_block(w, o, c * taps, b) });
    let (hp, wp) = (d.h + 2 * g.padding[0], d.w + 2 * g.padding[1]);
    // With at most one column of padding a side the blocks skip exactly the taps that read the
    // zero border ([`Image::edges`]), so they read the image where it is; with more, inner
    // pixels read the border too, and the blocks read a zero-padded copy.
    let in_place = g.padding[1] <= 1;
    y.par_chunks_mut(o * d.plane())
        .zip(x.par_chunks(c * d.h * d.w))
        .for_each(|(yn, xn)| {
            let mut run = |image: &Image<'_>| {
                let first = rayon::current_thread_index().unwrap_or(0) * groups
                    / rayon::current_num_threads();
                for group in (0..groups).map(|k| (k + first) % groups) {
                    let b0 = group * shape.vectors();
                    let vectors = shape.vectors().min(blocks - b0);
                    let filters = [weights(b0).as_ptr(), weights(b0 + vectors - 1).as_ptr()];
                    let out = Out {
                        // SAFETY: block b0's first channel plane lies inside this image's output.
                        y: unsafe { yn.as_mut_ptr().add(b0 * OC_BLOCK * d.plane()) }.cast::<f32>(),
                        plane: d.plane(),
                        ho: d.ho,
                        channels: (vectors * OC_BLOCK).min(o - b0 * OC_BLOCK),
                    };
                    for p in (0..d.ho).step_by(shape.rows()) {
                        let rows = shape.rows().min(d.ho - p);
                        for q0 in (0..d.wo).step_by(PIXELS) {
                            let pixels = PIXELS.min(d.wo - q0);
                            let (at, to) = (p * image.stride + q0, p * d.wo + q0);
                            let edges = image.edges(p, q0, pixels);
                            // SAFETY: `applies` checked AVX-512F; the block reads rows
                            // p..p+rows−1+kh and columns q0..q0+pixels+kw−1 of the padded planes
                            // (inside them since ho = hp − kh + 1 and wo = wp − kw + 1 at stride
                            // 1), of which an image read in place holds the positions it reads,
                            // each of its packed blocks' c·kh·kw vectors, and writes its rows'
                            // pixels q0..q0+pixels of its channels' planes.
                            unsafe {
                                block(
                                    image,
                                    filters,
                                    [at, to],
                                    [vectors, rows, pixels],
                                    &edges,
                                    &out,
                                )
                            };
                        }
                    }
                }
            };
            if in_place {
                let origin = -((g.padding[0] * d.w + g.padding[1]) as isize);
                run(&Image::new(xn, origin, [d.h, d.w], c, d, g.padding));
            } else {
                with_padded(c, [hp, wp], g.padding, |padded| {
                    // SAFETY: `applies` checked AVX-512F.
                    unsafe { copy_interior(xn, padded, [d.h, d.w], [hp, wp], g.padding) };
                    run(&Image::new(padded, 0, [hp, wp], c, d, g.padding));
                });
            }
        });
}

/// Block `b` of the filters `w` (`o` rows of `k = c·kh·kw` values) as [`block`] reads them:
/// `packed[t][l] = w[16·b + l, t]` for `t < k`, zero for the channels `16·b + l ≥ o`. Each
/// 16 × 16 tile goes through the registers ([`transpose16`]).
#[target_feature(enable = "avx512f")]
fn pack_block(w: &[f32], o: usize, k: usize, b: usize) -> Vec<f32> {
    assert!(
        w.len() == o * k && b * OC_BLOCK < o,
        "w is [o, k], b one of its blocks"
    );
    let mut packed = Vec::with_capacity(k * OC_BLOCK);
    let dst = packed.spare_capacity_mut().as_mut_ptr().cast::<f32>();
    let filters = &w[b * OC_BLOCK * k..][..(o - b * OC_BLOCK).min(OC_BLOCK) * k];
    for t0 in (0..k).step_by(OC_BLOCK) {
        let width = OC_BLOCK.min(k - t0);
        let mask = lanes(width);
        let mut rows = [_mm512_setzero_ps(); OC_BLOCK];
        for (row, filter) in rows.iter_mut().zip(filters.chunks_exact(k)) {
            // SAFETY: filter[t0..t0 + width] lies inside the filter.
            *row = unsafe { _mm512_maskz_loadu_ps(mask, filter.as_ptr().add(t0)) };
        }
        for (j, column) in transpose16(rows).iter().take(width).enumerate() {
            // SAFETY: (t0 + j)·16 + 16 ≤ k·16, the capacity.
            unsafe { _mm512_storeu_ps(dst.add((t0 + j) * OC_BLOCK), *column) };
        }
    }
    // SAFETY: the loop stored every one of the k columns' 16 values.
    unsafe { packed.set_len(k * OC_BLOCK) };
    packed
}

/// The mask of the first `n ≤ 16` lanes.
fn lanes(n: usize) -> __mmask16 {
    debug_assert!(n <= OC_BLOCK);
    ((1u32 << n) - 1) as __mmask16
}

/// Copies the `c` planes of `x` (`h × w` each) into the interiors of the `hp × wp` planes of
/// `padded`, `pad` rows and columns in; the border is not touched (it stays zero from the
/// buffer's creation, [`with_padded`]). Each row moves in masked
/// 16-lane loads and stores (a 14-value row is one of each, where `copy_from_slice` called
/// `memmove`).
#[target_feature(enable = "avx512f")]
fn copy_interior(
    x: &[f32],
    padded: &mut [f32],
    [h, w]: [usize; 2],
    [hp, wp]: [usize; 2],
    pad: [usize; 2],
) {
    assert!(
        h + 2 * pad[0] == hp && w + 2 * pad[1] == wp,
        "the padded sizes"
    );
    assert_eq!(x.len() / (h * w) * hp * wp, padded.len(), "as many planes");
    for (dst, src) in padded.chunks_exact_mut(hp * wp).zip(x.chunks_exact(h * w)) {
        for (r, row) in src.chunks_exact(w).enumerate() {
            let to = &mut dst[(r + pad[0]) * wp + pad[1]..][..w];
            for (d, s) in to.chunks_mut(OC_BLOCK).zip(row.chunks(OC_BLOCK)) {
                let mask = lanes(s.len());
                // SAFETY: the mask covers s.len() = d.len() values of each.
                unsafe {
                    _mm512_mask_storeu_ps(
                        d.as_mut_ptr(),
                        mask,
                        _mm512_maskz_loadu_ps(mask, s.as_ptr()),
                    );
                }
            }
        }
    }
}

/// Runs `f` on this thread's buffer for `c` zero-padded planes of `hp × wp` with `pad` zero rows
/// and columns: zeroed when it is made for a new shape, and kept for the shape (a training step
/// calls the kernel with the same few shapes every time: a layer's forward and its input
/// gradient; the last [`PADDED_SHAPES`] shapes are kept). Callers write only the interior of
/// each plane, so the padding stays zero.
fn with_padded<R>(
    c: usize,
    [hp, wp]: [usize; 2],
    pad: [usize; 2],
    f: impl FnOnce(&mut [f32]) -> R,
) -> R {
    type Buffers = Vec<([usize; 5], Vec<f32>)>;
    thread_local! {
        static PADDED: std::cell::RefCell<Buffers> = const { std::cell::RefCell::new(Vec::new()) };
    }
    PADDED.with(|cell| {
        let mut buffers = cell.borrow_mut();
        let shape = [c, hp, wp, pad[0], pad[1]];
        let at = match buffers.iter().position(|(s, _)| *s == shape) {
            Some(at) => at,
            None => {
                if buffers.len() == PADDED_SHAPES {
                    buffers.remove(0);
                }
                buffers.push((shape, vec![0.0; c * hp * wp]));
                buffers.len() - 1
            }
        };
        f(&mut buffers[at].1)
    })
}

/// How many shapes of padded buffers a thread keeps ([`with_padded`]).
const PADDED_SHAPES: usize = 4;

/// Whether [`input_grad`] serves the input gradient of this convolution (`c` input and `o`
/// output channels): the forward of [`conv2d`] with the roles of `c` and `o` exchanged applies,
/// and the padding is at most `kh − 1`, `kw − 1` (so that `ḡ` needs no cropping).
pub(super) fn applies_to_input_grad<F: Float>(
    g: &Conv2dGeometry,
    c: usize,
    o: usize,
    d: Dims,
) -> bool {
    applies::<F>(g, o, c) && g.padding[0] < d.kh && g.padding[1] < d.kw
}

/// `x̄ = convᵀ(ḡ, w)` into the uninitialised `x̄` (`n·c·h·w` values) for the convolution of
/// geometry `g` and sizes `d`: at stride 1 and no dilation the transpose is itself a
/// convolution, of `ḡ` padded by `kh − 1 − pad_h`, `kw − 1 − pad_w`, with the filters
/// exchanged and turned by 180°, `w'[c, o, i, j] = w[o, c, kh − 1 − i, kw − 1 − j]`:
///
/// `x̄[n, c, a, e] = Σ_o Σ_{p, q} ḡ[n, o, p, q] · w[o, c, a + pad_h − p, e + pad_w − q]`
/// `= Σ_o Σ_{i, j} w'[c, o, i, j] · ḡ̃[n, o, a + i, e + j]`, `ḡ̃` the padded `ḡ`.
///
/// # Panics
/// When [`applies_to_input_grad`] is false for these arguments.
pub(super) fn input_grad<F: Float>(
    gy: &[F],
    w: &[F],
    x: &mut [MaybeUninit<F>],
    [n, c, o]: [usize; 3],
    g: &Conv2dGeometry,
    d: Dims,
) {
    input_grad_with(Shape::best(), gy, w, x, [n, c, o], g, d);
}

/// [`input_grad`] in register blocks of the given shape.
fn input_grad_with<F: Float>(
    shape: Shape,
    gy: &[F],
    w: &[F],
    x: &mut [MaybeUninit<F>],
    [n, c, o]: [usize; 3],
    g: &Conv2dGeometry,
    d: Dims,
) {
    assert!(
        applies_to_input_grad::<F>(g, c, o, d),
        "the direct input gradient does not apply"
    );
    let taps = d.kh * d.kw;
    let mut turned = vec![F::zero(); c * o * taps];
    for (oc, filters) in w.chunks_exact(c * taps).enumerate() {
        for (ic, filter) in filters.chunks_exact(taps).enumerate() {
            for (t, &v) in filter.iter().enumerate() {
                turned[(ic * o + oc) * taps + (taps - 1 - t)] = v;
            }
        }
    }
    let transposed = Conv2dGeometry {
        stride: [1, 1],
        padding: [d.kh - 1 - g.padding[0], d.kw - 1 - g.padding[1]],
        dilation: [1, 1],
    };
    let sizes = Dims {
        h: d.ho,
        w: d.wo,
        kh: d.kh,
        kw: d.kw,
        ho: d.h,
        wo: d.w,
    };
    conv2d_with(shape, gy, &turned, x, [n, o, c], &transposed, sizes);
}

/// One image of `c` planes, `plane` values apart, rows `stride` apart, as the blocks address
/// it: in padded coordinates (the `h × w` image `pad` rows and columns in), position
/// `(row, col)` of plane `ch` at `origin + ch·plane + row·stride + col` of `x`. Either a
/// zero-padded copy (`origin` 0, [`with_padded`]) or the image itself (`stride = w`,
/// `origin = −(pad_h·w + pad_w)`), where a border position has no address but is never read
/// ([`Image::edges`], with at most one column of padding a side).
struct Image<'a> {
    x: &'a [f32],
    origin: isize,
    plane: usize,
    stride: usize,
    c: usize,
    kh: usize,
    kw: usize,
    pad: [usize; 2],
    h: usize,
    w: usize,
}

impl<'a> Image<'a> {
    /// `c` planes of `rows × stride` values from `x` on, at `origin`, of the convolution of
    /// sizes `d` and padding `pad`.
    fn new(
        x: &'a [f32],
        origin: isize,
        [rows, stride]: [usize; 2],
        c: usize,
        d: Dims,
        pad: [usize; 2],
    ) -> Self {
        Image {
            x,
            origin,
            plane: rows * stride,
            stride,
            c,
            kh: d.kh,
            kw: d.kw,
            pad,
            h: d.h,
            w: d.w,
        }
    }

    /// Where plane `ch`'s position `at` (padded coordinates) would lie: wrapping, since the
    /// border positions of an image read in place have no address (they are skipped); every
    /// position the blocks read lies in `x`.
    fn plane_at(&self, ch: usize, at: usize) -> *const f32 {
        self.x
            .as_ptr()
            .wrapping_offset(self.origin)
            .wrapping_add(ch * self.plane + at)
    }

    /// Which taps of the block at output row `p`, pixel `q0` read the zero border, so that
    /// [`block_of`] skips their FMAs: the products there are `0 · w`, adding nothing (for a
    /// 3 × 3 kernel with padding 1 on a 14 × 14 image, 164 of the 1,764 taps of an output
    /// plane, 9.3 % of the FMAs).
    ///
    /// Output row `p + r` reads padded rows `p + r + i`, the image's rows for
    /// `pad_h ≤ p + r + i < pad_h + h`: the taps `i` of [`Edges::rows`]. At tap `j` pixel `u`
    /// reads padded column `q0 + u + j`: the first pixel reads the border while
    /// `j < pad_w − q0` ([`Edges::lead`]), the last (`u = pixels − 1`) from
    /// `j ≥ pad_w + w − q0 − pixels + 1` on ([`Edges::trail`]). Only those two pixels are
    /// skipped: with at most one column of padding a side no other pixel reads the border, so
    /// the skipped taps are exactly those that read it; with more, a pixel further in that
    /// reads the border is computed, its products zero (the blocks then read a zero-padded
    /// copy).
    fn edges(&self, p: usize, q0: usize, pixels: usize) -> Edges {
        let rows = std::array::from_fn(|r| {
            let first = self.pad[0].saturating_sub(p + r);
            let end = (self.pad[0] + self.h).saturating_sub(p + r).min(self.kh);
            [first, end.max(first)]
        });
        Edges {
            rows,
            lead: self.pad[1].saturating_sub(q0),
            trail: (self.pad[1] + self.w).saturating_sub(q0 + pixels - 1),
        }
    }
}

/// The taps of one register block that read the image rather than its zero border
/// ([`Image::edges`]).
struct Edges {
    /// Per row `r` of the block, the taps `i` in `rows[r][0]..rows[r][1]`.
    rows: [[usize; 2]; ROWS],
    /// The block's first pixel skips the taps `j < lead`.
    lead: usize,
    /// The block's last pixel skips the taps `j ≥ trail`.
    trail: usize,
}

/// Where a block's results go: `channels ≤ 32` planes of `plane = ho·wo` values from `y` on (its
/// channels in one image's `[o, ho, wo]` output).
struct Out {
    y: *mut f32,
    plane: usize,
    ho: usize,
    channels: usize,
}

/// One register block: `vectors ≤ 2` weight vectors (`filters[v]`, a packed block of
/// [`pack_block`]; both the same when `vectors = 1`) of `rows` output rows (2 for one vector,
/// 1 for two: [`Shape`]) of `pixels ≤ 14` pixels each, reading offset `at` of every padded
/// plane on (row `r` at `at + r·stride`, [`Image`]), writing offset `to` of every output plane
/// on (row `r` at `to + r·wo`, `wo = plane / ho`).
///
/// # Safety
/// The CPU must support AVX-512F; every position the block reads (rows `at / stride + r + i`,
/// columns `at % stride + u + j` of the padded planes, but the taps [`Edges`] skips) must lie in
/// `image.x`; each `filters[v]` must hold `c·kh·kw` vectors, and the block must write inside the
/// output planes.
#[target_feature(enable = "avx512f")]
unsafe fn block(
    image: &Image<'_>,
    filters: [*const f32; 2],
    [at, to]: [usize; 2],
    [vectors, rows, pixels]: [usize; 3],
    edges: &Edges,
    out: &Out,
) {
    // constant counts per instance, so that the accumulators stay in registers
    macro_rules! dispatch {
        ($($u:literal)*) => {
            match (vectors, rows, pixels) {
                $((1, 2, $u) => unsafe { block_of::<1, 2, $u>(image, filters, at, edges, out, to) },)*
                $((1, 1, $u) => unsafe { block_of::<1, 1, $u>(image, filters, at, edges, out, to) },)*
                $((2, 1, $u) => unsafe { block_of::<2, 1, $u>(image, filters, at, edges, out, to) },)*
                _ => unreachable!(
                    "a Shape's block: 1 vector of ≤ {ROWS} rows or 2 of 1 row, 1 ≤ pixels ≤ {PIXELS}"
                ),
            }
        };
    }
    dispatch!(1 2 3 4 5 6 7 8 9 10 11 12 13 14);
}

/// [`block`] for `V` weight vectors, `R` rows of `U` pixels: the sums of [`reduce`] (or, for a
/// full one-row block of a 3 × 3 kernel, of [`reduce_3x3_row`]: the same sums in the same order)
/// and their stores. Each row's accumulators hold a pixel's 16 channels per vector; a 16 × 16
/// transpose in registers turns them into each channel's `U` pixels, one masked store a channel.
///
/// # Safety
/// As for [`block`].
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop)]
unsafe fn block_of<const V: usize, const R: usize, const U: usize>(
    image: &Image<'_>,
    filters: [*const f32; 2],
    at: usize,
    edges: &Edges,
    out: &Out,
    to: usize,
) {
    let straight = R == 1 && U == PIXELS && image.kw == 3 && edges.lead <= 1 && edges.trail >= 2;
    // SAFETY (of the calls): as for this function; `reduce_3x3_row` is called for one-row
    // blocks of a 3-tap-wide kernel whose first pixel skips at most its first tap and whose
    // last pixel at most its last, as its flags say.
    let acc: [[[__m512; V]; U]; R] = if straight {
        let taps_i = edges.rows[0][0]..edges.rows[0][1];
        let row = match (edges.lead == 1, edges.trail == 2) {
            (true, true) => unsafe {
                reduce_3x3_row::<V, U, true, true>(image, filters, at, taps_i)
            },
            (true, false) => unsafe {
                reduce_3x3_row::<V, U, true, false>(image, filters, at, taps_i)
            },
            (false, true) => unsafe {
                reduce_3x3_row::<V, U, false, true>(image, filters, at, taps_i)
            },
            (false, false) => unsafe {
                reduce_3x3_row::<V, U, false, false>(image, filters, at, taps_i)
            },
        };
        std::array::from_fn(|_| row)
    } else {
        unsafe { reduce::<V, R, U>(image, filters, at, edges) }
    };
    let mask: __mmask16 = (1 << U) - 1;
    let wo = out.plane / out.ho;
    for r in 0..R {
        for v in 0..V {
            let mut pixels = [_mm512_setzero_ps(); 16];
            for u in 0..U {
                pixels[u] = acc[r][u][v];
            }
            let channels = transpose16(pixels);
            for l in 0..OC_BLOCK.min(out.channels.saturating_sub(v * OC_BLOCK)) {
                let dst = out.y.add((v * OC_BLOCK + l) * out.plane + to + r * wo);
                _mm512_mask_storeu_ps(dst, mask, channels[l]);
            }
        }
    }
}

/// The FMAs of one tap on one output row, the step both [`reduce`] and [`reduce_3x3_row`] are
/// made of: for each pixel `u` in `first..end`, the input value `row[u]` broadcast into one FMA
/// per weight vector, `acc[u][v] += row[u] · w[v]` (`v < V`, the caller's count of weight
/// vectors).
macro_rules! row_fmas {
    ($acc:expr, $row:expr, $w:expr, $first:expr, $end:expr) => {{
        let row: *const f32 = $row;
        for u in $first..$end {
            let x = _mm512_set1_ps(*row.wrapping_add(u));
            for v in 0..V {
                $acc[u][v] = _mm512_fmadd_ps(x, $w[v], $acc[u][v]);
            }
        }
    }};
}

/// The accumulators of [`block_of`]: per row `r`, pixel `u` and weight vector `v`, the sum over
/// `(c, i, j)` in that order of `w[16·v + ·, c, i, j] · x̃[c, p + r + i, q₀ + u + j]`. Per tap:
/// one load of each vector's 16 weights, then per pixel its input value broadcast into one FMA
/// per vector (with one vector the compiler folds the broadcast into the FMA's memory operand;
/// with two it broadcasts once into a register); the taps that read the zero border are skipped
/// ([`Image::edges`]). Any kernel width, edges and rows, the widths and skips known only at run
/// time: each tap is a loop iteration that chooses its pixels.
///
/// # Safety
/// As for [`block`].
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop)]
unsafe fn reduce<const V: usize, const R: usize, const U: usize>(
    image: &Image<'_>,
    filters: [*const f32; 2],
    at: usize,
    edges: &Edges,
) -> [[[__m512; V]; U]; R] {
    let mut acc = [[[_mm512_setzero_ps(); V]; U]; R];
    // the FMAs of one tap (i, j) on the rows `live`, pixels `first..end` of each
    macro_rules! tap {
        ($first:expr, $end:expr, $row:expr, $w:expr, $live:expr) => {
            for r in 0..R {
                if $live[r] {
                    row_fmas!(
                        acc[r],
                        $row.wrapping_add(r * image.stride),
                        $w,
                        $first,
                        $end
                    );
                }
            }
        };
    }
    let taps_i = edges.rows[..R].iter().map(|t| t[0]).min().unwrap_or(0)
        ..edges.rows[..R].iter().map(|t| t[1]).max().unwrap_or(0);
    let taps = image.kh * image.kw;
    for ch in 0..image.c {
        let plane = image.plane_at(ch, at);
        for i in taps_i.clone() {
            let live: [bool; R] =
                std::array::from_fn(|r| (edges.rows[r][0]..edges.rows[r][1]).contains(&i));
            let row = plane.wrapping_add(i * image.stride);
            let tap0 = (ch * taps + i * image.kw) * OC_BLOCK;
            for j in 0..image.kw {
                let w: [__m512; V] =
                    std::array::from_fn(|v| _mm512_loadu_ps(filters[v].add(tap0 + j * OC_BLOCK)));
                let row = row.wrapping_add(j);
                match (j < edges.lead, j >= edges.trail) {
                    (false, false) => tap!(0, U, row, w, live),
                    (true, false) => tap!(1, U, row, w, live),
                    (false, true) => tap!(0, U - 1, row, w, live),
                    (true, true) => tap!(1, U - 1, row, w, live),
                }
            }
        }
    }
    acc
}

/// [`reduce`] for one row of `U` pixels of a kernel 3 taps wide, the taps `i` in `taps_i`, the
/// first pixel skipping tap `j = 0` when `SKIP_FIRST`, the last tap `j = 2` when `SKIP_LAST`:
/// the same sums in the same order, in straight code. Each `(c, i)` is one loop iteration of
/// `3·V·U` FMAs (less the skipped ones) with constant pixel ranges, where [`reduce`]'s runtime
/// widths and skips give a loop, a choice of pixels and their branches per tap: on a core with
/// two 512-bit FMA pipes those scalar and branch instructions take FMA issue slots: the
/// 32 → 64 forward ran at 264–275 GFLOP/s through [`reduce`] and 294–318 here, 70–75 % and
/// 77–83 % of the two threads' FMA peak (four alternated pairs, `docs/performance.md`).
///
/// The taps' input rows pass through [`opaque`]: the value tap `j` broadcasts for pixel `u` is
/// the one tap `j + 1` broadcasts for pixel `u − 1`, and with the three taps in one block of
/// code the compiler keeps each broadcast in a register from one tap to the next, which needs
/// more registers than the 28 accumulators leave: the accumulators then went to the stack, and
/// the forward ran at 87–98 GFLOP/s on one thread against 154–157.
///
/// # Safety
/// As for [`block`], with `image.kw = 3`, a one-row block, and the flags those of its
/// [`Edges`] (`lead = SKIP_FIRST as usize`, `trail = 3 − SKIP_LAST as usize`).
#[target_feature(enable = "avx512f")]
#[allow(clippy::needless_range_loop)]
unsafe fn reduce_3x3_row<
    const V: usize,
    const U: usize,
    const SKIP_FIRST: bool,
    const SKIP_LAST: bool,
>(
    image: &Image<'_>,
    filters: [*const f32; 2],
    at: usize,
    taps_i: std::ops::Range<usize>,
) -> [[__m512; V]; U] {
    debug_assert_eq!(image.kw, 3);
    let mut acc = [[_mm512_setzero_ps(); V]; U];
    for ch in 0..image.c {
        let plane = image.plane_at(ch, at);
        for i in taps_i.clone() {
            let row = plane.wrapping_add(i * image.stride);
            let tap0 = (ch * image.kh + i) * 3 * OC_BLOCK;
            // the FMAs of tap j on pixels first..end
            macro_rules! tap {
                ($j:literal, $first:expr, $end:expr) => {{
                    let w: [__m512; V] = std::array::from_fn(|v| {
                        _mm512_loadu_ps(filters[v].add(tap0 + $j * OC_BLOCK))
                    });
                    row_fmas!(acc, opaque(row.wrapping_add($j)), w, $first, $end);
                }};
            }
            tap!(0, usize::from(SKIP_FIRST), U);
            tap!(1, 0, U);
            tap!(2, 0, U - usize::from(SKIP_LAST));
        }
    }
    acc
}

/// `p` itself, through a register the compiler cannot see into: it no longer knows that two
/// such pointers are related, so it cannot merge the loads made through them
/// ([`reduce_3x3_row`]). The empty assembly emits no instruction.
#[inline(always)]
#[allow(clippy::pointers_in_nomem_asm_block)] // the pointer passes through, never dereferenced
fn opaque(mut p: *const f32) -> *const f32 {
    // SAFETY: an empty template; it reads no memory and leaves `p` and the flags as they are.
    unsafe {
        std::arch::asm!("/* {0} */", inout(reg) p, options(pure, nomem, nostack, preserves_flags));
    }
    p
}

/// The transpose of a 16 × 16 block held as 16 rows: `out[j]` lane `i` = `rows[i]` lane `j`.
/// Four rounds of in-register shuffles (32-bit pairs, 64-bit pairs, then 128-bit quarters twice),
/// 64 instructions where moving the 256 values through memory takes 512.
#[target_feature(enable = "avx512f")]
#[inline]
fn transpose16(r: [__m512; 16]) -> [__m512; 16] {
    // rows (2k, 2k+1) interleaved by 32-bit elements
    let mut t = [_mm512_setzero_ps(); 16];
    for k in 0..8 {
        t[2 * k] = _mm512_unpacklo_ps(r[2 * k], r[2 * k + 1]);
        t[2 * k + 1] = _mm512_unpackhi_ps(r[2 * k], r[2 * k + 1]);
    }
    // then by 64-bit pairs: each 128-bit quarter of u[4g + m] holds column 4q + m of rows 4g..4g+4
    let mut u = [_mm512_setzero_ps(); 16];
    for g in 0..4 {
        let (a, b, c, d) = (t[4 * g], t[4 * g + 1], t[4 * g + 2], t[4 * g + 3]);
        let pd = _mm512_castps_pd;
        u[4 * g] = _mm512_castpd_ps(_mm512_unpacklo_pd(pd(a), pd(c)));
        u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(pd(a), pd(c)));
        u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(pd(b), pd(d)));
        u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(pd(b), pd(d)));
    }
    // quarters: gather quarter q of the four groups into one vector, in two rounds
    let mut v = [_mm512_setzero_ps(); 16];
    for m in 0..4 {
        v[m] = _mm512_shuffle_f32x4::<0x88>(u[m], u[4 + m]);
        v[4 + m] = _mm512_shuffle_f32x4::<0xdd>(u[m], u[4 + m]);
        v[8 + m] = _mm512_shuffle_f32x4::<0x88>(u[8 + m], u[12 + m]);
        v[12 + m] = _mm512_shuffle_f32x4::<0xdd>(u[8 + m], u[12 + m]);
    }
    let mut out = [_mm512_setzero_ps(); 16];
    for m in 0..4 {
        out[m] = _mm512_shuffle_f32x4::<0x88>(v[m], v[8 + m]);
        out[8 + m] = _mm512_shuffle_f32x4::<0xdd>(v[m], v[8 + m]);
        out[4 + m] = _mm512_shuffle_f32x4::<0x88>(v[4 + m], v[12 + m]);
        out[12 + m] = _mm512_shuffle_f32x4::<0xdd>(v[4 + m], v[12 + m]);
    }
    out
}

#[cfg(test)]
mod tests {
    //! The direct kernels, in both block shapes, against index-by-index `f64` loops, within the
    //! rounding bound of an `f32` sum, on geometries that cover partial pixel and channel blocks,
    //! kernels of 1, 3 and 5 taps a side, and padding from none to `kh − 1`; and the same bits
    //! at any thread count and in either shape.
    use std::mem::MaybeUninit;

    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};

    use super::{applies, applies_to_input_grad, conv2d_with, input_grad_with, transpose16, Shape};
    use crate::kernels::conv::Dims;
    use crate::ops::Conv2dGeometry;

    /// `[n, c, o, h, w, k, pad]`: the first, sixth and seventh with a border on both sides of a
    /// row of one, three or two pixel blocks (a full block of a 3 × 3 kernel takes
    /// [`super::reduce_3x3_row`]; these rows give it each of its four edge skips: both pixels
    /// in a one-block row, the first or the last in a two-block row, neither in the middle of
    /// three), and the last a border wider than the kernel (rows and columns of outputs that
    /// read only zeros; its input gradient takes the GEMM path).
    const CASES: [[usize; 7]; 8] = [
        [2, 32, 64, 14, 14, 3, 1],
        [1, 17, 40, 9, 20, 3, 0],
        [2, 16, 33, 7, 5, 5, 2],
        [1, 40, 48, 6, 31, 1, 0],
        [3, 33, 32, 4, 4, 3, 2],
        [1, 16, 16, 3, 30, 3, 1],
        [1, 16, 32, 5, 28, 3, 1],
        [1, 16, 17, 2, 3, 3, 4],
    ];

    struct Case {
        n: usize,
        c: usize,
        o: usize,
        g: Conv2dGeometry,
        d: Dims,
    }

    fn case([n, c, o, h, w, k, pad]: [usize; 7]) -> Case {
        let g = Conv2dGeometry {
            stride: [1, 1],
            padding: [pad, pad],
            dilation: [1, 1],
        };
        let (ho, wo) = (h + 2 * pad + 1 - k, w + 2 * pad + 1 - k);
        let d = Dims {
            h,
            w,
            kh: k,
            kw: k,
            ho,
            wo,
        };
        Case { n, c, o, g, d }
    }

    fn random(len: usize, rng: &mut StdRng) -> Vec<f32> {
        (0..len).map(|_| rng.gen_range(-1.0f32..1.0)).collect()
    }

    /// NaNs on either side of the data of [`Guarded::data`]: an image read in place whose
    /// border skip missed a tap would read one (before the first image or after the last) or a
    /// neighbouring image's value, and either shows in the comparison with the `f64` loops.
    struct Guarded(Vec<f32>);

    const GUARD: usize = 4096;

    impl Guarded {
        fn new(data: &[f32]) -> Self {
            let nan = [f32::NAN; GUARD];
            Guarded([&nan[..], data, &nan[..]].concat())
        }

        fn data(&self) -> &[f32] {
            &self.0[GUARD..self.0.len() - GUARD]
        }
    }

    /// `(Σ_t a_t b_t, Σ_t |a_t b_t|)` of the forward at one output, in `f64`.
    fn forward_at(t: &Case, x: &[f32], w: &[f32], [b, oc, p, q]: [usize; 4]) -> (f64, f64) {
        let (d, pad) = (t.d, t.g.padding);
        let (mut sum, mut abs) = (0.0, 0.0);
        for ic in 0..t.c {
            for i in 0..d.kh {
                for j in 0..d.kw {
                    let (a, e) = (
                        (p + i) as isize - pad[0] as isize,
                        (q + j) as isize - pad[1] as isize,
                    );
                    if a < 0 || e < 0 || a >= d.h as isize || e >= d.w as isize {
                        continue;
                    }
                    let xv = x[((b * t.c + ic) * d.h + a as usize) * d.w + e as usize] as f64;
                    let wv = w[((oc * t.c + ic) * d.kh + i) * d.kw + j] as f64;
                    sum += xv * wv;
                    abs += (xv * wv).abs();
                }
            }
        }
        (sum, abs)
    }

    /// The rounding bound of a sum of `terms` `f32` products accumulated in `f32` (each product
    /// exact in an FMA, each addition rounded): `terms · 2⁻²⁴ · Σ|aᵢbᵢ|`.
    fn bound(terms: usize, abs: f64) -> f64 {
        terms as f64 * f64::from(f32::EPSILON) / 2.0 * abs
    }

    fn bits(v: &[f32]) -> Vec<u32> {
        v.iter().map(|e| e.to_bits()).collect()
    }

    fn run(out_len: usize, f: impl FnOnce(&mut [MaybeUninit<f32>])) -> Vec<f32> {
        let mut y: Vec<f32> = Vec::with_capacity(out_len);
        f(&mut y.spare_capacity_mut()[..out_len]);
        // SAFETY: the kernels write every value (what the comparisons below then check).
        unsafe { y.set_len(out_len) };
        y
    }

    #[test]
    fn the_direct_kernels_match_the_f64_loops() {
        if !applies::<f32>(&case(CASES[0]).g, 16, 32) {
            eprintln!("SKIPPED: no AVX-512 on this CPU, the direct kernels do not run here");
            return;
        }
        let mut rng = StdRng::seed_from_u64(3);
        let mut input_grads = 0;
        for spec in CASES {
            let t = case(spec);
            let d = t.d;
            let x = random(t.n * t.c * d.h * d.w, &mut rng);
            let w = random(t.o * t.c * d.kh * d.kw, &mut rng);
            let guarded = Guarded::new(&x);
            let ys = Shape::ALL.map(|shape| {
                run(t.n * t.o * d.ho * d.wo, |y| {
                    conv2d_with(shape, guarded.data(), &w, y, [t.n, t.c, t.o], &t.g, d)
                })
            });
            assert_eq!(bits(&ys[0]), bits(&ys[1]), "{spec:?}: y, Tall vs Wide");
            let y = &ys[0];
            let terms = t.c * d.kh * d.kw;
            for (idx, &got) in y.iter().enumerate() {
                let (q, p) = (idx % d.wo, idx / d.wo % d.ho);
                let (oc, b) = (idx / (d.wo * d.ho) % t.o, idx / (d.wo * d.ho * t.o));
                let (want, abs) = forward_at(&t, &x, &w, [b, oc, p, q]);
                let err = (f64::from(got) - want).abs();
                assert!(
                    err <= bound(terms, abs),
                    "{spec:?} y[{b}, {oc}, {p}, {q}]: {got} vs {want}"
                );
            }
            if !applies_to_input_grad::<f32>(&t.g, t.c, t.o, d) {
                continue;
            }
            // x̄ against ⟨ḡ, ∂y/∂x⟩ summed by hand: x̄[b, c, a, e] = Σ_{o, p, q} ḡ[b, o, p, q]·w[o, c, i, j]
            let gy = random(t.n * t.o * d.ho * d.wo, &mut rng);
            let guarded = Guarded::new(&gy);
            let gxs = Shape::ALL.map(|shape| {
                run(t.n * t.c * d.h * d.w, |x| {
                    input_grad_with(shape, guarded.data(), &w, x, [t.n, t.c, t.o], &t.g, d)
                })
            });
            assert_eq!(bits(&gxs[0]), bits(&gxs[1]), "{spec:?}: x̄, Tall vs Wide");
            let gx = &gxs[0];
            let mut want = vec![(0.0f64, 0.0f64); gx.len()];
            for (idx, &gv) in gy.iter().enumerate() {
                let (q, p) = (idx % d.wo, idx / d.wo % d.ho);
                let (oc, b) = (idx / (d.wo * d.ho) % t.o, idx / (d.wo * d.ho * t.o));
                for ic in 0..t.c {
                    for i in 0..d.kh {
                        for j in 0..d.kw {
                            let (a, e) = (
                                (p + i) as isize - t.g.padding[0] as isize,
                                (q + j) as isize - t.g.padding[1] as isize,
                            );
                            if a < 0 || e < 0 || a >= d.h as isize || e >= d.w as isize {
                                continue;
                            }
                            let at = ((b * t.c + ic) * d.h + a as usize) * d.w + e as usize;
                            let term = f64::from(gv)
                                * f64::from(w[((oc * t.c + ic) * d.kh + i) * d.kw + j]);
                            want[at].0 += term;
                            want[at].1 += term.abs();
                        }
                    }
                }
            }
            let terms = t.o * d.kh * d.kw;
            for (at, (&got, &(sum, abs))) in gx.iter().zip(&want).enumerate() {
                let err = (f64::from(got) - sum).abs();
                assert!(err <= bound(terms, abs), "{spec:?} x̄[{at}]: {got} vs {sum}");
            }
            input_grads += 1;
        }
        assert_eq!(
            input_grads,
            CASES.iter().filter(|[.., k, pad]| pad < k).count(),
            "every case has 16 channels or more on each side; the input gradient applies \
             wherever the padding is under the kernel's size"
        );
    }

    #[test]
    fn transpose16_transposes() {
        if !std::is_x86_feature_detected!("avx512f") {
            eprintln!("SKIPPED: no AVX-512 on this CPU");
            return;
        }
        let m: Vec<f32> = (0..256).map(|v| v as f32).collect();
        // SAFETY: AVX-512F checked above; each load reads 16 of the 256 values.
        let out = unsafe {
            let rows =
                std::array::from_fn(|i| std::arch::x86_64::_mm512_loadu_ps(m[16 * i..].as_ptr()));
            transpose16(rows)
        };
        for (j, column) in out.iter().enumerate() {
            let mut lanes = [0f32; 16];
            // SAFETY: as above, 16 values stored.
            unsafe { std::arch::x86_64::_mm512_storeu_ps(lanes.as_mut_ptr(), *column) };
            let want: Vec<f32> = (0..16).map(|i| m[16 * i + j]).collect();
            assert_eq!(lanes.to_vec(), want, "column {j}");
        }
    }

    #[test]
    fn the_direct_kernels_give_the_same_bits_at_any_thread_count() {
        let t = case(CASES[0]);
        if !applies::<f32>(&t.g, t.c, t.o) {
            eprintln!("SKIPPED: no AVX-512 on this CPU, the direct kernels do not run here");
            return;
        }
        let d = t.d;
        let mut rng = StdRng::seed_from_u64(5);
        let x = random(t.n * t.c * d.h * d.w, &mut rng);
        let w = random(t.o * t.c * d.kh * d.kw, &mut rng);
        let gy = random(t.n * t.o * d.ho * d.wo, &mut rng);
        let both = |threads: usize| {
            let pool = rayon::ThreadPoolBuilder::new()
                .num_threads(threads)
                .build()
                .unwrap();
            pool.install(|| {
                Shape::ALL.map(|shape| {
                    let y = run(t.n * t.o * d.ho * d.wo, |y| {
                        conv2d_with(shape, &x, &w, y, [t.n, t.c, t.o], &t.g, d)
                    });
                    let gx = run(t.n * t.c * d.h * d.w, |x| {
                        input_grad_with(shape, &gy, &w, x, [t.n, t.c, t.o], &t.g, d)
                    });
                    (bits(&y), bits(&gx))
                })
            })
        };
        assert_eq!(both(1), both(3));
    }
}
