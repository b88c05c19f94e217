//! The hypergradient `$\nabla_{\lambda} L_{\mathrm{val}}(U(w, \lambda))$`, exact, by reverse mode
//! through the optimiser step (or through `k` unrolled steps) recorded on the tape.
//!
//! The student's parameters `w` are put on the tape as leaves; each step computes `$g_j = \nabla_w
//! L_{\mathrm{train}}(w_j, \lambda)$` with `grad_graph` (so `$g_j$` is itself a recorded function
//! of `$w_j$` and `$\lambda$`), takes `$w_{j+1} = U(w_j, g_j)$` with tape ops ([`super::step`]),
//! and the model is evaluated at `$w_{j+1}$` by [`nn::Ctx::substitute`]. One reverse sweep from
//! `L_val(w_k)` to `a` (the metaparameters' coordinates) then gives the hypergradient, second
//! derivatives `$\partial^{2}L_{\mathrm{train}}/\partial w\partial \lambda$` included, with no
//! finite differences. Memory grows linearly with `k`: every intermediate of the `k` forward passes
//! and of their recorded backward passes stays on the tape until the sweep.

use autograd::{Float, Tape, Var};
use ndarray::Array2;
use nn::loss::TemperatureScaling;
use nn::{Ctx, Module};

use super::loss::{train_loss, val_loss};
use super::metaparams::{MetaParams, MetaVars};
use super::step::{step_all, InnerOptimizer, InnerState, TapeState};
use crate::{Error, Result};

/// One training batch of the lower level: inputs, labels, and the teacher's logits on the
/// same rows.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainBatch<F> {
    /// `x`, `[B, d]`.
    pub x: Array2<F>,
    /// `y`, `B` class indices.
    pub labels: Vec<usize>,
    /// `v`, the teacher's logits, `[B, K]`.
    pub teacher_logits: Array2<F>,
}

/// A batch of the validation split, on which `L_val` is measured.
#[derive(Clone, Debug, PartialEq)]
pub struct ValBatch<F> {
    /// `x`, `[B_val, d]`.
    pub x: Array2<F>,
    /// `y`, `B_val` class indices.
    pub labels: Vec<usize>,
}

/// How the student's parameters are trained: the optimiser `U` and the soft term's `$T^{2}$`
/// choice.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct LowerLevel {
    /// `U`.
    pub optimizer: InnerOptimizer,
    /// `c(T)` of [`super::loss::train_loss`]: 1 (the seed) or `$T^{2}$`.
    pub scaling: TemperatureScaling,
}

/// The result of [`hypergradient`].
#[derive(Clone, Debug, PartialEq)]
pub struct Hypergradient {
    /// `$\nabla_a L_{\mathrm{val}}(U^k(w, \lambda))$`, with respect to the unconstrained
    /// coordinates `a`.
    pub grad: [f64; 3],
    /// `$L_{\mathrm{val}}(U^k(w, \lambda))$`, the validation loss after the unrolled steps.
    pub val_loss: f64,
    /// `k`, the number of unrolled steps.
    pub steps: usize,
    /// Nodes on the tape at the end of the sweep (a measure of the memory the step held).
    pub tape_nodes: usize,
}

impl<F: Float> TrainBatch<F> {
    fn validate(&self) -> Result<()> {
        let (b, c) = (self.x.nrows(), self.teacher_logits.nrows());
        if b == 0 || self.labels.len() != b || c != b {
            return Err(Error::config(
                "training batch",
                format!(
                    "needs ≥ 1 row and as many labels and teacher-logit rows as inputs; got {b} \
                     inputs, {} labels, {c} teacher rows",
                    self.labels.len()
                ),
            ));
        }
        Ok(())
    }
}

impl<F: Float> ValBatch<F> {
    fn validate(&self) -> Result<()> {
        if self.x.nrows() == 0 {
            return Err(Error::config(
                "validation split",
                "must hold at least one sample, got 0",
            ));
        }
        if self.labels.len() != self.x.nrows() {
            return Err(Error::config(
                "validation split",
                format!("{} labels for {} inputs", self.labels.len(), self.x.nrows()),
            ));
        }
        Ok(())
    }
}

/// The current values and shapes of the trainable parameters, in visiting order.
pub(crate) fn trainable_values<F: Float>(
    model: &dyn Module<F>,
) -> (Vec<autograd::Tensor<F>>, Vec<Vec<usize>>) {
    let mut values = Vec::new();
    let mut shapes = Vec::new();
    model.visit_params(&mut |_, p| {
        if !p.frozen {
            values.push(p.value().clone());
            shapes.push(p.shape().to_vec());
        }
    });
    (values, shapes)
}

/// The model's logits on `x` with its trainable parameters replaced by `ws` (visiting order).
pub(crate) fn forward_at<'t, F: Float>(
    tape: &'t Tape<F>,
    model: &dyn Module<F>,
    ws: &[Var<'t, F>],
    x: &Array2<F>,
) -> Result<Var<'t, F>> {
    let ctx = Ctx::eval(tape);
    let mut i = 0;
    model.visit_params(&mut |_, p| {
        if !p.frozen {
            ctx.substitute(p, ws[i]);
            i += 1;
        }
    });
    Ok(model.forward(&ctx, ctx.input(x.clone()))?)
}

