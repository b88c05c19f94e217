//! The sum over axes, the one reduction kernel (every other reduction of the engine is
//! composed from it).

use ndarray::{ArrayD, ArrayViewD, Axis, IxDyn};

use crate::float::Float;

/// Partial sums kept by [`sum_run`], independent so that the loop is not bound by the latency
/// of one chain of additions: four SSE registers of f32 (eight of f64). Measured on the sum of
/// a `[128, 6, 28, 28]` f32 array over axes (0, 2, 3): 112 µs with 8, 59 µs with 16, 145 µs
/// with 32 (no longer kept in registers).
const LANES: usize = 16;

/// `Σ x` over `axes` (sorted, distinct), read once and copied never; `keepdim` keeps the summed
/// axes with size 1. The result is in standard layout.
///
/// Order of summation. Standard-layout input (every tape value) is summed in one pass in
/// memory order by [`accumulate`]; the order depends on the shape alone (no threads take
/// part). Each output element starts at 0 and adds, one after the other in memory order, the
/// contributions of its runs along the innermost merged block: where that block is summed a
/// contribution is a whole run of `L` elements, reduced first by [`sum_run`] (sixteen
/// interleaved partial sums, then a tree); where it is kept a contribution is one element.
/// Other layouts take ndarray's `sum_axis`, one axis at a time (its own fixed order).
///
/// Rounding. If no term of a sum passes through more than `h` additions, the computed sum
/// satisfies `|ŝ − s| ≤ γ_h·Σ|x|` with `γ_h = h·u/(1 − h·u)`, `u = ε/2` (Higham, *Accuracy and
/// Stability of Numerical Algorithms*, §4.2); `h = n − 1` for any order of `n` terms. Here a
/// term passes through at most `⌈L/16⌉ − 1` additions in its partial sum, 4 in the tree, 15
/// for the trailing elements and `R` into the output element (`R` contributions), so
/// `h ≤ L/16 + R + 19`: for the conv bias gradient (`L = 784`, `R = 128`) 196 instead of
/// `n − 1 = 100 351`. The
/// order differs from ndarray's, so results may differ from `sum_axis` in the last bits.
pub(crate) fn sum_axes<F: Float>(x: ArrayViewD<'_, F>, axes: &[usize], keepdim: bool) -> ArrayD<F> {
    let Some(data) = x.as_slice() else {
        return sum_general(x, axes, keepdim);
    };
    let shape: Vec<usize> = (0..x.ndim())
        .filter_map(|i| match (axes.contains(&i), keepdim) {
            (false, _) => Some(x.shape()[i]),
            (true, true) => Some(1),
            (true, false) => None,
        })
        .collect();
    let mut out = vec![F::zero(); shape.iter().product()];
    if !data.is_empty() {
        accumulate(&mut out, data, &sum_blocks(x.shape(), axes));
    }
    ArrayD::from_shape_vec(IxDyn(&shape), out).expect("length matches the shape")
}

/// Consecutive input axes of one kind (summed or kept), merged into one axis of `len` elements.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Block {
    len: usize,
    summed: bool,
}

/// The axes of `shape` as merged blocks, outermost first: axes of size 1 dropped (they move no
/// index), consecutive axes of one kind merged (in standard layout their elements are one
/// contiguous run per outer index, in both the input and the output). An empty list means a
/// one-element input.
fn sum_blocks(shape: &[usize], axes: &[usize]) -> Vec<Block> {
    let mut blocks: Vec<Block> = Vec::with_capacity(shape.len());
    for (i, &len) in shape.iter().enumerate() {
        if len == 1 {
            continue;
        }
        let summed = axes.contains(&i);
        match blocks.last_mut() {
            Some(last) if last.summed == summed => last.len *= len,
            _ => blocks.push(Block { len, summed }),
        }
    }
    blocks
}

