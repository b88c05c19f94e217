//! Numerical checks of the hypergradient, as library functions returning [`CheckOutcome`]s
//! (for `distillery verify` and the tests).
//!
//! ```text
//! fd             central differences of L_val(U^k(w, λ)); the authors' DARTS-style estimate
//!                with and without their precedence slip
//! hypergradient  the check problem; exact = finite differences (SGD, Adam; 1 and k steps);
//!                the same comparison rejecting the slipped estimate
//! ```

pub mod fd;
pub mod hypergradient;

pub use crate::distill::checks::{CheckKind, CheckOutcome};
pub use fd::{authors_fd_hypergradient, central_difference_hypergradient, FdFormula};
pub use hypergradient::{
    check_hypergradient, check_precedence_slip_is_caught, check_problem, run_hypergradient_checks,
    worst_ratio, CheckProblem, HypergradCheckConfig, StepKind,
};

/// Every check of this module with its default configuration, in a stable order.
pub fn run_all() -> crate::Result<Vec<CheckOutcome>> {
    run_hypergradient_checks(&HypergradCheckConfig::default())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Prints every outcome (`cargo test -- --nocapture` shows the figures) and requires each
    /// to pass: the exact hypergradients agree with finite differences, and the slip is caught.
    #[test]
    fn every_check_passes_with_the_defaults() {
        for outcome in run_all().unwrap() {
            println!("{outcome}");
            assert!(outcome.passed, "{outcome}");
        }
    }

    /// The check can fail: a hypergradient off by one part in 10⁴ in one component is
    /// rejected by the tolerance (1e-9 + 1e-6·|fd|), one within 1e-8 relative is accepted.
    #[test]
    fn the_comparison_rejects_a_small_error() {
        let reference = [1e-2, -3e-3, 5e-4];
        let mut off = reference;
        off[2] *= 1.0 + 1e-4;
        assert!(worst_ratio(&off, &reference, 1e-9, 1e-6) > 1.0);
        let mut close = reference;
        close[0] *= 1.0 + 1e-8;
        assert!(worst_ratio(&close, &reference, 1e-9, 1e-6) <= 1.0);
        let nan = [f64::NAN, 0.0, 0.0];
        assert!(worst_ratio(&nan, &reference, 1e-9, 1e-6).is_nan());
    }
}
