//! One optimiser step `$w' = U(w, \lambda)$` as a function on the tape, so that the hypergradient
//! can differentiate through it: plain SGD, and Adam as the authors trained their students.
//!
//! The same functions, evaluated without recording, make the real training step
//! ([`super::hypergrad::apply_step`]): the step that is differentiated is the step that is
//! taken.
//!
//! Adam's decay rates are written `$b_{1}, b_{2}$` here, to keep them apart from the metaparameters
//! `$\beta_{1}, \beta_{2}$` of the loss.

use autograd::{Float, Tape, Var};
use ndarray::ArrayD;
use nn::optim::{AdamConfig, WeightDecay};

use crate::{Error, Result};

/// The optimiser of the student's parameters.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum InnerOptimizer {
    /// `$U(w) = w - \gamma g$`, with `$\gamma$` = `lr`.
    Sgd {
        /// `$\gamma > 0$`.
        lr: f64,
    },
    /// Adam (Kingma & Ba, 2015) with bias correction, as PyTorch's `torch.optim.Adam` which the
    /// authors used (their defaults: `$\eta = 10^{-3}$`, `$b_{1} = 0.9$`, `$b_{2} = 0.999$`,
    /// `$\varepsilon = 10^{-8}$`, [`AdamConfig::adam`]). Weight decay must be 0.
    Adam(AdamConfig),
}

impl InnerOptimizer {
    /// Checks the settings; errors name the setting (`inner optimiser lr`, …).
    pub fn validate(&self) -> Result<()> {
        let positive = |what: &str, v: f64| {
            if v.is_finite() && v > 0.0 {
                Ok(())
            } else {
                Err(Error::config(
                    format!("inner optimiser {what}"),
                    format!("must be finite and > 0, got {v}"),
                ))
            }
        };
        match self {
            InnerOptimizer::Sgd { lr } => positive("lr", *lr),
            InnerOptimizer::Adam(c) => {
                positive("lr", c.lr)?;
                positive("eps", c.eps)?;
                for (what, b) in [("beta1 (b₁)", c.beta1), ("beta2 (b₂)", c.beta2)] {
                    if !(0.0..1.0).contains(&b) {
                        return Err(Error::config(
                            format!("inner optimiser Adam {what}"),
                            format!("must lie in [0, 1), got {b}"),
                        ));
                    }
                }
                if c.weight_decay != 0.0 || c.decay != WeightDecay::L2 {
                    return Err(Error::config(
                        "inner optimiser Adam weight_decay",
                        format!("must be 0 (not supported here), got {}", c.weight_decay),
                    ));
                }
                Ok(())
            }
        }
    }

    /// `"SGD(γ=…)"` or `"Adam(η=…, b₁=…, b₂=…, ε=…)"`, for reports.
    pub fn describe(&self) -> String {
        match self {
            InnerOptimizer::Sgd { lr } => format!("SGD(γ={lr})"),
            InnerOptimizer::Adam(c) => format!(
                "Adam(η={}, b₁={}, b₂={}, ε={:e})",
                c.lr, c.beta1, c.beta2, c.eps
            ),
        }
    }
}

/// The optimiser's state between steps: Adam's moments `m, v` per trainable parameter (in the
/// model's visiting order) and the number `t` of steps taken. Empty moments for SGD.
#[derive(Clone, Debug, Default)]
pub struct InnerState<F: Float> {
    /// `m` (first moment) per parameter; empty before the first Adam step.
    pub m: Vec<ArrayD<F>>,
    /// `v` (second raw moment) per parameter; empty before the first Adam step.
    pub v: Vec<ArrayD<F>>,
    /// Steps taken so far.
    pub steps: u64,
}

/// [`InnerState`] on a tape, advanced by [`step_all`] through an unrolled sequence of steps.
pub struct TapeState<'t, F: Float> {
    m: Vec<Var<'t, F>>,
    v: Vec<Var<'t, F>>,
    steps: u64,
}

impl<'t, F: Float> TapeState<'t, F> {
    /// The state's moments as constants on `tape` (zeros of each parameter's shape if no step
    /// was taken yet).
    pub fn new(tape: &'t Tape<F>, state: &InnerState<F>, shapes: &[Vec<usize>]) -> Self {
        let load = |saved: &[ArrayD<F>]| -> Vec<Var<'t, F>> {
            if saved.len() == shapes.len() {
                saved.iter().map(|a| tape.constant(a.view())).collect()
            } else {
                shapes
                    .iter()
                    .map(|s| tape.constant(ArrayD::<F>::zeros(s.as_slice())))
                    .collect()
            }
        };
        TapeState {
            m: load(&state.m),
            v: load(&state.v),
            steps: state.steps,
        }
    }

    /// The values, as an [`InnerState`] (moments only meaningful after an Adam step).
    pub fn to_state(&self) -> InnerState<F> {
        let read = |vars: &[Var<'t, F>]| -> Vec<ArrayD<F>> {
            vars.iter().map(|v| v.value().to_owned()).collect()
        };
        InnerState {
            m: read(&self.m),
            v: read(&self.v),
            steps: self.steps,
        }
    }
}

