//! Hypernetworks `$G: \Lambda \times U \to W$`: one map from the complexity weight `$\lambda$` to
//! every mean and log-variance of the variational model, trained over `$\lambda \sim U(\Lambda)$`
//! at once.

use autograd::{Float, Tape, Var};
use ndarray::{ArrayD, IxDyn};
use nn::train::{Batch, BatchLoss};
use nn::{Ctx, Module, Param};
use rand::Rng;
use rand_distr::{Distribution, Normal, Uniform};

use super::lambda::{LambdaEncoding, LambdaSampler};
use super::objective::{complexity_loss, to_nn, ComplexityConfig};
use crate::bayes::variational::VariationalMlp;
use crate::{Error, Result};

/// The standard deviation of the entries of `$U_{1}$`, `$U_{2}$` at initialisation (our choice):
/// small, so that a fresh low-rank hypernetwork starts near its offset `b1` (the per-`$\lambda$`
/// model's initialisation) for every `$\lambda$`, yet not so small that `$\partial(A
/// B^{\top})/\partial U_{1} \propto B$` vanishes (the authors' code started them at a Xavier gain
/// of 1e-4).
pub const LOW_RANK_INIT_STD: f64 = 0.02;

/// The two forms of the seed.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HypernetKind {
    /// `$G(\lambda) = t b_{2} + b_{3}$`, `$t = e(\lambda)$`: every mean and log-variance linear in
    /// `t`.
    Linear,
    /// `$G(\lambda) = (f(t) U_{1})(f(t) U_{2})^{\top} + b_{1}$` for a matrix, `f(t) U1 + b1` for a
    /// vector, with `$f(t) = \mathrm{ReLU}(t a + c)$` a layer of `hidden` units (the seed: 50) and
    /// `f(t) U1` reshaped to `[rows, rank]`, `f(t) U2` to `[cols, rank]`: a rank-`rank` correction
    /// of a constant matrix (the authors' code: rank 1, one `f` per generated tensor, as here).
    LowRank {
        /// `$r \ge 1$`.
        rank: usize,
        /// The hidden units of `f`, `$\ge 1$`.
        hidden: usize,
    },
}

impl HypernetKind {
    /// Errors naming the setting unless `$\operatorname{rank} \ge 1$` and `$\mathrm{hidden} \ge
    /// 1$`.
    pub fn validate(&self) -> Result<()> {
        if let HypernetKind::LowRank { rank, hidden } = *self {
            if rank == 0 {
                return Err(Error::config(
                    "low-rank hypernetwork rank",
                    "must be ≥ 1, got 0",
                ));
            }
            if hidden == 0 {
                return Err(Error::config(
                    "low-rank hypernetwork hidden units",
                    "must be ≥ 1, got 0",
                ));
            }
        }
        Ok(())
    }
}

/// The generator of one tensor (a mean or a log-variance of the target). A network has a few
/// of them (four per layer), so the variants' difference in size does not matter.
#[derive(Clone, Debug)]
#[allow(clippy::large_enum_variant)]
enum Generator<F: Float> {
    Linear {
        /// `b2`.
        slope: Param<F>,
        /// `b3`.
        intercept: Param<F>,
    },
    LowRank {
        /// `a` of `$f(t) = \mathrm{ReLU}(t a + c)$`, `[hidden]`.
        f_weight: Param<F>,
        /// `c`, `[hidden]`.
        f_bias: Param<F>,
        /// `$U_{1}$`: `$[\mathrm{hidden}, \mathrm{rows} \cdot r]$` (a matrix) or `[hidden, n]` (a
        /// vector).
        u1: Param<F>,
        /// `$U_{2}$`: `$[\mathrm{hidden}, \mathrm{cols} \cdot r]$`; `None` for a vector.
        u2: Option<Param<F>>,
        /// `b1`, the target's shape.
        offset: Param<F>,
        rank: usize,
    },
}

