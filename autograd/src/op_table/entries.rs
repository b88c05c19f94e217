//! The table itself: one entry per op (or op variant).

use std::ops::Neg;
use std::sync::Arc;

use ndarray::{ArrayD, IxDyn};
use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;

use super::values::{away_from, axis, broadcast_partner, distinct, grid, shape, uniform};
use super::{inst, op, Backward, Doc, Entry, Instance, Site};
use crate::functional::{
    cross_entropy, gaussian_nll, kl, soft_cross_entropy, squared_error, Categorical, DiagGaussian,
    Reduction,
};
use crate::{Conv2dGeometry, Result, Var};

const UNARY: &str = "autograd/src/ops/unary.rs";
const BINARY: &str = "autograd/src/ops/binary.rs";
const REDUCE: &str = "autograd/src/ops/reduce.rs";
const MOVEMENT: &str = "autograd/src/ops/movement.rs";
const INDEX: &str = "autograd/src/ops/index.rs";
const LINALG: &str = "autograd/src/ops/linalg.rs";
const CONV: &str = "autograd/src/ops/conv.rs";
const SOFTMAX_OP: &str = "autograd/src/ops/softmax.rs";
const ACTIVATION: &str = "autograd/src/functional/activation.rs";
const INDEXING: &str = "autograd/src/functional/indexing.rs";
const SOFTMAX: &str = "autograd/src/functional/softmax.rs";
const LOSS: &str = "autograd/src/functional/loss.rs";
const DISTRIBUTION: &str = "autograd/src/functional/distribution.rs";

const fn at(file: &'static str, anchor: &'static str) -> Site {
    Site { file, anchor }
}

/// A primitive: its formula, its VJP in words, its forward and its VJP rule.
const fn primitive(formula: &'static str, vjp: &'static str, forward: Site, rule: Site) -> Doc {
    Doc {
        formula,
        vjp,
        forward,
        backward: Backward::Rule(rule),
    }
}

/// A composite: its formula, the VJP the tape composes (in words), its forward.
const fn composite(formula: &'static str, vjp: &'static str, forward: Site) -> Doc {
    Doc {
        formula,
        vjp,
        forward,
        backward: Backward::Composite,
    }
}

