//! The S1 checks (`methods::multidomain::checks`) as `distillery verify` checks:
//!
//! ```text
//! theorem/s1/elbo-bound               requirement: our ELBO on a linear-Gaussian VAE =
//!                                     log p(x) − KL(q ‖ p(z|x)) ≤ log p(x), random encoders
//! theorem/s1/elbo-exact-posterior     requirement: equality when q is the exact posterior
//! theorem/s1/reparameterized-gradient requirement: the mean of one-sample reparameterised
//!                                     gradients = the exact gradient of the expectation,
//!                                     within 5 Monte-Carlo standard errors per coordinate
//! ```
//!
//! All three are properties of our VAE code (closed forms we derived), so a failure is a bug.

use methods::multidomain::checks::{
    check_elbo_bound, check_elbo_exact_posterior, check_reparameterized_gradient, CheckOutcome,
    LinearGaussianConfig,
};

use super::{check, Check, Outcome};

fn outcome(o: CheckOutcome) -> Outcome {
    Outcome::from_check(o)
}

/// The S1 checks, in the order of the module documentation.
pub fn checks() -> Vec<Box<dyn Check>> {
    type Run = fn(&LinearGaussianConfig) -> methods::Result<CheckOutcome>;
    let all: [(&str, &str, Run); 3] = [
        (
            "elbo-bound",
            "S1 VAE: our ELBO = log p(x) − KL(q ‖ p(z|x)) ≤ log p(x) on a linear-Gaussian VAE \
             in closed form (random encoders)",
            check_elbo_bound,
        ),
        (
            "elbo-exact-posterior",
            "S1 VAE: our ELBO = log p(x) when the encoder is the exact posterior \
             (linear-Gaussian VAE)",
            check_elbo_exact_posterior,
        ),
        (
            "reparameterized-gradient",
            "S1 VAE: the reparameterised ELBO gradient is unbiased — mean of N one-sample \
             gradients = exact gradient of the expectation, within 5 standard errors",
            check_reparameterized_gradient,
        ),
    ];
    all.into_iter()
        .map(|(name, statement, run)| {
            check(format!("theorem/s1/{name}"), statement, move || {
                Ok(outcome(run(&LinearGaussianConfig::default())?))
            })
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::assert_requirements_pass;

    #[test]
    fn the_s1_checks_are_requirements_and_pass() {
        let all = checks();
        assert_eq!(all.len(), 3);
        assert_requirements_pass(&all);
    }
}