/// Adds the sums of `x` (standard-layout data over `blocks`) into `out` (standard-layout data
/// over the kept blocks), recursing over the outer blocks in memory order: along a kept block
/// the input and the output split alike, along a summed block every part of the input adds
/// into the same output. The innermost block is one tight loop over a contiguous run.
fn accumulate<F: Float>(out: &mut [F], x: &[F], blocks: &[Block]) {
    match blocks {
        [] => out[0] += x[0],
        [inner] if inner.summed => out[0] += sum_run(x),
        [_] => {
            for (o, &v) in out.iter_mut().zip(x) {
                *o += v;
            }
        }
        [outer, rest @ ..] => {
            let part = x.len() / outer.len;
            if outer.summed {
                for xs in x.chunks_exact(part) {
                    accumulate(out, xs, rest);
                }
            } else {
                let out_part = out.len() / outer.len;
                for (o, xs) in out.chunks_exact_mut(out_part).zip(x.chunks_exact(part)) {
                    accumulate(o, xs, rest);
                }
            }
        }
    }
}

/// `Σ x` in a fixed order that vectorises: partial sum `k` (of [`LANES`]) adds
/// `x[k], x[k + 16], x[k + 32], …` in turn; the partials are combined as a balanced tree,
/// halves first (`p[k] += p[k + 8]`, then `p[k] += p[k + 4]`, `p[k] += p[k + 2]`,
/// `p[0] += p[1]`), then the fewer than 16 trailing elements are added to `p[0]` in order.
fn sum_run<F: Float>(x: &[F]) -> F {
    let mut partial = [F::zero(); LANES];
    let chunks = x.chunks_exact(LANES);
    let tail = chunks.remainder();
    for chunk in chunks {
        for (p, &v) in partial.iter_mut().zip(chunk) {
            *p += v;
        }
    }
    let mut half = LANES / 2;
    while half > 0 {
        let (low, high) = partial.split_at_mut(half);
        for (p, &q) in low.iter_mut().zip(&*high) {
            *p += q;
        }
        half /= 2;
    }
    tail.iter().fold(partial[0], |s, &v| s + v)
}

/// [`sum_axes`] for input of any layout: ndarray's `sum_axis` on the view, one axis at a time
/// from the last (so that the remaining axis numbers stay valid).
fn sum_general<F: Float>(x: ArrayViewD<'_, F>, axes: &[usize], keepdim: bool) -> ArrayD<F> {
    let Some((&last, rest)) = axes.split_last() else {
        return x.as_standard_layout().into_owned();
    };
    let sum = |x: ArrayViewD<'_, F>, axis: usize| {
        let mut s = x.sum_axis(Axis(axis));
        if keepdim {
            s.insert_axis_inplace(Axis(axis));
        }
        s
    };
    let mut out = sum(x, last);
    for &axis in rest.iter().rev() {
        out = sum(out.view(), axis);
    }
    out
}

#[cfg(test)]
mod tests {
    //! `sum_axes` against an index-by-index sum in f64, over a table of shapes (the layers'
    //! bias gradients among them) and random ones, every subset of axes, both `keepdim`s.
    //!
    //! Two kinds of data. Random reals in (−1, 1): the kernel's order differs from the
    //! reference's, so they are compared within the bound that holds for *any* order of
    //! summing the `n` terms of an output element, `|ŝ − s| ≤ γ_{n−1}·Σ|x|` with
    //! `γ_k = k·u/(1 − k·u)`, `u = ε/2` (Higham, §4.2), plus the same bound for the f64
    //! reference (`u = 2⁻⁵³`). That bound grows with `n`, so for long sums it would let a
    //! misplaced term pass; hence also multiples of 1/16 in [−1, 1]: every partial sum of
    //! fewer than 2²⁰ of them is a multiple of 1/16 below 2²⁰ in magnitude, exact in f32 (24
    //! significant bits) and f64, so every order gives the exact sum and the results must be
    //! equal. Both kinds are summed in a one-thread and a three-thread pool: the order must
    //! not depend on the threads.

    use ndarray::{Array2, Dimension};
    use rand::rngs::StdRng;
    use rand::{Rng, SeedableRng};
    use rayon::{ThreadPool, ThreadPoolBuilder};

    use super::*;

    fn pools() -> [ThreadPool; 2] {
        [1, 3].map(|n| ThreadPoolBuilder::new().num_threads(n).build().unwrap())
    }

