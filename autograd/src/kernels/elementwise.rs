//! Elementwise kernels: maps over one array and broadcasting zips of two.
//!
//! Above [`PARALLEL_MIN_LEN`] elements the work is split across the rayon pool; below it a
//! plain loop is faster than any thread hand-off. Every output element is computed from its
//! own inputs alone, so the split never changes a result: the parallel and serial paths agree
//! bit for bit.
//!
//! Broadcasting zips of standard-layout operands (every tape value) run on slices, see
//! [`zip_map`]; other layouts go through ndarray's general `Zip`.

use std::mem::MaybeUninit;

use ndarray::{Array, ArrayD, ArrayViewD, Dimension, IxDyn, Zip};
use rayon::prelude::*;

use super::pool;
use super::simd::widest;
use crate::float::Float;

/// Arrays with at least this many elements are mapped in parallel. One element costs a few
/// nanoseconds at most, so below this the rayon hand-off (microseconds) would dominate.
pub(crate) const PARALLEL_MIN_LEN: usize = 1 << 16;

/// The fewest elements one parallel task of a zip computes: a quarter of [`PARALLEL_MIN_LEN`],
/// so that a parallel zip has at least four tasks and none is dominated by its hand-off.
const TASK_MIN_LEN: usize = PARALLEL_MIN_LEN / 4;

/// Whether work on `len` elements is worth splitting across the rayon pool: it is large enough,
/// and the pool has more than one thread (with one, handing the work to the pool's thread and
/// waiting for it only adds a round trip). A kernel's entry asks this once, on the caller's
/// thread; a yes keeps the pool's other workers awake ([`pool::keep_warm`]).
pub(crate) fn parallel(len: usize) -> bool {
    let split = len >= PARALLEL_MIN_LEN && rayon::current_num_threads() > 1;
    if split {
        pool::keep_warm();
    }
    split
}

/// `f` applied to every element of `x`, in a standard-layout result.
///
/// Standard-layout input is one slice loop ([`widest`] vectors), split into contiguous tasks
/// when large; other input takes ndarray's `mapv`.
pub(crate) fn map<F: Float>(x: ArrayViewD<'_, F>, f: impl Fn(F) -> F + Sync + Send) -> ArrayD<F> {
    let Some(xs) = x.as_slice() else {
        return x.mapv(f);
    };
    let run = |o: &mut [MaybeUninit<F>], xs: &[F]| {
        widest(
            #[inline(always)]
            || {
                for (o, &v) in o.iter_mut().zip(xs) {
                    o.write(f(v));
                }
            },
        )
    };
    let write = |out: &mut [MaybeUninit<F>]| {
        if parallel(xs.len()) {
            let task = task_len(xs.len(), 1);
            par_tasks(out, task, &|t, o| run(o, &xs[t * task..]));
        } else {
            run(out, xs);
        }
    };
    // SAFETY: `run` writes each element of its output from the same element of its input, and
    // the calls cover `out`: all of it, or the tasks `out[t·task..][..len]`, each from
    // `xs[t·task..]` (`xs.len() == out.len()`).
    unsafe { written_array(x.shape(), write) }
}

/// `f(a, b)` elementwise over `a` and `b` broadcast to the common shape `shape`, in a
/// standard-layout result. The caller has checked that both broadcast to `shape`.
///
/// Standard-layout operands (the common case: every tape value is one) take the slice kernel
/// of [`zip_blocks`], whatever their shapes; others go through ndarray's broadcasting `Zip`.
pub(crate) fn zip_map<F: Float>(
    a: ArrayViewD<'_, F>,
    b: ArrayViewD<'_, F>,
    shape: &[usize],
    f: impl Fn(F, F) -> F + Sync + Send,
) -> ArrayD<F> {
    match (a.as_slice(), b.as_slice()) {
        (Some(xs), Some(ys)) => {
            let blocks = broadcast_blocks(a.shape(), b.shape(), shape);
            // SAFETY: `zip_blocks` writes every element of its output (see its doc).
            unsafe { written_array(shape, |out| zip_blocks(out, xs, ys, &blocks, &f)) }
        }
        _ => zip_general(a, b, shape, &f),
    }
}

