//! The linear layer with orthonormal weights (strictly 1-Lipschitz): Björck orthonormalisation
//! written with the tape's own ops, so that gradients flow through every iteration.
//!
//! Why orthonormal: for `$f(x) = W x$` with orthonormal rows (`$W W^{\top} = I$`), the backward map
//! `$g \mapsto W^{\top} g$` keeps norms, `$\|W^{\top} g\| = \|g\|$`. A network of such layers,
//! norm-preserving activations (MaxMin, GroupSort: they permute their input) and a last layer with
//! one output then has `$\|\nabla f(x)\| = 1$` almost everywhere (Anil, Lucas & Grosse 2019; seed
//! S0's first theorem). Spectral normalisation alone gives `$\|W\|_{2} = 1$`, hence `$\|\nabla f\|
//! \le 1$`, not `$= 1$`.
//!
//! A layer that widens (`out > in`) can have orthonormal columns only (`$W^{\top} W = I$`): it is
//! still 1-Lipschitz, but `$\|W^{\top} g\| \le \|g\|$` with equality only for `g` in the range of
//! `W`, so the gradient norm of a network with a widening layer is `$\le 1$`, not `$= 1$`
//! everywhere.

use autograd::{Float, Tape, Tensor, Var};
use ndarray::{Array2, Ix2};
use rand::Rng;

use super::linear::{affine, visit_weight_bias, visit_weight_bias_mut};
use crate::init::{fans, Init};
use crate::{Ctx, Error, Module, Param, Result};

/// The default number of Björck iterations of [`OrthonormalLinear`]: 15. With the pre-scaling of
/// [`bjorck`], every singular value starts in `(0, 1]`; one starting at `$\sigma_{0} \ge 0.02$` is
/// within `1e-15` of 1 after 15 iterations ([`bjorck_residual`]`(0.02, 15)`; checked by a test).
/// Weights drawn orthogonal start at `$\sigma_{0} = r^{-1/8} \ge 0.42$` for `$r \le 1000$`.
pub const DEFAULT_BJORCK_ITERATIONS: usize = 15;

/// Björck–Bowie orthonormalisation (1971), first order, of `w` (`[out, in]`), on the tape:
///
/// ```text
/// G = W Wᵀ if out ≤ in, else Wᵀ W              (the Gram matrix of the smaller side, r×r)
/// s = ‖G²‖_F^{1/4} ≥ ‖W‖₂                       (since ‖W‖₂⁴ = ‖G²‖₂ ≤ ‖G²‖_F)
/// A₀ = W / s
/// A_{k+1} = 1.5 A_k − 0.5 A_k A_kᵀ A_k          (k = 0 … iterations − 1)
/// ```
///
/// and returns `A_iterations`. Each step maps every singular value `$\sigma$` of `$A_k$` to
/// `$g(\sigma) = \sigma(3 - \sigma^{2}) / 2$` and keeps the singular vectors, so the iteration
/// converges to the orthogonal polar factor `$U V^{\top}$` of `$W = U \sum V^{\top}$` exactly when
/// every singular value of `$A_{0}$` lies in `$(0, \sqrt{3})$` — the convergence condition, which
/// the pre-scaling by `s` ensures (all `$\sigma \in(0, 1]$`, for `W` of full rank; a zero singular
/// value stays zero). On `(0, 1]`, `$g(\sigma) \in(\sigma, 1]$` and `$1 - g(\sigma) = (1 -
/// \sigma)^{2} (2 + \sigma) / 2$`: growth by up to 1.5 per step while `$\sigma$` is small, then
/// quadratic convergence. Since `$g([0, 1]) \subseteq[0, 1]$`, `$\|A_k\|_{2} \le 1$` at every `k`:
/// a layer with these weights is 1-Lipschitz whatever the iteration count, and orthonormal to
/// within [`bjorck_residual`]`$(\sigma_{\min}(W)/s, \mathrm{iterations})$`.
///
/// The result is a polynomial in `W / s`: smooth wherever `W ≠ 0`, so first and second
/// derivatives through all the iterations are exact on the tape. Errors if `w` is not a matrix
/// or is zero (no direction to normalise).
pub fn bjorck<'t, F: Float>(w: Var<'t, F>, iterations: usize) -> Result<Var<'t, F>> {
    let shape = w.shape();
    if shape.len() != 2 {
        return Err(Error::config(
            "Björck orthonormalisation",
            format!("needs a matrix [out, in], got shape {shape:?}"),
        ));
    }
    let wide = shape[0] <= shape[1];
    // A Aᵀ A, with the r×r Gram matrix of the smaller side formed first.
    let cube = |a: Var<'t, F>| -> Result<Var<'t, F>> {
        Ok(if wide {
            a.matmul_t(a, false, true)?.matmul(a)?
        } else {
            a.matmul(a.matmul_t(a, true, false)?)?
        })
    };
    let gram = if wide {
        w.matmul_t(w, false, true)?
    } else {
        w.matmul_t(w, true, false)?
    };
    let gram_sq = gram.matmul(gram)?;
    let scale = gram_sq.square().sum().powf(0.125);
    let usable = scale
        .item()
        .is_some_and(|s| s.as_f64().is_finite() && s.as_f64() > 0.0);
    if !usable {
        return Err(Error::config(
            "Björck orthonormalisation",
            "the weight matrix is zero (or not finite): it has no orthonormal factor",
        ));
    }
    let mut a = w.try_div(scale)?;
    for _ in 0..iterations {
        a = a.mul_scalar(1.5).try_sub(cube(a)?.mul_scalar(0.5))?;
    }
    Ok(a)
}

