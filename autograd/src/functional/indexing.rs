//! Indexing ops composed from the gather primitive `take_flat`: each computes *which* elements
//! to pick from the values (a non-differentiable decision), then gathers them. The gradient of a
//! gather is a scatter-add, so e.g. the gradient of a max flows to the chosen element only.

use std::sync::Arc;

use rayon::prelude::*;

use crate::float::Float;
use crate::ops::normalize_axis;
use crate::tape::Var;
use crate::{Error, Result};

/// A shape seen as `outer × n × inner` around `axis`: element `(o, k, i)` has flat index
/// `(o·n + k)·inner + i`.
#[derive(Clone, Copy)]
struct Lines {
    outer: usize,
    n: usize,
    inner: usize,
}

impl Lines {
    fn new(shape: &[usize], axis: usize) -> Self {
        Lines {
            outer: shape[..axis].iter().product(),
            n: shape[axis],
            inner: shape[axis + 1..].iter().product(),
        }
    }

    fn flat(&self, o: usize, k: usize, i: usize) -> usize {
        (o * self.n + k) * self.inner + i
    }

    /// Calls `f(o, i)` for every line along the axis, in row-major order of `(o, i)`.
    fn for_each(&self, mut f: impl FnMut(usize, usize)) {
        for o in 0..self.outer {
            for i in 0..self.inner {
                f(o, i);
            }
        }
    }
}

/// `shape` with `axis` removed, or set to 1 if `keepdim`.
fn reduced(shape: &[usize], axis: usize, keepdim: bool) -> Vec<usize> {
    let mut out = shape.to_vec();
    if keepdim {
        out[axis] = 1;
    } else {
        out.remove(axis);
    }
    out
}

impl<'t, F: Float> Var<'t, F> {
    /// The flat indices of the maximum (`largest`) or minimum along `axis`, one per line, in
    /// row-major order of the remaining axes. Ties: the first (lowest) index wins.
    fn extremum_indices(self, axis: usize, largest: bool) -> Result<Vec<usize>> {
        let x = self.value();
        let shape = x.shape();
        if shape[axis] == 0 {
            return Err(Error::argument("max/min", format!("axis {axis} is empty")));
        }
        let data = x.as_slice().expect("tape values are contiguous, row-major");
        let lines = Lines::new(shape, axis);
        let mut picks = Vec::with_capacity(lines.outer * lines.inner);
        lines.for_each(|o, i| {
            let mut best = lines.flat(o, 0, i);
            for k in 1..lines.n {
                let j = lines.flat(o, k, i);
                let better = if largest {
                    data[j] > data[best]
                } else {
                    data[j] < data[best]
                };
                if better {
                    best = j;
                }
            }
            picks.push(best);
        });
        Ok(picks)
    }

    /// The indices (along `axis`) of the maximum of each line; ties go to the lowest index.
    pub fn argmax(self, axis: isize) -> Result<Vec<usize>> {
        let a = normalize_axis("argmax", axis, self.ndim())?;
        let lines = Lines::new(&self.shape(), a);
        let picks = self.extremum_indices(a, true)?;
        Ok(picks.iter().map(|&j| (j / lines.inner) % lines.n).collect())
    }

