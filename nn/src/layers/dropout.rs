//! Dropout.

use autograd::{Float, Var};
use ndarray::{ArrayD, IxDyn};
use rand::Rng;

use crate::{Ctx, Error, Module, Param, Result};

/// Inverted dropout: in a training pass each element is zeroed with probability `p` and the
/// survivors are scaled by `$1/(1 - p)$`, so that `$\mathbb{E}[y] = x$`; in an evaluation pass `$y =
/// x$`. The mask comes from the pass's seeded stream ([`Ctx::train`]).
#[derive(Clone, Copy, Debug)]
pub struct Dropout {
    p: f64,
}

impl Dropout {
    /// Dropout with drop probability `$p \in[0, 1)$`.
    pub fn new(p: f64) -> Result<Self> {
        if !(0.0..1.0).contains(&p) {
            return Err(Error::config(
                "dropout probability",
                format!("must be in [0, 1), got {p}"),
            ));
        }
        Ok(Dropout { p })
    }
}

impl<F: Float> Module<F> for Dropout {
    fn forward<'t>(&self, ctx: &Ctx<'t, F>, x: Var<'t, F>) -> Result<Var<'t, F>> {
        if !ctx.training() || self.p == 0.0 {
            return Ok(x);
        }
        let keep = F::from_f64(1.0 / (1.0 - self.p));
        let mask = ctx.with_rng(|rng| {
            ArrayD::from_shape_simple_fn(IxDyn(&x.shape()), || {
                if rng.gen::<f64>() < self.p {
                    F::zero()
                } else {
                    keep
                }
            })
        });
        Ok(x.try_mul(ctx.input(mask))?)
    }

    fn visit_params(&self, _: &mut dyn FnMut(&str, &Param<F>)) {}

    fn visit_params_mut(&mut self, _: &mut dyn FnMut(&str, &mut Param<F>)) {}
}
