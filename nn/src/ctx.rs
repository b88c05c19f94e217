//! `Ctx`: one forward pass's view of the world — the tape, the parameters bound to it, whether
//! this is training or evaluation, and the random stream for dropout.
//!
//! Parameters are bound lazily: the first time a layer asks for one, it is put on the tape (as a
//! constant if frozen). [`Ctx::grads`] then returns the gradient of every bound, trainable
//! parameter, keyed by [`ParamId`]. [`Ctx::substitute`] binds a parameter to any variable
//! instead — to run the model at `$w - \gamma \nabla L$` and differentiate through that step, say.
//!
//! Train/eval mode is a property of the pass, not of the modules (as in Flax): the same model
//! can be used for a training step and an evaluation without being mutated in between.
//!
//! Drop the tape before the optimiser step: while it lives it shares the parameters' values,
//! and an in-place update of a shared value copies it first (copy-on-write).

use std::cell::RefCell;
use std::collections::HashMap;

use autograd::{Float, Tape, Tensor, Var};
use rand::rngs::StdRng;
use rand::SeedableRng;

use crate::module::Module;
use crate::param::{Param, ParamId};
use crate::Result;

/// See the module documentation.
pub struct Ctx<'t, F: Float> {
    tape: &'t Tape<F>,
    bound: RefCell<HashMap<ParamId, Binding<'t, F>>>,
    training: bool,
    rng: RefCell<StdRng>,
}

#[derive(Clone, Copy)]
struct Binding<'t, F: Float> {
    var: Var<'t, F>,
    /// Whether `grads` reports a gradient for it (bound by `param` and not frozen).
    trainable: bool,
}

impl<'t, F: Float> Ctx<'t, F> {
    /// A training pass: dropout is active and draws from a stream seeded with `seed`.
    pub fn train(tape: &'t Tape<F>, seed: u64) -> Self {
        Self::new(tape, true, seed)
    }

    /// An evaluation pass: dropout is the identity.
    pub fn eval(tape: &'t Tape<F>) -> Self {
        Self::new(tape, false, 0)
    }

    fn new(tape: &'t Tape<F>, training: bool, seed: u64) -> Self {
        Ctx {
            tape,
            bound: RefCell::new(HashMap::new()),
            training,
            rng: RefCell::new(StdRng::seed_from_u64(seed)),
        }
    }

    /// The tape of this pass.
    pub fn tape(&self) -> &'t Tape<F> {
        self.tape
    }

    /// Whether this is a training pass.
    pub fn training(&self) -> bool {
        self.training
    }

    /// Data as a constant on the tape.
    pub fn input(&self, x: impl autograd::IntoTensor<F>) -> Var<'t, F> {
        self.tape.constant(x)
    }

    /// The variable standing for `p` in this pass, binding it on first use.
    pub fn param(&self, p: &Param<F>) -> Var<'t, F> {
        if let Some(b) = self.bound.borrow().get(&p.id()) {
            return b.var;
        }
        let var = if p.frozen {
            self.tape.constant(p.value().clone())
        } else {
            self.tape.param(p.value().clone())
        };
        let binding = Binding {
            var,
            trainable: !p.frozen,
        };
        self.bound.borrow_mut().insert(p.id(), binding);
        var
    }

    /// Makes `var` stand for `p` in this pass (its gradient is then not reported by `grads`:
    /// differentiate with respect to whatever `var` was computed from).
    pub fn substitute(&self, p: &Param<F>, var: Var<'t, F>) {
        let binding = Binding {
            var,
            trainable: false,
        };
        self.bound.borrow_mut().insert(p.id(), binding);
    }

    /// Runs `f` with this pass's random stream.
    pub fn with_rng<R>(&self, f: impl FnOnce(&mut StdRng) -> R) -> R {
        f(&mut self.rng.borrow_mut())
    }

    /// Binds every parameter of `model` and returns their variables by name, in visiting order.
    pub fn bind_all(&self, model: &dyn Module<F>) -> Vec<(String, Var<'t, F>)> {
        let mut out = Vec::new();
        model.visit_params(&mut |name, p| out.push((name.to_string(), self.param(p))));
        out
    }

    /// The gradient of a one-element `loss` with respect to every trainable parameter bound in
    /// this pass (first order, nothing recorded).
    pub fn grads(&self, loss: Var<'t, F>) -> Result<Grads<F>> {
        let (ids, vars): (Vec<ParamId>, Vec<Var<'t, F>>) = self
            .bound
            .borrow()
            .iter()
            .filter(|(_, b)| b.trainable)
            .map(|(&id, b)| (id, b.var))
            .unzip();
        let values = self.tape.grad(loss, &vars)?;
        Ok(Grads {
            map: ids.into_iter().zip(values).collect(),
        })
    }
}

/// Gradients of parameters, keyed by their ids.
#[derive(Clone, Debug, Default)]
pub struct Grads<F: Float> {
    map: HashMap<ParamId, Tensor<F>>,
}

impl<F: Float> Grads<F> {
    /// The gradient of `p`, if it was bound and trainable.
    pub fn get(&self, p: &Param<F>) -> Option<&Tensor<F>> {
        self.map.get(&p.id())
    }

    /// Sets the gradient of `p` (for gradients computed some other way).
    pub fn insert(&mut self, p: &Param<F>, g: Tensor<F>) {
        self.map.insert(p.id(), g);
    }

    /// The number of parameters with a gradient.
    pub fn len(&self) -> usize {
        self.map.len()
    }

    /// Whether no parameter has a gradient.
    pub fn is_empty(&self) -> bool {
        self.map.is_empty()
    }

    /// The global Euclidean norm `$\|g\| = \sqrt{\sum_p \sum_j g_{pj}^{2}}$` over all parameters.
    pub fn norm(&self) -> f64 {
        self.map
            .values()
            .flat_map(|g| g.iter())
            .map(|v| v.as_f64() * v.as_f64())
            .sum::<f64>()
            .sqrt()
    }

    /// Gradient clipping by value: every entry clamped to `[−max_abs, max_abs]` (PyTorch's
    /// `clip_grad_value_`). Returns how many entries were clamped.
    pub fn clip_value(&mut self, max_abs: f64) -> usize {
        let (hi, lo) = (F::from_f64(max_abs), F::from_f64(-max_abs));
        let mut clamped = 0;
        for g in self.map.values_mut() {
            g.mapv_inplace(|v| {
                if v > hi {
                    clamped += 1;
                    hi
                } else if v < lo {
                    clamped += 1;
                    lo
                } else {
                    v
                }
            });
        }
        clamped
    }

    /// Gradient clipping by global norm: if `‖g‖ > max_norm`, scales every gradient by
    /// `max_norm / ‖g‖`. Returns the norm before clipping.
    pub fn clip_norm(&mut self, max_norm: f64) -> f64 {
        let norm = self.norm();
        if norm > max_norm && norm > 0.0 {
            let scale = F::from_f64(max_norm / norm);
            for g in self.map.values_mut() {
                g.mapv_inplace(|v| v * scale);
            }
        }
        norm
    }
}
