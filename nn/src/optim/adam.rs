//! Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019).

use std::collections::BTreeMap;

use autograd::Float;
use ndarray::{ArrayD, Zip};
use rayon::prelude::*;

use super::state::{check_step, StateLoader};
use super::{
    check_lr, check_lr_settable, check_non_negative, check_positive, check_unit, OptimState,
    Optimizer,
};
use crate::{Grads, Module, Result};

/// How [`Adam`] applies its weight decay `$\lambda$`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum WeightDecay {
    /// L2 regularisation: `$\lambda w$` is added to the gradient before the moments see it
    /// (PyTorch's `Adam(weight_decay=λ)`). State kind `"adam"`.
    L2,
    /// Decoupled decay, AdamW: `$w \leftarrow w - \eta \lambda w$` before the Adam update, outside
    /// the moments (PyTorch's `AdamW`). State kind `"adamw"`.
    Decoupled,
}

/// The hyperparameters of [`Adam`]. Build with [`AdamConfig::adam`] or [`AdamConfig::adamw`]
/// and the setters: `AdamConfig::adam(1e-3).betas(0.9, 0.99).eps(1e-6)`.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AdamConfig {
    /// Step size `$\eta > 0$` (the paper's `$\alpha$`).
    pub lr: f64,
    /// Decay rate of the first-moment estimate, `$\beta_{1} \in[0, 1)$`.
    pub beta1: f64,
    /// Decay rate of the second-moment estimate, `$\beta_{2} \in[0, 1)$`.
    pub beta2: f64,
    /// `$\varepsilon > 0$`, added to `$\sqrt{\hat{v}}$` in the denominator.
    pub eps: f64,
    /// Weight decay `$\lambda \ge 0$`.
    pub weight_decay: f64,
    /// How `$\lambda$` is applied.
    pub decay: WeightDecay,
}

impl AdamConfig {
    /// Adam with step size `lr` and the paper's (and PyTorch's) defaults `$\beta_{1} = 0.9$`,
    /// `$\beta_{2} = 0.999$`, `$\varepsilon = 10^{-8}$`; no weight decay.
    pub fn adam(lr: f64) -> Self {
        AdamConfig {
            lr,
            beta1: 0.9,
            beta2: 0.999,
            eps: 1e-8,
            weight_decay: 0.0,
            decay: WeightDecay::L2,
        }
    }

    /// AdamW with step size `lr` and decoupled weight decay `weight_decay` (PyTorch's default
    /// is 0.01), other settings as [`AdamConfig::adam`].
    pub fn adamw(lr: f64, weight_decay: f64) -> Self {
        AdamConfig {
            weight_decay,
            decay: WeightDecay::Decoupled,
            ..Self::adam(lr)
        }
    }

    /// Sets `$\beta_{1}$` and `$\beta_{2}$`.
    pub fn betas(mut self, beta1: f64, beta2: f64) -> Self {
        self.beta1 = beta1;
        self.beta2 = beta2;
        self
    }

    /// Sets `$\varepsilon$`.
    pub fn eps(mut self, eps: f64) -> Self {
        self.eps = eps;
        self
    }

    /// Sets `$\lambda$` (keeping the decay style).
    pub fn weight_decay(mut self, weight_decay: f64) -> Self {
        self.weight_decay = weight_decay;
        self
    }

    /// The name used in messages, `"Adam"` or `"AdamW"`.
    fn display_name(&self) -> &'static str {
        match self.decay {
            WeightDecay::L2 => "Adam",
            WeightDecay::Decoupled => "AdamW",
        }
    }

    /// The state kind, `"adam"` or `"adamw"`.
    fn kind(&self) -> &'static str {
        match self.decay {
            WeightDecay::L2 => "adam",
            WeightDecay::Decoupled => "adamw",
        }
    }

    /// Checks every setting against its range (`$\eta \ge 0$` when `restoring`, else `$\eta > 0$`).
    fn validate(&self, restoring: bool) -> Result<()> {
        let name = self.display_name();
        if restoring {
            check_lr_settable(name, self.lr)?;
        } else {
            check_lr(name, self.lr)?;
        }
        check_unit(&format!("{name} beta1 (β₁)"), self.beta1)?;
        check_unit(&format!("{name} beta2 (β₂)"), self.beta2)?;
        check_positive(&format!("{name} eps (ε)"), self.eps)?;
        check_non_negative(&format!("{name} weight decay (λ)"), self.weight_decay)
    }
}