const fn entry(name: &'static str, doc: Doc, draw: fn(&mut StdRng) -> Instance) -> Entry {
    Entry { name, doc, draw }
}

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
    entry("neg", primitive("y = −x", "x̄ = −ȳ", at(UNARY, "fn neg(self) -> Var<'t, F>"), at(UNARY, "Unary::Neg => g.neg()")), |r| unary(r, -2.0, 2.0, |x| x.neg())),
    entry("exp", primitive("y = eˣ", "x̄ = ȳ·y (the output itself)", at(UNARY, "pub fn exp(self)"), at(UNARY, "Unary::Exp => g.try_mul(y)?")), |r| unary(r, -2.0, 2.0, |x| x.exp())),
    entry("log", primitive("y = ln x  (x > 0)", "x̄ = ȳ / x", at(UNARY, "pub fn log(self)"), at(UNARY, "Unary::Log => g.try_div(x)?")), |r| unary(r, 0.3, 3.0, |x| x.log())),
    entry("log1p", primitive("y = ln(1 + x)  (x > −1)", "x̄ = ȳ / (1 + x)", at(UNARY, "pub fn log1p(self)"), at(UNARY, "Unary::Log1p => g.try_div(x.add_scalar(1.0))?")), |r| unary(r, -0.6, 2.0, |x| x.log1p())),
    entry("sqrt", primitive("y = √x  (x > 0)", "x̄ = ȳ / (2y)", at(UNARY, "pub fn sqrt(self)"), at(UNARY, "Unary::Sqrt => g.try_div(y)?.mul_scalar(0.5)")), |r| unary(r, 0.3, 3.0, |x| x.sqrt())),
    entry("sigmoid", primitive("y = σ(x) = 1 / (1 + e⁻ˣ)", "x̄ = ȳ·y·(1 − y)", at(UNARY, "pub fn sigmoid(self)"), at(UNARY, "Unary::Sigmoid => g.try_mul(y.try_sub(y.square())?)?")), |r| unary(r, -3.0, 3.0, |x| x.sigmoid())),
    entry("tanh", primitive("y = tanh x", "x̄ = ȳ·(1 − y²), applied as ȳ − (ȳ·y)·y", at(UNARY, "pub fn tanh(self)"), at(UNARY, "Unary::Tanh => g.try_sub(")), |r| unary(r, -2.0, 2.0, |x| x.tanh())),
    entry("pow_3", primitive("y = xᵖ with p = 3 (powf)", "x̄ = ȳ·p·xᵖ⁻¹ = 3·ȳ·x²", at(UNARY, "pub fn powf("), at(UNARY, "// d xᵖ = p xᵖ⁻¹")), |r| unary(r, -2.0, 2.0, |x| x.powf(3.0))),
    entry("pow_-1.5", primitive("y = xᵖ with p = −1.5 (powf; x > 0)", "x̄ = ȳ·p·xᵖ⁻¹ = −1.5·ȳ·x^(−2.5)", at(UNARY, "pub fn powf("), at(UNARY, "// d xᵖ = p xᵖ⁻¹")), |r| unary(r, 0.4, 2.0, |x| x.powf(-1.5))),
    entry("add_scalar", primitive("y = x + c", "x̄ = ȳ", at(UNARY, "pub fn add_scalar("), at(UNARY, "Unary::AddScalar(_) => g,")), |r| unary(r, -2.0, 2.0, |x| x.add_scalar(0.7))),
    entry("mul_scalar", primitive("y = c·x", "x̄ = c·ȳ", at(UNARY, "pub fn mul_scalar("), at(UNARY, "Unary::MulScalar(c) => g.mul_scalar(c),")), |r| {
        unary(r, -2.0, 2.0, |x| x.mul_scalar(-1.3))
    }),
    entry("abs", primitive("y = |x|", "x̄ = ȳ·sign(x), the sign a constant mask (sign 0 = 0, a subgradient)", at(UNARY, "pub fn abs(self)"), at(UNARY, "op @ (Unary::Abs | Unary::Relu | Unary::Clamp { .. }) => g.try_mul(mask(op))?")), |r| {
        let s = shape(r, 0, 3);
        inst(
            vec![away_from(r, &s, &[0.0], 0.1)],
            op(|_, x| Ok(x[0].abs())),
        )
    }),
    entry("relu", primitive("y = max(x, 0)", "x̄ = ȳ·1[x > 0], the indicator a constant mask", at(UNARY, "pub fn relu(self)"), at(UNARY, "op @ (Unary::Abs | Unary::Relu | Unary::Clamp { .. }) => g.try_mul(mask(op))?")), |r| {
        let s = shape(r, 0, 3);
        inst(
            vec![away_from(r, &s, &[0.0], 0.1)],
            op(|_, x| Ok(x[0].relu())),
        )
    }),
    entry("clamp", primitive("y = min(max(x, lo), hi)", "x̄ = ȳ·1[lo ≤ x ≤ hi], the indicator a constant mask", at(UNARY, "pub fn clamp("), at(UNARY, "op @ (Unary::Abs | Unary::Relu | Unary::Clamp { .. }) => g.try_mul(mask(op))?")), |r| {
        let s = shape(r, 0, 3);
        let v = away_from(r, &s, &[-1.0, 0.5], 0.1);
        inst(vec![v], op(|_, x| Ok(x[0].clamp(-1.0, 0.5))))
    }),
    // ---- binary primitives, broadcasting
    entry("add", primitive("y = a + b  (broadcasting)", "ā = ȳ, b̄ = ȳ, each summed over the axes it was broadcast along (sum_to its own shape)", at(BINARY, "pub fn try_add("), at(BINARY, "Binary::Add => (Some(g), Some(g)),")), |r| binary(r, general, |a, b| a.try_add(b))),
    entry("sub", primitive("y = a − b  (broadcasting)", "ā = ȳ, b̄ = −ȳ, each summed over the axes it was broadcast along (sum_to its own shape)", at(BINARY, "pub fn try_sub("), at(BINARY, "Binary::Sub => (Some(g), v.grad_if(1, || Ok(g.neg()))?),")), |r| binary(r, general, |a, b| a.try_sub(b))),
    entry("mul", primitive("y = a ⊙ b  (broadcasting)", "ā = ȳ ⊙ b, b̄ = ȳ ⊙ a, each summed over the axes it was broadcast along (sum_to its own shape)", at(BINARY, "pub fn try_mul("), at(BINARY, "Binary::Mul => (")), |r| binary(r, general, |a, b| a.try_mul(b))),
    entry("div", primitive("y = a / b  (broadcasting)", "ā = ȳ / b, b̄ = −(ȳ / b) ⊙ y, each summed over the axes it was broadcast along (sum_to its own shape)", at(BINARY, "pub fn try_div("), at(BINARY, "Binary::Div => {")), |r| {
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
    entry("maximum", primitive("y = max(a, b) elementwise", "ā = ȳ·1[a ≥ b], b̄ = ȳ·1[a < b] (constant masks: a tie goes to a), each summed over the axes it was broadcast along (sum_to its own shape)", at(BINARY, "pub fn maximum("), at(BINARY, "// ∂max(a, b) = (1[a ≥ b], 1[a < b])")), |r| {
        binary(r, |r, s, i| grid(r, s, 0.2 * i as f64), |a, b| a.maximum(b))
    }),
    entry("minimum", primitive("y = min(a, b) elementwise", "ā = ȳ·1[a ≤ b], b̄ = ȳ·1[a > b] (constant masks: a tie goes to a), each summed over the axes it was broadcast along (sum_to its own shape)", at(BINARY, "pub fn minimum("), at(BINARY, "// ∂max(a, b) = (1[a ≥ b], 1[a < b])")), |r| {
        binary(r, |r, s, i| grid(r, s, 0.2 * i as f64), |a, b| a.minimum(b))
    }),
    // ---- reductions
    entry("sum", primitive("y = Σᵢ xᵢ  (every element)", "x̄ = ȳ broadcast to x's shape", at(REDUCE, "pub fn sum(self)"), at(REDUCE, "pub(crate) fn vjp")), |r| unary(r, -2.0, 2.0, |x| x.sum())),
    entry("mean", composite("y = (1/n) Σᵢ xᵢ  (every element)", "composite (sum, then × 1/n): x̄ = ȳ/n everywhere", at(REDUCE, "pub fn mean(self)")), |r| unary(r, -2.0, 2.0, |x| x.mean())),
    entry("sum_axes", primitive("y = Σ over the given axes (kept as size-1 axes or dropped)", "x̄ = ȳ, reshaped with size-1 axes where it was summed, broadcast to x's shape", at(REDUCE, "pub fn sum_axes("), at(REDUCE, "pub(crate) fn vjp")), |r| {
        let s = shape(r, 1, 4);
        let mut axes: Vec<isize> = (0..s.len() as isize).filter(|_| r.gen_bool(0.5)).collect();
        axes.shuffle(r);
        let keepdim = r.gen_bool(0.5);
        inst(
            vec![uniform(r, &s, -2.0, 2.0)],
            op(move |_, x| x[0].sum_axes(&axes, keepdim)),
        )
    }),
    entry("mean_axis", composite("y = (1/n) Σ along one axis", "composite (sum_axes, then × 1/n): x̄ = ȳ/n broadcast along the axis", at(REDUCE, "pub fn mean_axis(")), |r| {
        let s = shape(r, 1, 3);
        let (a, keepdim) = (axis(r, &s), r.gen_bool(0.5));
        inst(
            vec![uniform(r, &s, -2.0, 2.0)],
            op(move |_, x| x[0].mean_axis(a, keepdim)),
        )
    }),
    entry("sum_to", composite("y = x summed down to a shape x was broadcast from (the reverse of broadcast_to)", "composite (sum_axes, reshape): x̄ = ȳ broadcast back to x's shape", at(REDUCE, "pub fn sum_to(")), |r| {
        let s = shape(r, 0, 3);
        let target = broadcast_partner(r, &s);
        inst(
            vec![uniform(r, &s, -2.0, 2.0)],
            op(move |_, x| x[0].sum_to(&target)),
        )
    }),
    // ---- movement
    entry("reshape", primitive("y = x with a new shape (the same elements in row-major order)", "x̄ = ȳ reshaped back to x's shape", at(MOVEMENT, "pub fn reshape("), at(MOVEMENT, "Movement::Reshape => one(g.reshape(&v.x[0].shape())?),")), |r| {
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
    entry("flatten_from", composite("y = x with the axes from `start` on merged into one", "composite (a reshape): x̄ = ȳ reshaped back", at(MOVEMENT, "pub fn flatten_from(")), |r| {
        let s = shape(r, 1, 4);
        let start = r.gen_range(0..=s.len());
        inst(
            vec![uniform(r, &s, -2.0, 2.0)],
            op(move |_, x| x[0].flatten_from(start)),
        )
    }),
    entry("permute", primitive("y = x with its axes reordered by π", "x̄ = ȳ permuted by π⁻¹", at(MOVEMENT, "pub fn permute("), at(MOVEMENT, "Movement::Permute(axes) => {")), |r| {
        let s = shape(r, 1, 4);
        let mut axes: Vec<usize> = (0..s.len()).collect();
        axes.shuffle(r);
        inst(
            vec![uniform(r, &s, -2.0, 2.0)],
            op(move |_, x| x[0].permute(&axes)),
        )
    }),
    entry("t", composite("y = xᵀ (the last two axes swapped)", "composite (a permute): x̄ = ȳᵀ", at(MOVEMENT, "pub fn t(self)")), |r| {
        let s = shape(r, 2, 3);
        inst(vec![uniform(r, &s, -2.0, 2.0)], op(|_, x| x[0].t()))
    }),
    entry("broadcast_to", primitive("y = x stretched to a larger shape (NumPy's broadcasting rules)", "x̄ = ȳ summed over the stretched axes (sum_to x's shape)", at(MOVEMENT, "pub fn broadcast_to("), at(MOVEMENT, "Movement::BroadcastTo => one(g.sum_to(&v.x[0].shape())?),")), |r| {
        let target = shape(r, 1, 3);
        let s = broadcast_partner(r, &target);
        inst(
            vec![uniform(r, &s, -2.0, 2.0)],
            op(move |_, x| x[0].broadcast_to(&target)),
        )
    }),
    entry("slice", primitive("y = x[start..end] along one axis", "x̄ = ȳ padded with zeros back to x's length (pad)", at(MOVEMENT, "pub fn slice("), at(MOVEMENT, "&Movement::Slice { axis, start, end } => {")), |r| {
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
    entry("pad", primitive("y = x with zeros before and after it along one axis", "x̄ = the slice of ȳ where x sits", at(MOVEMENT, "pub fn pad("), at(MOVEMENT, "&Movement::Pad { axis, before, .. } => {")), |r| {
        let s = shape(r, 1, 3);
        let (a, before, after) = (axis(r, &s), r.gen_range(0..3), r.gen_range(0..3));
        inst(
            vec![uniform(r, &s, -2.0, 2.0)],
            op(move |_, x| x[0].pad(a, before, after)),
        )
    }),
    entry("concat", primitive("y = [x₁ x₂ …] joined along one axis", "x̄ᵢ = the slice of ȳ where xᵢ sits", at(MOVEMENT, "pub fn concat("), at(MOVEMENT, "&Movement::Concat { axis } => {")), |r| {
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
    entry("stack", composite("y = the xᵢ stacked along a new axis", "composite (reshape each, concat): x̄ᵢ = the i-th slice of ȳ", at(MOVEMENT, "pub fn stack(")), |r| {
        let s = shape(r, 0, 2);
        let a = r.gen_range(0..=s.len());
        let inputs = (0..r.gen_range(1..=3))
            .map(|_| uniform(r, &s, -2.0, 2.0))
            .collect();
        inst(inputs, op(move |_, x| Var::stack(x, a)))
    }),
    // ---- gather / scatter and the indexing composites
    entry("take_flat", primitive("y_j = x.flat[idx_j]  (repeats allowed)", "x̄ = zeros of x's shape with x̄.flat[idx_j] += ȳ_j (a scatter-add)", at(INDEX, "pub fn take_flat("), at(INDEX, "Index::Take(indices) => v.g.scatter_add_checked")), |r| {
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
    entry("scatter_add_flat", primitive("y = zeros(shape); y.flat[idx_j] += x_j", "x̄_j = ȳ.flat[idx_j] (a take)", at(INDEX, "pub fn scatter_add_flat("), at(INDEX, "Index::ScatterAdd(indices) => v.g.take_checked")), |r| {
        let s = shape(r, 1, 3);
        let target = shape(r, 1, 2);
        let n: usize = target.iter().product();
        let idx: Arc<[usize]> = (0..s.iter().product()).map(|_| r.gen_range(0..n)).collect();
        inst(
            vec![uniform(r, &s, -2.0, 2.0)],
            op(move |_, x| x[0].scatter_add_flat(idx.clone(), &target)),
        )
    }),
    entry("index_select", composite("y = the slices idx₁, idx₂, … of x along one axis (torch.index_select)", "composite (take_flat): x̄ = the scatter-add of ȳ at the selected slices", at(INDEXING, "pub fn index_select(")), |r| {
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
    entry("gather", composite("y[…, j, …] = x[…, index[…, j, …], …] along one axis (torch.gather)", "composite (take_flat): x̄ = the scatter-add of ȳ at the gathered positions", at(INDEXING, "pub fn gather(")), |r| {
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
    entry("max_axis", composite("y = maxᵢ xᵢ along one axis", "composite (argmax, gather): ȳ goes to the first maximum; the index is a constant computed from the values; the tape differentiates the take_flat that applies it, so ȳ is scattered back to the positions taken", at(INDEXING, "pub fn max_axis(")), |r| {
        let s = shape(r, 1, 3);
        let (a, keepdim) = (axis(r, &s), r.gen_bool(0.5));
        inst(
            vec![distinct(r, &s)],
            op(move |_, x| x[0].max_axis(a, keepdim)),
        )
    }),
    entry("min_axis", composite("y = minᵢ xᵢ along one axis", "composite (argmin, gather): ȳ goes to the first minimum; the index is a constant computed from the values; the tape differentiates the take_flat that applies it, so ȳ is scattered back to the positions taken", at(INDEXING, "pub fn min_axis(")), |r| {
        let s = shape(r, 1, 3);
        let (a, keepdim) = (axis(r, &s), r.gen_bool(0.5));
        inst(
            vec![distinct(r, &s)],
            op(move |_, x| x[0].min_axis(a, keepdim)),
        )
    }),
    entry("sort", composite("y = x sorted along one axis (ascending or descending; stable)", "composite (a permutation applied by take_flat): ȳ is routed back through the inverse permutation; the index is a constant computed from the values; the tape differentiates the take_flat that applies it, so ȳ is scattered back to the positions taken", at(INDEXING, "pub fn sort(")), |r| {
        let s = shape(r, 1, 3);
        let (a, descending) = (axis(r, &s), r.gen_bool(0.5));
        inst(
            vec![distinct(r, &s)],
            op(move |_, x| x[0].sort(a, descending)),
        )
    }),
    entry("group_sort", composite("y = each group of g consecutive values sorted in descending order (GroupSort)", "composite (a permutation applied by take_flat): ȳ is routed back through it, so ‖x̄‖ = ‖ȳ‖", at(INDEXING, "pub fn group_sort(")), |r| {
        let mut s = shape(r, 1, 3);
        let group = r.gen_range(1..=3);
        *s.last_mut().unwrap() = group * r.gen_range(1..=2);
        inst(
            vec![distinct(r, &s)],
            op(move |_, x| x[0].group_sort(group, -1)),
        )
    }),
    entry("max_min", composite("(a, b) ↦ (max(a, b), min(a, b)) for each consecutive pair (MaxMin = GroupSort with g = 2)", "composite (group_sort): ȳ is routed back through the pair's permutation, so ‖x̄‖ = ‖ȳ‖", at(INDEXING, "pub fn max_min(")), |r| {
        let s = vec![r.gen_range(1..=3), 2 * r.gen_range(1..=3)];
        inst(vec![distinct(r, &s)], op(|_, x| x[0].max_min(1)))
    }),
    entry("max_pool2d", composite("y[n, c, i, j] = max over the kh×kw window at (i·sh, j·sw)", "composite (each window's argmax, take_flat): ȳ goes to the window's first maximum; the index is a constant computed from the values; the tape differentiates the take_flat that applies it, so ȳ is scattered back to the positions taken", at(INDEXING, "pub fn max_pool2d(")), |r| {
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
    entry("argmax_gather", composite("y_i = x[i, argmaxⱼ x[i, j]]  (argmax as a constant index, then gather)", "composite (gather): ȳ goes to the argmax", at(INDEXING, "pub fn argmax(")), |r| {
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
    entry("matmul", primitive("Y = A·B", "Ā = Ȳ·Bᵀ, B̄ = Aᵀ·Ȳ", at(LINALG, "pub fn matmul(self"), at(LINALG, "(false, false) => (")), |r| matmul_case(r, false, false, false)),
    entry("matmul_ta", primitive("Y = Aᵀ·B", "Ā = B·Ȳᵀ, B̄ = A·Ȳ", at(LINALG, "pub fn matmul_t("), at(LINALG, "(true, false) => (")), |r| matmul_case(r, false, true, false)),
    entry("matmul_tb", primitive("Y = A·Bᵀ", "Ā = Ȳ·B, B̄ = Ȳᵀ·A", at(LINALG, "pub fn matmul_t("), at(LINALG, "(false, true) => (")), |r| matmul_case(r, false, false, true)),
    entry("matmul_ta_tb", primitive("Y = Aᵀ·Bᵀ", "Ā = Bᵀ·Ȳᵀ, B̄ = Ȳᵀ·Aᵀ", at(LINALG, "pub fn matmul_t("), at(LINALG, "(true, true) => (")), |r| matmul_case(r, false, true, true)),
    entry("matmul_batched", primitive("Yₖ = Aₖ·Bₖᵀ for each batch index k", "Āₖ = Ȳₖ·Bₖ, B̄ₖ = Ȳₖᵀ·Aₖ", at(LINALG, "pub fn matmul_t("), at(LINALG, "(false, true) => (")), |r| matmul_case(r, true, false, true)),
    entry("matmul_batched_ta", primitive("Yₖ = Aₖᵀ·Bₖ for each batch index k", "Āₖ = Bₖ·Ȳₖᵀ, B̄ₖ = Aₖ·Ȳₖ", at(LINALG, "pub fn matmul_t("), at(LINALG, "(true, false) => (")), |r| matmul_case(r, true, true, false)),
    entry("matmul_3d_2d", primitive("Yₖ = Aₖ·B  (B shared by the batch)", "Āₖ = Ȳₖ·Bᵀ, B̄ = Σₖ Aₖᵀ·Ȳₖ (B̄ summed over the batch it was broadcast along)", at(LINALG, "pub fn matmul(self"), at(LINALG, "(false, false) => (")), |r| {
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
    entry("conv2d", primitive("y[n, o, i, j] = Σ_{c, a, b} w[o, c, a, b] · x[n, c, i·s + a·d − p, j·s + b·d − p]  (cross-correlation; stride s, dilation d, zero padding p)", "x̄ = conv2d_input_grad(ȳ, w) (the transposed convolution), w̄ = conv2d_weight_grad(x, ȳ)", at(CONV, "pub fn conv2d("), at(CONV, "Conv::Forward { geom } => {")), |r| {
        let (x, w, geom, _) = conv_setup(r);
        let inputs = vec![uniform(r, &x, -1.0, 1.0), uniform(r, &w, -1.0, 1.0)];
        inst(inputs, op(move |_, v| v[0].conv2d(v[1], None, geom)))
    }),
    entry("conv2d_bias", composite("y = conv2d(x, w) + b  (b one per output channel)", "composite (conv2d, add): the conv2d VJP for x and w, b̄_o = Σ_{n, i, j} ȳ[n, o, i, j]", at(CONV, "pub fn conv2d(")), |r| {
        let (x, w, geom, _) = conv_setup(r);
        let inputs = vec![
            uniform(r, &x, -1.0, 1.0),
            uniform(r, &w, -1.0, 1.0),
            uniform(r, &[w[0]], -1.0, 1.0),
        ];
        inst(inputs, op(move |_, v| v[0].conv2d(v[1], Some(v[2]), geom)))
    }),
    entry("conv2d_input_grad", primitive("x̄ = T_x(g, w): the VJP of conv2d with respect to its input for a cotangent g (the transposed convolution)", "it is linear in g and in w: ḡ = conv2d(h, w), w̄ = conv2d_weight_grad(h, g), h the cotangent of x̄", at(CONV, "pub fn conv2d_input_grad("), at(CONV, "Conv::InputGrad { geom } => {")), |r| {
        let (x, w, geom, y) = conv_setup(r);
        let inputs = vec![uniform(r, &y, -1.0, 1.0), uniform(r, &w, -1.0, 1.0)];
        inst(
            inputs,
            op(move |_, v| v[0].conv2d_input_grad(v[1], geom, [x[2], x[3]])),
        )
    }),
    entry("conv2d_weight_grad", primitive("w̄ = T_w(x, g): the VJP of conv2d with respect to its weight for a cotangent g (x correlated with g)", "it is linear in x and in g: x̄ = conv2d_input_grad(g, h), ḡ = conv2d(x, h), h the cotangent of w̄", at(CONV, "pub fn conv2d_weight_grad("), at(CONV, "Conv::WeightGrad { geom } => {")), |r| {
        let (x, w, geom, y) = conv_setup(r);
        let inputs = vec![uniform(r, &x, -1.0, 1.0), uniform(r, &y, -1.0, 1.0)];
        inst(
            inputs,
            op(move |_, v| v[1].conv2d_weight_grad(v[0], geom, [w[2], w[3]])),
        )
    }),
    // ---- composite activations and normalisers
    entry("square", composite("y = x²  (as x·x)", "composite (mul): x̄ = 2x·ȳ", at(ACTIVATION, "pub fn square(self)")), |r| unary(r, -2.0, 2.0, |x| x.square())),
    entry("softplus", composite("y = ln(1 + eˣ), as p + ln(1 + eᵗ) with p = m·x, t = s·x, m = 1[x > 0], s = 1 − 2m (constant masks)", "composite (mul by the masks, exp, log1p, add): x̄ = (m + s·σ(t))·ȳ = σ(x)·ȳ, at x = 0 too", at(ACTIVATION, "pub fn softplus(self)")), |r| unary(r, -4.0, 4.0, |x| x.softplus())),
    entry(
        "softplus_at_0",
        composite("y = ln(1 + eˣ), as p + ln(1 + eᵗ) with p = m·x, t = s·x, m = 1[x > 0], s = 1 − 2m (constant masks); drawn with exact zeros among the values", "composite (mul by the masks, exp, log1p, add): x̄ = (m + s·σ(t))·ȳ = σ(x)·ȳ, at x = 0 too", at(ACTIVATION, "pub fn softplus(self)")),
        |r| {
            // the stable form's masks switch at 0: exact zeros check both derivatives there
            let s = shape(r, 1, 3);
            let mut x = uniform(r, &s, -2.0, 2.0);
            x.iter_mut().step_by(2).for_each(|v| *v = 0.0);
            inst(vec![x], op(|_, x| Ok(x[0].softplus())))
        },
    ),
    entry("leaky_relu", composite("y = max(x, α·x)  (0 ≤ α < 1)", "composite (mul_scalar, maximum): x̄ = ȳ·1 where x > 0, ȳ·α where x < 0", at(ACTIVATION, "pub fn leaky_relu(")), |r| {
        let s = shape(r, 0, 3);
        inst(
            vec![away_from(r, &s, &[0.0], 0.1)],
            op(|_, x| Ok(x[0].leaky_relu(0.1))),
        )
    }),
    entry("logsumexp", composite("y = ln Σₖ e^{zₖ} = m + ln Σₖ e^{zₖ − m}, m = max z (a constant)", "composite (sub, exp, sum, log, add): z̄ = ȳ·softmax(z)", at(SOFTMAX, "pub fn logsumexp(")), |r| {
        let s = shape(r, 1, 3);
        let (a, keepdim) = (axis(r, &s), r.gen_bool(0.5));
        inst(
            vec![distinct(r, &s)],
            op(move |_, x| x[0].logsumexp(a, keepdim)),
        )
    }),
    entry("softmax", composite("yₖ = e^{zₖ} / Σⱼ e^{zⱼ}, as exp(log_softmax(z))", "composite (log_softmax, exp): z̄ = y ⊙ (ȳ − Σₖ ȳₖ yₖ)", at(SOFTMAX, "pub fn softmax(")), |r| {
        let s = shape(r, 1, 3);
        let a = axis(r, &s);
        inst(vec![distinct(r, &s)], op(move |_, x| x[0].softmax(a)))
    }),
    entry("log_softmax", primitive("yₖ = zₖ − ln Σⱼ e^{zⱼ} along one axis", "z̄ = ȳ − e^{y} ⊙ Σ_axis ȳ", at(SOFTMAX_OP, "pub fn log_softmax("), at(SOFTMAX_OP, "Ok(vec![Some(g.try_sub(y.exp().try_mul(total)?)?)])")), |r| {
        let s = shape(r, 1, 3);
        let a = axis(r, &s);
        inst(vec![distinct(r, &s)], op(move |_, x| x[0].log_softmax(a)))
    }),
    // ---- losses
    entry("cross_entropy", composite("L = c·Σᵢ −log softmax(zᵢ)_{yᵢ}  (c = 1 (Sum) or 1/B (Mean))", "composite (log_softmax, gather, reduction): z̄ᵢ = c·(softmax(zᵢ) − e_{yᵢ})·L̄", at(LOSS, "pub fn cross_entropy<")), |r| {
        let (s, labels) = logits_and_labels(r);
        let reduction = reduction(r);
        inst(
            vec![distinct(r, &s)],
            op(move |_, x| cross_entropy(x[0], &labels, reduction)),
        )
    }),
    entry("soft_cross_entropy", composite("L = c·Σᵢ −Σₖ pᵢₖ log softmax(zᵢ/T)ₖ  (targets p, temperature T; c = 1 (Sum) or 1/B (Mean))", "composite: z̄ᵢ = c·((Σₖ pᵢₖ)·softmax(zᵢ/T) − pᵢ)/T, p̄ᵢ = −c·log softmax(zᵢ/T)", at(LOSS, "pub fn soft_cross_entropy<")), |r| {
        let (s, _) = logits_and_labels(r);
        let (t, reduction) = (r.gen_range(0.5..4.0), reduction(r));
        let inputs = vec![distinct(r, &s), uniform(r, &s, 0.0, 1.0)];
        inst(
            inputs,
            op(move |_, x| soft_cross_entropy(x[0], x[1], t, reduction)),
        )
    }),
    entry("kl_categorical", composite("KL(q ‖ p) = c·Σᵢ Σₖ qᵢₖ (log qᵢₖ − log pᵢₖ),  q = softmax(a), p = softmax(b)  (c = 1 (Sum) or 1/B (Mean))", "composite (log_softmax, exp, sub, mul, sum): āᵢ = c·qᵢ ⊙ (log qᵢ − log pᵢ − KLᵢ), b̄ᵢ = c·(pᵢ − qᵢ)", at(DISTRIBUTION, "impl<'t, F: Float> KlDivergence<Categorical<'t, F>> for Categorical<'t, F>")), |r| {
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
    entry("kl_diag_gaussian", composite("KL(N(μ_q, σ_q²) ‖ N(μ_p, σ_p²)) = c·Σ ½ [ln σ_p² − ln σ_q² + (σ_q² + (μ_q − μ_p)²)/σ_p² − 1]  (inputs μ and s = ln σ²; c = 1 (Sum) or 1/B (Mean))", "composite: μ̄_q = −μ̄_p = c·(μ_q − μ_p)/σ_p², s̄_q = c·½(σ_q²/σ_p² − 1), s̄_p = c·½(1 − (σ_q² + (μ_q − μ_p)²)/σ_p²)", at(DISTRIBUTION, "impl<'t, F: Float> KlDivergence<DiagGaussian<'t, F>> for DiagGaussian<'t, F>")), |r| {
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
    entry("squared_error", composite("L = c·Σᵢ ‖ŷᵢ − yᵢ‖²  (c = 1 (Sum) or 1/B (Mean))", "composite (sub, square, reduction): ŷ̄ = 2c·(ŷ − y)·L̄, ȳ = −ŷ̄", at(LOSS, "pub fn squared_error<")), |r| {
        let s = shape(r, 0, 3);
        let reduction = reduction(r);
        let inputs = vec![uniform(r, &s, -2.0, 2.0), uniform(r, &s, -2.0, 2.0)];
        inst(inputs, op(move |_, x| squared_error(x[0], x[1], reduction)))
    }),
    entry("gaussian_nll", composite("L = c·Σᵢ Σⱼ ½ [ln 2π + sᵢⱼ + (yᵢⱼ − μᵢⱼ)² e^{−sᵢⱼ}]  (s = ln σ², broadcastable; c = 1 (Sum) or 1/B (Mean))", "composite: μ̄ = −c·(y − μ)e^{−s}, s̄ = c·½(1 − (y − μ)² e^{−s}) summed to s's shape, ȳ = −μ̄", at(LOSS, "pub fn gaussian_nll<")), |r| {
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