/// [`zip_map`] for operands of any layout, by ndarray's broadcasting `Zip` of three producers.
/// Rare (tape values are in standard layout), so `f` is a trait object: this path, with its
/// rayon plumbing, is compiled once per element type, not once per op.
fn zip_general<F: Float>(
    a: ArrayViewD<'_, F>,
    b: ArrayViewD<'_, F>,
    shape: &[usize],
    f: &(dyn Fn(F, F) -> F + Sync),
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

/// A standard-layout array of `shape` whose elements `write` stores into its uninitialised
/// buffer. Writing into fresh memory rather than into a zero-filled array saves a pass over
/// the output: measured on a `[128, 6, 28, 28]` f32 product, 95 µs instead of 161 µs.
///
/// The kernels' outputs of other ranks (the convolution's `[n, o, ho, wo]`) are made the same
/// way, through [`written`].
///
/// # Safety
/// `write` must initialise every element of the slice it is given.
unsafe fn written_array<F: Float>(
    shape: &[usize],
    write: impl FnOnce(&mut [MaybeUninit<F>]),
) -> ArrayD<F> {
    // SAFETY: the caller's promise, passed on.
    unsafe { written(IxDyn(shape), write) }
}

/// [`written_array`] for an array of any dimension type: a standard-layout array of `shape`
/// whose elements `write` stores into its uninitialised buffer.
///
/// # Safety
/// `write` must initialise every element of the slice it is given.
pub(crate) unsafe fn written<F: Float, D: Dimension>(
    shape: D,
    write: impl FnOnce(&mut [MaybeUninit<F>]),
) -> Array<F, D> {
    let len = shape.size();
    let mut data = Vec::with_capacity(len);
    write(&mut data.spare_capacity_mut()[..len]);
    // SAFETY: the caller's `write` has initialised all `len` elements.
    unsafe { data.set_len(len) };
    Array::from_shape_vec(shape, data).expect("length matches the shape")
}

/// Which operands run along a block of output axes: `true` where the operand has the block's
/// full extent, `false` where it is broadcast (size 1 on every axis of the block).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Pattern {
    a: bool,
    b: bool,
}

/// Consecutive output axes of one [`Pattern`], merged into one axis of `len` elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Block {
    len: usize,
    pattern: Pattern,
}

/// The output axes of the broadcast of shapes `a` and `b` to `shape`, as merged blocks,
/// outermost first.
///
/// Shapes are aligned at the right (missing leading axes have size 1). Axes of output size 1
/// are dropped: they move no index. Each remaining axis is classified by which operands are
/// full along it, and consecutive axes of one pattern are merged into one. In standard layout
/// the merge is exact: within a block of axes where an operand is full its elements are one
/// contiguous run per outer index (its broadcast axes in between have size 1), and where it
/// is broadcast it does not move at all. An empty list means a one-element output.
fn broadcast_blocks(a: &[usize], b: &[usize], shape: &[usize]) -> Vec<Block> {
    let size = |s: &[usize], i: usize| {
        let lead = shape.len() - s.len();
        if i < lead {
            1
        } else {
            s[i - lead]
        }
    };
    let mut blocks: Vec<Block> = Vec::with_capacity(shape.len());
    for (i, &len) in shape.iter().enumerate() {
        if len == 1 {
            continue;
        }
        let pattern = Pattern {
            a: size(a, i) == len,
            b: size(b, i) == len,
        };
        match blocks.last_mut() {
            Some(last) if last.pattern == pattern => last.len *= len,
            _ => blocks.push(Block { len, pattern }),
        }
    }
    blocks
}

