//! The knowledge-transfer methods of the seed works.
//!
//! * [`distill`]: Hinton distillation, generalised distillation with privileged information
//!   (Vapnik), and probabilistic distillation (seed S4) with its theorem checks.
//! * [`meta`]: gradient-based optimisation of the distillation metaparameters (seed S3), with
//!   exact hypergradients through an optimiser step.
//! * [`multidomain`]: distillation across domains of different size (seed S1): the loss with
//!   its weight `λ` and domain map `φ`, the maps, the two-decoder VAE and its checks.

pub mod distill;
pub mod error;
pub mod meta;
pub mod multidomain;

pub use error::{Error, Result};