    /// The maximum along `axis`. Ties: the gradient goes to the first (lowest-index) maximum.
    pub fn max_axis(self, axis: isize, keepdim: bool) -> Result<Var<'t, F>> {
        let a = normalize_axis("max", axis, self.ndim())?;
        let picks = self.extremum_indices(a, true)?;
        self.take_flat(picks.into(), &reduced(&self.shape(), a, keepdim))
    }

    /// The minimum along `axis`. Ties: the gradient goes to the first (lowest-index) minimum.
    pub fn min_axis(self, axis: isize, keepdim: bool) -> Result<Var<'t, F>> {
        let a = normalize_axis("min", axis, self.ndim())?;
        let picks = self.extremum_indices(a, false)?;
        self.take_flat(picks.into(), &reduced(&self.shape(), a, keepdim))
    }

    /// The slices `indices` along `axis`, in that order (repeats allowed): `torch.index_select`.
    pub fn index_select(self, axis: isize, indices: &[usize]) -> Result<Var<'t, F>> {
        let shape = self.shape();
        let a = normalize_axis("index_select", axis, shape.len())?;
        if let Some(&bad) = indices.iter().find(|&&k| k >= shape[a]) {
            return Err(Error::argument(
                "index_select",
                format!(
                    "index {bad} is out of range for axis {a} of size {}",
                    shape[a]
                ),
            ));
        }
        let lines = Lines::new(&shape, a);
        let mut flat = Vec::with_capacity(lines.outer * indices.len() * lines.inner);
        for o in 0..lines.outer {
            for &k in indices {
                flat.extend((0..lines.inner).map(|i| lines.flat(o, k, i)));
            }
        }
        let mut out = shape;
        out[a] = indices.len();
        self.take_flat(flat.into(), &out)
    }

    /// `y[..., j, ...] = x[..., index[..., j, ...], ...]` along `axis` (`torch.gather`,
    /// `take_along_axis`): `index` has the input's number of axes and its shape is the output's;
    /// off the axis, its sizes must not exceed the input's.
    pub fn gather(self, axis: isize, index: &ndarray::ArrayD<usize>) -> Result<Var<'t, F>> {
        let shape = self.shape();
        let a = normalize_axis("gather", axis, shape.len())?;
        let ish = index.shape();
        let fits = ish.len() == shape.len()
            && ish
                .iter()
                .zip(&shape)
                .enumerate()
                .all(|(d, (&i, &s))| d == a || i <= s);
        if !fits {
            return Err(Error::shape(
                "gather",
                &[&shape, ish],
                "the index must have as many axes, and be no larger off the gather axis",
            ));
        }
        let strides: Vec<usize> = (0..shape.len())
            .map(|d| shape[d + 1..].iter().product())
            .collect();
        let mut flat = Vec::with_capacity(index.len());
        for (pos, &k) in index.indexed_iter() {
            if k >= shape[a] {
                return Err(Error::argument(
                    "gather",
                    format!(
                        "index {k} is out of range for axis {a} of size {}",
                        shape[a]
                    ),
                ));
            }
            let mut f = 0;
            for d in 0..shape.len() {
                f += strides[d] * if d == a { k } else { pos[d] };
            }
            flat.push(f);
        }
        self.take_flat(flat.into(), ish)
    }

    /// The values sorted along `axis` (ascending, or descending), with the gradient routed back
    /// through the permutation. Stable: equal values keep their order. NaN sorts last.
    pub fn sort(self, axis: isize, descending: bool) -> Result<Var<'t, F>> {
        let shape = self.shape();
        let a = normalize_axis("sort", axis, shape.len())?;
        let x = self.value();
        let data = x.as_slice().expect("tape values are contiguous, row-major");
        let lines = Lines::new(&shape, a);
        let mut flat = vec![0; data.len()];
        let mut order: Vec<usize> = Vec::with_capacity(lines.n);
        lines.for_each(|o, i| {
            order.clear();
            order.extend(0..lines.n);
            let key = |k: usize| data[lines.flat(o, k, i)].as_f64();
            order.sort_by(|&p, &q| {
                let c = key(p).total_cmp(&key(q));
                if descending {
                    c.reverse()
                } else {
                    c
                }
            });
            for (j, &k) in order.iter().enumerate() {
                flat[lines.flat(o, j, i)] = lines.flat(o, k, i);
            }
        });
        self.take_flat(Arc::from(flat), &shape)
    }

    /// GroupSort (Anil, Lucas & Grosse, 2019): splits `axis` into consecutive groups of
    /// `group` elements and sorts each group in descending order. It only permutes its input,
    /// so it preserves the gradient norm: with orthonormal linear layers it builds networks
    /// whose gradient norm is exactly 1 almost everywhere. `group = 2` is MaxMin.
    pub fn group_sort(self, group: usize, axis: isize) -> Result<Var<'t, F>> {
        let shape = self.shape();
        let a = normalize_axis("group_sort", axis, shape.len())?;
        if group == 0 || !shape[a].is_multiple_of(group) {
            return Err(Error::argument(
                "group_sort",
                format!(
                    "axis {a} of size {} does not split into groups of {group}",
                    shape[a]
                ),
            ));
        }
        let mut grouped = shape[..a].to_vec();
        grouped.extend([shape[a] / group, group]);
        grouped.extend_from_slice(&shape[a + 1..]);
        self.reshape(&grouped)?
            .sort(a as isize + 1, true)?
            .reshape(&shape)
    }

    /// MaxMin: each consecutive pair `(a, b)` along `axis` becomes `(max(a, b), min(a, b))`.
    pub fn max_min(self, axis: isize) -> Result<Var<'t, F>> {
        self.group_sort(2, axis)
    }

    /// 2-D max-pooling of `[n, c, h, w]` with window `kernel` and step `stride` (no padding):
    /// output `[n, c, ⌊(h − kh)/sh⌋ + 1, ⌊(w − kw)/sw⌋ + 1]`. Ties: the first maximum in
    /// row-major window order gets the gradient.
    pub fn max_pool2d(self, kernel: [usize; 2], stride: [usize; 2]) -> Result<Var<'t, F>> {
        let shape = self.shape();
        let [kh, kw] = kernel;
        let [sh, sw] = stride;
        if shape.len() != 4 || kh == 0 || kw == 0 || sh == 0 || sw == 0 {
            return Err(Error::argument(
                "max_pool2d",
                format!(
                    "needs a [n, c, h, w] input and positive kernel and stride \
                     (got shape {shape:?}, kernel {kernel:?}, stride {stride:?})"
                ),
            ));
        }
        let (planes, h, w) = (shape[0] * shape[1], shape[2], shape[3]);
        if h < kh || w < kw {
            return Err(Error::shape(
                "max_pool2d",
                &[&shape],
                format!("the {kh}×{kw} window is larger than the {h}×{w} image"),
            ));
        }
        let (ho, wo) = ((h - kh) / sh + 1, (w - kw) / sw + 1);
        let window = PoolWindow {
            h,
            w,
            kh,
            kw,
            sh,
            sw,
            wo,
        };
        let len = planes * ho * wo;
        // Built in place (a `Vec` turned into an `Arc<[_]>` would be copied once more).
        let mut picks: Arc<[usize]> = std::iter::repeat_n(0, len).collect();
        let mut values = vec![F::zero(); len];
        let picks_out = Arc::get_mut(&mut picks).expect("not shared yet");
        self.with_value(|x| {
            let data = x.as_slice().expect("tape values are contiguous, row-major");
            let per_plane = |(p, (picks, values)): (usize, (&mut [usize], &mut [F]))| {
                window.pool_plane(&data[p * h * w..(p + 1) * h * w], p * h * w, picks, values)
            };
            if crate::kernels::elementwise::parallel(planes * h * w) {
                let planes_out = picks_out
                    .par_chunks_mut(ho * wo)
                    .zip(values.par_chunks_mut(ho * wo));
                planes_out.enumerate().for_each(per_plane);
            } else {
                let planes_out = picks_out
                    .chunks_mut(ho * wo)
                    .zip(values.chunks_mut(ho * wo));
                planes_out.enumerate().for_each(per_plane);
            }
        });
        let value =
            ndarray::ArrayD::from_shape_vec(ndarray::IxDyn(&[shape[0], shape[1], ho, wo]), values)
                .expect("length n·c·ho·wo");
        Ok(self.take_picked(picks, value))
    }
}

