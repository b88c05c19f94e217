//! 2-D convolution kernels by im2col + GEMM. Layouts: input `x[n, c, h, w]`, weight
//! `w[o, c, kh, kw]`, output `y[n, o, ho, wo]`.
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

use ndarray::{
    Array2, Array4, ArrayView2, ArrayView3, ArrayView4, ArrayViewMut2, ArrayViewMut3, Axis,
};
use rayon::prelude::*;

use super::gemm;
use crate::float::Float;
use crate::ops::Conv2dGeometry;

/// Spatial sizes of one convolution: input `h×w`, kernel `kh×kw`, output `ho×wo`.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Dims {
    pub(crate) h: usize,
    pub(crate) w: usize,
    pub(crate) kh: usize,
    pub(crate) kw: usize,
    pub(crate) ho: usize,
    pub(crate) wo: usize,
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

/// Writes `col(x)` for one image `x` (`[c, h, w]`, contiguous) into `col` (contiguous).
fn im2col<F: Float>(
    x: ArrayView3<'_, F>,
    g: &Conv2dGeometry,
    d: Dims,
    mut col: ArrayViewMut2<'_, F>,
) {
    let channels = x.shape()[0];
    let src = x.as_slice().expect("tape values are contiguous");
    let dst = col.as_slice_mut().expect("fresh buffer");
    let ([sh, sw], [ph, pw], [dh, dw]) = (g.stride, g.padding, g.dilation);
    let plane = d.ho * d.wo;
    for c in 0..channels {
        let image = &src[c * d.h * d.w..(c + 1) * d.h * d.w];
        for i in 0..d.kh {
            let (p_lo, p_hi) = valid_outputs(i, sh, ph, dh, d.h, d.ho);
            for j in 0..d.kw {
                let row = (c * d.kh + i) * d.kw + j;
                let out = &mut dst[row * plane..(row + 1) * plane];
                let (q_lo, q_hi) = valid_outputs(j, sw, pw, dw, d.w, d.wo);
                out[..p_lo * d.wo].fill(F::zero());
                out[p_hi * d.wo..].fill(F::zero());
                for p in p_lo..p_hi {
                    let a = p * sh + i * dh - ph;
                    let line = &image[a * d.w..(a + 1) * d.w];
                    let o = &mut out[p * d.wo..(p + 1) * d.wo];
                    o[..q_lo].fill(F::zero());
                    o[q_hi..].fill(F::zero());
                    let b0 = q_lo * sw + j * dw - pw;
                    if sw == 1 {
                        o[q_lo..q_hi].copy_from_slice(&line[b0..b0 + (q_hi - q_lo)]);
                    } else {
                        for (k, v) in o[q_lo..q_hi].iter_mut().enumerate() {
                            *v = line[b0 + k * sw];
                        }
                    }
                }
            }
        }
    }
}

/// Adds each column of `col` back into the patch it was read from: `x += col2im(col)`.
fn col2im<F: Float>(
    col: ArrayView2<'_, F>,
    g: &Conv2dGeometry,
    d: Dims,
    mut x: ArrayViewMut3<'_, F>,
) {
    let channels = x.shape()[0];
    let src = col.as_slice().expect("fresh buffer");
    let dst = x.as_slice_mut().expect("fresh output");
    let ([sh, sw], [ph, pw], [dh, dw]) = (g.stride, g.padding, g.dilation);
    let plane = d.ho * d.wo;
    for c in 0..channels {
        let image = &mut dst[c * d.h * d.w..(c + 1) * d.h * d.w];
        for i in 0..d.kh {
            let (p_lo, p_hi) = valid_outputs(i, sh, ph, dh, d.h, d.ho);
            for j in 0..d.kw {
                let row = (c * d.kh + i) * d.kw + j;
                let from = &src[row * plane..(row + 1) * plane];
                let (q_lo, q_hi) = valid_outputs(j, sw, pw, dw, d.w, d.wo);
                for p in p_lo..p_hi {
                    let a = p * sh + i * dh - ph;
                    let line = &mut image[a * d.w..(a + 1) * d.w];
                    let f = &from[p * d.wo + q_lo..p * d.wo + q_hi];
                    let b0 = q_lo * sw + j * dw - pw;
                    for (k, &v) in f.iter().enumerate() {
                        line[b0 + k * sw] += v;
                    }
                }
            }
        }
    }
}

