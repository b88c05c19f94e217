//! Composite ops: functions of the primitives in [`crate::ops`], with no gradient rule of their
//! own, so their gradients (of every order) are right by construction.
//!
//! * [`activation`]: square, softplus, leaky ReLU.
//! * [`softmax`]: logsumexp, softmax, log-softmax (numerically stable).
//! * [`indexing`]: index_select, gather, max/min over an axis, sort, group sort, max-pooling.
//! * [`reduction`]: [`Reduction`], the sum-or-mean over rows that every batch loss takes.
//! * [`loss`]: cross-entropy (labels, soft targets with temperature), squared error, Gaussian
//!   negative log-likelihood.
//! * [`distribution`]: [`DiagGaussian`] and [`Categorical`] as values, and the KL divergence
//!   with its direction in the call, [`kl`]`(&q, &p, reduction)` = `KL(q ‖ p)`.

pub mod activation;
pub mod distribution;
pub mod indexing;
pub mod loss;
pub mod reduction;
pub mod softmax;

pub use distribution::{kl, Categorical, DiagGaussian, KlDivergence};
pub use loss::{cross_entropy, gaussian_nll, soft_cross_entropy, squared_error};
pub use reduction::Reduction;
