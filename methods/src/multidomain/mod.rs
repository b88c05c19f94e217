//! Distillation across domains of different size (seed S1): a teacher trained on a big source
//! domain teaches a student of a small target domain through a known map `$\varphi$`.
//!
//! ```text
//! loss   MultiDomainConfig (λ, T0), multidomain_loss (classification),
//!        multidomain_regression_loss
//! maps   DomainMap (φ): Identity, GaussianNoise (two readings of N(0, 1/10)), DilatedConv
//! vae    the two-decoder VAE: ELBO pieces, the model and its map φ = VaeMap, the paired
//!        sample, −ELBO for nn::train::fit, "synthetic MNIST"
//! checks the ELBO on a linear-Gaussian VAE: a lower bound of log p(x), equal at the exact
//!        posterior; the reparameterised gradient is unbiased
//! ```
//!
//! Symbols of the seed → names here: `$\lambda$` → `lambda` (the weight of the labels; `$1 -
//! \lambda$` weights the teacher), `$T_{0}$` → `temperature`, `$\varphi$` → a [`DomainMap`],
//! `$f\circ \varphi$` → the teacher's logits on `$\varphi(x)$` (`teacher_logits`), `g` → the
//! student's logits (`student_logits`).
//!
//! Every loss is a composite of autograd ops (no gradient rule of its own) and is averaged over
//! the batch.

pub mod checks;
pub mod loss;
pub mod maps;
pub mod vae;

pub use loss::{multidomain_loss, multidomain_regression_loss, MultiDomainConfig};
pub use maps::{DilatedConv, DomainMap, GaussianNoise, Identity, NoiseReading};
pub use vae::{Vae, VaeConfig, VaeMap};