/// `$1 - g^k(\sigma_{0})$`, `$g(\sigma) = \sigma(3 - \sigma^{2}) / 2$`: how far from 1 a singular
/// value that starts at `$\sigma_{0}$` (after the pre-scaling of [`bjorck`]) is after `k`
/// iterations, in exact arithmetic (computed in `f64`). For `$\sigma_{0} \in(0, 1]$` it is in `[0, 1)`
/// and decreasing in `k` and `$\sigma_{0}$`, so `bjorck_residual(σ_min(W)/s, k)` bounds `$\max_i |\sigma_i(A_k) -
/// 1|$`.
pub fn bjorck_residual(sigma0: f64, iterations: usize) -> f64 {
    let mut s = sigma0;
    for _ in 0..iterations {
        s = s * (3.0 - s * s) / 2.0;
    }
    1.0 - s
}

/// `$y = x \hat{W}^{\top} + b$` with `$\hat{W} = \mathrm{bjorck}(W, \mathrm{iterations})$`
/// ([`bjorck`]): the trained parameter `W` (`[out, in]`) is unconstrained, the layer uses its
/// orthonormal polar factor (to the iterations' accuracy). Rows of `$\hat{W}$` are orthonormal if
/// `$\mathrm{out} \le \mathrm{in}$` (then `$\|\nabla(u^{\top} f)\| = \|u\|$` for every `u`:
/// gradient-norm preserving), columns if `out > in` (1-Lipschitz only; see the module
/// documentation).
#[derive(Clone, Debug)]
pub struct OrthonormalLinear<F: Float> {
    /// `W`, `[out, in]`: the unconstrained parameter.
    pub weight: Param<F>,
    /// `b`, `[out]`.
    pub bias: Option<Param<F>>,
    /// The number of Björck iterations of each forward pass.
    pub iterations: usize,
}

impl<F: Float> OrthonormalLinear<F> {
    /// A layer `$\mathrm{in} \to \mathrm{out}$` whose `W` is drawn orthogonal
    /// ([`Init::Orthogonal`], gain 1), with a zero bias if `bias`, and
    /// [`DEFAULT_BJORCK_ITERATIONS`].
    pub fn new(inputs: usize, outputs: usize, bias: bool, rng: &mut impl Rng) -> Self {
        let shape = [outputs, inputs];
        let weight =
            Param::new(Init::Orthogonal { gain: 1.0 }.sample::<F>(&shape, fans(&shape), rng));
        let bias =
            bias.then(|| Param::new(Init::Constant(0.0).sample::<F>(&[outputs], (1, 1), rng)));
        OrthonormalLinear {
            weight,
            bias,
            iterations: DEFAULT_BJORCK_ITERATIONS,
        }
    }

    /// The same layer with `iterations` Björck iterations.
    pub fn with_iterations(mut self, iterations: usize) -> Self {
        self.iterations = iterations;
        self
    }

    /// `(in, out)`.
    pub fn dims(&self) -> (usize, usize) {
        (self.weight.shape()[1], self.weight.shape()[0])
    }

    /// Whether the layer is gradient-norm preserving (`$\mathrm{out} \le \mathrm{in}$`: orthonormal
    /// rows).
    pub fn preserves_gradient_norm(&self) -> bool {
        let (i, o) = self.dims();
        o <= i
    }

    /// `$\hat{W}$`, the orthonormalised weight the forward pass uses (computed without recording).
    pub fn orthonormal_weight(&self) -> Result<Tensor<F>> {
        let tape = Tape::new();
        let _guard = tape.no_grad();
        Ok(bjorck(tape.constant(self.weight.value().clone()), self.iterations)?.value())
    }

