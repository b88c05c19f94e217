//! The three critics compared as `$W_{1}$` estimators: strictly 1-Lipschitz (orthonormal +
//! GroupSort), gradient penalty, spectral normalisation.

use autograd::{Float, Tape, Var};
use ndarray::{Array2, Axis};
use nn::layers::{Activation, Linear, OrthonormalLinear, SpectralNormLinear};
use nn::{Ctx, Module, Param};
use rand::Rng;

use crate::{Error, Result};

/// How a critic keeps (or encourages) its Lipschitz constant at 1.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CriticKind {
    /// Linear layers with orthonormal weights ([`OrthonormalLinear`], Björck) and GroupSort:
    /// 1-Lipschitz by construction, and `$\|\nabla f\| = 1$` almost everywhere when no layer widens
    /// (see [`Critic::preserves_gradient_norm`]). The seed's (and the author's thesis's) critic.
    Orthonormal,
    /// Plain linear layers, the Lipschitz constraint only encouraged by the penalty `$\lambda
    /// \mathbb{E}_{\hat{x}} (\|\nabla f(\hat{x})\| - 1)^{2}$` on interpolates (Gulrajani et al., 2017):
    /// [`gradient_penalty`].
    GradientPenalty,
    /// Linear layers divided by a power-iteration estimate of their largest singular value
    /// ([`SpectralNormLinear`], Miyato et al., 2018): about 1-Lipschitz, `$\|\nabla f\| \le 1$`.
    SpectralNorm,
}

impl CriticKind {
    /// A short name for tables: `orthonormal`, `gradient-penalty`, `spectral-norm`.
    pub fn name(self) -> &'static str {
        match self {
            CriticKind::Orthonormal => "orthonormal",
            CriticKind::GradientPenalty => "gradient-penalty",
            CriticKind::SpectralNorm => "spectral-norm",
        }
    }
}

/// The architecture of a critic `$f: \mathbb{R}^d \to R$`.
#[derive(Clone, Debug, PartialEq)]
pub struct CriticConfig {
    /// How the Lipschitz constant is controlled.
    pub kind: CriticKind,
    /// Widths of the hidden layers (the output layer has width 1).
    pub hidden: Vec<usize>,
    /// The nonlinearity between layers.
    pub activation: Activation,
    /// Björck iterations per forward pass ([`CriticKind::Orthonormal`] only).
    pub bjorck_iterations: usize,
    /// `$\lambda$` of the gradient penalty ([`CriticKind::GradientPenalty`] only).
    pub penalty_weight: f64,
}

impl CriticConfig {
    /// Orthonormal layers and MaxMin (`GroupSort(2)`), as in Anil et al. (2019) and the
    /// author's thesis, with [`nn::layers::DEFAULT_BJORCK_ITERATIONS`].
    pub fn orthonormal(hidden: &[usize]) -> Self {
        CriticConfig {
            kind: CriticKind::Orthonormal,
            hidden: hidden.to_vec(),
            activation: Activation::MaxMin,
            bjorck_iterations: nn::layers::DEFAULT_BJORCK_ITERATIONS,
            penalty_weight: 0.0,
        }
    }

    /// Plain layers, ReLU, penalty weight `$\lambda = 10$` (Gulrajani et al., 2017).
    pub fn gradient_penalty(hidden: &[usize]) -> Self {
        CriticConfig {
            kind: CriticKind::GradientPenalty,
            hidden: hidden.to_vec(),
            activation: Activation::Relu,
            bjorck_iterations: 0,
            penalty_weight: 10.0,
        }
    }

    /// Spectrally normalised layers and ReLU (our choice, to match the gradient-penalty critic;
    /// Miyato et al. use leaky ReLU in GAN discriminators).
    pub fn spectral_norm(hidden: &[usize]) -> Self {
        CriticConfig {
            kind: CriticKind::SpectralNorm,
            hidden: hidden.to_vec(),
            activation: Activation::Relu,
            bjorck_iterations: 0,
            penalty_weight: 0.0,
        }
    }

