//! The knowledge-transfer methods of the seed works.
//!
//! * [`distill`]: Hinton distillation, generalised distillation with privileged information
//!   (Vapnik), and probabilistic distillation (seed S4) with its theorem checks.
//! * [`bayes`]: Bayesian distillation (seed S4): the teacher's Laplace posterior, aligned to the
//!   student by Gaussian conditioning (neuron and layer removal), as the student's prior.

pub mod bayes;
pub mod distill;
pub mod error;

pub use error::{Error, Result};