/// The geometry of a max-pooling window over one `h × w` plane.
#[derive(Clone, Copy)]
struct PoolWindow {
    h: usize,
    w: usize,
    kh: usize,
    kw: usize,
    sh: usize,
    sw: usize,
    wo: usize,
}

impl PoolWindow {
    /// For each output pixel of one plane (`plane`, whose first element has flat index `base`
    /// in the input): the flat index of the window's first maximum (row-major order) into
    /// `picks`, its value into `values`. NaN never wins a comparison (as `partial_cmp`).
    ///
    /// Each window keeps its running maximum by selects, not branches: on data like a ReLU's
    /// output, which of two taps is larger is a coin toss, and a mispredicted branch per
    /// comparison cost more than all the rest (2×2 windows on `[128, 6, 28, 28]`: 3.2 ms with
    /// the branch, see `docs/performance.md`).
    fn pool_plane<F: Float>(
        &self,
        plane: &[F],
        base: usize,
        picks: &mut [usize],
        values: &mut [F],
    ) {
        debug_assert_eq!(plane.len(), self.h * self.w);
        let rows = picks
            .chunks_exact_mut(self.wo)
            .zip(values.chunks_exact_mut(self.wo));
        if [self.kh, self.kw, self.sh, self.sw] == [2, 2, 2, 2] {
            // The common case, unrolled: tap `t` of a window is row `t >> 1`, column `t & 1`.
            for (i, (picks, values)) in rows.enumerate() {
                let top = 2 * i * self.w;
                let (upper, lower) = (&plane[top..top + self.w], &plane[top + self.w..]);
                let windows = upper.chunks_exact(2).zip(lower.chunks_exact(2));
                let outputs = picks.iter_mut().zip(values.iter_mut());
                for (j, ((pick, value), (u, l))) in outputs.zip(windows).enumerate() {
                    let (mut best, mut max) = (0, u[0]);
                    for (tap, v) in [(1, u[1]), (2, l[0]), (3, l[1])] {
                        let greater = v > max;
                        best = if greater { tap } else { best };
                        max = if greater { v } else { max };
                    }
                    let offset = (best >> 1) * self.w + (best & 1);
                    (*pick, *value) = (base + top + 2 * j + offset, max);
                }
            }
            return;
        }
        for (i, (picks, values)) in rows.enumerate() {
            let top = i * self.sh * self.w;
            for (j, (pick, value)) in picks.iter_mut().zip(values.iter_mut()).enumerate() {
                let first = top + j * self.sw;
                let (mut best, mut max) = (first, plane[first]);
                for di in 0..self.kh {
                    let row = first + di * self.w;
                    for (dj, &v) in plane[row..row + self.kw].iter().enumerate() {
                        let greater = v > max;
                        best = if greater { row + dj } else { best };
                        max = if greater { v } else { max };
                    }
                }
                (*pick, *value) = (base + best, max);
            }
        }
    }
}
