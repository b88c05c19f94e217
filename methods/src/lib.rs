//! The knowledge-transfer methods of the seed works.
//!
//! * [`distill`]: Hinton distillation, generalised distillation with privileged information
//!   (Vapnik), and probabilistic distillation (seed S4) with its theorem checks.

pub mod bayes;
pub mod distill;
pub mod error;

pub use error::{Error, Result};