fn random<F: Float>(shape: &[usize], d: impl Distribution<f64>, rng: &mut impl Rng) -> Param<F> {
    Param::new(ArrayD::from_shape_simple_fn(IxDyn(shape), || {
        F::from_f64(d.sample(rng))
    }))
}

impl<F: Float> Generator<F> {
    /// A generator whose output is `start` for every `t` (linear) or close to it (low rank).
    fn new(kind: HypernetKind, start: ArrayD<F>, rng: &mut impl Rng) -> Result<Self> {
        let shape = start.shape().to_vec();
        Ok(match kind {
            HypernetKind::Linear => Generator::Linear {
                slope: Param::new(ArrayD::zeros(IxDyn(&shape))),
                intercept: Param::new(start),
            },
            HypernetKind::LowRank { rank, hidden } => {
                let unit = Uniform::new_inclusive(-1.0, 1.0);
                let small = Normal::new(0.0, LOW_RANK_INIT_STD).expect("positive std");
                let (u1, u2) = match shape.as_slice() {
                    [rows, cols] => (
                        random(&[hidden, rows * rank], small, rng),
                        Some(random(&[hidden, cols * rank], small, rng)),
                    ),
                    [n] => (random(&[hidden, *n], small, rng), None),
                    other => {
                        return Err(Error::config(
                            "low-rank hypernetwork",
                            format!("generates vectors and matrices, not shape {other:?}"),
                        ))
                    }
                };
                Generator::LowRank {
                    f_weight: random(&[hidden], unit, rng),
                    f_bias: random(&[hidden], unit, rng),
                    u1,
                    u2,
                    offset: Param::new(start),
                    rank,
                }
            }
        })
    }

    /// `G(t)` on the tape of `ctx` (parameters bound there).
    fn generate<'t>(&self, ctx: &Ctx<'t, F>, t: f64) -> Result<Var<'t, F>> {
        match self {
            Generator::Linear { slope, intercept } => Ok(ctx
                .param(slope)
                .mul_scalar(t)
                .try_add(ctx.param(intercept))?),
            Generator::LowRank {
                f_weight,
                f_bias,
                u1,
                u2,
                offset,
                rank,
            } => {
                let hidden = f_weight.shape()[0];
                let h = ctx
                    .param(f_weight)
                    .mul_scalar(t)
                    .try_add(ctx.param(f_bias))?
                    .relu()
                    .reshape(&[1, hidden])?;
                let b1 = ctx.param(offset);
                let a = h.matmul(ctx.param(u1))?;
                let shape = offset.shape();
                let low_rank = match u2 {
                    Some(u2) => {
                        let a = a.reshape(&[shape[0], *rank])?;
                        let b = h.matmul(ctx.param(u2))?.reshape(&[shape[1], *rank])?;
                        a.matmul_t(b, false, true)?
                    }
                    None => a.reshape(shape)?,
                };
                Ok(low_rank.try_add(b1)?)
            }
        }
    }

    fn visit(&self, prefix: &str, f: &mut dyn FnMut(&str, &Param<F>)) {
        match self {
            Generator::Linear { slope, intercept } => {
                f(&format!("{prefix}.b2"), slope);
                f(&format!("{prefix}.b3"), intercept);
            }
            Generator::LowRank {
                f_weight,
                f_bias,
                u1,
                u2,
                offset,
                ..
            } => {
                f(&format!("{prefix}.f_weight"), f_weight);
                f(&format!("{prefix}.f_bias"), f_bias);
                f(&format!("{prefix}.u1"), u1);
                if let Some(u2) = u2 {
                    f(&format!("{prefix}.u2"), u2);
                }
                f(&format!("{prefix}.b1"), offset);
            }
        }
    }

    fn visit_mut(&mut self, prefix: &str, f: &mut dyn FnMut(&str, &mut Param<F>)) {
        match self {
            Generator::Linear { slope, intercept } => {
                f(&format!("{prefix}.b2"), slope);
                f(&format!("{prefix}.b3"), intercept);
            }
            Generator::LowRank {
                f_weight,
                f_bias,
                u1,
                u2,
                offset,
                ..
            } => {
                f(&format!("{prefix}.f_weight"), f_weight);
                f(&format!("{prefix}.f_bias"), f_bias);
                f(&format!("{prefix}.u1"), u1);
                if let Some(u2) = u2 {
                    f(&format!("{prefix}.u2"), u2);
                }
                f(&format!("{prefix}.b1"), offset);
            }
        }
    }
}

