//! `Clipped`: any optimiser with its gradients clipped (by value or by global norm) before each
//! step, so that a training loop that takes an optimiser (`nn::train::fit`) clips too.

use autograd::Float;

use super::{OptimState, Optimizer};
use crate::{Error, Grads, Module, Result};

/// How gradients are clipped.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum GradClip {
    /// Every entry clamped to `$[-c, c]$` ([`Grads::clip_value`]).
    Value(f64),
    /// Scaled down to global norm `c` when above it ([`Grads::clip_norm`]).
    Norm(f64),
}

/// `inner` with its gradients clipped by `clip` before every step; everything else (rate,
/// state) is `inner`'s.
#[derive(Clone, Debug)]
pub struct Clipped<O> {
    /// The optimiser.
    pub inner: O,
    clip: GradClip,
}

impl<O> Clipped<O> {
    /// Errors unless the clipping threshold is finite and positive.
    pub fn new(inner: O, clip: GradClip) -> Result<Self> {
        let c = match clip {
            GradClip::Value(c) | GradClip::Norm(c) => c,
        };
        if !(c > 0.0 && c.is_finite()) {
            return Err(Error::config(
                "gradient clipping",
                format!("the threshold must be finite and > 0, got {c}"),
            ));
        }
        Ok(Clipped { inner, clip })
    }
}

impl<F: Float, O: Optimizer<F>> Optimizer<F> for Clipped<O> {
    fn step(&mut self, model: &mut dyn Module<F>, grads: &Grads<F>) -> Result<()> {
        let mut g = grads.clone();
        match self.clip {
            GradClip::Value(c) => {
                g.clip_value(c);
            }
            GradClip::Norm(c) => {
                g.clip_norm(c);
            }
        }
        self.inner.step(model, &g)
    }

    fn learning_rate(&self) -> f64 {
        self.inner.learning_rate()
    }

    fn set_learning_rate(&mut self, lr: f64) -> Result<()> {
        self.inner.set_learning_rate(lr)
    }

    fn steps(&self) -> u64 {
        self.inner.steps()
    }

    fn state(&self) -> OptimState<F> {
        self.inner.state()
    }

    fn load_state(&mut self, state: OptimState<F>, model: &dyn Module<F>) -> Result<()> {
        self.inner.load_state(state, model)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::layers::Linear;
    use crate::optim::{Sgd, SgdConfig};
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    /// SGD at rate 1 through `Clipped::Value(0.5)`: a gradient entry of 3 moves its weight by
    /// 0.5, one of 0.2 by 0.2; a non-positive threshold is refused.
    #[test]
    fn clipped_sgd_steps_by_the_clamped_gradient() {
        let mut model = Linear::<f64>::new(2, 1, false, &mut StdRng::seed_from_u64(0));
        let before = model.weight().value().to_owned();
        let mut grads = Grads::default();
        grads.insert(
            model.weight(),
            ndarray::array![[3.0, 0.2]].into_dyn().into_shared(),
        );
        let mut opt =
            Clipped::new(Sgd::new(SgdConfig::new(1.0)).unwrap(), GradClip::Value(0.5)).unwrap();
        opt.step(&mut model, &grads).unwrap();
        let after = model.weight().value();
        assert!((before[[0, 0]] - after[[0, 0]] - 0.5).abs() < 1e-15);
        assert!((before[[0, 1]] - after[[0, 1]] - 0.2).abs() < 1e-15);
        assert_eq!(opt.steps(), 1);
        assert!(Clipped::new(
            Sgd::<f64>::new(SgdConfig::new(1.0)).unwrap(),
            GradClip::Norm(0.0)
        )
        .is_err());
    }
}
