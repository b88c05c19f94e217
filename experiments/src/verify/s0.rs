//! The S0 checks (`methods::transfer::checks`) as `distillery verify` checks:
//!
//! ```text
//! theorem/s0/orthonormal-linear    ‖∇(uᵀ W x)‖ = ‖u‖ for Björck-orthonormal W (theorem 1)
//! theorem/s0/groupsort-network     ‖∇f‖ = 1 for orthonormal + MaxMin / GroupSort nets (theorem 2)
//! theorem/s0/combination           ‖∇(α f(x) + β g(y))‖ = 1, α = √(1 − β²) (theorem 3)
//! theorem/s0/identity-plan-bound   W1 ≤ W̃1 on random clouds, exact W1 by the Hungarian algorithm
//! theorem/s0/critic-dual-bound     a trained orthonormal critic's dual value ≤ the exact W1
//! theorem/s0/critic-dual-gap       … and within 5 % of it on 2-D examples
//! ```
//!
//! All are requirements: the seed's statements here are theorems that hold (we check our
//! implementation of them, with the measured deviation in the detail), and the gap is our own
//! stated property. The two dual checks share one training of the critics per process.

use std::sync::OnceLock;

use anyhow::{anyhow, Result};
use methods::transfer::checks::{
    check_combination, check_groupsort_network, check_identity_plan_bound,
    check_orthonormal_linear, critic_dual_rows, dual_bound_outcome, dual_gap_outcome, CheckOutcome,
    CriticDualConfig, DualRow, IdentityPlanConfig, LipschitzCheckConfig, PopulationCheck,
};

use super::{check, Check, Outcome};

fn outcome(o: CheckOutcome) -> Outcome {
    Outcome::from_check(o)
}

type DualRows = (Vec<DualRow>, PopulationCheck);

/// The trained critics' rows of the 2-D examples, computed once per process.
fn dual_rows() -> Result<&'static DualRows> {
    static ROWS: OnceLock<Result<DualRows, String>> = OnceLock::new();
    ROWS.get_or_init(|| critic_dual_rows(&CriticDualConfig::default()).map_err(|e| e.to_string()))
        .as_ref()
        .map_err(|e| anyhow!("{e}"))
}

/// The S0 checks, in the order of the module documentation.
pub fn checks() -> Vec<Box<dyn Check>> {
    type Lipschitz = fn(&LipschitzCheckConfig) -> methods::Result<CheckOutcome>;
    let theorems: [(&str, &str, Lipschitz); 3] = [
        (
            "orthonormal-linear",
            "S0 theorem 1: a Björck-orthonormal linear layer has ‖∇(uᵀ W x)‖ = ‖u‖ (one \
             output: ‖∇f‖ = 1), at random points",
            check_orthonormal_linear,
        ),
        (
            "groupsort-network",
            "S0 theorem 2: orthonormal layers (never widening) with MaxMin / GroupSort have \
             ‖∇f‖ = 1 at random points",
            check_groupsort_network,
        ),
        (
            "combination",
            "S0 theorem 3: t(x, y) = α f(x) + β g(y), α = √(1 − β²), has ‖∇t‖ = 1 at random \
             points",
            check_combination,
        ),
    ];
    let mut out: Vec<Box<dyn Check>> = theorems
        .into_iter()
        .map(|(name, statement, run)| {
            check(format!("theorem/s0/{name}"), statement, move || {
                Ok(outcome(run(&LipschitzCheckConfig::default())?))
            })
        })
        .collect();
    out.push(check(
        "theorem/s0/identity-plan-bound",
        "S0: W1(P̂, Q̂) ≤ W̃1(P̂, Q̂), the cost of L2-SP's identity plan, on random clouds \
         (exact W1 by the Hungarian algorithm)",
        || {
            Ok(outcome(check_identity_plan_bound(
                &IdentityPlanConfig::default(),
            )?))
        },
    ));
    out.push(check(
        "theorem/s0/critic-dual-bound",
        "a trained strictly 1-Lipschitz critic's dual value ≤ the exact W1 of its clouds (and \
         ≤ the population W1 + 3 s.e. on fresh samples), 2-D examples",
        || {
            let (rows, population) = dual_rows()?;
            Ok(outcome(dual_bound_outcome(rows, population)))
        },
    ));
    out.push(check(
        "theorem/s0/critic-dual-gap",
        "a trained orthonormal + MaxMin critic's dual value is within 5 % of the exact W1 on \
         2-D examples",
        || {
            let (rows, population) = dual_rows()?;
            let gap = CriticDualConfig::default().gap;
            Ok(outcome(dual_gap_outcome(rows, population, gap)))
        },
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::assert_requirements_pass;

    /// Every S0 check is a requirement and passes.
    #[test]
    fn every_check_passes() {
        let all = checks();
        assert_eq!(all.len(), 6);
        assert_requirements_pass(&all);
    }
}