/// The moments of one parameter and its own step count `t` (a parameter that joins training
/// late, once unfrozen, is bias-corrected from its own first step, as in PyTorch).
#[derive(Clone, Debug)]
struct Moments<F> {
    m: ArrayD<F>,
    v: ArrayD<F>,
    t: u64,
}

/// Adam, Algorithm 1 of Kingma & Ba (2015), with bias correction, and its AdamW variant. For each
/// parameter `w` with gradient `g`, at the parameter's step `$t = 1, 2, \dots$`, with `$\eta$` =
/// `lr` (the paper's `$\alpha$`), `$\beta_{1}$` = `beta1`, `$\beta_{2}$` = `beta2`, `$\varepsilon$` =
/// `eps`, `$\lambda$` = `weight_decay`, moments `$m_{0} = v_{0} = 0$`:
///
/// ```text
/// g ← g + λ w                       (WeightDecay::L2 only)
/// w ← w − η λ w                     (WeightDecay::Decoupled only: AdamW, before the update)
/// m ← β₁ m + (1 − β₁) g             biased first-moment estimate
/// v ← β₂ v + (1 − β₂) g²            biased second raw-moment estimate
/// m̂ = m / (1 − β₁ᵗ)                 bias-corrected
/// v̂ = v / (1 − β₂ᵗ)
/// w ← w − η m̂ / (√v̂ + ε)            ε outside the root, as in the paper and PyTorch
/// ```
///
/// The bias-correction factors are computed in `f64`, the elementwise update in `F`.
#[derive(Clone, Debug)]
pub struct Adam<F: Float> {
    config: AdamConfig,
    /// Moments and step count, by parameter name.
    moments: BTreeMap<String, Moments<F>>,
    steps: u64,
}

impl<F: Float> Adam<F> {
    /// An optimiser with the given settings, each checked against its range.
    pub fn new(config: AdamConfig) -> Result<Self> {
        config.validate(false)?;
        Ok(Adam {
            config,
            moments: BTreeMap::new(),
            steps: 0,
        })
    }

    /// The current settings.
    pub fn config(&self) -> AdamConfig {
        self.config
    }
}

impl<F: Float> Optimizer<F> for Adam<F> {
    fn step(&mut self, model: &mut dyn Module<F>, grads: &Grads<F>) -> Result<()> {
        let c = self.config;
        let moments = &self.moments;
        check_step(c.display_name(), &*model, grads, &|name| {
            moments.get(name).map(|s| s.m.shape().to_vec())
        })?;
        let l2 = F::from_f64(match c.decay {
            WeightDecay::L2 => c.weight_decay,
            WeightDecay::Decoupled => 0.0,
        });
        // AdamW's w ← w − ηλw, written as w ← (1 − ηλ) w as PyTorch does.
        let shrink = F::from_f64(match c.decay {
            WeightDecay::L2 => 1.0,
            WeightDecay::Decoupled => 1.0 - c.lr * c.weight_decay,
        });
        let (b1, b2) = (F::from_f64(c.beta1), F::from_f64(c.beta2));
        let (one_minus_b1, one_minus_b2) = (F::from_f64(1.0 - c.beta1), F::from_f64(1.0 - c.beta2));
        let (lr, eps) = (F::from_f64(c.lr), F::from_f64(c.eps));
        let moments = &mut self.moments;
        model.visit_params_mut(&mut |name, p| {
            let Some(g) = grads.get(p).filter(|_| !p.frozen) else {
                return;
            };
            let s = moments.entry(name.to_string()).or_insert_with(|| Moments {
                m: ArrayD::zeros(p.shape()),
                v: ArrayD::zeros(p.shape()),
                t: 0,
            });
            s.t += 1;
            // 1/(1 − β₁ᵗ) and 1/(1 − β₂ᵗ).
            let c1 = F::from_f64(1.0 / (1.0 - c.beta1.powf(s.t as f64)));
            let c2 = F::from_f64(1.0 / (1.0 - c.beta2.powf(s.t as f64)));
            let update = |w: &mut F, &g: &F, m: &mut F, v: &mut F| {
                let g = g + l2 * *w;
                *w *= shrink;
                *m = b1 * *m + one_minus_b1 * g;
                *v = b2 * *v + one_minus_b2 * g * g;
                let m_hat = *m * c1;
                let v_hat = *v * c2;
                *w -= lr * m_hat / (v_hat.sqrt() + eps);
            };
            // Each element's update reads only its own values: neither the split over threads
            // nor the vector width changes a bit.
            let split = autograd::kernels::parallel_worthwhile(g.len());
            let mut w = p.value_mut();
            let slices = (
                w.as_slice_mut(),
                g.as_slice(),
                s.m.as_slice_mut(),
                s.v.as_slice_mut(),
            );
            if let (Some(w), Some(g), Some(m), Some(v)) = slices {
                let run = |w: &mut [F], g: &[F], m: &mut [F], v: &mut [F]| {
                    autograd::kernels::widest(
                        #[inline(always)]
                        || {
                            for (((w, g), m), v) in w.iter_mut().zip(g).zip(m).zip(v) {
                                update(w, g, m, v);
                            }
                        },
                    )
                };
                if split {
                    let task = autograd::kernels::parallel_task_len(w.len());
                    w.par_chunks_mut(task)
                        .zip(g.par_chunks(task))
                        .zip(m.par_chunks_mut(task))
                        .zip(v.par_chunks_mut(task))
                        .for_each(|(((w, g), m), v)| run(w, g, m, v));
                } else {
                    run(w, g, m, v);
                }
                return;
            }
            let zip = Zip::from(w).and(g).and(&mut s.m).and(&mut s.v);
            if split {
                zip.par_for_each(update);
            } else {
                zip.for_each(update);
            }
        });
        self.steps += 1;
        Ok(())
    }

