//! The small conv net of `transfer`: encoder `f_enc` (two 5×5 convolutions with max-pooling,
//! one dense layer) and classifier `f_cl` (one dense layer), LeNet-sized.
//!
//! ```text
//! x [B, 784] → [B, 1, 28, 28] → conv1 (5×5, pad 2) → ReLU → max-pool 2   → FM_1 [B, c1, 14, 14]
//!            → conv2 (5×5)    → ReLU → max-pool 2                          → FM_2 [B, c2, 5, 5]
//!            → flatten → fc1 (25·c2 → h) → ReLU                           → FM_3 [B, h]
//!            → head (h → 10)                                               → logits
//! ```
//!
//! The encoder is what ResNet-18's convolutional body is in the seed's setting: it is fine-tuned
//! from the source model; the classifier `head` is trained from a fresh initialisation.

use anyhow::{bail, Result};
use autograd::{Conv2dGeometry, Float, Var};
use nn::layers::{Activation, Conv2d, Linear};
use nn::{Ctx, Module, Param};
use rand::Rng;

/// Classes of both data sets.
pub const CLASSES: usize = 10;

/// The encoder's weights (the Wasserstein regulariser's layers), in order.
pub const ENCODER_WEIGHTS: [&str; 3] = ["conv1.weight", "conv2.weight", "fc1.weight"];
/// Every encoder parameter (fine-tuned from the source; L2-SP's `w_enc`).
pub const ENCODER_PARAMS: [&str; 6] = [
    "conv1.weight",
    "conv1.bias",
    "conv2.weight",
    "conv2.bias",
    "fc1.weight",
    "fc1.bias",
];

/// The widths of the net.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Widths {
    /// Channels of conv1.
    pub conv1: usize,
    /// Channels of conv2.
    pub conv2: usize,
    /// Width of fc1.
    pub hidden: usize,
}

impl Widths {
    /// The architecture in words, for the stored models' identity.
    pub fn describe(&self) -> String {
        format!(
            "conv 1→{c1} 5×5 pad 2, ReLU, max-pool 2; conv {c1}→{c2} 5×5, ReLU, max-pool 2; \
             dense {f}→{h}, ReLU; dense {h}→{CLASSES}; biases",
            c1 = self.conv1,
            c2 = self.conv2,
            f = 25 * self.conv2,
            h = self.hidden
        )
    }
}

/// The net (see the module documentation). Parameters are named `conv1.weight`, `conv1.bias`,
/// …, `head.bias`.
#[derive(Clone, Debug)]
pub struct ConvNet<F: Float> {
    conv1: Conv2d<F>,
    conv2: Conv2d<F>,
    fc1: Linear<F>,
    head: Linear<F>,
}

impl<F: Float> ConvNet<F> {
    /// A net of `widths` with PyTorch's default initialisation, drawn from `rng`.
    pub fn new(widths: Widths, rng: &mut impl Rng) -> Self {
        ConvNet {
            conv1: Conv2d::new(1, widths.conv1, 5, Conv2dGeometry::new(1, 2, 1), true, rng),
            conv2: Conv2d::new(widths.conv1, widths.conv2, 5, Conv2dGeometry::default(), true, rng),
            fc1: Linear::new(25 * widths.conv2, widths.hidden, true, rng),
            head: Linear::new(widths.hidden, CLASSES, true, rng),
        }
    }

