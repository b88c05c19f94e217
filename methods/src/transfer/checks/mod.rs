//! Numerical checks of seed S0's statements, as library functions returning
//! [`CheckOutcome`]s (for `distillery verify` and the tests).
//!
//! ```text
//! lipschitz  the three theorems: ‖∇f‖ = 1 for orthonormal linear layers, for orthonormal +
//!            MaxMin / GroupSort networks, and for α f(x) + β g(y), α = √(1 − β²)
//! w1         W1 ≤ W̃1 (identity plan) on random clouds; a trained critic's dual value ≤ the exact
//!            W1 and within a stated gap of it on 2-D examples
//! ```

pub mod lipschitz;
pub mod w1;

pub use crate::distill::checks::{CheckKind, CheckOutcome};
pub use lipschitz::{
    check_combination, check_groupsort_network, check_orthonormal_linear, gradient_norms,
    LipschitzCheckConfig,
};
pub use w1::{
    check_critic_dual, check_identity_plan_bound, critic_dual_rows, dual_bound_outcome,
    dual_gap_outcome, CriticDualConfig, DualRow, IdentityPlanConfig, PopulationCheck,
};

/// Every check of this module with its default configuration, in the order of the table above.
/// Takes a few seconds (the critic training of the dual checks dominates).
pub fn run_all() -> crate::Result<Vec<CheckOutcome>> {
    let lipschitz = LipschitzCheckConfig::default();
    let mut out = vec![
        check_orthonormal_linear(&lipschitz)?,
        check_groupsort_network(&lipschitz)?,
        check_combination(&lipschitz)?,
        check_identity_plan_bound(&IdentityPlanConfig::default())?,
    ];
    out.extend(check_critic_dual(&CriticDualConfig::default())?);
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every check passes with its default configuration (the printed tables are the detail).
    #[test]
    fn every_check_holds() {
        for outcome in run_all().unwrap() {
            println!("{outcome}");
            assert!(outcome.passed, "{outcome}");
        }
    }
}