    fn learning_rate(&self) -> f64 {
        self.config.lr
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<()> {
        check_lr_settable(self.config.display_name(), lr)?;
        self.config.lr = lr;
        Ok(())
    }

    fn steps(&self) -> u64 {
        self.steps
    }

    /// Scalars `lr`, `beta1`, `beta2`, `eps`, `weight_decay`, `steps` and `t.{name}`;
    /// tensors `m.{name}` and `v.{name}`.
    fn state(&self) -> OptimState<F> {
        let c = self.config;
        let mut state = OptimState::new(c.kind());
        for (key, value) in [
            ("lr", c.lr),
            ("beta1", c.beta1),
            ("beta2", c.beta2),
            ("eps", c.eps),
            ("weight_decay", c.weight_decay),
            ("steps", self.steps as f64),
        ] {
            state.scalars.insert(key.to_string(), value);
        }
        for (name, s) in &self.moments {
            state.scalars.insert(format!("t.{name}"), s.t as f64);
            state.tensors.insert(format!("m.{name}"), s.m.clone());
            state.tensors.insert(format!("v.{name}"), s.v.clone());
        }
        state
    }

    fn load_state(&mut self, state: OptimState<F>, model: &dyn Module<F>) -> Result<()> {
        let c = self.config;
        let mut loader = StateLoader::new(c.display_name(), c.kind(), state, model)?;
        let config = AdamConfig {
            lr: loader.scalar("lr"),
            beta1: loader.scalar("beta1"),
            beta2: loader.scalar("beta2"),
            eps: loader.scalar("eps"),
            weight_decay: loader.scalar("weight_decay"),
            decay: c.decay,
        };
        let steps = loader.count("steps", 0);
        loader.check(config.validate(true));
        let mut m = loader.buffers("m");
        let mut v = loader.buffers("v");
        let t = loader.counters("t", 1);
        let mut moments = BTreeMap::new();
        for (name, t) in t {
            match (m.remove(&name), v.remove(&name)) {
                (Some(m), Some(v)) => {
                    moments.insert(name, Moments { m, v, t });
                }
                _ if loader.rejected(&name) => {}
                _ => loader.problem(format!(
                    "\"t.{name}\" needs both \"m.{name}\" and \"v.{name}\""
                )),
            }
        }
        for name in m.keys().chain(v.keys()) {
            loader.problem(format!("the moments of {name:?} come without \"t.{name}\""));
        }
        loader.finish()?;
        *self = Adam {
            config,
            moments,
            steps,
        };
        Ok(())
    }
}
