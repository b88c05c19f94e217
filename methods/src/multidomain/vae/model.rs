//! S1's VAE: one shared encoder, two decoders (clothes, digits), and the learned map
//! `φ(x) = digit_decoder(encoder(x))`.
//!
//! Architecture (the authors' code; S1 fixes only the latent size 64):
//!
//! ```text
//! encoder          x (784) → Linear(784, 200) → LeakyReLU(0.01) → h
//!                  μ = Linear(200, k)(h),  ln σ² = Linear(200, k)(h)
//! clothes_decoder  z (k) → Linear(k, 200) → LeakyReLU(0.01) → Linear(200, 784) → logits
//! digit_decoder    the same shape, its own weights
//! ```
//!
//! The authors' encoder gives `$\sigma = \mathrm{softplus}(\cdot)$`; we give `$\ln \sigma^{2}$`
//! (smooth, unconstrained, the Kingma & Welling parametrisation). Both decoders output Bernoulli
//! logits ([`Likelihood::Bernoulli`]); an image is `$\sigma(\mathrm{logits})$`, the mean of the
//! pixel distribution. The prior is `$\mathcal{N}(0, \sigma_p^{2} I)$` with `$\sigma_p = 1$` by
//! default (S1 writes `$\sigma^{2}$` without a value; the authors' code uses `N(0, I)`).

use autograd::functional::{DiagGaussian, Reduction};
use autograd::{Float, Tape, Var};
use ndarray::{Array2, ArrayView2, Axis};
use nn::layers::{Activation, Linear};
use nn::module::{visit_child, visit_child_mut};
use nn::{Ctx, Module, Param};
use rand::{Rng, RngCore};
use rand_distr::StandardNormal;

use super::elbo::{check_prior_std, elbo, reparameterize, Likelihood, Reconstruction};
use crate::multidomain::maps::DomainMap;
use crate::{Error, Result};

/// The sizes and prior of a [`Vae`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct VaeConfig {
    /// Features per image (784 for 28×28), for the encoder's input and both decoders' output.
    pub input_dim: usize,
    /// Width of the encoder's and the decoders' hidden layer. Default 200 (the authors' code).
    pub hidden: usize,
    /// `k`, the latent size. Default 64 (S1); 2 for the latent-grid figures.
    pub latent: usize,
    /// `$\sigma_p$`, the prior's standard deviation. Default 1 (the authors' code).
    pub prior_std: f64,
}

impl Default for VaeConfig {
    fn default() -> Self {
        VaeConfig {
            input_dim: 784,
            hidden: 200,
            latent: 64,
            prior_std: 1.0,
        }
    }
}

impl VaeConfig {
    /// Checks every size `$\ge 1$` and `$\sigma_p$` finite and `> 0`; the error names the key.
    pub fn validate(&self) -> Result<()> {
        for (what, v) in [
            ("VAE latent size (latent)", self.latent),
            ("VAE hidden width (hidden)", self.hidden),
            ("VAE input dimension (input_dim)", self.input_dim),
        ] {
            if v == 0 {
                return Err(Error::config(what, "must be ≥ 1, got 0"));
            }
        }
        check_prior_std(self.prior_std)
    }

    /// A one-line description for reports.
    pub fn describe(&self) -> String {
        format!(
            "VAE: encoder {d}-{h}-({k}, {k}) (μ, ln σ²), decoders {k}-{h}-{d} for clothes and \
             for digits, LeakyReLU(0.01), Bernoulli likelihood on pixel intensities, prior \
             N(0, {}² I)",
            self.prior_std,
            d = self.input_dim,
            h = self.hidden,
            k = self.latent
        )
    }
}

/// Which decoder.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Decoder {
    /// Reconstructs the clothes image (the encoder's input domain).
    Clothes,
    /// Produces the paired digit.
    Digits,
}

/// A two-layer decoder `z → Linear → LeakyReLU → Linear → logits`.
struct DecoderNet<F: Float> {
    hidden: Linear<F>,
    out: Linear<F>,
}

impl<F: Float> DecoderNet<F> {
    fn new(c: &VaeConfig, rng: &mut impl Rng) -> Self {
        DecoderNet {
            hidden: Linear::new(c.latent, c.hidden, true, rng),
            out: Linear::new(c.hidden, c.input_dim, true, rng),
        }
    }
}