/// A hypernetwork over a target [`VariationalMlp`]: for every mean-field Gaussian of the
/// target (each layer's weight, then bias), one generator of its means and one of its
/// log-variances, each started at the target's initial values. The target's own parameters
/// are never trained: a pass binds the generated tensors in their place
/// ([`Hypernet::bind`], through [`Ctx::substitute`]).
#[derive(Clone, Debug)]
pub struct Hypernet<F: Float> {
    kind: HypernetKind,
    encoding: LambdaEncoding,
    target: VariationalMlp<F>,
    /// Per Gaussian of the target: the generators of `$\mu$` and of `$\rho$`.
    generators: Vec<[Generator<F>; 2]>,
}

impl<F: Float> Hypernet<F> {
    /// The hypernetwork of `kind` over `target`, reading `$\lambda$` through `encoding`.
    pub fn new(
        target: VariationalMlp<F>,
        kind: HypernetKind,
        encoding: LambdaEncoding,
        rng: &mut impl Rng,
    ) -> Result<Self> {
        kind.validate()?;
        let mut generators = Vec::new();
        for g in target.gaussians() {
            let mean = Generator::new(kind, g.mean.value().to_owned(), rng)?;
            let log_var = Generator::new(kind, g.log_var.value().to_owned(), rng)?;
            generators.push([mean, log_var]);
        }
        Ok(Hypernet {
            kind,
            encoding,
            target,
            generators,
        })
    }

    /// Linear or low rank.
    pub fn kind(&self) -> HypernetKind {
        self.kind
    }

    /// How `$\lambda$` is read.
    pub fn encoding(&self) -> LambdaEncoding {
        self.encoding
    }

    /// The target network (its architecture; its parameter values are the initial ones).
    pub fn target(&self) -> &VariationalMlp<F> {
        &self.target
    }

    /// Generates `$q_{\lambda}$` with the hypernetwork's parameters bound in `params` and binds it
    /// in `target_ctx` (both on one tape): a pass of [`Hypernet::target`] on `target_ctx` then runs
    /// the model `$G(\lambda)$`, differentiable in the hypernetwork's parameters. Several contexts
    /// on one tape give several `$\lambda$` in one loss.
    pub fn bind<'t>(
        &self,
        params: &Ctx<'t, F>,
        target_ctx: &Ctx<'t, F>,
        lambda: f64,
    ) -> Result<()> {
        let t = self.encoding.encode(lambda)?;
        for (g, [mean, log_var]) in self.target.gaussians().into_iter().zip(&self.generators) {
            target_ctx.substitute(&g.mean, mean.generate(params, t)?);
            target_ctx.substitute(&g.log_var, log_var.generate(params, t)?);
        }
        Ok(())
    }

    /// The model `$G(\lambda)$`: a copy of the target holding the generated means and
    /// log-variances.
    pub fn model_at(&self, lambda: f64) -> Result<VariationalMlp<F>> {
        let t = self.encoding.encode(lambda)?;
        let tape = Tape::new();
        let _no_grad = tape.no_grad();
        let ctx = Ctx::eval(&tape);
        let mut model = self.target.clone();
        for (g, [mean, log_var]) in model.gaussians_mut().into_iter().zip(&self.generators) {
            g.mean.set(mean.generate(&ctx, t)?.value())?;
            g.log_var.set(log_var.generate(&ctx, t)?.value())?;
        }
        Ok(model)
    }
}

