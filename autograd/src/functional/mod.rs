//! Composite ops: functions of the primitives in [`crate::ops`], with no gradient rule of their
//! own, so their gradients (of every order) are right by construction.
//!
//! * [`activation`]: square, softplus, leaky ReLU.
//! * [`softmax`]: logsumexp, softmax, log-softmax (numerically stable).
//! * [`indexing`]: index_select, gather, max/min over an axis, sort, group sort, max-pooling.
//! * [`loss`]: cross-entropy (labels, soft targets with temperature), KL divergences, MSE,
//!   Gaussian negative log-likelihood.

pub mod activation;
pub mod indexing;
pub mod loss;
pub mod softmax;

pub use loss::{
    cross_entropy, gaussian_nll, kl_categorical, kl_diag_gaussian, mse, soft_cross_entropy,
};