/// Writes `out = f(a, b)`, every element of `out`, for standard-layout operand data `xs`, `ys`
/// broadcast over `blocks` (from [`broadcast_blocks`]; `out` has the product of their lengths).
///
/// The output is a sequence of rows, each one run of the innermost block; a row is one tight
/// slice loop ([`zip_row`]) and the outer blocks are walked by an odometer ([`RowCursor`])
/// that carries each operand's offset. With no outer block the output is one row, which is
/// split anywhere; otherwise the split is into whole rows. Parallel when [`parallel`] says so.
fn zip_blocks<F: Float>(
    out: &mut [MaybeUninit<F>],
    xs: &[F],
    ys: &[F],
    blocks: &[Block],
    f: &(impl Fn(F, F) -> F + Sync),
) {
    if out.is_empty() {
        return;
    }
    let (inner, outer) = match blocks.split_last() {
        Some((inner, outer)) => (*inner, outer),
        // a single element: both operands are broadcast along "every" axis
        None => (
            Block {
                len: 1,
                pattern: Pattern { a: false, b: false },
            },
            &[][..],
        ),
    };
    if outer.is_empty() {
        zip_one_row(out, xs, ys, inner.pattern, f);
    } else {
        zip_rows(out, xs, ys, outer, inner, f);
    }
}

/// One row (the whole output) split into contiguous tasks when large.
fn zip_one_row<F: Float>(
    out: &mut [MaybeUninit<F>],
    xs: &[F],
    ys: &[F],
    pattern: Pattern,
    f: &(impl Fn(F, F) -> F + Sync),
) {
    if !parallel(out.len()) {
        zip_row(out, xs, ys, pattern, f);
        return;
    }
    let task = task_len(out.len(), 1);
    par_tasks(out, task, &|t, o| {
        // a full operand starts where the task does; a broadcast one is its single element
        let offset = |full: bool| if full { t * task } else { 0 };
        let x = operand_row(xs, offset(pattern.a), pattern.a, o.len());
        let y = operand_row(ys, offset(pattern.b), pattern.b, o.len());
        zip_row(o, x, y, pattern, f);
    });
}

/// Rows of the innermost block `inner` under the `outer` blocks; parallel tasks of whole rows.
fn zip_rows<F: Float>(
    out: &mut [MaybeUninit<F>],
    xs: &[F],
    ys: &[F],
    outer: &[Block],
    inner: Block,
    f: &(impl Fn(F, F) -> F + Sync),
) {
    let row = inner.len;
    let run = |out: &mut [MaybeUninit<F>], first_row: usize| {
        let mut cursor = RowCursor::new(outer, inner, first_row);
        for o in out.chunks_exact_mut(row) {
            let x = operand_row(xs, cursor.a, inner.pattern.a, row);
            let y = operand_row(ys, cursor.b, inner.pattern.b, row);
            zip_row(o, x, y, inner.pattern, f);
            cursor.advance();
        }
    };
    if parallel(out.len()) {
        let rows_per_task = task_len(out.len(), row) / row;
        par_tasks(out, rows_per_task * row, &|t, o| run(o, t * rows_per_task));
    } else {
        run(out, 0);
    }
}

/// Runs `body(t, chunk)` for the consecutive chunks of `task` elements of `out` (the last may
/// be shorter), `t` counting them, across the rayon pool. The body is a trait object, called
/// once per task of thousands of elements: the rayon plumbing is compiled once per element
/// type instead of once per op, while each body runs the op's own monomorphised loop.
fn par_tasks<F: Float>(
    out: &mut [MaybeUninit<F>],
    task: usize,
    body: &(dyn Fn(usize, &mut [MaybeUninit<F>]) + Sync),
) {
    out.par_chunks_mut(task)
        .enumerate()
        .for_each(|(t, o)| body(t, o));
}

