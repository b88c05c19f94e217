//! Gradient checks of every nn layer through the module API: the checked function binds the
//! checker's variables in place of the layer's parameters (`Ctx::substitute`), so the
//! derivatives with respect to the input and to every parameter are all compared with finite
//! differences. A check also fails when an input or parameter does not reach the output (its
//! zero gradients would otherwise pass vacuously).

use anyhow::{bail, Result};
use autograd::gradcheck::check_fn;
use autograd::{gradcheck, gradgradcheck, Conv2dGeometry, Tape, Tolerance};
use ndarray::{ArrayD, IxDyn};
use nn::layers::{
    mlp, Activation, Conv2d, Dropout, Flatten, Linear, MaxPool2d, OrthonormalLinear, Sequential,
    SpectralNormLinear,
};
use nn::{Ctx, Module, Param};
use rand::rngs::StdRng;

use autograd::op_table::values::distinct;

use super::values::rng_for;
use super::{check, Check, Outcome};

/// A layer to check: the module, its input shape, whether the pass is a training pass (dropout
/// active, with a fixed mask) and whether to check second order.
struct Case {
    model: Box<dyn Module<f64>>,
    input: Vec<usize>,
    training: bool,
    second: bool,
}

fn case(model: impl Module<f64> + 'static, input: &[usize]) -> Case {
    Case {
        model: Box::new(model),
        input: input.to_vec(),
        training: false,
        second: true,
    }
}

type Build = fn(&mut StdRng) -> Case;

/// Every layer of `nn::layers`, with the configurations worth checking separately.
const LAYERS: &[(&str, Build)] = &[
    ("linear", |r| case(Linear::new(5, 3, true, r), &[4, 5])),
    ("linear_no_bias", |r| {
        case(Linear::new(5, 3, false, r), &[2, 5])
    }),
    // Björck from a generic (not orthogonal) weight, through 4 iterations (still far from
    // converged, so every iteration's derivative matters) and through the default 15
    ("orthonormal_linear", |r| {
        let mut layer = OrthonormalLinear::new(5, 3, true, r).with_iterations(4);
        layer.weight = Linear::new(5, 3, false, r).weight().clone();
        case(layer, &[3, 5])
    }),
    ("orthonormal_linear_tall", |r| {
        let mut layer = OrthonormalLinear::new(3, 5, true, r);
        layer.weight = Linear::new(3, 5, false, r).weight().clone();
        case(layer, &[2, 3])
    }),
    ("spectral_norm_linear", |r| {
        case(SpectralNormLinear::new(5, 3, true, r), &[4, 5])
    }),
    ("conv2d", |r| {
        case(
            Conv2d::new(2, 3, 3, Conv2dGeometry::new(1, 0, 1), true, r),
            &[2, 2, 5, 5],
        )
    }),
    ("conv2d_stride2_pad1", |r| {
        case(
            Conv2d::new(2, 3, 3, Conv2dGeometry::new(2, 1, 1), true, r),
            &[1, 2, 6, 5],
        )
    }),
    ("conv2d_dilation2", |r| {
        case(
            Conv2d::new(1, 2, 3, Conv2dGeometry::new(1, 0, 2), false, r),
            &[2, 1, 6, 6],
        )
    }),
    ("max_pool2d", |_| case(MaxPool2d::new(2), &[2, 2, 4, 6])),
    ("flatten", |_| case(Flatten, &[2, 3, 2])),
    ("dropout_train", |_| Case {
        training: true,
        ..case(
            Dropout::new(0.3).expect("0.3 is a valid probability"),
            &[4, 6],
        )
    }),
    ("dropout_eval", |_| {
        case(Dropout::new(0.3).expect("valid"), &[4, 6])
    }),
    ("relu", |_| case(Activation::Relu, &[3, 6])),
    ("leaky_relu", |_| case(Activation::LeakyRelu(0.1), &[3, 6])),
    ("tanh", |_| case(Activation::Tanh, &[3, 6])),
    ("sigmoid", |_| case(Activation::Sigmoid, &[3, 6])),
    ("softmax", |_| case(Activation::Softmax, &[3, 6])),
    ("max_min", |_| case(Activation::MaxMin, &[3, 6])),
    ("group_sort", |_| case(Activation::GroupSort(3), &[3, 6])),
    ("identity", |_| case(Activation::Identity, &[3, 6])),
    ("mlp", |r| {
        case(
            mlp::<f64>(&[4, 6, 5, 3], Activation::Tanh, true, r),
            &[3, 4],
        )
    }),
    ("sequential_cnn", |r| {
        let model = Sequential::new()
            .push(Conv2d::new(1, 2, 3, Conv2dGeometry::new(1, 1, 1), true, r))
            .push(Activation::Relu)
            .push(MaxPool2d::new(2))
            .push(Flatten)
            .push(Linear::new(8, 3, true, r));
        Case {
            second: false,
            ..case(model, &[2, 1, 4, 4])
        }
    }),
];