    #[derive(Clone, Copy, Debug)]
    enum Data {
        Reals,
        Sixteenths,
    }

    fn draw<F: Float>(rng: &mut StdRng, shape: &[usize], data: Data) -> ArrayD<F> {
        ArrayD::from_shape_simple_fn(IxDyn(shape), || match data {
            Data::Reals => F::from_f64(rng.gen_range(-1.0..1.0)),
            Data::Sixteenths => F::from_f64(f64::from(rng.gen_range(-16..=16)) / 16.0),
        })
    }

    fn gamma(k: usize, u: f64) -> f64 {
        let ku = k as f64 * u;
        assert!(ku < 0.5);
        ku / (1.0 - ku)
    }

    /// The sum over `axes` of `x` in f64, one input element at a time, with `Σ|x|` per output
    /// element (both in output order) and the number of terms of each.
    fn reference<F: Float>(x: ArrayViewD<'_, F>, axes: &[usize]) -> (Vec<f64>, Vec<f64>, usize) {
        // the output index of an input index, flattened: its kept axes in row-major order
        let mut strides = vec![0; x.ndim()];
        let mut len = 1;
        for i in (0..x.ndim()).rev().filter(|i| !axes.contains(i)) {
            strides[i] = len;
            len *= x.shape()[i];
        }
        let (mut sum, mut abs) = (vec![0.0; len], vec![0.0; len]);
        for (idx, &v) in x.indexed_iter() {
            let out: usize = idx.slice().iter().zip(&strides).map(|(i, s)| i * s).sum();
            sum[out] += v.as_f64();
            abs[out] += v.as_f64().abs();
        }
        let terms = axes.iter().map(|&a| x.shape()[a]).product();
        (sum, abs, terms)
    }

    /// `sum_axes` of `x` over `axes` with and without `keepdim`, in every pool, checked
    /// against the reference.
    fn check<F: Float>(
        x: ArrayViewD<'_, F>,
        axes: &[usize],
        data: Data,
        pools: &[ThreadPool],
    ) -> Result<(), String> {
        let (want, abs, n) = reference(x.view(), axes);
        assert!(n < 1 << 20, "sixteenths are summed exactly below 2²⁰ terms");
        let u = F::epsilon().as_f64() / 2.0;
        let bound = gamma(n.saturating_sub(1), u) + gamma(n.saturating_sub(1), f64::EPSILON / 2.0);
        for keepdim in [false, true] {
            let describe = || {
                format!(
                    "{:?} over {axes:?} (keepdim {keepdim}, {data:?})",
                    x.shape()
                )
            };
            let shape: Vec<usize> = (0..x.ndim())
                .filter(|i| keepdim || !axes.contains(i))
                .map(|i| if axes.contains(&i) { 1 } else { x.shape()[i] })
                .collect();
            let first = pools[0].install(|| sum_axes(x.view(), axes, keepdim));
            let Some(got) = first.as_slice().filter(|_| first.shape() == shape) else {
                return Err(format!("{}: shape {:?}", describe(), first.shape()));
            };
            for ((&got, &want), &abs) in got.iter().zip(&want).zip(&abs) {
                let ok = match data {
                    Data::Reals => (got.as_f64() - want).abs() <= bound * abs,
                    Data::Sixteenths => got.as_f64() == want,
                };
                if !ok {
                    return Err(format!("{}: {got} vs {want} (Σ|x| {abs})", describe()));
                }
            }
            let bits = |a: &ArrayD<F>| a.iter().map(|v| v.as_f64().to_bits()).collect::<Vec<_>>();
            for pool in &pools[1..] {
                let again = pool.install(|| sum_axes(x.view(), axes, keepdim));
                if bits(&again) != bits(&first) {
                    return Err(format!("{}: differs on more threads", describe()));
                }
            }
        }
        Ok(())
    }