    /// The default configuration of a kind with these hidden widths.
    pub fn of_kind(kind: CriticKind, hidden: &[usize]) -> Self {
        match kind {
            CriticKind::Orthonormal => Self::orthonormal(hidden),
            CriticKind::GradientPenalty => Self::gradient_penalty(hidden),
            CriticKind::SpectralNorm => Self::spectral_norm(hidden),
        }
    }

    /// Checks the settings for inputs of dimension `input_dim`: every width ≥ 1, divisible by
    /// the GroupSort group size, at least one Björck iteration, a finite penalty weight ≥ 0.
    pub fn validate(&self, input_dim: usize) -> Result<()> {
        let what = format!("{} critic", self.kind.name());
        if input_dim == 0 || self.hidden.contains(&0) {
            return Err(Error::config(
                what,
                format!(
                    "the input dimension ({input_dim}) and every hidden width ({:?}) must be ≥ 1",
                    self.hidden
                ),
            ));
        }
        let group = match self.activation {
            Activation::MaxMin => Some(2),
            Activation::GroupSort(g) => Some(g),
            _ => None,
        };
        if let Some(g) = group {
            if g == 0 || self.hidden.iter().any(|w| !w.is_multiple_of(g)) {
                return Err(Error::config(
                    what,
                    format!(
                        "hidden widths {:?} must be multiples of the group size {g}",
                        self.hidden
                    ),
                ));
            }
        }
        if self.kind == CriticKind::Orthonormal && self.bjorck_iterations == 0 {
            return Err(Error::config(what, "needs at least one Björck iteration"));
        }
        if !(self.penalty_weight.is_finite() && self.penalty_weight >= 0.0) {
            return Err(Error::config(
                what,
                format!(
                    "penalty weight λ must be finite and ≥ 0, got {}",
                    self.penalty_weight
                ),
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Debug)]
enum Layer<F: Float> {
    Orthonormal(OrthonormalLinear<F>),
    Plain(Linear<F>),
    Spectral(SpectralNormLinear<F>),
}

impl<F: Float> Layer<F> {
    fn module(&self) -> &dyn Module<F> {
        match self {
            Layer::Orthonormal(l) => l,
            Layer::Plain(l) => l,
            Layer::Spectral(l) => l,
        }
    }

    fn module_mut(&mut self) -> &mut dyn Module<F> {
        match self {
            Layer::Orthonormal(l) => l,
            Layer::Plain(l) => l,
            Layer::Spectral(l) => l,
        }
    }
}

/// A critic `$f: \mathbb{R}^d \to R$`: `L_1, act, L_2, act, …, L_out` with the layers of its
/// [`CriticKind`]; input `[B, d]`, output `[B, 1]`. Parameters are named `"{i}.weight"`,
/// `"{i}.bias"` by layer.
#[derive(Clone, Debug)]
pub struct Critic<F: Float> {
    kind: CriticKind,
    layers: Vec<Layer<F>>,
    activation: Activation,
    penalty_weight: f64,
    input_dim: usize,
}

impl<F: Float> Critic<F> {
    /// A critic on `R^{input_dim}` built from `cfg` (validated), initialised from `rng`.
    pub fn new(input_dim: usize, cfg: &CriticConfig, rng: &mut impl Rng) -> Result<Self> {
        cfg.validate(input_dim)?;
        let mut widths = vec![input_dim];
        widths.extend(&cfg.hidden);
        widths.push(1);
        let layers = widths
            .windows(2)
            .map(|w| match cfg.kind {
                CriticKind::Orthonormal => Layer::Orthonormal(
                    OrthonormalLinear::new(w[0], w[1], true, rng)
                        .with_iterations(cfg.bjorck_iterations),
                ),
                CriticKind::GradientPenalty => Layer::Plain(Linear::new(w[0], w[1], true, rng)),
                CriticKind::SpectralNorm => {
                    Layer::Spectral(SpectralNormLinear::new(w[0], w[1], true, rng))
                }
            })
            .collect();
        Ok(Critic {
            kind: cfg.kind,
            layers,
            activation: cfg.activation,
            penalty_weight: cfg.penalty_weight,
            input_dim,
        })
    }

    /// The kind of critic.
    pub fn kind(&self) -> CriticKind {
        self.kind
    }

    /// `d`, the dimension of the points.
    pub fn input_dim(&self) -> usize {
        self.input_dim
    }

    /// Whether `$\|\nabla f\| = 1$` almost everywhere by construction: orthonormal layers that
    /// never widen (so each has orthonormal rows, and `$W^{\top}$` keeps norms), with MaxMin,
    /// GroupSort or the identity between them. (Up to Björck's accuracy: see
    /// [`nn::layers::bjorck_residual`].)
    pub fn preserves_gradient_norm(&self) -> bool {
        let activation_ok = matches!(
            self.activation,
            Activation::MaxMin | Activation::GroupSort(_) | Activation::Identity
        );
        activation_ok
            && self.layers.iter().all(|l| match l {
                Layer::Orthonormal(l) => l.preserves_gradient_norm(),
                _ => false,
            })
    }

    /// `$\prod_l \|\hat{W}_l\|_{2}$`, the product of the spectral norms of the weights the forward
    /// pass uses (Björck's output, the plain weight, or `$W / \tilde{\sigma}$` with the current
    /// power-iteration estimate), computed exactly by SVD (faer): an upper bound of the critic's
    /// Lipschitz constant, since the activations are 1-Lipschitz. 1 (to round-off) for the
    /// orthonormal critic; above 1 for a spectral-norm critic whose `$\tilde{\sigma}$` lags behind
    /// `$\sigma_{\max}$`.
    pub fn lipschitz_bound(&self) -> Result<f64> {
        let mut bound = 1.0;
        for layer in &self.layers {
            let (w, scale) = match layer {
                Layer::Orthonormal(l) => (l.orthonormal_weight()?, 1.0),
                Layer::Plain(l) => (l.weight().value().clone(), 1.0),
                Layer::Spectral(l) => (l.weight.value().clone(), 1.0 / l.sigma_estimate()),
            };
            let (r, c) = (w.shape()[0], w.shape()[1]);
            let m = faer::Mat::<f64>::from_fn(r, c, |i, j| w[[i, j]].as_f64());
            let sigma = m
                .as_ref()
                .singular_values()
                .map_err(|e| Error::Singular {
                    op: "critic Lipschitz bound (SVD)",
                    reason: format!("{e:?}"),
                })?
                .first()
                .copied()
                .unwrap_or(0.0);
            bound *= sigma * scale;
        }
        Ok(bound)
    }

    /// Once per training step of a spectrally normalised critic: advances each layer's
    /// power-iteration estimate (nothing for the other kinds).
    pub fn refresh(&mut self) {
        for layer in &mut self.layers {
            if let Layer::Spectral(l) = layer {
                l.refresh();
            }
        }
    }

    /// A pass on `tape` in which the critic's parameters are constants (no gradient reaches
    /// them): for the model's step of the Wasserstein regulariser, where only the model descends.
    pub fn frozen_ctx<'t>(&self, tape: &'t Tape<F>) -> Ctx<'t, F> {
        let ctx = Ctx::eval(tape);
        self.visit_params(&mut |_, p| ctx.substitute(p, tape.constant(p.value().clone())));
        ctx
    }

    /// `$\frac{1}{n} \sum_i f(a_i) - \frac{1}{m} \sum_j f(b_j)$` on the tape, for `a` (`[n, d]`)
    /// and `b` (`[m, d]`), with one forward pass over the stacked rows (the orthonormal weights are
    /// computed once).
    pub fn mean_gap<'t>(
        &self,
        ctx: &Ctx<'t, F>,
        a: Var<'t, F>,
        b: Var<'t, F>,
    ) -> Result<Var<'t, F>> {
        let n = a.shape()[0];
        let m = b.shape()[0];
        let f = self.forward(ctx, Var::concat(&[a, b], 0)?)?;
        Ok(f.slice(0, 0, n)?
            .mean()
            .try_sub(f.slice(0, n, n + m)?.mean())?)
    }

    /// The values `$f(x_i)$` of the rows of `x` (`[n, d]`), computed without recording, in `f64`.
    pub fn values(&self, x: &Array2<f64>) -> Result<Vec<f64>> {
        let tape = Tape::<F>::new();
        let _guard = tape.no_grad();
        let ctx = Ctx::eval(&tape);
        let out = self.forward(&ctx, tape.constant(x.mapv(F::from_f64)))?;
        Ok(out.value().iter().map(|v| v.as_f64()).collect())
    }

    /// The training regulariser of this critic for batches `p`, `q` (`[B, d]` each): the
    /// gradient penalty ([`gradient_penalty`]) for [`CriticKind::GradientPenalty`], `None` for
    /// the others. `rng` draws the interpolation weights.
    pub fn regularizer<'t>(
        &self,
        ctx: &Ctx<'t, F>,
        p: &Array2<f64>,
        q: &Array2<f64>,
        rng: &mut impl Rng,
    ) -> Result<Option<Var<'t, F>>> {
        if self.kind != CriticKind::GradientPenalty || self.penalty_weight == 0.0 {
            return Ok(None);
        }
        let eps: Vec<f64> = (0..p.nrows()).map(|_| rng.gen()).collect();
        gradient_penalty(self, ctx, p, q, &eps, self.penalty_weight).map(Some)
    }
}