/// The length of one parallel task over `len` elements, a multiple of `unit`: about four tasks
/// per thread (so that uneven progress evens out), none shorter than [`TASK_MIN_LEN`] unless
/// `unit` itself is longer.
pub(crate) fn task_len(len: usize, unit: usize) -> usize {
    let target = (len / (4 * rayon::current_num_threads())).max(TASK_MIN_LEN);
    (target / unit).max(1) * unit
}

/// An operand's part of one output row that starts at element `offset` of its data: `len`
/// elements where it is full along the innermost block, its one element there otherwise.
fn operand_row<F>(data: &[F], offset: usize, full: bool, len: usize) -> &[F] {
    let len = if full { len } else { 1 };
    &data[offset..offset + len]
}

/// The innermost loop: `out[i] = f(x[i], y[i])` where an operand is full, with its single
/// element `x[0]` (or `y[0]`) where it is broadcast; [`widest`] vectors.
fn zip_row<F: Float>(
    out: &mut [MaybeUninit<F>],
    x: &[F],
    y: &[F],
    pattern: Pattern,
    f: &impl Fn(F, F) -> F,
) {
    widest(
        #[inline(always)]
        || match (pattern.a, pattern.b) {
            (true, true) => {
                for ((o, &p), &q) in out.iter_mut().zip(x).zip(y) {
                    o.write(f(p, q));
                }
            }
            (true, false) => {
                let q = y[0];
                for (o, &p) in out.iter_mut().zip(x) {
                    o.write(f(p, q));
                }
            }
            (false, true) => {
                let p = x[0];
                for (o, &q) in out.iter_mut().zip(y) {
                    o.write(f(p, q));
                }
            }
            (false, false) => {
                let v = f(x[0], y[0]);
                for o in out {
                    o.write(v);
                }
            }
        },
    )
}

/// An odometer over the rows of a broadcast zip: the index of the current row in each outer
/// block, and where the row's data starts in each operand.
struct RowCursor<'b> {
    outer: &'b [Block],
    /// Per outer block, how far each operand's offset moves when that block's index steps by
    /// one: the product of the lengths of the later blocks the operand is full along, or 0 if
    /// it is broadcast along this block.
    steps: Vec<(usize, usize)>,
    index: Vec<usize>,
    /// The offsets of the current row in `a`'s and `b`'s data.
    a: usize,
    b: usize,
}

impl<'b> RowCursor<'b> {
    /// The cursor at row `row` (rows counted in output order).
    fn new(outer: &'b [Block], inner: Block, row: usize) -> Self {
        // each operand's data run below the current block, grown from the innermost block out
        let mut a_run = if inner.pattern.a { inner.len } else { 1 };
        let mut b_run = if inner.pattern.b { inner.len } else { 1 };
        let mut steps = vec![(0, 0); outer.len()];
        for (step, block) in steps.iter_mut().zip(outer).rev() {
            *step = (
                step_along(&mut a_run, block.pattern.a, block.len),
                step_along(&mut b_run, block.pattern.b, block.len),
            );
        }
        let mut index = vec![0; outer.len()];
        let (mut a, mut b, mut rest) = (0, 0, row);
        for ((i, block), step) in index.iter_mut().zip(outer).zip(&steps).rev() {
            *i = rest % block.len;
            rest /= block.len;
            a += *i * step.0;
            b += *i * step.1;
        }
        RowCursor {
            outer,
            steps,
            index,
            a,
            b,
        }
    }

    /// Moves to the next row: steps the innermost outer index, carrying into the ones before.
    fn advance(&mut self) {
        let blocks = self.outer.iter().zip(&self.steps);
        for (i, (block, step)) in self.index.iter_mut().zip(blocks).rev() {
            *i += 1;
            self.a += step.0;
            self.b += step.1;
            if *i < block.len {
                return;
            }
            *i = 0;
            self.a -= step.0 * block.len;
            self.b -= step.1 * block.len;
        }
    }
}