/// The lower level on one tape: the model, the metaparameters on the tape and the optimiser,
/// evaluated at parameter variables `ws` (the model's trainable parameters, visiting order).
pub(crate) struct OnTape<'a, 't, F: Float> {
    pub(crate) tape: &'t Tape<F>,
    pub(crate) model: &'a dyn Module<F>,
    pub(crate) meta: MetaVars<'t, F>,
    pub(crate) lower: &'a LowerLevel,
    /// Whether `meta.raw` is a leaf to differentiate with respect to (else constants).
    wrt_meta: bool,
}

impl<'a, 't, F: Float> OnTape<'a, 't, F> {
    /// The lower level of `model` and `lower` on `tape`, with `$\lambda = \mathrm{meta}$` a leaf
    /// when `wrt_meta` (for gradients in `a`), constants otherwise.
    pub(crate) fn new(
        tape: &'t Tape<F>,
        model: &'a dyn Module<F>,
        meta: &MetaParams,
        lower: &'a LowerLevel,
        wrt_meta: bool,
    ) -> Result<Self> {
        let meta = if wrt_meta {
            MetaVars::param(tape, meta)?
        } else {
            MetaVars::constant(tape, meta)?
        };
        Ok(OnTape {
            tape,
            model,
            meta,
            lower,
            wrt_meta,
        })
    }

    /// `$L_{\mathrm{val}}(U^k(w, \lambda))$`: `k = train.len()` steps from the model's current
    /// parameters and optimiser `state` ([`Self::unroll`], recorded when `$\lambda$` is a leaf),
    /// then `L_val` on `val`.
    pub(crate) fn unrolled_val_loss(
        &self,
        state: &InnerState<F>,
        train: &[TrainBatch<F>],
        val: &ValBatch<F>,
    ) -> Result<Var<'t, F>> {
        let (ws, mut tape_state) = leaves(self.tape, self.model, state);
        let ws = self.unroll(&mut tape_state, ws, train, self.wrt_meta)?;
        self.val_loss(&ws, val)
    }

    /// `$L_{\mathrm{train}}(w, \lambda)$` on `batch` with the model at `ws`.
    pub(crate) fn train_loss(
        &self,
        ws: &[Var<'t, F>],
        batch: &TrainBatch<F>,
    ) -> Result<Var<'t, F>> {
        let logits = forward_at(self.tape, self.model, ws, &batch.x)?;
        let teacher = self.tape.constant(batch.teacher_logits.clone());
        train_loss(
            logits,
            &batch.labels,
            teacher,
            &self.meta,
            self.lower.scaling,
        )
    }

    /// `L_val(w)` on `val` with the model at `ws`.
    pub(crate) fn val_loss(&self, ws: &[Var<'t, F>], val: &ValBatch<F>) -> Result<Var<'t, F>> {
        let logits = forward_at(self.tape, self.model, ws, &val.x)?;
        val_loss(logits, &val.labels)
    }

    /// `$w_k = U^k(w_0, \lambda)$`: `k = train.len()` steps of the optimiser from `ws` (step `j` on
    /// `train[j]`), advancing `state`. With `record`, each step's gradient is taken with
    /// `grad_graph`, so `$w_k$` is differentiable in `$\lambda$`; without, with `grad` (values
    /// only).
    pub(crate) fn unroll(
        &self,
        state: &mut TapeState<'t, F>,
        mut ws: Vec<Var<'t, F>>,
        train: &[TrainBatch<F>],
        record: bool,
    ) -> Result<Vec<Var<'t, F>>> {
        for batch in train {
            let loss = self.train_loss(&ws, batch)?;
            let grads = if record {
                self.tape.grad_graph(loss, &ws)?
            } else {
                self.tape
                    .grad(loss, &ws)?
                    .into_iter()
                    .map(|g| self.tape.constant(g))
                    .collect()
            };
            ws = step_all(&self.lower.optimizer, &ws, &grads, state)?;
        }
        Ok(ws)
    }
}

/// Puts the model's trainable parameters on `tape` as leaves, with the optimiser state.
pub(crate) fn leaves<'t, F: Float>(
    tape: &'t Tape<F>,
    model: &dyn Module<F>,
    state: &InnerState<F>,
) -> (Vec<Var<'t, F>>, TapeState<'t, F>) {
    let (values, shapes) = trainable_values(model);
    let ws = values.into_iter().map(|v| tape.param(v)).collect();
    (ws, TapeState::new(tape, state, &shapes))
}

fn check_inputs<F: Float>(
    lower: &LowerLevel,
    train: &[TrainBatch<F>],
    val: &ValBatch<F>,
) -> Result<()> {
    lower.optimizer.validate()?;
    if train.is_empty() {
        return Err(Error::config(
            "unroll steps k",
            "must be ≥ 1 (one training batch per unrolled step), got 0",
        ));
    }
    for batch in train {
        batch.validate()?;
    }
    val.validate()
}