    /// Every subset of the axes of `shape`, both kinds of data.
    fn check_all_subsets<F: Float>(
        rng: &mut StdRng,
        shape: &[usize],
        pools: &[ThreadPool],
    ) -> Vec<String> {
        let mut failures = Vec::new();
        for data in [Data::Reals, Data::Sixteenths] {
            let x = draw::<F>(rng, shape, data);
            for subset in 0..1usize << shape.len() {
                let axes: Vec<usize> = (0..shape.len())
                    .filter(|i| (subset >> i) & 1 == 1)
                    .collect();
                if let Err(e) = check(x.view(), &axes, data, pools) {
                    failures.push(e);
                }
            }
        }
        failures
    }

    /// The bias gradients of a conv layer (`[128, 6, 28, 28]` over (0, 2, 3)) and of a linear
    /// one (`[256, 800]` over 0), among size-1 axes, short and long runs, empty arrays.
    const TABLE: &[&[usize]] = &[
        &[128, 6, 28, 28],
        &[256, 800],
        &[],
        &[1],
        &[17],
        &[70000],
        &[1, 1, 1],
        &[3, 1, 4],
        &[1, 5, 1, 7],
        &[16, 16],
        &[33, 2, 17],
        &[2, 3, 4, 5, 3],
        &[300, 300],
        &[8, 1, 33, 1, 250],
        &[0, 3],
        &[2, 0, 4],
    ];

    fn table<F: Float>() {
        let pools = pools();
        let mut rng = StdRng::seed_from_u64(13);
        let failures: Vec<String> = TABLE
            .iter()
            .flat_map(|shape| check_all_subsets::<F>(&mut rng, shape, &pools))
            .collect();
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn sum_axes_matches_f64_reference_on_the_table_f32() {
        table::<f32>();
    }

    #[test]
    fn sum_axes_matches_f64_reference_on_the_table_f64() {
        table::<f64>();
    }

    /// Random shapes of rank 0 to 5, sizes 1 to 6 with size-1 axes frequent; every eighth one
    /// stretched along a random axis to at least 2¹⁶ elements.
    fn random_shapes<F: Float>() {
        let pools = pools();
        let mut rng = StdRng::seed_from_u64(17);
        let mut failures = Vec::new();
        for case in 0..120 {
            let large = case % 8 == 0;
            let rank = rng.gen_range(usize::from(large)..=5);
            let mut shape: Vec<usize> = (0..rank)
                .map(|_| {
                    if rng.gen_bool(0.3) {
                        1
                    } else {
                        rng.gen_range(2..=6)
                    }
                })
                .collect();
            if large {
                let len: usize = shape.iter().product();
                shape[rng.gen_range(0..rank)] *= (1usize << 16).div_ceil(len);
            }
            failures.extend(check_all_subsets::<F>(&mut rng, &shape, &pools));
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn sum_axes_matches_f64_reference_on_random_shapes_f32() {
        random_shapes::<f32>();
    }

    #[test]
    fn sum_axes_matches_f64_reference_on_random_shapes_f64() {
        random_shapes::<f64>();
    }

    /// Transposed and strided input takes ndarray's `sum_axis` on views; same sums.
    #[test]
    fn sum_axes_of_non_contiguous_input() {
        let pools = pools();
        let mut rng = StdRng::seed_from_u64(19);
        let x = draw::<f64>(&mut rng, &[30, 40, 5], Data::Sixteenths);
        let mut permuted = x.view();
        permuted.swap_axes(0, 2);
        let strided = x.slice_each_axis(|_| ndarray::Slice::new(0, None, 2));
        let t = Array2::from_shape_fn((6, 9), |(i, j)| (i * 9 + j) as f64);
        for v in [permuted, strided, t.t().into_dyn()] {
            assert!(v.as_slice().is_none());
            for subset in 0..1usize << v.ndim() {
                let axes: Vec<usize> = (0..v.ndim()).filter(|i| (subset >> i) & 1 == 1).collect();
                check(v.view(), &axes, Data::Sixteenths, &pools).unwrap();
            }
        }
    }

    /// The 16 partials and the tail: every run length up to three chunks sums exactly.
    #[test]
    fn sum_run_adds_every_element_once() {
        for len in 0..=3 * LANES + 1 {
            let x: Vec<f64> = (0..len).map(|i| (1u64 << i) as f64).collect();
            assert_eq!(sum_run(&x), ((1u64 << len) - 1) as f64, "length {len}");
        }
    }
}
