//! The affine layer.

use autograd::{Float, IntoTensor, Tensor, Var};
use rand::Rng;

use crate::init::{fans, Init};
use crate::{Ctx, Error, Module, Param, Result};

/// `$y = x W^{\top} + b$`, with `W` of shape `[out, in]` (PyTorch's layout) and an optional bias
/// `b` of shape `[out]`. The product reads `$W^{\top}$` through strides: no transpose is copied.
///
/// The weight and the bias are private, so that a layer always has `W` of two axes and `b` of
/// `W`'s `out`: build one with [`new`](Linear::new), [`with_init`](Linear::with_init) or
/// [`from_weights`](Linear::from_weights), and read or update the parameters through
/// [`weight`](Linear::weight), [`bias`](Linear::bias) and their `_mut` twins (e.g. to freeze
/// one; [`Param::set`] keeps the shape).
///
/// ```
/// use nn::layers::Linear;
/// use rand::{rngs::StdRng, SeedableRng};
///
/// let mut layer = Linear::<f32>::new(3, 2, true, &mut StdRng::seed_from_u64(0));
/// assert_eq!(layer.weight().shape(), &[2, 3]);
/// layer.weight_mut().frozen = true; // trained no more; the bias still is
/// layer.bias_mut().unwrap().set(ndarray::array![0.0f32, 1.0])?;
/// assert!(layer.bias_mut().unwrap().set(ndarray::array![0.0f32]).is_err());
/// # Ok::<(), nn::Error>(())
/// ```
#[derive(Clone, Debug)]
pub struct Linear<F: Float> {
    weight: Param<F>,
    bias: Option<Param<F>>,
}

impl<F: Float> Linear<F> {
    /// A layer `$\mathrm{in} \to \mathrm{out}$` with PyTorch's default initialisation, with or
    /// without bias.
    pub fn new(inputs: usize, outputs: usize, bias: bool, rng: &mut impl Rng) -> Self {
        Self::with_init(inputs, outputs, bias, Init::TorchDefault, rng)
    }

    /// A layer `$\mathrm{in} \to \mathrm{out}$` whose weight is drawn from `init` (the bias as
    /// PyTorch does).
    pub fn with_init(
        inputs: usize,
        outputs: usize,
        bias: bool,
        init: Init,
        rng: &mut impl Rng,
    ) -> Self {
        let shape = [outputs, inputs];
        let weight = Param::new(init.sample::<F>(&shape, fans(&shape), rng));
        let bias =
            bias.then(|| Param::new(Init::TorchDefault.sample::<F>(&[outputs], fans(&shape), rng)));
        Linear { weight, bias }
    }

    /// A layer with the given weight `W` (`[out, in]`) and bias `b` (`[out]`, or `None` for a
    /// layer without bias). Errors when `W` does not have two axes or `b` is not `[out]`.
    ///
    /// ```
    /// use autograd::{IntoTensor, Tape};
    /// use ndarray::array;
    /// use nn::{layers::Linear, Ctx, Module};
    ///
    /// // y = 1·x₀ − 2·x₁ + 0.5
    /// let layer = Linear::from_weights(array![[1.0, -2.0]], Some(array![0.5].into_tensor()))?;
    /// assert_eq!(layer.dims(), (2, 1));
    /// let tape = Tape::new();
    /// let ctx = Ctx::eval(&tape);
    /// let y = layer.forward(&ctx, ctx.input(array![[3.0, 1.0]]))?;
    /// assert_eq!(y.item(), Some(1.5));
    /// assert!(Linear::<f64>::from_weights(array![[1.0, -2.0]], Some(array![0.5, 0.0].into_tensor())).is_err());
    /// # Ok::<(), nn::Error>(())
    /// ```
    pub fn from_weights(weight: impl IntoTensor<F>, bias: Option<Tensor<F>>) -> Result<Self> {
        let weight = weight.into_tensor();
        if weight.ndim() != 2 {
            return Err(Error::config(
                "Linear::from_weights",
                format!(
                    "the weight must be [out, in], got shape {:?}",
                    weight.shape()
                ),
            ));
        }
        let bias = check_bias("Linear::from_weights", weight.shape()[0], bias)?;
        Ok(Linear {
            weight: Param::new(weight),
            bias: bias.map(Param::new),
        })
    }

