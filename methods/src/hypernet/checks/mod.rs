//! Numerical checks of the variational objective's foundations, as library functions returning
//! [`CheckOutcome`]s (for `distillery verify` and the tests).
//!
//! ```text
//! elbo_bound  Bayesian linear regression with known noise: the ELBO at the exact posterior
//!             equals the closed-form log p(D); for every other q tried it is below, by
//!             exactly KL(q ‖ p(w | D))
//! kl_mc       the closed-form KL of diagonal Gaussians (the engine's kl) against Monte-Carlo
//!             E_q[ln q − ln p]
//! ```

pub mod elbo_bound;
pub mod kl_mc;

pub use crate::distill::checks::{CheckKind, CheckOutcome};
pub use elbo_bound::{check_elbo_bound, ElboBoundConfig};
pub use kl_mc::{check_diag_kl_mc, DiagKlMcConfig};

/// Every check of this module with its default configuration.
pub fn run_all() -> crate::Result<Vec<CheckOutcome>> {
    let mut out = check_elbo_bound(&ElboBoundConfig::default())?;
    out.push(check_diag_kl_mc(&DiagKlMcConfig::default())?);
    Ok(out)
}