/// Images per parallel task. Fixed (not derived from the thread count) so that the weight
/// gradient, summed per chunk and then over chunks in order, has the same bits at any thread
/// count; small enough that a batch of 32 keeps two cores busy.
const CHUNK: usize = 4;

/// `y = conv(x, w)`: per image, `y[n] = W · col(x[n])`; images in parallel.
pub(crate) fn conv2d<F: Float>(
    x: ArrayView4<'_, F>,
    w: ArrayView4<'_, F>,
    g: &Conv2dGeometry,
    d: Dims,
) -> Array4<F> {
    let (n, c, o) = (x.shape()[0], x.shape()[1], w.shape()[0]);
    let w2 = w
        .into_shape_with_order((o, c * d.kh * d.kw))
        .expect("contiguous");
    let mut y = Array4::<F>::zeros((n, o, d.ho, d.wo));
    y.axis_chunks_iter_mut(Axis(0), CHUNK)
        .into_par_iter()
        .zip(x.axis_chunks_iter(Axis(0), CHUNK))
        .for_each(|(mut ys, xs)| {
            let mut col = Array2::<F>::zeros((c * d.kh * d.kw, d.ho * d.wo));
            for (xn, mut yn) in xs.axis_iter(Axis(0)).zip(ys.axis_iter_mut(Axis(0))) {
                im2col(xn, g, d, col.view_mut());
                let yn = yn
                    .view_mut()
                    .into_shape_with_order((o, d.ho * d.wo))
                    .expect("contiguous");
                gemm(F::one(), w2, col.view(), F::zero(), yn);
            }
        });
    y
}

/// `x̄ = convᵀ(ḡ, w)`: per image, `x̄[n] = col2im(Wᵀ · G[n])`; images in parallel.
pub(crate) fn conv2d_input_grad<F: Float>(
    gy: ArrayView4<'_, F>,
    w: ArrayView4<'_, F>,
    g: &Conv2dGeometry,
    d: Dims,
) -> Array4<F> {
    let (n, o, c) = (gy.shape()[0], gy.shape()[1], w.shape()[1]);
    let w2 = w
        .into_shape_with_order((o, c * d.kh * d.kw))
        .expect("contiguous");
    let mut x = Array4::<F>::zeros((n, c, d.h, d.w));
    x.axis_chunks_iter_mut(Axis(0), CHUNK)
        .into_par_iter()
        .zip(gy.axis_chunks_iter(Axis(0), CHUNK))
        .for_each(|(mut xs, gs)| {
            let mut col = Array2::<F>::zeros((c * d.kh * d.kw, d.ho * d.wo));
            for (gn, xn) in gs.axis_iter(Axis(0)).zip(xs.axis_iter_mut(Axis(0))) {
                let gn = gn
                    .into_shape_with_order((o, d.ho * d.wo))
                    .expect("contiguous");
                gemm(F::one(), w2.t(), gn, F::zero(), col.view_mut());
                col2im(col.view(), g, d, xn);
            }
        });
    x
}

/// `w̄ = Σ_n ḡ[n] · col(x[n])ᵀ`: a partial sum per chunk of images (in parallel), then the
/// partials added in chunk order.
pub(crate) fn conv2d_weight_grad<F: Float>(
    x: ArrayView4<'_, F>,
    gy: ArrayView4<'_, F>,
    g: &Conv2dGeometry,
    d: Dims,
) -> Array4<F> {
    let (c, o) = (x.shape()[1], gy.shape()[1]);
    let partials: Vec<Array2<F>> = x
        .axis_chunks_iter(Axis(0), CHUNK)
        .into_par_iter()
        .zip(gy.axis_chunks_iter(Axis(0), CHUNK))
        .map(|(xs, gs)| {
            let mut col = Array2::<F>::zeros((c * d.kh * d.kw, d.ho * d.wo));
            let mut w = Array2::<F>::zeros((o, c * d.kh * d.kw));
            for (xn, gn) in xs.axis_iter(Axis(0)).zip(gs.axis_iter(Axis(0))) {
                im2col(xn, g, d, col.view_mut());
                let gn = gn
                    .into_shape_with_order((o, d.ho * d.wo))
                    .expect("contiguous");
                gemm(F::one(), gn, col.t(), F::one(), w.view_mut());
            }
            w
        })
        .collect();
    let mut total = Array2::<F>::zeros((o, c * d.kh * d.kw));
    for p in &partials {
        total += p;
    }
    total
        .into_shape_with_order((o, c, d.kh, d.kw))
        .expect("contiguous")
}