impl<F: Float> Module<F> for DecoderNet<F> {
    fn forward<'t>(&self, ctx: &Ctx<'t, F>, z: Var<'t, F>) -> nn::Result<Var<'t, F>> {
        let h = LEAKY.apply(self.hidden.forward(ctx, z)?)?;
        self.out.forward(ctx, h)
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &Param<F>)) {
        visit_child("0", &self.hidden, f);
        visit_child("2", &self.out, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit_child_mut("0", &mut self.hidden, f);
        visit_child_mut("2", &mut self.out, f);
    }
}

/// The authors' activation (PyTorch's `LeakyReLU()`, slope 0.01).
const LEAKY: Activation = Activation::LeakyRelu(0.01);
/// Rows per forward pass when mapping or generating without gradients.
const CHUNK: usize = 1024;

/// S1's VAE (see the module documentation). Parameters are named `encoder.*`, `mean.*`,
/// `log_var.*`, `clothes_decoder.{0,2}.*`, `digit_decoder.{0,2}.*`. As a [`Module`] its forward
/// pass is the map `φ(x) = σ(digit_decoder(μ(x)))`.
pub struct Vae<F: Float> {
    config: VaeConfig,
    encoder: Linear<F>,
    mean: Linear<F>,
    log_var: Linear<F>,
    clothes: DecoderNet<F>,
    digits: DecoderNet<F>,
}

impl<F: Float> Vae<F> {
    /// A VAE of `config`'s sizes, initialised as PyTorch initialises `Linear` layers.
    pub fn new(config: VaeConfig, rng: &mut impl Rng) -> Result<Self> {
        config.validate()?;
        let c = &config;
        Ok(Vae {
            encoder: Linear::new(c.input_dim, c.hidden, true, rng),
            mean: Linear::new(c.hidden, c.latent, true, rng),
            log_var: Linear::new(c.hidden, c.latent, true, rng),
            clothes: DecoderNet::new(c, rng),
            digits: DecoderNet::new(c, rng),
            config,
        })
    }

    /// Its sizes and prior.
    pub fn config(&self) -> &VaeConfig {
        &self.config
    }

    /// The encoder `$q(z|x) = \mathcal{N}(\mu(x), \operatorname{diag} \sigma^{2}(x))$` of a batch
    /// `x` (`[B, input_dim]`).
    pub fn encode<'t>(&self, ctx: &Ctx<'t, F>, x: Var<'t, F>) -> Result<DiagGaussian<'t, F>> {
        let shape = x.shape();
        if shape.len() != 2 || shape[1] != self.config.input_dim {
            return Err(Error::config(
                "VAE encoder input",
                format!(
                    "must be [B, {}], got shape {shape:?}",
                    self.config.input_dim
                ),
            ));
        }
        let h = LEAKY.apply(self.encoder.forward(ctx, x)?)?;
        let (mean, log_var) = (self.mean.forward(ctx, h)?, self.log_var.forward(ctx, h)?);
        Ok(DiagGaussian::new(mean, log_var)?)
    }

