//! Numerical checks of the VAE's ELBO (for `distillery verify` and the tests), returning the
//! [`CheckOutcome`]s of `methods::distill::checks`.
//!
//! ```text
//! linear_gaussian  on p(z) = N(0, σ_p² I), p(x|z) = N(Wz + b, s² I), where log p(x), the
//!                  posterior and the ELBO have closed forms: ELBO = log p(x) − KL(q ‖ p(z|x))
//!                  ≤ log p(x), equality at the exact posterior; the reparameterised gradient
//!                  is unbiased (Monte-Carlo error bound)
//! ```

pub mod linear_gaussian;

pub use crate::distill::checks::{CheckKind, CheckOutcome};
pub use linear_gaussian::{
    check_elbo_bound, check_elbo_exact_posterior, check_reparameterized_gradient, closed_forms,
    ClosedForms, Instance, LinearGaussianConfig,
};

/// The three checks with their default configuration, in the order above.
pub fn run_all() -> crate::Result<Vec<CheckOutcome>> {
    let c = LinearGaussianConfig::default();
    Ok(vec![
        check_elbo_bound(&c)?,
        check_elbo_exact_posterior(&c)?,
        check_reparameterized_gradient(&c)?,
    ])
}