    /// `(in, out)`.
    pub fn dims(&self) -> (usize, usize) {
        (self.weight.shape()[1], self.weight.shape()[0])
    }

    /// `W`, `[out, in]`.
    pub fn weight(&self) -> &Param<F> {
        &self.weight
    }

    /// `W`, mutable: to freeze it or [`set`](Param::set) a value of the same shape.
    pub fn weight_mut(&mut self) -> &mut Param<F> {
        &mut self.weight
    }

    /// `b`, `[out]`; `None` for a layer without bias (the Bayesian distillation teachers).
    pub fn bias(&self) -> Option<&Param<F>> {
        self.bias.as_ref()
    }

    /// `b`, mutable.
    pub fn bias_mut(&mut self) -> Option<&mut Param<F>> {
        self.bias.as_mut()
    }
}

/// Checks that a layer's bias, if any, has one value per output: `[outputs]`.
pub(crate) fn check_bias<F: Float>(
    op: &str,
    outputs: usize,
    bias: Option<Tensor<F>>,
) -> Result<Option<Tensor<F>>> {
    match bias {
        Some(b) if b.shape() != [outputs] => Err(Error::ShapeMismatch {
            name: format!("{op}: the bias (one value per output)"),
            expected: vec![outputs],
            found: b.shape().to_vec(),
        }),
        other => Ok(other),
    }
}

/// `$y = x \hat{W}^{\top} + b$`: the product with the weight `w` the layer's forward pass uses (`W`
/// itself, its orthonormalisation, or `$W / \tilde{\sigma}$`), `$\hat{W}^{\top}$` read through
/// strides, plus the layer's bias if it has one. Shared by [`Linear`],
/// [`OrthonormalLinear`](super::OrthonormalLinear) and
/// [`SpectralNormLinear`](super::SpectralNormLinear).
pub(crate) fn affine<'t, F: Float>(
    ctx: &Ctx<'t, F>,
    x: Var<'t, F>,
    w: Var<'t, F>,
    bias: Option<&Param<F>>,
) -> Result<Var<'t, F>> {
    let y = x.matmul_t(w, false, true)?;
    match bias {
        Some(b) => Ok(y.try_add(ctx.param(b))?),
        None => Ok(y),
    }
}

/// Visits a layer's `"weight"` and, if present, `"bias"` (the names every layer with a weight
/// and an optional bias uses).
pub(crate) fn visit_weight_bias<F: Float>(
    weight: &Param<F>,
    bias: Option<&Param<F>>,
    f: &mut dyn FnMut(&str, &Param<F>),
) {
    f("weight", weight);
    if let Some(b) = bias {
        f("bias", b);
    }
}

/// Mutable twin of [`visit_weight_bias`].
pub(crate) fn visit_weight_bias_mut<F: Float>(
    weight: &mut Param<F>,
    bias: Option<&mut Param<F>>,
    f: &mut dyn FnMut(&str, &mut Param<F>),
) {
    f("weight", weight);
    if let Some(b) = bias {
        f("bias", b);
    }
}

impl<F: Float> Module<F> for Linear<F> {
    fn forward<'t>(&self, ctx: &Ctx<'t, F>, x: Var<'t, F>) -> Result<Var<'t, F>> {
        affine(ctx, x, ctx.param(&self.weight), self.bias.as_ref())
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &Param<F>)) {
        visit_weight_bias(&self.weight, self.bias.as_ref(), f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit_weight_bias_mut(&mut self.weight, self.bias.as_mut(), f);
    }
}