    /// The logits of decoder `which` for latent codes `z` (`[B, k]`).
    pub fn decode<'t>(
        &self,
        ctx: &Ctx<'t, F>,
        which: Decoder,
        z: Var<'t, F>,
    ) -> Result<Var<'t, F>> {
        let net = match which {
            Decoder::Clothes => &self.clothes,
            Decoder::Digits => &self.digits,
        };
        Ok(net.forward(ctx, z)?)
    }

    /// The one-sample ELBO of a batch of clothes images with their paired digits, reduced over
    /// the batch by `reduction` (see [`elbo`]):
    ///
    /// `$\mathrm{ELBO} = R_i [\log p(c_i | z_i) + \log p(d_i | z_i) - \mathrm{KL} (q(z|c_i) \|
    /// \mathcal{N}(0, \sigma_p^{2} I))]$`, `$z_i = \mu(c_i) + \sigma(c_i) \odot \varepsilon_i$`,
    /// `$R_i$` = `$\sum_i$` or `$\frac{1}{B} \sum_i$`,
    ///
    /// both reconstructions from the same `$z_i$`, Bernoulli likelihoods on the pixel intensities.
    /// `c` = `clothes`, `d` = `digits` (both `[B, input_dim]`), `$\varepsilon$` = `noise` (`[B,
    /// k]`; fixed, the ELBO is a smooth function of the rest).
    pub fn elbo<'t>(
        &self,
        ctx: &Ctx<'t, F>,
        clothes: Var<'t, F>,
        digits: Var<'t, F>,
        noise: Var<'t, F>,
        reduction: Reduction,
    ) -> Result<Var<'t, F>> {
        let q = self.encode(ctx, clothes)?;
        let z = reparameterize(&q, noise)?;
        let reconstructions = [
            Reconstruction {
                decoded: self.decode(ctx, Decoder::Clothes, z)?,
                target: clothes,
                likelihood: Likelihood::Bernoulli,
            },
            Reconstruction {
                decoded: self.decode(ctx, Decoder::Digits, z)?,
                target: digits,
                likelihood: Likelihood::Bernoulli,
            },
        ];
        elbo(&reconstructions, &q, self.config.prior_std, reduction)
    }

    /// `$\mathrm{rows} \times k$` draws of `N(0, 1)` from `rng`, row after row.
    pub fn draw_noise(&self, rows: usize, rng: &mut dyn RngCore) -> Array2<F> {
        Array2::from_shape_simple_fn((rows, self.config.latent), || {
            F::from_f64(rng.sample::<f64, _>(StandardNormal))
        })
    }

    /// `$\sigma(\mathrm{decoder}(\mu(x)))$`: each row of `x` encoded to its mean code and decoded
    /// by `which` (with [`Decoder::Digits`], the map `$\varphi$`; with [`Decoder::Clothes`], the
    /// reconstruction).
    pub fn reconstruct(&self, x: ArrayView2<'_, F>, which: Decoder) -> Result<Array2<F>> {
        self.without_grad(x, |ctx, xb| {
            let q = self.encode(ctx, xb)?;
            Ok(self.decode(ctx, which, q.mean())?.sigmoid())
        })
    }

    /// `per_image` samples for every row of `x`: `$z \sim q(z|x) = \mathcal{N}(\mu(x),
    /// \operatorname{diag} \sigma^{2}(x))$`, decoded by `which` to `$\sigma(\mathrm{decoder}(z))$`.
    /// Rows are image-major (the samples of row 0 first); the noise is drawn from `rng` in that
    /// order.
    pub fn sample(
        &self,
        x: ArrayView2<'_, F>,
        which: Decoder,
        per_image: usize,
        rng: &mut dyn RngCore,
    ) -> Result<Array2<F>> {
        let repeated: Vec<usize> = (0..x.nrows())
            .flat_map(|i| std::iter::repeat_n(i, per_image))
            .collect();
        let x = x.select(Axis(0), &repeated);
        let noise = self.draw_noise(x.nrows(), rng);
        let mut offset = 0;
        self.without_grad(x.view(), |ctx, xb| {
            let rows = xb.shape()[0];
            let eps = ctx.input(
                noise
                    .slice(ndarray::s![offset..offset + rows, ..])
                    .to_owned(),
            );
            offset += rows;
            let z = reparameterize(&self.encode(ctx, xb)?, eps)?;
            Ok(self.decode(ctx, which, z)?.sigmoid())
        })
    }

    /// `$\sigma(\mathrm{decoder}(z))$` for given latent codes `z` (`[n, k]`): the latent-grid
    /// figures.
    pub fn decode_latent(&self, which: Decoder, z: ArrayView2<'_, F>) -> Result<Array2<F>> {
        if z.ncols() != self.config.latent {
            return Err(Error::config(
                "VAE latent codes",
                format!(
                    "must have {} columns, got {}",
                    self.config.latent,
                    z.ncols()
                ),
            ));
        }
        self.without_grad(z, |ctx, zb| Ok(self.decode(ctx, which, zb)?.sigmoid()))
    }

    /// `f` on chunks of the rows of `x`, on tapes that record nothing; the outputs stacked.
    fn without_grad(
        &self,
        x: ArrayView2<'_, F>,
        mut f: impl for<'t> FnMut(&Ctx<'t, F>, Var<'t, F>) -> Result<Var<'t, F>>,
    ) -> Result<Array2<F>> {
        let mut parts = Vec::new();
        for chunk in x.axis_chunks_iter(Axis(0), CHUNK) {
            let tape = Tape::new();
            let _no_grad = tape.no_grad();
            let ctx = Ctx::eval(&tape);
            let y = f(&ctx, ctx.input(chunk.to_owned()))?.value();
            let y = y
                .into_dimensionality::<ndarray::Ix2>()
                .map_err(|e| Error::config("VAE output", e.to_string()))?;
            parts.push(y.to_owned());
        }
        if parts.is_empty() {
            return Ok(Array2::zeros((0, self.config.input_dim)));
        }
        let views: Vec<_> = parts.iter().map(|p| p.view()).collect();
        Ok(ndarray::concatenate(Axis(0), &views).expect("chunks of one width"))
    }
}

