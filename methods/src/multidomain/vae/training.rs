//! Training S1's VAE on the paired sample, and what a trained VAE generates: the pairing of every
//! clothes image with a random digit of the same class index, the batch loss `$-\mathrm{ELBO}$` for
//! `nn::train::fit`, and "synthetic MNIST".

use std::ops::Neg;

use autograd::functional::Reduction;
use autograd::{Float, Var};
use ndarray::{Array1, Axis};
use nn::data::Dataset;
use nn::train::{Batch, BatchLoss};
use nn::Ctx;
use rand::{Rng, RngCore};

use super::model::{to_nn, Decoder, Vae};
use crate::{Error, Result};

/// For every clothes label, the index of a digit of the same class index, drawn uniformly
/// among the digits of that class (with replacement), in the order of `clothes_labels`, from
/// `rng`. S1's paired sample: "each Fashion-MNIST image is paired with a random MNIST digit of
/// the same class index" (T-shirt ↔ 0, trouser ↔ 1, …).
///
/// A class of the clothes that no digit has is an error naming the class.
pub fn pair_by_class(
    clothes_labels: &[usize],
    digit_labels: &[usize],
    rng: &mut dyn RngCore,
) -> Result<Vec<usize>> {
    let classes = clothes_labels
        .iter()
        .chain(digit_labels)
        .max()
        .map_or(0, |&m| m + 1);
    let mut by_class: Vec<Vec<usize>> = vec![Vec::new(); classes];
    for (i, &c) in digit_labels.iter().enumerate() {
        by_class[c].push(i);
    }
    let mut needed = vec![0usize; classes];
    for &c in clothes_labels {
        needed[c] += 1;
    }
    if let Some(c) = (0..classes).find(|&c| needed[c] > 0 && by_class[c].is_empty()) {
        return Err(Error::config(
            "digit set of the VAE pairing",
            format!(
                "has no digit of class {c}, which {} clothes image(s) need; every class index \
                 of the clothes must occur among the digits",
                needed[c]
            ),
        ));
    }
    Ok(clothes_labels
        .iter()
        .map(|&c| by_class[c][rng.gen_range(0..by_class[c].len())])
        .collect())
}

/// The batch loss `$-\mathrm{ELBO}$` of [`Vae::elbo`] on the paired sample, averaged over the batch
/// (`Reduction::Mean`), for `nn::train::fit` on the clothes data set: the digit paired with
/// training image `i` is row `i` of `digits`, and the noise `$\varepsilon$` is drawn from the
/// pass's seeded stream (`Ctx::with_rng`), so a training is reproducible from its seed.
pub struct PairedElbo<F: Float> {
    /// One digit per clothes training image (`[n, input_dim]`), aligned with it.
    pub digits: ndarray::Array2<F>,
}

impl<F: Float> BatchLoss<F, Vae<F>> for PairedElbo<F> {
    fn loss<'t>(
        &self,
        vae: &Vae<F>,
        ctx: &Ctx<'t, F>,
        batch: &Batch<'_, F>,
    ) -> nn::Result<Var<'t, F>> {
        let clothes = ctx.input(batch.x.clone());
        let digits = ctx.input(self.digits.select(Axis(0), batch.indices));
        let noise = ctx.with_rng(|rng| vae.draw_noise(batch.indices.len(), rng));
        let elbo = vae
            .elbo(ctx, clothes, digits, ctx.input(noise), Reduction::Mean)
            .map_err(to_nn)?;
        Ok(elbo.neg())
    }
}

/// "Synthetic MNIST" (S1): `per_image` digits generated from every clothes image of `clothes` by
/// sampling the latent, `$z \sim q(z|x)$`, and decoding with the digit decoder to
/// `$\sigma(\mathrm{logits})$`; each generated digit carries its clothes image's label. Rows are
/// image-major; the noise is drawn from `rng`. S1 takes 70 per image of the 1,000-image small part
/// and splits the 70,000 into 60,000 / 10,000 ([`Dataset::split`]).
///
/// The authors' code decodes one sample per image and repeats it 70 times; here every one of
/// the `per_image` digits has its own latent sample, as the seed describes.
pub fn synthetic_digits<F: Float>(
    vae: &Vae<F>,
    clothes: &Dataset<F>,
    per_image: usize,
    rng: &mut dyn RngCore,
) -> Result<Dataset<F>> {
    if per_image == 0 {
        return Err(Error::config(
            "synthetic digits per image",
            "must be ≥ 1, got 0",
        ));
    }
    let x = vae.sample(clothes.x().view(), Decoder::Digits, per_image, rng)?;
    let y: Array1<usize> = clothes
        .y()
        .iter()
        .flat_map(|&c| std::iter::repeat_n(c, per_image))
        .collect();
    let mut data = Dataset::new(x, y)?;
    if let Some(shape) = clothes.image_shape() {
        data = data.with_image_shape(shape)?;
    }
    Ok(data.with_classes(clothes.num_classes())?)
}
