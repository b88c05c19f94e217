//! The Bayesian distillation checks (`methods::bayes::checks`) as `distillery verify` checks:
//!
//! ```text
//! theorem/bayes/conditioning/neuron   neuron removal φ: closed-form conditional (covariance and
//!                                     precision forms) = Monte-Carlo conditioning of samples
//! theorem/bayes/conditioning/layer    layer removal ψ (conditioning on vec(I)), likewise
//! theorem/bayes/kfac-conditioning     matrix-normal conditioning in factors = the dense formula
//! theorem/bayes/laplace-blr           Laplace = the exact posterior of Bayesian linear regression
//! theorem/bayes/kl/{full,diagonal,kfac}  KL(q ‖ p) closed forms = Monte-Carlo estimates
//! ```
//!
//! All are requirements: the conditioning theorem, the Laplace identity and the KL are
//! standard results, so a failure is a bug of ours. The Monte-Carlo ones pass within 5
//! standard errors computed from the samples.

use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use methods::bayes::checks::{
    check_conditioning_mc, check_kfac_conditioning, check_kl_mc, check_laplace_blr,
    ConditioningMcConfig, KfacCheckConfig, KlMcConfig, LaplaceBlrConfig,
};
use methods::distill::CheckOutcome;

use super::{check, Check, Outcome};

fn outcome(o: CheckOutcome) -> Outcome {
    Outcome::from_check(o)
}

type Cached = OnceLock<Result<Vec<CheckOutcome>, String>>;

/// The outcome named `name` of a group of checks computed once per process (one Monte-Carlo
/// sample serves the group).
fn cached(
    cell: &'static Cached,
    run: fn() -> methods::Result<Vec<CheckOutcome>>,
    name: &str,
) -> Result<Outcome> {
    let all = cell
        .get_or_init(|| run().map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| anyhow!("{e}"))?;
    all.iter()
        .find(|o| o.name == name)
        .cloned()
        .map(outcome)
        .ok_or_else(|| anyhow!("no outcome named {name}"))
}

fn conditioning(name: &str) -> Result<Outcome> {
    static CELL: Cached = OnceLock::new();
    cached(
        &CELL,
        || check_conditioning_mc(&ConditioningMcConfig::default()),
        name,
    )
}

fn kl(name: &str) -> Result<Outcome> {
    static CELL: Cached = OnceLock::new();
    cached(&CELL, || check_kl_mc(&KlMcConfig::default()), name)
}

/// The Bayesian distillation checks, in the order of the module documentation.
pub fn checks() -> Vec<Box<dyn Check>> {
    let mut out = Vec::new();
    for (removal, statement) in [
        (
            "neuron",
            "neuron removal φ: the conditional mean and covariance (both forms of the theorem) = \
             Monte-Carlo conditioning of samples of a random Gaussian",
        ),
        (
            "layer",
            "layer removal ψ (conditioning on vec(I)): the conditional mean and covariance = \
             Monte-Carlo conditioning of samples of a random Gaussian",
        ),
    ] {
        out.push(check(
            format!("theorem/bayes/conditioning/{removal}"),
            statement,
            move || conditioning(&format!("bayes-conditioning-{removal}")),
        ));
    }
    out.push(check(
        "theorem/bayes/kfac-conditioning",
        "matrix-normal conditioning on rows/columns in Kronecker factors = the dense formula on \
         U ⊗ V; the K-FAC aligned prior = the dense aligned prior",
        || {
            Ok(outcome(check_kfac_conditioning(
                &KfacCheckConfig::default(),
            )?))
        },
    ));
    out.push(check(
        "theorem/bayes/laplace-blr",
        "Bayesian linear regression: the Laplace posterior (Hessian from HVPs, GGN; full, \
         diagonal, K-FAC) = the exact posterior",
        || Ok(outcome(check_laplace_blr(&LaplaceBlrConfig::default())?)),
    ));
    for structure in ["full", "diagonal", "kfac"] {
        out.push(check(
            format!("theorem/bayes/kl/{structure}"),
            format!(
                "KL(q ‖ p), mean-field q and a {structure} prior, in closed form = the \
                 Monte-Carlo E_q[ln q − ln p]"
            ),
            move || kl(&format!("bayes-kl-{structure}")),
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::assert_requirements_pass;

    #[test]
    fn every_bayes_check_is_a_passing_requirement() {
        let all = checks();
        assert_eq!(all.len(), 7);
        assert_requirements_pass(&all);
    }
}
