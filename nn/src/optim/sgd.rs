//! Stochastic gradient descent with momentum, Nesterov momentum and L2 weight decay.

use std::collections::btree_map::Entry;
use std::collections::BTreeMap;

use autograd::Float;
use ndarray::{ArrayD, Zip};

use super::state::{check_step, StateLoader};
use super::{check_lr, check_lr_settable, check_non_negative, check_unit, OptimState, Optimizer};
use crate::{Error, Grads, Module, Result};

/// The hyperparameters of [`Sgd`]. Build with [`SgdConfig::new`] and the setters:
/// `SgdConfig::new(0.1).momentum(0.9).nesterov(true).weight_decay(5e-4)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SgdConfig {
    /// Learning rate `$\eta > 0$`.
    pub lr: f64,
    /// Momentum `$\mu \in[0, 1)$`; 0 is plain SGD.
    pub momentum: f64,
    /// Nesterov momentum (needs `$\mu > 0$`).
    pub nesterov: bool,
    /// L2 weight decay `$\lambda \ge 0$`, added to the gradient.
    pub weight_decay: f64,
}

impl SgdConfig {
    /// Plain SGD with learning rate `lr`: no momentum, no weight decay.
    pub fn new(lr: f64) -> Self {
        SgdConfig {
            lr,
            momentum: 0.0,
            nesterov: false,
            weight_decay: 0.0,
        }
    }

    /// Sets the momentum `$\mu$`.
    pub fn momentum(mut self, momentum: f64) -> Self {
        self.momentum = momentum;
        self
    }

    /// Turns Nesterov momentum on or off.
    pub fn nesterov(mut self, nesterov: bool) -> Self {
        self.nesterov = nesterov;
        self
    }

    /// Sets the weight decay `$\lambda$`.
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// Checks every setting against its range (`$\eta$` as [`Optimizer::set_learning_rate`] does
    /// when `restoring`, else `$\eta > 0$`).
    fn validate(&self, restoring: bool) -> Result<()> {
        if restoring {
            check_lr_settable("SGD", self.lr)?;
        } else {
            check_lr("SGD", self.lr)?;
        }
        check_unit("SGD momentum (μ)", self.momentum)?;
        check_non_negative("SGD weight decay (λ)", self.weight_decay)?;
        if self.nesterov && self.momentum == 0.0 {
            return Err(Error::config(
                "SGD nesterov",
                "Nesterov momentum needs a momentum μ > 0, got μ = 0",
            ));
        }
        Ok(())
    }
}

/// SGD in PyTorch's formulation (`torch.optim.SGD` without dampening). For each parameter `w` with
/// gradient `g`, learning rate `$\eta$` (`lr`), momentum `$\mu$` (`momentum`) and weight decay
/// `$\lambda$` (`weight_decay`), with a momentum buffer `b` per parameter:
///
/// ```text
/// g ← g + λ w                      (L2 weight decay)
/// b ← g            on the parameter's first step,
/// b ← μ b + g      afterwards      (only if μ > 0)
/// g ← g + μ b      if Nesterov,
/// g ← b            otherwise       (only if μ > 0)
/// w ← w − η g
/// ```
///
/// With `$\mu = 0$` this is plain `$w \leftarrow w - \eta(g + \lambda w)$` and no buffer is kept.
/// Arithmetic is in the parameter's element type `F`, as in PyTorch.
#[derive(Clone, Debug)]
pub struct Sgd<F: Float> {
    config: SgdConfig,
    /// `b`, by parameter name.
    buffers: BTreeMap<String, ArrayD<F>>,
    steps: u64,
}

const KIND: &str = "sgd";

impl<F: Float> Sgd<F> {
    /// An optimiser with the given settings, each checked against its range.
    pub fn new(config: SgdConfig) -> Result<Self> {
        config.validate(false)?;
        Ok(Sgd {
            config,
            buffers: BTreeMap::new(),
            steps: 0,
        })
    }

    /// The current settings.
    pub fn config(&self) -> SgdConfig {
        self.config
    }
}

impl<F: Float> Optimizer<F> for Sgd<F> {
    fn step(&mut self, model: &mut dyn Module<F>, grads: &Grads<F>) -> Result<()> {
        let buffers = &self.buffers;
        check_step("SGD", &*model, grads, &|name| {
            buffers.get(name).map(|b| b.shape().to_vec())
        })?;
        let c = self.config;
        let (lr, mu, lambda) = (
            F::from_f64(c.lr),
            F::from_f64(c.momentum),
            F::from_f64(c.weight_decay),
        );
        let buffers = &mut self.buffers;
        model.visit_params_mut(&mut |name, p| {
            let Some(g) = grads.get(p).filter(|_| !p.frozen) else {
                return;
            };
            // d = g + λ w
            let mut d = g.to_owned();
            if c.weight_decay != 0.0 {
                d.zip_mut_with(p.value(), |d, &w| *d += lambda * w);
            }
            if c.momentum != 0.0 {
                let b = match buffers.entry(name.to_string()) {
                    Entry::Occupied(e) => {
                        let b = e.into_mut();
                        b.zip_mut_with(&d, |b, &d| *b = mu * *b + d);
                        b
                    }
                    Entry::Vacant(e) => e.insert(d.clone()),
                };
                if c.nesterov {
                    d.zip_mut_with(b, |d, &b| *d += mu * b);
                } else {
                    d.assign(b);
                }
            }
            Zip::from(p.value_mut())
                .and(&d)
                .for_each(|w, &d| *w -= lr * d);
        });
        self.steps += 1;
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<()> {
        check_lr_settable("SGD", lr)?;
        self.config.lr = lr;
        Ok(())
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    fn state(&self) -> OptimState<F> {
        let c = self.config;
        let mut state = OptimState::new(KIND);
        for (key, value) in [
            ("lr", c.lr),
            ("momentum", c.momentum),
            ("nesterov", if c.nesterov { 1.0 } else { 0.0 }),
            ("weight_decay", c.weight_decay),
            ("steps", self.steps as f64),
        ] {
            state.scalars.insert(key.to_string(), value);
        }
        for (name, b) in &self.buffers {
            state.tensors.insert(format!("momentum.{name}"), b.clone());
        }
        state
    }

    fn load_state(&mut self, state: OptimState<F>, model: &dyn Module<F>) -> Result<()> {
        let mut loader = StateLoader::new("SGD", KIND, state, model)?;
        let config = SgdConfig {
            lr: loader.scalar("lr"),
            momentum: loader.scalar("momentum"),
            nesterov: loader.flag("nesterov"),
            weight_decay: loader.scalar("weight_decay"),
        };
        let steps = loader.count("steps", 0);
        loader.check(config.validate(true));
        let buffers = loader.buffers("momentum");
        if config.momentum == 0.0 && !buffers.is_empty() {
            loader.problem("momentum buffers are present but the momentum μ is 0".to_string());
        }
        loader.finish()?;
        *self = Sgd {
            config,
            buffers,
            steps,
        };
        Ok(())
    }
}