impl<F: Float> Module<F> for Vae<F> {
    /// `φ(x) = σ(digit_decoder(μ(x)))`.
    fn forward<'t>(&self, ctx: &Ctx<'t, F>, x: Var<'t, F>) -> nn::Result<Var<'t, F>> {
        let q = self.encode(ctx, x).map_err(to_nn)?;
        Ok(self
            .decode(ctx, Decoder::Digits, q.mean())
            .map_err(to_nn)?
            .sigmoid())
    }

    fn visit_params(&self, f: &mut dyn FnMut(&str, &Param<F>)) {
        visit_child("encoder", &self.encoder, f);
        visit_child("mean", &self.mean, f);
        visit_child("log_var", &self.log_var, f);
        visit_child("clothes_decoder", &self.clothes, f);
        visit_child("digit_decoder", &self.digits, f);
    }

    fn visit_params_mut(&mut self, f: &mut dyn FnMut(&str, &mut Param<F>)) {
        visit_child_mut("encoder", &mut self.encoder, f);
        visit_child_mut("mean", &mut self.mean, f);
        visit_child_mut("log_var", &mut self.log_var, f);
        visit_child_mut("clothes_decoder", &mut self.clothes, f);
        visit_child_mut("digit_decoder", &mut self.digits, f);
    }
}

/// A methods error as an nn error (for [`Module`] and `BatchLoss` implementations).
pub(crate) fn to_nn(e: Error) -> nn::Error {
    match e {
        Error::Autograd(e) => nn::Error::Autograd(e),
        Error::Nn(e) => e,
        other => nn::Error::config("VAE", other.to_string()),
    }
}

/// How [`VaeMap`] turns a clothes image into a digit.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum VaeMapMode {
    /// `φ(x) = σ(digit_decoder(μ(x)))`: the mean code, deterministic. The default: the seed
    /// writes `φ(x) = digit_decoder(encoder(x))`, a function of `x`.
    #[default]
    Mean,
    /// `φ(x) = σ(digit_decoder(z))`, `$z \sim q(z|x)$`: a fresh sample per call (the authors'
    /// code).
    Sample,
}

/// The learned map `$\varphi : \mathrm{clothes} \to \mathrm{digits}$` of S1, a [`DomainMap`] over a
/// trained [`Vae`].
pub struct VaeMap<'a, F: Float> {
    /// The trained VAE.
    pub vae: &'a Vae<F>,
    /// Mean code or a sample.
    pub mode: VaeMapMode,
}

impl<F: Float> DomainMap<F> for VaeMap<'_, F> {
    fn describe(&self) -> String {
        let how = match self.mode {
            VaeMapMode::Mean => "φ(x) = σ(digit_decoder(μ(x))), the mean code",
            VaeMapMode::Sample => "φ(x) = σ(digit_decoder(z)), z ~ q(z|x), a sample per call",
        };
        format!("VAE map: {how}; {}", self.vae.config().describe())
    }

    fn output_dim(&self, input_dim: usize) -> Result<usize> {
        let d = self.vae.config().input_dim;
        if input_dim == d {
            Ok(d)
        } else {
            Err(Error::config(
                "VAE map",
                format!("expects {d} features per image, got {input_dim}"),
            ))
        }
    }

    fn apply(&self, x: ArrayView2<'_, F>, rng: &mut dyn RngCore) -> Result<Array2<F>> {
        self.output_dim(x.ncols())?;
        match self.mode {
            VaeMapMode::Mean => self.vae.reconstruct(x, Decoder::Digits),
            VaeMapMode::Sample => self.vae.sample(x, Decoder::Digits, 1, rng),
        }
    }
}