/// How far an operand's offset moves per index step along a block of `len`: its data `run`
/// below the block where it is `full` along the block (the run then grows by the block), 0
/// where it is broadcast.
fn step_along(run: &mut usize, full: bool, len: usize) -> usize {
    if full {
        let step = *run;
        *run *= len;
        step
    } else {
        0
    }
}

#[cfg(test)]
mod tests {
    //! The slice kernels of `zip_map` and `map` against index-by-index references, on a table
    //! of shapes (the layers' bias adds among them) and on random ones, each computed in a
    //! one-thread pool (serial path) and a three-thread pool (parallel path above
    //! `PARALLEL_MIN_LEN`). Every output element is one evaluation of `f` on the same two
    //! inputs in both, so results must agree bit for bit.

    use ndarray::{Array2, Axis, Dimension};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use rayon::{ThreadPool, ThreadPoolBuilder};

    use super::*;

    /// Not symmetric in its arguments, so a swapped or misplaced operand shows.
    fn combine<F: Float>(p: F, q: F) -> F {
        p * F::from_f64(3.0) - q
    }

    fn pools() -> [ThreadPool; 2] {
        [1, 3].map(|n| ThreadPoolBuilder::new().num_threads(n).build().unwrap())
    }

    fn random<F: Float>(rng: &mut StdRng, shape: &[usize]) -> ArrayD<F> {
        ArrayD::from_shape_simple_fn(IxDyn(shape), || F::from_f64(rng.gen_range(-1.0..1.0)))
    }

    /// The element of an operand of shape `s` that output element `out` reads: shapes aligned
    /// at the right, index 0 along the operand's size-1 axes.
    fn operand_index(s: &[usize], out: &[usize]) -> Vec<usize> {
        let lead = out.len() - s.len();
        (0..s.len())
            .map(|i| if s[i] == 1 { 0 } else { out[lead + i] })
            .collect()
    }

    /// `combine(a, b)` broadcast to `shape`, one output index at a time.
    fn reference<F: Float>(a: &ArrayD<F>, b: &ArrayD<F>, shape: &[usize]) -> ArrayD<F> {
        ArrayD::from_shape_fn(IxDyn(shape), |idx| {
            let idx = idx.slice();
            combine(
                a[operand_index(a.shape(), idx).as_slice()],
                b[operand_index(b.shape(), idx).as_slice()],
            )
        })
    }

    fn same_bits<F: Float>(got: &ArrayD<F>, want: &ArrayD<F>) -> bool {
        got.shape() == want.shape()
            && got.as_slice().is_some()
            && got
                .iter()
                .zip(want)
                .all(|(x, y)| x.as_f64().to_bits() == y.as_f64().to_bits())
    }

    /// `zip_map` on views `a`, `b` (any layout) equals the reference in every pool.
    fn check_views<F: Float>(
        a: ArrayViewD<'_, F>,
        b: ArrayViewD<'_, F>,
        shape: &[usize],
        pools: &[ThreadPool],
    ) -> Result<(), String> {
        let want = reference(&a.to_owned(), &b.to_owned(), shape);
        for pool in pools {
            let got = pool.install(|| zip_map(a.view(), b.view(), shape, combine));
            if !same_bits(&got, &want) {
                return Err(format!(
                    "{:?} with {:?} to {shape:?} on {} thread(s): got {got:?}, want {want:?}",
                    a.shape(),
                    b.shape(),
                    pool.current_num_threads(),
                ));
            }
        }
        Ok(())
    }

    fn check<F: Float>(
        rng: &mut StdRng,
        a: &[usize],
        b: &[usize],
        shape: &[usize],
        pools: &[ThreadPool],
    ) -> Result<(), String> {
        let (a, b) = (random::<F>(rng, a), random::<F>(rng, b));
        check_views(a.view(), b.view(), shape, pools)
    }