/// `$U_{\mathrm{SGD}}(w) = w - \gamma g$`, with `w` = `w`, `$g = \nabla_w L_{\mathrm{train}}(w,
/// \lambda)$` = `grad` (recorded, so that `$\partial U/\partial \lambda = -\gamma
/// \partial^{2}L_{\mathrm{train}}/\partial w\partial \lambda$` is on the tape), `$\gamma$` = `lr`.
pub fn sgd_step<'t, F: Float>(w: Var<'t, F>, grad: Var<'t, F>, lr: f64) -> Result<Var<'t, F>> {
    Ok(w.try_sub(grad.mul_scalar(lr))?)
}

/// `$\sqrt{x}$` where `x > 0`, and 0 where `$x = 0$`, with the derivative of `$\surd$` where `x >
/// 0` and 0 where `$x = 0$`:
///
/// `$r(x) = [x > 0] \cdot \sqrt{x + [x = 0]}$`   (the bracket a constant mask).
///
/// Why: Adam divides by `$\sqrt{\hat{v}} + \varepsilon$`. An element whose gradients were all
/// exactly zero so far (a dead ReLU unit) has `$\hat{v} = 0$`, and the chain rule through `$\surd$`
/// gives `$0 \cdot \infty = \mathrm{NaN}$` there, although the step `$\hat{m}/(\sqrt{\hat{v}} +
/// \varepsilon)$` is differentiable in the gradients at that point (its derivative is `$(1 -
/// b_{1})/((1 - b_{1}ᵗ) \varepsilon)$` times the gradient's, the `$\surd$` term contributing `0`).
/// The mask gives exactly that. (The authors' code replaced NaN hypergradients by 0.)
pub fn root_where_positive<'t, F: Float>(x: Var<'t, F>) -> Result<Var<'t, F>> {
    let value = x.value();
    let mask = value.mapv(|v| if v > F::zero() { F::one() } else { F::zero() });
    let fill = mask.mapv(|m| F::one() - m);
    let tape = x.tape();
    let shifted = x.try_add(tape.constant(fill))?;
    Ok(shifted.sqrt().try_mul(tape.constant(mask))?)
}

/// One Adam step at step number `t = steps + 1`, as recorded ops:
///
/// ```text
/// m' = b₁ m + (1 − b₁) g
/// v' = b₂ v + (1 − b₂) g²
/// w' = w − η · (m' / (1 − b₁ᵗ)) / (r(v' / (1 − b₂ᵗ)) + ε)
/// ```
///
/// `r` is [`root_where_positive`] (`$\surd$`, safe at 0). Symbols → arguments: `w`, `$g = \nabla_w
/// L_{\mathrm{train}}$` = `grad`, `m`, `v` the moments before the step, `$\eta, b_{1}, b_{2},
/// \varepsilon$` = `cfg.lr, cfg.beta1, cfg.beta2, cfg.eps`. Returns `(w', m', v')`. This is
/// `nn::optim::Adam::step` without weight decay, written with tape ops.
pub fn adam_step<'t, F: Float>(
    w: Var<'t, F>,
    grad: Var<'t, F>,
    m: Var<'t, F>,
    v: Var<'t, F>,
    t: u64,
    cfg: &AdamConfig,
) -> Result<(Var<'t, F>, Var<'t, F>, Var<'t, F>)> {
    let m_next = m
        .mul_scalar(cfg.beta1)
        .try_add(grad.mul_scalar(1.0 - cfg.beta1))?;
    let v_next = v
        .mul_scalar(cfg.beta2)
        .try_add(grad.square().mul_scalar(1.0 - cfg.beta2))?;
    let c1 = 1.0 / (1.0 - cfg.beta1.powf(t as f64));
    let c2 = 1.0 / (1.0 - cfg.beta2.powf(t as f64));
    let denom = root_where_positive(v_next.mul_scalar(c2))?.add_scalar(cfg.eps);
    let update = m_next.mul_scalar(c1 * cfg.lr).try_div(denom)?;
    Ok((w.try_sub(update)?, m_next, v_next))
}

