//! S1's variational autoencoder: one shared encoder, two decoders (clothes, digits), trained on the
//! paired sample by the ELBO with both reconstructions; its map `φ(x) = digit_decoder(encoder(x))`
//! carries a clothes image to a digit a digit teacher can read.
//!
//! ```text
//! elbo      Likelihood (Bernoulli, Gaussian), reparameterize, log_likelihood, elbo (its KL is
//!           the engine's kl(&q, &prior, reduction))
//! model     VaeConfig, Vae (encode, decode, elbo, reconstruct, sample, decode_latent),
//!           VaeMap (φ as a DomainMap), Decoder, VaeMapMode
//! training  pair_by_class (the paired sample), PairedElbo (−ELBO for nn::train::fit),
//!           synthetic_digits ("synthetic MNIST")
//! ```
//!
//! Symbols → names: `$q(z|x) = \mathcal{N}(\mu, \operatorname{diag} \sigma^{2})$` → a
//! `DiagGaussian` (its `mean`, `log_var` = `$\ln \sigma^{2}$`); `$\varepsilon$` → `noise`; `$p(z) =
//! \mathcal{N}(0, \sigma_p^{2} I)$` → `prior_std`; the latent size 64 → `VaeConfig::latent`.

pub mod elbo;
pub mod model;
pub mod training;

pub use elbo::{elbo, log_likelihood, reparameterize, Likelihood, Reconstruction};
pub use model::{Decoder, Vae, VaeConfig, VaeMap, VaeMapMode};
pub use training::{pair_by_class, synthetic_digits, PairedElbo};