    /// `(a, b, output)`: the layers' bias adds (small and above the parallel threshold), equal
    /// shapes, scalars, missing leading axes, broadcasting on either side and on both, size-1
    /// axes between full ones, outputs larger than both operands (a block where both are
    /// broadcast: a fill), empty outputs.
    #[allow(clippy::type_complexity)]
    const TABLE: &[(&[usize], &[usize], &[usize])] = &[
        (&[8, 6, 28, 28], &[1, 6, 1, 1], &[8, 6, 28, 28]),
        (&[128, 6, 28, 28], &[1, 6, 1, 1], &[128, 6, 28, 28]),
        (&[128, 16, 10, 10], &[1, 16, 1, 1], &[128, 16, 10, 10]),
        (&[128, 120], &[120], &[128, 120]),
        (&[256, 800], &[800], &[256, 800]),
        (&[800], &[256, 800], &[256, 800]),
        (&[7, 9], &[7, 9], &[7, 9]),
        (&[300, 300], &[300, 300], &[300, 300]),
        (&[300, 1, 300], &[300, 300], &[300, 1, 300]),
        (&[], &[], &[]),
        (&[], &[3, 4], &[3, 4]),
        (&[3, 4], &[1], &[3, 4]),
        (&[1], &[70000], &[70000]),
        (&[70000], &[], &[70000]),
        (&[1, 1], &[1], &[1, 1]),
        (&[3, 4, 5], &[5], &[3, 4, 5]),
        (&[2, 3, 4, 5], &[4, 1], &[2, 3, 4, 5]),
        (&[4, 1, 5], &[1, 3, 1], &[4, 3, 5]),
        (&[3, 1], &[1, 4], &[3, 4]),
        (&[300, 1], &[1, 300], &[300, 300]),
        (&[5, 1, 7], &[5, 3, 7], &[5, 3, 7]),
        (&[1, 6, 1, 1], &[128, 1, 28, 28], &[128, 6, 28, 28]),
        (&[3, 1], &[1, 5], &[4, 3, 5]),
        (&[4, 1], &[4, 1], &[4, 6]),
        (&[1, 1], &[3, 1], &[2, 3, 40000]),
        (&[0, 3], &[3], &[0, 3]),
        (&[2, 0], &[1], &[2, 0]),
    ];

