//! The op table: one entry per op (or op variant), each drawing one instance — inputs inside
//! the op's domain and the function of them to check — from a seeded stream. Shapes exercise
//! broadcasting, size-1 axes and negative axes.

use std::ops::Neg;
use std::sync::Arc;

use autograd::functional::{
    cross_entropy, gaussian_nll, kl_categorical, kl_diag_gaussian, mse, soft_cross_entropy,
};
use autograd::{Conv2dGeometry, Result, Tape, Var};
use ndarray::{ArrayD, IxDyn};
use rand::rngs::StdRng;
use rand::Rng;

use super::super::values::{away_from, distinct, grid, uniform};

/// A function of the checked inputs.
pub type OpFn = Box<dyn for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>>>;

/// One instance of an op: the inputs and the function of them.
pub struct Instance {
    /// The inputs, each checked element by element.
    pub inputs: Vec<ArrayD<f64>>,
    /// The op applied to them.
    pub f: OpFn,
}

fn inst(
    inputs: Vec<ArrayD<f64>>,
    f: impl for<'t> Fn(&'t Tape<f64>, &[Var<'t, f64>]) -> Result<Var<'t, f64>> + 'static,
) -> Instance {
    Instance {
        inputs,
        f: Box::new(f),
    }
}

/// An elementwise op on values in `[lo, hi)`, shape `[2, 3]`.
fn unary(r: &mut StdRng, lo: f64, hi: f64, f: fn(Var<'_, f64>) -> Var<'_, f64>) -> Instance {
    inst(vec![uniform(r, &[2, 3], lo, hi)], move |_, x| Ok(f(x[0])))
}

/// A binary op on `[2, 3] ∘ [3]`: the second operand broadcasts along the first axis.
fn binary(
    a: ArrayD<f64>,
    b: ArrayD<f64>,
    f: for<'a> fn(Var<'a, f64>, Var<'a, f64>) -> Result<Var<'a, f64>>,
) -> Instance {
    inst(vec![a, b], move |_, x| f(x[0], x[1]))
}

fn matmul(r: &mut StdRng, ta: bool, tb: bool) -> Instance {
    let (m, k, n) = (2, 3, 4);
    let a = if ta { [k, m] } else { [m, k] };
    let b = if tb { [n, k] } else { [k, n] };
    let inputs = vec![uniform(r, &a, -2.0, 2.0), uniform(r, &b, -2.0, 2.0)];
    inst(inputs, move |_, x| x[0].matmul_t(x[1], ta, tb))
}

/// A strided, padded, dilated convolution: input `[2, 2, 6, 5]`, weight `[3, 2, 2, 2]`.
fn conv_geometry() -> (Conv2dGeometry, [usize; 4], [usize; 4], [usize; 4]) {
    let geom = Conv2dGeometry {
        stride: [2, 1],
        padding: [1, 0],
        dilation: [2, 1],
    };
    let x = [2, 2, 6, 5];
    let w = [3, 2, 2, 2];
    // out = (size + 2·pad − (dil·(k − 1) + 1)) / stride + 1
    let y = [2, 3, (6 + 2 - 3) / 2 + 1, (5 - 2) + 1];
    (geom, x, w, y)
}

/// An entry: its name and how to draw its instance.
pub type Entry = (&'static str, fn(&mut StdRng) -> Instance);

/// Every op, named as in `autograd/tests/op_table.rs`.
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
        inst(vec![away_from(r, &[2, 3], &[0.0], 0.1)], |_, x| {
            Ok(x[0].abs())
        })
    }),
    ("relu", |r| {
        inst(vec![away_from(r, &[2, 3], &[0.0], 0.1)], |_, x| {
            Ok(x[0].relu())
        })
    }),
    ("clamp", |r| {
        let v = away_from(r, &[3, 3], &[-1.0, 0.5], 0.1);
        inst(vec![v], |_, x| Ok(x[0].clamp(-1.0, 0.5)))
    }),
    // ---- binary primitives, broadcasting
    ("add", |r| {
        binary(
            uniform(r, &[2, 3], -2.0, 2.0),
            uniform(r, &[3], -2.0, 2.0),
            |a, b| a.try_add(b),
        )
    }),
    ("sub", |r| {
        binary(
            uniform(r, &[3], -2.0, 2.0),
            uniform(r, &[2, 3], -2.0, 2.0),
            |a, b| a.try_sub(b),
        )
    }),
    ("mul", |r| {
        binary(
            uniform(r, &[2, 1], -2.0, 2.0),
            uniform(r, &[1, 3], -2.0, 2.0),
            |a, b| a.try_mul(b),
        )
    }),
    ("div", |r| {
        let b = away_from(r, &[3], &[0.0], 0.5);
        binary(uniform(r, &[2, 3], -2.0, 2.0), b, |a, b| a.try_div(b))
    }),
    ("maximum", |r| {
        binary(grid(r, &[2, 3], 0.0), grid(r, &[3], 0.2), |a, b| {
            a.maximum(b)
        })
    }),
    ("minimum", |r| {
        binary(grid(r, &[2, 3], 0.0), grid(r, &[3], 0.2), |a, b| {
            a.minimum(b)
        })
    }),
    // ---- reductions
    ("sum", |r| unary(r, -2.0, 2.0, |x| x.sum())),
    ("mean", |r| unary(r, -2.0, 2.0, |x| x.mean())),
    ("sum_axes", |r| {
        inst(vec![uniform(r, &[2, 3, 2], -2.0, 2.0)], |_, x| {
            x[0].sum_axes(&[2, 0], false)
        })
    }),
    ("mean_axis", |r| {
        inst(vec![uniform(r, &[2, 3], -2.0, 2.0)], |_, x| {
            x[0].mean_axis(-1, true)
        })
    }),
    ("sum_to", |r| {
        inst(vec![uniform(r, &[2, 3, 4], -2.0, 2.0)], |_, x| {
            x[0].sum_to(&[3, 1])
        })
    }),
    // ---- movement
    ("reshape", |r| {
        inst(vec![uniform(r, &[2, 3], -2.0, 2.0)], |_, x| {
            x[0].reshape(&[3, 1, 2])
        })
    }),
    ("flatten_from", |r| {
        inst(vec![uniform(r, &[2, 3, 2], -2.0, 2.0)], |_, x| {
            x[0].flatten_from(1)
        })
    }),
    ("permute", |r| {
        inst(vec![uniform(r, &[2, 3, 4], -2.0, 2.0)], |_, x| {
            x[0].permute(&[2, 0, 1])
        })
    }),
    ("t", |r| {
        inst(vec![uniform(r, &[2, 3], -2.0, 2.0)], |_, x| x[0].t())
    }),
    ("broadcast_to", |r| {
        inst(vec![uniform(r, &[3, 1], -2.0, 2.0)], |_, x| {
            x[0].broadcast_to(&[2, 3, 4])
        })
    }),
    ("slice", |r| {
        inst(vec![uniform(r, &[3, 5], -2.0, 2.0)], |_, x| {
            x[0].slice(-1, 1, 4)
        })
    }),
    ("pad", |r| {
        inst(vec![uniform(r, &[2, 3], -2.0, 2.0)], |_, x| {
            x[0].pad(0, 1, 2)
        })
    }),
    ("concat", |r| {
        let inputs = vec![
            uniform(r, &[2, 1], -2.0, 2.0),
            uniform(r, &[2, 3], -2.0, 2.0),
        ];
        inst(inputs, |_, x| Var::concat(x, -1))
    }),
    ("stack", |r| {
        let inputs = vec![
            uniform(r, &[2, 3], -2.0, 2.0),
            uniform(r, &[2, 3], -2.0, 2.0),
        ];
        inst(inputs, |_, x| Var::stack(x, 1))
    }),
    // ---- gather / scatter and the indexing composites
    ("take_flat", |r| {
        let idx: Arc<[usize]> = Arc::from([5usize, 0, 2, 2, 4, 1]);
        inst(vec![uniform(r, &[2, 3], -2.0, 2.0)], move |_, x| {
            x[0].take_flat(idx.clone(), &[3, 2])
        })
    }),
    ("scatter_add_flat", |r| {
        let idx: Arc<[usize]> = Arc::from([3usize, 0, 3, 1, 2, 0]);
        inst(vec![uniform(r, &[2, 3], -2.0, 2.0)], move |_, x| {
            x[0].scatter_add_flat(idx.clone(), &[2, 2])
        })
    }),
    ("index_select", |r| {
        inst(vec![uniform(r, &[3, 4], -2.0, 2.0)], |_, x| {
            x[0].index_select(-1, &[3, 0, 3])
        })
    }),
    ("gather", |r| {
        let index = ArrayD::from_shape_vec(IxDyn(&[2, 2]), vec![2usize, 0, 1, 1]).unwrap();
        inst(vec![uniform(r, &[2, 3], -2.0, 2.0)], move |_, x| {
            x[0].gather(1, &index)
        })
    }),
    ("max_axis", |r| {
        inst(vec![distinct(r, &[3, 4])], |_, x| x[0].max_axis(-1, false))
    }),
    ("min_axis", |r| {
        inst(vec![distinct(r, &[3, 4])], |_, x| x[0].min_axis(0, true))
    }),
    ("sort", |r| {
        inst(vec![distinct(r, &[2, 4])], |_, x| x[0].sort(-1, true))
    }),
    ("group_sort", |r| {
        inst(vec![distinct(r, &[2, 6])], |_, x| x[0].group_sort(3, -1))
    }),
    ("max_min", |r| {
        inst(vec![distinct(r, &[2, 4])], |_, x| x[0].max_min(1))
    }),
    ("max_pool2d", |r| {
        inst(vec![distinct(r, &[1, 2, 4, 5])], |_, x| {
            x[0].max_pool2d([2, 2], [2, 1])
        })
    }),
    // ---- linear algebra
    ("matmul", |r| matmul(r, false, false)),
    ("matmul_ta", |r| matmul(r, true, false)),
    ("matmul_tb", |r| matmul(r, false, true)),
    ("matmul_ta_tb", |r| matmul(r, true, true)),
    ("matmul_batched", |r| {
        let inputs = vec![
            uniform(r, &[2, 2, 3], -2.0, 2.0),
            uniform(r, &[2, 4, 3], -2.0, 2.0),
        ];
        inst(inputs, |_, x| x[0].matmul_t(x[1], false, true))
    }),
    ("matmul_3d_2d", |r| {
        let inputs = vec![
            uniform(r, &[2, 2, 3], -2.0, 2.0),
            uniform(r, &[3, 2], -2.0, 2.0),
        ];
        inst(inputs, |_, x| x[0].matmul(x[1]))
    }),
    // ---- convolution and its adjoints
    ("conv2d", |r| {
        let (geom, x, w, _) = conv_geometry();
        let inputs = vec![uniform(r, &x, -1.0, 1.0), uniform(r, &w, -1.0, 1.0)];
        inst(inputs, move |_, v| v[0].conv2d(v[1], geom))
    }),
    ("conv2d_input_grad", |r| {
        let (geom, x, w, y) = conv_geometry();
        let inputs = vec![uniform(r, &y, -1.0, 1.0), uniform(r, &w, -1.0, 1.0)];
        inst(inputs, move |_, v| {
            Var::conv2d_input_grad(v[0], v[1], geom, [x[2], x[3]])
        })
    }),
    ("conv2d_weight_grad", |r| {
        let (geom, x, w, y) = conv_geometry();
        let inputs = vec![uniform(r, &x, -1.0, 1.0), uniform(r, &y, -1.0, 1.0)];
        inst(inputs, move |_, v| {
            Var::conv2d_weight_grad(v[0], v[1], geom, [w[2], w[3]])
        })
    }),
    // ---- composite activations and normalisers
    ("square", |r| unary(r, -2.0, 2.0, |x| x.square())),
    ("softplus", |r| unary(r, -4.0, 4.0, |x| x.softplus())),
    ("leaky_relu", |r| {
        inst(vec![away_from(r, &[2, 3], &[0.0], 0.1)], |_, x| {
            Ok(x[0].leaky_relu(0.1))
        })
    }),
    ("logsumexp", |r| {
        inst(vec![distinct(r, &[2, 3])], |_, x| x[0].logsumexp(-1, false))
    }),
    ("softmax", |r| {
        inst(vec![distinct(r, &[2, 3])], |_, x| x[0].softmax(-1))
    }),
    ("log_softmax", |r| {
        inst(vec![distinct(r, &[3, 2])], |_, x| x[0].log_softmax(0))
    }),
    // ---- losses
    ("cross_entropy", |r| {
        inst(vec![distinct(r, &[3, 4])], |_, x| {
            cross_entropy(x[0], &[2, 0, 3])
        })
    }),
    ("soft_cross_entropy", |r| {
        let t = r.gen_range(0.5..4.0);
        let inputs = vec![distinct(r, &[3, 4]), uniform(r, &[3, 4], 0.0, 1.0)];
        inst(inputs, move |_, x| soft_cross_entropy(x[0], x[1], t))
    }),
    ("kl_categorical", |r| {
        let inputs = vec![distinct(r, &[2, 3]), distinct(r, &[2, 3])];
        inst(inputs, |_, x| {
            kl_categorical(x[0].log_softmax(1)?, x[1].log_softmax(1)?)
        })
    }),
    ("kl_diag_gaussian", |r| {
        let inputs = (0..4).map(|_| uniform(r, &[2, 3], -1.0, 1.0)).collect();
        inst(inputs, |_, x| kl_diag_gaussian(x[0], x[1], x[2], x[3]))
    }),
    ("mse", |r| {
        let inputs = vec![
            uniform(r, &[2, 3], -2.0, 2.0),
            uniform(r, &[2, 3], -2.0, 2.0),
        ];
        inst(inputs, |_, x| mse(x[0], x[1]))
    }),
    ("gaussian_nll", |r| {
        let inputs = vec![
            uniform(r, &[2, 3], -2.0, 2.0),
            uniform(r, &[3], -1.0, 1.0),
            uniform(r, &[2, 3], -2.0, 2.0),
        ];
        inst(inputs, |_, x| gaussian_nll(x[0], x[1], x[2]))
    }),
];