impl<F: Float> Module<F> for Hypernet<F> {
    /// A hypernetwork has no forward pass of its own: it needs `$\lambda$` ([`Hypernet::bind`],
    /// [`Hypernet::model_at`]). Always an error.
    fn forward<'t>(&self, _ctx: &Ctx<'t, F>, _x: Var<'t, F>) -> nn::Result<Var<'t, F>> {
        Err(nn::Error::config(
            "hypernetwork forward",
            "a hypernetwork needs λ: run Hypernet::model_at(λ) or bind it to a pass",
        ))
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &Param<F>)) {
        for (i, [mean, log_var]) in self.generators.iter().enumerate() {
            mean.visit(&format!("{i}.mean"), f);
            log_var.visit(&format!("{i}.log_var"), f);
        }
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Param<F>)) {
        for (i, [mean, log_var]) in self.generators.iter_mut().enumerate() {
            mean.visit_mut(&format!("{i}.mean"), f);
            log_var.visit_mut(&format!("{i}.log_var"), f);
        }
    }
}

/// Trains a hypernetwork with [`nn::train::fit`]: `$\mathbb{E}_{\lambda \sim U(\Lambda)}
/// [\mathbb{E}_q \log p(D|w) - \lambda \mathrm{KL} (q\|p)] \to \max \text{ over } U$`, estimated
/// per batch by the mean of [`complexity_loss`] over `per_batch` values of `$\lambda$` drawn from
/// `sampler` (the seed: 5), each with its own draw of `$w \sim q_{\lambda}$`. The draws of
/// `$\lambda$` and of the passes' seeds come from the batch's stream, so a run is reproducible.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct HypernetLoss {
    /// `$U(\Lambda)$`.
    pub sampler: LambdaSampler,
    /// `$\lambda$` values per batch, `$\ge 1$`.
    pub per_batch: usize,
    /// The prior and `N`.
    pub config: ComplexityConfig,
}

impl HypernetLoss {
    /// The batch loss and the `$\lambda$` drawn, on `ctx`'s tape.
    pub fn terms<'t, F: Float>(
        &self,
        model: &Hypernet<F>,
        ctx: &Ctx<'t, F>,
        x: Var<'t, F>,
        labels: &[usize],
    ) -> Result<(Var<'t, F>, Vec<f64>)> {
        self.sampler.validate()?;
        if self.per_batch == 0 {
            return Err(Error::config("lambdas_per_batch", "must be ≥ 1, got 0"));
        }
        let mut total: Option<Var<'t, F>> = None;
        let mut lambdas = Vec::with_capacity(self.per_batch);
        for _ in 0..self.per_batch {
            let (lambda, seed) = ctx.with_rng(|r| (self.sampler.sample(r), r.gen::<u64>()));
            let pass = if ctx.training() {
                Ctx::train(ctx.tape(), seed)
            } else {
                Ctx::eval(ctx.tape())
            };
            model.bind(ctx, &pass, lambda)?;
            let term = complexity_loss(&pass, model.target(), x, labels, lambda, &self.config)?
                .loss
                .mul_scalar(1.0 / self.per_batch as f64);
            total = Some(match total {
                Some(t) => t.try_add(term)?,
                None => term,
            });
            lambdas.push(lambda);
        }
        Ok((total.expect("per_batch ≥ 1"), lambdas))
    }
}

impl<F: Float> BatchLoss<F, Hypernet<F>> for HypernetLoss {
    fn loss<'t>(
        &self,
        model: &Hypernet<F>,
        ctx: &Ctx<'t, F>,
        batch: &Batch<'_, F>,
    ) -> nn::Result<Var<'t, F>> {
        let x = ctx.input(batch.x.clone());
        self.terms(model, ctx, x, &batch.labels)
            .map(|(loss, _)| loss)
            .map_err(to_nn)
    }
}