    fn table<F: Float>() {
        let pools = pools();
        let large = |&&(_, _, shape): &&(&[usize], &[usize], &[usize])| {
            pools[1].install(|| parallel(shape.iter().product()))
        };
        assert!(
            TABLE.iter().filter(large).count() >= 8,
            "parallel path taken"
        );
        let mut rng = StdRng::seed_from_u64(7);
        let failures: Vec<String> = TABLE
            .iter()
            .filter_map(|(a, b, shape)| check::<F>(&mut rng, a, b, shape, &pools).err())
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn zip_map_matches_index_by_index_on_the_table_f32() {
        table::<f32>();
    }

    #[test]
    fn zip_map_matches_index_by_index_on_the_table_f64() {
        table::<f64>();
    }

    /// A random output shape of rank 0 to 5 (sizes 1 to 5; for `large`, one axis stretched so
    /// that the output takes the parallel path) and two operands broadcasting to it: each axis
    /// full or 1 at random (both 1 included), some leading axes dropped.
    fn random_case(rng: &mut StdRng, large: bool) -> [Vec<usize>; 3] {
        let rank = rng.gen_range(usize::from(large)..=5);
        let mut shape: Vec<usize> = (0..rank).map(|_| rng.gen_range(1..=5)).collect();
        if large {
            let len: usize = shape.iter().product();
            shape[rng.gen_range(0..rank)] *= PARALLEL_MIN_LEN.div_ceil(len);
        }
        let mut operand = || {
            let s: Vec<usize> = shape
                .iter()
                .map(|&d| if rng.gen_bool(0.4) { 1 } else { d })
                .collect();
            s[rng.gen_range(0..=rank)..].to_vec()
        };
        [operand(), operand(), shape]
    }

    fn random_shapes<F: Float>() {
        let pools = pools();
        let mut rng = StdRng::seed_from_u64(11);
        let mut failures = Vec::new();
        for case in 0..600 {
            let [a, b, shape] = random_case(&mut rng, case % 20 == 0);
            if let Err(e) = check::<F>(&mut rng, &a, &b, &shape, &pools) {
                failures.push(format!("case {case}: {e}"));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn zip_map_matches_index_by_index_on_random_shapes_f32() {
        random_shapes::<f32>();
    }

    #[test]
    fn zip_map_matches_index_by_index_on_random_shapes_f64() {
        random_shapes::<f64>();
    }

    /// Transposed, strided and reversed operands take ndarray's `Zip`; the result is the same.
    #[test]
    fn zip_map_of_non_contiguous_operands() {
        let pools = pools();
        let mut rng = StdRng::seed_from_u64(3);
        let a = random::<f64>(&mut rng, &[300, 400]);
        let b = random::<f64>(&mut rng, &[400, 300]);
        let row = random::<f64>(&mut rng, &[1, 800]);
        let at = a.t();
        let strided = row.slice_each_axis(|d| ndarray::Slice::new(0, None, d.len.min(2) as isize));
        let mut reversed = b.view();
        reversed.invert_axis(Axis(1));
        check_views(at.view(), b.view(), &[400, 300], &pools).unwrap();
        check_views(b.view(), at.view(), &[400, 300], &pools).unwrap();
        check_views(a.view(), strided.view(), &[300, 400], &pools).unwrap();
        check_views(reversed.view(), b.view(), &[400, 300], &pools).unwrap();
    }

    /// Merged blocks of the two bias adds of a training step and of a two-sided broadcast.
    #[test]
    fn broadcast_blocks_drop_size_one_axes_and_merge_one_pattern() {
        let block = |len, a, b| Block {
            len,
            pattern: Pattern { a, b },
        };
        assert_eq!(
            broadcast_blocks(&[128, 6, 28, 28], &[1, 6, 1, 1], &[128, 6, 28, 28]),
            [
                block(128, true, false),
                block(6, true, true),
                block(784, true, false)
            ]
        );
        assert_eq!(
            broadcast_blocks(&[256, 800], &[800], &[256, 800]),
            [block(256, true, false), block(800, true, true)]
        );
        assert_eq!(
            broadcast_blocks(&[2, 1, 3, 1, 5], &[1, 7, 1, 4, 5], &[2, 7, 3, 4, 5]),
            [
                block(2, true, false),
                block(7, false, true),
                block(3, true, false),
                block(4, false, true),
                block(5, true, true)
            ]
        );
        assert_eq!(broadcast_blocks(&[1, 1], &[], &[1, 1]), []);
        assert_eq!(
            broadcast_blocks(&[3, 4], &[3, 4], &[3, 4]),
            [block(12, true, true)]
        );
    }

    /// The parallel slice path of `map` against ndarray's `mapv`, and the serial one.
    #[test]
    fn map_matches_mapv_serial_and_parallel() {
        let pools = pools();
        let mut rng = StdRng::seed_from_u64(5);
        for shape in [&[3, 5][..], &[300, 301], &[128, 6, 28, 28], &[0, 4]] {
            let x = random::<f32>(&mut rng, shape);
            let want = x.mapv(|v| v * 3.0 - 1.0);
            for pool in &pools {
                let got = pool.install(|| map(x.view(), |v| v * 3.0 - 1.0));
                assert!(same_bits(&got, &want), "{shape:?}");
            }
        }
        let t = Array2::from_shape_vec((3, 4), (0..12).map(|i| i as f32).collect()).unwrap();
        let got = map(t.t().into_dyn(), |v| v + 1.0);
        assert_eq!(got, t.t().mapv(|v| v + 1.0).into_dyn());
    }
}