/// One step of `opt` on every parameter: `$w'_p = U(w_p, g_p)$`, advancing `state` (Adam's
/// moments and step count). `ws` and `grads` are in the same order as `state`'s moments.
pub fn step_all<'t, F: Float>(
    opt: &InnerOptimizer,
    ws: &[Var<'t, F>],
    grads: &[Var<'t, F>],
    state: &mut TapeState<'t, F>,
) -> Result<Vec<Var<'t, F>>> {
    state.steps += 1;
    let mut out = Vec::with_capacity(ws.len());
    for (i, (&w, &g)) in ws.iter().zip(grads).enumerate() {
        match opt {
            InnerOptimizer::Sgd { lr } => out.push(sgd_step(w, g, *lr)?),
            InnerOptimizer::Adam(cfg) => {
                let (w2, m2, v2) = adam_step(w, g, state.m[i], state.v[i], state.steps, cfg)?;
                state.m[i] = m2;
                state.v[i] = v2;
                out.push(w2);
            }
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ndarray::{array, Array1};
    use nn::optim::{Adam, Optimizer};
    use nn::{Grads, Module, Param};

    /// A module holding one parameter, to run `nn`'s Adam on it.
    struct One(Param<f64>);

    impl Module<f64> for One {
        fn forward<'t>(&self, _: &nn::Ctx<'t, f64>, x: Var<'t, f64>) -> nn::Result<Var<'t, f64>> {
            Ok(x)
        }
        fn visit_params(&self, f: &mut dyn FnMut(&str, &Param<f64>)) {
            f("w", &self.0);
        }
        fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Param<f64>)) {
            f("w", &mut self.0);
        }
    }

    /// Three steps of the tape Adam = three steps of `nn::optim::Adam` (the library's, an
    /// independent in-place implementation), to round-off: both evaluate the same formula in
    /// f64, in a different order of operations (≤ 1e-15 on values of order 1). A gradient
    /// element that is exactly 0 throughout exercises the masked root.
    #[test]
    fn the_tape_adam_is_nn_adam() {
        let cfg = AdamConfig::adam(0.1);
        let grads = [
            array![0.5, -2.0, 0.0],
            array![0.1, 1.0, 0.0],
            array![-0.3, 0.2, 0.0],
        ];
        let start = array![1.0, -1.0, 0.25];
        let mut model = One(Param::new(start.clone()));
        let mut adam = Adam::<f64>::new(cfg).unwrap();
        let tape = Tape::<f64>::new();
        let shapes = vec![vec![3]];
        let mut state = TapeState::new(&tape, &InnerState::default(), &shapes);
        let mut w = tape.constant(start);
        for g in &grads {
            let mut gs = Grads::default();
            gs.insert(&model.0, g.clone().into_dyn().into_shared());
            adam.step(&mut model, &gs).unwrap();
            let gv = tape.constant(g.clone());
            w = step_all(&InnerOptimizer::Adam(cfg), &[w], &[gv], &mut state).unwrap()[0];
        }
        let ours: Array1<f64> = w.value().into_dimensionality().unwrap().to_owned();
        let theirs = model.0.value();
        for (a, b) in ours.iter().zip(theirs.iter()) {
            assert!((a - b).abs() < 1e-15, "{ours} vs {theirs}");
        }
        assert_eq!(state.to_state().steps, 3);
    }

    /// `r(x)` is `$\sqrt{x}$` with `$\surd$`'s derivative where `x > 0`, and 0 with derivative 0 at
    /// `$x = 0$` (where plain `$\surd$` would give NaN): hand values, exact in f64 for these
    /// squares.
    #[test]
    fn the_masked_root_is_finite_at_zero() {
        let tape = Tape::<f64>::new();
        let x = tape.param(array![4.0, 0.0, 0.25]);
        let r = root_where_positive(x).unwrap();
        assert_eq!(r.value().as_slice().unwrap(), &[2.0, 0.0, 0.5]);
        let g = tape.grad(r.sum(), &[x]).unwrap().remove(0);
        assert_eq!(g.as_slice().unwrap(), &[0.25, 0.0, 1.0]);
    }

    #[test]
    fn settings_out_of_range_name_the_setting() {
        let err = InnerOptimizer::Sgd { lr: 0.0 }.validate().unwrap_err();
        assert!(err.to_string().contains("inner optimiser lr"), "{err}");
        let err = InnerOptimizer::Adam(AdamConfig::adam(1e-3).betas(1.0, 0.999))
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("beta1"), "{err}");
        let err = InnerOptimizer::Adam(AdamConfig::adamw(1e-3, 0.01))
            .validate()
            .unwrap_err();
        assert!(err.to_string().contains("weight_decay"), "{err}");
    }
}
