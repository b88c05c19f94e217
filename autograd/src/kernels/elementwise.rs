//! Elementwise kernels: maps over one array and broadcasting zips of two.
//!
//! Above [`PARALLEL_MIN_LEN`] elements the work is split across the rayon pool; below it a
//! plain loop is faster than any thread hand-off.

use ndarray::{ArrayD, ArrayViewD, IxDyn, Zip};

use crate::float::Float;

/// Arrays with at least this many elements are mapped in parallel. One element costs a few
/// nanoseconds at most, so below this the rayon hand-off (microseconds) would dominate.
pub(crate) const PARALLEL_MIN_LEN: usize = 1 << 16;

/// Whether work on `len` elements is worth splitting across the rayon pool: it is large enough,
/// and the pool has more than one thread (with one, handing the work to the pool's thread and
/// waiting for it only adds a round trip).
pub(crate) fn parallel(len: usize) -> bool {
    len >= PARALLEL_MIN_LEN && rayon::current_num_threads() > 1
}

/// `f` applied to every element of `x`, in a standard-layout result.
pub(crate) fn map<F: Float>(x: ArrayViewD<'_, F>, f: impl Fn(F) -> F + Sync + Send) -> ArrayD<F> {
    if parallel(x.len()) {
        let mut out = ArrayD::<F>::zeros(x.raw_dim());
        Zip::from(&mut out).and(&x).par_for_each(|o, &v| *o = f(v));
        out
    } else {
        x.mapv(f)
    }
}

/// `f(a, b)` elementwise over `a` and `b` broadcast to the common shape `shape`.
/// The caller has checked that both broadcast to `shape`.
///
/// Small operands of equal shape, or with one side a single element, take a direct loop over
/// the contiguous data: for tiny tensors ndarray's general broadcasting set-up would cost more
/// than the arithmetic.
pub(crate) fn zip_map<F: Float>(
    a: ArrayViewD<'_, F>,
    b: ArrayViewD<'_, F>,
    shape: &[usize],
    f: impl Fn(F, F) -> F + Sync + Send,
) -> ArrayD<F> {
    let small = !parallel(a.len().max(b.len()));
    if let (true, Some(xs), Some(ys)) = (small, a.as_slice(), b.as_slice()) {
        let data: Option<Vec<F>> = if a.shape() == b.shape() {
            Some(xs.iter().zip(ys).map(|(&x, &y)| f(x, y)).collect())
        } else if ys.len() == 1 && a.shape() == shape {
            Some(xs.iter().map(|&x| f(x, ys[0])).collect())
        } else if xs.len() == 1 && b.shape() == shape {
            Some(ys.iter().map(|&y| f(xs[0], y)).collect())
        } else {
            None
        };
        if let Some(data) = data {
            return ArrayD::from_shape_vec(IxDyn(shape), data).expect("length matches the shape");
        }
    }
    zip_broadcast(a, b, shape, f)
}

fn zip_broadcast<F: Float>(
    a: ArrayViewD<'_, F>,
    b: ArrayViewD<'_, F>,
    shape: &[usize],
    f: impl Fn(F, F) -> F + Sync + Send,
) -> ArrayD<F> {
    let dim = IxDyn(shape);
    let a = a
        .broadcast(dim.clone())
        .expect("caller checked broadcasting");
    let b = b
        .broadcast(dim.clone())
        .expect("caller checked broadcasting");
    let mut out = ArrayD::<F>::zeros(dim);
    let split = parallel(out.len());
    let zip = Zip::from(&mut out).and(&a).and(&b);
    if split {
        zip.par_for_each(|o, &x, &y| *o = f(x, y));
    } else {
        zip.for_each(|o, &x, &y| *o = f(x, y));
    }
    out
}