/// Offset added to `$\|\nabla f\|^{2}$` under the square root of the gradient penalty, so that a
/// zero gradient (a ReLU critic with every unit off) does not give an infinite derivative. It moves
/// `$\|\nabla f\|$` by at most `1e-6` where the gradient vanishes, and by `$\le 5e-13 / \|\nabla
/// f\|$` elsewhere.
pub const PENALTY_NORM_OFFSET: f64 = 1e-12;

/// The gradient penalty of Gulrajani et al. (2017):
///
/// `$\mathrm{GP} = \lambda\frac{1}{B} \sum_i (\sqrt{\|\nabla_x f(\hat{x}_i)\|^{2} + \delta} - 1)^{2}$`,
/// `$\hat{x}_i = \varepsilon_i p_i + (1 - \varepsilon_i) q_i$`,
///
/// `$\delta$` = [`PENALTY_NORM_OFFSET`]. Symbols → arguments: `$p_i, q_i$` = rows of `p`, `q` (`[B,
/// d]`, paired by row), `$\varepsilon_i$` = `eps[i]` (drawn `U(0, 1)` by the caller), `$\lambda$` =
/// `weight`. The inner gradient is recorded (`grad_graph`), so the penalty is differentiable in the
/// critic's parameters bound on `ctx` (a second-order computation on the tape).
pub fn gradient_penalty<'t, F: Float>(
    critic: &Critic<F>,
    ctx: &Ctx<'t, F>,
    p: &Array2<f64>,
    q: &Array2<f64>,
    eps: &[f64],
    weight: f64,
) -> Result<Var<'t, F>> {
    if p.dim() != q.dim() || eps.len() != p.nrows() || p.nrows() == 0 {
        return Err(Error::config(
            "gradient penalty",
            format!(
                "needs two non-empty batches of one shape and one ε per row, got {:?}, {:?} and {} ε",
                p.dim(),
                q.dim(),
                eps.len()
            ),
        ));
    }
    let mut mixed = q.clone();
    for (i, (mut row, &e)) in mixed.axis_iter_mut(Axis(0)).zip(eps).enumerate() {
        row.zip_mut_with(&p.row(i), |qv, &pv| *qv = e * pv + (1.0 - e) * *qv);
    }
    let tape = ctx.tape();
    let x_hat = tape.param(mixed.mapv(F::from_f64));
    let f = critic.forward(ctx, x_hat)?;
    let grad = tape.grad_graph(f.sum(), &[x_hat])?.remove(0);
    let norms = grad
        .square()
        .sum_axis(1, false)?
        .add_scalar(PENALTY_NORM_OFFSET)
        .sqrt();
    Ok(norms.add_scalar(-1.0).square().mean().mul_scalar(weight))
}