    /// The encoder's feature maps `[FM_1, FM_2, FM_3]` and the logits, for inputs `x`
    /// (`[B, 784]`).
    pub fn features<'t>(
        &self,
        ctx: &Ctx<'t, F>,
        x: Var<'t, F>,
    ) -> nn::Result<(Vec<Var<'t, F>>, Var<'t, F>)> {
        let b = x.shape()[0];
        let image = x.reshape(&[b, 1, 28, 28])?;
        let pool = |h: Var<'t, F>| h.max_pool2d([2, 2], [2, 2]);
        let fm1 = pool(Activation::Relu.apply(self.conv1.forward(ctx, image)?)?)?;
        let fm2 = pool(Activation::Relu.apply(self.conv2.forward(ctx, fm1)?)?)?;
        let fm3 = Activation::Relu.apply(self.fc1.forward(ctx, fm2.flatten_from(1)?)?)?;
        let logits = self.head.forward(ctx, fm3)?;
        Ok((vec![fm1, fm2, fm3], logits))
    }

    /// Sets every encoder parameter to the value of the one of the same name in `source` (the
    /// fine-tuning start `w_fix`); the classifier keeps its own initialisation.
    pub fn load_encoder(&mut self, source: &ConvNet<F>) -> Result<()> {
        let mut values = Vec::new();
        source.visit_params(&mut |name, p| {
            if ENCODER_PARAMS.contains(&name) {
                values.push((name.to_owned(), p.value().clone()));
            }
        });
        let mut failure = None;
        let mut set = 0;
        self.visit_params_mut(&mut |name, p| {
            if let Some((_, v)) = values.iter().find(|(n, _)| n == name) {
                match p.set(v.clone()) {
                    Ok(()) => set += 1,
                    Err(e) => failure = Some(format!("{name}: {e}")),
                }
            }
        });
        if let Some(f) = failure {
            bail!("cannot load the source encoder: {f}");
        }
        if set != ENCODER_PARAMS.len() {
            bail!("the source encoder has {set} of the {} parameters", ENCODER_PARAMS.len());
        }
        Ok(())
    }
}

impl<F: Float> Module<F> for ConvNet<F> {
    fn forward<'t>(&self, ctx: &Ctx<'t, F>, x: Var<'t, F>) -> nn::Result<Var<'t, F>> {
        Ok(self.features(ctx, x)?.1)
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &Param<F>)) {
        nn::module::visit_child("conv1", &self.conv1, f);
        nn::module::visit_child("conv2", &self.conv2, f);
        nn::module::visit_child("fc1", &self.fc1, f);
        nn::module::visit_child("head", &self.head, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Param<F>)) {
        nn::module::visit_child_mut("conv1", &mut self.conv1, f);
        nn::module::visit_child_mut("conv2", &mut self.conv2, f);
        nn::module::visit_child_mut("fc1", &mut self.fc1, f);
        nn::module::visit_child_mut("head", &mut self.head, f);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use autograd::Tape;
    use ndarray::Array2;
    use nn::ModuleExt;
    use rand::rngs::StdRng;
    use rand::SeedableRng;

    const W: Widths = Widths {
        conv1: 2,
        conv2: 3,
        hidden: 4,
    };

    #[test]
    fn shapes_and_names() {
        let net = ConvNet::<f64>::new(W, &mut StdRng::seed_from_u64(0));
        let names = net.param_names();
        assert_eq!(&names[..6], ENCODER_PARAMS);
        assert_eq!(&names[6..], ["head.weight", "head.bias"]);
        let tape = Tape::new();
        let ctx = Ctx::eval(&tape);
        let (maps, logits) = net
            .features(&ctx, ctx.input(Array2::<f64>::zeros((5, 784))))
            .unwrap();
        assert_eq!(maps[0].shape(), [5, 2, 14, 14]);
        assert_eq!(maps[1].shape(), [5, 3, 5, 5]);
        assert_eq!(maps[2].shape(), [5, 4]);
        assert_eq!(logits.shape(), [5, CLASSES]);
    }

    /// The encoder is copied, the classifier is not.
    #[test]
    fn load_encoder_copies_the_encoder_only() {
        let source = ConvNet::<f64>::new(W, &mut StdRng::seed_from_u64(1));
        let mut target = ConvNet::<f64>::new(W, &mut StdRng::seed_from_u64(2));
        let head_before = target.head.weight().value().clone();
        target.load_encoder(&source).unwrap();
        assert_eq!(target.conv1.weight().value(), source.conv1.weight().value());
        assert_eq!(target.fc1.bias().unwrap().value(), source.fc1.bias().unwrap().value());
        assert_eq!(target.head.weight().value(), &head_before);
        assert_ne!(target.head.weight().value(), source.head.weight().value());
        let wider = ConvNet::<f64>::new(Widths { hidden: 5, ..W }, &mut StdRng::seed_from_u64(3));
        assert!(target.load_encoder(&wider).is_err());
    }
}
