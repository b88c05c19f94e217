//! Gradient checks of every nn layer through the module API: the checked function binds the
//! checker's variables in place of the layer's parameters (`Ctx::substitute`), so the
//! derivatives with respect to the input and to every parameter are all compared with finite
//! differences. A check also fails when an input or parameter does not reach the output (its
//! zero gradients would otherwise pass vacuously).

use anyhow::{anyhow, bail, Result};
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

/// A layer of the table: its name, its formula and how it is differentiated (in words, for
/// `distillery explain`), where its forward is (a file of the workspace and a text that occurs
/// in it once) and how to build the case.
pub(crate) struct Layer {
    pub name: &'static str,
    pub formula: &'static str,
    pub vjp: &'static str,
    pub forward: (&'static str, &'static str),
    build: Build,
}

const fn layer(
    name: &'static str,
    formula: &'static str,
    vjp: &'static str,
    forward: (&'static str, &'static str),
    build: Build,
) -> Layer {
    Layer {
        name,
        formula,
        vjp,
        forward,
        build,
    }
}

/// Every layer of `nn::layers`, with the configurations worth checking separately.
pub(crate) const LAYERS: &[Layer] = &[
    layer("linear", "y = x Wᵀ + b", "composite (matmul, add): x̄ = ȳ W, W̄ = ȳᵀ x, b̄ = Σ_rows ȳ", ("nn/src/layers/linear.rs", "impl<F: Float> Module<F> for Linear<F>"), |r| case(Linear::new(5, 3, true, r), &[4, 5])),
    layer("linear_no_bias", "y = x Wᵀ", "composite (matmul): x̄ = ȳ W, W̄ = ȳᵀ x", ("nn/src/layers/linear.rs", "impl<F: Float> Module<F> for Linear<F>"), |r| {
        case(Linear::new(5, 3, false, r), &[2, 5])
    }),
    // Björck from a generic (not orthogonal) weight, through 4 iterations (still far from
    // converged, so every iteration's derivative matters) and through the default 15
    layer("orthonormal_linear", "y = x Aᵀ + b, A₀ = W/s (s = ‖G²‖_F^¼, G the Gram matrix), A_{k+1} = 1.5 A_k − 0.5 A_k A_kᵀ A_k, 4 iterations here", "composite: the tape differentiates through every Björck iteration (matmuls, scalings), then the linear map", ("nn/src/layers/orthonormal.rs", "impl<F: Float> Module<F> for OrthonormalLinear<F>"), |r| {
        let mut layer = OrthonormalLinear::new(5, 3, true, r).with_iterations(4);
        layer.weight = Linear::new(5, 3, false, r).weight().clone();
        case(layer, &[3, 5])
    }),
    layer("orthonormal_linear_tall", "y = x Aᵀ + b, A = Björck(W) (as orthonormal_linear) with orthonormal columns (3 → 5), 15 iterations", "composite: through every Björck iteration, then the linear map", ("nn/src/layers/orthonormal.rs", "impl<F: Float> Module<F> for OrthonormalLinear<F>"), |r| {
        let mut layer = OrthonormalLinear::new(3, 5, true, r);
        layer.weight = Linear::new(3, 5, false, r).weight().clone();
        case(layer, &[2, 3])
    }),
    layer("spectral_norm_linear", "y = x (W/σ̃)ᵀ + b, σ̃ = ũᵀWṽ from a power iteration (ũ, ṽ constants of the tape)", "composite (matmul, div, add): W̄ includes the derivative of W/σ̃ through σ̃ = ũᵀWṽ", ("nn/src/layers/spectral.rs", "impl<F: Float> Module<F> for SpectralNormLinear<F>"), |r| {
        case(SpectralNormLinear::new(5, 3, true, r), &[4, 5])
    }),
    layer("conv2d", "y = conv2d(x, w) + b  (stride 1, no padding)", "composite of the conv2d primitive and add: x̄ = conv2d_input_grad(ȳ, w), w̄ = conv2d_weight_grad(x, ȳ), b̄ = Σ ȳ", ("nn/src/layers/conv.rs", "impl<F: Float> Module<F> for Conv2d<F>"), |r| {
        case(
            Conv2d::new(2, 3, 3, Conv2dGeometry::new(1, 0, 1), true, r),
            &[2, 2, 5, 5],
        )
    }),
    layer("conv2d_stride2_pad1", "y = conv2d(x, w) + b  (stride 2, padding 1)", "as conv2d", ("nn/src/layers/conv.rs", "impl<F: Float> Module<F> for Conv2d<F>"), |r| {
        case(
            Conv2d::new(2, 3, 3, Conv2dGeometry::new(2, 1, 1), true, r),
            &[1, 2, 6, 5],
        )
    }),
    layer("conv2d_dilation2", "y = conv2d(x, w)  (dilation 2, no bias)", "as conv2d", ("nn/src/layers/conv.rs", "impl<F: Float> Module<F> for Conv2d<F>"), |r| {
        case(
            Conv2d::new(1, 2, 3, Conv2dGeometry::new(1, 0, 2), false, r),
            &[2, 1, 6, 6],
        )
    }),
    layer("max_pool2d", "y = the maximum of each 2×2 window", "composite (argmax per window, take_flat): ȳ goes to the window's first maximum", ("nn/src/layers/conv.rs", "impl<F: Float> Module<F> for MaxPool2d"), |_| case(MaxPool2d::new(2), &[2, 2, 4, 6])),
    layer("flatten", "y = x reshaped to [batch, rest]", "composite (reshape): x̄ = ȳ reshaped back", ("nn/src/layers/conv.rs", "impl<F: Float> Module<F> for Flatten"), |_| case(Flatten, &[2, 3, 2])),
    layer("dropout_train", "y = x ⊙ m / (1 − p), m ~ Bernoulli(1 − p) per element (p = 0.3; a fixed mask here)", "composite (mul by a constant mask): x̄ = ȳ ⊙ m / (1 − p)", ("nn/src/layers/dropout.rs", "impl<F: Float> Module<F> for Dropout"), |_| Case {
        training: true,
        ..case(
            Dropout::new(0.3).expect("0.3 is a valid probability"),
            &[4, 6],
        )
    }),
    layer("dropout_eval", "y = x  (evaluation: no dropout)", "x̄ = ȳ", ("nn/src/layers/dropout.rs", "impl<F: Float> Module<F> for Dropout"), |_| {
        case(Dropout::new(0.3).expect("valid"), &[4, 6])
    }),
    layer("relu", "y = max(x, 0)", "the relu primitive: x̄ = ȳ·1[x > 0]", ("nn/src/layers/activation.rs", "Activation::Relu => x.relu(),"), |_| case(Activation::Relu, &[3, 6])),
    layer("leaky_relu", "y = max(x, 0.1·x)", "composite (mul_scalar, maximum): x̄ = ȳ (x > 0) or 0.1·ȳ", ("nn/src/layers/activation.rs", "Activation::LeakyRelu(alpha) => x.leaky_relu(alpha),"), |_| case(Activation::LeakyRelu(0.1), &[3, 6])),
    layer("tanh", "y = tanh x", "the tanh primitive: x̄ = ȳ(1 − y²)", ("nn/src/layers/activation.rs", "Activation::Tanh => x.tanh(),"), |_| case(Activation::Tanh, &[3, 6])),
    layer("sigmoid", "y = σ(x)", "the sigmoid primitive: x̄ = ȳ y (1 − y)", ("nn/src/layers/activation.rs", "Activation::Sigmoid => x.sigmoid(),"), |_| case(Activation::Sigmoid, &[3, 6])),
    layer("softmax", "y = softmax(x) along the last axis", "composite (log_softmax, exp): x̄ = y ⊙ (ȳ − Σ ȳ y)", ("nn/src/layers/activation.rs", "Activation::Softmax => x.softmax(-1)?,"), |_| case(Activation::Softmax, &[3, 6])),
    layer("max_min", "(a, b) ↦ (max, min) for each pair of the last axis", "composite (group_sort): ȳ routed back through the permutation", ("nn/src/layers/activation.rs", "Activation::MaxMin => x.max_min(-1)?,"), |_| case(Activation::MaxMin, &[3, 6])),
    layer("group_sort", "each group of 3 along the last axis sorted descending", "composite (a permutation by take_flat): ȳ routed back through it", ("nn/src/layers/activation.rs", "Activation::GroupSort(g) => x.group_sort(g, -1)?,"), |_| case(Activation::GroupSort(3), &[3, 6])),
    layer("identity", "y = x", "x̄ = ȳ", ("nn/src/layers/activation.rs", "Activation::Identity => x,"), |_| case(Activation::Identity, &[3, 6])),
    layer("mlp", "4 → 6 → 5 → 3: Linear, tanh, Linear, tanh, Linear", "composite: the layers' VJPs in reverse order (the chain rule)", ("nn/src/layers/sequential.rs", "pub fn mlp<"), |r| {
        case(
            mlp::<f64>(&[4, 6, 5, 3], Activation::Tanh, true, r),
            &[3, 4],
        )
    }),
    layer("sequential_cnn", "Conv2d(1→2, 3×3, pad 1), ReLU, MaxPool2d(2), Flatten, Linear(8 → 3)", "composite: the layers' VJPs in reverse order (first order only: max-pool and ReLU kinks)", ("nn/src/layers/sequential.rs", "impl<F: Float> Module<F> for Sequential<F>"), |r| {
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
    for l in LAYERS {
        let (name, build) = (l.name, l.build);
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

/// The layer's first-order check and, where the table asks for it, its second-order check, on
/// the instance `distillery verify --only layer/NAME` checks.
pub(crate) fn layer_checks(l: &Layer) -> Result<Vec<(u32, Outcome)>> {
    let mut out = vec![(1, run_case(l.name, (l.build)(&mut rng_for(l.name)), 1)?)];
    if (l.build)(&mut rng_for(l.name)).second {
        out.push((2, run_case(l.name, (l.build)(&mut rng_for(l.name)), 2)?));
    }
    Ok(out)
}

fn params_of(m: &dyn Module<f64>) -> Vec<Param<f64>> {
    let mut out = Vec::new();
    m.visit_params(&mut |_, p| out.push(p.clone()));
    out
}

/// An error unless every input of `f` reaches its output at `inputs` (a non-zero gradient):
/// the outputs are weighted distinctly (a plain sum of a softmax would be constant). An input
/// that does not reach the output would pass a gradient check vacuously, zero against zero.
pub(crate) fn check_reaches<Fun>(f: &Fun, inputs: &[ArrayD<f64>]) -> Result<()>
where
    Fun: for<'t> Fn(
            &'t Tape<f64>,
            &[autograd::Var<'t, f64>],
        ) -> autograd::Result<autograd::Var<'t, f64>>
        + ?Sized,
{
    let tape = Tape::new();
    let xs: Vec<_> = inputs.iter().map(|x| tape.param(x.view())).collect();
    let out = f(&tape, &xs)?;
    let n = out.numel();
    let weights = ArrayD::from_shape_vec(IxDyn(&out.shape()), (1..=n).map(|k| k as f64).collect())?;
    let weighted = out.try_mul(tape.constant(weights))?.sum();
    for (i, g) in tape.grad(weighted, &xs)?.iter().enumerate() {
        if g.iter().all(|&v| v == 0.0) {
            bail!("input {i} does not reach the output");
        }
    }
    Ok(())
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
    check_reaches(&f, &inputs).map_err(|e| anyhow!("{e} (0: the data, then the parameters)"))?;
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
        crate::verify::assert_requirements_pass(&checks());
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