    /// `$\max_{\mathrm{ij}} |(\hat{W} \hat{W}^{\top} - I)_{\mathrm{ij}}|$` (or of `$\hat{W}^{\top}
    /// \hat{W}$` if `out > in`), in `f64`: how far the forward pass's weight is from orthonormal.
    pub fn orthonormality_error(&self) -> Result<f64> {
        let w = self.orthonormal_weight()?;
        let w: Array2<f64> = w
            .mapv(|v| v.as_f64())
            .into_dimensionality::<Ix2>()
            .expect("a layer weight is a matrix");
        let gram = if self.preserves_gradient_norm() {
            w.dot(&w.t())
        } else {
            w.t().dot(&w)
        };
        Ok(gram
            .indexed_iter()
            .map(|((i, j), &g)| (g - if i == j { 1.0 } else { 0.0 }).abs())
            .fold(0.0, f64::max))
    }
}

impl<F: Float> Module<F> for OrthonormalLinear<F> {
    fn forward<'t>(&self, ctx: &Ctx<'t, F>, x: Var<'t, F>) -> Result<Var<'t, F>> {
        let w = bjorck(ctx.param(&self.weight), self.iterations)?;
        affine(ctx, x, w, self.bias.as_ref())
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
    use ndarray::array;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// The documented iteration count: a singular value starting at 0.02 is within 1e-15 of 1
    /// after 15 steps, and 10 steps would not be enough (so the count is not padded blindly).
    #[test]
    fn default_iterations_converge_from_two_percent() {
        assert!(bjorck_residual(0.02, DEFAULT_BJORCK_ITERATIONS) < 1e-15);
        assert!(bjorck_residual(0.02, 10) > 1e-3);
        // the scalar map never overshoots 1 from (0, 1]
        for s in [1e-3, 0.1, 0.5, 0.9, 1.0] {
            for k in 0..30 {
                let r = bjorck_residual(s, k);
                assert!(
                    (0.0..1.0).contains(&r) || (s == 1.0 && r == 0.0),
                    "{s} {k}: {r}"
                );
            }
        }
    }

    /// A diagonal `W = diag(3, 0.5)`: Björck acts on each singular value separately, so the result
    /// is `$\operatorname{diag} (1 - r(3/s), 1 - r(0.5/s))$` with `$s = (3^{8} + 0.5^{8})^{1/8}$`
    /// (G² is diagonal with entries σ⁴, so ‖G²‖_F = (Σ σ⁸)^{1/2}).
    #[test]
    fn acts_on_singular_values_by_the_scalar_map() {
        let tape = Tape::<f64>::new();
        let w = tape.constant(array![[3.0, 0.0], [0.0, 0.5]]);
        let s = (3f64.powi(8) + 0.5f64.powi(8)).powf(0.125);
        for k in [0, 1, 3, 8] {
            let a = bjorck(w, k).unwrap().value();
            let expect = [
                1.0 - bjorck_residual(3.0 / s, k),
                1.0 - bjorck_residual(0.5 / s, k),
            ];
            // a few multiplications of O(1) numbers: round-off ≤ 1e-15
            assert!((a[[0, 0]] - expect[0]).abs() < 1e-14, "{k}: {a}");
            assert!((a[[1, 1]] - expect[1]).abs() < 1e-14, "{k}: {a}");
            assert_eq!(a[[0, 1]], 0.0);
        }
    }

    /// Random wide, square and tall weights (condition numbers ≲ 10) become orthonormal to
    /// f64 round-off; a rank-deficient or zero weight is reported, not normalised silently.
    #[test]
    fn random_weights_become_orthonormal() {
        let mut rng = StdRng::seed_from_u64(3);
        for (i, o) in [(7, 3), (5, 5), (3, 6), (40, 16)] {
            let mut layer = OrthonormalLinear::<f64>::new(i, o, true, &mut rng);
            layer
                .weight
                .set(Init::TorchDefault.sample::<f64>(&[o, i], (i, o), &mut rng))
                .unwrap();
            let err = layer.orthonormality_error().unwrap();
            // 15 steps from σ₀ ≥ 0.02 converge to 1e-15; sums of r products add ~r·1e-16
            assert!(err < 1e-13, "{i}→{o}: {err}");
        }
        let zero = Tape::<f64>::new();
        let e = bjorck(zero.constant(Array2::<f64>::zeros((2, 3))), 5).unwrap_err();
        assert!(e.to_string().contains("zero"), "{e}");
        let v = zero.constant(ndarray::Array1::<f64>::ones(3));
        assert!(bjorck(v, 5).unwrap_err().to_string().contains("matrix"));
    }
}
