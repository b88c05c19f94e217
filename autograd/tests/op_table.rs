//! One table drives the gradient checks of every op, primitive or composite (in the manner of
//! JAX's `LAX_GRAD_OPS` and PyTorch's `OpInfo`).
//!
//! Each entry draws, from a seed, an instance of the op: random shapes (broadcasting shapes and
//! size-1 axes included), random op parameters (axes, indices, strides, ...) and random values
//! inside the op's domain. Values are kept away from kinks and ties by a margin much larger than
//! the finite-difference step, so the op is smooth within `±ε` of every point checked.
//! proptest draws the seeds; every entry is checked at first and at second order in `f64`.
//! `every_primitive_is_covered` fails when an op of `OpKind::ALL` is exercised by no entry.

use std::collections::BTreeSet;
use std::ops::Neg;
use std::sync::Arc;

use autograd::functional::{
    cross_entropy, gaussian_nll, kl_categorical, kl_diag_gaussian, mse, soft_cross_entropy,
};
use autograd::{gradcheck, gradgradcheck, Conv2dGeometry, OpKind, Result, Tape, Tolerance, Var};
use ndarray::{ArrayD, IxDyn};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::{Rng, SeedableRng};

type OpFn = Box<dyn for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>>>;

/// One drawn instance: the inputs and the function of them to check.
struct Instance {
    inputs: Vec<ArrayD<f64>>,
    f: OpFn,
}

fn op(
    f: impl for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>> + 'static,
) -> OpFn {
    Box::new(f)
}

fn inst(inputs: Vec<ArrayD<f64>>, f: OpFn) -> Instance {
    Instance { inputs, f }
}

// ---------------------------------------------------------------- shapes and values

/// A shape of rank `lo..=hi` with sizes 1..=4.
fn shape(rng: &mut StdRng, lo: usize, hi: usize) -> Vec<usize> {
    let rank = rng.gen_range(lo..=hi);
    (0..rank).map(|_| rng.gen_range(1..=4)).collect()
}

/// A shape that broadcasts against `s`: some leading axes dropped, some sizes set to 1.
fn broadcast_partner(rng: &mut StdRng, s: &[usize]) -> Vec<usize> {
    let drop = rng.gen_range(0..=s.len());
    s[drop..]
        .iter()
        .map(|&d| if rng.gen_bool(0.35) { 1 } else { d })
        .collect()
}

fn uniform(rng: &mut StdRng, s: &[usize], lo: f64, hi: f64) -> ArrayD<f64> {
    ArrayD::from_shape_simple_fn(IxDyn(s), || rng.gen_range(lo..hi))
}

/// Values in `(−2, 2)` at least `gap` away from every point of `kinks`.
fn away_from(rng: &mut StdRng, s: &[usize], kinks: &[f64], gap: f64) -> ArrayD<f64> {
    ArrayD::from_shape_simple_fn(IxDyn(s), || loop {
        let v = rng.gen_range(-2.0..2.0);
        if kinks.iter().all(|k| (v - k).abs() >= gap) {
            return v;
        }
    })
}

/// Distinct values, pairwise at least 0.2 apart (for max, sort, pooling: no ties within ε).
fn distinct(rng: &mut StdRng, s: &[usize]) -> ArrayD<f64> {
    let n: usize = s.iter().product();
    let mut ranks: Vec<usize> = (0..n).collect();
    ranks.shuffle(rng);
    let values = ranks
        .iter()
        .map(|&r| 0.25 * r as f64 - 0.125 * n as f64 + rng.gen_range(-0.02..0.02))
        .collect();
    ArrayD::from_shape_vec(IxDyn(s), values).unwrap()
}

/// Values on a grid of step 0.4 offset by `offset` (plus jitter ≤ 0.02): two grids with offsets
/// 0 and 0.2 never come closer than 0.16, so `max(a, b)` has no ties near any drawn point.
fn grid(rng: &mut StdRng, s: &[usize], offset: f64) -> ArrayD<f64> {
    ArrayD::from_shape_simple_fn(IxDyn(s), || {
        0.4 * rng.gen_range(-4..4) as f64 + offset + rng.gen_range(-0.02..0.02)
    })
}

fn axis(rng: &mut StdRng, s: &[usize]) -> isize {
    let a = rng.gen_range(0..s.len()) as isize;
    if rng.gen_bool(0.5) {
        a - s.len() as isize
    } else {
        a
    }
}

// ---------------------------------------------------------------- the table

