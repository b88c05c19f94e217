//! The S2 checks (`methods::hypernet::checks`) as `distillery verify` checks:
//!
//! ```text
//! theorem/s2/elbo-tight-at-posterior  requirement: Bayesian linear regression with known noise:
//!                                     the ELBO at the exact posterior = the closed-form log p(D)
//! theorem/s2/elbo-lower-bound         requirement: below it for every other q tried, by exactly
//!                                     KL(q ‖ p(w | D))
//! theorem/s2/diag-kl-monte-carlo      requirement: the closed-form KL of diagonal Gaussians (the
//!                                     engine's kl) = Monte-Carlo E_q[ln q − ln p], within 5
//!                                     standard errors
//! ```
//!
//! All are properties of our code (closed forms), so a failure is a bug.

use anyhow::anyhow;
use methods::hypernet::checks::{
    check_diag_kl_mc, check_elbo_bound, DiagKlMcConfig, ElboBoundConfig,
};

use super::{check, Check, Outcome};

/// The S2 checks, in the order of the module documentation.
pub fn checks() -> Vec<Box<dyn Check>> {
    let elbo = |i: usize| {
        move || {
            let outcomes = check_elbo_bound(&ElboBoundConfig::default())?;
            let o = outcomes
                .into_iter()
                .nth(i)
                .ok_or_else(|| anyhow!("the ELBO check returned no outcome {i}"))?;
            Ok(Outcome::from_check(o))
        }
    };
    vec![
        check(
            "theorem/s2/elbo-tight-at-posterior",
            "S2: for Bayesian linear regression with known noise, the ELBO at the exact \
             Gaussian posterior equals the closed-form log evidence log p(D)",
            elbo(0),
        ),
        check(
            "theorem/s2/elbo-lower-bound",
            "S2: the ELBO is below log p(D) for every other q tried (the best mean-field q and \
             random diagonal ones), the gap being exactly KL(q ‖ p(w | D))",
            elbo(1),
        ),
        check(
            "theorem/s2/diag-kl-monte-carlo",
            "S2: the closed-form KL(q ‖ p) of diagonal Gaussians (the engine's kl) = the \
             Monte-Carlo mean of ln q − ln p under q, within 5 standard errors",
            || {
                Ok(Outcome::from_check(check_diag_kl_mc(
                    &DiagKlMcConfig::default(),
                )?))
            },
        ),
    ]
}
