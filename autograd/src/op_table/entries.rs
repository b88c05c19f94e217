//! The table itself: one entry per op (or op variant).

use std::ops::Neg;
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use super::values::{away_from, axis, broadcast_partner, distinct, grid, shape, uniform};
use super::{inst, op, Entry, Instance};
use crate::functional::{
    cross_entropy, gaussian_nll, kl, soft_cross_entropy, squared_error, Categorical, DiagGaussian,
    Reduction,
};
use crate::{Conv2dGeometry, Result, Var};

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

/// `op_a(A)·op_b(B)` with random inner sizes, transposed as asked, batched or not.
fn matmul_case(rng: &mut StdRng, batched: bool, ta: bool, tb: bool) -> Instance {
    let (m, k, n) = (
        rng.gen_range(1..5),
        rng.gen_range(1..5),
        rng.gen_range(1..5),
    );
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

/// Sum or mean, each half of the time: every loss is checked with both reductions.
fn reduction(rng: &mut StdRng) -> Reduction {
    if rng.gen_bool(0.5) {
        Reduction::Sum
    } else {
        Reduction::Mean
    }
}

/// Every op, primitive or composite: its name and how to draw an instance of it.
pub const TABLE: &[Entry] = &[
    // ---- unary primitives
    ("neg", |r| unary(r, -2.0, 2.0, |x| x.neg())),
    ("exp", |r| unary(r, -2.0, 2.0, |x| x.exp())),
    ("log", |r| unary(r, 0.3, 3.0, |x| x.log())),
    ("log1p", |r| unary(r, -0.6, 2.0, |x| x.log1p())),
    ("sqrt", |r| unary(r, 0.3, 3.0, |x| x.sqrt())),
    ("sigmoid", |r| unary(r, -3.0, 3.0, |x| x.sigmoid())),
    ("tanh", |r| unary(r, -2.0, 2.0, |x| x.tanh())),
    ("pow_3", |r| unary(r, -2.0, 2.0, |x| x.powf(3.0))),
    ("pow_-1.5", |r| unary(r, 0.4, 2.0, |x| x.powf(-1.5))),
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
    ("argmax_gather", |r| {
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
    ("matmul", |r| matmul_case(r, false, false, false)),
    ("matmul_ta", |r| matmul_case(r, false, true, false)),
    ("matmul_tb", |r| matmul_case(r, false, false, true)),
    ("matmul_ta_tb", |r| matmul_case(r, false, true, true)),
    ("matmul_batched", |r| matmul_case(r, true, false, true)),
    ("matmul_batched_ta", |r| matmul_case(r, true, true, false)),
    ("matmul_3d_2d", |r| {
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
        inst(inputs, op(move |_, v| v[0].conv2d(v[1], None, geom)))
    }),
    ("conv2d_bias", |r| {
        let (x, w, geom, _) = conv_setup(r);
        let inputs = vec![
            uniform(r, &x, -1.0, 1.0),
            uniform(r, &w, -1.0, 1.0),
            uniform(r, &[w[0]], -1.0, 1.0),
        ];
        inst(inputs, op(move |_, v| v[0].conv2d(v[1], Some(v[2]), geom)))
    }),
    ("conv2d_input_grad", |r| {
        let (x, w, geom, y) = conv_setup(r);
        let inputs = vec![uniform(r, &y, -1.0, 1.0), uniform(r, &w, -1.0, 1.0)];
        inst(
            inputs,
            op(move |_, v| v[0].conv2d_input_grad(v[1], geom, [x[2], x[3]])),
        )
    }),
    ("conv2d_weight_grad", |r| {
        let (x, w, geom, y) = conv_setup(r);
        let inputs = vec![uniform(r, &x, -1.0, 1.0), uniform(r, &y, -1.0, 1.0)];
        inst(
            inputs,
            op(move |_, v| v[1].conv2d_weight_grad(v[0], geom, [w[2], w[3]])),
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
        let reduction = reduction(r);
        inst(
            vec![distinct(r, &s)],
            op(move |_, x| cross_entropy(x[0], &labels, reduction)),
        )
    }),
    ("soft_cross_entropy", |r| {
        let (s, _) = logits_and_labels(r);
        let (t, reduction) = (r.gen_range(0.5..4.0), reduction(r));
        let inputs = vec![distinct(r, &s), uniform(r, &s, 0.0, 1.0)];
        inst(
            inputs,
            op(move |_, x| soft_cross_entropy(x[0], x[1], t, reduction)),
        )
    }),
    ("kl_categorical", |r| {
        let (s, _) = logits_and_labels(r);
        let reduction = reduction(r);
        let inputs = vec![distinct(r, &s), distinct(r, &s)];
        inst(
            inputs,
            op(move |_, x| {
                let q = Categorical::from_logits(x[0])?;
                kl(&q, &Categorical::from_logits(x[1])?, reduction)
            }),
        )
    }),
    ("kl_diag_gaussian", |r| {
        let s = shape(r, 1, 2);
        let p = broadcast_partner(r, &s);
        let reduction = reduction(r);
        let inputs = vec![
            uniform(r, &s, -1.0, 1.0),
            uniform(r, &s, -1.0, 1.0),
            uniform(r, &p, -1.0, 1.0),
            uniform(r, &p, -1.0, 1.0),
        ];
        inst(
            inputs,
            op(move |_, x| {
                let q = DiagGaussian::new(x[0], x[1])?;
                kl(&q, &DiagGaussian::new(x[2], x[3])?, reduction)
            }),
        )
    }),
    ("squared_error", |r| {
        let s = shape(r, 0, 3);
        let reduction = reduction(r);
        let inputs = vec![uniform(r, &s, -2.0, 2.0), uniform(r, &s, -2.0, 2.0)];
        inst(inputs, op(move |_, x| squared_error(x[0], x[1], reduction)))
    }),
    ("gaussian_nll", |r| {
        let s = shape(r, 1, 3);
        let v = broadcast_partner(r, &s);
        let reduction = reduction(r);
        let inputs = vec![
            uniform(r, &s, -2.0, 2.0),
            uniform(r, &v, -1.0, 1.0),
            uniform(r, &s, -2.0, 2.0),
        ];
        inst(
            inputs,
            op(move |_, x| gaussian_nll(&DiagGaussian::new(x[0], x[1])?, x[2], reduction)),
        )
    }),
];