type Gen = fn(&mut StdRng) -> Instance;

fn unary(rng: &mut StdRng, lo: f64, hi: f64, f: fn(Var<'_, f64>) -> Var<'_, f64>) -> Instance {
    let s = shape(rng, 0, 3);
    inst(vec![uniform(rng, &s, lo, hi)], op(move |_, x| Ok(f(x[0]))))
}

fn binary<G>(
    rng: &mut StdRng,
    values: G,
    f: for<'a> fn(Var<'a, f64>, Var<'a, f64>) -> Result<Var<'a, f64>>,
) -> Instance
where
    G: Fn(&mut StdRng, &[usize], usize) -> ArrayD<f64>,
{
    let a = shape(rng, 0, 3);
    let b = broadcast_partner(rng, &a);
    let (a, b) = if rng.gen_bool(0.5) { (a, b) } else { (b, a) };
    let inputs = vec![values(rng, &a, 0), values(rng, &b, 1)];
    inst(inputs, op(move |_, x| f(x[0], x[1])))
}

fn general(rng: &mut StdRng, s: &[usize], _: usize) -> ArrayD<f64> {
    uniform(rng, s, -2.0, 2.0)
}

fn matmul_case(rng: &mut StdRng, batched: bool) -> Instance {
    let (m, k, n) = (
        rng.gen_range(1..5),
        rng.gen_range(1..5),
        rng.gen_range(1..5),
    );
    let (ta, tb) = (rng.gen_bool(0.5), rng.gen_bool(0.5));
    let batch = if batched {
        vec![rng.gen_range(1..4)]
    } else {
        vec![]
    };
    let with = |dims: [usize; 2]| [batch.clone(), dims.to_vec()].concat();
    let a = with(if ta { [k, m] } else { [m, k] });
    let b = with(if tb { [n, k] } else { [k, n] });
    let inputs = vec![uniform(rng, &a, -2.0, 2.0), uniform(rng, &b, -2.0, 2.0)];
    inst(inputs, op(move |_, x| x[0].matmul_t(x[1], ta, tb)))
}

/// A random convolution: input `[n, c, h, w]`, weight `[o, c, kh, kw]`, geometry, output shape.
fn conv_setup(rng: &mut StdRng) -> ([usize; 4], [usize; 4], Conv2dGeometry, [usize; 4]) {
    let geom = Conv2dGeometry {
        stride: [rng.gen_range(1..=2), rng.gen_range(1..=2)],
        padding: [rng.gen_range(0..=2), rng.gen_range(0..=1)],
        dilation: [rng.gen_range(1..=2), rng.gen_range(1..=2)],
    };
    let (n, c, o) = (
        rng.gen_range(1..=2),
        rng.gen_range(1..=2),
        rng.gen_range(1..=2),
    );
    let (kh, kw) = (rng.gen_range(1..=3), rng.gen_range(1..=3));
    let span = |k: usize, d: usize| d * (k - 1) + 1;
    let h = span(kh, geom.dilation[0]) + rng.gen_range(0..3);
    let w = span(kw, geom.dilation[1]) + rng.gen_range(0..3);
    let out = |size: usize, k: usize, a: usize| {
        (size + 2 * geom.padding[a] - span(k, geom.dilation[a])) / geom.stride[a] + 1
    };
    let y = [n, o, out(h, kh, 0), out(w, kw, 1)];
    ([n, c, h, w], [o, c, kh, kw], geom, y)
}

fn logits_and_labels(rng: &mut StdRng) -> (Vec<usize>, Vec<usize>) {
    let (b, k) = (rng.gen_range(1..5), rng.gen_range(1..5));
    let labels = (0..b).map(|_| rng.gen_range(0..k)).collect();
    (vec![b, k], labels)
}

fn table() -> Vec<(&'static str, Gen)> {
    vec![
        // ---- unary primitives
        ("neg", |r| unary(r, -2.0, 2.0, |x| x.neg())),
        ("exp", |r| unary(r, -2.0, 2.0, |x| x.exp())),
        ("log", |r| unary(r, 0.3, 3.0, |x| x.log())),
        ("log1p", |r| unary(r, -0.6, 2.0, |x| x.log1p())),
        ("sqrt", |r| unary(r, 0.3, 3.0, |x| x.sqrt())),
        ("sigmoid", |r| unary(r, -3.0, 3.0, |x| x.sigmoid())),
        ("tanh", |r| unary(r, -2.0, 2.0, |x| x.tanh())),
        ("pow 3", |r| unary(r, -2.0, 2.0, |x| x.powf(3.0))),
        ("pow -1.5", |r| unary(r, 0.4, 2.0, |x| x.powf(-1.5))),
        ("add_scalar", |r| unary(r, -2.0, 2.0, |x| x.add_scalar(0.7))),
        ("mul_scalar", |r| {
            unary(r, -2.0, 2.0, |x| x.mul_scalar(-1.3))
        }),
        ("abs", |r| {
            let s = shape(r, 0, 3);
            inst(
                vec![away_from(r, &s, &[0.0], 0.1)],
                op(|_, x| Ok(x[0].abs())),
            )
        }),
        ("relu", |r| {
            let s = shape(r, 0, 3);
            inst(
                vec![away_from(r, &s, &[0.0], 0.1)],
                op(|_, x| Ok(x[0].relu())),
            )
        }),
        ("clamp", |r| {
            let s = shape(r, 0, 3);
            let v = away_from(r, &s, &[-1.0, 0.5], 0.1);
            inst(vec![v], op(|_, x| Ok(x[0].clamp(-1.0, 0.5))))
        }),
        // ---- binary primitives, broadcasting
        ("add", |r| binary(r, general, |a, b| a.try_add(b))),
        ("sub", |r| binary(r, general, |a, b| a.try_sub(b))),
        ("mul", |r| binary(r, general, |a, b| a.try_mul(b))),
        ("div", |r| {
            binary(
                r,
                |r, s, i| {
                    if i == 0 {
                        uniform(r, s, -2.0, 2.0)
                    } else {
                        away_from(r, s, &[0.0], 0.5)
                    }
                },
                |a, b| a.try_div(b),
            )
        }),
        ("maximum", |r| {
            binary(r, |r, s, i| grid(r, s, 0.2 * i as f64), |a, b| a.maximum(b))
        }),
        ("minimum", |r| {
            binary(r, |r, s, i| grid(r, s, 0.2 * i as f64), |a, b| a.minimum(b))
        }),
        // ---- reductions
        ("sum", |r| unary(r, -2.0, 2.0, |x| x.sum())),
        ("mean", |r| unary(r, -2.0, 2.0, |x| x.mean())),
        ("sum_axes", |r| {
            let s = shape(r, 1, 4);
            let mut axes: Vec<isize> = (0..s.len() as isize).filter(|_| r.gen_bool(0.5)).collect();
            axes.shuffle(r);
            let keepdim = r.gen_bool(0.5);
            inst(
                vec![uniform(r, &s, -2.0, 2.0)],
                op(move |_, x| x[0].sum_axes(&axes, keepdim)),
            )
        }),
        ("mean_axis", |r| {
            let s = shape(r, 1, 3);
            let (a, keepdim) = (axis(r, &s), r.gen_bool(0.5));
            inst(
                vec![uniform(r, &s, -2.0, 2.0)],
                op(move |_, x| x[0].mean_axis(a, keepdim)),
            )
        }),
        ("sum_to", |r| {
            let s = shape(r, 0, 3);
            let target = broadcast_partner(r, &s);
            inst(
                vec![uniform(r, &s, -2.0, 2.0)],
                op(move |_, x| x[0].sum_to(&target)),
            )
        }),
        // ---- movement
        ("reshape", |r| {
            let s = shape(r, 1, 3);
            let n: usize = s.iter().product();
            let target = if r.gen_bool(0.5) {
                vec![n]
            } else {
                vec![1, n, 1]
            };
            inst(
                vec![uniform(r, &s, -2.0, 2.0)],
                op(move |_, x| x[0].reshape(&target)),
            )
        }),
        ("flatten_from", |r| {
            let s = shape(r, 1, 4);
            let start = r.gen_range(0..=s.len());
            inst(
                vec![uniform(r, &s, -2.0, 2.0)],
                op(move |_, x| x[0].flatten_from(start)),
            )
        }),
        ("permute", |r| {
            let s = shape(r, 1, 4);
            let mut axes: Vec<usize> = (0..s.len()).collect();
            axes.shuffle(r);
            inst(
                vec![uniform(r, &s, -2.0, 2.0)],
                op(move |_, x| x[0].permute(&axes)),
            )
        }),
        ("t", |r| {
            let s = shape(r, 2, 3);
            inst(vec![uniform(r, &s, -2.0, 2.0)], op(|_, x| x[0].t()))
        }),
        ("broadcast_to", |r| {
            let target = shape(r, 1, 3);
            let s = broadcast_partner(r, &target);
            inst(
                vec![uniform(r, &s, -2.0, 2.0)],
                op(move |_, x| x[0].broadcast_to(&target)),
            )
        }),
        ("slice", |r| {
            let s = shape(r, 1, 3);
            let a = axis(r, &s);
            let len = s[a.rem_euclid(s.len() as isize) as usize];
            let start = r.gen_range(0..=len);
            let end = r.gen_range(start..=len);
            inst(
                vec![uniform(r, &s, -2.0, 2.0)],
                op(move |_, x| x[0].slice(a, start, end)),
            )
        }),
        ("pad", |r| {
            let s = shape(r, 1, 3);
            let (a, before, after) = (axis(r, &s), r.gen_range(0..3), r.gen_range(0..3));
            inst(
                vec![uniform(r, &s, -2.0, 2.0)],
                op(move |_, x| x[0].pad(a, before, after)),
            )
        }),
        ("concat", |r| {
            let s = shape(r, 1, 3);
            let a = r.gen_range(0..s.len());
            let parts = r.gen_range(1..=3);
            let inputs = (0..parts)
                .map(|_| {
                    let mut si = s.clone();
                    si[a] = r.gen_range(1..=3);
                    uniform(r, &si, -2.0, 2.0)
                })
                .collect();
            inst(inputs, op(move |_, x| Var::concat(x, a as isize)))
        }),
        ("stack", |r| {
            let s = shape(r, 0, 2);
            let a = r.gen_range(0..=s.len());
            let inputs = (0..r.gen_range(1..=3))
                .map(|_| uniform(r, &s, -2.0, 2.0))
                .collect();
            inst(inputs, op(move |_, x| Var::stack(x, a)))
        }),
        // ---- gather / scatter and the indexing composites
        ("take_flat", |r| {
            let s = shape(r, 1, 3);
            let n: usize = s.iter().product();
            let out = shape(r, 0, 2);
            let idx: Arc<[usize]> = (0..out.iter().product())
                .map(|_| r.gen_range(0..n))
                .collect();
            inst(
                vec![uniform(r, &s, -2.0, 2.0)],
                op(move |_, x| x[0].take_flat(idx.clone(), &out)),
            )
        }),
        ("scatter_add_flat", |r| {
            let s = shape(r, 1, 3);
            let target = shape(r, 1, 2);
            let n: usize = target.iter().product();
            let idx: Arc<[usize]> = (0..s.iter().product()).map(|_| r.gen_range(0..n)).collect();
            inst(
                vec![uniform(r, &s, -2.0, 2.0)],
                op(move |_, x| x[0].scatter_add_flat(idx.clone(), &target)),
            )
        }),
        ("index_select", |r| {
            let s = shape(r, 1, 3);
            let a = axis(r, &s);
            let len = s[a.rem_euclid(s.len() as isize) as usize];
            let idx: Vec<usize> = (0..r.gen_range(0..5))
                .map(|_| r.gen_range(0..len))
                .collect();
            inst(
                vec![uniform(r, &s, -2.0, 2.0)],
                op(move |_, x| x[0].index_select(a, &idx)),
            )
        }),
        ("gather", |r| {
            let s = shape(r, 1, 3);
            let a = r.gen_range(0..s.len());
            let mut is: Vec<usize> = s.iter().map(|&d| r.gen_range(1..=d)).collect();
            is[a] = r.gen_range(1..=4);
            let index = ArrayD::from_shape_simple_fn(IxDyn(&is), || r.gen_range(0..s[a]));
            inst(
                vec![uniform(r, &s, -2.0, 2.0)],
                op(move |_, x| x[0].gather(a as isize, &index)),
            )
        }),
        ("max_axis", |r| {
            let s = shape(r, 1, 3);
            let (a, keepdim) = (axis(r, &s), r.gen_bool(0.5));
            inst(
                vec![distinct(r, &s)],
                op(move |_, x| x[0].max_axis(a, keepdim)),
            )
        }),
        ("min_axis", |r| {
            let s = shape(r, 1, 3);
            let (a, keepdim) = (axis(r, &s), r.gen_bool(0.5));
            inst(
                vec![distinct(r, &s)],
                op(move |_, x| x[0].min_axis(a, keepdim)),
            )
        }),
        ("sort", |r| {
            let s = shape(r, 1, 3);
            let (a, descending) = (axis(r, &s), r.gen_bool(0.5));
            inst(
                vec![distinct(r, &s)],
                op(move |_, x| x[0].sort(a, descending)),
            )
        }),
        ("group_sort", |r| {
            let mut s = shape(r, 1, 3);
            let group = r.gen_range(1..=3);
            *s.last_mut().unwrap() = group * r.gen_range(1..=2);
            inst(
                vec![distinct(r, &s)],
                op(move |_, x| x[0].group_sort(group, -1)),
            )
        }),
        ("max_min", |r| {
            let s = vec![r.gen_range(1..=3), 2 * r.gen_range(1..=3)];
            inst(vec![distinct(r, &s)], op(|_, x| x[0].max_min(1)))
        }),
        ("max_pool2d", |r| {
            let kernel = [r.gen_range(1..=3), r.gen_range(1..=2)];
            let stride = [r.gen_range(1..=2), r.gen_range(1..=3)];
            let s = [
                r.gen_range(1..=2),
                r.gen_range(1..=2),
                kernel[0] + r.gen_range(0..4),
                kernel[1] + r.gen_range(0..4),
            ];
            inst(
                vec![distinct(r, &s)],
                op(move |_, x| x[0].max_pool2d(kernel, stride)),
            )
        }),
        ("argmax picks (max via gather)", |r| {
            let s = shape(r, 2, 2);
            inst(
                vec![distinct(r, &s)],
                op(|_, x| {
                    let idx = x[0].argmax(1)?;
                    let index = ArrayD::from_shape_vec(IxDyn(&[idx.len(), 1]), idx).unwrap();
                    x[0].gather(1, &index)
                }),
            )
        }),
        // ---- linear algebra
        ("matmul (all transpositions)", |r| matmul_case(r, false)),
        ("matmul batched (all transpositions)", |r| {
            matmul_case(r, true)
        }),
        ("matmul 3-D × 2-D", |r| {
            let (b, m, k, n) = (
                r.gen_range(1..4),
                r.gen_range(1..4),
                r.gen_range(1..4),
                r.gen_range(1..4),
            );
            let inputs = vec![
                uniform(r, &[b, m, k], -2.0, 2.0),
                uniform(r, &[k, n], -2.0, 2.0),
            ];
            inst(inputs, op(|_, x| x[0].matmul(x[1])))
        }),
        // ---- convolution and its adjoints
        ("conv2d", |r| {
            let (x, w, geom, _) = conv_setup(r);
            let inputs = vec![uniform(r, &x, -1.0, 1.0), uniform(r, &w, -1.0, 1.0)];
            inst(inputs, op(move |_, v| v[0].conv2d(v[1], geom)))
        }),
        ("conv2d_input_grad", |r| {
            let (x, w, geom, y) = conv_setup(r);
            let inputs = vec![uniform(r, &y, -1.0, 1.0), uniform(r, &w, -1.0, 1.0)];
            inst(
                inputs,
                op(move |_, v| Var::conv2d_input_grad(v[0], v[1], geom, [x[2], x[3]])),
            )
        }),
        ("conv2d_weight_grad", |r| {
            let (x, w, geom, y) = conv_setup(r);
            let inputs = vec![uniform(r, &x, -1.0, 1.0), uniform(r, &y, -1.0, 1.0)];
            inst(
                inputs,
                op(move |_, v| Var::conv2d_weight_grad(v[0], v[1], geom, [w[2], w[3]])),
            )
        }),
        // ---- composite activations and normalisers
        ("square", |r| unary(r, -2.0, 2.0, |x| x.square())),
        ("softplus", |r| unary(r, -4.0, 4.0, |x| x.softplus())),
        ("leaky_relu", |r| {
            let s = shape(r, 0, 3);
            inst(
                vec![away_from(r, &s, &[0.0], 0.1)],
                op(|_, x| Ok(x[0].leaky_relu(0.1))),
            )
        }),
        ("logsumexp", |r| {
            let s = shape(r, 1, 3);
            let (a, keepdim) = (axis(r, &s), r.gen_bool(0.5));
            inst(
                vec![distinct(r, &s)],
                op(move |_, x| x[0].logsumexp(a, keepdim)),
            )
        }),
        ("softmax", |r| {
            let s = shape(r, 1, 3);
            let a = axis(r, &s);
            inst(vec![distinct(r, &s)], op(move |_, x| x[0].softmax(a)))
        }),
        ("log_softmax", |r| {
            let s = shape(r, 1, 3);
            let a = axis(r, &s);
            inst(vec![distinct(r, &s)], op(move |_, x| x[0].log_softmax(a)))
        }),
        // ---- losses
        ("cross_entropy", |r| {
            let (s, labels) = logits_and_labels(r);
            inst(
                vec![distinct(r, &s)],
                op(move |_, x| cross_entropy(x[0], &labels)),
            )
        }),
        ("soft_cross_entropy", |r| {
            let (s, _) = logits_and_labels(r);
            let t = r.gen_range(0.5..4.0);
            let inputs = vec![distinct(r, &s), uniform(r, &s, 0.0, 1.0)];
            inst(inputs, op(move |_, x| soft_cross_entropy(x[0], x[1], t)))
        }),
        ("kl_categorical", |r| {
            let (s, _) = logits_and_labels(r);
            let inputs = vec![distinct(r, &s), distinct(r, &s)];
            inst(
                inputs,
                op(|_, x| kl_categorical(x[0].log_softmax(1)?, x[1].log_softmax(1)?)),
            )
        }),
        ("kl_diag_gaussian", |r| {
            let s = shape(r, 1, 2);
            let inputs = (0..4).map(|_| uniform(r, &s, -1.0, 1.0)).collect();
            inst(inputs, op(|_, x| kl_diag_gaussian(x[0], x[1], x[2], x[3])))
        }),
        ("mse", |r| {
            let s = shape(r, 0, 3);
            let inputs = vec![uniform(r, &s, -2.0, 2.0), uniform(r, &s, -2.0, 2.0)];
            inst(inputs, op(|_, x| mse(x[0], x[1])))
        }),
        ("gaussian_nll", |r| {
            let s = shape(r, 1, 3);
            let v = broadcast_partner(r, &s);
            let inputs = vec![
                uniform(r, &s, -2.0, 2.0),
                uniform(r, &v, -1.0, 1.0),
                uniform(r, &s, -2.0, 2.0),
            ];
            inst(inputs, op(|_, x| gaussian_nll(x[0], x[1], x[2])))
        }),
    ]
}

// ---------------------------------------------------------------- the checks

fn run_table(
    order: &str,
    cases: u32,
    check: impl Fn(&Instance) -> Result<autograd::GradCheckReport>,
) {
    let mut failures = Vec::new();
    for (name, generate) in table() {
        let mut runner = TestRunner::new(Config {
            cases,
            failure_persistence: None,
            ..Config::default()
        });
        let outcome = runner.run(&any::<u64>(), |seed| {
            let instance = generate(&mut StdRng::seed_from_u64(seed));
            let report =
                check(&instance).map_err(|e| TestCaseError::fail(format!("error: {e}")))?;
            prop_assert!(report.passed(), "seed {seed}: {report}");
            Ok(())
        });
        if let Err(e) = outcome {
            failures.push(format!("{name} ({order} order): {e}"));
        }
    }
    assert!(
        failures.is_empty(),
        "gradient checks failed:\n{}",
        failures.join("\n")
    );
}

#[test]
fn first_order_gradients_of_every_op() {
    run_table("first", 24, |i| {
        gradcheck(&*i.f, &i.inputs, Tolerance::default())
    });
}

#[test]
fn second_order_gradients_of_every_op() {
    run_table("second", 10, |i| {
        gradgradcheck(&*i.f, &i.inputs, Tolerance::default())
    });
}

/// Runs every entry forward, then a recorded first backward (which records the VJP rules'
/// own ops), and collects the kinds of op on the tape.
#[test]
fn every_primitive_is_covered() {
    let mut seen = BTreeSet::new();
    for (_, generate) in table() {
        for seed in 0..8 {
            let instance = generate(&mut StdRng::seed_from_u64(seed));
            let tape = Tape::new();
            let xs: Vec<_> = instance
                .inputs
                .iter()
                .map(|x| tape.param(x.view()))
                .collect();
            let out = (instance.f)(&tape, &xs).unwrap().sum();
            let grads = tape.grad_graph(out, &xs).unwrap();
            let total = grads.iter().fold(tape.scalar(0.0), |acc, g| acc + g.sum());
            let _ = tape.grad_graph(total, &xs).unwrap();
            seen.extend(tape.recorded_ops());
        }
    }
    let missing: Vec<OpKind> = OpKind::ALL
        .iter()
        .copied()
        .filter(|k| !seen.contains(k))
        .collect();
    assert!(
        missing.is_empty(),
        "ops exercised by no entry of the table: {missing:?}"
    );
}
