//! The knowledge-transfer methods of the seed works.
//!
//! * [`distill`]: Hinton distillation, generalised distillation with privileged information
//!   (Vapnik), and probabilistic distillation (seed S4) with its theorem checks.
//! * [`bayes`]: Bayesian distillation (seed S4): the teacher's Laplace posterior, aligned to the
//!   student by Gaussian conditioning (neuron and layer removal), as the student's prior.
//! * [`meta`]: gradient-based optimisation of the distillation metaparameters (seed S3), with
//!   exact hypergradients through an optimiser step.
//! * [`transfer`]: adversarial (Wasserstein) transfer with strictly 1-Lipschitz critics, the
//!   exact `$W_{1}$` of point clouds, and the L2, L2-SP and DELTA baselines (seed S0).
//! * [`hypernet`]: variational optimisation with complexity control by a hypernetwork (seed S2):
//!   the objective `$\mathbb{E}_q \log p(D|w) - \lambda \mathrm{KL} (q\|p)$`, hypernetworks over
//!   `$\lambda$`, pruning.
//! * [`multidomain`]: distillation across domains of different size (seed S1): the loss with its
//!   weight `$\lambda$` and domain map `$\varphi$`, the maps, the two-decoder VAE and its checks.

pub mod bayes;
pub mod distill;
pub mod error;
pub mod hypernet;
pub mod meta;
pub mod multidomain;
pub mod transfer;

pub use error::{Error, Result};