impl<F: Float> Module<F> for Critic<F> {
    fn forward<'t>(&self, ctx: &Ctx<'t, F>, x: Var<'t, F>) -> nn::Result<Var<'t, F>> {
        let last = self.layers.len() - 1;
        let mut h = x;
        for (i, layer) in self.layers.iter().enumerate() {
            h = layer.module().forward(ctx, h)?;
            if i < last {
                h = self.activation.apply(h)?;
            }
        }
        Ok(h)
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &Param<F>)) {
        for (i, layer) in self.layers.iter().enumerate() {
            nn::module::visit_child(&i.to_string(), layer.module(), f);
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Param<F>)) {
        for (i, layer) in self.layers.iter_mut().enumerate() {
            nn::module::visit_child_mut(&i.to_string(), layer.module_mut(), f);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    #[test]
    fn configurations_are_checked() {
        let mut rng = StdRng::seed_from_u64(0);
        let odd = CriticConfig::orthonormal(&[3]);
        assert!(Critic::<f64>::new(2, &odd, &mut rng)
            .unwrap_err()
            .to_string()
            .contains("multiples"));
        assert!(Critic::<f64>::new(0, &CriticConfig::orthonormal(&[4]), &mut rng).is_err());
        let mut gp = CriticConfig::gradient_penalty(&[8]);
        gp.penalty_weight = -1.0;
        assert!(Critic::<f64>::new(2, &gp, &mut rng).is_err());
        let mut none = CriticConfig::orthonormal(&[4]);
        none.bjorck_iterations = 0;
        assert!(Critic::<f64>::new(2, &none, &mut rng).is_err());
    }

    /// Narrowing orthonormal critics preserve gradient norm; widening ones, and the other kinds,
    /// do not claim to.
    #[test]
    fn gradient_norm_preservation_is_reported_by_shape() {
        let mut rng = StdRng::seed_from_u64(0);
        let c = |d, h: &[usize], kind| {
            Critic::<f64>::new(
                d,
                &CriticConfig::of_kind(kind, h),
                &mut StdRng::seed_from_u64(d as u64),
            )
            .unwrap()
            .preserves_gradient_norm()
        };
        assert!(c(16, &[16, 8], CriticKind::Orthonormal));
        assert!(!c(2, &[16, 16], CriticKind::Orthonormal));
        assert!(!c(16, &[16, 8], CriticKind::SpectralNorm));
        assert!(!c(16, &[16, 8], CriticKind::GradientPenalty));
        // Björck's weights have norm 1 to round-off, whatever the raw weights
        let critic = Critic::<f64>::new(5, &CriticConfig::orthonormal(&[4, 4]), &mut rng).unwrap();
        assert!((critic.lipschitz_bound().unwrap() - 1.0).abs() < 1e-12);
        let critic = Critic::<f64>::new(3, &CriticConfig::orthonormal(&[4, 2]), &mut rng).unwrap();
        let names = nn::ModuleExt::param_names(&critic);
        assert_eq!(
            names,
            ["0.weight", "0.bias", "1.weight", "1.bias", "2.weight", "2.bias"]
        );
    }
}
