//! The S3 checks (`methods::meta::checks`) as `distillery verify` checks:
//!
//! ```text
//! hypergradient/s3/sgd/1               requirement: the exact hypergradient through one SGD step
//!                                      = central finite differences of L_val(U(w, λ)) in each
//!                                      coordinate of λ (f64)
//! hypergradient/s3/sgd/K               the same through K unrolled SGD steps (K = 5)
//! hypergradient/s3/adam/1, adam/K      the same through Adam steps (warm moments)
//! hypergradient/s3/fd-precedence-slip  requirement: the same comparison rejects the authors'
//!                                      finite-difference estimate with its precedence slip,
//!                                      (p − n)/2·ε for (p − n)/(2ε) — the check can fail
//! ```
//!
//! All are properties of our code (the hypergradient is exact by construction, the slip is a
//! known error): a failure is a bug here.

use methods::meta::checks::{
    check_hypergradient, check_precedence_slip_is_caught, CheckOutcome, HypergradCheckConfig,
    StepKind,
};

use super::{check, Check, Outcome};

/// A methods check outcome as a verify outcome (`measured` is the worst ratio of error to
/// tolerance; the slip check must exceed 1).
fn outcome(o: CheckOutcome, must_exceed: bool) -> Outcome {
    Outcome {
        measured: o.measured,
        tolerance: if must_exceed {
            format!(
                "> {:.0} (the slipped estimate must be rejected)",
                o.tolerance
            )
        } else {
            format!("≤ {:.0} (of 1e-9 + 1e-6·|fd| per component)", o.tolerance)
        },
        passed: o.passed,
        detail: o.detail,
    }
}

/// The S3 checks, in the order of the module documentation.
pub fn checks() -> Vec<Box<dyn Check>> {
    let k = HypergradCheckConfig::default().unrolled_steps;
    let mut out = Vec::new();
    for kind in [StepKind::Sgd, StepKind::Adam] {
        for steps in [1, k] {
            out.push(check(
                format!("hypergradient/s3/{}/{steps}", kind.name()),
                format!(
                    "∇_λ L_val(U^{steps}(w, λ)) on the tape through {} {} step(s) = central \
                     finite differences in each coordinate of λ (f64)",
                    steps,
                    match kind {
                        StepKind::Sgd => "SGD",
                        StepKind::Adam => "Adam",
                    }
                ),
                move || {
                    let cfg = HypergradCheckConfig::default();
                    Ok(outcome(check_hypergradient(&cfg, kind, steps)?, false))
                },
            ));
        }
    }
    out.push(check(
        "hypergradient/s3/fd-precedence-slip",
        "the hypergradient check rejects the authors' finite difference (p − n)/2·ε \
         (a precedence slip for (p − n)/(2ε)), one SGD step",
        || {
            let cfg = HypergradCheckConfig::default();
            Ok(outcome(check_precedence_slip_is_caught(&cfg)?, true))
        },
    ));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::verify::{run_guarded, Kind};

    /// Every S3 check is a requirement and passes; the slip check's measured ratio is far
    /// above 1 (the slipped estimate is the intended one times ε² ≈ 10⁻²…10⁻⁴ here).
    #[test]
    fn every_s3_check_passes() {
        let all = checks();
        assert_eq!(all.len(), 5);
        for c in &all {
            let o = run_guarded(c.as_ref()).unwrap_or_else(|e| panic!("{}: {e}", c.name()));
            assert_eq!(c.kind(), Kind::Requirement, "{}", c.name());
            assert!(o.passed, "{} failed:\n{}", c.name(), o.detail);
            if c.name().ends_with("fd-precedence-slip") {
                assert!(o.measured > 100.0, "{}", o.measured);
            } else {
                assert!(o.measured <= 1.0, "{}", o.measured);
            }
        }
    }
}