/// The first-order (and, where smooth enough to matter, second-order) check of every layer.
pub fn checks() -> Vec<Box<dyn Check>> {
    let mut out = Vec::new();
    for &(name, build) in LAYERS {
        for order in [1, 2] {
            if order == 2 && !build(&mut rng_for(name)).second {
                continue;
            }
            let statement = match order {
                1 => format!("first derivatives of the {name} layer match finite differences"),
                _ => format!("second derivatives of the {name} layer match finite differences"),
            };
            out.push(check(
                format!("layer/{name}/{order}"),
                statement,
                move || run_case(name, build(&mut rng_for(name)), order),
            ));
        }
    }
    out
}

fn params_of(m: &dyn Module<f64>) -> Vec<Param<f64>> {
    let mut out = Vec::new();
    m.visit_params(&mut |_, p| out.push(p.clone()));
    out
}

fn run_case(name: &str, case: Case, order: u32) -> Result<Outcome> {
    let params = params_of(case.model.as_ref());
    let mut inputs = vec![distinct(
        &mut rng_for(&format!("{name} input")),
        &case.input,
    )];
    inputs.extend(params.iter().map(|p| p.value().to_owned()));
    let (model, training) = (case.model.as_ref(), case.training);
    let f = check_fn(|tape, xs| {
        // a fixed dropout seed: the same mask at every evaluation
        let ctx = if training {
            Ctx::train(tape, 7)
        } else {
            Ctx::eval(tape)
        };
        for (p, &v) in params.iter().zip(&xs[1..]) {
            ctx.substitute(p, v);
        }
        model.forward(&ctx, xs[0]).map_err(|e| match e {
            nn::Error::Autograd(e) => e,
            other => autograd::Error::Argument {
                op: "layer",
                reason: other.to_string(),
            },
        })
    });
    // Each input must reach the output: weight the outputs distinctly (a plain sum of a
    // softmax would be constant) and look for a non-zero gradient.
    let tape = Tape::new();
    let xs: Vec<_> = inputs.iter().map(|x| tape.param(x.view())).collect();
    let out = f(&tape, &xs)?;
    let n = out.numel();
    let weights = ArrayD::from_shape_vec(IxDyn(&out.shape()), (1..=n).map(|k| k as f64).collect())?;
    let weighted = out.try_mul(tape.constant(weights))?.sum();
    for (i, g) in tape.grad(weighted, &xs)?.iter().enumerate() {
        if g.iter().all(|&v| v == 0.0) {
            bail!("input {i} (0: the data, then the parameters) does not reach the output");
        }
    }
    let report = match order {
        1 => gradcheck(f, &inputs, Tolerance::default())?,
        _ => gradgradcheck(f, &inputs, Tolerance::default())?,
    };
    Ok(Outcome::from_gradcheck(&report))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_layer_passes() {
        for c in checks() {
            let o = super::super::run_guarded(c.as_ref())
                .unwrap_or_else(|e| panic!("{}: {e}", c.name()));
            assert!(o.passed, "{}: {}", c.name(), o.detail);
        }
    }

    /// A parameter that does not reach the output fails the check instead of passing with
    /// zero gradients on both sides.
    #[test]
    fn a_disconnected_parameter_fails() {
        struct Ignores(Param<f64>);
        impl Module<f64> for Ignores {
            fn forward<'t>(
                &self,
                _: &Ctx<'t, f64>,
                x: autograd::Var<'t, f64>,
            ) -> nn::Result<autograd::Var<'t, f64>> {
                Ok(x.tanh())
            }
            fn visit_params(&self, f: &mut dyn FnMut(&str, &Param<f64>)) {
                f("w", &self.0);
            }
            fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Param<f64>)) {
                f("w", &mut self.0);
            }
        }
        let model = Ignores(Param::new(ndarray::arr1(&[1.0, 2.0])));
        let err = run_case("x", case(model, &[2, 2]), 1).unwrap_err();
        assert!(err.to_string().contains("input 1"), "{err}");
    }
}
