//! The spectrally normalised linear layer (Miyato et al., 2018): `$\|\hat{W}\|_{2} \approx 1$`, so
//! the layer is (about) 1-Lipschitz, but its gradient norm is `$\le 1$`, not `$= 1$` (compare
//! [`OrthonormalLinear`](super::OrthonormalLinear)).

use autograd::{Float, Var};
use ndarray::{Array1, Array2, Ix2};
use rand::Rng;
use rand_distr::StandardNormal;

use super::linear::{affine, visit_weight_bias, visit_weight_bias_mut};
use crate::init::{fans, Init};
use crate::{Ctx, Module, Param, Result};

/// `$y = x \hat{W}^{\top} + b$` with `$\hat{W} = W / \tilde{\sigma}(W)$`, `$\tilde{\sigma}(W) =
/// \tilde{u}^{\top} W \tilde{v}$` the power-iteration estimate of the largest singular value:
///
/// ```text
/// from the stored u (‖u‖ = 1), power_iterations times:
///     ṽ = Wᵀ u / ‖Wᵀ u‖,   u = W ṽ / ‖W ṽ‖
/// σ̃ = ũᵀ W ṽ               (ũ = the last u; ũ, ṽ are constants of the tape, as in Miyato)
/// ```
///
/// The forward pass does not change the stored `u`: call [`SpectralNormLinear::refresh`] once
/// per training step to carry the estimate forward (PyTorch does this inside each training
/// forward pass, with one iteration). `u` is not a parameter: checkpoints do not hold it.
#[derive(Clone, Debug)]
pub struct SpectralNormLinear<F: Float> {
    /// `W`, `[out, in]`: the unconstrained parameter.
    pub weight: Param<F>,
    /// `b`, `[out]`.
    pub bias: Option<Param<F>>,
    /// Power iterations per forward pass (and per [`SpectralNormLinear::refresh`]).
    pub power_iterations: usize,
    u: Array1<f64>,
}

impl<F: Float> SpectralNormLinear<F> {
    /// A layer `$\mathrm{in} \to \mathrm{out}$` with PyTorch's default initialisation of `W` and
    /// `b`, one power iteration (Miyato et al.'s choice), and `u` drawn uniformly on the unit
    /// sphere.
    pub fn new(inputs: usize, outputs: usize, bias: bool, rng: &mut impl Rng) -> Self {
        let shape = [outputs, inputs];
        let weight = Param::new(Init::TorchDefault.sample::<F>(&shape, fans(&shape), rng));
        let bias =
            bias.then(|| Param::new(Init::TorchDefault.sample::<F>(&[outputs], fans(&shape), rng)));
        let u = normalized(Array1::from_shape_simple_fn(outputs, || {
            rng.sample::<f64, _>(StandardNormal)
        }));
        SpectralNormLinear {
            weight,
            bias,
            power_iterations: 1,
            u,
        }
    }

    fn weight_f64(&self) -> Array2<f64> {
        self.weight
            .value()
            .mapv(|v| v.as_f64())
            .into_dimensionality::<Ix2>()
            .expect("a layer weight is a matrix")
    }

    /// `$(\tilde{u}, \tilde{v})$` after `power_iterations` iterations from the stored `u`.
    fn singular_vectors(&self) -> (Array1<f64>, Array1<f64>) {
        let w = self.weight_f64();
        let mut u = self.u.clone();
        let mut v = normalized(w.t().dot(&u));
        for _ in 0..self.power_iterations {
            u = normalized(w.dot(&v));
            v = normalized(w.t().dot(&u));
        }
        (u, v)
    }

    /// `$\tilde{\sigma}(W)$`, the estimate the next forward pass divides by.
    pub fn sigma_estimate(&self) -> f64 {
        let (u, v) = self.singular_vectors();
        u.dot(&self.weight_f64().dot(&v))
    }

    /// Advances the stored `u` by `power_iterations` iterations (once per training step).
    pub fn refresh(&mut self) {
        self.u = self.singular_vectors().0;
    }
}

/// `$x / \|x\|$`, or `x` unchanged if it is zero.
fn normalized(x: Array1<f64>) -> Array1<f64> {
    let n = x.dot(&x).sqrt();
    if n > 0.0 {
        x / n
    } else {
        x
    }
}

impl<F: Float> Module<F> for SpectralNormLinear<F> {
    fn forward<'t>(&self, ctx: &Ctx<'t, F>, x: Var<'t, F>) -> Result<Var<'t, F>> {
        let (u, v) = self.singular_vectors();
        let tape = ctx.tape();
        let w = ctx.param(&self.weight);
        let u = tape.constant(u.mapv(F::from_f64).insert_axis(ndarray::Axis(0)));
        let v = tape.constant(v.mapv(F::from_f64).insert_axis(ndarray::Axis(1)));
        // σ̃ = ũᵀ W ṽ, a [1, 1] variable: broadcasts against W
        let sigma = u.matmul(w)?.matmul(v)?;
        affine(ctx, x, w.try_div(sigma)?, self.bias.as_ref())
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &Param<F>)) {
        visit_weight_bias(&self.weight, self.bias.as_ref(), f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit_weight_bias_mut(&mut self.weight, self.bias.as_mut(), f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// Refreshing converges to the largest singular value: for `diag(3, 1, 0.5)` (gap 3:1) the
    /// error after k refreshes shrinks like `$\frac{1}{3}^{2k}$`; 20 refreshes reach round-off.
    #[test]
    fn refresh_converges_to_the_top_singular_value() {
        let mut rng = StdRng::seed_from_u64(1);
        let mut layer = SpectralNormLinear::<f64>::new(3, 3, false, &mut rng);
        layer
            .weight
            .set(Array2::from_diag(&ndarray::arr1(&[3.0, 1.0, 0.5])))
            .unwrap();
        for _ in 0..20 {
            layer.refresh();
        }
        assert!(
            (layer.sigma_estimate() - 3.0).abs() < 1e-12,
            "{}",
            layer.sigma_estimate()
        );
    }
}