/// The hypergradient through `k = train.len()` unrolled steps:
///
/// `$h = \nabla_a L_{\mathrm{val}}(w_k)$`, `$w_{j+1} = U(w_j, \nabla_w L_{\mathrm{train}}(w_j,
/// \lambda(a)))$` on `train[j]`, `$w_0 = w$` (the model's current parameters), `$\lambda(a)$` the
/// parametrisation of [`super::metaparams`].
///
/// For `$k = 1$` and SGD this is the greedy hypergradient of the seed, `$h = -\gamma(\partial^{2}L_{\mathrm{train}}/\partial
/// a\partial w)(w, \lambda) \cdot \nabla_w L_{\mathrm{val}}(U(w, \lambda))$` (`L_val` has no direct
/// `$\lambda$` term); for Adam the step's own Jacobian (through `$\hat{m}/(\sqrt{\hat{v}} +
/// \varepsilon)$`) is included, which the authors' code leaves out (it uses the SGD formula with
/// `$\gamma = \eta$`).
///
/// Symbols → arguments: `w` = `model`'s trainable parameters, `a` = `meta.raw`, `U` =
/// `lower.optimizer` with its state `state` (Adam's moments, not changed here), `L_train`'s
/// batches = `train`, `L_val`'s = `val`. Errors: `$k = 0$` (`"unroll steps k"`), an empty
/// validation split (`"validation split"`), a malformed batch.
pub fn hypergradient<F: Float>(
    model: &dyn Module<F>,
    meta: &MetaParams,
    lower: &LowerLevel,
    state: &InnerState<F>,
    train: &[TrainBatch<F>],
    val: &ValBatch<F>,
) -> Result<Hypergradient> {
    check_inputs(lower, train, val)?;
    let tape = Tape::<F>::new();
    let on = OnTape::new(&tape, model, meta, lower, true)?;
    let loss = on.unrolled_val_loss(state, train, val)?;
    let grad = tape.grad(loss, &[on.meta.raw])?.remove(0);
    let g: Vec<f64> = grad.iter().map(|v| v.as_f64()).collect();
    Ok(Hypergradient {
        grad: [g[0], g[1], g[2]],
        val_loss: loss.item().map_or(f64::NAN, |v| v.as_f64()),
        steps: train.len(),
        tape_nodes: tape.len(),
    })
}

/// `$L_{\mathrm{val}}(U^k(w, \lambda))$` as a number (no hypergradient): the function whose
/// gradient [`hypergradient`] returns, for finite-difference checks. Same arguments and errors.
pub fn unrolled_val_loss<F: Float>(
    model: &dyn Module<F>,
    meta: &MetaParams,
    lower: &LowerLevel,
    state: &InnerState<F>,
    train: &[TrainBatch<F>],
    val: &ValBatch<F>,
) -> Result<f64> {
    check_inputs(lower, train, val)?;
    let tape = Tape::<F>::new();
    let loss =
        OnTape::new(&tape, model, meta, lower, false)?.unrolled_val_loss(state, train, val)?;
    Ok(loss.item().map_or(f64::NAN, |v| v.as_f64()))
}

/// The real training step `$w \leftarrow U(w, \lambda)$` on `batch`, by the same functions as the
/// step that [`hypergradient`] differentiates; advances `state`. Returns `$L_{\mathrm{train}}(w,
/// \lambda)$` before the step. An error if the loss is not finite (the parameters are then left
/// unchanged).
pub fn apply_step<F: Float>(
    model: &mut dyn Module<F>,
    meta: &MetaParams,
    lower: &LowerLevel,
    state: &mut InnerState<F>,
    batch: &TrainBatch<F>,
) -> Result<f64> {
    lower.optimizer.validate()?;
    batch.validate()?;
    let (new_values, new_state, loss) = {
        let tape = Tape::<F>::new();
        let on = OnTape::new(&tape, &*model, meta, lower, false)?;
        let (ws, mut tape_state) = leaves(&tape, &*model, state);
        let loss_var = on.train_loss(&ws, batch)?;
        let loss = loss_var.item().map_or(f64::NAN, |v| v.as_f64());
        if !loss.is_finite() {
            return Err(Error::config(
                "training loss",
                format!("became {loss} at step {}", state.steps + 1),
            ));
        }
        let grads: Vec<_> = tape
            .grad(loss_var, &ws)?
            .into_iter()
            .map(|g| tape.constant(g))
            .collect();
        let ws = step_all(&lower.optimizer, &ws, &grads, &mut tape_state)?;
        let values: Vec<_> = ws.iter().map(|w| w.value().to_owned()).collect();
        (values, tape_state.to_state(), loss)
    };
    let mut i = 0;
    let mut result = Ok(());
    model.visit_params_mut(&mut |_, p| {
        if !p.frozen {
            if result.is_ok() {
                result = p.set(new_values[i].clone());
            }
            i += 1;
        }
    });
    result?;
    *state = match lower.optimizer {
        InnerOptimizer::Sgd { .. } => InnerState {
            steps: new_state.steps,
            ..InnerState::default()
        },
        InnerOptimizer::Adam(_) => new_state,
    };
    Ok(loss)
}
